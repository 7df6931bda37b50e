/* Tests of src/nn/dlcrnet.c: a reduced dlcrnet_ms5 against PyTorch (tests/fixtures/dlcrnet_small from
 * tools/make-golden.py: heads in training and fused inference, every gradient), finite differences,
 * head sizes for odd inputs, the real network's torchvision backbone and decoder shapes, pose_cfg. */
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

/* ---- The PyTorch fixture --------------------------------------------------------------------- */

static dlcc_nn_net_desc fixture_desc(const dlcc_safetensors *st) {
  dlcc_nn_net_desc d = dlcc_nn_net_desc_default(lt_meta(st, "net_type"), (int)lt_meta_int(st, "num_joints"));
  d.num_idchannel = (int)lt_meta_int(st, "num_idchannel");
  d.num_limbs = (int)lt_meta_int(st, "num_limbs");
  d.intermediate_supervision = true;
  d.intermediate_supervision_layer = (int)lt_meta_int(st, "intermediate_supervision_layer");
  d.width = (int)lt_meta_int(st, "width");
  if (sscanf(lt_meta(st, "blocks"), "%d,%d,%d,%d", &d.blocks[0], &d.blocks[1], &d.blocks[2], &d.blocks[3]) != 4)
    fail_msg("bad blocks metadata");
  return d;
}

/* The fixture's network with the fixture's weights; st stays open for the caller. */
static dlcc_nn_network *fixture_network(dlcc_safetensors **st) {
  *st = lt_fixture_open("dlcrnet_small");
  dlcc_nn_net_desc desc = fixture_desc(*st);
  dlcc_nn_network *net = nt_create(&desc);
  size_t loaded = 0;
  dlcc_error err;
  if (dlcc_nn_params_load(&net->params, (*st)->path, NULL, 0, &loaded, &err)) fail_msg("%s", err.message);
  assert_int_equal(loaded, net->params.count);
  return net;
}

/* The index of the node whose layer is called name. */
static int node_index(const dlcc_nn_network *net, const char *name) {
  for (int i = 0; i < net->n_nodes; i++) {
    const dlcc_nn_node *n = &net->nodes[i];
    const char *have = n->kind == DLCC_NN_NODE_CONV        ? n->layer.conv.name
                       : n->kind == DLCC_NN_NODE_DECONV    ? n->layer.deconv.name
                       : n->kind == DLCC_NN_NODE_BATCHNORM ? n->layer.bn.name
                       : n->kind == DLCC_NN_NODE_UPSAMPLE  ? n->layer.upsample.name
                       : n->kind == DLCC_NN_NODE_CONCAT    ? n->layer.concat.name
                       : n->kind == DLCC_NN_NODE_ADD       ? n->layer.add.name
                       : n->kind == DLCC_NN_NODE_ELTWISE   ? n->layer.eltwise.name
                                                           : n->layer.pool.name;
    if (strcmp(have, name) == 0) return i;
  }
  fail_msg("no node %s", name);
  return -1;
}

static const dlcc_nn_node *node_named(const dlcc_nn_network *net, const char *name) {
  return &net->nodes[node_index(net, name)];
}

/* Every head against the fixture's "<prefix>output.<head>". */
static void expect_heads_match(dlcc_nn_network *net, dlcc_nn_engine *e, const dlcc_safetensors *st,
                               const char *prefix) {
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    size_t n;
    float *y = nt_head(net, e, (dlcc_nn_head)h, &n);
    char name[96];
    snprintf(name, sizeof name, "%soutput.%s", prefix, dlcc_nn_head_name((dlcc_nn_head)h));
    lt_expect_close(st, name, y, n);
    free(y);
  }
}

