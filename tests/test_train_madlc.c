/* Tests of multi-animal (maDLC) training: the batch (augment/batch_madlc: crop window, pad, flips with
 * symmetric_pairs, rotation, labels grouped by animal and never off the image) and its targets through
 * the loader (part affinity fields exactly along both animals' limbs, identity channels, the unique
 * body parts as their own animal), determinism, and `dlcc train` on generated 3-animal demo projects
 * (finite losses of all three parts, snapshots, log rows, the loss falling) and on the flies project
 * when ../shared/data has it. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment/batch_madlc.h"
#include "dataset/training_set.h"
#include "demo/demo_project.h"
#include "image/image.h"
#include "nn/safetensors.h"
#include "project/posecfg.h"
#include "testutil.h"
#include "train/dataset_reader.h"
#include "train/loader.h"
#include "train/trainer.h"
#include "util/fileio.h"

/* ---- hand-made maDLC training sets ---- */

enum { MAX_ANIMALS = 3, MAX_OWN = 4 };

/* One frame: per animal slot its joints [joint, x, y] (the last slot may be "single"). */
typedef struct ma_frame {
  const char *name;
  int width, height;
  int n_animals;
  int n_own[MAX_ANIMALS];
  double joints[MAX_ANIMALS][MAX_OWN][3];
} ma_frame;

/* A texture that differs at every pixel of a 256-pixel period, so a crop's offset shows in its
 * pixels. */
static uint8_t texture(int x, int y, int c) { return (uint8_t)((x * 7 + y * 13 + c * 101) % 251 + 1); }

static void write_frame(const char *root, const ma_frame *f) {
  dlcc_image img;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&img, f->width, f->height, &err), DLCC_OK);
  for (int y = 0; y < f->height; y++)
    for (int x = 0; x < f->width; x++)
      for (int c = 0; c < 3; c++) img.rgb[((size_t)y * f->width + x) * 3 + c] = texture(x, y, c);
  char *path = dlcc_path_join(root, f->name), *parent = dlcc_path_dirname(path);
  assert_int_equal(dlcc_mkdirs(parent, &err), DLCC_OK);
  if (dlcc_image_save_png(path, &img, &err)) fail_msg("%s", err.message);
  dlcc_image_free(&img);
  free(path);
  free(parent);
}

static const char *const joint_names[4] = {"a", "b", "c", "d"}; /* d: a unique body part */

static char *training_set_json(const ma_frame *frames, size_t n) {
  dlcc_strbuf sb = {0};
  dlcc_strbuf_append(&sb, "{\"format\": \"dlcc training set 1\", \"multianimal\": true,\n"
                          " \"all_joints_names\": [\"a\", \"b\", \"c\", \"d\"],\n"
                          " \"individuals\": [\"one\", \"two\", \"single\"],\n \"images\": [");
  for (size_t i = 0; i < n; i++) {
    const ma_frame *f = &frames[i];
    dlcc_strbuf_printf(&sb, "%s\n  {\"image\": \"%s\", \"size\": [3, %d, %d], \"joints\": [", i ? "," : "", f->name,
                       f->height, f->width);
    for (int a = 0; a < f->n_animals; a++) {
      dlcc_strbuf_append(&sb, a ? ", [" : "[");
      for (int j = 0; j < f->n_own[a]; j++)
        dlcc_strbuf_printf(&sb, "%s[%g, %.17g, %.17g]", j ? ", " : "", f->joints[a][j][0], f->joints[a][j][1],
                           f->joints[a][j][2]);
      dlcc_strbuf_append(&sb, "]");
    }
    dlcc_strbuf_append(&sb, "]}");
  }
  dlcc_strbuf_append(&sb, "]}\n");
  assert_false(sb.failed);
  return sb.data;
}

#define DATASET_NAME "training-datasets/iteration-0/set.json"

typedef struct ma_project {
  char *root;
  dlcc_pose_cfg cfg;
  dlcc_train_dataset data;
} ma_project;

/* Frames and training set under a fresh folder; cfg is DeepLabCut's maDLC default with joints a..d,
 * the graph a-b, b-c, b-d, then fixed for hand computation: scale 1 (global_scale and jitter), crop
 * window = the first frame's size, no rotation, batch_size 1, pafwidth 10. Tests change cfg and
 * then call ma_project_load. */
