/* Tests of src/nn/conv: gradients against finite differences, every result against PyTorch's
 * (tests/fixtures/conv_*.safetensors from tools/make-golden.py), plan reuse per input shape, error
 * messages, and bf16 where the CPU has oneDNN's bf16 kernels. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/conv.h"
#include "nn/safetensors.h"
#include "nn_layertest.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/rng.h"

/* A convolution with its own parameters, an engine and the tensors of one forward/backward. */
typedef struct rig {
  dlcc_nn_engine *e;
  dlcc_nn_params params;
  dlcc_nn_conv conv;
  dlcc_nn_tensor x, y, dy, dx;
  int64_t x_dims[4], y_dims[4];
} rig;

static void rig_open(rig *r, const dlcc_nn_conv_spec *spec, const int64_t x_dims[4]) {
  memset(r, 0, sizeof *r);
  dlcc_error err;
  if (dlcc_nn_engine_create(&r->e, 0, &err)) fail_msg("%s", err.message);
  dlcc_nn_params_init(&r->params);
  if (dlcc_nn_conv_init(&r->conv, "conv", spec, &r->params, &err)) fail_msg("%s", err.message);
  if (dlcc_nn_params_allocate(&r->params, &err)) fail_msg("%s", err.message);
  memcpy(r->x_dims, x_dims, sizeof r->x_dims);
  if (dlcc_nn_conv_output_dims(&r->conv, x_dims, r->y_dims, &err)) fail_msg("%s", err.message);
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_init(t[i]);
}

static void rig_close(rig *r) {
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_free(t[i]);
  dlcc_nn_conv_free(&r->conv);
  dlcc_nn_params_free(&r->params);
  dlcc_nn_engine_free(r->e);
}

/* y = conv(x) exported as plain NCHW f32 into y_out. */
static void rig_forward(rig *r, const float *x, float *y_out, dlcc_nn_mode mode) {
  dlcc_error err;
  if (dlcc_nn_tensor_import_nchw(&r->x, r->e, x, r->x_dims, DLCC_NN_F32, &err) ||
      dlcc_nn_conv_forward(&r->conv, r->e, &r->x, &r->y, mode, &err) ||
      dlcc_nn_tensor_export_nchw(&r->y, r->e, y_out, &err))
    fail_msg("%s", err.message);
}

/* Backward from dy (plain), after a training forward of x; dx exported into dx_out. */
static void rig_backward(rig *r, const float *dy, float *dx_out) {
  dlcc_error err;
  if (dlcc_nn_tensor_import_nchw(&r->dy, r->e, dy, r->y_dims, DLCC_NN_F32, &err) ||
      dlcc_nn_conv_backward(&r->conv, r->e, &r->x, &r->dy, &r->dx, &err) ||
      dlcc_nn_tensor_export_nchw(&r->dx, r->e, dx_out, &err))
    fail_msg("%s", err.message);
}

/* ---- Finite differences ------------------------------------------------------------------- */

/* The loss sum(y * g), accumulated in double. */
static double loss_of(rig *r, const float *x, const float *g, float *y) {
  rig_forward(r, x, y, DLCC_NN_TRAINING);
  double sum = 0;
  for (size_t i = 0; i < lt_count4(r->y_dims); i++) sum += (double)y[i] * g[i];
  return sum;
}

/* Central differences of the loss with respect to v[0..n) (x itself, or parameter values, in which
 * case the layer must be told that parameters changed). Convolution is linear in each of them, so
 * the difference is exact up to f32 rounding whatever the step; 0.1 keeps that rounding small. */
static void numeric_gradient(rig *r, float *x, const float *g, float *v, size_t n, int is_param, double *out) {
  const float step = 0.1f;
  float *y = malloc(lt_count4(r->y_dims) * sizeof *y);
  for (size_t i = 0; i < n; i++) {
    float keep = v[i];
    v[i] = keep + step;
    if (is_param) dlcc_nn_params_changed(&r->params);
    double up = loss_of(r, x, g, y);
    v[i] = keep - step;
    if (is_param) dlcc_nn_params_changed(&r->params);
    double down = loss_of(r, x, g, y);
    v[i] = keep;
    if (is_param) dlcc_nn_params_changed(&r->params);
    out[i] = (up - down) / (2.0 * step);
  }
  free(y);
}

