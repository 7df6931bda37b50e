/* Tests of src/train: reading the training set (values, moved projects, errors naming the file, the
 * image and the fault) and the threaded batch loader (shapes, targets around the augmented joints,
 * bytes independent of the number of workers, resume at batch k, shutdown, worker errors), on small
 * generated sets and on the openfield project. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "augment/resize.h"
#include "dataset/training_set.h"
#include "image/image.h"
#include "project/posecfg.h"
#include "testutil.h"
#include "train/dataset_reader.h"
#include "train/loader.h"
#include "util/fileio.h"

/* ---- a small generated project ---- */

typedef struct test_frame {
  const char *name;
  int width, height;
  int n_joints;
  double joints[4][3];   /* [joint, x, y] */
} test_frame;

/* Dark texture with a bright 9x9 square centred on each joint, so a joint's pixels can be found after
 * augmentation. */
static void write_frame(const char *root, const test_frame *f) {
  dlcc_image img;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&img, f->width, f->height, &err), DLCC_OK);
  for (int y = 0; y < f->height; y++)
    for (int x = 0; x < f->width; x++)
      for (int c = 0; c < 3; c++) img.rgb[((size_t)y * f->width + x) * 3 + c] = (uint8_t)((x * 7 + y * 3 + c * 11) % 48);
  for (int j = 0; j < f->n_joints; j++) {
    int cx = (int)lround(f->joints[j][1]), cy = (int)lround(f->joints[j][2]);
    for (int y = cy - 4; y <= cy + 4; y++)
      for (int x = cx - 4; x <= cx + 4; x++)
        if (x >= 0 && y >= 0 && x < f->width && y < f->height) memset(img.rgb + ((size_t)y * f->width + x) * 3, 255, 3);
  }
  char *path = dlcc_path_join(root, f->name), *parent = dlcc_path_dirname(path);
  assert_int_equal(dlcc_mkdirs(parent, &err), DLCC_OK);
  if (dlcc_image_save_png(path, &img, &err)) fail_msg("%s", err.message);
  dlcc_image_free(&img);
  free(path);
  free(parent);
}

static const char *const joint_names[4] = {"snout", "leftear", "rightear", "tailbase"};

static char *training_set_json(const test_frame *frames, size_t n) {
  dlcc_strbuf sb = {0};
  dlcc_strbuf_append(&sb, "{\"format\": \"dlcc training set 1\", \"multianimal\": false,\n"
                          " \"all_joints_names\": [\"snout\", \"leftear\", \"rightear\", \"tailbase\"],\n \"images\": [");
  for (size_t i = 0; i < n; i++) {
    const test_frame *f = &frames[i];
    dlcc_strbuf_printf(&sb, "%s\n  {\"image\": \"%s\", \"size\": [3, %d, %d], \"joints\": [[", i ? "," : "", f->name,
                       f->height, f->width);
    for (int j = 0; j < f->n_joints; j++)
      dlcc_strbuf_printf(&sb, "%s[%g, %.17g, %.17g]", j ? ", " : "", f->joints[j][0], f->joints[j][1], f->joints[j][2]);
    dlcc_strbuf_append(&sb, "]]}");
  }
  dlcc_strbuf_append(&sb, "]}\n");
  assert_false(sb.failed);
  return sb.data;
}

#define DATASET_NAME "training-datasets/iteration-0/set.json"

typedef struct small_project {
  char *root;
  dlcc_pose_cfg cfg;
} small_project;

/* Writes the frames and their training set under a fresh folder; cfg is DeepLabCut's single-animal
 * default with the four joints, pointing at that set. */
