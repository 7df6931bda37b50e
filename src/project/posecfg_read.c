/* Reading pose_cfg values: one YAML node (from the file, or a default's text from the key table)
 * type-checked into its typed field, with messages that name the file, line, key, the value as
 * written and what is expected. Also frees fields and finds dotted keys in the document. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/posecfg_internal.h"
#include "util/fileio.h"

/* ------------------------------------------------------------------------------------------------
 * Messages: "<file> line <n>: <key> is <value>; it must be <...> (DeepLabCut's default is <d>)" */

static void append_node_text(dlcc_strbuf *sb, const dlcc_yaml_node *n, int depth) {
  if (n->kind == DLCC_YAML_MAP) {
    dlcc_strbuf_append(sb, "a map");
  } else if (n->kind == DLCC_YAML_SCALAR) {
    if (n->quoted) dlcc_strbuf_printf(sb, "\"%s\" (in quotes, so text)", n->scalar);
    else dlcc_strbuf_append(sb, dlcc_yaml_is_null(n) ? "empty" : n->scalar);
  } else if (depth > 1 || n->count > 6) {
    dlcc_strbuf_printf(sb, "a list of %zu items", n->count);
  } else {
    dlcc_strbuf_append(sb, "[");
    for (size_t i = 0; i < n->count; i++) {
      if (i) dlcc_strbuf_append(sb, ", ");
      append_node_text(sb, n->items[i], depth + 1);
    }
    dlcc_strbuf_append(sb, "]");
  }
}

/* The value as the user wrote it, for messages (NUL-terminated into out). */
static void describe_node(const dlcc_yaml_node *n, char *out, size_t cap) {
  dlcc_strbuf sb = {0};
  append_node_text(&sb, n, 0);
  snprintf(out, cap, "%.200s", sb.data && !sb.failed ? sb.data : "?");
  dlcc_strbuf_free(&sb);
}

dlcc_status dlcc_pose_cfg_fail_at(dlcc_error *err, const char *file, int line, const key_spec *k, int kind,
                                  const char *fmt, ...) {
  char where[1100] = "", body[1400], dflt[400] = "";
  if (file && line > 0) snprintf(where, sizeof where, "%s line %d: ", file, line);
  else if (file) snprintf(where, sizeof where, "%s: ", file);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  const char *d = k ? default_text(k, kind) : NULL;
  if (d) snprintf(dflt, sizeof dflt, " (DeepLabCut's default is %s)", d);
  return dlcc_fail(err, DLCC_ERR_INVALID, "%s%s%s", where, body, dflt);
}

static dlcc_status fail_type(dlcc_error *err, const origin *at, const key_spec *k, const dlcc_yaml_node *n,
                             const char *expected) {
  char text[256];
  describe_node(n, text, sizeof text);
  return dlcc_pose_cfg_fail_at(err, at->file, at->line, k, at->kind, "%s is %s; it must be %s", k->key, text,
                               expected);
}

static dlcc_status fail_item(dlcc_error *err, const origin *at, const key_spec *k, size_t i,
                             const dlcc_yaml_node *item, const char *expected) {
  char text[256];
  describe_node(item, text, sizeof text);
  int line = item->line > 0 ? item->line : at->line;
  return dlcc_pose_cfg_fail_at(err, at->file, line, k, at->kind, "the %zu%s item of %s is %s; each item must be %s",
                               i + 1, ordinal_suffix(i + 1), k->key, text, expected);
}

/* ------------------------------------------------------------------------------------------------
 * Reading one value (from the file, or from the table's default text) into its field */

/* Whole numbers, also when written as 5.0 or 1.0e+4 (as Python writes floats). */
static bool read_whole(const dlcc_yaml_node *n, long *out) {
  double d;
  if (dlcc_yaml_as_long(n, out)) return true;
  if (!dlcc_yaml_as_double(n, &d) || !isfinite(d) || d != floor(d) || fabs(d) > 9e15) return false;
  *out = (long)d;
  return true;
}

static bool read_int(const dlcc_yaml_node *n, int *out) {
  long v;
  if (!read_whole(n, &v) || v < INT_MIN || v > INT_MAX) return false;
  *out = (int)v;
  return true;
}

/* true/false in YAML 1.1's spellings, or 0/1 as Python's truthiness reads them. */
static bool read_flag(const dlcc_yaml_node *n, bool *out) {
  long v;
  if (dlcc_yaml_as_bool(n, out)) return true;
  if (!dlcc_yaml_as_long(n, &v) || (v != 0 && v != 1)) return false;
  *out = v == 1;
  return true;
}


