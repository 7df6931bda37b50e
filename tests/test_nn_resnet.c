/* Tests of src/nn/resnet.c through the network: a reduced-width ResNet against PyTorch (every head,
 * every parameter gradient; tests/fixtures/resnet_small.safetensors from tools/make-golden.py),
 * gradients against finite differences, the heads' size rule, two training steps, and the real
 * ResNets' names, shapes, strides and dilations against torchvision's. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/loss.h"
#include "nn/network.h"
#include "nn/optimizer.h"
#include "nn_nettest.h"
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

/* The fixture's network with the fixture's weights, activations in dtype; st stays open for the
 * caller. */
static dlcc_nn_network *fixture_network_of(dlcc_safetensors **st, dlcc_nn_dtype dtype) {
  *st = lt_fixture_open("resnet_small");
  dlcc_nn_net_desc desc = fixture_desc(*st);
  desc.dtype = dtype;
  dlcc_nn_network *net = nt_create(&desc);
  size_t loaded = 0;
  dlcc_error err;
  if (dlcc_nn_params_load(&net->params, (*st)->path, NULL, 0, &loaded, &err)) fail_msg("%s", err.message);
  assert_int_equal(loaded, net->params.count);
  return net;
}

static dlcc_nn_network *fixture_network(dlcc_safetensors **st) {
  return fixture_network_of(st, DLCC_NN_F32);
}

static void expect_heads_match(dlcc_nn_network *net, dlcc_nn_engine *e, const dlcc_safetensors *st) {
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    size_t n;
    float *y = nt_head(net, e, (dlcc_nn_head)h, &n);
    char name[96];
    snprintf(name, sizeof name, "output.%s", dlcc_nn_head_name((dlcc_nn_head)h));
    lt_expect_close(st, name, y, n);
    free(y);
  }
}

static void test_small_resnet_heads_and_gradients_match_pytorch(void **state) {
  (void)state;
  dlcc_safetensors *st;
  dlcc_nn_network *net = fixture_network(&st);
  dlcc_nn_engine *e = lt_engine();
  int64_t dims[4];
  float *x = lt_read4(st, "input", dims);
  for (int h = 0; h < DLCC_NN_HEADS; h++) assert_true(dlcc_nn_network_has_head(net, (dlcc_nn_head)h));
  nt_forward(net, e, x, dims, DLCC_NN_TRAINING);
  expect_heads_match(net, e, st);
  float *g[DLCC_NN_HEADS];
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    char name[96];
    size_t n;
    snprintf(name, sizeof name, "grad.output.%s", dlcc_nn_head_name((dlcc_nn_head)h));
    g[h] = nt_read(st, name, &n);
  }
  nt_backward(net, e, g);
  size_t compared = 0, trained = 0;
  for (size_t i = 0; i < net->params.count; i++) {
    const dlcc_nn_param *p = &net->params.items[i];
    if (p->kind == DLCC_NN_PARAM_STATE) continue;
    trained++;
    char name[160];
    size_t n;
    snprintf(name, sizeof name, "grad.%s", p->name);
    float *want = nt_read(st, name, &n);
    assert_int_equal(n, p->count);
    double rel = lt_relative_error(dlcc_nn_param_grads(&net->params, i), want, n);
    if (rel >= 1e-4) fail_msg("%s differs from PyTorch by %g (relative)", name, rel);
    compared++;
    free(want);
  }
  assert_int_equal(compared, trained);
  assert_true(trained > 100);
  /* frozen batch norm: inference gives the same heads */
  nt_forward(net, e, x, dims, DLCC_NN_INFERENCE);
  expect_heads_match(net, e, st);
  nt_free_heads(g);
  free(x);
  dlcc_safetensors_close(st);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

/* bf16 activations (f32 parameters and gradients): the same network within bf16's 8 significant
 * bits, where oneDNN has bf16 kernels; elsewhere the first layer refuses, naming the ISA. */
