/* Tests of src/targets/paf: part-affinity-field bands and their mask worked out by hand (horizontal
 * and diagonal limbs, pafwidth against the batch scale, missing and zero-length limbs, two animals,
 * the map's edges), the banded walk against a scan of every cell, and DeepLabCut's formula run with
 * numpy (tools/paf_reference.py). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "targets/paf.h"
#include "testutil.h"

#define GARBAGE 7.0f /* what the arrays hold before a build, to prove every element is written */

/* One image's two PAF arrays, CHW. */
typedef struct paf_arrays {
  int num_limbs, width, height;
  float *paf, *mask;
} paf_arrays;

static float *garbage_array(size_t n) {
  float *a = malloc(n * sizeof *a);
  assert_non_null(a);
  for (size_t i = 0; i < n; i++) a[i] = GARBAGE;
  return a;
}

/* Exactly sized, so that ASan catches a write past the map. */
static paf_arrays arrays_alloc(int num_limbs, int width, int height) {
  size_t n = 2 * (size_t)num_limbs * (size_t)width * (size_t)height;
  return (paf_arrays){num_limbs, width, height, garbage_array(n), garbage_array(n)};
}

static void arrays_free(paf_arrays *t) {
  free(t->paf);
  free(t->mask);
}

static size_t plane_of(const paf_arrays *t) { return (size_t)t->width * (size_t)t->height; }

/* Element (channel, x, y) of a CHW array of t's size. */
static float cell(const paf_arrays *t, const float *a, int channel, int x, int y) {
  return a[((size_t)channel * t->height + y) * t->width + x];
}

static size_t count_equal(const float *a, size_t n, float v) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++) count += a[i] == v;
  return count;
}

/* DeepLabCut's maDLC defaults: stride 8, pafwidth 20. */
static dlcc_paf_params dlc_params(const dlcc_limb *limbs, int num_limbs, double scale) {
  return (dlcc_paf_params){.limbs = limbs, .num_limbs = num_limbs, .stride = 8, .pafwidth = 20, .scale = scale};
}

/* One animal: all joints in one span. */
static void build_one(paf_arrays *t, const dlcc_paf_params *p, const dlcc_joint *joints, size_t n) {
  dlcc_paf_targets_build(p, joints, &n, 1, t->width, t->height, t->paf, t->mask);
}

/* Asserts that limb l of t has the vector (dir_x, dir_y) * fade[y] on columns [x_lo, x_hi] of rows
 * [y_lo, y_hi] and 0 elsewhere; the mask is 1 there and 0 elsewhere when band_mask, else 1
 * everywhere. */
static void assert_straight_band(const paf_arrays *t, int l, double dir_x, double dir_y, int x_lo, int x_hi,
                                 int y_lo, int y_hi, const double *fade, bool band_mask) {
  for (int y = 0; y < t->height; y++)
    for (int x = 0; x < t->width; x++) {
      bool in = x >= x_lo && x <= x_hi && y >= y_lo && y <= y_hi;
      double want_x = in ? dir_x * fade[y] : 0, want_y = in ? dir_y * fade[y] : 0;
      float got_x = cell(t, t->paf, 2 * l, x, y), got_y = cell(t, t->paf, 2 * l + 1, x, y);
      if (fabs(got_x - want_x) > 1e-6 || fabs(got_y - want_y) > 1e-6)
        fail_msg("limb %d at (x=%d, y=%d): (%.9f, %.9f), want (%.9f, %.9f)", l, x, y, got_x, got_y, want_x,
                 want_y);
      float want_mask = band_mask ? (in ? 1 : 0) : 1;
      if (cell(t, t->mask, 2 * l, x, y) != want_mask || cell(t, t->mask, 2 * l + 1, x, y) != want_mask)
        fail_msg("limb %d mask at (x=%d, y=%d): %g, %g, want %g", l, x, y, cell(t, t->mask, 2 * l, x, y),
                 cell(t, t->mask, 2 * l + 1, x, y), want_mask);
    }
}

/* Asserts that both channels of limb l are 0 and the mask is `mask` on every cell. */
static void assert_limb_empty(const paf_arrays *t, int l, float mask) {
  size_t plane = plane_of(t);
  assert_int_equal(count_equal(t->paf + 2 * (size_t)l * plane, 2 * plane, 0), 2 * plane);
  assert_int_equal(count_equal(t->mask + 2 * (size_t)l * plane, 2 * plane, mask), 2 * plane);
}

