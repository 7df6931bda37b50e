/* DeepLabCut's evaluation errors (see errors.h), following evaluate.py of DeepLabCut 2.x:
 * pairwisedistances (distance per image and body part, mask likelihood >= pcutoff), evaluate_network
 * (np.nanmean over the flattened rows of each part of the split) and keypoint_error (per body part). */
#include "eval/errors.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

double dlcc_eval_pairwise_sum(const double *a, size_t n) {
  if (n < 8) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i];
    return s;
  }
  if (n <= 128) {
    double r[8];
    memcpy(r, a, sizeof r);
    size_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (size_t j = 0; j < 8; j++) r[j] += a[i + j];
    double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) s += a[i];
    return s;
  }
  size_t half = n / 2;
  half -= half % 8;
  return dlcc_eval_pairwise_sum(a, half) + dlcc_eval_pairwise_sum(a + half, n - half);
}

/* np.nanmean of values[0..n): NaNs become 0 in the sum and are not counted. Overwrites values.
 * 0/0 gives NaN when nothing counts, as numpy does. */
static double nanmean_in_place(double *values, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(values[i]))
      values[i] = 0.0;
    else
      count++;
  }
  if (count == 0) return NAN;
  return dlcc_eval_pairwise_sum(values, n) / (double)count;
}

double dlcc_eval_round2(double x) {
  if (!isfinite(x)) return x;
  return nearbyint(x * 100.0) / 100.0;
}

/* The distance table selected by rows (in the split's order) and by the columns flagged in
 * use_column, flattened row by row as DataFrame.iloc[rows].values.flatten() is; NaN also where
 * cutoff applies and the likelihood is below pcutoff. Returns the nanmean. scratch holds
 * n_rows_sel * n_columns doubles. */
static double split_mean(const dlcc_eval_errors *e, const size_t *rows, size_t n_rows_sel, const bool *use_column,
                         bool cutoff, double *scratch) {
  size_t n = 0;
  for (size_t r = 0; r < n_rows_sel; r++) {
    for (size_t c = 0; c < e->n_columns; c++) {
      if (use_column && !use_column[c]) continue;
      size_t at = rows[r] * e->n_columns + c;
      bool kept = !cutoff || e->likelihood[at] >= e->pcutoff;
      scratch[n++] = kept ? e->distance[at] : NAN;
    }
  }
  return nanmean_in_place(scratch, n);
}

static dlcc_eval_means means_over(const dlcc_eval_errors *e, const dlcc_eval_split *split, const bool *use_column,
                                  double *scratch) {
  dlcc_eval_means m;
  m.train = split_mean(e, split->train, split->n_train, use_column, false, scratch);
  m.test = split_mean(e, split->test, split->n_test, use_column, false, scratch);
  m.train_cutoff = split_mean(e, split->train, split->n_train, use_column, true, scratch);
  m.test_cutoff = split_mean(e, split->test, split->n_test, use_column, true, scratch);
  return m;
}

static dlcc_status check_split(const dlcc_label_table *labels, const dlcc_eval_split *split, dlcc_error *err) {
  for (int part = 0; part < 2; part++) {
    const size_t *idx = part ? split->test : split->train;
    size_t n = part ? split->n_test : split->n_train;
    for (size_t i = 0; i < n; i++)
      if (idx[i] >= labels->n_rows)
        return dlcc_fail(err, DLCC_ERR_INVALID,
                         "the %s split lists image index %zu but the merged labels have only %zu rows; the split "
                         "belongs to other labels: run create-training-dataset again for this shuffle",
                         part ? "test" : "train", idx[i], labels->n_rows);
  }
  return DLCC_OK;
}

static void fill_distances(const dlcc_label_table *labels, const double *predictions, dlcc_eval_errors *e) {
  for (size_t r = 0; r < labels->n_rows; r++) {
    for (size_t c = 0; c < labels->n_columns; c++) {
      size_t at = r * labels->n_columns + c;
      double dx = labels->values[dlcc_label_index(labels, r, c, 0)] - predictions[at * 3 + 0];
      double dy = labels->values[dlcc_label_index(labels, r, c, 1)] - predictions[at * 3 + 1];
      e->distance[at] = sqrt(dx * dx + dy * dy);
      e->likelihood[at] = predictions[at * 3 + 2];
    }
  }
}

