/* Multi-animal evaluation numbers (see ma_metrics.h): detections matched to labels per body part,
 * assembled individuals matched to labeled ones, and mAP/mAR, from stored per-image predictions. */
#include "eval/ma_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/matching.h"

static void image_free(dlcc_ma_image_prediction *im) {
  free(im->first);
  free(im->detection_xy);
  free(im->detection_score);
  free(im->animals);
  free(im->animal_score);
  free(im->unique);
  memset(im, 0, sizeof *im);
}

void dlcc_ma_predictions_free(dlcc_ma_predictions *p) {
  for (size_t i = 0; p->images && i < p->n_images; i++) image_free(&p->images[i]);
  free(p->images);
  memset(p, 0, sizeof *p);
}

dlcc_status dlcc_ma_predictions_init(dlcc_ma_predictions *p, size_t n_images, int num_joints, int n_multibodyparts,
                                     int max_animals, dlcc_error *err) {
  memset(p, 0, sizeof *p);
  if (num_joints < 1 || n_multibodyparts < 0 || n_multibodyparts > num_joints || max_animals < 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "multi-animal predictions of %d joints (%d multi-animal) and at most %d "
                     "individuals cannot be", num_joints, n_multibodyparts, max_animals);
  p->images = calloc(n_images ? n_images : 1, sizeof *p->images);
  if (!p->images) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  p->num_joints = num_joints;
  p->n_multibodyparts = n_multibodyparts;
  p->max_animals = max_animals;
  p->n_images = n_images;
  return DLCC_OK;
}

static double *copy_doubles(const double *src, size_t n) {
  double *d = malloc((n ? n : 1) * sizeof *d);
  if (d && n) memcpy(d, src, n * sizeof *d);
  return d;
}

static void fill_nan(double *v, size_t n) {
  for (size_t i = 0; i < n; i++) v[i] = NAN;
}

