/* Tests of src/targets/scoremap: score-map sizes, positive windows and locref values worked out by
 * hand, clipping at the map's edges, overlapping joints of one id, the weights, maDLC's quirks, and
 * a cell-for-cell comparison with a transcription of DeepLabCut's numpy code
 * (tools/scoremap_reference.py -> tests/fixtures/scoremap_reference.safetensors). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/safetensors.h"
#include "targets/scoremap.h"
#include "testutil.h"
#include "util/fileio.h"

#define GARBAGE 7.0f /* what the arrays hold before a build, to prove every element is written */

/* One image's four target arrays, CHW. */
typedef struct targets {
  int num_joints, width, height;
  float *scoremap, *weights, *locref, *locref_mask;
} targets;

static float *garbage_array(size_t n) {
  float *a = malloc(n * sizeof *a);
  assert_non_null(a);
  for (size_t i = 0; i < n; i++) a[i] = GARBAGE;
  return a;
}

static targets targets_alloc(int num_joints, int width, int height) {
  size_t plane = (size_t)width * (size_t)height;
  targets t = {num_joints, width, height, NULL, NULL, NULL, NULL};
  t.scoremap = garbage_array(num_joints * plane);
  t.weights = garbage_array(num_joints * plane);
  t.locref = garbage_array(2 * num_joints * plane);
  t.locref_mask = garbage_array(2 * num_joints * plane);
  return t;
}

static void targets_free(targets *t) {
  free(t->scoremap);
  free(t->weights);
  free(t->locref);
  free(t->locref_mask);
}

static void build(targets *t, const dlcc_scoremap_params *p, const dlcc_joint *joints, size_t n) {
  dlcc_scoremap_targets_build(p, joints, n, t->width, t->height, t->scoremap, t->weights, t->locref,
                              t->locref_mask);
}

/* Element (channel, x, y) of a CHW array of t's size. */
static float cell(const targets *t, const float *a, int channel, int x, int y) {
  return a[((size_t)channel * t->height + y) * t->width + x];
}

static size_t count_equal(const float *a, size_t n, float v) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++) count += a[i] == v;
  return count;
}

static size_t plane_of(const targets *t) { return (size_t)t->width * (size_t)t->height; }

/* DeepLabCut's defaults: stride 8, pos_dist_thresh 17, locref_stdev 7.2801. */
static dlcc_scoremap_params dlc_params(int num_joints, double scale) {
  return (dlcc_scoremap_params){.num_joints = num_joints, .stride = 8, .pos_dist_thresh = 17, .scale = scale,
                                .locref_stdev = 7.2801};
}

/* Asserts that channel `joint` of t is positive exactly on the n cells xy[2i], xy[2i+1]. */
static void assert_positive_cells(const targets *t, int joint, const int (*xy)[2], size_t n) {
  const float *score = t->scoremap + (size_t)joint * plane_of(t);
  if (count_equal(score, plane_of(t), 1) != n)
    fail_msg("%zu positive cells, want %zu", count_equal(score, plane_of(t), 1), n);
  if (count_equal(score, plane_of(t), 0) != plane_of(t) - n) fail_msg("a score is neither 0 nor 1");
  for (size_t i = 0; i < n; i++)
    if (cell(t, t->scoremap, joint, xy[i][0], xy[i][1]) != 1)
      fail_msg("cell (x=%d, y=%d) is not positive", xy[i][0], xy[i][1]);
}

