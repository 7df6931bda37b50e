/* The numbers of a multi-animal evaluation, from what the network and the Assembler gave per labeled
 * image and the labels, without any network: DeepLabCut's TensorFlow evaluate_multianimal (detection
 * errors, mAP/mAR of the assembled individuals) plus the error of the assembled individuals. */
#ifndef DLCC_EVAL_MA_METRICS_H
#define DLCC_EVAL_MA_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "eval/errors.h"
#include "eval/oks.h"
#include "project/labels.h"
#include "util/error.h"

/* One labeled image as the multi-animal prediction left it. */
typedef struct dlcc_ma_image_prediction {
  bool predicted;         /* the network found at least one peak (DeepLabCut skips the image otherwise) */
  size_t *first;          /* [num_joints + 1]: joint j's detections are first[j] .. first[j + 1] */
  double *detection_xy;   /* [n][2] every peak (candidate body part), in image pixels */
  double *detection_score;/* [n] its score */
  int n_animals;          /* assembled individuals, 0 .. max_animals */
  double *animals;        /* [max_animals][n_multibodyparts][3] x, y, score; NaN where missing */
  double *animal_score;   /* [max_animals] what ranks an individual for mAP: its mean link affinity when it
                             has links, else its confidence (match_assemblies) */
  double *unique;         /* [num_joints - n_multibodyparts][3] the unique parts, NaN when not kept */
} dlcc_ma_image_prediction;

typedef struct dlcc_ma_predictions {
  int num_joints;          /* the network's joints: multi-animal parts first, then unique parts */
  int n_multibodyparts;
  int max_animals;         /* inference_cfg.yaml topktoretain */
  size_t n_images;         /* the rows of the label table */
  dlcc_ma_image_prediction *images;
} dlcc_ma_predictions;

/* n_images images, none predicted yet. Free with dlcc_ma_predictions_free (also after a failure). */
dlcc_status dlcc_ma_predictions_init(dlcc_ma_predictions *p, size_t n_images, int num_joints, int n_multibodyparts,
                                     int max_animals, dlcc_error *err);

/* Sets image i (copying every array): first[num_joints + 1] offsets into xy [n][2] and score [n];
 * n_animals individuals of animals [n_animals][n_multibodyparts][3] ranked by animal_score[n_animals];
 * unique [num_joints - n_multibodyparts][3] or NULL (none kept). predicted = some detection. */
dlcc_status dlcc_ma_predictions_set(dlcc_ma_predictions *p, size_t i, const size_t *first, const double *xy,
                                    const double *score, int n_animals, const double *animals,
                                    const double *animal_score, const double *unique, dlcc_error *err);

void dlcc_ma_predictions_free(dlcc_ma_predictions *p);

typedef struct dlcc_ma_eval_input {
  const dlcc_label_table *labels;   /* the merged multi-animal CollectedData */
  const size_t *joint_of_column;    /* its columns -> the network's joints (dlcc_eval_column_joints) */
  const dlcc_eval_split *split;
  double pcutoff;                   /* config.yaml's pcutoff, for the errors "with p-cutoff" */
  dlcc_oks_params oks;              /* pose_cfg's oks_sigma and bbox_margin, for mAP */
} dlcc_ma_eval_input;

/* Mean error over the train and test images, with and without pcutoff, of one way of matching. */
typedef struct dlcc_ma_eval_result {
  /* Detection errors (DeepLabCut's TensorFlow maDLC train/test error, what its results tables hold):
   * per image and body part the labels of every individual take their nearest free detection of that
   * body part (find_closest_neighbors, k = 3: dlcc_match_detections); matched[row][column] is that
   * detection (x, y, score), NaN for a label left without one. detection holds dlcc_eval_compute of
   * labels against matched: overall and per body part, likelihood = the detection's score. */
  double *matched;                /* labels->n_rows x labels->n_columns x 3 */
  dlcc_eval_errors detection;
  /* Assembly errors (DeepLabCut 3's "rmse"): the assembled individuals matched to the labeled ones by
   * greedy OKS (sigma 0.1, DLCC_MATCH_OKS_GREEDY), then each labeled multi-animal body part against
   * the same part of its individual's match; unique parts are not part of individuals. */
  dlcc_eval_means assembly;
  /* mAP / mAR over OKS 0.50:0.95 of the assembled individuals against the labeled ones (multi-animal
   * parts, individuals with >= 2 keypoints), DeepLabCut's TensorFlow evaluate_assembly: per image an
   * optimal assignment maximising the summed OKS (DLCC_MAP_TENSORFLOW). Fractions in [0, 1]. */
  dlcc_oks_ap map_train, map_test;
  size_t n_scored_train, n_scored_test; /* images with a label and a prediction, per part of the split */
} dlcc_ma_eval_result;

/* Computes every number. Images count only when they have a label (a coordinate that is neither
 * missing nor 0, as pandas' any()) and a prediction: the rest are left out of all numbers, as
 * DeepLabCut skips them. Individuals are the label table's non-"single" individuals in column order;
 * their columns must name multi-animal parts and "single" columns unique parts (checked). Free out
 * with dlcc_ma_eval_result_free. */
dlcc_status dlcc_ma_eval_compute(const dlcc_ma_eval_input *in, const dlcc_ma_predictions *pred,
                                 dlcc_ma_eval_result *out, dlcc_error *err);

void dlcc_ma_eval_result_free(dlcc_ma_eval_result *r);

/* The assembled individuals laid out as the label table's columns (n_rows x n_columns x 3): the k-th
 * individual of an image in the columns of the table's k-th non-"single" individual (its order, not an
 * identity), unique parts in the "single" columns, NaN elsewhere. Individuals beyond the table's are
 * left out; *dropped (may be NULL) counts them. Caller frees; NULL when out of memory. */
double *dlcc_ma_assemblies_table(const dlcc_ma_eval_input *in, const dlcc_ma_predictions *pred, size_t *dropped);

#endif
