/* Saving a pose_cfg: the typed keys in the key table's order (nested under their groups; which are
 * written follows each key's save rule), the file's own spelling kept where its value is unchanged,
 * then the file's keys dlcc does not know. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "project/posecfg_internal.h"

typedef struct saver {
  const dlcc_pose_cfg *cfg;
  dlcc_pose_cfg defaults;
  dlcc_pose_cfg scratch; /* the file's value read back, to keep the file's spelling when unchanged */
  bool failed;           /* an allocation failed */
} saver;

static dlcc_yaml_node *new_flow_seq(void) {
  dlcc_yaml_node *n = dlcc_yaml_new_seq();
  if (n) n->flow = true;
  return n;
}

/* Appends item to seq; on failure frees seq and returns NULL. */
static dlcc_yaml_node *append(dlcc_yaml_node *seq, dlcc_yaml_node *item) {
  if (!seq) {
    dlcc_yaml_free(item);
    return NULL;
  }
  if (!item || !dlcc_yaml_seq_append(seq, item)) {
    dlcc_yaml_free(seq);
    return NULL;
  }
  return seq;
}

static dlcc_yaml_node *pair_node(dlcc_yaml_node *a, dlcc_yaml_node *b) {
  return append(append(new_flow_seq(), a), b);
}

static dlcc_yaml_node *numbers_node(const dlcc_pose_cfg *cfg, const key_spec *k) {
  size_t count = (size_t)abs(k->count);
  const void *f = field_of(cfg, k);
  dlcc_yaml_node *seq = new_flow_seq();
  bool all_zero = true;
  for (size_t i = 0; i < count; i++)
    all_zero = all_zero && (k->type == V_INTS ? ((const int *)f)[i] == 0 : ((const double *)f)[i] == 0);
  if (all_zero && k->count < 0) return seq;
  for (size_t i = 0; i < count && seq; i++)
    seq = append(seq, k->type == V_INTS ? dlcc_yaml_new_scalarf("%d", ((const int *)f)[i])
                                        : dlcc_yaml_new_double(((const double *)f)[i]));
  return seq;
}

static dlcc_yaml_node *list_node(const dlcc_pose_cfg *cfg, const key_spec *k) {
  dlcc_yaml_node *seq = dlcc_yaml_new_seq();
  if (k->type == V_NAMES)
    for (size_t i = 0; i < cfg->n_joints && seq; i++) seq = append(seq, dlcc_yaml_new_string(cfg->all_joints_names[i]));
  if (k->type == V_JOINT_LISTS)
    for (size_t i = 0; i < cfg->n_all_joints && seq; i++)
      seq = append(seq, append(new_flow_seq(), dlcc_yaml_new_scalarf("%d", *cfg->all_joints[i])));
  if (k->type == V_MULTI_STEP)
    for (size_t i = 0; i < cfg->n_multi_step && seq; i++)
      seq = append(seq, pair_node(dlcc_yaml_new_double(cfg->multi_step[i].lr),
                                  dlcc_yaml_new_scalarf("%ld", cfg->multi_step[i].until_iteration)));
  if (k->type == V_GRAPH)
    for (size_t i = 0; i < cfg->n_limbs && seq; i++)
      seq = append(seq, pair_node(dlcc_yaml_new_scalarf("%d", cfg->partaffinityfield_graph[i][0]),
                                  dlcc_yaml_new_scalarf("%d", cfg->partaffinityfield_graph[i][1])));
  return seq;
}

/* A whole-valued rotation is written as an integer: DeepLabCut's loaders read a float there as
 * "use the default angle". */
static dlcc_yaml_node *number_or_bool_node(double v) {
  if (v == floor(v) && fabs(v) < 1e15) return dlcc_yaml_new_scalarf("%.0f", v);
  return dlcc_yaml_new_double(v);
}

/* The field as a fresh node; NULL for a missing string (and for groups, built by build_map). */
static dlcc_yaml_node *value_node(const dlcc_pose_cfg *cfg, const key_spec *k) {
  const void *f = field_of(cfg, k);
  switch (k->type) {
    case V_STRING: return *(char *const *)f ? dlcc_yaml_new_string(*(char *const *)f) : NULL;
    case V_BOOL:
    case V_TOGGLE: return dlcc_yaml_new_scalar(*(const bool *)f ? "true" : "false");
    case V_INT: return dlcc_yaml_new_scalarf("%d", *(const int *)f);
    case V_LONG: return dlcc_yaml_new_scalarf("%ld", *(const long *)f);
    case V_DOUBLE: return dlcc_yaml_new_double(*(const double *)f);
    case V_NUMBER_OR_BOOL: return number_or_bool_node(*(const double *)f);
    case V_INTS:
    case V_DOUBLES: return numbers_node(cfg, k);
    case V_GROUP: return NULL;
    default: return list_node(cfg, k);
  }
}

static bool nodes_equal(const dlcc_yaml_node *a, const dlcc_yaml_node *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind || a->count != b->count) return false;
  if (a->kind == DLCC_YAML_SCALAR) return !strcmp(a->scalar, b->scalar);
  for (size_t i = 0; i < a->count; i++)
    if ((a->kind == DLCC_YAML_MAP && strcmp(a->keys[i], b->keys[i])) || !nodes_equal(a->items[i], b->items[i]))
      return false;
  return true;
}