static void ma_project_make(ma_project *p, const ma_frame *frames, size_t n) {
  dlcc_error err;
  memset(p, 0, sizeof *p);
  p->root = test_tempdir("madlc");
  for (size_t i = 0; i < n; i++) write_frame(p->root, &frames[i]);
  char *json = training_set_json(frames, n);
  free(test_write_file(p->root, DATASET_NAME, json));
  free(json);
  dlcc_pose_cfg *c = &p->cfg;
  assert_int_equal(dlcc_pose_cfg_defaults(c, true, &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_set_joints(c, (char *const *)joint_names, 4, &err), DLCC_OK);
  const int graph[3][2] = {{0, 1}, {1, 2}, {1, 3}};
  assert_int_equal(dlcc_pose_cfg_set_graph(c, graph, 3, &err), DLCC_OK);
  c->num_limbs = 3;
  assert_int_equal(dlcc_pose_cfg_set_string(&c->dataset, DATASET_NAME, &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_set_string(&c->project_path, p->root, &err), DLCC_OK);
  c->global_scale = c->scale_jitter_lo = c->scale_jitter_up = 1;
  c->crop_size[0] = frames[0].width;
  c->crop_size[1] = frames[0].height;
  c->rotation = 0;
  c->batch_size = 1;
  c->pafwidth = 10;
  c->min_input_size = 16;
}

static void ma_project_load(ma_project *p) {
  dlcc_error err;
  if (dlcc_train_dataset_load(&p->cfg, p->root, NULL, &p->data, &err)) fail_msg("%s", err.message);
}

static void ma_project_free(ma_project *p) {
  dlcc_train_dataset_free(&p->data);
  dlcc_pose_cfg_free(&p->cfg);
  test_rmtree(p->root);
  free(p->root);
}

static dlcc_train_loader *start_loader(const ma_project *p, uint64_t seed, int workers) {
  dlcc_train_loader_options lo = {.seed = seed, .n_workers = workers};
  dlcc_train_loader *l;
  dlcc_error err;
  if (dlcc_train_loader_start(&l, &p->data, &p->cfg, &lo, &err)) fail_msg("%s", err.message);
  return l;
}

static const dlcc_train_batch *next_batch(dlcc_train_loader *l) {
  const dlcc_train_batch *b;
  dlcc_error err;
  if (dlcc_train_loader_next(l, &b, &err)) fail_msg("%s", err.message);
  return b;
}

/* Element (channel, x, y) of frame i of a batch array with `channels` channels. */
static float at(const dlcc_train_batch *b, const float *a, int channels, size_t i, int channel, int x, int y) {
  return a[(((size_t)i * channels + channel) * b->map_height + y) * b->map_width + x];
}

/* Two animals and the unique part, on a 128x96 frame (score map 16 x 12 cells, centres 8c + 4):
 * animal one: a (12, 20) - b (60, 20), a horizontal limb a-b along the row of centres y = 20;
 * animal two: b (100, 36) - c (100, 84), a vertical limb b-c along the column x = 100;
 * single: d (40, 70). Neither animal has both b and d, so limb b-d has no field anywhere. */
static const ma_frame two_animals = {"labeled-data/v/img0.png", 128, 96, 3, {2, 2, 1},
                                     {{{0, 12, 20}, {1, 60, 20}}, {{1, 100, 36}, {2, 100, 84}}, {{3, 40, 70}}}};

static void set_doc(dlcc_pose_cfg *cfg, const char *key, const char *yaml) {
  dlcc_error err;
  if (!cfg->doc) cfg->doc = dlcc_yaml_new_map();
  dlcc_yaml_node *doc = dlcc_yaml_load_string(yaml, strlen(yaml), "test", &err);
  if (!doc) fail_msg("%s", err.message);
  assert_true(dlcc_yaml_map_set(cfg->doc, key, dlcc_yaml_clone(doc)));
  dlcc_yaml_free(doc);
}

/* ---- targets ---- */

/* pafwidth 10 at scale 1: a cell is in a band when its centre is within 10 px across the limb and
 * between its ends, with the value 1 - across / 10. Limb a-b (channel 0, x component; D = (1, 0)):
 * centres x = 12, 20, ..., 60 (columns 1 to 7) and y = 12, 20, 28 (rows 1 to 3): 0.2, 1, 0.2.
 * Limb b-c (channel 3, y component; D = (0, 1)): centres y = 36 to 84 (rows 4 to 10) and x = 92, 100,
 * 108 (columns 11 to 13): 0.2, 1, 0.2. Every other element of the four channels is 0 (the other
 * components: D has a zero there), limb b-d's channels are 0, and the mask is 1 everywhere. */
static void test_part_affinity_fields_lie_exactly_along_both_animals_limbs(void **state) {
  (void)state;
  ma_project p;
  ma_project_make(&p, &two_animals, 1);
  ma_project_load(&p);
  dlcc_train_loader *l = start_loader(&p, 5, 1);
  const dlcc_train_batch *b = next_batch(l);
  assert_int_equal(b->width, 128);
  assert_int_equal(b->height, 96);
  assert_int_equal(b->map_width, 16);
  assert_int_equal(b->map_height, 12);
  assert_int_equal(b->num_limbs, 3);
  assert_true(b->scale == 1);
  const dlcc_aug_sample *s = &b->samples[0];
  assert_int_equal(s->n_animals, 3);
  assert_int_equal(s->joints_per_animal[0], 2);
  assert_int_equal(s->joints_per_animal[1], 2);
  assert_int_equal(s->joints_per_animal[2], 1);
  const double band[3] = {0.2, 1, 0.2};
  for (int y = 0; y < 12; y++)
    for (int x = 0; x < 16; x++) {
      double ab = x >= 1 && x <= 7 && y >= 1 && y <= 3 ? band[y - 1] : 0;
      double bc = x >= 11 && x <= 13 && y >= 4 && y <= 10 ? band[x - 11] : 0;
      const double expect[6] = {ab, 0, 0, bc, 0, 0};
      for (int ch = 0; ch < 6; ch++) {
        float v = at(b, b->paf, 6, 0, ch, x, y);
        if (fabs(v - expect[ch]) > 1e-6)
          fail_msg("paf channel %d at (%d, %d) is %g, expected %g", ch, x, y, v, expect[ch]);
        assert_true(at(b, b->paf_mask, 6, 0, ch, x, y) == 1);
      }
    }
  /* The score map has every animal's joints: b at (60, 20) -> cell (7, 2) and at (100, 36) -> (12, 4);
   * the unique d at (40, 70) -> (4, 8), 4.5 px from its centre (36, 68). */
  assert_true(at(b, b->scoremap, 4, 0, 1, 7, 2) == 1);
  assert_true(at(b, b->scoremap, 4, 0, 1, 12, 4) == 1);
  assert_true(at(b, b->scoremap, 4, 0, 3, 4, 8) == 1);
  assert_true(at(b, b->scoremap, 4, 0, 0, 12, 4) == 0);
  dlcc_train_loader_stop(l);
  ma_project_free(&p);
}

/* weigh_only_present_joints: the PAF mask is 1 only on the bands' cells (both channels of the limb),
 * and the locref mask only in the joints' windows. */
static void test_weighing_only_present_joints_masks_the_bands(void **state) {
  (void)state;
  ma_project p;
  ma_project_make(&p, &two_animals, 1);
  p.cfg.weigh_only_present_joints = true;
  ma_project_load(&p);
  dlcc_train_loader *l = start_loader(&p, 5, 1);
  const dlcc_train_batch *b = next_batch(l);
  size_t ones[6] = {0};
  for (int ch = 0; ch < 6; ch++)
    for (int y = 0; y < 12; y++)
      for (int x = 0; x < 16; x++) ones[ch] += at(b, b->paf_mask, 6, 0, ch, x, y) == 1;
  /* a-b: 7 columns x 3 rows; b-c: 3 columns x 7 rows; b-d: none. */
  const size_t expect[6] = {21, 21, 21, 21, 0, 0};
  for (int ch = 0; ch < 6; ch++) assert_int_equal(ones[ch], expect[ch]);
  assert_true(at(b, b->locref_mask, 8, 0, 0, 1, 2) == 1); /* a's own cell */
  assert_true(at(b, b->locref_mask, 8, 0, 0, 12, 8) == 0);
  dlcc_train_loader_stop(l);
  ma_project_free(&p);
}

/* num_idchannel 2: channel 4 + a is animal a's identity, 1 where any of its joints has its window.
 * Here the windows of the two b's (43 px apart, radius 17) do not touch, so identity 0 is channel a
 * plus channel b's cells left of x = 80 (column 10), identity 1 channel c plus b's cells to the right;
 * the unique part d belongs to no identity. */
static void test_identity_channels_follow_each_animal_and_skip_the_unique_parts(void **state) {
  (void)state;
  ma_project p;
  ma_project_make(&p, &two_animals, 1);
  p.cfg.num_idchannel = 2;
  ma_project_load(&p);
  dlcc_train_loader *l = start_loader(&p, 5, 1);
  const dlcc_train_batch *b = next_batch(l);
  assert_int_equal(b->num_idchannel, 2);
  size_t marked[2] = {0, 0};
  for (int y = 0; y < 12; y++)
    for (int x = 0; x < 16; x++) {
      float a = at(b, b->scoremap, 6, 0, 0, x, y), jb = at(b, b->scoremap, 6, 0, 1, x, y);
      float c = at(b, b->scoremap, 6, 0, 2, x, y), d = at(b, b->scoremap, 6, 0, 3, x, y);
      float id0 = at(b, b->scoremap, 6, 0, 4, x, y), id1 = at(b, b->scoremap, 6, 0, 5, x, y);
      float expect0 = fmaxf(a, x < 10 ? jb : 0), expect1 = fmaxf(c, x >= 10 ? jb : 0);
      if (id0 != expect0 || id1 != expect1)
        fail_msg("identities at (%d, %d) are %g, %g; expected %g, %g", x, y, id0, id1, expect0, expect1);
      if (d == 1) assert_true(id0 == 0 && id1 == 0);
      marked[0] += id0 == 1;
      marked[1] += id1 == 1;
      assert_true(at(b, b->weights, 6, 0, 4, x, y) == 1 && at(b, b->weights, 6, 0, 5, x, y) == 1);
    }
  assert_true(marked[0] > 0 && marked[1] > 0);
  dlcc_train_loader_stop(l);
  ma_project_free(&p);
}

/* Each animal has one position per body part: a joint listed twice for one animal is refused,
 * naming the image and the animal; the same joint in two animals is what maDLC is for. */
static void test_a_joint_listed_twice_for_one_animal_is_refused(void **state) {
  (void)state;
  const ma_frame twice = {"labeled-data/v/img0.png", 128, 96, 2, {3, 1},
                          {{{0, 12, 20}, {1, 60, 20}, {1, 62, 22}}, {{1, 100, 36}}}};
  ma_project p;
  ma_project_make(&p, &twice, 1);
  dlcc_error err;
  assert_int_equal(dlcc_train_dataset_load(&p.cfg, p.root, NULL, &p.data, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "images[0] (labeled-data/v/img0.png): joints[0] lists joint 1 twice (entries 1 and 2)");
  ma_project_free(&p);
}

/* ---- the crop ---- */

/* 200x160 frames with labels all over, some on the edges of the image. */
static const ma_frame scattered[] = {
    {"labeled-data/v/img0.png", 200, 160, 3, {4, 3, 1},
     {{{0, 10, 10}, {1, 60, 30}, {2, 120, 50}, {3, 190, 150}},
      {{0, 150, 100}, {1, 100, 120}, {2, 30, 140}},
      {{3, 0.25, 80}}}},
    {"labeled-data/v/img1.png", 200, 160, 3, {3, 4, 0},
     {{{0, 199.25, 5}, {1, 170, 60}, {2, 140, 155}},
      {{0, 20, 90}, {1, 45, 95}, {2, 70, 100}, {3, 95, 105}},
      {{0}}}},
};

static const ma_frame *source_of(const dlcc_train_batch *b, size_t i) { return &scattered[b->image_indices[i]]; }

/* Without rotation or flip, each label of the source is kept exactly when it lies on the window, at
 * its position minus the window's origin, in its animal's group; the pixels are the source's there. */
static void check_crop(const dlcc_train_batch *b, size_t i) {
  const ma_frame *f = source_of(b, i);
  const dlcc_aug_sample *s = &b->samples[i];
  size_t k = 0;
  for (int a = 0; a < f->n_animals; a++) {
    size_t kept = 0;
    for (int j = 0; j < f->n_own[a]; j++) {
      double x = f->joints[a][j][1] - s->crop_x0, y = f->joints[a][j][2] - s->crop_y0;
      if (!(x > -0.5 && x < b->width - 0.5 && y > -0.5 && y < b->height - 0.5)) continue;
      assert_true(k < s->n_joints);
      assert_int_equal(s->joints[k].id, (int)f->joints[a][j][0]);
      assert_true(s->joints[k].x == x && s->joints[k].y == y);
      k++;
      kept++;
    }
    assert_int_equal(s->joints_per_animal[a], kept);
  }
  assert_int_equal(s->n_joints, k);
  size_t plane = (size_t)b->width * b->height;
  const float *pixels = b->inputs + i * 3 * plane;
  for (int y = 0; y < b->height; y++)
    for (int x = 0; x < b->width; x++) {
      int sx = x + s->crop_x0, sy = y + s->crop_y0;
      bool on = sx >= 0 && sy >= 0 && sx < f->width && sy < f->height;
      for (int c = 0; c < 3; c++) {
        float expect = on ? texture(sx, sy, c) : 0;
        if (pixels[c * plane + (size_t)y * b->width + x] != expect)
          fail_msg("frame %zu pixel (%d, %d, %d): %g, expected %g (window at %d, %d)", i, x, y, c,
                   pixels[c * plane + (size_t)y * b->width + x], expect, s->crop_x0, s->crop_y0);
      }
    }
}

/* Every label finite and on the batch's image (never at -1 or past the edge). */
static void check_on_image(const dlcc_train_batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    const dlcc_aug_sample *s = &b->samples[i];
    size_t total = 0;
    for (size_t a = 0; a < s->n_animals; a++) total += s->joints_per_animal[a];
    assert_int_equal(total, s->n_joints);
    for (size_t k = 0; k < s->n_joints; k++) {
      double x = s->joints[k].x, y = s->joints[k].y;
      if (!(isfinite(x) && isfinite(y) && x > -0.5 && x < b->width - 0.5 && y > -0.5 && y < b->height - 0.5))
        fail_msg("batch %llu frame %zu: joint %d at (%g, %g) on a %dx%d image", (unsigned long long)b->index, i,
                 s->joints[k].id, x, y, b->width, b->height);
    }
  }
}

/* crop_size 64x48 on 200x160 frames, at scale 1 and with the jitter (window 0.5 to 1.25 times it):
 * the window lies inside the frame, the labels off it are gone, the rest moved with it. */
static void test_the_crop_keeps_exactly_the_labels_inside_its_window(void **state) {
  (void)state;
  ma_project p;
  ma_project_make(&p, scattered, 2);
  p.cfg.crop_size[0] = 64;
  p.cfg.crop_size[1] = 48;
  p.cfg.batch_size = 4;
  ma_project_load(&p);
  dlcc_train_loader *l = start_loader(&p, 11, 2);
  size_t kept = 0, dropped = 0;
  for (int k = 0; k < 25; k++) {
    const dlcc_train_batch *b = next_batch(l);
    assert_int_equal(b->width, 64);
    assert_int_equal(b->height, 48);
    for (size_t i = 0; i < b->n; i++) {
      const dlcc_aug_sample *s = &b->samples[i];
      assert_true(s->crop_x0 >= 0 && s->crop_x0 <= 200 - 64 && s->crop_y0 >= 0 && s->crop_y0 <= 160 - 48);
      check_crop(b, i);
      const ma_frame *f = source_of(b, i);
      kept += s->n_joints;
      dropped += (size_t)(f->n_own[0] + f->n_own[1] + f->n_own[2]) - s->n_joints;
    }
  }
  assert_true(kept > 0 && dropped > 0);
  dlcc_train_loader_stop(l);

  /* The jitter: the window is ceil(64 x s) x ceil(48 x s) with the targets' scale their mean ratio. */
  p.cfg.scale_jitter_lo = 0.5;
  p.cfg.scale_jitter_up = 1.25;
  l = start_loader(&p, 12, 1);
  for (int k = 0; k < 10; k++) {
    const dlcc_train_batch *b = next_batch(l);
    assert_true(b->width >= 32 && b->width <= 80);
    double ratio = (b->width / 64.0 + b->height / 48.0) / 2;
    assert_true(fabs(b->scale - ratio) < 1e-12);
    assert_true(fabs(b->width / 64.0 - b->height / 48.0) < 1.0 / 32);
    for (size_t i = 0; i < b->n; i++) {
      assert_true(b->samples[i].scale == b->scale);
      check_crop(b, i);
    }
  }
  dlcc_train_loader_stop(l);
  ma_project_free(&p);
}

/* A window larger than a frame: PadToFixedSize(crop_size) first, black around the frame placed at
 * random, the labels moved with it. */
static void test_frames_smaller_than_crop_size_are_padded_with_black(void **state) {
  (void)state;
  ma_project p;
  ma_project_make(&p, scattered, 2);
  p.cfg.crop_size[0] = 256;
  p.cfg.crop_size[1] = 192;
  p.cfg.batch_size = 2;
  ma_project_load(&p);
  dlcc_train_loader *l = start_loader(&p, 3, 1);
  bool moved = false;
  for (int k = 0; k < 8; k++) {
    const dlcc_train_batch *b = next_batch(l);
    assert_int_equal(b->width, 256);
    assert_int_equal(b->height, 192);
    for (size_t i = 0; i < b->n; i++) {
      const dlcc_aug_sample *s = &b->samples[i];
      assert_true(s->crop_x0 <= 0 && s->crop_x0 >= -56 && s->crop_y0 <= 0 && s->crop_y0 >= -32);
      moved |= s->crop_x0 != 0 || s->crop_y0 != 0;
      check_crop(b, i);
    }
  }
  assert_true(moved);
  dlcc_train_loader_stop(l);
  ma_project_free(&p);
}

/* Rotations (every frame, up to 45 degrees), flips and hybrid crops with the jitter, many batches:
 * every label stays finite and on the image, grouped by animal. */
static void test_no_label_ever_lies_off_the_augmented_image(void **state) {
  (void)state;
  ma_project p;
  ma_project_make(&p, scattered, 2);
  p.cfg.crop_size[0] = 96;
  p.cfg.crop_size[1] = 80;
  p.cfg.scale_jitter_lo = 0.5;
  p.cfg.scale_jitter_up = 1.25;
  p.cfg.rotation = 45;
  p.cfg.apply_prob = 1;
  p.cfg.batch_size = 4;
  set_doc(&p.cfg, "fliplr", "0.5");
  set_doc(&p.cfg, "symmetric_pairs", "[[0, 2]]");
  ma_project_load(&p);
  dlcc_train_loader *l = start_loader(&p, 21, 2);
  size_t rotated = 0, flipped = 0;
  for (int k = 0; k < 40; k++) {
    const dlcc_train_batch *b = next_batch(l);
    check_on_image(b);
    for (size_t i = 0; i < b->n; i++) {
      rotated += b->samples[i].rotation != 0;
      flipped += b->samples[i].mirrored;
    }
  }
  assert_int_equal(rotated, 160);
  assert_true(flipped > 40 && flipped < 120); /* apply_prob 1 x p 0.5 of 160 frames */
  dlcc_train_loader_stop(l);
  ma_project_free(&p);
}

/* ---- flips and the plan ---- */

/* fliplr: true with symmetric_pairs [[0, 2]] and apply_prob 1: every frame flips, x -> 127 - x on a
 * 128-pixel-wide frame, and a and c trade names: a (12, 20) becomes c at (115, 20), c (100, 84)
 * becomes a at (27, 84); b and d keep theirs. */
static void test_fliplr_mirrors_and_swaps_the_symmetric_pairs(void **state) {
  (void)state;
  ma_project p;
  ma_project_make(&p, &two_animals, 1);
  p.cfg.apply_prob = 1;
  set_doc(&p.cfg, "fliplr", "true");
  set_doc(&p.cfg, "symmetric_pairs", "[[0, 2]]");
  ma_project_load(&p);
  dlcc_train_loader *l = start_loader(&p, 5, 1);
  const dlcc_train_batch *b = next_batch(l);
  const dlcc_aug_sample *s = &b->samples[0];
  assert_true(s->mirrored);
  const dlcc_joint expect[5] = {{2, 115, 20}, {1, 67, 20}, {1, 27, 36}, {0, 27, 84}, {3, 87, 70}};
  assert_int_equal(s->n_joints, 5);
  for (int k = 0; k < 5; k++) {
    assert_int_equal(s->joints[k].id, expect[k].id);
    assert_true(s->joints[k].x == expect[k].x && s->joints[k].y == expect[k].y);
  }
  /* The pixels are mirrored: column 0 of the batch is column 127 of the frame. */
  assert_true(b->inputs[0] == texture(127, 0, 0));
  dlcc_train_loader_stop(l);
  ma_project_free(&p);
}

static void test_the_plan_reads_rotation_fliplr_and_symmetric_pairs_as_deeplabcut(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, true, &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_set_joints(&cfg, (char *const *)joint_names, 4, &err), DLCC_OK);
  dlcc_aug_madlc_plan plan;
  /* The defaults: crop_size 400 x 400, hybrid, max_shift 0.4, rotation 25 at apply_prob 0.5, no flip. */
  assert_int_equal(dlcc_aug_madlc_plan_from_cfg(&cfg, &plan, &err), DLCC_OK);
  assert_int_equal(plan.crop_width, 400);
  assert_int_equal(plan.crop_height, 400);
  assert_int_equal(plan.sampling, DLCC_CROP_HYBRID);
  assert_true(plan.max_shift == 0.4 && plan.rotation == 25 && plan.rotation_prob == 0.5 && plan.flip_prob == 0);
  dlcc_aug_madlc_plan_free(&plan);
  /* `rotation: 25.0` is not an int: DeepLabCut rotates by up to 10 degrees then. */
  set_doc(&cfg, "rotation", "25.0");
  /* fliplr 0.3 (not an int): p 0.5, times apply_prob. Pairs swapped one after the other: slots
   * [0 1 2 3] -> swap 0,1 -> [1 0 2 3] -> swap 1,2 -> [1 2 0 3], so joint 1 becomes 0, 2 becomes 1,
   * 0 becomes 2. */
  set_doc(&cfg, "fliplr", "0.3");
  set_doc(&cfg, "symmetric_pairs", "[[0, 1], [1, 2]]");
  assert_int_equal(dlcc_aug_madlc_plan_from_cfg(&cfg, &plan, &err), DLCC_OK);
  assert_true(plan.rotation == 10);
  assert_true(plan.flip_prob == 0.25);
  assert_int_equal(plan.n_flip_ids, 4);
  const int ids[4] = {2, 0, 1, 3};
  for (int k = 0; k < 4; k++) assert_int_equal(plan.flip_ids[k], ids[k]);
  dlcc_aug_madlc_plan_free(&plan);
  /* Refusals and errors name the key. */
  set_doc(&cfg, "symmetric_pairs", "[[0, 4]]");
  assert_int_equal(dlcc_aug_madlc_plan_from_cfg(&cfg, &plan, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "symmetric_pairs[0] must be a pair [a, b] of joint indices 0 to 3");
  set_doc(&cfg, "symmetric_pairs", "[]");
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg.crop_sampling, "none", &err), DLCC_OK);
  assert_int_equal(dlcc_aug_madlc_plan_from_cfg(&cfg, &plan, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, "crop_sampling is none");
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg.crop_sampling, "middle", &err), DLCC_OK);
  assert_int_equal(dlcc_aug_madlc_plan_from_cfg(&cfg, &plan, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "crop_sampling is middle");
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg.crop_sampling, "density", &err), DLCC_OK);
  cfg.pre_resize[0] = 320;
  cfg.pre_resize[1] = 240;
  assert_int_equal(dlcc_aug_madlc_plan_from_cfg(&cfg, &plan, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, "pre_resize is [320, 240]");
  dlcc_pose_cfg_free(&cfg);
}

