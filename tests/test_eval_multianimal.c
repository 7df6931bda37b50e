/* Tests of multi-animal evaluation (src/eval/oks, matching, tracks; the assignment solver has
 * tests/test_assignment.c): OKS and mAP/mAR on hand-computed cases, DeepLabCut's numbers on a random
 * case (tools/oks_reference.py -> tests/fixtures/oks_reference.h), matching of individuals
 * independent of column order, identity switches on synthetic sequences and the flies ground truth. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/matching.h"
#include "eval/oks.h"
#include "eval/tracks.h"
#include "fixtures/oks_reference.h"
#include "project/labels.h"
#include "testutil.h"
#include "util/fileio.h"

#define assert_double_equal(actual, expected, tolerance) \
  assert_double_near((actual), (expected), (tolerance), __FILE__, __LINE__)
static void assert_double_near(double actual, double expected, double tolerance, const char *file, int line) {
  bool both_nan = isnan(actual) && isnan(expected);
  if (!both_nan && !(fabs(actual - expected) <= tolerance))
    fail_msg("%s:%d: %.17g, want %.17g (tolerance %g)", file, line, actual, expected, tolerance);
}

static const dlcc_oks_params default_oks = {DLCC_OKS_SIGMA_DEFAULT, NULL, DLCC_OKS_MARGIN_DEFAULT};

/* --- OKS --- */

static void test_oks_hand_table(void **state) {
  (void)state;
  /* Labels (0,0), (10,0), (10,20), (unlabeled): box 10 x 20, area (10 + eps)(20 + eps) = 200 (eps
   * vanishes in the rounding). sigma 0.1: denominator 2 * 200 * (2 * 0.1)^2 = 16.
   * Prediction (0,0): d^2 0 -> exp(0) = 1; (12,0): d^2 4 -> exp(-4/16) = 0.77880078307140487;
   * third not predicted -> 0; the fourth is predicted but unlabeled, so not counted.
   * OKS = (1 + 0.77880078307140487 + 0) / 3 = 0.59293359435713496. */
  const double truth[] = {0, 0, 10, 0, 10, 20, NAN, NAN};
  const double pred[] = {0, 0, 0.9, 12, 0, 0.8, NAN, NAN, NAN, 5, 5, 0.7};
  assert_double_equal(dlcc_oks(pred, truth, 4, &default_oks), 0.59293359435713496, 1e-15);
  /* margin 5: area (10 + 10)(20 + 10) = 600, denominator 48, exp(-4/48) = 0.92004441462932329;
   * (1 + 0.92004441462932329) / 3 = 0.64001480487644110. */
  dlcc_oks_params margin = {0.1, NULL, 5};
  assert_double_equal(dlcc_oks(pred, truth, 4, &margin), 0.64001480487644110, 1e-15);
  /* sigma 0.05 for the second keypoint: denominator 2 * 200 * 0.1^2 = 4, exp(-1) = 0.36787944117144233;
   * (1 + 0.36787944117144233) / 3 = 0.45595981372381411. */
  const double sigmas[] = {0.1, 0.05, 0.1, 0.1};
  dlcc_oks_params per_keypoint = {0.0, sigmas, 0};
  assert_double_equal(dlcc_oks(pred, truth, 4, &per_keypoint), 0.45595981372381411, 1e-15);
  /* Undefined: one labeled keypoint; two labels on a horizontal line (area 10 * eps = 2.2e-15 <=
   * 1e-8, DeepLabCut's np.isclose(area, 0)). */
  const double one[] = {0, 0, NAN, NAN, NAN, NAN, NAN, NAN};
  const double flat[] = {0, 0, 10, 0, NAN, NAN, NAN, NAN};
  assert_true(isnan(dlcc_oks(pred, one, 4, &default_oks)));
  assert_true(isnan(dlcc_oks(pred, flat, 4, &default_oks)));
}

static void test_oks_thresholds_are_numpys(void **state) {
  (void)state;
  /* np.linspace(0.5, 0.95, 10) and np.linspace(0, 1, 101), bit for bit. */
  assert_true(dlcc_oks_threshold(0) == 0.5);
  assert_true(dlcc_oks_threshold(1) == 0.55);
  assert_true(dlcc_oks_threshold(8) == 0.8999999999999999);
  assert_true(dlcc_oks_threshold(9) == 0.95);
  assert_true(dlcc_oks_recall_level(35) == 0.35000000000000003);
  assert_true(dlcc_oks_recall_level(100) == 1.0);
}

/* --- mAP --- */

/* A frame of n individuals of 3 keypoints each: copies of the triangle (0,0), (10,0), (10,20)
 * moved by (100 * i, 100 * i); xyz gets the poses with the given scores. */