static bool differs_from_default(saver *s, const key_spec *k) {
  dlcc_yaml_node *mine = value_node(s->cfg, k), *dflt = value_node(&s->defaults, k);
  bool differs = !nodes_equal(mine, dflt);
  dlcc_yaml_free(mine);
  dlcc_yaml_free(dflt);
  return differs;
}

static bool should_write(saver *s, const key_spec *k, const dlcc_yaml_node *in_file) {
  switch (k->save) {
    case SAVE_ALWAYS: return true;
    case SAVE_FROM_FILE: return in_file != NULL;
    case SAVE_MADLC: return s->cfg->multianimal || in_file || differs_from_default(s, k);
    default: return in_file || differs_from_default(s, k);
  }
}

/* Whether the file's node reads back as the value we would write (then its text is kept). */
static bool file_says_the_same(saver *s, const key_spec *k, const dlcc_yaml_node *in_file,
                               const dlcc_yaml_node *mine) {
  origin at = {NULL, 0, kind_of(s->cfg)};
  if (dlcc_pose_cfg_read_value(&s->scratch, k, in_file, &at, NULL) != DLCC_OK) return false;
  dlcc_yaml_node *theirs = value_node(&s->scratch, k);
  bool same = nodes_equal(theirs, mine);
  dlcc_yaml_free(theirs);
  dlcc_pose_cfg_free_field(&s->scratch, k);
  return same;
}

static bool has_children(const key_spec *k) {
  size_t len = strlen(k->key);
  const key_spec *next = k + 1;
  return next < dlcc_pose_cfg_keys + dlcc_pose_cfg_n_keys && !strncmp(next->key, k->key, len) &&
         next->key[len] == '.';
}

static dlcc_yaml_node *build_map(saver *s, const char *prefix, const dlcc_yaml_node *in_file);

static dlcc_yaml_node *entry_node(saver *s, const key_spec *k, const dlcc_yaml_node *in_file) {
  bool enabled = k->type == V_TOGGLE && *(const bool *)field_of(s->cfg, k);
  if (k->type == V_GROUP || (enabled && has_children(k))) return build_map(s, k->key, in_file);
  if (k->save == SAVE_FROM_FILE) return dlcc_yaml_clone(in_file);
  dlcc_yaml_node *mine = value_node(s->cfg, k);
  if (k->type != V_STRING && !mine) {
    s->failed = true;
    return NULL;
  }
  if (in_file && (!mine || file_says_the_same(s, k, in_file, mine))) {
    dlcc_yaml_free(mine);
    return dlcc_yaml_clone(in_file);
  }
  return mine;
}

static const char *child_name(const char *key, const char *prefix) {
  size_t len = strlen(prefix);
  if (len && (strncmp(key, prefix, len) || key[len] != '.')) return NULL;
  const char *name = key + len + (len > 0);
  return strchr(name, '.') ? NULL : name;
}

static bool is_known_child(const char *prefix, const char *name) {
  for (size_t i = 0; i < dlcc_pose_cfg_n_keys; i++) {
    const char *child = child_name(dlcc_pose_cfg_keys[i].key, prefix);
    if (child && !strcmp(child, name)) return true;
  }
  return false;
}

static void put(saver *s, dlcc_yaml_node *map, const char *name, dlcc_yaml_node *value) {
  if (!value || !dlcc_yaml_map_set(map, name, value)) s->failed = true;
}

static dlcc_yaml_node *build_map(saver *s, const char *prefix, const dlcc_yaml_node *in_file) {
  dlcc_yaml_node *map = dlcc_yaml_new_map();
  if (!map) {
    s->failed = true;
    return NULL;
  }
  if (in_file && in_file->kind != DLCC_YAML_MAP) in_file = NULL;
  for (size_t i = 0; i < dlcc_pose_cfg_n_keys && !s->failed; i++) {
    const key_spec *k = &dlcc_pose_cfg_keys[i];
    const char *name = child_name(k->key, prefix);
    if (!name) continue;
    const dlcc_yaml_node *theirs = in_file ? dlcc_yaml_map_get(in_file, name) : NULL;
    if (!should_write(s, k, theirs)) continue;
    dlcc_yaml_node *value = entry_node(s, k, theirs);
    if (value) put(s, map, name, value);
  }
  for (size_t i = 0; in_file && i < in_file->count && !s->failed; i++)
    if (!is_known_child(prefix, in_file->keys[i])) put(s, map, in_file->keys[i], dlcc_yaml_clone(in_file->items[i]));
  return map;
}

dlcc_status dlcc_pose_cfg_save(const dlcc_pose_cfg *cfg, const char *path, dlcc_error *err) {
  saver s = {.cfg = cfg};
  dlcc_status st = dlcc_pose_cfg_defaults(&s.defaults, cfg->multianimal, err);
  if (st != DLCC_OK) return st;
  dlcc_yaml_node *root = build_map(&s, "", cfg->doc);
  if (s.failed || !root) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  else st = dlcc_yaml_write_file(root, path, err);
  dlcc_yaml_free(root);
  dlcc_pose_cfg_free(&s.defaults);
  dlcc_pose_cfg_free(&s.scratch);
  return st;
}
