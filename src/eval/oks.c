/* OKS and pose mAP / mAR as DeepLabCut computes them (see oks.h). Each image is first reduced to
 * its countable individuals (>= 2 keypoints) and an OKS matrix; the two protocols then differ only
 * in which images count, how predictions are matched, and how ties in score are ordered. Sums run
 * in numpy's pairwise order, so that given the same OKS values mAP and mAR agree with DeepLabCut's
 * to the last bit; OKS itself may differ in the last bit, numpy's exp being its own code. */
#include "eval/oks.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/errors.h"
#include "util/assignment.h"

static bool labeled(const double *xy) { return isfinite(xy[0]) && isfinite(xy[1]); }

bool dlcc_pred_keypoint_present(const double *kp, dlcc_map_protocol protocol) {
  if (!isfinite(kp[0]) || !isfinite(kp[1])) return false;
  return protocol != DLCC_MAP_PYTORCH || kp[2] >= 0;
}

double dlcc_pred_score(const dlcc_pose_frame *f, size_t i, dlcc_map_protocol protocol) {
  if (f->pred_score) return f->pred_score[i];
  const double *kp = f->pred + i * f->n_bodyparts * 3;
  double sum = 0.0;
  size_t n = 0;
  for (size_t k = 0; k < f->n_bodyparts; k++) {
    double s = kp[k * 3 + 2];
    if (isnan(s) || (protocol == DLCC_MAP_PYTORCH && s < 0)) continue;
    sum += s;
    n++;
  }
  return n ? sum / (double)n : NAN;
}

double dlcc_oks(const double *pred, const double *truth, size_t n_bodyparts, const dlcc_oks_params *p) {
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  size_t n_labeled = 0;
  for (size_t k = 0; k < n_bodyparts; k++) {
    const double *t = truth + k * 2;
    if (!labeled(t)) continue;
    n_labeled++;
    for (int c = 0; c < 2; c++) {
      lo[c] = fmin(lo[c], t[c]);
      hi[c] = fmax(hi[c], t[c]);
    }
  }
  if (n_labeled < 2) return NAN;
  double area = (hi[0] - lo[0] + DBL_EPSILON + p->margin * 2) * (hi[1] - lo[1] + DBL_EPSILON + p->margin * 2);
  if (fabs(area) <= 1e-8) return NAN;
  double stack_terms[128], *terms = n_labeled <= 128 ? stack_terms : malloc(n_labeled * sizeof *terms);
  double sequential = 0.0;
  size_t n = 0;
  for (size_t k = 0; k < n_bodyparts; k++) {
    const double *t = truth + k * 2, *q = pred + k * 3;
    if (!labeled(t)) continue;
    double sigma = p->sigmas ? p->sigmas[k] : p->sigma;
    double kappa_squared = (2 * sigma) * (2 * sigma);
    double denom = 2 * area * kappa_squared;
    /* A keypoint that is not predicted is infinitely far: it contributes exp(-inf) = 0. */
    double dx = isnan(q[0]) ? INFINITY : q[0] - t[0], dy = isnan(q[1]) ? INFINITY : q[1] - t[1];
    double term = exp(-(dx * dx + dy * dy) / denom);
    if (terms) terms[n] = term;
    sequential += term;
    n++;
  }
  double sum = terms ? dlcc_eval_pairwise_sum(terms, n) : sequential;
  if (terms != stack_terms) free(terms);
  return sum / (double)n;
}

double dlcc_oks_threshold(size_t i) {
  if (i + 1 >= DLCC_OKS_N_THRESHOLDS) return 0.95;
  return (double)i * ((0.95 - 0.5) / 9) + 0.5;
}

double dlcc_oks_recall_level(size_t i) { return (double)i * 0.01; }

/* One image reduced to what mAP needs: the countable predictions in their within-image rank order
 * and their OKS against each countable label (n_pred x n_truth, NaN where undefined). */
