/* Tests of src/nn/fused.c, the inference path: with batch norm on its running statistics, a training
 * forward runs every layer on its own, so its heads are the reference for the fused inference
 * (batch norm folded into the convolutions, activations and residual adds as post-ops, the heads in
 * one primitive, Winograd where oneDNN has it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/network.h"
#include "nn_nettest.h"
#include "testutil.h"
#include "util/rng.h"

/* Random weights and batch-norm statistics far from the identity, so that folding them matters. */
static void randomise(dlcc_nn_network *net, uint64_t seed) {
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  dlcc_nn_network_init_random(net, &rng);
  for (size_t i = 0; i < net->params.count; i++) {
    const dlcc_nn_param *p = &net->params.items[i];
    float *v = dlcc_nn_param_values(&net->params, i);
    size_t len = strlen(p->name);
    bool var = len > 11 && strcmp(p->name + len - 11, "running_var") == 0;
    bool bn = strstr(p->name, "bn") || strstr(p->name, "downsample.1") || strstr(p->name, "features.");
    if (p->kind == DLCC_NN_PARAM_WEIGHT || !bn) continue;
    for (size_t k = 0; k < p->count; k++)
      v[k] = var ? (float)(0.3 + 2 * dlcc_rng_uniform(&rng)) : (float)(dlcc_rng_uniform(&rng) - 0.3);
  }
  dlcc_nn_params_changed(&net->params);
}

static float *random_images(const int64_t dims[4], uint64_t seed) {
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  float *x = malloc(lt_count4(dims) * sizeof *x);
  for (size_t i = 0; i < lt_count4(dims); i++) x[i] = (float)(255 * dlcc_rng_uniform(&rng));
  return x;
}

/* The heads of a training forward (every layer alone) and of an inference forward (fused): the
 * largest difference relative to the largest reference value, over all heads. */
static double fused_vs_layer_by_layer(dlcc_nn_network *net, dlcc_nn_engine *e, const float *x, const int64_t dims[4]) {
  float *ref[DLCC_NN_HEADS] = {NULL};
  size_t n[DLCC_NN_HEADS] = {0};
  nt_forward(net, e, x, dims, DLCC_NN_TRAINING);
  for (int h = 0; h < DLCC_NN_HEADS; h++)
    if (dlcc_nn_network_has_head(net, (dlcc_nn_head)h)) ref[h] = nt_head(net, e, (dlcc_nn_head)h, &n[h]);
  nt_forward(net, e, x, dims, DLCC_NN_INFERENCE);
  double worst = 0;
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    if (!ref[h]) continue;
    size_t count;
    float *y = nt_head(net, e, (dlcc_nn_head)h, &count);
    assert_int_equal(count, n[h]);
    double scale = 0, diff = 0;
    for (size_t i = 0; i < count; i++) {
      scale = fmax(scale, fabs(ref[h][i]));
      diff = fmax(diff, fabs((double)y[i] - ref[h][i]));
    }
    assert_true(scale > 0);
    worst = fmax(worst, diff / scale);
    free(y);
    free(ref[h]);
  }
  return worst;
}

static dlcc_nn_net_desc tiny_resnet(void) {
  dlcc_nn_net_desc d = dlcc_nn_net_desc_default("resnet_50", 3);
  d.width = 4;
  for (int i = 0; i < 4; i++) d.blocks[i] = 2;
  d.num_limbs = 2;
  /* the head on layer3's first unit reads a tensor that the next block's residual add would
   * overwrite: that add must stay a node of its own */
  d.intermediate_supervision = true;
  d.intermediate_supervision_layer = 1;
  return d;
}

