/* Tests of src/nn/mobilenet.c through the network: a reduced MobileNetV2 (width 0.1, last layer 24
 * channels) with batch statistics against PyTorch (every head, every parameter gradient, the
 * running statistics after the forward; tests/fixtures/mobilenet_small.safetensors), finite
 * differences, head sizes, and the real widths' names, shapes and strides against torchvision's. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/network.h"
#include "nn_nettest.h"
#include "testutil.h"
#include "util/rng.h"

static dlcc_nn_network *fixture_network(dlcc_safetensors **st) {
  *st = lt_fixture_open("mobilenet_small");
  dlcc_nn_net_desc d = dlcc_nn_net_desc_default(lt_meta(*st, "net_type"), (int)lt_meta_int(*st, "num_joints"));
  d.num_limbs = (int)lt_meta_int(*st, "num_limbs");
  d.intermediate_supervision = true;
  d.intermediate_supervision_layer = (int)lt_meta_int(*st, "intermediate_supervision_layer");
  d.width_multiplier = strtod(lt_meta(*st, "width_multiplier"), NULL);
  d.last_channels = (int)lt_meta_int(*st, "last_channels");
  /* DeepLabCut's MobileNetV2 trains with batch statistics, slim's decay 0.997 */
  assert_int_equal(d.bn_stats, DLCC_NN_BN_BATCH);
  assert_true(fabs(d.bn_momentum - strtod(lt_meta(*st, "bn_momentum"), NULL)) < 1e-12);
  dlcc_nn_network *net = nt_create(&d);
  size_t loaded = 0;
  dlcc_error err;
  if (dlcc_nn_params_load(&net->params, (*st)->path, NULL, 0, &loaded, &err)) fail_msg("%s", err.message);
  assert_int_equal(loaded, net->params.count);
  return net;
}

/* The largest |gradient| PyTorch gives any parameter: the scale of "zero" below. */
static double largest_gradient(const dlcc_safetensors *st, const dlcc_nn_network *net) {
  double largest = 0;
  for (size_t i = 0; i < net->params.count; i++) {
    if (net->params.items[i].kind == DLCC_NN_PARAM_STATE) continue;
    char name[160];
    size_t n;
    snprintf(name, sizeof name, "grad.%s", net->params.items[i].name);
    float *want = nt_read(st, name, &n);
    for (size_t k = 0; k < n; k++) largest = fmax(largest, fabs(want[k]));
    free(want);
  }
  return largest;
}

/* got against the fixture's tensor name: relative error below 1e-4, except where PyTorch's value is
 * zero up to float64 rounding: the bias of a projection's batch norm when the next batch norm (with
 * batch statistics) removes any constant shift, whose gradient is exactly zero. There dlcc's f32
 * rounding must stay below 1e-6 of the largest gradient. */
static void expect_param_close(const dlcc_safetensors *st, const char *name, const float *got, size_t count,
                               double largest) {
  size_t n;
  float *want = nt_read(st, name, &n);
  assert_int_equal(n, count);
  double scale = 0, gap = 0;
  for (size_t k = 0; k < n; k++) {
    scale = fmax(scale, fabs(want[k]));
    gap = fmax(gap, fabs((double)got[k] - want[k]));
  }
  if (scale < 1e-9 * largest) {
    if (gap >= 1e-6 * largest) fail_msg("%s is zero in PyTorch, %g in dlcc", name, gap);
  } else if (gap >= 1e-4 * scale) {
    fail_msg("%s differs from PyTorch by %g (relative)", name, gap / scale);
  }
  free(want);
}

static void test_small_mobilenet_heads_gradients_and_statistics_match_pytorch(void **state) {
  (void)state;
  dlcc_safetensors *st;
  dlcc_nn_network *net = fixture_network(&st);
  dlcc_nn_engine *e = lt_engine();
  int64_t dims[4];
  float *x = lt_read4(st, "input", dims), *g[DLCC_NN_HEADS];
  nt_forward(net, e, x, dims, DLCC_NN_TRAINING);
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    char name[96];
    size_t n;
    float *y = nt_head(net, e, (dlcc_nn_head)h, &n);
    snprintf(name, sizeof name, "output.%s", dlcc_nn_head_name((dlcc_nn_head)h));
    lt_expect_close(st, name, y, n);
    free(y);
    snprintf(name, sizeof name, "grad.output.%s", dlcc_nn_head_name((dlcc_nn_head)h));
    g[h] = nt_read(st, name, &n);
  }
  nt_backward(net, e, g);
  size_t grads = 0, stats = 0;
  double largest = largest_gradient(st, net);
  for (size_t i = 0; i < net->params.count; i++) {
    const dlcc_nn_param *p = &net->params.items[i];
    char name[160];
    bool state_param = p->kind == DLCC_NN_PARAM_STATE;
    snprintf(name, sizeof name, "%s.%s", state_param ? "updated" : "grad", p->name);
    expect_param_close(st, name, state_param ? dlcc_nn_param_values(&net->params, i)
                                             : dlcc_nn_param_grads(&net->params, i), p->count, largest);
    *(state_param ? &stats : &grads) += 1;
  }
  assert_int_equal(stats, 2 * 52); /* 52 batch norms */
  assert_int_equal(grads + stats, net->params.count);
  nt_free_heads(g);
  free(x);
  dlcc_safetensors_close(st);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