static void check_gradients_numerically(const dlcc_nn_conv_spec *spec, const int64_t x_dims[4], uint64_t seed) {
  rig r;
  rig_open(&r, spec, x_dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  size_t nx = lt_count4(x_dims), ny = lt_count4(r.y_dims), np = r.params.trained;
  float *x = malloc(nx * sizeof *x), *g = malloc(ny * sizeof *g), *y = malloc(ny * sizeof *y);
  float *dx = malloc(nx * sizeof *dx);
  double *numeric = malloc((nx > np ? nx : np) * sizeof *numeric);
  lt_fill_normal(&rng, x, nx, 1.0);
  lt_fill_normal(&rng, g, ny, 1.0);
  for (size_t i = 0; i < r.params.count; i++)
    lt_fill_normal(&rng, dlcc_nn_param_values(&r.params, i), r.params.items[i].count, 0.3);
  dlcc_nn_params_changed(&r.params);

  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  rig_backward(&r, g, dx);
  float *grads = malloc(np * sizeof *grads);
  memcpy(grads, r.params.grads, np * sizeof *grads); /* finite differences rerun forward only */

  double scale, gap;
  numeric_gradient(&r, x, g, x, nx, 0, numeric);
  gap = lt_max_gap(numeric, dx, nx, &scale);
  if (gap > 1e-3 * scale) fail_msg("d(input): gap %g for gradients up to %g", gap, scale);
  for (size_t i = 0; i < r.params.count; i++) {
    const dlcc_nn_param *p = &r.params.items[i];
    numeric_gradient(&r, x, g, dlcc_nn_param_values(&r.params, i), p->count, 1, numeric);
    gap = lt_max_gap(numeric, grads + p->offset, p->count, &scale);
    if (gap > 1e-3 * scale) fail_msg("d(%s): gap %g for gradients up to %g", p->name, gap, scale);
  }
  free(x), free(g), free(y), free(dx), free(numeric), free(grads);
  rig_close(&r);
}

static void test_gradients_match_finite_differences_3x3_with_bias(void **state) {
  (void)state;
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_square(3, 4, 3);
  s.padding[0] = s.padding[1] = 1;
  const int64_t dims[4] = {2, 3, 5, 6};
  check_gradients_numerically(&s, dims, 1);
}

static void test_gradients_match_finite_differences_strided_dilated_grouped(void **state) {
  (void)state;
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_square(4, 6, 3);
  s.stride[0] = s.stride[1] = 2;
  s.padding[0] = 2, s.padding[1] = 1;
  s.dilation[0] = s.dilation[1] = 2;
  s.groups = 2;
  s.bias = false;
  const int64_t dims[4] = {1, 4, 7, 8};
  check_gradients_numerically(&s, dims, 2);
}

static void test_gradients_match_finite_differences_depthwise_stride2(void **state) {
  (void)state;
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_square(4, 4, 3);
  s.stride[0] = s.stride[1] = 2;
  s.padding[0] = s.padding[1] = 1;
  s.groups = 4;
  const int64_t dims[4] = {2, 4, 6, 6};
  check_gradients_numerically(&s, dims, 3);
}

static void test_gradients_match_finite_differences_1x1_stride2_even_input(void **state) {
  (void)state;
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_square(3, 5, 1);
  s.stride[0] = s.stride[1] = 2;
  const int64_t dims[4] = {1, 3, 6, 6}; /* the last row and column are never read */
  check_gradients_numerically(&s, dims, 4);
}

/* TensorFlow's 'SAME' pads where its output needs it, the odd row and column at the end. */
static void test_gradients_match_finite_differences_tf_same_stride2_even_and_odd(void **state) {
  (void)state;
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_tf_same(2, 3, 3, 2);
  const int64_t even[4] = {1, 2, 6, 8}, odd[4] = {2, 2, 5, 7};
  check_gradients_numerically(&s, even, 5);
  check_gradients_numerically(&s, odd, 6);
}

/* A 3x3 stride-2 sum (all-ones kernel, no bias) of x[i][j] = size * i + j, by hand:
 *   4x4: TensorFlow pads 0 before and 1 after (total (2 - 1) * 2 + 3 - 4 = 1), so output (0, 0)
 *     sums rows 0-2, columns 0-2: 12 * (0 + 1 + 2) + 3 * (0 + 1 + 2) = 45; (0, 1) columns 2-3:
 *     8 * 3 + 3 * 5 = 39; (1, 0) rows 2-3: 12 * 5 + 2 * 3 = 66; (1, 1): 8 * 5 + 2 * 5 = 50.
 *     (PyTorch's padding 1 would sum rows and columns 0-1 first: 0 + 1 + 4 + 5 = 10.)
 *   5x5: 1 before and 1 after (total 2): (0, 0) = 0 + 1 + 5 + 6 = 12; (1, 1) rows and columns
 *     1-3: 15 * 6 + 3 * 6 = 108; (2, 2) rows and columns 3-4: 18 + 19 + 23 + 24 = 84. */
static void test_tf_same_puts_the_odd_padding_at_the_end(void **state) {
  (void)state;
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_tf_same(1, 1, 3, 2);
  s.bias = false;
  const int64_t sizes[2] = {4, 5};
  const float want4[4] = {45, 39, 66, 50};
  for (int k = 0; k < 2; k++) {
    int64_t n = sizes[k];
    const int64_t dims[4] = {1, 1, n, n};
    rig r;
    rig_open(&r, &s, dims);
    assert_int_equal(r.y_dims[2], (n + 1) / 2);
    for (int i = 0; i < 9; i++) dlcc_nn_param_values(&r.params, r.conv.weight)[i] = 1;
    dlcc_nn_params_changed(&r.params);
    float x[25], y[9];
    for (int i = 0; i < n * n; i++) x[i] = (float)i;
    for (int mode = 0; mode < 2; mode++) {
      rig_forward(&r, x, y, mode ? DLCC_NN_TRAINING : DLCC_NN_INFERENCE);
      if (n == 4) {
        for (int i = 0; i < 4; i++) assert_float_equal(y[i], want4[i], 1e-4);
      } else {
        assert_float_equal(y[0], 12, 1e-4);
        assert_float_equal(y[4], 108, 1e-4);
        assert_float_equal(y[8], 84, 1e-4);
      }
    }
    rig_close(&r);
  }
}

/* ---- PyTorch golden fixtures -------------------------------------------------------------- */

static float *read_tensor(const dlcc_safetensors *st, const char *name, size_t *n) {
  const dlcc_st_tensor *t = dlcc_safetensors_find(st, name);
  if (!t) fail_msg("%s: no tensor %s", st->path, name);
  *n = t->nbytes / 4;
  float *v = malloc(*n * sizeof *v + 1);
  dlcc_error err;
  if (dlcc_safetensors_read_f32(st, name, t->ndims, t->shape, v, &err)) fail_msg("%s", err.message);
  return v;
}

static void expect_close(const dlcc_safetensors *st, const char *name, const float *got, size_t n) {
  size_t m;
  float *want = read_tensor(st, name, &m);
  assert_int_equal(m, n);
  double rel = lt_relative_error(got, want, n);
  if (rel >= 1e-4) fail_msg("%s: %s differs from PyTorch by %g (relative)", st->path, name, rel);
  free(want);
}

static void compare_with_pytorch(const char *fixture) {
  char *path = dlcc_strdupf("%s/%s.safetensors", getenv("DLCC_FIXTURES") ? getenv("DLCC_FIXTURES") : "tests/fixtures",
                            fixture);
  dlcc_safetensors *st = NULL;
  dlcc_error err;
  if (dlcc_safetensors_open(path, &st, &err)) fail_msg("%s", err.message);
  int64_t k = lt_meta_int(st, "kernel"), s = lt_meta_int(st, "stride"), p = lt_meta_int(st, "padding"),
          d = lt_meta_int(st, "dilation");
  dlcc_nn_conv_spec spec = {
    .in_channels = lt_meta_int(st, "in_channels"), .out_channels = lt_meta_int(st, "out_channels"),
    .kernel = {k, k}, .stride = {s, s}, .padding = {p, p}, .dilation = {d, d},
    .groups = lt_meta_int(st, "groups"), .bias = lt_meta_int(st, "bias") != 0,
  };
  const dlcc_st_tensor *in = dlcc_safetensors_find(st, "input");
  assert_non_null(in);
  rig r;
  rig_open(&r, &spec, in->shape);
  if (dlcc_nn_params_load(&r.params, path, NULL, 0, NULL, &err)) fail_msg("%s", err.message);
  size_t nx, ndy;
  float *x = read_tensor(st, "input", &nx), *dy = read_tensor(st, "grad.output", &ndy);
  float *y = malloc(lt_count4(r.y_dims) * sizeof *y), *dx = malloc(nx * sizeof *dx);
  assert_int_equal(ndy, lt_count4(r.y_dims));
  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  rig_backward(&r, dy, dx);
  expect_close(st, "output", y, ndy);
  expect_close(st, "grad.input", dx, nx);
  expect_close(st, "grad.conv.weight", dlcc_nn_param_grads(&r.params, r.conv.weight),
               r.params.items[r.conv.weight].count);
  if (spec.bias)
    expect_close(st, "grad.conv.bias", dlcc_nn_param_grads(&r.params, r.conv.bias), (size_t)spec.out_channels);
  rig_forward(&r, x, y, DLCC_NN_INFERENCE);
  expect_close(st, "output", y, ndy);
  free(x), free(dy), free(y), free(dx);
  rig_close(&r);
  dlcc_safetensors_close(st);
  free(path);
}

static void test_matches_pytorch_3x3_stride1_pad1(void **state) {
  (void)state;
  compare_with_pytorch("conv_3x3_s1_p1");
}

static void test_matches_pytorch_7x7_stride2_pad3_like_resnet_conv1(void **state) {
  (void)state;
  compare_with_pytorch("conv_7x7_s2_p3");
}

static void test_matches_pytorch_3x3_dilation2_pad2(void **state) {
  (void)state;
  compare_with_pytorch("conv_3x3_d2_p2");
}

static void test_matches_pytorch_depthwise_3x3_stride2(void **state) {
  (void)state;
  compare_with_pytorch("conv_dw_3x3_s2");
}

static void test_matches_pytorch_1x1_stride2(void **state) {
  (void)state;
  compare_with_pytorch("conv_1x1_s2");
}

/* ---- Plans, shapes and errors ------------------------------------------------------------- */

static void test_plans_are_built_once_per_input_shape(void **state) {
  (void)state;
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_square(3, 8, 3);
  s.padding[0] = s.padding[1] = 1;
  const int64_t a[4] = {1, 3, 8, 8}, b[4] = {1, 3, 12, 10};
  rig r;
  rig_open(&r, &s, a);
  float x[3 * 12 * 10], y1[8 * 8 * 8], y2[8 * 8 * 8], yb[8 * 12 * 10];
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 9);
  lt_fill_normal(&rng, x, 360, 1);
  lt_fill_normal(&rng, r.params.values, r.params.total, 0.3);
  dlcc_nn_params_changed(&r.params);
  rig_forward(&r, x, y1, DLCC_NN_INFERENCE);
  assert_int_equal(r.conv.plans.built, 1);
  dnnl_memory_t y_mem = r.y.buf.mem;
  rig_forward(&r, x, y2, DLCC_NN_INFERENCE);
  assert_int_equal(r.conv.plans.built, 1);
  assert_ptr_equal(r.y.buf.mem, y_mem); /* same shape: output memory reused as is */
  assert_memory_equal(y1, y2, sizeof y1);
  memcpy(r.x_dims, b, sizeof b);
  rig_forward(&r, x, yb, DLCC_NN_INFERENCE);
  assert_int_equal(r.y.dims[2], 12);
  assert_int_equal(r.y.dims[3], 10);
  memcpy(r.x_dims, a, sizeof a);
  rig_forward(&r, x, y2, DLCC_NN_INFERENCE);
  assert_int_equal(r.conv.plans.built, 2); /* back to the first shape: its plan was kept */
  assert_memory_equal(y1, y2, sizeof y1);
  rig_forward(&r, x, y2, DLCC_NN_TRAINING);
  assert_int_equal(r.conv.plans.built, 3); /* training is a plan of its own */
  assert_true(lt_relative_error(y2, y1, 512) < 1e-6);
  rig_close(&r);
}

