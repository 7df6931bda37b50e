/* Tests of src/augment/crop: maDLC's training crops. Exact windows worked out by hand from
 * DeepLabCut's formulas, frequencies of many seeded draws against probabilities computed by hand
 * (uniform offsets, keypoint and density weights, padding), labels moved and dropped, the fall-back. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "augment/crop.h"
#include "testutil.h"

enum { DRAWS = 20000 };

static dlcc_aug_crop choose(int width, int height, const dlcc_joint *joints, size_t n, int crop_w, int crop_h,
                            dlcc_crop_sampling sampling, double max_shift, dlcc_rng *rng) {
  dlcc_aug_crop_params p = {.width = crop_w, .height = crop_h, .sampling = sampling, .max_shift = max_shift};
  dlcc_aug_crop crop;
  dlcc_error err;
  dlcc_status st = dlcc_aug_crop_choose(width, height, joints, n, &p, rng, &crop, &err);
  if (st != DLCC_OK) fail_msg("%s", err.message);
  return crop;
}

/* cmocka's assert_in_range compares unsigned values; windows have negative offsets. */
#define assert_between(v, lo, hi) assert_between_at((v), (lo), (hi), __FILE__, __LINE__)
static void assert_between_at(long v, long lo, long hi, const char *file, int line) {
  if (v < lo || v > hi) fail_msg("%s:%d: %ld is not in [%ld, %ld]", file, line, v, lo, hi);
}

static void assert_frequency(size_t count, size_t draws, double expected, double tolerance) {
  double f = (double)count / (double)draws;
  if (fabs(f - expected) > tolerance) fail_msg("frequency %.4f is not within %.4f of %.4f", f, tolerance, expected);
}

/* ---- sampling names ---- */

static void test_sampling_names_parse_and_other_text_is_an_error_listing_them(void **state) {
  (void)state;
  dlcc_crop_sampling s;
  dlcc_error err;
  const char *names[] = {"uniform", "keypoints", "density", "hybrid"};
  for (int k = 0; k < 4; k++) {
    assert_int_equal(dlcc_aug_crop_sampling_parse(names[k], &s, &err), DLCC_OK);
    assert_int_equal(s, k);
    assert_string_equal(dlcc_aug_crop_sampling_name(s), names[k]);
  }
  assert_int_equal(dlcc_aug_crop_sampling_parse("center", &s, &err), DLCC_ERR_INVALID);
  assert_string_equal(err.message, "crop_sampling is center; it must be one of uniform, keypoints, density, hybrid");
  assert_int_equal(dlcc_aug_crop_sampling_parse(NULL, &s, &err), DLCC_ERR_INVALID);
  assert_string_equal(err.message, "crop_sampling is empty; it must be one of uniform, keypoints, density, hybrid");
}

static void test_bad_sizes_and_shift_are_errors_not_crashes(void **state) {
  (void)state;
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 1);
  dlcc_aug_crop crop;
  dlcc_error err;
  dlcc_aug_crop_params p = {.width = 0, .height = 400, .sampling = DLCC_CROP_UNIFORM, .max_shift = 0.4};
  assert_int_equal(dlcc_aug_crop_choose(640, 480, NULL, 0, &p, &rng, &crop, &err), DLCC_ERR_INVALID);
  assert_string_equal(err.message, "crop size is [0, 400]; each value must be at least 1");
  p.width = 400;
  assert_int_equal(dlcc_aug_crop_choose(0, 480, NULL, 0, &p, &rng, &crop, &err), DLCC_ERR_INVALID);
  assert_string_equal(err.message, "cannot crop an image of 0 x 480 pixels");
  p.max_shift = NAN;
  assert_int_equal(dlcc_aug_crop_choose(640, 480, NULL, 0, &p, &rng, &crop, &err), DLCC_ERR_INVALID);
  assert_string_equal(err.message, "max_shift is nan; it must be a finite number");
}

/* ---- uniform ---- */

/* 1000 x 700 image, 400 x 400 window: x0 = floor(u * 600), y0 = floor(u * 300), u in [0, 1), so x0 is
 * uniform on 0..599 and y0 on 0..299 (imgaug's floor never reaches the last offset, 600 or 300: the last
 * column and row are never in a uniform window). */