static void test_scoremap_hand_case_lists_each_positive_cell(void **state) {
  (void)state;
  /* stride 8, half 4, radius 17 (17^2 = 289), joint (37.2, 21.9). Cell centres 8x+4, 8y+4:
   *   dx = 37.2 - (8x+4): x=2: 17.2 (295.84 alone > 289), 3: 9.2 (84.64), 4: 1.2 (1.44),
   *                       5: -6.8 (46.24), 6: -14.8 (219.04), 7: -22.8 (519.84)
   *   dy = 21.9 - (8y+4): y=0: 17.9 (320.41), 1: 9.9 (98.01), 2: 1.9 (3.61), 3: -6.1 (37.21),
   *                       4: -14.1 (198.81), 5: -22.1 (488.41)
   * dx^2 + dy^2 <= 289 holds for 14 cells:
   *   y=1: x=3..5 (182.65, 99.45, 144.25; x=6: 317.05 no)
   *   y=2: x=3..6 (88.25, 5.05, 49.85, 222.65; x=2: 299.45 no)
   *   y=3: x=3..6 (121.85, 38.65, 83.45, 256.25)
   *   y=4: x=3..5 (283.45, 200.25, 245.05; x=6: 417.85 no)
   * locref = d / 7.2801 (tools/scoremap_reference.py prints them): dx: 9.2 -> 1.263718905,
   * 1.2 -> 0.164832901, -6.8 -> -0.934053104, -14.8 -> -2.032939108; dy: 9.9 -> 1.359871430,
   * 1.9 -> 0.260985426, -6.1 -> -0.837900578, -14.1 -> -1.936786583. */
  static const int positive[14][2] = {{3, 1}, {4, 1}, {5, 1}, {3, 2}, {4, 2}, {5, 2}, {6, 2},
                                      {3, 3}, {4, 3}, {5, 3}, {6, 3}, {3, 4}, {4, 4}, {5, 4}};
  static const double locref_x[7] = {0, 0, 0, 1.263718905, 0.164832901, -0.934053104, -2.032939108};
  static const double locref_y[5] = {0, 1.359871430, 0.260985426, -0.837900578, -1.936786583};
  dlcc_scoremap_params p = dlc_params(1, 1.0);
  targets t = targets_alloc(1, 10, 8);
  const dlcc_joint joint = {0, 37.2, 21.9};
  build(&t, &p, &joint, 1);
  assert_positive_cells(&t, 0, positive, 14);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 10; x++) {
      bool in = cell(&t, t.scoremap, 0, x, y) == 1;
      double want_x = in ? locref_x[x] : 0, want_y = in ? locref_y[y] : 0;
      if (fabs(cell(&t, t.locref, 0, x, y) - want_x) > 1e-6 || fabs(cell(&t, t.locref, 1, x, y) - want_y) > 1e-6)
        fail_msg("locref at (x=%d, y=%d) = (%.9f, %.9f), want (%.9f, %.9f)", x, y, cell(&t, t.locref, 0, x, y),
                 cell(&t, t.locref, 1, x, y), want_x, want_y);
      assert_true(cell(&t, t.locref_mask, 0, x, y) == (in ? 1 : 0));
      assert_true(cell(&t, t.locref_mask, 1, x, y) == (in ? 1 : 0));
    }
  assert_int_equal(count_equal(t.weights, plane_of(&t), 1), plane_of(&t));
  targets_free(&t);
}

static void test_scoremap_radius_scales_with_batch_scale(void **state) {
  (void)state;
  /* Joint on the centre of cell (4, 3): offsets (i, j) cells away are 8*sqrt(i^2 + j^2) pixels.
   * scale 1: radius 17 = 2.125 cells, i^2 + j^2 <= 4.52: 0, the 4 at distance 1, 4 diagonals
   * (sqrt 2) and the 4 at distance 2: 13 cells, reaching x = 2..6.
   * scale 0.5: radius 8.5 = 1.0625 cells, i^2 + j^2 <= 1.13: the centre and its 4 neighbours. */
  const dlcc_joint joint = {0, 36, 28};
  targets t = targets_alloc(1, 10, 8);
  dlcc_scoremap_params p = dlc_params(1, 1.0);
  build(&t, &p, &joint, 1);
  assert_int_equal(count_equal(t.scoremap, plane_of(&t), 1), 13);
  assert_true(cell(&t, t.scoremap, 0, 2, 3) == 1 && cell(&t, t.scoremap, 0, 6, 3) == 1);
  assert_true(cell(&t, t.scoremap, 0, 1, 3) == 0 && cell(&t, t.scoremap, 0, 6, 4) == 0);
  p.scale = 0.5;
  build(&t, &p, &joint, 1);
  static const int positive[5][2] = {{4, 3}, {3, 3}, {5, 3}, {4, 2}, {4, 4}};
  assert_positive_cells(&t, 0, positive, 5);
  assert_int_equal(count_equal(t.locref_mask, 2 * plane_of(&t), 1), 10);
  targets_free(&t);
}