static void triangle(double *xy, size_t stride, double shift, double score) {
  const double base[] = {0, 0, 10, 0, 10, 20};
  for (int k = 0; k < 3; k++) {
    xy[k * stride] = base[k * 2] + shift;
    xy[k * stride + 1] = base[k * 2 + 1] + shift;
    if (stride == 3) xy[k * 3 + 2] = score;
  }
}

static void check_map(const dlcc_pose_frame *frames, size_t n, dlcc_map_protocol protocol, double map, double mar) {
  dlcc_oks_ap ap;
  dlcc_error err;
  assert_int_equal(dlcc_oks_map(frames, n, &default_oks, protocol, &ap, &err), DLCC_OK);
  assert_double_equal(ap.map, map, 1e-12);
  assert_double_equal(ap.mar, mar, 1e-12);
}

static void test_map_perfect_missing_and_false_positive(void **state) {
  (void)state;
  double truth[2][2 * 3 * 2], pred[2][3 * 3 * 3];
  for (int f = 0; f < 2; f++)
    for (int i = 0; i < 2; i++) {
      triangle(truth[f] + i * 6, 2, 100.0 * (2 * f + i), 0);
      triangle(pred[f] + i * 9, 3, 100.0 * (2 * f + i), 0.9 - 0.1 * (2 * f + i));
    }
  /* Perfect: 4 labels, 4 predictions with OKS 1: every rank a true positive, precision
   * tp / (tp + eps) = 1 at every recall level, recall 1 -> mAP 1, mAR 1. */
  dlcc_pose_frame frames[2] = {{3, 2, truth[0], 2, pred[0], NULL}, {3, 2, truth[1], 2, pred[1], NULL}};
  for (int protocol = 0; protocol < 2; protocol++) {
    check_map(frames, 2, protocol, 1.0, 1.0);
    /* One animal missed (frame 1 has one prediction): ranks reach recall 1/4, 2/4, 3/4 at precision 1;
     * recall levels 0.00..0.75 (76 of 101) read 1, the 25 above read 0: AP 76/101 at every
     * threshold, mAP 0.75247524752475248, mAR 0.75. */
    frames[1].n_pred = 1;
    check_map(frames, 2, protocol, 76.0 / 101.0, 0.75);
    frames[1].n_pred = 2;
  }
  /* A false positive ranked first: frame 0's two perfect predictions (scores 0.9, 0.8) and one far
   * from both (OKS 0) with score 0.95; 2 labels. Ranks FP, TP, TP: recall 0, 1/2, 1; precision 0,
   * 1/2, 2/3, made non-increasing from the right: 2/3, 2/3, 2/3. Every recall level reads 2/3:
   * mAP 2/3, mAR 1. */
  triangle(pred[0] + 2 * 9, 3, 500, 0.95);
  frames[0].n_pred = 3;
  check_map(frames, 1, DLCC_MAP_TENSORFLOW, 2.0 / 3.0, 1.0);
  check_map(frames, 1, DLCC_MAP_PYTORCH, 2.0 / 3.0, 1.0);
  /* Equal scores: a false positive (far away) and then a perfect prediction, both scoring 0.9, 2
   * labels. TensorFlow ranks ties within an image later-first (argsort(...)[::-1]): TP, FP ->
   * precision 1, 1/2 at recall 1/2, 1/2: levels 0..0.50 read 1, AP 51/101 = 0.50495049504950495.
   * PyTorch keeps the order (stable sort): FP, TP -> precision 0, 1/2 -> 1/2, 1/2 at recall 0, 1/2:
   * AP 25.5/101. mAR 1/2 for both. */
  triangle(pred[0], 3, 500, 0.9);
  triangle(pred[0] + 9, 3, 0, 0.9);
  frames[0].n_pred = 2;
  check_map(frames, 1, DLCC_MAP_TENSORFLOW, 51.0 / 101.0, 0.5);
  check_map(frames, 1, DLCC_MAP_PYTORCH, 25.5 / 101.0, 0.5);
  /* Nothing predicted: 0 and 0. */
  frames[0].n_pred = 0;
  frames[1].n_pred = 0;
  check_map(frames, 2, DLCC_MAP_TENSORFLOW, 0.0, 0.0);
}