static void test_uniform_windows_stay_in_the_image_and_cover_it_but_its_last_column(void **state) {
  (void)state;
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 11);
  static size_t x0_count[601], y0_count[301];
  memset(x0_count, 0, sizeof x0_count);
  memset(y0_count, 0, sizeof y0_count);
  double sum_x0 = 0;
  for (int d = 0; d < DRAWS; d++) {
    dlcc_aug_crop c = choose(1000, 700, NULL, 0, 400, 400, DLCC_CROP_UNIFORM, 0.4, &rng);
    assert_int_equal(c.width, 400);
    assert_int_equal(c.height, 400);
    assert_int_equal(c.used, DLCC_CROP_UNIFORM);
    assert_false(c.fell_back);
    assert_int_equal(c.anchor, -1);
    assert_between(c.x0, 0, 599);
    assert_between(c.y0, 0, 299);
    x0_count[c.x0]++;
    y0_count[c.y0]++;
    sum_x0 += c.x0;
  }
  /* Each offset has probability 1/600 (1/300): 33 (67) expected hits in 20000 draws; none missing. */
  for (int x = 0; x < 600; x++) assert_true(x0_count[x] > 0);
  for (int y = 0; y < 300; y++) assert_true(y0_count[y] > 0);
  /* Mean of 0..599 is 299.5; deviation 173.2 / sqrt(20000) = 1.22; 6 is five of them. */
  double mean = sum_x0 / DRAWS;
  if (fabs(mean - 299.5) > 6) fail_msg("mean x0 %.2f", mean);
  /* Windows [x0, x0 + 400) with x0 in 0..599 cover columns 0..998, never 999. */
  for (int col = 0; col < 1000; col++) {
    size_t covering = 0;
    for (int x0 = col - 399 < 0 ? 0 : col - 399; x0 <= col && x0 <= 600; x0++) covering += x0_count[x0];
    if (col < 999) assert_true(covering > 0);
    else assert_int_equal(covering, 0);
  }
}

/* ---- keypoints ---- */

/* With max_shift 0 the window is fixed: 1000 x 800 image, 400 x 400 window, one label at (499.5, 299.5)
 * (imgaug x = 500, y = 300): fx = 500 / 1000 = 0.5, x0 = floor(0.5 * 600) = 300; fy = 300 / 800 = 0.375,
 * y0 = floor(0.375 * 400) = 150. The label lands at (199.5, 149.5). */
static void test_keypoints_window_without_shift_is_exact(void **state) {
  (void)state;
  dlcc_joint j[1] = {{3, 499.5, 299.5}};
  for (uint64_t seed = 1; seed <= 5; seed++) {
    dlcc_rng rng;
    dlcc_rng_seed(&rng, seed);
    dlcc_aug_crop c = choose(1000, 800, j, 1, 400, 400, DLCC_CROP_KEYPOINTS, 0.0, &rng);
    assert_int_equal(c.used, DLCC_CROP_KEYPOINTS);
    assert_int_equal(c.anchor, 0);
    assert_true(c.shift_x == 0 && c.shift_y == 0);
    assert_int_equal(c.x0, 300);
    assert_int_equal(c.y0, 150);
    dlcc_joint moved = j[0];
    assert_int_equal(dlcc_aug_crop_joints(&c, &moved, 1), 1);
    assert_int_equal(moved.id, 3);
    assert_true(moved.x == 199.5 && moved.y == 149.5);
  }
  /* A label at (99.5, 699.5): fx = 100 / 1000 = 0.1, x0 = floor(0.1 * 600) = 60; fy = 700 / 800 = 0.875,
   * y0 = floor(0.875 * 400) = 350. */
  dlcc_joint k[1] = {{0, 99.5, 699.5}};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 9);
  dlcc_aug_crop c = choose(1000, 800, k, 1, 400, 400, DLCC_CROP_KEYPOINTS, 0.0, &rng);
  assert_int_equal(c.x0, 60);
  assert_int_equal(c.y0, 350);
}

/* Four labels, each the anchor with probability 1/4; every window follows the formula from its anchor
 * and shift, the shift stays within max_shift x window, and max_shift above 0.4 is clamped to 0.4. */
