/* Tests of src/demo: the rendered scene (labels on the drawn parts, plausible steady bodies, animals
 * that meet, determinism) and the generated DeepLabCut project (files, bytes, labels, video). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demo/render.h"
#include "image/image.h"
#include "testutil.h"

/* A small scene and its frames, rendered once per test. */
typedef struct rendered {
  dlcc_demo_scene *scene;
  int width, height, animals, frames;
  dlcc_image image;
  uint8_t *mask;
  double *xy;  /* animals x parts x 2 */
} rendered;

static void rendered_open(rendered *r, int width, int height, int animals, int frames, uint64_t seed) {
  dlcc_error err;
  *r = (rendered){.width = width, .height = height, .animals = animals, .frames = frames};
  if (dlcc_demo_scene_create(&r->scene, width, height, animals, frames, seed, &err)) fail_msg("%s", err.message);
  assert_int_equal(dlcc_image_alloc(&r->image, width, height, &err), DLCC_OK);
  r->mask = malloc((size_t)width * height);
  r->xy = malloc(sizeof *r->xy * animals * DLCC_DEMO_PARTS * 2);
  assert_non_null(r->mask);
  assert_non_null(r->xy);
}

static void rendered_frame(rendered *r, int frame) {
  dlcc_demo_scene_render(r->scene, frame, &r->image, r->mask);
  dlcc_demo_scene_keypoints(r->scene, frame, r->xy);
}

static void rendered_close(rendered *r) {
  dlcc_demo_scene_free(r->scene);
  dlcc_image_free(&r->image);
  free(r->mask);
  free(r->xy);
}

static bool inside_image(const rendered *r, double x, double y) {
  return x >= 0 && y >= 0 && x <= r->width - 1 && y <= r->height - 1;
}

static const uint8_t *pixel_at(const rendered *r, double x, double y) {
  return &r->image.rgb[3 * ((size_t)lround(y) * r->width + (size_t)lround(x))];
}

static uint8_t mask_at(const rendered *r, double x, double y) {
  return r->mask[(size_t)lround(y) * r->width + (size_t)lround(x)];
}

static void test_every_keypoint_lies_on_its_animals_body(void **state) {
  (void)state;
  rendered r;
  rendered_open(&r, 160, 128, 3, 40, 5);
  int checked = 0;
  for (int f = 0; f < r.frames; f++) {
    rendered_frame(&r, f);
    for (int k = 0; k < r.animals; k++)
      for (int j = 0; j < DLCC_DEMO_PARTS; j++) {
        double x = r.xy[(k * DLCC_DEMO_PARTS + j) * 2], y = r.xy[(k * DLCC_DEMO_PARTS + j) * 2 + 1];
        assert_true(dlcc_demo_scene_covers(r.scene, f, k, x, y));
        if (!inside_image(&r, x, y)) continue;
        /* on top at that pixel: this animal, or one drawn later over it */
        assert_true(mask_at(&r, x, y) >= k + 1);
        checked++;
      }
  }
  assert_true(checked > 0.9 * r.frames * r.animals * DLCC_DEMO_PARTS);
  rendered_close(&r);
}

/* Unoccluded snouts and ears are pink, tail bases dark fur, the floor light. */
static void test_keypoint_pixels_show_the_part_colours(void **state) {
  (void)state;
  rendered r;
  rendered_open(&r, 160, 128, 2, 30, 11);
  int pink = 0, pink_total = 0, dark = 0, dark_total = 0;
  double floor_sum = 0, floor_n = 0;
  for (int f = 0; f < r.frames; f++) {
    rendered_frame(&r, f);
    for (int k = 0; k < r.animals; k++)
      for (int j = 0; j < DLCC_DEMO_PARTS; j++) {
        double x = r.xy[(k * DLCC_DEMO_PARTS + j) * 2], y = r.xy[(k * DLCC_DEMO_PARTS + j) * 2 + 1];
        if (!inside_image(&r, x, y) || mask_at(&r, x, y) != k + 1) continue;
        const uint8_t *p = pixel_at(&r, x, y);
        if (j == 3) dark_total++, dark += p[0] + p[1] + p[2] < 3 * 100;
        else pink_total++, pink += p[0] > p[1] + 20;
      }
    for (size_t i = 0; i < (size_t)r.width * r.height; i++)
      if (!r.mask[i]) floor_sum += r.image.rgb[3 * i + 1], floor_n++;
  }
  assert_true(pink_total > 100 && pink > 0.9 * pink_total);
  assert_true(dark_total > 30 && dark > 0.9 * dark_total);
  assert_true(floor_sum / floor_n > 140);
  rendered_close(&r);
}