static void test_map_counts_thresholds(void **state) {
  (void)state;
  /* One label (0,0), (10,0), (10,20), (0,20) (area 200, denominator 16) and one prediction equal
   * but for the last keypoint moved 6 px: exp(-36/16) = 0.10539922456186433, OKS (3 + 0.105...) / 4
   * = 0.77634980614046608. A true positive at thresholds 0.50..0.75 (6 of 10: AP 1, recall 1), a
   * false positive at 0.80..0.95 (AP 0, recall 0): mAP = mAR = 0.6. */
  const double truth[] = {0, 0, 10, 0, 10, 20, 0, 20};
  const double pred[] = {0, 0, 1, 10, 0, 1, 10, 20, 1, 6, 20, 1};
  assert_double_equal(dlcc_oks(pred, truth, 4, &default_oks), 0.77634980614046608, 1e-15);
  dlcc_pose_frame frame = {4, 1, truth, 1, pred, NULL};
  check_map(&frame, 1, DLCC_MAP_TENSORFLOW, 0.6, 0.6);
  check_map(&frame, 1, DLCC_MAP_PYTORCH, 0.6, 0.6);
}

/* Two labels A = (0,0),(10,20) and B = A + (4,0) (each box 10 x 20, denominator 16); P1 = A +
 * (1.5,0) with score 0.9, P2 = A with score 0.8. OKS: P1-A exp(-2.25/16) = 0.86881505626284320,
 * P1-B exp(-6.25/16) = 0.67663384616172910, P2-A 1, P2-B exp(-1) = 0.36787944117144233. */
static const double greedy_truth[] = {0, 0, 10, 20, 4, 0, 14, 20};
static const double greedy_pred[] = {1.5, 0, 0.9, 11.5, 20, 0.9, 0, 0, 0.8, 10, 20, 0.8};

static void test_map_optimal_and_greedy_matching_differ(void **state) {
  (void)state;
  dlcc_pose_frame frame = {2, 2, greedy_truth, 2, greedy_pred, NULL};
  /* TensorFlow (optimal): P1-B + P2-A = 1.677 beats P1-A + P2-B = 1.237, so P1 has OKS 0.677 and P2
   * 1. Thresholds 0.50..0.65 (4): both true positives, AP 1, recall 1. 0.70..0.95 (6): P1 false,
   * P2 true: precision 0, 1/2 -> 1/2, 1/2 at recall 0, 1/2: levels 0..0.50 (51) read 1/2, AP
   * 25.5/101, recall 1/2. mAP (4 + 6 * 25.5/101) / 10 = 0.55148514851485149, mAR (4 + 3) / 10. */
  check_map(&frame, 1, DLCC_MAP_TENSORFLOW, 0.55148514851485149, 0.7);
  /* PyTorch (greedy per threshold): up to 0.85 (8 thresholds) P1 takes A (0.869 >= t) and P2, whose
   * best is A, is left out: TP, FP -> AP 51/101, recall 1/2. At 0.90 and 0.95 P1 falls below t and
   * leaves A to P2: FP, TP -> AP 25.5/101, recall 1/2. mAP (8 * 51 + 2 * 25.5) / 1010 = 459/1010,
   * mAR 0.5. */
  check_map(&frame, 1, DLCC_MAP_PYTORCH, 459.0 / 1010.0, 0.5);
}