static void test_small_dlcrnet_heads_and_gradients_match_pytorch(void **state) {
  (void)state;
  dlcc_safetensors *st;
  dlcc_nn_network *net = fixture_network(&st);
  dlcc_nn_engine *e = lt_engine();
  int64_t dims[4];
  float *x = lt_read4(st, "input", dims);
  for (int h = 0; h < DLCC_NN_HEADS; h++) assert_true(dlcc_nn_network_has_head(net, (dlcc_nn_head)h));
  nt_forward(net, e, x, dims, DLCC_NN_TRAINING);
  expect_heads_match(net, e, st, "");
  float *g[DLCC_NN_HEADS];
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    char name[96];
    size_t n;
    snprintf(name, sizeof name, "grad.output.%s", dlcc_nn_head_name((dlcc_nn_head)h));
    g[h] = nt_read(st, name, &n);
  }
  nt_backward(net, e, g);
  size_t compared = 0, decoder = 0;
  for (size_t i = 0; i < net->params.count; i++) {
    const dlcc_nn_param *p = &net->params.items[i];
    if (p->kind == DLCC_NN_PARAM_STATE) continue;
    char name[160];
    size_t n;
    snprintf(name, sizeof name, "grad.%s", p->name);
    float *want = nt_read(st, name, &n);
    assert_int_equal(n, p->count);
    double rel = lt_relative_error(dlcc_nn_param_grads(&net->params, i), want, n);
    if (rel >= 1e-4) fail_msg("%s differs from PyTorch by %g (relative)", name, rel);
    compared++;
    decoder += strncmp(p->name, "decoder_parallel_", 17) == 0 || strstr(p->name, "_s") != NULL;
    free(want);
  }
  /* 5 decoder convolutions and batch norms, part_pred_s1 and pairwise_pred_s1 (weight and bias
   * each), the 6 refinement convolutions (weight and bias each) */
  assert_int_equal(decoder, 10 + 4 + 12);
  assert_int_equal(compared, net->params.count - 2 * 32); /* all but the running statistics of 32 batch norms */
  /* the decoder's batch norm uses the batch's statistics in inference too, so the fused inference
   * path gives the same heads */
  nt_forward(net, e, x, dims, DLCC_NN_INFERENCE);
  expect_heads_match(net, e, st, "");
  /* there the backbone's batch norms are folded into their convolutions, the decoder's run alone */
  const dlcc_nn_fused *f = net->fused;
  assert_int_equal(f->role[node_index(net, "layer2.2.bn3")], DLCC_NN_FUSED_MEMBER);
  assert_int_equal(f->role[node_index(net, "decoder_parallel_1.bn")], DLCC_NN_FUSED_SINGLE);
  assert_true(f->role[node_index(net, "decoder_parallel_1.conv")] >= 0); /* a group of its own */
  /* the score maps' residual is the sum post-op of the refining convolution */
  assert_int_equal(f->role[node_index(net, "part_pred_s3")], DLCC_NN_FUSED_MEMBER);
  assert_true(f->role[node_index(net, "part_pred_s3.add")] >= 0);
  nt_free_heads(g);
  free(x);
  dlcc_safetensors_close(st);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

/* One image alone normalizes the decoder by its own statistics, as DeepLabCut's graph does: the heads
 * differ from the same image's in the batch of two, and match PyTorch's for it alone. */