static void test_keypoints_anchor_is_uniform_and_shift_bounded(void **state) {
  (void)state;
  dlcc_joint j[4] = {{0, 100, 100}, {1, 900, 100}, {2, 500, 700}, {3, 750.25, 333.75}};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 21);
  size_t hits[4] = {0};
  double max_abs_shift = 0;
  for (int d = 0; d < DRAWS; d++) {
    dlcc_aug_crop c = choose(1000, 800, j, 4, 400, 300, DLCC_CROP_KEYPOINTS, 0.9, &rng);
    assert_int_equal(c.used, DLCC_CROP_KEYPOINTS);
    assert_between(c.anchor, 0, 3);
    hits[c.anchor]++;
    /* max_shift 0.9 is clamped to 0.4: |shift_x| <= 0.4 * 400 = 160, |shift_y| <= 0.4 * 300 = 120. */
    assert_true(fabs(c.shift_x) <= 160 && fabs(c.shift_y) <= 120);
    if (fabs(c.shift_x) > max_abs_shift) max_abs_shift = fabs(c.shift_x);
    const dlcc_joint *a = &j[c.anchor];
    double fx = (a->x + 0.5 + c.shift_x) / 1000, fy = (a->y + 0.5 + c.shift_y) / 800;
    fx = fx < 0 ? 0 : fx > 1 ? 1 : fx;
    fy = fy < 0 ? 0 : fy > 1 ? 1 : fy;
    assert_int_equal(c.x0, (int)floor(fx * 600));
    assert_int_equal(c.y0, (int)floor(fy * 500));
  }
  for (int k = 0; k < 4; k++) assert_frequency(hits[k], DRAWS, 0.25, 0.015);
  /* Uniform on [0, 160]: P(max of 20000 < 155) = (155/160)^20000, nil; 0.9 would reach 360. */
  assert_true(max_abs_shift > 155);
}

/* One label at (1, 500) of a 1000 x 1000 image, 400 x 400 window: x0 = floor(0.6 (1.5 + s)) with s
 * uniform in [-160, 160]. The label stays (1 - x0 > -0.5, x0 <= 1) iff 0.6 (1.5 + s) < 2, s < 1.8333:
 * probability (160 + 1.8333) / 320 = 0.50573. Along y, y0 = floor(0.6 (500.5 + s)) lies in 204..396,
 * which always keeps y = 500. So near a border the anchor leaves its own window about half the time,
 * as in DeepLabCut; the other labels of the row never come out off the crop. */
static void test_labels_near_a_border_are_dropped_not_moved_off_the_crop(void **state) {
  (void)state;
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 31);
  size_t kept = 0;
  for (int d = 0; d < DRAWS; d++) {
    dlcc_joint j[3] = {{0, 1, 500}, {1, 0, 510}, {2, 2, 490}};
    dlcc_aug_crop c = choose(1000, 1000, j, 1, 400, 400, DLCC_CROP_KEYPOINTS, 0.4, &rng);
    size_t visible = dlcc_aug_crop_joints(&c, j, 3);
    size_t counted = 0;
    for (int k = 0; k < 3; k++) {
      assert_int_equal(j[k].id, k);
      if (isnan(j[k].x)) {
        assert_true(isnan(j[k].y));
        continue;
      }
      counted++;
      assert_true(j[k].x > -0.5 && j[k].x < 399.5 && j[k].y > -0.5 && j[k].y < 399.5);
    }
    assert_int_equal(visible, counted);
    if (!isnan(j[0].x)) kept++;
  }
  assert_frequency(kept, DRAWS, 161.8333 / 320, 0.02);
}

/* ---- density ---- */

/* 1000 x 1000 image: radius 0.1 x 1000 = 100. Three labels within 20, 30 and 36.1 of one another have
 * 2 neighbours each (weight 3); one far away has none (weight 1). Total 10: each cluster label 3/10, the
 * lone one 1/10. Keypoints sampling on the same labels: 1/4 each. */
static void test_density_prefers_the_dense_cluster(void **state) {
  (void)state;
  dlcc_joint j[4] = {{0, 100, 100}, {1, 120, 100}, {2, 100, 130}, {3, 800, 800}};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 41);
  size_t density_hits[4] = {0}, keypoint_hits[4] = {0};
  for (int d = 0; d < DRAWS; d++) {
    dlcc_aug_crop c = choose(1000, 1000, j, 4, 400, 400, DLCC_CROP_DENSITY, 0.4, &rng);
    assert_int_equal(c.used, DLCC_CROP_DENSITY);
    density_hits[c.anchor]++;
    c = choose(1000, 1000, j, 4, 400, 400, DLCC_CROP_KEYPOINTS, 0.4, &rng);
    keypoint_hits[c.anchor]++;
  }
  /* Deviation of a frequency near 0.3 over 20000 draws: sqrt(0.21 / 20000) = 0.0032. */
  for (int k = 0; k < 3; k++) assert_frequency(density_hits[k], DRAWS, 0.3, 0.015);
  assert_frequency(density_hits[3], DRAWS, 0.1, 0.01);
  for (int k = 0; k < 4; k++) assert_frequency(keypoint_hits[k], DRAWS, 0.25, 0.015);
}