static void test_map_matches_deeplabcut_on_random_case(void **state) {
  (void)state;
  dlcc_pose_frame frames[OKSREF_N_FRAMES];
  size_t t_off = 0, p_off = 0, o_off = 0;
  for (size_t f = 0; f < OKSREF_N_FRAMES; f++) {
    frames[f] = (dlcc_pose_frame){OKSREF_N_BODYPARTS, oksref_n_truth[f], oksref_truth + t_off, oksref_n_pred[f],
                                  oksref_pred + p_off, NULL};
    dlcc_oks_params plain = {oksref_sigma, NULL, 0}, custom = {0, oksref_sigmas, oksref_margin};
    for (size_t i = 0; i < oksref_n_pred[f]; i++)
      for (size_t g = 0; g < oksref_n_truth[f]; g++, o_off++) {
        const double *p = frames[f].pred + i * OKSREF_N_BODYPARTS * 3;
        const double *t = frames[f].truth + g * OKSREF_N_BODYPARTS * 2;
        /* numpy's exp (its own SIMD code) and the C library's differ in the last bit for some
         * arguments, so OKS agrees to within a few units in the last place. */
        assert_double_equal(dlcc_oks(p, t, OKSREF_N_BODYPARTS, &plain), oksref_oks[o_off], 1e-15);
        assert_double_equal(dlcc_oks(p, t, OKSREF_N_BODYPARTS, &custom), oksref_oks_custom[o_off], 1e-15);
      }
    t_off += oksref_n_truth[f] * OKSREF_N_BODYPARTS * 2;
    p_off += oksref_n_pred[f] * OKSREF_N_BODYPARTS * 3;
  }
  assert_int_equal(o_off, sizeof oksref_oks / sizeof *oksref_oks);
  /* mAP and mAR to the last bit: the same sums in the same order as numpy. */
  dlcc_oks_ap ap;
  dlcc_error err;
  dlcc_oks_params plain = {oksref_sigma, NULL, 0}, custom = {0, oksref_sigmas, oksref_margin};
  assert_int_equal(dlcc_oks_map(frames, OKSREF_N_FRAMES, &plain, DLCC_MAP_TENSORFLOW, &ap, &err), DLCC_OK);
  assert_double_equal(ap.map, oksref_tf_map, 0);
  assert_double_equal(ap.mar, oksref_tf_mar, 0);
  assert_int_equal(dlcc_oks_map(frames, OKSREF_N_FRAMES, &custom, DLCC_MAP_TENSORFLOW, &ap, &err), DLCC_OK);
  assert_double_equal(ap.map, oksref_tf_map_custom, 0);
  assert_double_equal(ap.mar, oksref_tf_mar_custom, 0);
  assert_int_equal(dlcc_oks_map(frames, OKSREF_N_FRAMES, &plain, DLCC_MAP_PYTORCH, &ap, &err), DLCC_OK);
  assert_double_equal(ap.map, oksref_pt_map, 0);
  assert_double_equal(ap.mar, oksref_pt_mar, 0);

  /* DeepLabCut 3's RMSE (greedy OKS matching) and detection RMSE, with and without pcutoff; sums
   * run in another order than numpy's, hence the tolerance. */
  dlcc_ma_errors rmse, det;
  assert_int_equal(dlcc_ma_errors_init(&rmse, OKSREF_N_BODYPARTS, oksref_pcutoff, &err), DLCC_OK);
  assert_int_equal(dlcc_ma_errors_init(&det, OKSREF_N_BODYPARTS, oksref_pcutoff, &err), DLCC_OK);
  for (size_t f = 0; f < OKSREF_N_FRAMES; f++) {
    const dlcc_pose_frame *fr = &frames[f];
    size_t nb = OKSREF_N_BODYPARTS, cells = fr->n_truth * nb + 1;
    long *pred_of_truth = malloc((fr->n_truth + 1) * sizeof *pred_of_truth);
    double *dist = malloc(cells * sizeof *dist), *score = malloc(cells * sizeof *score);
    assert_int_equal(dlcc_match_individuals(fr, DLCC_MATCH_OKS_GREEDY, &default_oks, pred_of_truth, &err), DLCC_OK);
    dlcc_matched_errors(fr, pred_of_truth, dist, score);
    dlcc_ma_errors_add(&rmse, dist, score, fr->n_truth);
    /* Detections: per body part the predicted keypoints of that part. */
    double *truth_xy = malloc((fr->n_truth + 1) * 2 * sizeof *truth_xy);
    double *det_xy = malloc((fr->n_pred + 1) * 2 * sizeof *det_xy);
    long *det_of = malloc((fr->n_truth + 1) * sizeof *det_of);
    for (size_t k = 0; k < nb; k++) {
      for (size_t g = 0; g < fr->n_truth; g++)
        memcpy(truth_xy + g * 2, fr->truth + (g * nb + k) * 2, 2 * sizeof(double));
      for (size_t i = 0; i < fr->n_pred; i++) memcpy(det_xy + i * 2, fr->pred + (i * nb + k) * 3, 2 * sizeof(double));
      assert_int_equal(dlcc_match_detections(truth_xy, fr->n_truth, det_xy, fr->n_pred, det_of, &err), DLCC_OK);
      for (size_t g = 0; g < fr->n_truth; g++) {
        dist[g * nb + k] = score[g * nb + k] = NAN;
        if (det_of[g] < 0) continue;
        const double *d = fr->pred + ((size_t)det_of[g] * nb + k) * 3;
        dist[g * nb + k] = hypot(d[0] - truth_xy[g * 2], d[1] - truth_xy[g * 2 + 1]);
        score[g * nb + k] = d[2];
      }
    }
    dlcc_ma_errors_add(&det, dist, score, fr->n_truth);
    free(pred_of_truth);
    free(dist);
    free(score);
    free(truth_xy);
    free(det_xy);
    free(det_of);
  }
  assert_double_equal(dlcc_error_sum_mean(&rmse.all, false), oksref_rmse, 1e-12);
  assert_double_equal(dlcc_error_sum_mean(&rmse.all, true), oksref_rmse_pcutoff, 1e-12);
  assert_double_equal(dlcc_error_sum_mean(&det.all, false), oksref_det_rmse, 1e-12);
  assert_double_equal(dlcc_error_sum_mean(&det.all, true), oksref_det_rmse_pcutoff, 1e-12);
  dlcc_ma_errors_free(&rmse);
  dlcc_ma_errors_free(&det);
}