static void test_one_image_alone_is_normalized_by_its_own_statistics(void **state) {
  (void)state;
  dlcc_safetensors *st;
  dlcc_nn_network *net = fixture_network(&st);
  dlcc_nn_engine *e = lt_engine();
  int64_t dims[4];
  float *x = lt_read4(st, "input", dims);
  dims[0] = 1;
  nt_forward(net, e, x, dims, DLCC_NN_INFERENCE);
  expect_heads_match(net, e, st, "single.");
  size_t n, m;
  float *alone = nt_head(net, e, DLCC_NN_HEAD_PART, &n), *in_batch = nt_read(st, "output.part_pred", &m);
  assert_int_equal(2 * n, m);
  assert_true(lt_relative_error(alone, in_batch, n) > 1e-3);
  free(alone);
  free(in_batch);
  free(x);
  dlcc_safetensors_close(st);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

/* ---- Finite differences -------------------------------------------------------------------- */

typedef struct probe {
  const char *param;
  size_t element;
} probe;

static void test_small_dlcrnet_gradients_match_finite_differences(void **state) {
  (void)state;
  dlcc_safetensors *st;
  dlcc_nn_network *net = fixture_network(&st);
  dlcc_nn_engine *e = lt_engine();
  int64_t dims[4];
  float *x = lt_read4(st, "input", dims);
  /* The fixture's image, its contrast divided by 32 around mean_pixel: the backbone's activations
   * (hundreds on the fixture's random weights) shrink to a few units while the decoder's
   * normalized ones stay, so that f32 rounding of the loss stays well below what the decoder's
   * weights change in it. */
  for (size_t i = 0; i < lt_count4(dims); i++) {
    double mean = net->desc.mean_pixel[i / (size_t)(dims[2] * dims[3]) % 3];
    x[i] = (float)(mean + (x[i] - mean) / 32);
  }
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 37);
  float *g[DLCC_NN_HEADS];
  size_t n[DLCC_NN_HEADS];
  nt_random_head_grads(net, dims, &rng, g, n);
  nt_forward(net, e, x, dims, DLCC_NN_TRAINING);
  nt_backward(net, e, g);
  /* both fusion branches (through the resizes and the batch-statistics batch norms), the layer2
   * unit read by the fusion, layer4, the stage-1 layers, the refinements with and without the score
   * maps' residual, the heads */
  const probe probes[] = {
    {"layer1.0.conv2.weight", 3},         {"layer2.2.conv3.weight", 5},        {"layer4.1.conv3.weight", 5},
    {"decoder_parallel_1.conv.weight", 40}, {"decoder_parallel_2.bn.bias", 1}, {"decoder_parallel_3.conv.weight", 9},
    {"decoder_parallel_4.bn.bias", 2},    {"decoder_parallel_5.conv.weight", 6}, {"part_pred_s1.weight", 30},
    {"stage_features.bias", 1},           {"pairwise_pred_s1.weight", 50},     {"part_pred_s2.weight", 7},
    {"pairwise_pred_s3.bias", 2},         {"part_pred_s4.weight", 21},         {"part_pred.bias", 3},
    {"pairwise_pred.weight", 12},         {"locref.weight", 70},               {"intermediate_part_pred.weight", 9},
  };
  /* f32 rounding of the loss wants large steps, the ReLU and max-pool kinks of a backbone two
   * channels wide want small ones, and which step works depends on the probe and on the CPU's
   * accumulation order: a probe passes when one of four steps agrees within 5%; a wrong gradient
   * disagrees at every step. (PyTorch's fixture checks every gradient to 1e-4.) */
  const double steps[] = {3e-4, 1e-3, 3e-3, 1e-2};
  for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
    long idx = nt_param(net, probes[k].param);
    float *v = dlcc_nn_param_values(&net->params, (size_t)idx) + probes[k].element;
    double analytic = dlcc_nn_param_grads(&net->params, (size_t)idx)[probes[k].element], numeric[4] = {0};
    float saved = *v;
    bool agrees = false;
    for (size_t s = 0; s < 4 && !agrees; s++) {
      double loss[2];
      for (int side = 0; side < 2; side++) {
        *v = saved + (float)(side ? -steps[s] : steps[s]);
        dlcc_nn_params_changed(&net->params);
        nt_forward(net, e, x, dims, DLCC_NN_TRAINING);
        loss[side] = nt_linear_loss(net, e, g);
      }
      numeric[s] = (loss[0] - loss[1]) / (2 * steps[s]);
      agrees = fabs(numeric[s] - analytic) <= 5e-2 * fmax(fabs(analytic), 1e-2);
    }
    *v = saved;
    dlcc_nn_params_changed(&net->params);
    if (!agrees)
      fail_msg("%s[%zu]: backward %.6g, finite differences %.6g, %.6g, %.6g, %.6g (steps 3e-4, 1e-3, 3e-3, 1e-2)",
               probes[k].param, probes[k].element, analytic, numeric[0], numeric[1], numeric[2], numeric[3]);
  }
  nt_free_heads(g);
  free(x);
  dlcc_safetensors_close(st);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

/* ---- Sizes ----------------------------------------------------------------------------------- */

static dlcc_nn_net_desc tiny_desc(void) {
  dlcc_nn_net_desc d = dlcc_nn_net_desc_default("dlcrnet_ms5", 2);
  d.width = 2;
  const int blocks[4] = {1, 3, 1, 1};
  memcpy(d.blocks, blocks, sizeof blocks);
  d.num_limbs = 1;
  d.intermediate_supervision = true;
  d.intermediate_supervision_layer = 1;
  return d;
}