/* Distinct body-part names in order of first appearance (maDLC repeats them per individual). */
static dlcc_status collect_bodyparts(const dlcc_label_table *labels, dlcc_eval_errors *e, dlcc_error *err) {
  e->bodyparts = calloc(labels->n_columns ? labels->n_columns : 1, sizeof *e->bodyparts);
  if (!e->bodyparts) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t c = 0; c < labels->n_columns; c++) {
    const char *name = labels->columns[c].bodypart;
    size_t k = 0;
    while (k < e->n_bodyparts && strcmp(e->bodyparts[k], name)) k++;
    if (k < e->n_bodyparts) continue;
    e->bodyparts[k] = strdup(name);
    if (!e->bodyparts[k]) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    e->n_bodyparts++;
  }
  return DLCC_OK;
}

static dlcc_status compute_means(const dlcc_label_table *labels, const dlcc_eval_split *split, dlcc_eval_errors *e,
                                 dlcc_error *err) {
  size_t most_rows = split->n_train > split->n_test ? split->n_train : split->n_test;
  double *scratch = malloc((most_rows * e->n_columns + 1) * sizeof *scratch);
  bool *use_column = calloc(e->n_columns + 1, sizeof *use_column);
  e->per_bodypart = calloc(e->n_bodyparts + 1, sizeof *e->per_bodypart);
  if (!scratch || !use_column || !e->per_bodypart) {
    free(scratch);
    free(use_column);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  e->overall = means_over(e, split, NULL, scratch);
  for (size_t k = 0; k < e->n_bodyparts; k++) {
    for (size_t c = 0; c < e->n_columns; c++) use_column[c] = !strcmp(labels->columns[c].bodypart, e->bodyparts[k]);
    e->per_bodypart[k] = means_over(e, split, use_column, scratch);
  }
  free(scratch);
  free(use_column);
  return DLCC_OK;
}

dlcc_status dlcc_eval_compute(const dlcc_label_table *labels, const double *predictions, const dlcc_eval_split *split,
                              double pcutoff, dlcc_eval_errors *out, dlcc_error *err) {
  memset(out, 0, sizeof *out);
  if (labels->n_coords < 2)
    return dlcc_fail(err, DLCC_ERR_INVALID, "the label table has no x, y coordinates to compare with predictions");
  dlcc_status st = check_split(labels, split, err);
  if (st) return st;
  out->n_rows = labels->n_rows;
  out->n_columns = labels->n_columns;
  out->pcutoff = pcutoff;
  size_t cells = labels->n_rows * labels->n_columns;
  out->distance = malloc((cells + 1) * sizeof *out->distance);
  out->likelihood = malloc((cells + 1) * sizeof *out->likelihood);
  if (!out->distance || !out->likelihood) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) {
    fill_distances(labels, predictions, out);
    st = collect_bodyparts(labels, out, err);
  }
  if (!st) st = compute_means(labels, split, out, err);
  if (st) dlcc_eval_errors_free(out);
  return st;
}

void dlcc_eval_errors_free(dlcc_eval_errors *e) {
  if (!e) return;
  free(e->distance);
  free(e->likelihood);
  if (e->bodyparts)
    for (size_t k = 0; k < e->n_bodyparts; k++) free(e->bodyparts[k]);
  free(e->bodyparts);
  free(e->per_bodypart);
  memset(e, 0, sizeof *e);
}

dlcc_status dlcc_eval_column_joints(const dlcc_label_table *labels, char *const *joint_names, size_t n_joints,
                                    size_t *joint_of_column, dlcc_error *err) {
  for (size_t c = 0; c < labels->n_columns; c++) {
    const char *part = labels->columns[c].bodypart;
    size_t j = 0;
    while (j < n_joints && strcmp(joint_names[j], part)) j++;
    if (j == n_joints)
      return dlcc_fail(err, DLCC_ERR_INVALID,
                       "the labels have body part '%s' (column %zu) but the network predicts no such joint; "
                       "check config.yaml's body parts against the shuffle's pose_cfg.yaml (all_joints_names)",
                       part, c + 1);
    joint_of_column[c] = j;
  }
  return DLCC_OK;
}