static void test_snout_to_tailbase_is_plausible_and_steady(void **state) {
  (void)state;
  rendered r;
  rendered_open(&r, 200, 160, 2, 120, 3);
  for (int k = 0; k < r.animals; k++) {
    double lo = INFINITY, hi = 0;
    for (int f = 0; f < r.frames; f++) {
      dlcc_demo_scene_keypoints(r.scene, f, r.xy);
      const double *snout = &r.xy[k * DLCC_DEMO_PARTS * 2], *tail = &r.xy[(k * DLCC_DEMO_PARTS + 3) * 2];
      double d = hypot(snout[0] - tail[0], snout[1] - tail[1]);
      lo = fmin(lo, d), hi = fmax(hi, d);
    }
    /* a mouse is about a fifth of the arena's smaller side (openfield: ~100 px of 480) */
    assert_true(lo > 0.15 * 160 && hi < 0.25 * 160);
    assert_true(hi / lo < 1.15);
  }
  rendered_close(&r);
}

/* No jumps from frame to frame, yet the animals travel and turn. */
static void test_animals_move_smoothly_and_explore(void **state) {
  (void)state;
  rendered r;
  rendered_open(&r, 160, 128, 1, 150, 8);
  double prev[8], path = 0, max_step = 0, min_x = INFINITY, max_x = -INFINITY;
  for (int f = 0; f < r.frames; f++) {
    dlcc_demo_scene_keypoints(r.scene, f, r.xy);
    if (f > 0) {
      double step = hypot(r.xy[6] - prev[6], r.xy[7] - prev[7]);
      path += step;
      max_step = fmax(max_step, step);
    }
    min_x = fmin(min_x, r.xy[6]), max_x = fmax(max_x, r.xy[6]);
    memcpy(prev, r.xy, sizeof prev);
  }
  assert_true(max_step < 0.05 * 128);
  assert_true(path > 0.5 * 128);
  assert_true(max_x - min_x > 0.2 * 160);
  rendered_close(&r);
}

/* Several animals: some frame shows a pixel covered by two bodies (the later one on top). */
static void test_animals_touch_in_a_multi_animal_scene(void **state) {
  (void)state;
  rendered r;
  rendered_open(&r, 160, 128, 3, 60, 42);
  int touching_frames = 0;
  for (int f = 0; f < r.frames; f++) {
    rendered_frame(&r, f);
    bool touch = false;
    for (int y = 0; y < r.height && !touch; y++)
      for (int x = 0; x < r.width && !touch; x++) {
        int top = r.mask[(size_t)y * r.width + x] - 1;
        for (int k = 0; k < top && !touch; k++) touch = dlcc_demo_scene_covers(r.scene, f, k, x, y);
      }
    touching_frames += touch;
  }
  assert_true(touching_frames >= 3);
  rendered_close(&r);
}

static void test_rendering_is_reproducible_per_frame(void **state) {
  (void)state;
  rendered a, b, c;
  rendered_open(&a, 96, 64, 2, 10, 9);
  rendered_open(&b, 96, 64, 2, 10, 9);
  rendered_open(&c, 96, 64, 2, 10, 10);
  size_t bytes = (size_t)96 * 64 * 3;
  rendered_frame(&b, 7);  /* order of rendering does not matter */
  rendered_frame(&a, 5);
  rendered_frame(&b, 5);
  rendered_frame(&c, 5);
  assert_memory_equal(a.image.rgb, b.image.rgb, bytes);
  assert_memory_not_equal(a.image.rgb, c.image.rgb, bytes);
  uint8_t *frame5 = malloc(bytes);
  memcpy(frame5, a.image.rgb, bytes);
  rendered_frame(&a, 6);
  assert_memory_not_equal(frame5, a.image.rgb, bytes);  /* at least the sensor noise changes */
  free(frame5);
  rendered_close(&a);
  rendered_close(&b);
  rendered_close(&c);
}

static void test_scene_rejects_bad_sizes(void **state) {
  (void)state;
  dlcc_demo_scene *scene;
  dlcc_error err;
  assert_int_equal(dlcc_demo_scene_create(&scene, 16, 64, 1, 10, 1, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "16x64");
  assert_null(scene);
  assert_int_equal(dlcc_demo_scene_create(&scene, 64, 64, 0, 10, 1, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "choose 1 to 32");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_keypoint_lies_on_its_animals_body),
      cmocka_unit_test(test_keypoint_pixels_show_the_part_colours),
      cmocka_unit_test(test_snout_to_tailbase_is_plausible_and_steady),
      cmocka_unit_test(test_animals_move_smoothly_and_explore),
      cmocka_unit_test(test_animals_touch_in_a_multi_animal_scene),
      cmocka_unit_test(test_rendering_is_reproducible_per_frame),
      cmocka_unit_test(test_scene_rejects_bad_sizes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