static void test_small_resnet_in_bf16_tracks_pytorch(void **state) {
  (void)state;
  dlcc_safetensors *st;
  dlcc_nn_network *net = fixture_network_of(&st, DLCC_NN_BF16);
  dlcc_nn_engine *e = lt_engine();
  int64_t dims[4];
  float *x = lt_read4(st, "input", dims);
  const char *isa;
  dlcc_error err;
  if (!lt_cpu_has_bf16(&isa)) {
    assert_int_equal(dlcc_nn_network_forward(net, e, x, dims, DLCC_NN_TRAINING, &err), DLCC_ERR_UNSUPPORTED);
    assert_contains(err.message, "oneDNN has no implementation");
  } else {
    nt_forward(net, e, x, dims, DLCC_NN_TRAINING);
    float *g[DLCC_NN_HEADS];
    double worst = 0;
    for (int h = 0; h < DLCC_NN_HEADS; h++) {
      char name[96];
      size_t n, m;
      snprintf(name, sizeof name, "output.%s", dlcc_nn_head_name((dlcc_nn_head)h));
      float *y = nt_head(net, e, (dlcc_nn_head)h, &n), *want = nt_read(st, name, &m);
      worst = fmax(worst, lt_relative_error(y, want, n));
      snprintf(name, sizeof name, "grad.output.%s", dlcc_nn_head_name((dlcc_nn_head)h));
      g[h] = nt_read(st, name, &n);
      free(y);
      free(want);
    }
    nt_backward(net, e, g);
    /* Gradients are compared by their direction and size (L2), not element by element: the fixture's
     * random head gradients make each weight's gradient a sum of many terms of both signs, whose
     * cancellation amplifies bf16's 0.4% rounding of activations and their gradients. PyTorch 1.13's
     * bf16 autocast on this fixture (AVX-512 bf16 CPU) is as far from the float64 reference: heads
     * 0.0125, gradients 0.129 overall and 0.383 in the worst tensor; the bounds are 1.5x those. */
    double diff2 = 0, norm2 = 0, worst_tensor = 0;
    for (size_t i = 0; i < net->params.count; i++) {
      const dlcc_nn_param *p = &net->params.items[i];
      if (p->kind == DLCC_NN_PARAM_STATE) continue;
      char name[160];
      size_t n;
      snprintf(name, sizeof name, "grad.%s", p->name);
      float *want = nt_read(st, name, &n);
      const float *got = dlcc_nn_param_grads(&net->params, i);
      double d = 0, b = 0;
      for (size_t j = 0; j < n; j++) {
        d += ((double)got[j] - want[j]) * ((double)got[j] - want[j]);
        b += (double)want[j] * want[j];
      }
      diff2 += d, norm2 += b;
      worst_tensor = fmax(worst_tensor, b > 0 ? sqrt(d / b) : sqrt(d));
      free(want);
    }
    double overall = sqrt(diff2 / norm2);
    print_message("bf16 on %s: heads %.2g (max relative), parameter gradients %.2g overall, %.2g in the worst "
                  "tensor (relative L2)\n", isa, worst, overall, worst_tensor);
    assert_true(worst < 0.019);
    assert_true(overall < 0.19);
    assert_true(worst_tensor < 0.57);
    nt_free_heads(g);
  }
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

static void test_small_resnet_gradients_match_finite_differences(void **state) {
  (void)state;
  dlcc_safetensors *st;
  dlcc_nn_network *net = fixture_network(&st);
  dlcc_nn_engine *e = lt_engine();
  int64_t dims[4];
  float *x = lt_read4(st, "input", dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 31);
  float *g[DLCC_NN_HEADS];
  size_t n[DLCC_NN_HEADS];
  nt_random_head_grads(net, dims, &rng, g, n);
  nt_forward(net, e, x, dims, DLCC_NN_TRAINING);
  nt_backward(net, e, g);
  /* across the depth: stem, identity and projection shortcuts, dilated layer4, batch norm's
   * affine parameters, every head */
  const probe probes[] = {
    {"conv1.weight", 0}, {"conv1.weight", 77}, {"bn1.bias", 1}, {"layer1.0.conv2.weight", 5},
    {"layer2.0.downsample.0.weight", 3}, {"layer2.1.bn2.weight", 2}, {"layer3.1.conv2.weight", 10},
    {"layer4.1.conv2.weight", 13}, {"layer4.1.bn3.weight", 7}, {"part_pred.bias", 2}, {"locref.weight", 11},
    {"pairwise_pred.weight", 30}, {"intermediate_part_pred.weight", 9},
  };
  /* f32 rounding of the loss (small eps) fights ReLU and max-pool kinks (large eps): either can
   * leave one step a few percent off, and which one depends on the CPU's accumulation order (AVX2
   * and AVX-512 kernels differ), so a probe passes when one of three steps agrees within 5%. A
   * wrong gradient disagrees at every step. (PyTorch's fixture checks these gradients to 1e-4.) */
  const double steps[] = {1e-3, 3e-3, 3e-4};
  for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
    long idx = nt_param(net, probes[k].param);
    float *v = dlcc_nn_param_values(&net->params, (size_t)idx) + probes[k].element;
    double analytic = dlcc_nn_param_grads(&net->params, (size_t)idx)[probes[k].element], numeric[3];
    float saved = *v;
    bool agrees = false;
    for (size_t s = 0; s < 3 && !agrees; s++) {
      double loss[2];
      for (int side = 0; side < 2; side++) {
        *v = saved + (float)(side ? -steps[s] : steps[s]);
        dlcc_nn_params_changed(&net->params);
        nt_forward(net, e, x, dims, DLCC_NN_INFERENCE);
        loss[side] = nt_linear_loss(net, e, g);
      }
      numeric[s] = (loss[0] - loss[1]) / (2 * steps[s]);
      agrees = fabs(numeric[s] - analytic) <= 5e-2 * fmax(fabs(analytic), 1e-2);
    }
    *v = saved;
    dlcc_nn_params_changed(&net->params);
    if (!agrees)
      fail_msg("%s[%zu]: backward %.6g, finite differences %.6g, %.6g, %.6g (steps 1e-3, 3e-3, 3e-4)",
               probes[k].param, probes[k].element, analytic, numeric[0], numeric[1], numeric[2]);
  }
  nt_free_heads(g);
  free(x);
  dlcc_safetensors_close(st);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

/* ---- Sizes ----------------------------------------------------------------------------------- */

static dlcc_nn_net_desc tiny_desc(int width, int blocks) {
  dlcc_nn_net_desc d = dlcc_nn_net_desc_default("resnet_50", 2);
  d.width = width;
  for (int i = 0; i < 4; i++) d.blocks[i] = blocks;
  d.num_limbs = 1;
  d.intermediate_supervision = true;
  d.intermediate_supervision_layer = 1;
  return d;
}

static void test_heads_are_twice_ceil_input_over_16_for_odd_sizes(void **state) {
  (void)state;
  dlcc_nn_net_desc desc = tiny_desc(2, 1);
  dlcc_nn_network *net = nt_create(&desc);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 5);
  dlcc_nn_network_init_random(net, &rng);
  dlcc_nn_engine *e = lt_engine();
  /* (H, W) and the expected head size: 2 * ceil(H / 16), 2 * ceil(W / 16) */
  const int64_t cases[][4] = {{33, 47, 6, 6}, {17, 16, 4, 2}, {1, 1, 2, 2}, {49, 95, 8, 12}, {64, 48, 8, 6}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int64_t dims[4] = {2, 3, cases[c][0], cases[c][1]}, out[4];
    float *x = malloc(lt_count4(dims) * sizeof *x);
    for (size_t i = 0; i < lt_count4(dims); i++) x[i] = (float)(255 * dlcc_rng_uniform(&rng));
    nt_forward(net, e, x, dims, DLCC_NN_INFERENCE);
    const int64_t channels[DLCC_NN_HEADS] = {2, 4, 2, 2};
    for (int h = 0; h < DLCC_NN_HEADS; h++) {
      dlcc_error err;
      if (dlcc_nn_network_output_dims(net, (dlcc_nn_head)h, dims, out, &err)) fail_msg("%s", err.message);
      const int64_t want[4] = {2, channels[h], cases[c][2], cases[c][3]};
      assert_memory_equal(out, want, sizeof want);
      assert_memory_equal(net->nodes[net->heads[h]].y.dims, want, sizeof want);
    }
    free(x);
  }
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

/* ---- Training ------------------------------------------------------------------------------ */

typedef struct train_rig {
  dlcc_nn_network *net;
  dlcc_nn_engine *e;
  int64_t dims[4];
  float *x, *part_target, *locref_target, *part_grad, *locref_grad;
  size_t part_n, locref_n;
  dlcc_nn_loss_spec spec;
} train_rig;

/* One forward and the loss DeepLabCut trains with (score-map cross-entropy + 0.05 x Huber on
 * locref), the heads' gradients left in the rig. */
static double train_forward(train_rig *r) {
  nt_forward(r->net, r->e, r->x, r->dims, DLCC_NN_TRAINING);
  size_t n;
  float *part = nt_head(r->net, r->e, DLCC_NN_HEAD_PART, &n), *locref = nt_head(r->net, r->e, DLCC_NN_HEAD_LOCREF, &n);
  dlcc_nn_loss_batch batch = {
    .part = {.pred = part, .target = r->part_target, .grad = r->part_grad, .count = r->part_n},
    .locref = {.pred = locref, .target = r->locref_target, .grad = r->locref_grad, .count = r->locref_n},
  };
  dlcc_nn_losses losses;
  dlcc_error err;
  if (dlcc_nn_total_loss(&r->spec, &batch, &losses, &err)) fail_msg("%s", err.message);
  free(part);
  free(locref);
  return losses.total;
}

static double grad_norm2(const dlcc_nn_params *p) {
  double s = 0;
  for (size_t i = 0; i < p->trained; i++) s += (double)p->grads[i] * p->grads[i];
  return s;
}

static void test_two_sgd_steps_lower_the_loss_as_the_gradient_predicts(void **state) {
  (void)state;
  train_rig r = {0};
  dlcc_nn_net_desc desc = tiny_desc(4, 2);
  desc.num_limbs = 0;
  desc.intermediate_supervision = false;
  r.net = nt_create(&desc);
  r.e = lt_engine();
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 2024);
  dlcc_nn_network_init_random(r.net, &rng);
  const int64_t dims[4] = {2, 3, 48, 64};
  memcpy(r.dims, dims, sizeof dims);
  r.x = malloc(lt_count4(dims) * sizeof *r.x);
  for (size_t i = 0; i < lt_count4(dims); i++) r.x[i] = (float)(255 * dlcc_rng_uniform(&rng));
  r.part_n = 2 * 2 * 6 * 8;
  r.locref_n = 2 * r.part_n;
  r.part_target = calloc(r.part_n, sizeof(float));
  r.locref_target = malloc(r.locref_n * sizeof(float));
  r.part_grad = malloc(r.part_n * sizeof(float));
  r.locref_grad = malloc(r.locref_n * sizeof(float));
  for (size_t i = 0; i < r.part_n; i++) r.part_target[i] = dlcc_rng_uniform(&rng) < 0.2 ? 1.0f : 0.0f;
  lt_fill_normal(&rng, r.locref_target, r.locref_n, 1.0);
  r.spec = (dlcc_nn_loss_spec){.location_refinement = true, .locref_kind = DLCC_NN_LOSS_HUBER,
                               .locref_loss_weight = 0.05};
  dlcc_nn_optimizer opt;
  dlcc_error err;
  if (dlcc_nn_optimizer_init(&opt, DLCC_NN_OPT_SGD, 0.0, &r.net->params, &err)) fail_msg("%s", err.message);
  float *g[DLCC_NN_HEADS] = {r.part_grad, r.locref_grad, NULL, NULL};

  double loss1 = train_forward(&r);
  nt_backward(r.net, r.e, g);
  /* The first momentum step is w -= lr * grad: to first order the loss falls by lr * |grad|^2.
   * lr is chosen for a 1% fall, small enough for the first-order prediction to hold. */
  double norm2 = grad_norm2(&r.net->params), lr = 0.01 * loss1 / norm2, predicted = lr * norm2;
  if (dlcc_nn_optimizer_step(&opt, &r.net->params, lr, &err)) fail_msg("%s", err.message);
  double loss2 = train_forward(&r);
  if (fabs((loss1 - loss2) - predicted) > 0.2 * predicted)
    fail_msg("loss %.6g -> %.6g, the gradient predicted a fall of %.6g", loss1, loss2, predicted);
  nt_backward(r.net, r.e, g);
  if (dlcc_nn_optimizer_step(&opt, &r.net->params, lr, &err)) fail_msg("%s", err.message);
  double loss3 = train_forward(&r);
  assert_true(loss3 < loss2);

  dlcc_nn_optimizer_free(&opt);
  free(r.x), free(r.part_target), free(r.locref_target), free(r.part_grad), free(r.locref_grad);
  dlcc_nn_network_free(r.net);
  dlcc_nn_engine_free(r.e);
}