typedef struct prepared_frame {
  size_t n_truth, n_pred;
  double *oks;
  double *score;    /* per ranked prediction */
  size_t *index;    /* the prediction's index in the frame */
} prepared_frame;

/* One prediction in the global ranking. */
typedef struct ranked_pred {
  double score;
  size_t image, rank;  /* rank: position in the image's own order */
  double oks;          /* OKS of its match at the current threshold, 0 when unmatched */
} ranked_pred;

static size_t count_labeled(const double *truth, size_t n_bodyparts) {
  size_t n = 0;
  for (size_t k = 0; k < n_bodyparts; k++) n += labeled(truth + k * 2);
  return n;
}

static size_t count_predicted(const double *pred, size_t n_bodyparts, dlcc_map_protocol protocol) {
  size_t n = 0;
  for (size_t k = 0; k < n_bodyparts; k++) n += dlcc_pred_keypoint_present(pred + k * 3, protocol);
  return n;
}

typedef struct scored_index {
  double score;
  size_t index;
  int tie_order;  /* +1: lower index first; -1: higher index first */
} scored_index;

/* Highest score first, NaN last, ties by index in tie_order's direction. */
static int by_score(const void *pa, const void *pb) {
  const scored_index *a = pa, *b = pb;
  bool na = isnan(a->score), nb = isnan(b->score);
  if (na != nb) return na ? 1 : -1;
  if (!na && a->score != b->score) return a->score > b->score ? -1 : 1;
  if (a->index == b->index) return 0;
  return (a->index < b->index ? -1 : 1) * a->tie_order;
}

/* Fills pf for frame f; a prediction's keypoints that do not count are masked out (NaN) before
 * its OKS is taken. */
static dlcc_status prepare_frame(const dlcc_pose_frame *f, const dlcc_oks_params *p, dlcc_map_protocol protocol,
                                 prepared_frame *pf, dlcc_error *err) {
  size_t nb = f->n_bodyparts;
  size_t *truth_rows = malloc((f->n_truth ? f->n_truth : 1) * sizeof *truth_rows);
  scored_index *order = malloc((f->n_pred ? f->n_pred : 1) * sizeof *order);
  double *masked = malloc((nb ? nb : 1) * 3 * sizeof *masked);
  if (!truth_rows || !order || !masked) goto nomem;
  for (size_t g = 0; g < f->n_truth; g++)
    if (count_labeled(f->truth + g * nb * 2, nb) >= 2) truth_rows[pf->n_truth++] = g;
  for (size_t i = 0; i < f->n_pred; i++)
    if (count_predicted(f->pred + i * nb * 3, nb, protocol) >= 2)
      order[pf->n_pred++] = (scored_index){dlcc_pred_score(f, i, protocol), i,
                                           protocol == DLCC_MAP_TENSORFLOW ? -1 : 1};
  qsort(order, pf->n_pred, sizeof *order, by_score);
  size_t cells = pf->n_pred * pf->n_truth;
  pf->oks = malloc((cells ? cells : 1) * sizeof *pf->oks);
  pf->score = malloc((pf->n_pred ? pf->n_pred : 1) * sizeof *pf->score);
  pf->index = malloc((pf->n_pred ? pf->n_pred : 1) * sizeof *pf->index);
  if (!pf->oks || !pf->score || !pf->index) goto nomem;
  for (size_t r = 0; r < pf->n_pred; r++) {
    const double *kp = f->pred + order[r].index * nb * 3;
    for (size_t k = 0; k < nb; k++) {
      bool present = dlcc_pred_keypoint_present(kp + k * 3, protocol);
      for (int c = 0; c < 3; c++) masked[k * 3 + c] = present ? kp[k * 3 + c] : NAN;
    }
    pf->score[r] = order[r].score;
    pf->index[r] = order[r].index;
    for (size_t g = 0; g < pf->n_truth; g++)
      pf->oks[r * pf->n_truth + g] = dlcc_oks(masked, f->truth + truth_rows[g] * nb * 2, nb, p);
  }
  free(truth_rows);
  free(order);
  free(masked);
  return DLCC_OK;
nomem:
  free(truth_rows);
  free(order);
  free(masked);
  return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
}

