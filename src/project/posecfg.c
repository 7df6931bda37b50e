/* pose_cfg.yaml's life cycle: DeepLabCut's defaults, loading a file (defaults, then the file's keys,
 * then the keys DeepLabCut derives, then validation), freeing, the setters and the learning-rate
 * schedule. The key table is in posecfg_keys.c; reading, validation and saving in posecfg_*.c. */
#include "project/posecfg.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "project/posecfg_internal.h"
#include "util/fileio.h"

/* ------------------------------------------------------------------------------------------------
 * Defaults and loading */

dlcc_status dlcc_pose_cfg_defaults(dlcc_pose_cfg *cfg, bool multianimal, dlcc_error *err) {
  memset(cfg, 0, sizeof *cfg);
  cfg->multianimal = multianimal;
  origin at = {"pose_cfg defaults", 0, kind_of(cfg)};
  for (size_t i = 0; i < dlcc_pose_cfg_n_keys; i++) {
    const key_spec *k = &dlcc_pose_cfg_keys[i];
    const char *text = default_text(k, at.kind);
    if (!text) continue;
    dlcc_yaml_node *node = dlcc_yaml_load_string(text, strlen(text), at.file, err);
    dlcc_status st = node ? dlcc_pose_cfg_read_value(cfg, k, node, &at, err) : (err ? err->status : DLCC_ERR_NOMEM);
    dlcc_yaml_free(node);
    if (st != DLCC_OK) {
      dlcc_pose_cfg_free(cfg);
      return st;
    }
  }
  return DLCC_OK;
}

/* maDLC files name a part affinity graph or the multi-animal loader. */
static bool file_is_multianimal(const dlcc_yaml_node *doc) {
  const dlcc_yaml_node *type = dlcc_yaml_map_get(doc, "dataset_type");
  if (dlcc_yaml_map_get(doc, "partaffinityfield_graph")) return true;
  return type && type->kind == DLCC_YAML_SCALAR && !strncmp(type->scalar, "multi-animal", 12);
}

static dlcc_status read_file_keys(dlcc_pose_cfg *cfg, const char *path, dlcc_error *err) {
  for (size_t i = 0; i < dlcc_pose_cfg_n_keys; i++) {
    const key_spec *k = &dlcc_pose_cfg_keys[i];
    origin at = {path, 0, kind_of(cfg)};
    const dlcc_yaml_node *node = dlcc_pose_cfg_node_at(cfg->doc, k->key, &at.line);
    if (!node) continue;
    dlcc_status st = dlcc_pose_cfg_read_value(cfg, k, node, &at, err);
    if (st != DLCC_OK) return st;
  }
  return DLCC_OK;
}

/* Keys DeepLabCut derives: all_joints from num_joints, num_limbs from the graph, and the snapshot
 * prefix next to the file (cfg_from_file always overrides it). */
static dlcc_status derive_keys(dlcc_pose_cfg *cfg, const char *path, dlcc_error *err) {
  int line;
  /* Only when the names agree, so that a wild num_joints is reported rather than allocated. */
  if (!dlcc_pose_cfg_node_at(cfg->doc, "all_joints", &line) && cfg->num_joints > 0 &&
      (size_t)cfg->num_joints == cfg->n_joints) {
    cfg->all_joints = calloc((size_t)cfg->num_joints, sizeof *cfg->all_joints);
    if (!cfg->all_joints) return dlcc_pose_cfg_out_of_memory(err, "all_joints");
    for (int i = 0; i < cfg->num_joints; i++) {
      if (!(cfg->all_joints[i] = malloc(sizeof(int)))) return dlcc_pose_cfg_out_of_memory(err, "all_joints");
      *cfg->all_joints[i] = i;
      cfg->n_all_joints = (size_t)i + 1;
    }
  }
  if (!dlcc_pose_cfg_node_at(cfg->doc, "num_limbs", &line)) cfg->num_limbs = (int)cfg->n_limbs;
  char *dir = dlcc_path_dirname(path);
  char *prefix = dir ? dlcc_path_join(dir, "snapshot") : NULL;
  free(dir);
  if (!prefix) return dlcc_pose_cfg_out_of_memory(err, "snapshot_prefix");
  free(cfg->snapshot_prefix);
  cfg->snapshot_prefix = prefix;
  return DLCC_OK;
}

