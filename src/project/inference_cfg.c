/* inference_cfg.yaml: DeepLabCut's template values, written by create-training-dataset for multi-animal
 * shuffles and read (over those values, each key checked) by the multi-animal analysis. */
#include "project/inference_cfg.h"

#include <math.h>
#include <stddef.h>

#include "project/yamldoc.h"

void dlcc_inference_cfg_defaults(dlcc_inference_cfg *ic, const dlcc_project_config *cfg) {
  *ic = (dlcc_inference_cfg){
      .pafthreshold = 0.1,
      .minimalnumberofconnections = (int)(cfg->n_multianimalbodyparts / 2),
      .pcutoff = 0.1,
      .topktoretain = (int)cfg->n_individuals,
      .withid = false,
      .boundingboxslack = 0,
      .iou_threshold = 0.6,
      .max_age = 1,
      .min_hits = 1,
  };
}

dlcc_status dlcc_inference_cfg_save(const dlcc_inference_cfg *ic, const char *path, dlcc_error *err) {
  dlcc_yaml_node *map = dlcc_yaml_new_map();
  bool ok = map != NULL;
  ok = ok && dlcc_yaml_map_set(map, "variant", dlcc_yaml_new_scalar("0"));
  ok = ok && dlcc_yaml_map_set(map, "pafthreshold", dlcc_yaml_new_double(ic->pafthreshold));
  ok = ok && dlcc_yaml_map_set(map, "method", dlcc_yaml_new_string("m1"));
  ok = ok && dlcc_yaml_map_set(map, "minimalnumberofconnections",
                               dlcc_yaml_new_scalarf("%d", ic->minimalnumberofconnections));
  ok = ok && dlcc_yaml_map_set(map, "pcutoff", dlcc_yaml_new_double(ic->pcutoff));
  ok = ok && dlcc_yaml_map_set(map, "topktoretain", dlcc_yaml_new_scalarf("%d", ic->topktoretain));
  ok = ok && dlcc_yaml_map_set(map, "withid", dlcc_yaml_new_scalar(ic->withid ? "true" : "false"));
  ok = ok && dlcc_yaml_map_set(map, "boundingboxslack", dlcc_yaml_new_double(ic->boundingboxslack));
  ok = ok && dlcc_yaml_map_set(map, "iou_threshold", dlcc_yaml_new_double(ic->iou_threshold));
  ok = ok && dlcc_yaml_map_set(map, "max_age", dlcc_yaml_new_scalarf("%d", ic->max_age));
  ok = ok && dlcc_yaml_map_set(map, "min_hits", dlcc_yaml_new_scalarf("%d", ic->min_hits));
  dlcc_status st = ok ? dlcc_yaml_write_file(map, path, err) : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_yaml_free(map);
  return st;
}

/* One key read as a number in [lo, hi] (integers: whole numbers; DeepLabCut's own code writes
 * minimalnumberofconnections as len / 2, e.g. 6.5, so it is rounded down). */
static dlcc_status read_number(const dlcc_yaml_node *doc, const char *path, const char *key, double lo, double hi,
                               bool whole, double *out, dlcc_error *err) {
  const dlcc_yaml_node *node = dlcc_yaml_map_get(doc, key);
  if (!node || dlcc_yaml_is_null(node)) return DLCC_OK;
  double v;
  if (node->kind != DLCC_YAML_SCALAR || !dlcc_yaml_as_double(node, &v) || !(v >= lo && v <= hi))
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s line %d: %s is %s; it must be a %s from %g to %g", path,
                     dlcc_yaml_map_key_line(doc, key), key, node->kind == DLCC_YAML_SCALAR ? node->scalar : "a list",
                     whole ? "whole number" : "number", lo, hi);
  *out = whole ? floor(v) : v;
  return DLCC_OK;
}

dlcc_status dlcc_inference_cfg_load(const char *path, const dlcc_project_config *cfg, dlcc_inference_cfg *ic,
                                    dlcc_error *err) {
  dlcc_inference_cfg_defaults(ic, cfg);
  dlcc_yaml_node *doc = dlcc_yaml_load_file(path, err);
  if (!doc) return err ? err->status : DLCC_ERR_PARSE;
  dlcc_status st = DLCC_OK;
  if (doc->kind != DLCC_YAML_MAP && !dlcc_yaml_is_null(doc))
    st = dlcc_fail(err, DLCC_ERR_INVALID, "%s: expected key: value lines (a YAML mapping)", path);
  double minimal = ic->minimalnumberofconnections, topk = ic->topktoretain, max_age = ic->max_age,
         min_hits = ic->min_hits;
  if (!st) st = read_number(doc, path, "pafthreshold", 0, 1, false, &ic->pafthreshold, err);
  if (!st) st = read_number(doc, path, "minimalnumberofconnections", 0, 1e6, true, &minimal, err);
  if (!st) st = read_number(doc, path, "pcutoff", 0, 1, false, &ic->pcutoff, err);
  if (!st) st = read_number(doc, path, "topktoretain", 1, 1e6, true, &topk, err);
  if (!st) st = read_number(doc, path, "boundingboxslack", 0, 1e6, false, &ic->boundingboxslack, err);
  if (!st) st = read_number(doc, path, "iou_threshold", 0, 1, false, &ic->iou_threshold, err);
  if (!st) st = read_number(doc, path, "max_age", 0, 1e9, true, &max_age, err);
  if (!st) st = read_number(doc, path, "min_hits", 0, 1e9, true, &min_hits, err);
  const dlcc_yaml_node *withid = dlcc_yaml_map_get(doc, "withid");
  if (!st && withid && !dlcc_yaml_is_null(withid) && !dlcc_yaml_as_bool(withid, &ic->withid))
    st = dlcc_fail(err, DLCC_ERR_INVALID, "%s line %d: withid is %s; it must be true or false", path,
                   dlcc_yaml_map_key_line(doc, "withid"), withid->kind == DLCC_YAML_SCALAR ? withid->scalar : "a list");
  ic->minimalnumberofconnections = (int)minimal;
  ic->topktoretain = (int)topk;
  ic->max_age = (int)max_age;
  ic->min_hits = (int)min_hits;
  dlcc_yaml_free(doc);
  return st;
}