static void test_least_recently_used_plan_is_dropped_beyond_capacity(void **state) {
  (void)state;
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_square(1, 1, 1);
  int64_t dims[4] = {1, 1, 2, 1};
  rig r;
  rig_open(&r, &s, dims);
  float x[2 * (DLCC_NN_PLAN_SLOTS + 1)] = {0}, y[2 * (DLCC_NN_PLAN_SLOTS + 1)];
  for (int w = 1; w <= DLCC_NN_PLAN_SLOTS + 1; w++) {
    r.x_dims[3] = w;
    rig_forward(&r, x, y, DLCC_NN_INFERENCE);
  }
  assert_int_equal(dlcc_nn_plan_cache_size(&r.conv.plans), DLCC_NN_PLAN_SLOTS);
  assert_int_equal(r.conv.plans.built, DLCC_NN_PLAN_SLOTS + 1);
  r.x_dims[3] = DLCC_NN_PLAN_SLOTS + 1; /* the newest shape: still cached */
  rig_forward(&r, x, y, DLCC_NN_INFERENCE);
  assert_int_equal(r.conv.plans.built, DLCC_NN_PLAN_SLOTS + 1);
  r.x_dims[3] = 1; /* the oldest: was dropped, built again */
  rig_forward(&r, x, y, DLCC_NN_INFERENCE);
  assert_int_equal(r.conv.plans.built, DLCC_NN_PLAN_SLOTS + 2);
  rig_close(&r);
}