/* TensorFlow protocol: one assignment maximising the summed OKS (NaN counted as 0), as
 * linear_sum_assignment(oks, maximize=True); the OKS of each ranked prediction's match, 0 when
 * unmatched. */
static dlcc_status match_optimal(const prepared_frame *pf, double *matched_oks, dlcc_error *err) {
  size_t cells = pf->n_pred * pf->n_truth;
  double *score = malloc((cells ? cells : 1) * sizeof *score);
  int *truth_of = malloc((pf->n_pred ? pf->n_pred : 1) * sizeof *truth_of);
  if (!score || !truth_of) {
    free(score);
    free(truth_of);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  for (size_t c = 0; c < cells; c++) score[c] = isnan(pf->oks[c]) ? 0.0 : pf->oks[c];
  dlcc_status st = dlcc_assignment_solve(NULL, score, (int)pf->n_pred, (int)pf->n_truth, true, truth_of, err);
  for (size_t r = 0; !st && r < pf->n_pred; r++)
    matched_oks[r] = truth_of[r] < 0 ? 0.0 : score[r * pf->n_truth + (size_t)truth_of[r]];
  free(score);
  free(truth_of);
  return st;
}

/* PyTorch protocol at threshold t: in rank order each prediction takes its label of highest OKS
 * (the first on ties, NaN ignored) if that label is still free and the OKS >= t. used holds
 * n_truth flags. */
static void match_greedy(const prepared_frame *pf, double t, bool *used, double *matched_oks) {
  for (size_t g = 0; g < pf->n_truth; g++) used[g] = false;
  for (size_t r = 0; r < pf->n_pred; r++) {
    matched_oks[r] = 0.0;
    const double *row = pf->oks + r * pf->n_truth;
    long best = -1;
    for (size_t g = 0; g < pf->n_truth; g++)
      if (!isnan(row[g]) && (best < 0 || row[g] > row[best])) best = (long)g;
    if (best < 0 || used[best] || !(row[best] >= t)) continue;
    used[best] = true;
    matched_oks[r] = row[best];
  }
}

/* Highest score first, NaN last; ties by image, then by rank within the image. */
static int by_global_rank(const void *pa, const void *pb) {
  const ranked_pred *a = pa, *b = pb;
  bool na = isnan(a->score), nb = isnan(b->score);
  if (na != nb) return na ? 1 : -1;
  if (!na && a->score != b->score) return a->score > b->score ? -1 : 1;
  if (a->image != b->image) return a->image < b->image ? -1 : 1;
  return a->rank < b->rank ? -1 : a->rank > b->rank;
}

/* Interpolated precision at the recall levels and the final recall, for ranked OKS values.
 * rc and pr are scratch arrays of n. */
static void precision_recall(const ranked_pred *ranked, size_t n, size_t n_truth, double t, double *rc, double *pr,
                             double *precision, double *recall) {
  size_t tp = 0, fp = 0;
  for (size_t i = 0; i < n; i++) {
    if (ranked[i].oks >= t) tp++;
    else fp++;
    rc[i] = (double)tp / (double)n_truth;  /* 0/0 = NaN without labels, as numpy gives */
    pr[i] = (double)tp / ((double)(fp + tp) + DBL_EPSILON);
  }
  *recall = rc[n - 1];
  for (size_t i = n - 1; i > 0; i--)
    if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
  size_t i = 0;
  for (size_t level = 0; level < DLCC_OKS_N_RECALLS; level++) {
    double r = dlcc_oks_recall_level(level);
    while (i < n && !(rc[i] >= r)) i++;
    precision[level] = i < n ? pr[i] : 0.0;
  }
}

static void free_prepared(prepared_frame *pf, size_t n) {
  for (size_t i = 0; pf && i < n; i++) {
    free(pf[i].oks);
    free(pf[i].score);
    free(pf[i].index);
  }
  free(pf);
}

dlcc_status dlcc_oks_map(const dlcc_pose_frame *frames, size_t n_frames, const dlcc_oks_params *p,
                         dlcc_map_protocol protocol, dlcc_oks_ap *out, dlcc_error *err) {
  memset(out, 0, sizeof *out);
  for (size_t i = 1; i < n_frames; i++)
    if (frames[i].n_bodyparts != frames[0].n_bodyparts)
      return dlcc_fail(err, DLCC_ERR_INVALID, "frame %zu has %zu body parts but frame 0 has %zu; every frame of "
                       "an evaluation must have the same body parts", i, frames[i].n_bodyparts, frames[0].n_bodyparts);
  prepared_frame *pf = calloc(n_frames ? n_frames : 1, sizeof *pf);
  if (!pf) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_status st = DLCC_OK;
  for (size_t i = 0; !st && i < n_frames; i++) {
    const dlcc_pose_frame *f = &frames[i];
    /* TensorFlow's ground truth lists only images with a labeled keypoint; others never count. */
    if (protocol == DLCC_MAP_TENSORFLOW) {
      size_t any = 0;
      for (size_t g = 0; g < f->n_truth; g++) any += count_labeled(f->truth + g * f->n_bodyparts * 2, f->n_bodyparts);
      if (!any) continue;
    }
    st = prepare_frame(f, p, protocol, &pf[i], err);
    out->n_truth += pf[i].n_truth;
    out->n_pred += pf[i].n_pred;
  }
  size_t n = out->n_pred, max_truth = 1;
  for (size_t i = 0; i < n_frames; i++)
    if (pf[i].n_truth > max_truth) max_truth = pf[i].n_truth;
  ranked_pred *ranked = malloc((n ? n : 1) * sizeof *ranked);
  double *rc = malloc((n ? n : 1) * sizeof *rc), *pr = malloc((n ? n : 1) * sizeof *pr);
  bool *used = malloc(max_truth * sizeof *used);
  if (!st && (!ranked || !rc || !pr || !used)) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (st || n == 0) goto done;  /* no predictions: DeepLabCut reports mAP 0 and mAR 0 */
  for (size_t ti = 0; !st && ti < DLCC_OKS_N_THRESHOLDS; ti++) {
    double t = dlcc_oks_threshold(ti);
    /* The optimal assignment does not depend on t: compute it once. */
    if (protocol == DLCC_MAP_PYTORCH || ti == 0) {
      size_t k = 0;
      for (size_t i = 0; !st && i < n_frames; i++) {
        double *matched = pr;  /* scratch: pf[i].n_pred <= n values */
        if (protocol == DLCC_MAP_TENSORFLOW) st = match_optimal(&pf[i], matched, err);
        else match_greedy(&pf[i], t, used, matched);
        for (size_t r = 0; !st && r < pf[i].n_pred; r++)
          ranked[k++] = (ranked_pred){pf[i].score[r], i, r, matched[r]};
      }
      if (st) break;
      qsort(ranked, n, sizeof *ranked, by_global_rank);
    }
    precision_recall(ranked, n, out->n_truth, t, rc, pr, out->precision[ti], &out->recall[ti]);
  }
  if (!st) {
    out->map = dlcc_eval_pairwise_sum(&out->precision[0][0], DLCC_OKS_N_THRESHOLDS * DLCC_OKS_N_RECALLS) /
               (DLCC_OKS_N_THRESHOLDS * DLCC_OKS_N_RECALLS);
    out->mar = dlcc_eval_pairwise_sum(out->recall, DLCC_OKS_N_THRESHOLDS) / DLCC_OKS_N_THRESHOLDS;
  }
done:
  free_prepared(pf, n_frames);
  free(ranked);
  free(rc);
  free(pr);
  free(used);
  return st;
}
