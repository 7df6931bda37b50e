/* Overfitting: a network that can learn drives DeepLabCut's loss on two openfield frames (the
 * shared example project) near zero within a few hundred iterations. The whole chain runs: decoded
 * frames and their labels, score-map and locref targets (src/targets), forward, loss, backward and
 * Adam. To stay within seconds under ASan the frames are halved (320x240, targets at scale 0.5 as
 * DeepLabCut builds them for a scaled batch) and the ResNet is reduced (base width 8, one block
 * per stage); the structure is resnet_50's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment/resize.h"
#include "image/image.h"
#include "nn/loss.h"
#include "nn/network.h"
#include "nn/optimizer.h"
#include "nn_nettest.h"
#include "project/labels.h"
#include "targets/scoremap.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/rng.h"

#define FRAMES 2
#define JOINTS 4
#define SCALE 0.5

/* The batch: images (N x 3 x H x W, RGB 0..255) and the targets of every head. */
typedef struct batch {
  int64_t dims[4];
  int map_w, map_h;
  float *images, *scoremap, *weights, *locref, *locref_mask;
} batch;

/* Frame `row` of the labels, halved, into image slot n of b; its labels into joints. */
static void load_frame(const char *project, const dlcc_label_table *labels, size_t row, batch *b, int n,
                       dlcc_joint *joints) {
  char *path = dlcc_path_join(project, labels->row_names[row]);
  dlcc_image full = {0}, half = {0};
  dlcc_aug_resizer resizer = {0};
  dlcc_error err;
  if (dlcc_image_load(path, &full, &err)) fail_msg("%s", err.message);
  int w = dlcc_aug_scaled_length(full.width, SCALE), h = dlcc_aug_scaled_length(full.height, SCALE);
  assert_int_equal(w, b->dims[3]);
  assert_int_equal(h, b->dims[2]);
  if (dlcc_image_alloc(&half, w, h, &err) || dlcc_aug_resize(&resizer, &full, &half, &err)) fail_msg("%s", err.message);
  size_t plane = (size_t)w * (size_t)h;
  float *dst = b->images + (size_t)n * 3 * plane;
  for (size_t i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++) dst[c * plane + i] = half.rgb[3 * i + (size_t)c];
  for (int j = 0; j < JOINTS; j++) {
    joints[j].id = j;
    joints[j].x = dlcc_aug_resize_coord(labels->values[dlcc_label_index(labels, row, (size_t)j, 0)], full.width, w);
    joints[j].y = dlcc_aug_resize_coord(labels->values[dlcc_label_index(labels, row, (size_t)j, 1)], full.height, h);
    assert_false(isnan(joints[j].x) || isnan(joints[j].y));
  }
  dlcc_aug_resizer_free(&resizer);
  dlcc_image_free(&full);
  dlcc_image_free(&half);
  free(path);
}

static void build_batch(const char *project, batch *b) {
  char *csv = dlcc_path_join(project, "labeled-data/m4s1/CollectedData_Pranav.csv");
  dlcc_label_table labels = {0};
  dlcc_error err;
  if (dlcc_labels_read(csv, &labels, &err)) fail_msg("%s", err.message);
  assert_int_equal(labels.n_columns, JOINTS);
  dlcc_scoremap_params sp = {.num_joints = JOINTS, .stride = 8, .pos_dist_thresh = 17, .scale = SCALE,
                             .locref_stdev = 7.2801};
  const int64_t dims[4] = {FRAMES, 3, 240, 320};
  memcpy(b->dims, dims, sizeof dims);
  dlcc_scoremap_size(&sp, (int)dims[3], (int)dims[2], &b->map_w, &b->map_h);
  size_t cells = (size_t)b->map_w * (size_t)b->map_h;
  b->images = malloc(lt_count4(dims) * sizeof(float));
  b->scoremap = malloc(FRAMES * JOINTS * cells * sizeof(float));
  b->weights = malloc(FRAMES * JOINTS * cells * sizeof(float));
  b->locref = malloc(FRAMES * 2 * JOINTS * cells * sizeof(float));
  b->locref_mask = malloc(FRAMES * 2 * JOINTS * cells * sizeof(float));
  for (int n = 0; n < FRAMES; n++) {
    dlcc_joint joints[JOINTS];
    load_frame(project, &labels, (size_t)n, b, n, joints);
    size_t at = (size_t)n * JOINTS * cells;
    dlcc_scoremap_targets_build(&sp, joints, JOINTS, b->map_w, b->map_h, b->scoremap + at, b->weights + at,
                                b->locref + 2 * at, b->locref_mask + 2 * at);
  }
  dlcc_labels_free(&labels);
  free(csv);
}