static void test_paf_horizontal_limb_hand_case(void **state) {
  (void)state;
  /* Limb 0 -> 1 from A (12, 20) to B (44, 20): |B - A| = 32, D = (1, 0). Cell centres 8c+4, 8r+4.
   *   along = 1 * x + 0 * y = x, ends D.A = 12, D.B = 44: x = 12, 20, 28, 36, 44, columns 1..5
   *     (column 0: x = 4 and column 6: x = 52 are outside; 12 and 44 are the ends, included)
   *   across = ((y * 1 - x * 0) - (20 * 1 - 12 * 0)) / 20 * 1 = (y - 20) / 20:
   *     row 0: y = 4 -> -0.8, fade 1 - 0.8 = 0.2; row 1: 12 -> -0.4, 0.6; row 2: 20 -> 0, 1;
   *     row 3: 28 -> 0.4, 0.6; row 4: 36 -> 0.8, 0.2; row 5: 44 -> 1.2 > 1, out.
   * paf = (1, 0) * fade; the mask is 1 everywhere (weigh_only_present_joints false). */
  static const double fade[7] = {0.2, 0.6, 1, 0.6, 0.2, 0, 0};
  const dlcc_limb limbs[1] = {{0, 1}};
  const dlcc_joint joints[2] = {{0, 12, 20}, {1, 44, 20}};
  dlcc_paf_params p = dlc_params(limbs, 1, 1.0);
  paf_arrays t = arrays_alloc(1, 8, 7);
  build_one(&t, &p, joints, 2);
  assert_straight_band(&t, 0, 1, 0, 1, 5, 0, 4, fade, false);
  arrays_free(&t);
}

static void test_paf_band_edges_are_included_weighing_present_joints(void **state) {
  (void)state;
  /* The same limb with pafwidth 16: across = (y - 20) / 16, exactly -1 on row 0 (y = 4) and 1 on
   * row 4 (y = 36): in the band (|across| <= 1), fade 0, so the target is 0 but the mask 1.
   * Rows 1 and 3: -8 / 16 = -0.5 and 0.5 -> fade 0.5; row 2: 1. Weighing only present joints the
   * mask is 1 on exactly these 5 x 5 cells, and 0 on limb 1 -> 2, whose joint 2 is absent. */
  static const double fade[7] = {0, 0.5, 1, 0.5, 0, 0, 0};
  const dlcc_limb limbs[2] = {{0, 1}, {1, 2}};
  const dlcc_joint joints[2] = {{0, 12, 20}, {1, 44, 20}};
  dlcc_paf_params p = dlc_params(limbs, 2, 1.0);
  p.pafwidth = 16;
  p.weigh_only_present_joints = true;
  paf_arrays t = arrays_alloc(2, 8, 7);
  build_one(&t, &p, joints, 2);
  assert_straight_band(&t, 0, 1, 0, 1, 5, 0, 4, fade, true);
  assert_int_equal(count_equal(t.mask, plane_of(&t), 1), 25);
  assert_limb_empty(&t, 1, 0);
  arrays_free(&t);
}

static void test_paf_diagonal_limb_hand_case(void **state) {
  (void)state;
  /* A (4, 4) to B (28, 36): (24, 32), |B - A| = 40, D = (0.6, 0.8); pafwidth 10, scale 1, 6 x 6.
   * Cell centre (8c + 4, 8r + 4):
   *   along = 0.6 x + 0.8 y = 4.8c + 6.4r + 5.6, ends D.A = 2.4 + 3.2 = 5.6 and
   *     D.B = 16.8 + 28.8 = 45.6, so 0 <= 4.8c + 6.4r <= 40, i.e. 0 <= 3c + 4r <= 25
   *   across = ((0.6 y - 0.8 x) - (4 * 0.6 - 4 * 0.8)) / 10 = (4.8r - 6.4c) / 10 = 0.16 k with
   *     k = 3r - 4c, so |k| <= 6 (k = 7 gives 1.12), fade = 1 - 0.16 |k|
   * The 14 cells (c, r: k, fade), paf = (0.6, 0.8) * fade:
   *   r=0: (0,0: 0, 1), (1,0: -4, 0.36)           r=1: (0: 3, 0.52), (1: -1, 0.84), (2: -5, 0.2)
   *   r=2: (0: 6, 0.04), (1: 2, 0.68), (2: -2, 0.68), (3: -6, 0.04)
   *   r=3: (1: 5, 0.2), (2: 1, 0.84), (3: -3, 0.52)   [c=4: k=-7; c=0: k=9]
   *   r=4: (2: 4, 0.36), (3: 0, 1)   [c=4: k=-4 passes across but 3*4 + 16 = 28 > 25: past B]
   *   r=5: none (3c + 4r <= 25 needs c <= 1, |15 - 4c| <= 6 needs c >= 3)
   * (0, 0) and (3, 4) are A's and B's own cells: on the ends, included. */
  static const double fade[6][6] = {
      {1, 0.36, 0, 0, 0, 0},    {0.52, 0.84, 0.2, 0, 0, 0},  {0.04, 0.68, 0.68, 0.04, 0, 0},
      {0, 0.2, 0.84, 0.52, 0, 0}, {0, 0, 0.36, 1, 0, 0},     {0, 0, 0, 0, 0, 0}};
  const dlcc_limb limbs[1] = {{0, 1}};
  const dlcc_joint joints[2] = {{0, 4, 4}, {1, 28, 36}};
  dlcc_paf_params p = dlc_params(limbs, 1, 1.0);
  p.pafwidth = 10;
  p.weigh_only_present_joints = true;
  paf_arrays t = arrays_alloc(1, 6, 6);
  build_one(&t, &p, joints, 2);
  for (int r = 0; r < 6; r++)
    for (int c = 0; c < 6; c++) {
      assert_float_equal(cell(&t, t.paf, 0, c, r), 0.6 * fade[r][c], 1e-6);
      assert_float_equal(cell(&t, t.paf, 1, c, r), 0.8 * fade[r][c], 1e-6);
    }
  assert_int_equal(count_equal(t.mask, plane_of(&t), 1), 14);
  assert_int_equal(count_equal(t.mask + plane_of(&t), plane_of(&t), 1), 14);
  assert_true(cell(&t, t.mask, 0, 0, 2) == 1 && cell(&t, t.mask, 1, 3, 4) == 1);
  assert_true(cell(&t, t.mask, 0, 4, 4) == 0 && cell(&t, t.mask, 0, 4, 3) == 0);
  arrays_free(&t);
}