static void test_small_mobilenet_gradients_match_finite_differences(void **state) {
  (void)state;
  dlcc_safetensors *st;
  dlcc_nn_network *net = fixture_network(&st);
  dlcc_nn_engine *e = lt_engine();
  int64_t dims[4];
  float *x = lt_read4(st, "input", dims), *g[DLCC_NN_HEADS];
  size_t n[DLCC_NN_HEADS];
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 77);
  nt_random_head_grads(net, dims, &rng, g, n);
  nt_forward(net, e, x, dims, DLCC_NN_TRAINING);
  nt_backward(net, e, g);
  /* the stem, a depthwise kernel, a residual block's projection, the stride-1 block 14, batch
   * norm's affine parameters (through the batch statistics), the last layer and every head */
  const struct { const char *param; size_t element; } probes[] = {
    {"features.13.conv.1.1.weight", 5}, {"features.14.conv.1.0.weight", 8},
    {"features.15.conv.0.0.weight", 100}, {"features.17.conv.3.weight", 3},
    {"features.17.conv.2.weight", 50}, {"features.18.0.weight", 40}, {"features.18.1.bias", 4},
    {"part_pred.weight", 5}, {"locref.bias", 1}, {"pairwise_pred.weight", 2},
    {"intermediate_part_pred.weight", 7},
  };
  const double eps = 1e-3;
  for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
    long idx = nt_param(net, probes[k].param);
    float *v = dlcc_nn_param_values(&net->params, (size_t)idx) + probes[k].element, saved = *v;
    double analytic = dlcc_nn_param_grads(&net->params, (size_t)idx)[probes[k].element], loss[2];
    for (int side = 0; side < 2; side++) {
      *v = saved + (float)(side ? -eps : eps);
      dlcc_nn_params_changed(&net->params);
      nt_forward(net, e, x, dims, DLCC_NN_TRAINING); /* batch statistics, as the gradient saw them */
      loss[side] = nt_linear_loss(net, e, g);
    }
    *v = saved;
    dlcc_nn_params_changed(&net->params);
    double numeric = (loss[0] - loss[1]) / (2 * eps);
    if (fabs(numeric - analytic) > 2e-2 * fmax(fabs(analytic), 1e-2))
      fail_msg("%s[%zu]: backward %.6g, finite differences %.6g", probes[k].param, probes[k].element, analytic,
               numeric);
  }
  nt_free_heads(g);
  free(x);
  dlcc_safetensors_close(st);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

static void test_mobilenet_heads_are_twice_ceil_input_over_16(void **state) {
  (void)state;
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default("mobilenet_v2_0.35", 2);
  desc.width_multiplier = 0.1;
  desc.last_channels = 16;
  dlcc_nn_network *net = nt_create(&desc);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 8);
  dlcc_nn_network_init_random(net, &rng);
  dlcc_nn_engine *e = lt_engine();
  const int64_t cases[][4] = {{33, 47, 6, 6}, {17, 16, 4, 2}, {49, 95, 8, 12}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int64_t dims[4] = {1, 3, cases[c][0], cases[c][1]}, out[4];
    float *x = malloc(lt_count4(dims) * sizeof *x);
    for (size_t i = 0; i < lt_count4(dims); i++) x[i] = (float)(255 * dlcc_rng_uniform(&rng));
    nt_forward(net, e, x, dims, DLCC_NN_INFERENCE);
    dlcc_error err;
    if (dlcc_nn_network_output_dims(net, DLCC_NN_HEAD_LOCREF, dims, out, &err)) fail_msg("%s", err.message);
    const int64_t want[4] = {1, 4, cases[c][2], cases[c][3]};
    assert_memory_equal(out, want, sizeof want);
    assert_memory_equal(net->nodes[net->heads[DLCC_NN_HEAD_LOCREF]].y.dims, want, sizeof want);
    free(x);
  }
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