static void test_scoremap_cell_exactly_at_radius_is_positive(void **state) {
  (void)state;
  /* DeepLabCut tests dist <= dist_thresh^2. Joint (12, 19), radius 17: centre (4, 4) of cell (0, 0)
   * is at (8, 15), 64 + 225 = 289 exactly; centre (28, 4) of cell (3, 0) at (-16, 15) is not
   * (481). Joint (21, 36) on a row of centres: cell (0, 4) at dx = 17 exactly, cell (5, 4) at
   * dx = -23 is not; joint (27, 36): cell (5, 4) at dx = -17 is, cell (0, 4) at dx = 23 is not. */
  const dlcc_joint diagonal = {0, 12, 19}, axis = {0, 21, 36}, axis_left = {0, 27, 36};
  targets t = targets_alloc(1, 10, 8);
  dlcc_scoremap_params p = dlc_params(1, 1.0);
  build(&t, &p, &diagonal, 1);
  assert_true(cell(&t, t.scoremap, 0, 0, 0) == 1);
  assert_float_equal(cell(&t, t.locref, 1, 0, 0), 15 / 7.2801, 1e-6);
  assert_true(cell(&t, t.scoremap, 0, 3, 0) == 0);
  build(&t, &p, &axis, 1);
  assert_true(cell(&t, t.scoremap, 0, 0, 4) == 1);
  assert_float_equal(cell(&t, t.locref, 0, 0, 4), 17 / 7.2801, 1e-6);
  assert_true(cell(&t, t.scoremap, 0, 5, 4) == 0);
  build(&t, &p, &axis_left, 1);
  assert_true(cell(&t, t.scoremap, 0, 5, 4) == 1);
  assert_float_equal(cell(&t, t.locref, 0, 5, 4), -17 / 7.2801, 1e-6);
  assert_true(cell(&t, t.scoremap, 0, 0, 4) == 0);
  targets_free(&t);
}

static void test_scoremap_joint_at_top_left_corner_keeps_clipped_window(void **state) {
  (void)state;
  /* Joint (1, 1): dx = 1 - (8x + 4) = -3, -11, -19 for x = 0, 1, 2 (likewise dy).
   * 9 + 9, 9 + 121, 121 + 121 <= 289; 9 + 361 is not: cells (0..1, 0..1). */
  static const int positive[4][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}};
  const dlcc_joint joint = {0, 1, 1};
  targets t = targets_alloc(1, 10, 8);
  dlcc_scoremap_params p = dlc_params(1, 1.0);
  build(&t, &p, &joint, 1);
  assert_positive_cells(&t, 0, positive, 4);
  assert_float_equal(cell(&t, t.locref, 0, 1, 0), -11 / 7.2801, 1e-6);
  assert_float_equal(cell(&t, t.locref, 1, 1, 0), -3 / 7.2801, 1e-6);
  targets_free(&t);
}

static void test_scoremap_joint_left_of_map_marks_cells_inside(void **state) {
  (void)state;
  /* Joint (-5, 30), left of the map: column 0 has dx = -9 (81), so dy^2 <= 208: dy = 30 - (8y + 4)
   * = 10, 2, -6, -14 for y = 2..5 (100, 4, 36, 196); y = 1 (18: 324) and y = 6 (-22) are out.
   * Column 1 has dx = -17 (289) and no dy = 0, so nothing. */
  static const int positive[4][2] = {{0, 2}, {0, 3}, {0, 4}, {0, 5}};
  const dlcc_joint joint = {0, -5, 30};
  targets t = targets_alloc(1, 10, 8);
  dlcc_scoremap_params p = dlc_params(1, 1.0);
  build(&t, &p, &joint, 1);
  assert_positive_cells(&t, 0, positive, 4);
  assert_float_equal(cell(&t, t.locref, 0, 0, 5), -9 / 7.2801, 1e-6);
  assert_float_equal(cell(&t, t.locref, 1, 0, 5), -14 / 7.2801, 1e-6);
  targets_free(&t);
}

static void test_scoremap_joint_past_bottom_right_marks_corner_cell(void **state) {
  (void)state;
  /* 10 x 8 map, last centre (76, 60); joint (85, 70): dx = 9, dy = 10: 81 + 100 = 181 <= 289;
   * (8, 7) has dx = 17: 289 + 100 > 289; (9, 6) has dy = 18: 324 > 289. Only (9, 7). */
  static const int positive[1][2] = {{9, 7}};
  const dlcc_joint joint = {0, 85, 70};
  targets t = targets_alloc(1, 10, 8);
  dlcc_scoremap_params p = dlc_params(1, 1.0);
  build(&t, &p, &joint, 1);
  assert_positive_cells(&t, 0, positive, 1);
  targets_free(&t);
}

