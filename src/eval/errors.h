/* `dlcc evaluate`'s numbers: per image and body part the distance between label and prediction, and
 * DeepLabCut's train/test errors (with and without pcutoff, overall and per body part) computed as
 * its evaluate.py does (pairwisedistances, the np.nanmean of evaluate_network, keypoint_error). */
#ifndef DLCC_EVAL_ERRORS_H
#define DLCC_EVAL_ERRORS_H

#include <stddef.h>

#include "project/labels.h"
#include "util/error.h"

/* Rows of the merged label table (CollectedData of the training-set folder) in each part of the
 * split, in the order the split lists them. */
typedef struct dlcc_eval_split {
  const size_t *train;
  size_t n_train;
  const size_t *test;
  size_t n_test;
} dlcc_eval_split;

/* The four numbers DeepLabCut reports, in pixels; NaN when no distance counts (an empty test set,
 * or every prediction below pcutoff). */
typedef struct dlcc_eval_means {
  double train;
  double test;
  double train_cutoff;   /* only predictions with likelihood >= pcutoff */
  double test_cutoff;
} dlcc_eval_means;

typedef struct dlcc_eval_errors {
  size_t n_rows;
  size_t n_columns;        /* the label table's keypoint columns */
  double pcutoff;
  double *distance;        /* n_rows x n_columns; NaN where the label or the prediction is missing */
  double *likelihood;      /* n_rows x n_columns; the prediction's likelihood */
  dlcc_eval_means overall;
  size_t n_bodyparts;      /* distinct body-part names, in the order of their first column */
  char **bodyparts;
  dlcc_eval_means *per_bodypart;
} dlcc_eval_errors;

/* Computes every error of one evaluated snapshot.
 * predictions: n_rows x n_columns x 3 doubles (x, y, likelihood) for the same rows and columns as
 * labels (labels->n_coords may be 2 or 3; only x and y are read). A distance is
 * sqrt((lx - px)^2 + (ly - py)^2); a missing (NaN) label or prediction gives NaN and is left out of
 * every mean, as np.nanmean does. "With cutoff" leaves out predictions whose likelihood is below
 * pcutoff or NaN. Overall means run over all (row, column) pairs of a split part, rows in the
 * split's order and columns in the table's, summed in numpy's pairwise order: with the table's
 * columns in config order (as create-training-dataset writes them) they equal DeepLabCut's
 * np.nanmean to the last bit. Per body part they run over the rows and every column (individual) of
 * that body part, as keypoint_error stacks individuals.
 * maDLC tables are compared column by column (individual i's prediction against individual i's
 * label); DeepLabCut's matching of predictions to the nearest label of a body part
 * (evaluate_multianimal, find_closest_neighbors) is not done here: matching.h has it
 * (dlcc_match_detections), and dlcc_matched_errors gives a distance table of this shape.
 * Fails (naming the index and the number of rows) when a split index is outside the table.
 * On success free out with dlcc_eval_errors_free. */
dlcc_status dlcc_eval_compute(const dlcc_label_table *labels, const double *predictions, const dlcc_eval_split *split,
                              double pcutoff, dlcc_eval_errors *out, dlcc_error *err);

void dlcc_eval_errors_free(dlcc_eval_errors *e);

/* For each keypoint column of labels, the index of its body part among the network's joints
 * (dlcc_config_joint_names order: the order of predictions and of plot colours). Fails, naming the
 * column, when a body part is not one of the joints. joint_of_column holds labels->n_columns. */
dlcc_status dlcc_eval_column_joints(const dlcc_label_table *labels, char *const *joint_names, size_t n_joints,
                                    size_t *joint_of_column, dlcc_error *err);

/* np.round(x, 2): x * 100 rounded half to even, divided by 100 (NaN stays NaN). */
double dlcc_eval_round2(double x);

/* numpy's pairwise summation (the inner loop of np.add.reduce on a contiguous array): below 8 values
 * a plain loop, up to 128 values eight running sums joined as a tree, above that two halves cut at a
 * multiple of 8. Summing in this order makes means bit-identical to numpy's. */
double dlcc_eval_pairwise_sum(const double *a, size_t n);

#endif