/* --- matching of individuals --- */

/* Three animals of 3 keypoints (triangles 100 px apart); each prediction is its animal moved by
 * (3,4) (5 px), (0,1) (1 px) or (6,8) (10 px); keypoint scores 0.9 except animal 1's last (0.2).
 * truth_order and pred_order give the column order of individuals in each table. */
static void make_three_animals(const int *truth_order, const int *pred_order, double *truth, double *pred) {
  const double offsets[3][2] = {{3, 4}, {0, 1}, {6, 8}};
  for (int c = 0; c < 3; c++) {
    triangle(truth + c * 6, 2, 100.0 * truth_order[c], 0);
    int a = pred_order[c];
    triangle(pred + c * 9, 3, 100.0 * a, 0.9);
    for (int k = 0; k < 3; k++) {
      pred[c * 9 + k * 3] += offsets[a][0];
      pred[c * 9 + k * 3 + 1] += offsets[a][1];
    }
    if (a == 1) pred[c * 9 + 2 * 3 + 2] = 0.2;
  }
}

static void errors_of(const dlcc_pose_frame *f, dlcc_match_rule rule, dlcc_ma_errors *e, long *pred_of_truth) {
  double dist[9], score[9];
  dlcc_error err;
  assert_int_equal(dlcc_match_individuals(f, rule, &default_oks, pred_of_truth, &err), DLCC_OK);
  dlcc_matched_errors(f, pred_of_truth, dist, score);
  assert_int_equal(dlcc_ma_errors_init(e, f->n_bodyparts, 0.5, &err), DLCC_OK);
  dlcc_ma_errors_add(e, dist, score, f->n_truth);
}

static void test_matching_ignores_order_of_individual_columns(void **state) {
  (void)state;
  const int identity[] = {0, 1, 2}, truth_order[] = {2, 0, 1}, pred_order[] = {1, 2, 0};
  double truth_a[18], pred_a[27], truth_b[18], pred_b[27];
  make_three_animals(identity, identity, truth_a, pred_a);
  make_three_animals(truth_order, pred_order, truth_b, pred_b);
  dlcc_pose_frame a = {3, 3, truth_a, 3, pred_a, NULL}, b = {3, 3, truth_b, 3, pred_b, NULL};
  for (int rule = DLCC_MATCH_DISTANCE; rule <= DLCC_MATCH_OKS_GREEDY; rule++) {
    dlcc_ma_errors ea, eb;
    long match_a[3], match_b[3];
    errors_of(&a, rule, &ea, match_a);
    errors_of(&b, rule, &eb, match_b);
    /* In b, label column c is animal truth_order[c]; its prediction is the column holding that
     * animal in pred_order. */
    for (int c = 0; c < 3; c++) {
      assert_int_equal(match_a[c], c);
      assert_int_equal(pred_order[match_b[c]], truth_order[c]);
    }
    /* Every keypoint counts: (3 * 5 + 3 * 1 + 3 * 10) / 9 = 48 / 9 = 5.333...; with pcutoff 0.5
     * animal 1's last keypoint (1 px, score 0.2) drops out: 47 / 8 = 5.875. Per body part 2 (the
     * last): (5 + 1 + 10) / 3 = 16/3 and (5 + 10) / 2 = 7.5. */
    for (int k = 0; k < 2; k++) {
      dlcc_ma_errors *e = k ? &eb : &ea;
      assert_double_equal(dlcc_error_sum_mean(&e->all, false), 48.0 / 9.0, 1e-12);
      assert_double_equal(dlcc_error_sum_mean(&e->all, true), 47.0 / 8.0, 1e-12);
      assert_double_equal(dlcc_error_sum_mean(&e->per_bodypart[2], false), 16.0 / 3.0, 1e-12);
      assert_double_equal(dlcc_error_sum_mean(&e->per_bodypart[2], true), 7.5, 1e-12);
    }
    dlcc_ma_errors_free(&ea);
    dlcc_ma_errors_free(&eb);
  }
}

