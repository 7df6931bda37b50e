/* Tests of src/augment: every geometric step keeps a rendered dot under its keypoint (resize through
 * swscale, rotation, mirror), exact 90-degree maps, joints leaving the image dropped, the batch's
 * scale range, reproducibility from a seed, and the input-size error. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "augment/affine.h"
#include "augment/batch.h"
#include "augment/mirror.h"
#include "augment/resize.h"
#include "testutil.h"

/* ---- helpers ---- */

static dlcc_image new_image(int width, int height) {
  dlcc_image img;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&img, width, height, &err), DLCC_OK);
  return img;
}

/* A Gaussian dot of the given sigma centred at (cx, cy) (pixel centres at integers), on black. */
static dlcc_image dot_image(int width, int height, double cx, double cy, double sigma) {
  dlcc_image img = new_image(width, height);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
      uint8_t v = (uint8_t)lrint(250.0 * exp(-d2 / (2 * sigma * sigma)));
      uint8_t *p = img.rgb + ((size_t)y * width + x) * 3;
      p[0] = p[1] = p[2] = v;
    }
  return img;
}

/* Intensity-weighted centroid of samples read with a stride (3 for interleaved RGB, 1 for a plane). */
static void centroid_strided(const uint8_t *bytes, const float *floats, size_t stride, int width, int height,
                             double *cx, double *cy) {
  double sx = 0, sy = 0, sum = 0;
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      size_t i = ((size_t)y * width + x) * stride;
      double v = bytes ? bytes[i] : floats[i];
      sx += v * x;
      sy += v * y;
      sum += v;
    }
  assert_true(sum > 0);
  *cx = sx / sum;
  *cy = sy / sum;
}

static void image_centroid(const dlcc_image *img, double *cx, double *cy) {
  centroid_strided(img->rgb, NULL, 3, img->width, img->height, cx, cy);
}

static void assert_near(double actual, double expected, double tolerance) {
  if (fabs(actual - expected) > tolerance) fail_msg("%.4f is not within %.4f of %.4f", actual, tolerance, expected);
}

/* Pixels with a different value everywhere, so that any misplaced pixel shows. */
static dlcc_image textured_image(int width, int height, uint32_t seed) {
  dlcc_image img = new_image(width, height);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  for (size_t i = 0; i < (size_t)width * height * 3; i++) img.rgb[i] = (uint8_t)dlcc_rng_below(&rng, 256);
  return img;
}

/* Single-animal defaults without augmentation, at global_scale 1 and no jitter. */
static void plain_cfg(dlcc_pose_cfg *cfg) {
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_defaults(cfg, false, &err), DLCC_OK);
  cfg->global_scale = 1;
  cfg->scale_jitter_lo = cfg->scale_jitter_up = 1;
  cfg->rotation = 0;
  cfg->mirror = false;
  cfg->min_input_size = 4;
}

static dlcc_aug_source source_of(const dlcc_image *img, const dlcc_joint *joints, size_t n) {
  return (dlcc_aug_source){.image = img, .joints = joints, .n_joints = n};
}

/* ---- resize ---- */

static void test_resize_keeps_dot_under_keypoint(void **state) {
  (void)state;
  const double x = 31.3, y = 22.7;
  dlcc_image src = dot_image(80, 60, x, y, 2.0);
  dlcc_aug_resizer resizer = {0};
  const double factors[] = {0.8, 0.5};
  for (int k = 0; k < 2; k++) {
    int w = dlcc_aug_scaled_length(80, factors[k]), h = dlcc_aug_scaled_length(60, factors[k]);
    dlcc_image dst = new_image(w, h);
    dlcc_error err;
    assert_int_equal(dlcc_aug_resize(&resizer, &src, &dst, &err), DLCC_OK);
    double cx, cy;
    image_centroid(&dst, &cx, &cy);
    assert_near(cx, dlcc_aug_resize_coord(x, 80, w), 0.05);
    assert_near(cy, dlcc_aug_resize_coord(y, 60, h), 0.05);
    /* imgaug's x * factor (pixel edges at integers) would sit 0.5 * (1 - factor) px off. */
    if (factors[k] == 0.5) assert_true(fabs(cx - x * 0.5) > 0.2);
    dlcc_image_free(&dst);
  }
  dlcc_aug_resizer_free(&resizer);
  dlcc_image_free(&src);
}