/* The radius comes from the padded image and a distance equal to it counts: a 300 x 1000 image padded to
 * 400 x 1000 has radius 0.1 x 400 = 40. A(0, 0) and B(40, 0) are 40 apart: neighbours; C(0, 41) is 41
 * from A and 57.3 from B: none. Weights 2, 2, 1: probabilities 0.4, 0.4, 0.2 (with the unpadded radius,
 * 30, it would be 1/3 each). */
static void test_density_radius_uses_the_padded_image_and_counts_equal_distances(void **state) {
  (void)state;
  dlcc_joint j[3] = {{0, 0, 0}, {1, 40, 0}, {2, 0, 41}};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 43);
  size_t hits[3] = {0};
  for (int d = 0; d < DRAWS; d++) hits[choose(300, 1000, j, 3, 400, 400, DLCC_CROP_DENSITY, 0.4, &rng).anchor]++;
  assert_frequency(hits[0], DRAWS, 0.4, 0.015);
  assert_frequency(hits[1], DRAWS, 0.4, 0.015);
  assert_frequency(hits[2], DRAWS, 0.2, 0.015);
}

/* Hybrid: uniform or density with probability 1/2 each; the density ones have an anchor. */
static void test_hybrid_mixes_uniform_and_density_half_and_half(void **state) {
  (void)state;
  dlcc_joint j[2] = {{0, 300, 300}, {1, 600, 500}};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 51);
  size_t density = 0;
  for (int d = 0; d < DRAWS; d++) {
    dlcc_aug_crop c = choose(1000, 800, j, 2, 400, 400, DLCC_CROP_HYBRID, 0.4, &rng);
    assert_true(c.used == DLCC_CROP_UNIFORM || c.used == DLCC_CROP_DENSITY);
    assert_false(c.fell_back);
    assert_true((c.used == DLCC_CROP_DENSITY) == (c.anchor >= 0));
    density += c.used == DLCC_CROP_DENSITY;
  }
  /* Deviation sqrt(0.25 / 20000) = 0.0035. */
  assert_frequency(density, DRAWS, 0.5, 0.02);
}

/* ---- reproducibility ---- */

static void test_same_seed_gives_same_crops(void **state) {
  (void)state;
  dlcc_joint j[3] = {{0, 100, 100}, {1, 120, 110}, {2, 700, 500}};
  dlcc_rng a, b, c;
  dlcc_rng_seed(&a, 77);
  dlcc_rng_seed(&b, 77);
  dlcc_rng_seed(&c, 78);
  bool differs = false;
  for (int d = 0; d < 50; d++) {
    dlcc_aug_crop ca = choose(1000, 300, j, 3, 400, 400, DLCC_CROP_HYBRID, 0.4, &a);
    dlcc_aug_crop cb = choose(1000, 300, j, 3, 400, 400, DLCC_CROP_HYBRID, 0.4, &b);
    dlcc_aug_crop cc = choose(1000, 300, j, 3, 400, 400, DLCC_CROP_HYBRID, 0.4, &c);
    assert_true(ca.x0 == cb.x0 && ca.y0 == cb.y0 && ca.used == cb.used && ca.anchor == cb.anchor &&
                ca.fell_back == cb.fell_back && ca.shift_x == cb.shift_x && ca.shift_y == cb.shift_y);
    differs |= ca.x0 != cc.x0 || ca.y0 != cc.y0;
  }
  assert_true(differs);
}

/* ---- small images: padding ---- */

/* 300 x 250 image, 400 x 400 window: padding before the image floor((1 - u) x 100) columns and
 * floor((1 - u) x 150) rows, u in [0, 1), so x0 = -pad in -100..0 and y0 in -150..0 and the window holds
 * the whole image. pad is 0..99 with probability 1/100 each (100 only at u = 0): mean 49.5, deviation
 * 28.9 / sqrt(20000) = 0.2. Keypoints sampling changes nothing along a padded side. */