static void test_scoremap_far_nonfinite_and_unknown_joints_mark_nothing(void **state) {
  (void)state;
  /* Far outside, huge (would overflow an int conversion), non-finite, and ids outside [0, 2):
   * no positive cell and, weighing only present joints, no weight either. */
  const dlcc_joint joints[] = {{0, 1e6, -1e6}, {0, 1e300, 1e300}, {1, -1e300, 20}, {0, NAN, 20},
                               {1, 20, INFINITY}, {2, 36, 28}, {-1, 36, 28}};
  targets t = targets_alloc(2, 10, 8);
  dlcc_scoremap_params p = dlc_params(2, 1.0);
  p.weigh_only_present_joints = true;
  build(&t, &p, joints, sizeof joints / sizeof joints[0]);
  assert_int_equal(count_equal(t.scoremap, 2 * plane_of(&t), 0), 2 * plane_of(&t));
  assert_int_equal(count_equal(t.locref_mask, 4 * plane_of(&t), 0), 4 * plane_of(&t));
  assert_int_equal(count_equal(t.locref, 4 * plane_of(&t), 0), 4 * plane_of(&t));
  /* the finite ones count as present (DeepLabCut drops joints outside the image before this) */
  assert_int_equal(count_equal(t.weights, 2 * plane_of(&t), 1), 2 * plane_of(&t));
  const dlcc_joint nonfinite[] = {{0, NAN, 20}, {1, 20, INFINITY}};
  build(&t, &p, nonfinite, 2);
  assert_int_equal(count_equal(t.weights, 2 * plane_of(&t), 0), 2 * plane_of(&t));
  targets_free(&t);
}

static void test_scoremap_overlapping_joints_of_one_id_keep_later_locref(void **state) {
  (void)state;
  /* Two animals' joint 0 on the centres of cells (4, 2) and (5, 2): 13 cells each, 8 shared, 18 in
   * all. On the shared cell (4, 2) the later joint's offset is written: joint (44, 20) - centre
   * (36, 20) = 8 -> 8 / 7.2801 = 1.098886004; the earlier's alone would be 0. Cells only one joint
   * reaches keep that joint's: (2, 2) -> (36 - 20) / 7.2801 = 2.197772009, (7, 2) -> -2.197772009. */
  const dlcc_joint joints[2] = {{0, 36, 20}, {0, 44, 20}};
  targets t = targets_alloc(2, 10, 8);
  dlcc_scoremap_params p = dlc_params(2, 1.0);
  p.multianimal = true;
  build(&t, &p, joints, 2);
  assert_int_equal(count_equal(t.scoremap, plane_of(&t), 1), 18);
  assert_float_equal(cell(&t, t.locref, 0, 4, 2), 1.098886004, 1e-6);
  assert_float_equal(cell(&t, t.locref, 0, 5, 2), 0, 0);
  assert_float_equal(cell(&t, t.locref, 0, 2, 2), 2.197772009, 1e-6);
  assert_float_equal(cell(&t, t.locref, 0, 7, 2), -2.197772009, 1e-6);
  assert_int_equal(count_equal(t.scoremap + plane_of(&t), plane_of(&t), 0), plane_of(&t)); /* joint 1 */
  const dlcc_joint reversed[2] = {joints[1], joints[0]};
  build(&t, &p, reversed, 2);
  assert_float_equal(cell(&t, t.locref, 0, 4, 2), 0, 0);
  assert_float_equal(cell(&t, t.locref, 0, 5, 2), -1.098886004, 1e-6);
  targets_free(&t);
}

static void test_scoremap_weigh_only_present_joints_zeroes_absent_channels(void **state) {
  (void)state;
  /* 4 joints, labels of 0 and 2 (twice: two animals): channels 0 and 2 weigh 1 on every cell, not
   * just the window; 1 and 3 weigh 0. Without the option every channel weighs 1. */
  const dlcc_joint joints[3] = {{2, 30, 30}, {0, 10, 50}, {2, 70, 12}};
  targets t = targets_alloc(4, 10, 8);
  dlcc_scoremap_params p = dlc_params(4, 0.8);
  p.weigh_only_present_joints = true;
  build(&t, &p, joints, 3);
  size_t plane = plane_of(&t);
  assert_int_equal(count_equal(t.weights + 0 * plane, plane, 1), plane);
  assert_int_equal(count_equal(t.weights + 1 * plane, plane, 0), plane);
  assert_int_equal(count_equal(t.weights + 2 * plane, plane, 1), plane);
  assert_int_equal(count_equal(t.weights + 3 * plane, plane, 0), plane);
  p.weigh_only_present_joints = false;
  build(&t, &p, joints, 3);
  assert_int_equal(count_equal(t.weights, 4 * plane, 1), 4 * plane);
  targets_free(&t);
}