static void test_resize_keeps_flat_colour_exact(void **state) {
  (void)state;
  dlcc_image src = new_image(50, 40), dst = new_image(31, 23);
  for (size_t i = 0; i < 50 * 40; i++) memcpy(src.rgb + 3 * i, (uint8_t[3]){17, 200, 93}, 3);
  dlcc_aug_resizer resizer = {0};
  dlcc_error err;
  assert_int_equal(dlcc_aug_resize(&resizer, &src, &dst, &err), DLCC_OK);
  for (size_t i = 0; i < 31 * 23; i++) {
    assert_int_equal(dst.rgb[3 * i], 17);
    assert_int_equal(dst.rgb[3 * i + 1], 200);
    assert_int_equal(dst.rgb[3 * i + 2], 93);
  }
  dlcc_aug_resizer_free(&resizer);
  dlcc_image_free(&src);
  dlcc_image_free(&dst);
}

static void test_scaled_length_rounds_up_as_deeplabcut(void **state) {
  (void)state;
  assert_int_equal(dlcc_aug_scaled_length(480, 0.8), 384); /* 480 * 0.8 is 384.00000000000006 in doubles */
  assert_int_equal(dlcc_aug_scaled_length(640, 0.63), 404); /* 403.2 */
  assert_int_equal(dlcc_aug_scaled_length(640, 0.5), 320);
  assert_int_equal(dlcc_aug_scaled_length(3, 0.1), 1);
}

/* ---- rotation ---- */

static void test_rotate_90_maps_pixels_and_keypoint_exactly(void **state) {
  (void)state;
  /* 7x5: centre (3, 2); turning 90 degrees clockwise on screen sends (x, y) to (3 - (y - 2), 2 + (x - 3)). */
  dlcc_image src = textured_image(7, 5, 1), dst = new_image(7, 5);
  dlcc_aug_rotation rot = dlcc_aug_rotation_about_centre(90, 7, 5);
  dlcc_aug_rotate_image(&rot, &src, &dst);
  for (int y = 0; y < 5; y++)
    for (int x = 0; x < 7; x++) {
      int from_x = 3 + (y - 2), from_y = 2 - (x - 3);
      bool covered = from_x >= 0 && from_x < 7 && from_y >= 0 && from_y < 5;
      for (int c = 0; c < 3; c++)
        assert_int_equal(dst.rgb[(y * 7 + x) * 3 + c], covered ? src.rgb[(from_y * 7 + from_x) * 3 + c] : 0);
    }
  double kx = 4, ky = 1; /* right of and above the centre: ends right of and below it */
  dlcc_aug_rotation_apply(&rot, &kx, &ky);
  assert_true(kx == 4.0 && ky == 3.0);
  assert_memory_equal(dst.rgb + (3 * 7 + 4) * 3, src.rgb + (1 * 7 + 4) * 3, 3);
  dlcc_image_free(&src);
  dlcc_image_free(&dst);
}

static void test_rotate_25_keeps_dot_under_keypoint(void **state) {
  (void)state;
  const double x = 40.3, y = 15.6;
  dlcc_image src = dot_image(64, 48, x, y, 2.0), dst = new_image(64, 48);
  const double angles[] = {25, -25};
  for (int k = 0; k < 2; k++) {
    dlcc_aug_rotation rot = dlcc_aug_rotation_about_centre(angles[k], 64, 48);
    dlcc_aug_rotate_image(&rot, &src, &dst);
    double kx = x, ky = y, cx, cy;
    dlcc_aug_rotation_apply(&rot, &kx, &ky);
    image_centroid(&dst, &cx, &cy);
    assert_near(cx, kx, 0.1);
    assert_near(cy, ky, 0.1);
    assert_true(fabs(kx - x) > 2); /* the dot really moved */
  }
  dlcc_image_free(&src);
  dlcc_image_free(&dst);
}