static void small_project_make(small_project *p, const test_frame *frames, size_t n) {
  dlcc_error err;
  p->root = test_tempdir("loader");
  for (size_t i = 0; i < n; i++) write_frame(p->root, &frames[i]);
  char *json = training_set_json(frames, n);
  free(test_write_file(p->root, DATASET_NAME, json));
  free(json);
  assert_int_equal(dlcc_pose_cfg_defaults(&p->cfg, false, &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_set_joints(&p->cfg, (char *const *)joint_names, 4, &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_set_string(&p->cfg.dataset, DATASET_NAME, &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_set_string(&p->cfg.project_path, p->root, &err), DLCC_OK);
}

static void small_project_free(small_project *p) {
  dlcc_pose_cfg_free(&p->cfg);
  test_rmtree(p->root);
  free(p->root);
}

/* Four 200x160 frames, joints spread out, some near the borders so that rotations drop them. */
static const test_frame four_frames[] = {
    {"labeled-data/v/img0.png", 200, 160, 4, {{0, 50, 40}, {1, 150, 40}, {2, 100, 120}, {3, 12, 150}}},
    {"labeled-data/v/img1.png", 200, 160, 3, {{0, 100, 80}, {2, 190, 10}, {3, 30, 100}}},
    {"labeled-data/v/img2.png", 200, 160, 4, {{0, 20, 20}, {1, 60, 70}, {2, 140, 90}, {3, 180, 140}}},
    {"labeled-data/w/img3.png", 200, 160, 2, {{1, 120, 30}, {3, 70, 130}}},
};

static dlcc_train_dataset load_ok(const small_project *p, const dlcc_train_dataset_options *opt) {
  dlcc_train_dataset ds;
  dlcc_error err;
  if (dlcc_train_dataset_load(&p->cfg, p->root, opt, &ds, &err)) fail_msg("%s", err.message);
  return ds;
}

/* ---- reading the training set ---- */

static void test_dataset_reads_sizes_joints_and_caches_pixels(void **state) {
  (void)state;
  small_project p;
  small_project_make(&p, four_frames, 4);
  dlcc_train_dataset ds = load_ok(&p, NULL);
  assert_int_equal(ds.n_images, 4);
  assert_int_equal(ds.num_joints, 4);
  assert_false(ds.multianimal);
  assert_int_equal(ds.n_cached, 4);
  assert_int_equal(ds.cached_bytes, 4 * 200 * 160 * 3);
  const dlcc_train_image *img = &ds.images[1];
  assert_string_equal(img->name, "labeled-data/v/img1.png");
  assert_int_equal(img->width, 200);
  assert_int_equal(img->height, 160);
  assert_int_equal(img->n_joints, 3);
  assert_int_equal(img->joints[1].id, 2);
  assert_true(img->joints[1].x == 190 && img->joints[1].y == 10);
  /* The white square at joint 2 of img1 is in the decoded pixels. */
  assert_int_equal(img->pixels.rgb[(10 * 200 + 190) * 3], 255);
  dlcc_train_dataset_free(&ds);

  /* A budget of one image caches only the first; the others are read on demand. */
  dlcc_train_dataset_options one = {.cache_bytes = 200 * 160 * 3};
  ds = load_ok(&p, &one);
  assert_int_equal(ds.n_cached, 1);
  assert_null(ds.images[2].pixels.rgb);
  dlcc_image scratch = {0};
  const dlcc_image *pixels = NULL;
  dlcc_error err;
  assert_int_equal(dlcc_train_dataset_pixels(&ds, 2, &scratch, &pixels, &err), DLCC_OK);
  assert_ptr_equal(pixels, &scratch);
  assert_int_equal(pixels->rgb[(70 * 200 + 60) * 3], 255);
  dlcc_image_free(&scratch);
  dlcc_train_dataset_free(&ds);
  small_project_free(&p);
}

static void test_dataset_found_in_moved_project_and_via_project_path(void **state) {
  (void)state;
  small_project p;
  small_project_make(&p, four_frames, 2);
  dlcc_error err;
  /* Moved project: project_path is stale, the caller's folder is right. */
  assert_int_equal(dlcc_pose_cfg_set_string(&p.cfg.project_path, "/nonexistent/old-place", &err), DLCC_OK);
  dlcc_train_dataset ds = load_ok(&p, NULL);
  char *expect = dlcc_path_join(p.root, "labeled-data/v/img0.png");
  assert_string_equal(ds.images[0].path, expect);
  free(expect);
  dlcc_train_dataset_free(&ds);
  /* The caller's folder lacks the files: project_path is the fallback. */
  assert_int_equal(dlcc_pose_cfg_set_string(&p.cfg.project_path, p.root, &err), DLCC_OK);
  assert_int_equal(dlcc_train_dataset_load(&p.cfg, "/nonexistent/elsewhere", NULL, &ds, &err), DLCC_OK);
  assert_int_equal(ds.n_images, 2);
  dlcc_train_dataset_free(&ds);
  /* Neither: the message names both places looked at. */
  assert_int_equal(dlcc_pose_cfg_set_string(&p.cfg.project_path, "/nonexistent/old-place", &err), DLCC_OK);
  assert_int_equal(dlcc_train_dataset_load(&p.cfg, "/nonexistent/elsewhere", NULL, &ds, &err), DLCC_ERR_IO);
  assert_contains(err.message, "the training set " DATASET_NAME " (`dataset` in pose_cfg.yaml) was not found: "
                               "looked for /nonexistent/elsewhere/" DATASET_NAME " and /nonexistent/old-place/" DATASET_NAME);
  assert_contains(err.message, "create-training-dataset");
  small_project_free(&p);
}

/* Rewrites the training set with `from` replaced by `to` and returns the load error's message. */
static char *error_after_edit(small_project *p, const char *from, const char *to, dlcc_status expect) {
  char *json = training_set_json(four_frames, 2);
  char *at = strstr(json, from);
  if (!at) fail_msg("'%s' is not in the test's training set", from);
  dlcc_strbuf sb = {0};
  dlcc_strbuf_appendn(&sb, json, (size_t)(at - json));
  dlcc_strbuf_append(&sb, to);
  dlcc_strbuf_append(&sb, at + strlen(from));
  free(test_write_file(p->root, DATASET_NAME, sb.data));
  dlcc_strbuf_free(&sb);
  free(json);
  dlcc_train_dataset ds;
  dlcc_error err;
  assert_int_equal(dlcc_train_dataset_load(&p->cfg, p->root, NULL, &ds, &err), expect);
  assert_int_equal(ds.n_images, 0);
  return strdup(err.message);
}

static void expect_error(small_project *p, const char *from, const char *to, dlcc_status status, const char *fragment) {
  char *message = error_after_edit(p, from, to, status);
  char *file = dlcc_path_join(p->root, DATASET_NAME);
  assert_contains(message, file);
  assert_contains(message, fragment);
  free(file);
  free(message);
}

static void test_dataset_errors_name_file_image_and_fault(void **state) {
  (void)state;
  small_project p;
  small_project_make(&p, four_frames, 2);
  expect_error(&p, "[2, 190, 10]", "[4, 190, 10]", DLCC_ERR_INVALID,
               "images[1] (labeled-data/v/img1.png): joints[0][1] has joint id 4, out of range for num_joints 4 "
               "(ids 0..3)");
  expect_error(&p, "[2, 190, 10]", "[1.5, 190, 10]", DLCC_ERR_INVALID,
               "images[1] (labeled-data/v/img1.png): joints[0][1] has a joint id that is not a whole number");
  expect_error(&p, "[2, 190, 10]", "[2, 1e999, 10]", DLCC_ERR_INVALID,
               "joints[0][1] (joint 2) must have finite numbers as x and y");
  expect_error(&p, "[2, 190, 10]", "[2, 190]", DLCC_ERR_PARSE, "joints[0][1] must be [joint, x, y]");
  expect_error(&p, "[3, 160, 200]", "[3, 0, 200]", DLCC_ERR_INVALID,
               "images[0] (labeled-data/v/img0.png): \"size\" must be [channels, height, width] with positive whole "
               "numbers");
  expect_error(&p, "[3, 160, 200]", "[3, 150, 200]", DLCC_ERR_INVALID,
               "img0.png is 200x160 but the training set lists 200x150 (width x height)");
  expect_error(&p, "labeled-data/v/img1.png", "labeled-data/v/gone.png", DLCC_ERR_IO,
               "images[1] (labeled-data/v/gone.png): the image does not exist: looked for");
  expect_error(&p, "\"image\": \"labeled-data/v/img1.png\", ", "", DLCC_ERR_PARSE,
               "images[1]: \"image\" (the image's path in the project) is missing");
  expect_error(&p, "\"images\"", "\"pictures\"", DLCC_ERR_PARSE, "the key \"images\" is missing");
  expect_error(&p, "\"multianimal\": false", "\"multianimal\": true", DLCC_ERR_INVALID,
               "is a multi-animal training set but pose_cfg.yaml is set up for a single-animal project");
  expect_error(&p, "\"rightear\"", "\"nose\"", DLCC_ERR_INVALID,
               "joint 2 is \"nose\" but \"rightear\" in pose_cfg.yaml's all_joints_names");
  expect_error(&p, ", \"tailbase\"", "", DLCC_ERR_INVALID, "names 3 joints but num_joints is 4 in pose_cfg.yaml");
  expect_error(&p, "\"format\": \"dlcc training set 1\"", "\"format\": \"dlcc training set 9\"", DLCC_ERR_UNSUPPORTED,
               "\"format\" is not \"dlcc training set 1\"");
  /* The JSON is broken on its third line. */
  expect_error(&p, "\"images\": [", "\"images\": [}", DLCC_ERR_PARSE, "not valid JSON (error at line 3)");
  small_project_free(&p);
}

/* ---- copies of batches, for comparing runs ---- */

typedef struct batch_copy {
  uint64_t index;
  size_t n;
  int width, height, map_width, map_height;
  double scale;
  size_t image_indices[8];
  float *inputs, *scoremap, *weights, *locref, *locref_mask;
  size_t n_inputs, n_map;
} batch_copy;

static float *copy_floats(const float *from, size_t n) {
  float *to = malloc(n * sizeof *to);
  assert_non_null(to);
  memcpy(to, from, n * sizeof *to);
  return to;
}

static batch_copy copy_batch(const dlcc_train_batch *b) {
  batch_copy c = {.index = b->index, .n = b->n, .width = b->width, .height = b->height, .map_width = b->map_width,
                  .map_height = b->map_height, .scale = b->scale};
  assert_true(b->n <= 8);
  memcpy(c.image_indices, b->image_indices, b->n * sizeof *b->image_indices);
  c.n_inputs = b->n * 3 * (size_t)b->width * b->height;
  c.n_map = b->n * (size_t)b->num_joints * b->map_width * b->map_height;
  c.inputs = copy_floats(b->inputs, c.n_inputs);
  c.scoremap = copy_floats(b->scoremap, c.n_map);
  c.weights = copy_floats(b->weights, c.n_map);
  c.locref = copy_floats(b->locref, 2 * c.n_map);
  c.locref_mask = copy_floats(b->locref_mask, 2 * c.n_map);
  return c;
}

static void batch_copy_free(batch_copy *c) {
  free(c->inputs);
  free(c->scoremap);
  free(c->weights);
  free(c->locref);
  free(c->locref_mask);
}

static bool same_batch(const batch_copy *a, const batch_copy *b) {
  return a->index == b->index && a->n == b->n && a->width == b->width && a->height == b->height &&
         a->map_width == b->map_width && a->map_height == b->map_height && a->scale == b->scale &&
         !memcmp(a->image_indices, b->image_indices, a->n * sizeof a->image_indices[0]) &&
         !memcmp(a->inputs, b->inputs, a->n_inputs * sizeof(float)) &&
         !memcmp(a->scoremap, b->scoremap, a->n_map * sizeof(float)) &&
         !memcmp(a->weights, b->weights, a->n_map * sizeof(float)) &&
         !memcmp(a->locref, b->locref, 2 * a->n_map * sizeof(float)) &&
         !memcmp(a->locref_mask, b->locref_mask, 2 * a->n_map * sizeof(float));
}

static dlcc_train_loader *start_ok(const dlcc_train_dataset *ds, const dlcc_pose_cfg *cfg,
                                   dlcc_train_loader_options opt) {
  dlcc_train_loader *loader = NULL;
  dlcc_error err;
  if (dlcc_train_loader_start(&loader, ds, cfg, &opt, &err)) fail_msg("%s", err.message);
  return loader;
}

static const dlcc_train_batch *next_ok(dlcc_train_loader *loader) {
  const dlcc_train_batch *b = NULL;
  dlcc_error err;
  if (dlcc_train_loader_next(loader, &b, &err)) fail_msg("%s", err.message);
  assert_non_null(b);
  return b;
}

/* Copies of `count` batches starting at opt.first_batch. */
static void run_batches(const dlcc_train_dataset *ds, const dlcc_pose_cfg *cfg, dlcc_train_loader_options opt,
                        size_t count, batch_copy *out) {
  dlcc_train_loader *loader = start_ok(ds, cfg, opt);
  for (size_t i = 0; i < count; i++) {
    const dlcc_train_batch *b = next_ok(loader);
    assert_int_equal(b->index, opt.first_batch + i);
    out[i] = copy_batch(b);
  }
  dlcc_train_loader_stop(loader);
}

/* ---- what a batch holds ---- */

static size_t map_at(const dlcc_train_batch *b, size_t frame, int channel, int channels, int x, int y) {
  return (((frame * (size_t)channels + (size_t)channel) * b->map_height + y) * b->map_width) + x;
}

/* Every cell of every channel of frame i against DeepLabCut's rule, recomputed from the frame's
 * surviving joints: positive exactly within pos_dist_thresh x the frame's scale of a joint of that
 * id, and there the locref offset to it. Returns the positive cells. */
static size_t check_frame_targets(const dlcc_train_batch *b, const dlcc_pose_cfg *cfg, size_t i) {
  const dlcc_aug_sample *s = &b->samples[i];
  double radius = cfg->pos_dist_thresh * s->scale, half = cfg->stride / 2;
  size_t positives = 0;
  for (int j = 0; j < b->num_joints; j++)
    for (int y = 0; y < b->map_height; y++)
      for (int x = 0; x < b->map_width; x++) {
        double cx = x * cfg->stride + half, cy = y * cfg->stride + half;
        const dlcc_joint *hit = NULL;
        bool borderline = false;
        for (size_t t = 0; t < s->n_joints; t++) {
          if (s->joints[t].id != j) continue;
          double d2 = (s->joints[t].x - cx) * (s->joints[t].x - cx) + (s->joints[t].y - cy) * (s->joints[t].y - cy);
          borderline |= fabs(d2 - radius * radius) < 1e-6;
          if (d2 <= radius * radius) hit = &s->joints[t];
        }
        if (borderline) continue;
        float score = b->scoremap[map_at(b, i, j, b->num_joints, x, y)];
        assert_true(score == (hit ? 1.0f : 0.0f));
        assert_true(b->weights[map_at(b, i, j, b->num_joints, x, y)] == 1.0f);
        float dx = b->locref[map_at(b, i, 2 * j, 2 * b->num_joints, x, y)];
        float dy = b->locref[map_at(b, i, 2 * j + 1, 2 * b->num_joints, x, y)];
        assert_true(b->locref_mask[map_at(b, i, 2 * j, 2 * b->num_joints, x, y)] == (hit ? 1.0f : 0.0f));
        assert_true(b->locref_mask[map_at(b, i, 2 * j + 1, 2 * b->num_joints, x, y)] == (hit ? 1.0f : 0.0f));
        if (hit) {
          positives++;
          assert_true(fabs(dx - (hit->x - cx) / cfg->locref_stdev) < 1e-5);
          assert_true(fabs(dy - (hit->y - cy) / cfg->locref_stdev) < 1e-5);
        } else {
          assert_true(dx == 0 && dy == 0);
        }
      }
  return positives;
}

/* The bright square drawn at each joint is under the joint after augmentation. */
static void check_joints_on_their_squares(const dlcc_train_batch *b, size_t i) {
  const dlcc_aug_sample *s = &b->samples[i];
  size_t plane = (size_t)b->width * b->height;
  for (size_t t = 0; t < s->n_joints; t++) {
    long x = lround(s->joints[t].x), y = lround(s->joints[t].y);
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    if (x >= b->width) x = b->width - 1;
    if (y >= b->height) y = b->height - 1;
    for (int c = 0; c < 3; c++) {
      float v = b->inputs[(i * 3 + (size_t)c) * plane + (size_t)y * b->width + (size_t)x];
      if (v < 140) fail_msg("frame %zu joint %d at (%.2f, %.2f): pixel %g is not on its square", i, s->joints[t].id,
                            s->joints[t].x, s->joints[t].y, v);
    }
  }
}

static void check_batch_shape(const dlcc_train_batch *b, const dlcc_pose_cfg *cfg, const dlcc_train_dataset *ds) {
  assert_int_equal(b->n, (size_t)cfg->batch_size);
  assert_int_equal(b->num_joints, cfg->num_joints);
  double lo = cfg->global_scale * cfg->scale_jitter_lo, up = cfg->global_scale * cfg->scale_jitter_up;
  assert_true(b->scale >= lo && b->scale <= up);
  for (size_t i = 0; i < b->n; i++) {
    assert_true(b->image_indices[i] < ds->n_images);
    const dlcc_train_image *img = &ds->images[b->image_indices[i]];
    /* All frames here have one size, so the batch is that size at the batch's scale, rounded up. */
    assert_int_equal(b->width, dlcc_aug_scaled_length(img->width, b->scale));
    assert_int_equal(b->height, dlcc_aug_scaled_length(img->height, b->scale));
    assert_true(fabs(b->samples[i].scale - fmin((double)b->width / img->width, (double)b->height / img->height)) < 1e-12);
  }
  /* DeepLabCut's map size: ceil(side / 16) * 2 at stride 8. */
  assert_int_equal(b->map_width, (int)ceil(b->width / 16.0) * 2);
  assert_int_equal(b->map_height, (int)ceil(b->height / 16.0) * 2);
  size_t n_inputs = b->n * 3 * (size_t)b->width * b->height;
  for (size_t p = 0; p < n_inputs; p++) assert_true(b->inputs[p] >= 0 && b->inputs[p] <= 255);
}

static void test_batches_have_shapes_and_targets_around_augmented_joints(void **state) {
  (void)state;
  small_project p;
  small_project_make(&p, four_frames, 4);
  p.cfg.batch_size = 3;
  p.cfg.mirror = true;
  p.cfg.rotratio = 1.0;   /* rotate every frame, by up to 25 degrees */
  dlcc_train_dataset ds = load_ok(&p, NULL);
  dlcc_train_loader *loader = start_ok(&ds, &p.cfg, (dlcc_train_loader_options){.seed = 7, .n_workers = 2});
  size_t positives = 0, joints = 0, mirrored = 0;
  for (int k = 0; k < 8; k++) {
    const dlcc_train_batch *b = next_ok(loader);
    assert_int_equal(b->index, k);
    check_batch_shape(b, &p.cfg, &ds);
    for (size_t i = 0; i < b->n; i++) {
      positives += check_frame_targets(b, &p.cfg, i);
      check_joints_on_their_squares(b, i);
      joints += b->samples[i].n_joints;
      mirrored += b->samples[i].mirrored;
      assert_true(b->samples[i].n_joints <= ds.images[b->image_indices[i]].n_joints);
    }
  }
  dlcc_train_loader_stop(loader);
  /* The checks above saw real joints, mirrored and unmirrored frames. */
  assert_true(joints > 40);
  assert_true(positives > joints * 4);
  assert_true(mirrored > 0 && mirrored < 24);
  dlcc_train_dataset_free(&ds);
  small_project_free(&p);
}

static void test_frame_without_joints_is_all_background(void **state) {
  (void)state;
  static const test_frame empty[] = {{"labeled-data/v/empty.png", 120, 100, 0, {{0}}}};
  small_project p;
  small_project_make(&p, empty, 1);
  p.cfg.batch_size = 2;
  dlcc_train_dataset ds = load_ok(&p, NULL);
  assert_int_equal(ds.images[0].n_joints, 0);
  dlcc_train_loader *loader = start_ok(&ds, &p.cfg, (dlcc_train_loader_options){.seed = 1, .n_workers = 1});
  const dlcc_train_batch *b = next_ok(loader);
  size_t cells = b->n * (size_t)b->num_joints * b->map_width * b->map_height;
  assert_true(cells > 0);
  for (size_t c = 0; c < cells; c++) {
    assert_true(b->scoremap[c] == 0 && b->weights[c] == 1);
    assert_true(b->locref[2 * c] == 0 && b->locref[2 * c + 1] == 0);
    assert_true(b->locref_mask[2 * c] == 0 && b->locref_mask[2 * c + 1] == 0);
  }
  assert_int_equal(b->samples[0].n_joints, 0);
  dlcc_train_loader_stop(loader);
  dlcc_train_dataset_free(&ds);
  small_project_free(&p);
}

/* ---- determinism and resume ---- */

enum { RUN = 10 };

static void test_same_seed_same_bytes_with_1_and_3_workers(void **state) {
  (void)state;
  small_project p;
  small_project_make(&p, four_frames, 4);
  p.cfg.batch_size = 2;
  p.cfg.mirror = true;
  dlcc_train_dataset ds = load_ok(&p, NULL);
  batch_copy one[RUN], three[RUN], other[RUN];
  run_batches(&ds, &p.cfg, (dlcc_train_loader_options){.seed = 42, .n_workers = 1}, RUN, one);
  run_batches(&ds, &p.cfg, (dlcc_train_loader_options){.seed = 42, .n_workers = 3, .ring_size = 4}, RUN, three);
  run_batches(&ds, &p.cfg, (dlcc_train_loader_options){.seed = 43, .n_workers = 3}, RUN, other);
  size_t differ = 0, sizes = 0;
  for (int k = 0; k < RUN; k++) {
    assert_true(same_batch(&one[k], &three[k]));
    differ += !same_batch(&one[k], &other[k]);
    sizes += k && one[k].width != one[k - 1].width;
  }
  /* Another seed gives other batches, and batches do vary in size from one to the next. */
  assert_true(differ == RUN);
  assert_true(sizes > 0);
  for (int k = 0; k < RUN; k++) {
    batch_copy_free(&one[k]);
    batch_copy_free(&three[k]);
    batch_copy_free(&other[k]);
  }
  dlcc_train_dataset_free(&ds);
  small_project_free(&p);
}

static void test_resume_at_batch_5_gives_batch_5_and_on_demand_pixels_match(void **state) {
  (void)state;
  small_project p;
  small_project_make(&p, four_frames, 4);
  p.cfg.batch_size = 2;
  dlcc_train_dataset ds = load_ok(&p, NULL);
  batch_copy straight[7], resumed[2];
  run_batches(&ds, &p.cfg, (dlcc_train_loader_options){.seed = 5, .n_workers = 2}, 7, straight);
  run_batches(&ds, &p.cfg, (dlcc_train_loader_options){.seed = 5, .n_workers = 3, .first_batch = 5}, 2, resumed);
  assert_true(same_batch(&straight[5], &resumed[0]));
  assert_true(same_batch(&straight[6], &resumed[1]));
  /* Images decoded on demand give the same batches as cached ones. */
  dlcc_train_dataset lazy = load_ok(&p, &(dlcc_train_dataset_options){.cache_bytes = 0});
  assert_int_equal(lazy.n_cached, 0);
  batch_copy from_disk[7];
  run_batches(&lazy, &p.cfg, (dlcc_train_loader_options){.seed = 5, .n_workers = 2}, 7, from_disk);
  for (int k = 0; k < 7; k++) {
    assert_true(same_batch(&straight[k], &from_disk[k]));
    batch_copy_free(&straight[k]);
    batch_copy_free(&from_disk[k]);
  }
  batch_copy_free(&resumed[0]);
  batch_copy_free(&resumed[1]);
  dlcc_train_dataset_free(&lazy);
  dlcc_train_dataset_free(&ds);
  small_project_free(&p);
}

/* ---- shutdown and errors ---- */

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* Waits (up to 20 s) until `count` batches are ready. */
static void wait_ready(dlcc_train_loader *loader, size_t count) {
  for (int i = 0; i < 2000 && dlcc_train_loader_ready(loader) < count; i++) sleep_ms(10);
  assert_int_equal(dlcc_train_loader_ready(loader), count);
}

static void test_stop_while_workers_wait_for_room(void **state) {
  (void)state;
  small_project p;
  small_project_make(&p, four_frames, 4);
  dlcc_train_dataset ds = load_ok(&p, NULL);
  /* Three workers, a ring of 2: two batches fill it, the workers block, and it stays at 2. */
  dlcc_train_loader *loader = start_ok(&ds, &p.cfg, (dlcc_train_loader_options){.n_workers = 3, .ring_size = 2});
  wait_ready(loader, 2);
  sleep_ms(100);
  assert_int_equal(dlcc_train_loader_ready(loader), 2);
  dlcc_train_loader_stop(loader);
  /* Holding a batch keeps its slot: one more is made, then the workers block again. */
  loader = start_ok(&ds, &p.cfg, (dlcc_train_loader_options){.n_workers = 3, .ring_size = 2});
  assert_int_equal(next_ok(loader)->index, 0);
  wait_ready(loader, 1);
  sleep_ms(100);
  assert_int_equal(dlcc_train_loader_ready(loader), 1);
  dlcc_train_loader_stop(loader);
  /* Stopping at once, while the workers are busy, also joins them. */
  dlcc_train_loader_stop(start_ok(&ds, &p.cfg, (dlcc_train_loader_options){.n_workers = 3}));
  dlcc_train_dataset_free(&ds);
  small_project_free(&p);
}

/* Batches of one frame drawn from a 200x160 image and a 20x16 one that no scale fits. Returns the
 * first failing batch and its message (both the same whatever the number of workers). */
static uint64_t first_failure(const dlcc_train_dataset *ds, const dlcc_pose_cfg *cfg, int workers, uint64_t from,
                              char *message, size_t size) {
  dlcc_train_loader *loader = start_ok(ds, cfg, (dlcc_train_loader_options){.seed = 3, .n_workers = workers,
                                                                           .first_batch = from});
  for (uint64_t k = from; k < from + 64; k++) {
    const dlcc_train_batch *b = NULL;
    dlcc_error err;
    dlcc_status st = dlcc_train_loader_next(loader, &b, &err);
    if (st == DLCC_OK) {
      assert_int_equal(b->index, k);
      assert_int_equal(b->image_indices[0], 0);   /* only the large image makes a batch */
      continue;
    }
    assert_int_equal(st, DLCC_ERR_INVALID);
    assert_null(b);
    snprintf(message, size, "%s", err.message);
    /* The loader goes on with the next batch. */
    dlcc_status after = dlcc_train_loader_next(loader, &b, &err);
    assert_true(after != DLCC_OK || b->index == k + 1);
    dlcc_train_loader_stop(loader);
    return k;
  }
  dlcc_train_loader_stop(loader);
  fail_msg("no batch drew the small image in 64 tries");
  return 0;
}

static void test_worker_error_surfaces_at_its_batch_with_its_message(void **state) {
  (void)state;
  static const test_frame frames[] = {
      {"labeled-data/v/large.png", 200, 160, 1, {{0, 100, 80}}},
      {"labeled-data/v/tiny.png", 20, 16, 1, {{0, 10, 8}}},
  };
  small_project p;
  small_project_make(&p, frames, 2);
  dlcc_train_dataset ds = load_ok(&p, NULL);
  char one[2048], three[2048], resumed[2048];
  uint64_t k = first_failure(&ds, &p.cfg, 1, 0, one, sizeof one);
  char prefix[64];
  snprintf(prefix, sizeof prefix, "batch %llu: image labeled-data/v/tiny.png (20x16) does not fit",
           (unsigned long long)k);
  assert_contains(one, prefix);
  assert_contains(one, "below min_input_size 64");
  assert_int_equal(first_failure(&ds, &p.cfg, 3, 0, three, sizeof three), k);
  assert_string_equal(one, three);
  assert_int_equal(first_failure(&ds, &p.cfg, 2, k, resumed, sizeof resumed), k);
  assert_string_equal(one, resumed);
  dlcc_train_dataset_free(&ds);
  small_project_free(&p);
}

static void test_bad_loader_options_are_named(void **state) {
  (void)state;
  small_project p;
  small_project_make(&p, four_frames, 1);
  dlcc_train_dataset ds = load_ok(&p, NULL);
  dlcc_train_loader *loader = (dlcc_train_loader *)&ds;
  dlcc_error err;
  dlcc_train_loader_options opt = {.n_workers = 0};
  assert_int_equal(dlcc_train_loader_start(&loader, &ds, &p.cfg, &opt, &err), DLCC_ERR_INVALID);
  assert_null(loader);
  assert_contains(err.message, "the number of data-loading threads is 0; use 1 to 256");
  p.cfg.batch_size = 0;
  opt.n_workers = 1;
  assert_int_equal(dlcc_train_loader_start(&loader, &ds, &p.cfg, &opt, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "batch_size is 0; it must be at least 1");
  dlcc_train_dataset_free(&ds);
  small_project_free(&p);
}

/* ---- the openfield project ---- */

static void test_openfield_batches_from_a_moved_project(void **state) {
  (void)state;
  char *src = test_shared_data("openfield-Pranav-2018-10-30");
  char *dir = test_tempdir("loader-of");
  char *project = dlcc_path_join(dir, "openfield"), *moved = dlcc_path_join(dir, "moved");
  test_copytree(src, project);
  dlcc_training_set_options topt = {.shuffle = 1};
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  assert_int_equal(dlcc_training_set_create(project, &topt, &res, &notes, &err), DLCC_OK);
  dlcc_training_set_result_free(&res);
  dlcc_notes_free(&notes);
  /* Move the project: pose_cfg.yaml's project_path is now stale. */
  assert_int_equal(rename(project, moved), 0);
  char *pose = dlcc_path_join(moved, "dlc-models/iteration-0/openfieldOct30-trainset95shuffle1/train/pose_cfg.yaml");
  dlcc_pose_cfg cfg;
  if (dlcc_pose_cfg_load(pose, &cfg, &err)) fail_msg("%s", err.message);
  assert_string_equal(cfg.project_path, project);
  dlcc_train_dataset ds;
  if (dlcc_train_dataset_load(&cfg, moved, NULL, &ds, &err)) fail_msg("%s", err.message);
  assert_int_equal(ds.n_images, 110);
  assert_int_equal(ds.n_cached, 110);
  assert_int_equal(ds.cached_bytes, (size_t)110 * 640 * 480 * 3);
  assert_true(strncmp(ds.file, moved, strlen(moved)) == 0);

  cfg.batch_size = 2;
  dlcc_train_loader *loader = start_ok(&ds, &cfg, (dlcc_train_loader_options){.seed = 11, .n_workers = 2});
  size_t joints = 0;
  for (int k = 0; k < 4; k++) {
    const dlcc_train_batch *b = next_ok(loader);
    check_batch_shape(b, &cfg, &ds);
    /* 640x480 at 0.8 x [0.5, 1.25]: 256x192 to 640x480. */
    assert_true(b->width >= 256 && b->width <= 640 && b->height >= 192 && b->height <= 480);
    for (size_t i = 0; i < b->n; i++) {
      check_frame_targets(b, &cfg, i);
      joints += b->samples[i].n_joints;
    }
  }
  assert_true(joints >= 4);
  dlcc_train_loader_stop(loader);
  dlcc_train_dataset_free(&ds);
  dlcc_pose_cfg_free(&cfg);
  free(pose);
  test_rmtree(dir);
  free(dir);
  free(project);
  free(moved);
  free(src);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dataset_reads_sizes_joints_and_caches_pixels),
      cmocka_unit_test(test_dataset_found_in_moved_project_and_via_project_path),
      cmocka_unit_test(test_dataset_errors_name_file_image_and_fault),
      cmocka_unit_test(test_batches_have_shapes_and_targets_around_augmented_joints),
      cmocka_unit_test(test_frame_without_joints_is_all_background),
      cmocka_unit_test(test_same_seed_same_bytes_with_1_and_3_workers),
      cmocka_unit_test(test_resume_at_batch_5_gives_batch_5_and_on_demand_pixels_match),
      cmocka_unit_test(test_stop_while_workers_wait_for_room),
      cmocka_unit_test(test_worker_error_surfaces_at_its_batch_with_its_message),
      cmocka_unit_test(test_bad_loader_options_are_named),
      cmocka_unit_test(test_openfield_batches_from_a_moved_project),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