/* ---- determinism ---- */

typedef struct batch_copy {
  int width, height, map_width, map_height;
  size_t image_indices[4];
  int windows[4][2];
  float *arrays[7];
  size_t counts[7];
} batch_copy;

static batch_copy copy_batch(const dlcc_train_batch *b) {
  batch_copy c = {.width = b->width, .height = b->height, .map_width = b->map_width, .map_height = b->map_height};
  size_t plane = (size_t)b->map_width * b->map_height, n = b->n;
  const float *from[7] = {b->inputs, b->scoremap, b->weights, b->locref, b->locref_mask, b->paf, b->paf_mask};
  size_t counts[7] = {n * 3 * (size_t)b->width * b->height, n * 4 * plane, n * 4 * plane, n * 8 * plane,
                      n * 8 * plane, n * 6 * plane, n * 6 * plane};
  for (int k = 0; k < 7; k++) {
    c.counts[k] = counts[k];
    c.arrays[k] = malloc(counts[k] * sizeof(float));
    assert_non_null(c.arrays[k]);
    memcpy(c.arrays[k], from[k], counts[k] * sizeof(float));
  }
  for (size_t i = 0; i < n; i++) {
    c.image_indices[i] = b->image_indices[i];
    c.windows[i][0] = b->samples[i].crop_x0;
    c.windows[i][1] = b->samples[i].crop_y0;
  }
  return c;
}