static void test_rotate_fills_uncovered_corners_black(void **state) {
  (void)state;
  dlcc_image src = new_image(40, 20), dst = new_image(40, 20);
  memset(src.rgb, 255, 40 * 20 * 3);
  dlcc_aug_rotation rot = dlcc_aug_rotation_about_centre(30, 40, 20);
  dlcc_aug_rotate_image(&rot, &src, &dst);
  assert_int_equal(dst.rgb[0], 0);                          /* top-left corner */
  assert_int_equal(dst.rgb[(19 * 40 + 39) * 3], 0);         /* bottom-right corner */
  assert_int_equal(dst.rgb[(10 * 40 + 20) * 3 + 1], 255);   /* the middle */
  dlcc_image_free(&src);
  dlcc_image_free(&dst);
}

/* ---- mirror ---- */

static void test_mirror_keeps_dot_under_width_minus_one_minus_x(void **state) {
  (void)state;
  dlcc_image src = dot_image(32, 16, 10.3, 7.0, 1.5), dst = new_image(32, 16);
  dlcc_aug_mirror_image(&src, &dst);
  double cx, cy;
  image_centroid(&dst, &cx, &cy);
  assert_near(dlcc_aug_mirror_x(10.3, 32), 20.7, 1e-12);
  assert_near(cx, 20.7, 0.02);
  assert_near(cy, 7.0, 0.02);
  /* imgaug's Fliplr puts the keypoint at width - x, a whole pixel beside the dot. */
  assert_true(fabs(cx - (32 - 10.3)) > 0.95);
  dlcc_image_free(&src);
  dlcc_image_free(&dst);
}

static void test_mirror_keeps_joint_ids_unless_given_swap_map(void **state) {
  (void)state;
  dlcc_joint joints[3] = {{0, 1.0, 2.0}, {1, 5.0, 6.0}, {2, 9.0, 3.0}};
  dlcc_aug_mirror_joints(joints, 3, 10, NULL, 0);
  assert_int_equal(joints[1].id, 1);
  assert_int_equal(joints[2].id, 2);
  assert_near(joints[0].x, 8.0, 1e-12);
  assert_near(joints[2].x, 0.0, 1e-12);
  assert_near(joints[2].y, 3.0, 1e-12);
  const int swap[3] = {0, 2, 1}; /* leftear <-> rightear */
  dlcc_aug_mirror_joints(joints, 3, 10, swap, 3);
  assert_int_equal(joints[0].id, 0);
  assert_int_equal(joints[1].id, 2);
  assert_int_equal(joints[2].id, 1);
  assert_near(joints[2].x, 9.0, 1e-12);
}

/* ---- batches ---- */

static void test_batch_pixels_are_nchw_rgb_0_255(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  plain_cfg(&cfg);
  dlcc_image img = textured_image(5, 4, 3);
  dlcc_aug_source src = source_of(&img, NULL, 0);
  dlcc_aug_batch batch = {0};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 1);
  dlcc_error err;
  assert_int_equal(dlcc_aug_batch_make(&batch, &cfg, &src, 1, &rng, &err), DLCC_OK);
  assert_int_equal(batch.width, 5);
  assert_int_equal(batch.height, 4);
  for (int c = 0; c < 3; c++)
    for (int p = 0; p < 20; p++) assert_true(batch.pixels[c * 20 + p] == (float)img.rgb[p * 3 + c]);
  dlcc_aug_batch_free(&batch);
  dlcc_image_free(&img);
  dlcc_pose_cfg_free(&cfg);
}

static void test_batch_drops_joints_leaving_image_and_invisible_ones(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  plain_cfg(&cfg);
  cfg.global_scale = 0.5;
  dlcc_image img = new_image(40, 30);
  const dlcc_joint joints[] = {
      {0, 10.0, 10.0},   /* -> (4.75, 4.75) */
      {1, -2.0, 5.0},    /* left of the image */
      {2, NAN, NAN},     /* not visible */
      {3, 39.4, 29.4},   /* -> (19.45, 14.45), just inside 20x15 */
      {4, 39.8, 5.0},    /* -> x 19.65, past the right edge at 19.5 */
  };
  dlcc_aug_source src = source_of(&img, joints, 5);
  dlcc_aug_batch batch = {0};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 1);
  dlcc_error err;
  assert_int_equal(dlcc_aug_batch_make(&batch, &cfg, &src, 1, &rng, &err), DLCC_OK);
  assert_int_equal(batch.width, 20);
  assert_int_equal(batch.height, 15);
  const dlcc_aug_sample *s = &batch.samples[0];
  assert_int_equal(s->n_joints, 2);
  assert_int_equal(s->joints[0].id, 0);
  assert_near(s->joints[0].x, 4.75, 1e-12);
  assert_near(s->joints[0].y, 4.75, 1e-12);
  assert_int_equal(s->joints[1].id, 3);
  assert_near(s->joints[1].x, 19.45, 1e-12);
  assert_near(s->joints[1].y, 14.45, 1e-12);
  assert_near(s->scale, 0.5, 1e-12);
  dlcc_aug_batch_free(&batch);
  dlcc_image_free(&img);
  dlcc_pose_cfg_free(&cfg);
}