static const dlcc_nn_conv *find_conv(const dlcc_nn_network *net, const char *name) {
  for (int i = 0; i < net->n_nodes; i++)
    if (net->nodes[i].kind == DLCC_NN_NODE_CONV && strcmp(net->nodes[i].layer.conv.name, name) == 0)
      return &net->nodes[i].layer.conv;
  fail_msg("no convolution %s", name);
  return NULL;
}

static void test_mobilenets_have_torchvisions_tensors_and_dlcs_stride(void **state) {
  (void)state;
  /* torchvision's mobilenet_v2(width_mult) features without num_batches_tracked */
  const struct { const char *net_type; size_t floats; int64_t block11_out, last_in; } want[] = {
    {"mobilenet_v2_1.0", 2257984, 96, 320}, {"mobilenet_v2_0.75", 1382064, 72, 240},
    {"mobilenet_v2_0.5", 706224, 48, 160}, {"mobilenet_v2_0.35", 410208, 32, 112},
  };
  for (size_t k = 0; k < 4; k++) {
    dlcc_nn_net_desc desc = dlcc_nn_net_desc_default(want[k].net_type, 4);
    desc.intermediate_supervision = true;
    desc.intermediate_supervision_layer = 12; /* pose_cfg's default: features.11 */
    dlcc_nn_network *net = nt_create(&desc);
    size_t tensors = 0, floats = 0;
    for (size_t i = 0; i < net->params.count; i++)
      if (strncmp(net->params.items[i].name, "features.", 9) == 0) {
        tensors++;
        floats += net->params.items[i].count;
      }
    assert_int_equal(tensors, 260);
    assert_int_equal(floats, want[k].floats);
    const dlcc_nn_param *last = &net->params.items[nt_param(net, "features.18.0.weight")];
    assert_int_equal(last->dims[0], 1280);
    assert_int_equal(last->dims[1], want[k].last_in);
    const dlcc_nn_param *interm = &net->params.items[nt_param(net, "intermediate_part_pred.weight")];
    assert_int_equal(interm->dims[0], want[k].block11_out);
    const dlcc_nn_param *part = &net->params.items[nt_param(net, "part_pred.weight")];
    assert_int_equal(part->dims[0], 1280);
    /* strides 2 at features.0, 2, 4 and 7; DeepLabCut's stride 1 at 14; no dilation anywhere */
    const char *strided[] = {"features.0.0", "features.2.conv.1.0", "features.4.conv.1.0", "features.7.conv.1.0"};
    for (int s = 0; s < 4; s++) assert_int_equal(find_conv(net, strided[s])->spec.stride[0], 2);
    const dlcc_nn_conv *block14 = find_conv(net, "features.14.conv.1.0");
    assert_int_equal(block14->spec.stride[0], 1);
    assert_int_equal(block14->spec.groups, block14->spec.in_channels);
    for (int i = 0; i < net->n_nodes; i++)
      if (net->nodes[i].kind == DLCC_NN_NODE_CONV) assert_int_equal(net->nodes[i].layer.conv.spec.dilation[0], 1);
    dlcc_nn_network_free(net);
  }
}

static void test_mobilenet_intermediate_layer_beyond_19_is_refused(void **state) {
  (void)state;
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default("mobilenet_v2_0.5", 4);
  desc.intermediate_supervision = true;
  desc.intermediate_supervision_layer = 20;
  dlcc_nn_network *net = NULL;
  dlcc_error err;
  assert_int_equal(dlcc_nn_network_create(&net, &desc, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "intermediate_supervision_layer is 20, but mobilenet_v2_0.5 has layers 1 to 19");
  snprintf(desc.net_type, sizeof desc.net_type, "mobilenet_v2_0.25");
  desc.intermediate_supervision = false;
  assert_int_equal(dlcc_nn_network_create(&net, &desc, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, "net_type 'mobilenet_v2_0.25' is not a MobileNetV2 dlcc builds");
  assert_null(net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_small_mobilenet_heads_gradients_and_statistics_match_pytorch),
    cmocka_unit_test(test_small_mobilenet_gradients_match_finite_differences),
    cmocka_unit_test(test_mobilenet_heads_are_twice_ceil_input_over_16),
    cmocka_unit_test(test_mobilenets_have_torchvisions_tensors_and_dlcs_stride),
    cmocka_unit_test(test_mobilenet_intermediate_layer_beyond_19_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