void dlcc_pose_cfg_free_field(dlcc_pose_cfg *cfg, const key_spec *k) {
  void *f = field_of(cfg, k);
  switch (k->type) {
    case V_STRING:
      free(*(char **)f);
      *(char **)f = NULL;
      break;
    case V_NAMES:
      for (size_t i = 0; i < cfg->n_joints; i++) free(cfg->all_joints_names[i]);
      free(cfg->all_joints_names);
      cfg->all_joints_names = NULL;
      cfg->n_joints = 0;
      break;
    case V_JOINT_LISTS:
      for (size_t i = 0; i < cfg->n_all_joints; i++) free(cfg->all_joints[i]);
      free(cfg->all_joints);
      cfg->all_joints = NULL;
      cfg->n_all_joints = 0;
      break;
    case V_MULTI_STEP:
      free(cfg->multi_step);
      cfg->multi_step = NULL;
      cfg->n_multi_step = 0;
      break;
    case V_GRAPH:
      free(cfg->partaffinityfield_graph);
      cfg->partaffinityfield_graph = NULL;
      cfg->n_limbs = 0;
      break;
    default:
      break;
  }
}

dlcc_status dlcc_pose_cfg_out_of_memory(dlcc_error *err, const char *what) {
  return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s of pose_cfg", what);
}

static dlcc_status read_string(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                               const origin *at, dlcc_error *err) {
  if (n->kind != DLCC_YAML_SCALAR) return fail_type(err, at, k, n, "a single text value");
  char *copy = NULL;
  if (!dlcc_yaml_is_null(n) && !(copy = strdup(n->scalar))) return dlcc_pose_cfg_out_of_memory(err, k->key);
  dlcc_pose_cfg_free_field(cfg, k);
  *(char **)field_of(cfg, k) = copy;
  return DLCC_OK;
}

static dlcc_status read_scalar(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                               const origin *at, dlcc_error *err) {
  void *f = field_of(cfg, k);
  bool flag;
  double d;
  switch (k->type) {
    case V_BOOL:
      return read_flag(n, f) ? DLCC_OK : fail_type(err, at, k, n, "true or false");
    case V_INT:
      return read_int(n, f) ? DLCC_OK : fail_type(err, at, k, n, "a whole number");
    case V_LONG:
      return read_whole(n, f) ? DLCC_OK : fail_type(err, at, k, n, "a whole number");
    case V_DOUBLE:
      return dlcc_yaml_as_double(n, f) ? DLCC_OK : fail_type(err, at, k, n, "a number");
    case V_NUMBER_OR_BOOL:
      if (dlcc_yaml_as_bool(n, &flag)) *(double *)f = flag ? k->on_value[at->kind] : 0.0;
      else if (dlcc_yaml_as_double(n, &d)) *(double *)f = d;
      else return fail_type(err, at, k, n, "a number, or true or false");
      return DLCC_OK;
    case V_TOGGLE:
      if (n->kind != DLCC_YAML_SCALAR || dlcc_yaml_is_null(n)) *(bool *)f = n->kind != DLCC_YAML_SCALAR;
      else if (!read_flag(n, f))
        return fail_type(err, at, k, n, "true or false, or a map of the augmenter's parameters");
      return DLCC_OK;
    case V_GROUP:
      if (n->kind == DLCC_YAML_MAP || dlcc_yaml_is_null(n)) return DLCC_OK;
      return fail_type(err, at, k, n, "a map of keys, as in DeepLabCut's pose_cfg.yaml template");
    default:
      return read_string(cfg, k, n, at, err);
  }
}

static dlcc_status read_numbers(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                                const origin *at, dlcc_error *err) {
  size_t count = (size_t)abs(k->count);
  bool ints = k->type == V_INTS;
  char expected[160];
  snprintf(expected, sizeof expected, "a list of %zu %s%s", count, ints ? "whole numbers" : "numbers",
           k->count < 0 ? ", or [] for none" : "");
  if (!is_seq(n)) return fail_type(err, at, k, n, expected);
  if (n->count == 0 && k->count < 0) {
    memset(field_of(cfg, k), 0, count * (ints ? sizeof(int) : sizeof(double)));
    return DLCC_OK;
  }
  if (n->count != count) return fail_type(err, at, k, n, expected);
  int as_int[8];
  double as_double[8];
  for (size_t i = 0; i < count; i++) {
    bool ok = ints ? read_int(n->items[i], &as_int[i]) : dlcc_yaml_as_double(n->items[i], &as_double[i]);
    if (!ok) return fail_type(err, at, k, n, expected);
  }
  memcpy(field_of(cfg, k), ints ? (void *)as_int : (void *)as_double, count * (ints ? sizeof(int) : sizeof(double)));
  return DLCC_OK;
}

static dlcc_status read_names(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                              const origin *at, dlcc_error *err) {
  if (!is_seq(n)) return fail_type(err, at, k, n, "a list of body part names");
  for (size_t i = 0; i < n->count; i++)
    if (n->items[i]->kind != DLCC_YAML_SCALAR || dlcc_yaml_is_null(n->items[i]))
      return fail_item(err, at, k, i, n->items[i], "a body part name");
  char **names = calloc(n->count ? n->count : 1, sizeof *names);
  if (!names) return dlcc_pose_cfg_out_of_memory(err, k->key);
  for (size_t i = 0; i < n->count; i++) {
    if (!(names[i] = strdup(n->items[i]->scalar))) {
      for (size_t j = 0; j < i; j++) free(names[j]);
      free(names);
      return dlcc_pose_cfg_out_of_memory(err, k->key);
    }
  }
  dlcc_pose_cfg_free_field(cfg, k);
  cfg->all_joints_names = names;
  cfg->n_joints = n->count;
  return DLCC_OK;
}