static void test_paf_band_widens_as_scale_shrinks_pafwidth_10_vs_20(void **state) {
  (void)state;
  /* A (4, 44) to B (20, 44), D = (1, 0), columns 0..2 (x = 4, 12, 20; 28 is past B), 4 x 12 map,
   * scale 0.5: across = (y - 44) / pafwidth * 0.5, so the band reaches pafwidth / 0.5 pixels.
   *   pafwidth 10: (y - 44) / 20, rows 3..7 (y = 28..60): fades 0.2, 0.6, 1, 0.6, 0.2; row 2:
   *     (20 - 44) / 20 = -1.2, out
   *   pafwidth 20: (y - 44) / 40, rows 0..10 (y = 4..84): row 0: -40 / 40 = -1 (in, fade 0),
   *     rows 1..4: 0.2, 0.4, 0.6, 0.8, row 5: 1, rows 6..9: 0.8 .. 0.2, row 10: 0; row 11: 48 / 40 out
   * pafwidth 10 at scale 0.5 is pafwidth 20 at scale 1, element for element. */
  static const double fade10[12] = {0, 0, 0, 0.2, 0.6, 1, 0.6, 0.2, 0, 0, 0, 0};
  static const double fade20[12] = {0, 0.2, 0.4, 0.6, 0.8, 1, 0.8, 0.6, 0.4, 0.2, 0, 0};
  const dlcc_limb limbs[1] = {{0, 1}};
  const dlcc_joint joints[2] = {{0, 4, 44}, {1, 20, 44}};
  dlcc_paf_params p = dlc_params(limbs, 1, 0.5);
  p.weigh_only_present_joints = true;
  paf_arrays t = arrays_alloc(1, 4, 12), same = arrays_alloc(1, 4, 12);
  p.pafwidth = 10;
  build_one(&t, &p, joints, 2);
  assert_straight_band(&t, 0, 1, 0, 0, 2, 3, 7, fade10, true);
  p.pafwidth = 20;
  p.scale = 1;
  build_one(&same, &p, joints, 2);
  assert_memory_equal(t.paf, same.paf, 2 * plane_of(&t) * sizeof(float));
  assert_memory_equal(t.mask, same.mask, 2 * plane_of(&t) * sizeof(float));
  p.scale = 0.5;
  build_one(&t, &p, joints, 2);
  assert_straight_band(&t, 0, 1, 0, 0, 2, 0, 10, fade20, true);
  arrays_free(&t);
  arrays_free(&same);
}

static void test_paf_channels_go_limb_by_limb_x_then_y_from_first_to_second_joint(void **state) {
  (void)state;
  /* Joints 0 (12, 20), 1 (44, 20), 2 (12, 52); limbs 0: 2 -> 0, 1: 0 -> 1, 2: 1 -> 0; pafwidth 20.
   *   limb 0, channels 0 (x) and 1 (y): D = (0, -32) / 32 = (0, -1); along = -y, ends -52 and
   *     -20: rows 2..6 (y = 20..52); across = ((y * 0 - x * -1) - (52 * 0 - 12 * -1)) / 20 =
   *     (x - 12) / 20: columns 0..3 (x = 4, 12, 20, 28) fade 0.6, 1, 0.6, 0.2; x = 36 -> 1.2 out.
   *     Channel 0 is 0 * fade = 0, channel 1 is -fade.
   *   limb 1, channels 2 and 3: D = (1, 0), the horizontal hand case: columns 1..5, rows 0..4
   *     fading 0.2, 0.6, 1, 0.6, 0.2.
   *   limb 2, channels 4 and 5: the same band, D = (-1, 0): channel 4 is minus channel 2. */
  static const double fade_limb0_by_column[8] = {0.6, 1, 0.6, 0.2, 0, 0, 0, 0};
  static const double fade_limb1_by_row[8] = {0.2, 0.6, 1, 0.6, 0.2, 0, 0, 0};
  const dlcc_limb limbs[3] = {{2, 0}, {0, 1}, {1, 0}};
  const dlcc_joint joints[3] = {{0, 12, 20}, {1, 44, 20}, {2, 12, 52}};
  dlcc_paf_params p = dlc_params(limbs, 3, 1.0);
  paf_arrays t = arrays_alloc(3, 8, 8);
  build_one(&t, &p, joints, 3);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++) {
      bool in0 = y >= 2 && y <= 6 && x <= 3;
      assert_float_equal(cell(&t, t.paf, 0, x, y), 0, 0);
      assert_float_equal(cell(&t, t.paf, 1, x, y), in0 ? -fade_limb0_by_column[x] : 0, 1e-6);
    }
  assert_straight_band(&t, 1, 1, 0, 1, 5, 0, 4, fade_limb1_by_row, false);
  assert_straight_band(&t, 2, -1, 0, 1, 5, 0, 4, fade_limb1_by_row, false);
  /* spot checks: limb 0 at (1, 4) x = 12 -> -1, at (3, 2) x = 28 -> -0.2; limb 1 at (3, 1) 0.6 */
  assert_float_equal(cell(&t, t.paf, 1, 1, 4), -1, 1e-6);
  assert_float_equal(cell(&t, t.paf, 1, 3, 2), -0.2, 1e-6);
  assert_float_equal(cell(&t, t.paf, 2, 3, 1), 0.6, 1e-6);
  assert_float_equal(cell(&t, t.paf, 4, 3, 1), -0.6, 1e-6);
  arrays_free(&t);
}

