/* Validating a pose_cfg: each key's range from the key table, then the checks that relate keys
 * (joint counts, scale_jitter_lo <= scale_jitter_up, ...). Messages name the file, the line, the key,
 * the value and what is allowed. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/posecfg_internal.h"
#include "util/fileio.h"

/* Shortest text that reads back as v (0.8, not 0.80000000000000004); whole numbers in full (200,
 * not 2e+02). */
static void format_number(double v, char *out, size_t cap) {
  if (v == floor(v) && fabs(v) < 1e15) {
    snprintf(out, cap, "%.0f", v);
    return;
  }
  for (int digits = 1; digits <= 17; digits++) {
    snprintf(out, cap, "%.*g", digits, v);
    if (strtod(out, NULL) == v) return;
  }
}

static int line_of(const dlcc_pose_cfg *cfg, const char *key) {
  int line = 0;
  dlcc_pose_cfg_node_at(cfg->doc, key, &line);
  return line;
}

/* Line of the i-th item of a list key (the key's own line when unknown). */
static int item_line(const dlcc_pose_cfg *cfg, const char *key, size_t i) {
  int line = 0;
  const dlcc_yaml_node *n = dlcc_pose_cfg_node_at(cfg->doc, key, &line);
  if (is_seq(n) && i < n->count && n->items[i]->line > 0) return n->items[i]->line;
  return line;
}

static bool in_bounds(double v, const bounds *b) {
  if (b->has_lo && (b->lo_open ? !(v > b->lo) : !(v >= b->lo))) return false;
  return !b->has_hi || v <= b->hi;
}

static void bounds_text(const bounds *b, char *out, size_t cap) {
  char lo[40], hi[40];
  format_number(b->lo, lo, sizeof lo);
  format_number(b->hi, hi, sizeof hi);
  if (b->has_hi) snprintf(out, cap, "between %s and %s", lo, hi);
  else snprintf(out, cap, "%s %s", b->lo_open ? "greater than" : "at least", lo);
}

