/* Multi-animal prediction of one frame from the network's maps, as DeepLabCut's TensorFlow maDLC
 * analysis does it: sigmoid of part_pred, peaks (peaks.h), PAF link affinities (paf.h), then the
 * Assembler (assembly.h) with inference_cfg.yaml's settings. The same buffers serve every frame. */
#ifndef DLCC_INFER_PREDICT_MULTI_H
#define DLCC_INFER_PREDICT_MULTI_H

#include "infer/assembly.h"
#include "infer/paf.h"
#include "infer/peaks.h"
#include "project/config.h"
#include "project/inference_cfg.h"
#include "project/posecfg.h"
#include "util/error.h"

typedef struct dlcc_multi_predictor {
  int num_joints;          /* multi-animal parts then unique parts, pose_cfg's all_joints order */
  int n_limbs;
  dlcc_paf_link *limbs;    /* partaffinityfield_graph, paf_index = position in it */
  dlcc_peak_finder *finder;
  dlcc_assembler *assembler;
  dlcc_peaks peaks;
  dlcc_link_costs costs;
  dlcc_assembly_result result; /* the last frame's animals */
  float *prob;             /* sigmoid of one frame's part_pred, grown as needed */
  size_t prob_cap;
} dlcc_multi_predictor;

/* Sets up from the shuffle's test pose_cfg (joints, stride, locref_stdev, nmsradius, minconfidence,
 * sigma, partaffinityfield_graph), config.yaml (how many parts are multi-animal) and inference_cfg.yaml
 * (pcutoff, pafthreshold, minimalnumberofconnections, topktoretain). Fails naming what is missing
 * (a network without PAFs cannot assemble). Free with dlcc_multi_predictor_free (also after a failure). */
dlcc_status dlcc_multi_predictor_init(dlcc_multi_predictor *mp, const dlcc_pose_cfg *pc, const dlcc_project_config *cfg,
                                      const dlcc_inference_cfg *ic, dlcc_error *err);
void dlcc_multi_predictor_free(dlcc_multi_predictor *mp);

/* One frame: part [channels][H][W] logits (the first num_joints channels are the parts; identity
 * channels after them are ignored), locref [2 num_joints][H][W] (NULL without refinement), paf
 * [2 n_limbs][H][W]. The animals land in mp->result, in input pixels of the network's input. */
dlcc_status dlcc_multi_predict_frame(dlcc_multi_predictor *mp, const float *part, const float *locref, const float *paf,
                                     int map_height, int map_width, dlcc_error *err);

#endif
