/* Tests of src/nn/network.c: a small graph of its own with forks (one tensor read by four nodes),
 * a plain add, pooling, concatenation and upsampling, checked against finite differences; heads
 * left out of the loss; the description pose_cfg gives; init_weights; refusals. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/network.h"
#include "nn/safetensors.h"
#include "nn_nettest.h"
#include "project/posecfg.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/rng.h"

/* ---- A graph of its own ---------------------------------------------------------------------- */

/* image -> stem (3x3, stride 16: the heads' 2 * ceil(size / 16) rule) -> bn -> relu = r;
 * r -> branch conv -> b; r -> max pool -> p; b + p -> a; a -> upsample x2 -> conv stride 2 -> d;
 * part_pred reads cat(r, d), locref reads r: r feeds branch, pool, cat and locref. */
static dlcc_status build_forks(dlcc_nn_builder *b, void *user) {
  (void)user;
  dlcc_nn_conv_spec stem = dlcc_nn_conv_spec_square(3, 4, 3), branch = dlcc_nn_conv_spec_square(4, 4, 3),
                    down = dlcc_nn_conv_spec_square(4, 4, 3);
  stem.stride[0] = stem.stride[1] = 16;
  stem.padding[0] = stem.padding[1] = branch.padding[0] = branch.padding[1] = 1;
  down.stride[0] = down.stride[1] = 2;
  down.padding[0] = down.padding[1] = 1;
  int x = dlcc_nn_build_conv(b, "stem", &stem, DLCC_NN_IMAGE);
  x = dlcc_nn_build_batchnorm(b, "stem_bn", 4, x);
  int r = dlcc_nn_build_eltwise(b, "stem_relu", DLCC_NN_RELU, x);
  int br = dlcc_nn_build_conv(b, "branch", &branch, r);
  dlcc_nn_pool_spec pool = dlcc_nn_pool_spec_square(3, 1, 1);
  int p = dlcc_nn_build_pool(b, "pool", &pool, r);
  int a = dlcc_nn_build_add(b, "add", false, br, p);
  dlcc_nn_upsample_spec up = dlcc_nn_upsample_spec_factor(2);
  int u = dlcc_nn_build_upsample(b, "up", &up, a);
  int d = dlcc_nn_build_conv(b, "down", &down, u);
  dlcc_nn_concat_spec cat = {.inputs = 2, .channels = {4, 4}};
  int c = dlcc_nn_build_concat(b, "cat", &cat, (const int[]){r, d});
  dlcc_nn_build_head(b, DLCC_NN_HEAD_PART, 8, b->net->desc.num_joints, c);
  dlcc_nn_build_head(b, DLCC_NN_HEAD_LOCREF, 4, 2 * b->net->desc.num_joints, r);
  return b->status;
}

static dlcc_nn_network *forks_network(uint64_t seed) {
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default("forks", 2);
  dlcc_nn_network *net = NULL;
  dlcc_error err;
  if (dlcc_nn_network_create_with(&net, &desc, build_forks, NULL, &err)) fail_msg("%s", err.message);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  dlcc_nn_network_init_random(net, &rng);
  /* batch norm away from the identity, so that its parameters matter */
  long w = nt_param(net, "stem_bn.weight"), m = nt_param(net, "stem_bn.running_mean");
  for (int c = 0; c < 4; c++) {
    dlcc_nn_param_values(&net->params, (size_t)w)[c] = 0.5f + 0.25f * (float)c;
    dlcc_nn_param_values(&net->params, (size_t)m)[c] = 0.1f * (float)c;
  }
  dlcc_nn_params_changed(&net->params);
  return net;
}

/* Images around mean_pixel (centred values of a few units, where ReLU kinks are rare). */
static float *images_near_mean(const dlcc_nn_network *net, const int64_t dims[4], dlcc_rng *rng) {
  float *x = malloc(lt_count4(dims) * sizeof *x);
  size_t plane = (size_t)(dims[2] * dims[3]);
  for (size_t i = 0; i < lt_count4(dims); i++)
    x[i] = (float)(net->desc.mean_pixel[(i / plane) % 3] + 3.0 * dlcc_rng_normal(rng));
  return x;
}