static void test_image_smaller_than_the_window_is_padded_at_random(void **state) {
  (void)state;
  dlcc_joint j[1] = {{0, 150, 125}};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 61);
  double sum_pad = 0;
  size_t zero_pad = 0;
  for (int d = 0; d < DRAWS; d++) {
    dlcc_aug_crop c = choose(300, 250, j, 1, 400, 400, d % 2 ? DLCC_CROP_KEYPOINTS : DLCC_CROP_UNIFORM, 0.4, &rng);
    assert_between(c.x0 + 100, 0, 100);
    assert_between(c.y0 + 150, 0, 150);
    assert_true(c.x0 + 400 >= 300 && c.y0 + 400 >= 250);
    sum_pad += -c.x0;
    zero_pad += c.x0 == 0;
    dlcc_joint moved = j[0];
    assert_int_equal(dlcc_aug_crop_joints(&c, &moved, 1), 1);
    assert_true(moved.x == 150 - c.x0 && moved.y == 125 - c.y0);
  }
  if (fabs(sum_pad / DRAWS - 49.5) > 1.5) fail_msg("mean padding %.2f", sum_pad / DRAWS);
  assert_frequency(zero_pad, DRAWS, 0.01, 0.004);
}

/* One side cut, the other padded: 1000 x 300 image, 400 x 400 window, label at (499.5, 149.5), no shift.
 * x: fx = 500 / 1000, x0 = floor(0.5 * 600) = 300. y: the padded side is exactly 400, y0 = -pad_top. */
static void test_one_side_cut_other_side_padded(void **state) {
  (void)state;
  dlcc_joint j[1] = {{0, 499.5, 149.5}};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 71);
  for (int d = 0; d < 200; d++) {
    dlcc_aug_crop c = choose(1000, 300, j, 1, 400, 400, DLCC_CROP_KEYPOINTS, 0.0, &rng);
    assert_int_equal(c.x0, 300);
    assert_between(c.y0, -100, 0);
  }
}

/* ---- no labels: fall-back ---- */

static void test_without_labels_on_the_image_keypoint_sampling_falls_back_to_uniform(void **state) {
  (void)state;
  /* Lost to a rotation: off the image on every side, or not visible. */
  dlcc_joint off[5] = {{0, -0.5, 300}, {1, 999.5, 300}, {2, 400, -3}, {3, 400, 799.5}, {4, NAN, 300}};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 81);
  for (int d = 0; d < 2000; d++) {
    dlcc_crop_sampling s = d % 3 == 0 ? DLCC_CROP_KEYPOINTS : d % 3 == 1 ? DLCC_CROP_DENSITY : DLCC_CROP_HYBRID;
    dlcc_aug_crop c = choose(1000, 800, d % 2 ? off : NULL, d % 2 ? 5 : 0, 400, 400, s, 0.4, &rng);
    assert_int_equal(c.used, DLCC_CROP_UNIFORM);
    assert_int_equal(c.anchor, -1);
    /* Hybrid that drew uniform did not fall back; the others did. */
    if (s != DLCC_CROP_HYBRID) assert_true(c.fell_back);
    assert_between(c.x0, 0, 599);
    assert_between(c.y0, 0, 399);
    dlcc_joint moved[5];
    memcpy(moved, off, sizeof moved);
    assert_int_equal(dlcc_aug_crop_joints(&c, moved, 5), 0);
    for (int k = 0; k < 5; k++) assert_true(isnan(moved[k].x) && isnan(moved[k].y));
  }
  /* A single label on the image is enough to anchor. */
  dlcc_joint one[6];
  memcpy(one, off, sizeof off);
  one[5] = (dlcc_joint){5, 998, 1};
  dlcc_aug_crop c = choose(1000, 800, one, 6, 400, 400, DLCC_CROP_DENSITY, 0.4, &rng);
  assert_false(c.fell_back);
  assert_int_equal(c.anchor, 5);
}

/* ---- moving labels into a window ---- */

/* Window x0 = 100, y0 = 50, 200 x 100 on a 1000 x 800 image: a label stays when
 * -0.5 < x - 100 < 199.5 and -0.5 < y - 50 < 99.5 and it is on the image. */