static void test_paf_limb_with_a_missing_end_sets_nothing(void **state) {
  (void)state;
  /* Joints 0 (12, 20) and 2 (44, 20), joint 1 absent; limbs 0 -> 1, 0 -> 2, 1 -> 2: only limb 1
   * (channels 2, 3) has its band (the horizontal hand case). Limbs 0 and 2: paf 0, mask 0 weighing
   * only present joints, else 1 (they are trained towards 0). */
  static const double fade[7] = {0.2, 0.6, 1, 0.6, 0.2, 0, 0};
  const dlcc_limb limbs[3] = {{0, 1}, {0, 2}, {1, 2}};
  const dlcc_joint joints[2] = {{0, 12, 20}, {2, 44, 20}};
  dlcc_paf_params p = dlc_params(limbs, 3, 1.0);
  p.weigh_only_present_joints = true;
  paf_arrays t = arrays_alloc(3, 8, 7);
  build_one(&t, &p, joints, 2);
  assert_limb_empty(&t, 0, 0);
  assert_straight_band(&t, 1, 1, 0, 1, 5, 0, 4, fade, true);
  assert_limb_empty(&t, 2, 0);
  p.weigh_only_present_joints = false;
  build_one(&t, &p, joints, 2);
  assert_limb_empty(&t, 0, 1);
  assert_straight_band(&t, 1, 1, 0, 1, 5, 0, 4, fade, false);
  assert_limb_empty(&t, 2, 1);
  arrays_free(&t);
}

static void test_paf_later_animal_overwrites_earlier_band(void **state) {
  (void)state;
  /* Animal 0: A (4, 20) -> B (36, 20), D = (1, 0); animal 1: (36, 28) -> (4, 28), D = (-1, 0);
   * pafwidth 20, both reach columns 0..4 (x = 4..36). fade = 1 - |y - joint y| / 20:
   *   animal 0, rows 0..4 (y = 4..36): 0.2, 0.6, 1, 0.6, 0.2 (y = 44: 24 / 20 out)
   *   animal 1, rows 1..5 (y = 12..44): 0.2, 0.6, 1, 0.6, 0.2 (y = 4 and 52: 24 / 20 out)
   * Written in order, animal 1's -fade replaces animal 0's on the shared rows 1..4:
   *   row 0: 0.2 (animal 0 alone), rows 1..5: -0.2, -0.6, -1, -0.6, -0.2, row 6: 0.
   * (Averaging would give (0.6 - 0.6) / 2 = 0 on row 3 and (1 - 0.2) / 2 = 0.4 on row 2.)
   * Animals swapped: row 0: 0.2, rows 1..4: animal 0's 0.6, 1, 0.6, 0.2, row 5: -0.2. */
  const dlcc_limb limbs[1] = {{0, 1}};
  const dlcc_joint joints[4] = {{0, 4, 20}, {1, 36, 20}, {0, 36, 28}, {1, 4, 28}};
  const dlcc_joint swapped[4] = {joints[2], joints[3], joints[0], joints[1]};
  const size_t per_animal[2] = {2, 2};
  static const double want[8] = {0.2, -0.2, -0.6, -1, -0.6, -0.2, 0, 0};
  static const double want_swapped[8] = {0.2, 0.6, 1, 0.6, 0.2, -0.2, 0, 0};
  dlcc_paf_params p = dlc_params(limbs, 1, 1.0);
  p.weigh_only_present_joints = true;
  paf_arrays t = arrays_alloc(1, 6, 8);
  dlcc_paf_targets_build(&p, joints, per_animal, 2, t.width, t.height, t.paf, t.mask);
  assert_straight_band(&t, 0, 1, 0, 0, 4, 0, 5, want, true);
  dlcc_paf_targets_build(&p, swapped, per_animal, 2, t.width, t.height, t.paf, t.mask);
  assert_straight_band(&t, 0, 1, 0, 0, 4, 0, 5, want_swapped, true);
  /* One animal holding all four joints: the first joint 0 and the first joint 1 make the limb, the
   * other two are ignored (DeepLabCut's list.index): animal 0's band alone, rows 0..4. */
  const size_t all_in_one[1] = {4};
  dlcc_paf_targets_build(&p, joints, all_in_one, 1, t.width, t.height, t.paf, t.mask);
  static const double fade0[8] = {0.2, 0.6, 1, 0.6, 0.2, 0, 0, 0};
  assert_straight_band(&t, 0, 1, 0, 0, 4, 0, 4, fade0, true);
  arrays_free(&t);
}