static bool same_batch(const batch_copy *a, const batch_copy *b) {
  if (a->width != b->width || a->height != b->height ||
      memcmp(a->image_indices, b->image_indices, sizeof a->image_indices) ||
      memcmp(a->windows, b->windows, sizeof a->windows))
    return false;
  for (int k = 0; k < 7; k++)
    if (a->counts[k] != b->counts[k] || memcmp(a->arrays[k], b->arrays[k], a->counts[k] * sizeof(float))) return false;
  return true;
}

static void free_copy(batch_copy *c) {
  for (int k = 0; k < 7; k++) free(c->arrays[k]);
}

/* Batch k is a function of (seed, k): one worker or three give the same bytes (pixels and every
 * target); another seed gives other batches. */
static void test_the_same_seed_gives_the_same_batches(void **state) {
  (void)state;
  ma_project p;
  ma_project_make(&p, scattered, 2);
  p.cfg.crop_size[0] = 96;
  p.cfg.crop_size[1] = 80;
  p.cfg.scale_jitter_lo = 0.5;
  p.cfg.scale_jitter_up = 1.25;
  p.cfg.rotation = 30;
  p.cfg.batch_size = 4;
  set_doc(&p.cfg, "fliplr", "true");
  set_doc(&p.cfg, "symmetric_pairs", "[[0, 2]]");
  ma_project_load(&p);
  enum { N = 6 };
  batch_copy one[N], three[N];
  dlcc_train_loader *l = start_loader(&p, 77, 1);
  for (int k = 0; k < N; k++) one[k] = copy_batch(next_batch(l));
  dlcc_train_loader_stop(l);
  l = start_loader(&p, 77, 3);
  for (int k = 0; k < N; k++) three[k] = copy_batch(next_batch(l));
  dlcc_train_loader_stop(l);
  for (int k = 0; k < N; k++)
    if (!same_batch(&one[k], &three[k])) fail_msg("batch %d differs between 1 and 3 workers", k);
  l = start_loader(&p, 78, 1);
  batch_copy other = copy_batch(next_batch(l));
  dlcc_train_loader_stop(l);
  assert_false(same_batch(&one[0], &other));
  free_copy(&other);
  for (int k = 0; k < N; k++) {
    free_copy(&one[k]);
    free_copy(&three[k]);
  }
  ma_project_free(&p);
}