dlcc_status dlcc_pose_cfg_load(const char *path, dlcc_pose_cfg *cfg, dlcc_error *err) {
  memset(cfg, 0, sizeof *cfg);
  dlcc_yaml_node *doc = dlcc_yaml_load_file(path, err);
  if (!doc) return err ? err->status : DLCC_ERR_PARSE;
  if (doc->kind != DLCC_YAML_MAP) {
    const char *found = dlcc_yaml_is_null(doc) ? "it is empty" : "it holds a single value or a list";
    dlcc_yaml_free(doc);
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: expected `key: value` lines as DeepLabCut writes pose_cfg.yaml, but %s",
                     path, found);
  }
  dlcc_status st = dlcc_pose_cfg_defaults(cfg, file_is_multianimal(doc), err);
  if (st != DLCC_OK) {
    dlcc_yaml_free(doc);
    return st;
  }
  cfg->doc = doc;
  if (!(cfg->source_path = strdup(path))) st = dlcc_pose_cfg_out_of_memory(err, path);
  if (st == DLCC_OK) st = read_file_keys(cfg, path, err);
  if (st == DLCC_OK) st = derive_keys(cfg, path, err);
  if (st == DLCC_OK) st = dlcc_pose_cfg_validate(cfg, err);
  if (st != DLCC_OK) dlcc_pose_cfg_free(cfg);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Ownership, setters and the learning-rate schedule */

void dlcc_pose_cfg_free(dlcc_pose_cfg *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < dlcc_pose_cfg_n_keys; i++) dlcc_pose_cfg_free_field(cfg, &dlcc_pose_cfg_keys[i]);
  free(cfg->source_path);
  dlcc_yaml_free(cfg->doc);
  memset(cfg, 0, sizeof *cfg);
}

dlcc_status dlcc_pose_cfg_set_string(char **field, const char *value, dlcc_error *err) {
  char *copy = NULL;
  if (value && !(copy = strdup(value))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory copying %s", value);
  free(*field);
  *field = copy;
  return DLCC_OK;
}

dlcc_status dlcc_pose_cfg_set_joints(dlcc_pose_cfg *cfg, char *const *names, size_t n, dlcc_error *err) {
  if (n > INT_MAX) return dlcc_fail(err, DLCC_ERR_INVALID, "%zu body parts are more than dlcc handles", n);
  char **copy = calloc(n ? n : 1, sizeof *copy);
  int **lists = calloc(n ? n : 1, sizeof *lists);
  bool ok = copy && lists;
  for (size_t i = 0; ok && i < n; i++) {
    ok = (copy[i] = strdup(names[i])) && (lists[i] = malloc(sizeof **lists));
    if (ok) *lists[i] = (int)i;
  }
  if (!ok) {
    for (size_t i = 0; i < n && copy && lists; i++) free(copy[i]), free(lists[i]);
    free(copy);
    free(lists);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory copying %zu body part names", n);
  }
  dlcc_pose_cfg_free_field(cfg, dlcc_pose_cfg_find_key("all_joints_names"));
  dlcc_pose_cfg_free_field(cfg, dlcc_pose_cfg_find_key("all_joints"));
  cfg->all_joints_names = copy;
  cfg->all_joints = lists;
  cfg->n_joints = cfg->n_all_joints = n;
  cfg->num_joints = (int)n;
  return DLCC_OK;
}

/* As create_multianimaltraining_dataset: num_limbs is the graph's length and part affinity fields
 * are predicted exactly when the graph has limbs. */
dlcc_status dlcc_pose_cfg_set_graph(dlcc_pose_cfg *cfg, const int (*pairs)[2], size_t n, dlcc_error *err) {
  if (n > INT_MAX) return dlcc_fail(err, DLCC_ERR_INVALID, "%zu limbs are more than dlcc handles", n);
  int(*copy)[2] = calloc(n ? n : 1, sizeof *copy);
  if (!copy) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory copying a graph of %zu limbs", n);
  if (n) memcpy(copy, pairs, n * sizeof *copy);
  free(cfg->partaffinityfield_graph);
  cfg->partaffinityfield_graph = copy;
  cfg->n_limbs = n;
  cfg->num_limbs = (int)n;
  cfg->partaffinityfield_predict = n > 0;
  return DLCC_OK;
}

double dlcc_pose_cfg_learning_rate(const dlcc_pose_cfg *cfg, long iteration) {
  if (cfg->n_multi_step == 0) return 0.0;
  for (size_t i = 0; i < cfg->n_multi_step; i++)
    if (iteration <= cfg->multi_step[i].until_iteration) return cfg->multi_step[i].lr;
  return cfg->multi_step[cfg->n_multi_step - 1].lr;
}