static void test_batch_drops_joints_rotated_out_of_image(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  plain_cfg(&cfg);
  cfg.rotation = 90;
  cfg.rotratio = 1;
  /* A wide strip: a joint near its right end leaves it for any angle of more than about 13 degrees. */
  dlcc_image img = new_image(200, 40);
  const dlcc_joint joints[] = {{0, 190.0, 19.5}, {1, 99.5, 19.5}};
  dlcc_aug_source src = source_of(&img, joints, 2);
  dlcc_aug_batch batch = {0};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 5);
  int dropped = 0;
  for (int i = 0; i < 40; i++) {
    dlcc_error err;
    assert_int_equal(dlcc_aug_batch_make(&batch, &cfg, &src, 1, &rng, &err), DLCC_OK);
    const dlcc_aug_sample *s = &batch.samples[0];
    double x = 190.0, y = 19.5;
    dlcc_aug_rotation rot = dlcc_aug_rotation_about_centre(s->rotation, 200, 40);
    dlcc_aug_rotation_apply(&rot, &x, &y);
    bool stays = y > -0.5 && y < 39.5;
    assert_int_equal(s->n_joints, stays ? 2 : 1);
    assert_int_equal(s->joints[s->n_joints - 1].id, 1); /* the centre never moves */
    assert_near(s->joints[s->n_joints - 1].x, 99.5, 1e-9);
    dropped += !stays;
  }
  assert_true(dropped > 20);
  dlcc_aug_batch_free(&batch);
  dlcc_image_free(&img);
  dlcc_pose_cfg_free(&cfg);
}

/* The training defaults with augmentation on (mirror on, rotation 25 at rotratio 0.4). */
static void augmenting_cfg(dlcc_pose_cfg *cfg) {
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_defaults(cfg, false, &err), DLCC_OK);
  cfg->mirror = true;
  cfg->min_input_size = 8;
}

static void test_batch_joints_follow_the_pixels(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  augmenting_cfg(&cfg);
  cfg.rotratio = 1;
  const double x = 38.2, y = 20.7;
  dlcc_image img = dot_image(64, 48, x, y, 2.5);
  const dlcc_joint joint = {2, x, y};
  dlcc_aug_source src = source_of(&img, &joint, 1);
  dlcc_aug_batch batch = {0};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 11);
  int mirrored = 0;
  for (int i = 0; i < 16; i++) {
    dlcc_error err;
    assert_int_equal(dlcc_aug_batch_make(&batch, &cfg, &src, 1, &rng, &err), DLCC_OK);
    const dlcc_aug_sample *s = &batch.samples[0];
    assert_int_equal(s->n_joints, 1);
    assert_int_equal(s->joints[0].id, 2);
    double cx, cy;
    centroid_strided(NULL, batch.pixels, 1, batch.width, batch.height, &cx, &cy);
    assert_near(cx, s->joints[0].x, 0.25);
    assert_near(cy, s->joints[0].y, 0.25);
    mirrored += s->mirrored;
  }
  assert_true(mirrored > 2 && mirrored < 14);
  dlcc_aug_batch_free(&batch);
  dlcc_image_free(&img);
  dlcc_pose_cfg_free(&cfg);
}