static void test_gradients_through_forks_match_finite_differences(void **state) {
  (void)state;
  dlcc_nn_network *net = forks_network(11);
  dlcc_nn_engine *e = lt_engine();
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 12);
  const int64_t dims[4] = {2, 3, 32, 48};
  float *x = images_near_mean(net, dims, &rng), *g[DLCC_NN_HEADS];
  size_t n[DLCC_NN_HEADS];
  nt_random_head_grads(net, dims, &rng, g, n);
  assert_int_equal(n[DLCC_NN_HEAD_PART], 2 * 2 * 4 * 6);
  assert_int_equal(net->nodes[2].consumers, 4); /* stem_relu */
  nt_forward(net, e, x, dims, DLCC_NN_TRAINING);
  nt_backward(net, e, g);
  dlcc_nn_params *p = &net->params;
  float *analytic = malloc(p->trained * sizeof *analytic);
  memcpy(analytic, p->grads, p->trained * sizeof *analytic);
  const double eps = 1e-3;
  double worst = 0, largest = 0;
  for (size_t i = 0; i < p->count; i++) {
    const dlcc_nn_param *param = &p->items[i];
    if (param->kind == DLCC_NN_PARAM_STATE) continue;
    for (size_t k = 0; k < param->count; k++) {
      float *v = &p->values[param->offset + k], saved = *v;
      double loss[2];
      for (int side = 0; side < 2; side++) {
        *v = saved + (float)(side ? -eps : eps);
        dlcc_nn_params_changed(p);
        nt_forward(net, e, x, dims, DLCC_NN_INFERENCE);
        loss[side] = nt_linear_loss(net, e, g);
      }
      *v = saved;
      double numeric = (loss[0] - loss[1]) / (2 * eps), a = analytic[param->offset + k];
      worst = fmax(worst, fabs(numeric - a));
      largest = fmax(largest, fabs(numeric));
    }
  }
  if (worst > 1e-3 * largest) fail_msg("largest gap %g, largest gradient %g", worst, largest);
  assert_true(largest > 0);
  free(analytic);
  nt_free_heads(g);
  free(x);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

static void test_head_left_out_of_the_loss_gets_zero_gradients(void **state) {
  (void)state;
  dlcc_nn_network *net = forks_network(21);
  dlcc_nn_engine *e = lt_engine();
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 22);
  const int64_t dims[4] = {1, 3, 17, 33};
  float *x = images_near_mean(net, dims, &rng), *g[DLCC_NN_HEADS];
  size_t n[DLCC_NN_HEADS];
  nt_random_head_grads(net, dims, &rng, g, n);
  nt_forward(net, e, x, dims, DLCC_NN_TRAINING);
  nt_backward(net, e, g); /* fills locref's gradients */
  dlcc_nn_params *p = &net->params;
  /* the same loss with locref's gradient zero, then with locref left out (NULL) */
  float *locref = g[DLCC_NN_HEAD_LOCREF];
  float *zeros = calloc(n[DLCC_NN_HEAD_LOCREF], sizeof *zeros);
  g[DLCC_NN_HEAD_LOCREF] = zeros;
  nt_backward(net, e, g);
  float *with_zeros = malloc(p->trained * sizeof *with_zeros);
  memcpy(with_zeros, p->grads, p->trained * sizeof *with_zeros);
  g[DLCC_NN_HEAD_LOCREF] = NULL;
  nt_backward(net, e, g);
  long w = nt_param(net, "locref.weight"), b = nt_param(net, "locref.bias");
  for (size_t k = 0; k < p->items[w].count; k++) assert_true(dlcc_nn_param_grads(p, (size_t)w)[k] == 0.0f);
  for (size_t k = 0; k < p->items[b].count; k++) assert_true(dlcc_nn_param_grads(p, (size_t)b)[k] == 0.0f);
  assert_true(lt_relative_error(p->grads, with_zeros, p->trained) < 1e-6);
  g[DLCC_NN_HEAD_LOCREF] = locref;
  free(zeros);
  free(with_zeros);
  nt_free_heads(g);
  free(x);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