/* ---- dlcc train on a generated multi-animal project ---- */

typedef struct project {
  char *dir;
  char *config;
} project;

/* A 3-animal demo project of 128x96 frames (8 labeled) and its shuffle 1 for resnet_50. */
static project make_demo(const char *label) {
  project p = {.dir = test_tempdir(label)};
  dlcc_demo_options demo;
  dlcc_demo_options_default(&demo);
  demo.animals = 3;
  demo.frames = 24;
  demo.labeled = 8;
  demo.width = 128;
  demo.height = 96;
  dlcc_error err;
  if (dlcc_demo_project_write(p.dir, &demo, &err)) fail_msg("%s", err.message);
  p.config = dlcc_path_join(p.dir, "config.yaml");
  dlcc_training_set_options opt = {.shuffle = 1, .seed_given = true, .seed = 7, .net_type = "resnet_50"};
  dlcc_training_set_result result;
  dlcc_notes notes = {0};
  if (dlcc_training_set_create(p.config, &opt, &result, &notes, &err)) fail_msg("%s", err.message);
  dlcc_training_set_result_free(&result);
  dlcc_notes_free(&notes);
  return p;
}

static void free_demo(project *p) {
  test_rmtree(p->dir);
  free(p->dir);
  free(p->config);
}

static char *train_file(const project *p, const char *name) {
  return dlcc_strdupf("%s/dlc-models/iteration-0/demoJan1-trainset95shuffle1/train/%s", p->dir, name);
}

