/* Tests of src/infer/peaks, paf and assembly: hand-made score maps, fields and frames with answers
 * worked out in the comments, and a comparison with DeepLabCut's own code run on synthetic frames
 * (tools/assembly_reference.py -> tests/fixtures/assembly_reference.json: its Assembler and
 * compute_peaks_and_costs loaded from DeepLabCut's source; its scipy linear_sum_assignment cases are
 * tests/test_assignment.c's). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/assembly.h"
#include "infer/paf.h"
#include "infer/peaks.h"
#include "testutil.h"
#include "util/fileio.h"

#define STDEV 7.2801

/* ---- helpers ----------------------------------------------------------------------------------- */

static float *zeros(size_t n) {
  float *a = calloc(n, sizeof *a);
  assert_non_null(a);
  return a;
}

static void find(const dlcc_peak_params *p, const float *prob, const float *locref, int h, int w, dlcc_peaks *out) {
  dlcc_peak_finder *f = NULL;
  dlcc_error err;
  if (dlcc_peak_finder_create(&f, p, &err)) fail_msg("%s", err.message);
  if (dlcc_find_peaks(f, prob, locref, h, w, out, &err)) fail_msg("%s", err.message);
  dlcc_peak_finder_free(f);
}

/* Peaks of a frame given directly: rows of (joint, x, y, score), joints in increasing order. */
static dlcc_peaks peaks_of(int num_joints, const double (*rows)[4], size_t n) {
  dlcc_peaks p = {0};
  p.num_joints = num_joints;
  p.first = calloc((size_t)num_joints + 1, sizeof *p.first);
  p.peaks = calloc(n + 1, sizeof *p.peaks);
  assert_true(p.first && p.peaks);
  p.count = p.capacity = n;
  p.first_capacity = num_joints;
  size_t k = 0;
  for (int j = 0; j < num_joints; j++) {
    p.first[j] = k;
    while (k < n && (int)rows[k][0] == j) {
      p.peaks[k] = (dlcc_peak){rows[k][1], rows[k][2], rows[k][3], 0, 0};
      k++;
    }
  }
  assert_int_equal(k, n); /* rows were ordered by joint */
  p.first[num_joints] = n;
  return p;
}

/* Costs given directly: limb k's matrix in values[first[k] ..). */
static dlcc_link_costs costs_of(int n_limbs, const float *values, const size_t *sizes) {
  dlcc_link_costs c = {0};
  c.n_limbs = n_limbs;
  c.first = calloc((size_t)n_limbs + 1, sizeof *c.first);
  size_t total = 0;
  for (int k = 0; k < n_limbs; k++) total += sizes[k];
  c.affinity = calloc(total + 1, sizeof *c.affinity);
  assert_true(c.first && c.affinity);
  for (int k = 0; k < n_limbs; k++) c.first[k + 1] = c.first[k] + sizes[k];
  if (total) memcpy(c.affinity, values, total * sizeof *values);
  c.capacity = total;
  c.first_capacity = n_limbs;
  return c;
}

static void assemble(const dlcc_assembler_options *o, int num_joints, const dlcc_paf_link *limbs, int n_limbs,
                     const dlcc_assembly_prior *prior, const dlcc_peaks *peaks, const dlcc_link_costs *costs,
                     dlcc_assembly_result *res) {
  dlcc_assembler *a = NULL;
  dlcc_error err;
  if (dlcc_assembler_create(&a, o, num_joints, limbs, n_limbs, prior, &err)) fail_msg("%s", err.message);
  if (dlcc_assembly_result_init(res, a, &err)) fail_msg("%s", err.message);
  if (dlcc_assemble(a, peaks, costs, res, &err)) fail_msg("%s", err.message);
  dlcc_assembler_free(a);
}

static const double *part_of(const dlcc_assembly_result *r, int animal, int part) {
  return r->animals + ((size_t)animal * r->n_multibodyparts + part) * 3;
}

static void assert_part(const dlcc_assembly_result *r, int animal, int part, double x, double y, double score) {
  const double *p = part_of(r, animal, part);
  if (p[0] != x || p[1] != y || p[2] != score)
    fail_msg("animal %d part %d: got (%g, %g, %g), want (%g, %g, %g)", animal, part, p[0], p[1], p[2], x, y, score);
}

static void assert_part_missing(const dlcc_assembly_result *r, int animal, int part) {
  const double *p = part_of(r, animal, part);
  if (!isnan(p[0]) || !isnan(p[1]) || !isnan(p[2]))
    fail_msg("animal %d part %d: got (%g, %g, %g), want NaN", animal, part, p[0], p[1], p[2]);
}

/* ---- peaks --------------------------------------------------------------------------------------- */

/* One joint, 16 x 16 cells, probabilities set at a few cells (zero elsewhere). The kernel of sigma 1,
 * radius 5: K(k) = exp(-k^2/2) / sum_{k=-5..5} exp(-k^2/2) = 0.39894 (k=0), 0.24197 (1), 0.05399 (2),
 * 0.00443 (3); a lone cell of probability v smooths to v K(0)^2 = 0.15915 v at its centre. */

static void test_peaks_two_cells_three_apart_stay_two_peaks(void **state) {
  (void)state;
  /* 0.8 at (row 5, col 6) and (5, 9). Along row 5 the smoothed values are proportional to
   * col 6: K0 + K3 = 0.40337, col 7: K1 + K2 = 0.29596 (8 likewise), col 9 as col 6: each is the largest
   * of its 5 x 5 max-pool window (cols 4..8 and 7..11) -> two peaks, in row-major order, scored by the
   * unsmoothed 0.8 at their cells (f32 0.8 rounded to 3 decimals, widened: 0.800000011920929). */
  float *prob = zeros(256);
  prob[5 * 16 + 6] = prob[5 * 16 + 9] = 0.8f;
  dlcc_peak_params p;
  dlcc_peak_params_init(&p, 1, 8, STDEV);
  p.location_refinement = false;
  dlcc_peaks peaks = {0};
  find(&p, prob, NULL, 16, 16, &peaks);
  assert_int_equal(peaks.count, 2);
  assert_int_equal(dlcc_peaks_of_joint(&peaks, 0), 2);
  assert_int_equal(peaks.peaks[0].row, 5);
  assert_int_equal(peaks.peaks[0].col, 6);
  assert_int_equal(peaks.peaks[1].col, 9);
  /* cell centres: x = 6 * 8 + 4 = 52, 9 * 8 + 4 = 76; y = 5 * 8 + 4 = 44 */
  assert_true(peaks.peaks[0].x == 52 && peaks.peaks[0].y == 44 && peaks.peaks[1].x == 76);
  assert_true(peaks.peaks[0].score == (double)0.8f && peaks.peaks[1].score == (double)0.8f);
  dlcc_peaks_free(&peaks);
  free(prob);
}

