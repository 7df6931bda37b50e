/* Tests of src/nn/deconv: gradients against finite differences, every result against PyTorch's
 * (tests/fixtures/deconv_*.safetensors from tools/make-golden.py, one of them TensorFlow's 'SAME'
 * as DeepLabCut's heads use it), output sizes, plan reuse, error messages, bf16. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/deconv.h"
#include "nn/safetensors.h"
#include "nn_layertest.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/rng.h"

/* A transposed convolution with its own parameters, an engine and the tensors of one pass. */
typedef struct rig {
  dlcc_nn_engine *e;
  dlcc_nn_params params;
  dlcc_nn_deconv deconv;
  dlcc_nn_tensor x, y, dy, dx;
  int64_t x_dims[4], y_dims[4];
} rig;

static void rig_open(rig *r, const dlcc_nn_deconv_spec *spec, const int64_t x_dims[4]) {
  memset(r, 0, sizeof *r);
  dlcc_error err;
  if (dlcc_nn_engine_create(&r->e, 0, &err)) fail_msg("%s", err.message);
  dlcc_nn_params_init(&r->params);
  if (dlcc_nn_deconv_init(&r->deconv, "deconv", spec, &r->params, &err)) fail_msg("%s", err.message);
  if (dlcc_nn_params_allocate(&r->params, &err)) fail_msg("%s", err.message);
  memcpy(r->x_dims, x_dims, sizeof r->x_dims);
  if (dlcc_nn_deconv_output_dims(&r->deconv, x_dims, r->y_dims, &err)) fail_msg("%s", err.message);
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_init(t[i]);
}

static void rig_close(rig *r) {
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_free(t[i]);
  dlcc_nn_deconv_free(&r->deconv);
  dlcc_nn_params_free(&r->params);
  dlcc_nn_engine_free(r->e);
}

static void rig_forward(rig *r, const float *x, float *y_out, dlcc_nn_mode mode) {
  dlcc_error err;
  if (dlcc_nn_tensor_import_nchw(&r->x, r->e, x, r->x_dims, DLCC_NN_F32, &err) ||
      dlcc_nn_deconv_forward(&r->deconv, r->e, &r->x, &r->y, mode, &err) ||
      dlcc_nn_tensor_export_nchw(&r->y, r->e, y_out, &err))
    fail_msg("%s", err.message);
}

static void rig_backward(rig *r, const float *dy, float *dx_out) {
  dlcc_error err;
  if (dlcc_nn_tensor_import_nchw(&r->dy, r->e, dy, r->y_dims, DLCC_NN_F32, &err) ||
      dlcc_nn_deconv_backward(&r->deconv, r->e, &r->x, &r->dy, &r->dx, &err) ||
      dlcc_nn_tensor_export_nchw(&r->dx, r->e, dx_out, &err))
    fail_msg("%s", err.message);
}

/* ---- Finite differences ------------------------------------------------------------------- */

static double loss_of(rig *r, const float *x, const float *g, float *y) {
  rig_forward(r, x, y, DLCC_NN_TRAINING);
  double sum = 0;
  for (size_t i = 0; i < lt_count4(r->y_dims); i++) sum += (double)y[i] * g[i];
  return sum;
}

/* Central differences of sum(y * g) with respect to v[0..n). The layer is linear in x and in each
 * parameter, so the difference is exact up to f32 rounding. */
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