typedef void (*cfg_edit)(dlcc_pose_cfg *cfg);

static void edit_pose_cfg(const project *p, cfg_edit edit) {
  char *path = train_file(p, "pose_cfg.yaml");
  dlcc_pose_cfg cfg;
  dlcc_error err;
  if (dlcc_pose_cfg_load(path, &cfg, &err)) fail_msg("%s", err.message);
  cfg.min_input_size = 16;
  edit(&cfg);
  if (dlcc_pose_cfg_save(&cfg, path, &err)) fail_msg("%s", err.message);
  dlcc_pose_cfg_free(&cfg);
  free(path);
}

static void set_rate(dlcc_pose_cfg *cfg, double lr) {
  free(cfg->multi_step);
  cfg->multi_step = malloc(sizeof *cfg->multi_step);
  cfg->multi_step[0] = (dlcc_lr_step){lr, 10000};
  cfg->n_multi_step = 1;
}

enum { MAX_SEEN = 128 };
typedef struct seen {
  int iterations;
  dlcc_nn_losses losses[MAX_SEEN];
  int snapshots;
} seen;

static void record(const dlcc_train_progress *p, void *user) {
  seen *s = user;
  if (p->event == DLCC_TRAIN_ITERATION && s->iterations < MAX_SEEN) s->losses[s->iterations++] = p->losses;
  if (p->event == DLCC_TRAIN_SNAPSHOT) s->snapshots++;
}

static dlcc_train_options small_options(const char *config, long max_iters, seen *s) {
  dlcc_train_options opt;
  dlcc_train_options_default(&opt);
  opt.config_path = config;
  opt.max_iters = max_iters;
  opt.seed_given = true;
  opt.seed = 1;
  opt.threads = 1;
  opt.workers = 1;
  opt.reduced = (dlcc_train_reduced_net){.width = 4, .blocks = {1, 1, 1, 1}};
  opt.progress = record;
  opt.user = s;
  return opt;
}

static bool notes_contain(const dlcc_notes *notes, const char *text) {
  for (size_t i = 0; i < notes->count; i++)
    if (strstr(notes->lines[i], text)) return true;
  return false;
}

static void few_iterations(dlcc_pose_cfg *cfg) {
  cfg->crop_size[0] = cfg->crop_size[1] = 96;
  cfg->batch_size = 4;
  cfg->display_iters = 1;
  cfg->save_iters = 2;
  cfg->mirror = true;
  set_rate(cfg, 1e-3);
}

/* Iterations 0..3 at batch 4 on 96x96 crops (scaled by global_scale and jitter): the scmap, locref
 * and limb losses all finite and positive, snapshots at 2 and 3 with a pairwise head of 2 x 6 limbs
 * (the demo's four parts, every pair), log lines and learning_stats rows as DeepLabCut's maDLC
 * train writes them. */