static void test_labels_outside_the_window_are_dropped(void **state) {
  (void)state;
  dlcc_aug_crop c = {.x0 = 100, .y0 = 50, .width = 200, .height = 100, .image_width = 1000, .image_height = 800};
  dlcc_joint j[8] = {
      {0, 150, 60},         /* -> (50, 10) */
      {1, 99.4, 60},        /* -> -0.6: out */
      {2, 99.6, 60},        /* -> -0.4: in */
      {3, 299.4, 149.4},    /* -> (199.4, 99.4): in */
      {4, 299.5, 60},       /* -> 199.5: out (the edge of the last pixel) */
      {5, 150, 149.5},      /* -> y 99.5: out */
      {6, NAN, 60},         /* not visible */
      {7, 150, INFINITY},   /* not visible */
  };
  assert_int_equal(dlcc_aug_crop_joints(&c, j, 8), 3);
  assert_true(j[0].x == 50 && j[0].y == 10);
  assert_true(fabs(j[2].x - (-0.4)) < 1e-12 && j[2].y == 10);
  assert_true(fabs(j[3].x - 199.4) < 1e-12 && fabs(j[3].y - 99.4) < 1e-12);
  const int dropped[] = {1, 4, 5, 6, 7};
  for (size_t k = 0; k < sizeof dropped / sizeof *dropped; k++) {
    assert_true(isnan(j[dropped[k]].x) && isnan(j[dropped[k]].y));
    assert_int_equal(j[dropped[k]].id, dropped[k]);
  }
}

/* A padded window reaches past the image: a label off the image stays dropped even where the window
 * has room for it (on the black padding). Window x0 = -50 over a 300-wide image. */
static void test_labels_off_the_image_are_dropped_even_inside_a_padded_window(void **state) {
  (void)state;
  dlcc_aug_crop c = {.x0 = -50, .y0 = -20, .width = 400, .height = 400, .image_width = 300, .image_height = 250};
  dlcc_joint j[3] = {{0, -10, 100}, {1, 0, 0}, {2, 299.4, 249.4}};
  assert_int_equal(dlcc_aug_crop_joints(&c, j, 3), 2);
  assert_true(isnan(j[0].x));
  assert_true(j[1].x == 50 && j[1].y == 20);
  assert_true(fabs(j[2].x - 349.4) < 1e-12 && fabs(j[2].y - 269.4) < 1e-12);
}

/* ---- cutting pixels ---- */

static dlcc_image numbered_image(int width, int height) {
  dlcc_image img;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&img, width, height, &err), DLCC_OK);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      uint8_t *p = img.rgb + ((size_t)y * width + x) * 3;
      p[0] = (uint8_t)(10 * y + x + 1);
      p[1] = (uint8_t)(100 + x);
      p[2] = (uint8_t)(200 + y);
    }
  return img;
}

/* 4 x 3 source, pixel (x, y) red 10 y + x + 1. Window x0 = -1, y0 = 1, 3 x 3: row 0 is source row 1 at
 * columns -1, 0, 1: black, 11, 12; row 1 source row 2: black, 21, 22; row 2 is source row 3: black. */