/* ---- The real networks' structure ---------------------------------------------------------- */

static const dlcc_nn_conv *find_conv(const dlcc_nn_network *net, const char *name) {
  for (int i = 0; i < net->n_nodes; i++)
    if (net->nodes[i].kind == DLCC_NN_NODE_CONV && strcmp(net->nodes[i].layer.conv.name, name) == 0)
      return &net->nodes[i].layer.conv;
  fail_msg("no convolution %s", name);
  return NULL;
}

static void expect_shape(const dlcc_nn_network *net, const char *name, int ndims, const int64_t *dims) {
  const dlcc_nn_param *p = &net->params.items[nt_param(net, name)];
  assert_int_equal(p->ndims, ndims);
  assert_memory_equal(p->dims, dims, (size_t)ndims * sizeof *dims);
}

static bool is_head_param(const char *name) {
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    size_t k = strlen(dlcc_nn_head_name((dlcc_nn_head)h));
    if (strncmp(name, dlcc_nn_head_name((dlcc_nn_head)h), k) == 0 && name[k] == '.') return true;
  }
  return false;
}

static void test_resnets_have_torchvisions_tensors(void **state) {
  (void)state;
  /* torchvision's state_dict without fc and num_batches_tracked: tensors and floats */
  const struct { const char *net_type; size_t tensors, floats; } want[] = {
    {"resnet_50", 265, 23561152}, {"resnet_101", 520, 42605504}, {"resnet_152", 775, 58295232},
  };
  for (size_t k = 0; k < 3; k++) {
    dlcc_nn_net_desc desc = dlcc_nn_net_desc_default(want[k].net_type, 4);
    desc.intermediate_supervision = true;
    desc.intermediate_supervision_layer = 3;
    dlcc_nn_network *net = nt_create(&desc);
    size_t tensors = 0, floats = 0;
    for (size_t i = 0; i < net->params.count; i++) {
      if (is_head_param(net->params.items[i].name)) continue;
      tensors++;
      floats += net->params.items[i].count;
    }
    assert_int_equal(tensors, want[k].tensors);
    assert_int_equal(floats, want[k].floats);
    assert_int_equal(net->params.count, want[k].tensors + 6);
    expect_shape(net, "part_pred.weight", 4, (const int64_t[]){2048, 4, 3, 3});
    expect_shape(net, "locref.bias", 1, (const int64_t[]){8});
    expect_shape(net, "intermediate_part_pred.weight", 4, (const int64_t[]){1024, 4, 3, 3});
    dlcc_nn_network_free(net);
  }
}