static void free_batch(batch *b) {
  free(b->images), free(b->scoremap), free(b->weights), free(b->locref), free(b->locref_mask);
}

/* One iteration: forward (training), DeepLabCut's loss, backward, Adam. Returns the losses. */
static dlcc_nn_losses train_step(dlcc_nn_network *net, dlcc_nn_engine *e, dlcc_nn_optimizer *opt, const batch *b,
                                 double lr, float *part_grad, float *locref_grad) {
  nt_forward(net, e, b->images, b->dims, DLCC_NN_TRAINING);
  size_t n_part, n_locref;
  float *part = nt_head(net, e, DLCC_NN_HEAD_PART, &n_part), *locref = nt_head(net, e, DLCC_NN_HEAD_LOCREF, &n_locref);
  dlcc_nn_loss_spec spec = {.location_refinement = true, .locref_kind = DLCC_NN_LOSS_HUBER,
                            .locref_loss_weight = 0.05};
  dlcc_nn_loss_batch lb = {
    .part = {.pred = part, .target = b->scoremap, .weights = b->weights, .grad = part_grad, .count = n_part},
    .locref = {.pred = locref, .target = b->locref, .weights = b->locref_mask, .grad = locref_grad,
               .count = n_locref},
  };
  dlcc_nn_losses losses;
  dlcc_error err;
  if (dlcc_nn_total_loss(&spec, &lb, &losses, &err)) fail_msg("%s", err.message);
  float *g[DLCC_NN_HEADS] = {part_grad, locref_grad, NULL, NULL};
  nt_backward(net, e, g);
  if (dlcc_nn_optimizer_step(opt, &net->params, lr, &err)) fail_msg("%s", err.message);
  free(part);
  free(locref);
  return losses;
}

static void test_two_openfield_frames_are_learnt_within_300_iterations(void **state) {
  (void)state;
  char *project = test_shared_data("openfield-Pranav-2018-10-30");
  batch b = {0};
  build_batch(project, &b);
  assert_int_equal(b.map_w, 40);
  assert_int_equal(b.map_h, 30);
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default("resnet_50", JOINTS);
  desc.width = 8;
  for (int i = 0; i < 4; i++) desc.blocks[i] = 1;
  dlcc_nn_network *net = nt_create(&desc);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 2018);
  dlcc_nn_network_init_random(net, &rng);
  dlcc_nn_engine *e = lt_engine();
  dlcc_nn_optimizer opt;
  dlcc_error err;
  if (dlcc_nn_optimizer_init(&opt, DLCC_NN_OPT_ADAM, 0.0, &net->params, &err)) fail_msg("%s", err.message);
  size_t cells = (size_t)b.map_w * (size_t)b.map_h;
  float *part_grad = malloc(FRAMES * JOINTS * cells * sizeof(float));
  float *locref_grad = malloc(FRAMES * 2 * JOINTS * cells * sizeof(float));

  dlcc_nn_losses first = train_step(net, e, &opt, &b, 1e-3, part_grad, locref_grad), last = first;
  int it = 1;
  for (; it < 300 && last.total > 0.01; it++) last = train_step(net, e, &opt, &b, 1e-3, part_grad, locref_grad);
  print_message("loss %.4g (part %.4g, locref %.4g) -> %.4g (part %.4g, locref %.4g) after %d iterations\n",
                first.total, first.part, first.locref, last.total, last.part, last.locref, it);
  assert_true(last.total <= 0.01);
  assert_true(last.part < first.part / 100 && last.locref < first.locref / 100);
  /* what the network predicts: each joint's arg-max cell is one of its positive cells */
  nt_forward(net, e, b.images, b.dims, DLCC_NN_INFERENCE);
  size_t n;
  float *part = nt_head(net, e, DLCC_NN_HEAD_PART, &n);
  for (size_t map = 0; map < FRAMES * JOINTS; map++) {
    size_t best = 0;
    for (size_t c = 1; c < cells; c++)
      if (part[map * cells + c] > part[map * cells + best]) best = c;
    if (b.scoremap[map * cells + best] != 1.0f) fail_msg("frame %zu joint %zu: arg-max off target", map / JOINTS,
                                                          map % JOINTS);
  }
  free(part);

  free(part_grad);
  free(locref_grad);
  dlcc_nn_optimizer_free(&opt);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
  free_batch(&b);
  free(project);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_two_openfield_frames_are_learnt_within_300_iterations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