static void test_cut_copies_the_window_and_pads_with_black(void **state) {
  (void)state;
  dlcc_image src = numbered_image(4, 3), dst;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&dst, 3, 3, &err), DLCC_OK);
  memset(dst.rgb, 0xAB, 9 * 3);
  dlcc_aug_crop c = {.x0 = -1, .y0 = 1, .width = 3, .height = 3, .image_width = 4, .image_height = 3};
  assert_int_equal(dlcc_aug_crop_image(&c, &src, &dst, &err), DLCC_OK);
  const uint8_t expected[3][3][3] = {
      {{0, 0, 0}, {11, 100, 201}, {12, 101, 201}},
      {{0, 0, 0}, {21, 100, 202}, {22, 101, 202}},
      {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}},
  };
  assert_memory_equal(dst.rgb, expected, sizeof expected);

  /* Inside: x0 = 2, y0 = 0, 2 x 2: (2,0) (3,0) / (2,1) (3,1). */
  dlcc_image small;
  assert_int_equal(dlcc_image_alloc(&small, 2, 2, &err), DLCC_OK);
  c = (dlcc_aug_crop){.x0 = 2, .y0 = 0, .width = 2, .height = 2, .image_width = 4, .image_height = 3};
  assert_int_equal(dlcc_aug_crop_image(&c, &src, &small, &err), DLCC_OK);
  const uint8_t inside[2][2][3] = {{{3, 102, 200}, {4, 103, 200}}, {{13, 102, 201}, {14, 103, 201}}};
  assert_memory_equal(small.rgb, inside, sizeof inside);

  /* Wholly off the image: black. */
  c.x0 = 10;
  memset(small.rgb, 0xAB, 12);
  assert_int_equal(dlcc_aug_crop_image(&c, &src, &small, &err), DLCC_OK);
  for (int k = 0; k < 12; k++) assert_int_equal(small.rgb[k], 0);
  c.x0 = -5;
  memset(small.rgb, 0xAB, 12);
  assert_int_equal(dlcc_aug_crop_image(&c, &src, &small, &err), DLCC_OK);
  for (int k = 0; k < 12; k++) assert_int_equal(small.rgb[k], 0);

  /* Sizes that do not match the crop. */
  assert_int_equal(dlcc_aug_crop_image(&c, &src, &dst, &err), DLCC_ERR_INVALID);
  assert_string_equal(err.message, "the crop's output must be 2 x 2, not 3 x 3");
  c.image_width = 5;
  assert_int_equal(dlcc_aug_crop_image(&c, &src, &small, &err), DLCC_ERR_INVALID);
  assert_string_equal(err.message, "the crop was drawn for a 5 x 3 image, not 4 x 3");
  dlcc_image_free(&src);
  dlcc_image_free(&dst);
  dlcc_image_free(&small);
}

/* A drawn crop of a small image, cut: the image sits at (-x0, -y0) in the window, black around it. */
static void test_drawn_crop_of_a_small_image_holds_it_whole(void **state) {
  (void)state;
  dlcc_image src = numbered_image(4, 3), dst;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&dst, 8, 6, &err), DLCC_OK);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 91);
  for (int d = 0; d < 100; d++) {
    dlcc_aug_crop c = choose(4, 3, NULL, 0, 8, 6, DLCC_CROP_HYBRID, 0.4, &rng);
    assert_int_equal(dlcc_aug_crop_image(&c, &src, &dst, &err), DLCC_OK);
    for (int y = 0; y < 6; y++)
      for (int x = 0; x < 8; x++) {
        int sx = x + c.x0, sy = y + c.y0;
        const uint8_t *p = dst.rgb + ((size_t)y * 8 + x) * 3;
        if (sx >= 0 && sx < 4 && sy >= 0 && sy < 3) assert_int_equal(p[0], 10 * sy + sx + 1);
        else assert_true(p[0] == 0 && p[1] == 0 && p[2] == 0);
      }
  }
  dlcc_image_free(&src);
  dlcc_image_free(&dst);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sampling_names_parse_and_other_text_is_an_error_listing_them),
      cmocka_unit_test(test_bad_sizes_and_shift_are_errors_not_crashes),
      cmocka_unit_test(test_uniform_windows_stay_in_the_image_and_cover_it_but_its_last_column),
      cmocka_unit_test(test_keypoints_window_without_shift_is_exact),
      cmocka_unit_test(test_keypoints_anchor_is_uniform_and_shift_bounded),
      cmocka_unit_test(test_labels_near_a_border_are_dropped_not_moved_off_the_crop),
      cmocka_unit_test(test_density_prefers_the_dense_cluster),
      cmocka_unit_test(test_density_radius_uses_the_padded_image_and_counts_equal_distances),
      cmocka_unit_test(test_hybrid_mixes_uniform_and_density_half_and_half),
      cmocka_unit_test(test_same_seed_gives_same_crops),
      cmocka_unit_test(test_image_smaller_than_the_window_is_padded_at_random),
      cmocka_unit_test(test_one_side_cut_other_side_padded),
      cmocka_unit_test(test_without_labels_on_the_image_keypoint_sampling_falls_back_to_uniform),
      cmocka_unit_test(test_labels_outside_the_window_are_dropped),
      cmocka_unit_test(test_labels_off_the_image_are_dropped_even_inside_a_padded_window),
      cmocka_unit_test(test_cut_copies_the_window_and_pads_with_black),
      cmocka_unit_test(test_drawn_crop_of_a_small_image_holds_it_whole),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