static void test_paf_zero_length_limb_and_zero_pafwidth_set_nothing(void **state) {
  (void)state;
  /* Joints 0 and 1 both at (20, 20): |B - A| = 0, DeepLabCut skips the limb (no division); limb
   * 1 -> 1 joins a joint to itself, also length 0. pafwidth 0 with a real limb: across = x / 0 is
   * infinite (or NaN), no cell passes. Nothing is written; NaN would fail these counts. */
  const dlcc_limb limbs[2] = {{0, 1}, {1, 1}};
  const dlcc_joint joints[2] = {{0, 20, 20}, {1, 20, 20}};
  dlcc_paf_params p = dlc_params(limbs, 2, 1.0);
  p.weigh_only_present_joints = true;
  paf_arrays t = arrays_alloc(2, 8, 7);
  build_one(&t, &p, joints, 2);
  assert_limb_empty(&t, 0, 0);
  assert_limb_empty(&t, 1, 0);
  const dlcc_joint apart[2] = {{0, 12, 20}, {1, 44, 20}};
  p.pafwidth = 0;
  build_one(&t, &p, apart, 2);
  assert_limb_empty(&t, 0, 0);
  p.weigh_only_present_joints = false;
  build_one(&t, &p, apart, 2);
  assert_limb_empty(&t, 0, 1);
  assert_limb_empty(&t, 1, 1);
  arrays_free(&t);
}

static void test_paf_nonfinite_joints_count_as_absent(void **state) {
  (void)state;
  /* A joint 0 at x = NaN and a joint 1 at y = inf come first: skipped, the finite (12, 20) and
   * (44, 20) after them make the horizontal hand case. With only non-finite ones, nothing. */
  static const double fade[7] = {0.2, 0.6, 1, 0.6, 0.2, 0, 0};
  const dlcc_limb limbs[1] = {{0, 1}};
  const dlcc_joint joints[4] = {{0, NAN, 20}, {1, 3, INFINITY}, {0, 12, 20}, {1, 44, 20}};
  dlcc_paf_params p = dlc_params(limbs, 1, 1.0);
  p.weigh_only_present_joints = true;
  paf_arrays t = arrays_alloc(1, 8, 7);
  build_one(&t, &p, joints, 4);
  assert_straight_band(&t, 0, 1, 0, 1, 5, 0, 4, fade, true);
  build_one(&t, &p, joints, 2);
  assert_limb_empty(&t, 0, 0);
  arrays_free(&t);
}