static void test_heads_are_twice_ceil_input_over_16_for_odd_sizes(void **state) {
  (void)state;
  dlcc_nn_net_desc desc = tiny_desc();
  dlcc_nn_network *net = nt_create(&desc);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 7);
  dlcc_nn_network_init_random(net, &rng);
  dlcc_nn_engine *e = lt_engine();
  /* (N, H, W), the head size 2 * ceil(H / 16) x 2 * ceil(W / 16), and the size bank_1_s4 resizes
   * layer1 to, 4 * ceil(H / 16) x 4 * ceil(W / 16): layer1 is ceil(H / 4) (33 -> 9, resized to 12) */
  const int64_t cases[][7] = {
    {2, 33, 47, 6, 6, 12, 12}, {1, 17, 16, 4, 2, 8, 4}, {1, 1, 1, 2, 2, 4, 4},
    {2, 49, 95, 8, 12, 16, 24}, {1, 64, 48, 8, 6, 16, 12}, {1, 61, 30, 8, 4, 16, 8},
  };
  const int64_t channels[DLCC_NN_HEADS] = {2, 4, 2, 2};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int64_t dims[4] = {cases[c][0], 3, cases[c][1], cases[c][2]}, out[4];
    float *x = malloc(lt_count4(dims) * sizeof *x);
    for (size_t i = 0; i < lt_count4(dims); i++) x[i] = (float)(255 * dlcc_rng_uniform(&rng));
    for (int mode = 0; mode < 2; mode++) {
      nt_forward(net, e, x, dims, mode ? DLCC_NN_TRAINING : DLCC_NN_INFERENCE);
      for (int h = 0; h < DLCC_NN_HEADS; h++) {
        dlcc_error err;
        if (dlcc_nn_network_output_dims(net, (dlcc_nn_head)h, dims, out, &err)) fail_msg("%s", err.message);
        const int64_t want[4] = {dims[0], channels[h], cases[c][3], cases[c][4]};
        assert_memory_equal(out, want, sizeof want);
        assert_memory_equal(net->nodes[net->heads[h]].y.dims, want, sizeof want);
      }
    }
    /* after the training forward every node's output is there */
    const int64_t *bank1 = node_named(net, "bank_1_s4")->y.dims, *bank2 = node_named(net, "bank_2_s8")->y.dims;
    assert_true(bank1[2] == cases[c][5] && bank1[3] == cases[c][6]);
    assert_true(bank2[2] == cases[c][5] / 2 && bank2[3] == cases[c][6] / 2);
    free(x);
  }
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

/* ---- The real network's structure ---------------------------------------------------------- */

static void expect_shape(const dlcc_nn_network *net, const char *name, int ndims, const int64_t *dims) {
  const dlcc_nn_param *p = &net->params.items[nt_param(net, name)];
  assert_int_equal(p->ndims, ndims);
  assert_memory_equal(p->dims, dims, (size_t)ndims * sizeof *dims);
}

/* Whether parameter i belongs to one of DeepLabCut's own layers (heads, decoder, stages). */
static bool is_pose_param(const dlcc_nn_network *net, const char *param) {
  for (int i = 0; i < net->n_nodes; i++) {
    const dlcc_nn_node *n = &net->nodes[i];
    if (!n->pose_layer) continue;
    const char *layer = n->kind == DLCC_NN_NODE_CONV     ? n->layer.conv.name
                        : n->kind == DLCC_NN_NODE_DECONV ? n->layer.deconv.name
                                                         : n->layer.bn.name;
    size_t k = strlen(layer);
    if (strncmp(param, layer, k) == 0 && param[k] == '.') return true;
  }
  return false;
}