static void test_batch_scale_lies_in_jitter_range(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  augmenting_cfg(&cfg); /* global_scale 0.8, jitter [0.5, 1.25]: scales in [0.4, 1.0] */
  dlcc_image img = new_image(40, 30);
  dlcc_aug_source src = source_of(&img, NULL, 0);
  dlcc_aug_batch batch = {0};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 3);
  double lowest = 2, highest = 0;
  for (int i = 0; i < 300; i++) {
    dlcc_error err;
    assert_int_equal(dlcc_aug_batch_make(&batch, &cfg, &src, 1, &rng, &err), DLCC_OK);
    assert_true(batch.scale >= 0.4 && batch.scale <= 1.0);
    assert_int_equal(batch.width, dlcc_aug_scaled_length(40, batch.scale));
    assert_int_equal(batch.height, dlcc_aug_scaled_length(30, batch.scale));
    assert_near(batch.samples[0].scale, fmin(batch.width / 40.0, batch.height / 30.0), 1e-12);
    lowest = fmin(lowest, batch.scale);
    highest = fmax(highest, batch.scale);
  }
  assert_true(lowest < 0.42 && highest > 0.98);
  dlcc_aug_batch_free(&batch);
  dlcc_image_free(&img);
  dlcc_pose_cfg_free(&cfg);
}

static void test_batch_draws_mirror_at_apply_prob_and_rotation_at_rotratio(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  augmenting_cfg(&cfg);
  cfg.global_scale = 1;
  cfg.scale_jitter_lo = cfg.scale_jitter_up = 1;
  dlcc_image img = new_image(8, 8);
  dlcc_aug_source src = source_of(&img, NULL, 0);
  dlcc_aug_batch batch = {0};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 9);
  int mirrored = 0, rotated = 0;
  double widest = 0;
  const int draws = 4000;
  for (int i = 0; i < draws; i++) {
    dlcc_error err;
    assert_int_equal(dlcc_aug_batch_make(&batch, &cfg, &src, 1, &rng, &err), DLCC_OK);
    mirrored += batch.samples[0].mirrored;
    rotated += batch.samples[0].rotation != 0;
    assert_true(fabs(batch.samples[0].rotation) <= 25);
    widest = fmax(widest, fabs(batch.samples[0].rotation));
  }
  assert_near((double)mirrored / draws, 0.5, 0.03);  /* apply_prob */
  assert_near((double)rotated / draws, 0.4, 0.03);   /* rotratio */
  assert_true(widest > 24.5);
  cfg.mirror = false;
  cfg.rotation = 0;
  for (int i = 0; i < 200; i++) {
    dlcc_error err;
    assert_int_equal(dlcc_aug_batch_make(&batch, &cfg, &src, 1, &rng, &err), DLCC_OK);
    assert_false(batch.samples[0].mirrored);
    assert_true(batch.samples[0].rotation == 0);
  }
  dlcc_aug_batch_free(&batch);
  dlcc_image_free(&img);
  dlcc_pose_cfg_free(&cfg);
}

/* Makes a 3-frame augmented batch from seed into batch. */
static void make_seeded_batch(dlcc_aug_batch *batch, const dlcc_pose_cfg *cfg, const dlcc_aug_source *sources,
                              uint64_t seed) {
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  dlcc_error err;
  assert_int_equal(dlcc_aug_batch_make(batch, cfg, sources, 3, &rng, &err), DLCC_OK);
}

static bool same_batch(const dlcc_aug_batch *a, const dlcc_aug_batch *b) {
  if (a->n != b->n || a->width != b->width || a->height != b->height || a->scale != b->scale) return false;
  if (memcmp(a->pixels, b->pixels, a->n * 3 * (size_t)a->width * a->height * sizeof(float)) != 0) return false;
  for (size_t i = 0; i < a->n; i++) {
    if (a->samples[i].n_joints != b->samples[i].n_joints) return false;
    if (memcmp(a->samples[i].joints, b->samples[i].joints, a->samples[i].n_joints * sizeof(dlcc_joint)) != 0)
      return false;
  }
  return true;
}

