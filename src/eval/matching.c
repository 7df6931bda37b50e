/* Matching predictions to labels in multi-animal images (see matching.h): individuals by optimal
 * assignment on mean distance or OKS, or by DeepLabCut 3's greedy OKS rule; single detections by
 * DeepLabCut's nearest-free-neighbour rule; and the per-part errors of a matching. */
#include "eval/matching.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/assignment.h"

static bool labeled(const double *xy) { return isfinite(xy[0]) && isfinite(xy[1]); }

/* Mean distance between label g and prediction i over the body parts both have; +inf when none. */
static double mean_distance(const dlcc_pose_frame *f, size_t g, size_t i) {
  size_t nb = f->n_bodyparts, n = 0;
  double sum = 0.0;
  for (size_t k = 0; k < nb; k++) {
    const double *t = f->truth + (g * nb + k) * 2, *q = f->pred + (i * nb + k) * 3;
    if (!labeled(t) || !dlcc_pred_keypoint_present(q, DLCC_MAP_TENSORFLOW)) continue;
    sum += hypot(q[0] - t[0], q[1] - t[1]);
    n++;
  }
  return n ? sum / (double)n : INFINITY;
}

/* The prediction's keypoints with those that do not count under protocol set to NaN. */
static void mask_prediction(const dlcc_pose_frame *f, size_t i, dlcc_map_protocol protocol, double *masked) {
  const double *kp = f->pred + i * f->n_bodyparts * 3;
  for (size_t k = 0; k < f->n_bodyparts; k++) {
    bool present = dlcc_pred_keypoint_present(kp + k * 3, protocol);
    for (int c = 0; c < 3; c++) masked[k * 3 + c] = present ? kp[k * 3 + c] : NAN;
  }
}

static dlcc_status match_optimal(const dlcc_pose_frame *f, dlcc_match_rule rule, const dlcc_oks_params *oks,
                                 long *pred_of_truth, dlcc_error *err) {
  size_t cells = f->n_truth * f->n_pred;
  double *cost = malloc((cells ? cells : 1) * sizeof *cost);
  double *masked = malloc((f->n_bodyparts ? f->n_bodyparts : 1) * 3 * sizeof *masked);
  int *pred_of = malloc((f->n_truth ? f->n_truth : 1) * sizeof *pred_of);
  if (!cost || !masked || !pred_of) {
    free(cost);
    free(masked);
    free(pred_of);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < f->n_pred; i++) {
    if (rule == DLCC_MATCH_OKS) mask_prediction(f, i, DLCC_MAP_TENSORFLOW, masked);
    for (size_t g = 0; g < f->n_truth; g++) {
      double c;
      if (rule == DLCC_MATCH_DISTANCE) {
        c = mean_distance(f, g, i);
      } else {
        double s = dlcc_oks(masked, f->truth + g * f->n_bodyparts * 2, f->n_bodyparts, oks);
        c = s >= DLCC_MATCH_MIN_OKS ? -s : INFINITY;
      }
      cost[g * f->n_pred + i] = c;
    }
  }
  dlcc_status st = dlcc_assignment_solve_forbidden(NULL, cost, (int)f->n_truth, (int)f->n_pred, pred_of, err);
  for (size_t g = 0; !st && g < f->n_truth; g++) pred_of_truth[g] = pred_of[g];
  free(cost);
  free(masked);
  free(pred_of);
  return st;
}

typedef struct ranked {
  double score;
  size_t index;
} ranked;