static void test_dlcrnet_ms5_has_torchvisions_resnet_50_and_deeplabcuts_decoder(void **state) {
  (void)state;
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default("dlcrnet_ms5", 4);
  desc.num_idchannel = 1;
  desc.num_limbs = 3;
  dlcc_nn_network *net = nt_create(&desc);
  /* torchvision's resnet50 state_dict without fc and num_batches_tracked, as test_nn_resnet.c */
  size_t tensors = 0, floats = 0, pose = 0;
  for (size_t i = 0; i < net->params.count; i++) {
    if (is_pose_param(net, net->params.items[i].name)) {
      pose++;
      continue;
    }
    tensors++;
    floats += net->params.items[i].count;
  }
  assert_int_equal(tensors, 265);
  assert_int_equal(floats, 23561152);
  expect_shape(net, "conv1.weight", 4, (const int64_t[]){64, 3, 7, 7});
  expect_shape(net, "layer2.2.conv3.weight", 4, (const int64_t[]){512, 128, 1, 1});
  expect_shape(net, "layer4.2.bn3.running_var", 1, (const int64_t[]){2048});
  /* multi.py's decoder: slim.conv2d without bias, batch norm with only beta */
  expect_shape(net, "decoder_parallel_1.conv.weight", 4, (const int64_t[]){512, 512, 3, 3});
  expect_shape(net, "decoder_parallel_1.bn.bias", 1, (const int64_t[]){512});
  expect_shape(net, "decoder_parallel_2.conv.weight", 4, (const int64_t[]){128, 512, 1, 1});
  expect_shape(net, "decoder_parallel_3.conv.weight", 4, (const int64_t[]){256, 256, 3, 3});
  expect_shape(net, "decoder_parallel_4.conv.weight", 4, (const int64_t[]){256, 256, 3, 3});
  expect_shape(net, "decoder_parallel_5.conv.weight", 4, (const int64_t[]){128, 256, 1, 1});
  assert_true(dlcc_nn_params_find(&net->params, "decoder_parallel_1.bn.weight") < 0);
  assert_true(dlcc_nn_params_find(&net->params, "decoder_parallel_1.bn.running_mean") < 0);
  assert_true(dlcc_nn_params_find(&net->params, "decoder_parallel_1.conv.bias") < 0);
  /* 128 + 128 + 2048 = 2304 channels at stride 16; stages on 5 + 6 + 128 = 139 */
  expect_shape(net, "part_pred_s1.weight", 4, (const int64_t[]){2304, 5, 3, 3});
  expect_shape(net, "locref.weight", 4, (const int64_t[]){2304, 8, 3, 3});
  expect_shape(net, "stage_features.weight", 4, (const int64_t[]){2304, 128, 3, 3});
  expect_shape(net, "pairwise_pred_s1.weight", 4, (const int64_t[]){2304, 6, 3, 3});
  expect_shape(net, "part_pred_s2.weight", 4, (const int64_t[]){5, 139, 3, 3});
  expect_shape(net, "pairwise_pred_s4.weight", 4, (const int64_t[]){6, 139, 3, 3});
  expect_shape(net, "part_pred.weight", 4, (const int64_t[]){5, 139, 3, 3});
  expect_shape(net, "pairwise_pred.bias", 1, (const int64_t[]){6});
  /* 5 x (conv + bn), part_pred_s1, locref, stage_features, pairwise_pred_s1 (weight + bias), six
   * refinements and the two final heads (weight + bias) */
  assert_int_equal(pose, 10 + 8 + 12 + 4);
  assert_false(dlcc_nn_network_has_head(net, DLCC_NN_HEAD_PART_INTERM));
  /* the fusion reads layer1's output and layer2's third unit */
  const dlcc_nn_node *bank1 = node_named(net, "bank_1_s4"), *bank2 = node_named(net, "bank_2_s8");
  assert_string_equal(net->nodes[bank1->inputs[0]].layer.add.name, "layer1.2.add");
  assert_string_equal(net->nodes[bank2->inputs[0]].layer.add.name, "layer2.2.add");
  /* TensorFlow's 'SAME' strided convolutions, slim's batch norm (batch statistics, eps 1e-3) */
  const dlcc_nn_node *c1 = node_named(net, "decoder_parallel_1.conv"), *bn = node_named(net, "decoder_parallel_4.bn");
  assert_true(c1->layer.conv.spec.tf_same && c1->layer.conv.spec.stride[0] == 2 && !c1->layer.conv.spec.bias);
  assert_int_equal(bn->layer.bn.spec.stats, DLCC_NN_BN_BATCH_ALWAYS);
  assert_true(bn->layer.bn.spec.shift_only && bn->layer.bn.spec.eps == 1e-3f);
  /* the backbone keeps the description's frozen statistics */
  assert_int_equal(node_named(net, "layer2.2.bn3")->layer.bn.spec.stats, DLCC_NN_BN_FROZEN);
  dlcc_nn_network_free(net);
}