/* all_joints as [[0], [1], ...] lists of one index each; a bare index (`[0, 1, 2]`) also reads. */
static bool read_joint_list_item(const dlcc_yaml_node *item, int *index) {
  if (is_seq(item)) return item->count == 1 && read_int(item->items[0], index);
  return read_int(item, index);
}

static dlcc_status read_joint_lists(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                                    const origin *at, dlcc_error *err) {
  if (!is_seq(n)) return fail_type(err, at, k, n, "a list of one-index lists, [[0], [1], ...]");
  int **lists = calloc(n->count ? n->count : 1, sizeof *lists);
  if (!lists) return dlcc_pose_cfg_out_of_memory(err, k->key);
  dlcc_status st = DLCC_OK;
  for (size_t i = 0; i < n->count && st == DLCC_OK; i++) {
    int index;
    if (!read_joint_list_item(n->items[i], &index))
      st = fail_item(err, at, k, i, n->items[i], "a list of one body part index, such as [0] (dlcc does not read "
                                                 "DeeperCut's mirrored pairs)");
    else if (!(lists[i] = malloc(sizeof **lists))) st = dlcc_pose_cfg_out_of_memory(err, k->key);
    else *lists[i] = index;
  }
  if (st != DLCC_OK) {
    for (size_t i = 0; i < n->count; i++) free(lists[i]);
    free(lists);
    return st;
  }
  dlcc_pose_cfg_free_field(cfg, k);
  cfg->all_joints = lists;
  cfg->n_all_joints = n->count;
  return DLCC_OK;
}

static bool read_step(const dlcc_yaml_node *item, dlcc_lr_step *step) {
  return is_seq(item) && item->count == 2 && dlcc_yaml_as_double(item->items[0], &step->lr) &&
         read_whole(item->items[1], &step->until_iteration);
}

static dlcc_status read_multi_step(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                                   const origin *at, dlcc_error *err) {
  if (!is_seq(n)) return fail_type(err, at, k, n, "a list of [learning rate, last iteration] pairs");
  dlcc_lr_step *steps = calloc(n->count ? n->count : 1, sizeof *steps);
  if (!steps) return dlcc_pose_cfg_out_of_memory(err, k->key);
  for (size_t i = 0; i < n->count; i++) {
    if (!read_step(n->items[i], &steps[i])) {
      free(steps);
      return fail_item(err, at, k, i, n->items[i], "a pair [learning rate, last iteration], such as [0.005, 10000]");
    }
  }
  dlcc_pose_cfg_free_field(cfg, k);
  cfg->multi_step = steps;
  cfg->n_multi_step = n->count;
  return DLCC_OK;
}

static dlcc_status read_graph(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                              const origin *at, dlcc_error *err) {
  if (!is_seq(n)) return fail_type(err, at, k, n, "a list of body part index pairs, such as [[0, 1], [1, 2]]");
  int(*pairs)[2] = calloc(n->count ? n->count : 1, sizeof *pairs);
  if (!pairs) return dlcc_pose_cfg_out_of_memory(err, k->key);
  for (size_t i = 0; i < n->count; i++) {
    const dlcc_yaml_node *item = n->items[i];
    if (!is_seq(item) || item->count != 2 || !read_int(item->items[0], &pairs[i][0]) ||
        !read_int(item->items[1], &pairs[i][1])) {
      free(pairs);
      return fail_item(err, at, k, i, item, "a pair of body part indices, such as [0, 1]");
    }
  }
  dlcc_pose_cfg_free_field(cfg, k);
  cfg->partaffinityfield_graph = pairs;
  cfg->n_limbs = n->count;
  return DLCC_OK;
}

dlcc_status dlcc_pose_cfg_read_value(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                                     const origin *at, dlcc_error *err) {
  switch (k->type) {
    case V_INTS:
    case V_DOUBLES: return read_numbers(cfg, k, n, at, err);
    case V_NAMES: return read_names(cfg, k, n, at, err);
    case V_JOINT_LISTS: return read_joint_lists(cfg, k, n, at, err);
    case V_MULTI_STEP: return read_multi_step(cfg, k, n, at, err);
    case V_GRAPH: return read_graph(cfg, k, n, at, err);
    default: return read_scalar(cfg, k, n, at, err);
  }
}

const dlcc_yaml_node *dlcc_pose_cfg_node_at(const dlcc_yaml_node *doc, const char *key, int *line) {
  const dlcc_yaml_node *node = doc;
  char part[128];
  *line = 0;
  while (node && *key) {
    size_t len = strcspn(key, ".");
    if (node->kind != DLCC_YAML_MAP || len >= sizeof part) return NULL;
    memcpy(part, key, len);
    part[len] = '\0';
    *line = dlcc_yaml_map_key_line(node, part);
    node = dlcc_yaml_map_get(node, part);
    key += len + (key[len] == '.');
  }
  return node;
}