dlcc_status dlcc_ma_predictions_set(dlcc_ma_predictions *p, size_t i, const size_t *first, const double *xy,
                                    const double *score, int n_animals, const double *animals,
                                    const double *animal_score, const double *unique, dlcc_error *err) {
  if (i >= p->n_images) return dlcc_fail(err, DLCC_ERR_INVALID, "image %zu of %zu", i, p->n_images);
  if (n_animals < 0 || n_animals > p->max_animals)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%d individuals in image %zu, at most %d", n_animals, i, p->max_animals);
  dlcc_ma_image_prediction *im = &p->images[i];
  image_free(im);
  size_t nj = (size_t)p->num_joints, nm = (size_t)p->n_multibodyparts, nu = nj - nm;
  size_t n_det = first[nj], n_slots = (size_t)p->max_animals;
  im->first = malloc((nj + 1) * sizeof *im->first);
  im->detection_xy = copy_doubles(xy, 2 * n_det);
  im->detection_score = copy_doubles(score, n_det);
  im->animals = malloc((n_slots * nm * 3 + 1) * sizeof *im->animals);
  im->animal_score = malloc((n_slots + 1) * sizeof *im->animal_score);
  im->unique = malloc((nu * 3 + 1) * sizeof *im->unique);
  if (!im->first || !im->detection_xy || !im->detection_score || !im->animals || !im->animal_score || !im->unique) {
    image_free(im);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  memcpy(im->first, first, (nj + 1) * sizeof *first);
  fill_nan(im->animals, n_slots * nm * 3);
  fill_nan(im->animal_score, n_slots);
  fill_nan(im->unique, nu * 3);
  if (n_animals) {
    memcpy(im->animals, animals, (size_t)n_animals * nm * 3 * sizeof *animals);
    memcpy(im->animal_score, animal_score, (size_t)n_animals * sizeof *animal_score);
  }
  if (unique && nu) memcpy(im->unique, unique, nu * 3 * sizeof *unique);
  im->n_animals = n_animals;
  im->predicted = n_det > 0;
  return DLCC_OK;
}

void dlcc_ma_eval_result_free(dlcc_ma_eval_result *r) {
  free(r->matched);
  dlcc_eval_errors_free(&r->detection);
  memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------------------------------------ */

/* The label table's individuals: individual_of_column[c] is the index of column c's individual among
 * the non-"single" ones (in order of first column), -1 for "single". */
typedef struct column_layout {
  long *individual_of_column;
  size_t n_individuals;
} column_layout;

static bool is_single(const dlcc_label_column *col) { return !col->individual || !strcmp(col->individual, "single"); }

static dlcc_status layout_columns(const dlcc_ma_eval_input *in, const dlcc_ma_predictions *pred, column_layout *lay,
                                  dlcc_error *err) {
  const dlcc_label_table *t = in->labels;
  memset(lay, 0, sizeof *lay);
  lay->individual_of_column = malloc((t->n_columns + 1) * sizeof *lay->individual_of_column);
  if (!lay->individual_of_column) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t c = 0; c < t->n_columns; c++) {
    const dlcc_label_column *col = &t->columns[c];
    size_t j = in->joint_of_column[c];
    if (j >= (size_t)pred->num_joints)
      return dlcc_fail(err, DLCC_ERR_INVALID, "label column %zu maps to joint %zu of %d", c + 1, j, pred->num_joints);
    bool multi_joint = j < (size_t)pred->n_multibodyparts;
    if (is_single(col)) {
      lay->individual_of_column[c] = -1;
      if (multi_joint)
        return dlcc_fail(err, DLCC_ERR_INVALID, "label column %zu ('single', %s) is a unique body part in the labels "
                         "but a multi-animal part of the network; create the training dataset again", c + 1,
                         col->bodypart);
      continue;
    }
    if (!multi_joint)
      return dlcc_fail(err, DLCC_ERR_INVALID, "label column %zu (%s, %s) belongs to an individual but %s is a unique "
                       "body part of the network; create the training dataset again", c + 1, col->individual,
                       col->bodypart, col->bodypart);
    long k = -1;
    for (size_t d = 0; d < c && k < 0; d++)
      if (lay->individual_of_column[d] >= 0 && !strcmp(t->columns[d].individual, col->individual))
        k = lay->individual_of_column[d];
    if (k < 0) k = (long)lay->n_individuals++;
    lay->individual_of_column[c] = k;
  }
  return DLCC_OK;
}

/* pandas' GT.any(): some coordinate that is neither NaN nor 0. */
static bool row_has_label(const dlcc_label_table *t, size_t row) {
  for (size_t c = 0; c < t->n_columns; c++)
    for (size_t k = 0; k < 2; k++) {
      double v = t->values[dlcc_label_index(t, row, c, k)];
      if (!isnan(v) && v != 0) return true;
    }
  return false;
}

/* Per body part (joint) of one image: the labels of every individual take their nearest free detection. */
static dlcc_status match_detections_of_image(const dlcc_ma_eval_input *in, const dlcc_ma_image_prediction *im,
                                             int num_joints, size_t row, double *truth, size_t *cols, long *taken,
                                             double *matched, dlcc_error *err) {
  const dlcc_label_table *t = in->labels;
  for (int j = 0; j < num_joints; j++) {
    size_t n = 0;
    for (size_t c = 0; c < t->n_columns; c++) {
      if (in->joint_of_column[c] != (size_t)j) continue;
      double x = t->values[dlcc_label_index(t, row, c, 0)], y = t->values[dlcc_label_index(t, row, c, 1)];
      if (isnan(x) || isnan(y)) continue;
      truth[2 * n] = x;
      truth[2 * n + 1] = y;
      cols[n++] = c;
    }
    size_t d0 = im->first[j], n_det = im->first[j + 1] - d0;
    if (!n || !n_det) continue;
    dlcc_status st = dlcc_match_detections(truth, n, im->detection_xy + 2 * d0, n_det, taken, err);
    if (st) return st;
    for (size_t g = 0; g < n; g++) {
      if (taken[g] < 0) continue;
      size_t d = d0 + (size_t)taken[g];
      double *m = matched + (row * t->n_columns + cols[g]) * 3;
      m[0] = im->detection_xy[2 * d];
      m[1] = im->detection_xy[2 * d + 1];
      m[2] = im->detection_score[d];
    }
  }
  return DLCC_OK;
}

/* The labeled individuals of one row: [n_individuals][n_multibodyparts][2], NaN where not labeled. */
static void row_truth(const dlcc_ma_eval_input *in, const column_layout *lay, size_t n_multi, size_t row,
                      double *truth) {
  const dlcc_label_table *t = in->labels;
  fill_nan(truth, lay->n_individuals * n_multi * 2);
  for (size_t c = 0; c < t->n_columns; c++) {
    long k = lay->individual_of_column[c];
    if (k < 0) continue;
    double *dst = truth + ((size_t)k * n_multi + in->joint_of_column[c]) * 2;
    dst[0] = t->values[dlcc_label_index(t, row, c, 0)];
    dst[1] = t->values[dlcc_label_index(t, row, c, 1)];
  }
}

/* Scratch of the individual-level numbers of one part of the split. */
typedef struct part_scratch {
  dlcc_pose_frame *frames;
  double *truth;             /* per frame [n_individuals][n_multi][2] */
  long *pred_of_truth;
  double *distance, *score;  /* [n_individuals][n_multi] */
} part_scratch;

/* Assembly errors and mAP over the scored rows of one part of the split. */
static dlcc_status score_part(const dlcc_ma_eval_input *in, const dlcc_ma_predictions *pred, const column_layout *lay,
                              const bool *scored, const size_t *rows, size_t n_rows, dlcc_ma_errors *assembly,
                              dlcc_oks_ap *ap, size_t *n_scored, dlcc_error *err) {
  size_t nm = (size_t)pred->n_multibodyparts, ni = lay->n_individuals, per = ni * nm;
  part_scratch s = {0};
  s.frames = calloc(n_rows ? n_rows : 1, sizeof *s.frames);
  s.truth = malloc((n_rows * per * 2 + 1) * sizeof *s.truth);
  s.pred_of_truth = malloc((ni + 1) * sizeof *s.pred_of_truth);
  s.distance = malloc((per + 1) * sizeof *s.distance);
  s.score = malloc((per + 1) * sizeof *s.score);
  dlcc_status st = s.frames && s.truth && s.pred_of_truth && s.distance && s.score
                       ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  /* DeepLabCut 3 matches for its RMSE with sigma 0.1 and no margin whatever pose_cfg says. */
  const dlcc_oks_params rmse_oks = {DLCC_OKS_SIGMA_DEFAULT, NULL, 0.0};
  size_t n = 0;
  for (size_t i = 0; !st && i < n_rows; i++) {
    if (!scored[rows[i]]) continue;
    const dlcc_ma_image_prediction *im = &pred->images[rows[i]];
    double *truth = s.truth + n * per * 2;
    row_truth(in, lay, nm, rows[i], truth);
    s.frames[n] = (dlcc_pose_frame){nm, ni, truth, (size_t)im->n_animals, im->animals, im->animal_score};
    /* the greedy RMSE matching ranks individuals by their keypoints' mean score (DeepLabCut 3) */
    dlcc_pose_frame by_keypoints = s.frames[n];
    by_keypoints.pred_score = NULL;
    st = dlcc_match_individuals(&by_keypoints, DLCC_MATCH_OKS_GREEDY, &rmse_oks, s.pred_of_truth, err);
    if (st) break;
    dlcc_matched_errors(&by_keypoints, s.pred_of_truth, s.distance, s.score);
    dlcc_ma_errors_add(assembly, s.distance, s.score, ni);
    n++;
  }
  *n_scored = n;
  if (!st) st = dlcc_oks_map(s.frames, n, &in->oks, DLCC_MAP_TENSORFLOW, ap, err);
  free(s.frames);
  free(s.truth);
  free(s.pred_of_truth);
  free(s.distance);
  free(s.score);
  return st;
}

static dlcc_status detection_errors(const dlcc_ma_eval_input *in, const dlcc_ma_predictions *pred, const bool *scored,
                                    dlcc_ma_eval_result *out, dlcc_error *err) {
  const dlcc_label_table *t = in->labels;
  size_t cells = t->n_rows * t->n_columns * 3;
  out->matched = malloc((cells + 1) * sizeof *out->matched);
  double *truth = malloc((2 * t->n_columns + 1) * sizeof *truth);
  size_t *cols = malloc((t->n_columns + 1) * sizeof *cols);
  long *taken = malloc((t->n_columns + 1) * sizeof *taken);
  dlcc_status st = out->matched && truth && cols && taken ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) fill_nan(out->matched, cells);
  for (size_t r = 0; !st && r < t->n_rows; r++)
    if (scored[r])
      st = match_detections_of_image(in, &pred->images[r], pred->num_joints, r, truth, cols, taken, out->matched, err);
  free(truth);
  free(cols);
  free(taken);
  if (!st) st = dlcc_eval_compute(t, out->matched, in->split, in->pcutoff, &out->detection, err);
  return st;
}