/* ImageNet weights hold the backbone only: the decoder, the stages and the heads keep their values. */
static void test_init_weights_loads_the_backbone_alone(void **state) {
  (void)state;
  dlcc_safetensors *st;
  dlcc_nn_network *from = fixture_network(&st);
  dlcc_safetensors_close(st);
  dlcc_nn_net_desc desc = from->desc;
  dlcc_nn_network *to = nt_create(&desc);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 3);
  dlcc_nn_network_init_random(to, &rng);
  char *dir = test_tempdir("dlcrnet-init");
  char *path = dlcc_path_join(dir, "backbone.safetensors");
  dlcc_st_out *out = calloc(from->params.count, sizeof *out);
  size_t n = 0;
  for (size_t i = 0; i < from->params.count; i++) {
    const dlcc_nn_param *p = &from->params.items[i];
    if (is_pose_param(from, p->name)) continue;
    out[n] = (dlcc_st_out){.name = p->name, .ndims = p->ndims, .data = dlcc_nn_param_values(&from->params, i)};
    memcpy(out[n].shape, p->dims, sizeof p->dims);
    n++;
  }
  dlcc_error err;
  if (dlcc_safetensors_write(path, out, n, NULL, 0, &err)) fail_msg("%s", err.message);
  long unit = nt_param(to, "layer2.2.conv3.weight"), decoder = nt_param(to, "decoder_parallel_1.conv.weight");
  float decoder_before = dlcc_nn_param_values(&to->params, (size_t)decoder)[0];
  size_t loaded = 0;
  if (dlcc_nn_network_load_init_weights(to, path, &loaded, &err)) fail_msg("%s", err.message);
  assert_int_equal(loaded, n);
  const float *loaded_unit = dlcc_nn_param_values(&to->params, (size_t)unit);
  assert_memory_equal(loaded_unit, dlcc_nn_param_values(&from->params, (size_t)unit),
                      to->params.items[unit].count * sizeof(float));
  assert_true(dlcc_nn_param_values(&to->params, (size_t)decoder)[0] == decoder_before);
  test_rmtree(dir);
  free(out);
  free(path);
  free(dir);
  dlcc_nn_network_free(from);
  dlcc_nn_network_free(to);
}

/* DeepLabCut's init: slim's Xavier uniform on the decoder and stages, bound sqrt(6 / (fan_in +
 * fan_out)); torchvision's Kaiming normal on the backbone. */
static void test_decoder_starts_from_slims_xavier_uniform(void **state) {
  (void)state;
  dlcc_nn_net_desc desc = tiny_desc();
  dlcc_nn_network *net = nt_create(&desc);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 11);
  dlcc_nn_network_init_random(net, &rng);
  /* decoder_parallel_1.conv: [16, 16, 3, 3] at width 2: bound sqrt(6 / (9 * 16 + 9 * 16)) = 0.1443 */
  const dlcc_nn_param *p = &net->params.items[nt_param(net, "decoder_parallel_1.conv.weight")];
  const float *w = dlcc_nn_param_values(&net->params, (size_t)nt_param(net, "decoder_parallel_1.conv.weight"));
  double most = 0, sum2 = 0;
  for (size_t i = 0; i < p->count; i++) most = fmax(most, fabs(w[i])), sum2 += (double)w[i] * w[i];
  assert_true(most <= 0.14434 && most > 0.13);
  /* uniform on [-b, b]: variance b^2 / 3 = 0.00694 */
  assert_true(fabs(sum2 / (double)p->count - 0.00694) < 0.0015);
  const float *bias = dlcc_nn_param_values(&net->params, (size_t)nt_param(net, "part_pred_s3.bias"));
  assert_true(bias[0] == 0 && bias[1] == 0);
  const float *beta = dlcc_nn_param_values(&net->params, (size_t)nt_param(net, "decoder_parallel_2.bn.bias"));
  assert_true(beta[0] == 0);
  dlcc_nn_network_free(net);
}

/* ---- pose_cfg ------------------------------------------------------------------------------ */