static void test_peaks_two_cells_two_apart_merge_at_the_midpoint(void **state) {
  (void)state;
  /* 0.8 at (5, 6) and (5, 8): col 6 smooths to K0 + K2 = 0.45293 (times 0.8 K0), col 7 to 2 K1 = 0.48394:
   * the midpoint is the one maximum. Its unsmoothed probability is 0, and that is the peak's score, as in
   * DeepLabCut (it reads part_prob, not the smoothed map, at the peak). Without smoothing both cells
   * would tie within each other's window and both be peaks. */
  float *prob = zeros(256);
  prob[5 * 16 + 6] = prob[5 * 16 + 8] = 0.8f;
  dlcc_peak_params p;
  dlcc_peak_params_init(&p, 1, 8, STDEV);
  p.location_refinement = false;
  dlcc_peaks peaks = {0};
  find(&p, prob, NULL, 16, 16, &peaks);
  assert_int_equal(peaks.count, 1);
  assert_int_equal(peaks.peaks[0].row, 5);
  assert_int_equal(peaks.peaks[0].col, 7);
  assert_true(peaks.peaks[0].score == 0.0);
  dlcc_peaks_free(&peaks);
  free(prob);
}

static void test_peaks_threshold_is_on_the_smoothed_value(void **state) {
  (void)state;
  /* minconfidence 0.01 against v K0^2: 0.06 -> 0.00955 (no peak), 0.07 -> 0.01114 (a peak), far apart */
  float *prob = zeros(256);
  prob[3 * 16 + 3] = 0.06f;
  prob[12 * 16 + 12] = 0.07f;
  dlcc_peak_params p;
  dlcc_peak_params_init(&p, 1, 8, STDEV);
  p.location_refinement = false;
  dlcc_peaks peaks = {0};
  find(&p, prob, NULL, 16, 16, &peaks);
  assert_int_equal(peaks.count, 1);
  assert_int_equal(peaks.peaks[0].row, 12);
  assert_true(peaks.peaks[0].score == (double)0.07f);
  dlcc_peaks_free(&peaks);
  free(prob);
}

static void test_peaks_even_nms_radius_window_reaches_further_forward(void **state) {
  (void)state;
  /* nmsradius 4: a 4 x 4 max-pool window, which TensorFlow's "SAME" padding places at offsets -1..+2.
   * 0.3 at (5, 5) and 0.6 at (5, 8); relative to K0^2 the smoothed row holds col 5: 0.3 + 0.6 K3/K0 =
   * 0.3067, col 6: 0.3 K1/K0 + 0.6 K2/K0 = 0.2631, col 7: 0.3 K2/K0 + 0.6 K1/K0 = 0.4045, col 8: 0.6033.
   * Col 5's window (cols 4..7) holds col 7's 0.4045: no peak; a window of offsets -2..+1 would have made
   * it one. Col 8 is the one peak. */
  float *prob = zeros(256);
  prob[5 * 16 + 5] = 0.3f;
  prob[5 * 16 + 8] = 0.6f;
  dlcc_peak_params p;
  dlcc_peak_params_init(&p, 1, 8, STDEV);
  p.location_refinement = false;
  p.nms_radius = 4;
  dlcc_peaks peaks = {0};
  find(&p, prob, NULL, 16, 16, &peaks);
  assert_int_equal(peaks.count, 1);
  assert_int_equal(peaks.peaks[0].col, 8);
  dlcc_peaks_free(&peaks);
  free(prob);
}

static void test_peaks_locref_shifts_the_cell_centre(void **state) {
  (void)state;
  /* Two joints of a 16 x 16 map; joint 1 peaks at (row 5, col 3) with locref dx 0.5, dy -0.25:
   * x = 3 * 8 + 4 + f32(0.5 * f32(7.2801)) = 28 + 3.64004993... = 31.64004993 -> 31.64,
   * y = 5 * 8 + 4 + f32(-0.25 * 7.2800998...) = 44 - 1.82002497 = 42.17997503 -> 42.18 (3 decimals). Joint
   * 0 has no peak; locref values elsewhere do not matter. */
  size_t cells = 256;
  float *prob = zeros(2 * cells), *locref = zeros(4 * cells);
  prob[cells + 5 * 16 + 3] = 0.9f;
  locref[2 * cells + 5 * 16 + 3] = 0.5f;
  locref[3 * cells + 5 * 16 + 3] = -0.25f;
  locref[0 * cells + 5 * 16 + 3] = 9.0f; /* joint 0's dx: ignored */
  dlcc_peak_params p;
  dlcc_peak_params_init(&p, 2, 8, STDEV);
  dlcc_peaks peaks = {0};
  find(&p, prob, locref, 16, 16, &peaks);
  assert_int_equal(dlcc_peaks_of_joint(&peaks, 0), 0);
  assert_int_equal(dlcc_peaks_of_joint(&peaks, 1), 1);
  const dlcc_peak *pk = &peaks.peaks[peaks.first[1]];
  assert_true(pk->x == 31.64);
  assert_true(pk->y == 42.18);
  assert_true(pk->score == (double)0.9f);
  dlcc_peaks_free(&peaks);
  free(prob);
  free(locref);
}

