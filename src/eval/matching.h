/* Which prediction is compared with which label in a multi-animal image, and the per-part errors
 * that follow. DeepLabCut 3.0 has two notions (deeplabcut/core/metrics, crossvalutils):
 *  - detection error (the TensorFlow engine's maDLC train/test error, DeepLabCut 3's
 *    "rmse_detections"): per body part, each label takes a nearby detection, ignoring individuals
 *    (dlcc_match_detections);
 *  - assembly error (DeepLabCut 3's "rmse"): whole predicted individuals are matched to labeled
 *    individuals, then keypoints are compared within each pair (dlcc_match_individuals). DeepLabCut
 *    matches greedily by OKS; dlcc also offers an optimal matching on mean distance, which does not
 *    depend on the order of individual columns (video ground truth, tracks.h). */
#ifndef DLCC_EVAL_MATCHING_H
#define DLCC_EVAL_MATCHING_H

#include <stdbool.h>
#include <stddef.h>

#include "eval/oks.h"
#include "util/error.h"

typedef enum dlcc_match_rule {
  /* Optimal assignment (util/assignment, +inf = forbidden) minimising the summed cost,
   * cost(pred, label) = the mean Euclidean distance over the body parts both have; pairs with no
   * such body part are never matched; as many pairs as possible are formed. DeepLabCut has only a
   * greedy variant of this (match_greedy_rmse, unused by its evaluation). */
  DLCC_MATCH_DISTANCE,
  /* Optimal assignment maximising the summed OKS (the matching of the TensorFlow engine's
   * evaluate_assembly); pairs whose OKS is NaN or below DLCC_MATCH_MIN_OKS stay unmatched. */
  DLCC_MATCH_OKS,
  /* DeepLabCut 3's compute_rmse (match_predictions_for_rmse, match_greedy_oks): predictions in
   * decreasing score (ties: lower index first) each take the label of highest OKS (first on ties)
   * if it is still free and its OKS >= DLCC_MATCH_MIN_OKS; otherwise stay unmatched. DeepLabCut
   * uses sigma 0.1 and margin 0 here whatever oks_sigma says. */
  DLCC_MATCH_OKS_GREEDY
} dlcc_match_rule;

/* DeepLabCut 3's oks_threshold for RMSE matching: "non-zero" OKS. */
#define DLCC_MATCH_MIN_OKS 1e-6

/* Matches the predicted individuals of f to its labeled individuals. pred_of_truth: f->n_truth
 * entries, the prediction matched to each label or -1. Keypoints count as in dlcc_pose_frame
 * (DLCC_MATCH_OKS_GREEDY follows DLCC_MAP_PYTORCH: negative scores do not count). oks may be NULL
 * for DLCC_MATCH_DISTANCE. Fails only when out of memory. */
dlcc_status dlcc_match_individuals(const dlcc_pose_frame *f, dlcc_match_rule rule, const dlcc_oks_params *oks,
                                   long *pred_of_truth, dlcc_error *err);

/* Per label and body part after a matching: distance[g * n_bodyparts + b] is the Euclidean
 * distance between label g's body part b and the same body part of its matched prediction, score[]
 * that prediction's score there; both NaN where the label is missing, g is unmatched or the
 * prediction lacks the body part. This is the table DeepLabCut writes as dist_<iterations>.csv
 * (one column per individual and body part). distance and score hold n_truth * n_bodyparts. */
void dlcc_matched_errors(const dlcc_pose_frame *f, const long *pred_of_truth, double *distance, double *score);

/* DeepLabCut's detection matching for one body part of one image (crossvalutils
 * find_closest_neighbors with k = 3): labels are visited in increasing distance to their nearest
 * detection; each takes the nearest of its 3 nearest detections not yet taken, or none (-1) when
 * all 3 are taken; it stops once every detection is taken. Labels or detections with a NaN
 * coordinate take part in nothing. Equal distances go to the lower index. truth: n_truth x 2,
 * detections: n_detections x 2, detection_of_truth: n_truth entries. Fails only when out of
 * memory. */
dlcc_status dlcc_match_detections(const double *truth, size_t n_truth, const double *detections, size_t n_detections,
                                  long *detection_of_truth, dlcc_error *err);

/* Running sums of matched distances, all and with score >= pcutoff, per body part and overall:
 * means as DeepLabCut's np.nanmean (up to the order of summation). */
typedef struct dlcc_error_sum {
  double sum, sum_cutoff;
  size_t n, n_cutoff;
} dlcc_error_sum;

typedef struct dlcc_ma_errors {
  size_t n_bodyparts;
  double pcutoff;
  dlcc_error_sum *per_bodypart;  /* n_bodyparts */
  dlcc_error_sum all;
} dlcc_ma_errors;

/* Zeroed sums for n_bodyparts; free with dlcc_ma_errors_free. */
dlcc_status dlcc_ma_errors_init(dlcc_ma_errors *e, size_t n_bodyparts, double pcutoff, dlcc_error *err);

/* Adds a dlcc_matched_errors table of n_truth labels (NaN distances are skipped; a NaN score fails
 * the cutoff). */
void dlcc_ma_errors_add(dlcc_ma_errors *e, const double *distance, const double *score, size_t n_truth);

/* Mean distance of s (cutoff: of those with score >= pcutoff); NaN when nothing counts. */
double dlcc_error_sum_mean(const dlcc_error_sum *s, bool cutoff);

void dlcc_ma_errors_free(dlcc_ma_errors *e);

#endif