static void test_matching_frame_with_only_individual2_labeled(void **state) {
  (void)state;
  /* individual1 is not labeled at all, individual2 is animal 1; the predictions are animal 0 (5 px
   * off) and animal 1 (1 px off). Only individual2 is matched, to the second prediction; the other
   * prediction is left over and individual1 contributes nothing: mean error 1 px over 3 keypoints. */
  const int order[] = {0, 1, 2};
  double truth[18], pred[27];
  make_three_animals(order, order, truth, pred);
  for (int k = 0; k < 6; k++) truth[k] = NAN;
  dlcc_pose_frame f = {3, 2, truth, 2, pred, NULL};
  for (int rule = DLCC_MATCH_DISTANCE; rule <= DLCC_MATCH_OKS_GREEDY; rule++) {
    dlcc_ma_errors e;
    long match[2];
    errors_of(&f, rule, &e, match);
    assert_int_equal(match[0], -1);
    assert_int_equal(match[1], 1);
    assert_int_equal(e.all.n, 3);
    assert_double_equal(dlcc_error_sum_mean(&e.all, false), 1.0, 1e-12);
    assert_int_equal(e.per_bodypart[0].n, 1);
    dlcc_ma_errors_free(&e);
  }
}

static void test_matching_rules_on_close_animals(void **state) {
  (void)state;
  /* The labels and predictions of test_map_optimal_and_greedy_matching_differ. Mean distances: P1-A
   * 1.5, P1-B 2.5, P2-A 0, P2-B 4: the optimal distance matching is A-P2, B-P1 (2.5 < 5.5), as is
   * the optimal OKS matching (1.677 > 1.237); DeepLabCut 3's greedy OKS rule gives A to P1 (score
   * 0.9, best OKS A) and leaves B unmatched (P2's best, A, is taken). */
  dlcc_pose_frame f = {2, 2, greedy_truth, 2, greedy_pred, NULL};
  long match[2];
  dlcc_error err;
  assert_int_equal(dlcc_match_individuals(&f, DLCC_MATCH_DISTANCE, NULL, match, &err), DLCC_OK);
  assert_int_equal(match[0], 1);
  assert_int_equal(match[1], 0);
  assert_int_equal(dlcc_match_individuals(&f, DLCC_MATCH_OKS, &default_oks, match, &err), DLCC_OK);
  assert_int_equal(match[0], 1);
  assert_int_equal(match[1], 0);
  assert_int_equal(dlcc_match_individuals(&f, DLCC_MATCH_OKS_GREEDY, &default_oks, match, &err), DLCC_OK);
  assert_int_equal(match[0], 0);
  assert_int_equal(match[1], -1);
}

static void test_detection_matching_is_deeplabcuts_greedy_rule(void **state) {
  (void)state;
  /* Labels at x = 0, 0.1, 0.2, 0.3 and detections at 0.01, 0.12, 0.23, 100 (y = 0). Nearest
   * distances 0.01, 0.02, 0.03, 0.07, so labels go in order; each takes its nearest free detection.
   * The last label's 3 nearest (0.23, 0.12, 0.01) are all taken: it gets none although the
   * detection at 100 is free (find_closest_neighbors with k = 3). */
  const double truth[] = {0, 0, 0.1, 0, 0.2, 0, 0.3, 0};
  const double det[] = {0.01, 0, 0.12, 0, 0.23, 0, 100, 0};
  long det_of[4];
  dlcc_error err;
  assert_int_equal(dlcc_match_detections(truth, 4, det, 4, det_of, &err), DLCC_OK);
  assert_int_equal(det_of[0], 0);
  assert_int_equal(det_of[1], 1);
  assert_int_equal(det_of[2], 2);
  assert_int_equal(det_of[3], -1);
  /* Visiting order is by nearest distance, not label order: label 0 at x = 5 (nearest 4.8 away),
   * label 1 at x = 0.3 (0.1 away) -> label 1 takes 0.2 first, label 0 then takes 10. */
  const double truth2[] = {5, 0, 0.3, 0};
  const double det2[] = {0.2, 0, 10, 0};
  assert_int_equal(dlcc_match_detections(truth2, 2, det2, 2, det_of, &err), DLCC_OK);
  assert_int_equal(det_of[0], 1);
  assert_int_equal(det_of[1], 0);
}

/* --- tracks against video ground truth --- */

static void test_id_switches_follow_mot(void **state) {
  (void)state;
  /* One column per individual, one row per frame. Individual 0: A A - B -> 1 switch (the unmatched
   * frame keeps the memory). 1: A - A -> 0. 2: A B A -> 2. 3: never matched -> 0. */
  const long seq[] = {
      0,  0,  0,  -1,  /* frame 0 */
      0,  -1, 1,  -1,  /* frame 1 */
      -1, 0,  0,  -1,  /* frame 2 */
      1,  -1, -1, -1,  /* frame 3 */
  };
  size_t per[4];
  assert_int_equal(dlcc_count_id_switches(seq, 4, 4, per), 3);
  assert_int_equal(per[0], 1);
  assert_int_equal(per[1], 0);
  assert_int_equal(per[2], 2);
  assert_int_equal(per[3], 0);
  /* Two individuals exchanging their tracks: one switch each. */
  const long exchange[] = {0, 1, 0, 1, 1, 0, 1, 0};
  assert_int_equal(dlcc_count_id_switches(exchange, 4, 2, NULL), 2);
}