static void test_resnet_50_strides_and_dilations_are_torchvisions_output_stride_16(void **state) {
  (void)state;
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default("resnet_50", 4);
  dlcc_nn_network *net = nt_create(&desc);
  expect_shape(net, "conv1.weight", 4, (const int64_t[]){64, 3, 7, 7});
  expect_shape(net, "layer1.0.downsample.0.weight", 4, (const int64_t[]){256, 64, 1, 1});
  expect_shape(net, "layer4.0.downsample.0.weight", 4, (const int64_t[]){2048, 1024, 1, 1});
  expect_shape(net, "layer3.5.bn3.running_var", 1, (const int64_t[]){1024});
  /* v1.5: the stride on the 3x3 convolution; layer4 dilated instead of strided, its first block
   * keeping the previous dilation as torchvision's _make_layer does */
  const struct { const char *conv; int64_t stride, dilation, padding; } want[] = {
    {"conv1", 2, 1, 3}, {"layer1.0.conv2", 1, 1, 1}, {"layer2.0.conv1", 1, 1, 0}, {"layer2.0.conv2", 2, 1, 1},
    {"layer2.0.downsample.0", 2, 1, 0}, {"layer3.0.conv2", 2, 1, 1}, {"layer3.5.conv2", 1, 1, 1},
    {"layer4.0.conv2", 1, 1, 1}, {"layer4.0.downsample.0", 1, 1, 0}, {"layer4.1.conv2", 1, 2, 2},
    {"layer4.2.conv2", 1, 2, 2},
  };
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
    const dlcc_nn_conv *c = find_conv(net, want[k].conv);
    if (c->spec.stride[0] != want[k].stride || c->spec.dilation[0] != want[k].dilation ||
        c->spec.padding[0] != want[k].padding || c->spec.bias)
      fail_msg("%s: stride %lld dilation %lld padding %lld bias %d", want[k].conv, (long long)c->spec.stride[0],
               (long long)c->spec.dilation[0], (long long)c->spec.padding[0], (int)c->spec.bias);
  }
  assert_false(dlcc_nn_network_has_head(net, DLCC_NN_HEAD_PAIRWISE));
  assert_false(dlcc_nn_network_has_head(net, DLCC_NN_HEAD_PART_INTERM));
  dlcc_nn_network_free(net);
}