/* ---- Refusals -------------------------------------------------------------------------------- */

static void test_backward_after_an_inference_forward_is_refused(void **state) {
  (void)state;
  dlcc_nn_network *net = forks_network(31);
  dlcc_nn_engine *e = lt_engine();
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 32);
  const int64_t dims[4] = {1, 3, 16, 16};
  float *x = images_near_mean(net, dims, &rng), *g[DLCC_NN_HEADS];
  size_t n[DLCC_NN_HEADS];
  nt_random_head_grads(net, dims, &rng, g, n);
  const float *grads[DLCC_NN_HEADS] = {g[0], g[1], NULL, NULL};
  dlcc_error err;
  assert_int_equal(dlcc_nn_network_backward(net, e, grads, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "forks: backward needs a training forward pass first (the last forward was missing");
  nt_forward(net, e, x, dims, DLCC_NN_INFERENCE);
  assert_int_equal(dlcc_nn_network_backward(net, e, grads, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "(the last forward was an inference one)");
  /* a wrong input leaves no forward behind either */
  const int64_t gray[4] = {1, 1, 16, 16};
  assert_int_equal(dlcc_nn_network_forward(net, e, x, gray, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "forks: the input is 1x1x16x16; the network takes N x 3 x H x W RGB images");
  assert_int_equal(dlcc_nn_network_head_export(net, e, DLCC_NN_HEAD_PART, x, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "forks: reading part_pred before a forward pass");
  assert_int_equal(dlcc_nn_network_head_export(net, e, DLCC_NN_HEAD_PAIRWISE, x, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "forks has no pairwise_pred head");
  nt_free_heads(g);
  free(x);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

static void test_description_errors_name_the_problem(void **state) {
  (void)state;
  dlcc_nn_network *net = NULL;
  dlcc_error err;
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default("resnet_18", 4);
  assert_int_equal(dlcc_nn_network_create(&net, &desc, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, "net_type 'resnet_18' is not a ResNet dlcc builds; use resnet_50, resnet_101 or resnet_152");
  desc = dlcc_nn_net_desc_default("efficientnet-b0", 4);
  assert_int_equal(dlcc_nn_network_create(&net, &desc, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, "net_type 'efficientnet-b0' is not a network dlcc builds");
  desc = dlcc_nn_net_desc_default("resnet_50", 0);
  assert_int_equal(dlcc_nn_network_create(&net, &desc, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "resnet_50: num_joints is 0; a network needs at least one joint");
  assert_null(net);
}

/* ---- From pose_cfg ------------------------------------------------------------------------- */

static void test_single_animal_pose_cfg_gives_part_and_locref_heads(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err;
  if (dlcc_pose_cfg_defaults(&cfg, false, &err)) fail_msg("%s", err.message);
  cfg.num_joints = 4;
  dlcc_nn_net_desc desc;
  if (dlcc_nn_net_desc_from_cfg(&cfg, &desc, &err)) fail_msg("%s", err.message);
  assert_string_equal(desc.net_type, "resnet_50");
  assert_int_equal(desc.num_joints, 4);
  assert_true(desc.location_refinement);
  assert_int_equal(desc.num_limbs, 0);
  assert_false(desc.intermediate_supervision);
  assert_int_equal(desc.bn_stats, DLCC_NN_BN_FROZEN);
  assert_true(desc.mean_pixel[0] == 123.68 && desc.mean_pixel[1] == 116.779 && desc.mean_pixel[2] == 103.939);
  /* DeeperCut's pairwise offsets: one per ordered pair of joints */
  cfg.pairwise_predict = true;
  if (dlcc_nn_net_desc_from_cfg(&cfg, &desc, &err)) fail_msg("%s", err.message);
  assert_int_equal(desc.num_limbs, 12);
  /* DeepLabCut's TF MobileNetV2 trains its batch norm (slim's is_training, decay 0.997) */
  if (dlcc_pose_cfg_set_string(&cfg.net_type, "mobilenet_v2_0.35", &err)) fail_msg("%s", err.message);
  if (dlcc_nn_net_desc_from_cfg(&cfg, &desc, &err)) fail_msg("%s", err.message);
  assert_string_equal(desc.net_type, "mobilenet_v2_0.35");
  assert_int_equal(desc.bn_stats, DLCC_NN_BN_BATCH);
  assert_true(desc.bn_momentum == 0.003);
  if (dlcc_pose_cfg_set_string(&cfg.net_type, "efficientnet-b0", &err)) fail_msg("%s", err.message);
  assert_int_equal(dlcc_nn_net_desc_from_cfg(&cfg, &desc, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, "pose_cfg: net_type 'efficientnet-b0' is not a network dlcc builds; use resnet_50, "
                               "resnet_101, resnet_152, mobilenet_v2_1.0, mobilenet_v2_0.75, mobilenet_v2_0.5, "
                               "mobilenet_v2_0.35, dlcrnet_ms5, dlcr101_ms5 or dlcr152_ms5");
  /* maDLC's multi-stage network needs part-affinity fields, which single-animal datasets lack */
  if (dlcc_pose_cfg_set_string(&cfg.net_type, "dlcrnet_ms5", &err)) fail_msg("%s", err.message);
  assert_int_equal(dlcc_nn_net_desc_from_cfg(&cfg, &desc, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "dlcrnet_ms5 refines part-affinity fields stage by stage");
  dlcc_pose_cfg_free(&cfg);
}

static void test_multi_animal_pose_cfg_gives_paf_and_identity_channels(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err;
  if (dlcc_pose_cfg_defaults(&cfg, true, &err)) fail_msg("%s", err.message);
  cfg.num_joints = 5;
  cfg.num_idchannel = 2;
  cfg.partaffinityfield_predict = true;
  cfg.num_limbs = 3;
  cfg.intermediate_supervision = true;
  cfg.intermediate_supervision_layer = 4;
  if (dlcc_pose_cfg_set_string(&cfg.dataset_type, "multi-animal-imgaug", &err)) fail_msg("%s", err.message);
  dlcc_nn_net_desc desc;
  if (dlcc_nn_net_desc_from_cfg(&cfg, &desc, &err)) fail_msg("%s", err.message);
  desc.width = 2; /* the structure at a fraction of the size */
  dlcc_nn_network *net = nt_create(&desc);
  const int64_t in[4] = {1, 3, 40, 24};
  const int64_t want[DLCC_NN_HEADS] = {7, 10, 6, 7};
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    int64_t out[4];
    if (dlcc_nn_network_output_dims(net, (dlcc_nn_head)h, in, out, &err)) fail_msg("%s", err.message);
    const int64_t expected[4] = {1, want[h], 6, 4};
    assert_memory_equal(out, expected, sizeof expected);
  }
  assert_string_equal(net->nodes[net->nodes[net->heads[DLCC_NN_HEAD_PART_INTERM]].inputs[0]].layer.add.name,
                      "layer3.3.add");
  dlcc_nn_network_free(net);
  dlcc_pose_cfg_free(&cfg);
}

/* ---- init_weights -------------------------------------------------------------------------- */

/* Writes net's parameters to path except those named in skip, and with `reshaped` given the shape
 * [1, count] instead of its own. */
static void write_params(const dlcc_nn_network *net, const char *path, const char *skip, const char *reshaped) {
  dlcc_st_out *out = calloc(net->params.count, sizeof *out);
  size_t n = 0;
  for (size_t i = 0; i < net->params.count; i++) {
    const dlcc_nn_param *p = &net->params.items[i];
    if (skip && strstr(skip, p->name)) continue;
    out[n] = (dlcc_st_out){.name = p->name, .ndims = p->ndims, .data = dlcc_nn_param_values(&net->params, i)};
    memcpy(out[n].shape, p->dims, sizeof p->dims);
    if (reshaped && strcmp(reshaped, p->name) == 0) {
      out[n].ndims = 2;
      out[n].shape[0] = 1;
      out[n].shape[1] = (int64_t)p->count;
    }
    n++;
  }
  dlcc_error err;
  if (dlcc_safetensors_write(path, out, n, NULL, 0, &err)) fail_msg("%s", err.message);
  free(out);
}

static void test_init_weights_loads_a_backbone_without_heads(void **state) {
  (void)state;
  dlcc_nn_network *from = forks_network(41), *to = forks_network(42);
  char *dir = test_tempdir("init-weights");
  char *path = dlcc_path_join(dir, "backbone.safetensors");
  write_params(from, path, "part_pred.weight part_pred.bias locref.weight locref.bias", NULL);
  long head = nt_param(to, "part_pred.weight"), stem = nt_param(to, "stem.weight");
  float head_before = dlcc_nn_param_values(&to->params, (size_t)head)[0];
  size_t loaded = 0;
  dlcc_error err;
  if (dlcc_nn_network_load_init_weights(to, path, &loaded, &err)) fail_msg("%s", err.message);
  assert_int_equal(loaded, to->params.count - 4);
  assert_memory_equal(dlcc_nn_param_values(&to->params, (size_t)stem), dlcc_nn_param_values(&from->params, (size_t)stem),
                      to->params.items[stem].count * sizeof(float));
  assert_true(dlcc_nn_param_values(&to->params, (size_t)head)[0] == head_before);
  test_rmtree(dir);
  free(path);
  free(dir);
  dlcc_nn_network_free(from);
  dlcc_nn_network_free(to);
}

static void test_init_weights_lists_missing_and_misshaped_tensors(void **state) {
  (void)state;
  dlcc_nn_network *net = forks_network(51);
  char *dir = test_tempdir("init-weights");
  char *path = dlcc_path_join(dir, "bad.safetensors");
  write_params(net, path, "stem.weight stem_bn.running_var", "branch.weight");
  long stem = nt_param(net, "stem.weight");
  float before = dlcc_nn_param_values(&net->params, (size_t)stem)[0];
  dlcc_error err;
  assert_int_equal(dlcc_nn_network_load_init_weights(net, path, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "init_weights for forks: ");
  assert_contains(err.message, "bad.safetensors: 3 of the network's 14 parameters do not fit");
  assert_contains(err.message, "missing: stem.weight, stem_bn.running_var");
  assert_contains(err.message, "mis-shaped: branch.weight (file [1, 144], network [4, 4, 3, 3])");
  assert_true(dlcc_nn_param_values(&net->params, (size_t)stem)[0] == before); /* all or nothing */
  test_rmtree(dir);
  free(path);
  free(dir);
  dlcc_nn_network_free(net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_gradients_through_forks_match_finite_differences),
    cmocka_unit_test(test_head_left_out_of_the_loss_gets_zero_gradients),
    cmocka_unit_test(test_backward_after_an_inference_forward_is_refused),
    cmocka_unit_test(test_description_errors_name_the_problem),
    cmocka_unit_test(test_single_animal_pose_cfg_gives_part_and_locref_heads),
    cmocka_unit_test(test_multi_animal_pose_cfg_gives_paf_and_identity_channels),
    cmocka_unit_test(test_init_weights_loads_a_backbone_without_heads),
    cmocka_unit_test(test_init_weights_lists_missing_and_misshaped_tensors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