static void test_fused_resnet_matches_layer_by_layer(void **state) {
  (void)state;
  dlcc_nn_net_desc desc = tiny_resnet();
  dlcc_nn_network *net = nt_create(&desc);
  randomise(net, 3);
  dlcc_nn_engine *e = lt_engine();
  const int64_t dims[4] = {2, 3, 45, 61};
  float *x = random_images(dims, 4);
  double err = fused_vs_layer_by_layer(net, e, x, dims);
  print_message("resnet f32: fused vs layer by layer, max relative difference %.2g\n", err);
  assert_true(err < 2e-5);
  /* Groups: the stem, per block conv1, conv2, conv3 (+ add), the 4 downsampling branches, and the
   * three heads on layer4 in one; the intermediate head reads another tensor and stays alone. */
  assert_non_null(net->fused);
  assert_int_equal(net->fused->n_groups, 1 + 8 * 3 + 4 + 1);
  int adds_left = 0;
  for (int i = 0; i < net->n_nodes; i++)
    adds_left += net->nodes[i].kind == DLCC_NN_NODE_ADD && net->fused->role[i] == DLCC_NN_FUSED_SINGLE;
  assert_int_equal(adds_left, 1);
  free(x);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

static void test_fused_mobilenet_matches_layer_by_layer(void **state) {
  (void)state;
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default("mobilenet_v2_0.35", 2);
  desc.bn_stats = DLCC_NN_BN_FROZEN; /* a training forward then normalises as inference does */
  desc.last_channels = 64;
  dlcc_nn_network *net = nt_create(&desc);
  randomise(net, 5);
  dlcc_nn_engine *e = lt_engine();
  const int64_t dims[4] = {1, 3, 64, 80};
  float *x = random_images(dims, 6);
  double err = fused_vs_layer_by_layer(net, e, x, dims);
  print_message("mobilenet f32: fused vs layer by layer, max relative difference %.2g\n", err);
  assert_true(err < 2e-5);
  /* every convolution leads a group with its batch norm, ReLU6 or residual add, and the two heads
   * are one: no node runs alone */
  int convs = 0;
  for (int i = 0; i < net->n_nodes; i++) {
    convs += net->nodes[i].kind == DLCC_NN_NODE_CONV;
    assert_int_not_equal(net->fused->role[i], DLCC_NN_FUSED_SINGLE);
  }
  assert_int_equal(net->fused->n_groups, convs + 1);
  free(x);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

static void test_fused_weights_follow_parameter_changes(void **state) {
  (void)state;
  dlcc_nn_net_desc desc = tiny_resnet();
  dlcc_nn_network *net = nt_create(&desc);
  randomise(net, 7);
  dlcc_nn_engine *e = lt_engine();
  const int64_t dims[4] = {1, 3, 32, 48};
  float *x = random_images(dims, 8);
  assert_true(fused_vs_layer_by_layer(net, e, x, dims) < 2e-5);
  /* a new set of parameters (a snapshot loaded, an optimizer step): the folded copies follow */
  randomise(net, 9);
  assert_true(fused_vs_layer_by_layer(net, e, x, dims) < 2e-5);
  free(x);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

static void test_fused_bf16_stays_near_layer_by_layer(void **state) {
  (void)state;
  if (!lt_cpu_info().bf16_available) {
    print_message("skipped: oneDNN has no bf16 kernels on this CPU (%s)\n", lt_cpu_info().isa);
    return;
  }
  dlcc_nn_net_desc desc = tiny_resnet();
  desc.dtype = DLCC_NN_BF16;
  dlcc_nn_network *net = nt_create(&desc);
  randomise(net, 11);
  dlcc_nn_engine *e = lt_engine();
  const int64_t dims[4] = {1, 3, 40, 56};
  float *x = random_images(dims, 12);
  double err = fused_vs_layer_by_layer(net, e, x, dims);
  /* bf16 keeps 8 bits of mantissa (relative rounding 2^-9 = 0.002) per stored activation; folding
   * rounds the scaled weights once instead of weights and normalised activations separately */
  print_message("resnet bf16: fused vs layer by layer, max relative difference %.2g\n", err);
  assert_true(err < 0.05);
  free(x);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fused_resnet_matches_layer_by_layer),
    cmocka_unit_test(test_fused_mobilenet_matches_layer_by_layer),
    cmocka_unit_test(test_fused_weights_follow_parameter_changes),
    cmocka_unit_test(test_fused_bf16_stays_near_layer_by_layer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