static void test_a_three_animal_demo_project_trains_with_all_three_losses(void **state) {
  (void)state;
  project p = make_demo("madlctrain");
  edit_pose_cfg(&p, few_iterations);
  seen s = {0};
  dlcc_train_options opt = small_options(p.config, 3, &s);
  dlcc_train_result result;
  dlcc_notes notes = {0};
  dlcc_error err;
  if (dlcc_train_run(&opt, &result, &notes, &err)) fail_msg("%s", err.message);
  assert_int_equal(s.iterations, 4);
  for (int i = 0; i < 4; i++) {
    const dlcc_nn_losses *l = &s.losses[i];
    print_message("iteration %d: part %.4f locref %.4f limb %.4f\n", i, l->part, l->locref, l->pairwise);
    assert_true(isfinite(l->part) && l->part > 0);
    assert_true(isfinite(l->locref) && l->locref > 0);
    assert_true(isfinite(l->pairwise) && l->pairwise > 0);
    assert_true(fabs(l->total - (l->part + l->locref + l->pairwise)) < 1e-9);
  }
  assert_int_equal(s.snapshots, 2);
  assert_true(notes_contain(&notes, "mirror is true, which DeepLabCut's multi-animal loader never reads"));
  dlcc_notes_free(&notes);
  dlcc_train_result_free(&result);

  char *snapshot = train_file(&p, "snapshot-3.safetensors");
  dlcc_safetensors *st;
  if (dlcc_safetensors_open(snapshot, &st, &err)) fail_msg("%s", err.message);
  const dlcc_st_tensor *paf = dlcc_safetensors_find(st, "pairwise_pred.bias");
  assert_non_null(paf);
  assert_int_equal(paf->shape[0], 12);
  dlcc_safetensors_close(st);
  free(snapshot);

  char *log_path = train_file(&p, "log.txt"), *stats_path = train_file(&p, "learning_stats.csv");
  char *log = test_read_file(log_path, NULL), *stats = test_read_file(stats_path, NULL);
  assert_contains(log, "iteration: 3 loss: ");
  assert_contains(log, " limb loss: ");
  /* Row 3: the means of iteration 3 alone (display_iters 1). */
  const char *row = strstr(stats, "iteration: 3, ");
  assert_non_null(row);
  long it;
  double total, part, locref, limb;
  assert_int_equal(sscanf(row, "iteration: %ld, loss: %lf, scmap loss: %lf, locref loss: %lf, limb loss: %lf, lr: ",
                          &it, &total, &part, &locref, &limb), 5);
  assert_true(fabs(total - s.losses[3].total) < 6e-5 && fabs(part - s.losses[3].part) < 6e-5);
  assert_true(fabs(locref - s.losses[3].locref) < 6e-5 && fabs(limb - s.losses[3].pairwise) < 6e-5);
  assert_contains(row, "lr: 0.001\n");
  free(log);
  free(stats);
  free(log_path);
  free(stats_path);
  free_demo(&p);
}

static void remove_snapshot(const project *p, long iteration);

/* maDLC batches are functions of (seed, k) too: iterations 0..5 straight, or 0..2 and then resumed to 5,
 * end in the same snapshot bytes (weights, Adam's state, iteration, random state). */
static void test_a_resumed_multi_animal_run_ends_as_a_straight_one(void **state) {
  (void)state;
  project p = make_demo("madlcresume");
  edit_pose_cfg(&p, few_iterations);
  seen s = {0};
  dlcc_train_options opt = small_options(p.config, 5, &s);
  dlcc_train_result result;
  dlcc_notes notes = {0};
  dlcc_error err;
  if (dlcc_train_run(&opt, &result, &notes, &err)) fail_msg("%s", err.message);
  dlcc_train_result_free(&result);
  char *last = train_file(&p, "snapshot-5.safetensors");
  size_t straight_len;
  char *straight = test_read_file(last, &straight_len);
  for (long it = 2; it <= 5; it += it == 4 ? 1 : 2) remove_snapshot(&p, it);

  opt = small_options(p.config, 2, &s);
  if (dlcc_train_run(&opt, &result, &notes, &err)) fail_msg("%s", err.message);
  dlcc_train_result_free(&result);
  opt = small_options(p.config, 5, &s);
  opt.resume = true;
  if (dlcc_train_run(&opt, &result, &notes, &err)) fail_msg("%s", err.message);
  assert_int_equal(result.first_iteration, 3);
  dlcc_train_result_free(&result);
  size_t resumed_len;
  char *resumed = test_read_file(last, &resumed_len);
  assert_int_equal(resumed_len, straight_len);
  if (memcmp(straight, resumed, straight_len)) fail_msg("the resumed run's snapshot-5 differs from the straight run's");
  free(straight);
  free(resumed);
  free(last);
  dlcc_notes_free(&notes);
  free_demo(&p);
}

/* The whole frame every time (crop_size = the frame, scale 1, no rotation): 60 iterations of adam
 * learn the 7 training frames. */
static void easy(dlcc_pose_cfg *cfg) {
  cfg->crop_size[0] = 128;
  cfg->crop_size[1] = 96;
  cfg->global_scale = cfg->scale_jitter_lo = cfg->scale_jitter_up = 1;
  cfg->rotation = 0;
  cfg->batch_size = 2;
  set_rate(cfg, 0.01);
}

static double mean_total(const seen *s, int from, int to) {
  double sum = 0;
  for (int i = from; i < to; i++) sum += s->losses[i].total;
  return sum / (to - from);
}

static void test_the_loss_falls_on_a_tiny_multi_animal_problem(void **state) {
  (void)state;
  project p = make_demo("madlcfalls");
  edit_pose_cfg(&p, easy);
  seen s = {0};
  dlcc_train_options opt = small_options(p.config, 59, &s);
  dlcc_train_result result;
  dlcc_error err;
  dlcc_notes notes = {0};
  if (dlcc_train_run(&opt, &result, &notes, &err)) fail_msg("%s", err.message);
  dlcc_notes_free(&notes);
  dlcc_train_result_free(&result);
  assert_int_equal(s.iterations, 60);
  double first = mean_total(&s, 0, 10), last = mean_total(&s, 50, 60);
  double first_limb = 0, last_limb = 0;
  for (int i = 0; i < 10; i++) {
    first_limb += s.losses[i].pairwise / 10;
    last_limb += s.losses[50 + i].pairwise / 10;
  }
  print_message("mean loss of iterations 0-9: %.4f (limb %.4f), of 50-59: %.4f (limb %.4f)\n", first, first_limb,
                last, last_limb);
  if (!(last < 0.25 * first)) fail_msg("mean loss of iterations 0-9: %.4f, of 50-59: %.4f", first, last);
  if (!(last_limb < first_limb))
    fail_msg("mean limb loss of iterations 0-9: %.4f, of 50-59: %.4f", first_limb, last_limb);
  free_demo(&p);
}