static void test_scoremap_no_joints_gives_all_background(void **state) {
  (void)state;
  targets t = targets_alloc(3, 7, 5);
  size_t plane = plane_of(&t);
  dlcc_scoremap_params p = dlc_params(3, 1.0);
  build(&t, &p, NULL, 0);
  assert_int_equal(count_equal(t.scoremap, 3 * plane, 0), 3 * plane);
  assert_int_equal(count_equal(t.locref, 6 * plane, 0), 6 * plane);
  assert_int_equal(count_equal(t.locref_mask, 6 * plane, 0), 6 * plane);
  assert_int_equal(count_equal(t.weights, 3 * plane, 1), 3 * plane);
  p.weigh_only_present_joints = true;
  build(&t, &p, NULL, 0);
  assert_int_equal(count_equal(t.weights, 3 * plane, 0), 3 * plane);
  targets_free(&t);
}

static void test_scoremap_multianimal_locref_mask_is_everywhere_unless_weighing_present(void **state) {
  (void)state;
  /* pose_multianimal_imgaug starts the locref mask at ones unless weigh_only_present_joints, so the
   * locref loss pulls every cell towards the 0 target outside the windows. */
  const dlcc_joint joint = {1, 36, 28};
  targets t = targets_alloc(2, 10, 8);
  size_t plane = plane_of(&t);
  dlcc_scoremap_params p = dlc_params(2, 1.0);
  p.multianimal = true;
  build(&t, &p, NULL, 0);
  assert_int_equal(count_equal(t.locref_mask, 4 * plane, 1), 4 * plane);
  assert_int_equal(count_equal(t.scoremap, 2 * plane, 0), 2 * plane);
  p.weigh_only_present_joints = true;
  build(&t, &p, &joint, 1);
  assert_int_equal(count_equal(t.locref_mask, 4 * plane, 1), 2 * 13); /* joint 1's window, x and y */
  assert_int_equal(count_equal(t.locref_mask + 2 * plane, 2 * plane, 1), 2 * 13);
  targets_free(&t);
}

static void test_scoremap_multianimal_floors_half_stride(void **state) {
  (void)state;
  /* stride 3: the single-animal loader's half stride is 1.5, maDLC's 3 // 2 = 1. Joint (1, 1),
   * radius 1: cell (0, 0)'s centre is (1.5, 1.5), dx = -0.5 -> -0.5 / 7.2801 = -0.068680375;
   * maDLC's centre is (1, 1), dx = 0. */
  const dlcc_joint joint = {0, 1, 1};
  targets t = targets_alloc(1, 4, 4);
  dlcc_scoremap_params p = {.num_joints = 1, .stride = 3, .pos_dist_thresh = 1, .scale = 1, .locref_stdev = 7.2801};
  build(&t, &p, &joint, 1);
  assert_float_equal(cell(&t, t.locref, 0, 0, 0), -0.068680375, 1e-7);
  p.multianimal = true;
  build(&t, &p, &joint, 1);
  assert_true(cell(&t, t.scoremap, 0, 0, 0) == 1);
  assert_float_equal(cell(&t, t.locref, 0, 0, 0), 0, 0);
  targets_free(&t);
}