static void test_paf_bands_are_clipped_to_the_map(void **state) {
  (void)state;
  const dlcc_limb limbs[1] = {{0, 1}};
  dlcc_paf_params p = dlc_params(limbs, 1, 1.0);
  p.weigh_only_present_joints = true;
  p.pafwidth = 8;
  /* (-30, 20) to (100, 20) over a 4 x 3 map (x = 4..28, y = 4..20): every column is between the
   * ends; across = (y - 20) / 8: row 0: -2 out, row 1: -1 (in, fade 0), row 2: 0 (fade 1); the
   * band's lower half (y > 20) and both ends lie outside the map. */
  static const double fade[3] = {0, 0, 1};
  paf_arrays t = arrays_alloc(1, 4, 3);
  const dlcc_joint across_map[2] = {{0, -30, 20}, {1, 100, 20}};
  build_one(&t, &p, across_map, 2);
  assert_straight_band(&t, 0, 1, 0, 0, 3, 1, 2, fade, true);
  /* Entirely to the right (x from 200) or above (y = -50): nothing. */
  const dlcc_joint right[2] = {{0, 200, 10}, {1, 300, 10}}, above[2] = {{0, 0, -50}, {1, 30, -50}};
  build_one(&t, &p, right, 2);
  assert_limb_empty(&t, 0, 0);
  build_one(&t, &p, above, 2);
  assert_limb_empty(&t, 0, 0);
  /* Near the corner, pointing out of the map: (30, 22) to (60, 52), D = (1, 1) / sqrt 2 = 0.7071;
   * along = 0.7071 (x + y), ends 0.7071 * 52 and 0.7071 * 112: only cells with x + y >= 52;
   * in the map the largest is the corner (28, 20): 48 < 52, so nothing. From (28, 20) itself to
   * (60, 52): the corner cell is A's own, across 0, paf (0.7071, 0.7071). */
  const dlcc_joint corner_out[2] = {{0, 30, 22}, {1, 60, 52}}, from_corner[2] = {{0, 28, 20}, {1, 60, 52}};
  build_one(&t, &p, corner_out, 2);
  assert_limb_empty(&t, 0, 0);
  build_one(&t, &p, from_corner, 2);
  assert_float_equal(cell(&t, t.paf, 0, 3, 2), sqrt(0.5), 1e-6);
  assert_float_equal(cell(&t, t.paf, 1, 3, 2), sqrt(0.5), 1e-6);
  assert_int_equal(count_equal(t.mask, plane_of(&t), 1), 1);
  arrays_free(&t);
  /* A 1 x 1 map (centre (4, 4)) crossed by a steep limb from (-1e6, -3e6) to (1e6, 3e6): D = (1, 3)
   * / sqrt 10; across = ((4 * 1 - 4 * 3) / sqrt 10 - 0) / 8 = -8 / (8 sqrt 10) = -0.3162 (the
   * limb passes the origin: A's normal projection -3e6 / sqrt 10 + 3e6 / sqrt 10 = 0), so
   * fade = 0.6838 and paf = (0.3162, 0.9487) * 0.6838 = (0.2162, 0.6487). */
  paf_arrays one = arrays_alloc(1, 1, 1);
  const dlcc_joint steep[2] = {{0, -1e6, -3e6}, {1, 1e6, 3e6}};
  build_one(&one, &p, steep, 2);
  double d_x = 1 / sqrt(10), d_y = 3 / sqrt(10), f = 1 - 1 / sqrt(10);
  assert_float_equal(one.paf[0], d_x * f, 1e-6);
  assert_float_equal(one.paf[1], d_y * f, 1e-6);
  assert_true(one.mask[0] == 1 && one.mask[1] == 1);
  /* Coordinates near the double range: (0, 1e300) to (1e300, 0). DeepLabCut's length
   * sqrt(1e600 + 1e600) overflows to inf, so D = (1e300 / inf, -1e300 / inf) = (0, -0): every
   * projection is 0, every cell lies "in the band" with paf (0, -0) and mask 1. dlcc reproduces
   * this (scanning every cell) rather than misbehaving. */
  paf_arrays t2 = arrays_alloc(1, 5, 4);
  const dlcc_joint huge[2] = {{0, 0, 1e300}, {1, 1e300, 0}};
  build_one(&t2, &p, huge, 2);
  assert_int_equal(count_equal(t2.paf, 2 * plane_of(&t2), 0), 2 * plane_of(&t2));
  assert_int_equal(count_equal(t2.mask, 2 * plane_of(&t2), 1), 2 * plane_of(&t2));
  arrays_free(&one);
  arrays_free(&t2);
}

/* DeepLabCut's test on every cell, no banding: what dlcc_paf_targets_build must equal bit for bit
 * (one animal, limb 0 -> 1, weighing only present joints). */
static void scan_every_cell(const dlcc_paf_params *p, dlcc_joint a, dlcc_joint b, int width, int height,
                            float *paf, float *mask) {
  size_t plane = (size_t)width * (size_t)height;
  for (size_t i = 0; i < 2 * plane; i++) paf[i] = mask[i] = 0;
  double dx = b.x - a.x, dy = b.y - a.y, length = sqrt(dx * dx + dy * dy);
  if (!(length > 0) || p->pafwidth == 0) return;
  double ux = dx / length, uy = dy / length, half = floor(p->stride / 2);
  double end_a = ux * a.x + uy * a.y, end_b = ux * b.x + uy * b.y, mid = a.y * ux - a.x * uy;
  for (int r = 0; r < height; r++)
    for (int c = 0; c < width; c++) {
      double x = c * p->stride + half, y = r * p->stride + half;
      double along = ux * x + uy * y;
      double across = fabs(((y * ux - x * uy) - mid) / p->pafwidth * p->scale);
      if (!(along >= fmin(end_a, end_b) && along <= fmax(end_a, end_b) && across <= 1)) continue;
      size_t at = (size_t)r * width + c;
      paf[at] = (float)(ux * (1 - across));
      paf[plane + at] = (float)(uy * (1 - across));
      mask[at] = mask[plane + at] = 1;
    }
}