dlcc_status dlcc_ma_eval_compute(const dlcc_ma_eval_input *in, const dlcc_ma_predictions *pred,
                                 dlcc_ma_eval_result *out, dlcc_error *err) {
  memset(out, 0, sizeof *out);
  const dlcc_label_table *t = in->labels;
  if (pred->n_images != t->n_rows)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%zu predicted images for %zu label rows", pred->n_images, t->n_rows);
  if (t->n_coords < 2) return dlcc_fail(err, DLCC_ERR_INVALID, "the label table has no x, y coordinates");
  column_layout lay = {0};
  bool *scored = malloc((t->n_rows + 1) * sizeof *scored);
  dlcc_ma_errors train = {0}, test = {0};
  dlcc_status st = layout_columns(in, pred, &lay, err);
  if (!st && !scored) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t r = 0; !st && r < t->n_rows; r++) scored[r] = pred->images[r].predicted && row_has_label(t, r);
  if (!st) st = detection_errors(in, pred, scored, out, err);
  size_t nm = (size_t)pred->n_multibodyparts;
  if (!st) st = dlcc_ma_errors_init(&train, nm, in->pcutoff, err);
  if (!st) st = dlcc_ma_errors_init(&test, nm, in->pcutoff, err);
  if (!st)
    st = score_part(in, pred, &lay, scored, in->split->train, in->split->n_train, &train, &out->map_train,
                    &out->n_scored_train, err);
  if (!st)
    st = score_part(in, pred, &lay, scored, in->split->test, in->split->n_test, &test, &out->map_test,
                    &out->n_scored_test, err);
  if (!st)
    out->assembly = (dlcc_eval_means){dlcc_error_sum_mean(&train.all, false), dlcc_error_sum_mean(&test.all, false),
                                      dlcc_error_sum_mean(&train.all, true), dlcc_error_sum_mean(&test.all, true)};
  dlcc_ma_errors_free(&train);
  dlcc_ma_errors_free(&test);
  free(lay.individual_of_column);
  free(scored);
  if (st) dlcc_ma_eval_result_free(out);
  return st;
}