static void test_scoremap_dlc_box_clips_only_below_stride_one_rounding_half_to_even(void **state) {
  (void)state;
  /* DeepLabCut's box spans cells round(j_sm -+ (dist_thresh + 1)) with dist_thresh in pixels; it
   * only bites when a pixel spans more than one cell. stride 0.25 (half 0.125), dist_thresh 2:
   * the disc reaches 8 cells (197 cells: the lattice points with i^2 + j^2 <= 64), the box 3.
   * Joint (2.125, 2.125): j_sm = 8, box 5..11 per axis, all 49 cells within 2 px: 49 positive.
   * Joint (2.25, 2.125): (2.25 - 0.125) / 0.25 = 8.5 rounds to even 8 (half-up would give 9 and
   * columns 6..12), so the columns are 5..11 again. tools/scoremap_reference.py agrees. */
  targets t = targets_alloc(1, 20, 20);
  dlcc_scoremap_params p = {.num_joints = 1, .stride = 0.25, .pos_dist_thresh = 2, .scale = 1, .locref_stdev = 7.2801};
  const dlcc_joint centred = {0, 2.125, 2.125}, tie = {0, 2.25, 2.125};
  build(&t, &p, &centred, 1);
  assert_int_equal(count_equal(t.scoremap, plane_of(&t), 1), 49);
  assert_true(cell(&t, t.scoremap, 0, 5, 5) == 1 && cell(&t, t.scoremap, 0, 11, 11) == 1);
  assert_true(cell(&t, t.scoremap, 0, 4, 8) == 0 && cell(&t, t.scoremap, 0, 8, 12) == 0);
  build(&t, &p, &tie, 1);
  assert_int_equal(count_equal(t.scoremap, plane_of(&t), 1), 49);
  assert_true(cell(&t, t.scoremap, 0, 5, 8) == 1 && cell(&t, t.scoremap, 0, 12, 8) == 0);
  targets_free(&t);
}

static void assert_map_size(const dlcc_scoremap_params *p, int width, int height, int want_w, int want_h) {
  int w = -1, h = -1;
  dlcc_scoremap_size(p, width, height, &w, &h);
  if (w != want_w || h != want_h) fail_msg("%dx%d input: %dx%d map, want %dx%d", width, height, w, h, want_w, want_h);
}

static void test_scoremap_size_is_twice_ceil_of_side_over_twice_stride(void **state) {
  (void)state;
  dlcc_scoremap_params p = dlc_params(1, 1.0);
  /* 640 x 480 at global_scale 0.8: ceil(640 * 0.8) = 512, ceil(480 * 0.8) = 384, as get_batch
   * computes target_size; ceil(512/16)*2 = 64, ceil(384/16)*2 = 48 */
  assert_map_size(&p, (int)ceil(640 * 0.8), (int)ceil(480 * 0.8), 64, 48);
  /* 513: ceil(32.06) = 33 -> 66; 385: ceil(24.06) = 25 -> 50; 100: ceil(6.25) = 7 -> 14 */
  assert_map_size(&p, 513, 385, 66, 50);
  assert_map_size(&p, 100, 1, 14, 2);
  assert_map_size(&p, 0, -3, 0, 0);
  p.stride = 4; /* 100: ceil(12.5) = 13 -> 26; 97: ceil(12.125) = 13 -> 26; 96: 12 -> 24 */
  assert_map_size(&p, 100, 96, 26, 24);
  p.stride = 2; /* single animal: ceil(100/4)*2 = 50; maDLC: ceil(100/16)*8 = 56 */
  assert_map_size(&p, 100, 102, 50, 52);
  p.multianimal = true; /* 102: ceil(6.375) = 7 -> 56 */
  assert_map_size(&p, 100, 102, 56, 56);
  p.stride = 8;
  assert_map_size(&p, 513, 385, 66, 50);
}

/* --- cross-check against tools/scoremap_reference.py --- */

static float *read_tensor(const dlcc_safetensors *st, const char *name, size_t want) {
  const dlcc_st_tensor *t = dlcc_safetensors_find(st, name);
  if (!t) fail_msg("fixture lacks %s", name);
  size_t n = 1;
  for (int d = 0; d < t->ndims; d++) n *= (size_t)t->shape[d];
  if (want && n != want) fail_msg("%s holds %zu values, want %zu", name, n, want);
  float *data = malloc(n * sizeof *data);
  assert_non_null(data);
  dlcc_error err;
  if (dlcc_safetensors_read_f32(st, name, t->ndims, t->shape, data, &err)) fail_msg("%s", err.message);
  return data;
}

static void assert_arrays_equal(const char *what, const float *got, const float *want, size_t n, int width,
                                int height) {
  for (size_t i = 0; i < n; i++)
    if (got[i] != want[i])
      fail_msg("%s channel %zu (x=%zu, y=%zu): got %.9g, want %.9g", what, i / ((size_t)width * height),
               i % (size_t)width, i / (size_t)width % (size_t)height, got[i], want[i]);
}