/* xorshift64*: a fixed sequence of doubles in [0, 1). */
static double next_unit(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void test_paf_banded_walk_equals_scan_of_every_cell(void **state) {
  (void)state;
  /* 3000 random limbs: ends inside and outside the map, axis-parallel and nearly parallel ones,
   * strides 2, 3, 4, 8 and 8.5, pafwidth 0.5..40, scale 0.2..1.7 and 0; the banded walk must match
   * the plain scan bit for bit, so it never misses a cell of the band. */
  static const double strides[5] = {2, 3, 4, 8, 8.5};
  const dlcc_limb limbs[1] = {{0, 1}};
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  size_t banded_cells = 0;
  for (int trial = 0; trial < 3000; trial++) {
    int width = 1 + (int)(next_unit(&seed) * 40), height = 1 + (int)(next_unit(&seed) * 30);
    dlcc_paf_params p = dlc_params(limbs, 1, 0.2 + 1.5 * next_unit(&seed));
    p.stride = strides[trial % 5];
    p.pafwidth = 0.5 + 39.5 * next_unit(&seed);
    p.weigh_only_present_joints = true;
    if (trial % 97 == 0) p.scale = 0;
    double span_x = width * p.stride, span_y = height * p.stride;
    /* ends anywhere in the map grown by half its size each side */
    dlcc_joint a = {0, span_x * (2 * next_unit(&seed) - 0.5), span_y * (2 * next_unit(&seed) - 0.5)};
    dlcc_joint b = {1, span_x * (2 * next_unit(&seed) - 0.5), span_y * (2 * next_unit(&seed) - 0.5)};
    if (trial % 7 == 1) b.y = a.y;               /* horizontal */
    if (trial % 7 == 2) b.x = a.x;               /* vertical */
    if (trial % 7 == 3) b.y = a.y + 1e-9;        /* almost horizontal */
    if (trial % 7 == 4) b.x = a.x - 1e-7 * a.x;  /* almost vertical */
    paf_arrays got = arrays_alloc(1, width, height), want = arrays_alloc(1, width, height);
    build_one(&got, &p, (dlcc_joint[2]){a, b}, 2);
    scan_every_cell(&p, a, b, width, height, want.paf, want.mask);
    size_t n = 2 * plane_of(&got);
    if (memcmp(got.paf, want.paf, n * sizeof(float)) || memcmp(got.mask, want.mask, n * sizeof(float)))
      fail_msg("trial %d: %dx%d stride %g pafwidth %g scale %g, (%.17g, %.17g) -> (%.17g, %.17g) differs", trial,
               width, height, p.stride, p.pafwidth, p.scale, a.x, a.y, b.x, b.y);
    banded_cells += count_equal(got.mask, plane_of(&got), 1);
    arrays_free(&got);
    arrays_free(&want);
  }
  assert_true(banded_cells > 10000); /* the bands are not all empty */
}

static void test_paf_matches_deeplabcut_numpy_reference(void **state) {
  (void)state;
  /* /usr/bin/python3 tools/paf_reference.py: DeepLabCut's PAF code run with numpy on three animals
   * (animal 1 lacks joint 2 and lists its joints out of order, animal 2 has one joint), limbs
   * 0 -> 1, 1 -> 2, 0 -> 2, 2 -> 0, stride 8, pafwidth 8, scale 0.8 (bands 10 px either side),
   * 8 x 6 cells, weighing only present joints. On limb 0 animal 1's band partly covers animal 0's;
   * limb 3 is limb 2 negated. Its 41 band cells: limb, x, y, paf x, paf y. */
  static const struct {
    int limb, x, y;
    double paf_x, paf_y;
  } band[41] = {
      {0, 2, 0, 0.160444629, 0.124402720},   {0, 1, 1, 0.533084907, 0.413333950},
      {0, 2, 1, 0.660074052, 0.511796548},   {0, 3, 1, 0.272680224, 0.211425971},
      {0, 4, 1, 0.501071007, 0.370356831},   {0, 5, 1, 0.118674919, 0.087716244},
      {0, 1, 2, 0.033455484, 0.025940122},   {0, 2, 2, 0.420849312, 0.326310699},
      {0, 3, 2, 0.207525775, 0.153388616},   {0, 4, 2, 0.589921863, 0.436029203},
      {0, 5, 2, 0.636034332, 0.470112332},   {0, 6, 2, 0.253638244, 0.187471746},
      {0, 3, 3, 0.308613717, 0.239287447},   {0, 4, 3, 0.072562450, 0.053633115},
      {0, 5, 3, 0.454958538, 0.336273702},   {0, 4, 4, 0.196378122, 0.152264196},
      {1, 3, 3, -0.246778411, 0.098448834},  {1, 4, 3, -0.522108538, 0.208287981},
      {1, 3, 4, -0.920694787, 0.367298452},  {1, 4, 4, -0.645364659, 0.257459305},
      {1, 3, 5, -0.230533933, 0.091968324},  {2, 1, 1, 0.220162449, 0.723033498},
      {2, 2, 1, 0.139495381, 0.458115512},   {2, 1, 2, 0.152281005, 0.500104665},
      {2, 2, 2, 0.207376825, 0.681044346},   {2, 1, 3, 0.084399561, 0.277175831},
      {2, 2, 3, 0.275258269, 0.903973179},   {2, 3, 3, 0.052329436, 0.171854623},
      {2, 1, 4, 0.016518117, 0.054246997},   {2, 2, 4, 0.239446950, 0.786365553},
      {2, 3, 4, 0.120210880, 0.394783457},   {3, 1, 1, -0.220162449, -0.723033498},
      {3, 2, 1, -0.139495381, -0.458115512}, {3, 1, 2, -0.152281005, -0.500104665},
      {3, 2, 2, -0.207376825, -0.681044346}, {3, 1, 3, -0.084399561, -0.277175831},
      {3, 2, 3, -0.275258269, -0.903973179}, {3, 3, 3, -0.052329436, -0.171854623},
      {3, 1, 4, -0.016518117, -0.054246997}, {3, 2, 4, -0.239446950, -0.786365553},
      {3, 3, 4, -0.120210880, -0.394783457}};
  const dlcc_limb limbs[4] = {{0, 1}, {1, 2}, {0, 2}, {2, 0}};
  const dlcc_joint joints[6] = {{0, 13.7, 9.2},   {1, 41.3, 30.6}, {2, 22.5, 38.1},
                                {1, 50.9, 27.7},  {0, 30.2, 12.4}, {2, 60.0, 44.0}};
  const size_t per_animal[3] = {3, 2, 1};
  dlcc_paf_params p = dlc_params(limbs, 4, 0.8);
  p.pafwidth = 8;
  p.weigh_only_present_joints = true;
  paf_arrays t = arrays_alloc(4, 8, 6);
  dlcc_paf_targets_build(&p, joints, per_animal, 3, t.width, t.height, t.paf, t.mask);
  size_t plane = plane_of(&t);
  assert_int_equal(count_equal(t.mask, 8 * plane, 1), 2 * 41);
  assert_int_equal(count_equal(t.mask, 8 * plane, 0), 8 * plane - 2 * 41);
  size_t nonzero_paf = 8 * plane - count_equal(t.paf, 8 * plane, 0);
  assert_int_equal(nonzero_paf, 2 * 41);
  for (size_t i = 0; i < 41; i++) {
    int ch = 2 * band[i].limb;
    if (cell(&t, t.mask, ch, band[i].x, band[i].y) != 1 || cell(&t, t.mask, ch + 1, band[i].x, band[i].y) != 1)
      fail_msg("limb %d (x=%d, y=%d) is not in the mask", band[i].limb, band[i].x, band[i].y);
    float got_x = cell(&t, t.paf, ch, band[i].x, band[i].y), got_y = cell(&t, t.paf, ch + 1, band[i].x, band[i].y);
    if (fabs(got_x - band[i].paf_x) > 1e-7 || fabs(got_y - band[i].paf_y) > 1e-7)
      fail_msg("limb %d (x=%d, y=%d): (%.9f, %.9f), want (%.9f, %.9f)", band[i].limb, band[i].x, band[i].y, got_x,
               got_y, band[i].paf_x, band[i].paf_y);
  }
  arrays_free(&t);
}

static void test_paf_no_animals_gives_zero_targets(void **state) {
  (void)state;
  /* No joints: paf 0 on both limbs' channels; mask 1 everywhere, or 0 weighing only present. */
  const dlcc_limb limbs[2] = {{0, 1}, {1, 2}};
  dlcc_paf_params p = dlc_params(limbs, 2, 1.0);
  paf_arrays t = arrays_alloc(2, 5, 3);
  dlcc_paf_targets_build(&p, NULL, NULL, 0, t.width, t.height, t.paf, t.mask);
  assert_limb_empty(&t, 0, 1);
  assert_limb_empty(&t, 1, 1);
  p.weigh_only_present_joints = true;
  const size_t none[2] = {0, 0};
  dlcc_paf_targets_build(&p, NULL, none, 2, t.width, t.height, t.paf, t.mask);
  assert_limb_empty(&t, 0, 0);
  assert_limb_empty(&t, 1, 0);
  arrays_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_paf_horizontal_limb_hand_case),
      cmocka_unit_test(test_paf_band_edges_are_included_weighing_present_joints),
      cmocka_unit_test(test_paf_diagonal_limb_hand_case),
      cmocka_unit_test(test_paf_band_widens_as_scale_shrinks_pafwidth_10_vs_20),
      cmocka_unit_test(test_paf_channels_go_limb_by_limb_x_then_y_from_first_to_second_joint),
      cmocka_unit_test(test_paf_limb_with_a_missing_end_sets_nothing),
      cmocka_unit_test(test_paf_later_animal_overwrites_earlier_band),
      cmocka_unit_test(test_paf_zero_length_limb_and_zero_pafwidth_set_nothing),
      cmocka_unit_test(test_paf_nonfinite_joints_count_as_absent),
      cmocka_unit_test(test_paf_bands_are_clipped_to_the_map),
      cmocka_unit_test(test_paf_banded_walk_equals_scan_of_every_cell),
      cmocka_unit_test(test_paf_matches_deeplabcut_numpy_reference),
      cmocka_unit_test(test_paf_no_animals_gives_zero_targets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