static void test_wrong_input_and_gradient_shapes_are_named(void **state) {
  (void)state;
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_square(3, 4, 5);
  s.dilation[0] = s.dilation[1] = 2;
  const int64_t ok[4] = {1, 3, 9, 9}, channels[4] = {1, 4, 9, 9}, small[4] = {1, 3, 8, 9};
  rig r;
  rig_open(&r, &s, ok);
  assert_int_equal(r.y_dims[2], 1); /* 9 - 2 * (5 - 1) */
  dlcc_error err;
  float x[4 * 81] = {0};
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.x, r.e, x, channels, DLCC_NN_F32, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_conv_forward(&r.conv, r.e, &r.x, &r.y, DLCC_NN_INFERENCE, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "conv: the input has 4 channels, the layer takes 3");
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.x, r.e, x, small, DLCC_NN_F32, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_conv_forward(&r.conv, r.e, &r.x, &r.y, DLCC_NN_INFERENCE, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "conv: the input (8x9) is smaller than the dilated kernel (9) with padding 0");
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.x, r.e, x, ok, DLCC_NN_F32, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_conv_forward(&r.conv, r.e, &r.x, &r.y, DLCC_NN_TRAINING, &err), DLCC_OK);
  const int64_t wrong[4] = {1, 4, 2, 1};
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.dy, r.e, x, wrong, DLCC_NN_F32, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_conv_backward(&r.conv, r.e, &r.x, &r.dy, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "conv: the output gradient is 1x4x2x1 f32, the output 1x4x1x1 f32");
  dlcc_nn_tensor empty;
  dlcc_nn_tensor_init(&empty);
  assert_int_equal(dlcc_nn_conv_forward(&r.conv, r.e, &empty, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "conv: the input tensor is empty");
  rig_close(&r);
}