double *dlcc_ma_assemblies_table(const dlcc_ma_eval_input *in, const dlcc_ma_predictions *pred, size_t *dropped) {
  const dlcc_label_table *t = in->labels;
  column_layout lay = {0};
  dlcc_error err;
  size_t cells = t->n_rows * t->n_columns * 3;
  double *table = malloc((cells + 1) * sizeof *table);
  if (!table || layout_columns(in, pred, &lay, &err)) {
    free(table);
    free(lay.individual_of_column);
    return NULL;
  }
  fill_nan(table, cells);
  size_t nm = (size_t)pred->n_multibodyparts, left_out = 0;
  for (size_t r = 0; r < t->n_rows && r < pred->n_images; r++) {
    const dlcc_ma_image_prediction *im = &pred->images[r];
    if (!im->animals) continue;
    if ((size_t)im->n_animals > lay.n_individuals) left_out += (size_t)im->n_animals - lay.n_individuals;
    for (size_t c = 0; c < t->n_columns; c++) {
      long k = lay.individual_of_column[c];
      size_t j = in->joint_of_column[c];
      const double *src = k < 0 ? im->unique + (j - nm) * 3
                                : k < im->n_animals ? im->animals + ((size_t)k * nm + j) * 3 : NULL;
      if (src) memcpy(table + (r * t->n_columns + c) * 3, src, 3 * sizeof *src);
    }
  }
  if (dropped) *dropped = left_out;
  free(lay.individual_of_column);
  return table;
}