/* Highest score first, NaN last, ties by lower index (np.argsort(-scores, kind="mergesort")). */
static int by_score(const void *pa, const void *pb) {
  const ranked *a = pa, *b = pb;
  bool na = isnan(a->score), nb = isnan(b->score);
  if (na != nb) return na ? 1 : -1;
  if (!na && a->score != b->score) return a->score > b->score ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

static dlcc_status match_greedy_oks(const dlcc_pose_frame *f, const dlcc_oks_params *oks, long *pred_of_truth,
                                    dlcc_error *err) {
  ranked *order = malloc((f->n_pred ? f->n_pred : 1) * sizeof *order);
  double *masked = malloc((f->n_bodyparts ? f->n_bodyparts : 1) * 3 * sizeof *masked);
  double *row = malloc((f->n_truth ? f->n_truth : 1) * sizeof *row);
  if (!order || !masked || !row) {
    free(order);
    free(masked);
    free(row);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < f->n_pred; i++) order[i] = (ranked){dlcc_pred_score(f, i, DLCC_MAP_PYTORCH), i};
  qsort(order, f->n_pred, sizeof *order, by_score);
  for (size_t r = 0; r < f->n_pred; r++) {
    mask_prediction(f, order[r].index, DLCC_MAP_PYTORCH, masked);
    long best = -1;
    for (size_t g = 0; g < f->n_truth; g++) {
      row[g] = dlcc_oks(masked, f->truth + g * f->n_bodyparts * 2, f->n_bodyparts, oks);
      if (!isnan(row[g]) && (best < 0 || row[g] > row[best])) best = (long)g;
    }
    if (best < 0 || pred_of_truth[best] >= 0 || !(row[best] >= DLCC_MATCH_MIN_OKS)) continue;
    pred_of_truth[best] = (long)order[r].index;
  }
  free(order);
  free(masked);
  free(row);
  return DLCC_OK;
}

dlcc_status dlcc_match_individuals(const dlcc_pose_frame *f, dlcc_match_rule rule, const dlcc_oks_params *oks,
                                   long *pred_of_truth, dlcc_error *err) {
  for (size_t g = 0; g < f->n_truth; g++) pred_of_truth[g] = -1;
  if (f->n_truth == 0 || f->n_pred == 0) return DLCC_OK;
  if (rule == DLCC_MATCH_OKS_GREEDY) return match_greedy_oks(f, oks, pred_of_truth, err);
  return match_optimal(f, rule, oks, pred_of_truth, err);
}

void dlcc_matched_errors(const dlcc_pose_frame *f, const long *pred_of_truth, double *distance, double *score) {
  size_t nb = f->n_bodyparts;
  for (size_t g = 0; g < f->n_truth; g++)
    for (size_t k = 0; k < nb; k++) {
      double *d = &distance[g * nb + k], *s = &score[g * nb + k];
      *d = *s = NAN;
      const double *t = f->truth + (g * nb + k) * 2;
      if (pred_of_truth[g] < 0 || !labeled(t)) continue;
      const double *q = f->pred + ((size_t)pred_of_truth[g] * nb + k) * 3;
      if (!labeled(q)) continue;
      *d = hypot(q[0] - t[0], q[1] - t[1]);
      *s = q[2];
    }
}

/* For find_closest_neighbors: one label's nearest detections. */
typedef struct label_neighbours {
  size_t label;
  double nearest;   /* distance to the nearest detection */
  long detection[3];
} label_neighbours;

static int by_nearest(const void *pa, const void *pb) {
  const label_neighbours *a = pa, *b = pb;
  if (a->nearest != b->nearest) return a->nearest < b->nearest ? -1 : 1;
  return a->label < b->label ? -1 : a->label > b->label;
}

dlcc_status dlcc_match_detections(const double *truth, size_t n_truth, const double *detections, size_t n_detections,
                                  long *detection_of_truth, dlcc_error *err) {
  for (size_t g = 0; g < n_truth; g++) detection_of_truth[g] = -1;
  label_neighbours *labels = malloc((n_truth ? n_truth : 1) * sizeof *labels);
  bool *taken = calloc(n_detections ? n_detections : 1, sizeof *taken);
  if (!labels || !taken) {
    free(labels);
    free(taken);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  size_t n_labels = 0, n_free = 0;
  for (size_t j = 0; j < n_detections; j++) n_free += labeled(detections + j * 2);
  for (size_t g = 0; n_free && g < n_truth; g++) {
    if (!labeled(truth + g * 2)) continue;
    label_neighbours *l = &labels[n_labels++];
    *l = (label_neighbours){g, INFINITY, {-1, -1, -1}};
    double best[3] = {INFINITY, INFINITY, INFINITY};
    for (size_t j = 0; j < n_detections; j++) {
      if (!labeled(detections + j * 2)) continue;
      double d = hypot(detections[j * 2] - truth[g * 2], detections[j * 2 + 1] - truth[g * 2 + 1]);
      /* Insert into the sorted top 3; an equal distance stays behind the lower index. */
      int slot = 3;
      while (slot > 0 && d < best[slot - 1]) slot--;
      if (slot == 3) continue;
      for (int s = 2; s > slot; s--) {
        best[s] = best[s - 1];
        l->detection[s] = l->detection[s - 1];
      }
      best[slot] = d;
      l->detection[slot] = (long)j;
    }
    l->nearest = best[0];
  }
  qsort(labels, n_labels, sizeof *labels, by_nearest);
  for (size_t i = 0; i < n_labels && n_free; i++)
    for (int s = 0; s < 3; s++) {
      long j = labels[i].detection[s];
      if (j < 0 || taken[j]) continue;
      taken[j] = true;
      n_free--;
      detection_of_truth[labels[i].label] = j;
      break;
    }
  free(labels);
  free(taken);
  return DLCC_OK;
}

dlcc_status dlcc_ma_errors_init(dlcc_ma_errors *e, size_t n_bodyparts, double pcutoff, dlcc_error *err) {
  memset(e, 0, sizeof *e);
  e->per_bodypart = calloc(n_bodyparts ? n_bodyparts : 1, sizeof *e->per_bodypart);
  if (!e->per_bodypart) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  e->n_bodyparts = n_bodyparts;
  e->pcutoff = pcutoff;
  return DLCC_OK;
}

static void add_one(dlcc_error_sum *s, double distance, bool above_cutoff) {
  s->sum += distance;
  s->n++;
  if (above_cutoff) {
    s->sum_cutoff += distance;
    s->n_cutoff++;
  }
}

void dlcc_ma_errors_add(dlcc_ma_errors *e, const double *distance, const double *score, size_t n_truth) {
  for (size_t g = 0; g < n_truth; g++)
    for (size_t k = 0; k < e->n_bodyparts; k++) {
      double d = distance[g * e->n_bodyparts + k];
      if (isnan(d)) continue;
      bool above = score[g * e->n_bodyparts + k] >= e->pcutoff;
      add_one(&e->per_bodypart[k], d, above);
      add_one(&e->all, d, above);
    }
}

double dlcc_error_sum_mean(const dlcc_error_sum *s, bool cutoff) {
  size_t n = cutoff ? s->n_cutoff : s->n;
  return n ? (cutoff ? s->sum_cutoff : s->sum) / (double)n : NAN;
}

void dlcc_ma_errors_free(dlcc_ma_errors *e) {
  free(e->per_bodypart);
  memset(e, 0, sizeof *e);
}