static void test_bad_specs_are_refused_before_declaring_parameters(void **state) {
  (void)state;
  dlcc_nn_params p;
  dlcc_nn_params_init(&p);
  dlcc_nn_conv conv;
  dlcc_error err;
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_square(6, 4, 3);
  s.groups = 4;
  assert_int_equal(dlcc_nn_conv_init(&conv, "layer1.0.conv2", &s, &p, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "layer1.0.conv2: 6 input and 4 output channels do not split into 4 groups");
  dlcc_nn_conv_free(&conv);
  s = dlcc_nn_conv_spec_square(6, 4, 3);
  s.stride[1] = 0;
  assert_int_equal(dlcc_nn_conv_init(&conv, "head", &s, &p, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "head: kernel, stride and dilation must be >= 1 and padding >= 0");
  dlcc_nn_conv_free(&conv);
  s = dlcc_nn_conv_spec_tf_same(6, 4, 3, 2);
  s.padding[0] = 1;
  assert_int_equal(dlcc_nn_conv_init(&conv, "decoder", &s, &p, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "decoder: TensorFlow's 'SAME' chooses the padding itself; padding must be 0");
  dlcc_nn_conv_free(&conv);
  assert_int_equal(p.count, 0);
  s = dlcc_nn_conv_spec_square(6, 4, 3);
  assert_int_equal(dlcc_nn_conv_init(&conv, "layer1.0.conv2", &s, &p, &err), DLCC_OK);
  assert_string_equal(p.items[0].name, "layer1.0.conv2.weight");
  assert_int_equal(p.items[0].dims[1], 6);
  assert_string_equal(p.items[1].name, "layer1.0.conv2.bias");
  dlcc_nn_conv_free(&conv);
  dlcc_nn_params_free(&p);
}

/* ---- bf16 --------------------------------------------------------------------------------- */

static bool cpu_has_bf16(const char **isa) {
  dlcc_nn_engine *probe = NULL;
  dlcc_error err;
  assert_int_equal(dlcc_nn_engine_create(&probe, 0, &err), DLCC_OK);
  dlcc_nn_cpu_info info = dlcc_nn_cpu_info_get(probe);
  dlcc_nn_engine_free(probe);
  *isa = info.isa;
  return info.bf16_available;
}

static void test_bf16_without_cpu_support_is_refused_naming_layer_and_isa(void **state) {
  (void)state;
  const char *isa;
  if (cpu_has_bf16(&isa)) {
    print_message("skipped: this CPU (ISA %s) has bf16 kernels; see the bf16 accuracy test\n", isa);
    skip();
  }
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_square(8, 8, 3);
  const int64_t dims[4] = {1, 8, 5, 5};
  rig r;
  rig_open(&r, &s, dims);
  float x[200] = {0};
  dlcc_error err;
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.x, r.e, x, dims, DLCC_NN_BF16, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_conv_forward(&r.conv, r.e, &r.x, &r.y, DLCC_NN_INFERENCE, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, "conv: forward for input 1x8x5x5 bf16 abcd: oneDNN has no implementation for this "
                               "shape and data type on this CPU (ISA ");
  assert_contains(err.message, isa);
  rig_close(&r);
}

static void test_bf16_forward_and_backward_track_f32(void **state) {
  (void)state;
  dlcc_error err;
  const char *isa;
  if (!cpu_has_bf16(&isa)) {
    print_message("skipped: oneDNN has no bf16 kernels on this CPU (ISA %s)\n", isa);
    skip();
  }
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_square(16, 32, 3);
  s.padding[0] = s.padding[1] = 1;
  const int64_t dims[4] = {2, 16, 10, 12};
  rig r;
  rig_open(&r, &s, dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 5);
  size_t nx = lt_count4(dims), ny = lt_count4(r.y_dims);
  float *x = malloc(nx * 4), *y32 = malloc(ny * 4), *y16 = malloc(ny * 4), *dy = malloc(ny * 4);
  float *dx32 = malloc(nx * 4), *dx16 = malloc(nx * 4), *dw32 = malloc(r.params.trained * 4);
  lt_fill_normal(&rng, x, nx, 1);
  lt_fill_normal(&rng, dy, ny, 1);
  lt_fill_normal(&rng, r.params.values, r.params.total, 0.1);
  dlcc_nn_params_changed(&r.params);
  rig_forward(&r, x, y32, DLCC_NN_TRAINING);
  rig_backward(&r, dy, dx32);
  memcpy(dw32, r.params.grads, r.params.trained * 4);
  dlcc_nn_tensor_free(&r.x);
  dlcc_nn_tensor_free(&r.dy);
  if (dlcc_nn_tensor_import_nchw(&r.x, r.e, x, dims, DLCC_NN_BF16, &err) ||
      dlcc_nn_conv_forward(&r.conv, r.e, &r.x, &r.y, DLCC_NN_TRAINING, &err) ||
      dlcc_nn_tensor_export_nchw(&r.y, r.e, y16, &err) ||
      dlcc_nn_tensor_import_nchw(&r.dy, r.e, dy, r.y_dims, DLCC_NN_BF16, &err) ||
      dlcc_nn_conv_backward(&r.conv, r.e, &r.x, &r.dy, &r.dx, &err) ||
      dlcc_nn_tensor_export_nchw(&r.dx, r.e, dx16, &err))
    fail_msg("%s", err.message);
  assert_int_equal(r.y.dtype, DLCC_NN_BF16);
  /* bf16 keeps 8 significant bits: errors of a few 1e-3 relative to the scale. */
  assert_true(lt_relative_error(y16, y32, ny) < 2e-2);
  assert_true(lt_relative_error(dx16, dx32, nx) < 2e-2);
  assert_true(lt_relative_error(r.params.grads, dw32, r.params.trained) < 2e-2);
  free(x), free(y32), free(y16), free(dy), free(dx32), free(dx16), free(dw32);
  rig_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_gradients_match_finite_differences_3x3_with_bias),
    cmocka_unit_test(test_gradients_match_finite_differences_strided_dilated_grouped),
    cmocka_unit_test(test_gradients_match_finite_differences_depthwise_stride2),
    cmocka_unit_test(test_gradients_match_finite_differences_1x1_stride2_even_input),
    cmocka_unit_test(test_gradients_match_finite_differences_tf_same_stride2_even_and_odd),
    cmocka_unit_test(test_tf_same_puts_the_odd_padding_at_the_end),
    cmocka_unit_test(test_matches_pytorch_3x3_stride1_pad1),
    cmocka_unit_test(test_matches_pytorch_7x7_stride2_pad3_like_resnet_conv1),
    cmocka_unit_test(test_matches_pytorch_3x3_dilation2_pad2),
    cmocka_unit_test(test_matches_pytorch_depthwise_3x3_stride2),
    cmocka_unit_test(test_matches_pytorch_1x1_stride2),
    cmocka_unit_test(test_plans_are_built_once_per_input_shape),
    cmocka_unit_test(test_least_recently_used_plan_is_dropped_beyond_capacity),
    cmocka_unit_test(test_wrong_input_and_gradient_shapes_are_named),
    cmocka_unit_test(test_bad_specs_are_refused_before_declaring_parameters),
    cmocka_unit_test(test_bf16_without_cpu_support_is_refused_naming_layer_and_isa),
    cmocka_unit_test(test_bf16_forward_and_backward_track_f32),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