/* A multi-animal table with individuals `names` (n), body parts head and tail, n_rows rows
 * "0".."n_rows-1", n_coords values per keypoint, all NaN. */
static void make_ma_table(dlcc_label_table *t, char *const *names, size_t n, size_t n_rows, size_t n_coords) {
  char *individuals[8] = {0}, *parts[8] = {0}, *rows[16] = {0};
  for (size_t i = 0; i < n; i++) {
    individuals[2 * i] = individuals[2 * i + 1] = names[i];
    parts[2 * i] = "head";
    parts[2 * i + 1] = "tail";
  }
  for (size_t r = 0; r < n_rows; r++) rows[r] = dlcc_strdupf("%zu", r);
  dlcc_error err;
  assert_int_equal(dlcc_labels_create(t, "tester", true, n_coords, individuals, parts, 2 * n, rows, n_rows, &err),
                   DLCC_OK);
  for (size_t r = 0; r < n_rows; r++) free(rows[r]);
}

/* Sets individual column i of row r to head (x, y), tail (x + 10, y) (+ likelihood 0.9). */
static void put_animal(dlcc_label_table *t, size_t r, size_t i, double x, double y) {
  for (size_t k = 0; k < 2; k++) {
    t->values[dlcc_label_index(t, r, 2 * i + k, 0)] = x + 10.0 * (double)k;
    t->values[dlcc_label_index(t, r, 2 * i + k, 1)] = y;
    if (t->n_coords == 3) t->values[dlcc_label_index(t, r, 2 * i + k, 2)] = 0.9;
  }
}