static void check_reference_case(const dlcc_safetensors *st, const char *name) {
  const char *params = dlcc_safetensors_meta(st, name);
  if (!params) fail_msg("fixture lacks the parameters of %s", name);
  dlcc_scoremap_params p = {0};
  int present = 0, multi = 0, width = 0, height = 0;
  int fields = sscanf(params,
                      "num_joints=%d stride=%lf pos_dist_thresh=%lf scale=%lf locref_stdev=%lf "
                      "weigh_only_present_joints=%d multianimal=%d width=%d height=%d",
                      &p.num_joints, &p.stride, &p.pos_dist_thresh, &p.scale, &p.locref_stdev, &present, &multi,
                      &width, &height);
  if (fields != 9) fail_msg("%s: unreadable parameters \"%s\"", name, params);
  p.weigh_only_present_joints = present;
  p.multianimal = multi;
  char key[64];
  snprintf(key, sizeof key, "%s.joints", name);
  const dlcc_st_tensor *jt = dlcc_safetensors_find(st, key);
  if (!jt) fail_msg("fixture lacks %s", key);
  size_t n_joints = (size_t)jt->shape[0];
  float *rows = read_tensor(st, key, 3 * n_joints);
  dlcc_joint *joints = calloc(n_joints, sizeof *joints);
  assert_non_null(joints);
  for (size_t k = 0; k < n_joints; k++) joints[k] = (dlcc_joint){(int)rows[3 * k], rows[3 * k + 1], rows[3 * k + 2]};

  targets t = targets_alloc(p.num_joints, width, height);
  build(&t, &p, joints, n_joints);
  size_t plane = plane_of(&t), nj = (size_t)p.num_joints;
  const char *keys[4] = {"scoremap", "weights", "locref", "locref_mask"};
  float *got[4] = {t.scoremap, t.weights, t.locref, t.locref_mask};
  size_t sizes[4] = {nj * plane, nj * plane, 2 * nj * plane, 2 * nj * plane};
  for (int a = 0; a < 4; a++) {
    snprintf(key, sizeof key, "%s.%s", name, keys[a]);
    float *want = read_tensor(st, key, sizes[a]);
    assert_arrays_equal(key, got[a], want, sizes[a], width, height);
    free(want);
  }
  assert_true(count_equal(t.scoremap, nj * plane, 1) > 0); /* the case is not all background */
  targets_free(&t);
  free(joints);
  free(rows);
}

static void test_scoremap_matches_deeplabcut_numpy_reference(void **state) {
  (void)state;
  /* Every element equal (f32 of the same double arithmetic): single animal with absent joints, a
   * half-cell tie and a joint by the corner; weighing only present joints; stride 4; maDLC with
   * three animals and overlapping windows, with and without weigh_only_present_joints. */
  const char *dir = getenv("DLCC_FIXTURES");
  assert_non_null(dir);
  char *path = dlcc_strdupf("%s/scoremap_reference.safetensors", dir);
  dlcc_safetensors *st = NULL;
  dlcc_error err;
  if (dlcc_safetensors_open(path, &st, &err)) fail_msg("%s", err.message);
  const char *cases[] = {"single", "single_present", "single_stride4", "multi", "multi_present"};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_reference_case(st, cases[i]);
  dlcc_safetensors_close(st);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scoremap_hand_case_lists_each_positive_cell),
      cmocka_unit_test(test_scoremap_radius_scales_with_batch_scale),
      cmocka_unit_test(test_scoremap_cell_exactly_at_radius_is_positive),
      cmocka_unit_test(test_scoremap_joint_at_top_left_corner_keeps_clipped_window),
      cmocka_unit_test(test_scoremap_joint_left_of_map_marks_cells_inside),
      cmocka_unit_test(test_scoremap_joint_past_bottom_right_marks_corner_cell),
      cmocka_unit_test(test_scoremap_far_nonfinite_and_unknown_joints_mark_nothing),
      cmocka_unit_test(test_scoremap_overlapping_joints_of_one_id_keep_later_locref),
      cmocka_unit_test(test_scoremap_weigh_only_present_joints_zeroes_absent_channels),
      cmocka_unit_test(test_scoremap_no_joints_gives_all_background),
      cmocka_unit_test(test_scoremap_multianimal_locref_mask_is_everywhere_unless_weighing_present),
      cmocka_unit_test(test_scoremap_multianimal_floors_half_stride),
      cmocka_unit_test(test_scoremap_dlc_box_clips_only_below_stride_one_rounding_half_to_even),
      cmocka_unit_test(test_scoremap_size_is_twice_ceil_of_side_over_twice_stride),
      cmocka_unit_test(test_scoremap_matches_deeplabcut_numpy_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