static void sgd(dlcc_pose_cfg *cfg) {
  few_iterations(cfg);
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg->optimizer, "sgd", &err), DLCC_OK);
}

/* No graph: set_graph switches partaffinityfield_predict off, as create_multianimaltraining_dataset. */
static void no_graph(dlcc_pose_cfg *cfg) {
  few_iterations(cfg);
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_set_graph(cfg, NULL, 0, &err), DLCC_OK);
}

static void pairwise_without_pafs(dlcc_pose_cfg *cfg) {
  no_graph(cfg);
  cfg->pairwise_predict = true;
}

static void remove_snapshot(const project *p, long iteration) {
  char *name = dlcc_strdupf("snapshot-%ld.safetensors", iteration), *path = train_file(p, name);
  assert_int_equal(remove(path), 0);
  free(path);
  free(name);
}

/* DeepLabCut's maDLC train runs other optimizers than adam with batch_size 1; without
 * partaffinityfield_predict there is no limb loss (and no pairwise head); pairwise_predict without
 * it is refused by name (DeepLabCut's network has no head for that loss then). */
static void test_multi_animal_settings_deeplabcut_overrides_or_cannot_train(void **state) {
  (void)state;
  project p = make_demo("madlcsgd");
  edit_pose_cfg(&p, sgd);
  seen s = {0};
  dlcc_train_options opt = small_options(p.config, 1, &s);
  dlcc_train_result result;
  dlcc_notes notes = {0};
  dlcc_error err;
  if (dlcc_train_run(&opt, &result, &notes, &err)) fail_msg("%s", err.message);
  assert_int_equal(s.iterations, 2);
  assert_true(notes_contain(&notes, "optimizer is sgd, and DeepLabCut's multi-animal training then uses batch_size 1"));
  dlcc_notes_free(&notes);
  dlcc_train_result_free(&result);
  remove_snapshot(&p, 1);

  edit_pose_cfg(&p, no_graph);
  s = (seen){0};
  if (dlcc_train_run(&opt, &result, &notes, &err)) fail_msg("%s", err.message);
  assert_int_equal(s.iterations, 2);
  for (int i = 0; i < 2; i++) {
    assert_true(s.losses[i].part > 0 && s.losses[i].locref > 0);
    assert_true(s.losses[i].pairwise == 0);
  }
  dlcc_notes_free(&notes);
  dlcc_train_result_free(&result);
  remove_snapshot(&p, 1);

  edit_pose_cfg(&p, pairwise_without_pafs);
  assert_int_equal(dlcc_train_run(&opt, &result, &notes, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, "pairwise_predict is true but partaffinityfield_predict is false");
  dlcc_notes_free(&notes);
  dlcc_train_result_free(&result);
  free_demo(&p);
}

/* ---- the flies project (2 flies, 13 parts, 1024x1024 frames) ---- */

/* Two iterations of the reduced network at the shipped maDLC settings (batch 8, 400x400 crops scaled
 * by 0.8 x jitter, hybrid sampling, rotation), when ../shared/data holds the project. */
static void test_the_flies_project_trains(void **state) {
  (void)state;
  char *source = test_shared_data("flies-clip-madlc");
  char *dir = test_tempdir("flies");
  test_copytree(source, dir);
  char *config = dlcc_path_join(dir, "config.yaml");
  dlcc_training_set_options topt = {.shuffle = 1, .seed_given = true, .seed = 1};
  dlcc_training_set_result tres;
  dlcc_notes notes = {0};
  dlcc_error err;
  if (dlcc_training_set_create(config, &topt, &tres, &notes, &err)) fail_msg("%s", err.message);
  dlcc_training_set_result_free(&tres);
  seen s = {0};
  dlcc_train_options opt = small_options(config, 1, &s);
  /* the flies' pose_cfg says multi_stage: true, DeepLabCut's dlcrnet_ms5, whose fusion reads the
   * third unit of layer2 */
  opt.reduced.blocks[1] = 3;
  dlcc_train_result result;
  if (dlcc_train_run(&opt, &result, &notes, &err)) fail_msg("%s", err.message);
  assert_int_equal(s.iterations, 2);
  for (int i = 0; i < 2; i++) {
    print_message("flies iteration %d: part %.4f locref %.4f limb %.4f\n", i, s.losses[i].part, s.losses[i].locref,
                  s.losses[i].pairwise);
    assert_true(isfinite(s.losses[i].total) && s.losses[i].part > 0 && s.losses[i].pairwise > 0);
  }
  print_message("flies: %.2f images/s\n", result.images_per_s);
  dlcc_train_result_free(&result);
  dlcc_notes_free(&notes);
  test_rmtree(dir);
  free(config);
  free(dir);
  free(source);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_part_affinity_fields_lie_exactly_along_both_animals_limbs),
      cmocka_unit_test(test_weighing_only_present_joints_masks_the_bands),
      cmocka_unit_test(test_identity_channels_follow_each_animal_and_skip_the_unique_parts),
      cmocka_unit_test(test_a_joint_listed_twice_for_one_animal_is_refused),
      cmocka_unit_test(test_the_crop_keeps_exactly_the_labels_inside_its_window),
      cmocka_unit_test(test_frames_smaller_than_crop_size_are_padded_with_black),
      cmocka_unit_test(test_no_label_ever_lies_off_the_augmented_image),
      cmocka_unit_test(test_fliplr_mirrors_and_swaps_the_symmetric_pairs),
      cmocka_unit_test(test_the_plan_reads_rotation_fliplr_and_symmetric_pairs_as_deeplabcut),
      cmocka_unit_test(test_the_same_seed_gives_the_same_batches),
      cmocka_unit_test(test_a_three_animal_demo_project_trains_with_all_three_losses),
      cmocka_unit_test(test_a_resumed_multi_animal_run_ends_as_a_straight_one),
      cmocka_unit_test(test_the_loss_falls_on_a_tiny_multi_animal_problem),
      cmocka_unit_test(test_multi_animal_settings_deeplabcut_overrides_or_cannot_train),
      cmocka_unit_test(test_the_flies_project_trains),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