static void test_same_seed_gives_same_batch_bytes(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  augmenting_cfg(&cfg);
  cfg.rotratio = 0.7;
  dlcc_image imgs[3] = {textured_image(48, 40, 1), textured_image(48, 40, 2), textured_image(48, 40, 3)};
  const dlcc_joint joints[] = {{0, 10.5, 12.0}, {1, 30.0, 20.25}, {2, 47.0, 1.0}};
  dlcc_aug_source sources[3];
  for (int i = 0; i < 3; i++) sources[i] = source_of(&imgs[i], joints, 3);
  dlcc_aug_batch a = {0}, b = {0};
  make_seeded_batch(&a, &cfg, sources, 7);
  make_seeded_batch(&b, &cfg, sources, 7);
  assert_true(same_batch(&a, &b));
  make_seeded_batch(&b, &cfg, sources, 8);
  assert_false(same_batch(&a, &b));
  dlcc_aug_batch_free(&a);
  dlcc_aug_batch_free(&b);
  for (int i = 0; i < 3; i++) dlcc_image_free(&imgs[i]);
  dlcc_pose_cfg_free(&cfg);
}

static void test_batch_reuses_its_buffers(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  augmenting_cfg(&cfg);
  cfg.rotratio = 1;
  cfg.apply_prob = 1;
  dlcc_image imgs[3] = {textured_image(48, 40, 1), textured_image(48, 40, 2), textured_image(48, 40, 3)};
  dlcc_aug_source sources[3];
  for (int i = 0; i < 3; i++) sources[i] = source_of(&imgs[i], NULL, 0);
  cfg.scale_jitter_lo = cfg.scale_jitter_up = 1.25; /* the largest batch first */
  dlcc_aug_batch batch = {0};
  make_seeded_batch(&batch, &cfg, sources, 1);
  const float *pixels = batch.pixels;
  const uint8_t *flipped = batch.flipped.rgb, *rotated = batch.rotated.rgb;
  cfg.scale_jitter_lo = 0.5;
  for (uint64_t seed = 2; seed < 12; seed++) {
    make_seeded_batch(&batch, &cfg, sources, seed);
    assert_ptr_equal(batch.pixels, pixels);
    assert_ptr_equal(batch.flipped.rgb, flipped);
    assert_ptr_equal(batch.rotated.rgb, rotated);
  }
  dlcc_aug_batch_free(&batch);
  for (int i = 0; i < 3; i++) dlcc_image_free(&imgs[i]);
  dlcc_pose_cfg_free(&cfg);
}

static void test_batch_brings_frames_of_other_sizes_to_batch_size(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  plain_cfg(&cfg);
  cfg.global_scale = 0.5;
  dlcc_image small = textured_image(40, 30, 1), wide = textured_image(60, 30, 2);
  const dlcc_joint joint = {0, 19.5, 14.5};
  dlcc_aug_source sources[2] = {source_of(&small, &joint, 1), source_of(&wide, &joint, 1)};
  dlcc_aug_batch batch = {0};
  bool seen_small = false, seen_wide = false;
  for (uint64_t seed = 1; seed < 20; seed++) {
    dlcc_rng rng;
    dlcc_rng_seed(&rng, seed);
    dlcc_error err;
    assert_int_equal(dlcc_aug_batch_make(&batch, &cfg, sources, 2, &rng, &err), DLCC_OK);
    assert_int_equal(batch.height, 15);
    assert_true(batch.width == 20 || batch.width == 30);
    seen_small |= batch.width == 20;
    seen_wide |= batch.width == 30;
    for (int i = 0; i < 2; i++) {
      double w = sources[i].image->width, expected_x = (19.5 + 0.5) * batch.width / w - 0.5;
      assert_near(batch.samples[i].scale, fmin(batch.width / w, 0.5), 1e-12);
      assert_near(batch.samples[i].joints[0].x, expected_x, 1e-12);
      assert_near(batch.samples[i].joints[0].y, 7.0, 1e-12);
    }
  }
  assert_true(seen_small && seen_wide);
  dlcc_aug_batch_free(&batch);
  dlcc_image_free(&small);
  dlcc_image_free(&wide);
  dlcc_pose_cfg_free(&cfg);
}