static void test_peaks_reject_nan_and_bad_parameters(void **state) {
  (void)state;
  dlcc_peak_params p;
  dlcc_peak_params_init(&p, 1, 8, STDEV);
  p.sigma = 0;
  dlcc_peak_finder *f = NULL;
  dlcc_error err;
  assert_int_equal(dlcc_peak_finder_create(&f, &p, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "sigma");
  dlcc_peak_params_init(&p, 1, 8, STDEV);
  p.location_refinement = false;
  assert_int_equal(dlcc_peak_finder_create(&f, &p, &err), DLCC_OK);
  float prob[4] = {0, 0, NAN, 0};
  dlcc_peaks peaks = {0};
  assert_int_equal(dlcc_find_peaks(f, prob, NULL, 2, 2, &peaks, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "NaN");
  dlcc_peaks_free(&peaks);
  dlcc_peak_finder_free(f);
}

static void test_peaks_reuse_their_buffers_across_frames(void **state) {
  (void)state;
  /* A second frame of the same size and no more peaks grows nothing. */
  float *prob = zeros(256);
  prob[5 * 16 + 6] = prob[5 * 16 + 9] = 0.8f;
  dlcc_peak_params p;
  dlcc_peak_params_init(&p, 1, 8, STDEV);
  p.location_refinement = false;
  dlcc_peak_finder *f = NULL;
  dlcc_error err;
  assert_int_equal(dlcc_peak_finder_create(&f, &p, &err), DLCC_OK);
  dlcc_peaks peaks = {0};
  assert_int_equal(dlcc_find_peaks(f, prob, NULL, 16, 16, &peaks, &err), DLCC_OK);
  dlcc_peak *buffer = peaks.peaks;
  size_t capacity = peaks.capacity;
  prob[5 * 16 + 9] = 0;
  assert_int_equal(dlcc_find_peaks(f, prob, NULL, 16, 16, &peaks, &err), DLCC_OK);
  assert_int_equal(peaks.count, 1);
  assert_ptr_equal(peaks.peaks, buffer);
  assert_int_equal(peaks.capacity, capacity);
  dlcc_peaks_free(&peaks);
  dlcc_peak_finder_free(f);
  free(prob);
}

/* ---- PAF ----------------------------------------------------------------------------------------- */

/* A 10 x 10 field set everywhere to (fx, fy). */
static void uniform_field(float *x, float *y, float fx, float fy) {
  for (int i = 0; i < 100; i++) x[i] = fx, y[i] = fy;
}

static void test_paf_perfect_field_along_an_axis_scores_one(void **state) {
  (void)state;
  float fx[100], fy[100];
  /* limb from (row 2, col 0) to (row 2, col 9), field (1, 0): samples at cols 0..9, Ix = 9 * (1 + 1) / 2 = 9,
   * Iy = 0; 9 / (9 + 2^-23) = 0.99999999 in f32 -> 1.0 (3 decimals) */
  uniform_field(fx, fy, 1, 0);
  assert_true(dlcc_paf_affinity(fx, fy, 10, 2, 0, 2, 9) == 1.0f);
  /* a vertical limb in a (0, 1) field, and the field pointing backwards: |(Ix, Iy)| is 1 either way */
  uniform_field(fx, fy, 0, 1);
  assert_true(dlcc_paf_affinity(fx, fy, 10, 1, 4, 8, 4) == 1.0f);
  uniform_field(fx, fy, 0, -1);
  assert_true(dlcc_paf_affinity(fx, fy, 10, 1, 4, 8, 4) == 1.0f);
}

static void test_paf_perpendicular_field_scores_zero(void **state) {
  (void)state;
  float fx[100], fy[100];
  uniform_field(fx, fy, 0, 1); /* across the horizontal limb: Ix = 9 * 0, Iy = 0 * 1 (rows do not change) */
  assert_true(dlcc_paf_affinity(fx, fy, 10, 2, 0, 2, 9) == 0.0f);
  uniform_field(fx, fy, 0, 0);
  assert_true(dlcc_paf_affinity(fx, fy, 10, 2, 0, 2, 9) == 0.0f);
  /* coincident cells: no step, 0 / 2^-23 = 0 */
  uniform_field(fx, fy, 1, 1);
  assert_true(dlcc_paf_affinity(fx, fy, 10, 3, 3, 3, 3) == 0.0f);
}

static void test_paf_diagonal_limb_scores_by_per_axis_integrals(void **state) {
  (void)state;
  float fx[100], fy[100];
  /* (0, 0) -> (6, 6), unit field along it, D = (0.70710677, 0.70710677): Ix = 6 Dx, Iy = 6 Dy, |(Ix, Iy)| = 6,
   * length sqrt(72) = 8.4852814 -> 0.70710677 -> 0.707; the field across it, (-Dx, Dy), scores the same
   * (DeepLabCut's m1 takes the norm of the per-axis integrals) */
  float d = 0.70710677f;
  uniform_field(fx, fy, d, d);
  assert_true(dlcc_paf_affinity(fx, fy, 10, 0, 0, 6, 6) == 0.707f);
  uniform_field(fx, fy, -d, d);
  assert_true(dlcc_paf_affinity(fx, fy, 10, 0, 0, 6, 6) == 0.707f);
}

static void test_paf_trapezoid_over_the_sampled_cells(void **state) {
  (void)state;
  float fx[100], fy[100];
  /* (0, 0) -> (0, 9), field 1 on cols 0..4 and 0 on 5..9: steps 0-1 .. 3-4 give 1 each, 4-5 gives 0.5,
   * the rest 0: 4.5 / 9 = 0.5 */
  uniform_field(fx, fy, 0, 0);
  for (int c = 0; c <= 4; c++) fx[c] = 1;
  assert_true(dlcc_paf_affinity(fx, fy, 10, 0, 0, 0, 9) == 0.5f);
  /* (0, 0) -> (0, 4): samples floor(4k / 9) = 0,0,0,1,1,2,2,3,3,4, so every cell counts; field 1 at col 2 only:
   * the steps 1-2 and 2-3 give 0.5 each: 1 / 4 = 0.25 */
  uniform_field(fx, fy, 0, 0);
  fx[2] = 1;
  assert_true(dlcc_paf_affinity(fx, fy, 10, 0, 0, 0, 4) == 0.25f);
}

static void test_paf_link_costs_fill_a_matrix_per_limb(void **state) {
  (void)state;
  /* 10 x 10 maps, 2 PAF limbs; limb 0 of the graph (joints 0-1) is scored from PAF limb 1, a field (1, 0)
   * everywhere (limb 0's channels hold 0). Joint 0 has peaks at (r2, c0) and (r5, c1), joint 1 one at
   * (r2, c9): horizontal (2,0)->(2,9) scores 1; (5,1)->(2,9): Ix = 8 * 1, Iy = -3 * 0, |.| = 8,
   * length sqrt(73) = 8.5440037 -> 0.93632918 -> 0.936. */
  float *paf = zeros(4 * 100);
  for (int i = 0; i < 100; i++) paf[2 * 100 + i] = 1;
  dlcc_peaks peaks = {0};
  peaks.num_joints = 2;
  size_t first[3] = {0, 2, 3};
  dlcc_peak list[3] = {{4, 20, 0.9, 2, 0}, {12, 44, 0.8, 5, 1}, {76, 20, 0.7, 2, 9}};
  peaks.first = first;
  peaks.peaks = list;
  peaks.count = 3;
  dlcc_paf_link limb = {0, 1, 1};
  dlcc_link_costs costs = {0};
  dlcc_error err;
  assert_int_equal(dlcc_paf_link_costs(paf, 2, 10, 10, &limb, 1, &peaks, &costs, &err), DLCC_OK);
  assert_int_equal(costs.first[1], 2);
  assert_true(costs.affinity[0] == 1.0f);
  assert_true(costs.affinity[1] == 0.936f);
  limb.paf_index = 2;
  assert_int_equal(dlcc_paf_link_costs(paf, 2, 10, 10, &limb, 1, &peaks, &costs, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "PAF");
  dlcc_link_costs_free(&costs);
  free(paf);
}

/* ---- assembly, by hand ------------------------------------------------------------------------------ */

/* Three parts in a triangle graph: limbs (0,1), (1,2), (0,2). */
static const dlcc_paf_link TRIANGLE[3] = {{0, 1, 0}, {1, 2, 1}, {0, 2, 2}};

static void test_assembly_two_touching_animals_with_interleaved_parts(void **state) {
  (void)state;
  /* Animal A at x 100, 110, 120 (y 100), animal B at x 105, 115, 125 (y 104): each part's peaks alternate
   * between them, and each part lists them in a different order. Links of one animal score 0.9, 0.8,
   * 0.7 by limb; across animals 0.3. The optimal pairing per limb picks the same-animal pairs; each animal
   * is a complete group of 3 joints. */
  const double rows[6][4] = {
      {0, 100, 100, 0.9}, {0, 105, 104, 0.8}, /* part 0: A, B */
      {1, 115, 104, 0.7}, {1, 110, 100, 0.6}, /* part 1: B, A */
      {2, 120, 100, 0.5}, {2, 125, 104, 0.4}, /* part 2: A, B */
  };
  dlcc_peaks peaks = peaks_of(3, rows, 6);
  const float values[12] = {
      0.3f, 0.9f, 0.9f, 0.3f, /* limb (0,1): rows A0, B0; cols B1, A1 */
      0.3f, 0.8f, 0.8f, 0.3f, /* limb (1,2): rows B1, A1; cols A2, B2 */
      0.7f, 0.3f, 0.3f, 0.7f, /* limb (0,2): rows A0, B0; cols A2, B2 */
  };
  const size_t sizes[3] = {4, 4, 4};
  dlcc_link_costs costs = costs_of(3, values, sizes);
  dlcc_assembler_options o;
  dlcc_assembler_options_init(&o, 3, 2);
  dlcc_assembly_result res;
  assemble(&o, 3, TRIANGLE, 3, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 2);
  /* the complete groups come in the order of their first joint among the links: A (joint 0) first */
  assert_part(&res, 0, 0, 100, 100, 0.9);
  assert_part(&res, 0, 1, 110, 100, 0.6);
  assert_part(&res, 0, 2, 120, 100, 0.5);
  assert_part(&res, 1, 0, 105, 104, 0.8);
  assert_part(&res, 1, 1, 115, 104, 0.7);
  assert_part(&res, 1, 2, 125, 104, 0.4);
  /* affinity: mean of the 3 links (0.9 + 0.8 + 0.7) / 3 = 0.8 (f32 values summed in double), confidence the
   * mean score (0.9 + 0.6 + 0.5) / 3 = 0.6667 */
  assert_true(fabs(res.affinity[0] - ((double)0.9f + (double)0.8f + (double)0.7f) / 3) < 1e-15);
  assert_true(fabs(res.confidence[0] - 2.0 / 3) < 1e-15);
  assert_int_equal(res.n_links[0], 3);
  dlcc_assembly_result_free(&res);
  dlcc_link_costs_free(&costs);
  dlcc_peaks_free(&peaks);
}

static void test_assembly_missing_part_leaves_nan_and_keeps_the_animal(void **state) {
  (void)state;
  /* Animal A has parts 0, 1, 2; animal B lacks part 1. B's (0, 2) link (0.75) makes it an animal of
   * 1 link; min_n_links is 3 / 2 = 1, so it stays, with part 1 NaN. Its confidence counts the missing
   * part as 0, as DeepLabCut's Assembly does: (0.8 + 0 + 0.4) / 3 = 0.4. */
  const double rows[5][4] = {
      {0, 10, 10, 0.9}, {0, 200, 50, 0.8}, {1, 20, 10, 0.7}, {2, 30, 10, 0.6}, {2, 210, 60, 0.4},
  };
  dlcc_peaks peaks = peaks_of(3, rows, 5);
  const float values[8] = {
      0.9f, 0.2f,             /* (0,1): A0-A1, B0-A1 */
      0.8f, 0.2f,             /* (1,2): A1-A2, A1-B2 */
      0.7f, 0.1f, 0.2f, 0.75f /* (0,2) */
  };
  const size_t sizes[3] = {2, 2, 4};
  dlcc_link_costs costs = costs_of(3, values, sizes);
  dlcc_assembler_options o;
  dlcc_assembler_options_init(&o, 3, 3);
  dlcc_assembly_result res;
  assemble(&o, 3, TRIANGLE, 3, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 2);
  assert_part(&res, 0, 0, 10, 10, 0.9);
  assert_part(&res, 0, 2, 30, 10, 0.6);
  assert_part(&res, 1, 0, 200, 50, 0.8);
  assert_part_missing(&res, 1, 1);
  assert_part(&res, 1, 2, 210, 60, 0.4);
  assert_int_equal(res.n_links[1], 1);
  assert_true(res.affinity[1] == (double)0.75f);
  assert_true(fabs(res.confidence[1] - 0.4) < 1e-15);
  /* more individuals allowed (3) than in view (2): the third row is NaN */
  assert_part_missing(&res, 2, 0);
  assert_true(isnan(res.affinity[2]));
  /* with min_n_links 2 the one-link animal is dropped */
  dlcc_assembly_result_free(&res);
  o.min_n_links = 2;
  assemble(&o, 3, TRIANGLE, 3, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 1);
  assert_part(&res, 0, 1, 20, 10, 0.7);
  dlcc_assembly_result_free(&res);
  dlcc_link_costs_free(&costs);
  dlcc_peaks_free(&peaks);
}

static void test_assembly_leaves_out_a_spurious_peak(void **state) {
  (void)state;
  /* One animal (0.9-scored parts at x 10, 20, 30) and a spurious part-1 peak at (300, 300) whose links
   * score 0.05 and 0.08, under pafthreshold 0.1: no link reaches it and it is in no animal, even with
   * max_n_individuals 2. */
  const double rows[4][4] = {{0, 10, 10, 0.9}, {1, 20, 10, 0.9}, {1, 300, 300, 0.95}, {2, 30, 10, 0.9}};
  dlcc_peaks peaks = peaks_of(3, rows, 4);
  const float values[5] = {0.9f, 0.05f, 0.9f, 0.08f, 0.9f};
  const size_t sizes[3] = {2, 2, 1};
  dlcc_link_costs costs = costs_of(3, values, sizes);
  dlcc_assembler_options o;
  dlcc_assembler_options_init(&o, 3, 2);
  dlcc_assembly_result res;
  assemble(&o, 3, TRIANGLE, 3, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 1);
  assert_part(&res, 0, 1, 20, 10, 0.9);
  dlcc_assembly_result_free(&res);
  /* add_discarded hands the left-over peak to the nearest animal lacking its part: none lacks part 1 */
  o.add_discarded = true;
  assemble(&o, 3, TRIANGLE, 3, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 1);
  assert_part(&res, 0, 1, 20, 10, 0.9);
  dlcc_assembly_result_free(&res);
  dlcc_link_costs_free(&costs);
  dlcc_peaks_free(&peaks);
}

static void test_assembly_unique_part_takes_its_best_peak_above_pcutoff(void **state) {
  (void)state;
  /* Parts 0, 1 multi-animal (limb 0-1), part 2 unique: its best peak 0.6 at (50, 60) is kept; a unique
   * part whose best peak scores 0.1 (not > pcutoff 0.1) is not. */
  const double rows[5][4] = {{0, 10, 10, 0.9}, {1, 20, 10, 0.9}, {2, 40, 40, 0.3}, {2, 50, 60, 0.6}, {3, 5, 5, 0.1}};
  dlcc_peaks peaks = peaks_of(4, rows, 5);
  const float values[1] = {0.9f};
  const size_t sizes[1] = {1};
  dlcc_link_costs costs = costs_of(1, values, sizes);
  dlcc_paf_link limb = {0, 1, 0};
  dlcc_assembler_options o;
  dlcc_assembler_options_init(&o, 2, 2);
  dlcc_assembly_result res;
  assemble(&o, 4, &limb, 1, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 1);
  assert_int_equal(res.n_uniquebodyparts, 2);
  assert_true(res.has_unique);
  assert_true(res.unique[0] == 50 && res.unique[1] == 60 && res.unique[2] == 0.6);
  assert_true(isnan(res.unique[3]) && isnan(res.unique[5]));
  dlcc_assembly_result_free(&res);
  dlcc_link_costs_free(&costs);
  dlcc_peaks_free(&peaks);
}

static void test_assembly_add_discarded_goes_to_the_nearest_animal_lacking_the_part(void **state) {
  (void)state;
  /* Animals A (parts 0, 2 at x 10, 30) and B (x 200, 220), both without part 1; a part-1 peak D at
   * (190, 30) whose links all score 0.05, under pafthreshold. With add_discarded D joins the animal with
   * the nearest keypoint lacking part 1: B (|(200,10) - (190,30)| = 22.4 against 161.2 for A). */
  const double rows[5][4] = {
      {0, 10, 10, 0.9}, {0, 200, 10, 0.8}, {1, 190, 30, 0.7}, {2, 30, 10, 0.9}, {2, 220, 10, 0.8},
  };
  dlcc_peaks peaks = peaks_of(3, rows, 5);
  const float values[8] = {0.05f, 0.05f, 0.05f, 0.05f, 0.9f, 0.0f, 0.0f, 0.9f};
  const size_t sizes[3] = {2, 2, 4};
  dlcc_link_costs costs = costs_of(3, values, sizes);
  dlcc_assembler_options o;
  dlcc_assembler_options_init(&o, 3, 3);
  dlcc_assembly_result res;
  assemble(&o, 3, TRIANGLE, 3, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 2);
  assert_part_missing(&res, 0, 1);
  assert_part_missing(&res, 1, 1);
  dlcc_assembly_result_free(&res);
  o.add_discarded = true;
  assemble(&o, 3, TRIANGLE, 3, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 2);
  assert_part(&res, 0, 0, 10, 10, 0.9);
  assert_part_missing(&res, 0, 1);
  assert_part(&res, 1, 0, 200, 10, 0.8);
  assert_part(&res, 1, 1, 190, 30, 0.7);
  assert_int_equal(res.n_links[1], 1); /* a joint added without a link */
  assert_true(fabs(res.confidence[1] - (0.8 + 0.7 + 0.8) / 3) < 1e-15);
  dlcc_assembly_result_free(&res);
  dlcc_link_costs_free(&costs);
  dlcc_peaks_free(&peaks);
}

static void test_assembly_pafthreshold_is_compared_in_f32_when_greedy(void **state) {
  (void)state;
  /* One link of m1 cost f32(0.1) = 0.100000001490116 between the two parts of one animal, and a
   * pafthreshold of 0.1000000016. Greedy pairing compares the f32 cost array with the threshold in f32
   * (f32(0.1000000016) is f32(0.1): kept, one animal); optimal pairing compares the np.float32 scalar
   * with the Python float in double (0.1000000015 < 0.1000000016: dropped, no animal). */
  const double rows[2][4] = {{0, 10, 10, 0.9}, {1, 20, 10, 0.9}};
  dlcc_peaks peaks = peaks_of(2, rows, 2);
  const float values[1] = {0.1f};
  const size_t sizes[1] = {1};
  dlcc_link_costs costs = costs_of(1, values, sizes);
  dlcc_paf_link limb = {0, 1, 0};
  dlcc_assembler_options o;
  dlcc_assembler_options_init(&o, 2, 2);
  o.min_affinity = 0.1000000016;
  o.greedy = true;
  dlcc_assembly_result res;
  assemble(&o, 2, &limb, 1, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 1);
  assert_true(res.affinity[0] == (double)0.1f);
  dlcc_assembly_result_free(&res);
  o.greedy = false;
  assemble(&o, 2, &limb, 1, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 0);
  dlcc_assembly_result_free(&res);
  dlcc_link_costs_free(&costs);
  dlcc_peaks_free(&peaks);
}

static void test_assembly_skips_a_part_whose_peaks_all_lie_at_the_origin(void **state) {
  (void)state;
  /* DeepLabCut's _flatten_detections drops a part whose coordinates are all zero (np.any(coords) is
   * false), so its links go too: a lone part-1 peak at (0, 0) leaves no animal, one at (0, 5) makes one. */
  const double rows[2][4] = {{0, 10, 10, 0.9}, {1, 0, 0, 0.9}};
  dlcc_peaks peaks = peaks_of(2, rows, 2);
  const float values[1] = {0.9f};
  const size_t sizes[1] = {1};
  dlcc_link_costs costs = costs_of(1, values, sizes);
  dlcc_paf_link limb = {0, 1, 0};
  dlcc_assembler_options o;
  dlcc_assembler_options_init(&o, 2, 2);
  dlcc_assembly_result res;
  assemble(&o, 2, &limb, 1, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 0);
  dlcc_assembly_result_free(&res);
  peaks.peaks[1].y = 5;
  assemble(&o, 2, &limb, 1, NULL, &peaks, &costs, &res);
  assert_int_equal(res.n_animals, 1);
  assert_part(&res, 0, 1, 0, 5, 0.9);
  dlcc_assembly_result_free(&res);
  dlcc_link_costs_free(&costs);
  dlcc_peaks_free(&peaks);
}

static void test_assembler_rejects_bad_graphs(void **state) {
  (void)state;
  dlcc_assembler_options o;
  dlcc_assembler_options_init(&o, 3, 2);
  dlcc_assembler *a = NULL;
  dlcc_error err;
  dlcc_paf_link twice[2] = {{0, 1, 0}, {1, 0, 1}};
  assert_int_equal(dlcc_assembler_create(&a, &o, 3, twice, 2, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "both join");
  dlcc_paf_link to_unique = {0, 3, 0};
  assert_int_equal(dlcc_assembler_create(&a, &o, 4, &to_unique, 1, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "multi-animal");
  assert_null(a);
}

/* ---- against DeepLabCut's code --------------------------------------------------------------------- */

static cJSON *fixture;

static int load_fixture(void **state) {
  (void)state;
  const char *dir = getenv("DLCC_FIXTURES");
  assert_non_null(dir);
  char *path = dlcc_strdupf("%s/assembly_reference.json", dir);
  size_t len = 0;
  char *text = test_read_file(path, &len);
  fixture = cJSON_Parse(text);
  free(text);
  free(path);
  return fixture ? 0 : -1;
}

static int free_fixture(void **state) {
  (void)state;
  cJSON_Delete(fixture);
  return 0;
}

static cJSON *item(const cJSON *o, const char *key) {
  cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!v) fail_msg("fixture lacks \"%s\"", key);
  return v;
}

static double number(const cJSON *o, const char *key) {
  return cJSON_GetNumberValue(item(o, key));
}

static double f32_at(const cJSON *array, int i) {
  return (double)(float)cJSON_GetArrayItem(array, i)->valuedouble;
}

static void options_from(const cJSON *o, dlcc_assembler_options *opt, int n_multi) {
  dlcc_assembler_options_init(opt, n_multi, (int)number(o, "max_n_individuals"));
  opt->greedy = cJSON_IsTrue(item(o, "greedy"));
  opt->pcutoff = number(o, "pcutoff");
  opt->min_affinity = number(o, "min_affinity");
  opt->min_n_links = (int)number(o, "min_n_links");
  opt->max_overlap = number(o, "max_overlap");
  opt->add_discarded = cJSON_IsTrue(item(o, "add_discarded"));
}

/* Compares res with DeepLabCut's animals and unique parts of one frame. */
static void check_frame(const char *what, int frame, const dlcc_assembly_result *res, const cJSON *want_animals,
                        const cJSON *want_unique) {
  int n = cJSON_GetArraySize(want_animals);
  if (res->n_animals != n) fail_msg("%s frame %d: %d animals, DeepLabCut %d", what, frame, res->n_animals, n);
  for (int k = 0; k < n; k++) {
    const cJSON *animal = cJSON_GetArrayItem(want_animals, k), *parts = item(animal, "parts");
    for (int l = 0; l < res->n_multibodyparts; l++) {
      const cJSON *row = cJSON_GetArrayItem(parts, l);
      const double *got = part_of(res, k, l);
      if (cJSON_IsNull(row)) {
        if (!isnan(got[0])) fail_msg("%s frame %d animal %d part %d: got (%g, %g), DeepLabCut none", what, frame, k, l,
                                     got[0], got[1]);
        continue;
      }
      double x = cJSON_GetArrayItem(row, 0)->valuedouble, y = cJSON_GetArrayItem(row, 1)->valuedouble;
      double p = f32_at(row, 2);
      if (got[0] != x || got[1] != y || got[2] != p)
        fail_msg("%s frame %d animal %d part %d: got (%.3f, %.3f, %.9g), DeepLabCut (%.3f, %.3f, %.9g)", what, frame, k,
                 l, got[0], got[1], got[2], x, y, p);
    }
    double affinity = number(animal, "affinity"), confidence = number(animal, "confidence");
    if (fabs(res->affinity[k] - affinity) > 1e-12 || fabs(res->confidence[k] - confidence) > 1e-12 ||
        res->n_links[k] != (int)number(animal, "n_links"))
      fail_msg("%s frame %d animal %d: affinity %.17g, confidence %.17g, %d links; DeepLabCut %.17g, %.17g, %d", what,
               frame, k, res->affinity[k], res->confidence[k], res->n_links[k], affinity, confidence,
               (int)number(animal, "n_links"));
  }
  bool any_unique = false;
  for (int u = 0; u < res->n_uniquebodyparts; u++) {
    const cJSON *row = cJSON_IsNull(want_unique) ? NULL : cJSON_GetArrayItem(want_unique, u);
    const double *got = res->unique + 3 * u;
    if (!row || cJSON_IsNull(row)) {
      if (!isnan(got[0])) fail_msg("%s frame %d unique %d: got (%g, %g), DeepLabCut none", what, frame, u, got[0], got[1]);
      continue;
    }
    any_unique = true;
    if (got[0] != cJSON_GetArrayItem(row, 0)->valuedouble || got[1] != cJSON_GetArrayItem(row, 1)->valuedouble ||
        got[2] != f32_at(row, 2))
      fail_msg("%s frame %d unique %d: got (%g, %g, %g)", what, frame, u, got[0], got[1], got[2]);
  }
  if (res->has_unique != any_unique) fail_msg("%s frame %d: has_unique %d", what, frame, res->has_unique);
}

/* DeepLabCut returns every peak >= pcutoff of a lone multi-animal part; dlcc the max_n most confident of
 * them, in peak order. */
static cJSON *most_confident(const cJSON *animals, int max_n) {
  int n = cJSON_GetArraySize(animals);
  cJSON *kept = cJSON_CreateArray();
  for (int k = 0; k < n; k++) {
    const cJSON *a = cJSON_GetArrayItem(animals, k);
    double score = cJSON_GetArrayItem(cJSON_GetArrayItem(item(a, "parts"), 0), 2)->valuedouble;
    int better = 0;
    for (int m = 0; m < n; m++) {
      double other = cJSON_GetArrayItem(cJSON_GetArrayItem(item(cJSON_GetArrayItem(animals, m), "parts"), 0), 2)
                         ->valuedouble;
      better += other > score || (other == score && m < k);
    }
    if (better < max_n) cJSON_AddItemToArray(kept, cJSON_Duplicate(a, true));
  }
  return kept;
}

/* The prior of the fixture's labeled animals; the caller frees it. */
static dlcc_assembly_prior fit_fixture_prior(void) {
  const cJSON *cal = item(fixture, "calibration"), *animals = item(cal, "animals");
  int n_parts = (int)number(cal, "n_bodyparts"), n = cJSON_GetArraySize(animals);
  double *xy = malloc((size_t)n * n_parts * 2 * sizeof *xy);
  assert_non_null(xy);
  for (int a = 0; a < n; a++)
    for (int p = 0; p < n_parts; p++)
      for (int c = 0; c < 2; c++) {
        const cJSON *v = cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetArrayItem(animals, a), p), c);
        xy[((size_t)a * n_parts + p) * 2 + c] = cJSON_IsNull(v) ? NAN : v->valuedouble;
      }
  dlcc_assembly_prior prior;
  dlcc_error err;
  if (dlcc_assembly_prior_fit(xy, (size_t)n, n_parts, &prior, &err)) fail_msg("%s", err.message);
  free(xy);
  return prior;
}

static void assert_close_rel(const char *what, int i, double got, double want, double tol) {
  if (!(fabs(got - want) <= tol * fmax(1.0, fabs(want))))
    fail_msg("%s[%d]: got %.17g, DeepLabCut %.17g", what, i, got, want);
}

static void test_prior_matches_deeplabcut_calibration(void **state) {
  (void)state;
  /* gaussian_kde of the squared distances of 4 parts (6 pairs) over the nearly complete animals */
  const cJSON *cal = item(fixture, "calibration");
  dlcc_assembly_prior prior = fit_fixture_prior();
  assert_int_equal(prior.n_pairs, 6);
  assert_int_equal(prior.n_animals, (size_t)number(cal, "n_used"));
  for (int k = 0; k < 6; k++) {
    assert_close_rel("mean", k, prior.mean[k], cJSON_GetArrayItem(item(cal, "mean"), k)->valuedouble, 1e-12);
    for (int m = 0; m < 6; m++) {
      double cov = cJSON_GetArrayItem(cJSON_GetArrayItem(item(cal, "covariance"), k), m)->valuedouble;
      double inv = cJSON_GetArrayItem(cJSON_GetArrayItem(item(cal, "inv_cov"), k), m)->valuedouble;
      assert_close_rel("covariance", k * 6 + m, prior.covariance[k * 6 + m], cov, 1e-9);
      /* the inverse's entries are tiny (1/px^4): compare relative to the largest */
      double scale = fabs(cJSON_GetArrayItem(cJSON_GetArrayItem(item(cal, "inv_cov"), k), k)->valuedouble);
      if (fabs(prior.inv_cov[k * 6 + m] - inv) > 1e-7 * scale)
        fail_msg("inv_cov[%d][%d]: got %.17g, DeepLabCut %.17g", k, m, prior.inv_cov[k * 6 + m], inv);
    }
  }
  dlcc_assembly_prior_free(&prior);
  /* too few animals for the pairs, and one part: refused */
  double xy[2 * 4 * 2];
  for (int i = 0; i < 16; i++) xy[i] = i * 3.0 + (i % 5);
  dlcc_error err;
  assert_int_equal(dlcc_assembly_prior_fit(xy, 2, 4, &prior, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "pairs");
  assert_int_equal(dlcc_assembly_prior_fit(xy, 8, 1, &prior, &err), DLCC_ERR_INVALID);
}

static void test_assembly_matches_deeplabcut_on_detections(void **state) {
  (void)state;
  dlcc_assembly_prior prior = fit_fixture_prior();
  const cJSON *c;
  int n_cases = 0;
  cJSON_ArrayForEach(c, item(fixture, "detections")) {
    const char *name = cJSON_GetStringValue(item(c, "name"));
    int n_multi = (int)number(c, "n_multi"), num_joints = (int)number(c, "num_joints");
    const cJSON *graph = item(c, "graph");
    int n_limbs = cJSON_GetArraySize(graph);
    dlcc_paf_link limbs[16];
    for (int k = 0; k < n_limbs; k++)
      limbs[k] = (dlcc_paf_link){cJSON_GetArrayItem(cJSON_GetArrayItem(graph, k), 0)->valueint,
                             cJSON_GetArrayItem(cJSON_GetArrayItem(graph, k), 1)->valueint, k};
    dlcc_assembler_options o;
    options_from(item(c, "options"), &o, n_multi);
    dlcc_assembler *a = NULL;
    dlcc_error err;
    if (dlcc_assembler_create(&a, &o, num_joints, limbs, n_limbs, cJSON_IsTrue(item(c, "calibrated")) ? &prior : NULL,
                              &err))
      fail_msg("%s: %s", name, err.message);
    dlcc_assembly_result res;
    if (dlcc_assembly_result_init(&res, a, &err)) fail_msg("%s", err.message);
    const cJSON *frame;
    int f = 0;
    cJSON_ArrayForEach(frame, item(c, "frames")) {
      const cJSON *rows = item(frame, "peaks"), *costs_json = item(frame, "costs");
      int n = cJSON_GetArraySize(rows);
      double(*peak_rows)[4] = calloc((size_t)n + 1, sizeof *peak_rows);
      assert_non_null(peak_rows);
      for (int i = 0; i < n; i++) {
        const cJSON *r = cJSON_GetArrayItem(rows, i);
        for (int m = 0; m < 3; m++) peak_rows[i][m] = cJSON_GetArrayItem(r, m)->valuedouble;
        peak_rows[i][3] = f32_at(r, 3);
      }
      dlcc_peaks peaks = peaks_of(num_joints, (const double(*)[4])peak_rows, (size_t)n);
      size_t sizes[16], total = 0;
      for (int k = 0; k < n_limbs; k++) total += sizes[k] = (size_t)cJSON_GetArraySize(cJSON_GetArrayItem(costs_json, k));
      float *values = calloc(total + 1, sizeof *values);
      assert_non_null(values);
      size_t at = 0;
      for (int k = 0; k < n_limbs; k++)
        for (size_t m = 0; m < sizes[k]; m++) values[at++] = (float)f32_at(cJSON_GetArrayItem(costs_json, k), (int)m);
      dlcc_link_costs costs = costs_of(n_limbs, values, sizes);
      if (dlcc_assemble(a, &peaks, &costs, &res, &err)) fail_msg("%s frame %d: %s", name, f, err.message);
      cJSON *want = item(frame, "animals");
      cJSON *trimmed = n_multi == 1 ? most_confident(want, o.max_n_individuals) : NULL;
      check_frame(name, f, &res, trimmed ? trimmed : want, item(frame, "unique"));
      cJSON_Delete(trimmed);
      dlcc_link_costs_free(&costs);
      dlcc_peaks_free(&peaks);
      free(values);
      free(peak_rows);
      f++;
    }
    dlcc_assembly_result_free(&res);
    dlcc_assembler_free(a);
    n_cases++;
  }
  assert_true(n_cases >= 10);
  dlcc_assembly_prior_free(&prior);
}

static float *dequantise(const cJSON *array, double scale, size_t want) {
  size_t n = (size_t)cJSON_GetArraySize(array);
  if (n != want) fail_msg("fixture map holds %zu values, want %zu", n, want);
  float *a = malloc(n * sizeof *a);
  assert_non_null(a);
  for (size_t i = 0; i < n; i++) a[i] = (float)(cJSON_GetArrayItem(array, (int)i)->valuedouble / scale);
  return a;
}

static void test_maps_match_deeplabcut_peaks_costs_and_assembly(void **state) {
  (void)state;
  const cJSON *c;
  cJSON_ArrayForEach(c, item(fixture, "maps")) {
    const char *name = cJSON_GetStringValue(item(c, "name"));
    int h = (int)number(c, "height"), w = (int)number(c, "width"), nj = (int)number(c, "num_joints");
    int n_multi = (int)number(c, "n_multi"), n_paf = (int)number(c, "n_paf_limbs");
    size_t cells = (size_t)h * w;
    float *prob = dequantise(item(c, "prob_q"), 65536, nj * cells);
    float *locref = dequantise(item(c, "locref_q"), 4096, 2 * nj * cells);
    float *paf = dequantise(item(c, "paf_q"), 4096, 2 * n_paf * cells);
    dlcc_peak_params p;
    dlcc_peak_params_init(&p, nj, number(c, "stride"), number(c, "locref_stdev"));
    p.nms_radius = (int)number(c, "nms_radius");
    p.sigma = number(c, "sigma");
    p.locref_smooth = cJSON_IsTrue(item(c, "locref_smooth"));
    dlcc_peaks peaks = {0};
    find(&p, prob, locref, h, w, &peaks);
    const cJSON *want = item(c, "peaks");
    if ((int)peaks.count != cJSON_GetArraySize(want))
      fail_msg("%s: %zu peaks, DeepLabCut %d", name, peaks.count, cJSON_GetArraySize(want));
    for (size_t i = 0; i < peaks.count; i++) {
      const cJSON *r = cJSON_GetArrayItem(want, (int)i);
      const dlcc_peak *pk = &peaks.peaks[i];
      int joint = 0;
      while (peaks.first[joint + 1] <= i) joint++;
      if (joint != cJSON_GetArrayItem(r, 0)->valueint || pk->row != cJSON_GetArrayItem(r, 1)->valueint ||
          pk->col != cJSON_GetArrayItem(r, 2)->valueint || pk->x != cJSON_GetArrayItem(r, 3)->valuedouble ||
          pk->y != cJSON_GetArrayItem(r, 4)->valuedouble || pk->score != f32_at(r, 5))
        fail_msg("%s peak %zu: joint %d cell (%d, %d) at (%.3f, %.3f) score %.9g; DeepLabCut joint %d cell (%d, %d) at "
                 "(%.3f, %.3f) score %.9g", name, i, joint, pk->row, pk->col, pk->x, pk->y, pk->score,
                 cJSON_GetArrayItem(r, 0)->valueint, cJSON_GetArrayItem(r, 1)->valueint,
                 cJSON_GetArrayItem(r, 2)->valueint, cJSON_GetArrayItem(r, 3)->valuedouble,
                 cJSON_GetArrayItem(r, 4)->valuedouble, f32_at(r, 5));
    }
    const cJSON *limbs_json = item(c, "limbs");
    int n_limbs = cJSON_GetArraySize(limbs_json);
    dlcc_paf_link limbs[8];
    for (int k = 0; k < n_limbs; k++) {
      const cJSON *l = cJSON_GetArrayItem(limbs_json, k);
      limbs[k] = (dlcc_paf_link){cJSON_GetArrayItem(l, 0)->valueint, cJSON_GetArrayItem(l, 1)->valueint,
                             cJSON_GetArrayItem(l, 2)->valueint};
    }
    dlcc_link_costs costs = {0};
    dlcc_error err;
    if (dlcc_paf_link_costs(paf, n_paf, h, w, limbs, n_limbs, &peaks, &costs, &err)) fail_msg("%s", err.message);
    const cJSON *want_costs = item(c, "costs");
    int nonzero = 0;
    for (int k = 0; k < n_limbs; k++) {
      const cJSON *m = cJSON_GetArrayItem(want_costs, k);
      assert_int_equal(costs.first[k + 1] - costs.first[k], cJSON_GetArraySize(m));
      for (int i = 0; i < cJSON_GetArraySize(m); i++) {
        float got = costs.affinity[costs.first[k] + i];
        if ((double)got != f32_at(m, i)) fail_msg("%s limb %d cost %d: %.9g, DeepLabCut %.9g", name, k, i, got, f32_at(m, i));
        nonzero += got > 0.5f;
      }
    }
    assert_true(nonzero >= 2); /* some true limbs among the candidates */
    dlcc_assembler_options o;
    options_from(item(c, "options"), &o, n_multi);
    dlcc_assembly_result res;
    assemble(&o, nj, limbs, n_limbs, NULL, &peaks, &costs, &res);
    check_frame(name, 0, &res, item(c, "animals"), item(c, "unique"));
    assert_true(res.n_animals >= 2);
    dlcc_assembly_result_free(&res);
    dlcc_link_costs_free(&costs);
    dlcc_peaks_free(&peaks);
    free(prob);
    free(locref);
    free(paf);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_peaks_two_cells_three_apart_stay_two_peaks),
      cmocka_unit_test(test_peaks_two_cells_two_apart_merge_at_the_midpoint),
      cmocka_unit_test(test_peaks_threshold_is_on_the_smoothed_value),
      cmocka_unit_test(test_peaks_even_nms_radius_window_reaches_further_forward),
      cmocka_unit_test(test_peaks_locref_shifts_the_cell_centre),
      cmocka_unit_test(test_peaks_reject_nan_and_bad_parameters),
      cmocka_unit_test(test_peaks_reuse_their_buffers_across_frames),
      cmocka_unit_test(test_paf_perfect_field_along_an_axis_scores_one),
      cmocka_unit_test(test_paf_perpendicular_field_scores_zero),
      cmocka_unit_test(test_paf_diagonal_limb_scores_by_per_axis_integrals),
      cmocka_unit_test(test_paf_trapezoid_over_the_sampled_cells),
      cmocka_unit_test(test_paf_link_costs_fill_a_matrix_per_limb),
      cmocka_unit_test(test_assembly_two_touching_animals_with_interleaved_parts),
      cmocka_unit_test(test_assembly_missing_part_leaves_nan_and_keeps_the_animal),
      cmocka_unit_test(test_assembly_leaves_out_a_spurious_peak),
      cmocka_unit_test(test_assembly_unique_part_takes_its_best_peak_above_pcutoff),
      cmocka_unit_test(test_assembly_add_discarded_goes_to_the_nearest_animal_lacking_the_part),
      cmocka_unit_test(test_assembly_pafthreshold_is_compared_in_f32_when_greedy),
      cmocka_unit_test(test_assembly_skips_a_part_whose_peaks_all_lie_at_the_origin),
      cmocka_unit_test(test_assembler_rejects_bad_graphs),
      cmocka_unit_test(test_prior_matches_deeplabcut_calibration),
      cmocka_unit_test(test_assembly_matches_deeplabcut_on_detections),
      cmocka_unit_test(test_maps_match_deeplabcut_peaks_costs_and_assembly),
  };
  return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
