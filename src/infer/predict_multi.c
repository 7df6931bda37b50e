/* One multi-animal frame from the network's maps to assembled animals: probabilities, peaks, link
 * affinities along partaffinityfield_graph, the Assembler with inference_cfg.yaml's settings. */
#include "infer/predict_multi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void dlcc_multi_predictor_free(dlcc_multi_predictor *mp) {
  dlcc_peak_finder_free(mp->finder);
  dlcc_assembler_free(mp->assembler);
  dlcc_peaks_free(&mp->peaks);
  dlcc_link_costs_free(&mp->costs);
  dlcc_assembly_result_free(&mp->result);
  free(mp->limbs);
  free(mp->prob);
  memset(mp, 0, sizeof *mp);
}

dlcc_status dlcc_multi_predictor_init(dlcc_multi_predictor *mp, const dlcc_pose_cfg *pc, const dlcc_project_config *cfg,
                                      const dlcc_inference_cfg *ic, dlcc_error *err) {
  memset(mp, 0, sizeof *mp);
  const char *where = pc->source_path ? pc->source_path : "pose_cfg.yaml";
  if (!pc->multianimal || !pc->partaffinityfield_predict || pc->n_limbs == 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: a multi-animal analysis needs part affinity fields "
                     "(partaffinityfield_predict: true and a partaffinityfield_graph)", where);
  if ((size_t)pc->num_joints != cfg->n_multianimalbodyparts + cfg->n_uniquebodyparts)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s has %d joints but %s lists %zu multianimalbodyparts and %zu "
                     "uniquebodyparts; create the training dataset again after editing config.yaml", where,
                     pc->num_joints, cfg->config_path, cfg->n_multianimalbodyparts, cfg->n_uniquebodyparts);
  mp->num_joints = pc->num_joints;
  mp->n_limbs = (int)pc->n_limbs;
  if (!(mp->limbs = calloc(pc->n_limbs, sizeof *mp->limbs))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (int l = 0; l < mp->n_limbs; l++)
    mp->limbs[l] = (dlcc_paf_link){pc->partaffinityfield_graph[l][0], pc->partaffinityfield_graph[l][1], l};
  dlcc_peak_params pp;
  dlcc_peak_params_init(&pp, pc->num_joints, pc->stride, pc->locref_stdev);
  pp.location_refinement = pc->location_refinement;
  pp.locref_smooth = pc->locref_smooth;
  pp.nms_radius = pc->nmsradius;
  pp.sigma = pc->sigma > 0 ? pc->sigma : 1;
  pp.min_confidence = pc->minconfidence;
  dlcc_assembler_options ao;
  dlcc_assembler_options_init(&ao, (int)cfg->n_multianimalbodyparts, ic->topktoretain);
  ao.pcutoff = ic->pcutoff;
  ao.min_affinity = ic->pafthreshold;
  ao.min_n_links = ic->minimalnumberofconnections;
  dlcc_status st = dlcc_peak_finder_create(&mp->finder, &pp, err);
  if (!st) st = dlcc_assembler_create(&mp->assembler, &ao, pc->num_joints, mp->limbs, mp->n_limbs, NULL, err);
  if (!st) st = dlcc_assembly_result_init(&mp->result, mp->assembler, err);
  if (st) dlcc_error_prefix(err, "%s", where);
  return st;
}

dlcc_status dlcc_multi_predict_frame(dlcc_multi_predictor *mp, const float *part, const float *locref, const float *paf,
                                     int map_height, int map_width, dlcc_error *err) {
  size_t cells = (size_t)map_height * (size_t)map_width, n = (size_t)mp->num_joints * cells;
  if (n > mp->prob_cap) {
    float *bigger = realloc(mp->prob, n * sizeof *bigger);
    if (!bigger) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for a %dx%d score map", map_width, map_height);
    mp->prob = bigger;
    mp->prob_cap = n;
  }
  /* in f32, as tf.sigmoid gives DeepLabCut its probabilities */
  for (size_t i = 0; i < n; i++) mp->prob[i] = 1.0f / (1.0f + expf(-part[i]));
  dlcc_status st = dlcc_find_peaks(mp->finder, mp->prob, locref, map_height, map_width, &mp->peaks, err);
  if (!st) st = dlcc_paf_link_costs(paf, mp->n_limbs, map_height, map_width, mp->limbs, mp->n_limbs, &mp->peaks,
                                    &mp->costs, err);
  if (!st) st = dlcc_assemble(mp->assembler, &mp->peaks, &mp->costs, &mp->result, err);
  return st;
}