static void test_batch_size_error_names_image_size_and_key_to_change(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  plain_cfg(&cfg);
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg.source_path, "/p/train/pose_cfg.yaml", &err), DLCC_OK);
  cfg.max_input_size = 100;
  dlcc_image big = new_image(400, 300);
  dlcc_aug_source src = source_of(&big, NULL, 0);
  src.name = "labeled-data/m4s1/img0007.png";
  dlcc_aug_batch batch = {0};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 1);
  assert_int_equal(dlcc_aug_batch_make(&batch, &cfg, &src, 1, &rng, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "image labeled-data/m4s1/img0007.png (400x300)");
  assert_contains(err.message, "it is 400x300, above max_input_size 100 (width*height at most 100^2)");
  assert_contains(err.message, "increase max_input_size or decrease global_scale (global_scale 0.28 would fit) "
                               "in /p/train/pose_cfg.yaml");
  assert_int_equal(batch.n, 0);

  /* Too small at every jitter: 21x21 at global_scale 0.8 x [0.5, 1.25] is at most 21x21 < 64^2. */
  dlcc_image tiny = new_image(21, 21);
  src = source_of(&tiny, NULL, 0);
  cfg.max_input_size = 1500;
  cfg.min_input_size = 64;
  cfg.global_scale = 0.8;
  cfg.scale_jitter_lo = 0.5;
  cfg.scale_jitter_up = 1.25;
  assert_int_equal(dlcc_aug_batch_make(&batch, &cfg, &src, 1, &rng, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "image 1 of the batch (21x21)");
  assert_contains(err.message, "below min_input_size 64 (width*height at least 64^2); decrease min_input_size or "
                               "increase global_scale (global_scale 2.44 would fit)");
  dlcc_aug_batch_free(&batch);
  dlcc_image_free(&big);
  dlcc_image_free(&tiny);
  dlcc_pose_cfg_free(&cfg);
}

static void test_batch_redraws_scale_until_image_fits(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  plain_cfg(&cfg);
  /* 100x100 fits min_input_size 64 only once it is at least 64x64 (scales above 0.63): about 4 in 5
   * draws from [0.5, 1.25]. */
  cfg.min_input_size = 64;
  cfg.scale_jitter_lo = 0.5;
  cfg.scale_jitter_up = 1.25;
  dlcc_image img = new_image(100, 100);
  dlcc_aug_source src = source_of(&img, NULL, 0);
  dlcc_aug_batch batch = {0};
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 4);
  for (int i = 0; i < 200; i++) {
    dlcc_error err;
    assert_int_equal(dlcc_aug_batch_make(&batch, &cfg, &src, 1, &rng, &err), DLCC_OK);
    assert_true(batch.scale > 0.63 && batch.width >= 64 && batch.height >= 64);
  }
  dlcc_aug_batch_free(&batch);
  dlcc_image_free(&img);
  dlcc_pose_cfg_free(&cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_resize_keeps_dot_under_keypoint),
      cmocka_unit_test(test_resize_keeps_flat_colour_exact),
      cmocka_unit_test(test_scaled_length_rounds_up_as_deeplabcut),
      cmocka_unit_test(test_rotate_90_maps_pixels_and_keypoint_exactly),
      cmocka_unit_test(test_rotate_25_keeps_dot_under_keypoint),
      cmocka_unit_test(test_rotate_fills_uncovered_corners_black),
      cmocka_unit_test(test_mirror_keeps_dot_under_width_minus_one_minus_x),
      cmocka_unit_test(test_mirror_keeps_joint_ids_unless_given_swap_map),
      cmocka_unit_test(test_batch_pixels_are_nchw_rgb_0_255),
      cmocka_unit_test(test_batch_drops_joints_leaving_image_and_invisible_ones),
      cmocka_unit_test(test_batch_drops_joints_rotated_out_of_image),
      cmocka_unit_test(test_batch_joints_follow_the_pixels),
      cmocka_unit_test(test_batch_scale_lies_in_jitter_range),
      cmocka_unit_test(test_batch_draws_mirror_at_apply_prob_and_rotation_at_rotratio),
      cmocka_unit_test(test_same_seed_gives_same_batch_bytes),
      cmocka_unit_test(test_batch_reuses_its_buffers),
      cmocka_unit_test(test_batch_brings_frames_of_other_sizes_to_batch_size),
      cmocka_unit_test(test_batch_size_error_names_image_size_and_key_to_change),
      cmocka_unit_test(test_batch_redraws_scale_until_image_fits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