static void check_gradients_numerically(const dlcc_nn_deconv_spec *spec, const int64_t x_dims[4], uint64_t seed) {
  rig r;
  rig_open(&r, spec, x_dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  size_t nx = lt_count4(x_dims), ny = lt_count4(r.y_dims), np = r.params.trained;
  float *x = malloc(nx * sizeof *x), *g = malloc(ny * sizeof *g), *y = malloc(ny * sizeof *y);
  float *dx = malloc(nx * sizeof *dx), *grads = malloc(np * sizeof *grads);
  double *numeric = malloc((nx > np ? nx : np) * sizeof *numeric);
  lt_fill_normal(&rng, x, nx, 1.0);
  lt_fill_normal(&rng, g, ny, 1.0);
  lt_fill_normal(&rng, r.params.values, r.params.total, 0.3);
  dlcc_nn_params_changed(&r.params);

  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  rig_backward(&r, g, dx);
  memcpy(grads, r.params.grads, np * sizeof *grads);

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

static void test_gradients_match_finite_differences_tf_same_3x3_stride2(void **state) {
  (void)state;
  dlcc_nn_deconv_spec s = dlcc_nn_deconv_spec_tf_same(3, 4, 3, 2);
  const int64_t dims[4] = {2, 3, 3, 4};
  check_gradients_numerically(&s, dims, 1);
}

static void test_gradients_match_finite_differences_pad1_output_padding1(void **state) {
  (void)state;
  dlcc_nn_deconv_spec s = dlcc_nn_deconv_spec_square(3, 2, 3);
  s.stride[0] = s.stride[1] = 2;
  s.padding[0] = s.padding[1] = 1;
  s.output_padding[0] = s.output_padding[1] = 1;
  const int64_t dims[4] = {1, 3, 4, 3};
  check_gradients_numerically(&s, dims, 2);
}

/* output_padding beyond padding: oneDNN crops a negative number of rows at the end. */
static void test_gradients_match_finite_differences_output_padding_beyond_padding(void **state) {
  (void)state;
  dlcc_nn_deconv_spec s = dlcc_nn_deconv_spec_square(2, 3, 2);
  s.stride[0] = 3, s.stride[1] = 2;
  s.output_padding[0] = 2, s.output_padding[1] = 1;
  s.bias = false;
  const int64_t dims[4] = {2, 2, 3, 3};
  check_gradients_numerically(&s, dims, 3);
}

static void test_gradients_match_finite_differences_dilated_rectangular(void **state) {
  (void)state;
  dlcc_nn_deconv_spec s = dlcc_nn_deconv_spec_square(2, 3, 3);
  s.kernel[1] = 2;
  s.dilation[0] = 2;
  s.padding[0] = 2, s.padding[1] = 1;
  s.output_padding[0] = 1;
  const int64_t dims[4] = {1, 2, 5, 4};
  check_gradients_numerically(&s, dims, 4);
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
          op = lt_meta_int(st, "output_padding"), d = lt_meta_int(st, "dilation");
  dlcc_nn_deconv_spec spec = {
    .in_channels = lt_meta_int(st, "in_channels"), .out_channels = lt_meta_int(st, "out_channels"),
    .kernel = {k, k}, .stride = {s, s}, .padding = {p, p}, .output_padding = {op, op}, .dilation = {d, d},
    .bias = lt_meta_int(st, "bias") != 0,
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
  expect_close(st, "grad.deconv.weight", dlcc_nn_param_grads(&r.params, r.deconv.weight),
               r.params.items[r.deconv.weight].count);
  if (spec.bias)
    expect_close(st, "grad.deconv.bias", dlcc_nn_param_grads(&r.params, r.deconv.bias), (size_t)spec.out_channels);
  rig_forward(&r, x, y, DLCC_NN_INFERENCE);
  expect_close(st, "output", y, ndy);
  free(x), free(dy), free(y), free(dx);
  rig_close(&r);
  dlcc_safetensors_close(st);
  free(path);
}

/* The fixture's reference is TensorFlow's definition of conv2d_transpose 'SAME' (the gradient of a
 * 'SAME' convolution), checked in make-golden.py to equal PyTorch's output cropped at the end. */
static void test_matches_tensorflow_same_3x3_stride2_like_deeplabcut_heads(void **state) {
  (void)state;
  compare_with_pytorch("deconv_3x3_s2_tf_same");
}

static void test_matches_pytorch_3x3_stride2_pad1_output_padding1(void **state) {
  (void)state;
  compare_with_pytorch("deconv_3x3_s2_p1_op1");
}

static void test_matches_pytorch_4x4_stride2_pad1_without_bias(void **state) {
  (void)state;
  compare_with_pytorch("deconv_4x4_s2_p1");
}

static void test_matches_pytorch_3x3_dilation2(void **state) {
  (void)state;
  compare_with_pytorch("deconv_3x3_s1_d2_p1");
}

/* ---- Shapes, plans and errors ------------------------------------------------------------- */

static void test_tf_same_doubles_the_input_size(void **state) {
  (void)state;
  dlcc_nn_deconv_spec s = dlcc_nn_deconv_spec_tf_same(8, 17, 3, 2);
  assert_int_equal(s.padding[0], 0);
  assert_int_equal(s.output_padding[0], -1);
  assert_true(s.bias);
  rig r;
  const int64_t in[4] = {3, 8, 30, 40};
  rig_open(&r, &s, in);
  const int64_t sizes[][2] = {{30, 40}, {1, 1}, {7, 12}, {33, 25}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    const int64_t x[4] = {3, 8, sizes[i][0], sizes[i][1]};
    int64_t y[4];
    dlcc_error err;
    if (dlcc_nn_deconv_output_dims(&r.deconv, x, y, &err)) fail_msg("%s", err.message);
    assert_int_equal(y[0], 3);
    assert_int_equal(y[1], 17);
    assert_int_equal(y[2], 2 * sizes[i][0]);
    assert_int_equal(y[3], 2 * sizes[i][1]);
  }
  float *x = calloc(lt_count4(in), sizeof *x), *y = malloc(lt_count4(r.y_dims) * sizeof *y);
  rig_forward(&r, x, y, DLCC_NN_INFERENCE);
  assert_int_equal(r.y.dims[2], 60);
  assert_int_equal(r.y.dims[3], 80);
  free(x), free(y);
  rig_close(&r);
  /* Other kernels and strides: still input * stride. */
  const int64_t ks[][2] = {{4, 2}, {5, 2}, {1, 2}, {2, 3}, {7, 4}}, small[4] = {1, 2, 5, 6};
  for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
    s = dlcc_nn_deconv_spec_tf_same(2, 2, ks[i][0], ks[i][1]);
    rig_open(&r, &s, small);
    assert_int_equal(r.y_dims[2], 5 * ks[i][1]);
    assert_int_equal(r.y_dims[3], 6 * ks[i][1]);
    rig_close(&r);
  }
}

static void test_plans_are_built_once_per_input_shape(void **state) {
  (void)state;
  dlcc_nn_deconv_spec s = dlcc_nn_deconv_spec_tf_same(4, 3, 3, 2);
  const int64_t a[4] = {1, 4, 5, 5}, b[4] = {1, 4, 6, 3};
  rig r;
  rig_open(&r, &s, a);
  float x[100], y1[300], y2[300];
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 9);
  lt_fill_normal(&rng, x, 100, 1);
  lt_fill_normal(&rng, r.params.values, r.params.total, 0.3);
  dlcc_nn_params_changed(&r.params);
  rig_forward(&r, x, y1, DLCC_NN_INFERENCE);
  rig_forward(&r, x, y2, DLCC_NN_INFERENCE);
  assert_int_equal(r.deconv.plans.built, 1);
  assert_memory_equal(y1, y2, sizeof y1);
  memcpy(r.x_dims, b, sizeof b);
  rig_forward(&r, x, y2, DLCC_NN_INFERENCE);
  assert_int_equal(r.y.dims[2], 12);
  assert_int_equal(r.y.dims[3], 6);
  memcpy(r.x_dims, a, sizeof a);
  rig_forward(&r, x, y2, DLCC_NN_INFERENCE);
  assert_int_equal(r.deconv.plans.built, 2);
  assert_memory_equal(y1, y2, sizeof y1);
  rig_close(&r);
}

static void test_wrong_shapes_and_specs_are_named(void **state) {
  (void)state;
  dlcc_nn_params p;
  dlcc_nn_params_init(&p);
  dlcc_nn_deconv deconv;
  dlcc_error err;
  dlcc_nn_deconv_spec s = dlcc_nn_deconv_spec_tf_same(4, 3, 3, 2);
  s.output_padding[1] = 2;
  assert_int_equal(dlcc_nn_deconv_init(&deconv, "pose.part_pred", &s, &p, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "pose.part_pred: output_padding 2 is out of range: it must be less than "
                               "max(stride, dilation) = 2 in size");
  dlcc_nn_deconv_free(&deconv);
  s.output_padding[1] = -2;
  assert_int_equal(dlcc_nn_deconv_init(&deconv, "pose.part_pred", &s, &p, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "output_padding -2 is out of range");
  dlcc_nn_deconv_free(&deconv);
  assert_int_equal(p.count, 0);
  dlcc_nn_params_free(&p);

  s = dlcc_nn_deconv_spec_square(3, 2, 3);
  s.padding[0] = s.padding[1] = 2;
  const int64_t ok[4] = {1, 3, 4, 4}, channels[4] = {1, 2, 4, 4}, small[4] = {1, 3, 1, 4};
  rig r;
  rig_open(&r, &s, ok);
  assert_string_equal(r.params.items[0].name, "deconv.weight");
  assert_int_equal(r.params.items[0].dims[0], 3); /* PyTorch's [in, out, kh, kw] */
  assert_int_equal(r.params.items[0].dims[1], 2);
  assert_int_equal(r.y_dims[2], 2); /* 4 - 1 - 4 + 2 + 1 */
  float x[16] = {0};
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.x, r.e, x, channels, DLCC_NN_F32, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_deconv_forward(&r.deconv, r.e, &r.x, &r.y, DLCC_NN_INFERENCE, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "deconv: the input has 2 channels, the layer takes 3");
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.x, r.e, x, small, DLCC_NN_F32, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_deconv_forward(&r.deconv, r.e, &r.x, &r.y, DLCC_NN_INFERENCE, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "deconv: the input (1x4) is too small for padding 2: the output would be empty");
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.x, r.e, x, ok, DLCC_NN_F32, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_deconv_forward(&r.deconv, r.e, &r.x, &r.y, DLCC_NN_TRAINING, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.dy, r.e, x, ok, DLCC_NN_F32, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_deconv_backward(&r.deconv, r.e, &r.x, &r.dy, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "deconv: the output gradient is 1x3x4x4 f32, the output 1x2x2x2 f32");
  rig_close(&r);
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

static void test_bf16_is_refused_without_cpu_support_or_tracks_f32(void **state) {
  (void)state;
  const char *isa;
  bool bf16 = cpu_has_bf16(&isa);
  dlcc_nn_deconv_spec s = dlcc_nn_deconv_spec_tf_same(16, 16, 3, 2);
  const int64_t dims[4] = {2, 16, 6, 5};
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
  dlcc_error err;
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.x, r.e, x, dims, DLCC_NN_BF16, &err), DLCC_OK);
  dlcc_status st = dlcc_nn_deconv_forward(&r.deconv, r.e, &r.x, &r.y, DLCC_NN_TRAINING, &err);
  if (!bf16) {
    assert_int_equal(st, DLCC_ERR_UNSUPPORTED);
    assert_contains(err.message, "deconv: forward (training) for input 2x16x6x5 bf16 abcd: oneDNN has no "
                                 "implementation for this shape and data type on this CPU (ISA ");
    assert_contains(err.message, isa);
  } else {
    if (st || dlcc_nn_tensor_export_nchw(&r.y, r.e, y16, &err) ||
        dlcc_nn_tensor_import_nchw(&r.dy, r.e, dy, r.y_dims, DLCC_NN_BF16, &err) ||
        dlcc_nn_deconv_backward(&r.deconv, r.e, &r.x, &r.dy, &r.dx, &err) ||
        dlcc_nn_tensor_export_nchw(&r.dx, r.e, dx16, &err))
      fail_msg("%s", err.message);
    assert_true(lt_relative_error(y16, y32, ny) < 2e-2);
    assert_true(lt_relative_error(dx16, dx32, nx) < 2e-2);
    assert_true(lt_relative_error(r.params.grads, dw32, r.params.trained) < 2e-2);
  }
  free(x), free(y32), free(y16), free(dy), free(dx32), free(dx16), free(dw32);
  rig_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_gradients_match_finite_differences_tf_same_3x3_stride2),
    cmocka_unit_test(test_gradients_match_finite_differences_pad1_output_padding1),
    cmocka_unit_test(test_gradients_match_finite_differences_output_padding_beyond_padding),
    cmocka_unit_test(test_gradients_match_finite_differences_dilated_rectangular),
    cmocka_unit_test(test_matches_tensorflow_same_3x3_stride2_like_deeplabcut_heads),
    cmocka_unit_test(test_matches_pytorch_3x3_stride2_pad1_output_padding1),
    cmocka_unit_test(test_matches_pytorch_4x4_stride2_pad1_without_bias),
    cmocka_unit_test(test_matches_pytorch_3x3_dilation2),
    cmocka_unit_test(test_tf_same_doubles_the_input_size),
    cmocka_unit_test(test_plans_are_built_once_per_input_shape),
    cmocka_unit_test(test_wrong_shapes_and_specs_are_named),
    cmocka_unit_test(test_bf16_is_refused_without_cpu_support_or_tracks_f32),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