static void test_intermediate_layer_beyond_block_3_is_refused(void **state) {
  (void)state;
  /* pose_cfg's default 12 fits resnet_101's 23 units of block 3, not resnet_50's 6 */
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default("resnet_50", 4);
  desc.intermediate_supervision = true;
  desc.intermediate_supervision_layer = 12;
  dlcc_nn_network *net = NULL;
  dlcc_error err;
  assert_int_equal(dlcc_nn_network_create(&net, &desc, &err), DLCC_ERR_INVALID);
  assert_null(net);
  assert_contains(err.message, "intermediate_supervision_layer is 12, but block 3 of resnet_50 (layer3) has units 1 to 6");
  snprintf(desc.net_type, sizeof desc.net_type, "resnet_101");
  net = nt_create(&desc);
  expect_shape(net, "intermediate_part_pred.weight", 4, (const int64_t[]){1024, 4, 3, 3});
  /* the head reads unit 12 = layer3.11 */
  const dlcc_nn_node *head = &net->nodes[net->heads[DLCC_NN_HEAD_PART_INTERM]];
  const dlcc_nn_node *unit = &net->nodes[head->inputs[0]];
  assert_int_equal(unit->kind, DLCC_NN_NODE_ADD);
  assert_string_equal(unit->layer.add.name, "layer3.11.add");
  dlcc_nn_network_free(net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_small_resnet_heads_and_gradients_match_pytorch),
    cmocka_unit_test(test_small_resnet_in_bf16_tracks_pytorch),
    cmocka_unit_test(test_small_resnet_gradients_match_finite_differences),
    cmocka_unit_test(test_heads_are_twice_ceil_input_over_16_for_odd_sizes),
    cmocka_unit_test(test_two_sgd_steps_lower_the_loss_as_the_gradient_predicts),
    cmocka_unit_test(test_resnets_have_torchvisions_tensors),
    cmocka_unit_test(test_resnet_50_strides_and_dilations_are_torchvisions_output_stride_16),
    cmocka_unit_test(test_intermediate_layer_beyond_block_3_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