static dlcc_status fail_key(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static dlcc_status fail_key(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err, const char *fmt, ...) {
  char body[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  return dlcc_pose_cfg_fail_at(err, cfg->source_path, line_of(cfg, k->key), k, kind_of(cfg), "%s", body);
}

static dlcc_status check_number(const dlcc_pose_cfg *cfg, const key_spec *k, double v, dlcc_error *err) {
  char value[40], allowed[100];
  int line;
  if (isfinite(v) && in_bounds(v, &k->range)) return DLCC_OK;
  format_number(v, value, sizeof value);
  bounds_text(&k->range, allowed, sizeof allowed);
  bool missing = !default_text(k, kind_of(cfg)) && !dlcc_pose_cfg_node_at(cfg->doc, k->key, &line);
  if (missing) return fail_key(cfg, k, err, "%s is missing; it must be %s", k->key, allowed);
  return fail_key(cfg, k, err, "%s is %s; it must be %s", k->key, value, isfinite(v) ? allowed : "a finite number");
}

static dlcc_status check_numbers(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  size_t count = (size_t)abs(k->count);
  const void *f = field_of(cfg, k);
  double v[8];
  bool all_zero = true;
  for (size_t i = 0; i < count; i++) {
    v[i] = k->type == V_INTS ? ((const int *)f)[i] : ((const double *)f)[i];
    all_zero = all_zero && v[i] == 0;
  }
  if (all_zero && k->count < 0) return DLCC_OK; /* `[]`: not set */
  for (size_t i = 0; i < count; i++) {
    if (isfinite(v[i]) && in_bounds(v[i], &k->range)) continue;
    char text[300] = "[", num[40], allowed[100];
    for (size_t j = 0; j < count; j++) {
      format_number(v[j], num, sizeof num);
      snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s", j ? ", " : "", num);
    }
    bounds_text(&k->range, allowed, sizeof allowed);
    return fail_key(cfg, k, err, "%s is %s]; each value must be %s", k->key, text, allowed);
  }
  return DLCC_OK;
}

static bool is_choice(const char *choices, const char *v) {
  size_t len = strlen(v);
  for (const char *c = choices; *c;) {
    size_t n = strcspn(c, "|");
    if (n == len && !strncmp(c, v, n)) return true;
    c += n + (c[n] == '|');
  }
  return false;
}

/* Strings with a default must not be left empty (callers rely on them); choices are checked. */
static dlcc_status check_string(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  const char *v = *(char *const *)field_of(cfg, k);
  if (!k->choices && !v && default_text(k, kind_of(cfg)))
    return fail_key(cfg, k, err, "%s is empty; give a value or remove the line to use the default", k->key);
  if (!k->choices || (v && is_choice(k->choices, v))) return DLCC_OK;
  dlcc_strbuf allowed = {0};
  for (const char *c = k->choices; *c; c++) {
    if (*c == '|') dlcc_strbuf_append(&allowed, ", ");
    else dlcc_strbuf_appendn(&allowed, c, 1);
  }
  dlcc_status st = fail_key(cfg, k, err, "%s is %s; it must be one of %s", k->key, v ? v : "empty",
                            allowed.data && !allowed.failed ? allowed.data : k->choices);
  dlcc_strbuf_free(&allowed);
  return st;
}

static dlcc_status check_names(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  for (size_t i = 0; i < cfg->n_joints; i++) {
    if (!cfg->all_joints_names[i][0])
      return dlcc_pose_cfg_fail_at(err, cfg->source_path, item_line(cfg, k->key, i), NULL, 0,
                     "the %zu%s name in all_joints_names is empty; each body part needs a name", i + 1,
                     ordinal_suffix(i + 1));
    for (size_t j = 0; j < i; j++)
      if (!strcmp(cfg->all_joints_names[i], cfg->all_joints_names[j]))
        return dlcc_pose_cfg_fail_at(err, cfg->source_path, item_line(cfg, k->key, i), NULL, 0,
                       "all_joints_names lists %s twice (items %zu and %zu); body part names must be unique",
                       cfg->all_joints_names[i], j + 1, i + 1);
  }
  return DLCC_OK;
}

static dlcc_status check_joint_lists(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  for (size_t i = 0; i < cfg->n_all_joints; i++) {
    int index = *cfg->all_joints[i];
    if (index < 0 || index >= cfg->num_joints)
      return dlcc_pose_cfg_fail_at(err, cfg->source_path, item_line(cfg, k->key, i), NULL, 0,
                     "the %zu%s item of all_joints is [%d]; indices must be 0 to num_joints - 1 = %d", i + 1,
                     ordinal_suffix(i + 1), index, cfg->num_joints - 1);
  }
  return DLCC_OK;
}

static dlcc_status check_multi_step(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  if (cfg->n_multi_step == 0)
    return fail_key(cfg, k, err, "multi_step is empty; it must list [learning rate, last iteration] pairs");
  for (size_t i = 0; i < cfg->n_multi_step; i++) {
    const dlcc_lr_step *s = &cfg->multi_step[i];
    char lr[40];
    format_number(s->lr, lr, sizeof lr);
    const char *problem = NULL;
    if (!isfinite(s->lr) || s->lr <= 0) problem = "its learning rate must be greater than 0";
    else if (s->until_iteration < 1) problem = "its iteration must be at least 1";
    else if (i > 0 && s->until_iteration <= cfg->multi_step[i - 1].until_iteration)
      problem = "iterations must increase from one pair to the next";
    if (problem)
      return dlcc_pose_cfg_fail_at(err, cfg->source_path, item_line(cfg, k->key, i), k, kind_of(cfg),
                     "the %zu%s item of multi_step is [%s, %ld]; %s", i + 1, ordinal_suffix(i + 1), lr,
                     s->until_iteration, problem);
  }
  return DLCC_OK;
}

static dlcc_status check_graph(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  for (size_t i = 0; i < cfg->n_limbs; i++) {
    const int *p = cfg->partaffinityfield_graph[i];
    const char *problem = NULL;
    if (p[0] < 0 || p[1] < 0 || p[0] >= cfg->num_joints || p[1] >= cfg->num_joints) problem = "indices must be 0 to";
    else if (p[0] == p[1]) problem = "a limb must join two different body parts; indices are 0 to";
    if (problem)
      return dlcc_pose_cfg_fail_at(err, cfg->source_path, item_line(cfg, k->key, i), NULL, 0,
                     "the %zu%s item of partaffinityfield_graph is [%d, %d]; %s num_joints - 1 = %d", i + 1,
                     ordinal_suffix(i + 1), p[0], p[1], problem, cfg->num_joints - 1);
  }
  return DLCC_OK;
}

static dlcc_status check_key(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  const void *f = field_of(cfg, k);
  switch (k->type) {
    case V_INT: return check_number(cfg, k, *(const int *)f, err);
    case V_LONG: return check_number(cfg, k, (double)*(const long *)f, err);
    case V_DOUBLE:
    case V_NUMBER_OR_BOOL: return check_number(cfg, k, *(const double *)f, err);
    case V_INTS:
    case V_DOUBLES: return check_numbers(cfg, k, err);
    case V_STRING: return check_string(cfg, k, err);
    case V_NAMES: return check_names(cfg, k, err);
    case V_JOINT_LISTS: return check_joint_lists(cfg, k, err);
    case V_MULTI_STEP: return check_multi_step(cfg, k, err);
    case V_GRAPH: return check_graph(cfg, k, err);
    default: return DLCC_OK;
  }
}

static dlcc_status fail_pair(const dlcc_pose_cfg *cfg, const char *key, dlcc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static dlcc_status fail_pair(const dlcc_pose_cfg *cfg, const char *key, dlcc_error *err, const char *fmt, ...) {
  char body[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  return dlcc_pose_cfg_fail_at(err, cfg->source_path, line_of(cfg, key), NULL, 0, "%s", body);
}

static dlcc_status check_joint_counts(const dlcc_pose_cfg *cfg, dlcc_error *err) {
  int line;
  if (!cfg->all_joints_names && !dlcc_pose_cfg_node_at(cfg->doc, "all_joints_names", &line))
    return fail_pair(cfg, "num_joints", err, "all_joints_names is missing; it must list the %d body part names",
                     cfg->num_joints);
  if (cfg->n_joints != (size_t)cfg->num_joints)
    return fail_pair(cfg, "all_joints_names", err,
                     "all_joints_names lists %zu body part%s but num_joints is %d; they must agree", cfg->n_joints,
                     cfg->n_joints == 1 ? "" : "s", cfg->num_joints);
  if (cfg->n_all_joints != (size_t)cfg->num_joints)
    return fail_pair(cfg, "all_joints", err,
                     "all_joints has %zu items but num_joints is %d; DeepLabCut writes one per body part, "
                     "[[0], [1], ..., [%d]]", cfg->n_all_joints, cfg->num_joints, cfg->num_joints - 1);
  return DLCC_OK;
}

static dlcc_status check_relations(const dlcc_pose_cfg *cfg, dlcc_error *err) {
  char lo[40], up[40];
  dlcc_status st = check_joint_counts(cfg, err);
  if (st != DLCC_OK) return st;
  if (cfg->scale_jitter_lo > cfg->scale_jitter_up) {
    format_number(cfg->scale_jitter_lo, lo, sizeof lo);
    format_number(cfg->scale_jitter_up, up, sizeof up);
    return fail_pair(cfg, "scale_jitter_lo", err,
                     "scale_jitter_lo is %s but scale_jitter_up is %s; scale_jitter_lo must be at most "
                     "scale_jitter_up", lo, up);
  }
  if (cfg->min_input_size > cfg->max_input_size)
    return fail_pair(cfg, "min_input_size", err,
                     "min_input_size is %d but max_input_size is %d; min_input_size must be at most max_input_size",
                     cfg->min_input_size, cfg->max_input_size);
  if ((size_t)cfg->num_limbs != cfg->n_limbs)
    return fail_pair(cfg, "num_limbs", err,
                     "num_limbs is %d but partaffinityfield_graph has %zu pairs; set num_limbs to %zu",
                     cfg->num_limbs, cfg->n_limbs, cfg->n_limbs);
  if (cfg->partaffinityfield_predict && cfg->n_limbs == 0)
    return fail_pair(cfg, "partaffinityfield_predict", err,
                     "partaffinityfield_predict is true but partaffinityfield_graph is empty; give the graph's "
                     "body part pairs or set partaffinityfield_predict to false");
  return DLCC_OK;
}

dlcc_status dlcc_pose_cfg_validate(const dlcc_pose_cfg *cfg, dlcc_error *err) {
  for (size_t i = 0; i < dlcc_pose_cfg_n_keys; i++) {
    dlcc_status st = check_key(cfg, &dlcc_pose_cfg_keys[i], err);
    if (st != DLCC_OK) return st;
  }
  return check_relations(cfg, err);
}