static void test_tracks_multi_counts_switches_and_errors(void **state) {
  (void)state;
  /* 6 frames; female at (100, 100), male at (300, 100). Tracks: ind1 follows the female and ind2 the
   * male (1 px below) in frames 0-2; from frame 3 they swap (ind1 on the male). The male is not
   * labeled in frame 1; ind2 is missing in frame 4, so the female is unmatched there.
   * Switches: female ind1 ind1 ind1 ind2 - ind2 -> 1; male ind2 - ind2 ind1 ind1 ind1 -> 1.
   * Keypoints: female 6 frames x 2 visible, compared 5 x 2, errors 0 (ind1) or 1 (ind2: frames 3
   * and 5); male 5 x 2 visible and compared, errors 1 (frames 0, 2) or 0. Overall 22 visible, 20
   * compared, distances 4 x 1 + 4 x 1 = 8 -> mean 0.4 px; within 0.5 px: 12 of 22 = 54.5%. */
  char *gt_names[] = {"female", "male"}, *track_names[] = {"ind2", "ind1"};
  dlcc_label_table truth, pred;
  make_ma_table(&truth, gt_names, 2, 6, 2);
  /* The prediction lists ind2 first: column order does not matter. */
  make_ma_table(&pred, track_names, 2, 6, 3);
  for (size_t r = 0; r < 6; r++) {
    put_animal(&truth, r, 0, 100, 100);
    if (r != 1) put_animal(&truth, r, 1, 300, 100);
    bool swapped = r >= 3;
    size_t ind1 = 1, ind2 = 0;
    put_animal(&pred, r, ind1, swapped ? 300 : 100, 100);
    if (r != 4) put_animal(&pred, r, ind2, swapped ? 100 : 300, 101);
  }
  dlcc_ma_track_errors e;
  dlcc_error err;
  assert_int_equal(dlcc_tracks_compare_multi(&pred, "pred.csv", &truth, "truth.csv", 0.5, &e, &err), DLCC_OK);
  assert_int_equal(e.n_individuals, 2);
  assert_string_equal(e.individuals[0], "female");
  assert_int_equal(e.n_tracks, 2);
  assert_int_equal(e.total_id_switches, 2);
  assert_int_equal(e.id_switches[0], 1);
  assert_int_equal(e.id_switches[1], 1);
  assert_int_equal(e.n_matched, 5 + 5);
  assert_int_equal(e.track_of_individual[4 * 2 + 0], -1);
  assert_int_equal(e.keypoints.overall.visible, 22);
  assert_int_equal(e.keypoints.overall.compared, 20);
  assert_int_equal(e.keypoints.overall.within, 12);
  assert_double_equal(e.keypoints.overall.mean_error, 0.4, 1e-12);
  assert_int_equal(e.keypoints.n_bodyparts, 2);
  assert_int_equal(e.keypoints.per_bodypart[0].visible, 11);
  char *text = dlcc_tracks_format_multi(&e);
  assert_non_null(text);
  assert_contains(text, "identity switches: 2 (female 1, male 1) in 10 matched individual-frames; 2 tracks");
  free(text);
  dlcc_ma_track_errors_free(&e);
  /* Single-animal tables are refused. */
  dlcc_label_table single;
  char *parts[] = {"head"}, *rows[] = {"0"};
  assert_int_equal(dlcc_labels_create(&single, "tester", false, 3, NULL, parts, 1, rows, 1, &err), DLCC_OK);
  assert_int_equal(dlcc_tracks_compare_multi(&single, "single.csv", &truth, "truth.csv", 5, &e, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "single.csv is a single-animal table");
  dlcc_labels_free(&single);
  dlcc_labels_free(&truth);
  dlcc_labels_free(&pred);
}

static void test_tracks_multi_on_flies_ground_truth(void **state) {
  (void)state;
  char *dir = test_shared_data("flies-clip-madlc");
  char *path = dlcc_strdupf("%s/ground-truth/clip_all_frames.csv", dir);
  dlcc_label_table truth, pred;
  dlcc_error err;
  assert_int_equal(dlcc_labels_read(path, &truth, &err), DLCC_OK);
  assert_int_equal(dlcc_labels_read(path, &pred, &err), DLCC_OK);
  /* The ground truth as a "prediction" with its individuals renamed and listed male first: tracks
   * match the flies exactly, no switch. */
  size_t half = pred.n_columns / 2;
  assert_int_equal(pred.n_columns, 26);
  for (size_t c = 0; c < pred.n_columns; c++) {
    free(pred.columns[c].individual);
    pred.columns[c].individual = strdup(c < half ? "track_b" : "track_a");
  }
  dlcc_ma_track_errors e;
  assert_int_equal(dlcc_tracks_compare_multi(&pred, path, &truth, path, 5, &e, &err), DLCC_OK);
  assert_int_equal(e.keypoints.n_frames, 1500);
  assert_int_equal(e.n_individuals, 2);
  assert_int_equal(e.total_id_switches, 0);
  assert_double_equal(e.keypoints.overall.mean_error, 0.0, 0);
  assert_int_equal(e.keypoints.overall.compared, e.keypoints.overall.visible);
  assert_double_equal(e.keypoints.overall.pct_within, 100.0, 0);
  dlcc_ma_track_errors_free(&e);
  /* Swap the two flies' values from frame 750 on: each fly changes track once. */
  for (size_t r = 750; r < pred.n_rows; r++)
    for (size_t c = 0; c < half; c++)
      for (size_t v = 0; v < 2; v++) {
        double *a = &pred.values[dlcc_label_index(&pred, r, c, v)];
        double *b = &pred.values[dlcc_label_index(&pred, r, c + half, v)];
        double tmp = *a;
        *a = *b;
        *b = tmp;
      }
  assert_int_equal(dlcc_tracks_compare_multi(&pred, path, &truth, path, 5, &e, &err), DLCC_OK);
  assert_int_equal(e.total_id_switches, 2);
  assert_int_equal(e.id_switches[0], 1);
  assert_int_equal(e.id_switches[1], 1);
  assert_double_equal(e.keypoints.overall.mean_error, 0.0, 0);
  dlcc_ma_track_errors_free(&e);
  dlcc_labels_free(&truth);
  dlcc_labels_free(&pred);
  free(path);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oks_hand_table),
      cmocka_unit_test(test_oks_thresholds_are_numpys),
      cmocka_unit_test(test_map_perfect_missing_and_false_positive),
      cmocka_unit_test(test_map_counts_thresholds),
      cmocka_unit_test(test_map_optimal_and_greedy_matching_differ),
      cmocka_unit_test(test_map_matches_deeplabcut_on_random_case),
      cmocka_unit_test(test_matching_ignores_order_of_individual_columns),
      cmocka_unit_test(test_matching_frame_with_only_individual2_labeled),
      cmocka_unit_test(test_matching_rules_on_close_animals),
      cmocka_unit_test(test_detection_matching_is_deeplabcuts_greedy_rule),
      cmocka_unit_test(test_id_switches_follow_mot),
      cmocka_unit_test(test_tracks_multi_counts_switches_and_errors),
      cmocka_unit_test(test_tracks_multi_on_flies_ground_truth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