static void multi_animal_cfg(dlcc_pose_cfg *cfg, const char *net_type, bool multi_stage) {
  dlcc_error err;
  if (dlcc_pose_cfg_defaults(cfg, true, &err)) fail_msg("%s", err.message);
  cfg->num_joints = 5;
  cfg->num_limbs = 4;
  cfg->partaffinityfield_predict = true;
  cfg->multi_stage = multi_stage;
  if (dlcc_pose_cfg_set_string(&cfg->dataset_type, "multi-animal-imgaug", &err) ||
      dlcc_pose_cfg_set_string(&cfg->net_type, net_type, &err))
    fail_msg("%s", err.message);
}

static void test_pose_cfg_multi_stage_resnet_is_dlcrnet(void **state) {
  (void)state;
  /* how DeepLabCut writes dlcrnet_ms5, dlcr101_ms5 into pose_cfg, and the name itself */
  const struct { const char *net_type; bool multi_stage; const char *want; } cases[] = {
    {"resnet_50", true, "dlcrnet_ms5"}, {"resnet_101", true, "dlcr101_ms5"}, {"resnet_152", true, "dlcr152_ms5"},
    {"dlcrnet_ms5", false, "dlcrnet_ms5"}, {"resnet_50", false, "resnet_50"},
    /* PoseMultiNet keeps multi_stage for ResNets only */
    {"mobilenet_v2_0.35", true, "mobilenet_v2_0.35"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    dlcc_pose_cfg cfg;
    multi_animal_cfg(&cfg, cases[k].net_type, cases[k].multi_stage);
    dlcc_nn_net_desc desc;
    dlcc_error err;
    if (dlcc_nn_net_desc_from_cfg(&cfg, &desc, &err)) fail_msg("%s", err.message);
    assert_string_equal(desc.net_type, cases[k].want);
    assert_int_equal(desc.num_limbs, 4);
    dlcc_pose_cfg_free(&cfg);
  }
  /* without part-affinity fields DeepLabCut's multi-stage decoder has no part_pred */
  dlcc_pose_cfg cfg;
  multi_animal_cfg(&cfg, "resnet_50", true);
  cfg.partaffinityfield_predict = false;
  dlcc_nn_net_desc desc;
  dlcc_error err;
  assert_int_equal(dlcc_nn_net_desc_from_cfg(&cfg, &desc, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "pose_cfg: dlcrnet_ms5 refines part-affinity fields stage by stage; it needs a "
                               "multi-animal dataset_type with partaffinityfield_predict: true and num_limbs > 0");
  dlcc_pose_cfg_free(&cfg);
}

static void test_refusals_name_what_to_change(void **state) {
  (void)state;
  dlcc_nn_net_desc desc = tiny_desc();
  desc.num_limbs = 0;
  dlcc_nn_network *net = NULL;
  dlcc_error err;
  assert_int_equal(dlcc_nn_network_create(&net, &desc, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "dlcrnet_ms5 refines part-affinity fields stage by stage: num_limbs must be at least 1");
  desc = tiny_desc();
  desc.blocks[1] = 2;
  assert_int_equal(dlcc_nn_network_create(&net, &desc, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "dlcrnet_ms5 reads the third unit of layer2 (slim's block2/unit_3), but layer2 has 2");
  desc = tiny_desc();
  desc.intermediate_supervision_layer = 12;
  assert_int_equal(dlcc_nn_network_create(&net, &desc, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "intermediate_supervision_layer is 12, but block 3 of dlcrnet_ms5 (layer3) has units "
                               "1 to 1");
  assert_null(net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_small_dlcrnet_heads_and_gradients_match_pytorch),
    cmocka_unit_test(test_one_image_alone_is_normalized_by_its_own_statistics),
    cmocka_unit_test(test_small_dlcrnet_gradients_match_finite_differences),
    cmocka_unit_test(test_heads_are_twice_ceil_input_over_16_for_odd_sizes),
    cmocka_unit_test(test_dlcrnet_ms5_has_torchvisions_resnet_50_and_deeplabcuts_decoder),
    cmocka_unit_test(test_init_weights_loads_the_backbone_alone),
    cmocka_unit_test(test_decoder_starts_from_slims_xavier_uniform),
    cmocka_unit_test(test_pose_cfg_multi_stage_resnet_is_dlcrnet),
    cmocka_unit_test(test_refusals_name_what_to_change),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
