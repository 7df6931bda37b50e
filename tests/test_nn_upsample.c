/* Tests of src/nn/upsample: hand-computed align_corners=False values, gradients against finite
 * differences, every result against PyTorch's F.interpolate(mode="bilinear")
 * (tests/fixtures/upsample_*.safetensors from tools/make-golden.py) in plain and blocked layouts,
 * output sizes, plan reuse, errors, bf16. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/safetensors.h"
#include "nn/upsample.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/rng.h"

/* An upsampling layer, an engine and the tensors of one pass; x_tag is the input's layout. */
typedef struct rig {
  dlcc_nn_engine *e;
  dlcc_nn_upsample up;
  dlcc_nn_tensor x, y, dy, dx;
  int64_t x_dims[4], y_dims[4];
  dnnl_format_tag_t x_tag;
} rig;

static void rig_open(rig *r, const dlcc_nn_upsample_spec *spec, const int64_t x_dims[4]) {
  memset(r, 0, sizeof *r);
  dlcc_error err;
  if (dlcc_nn_engine_create(&r->e, 0, &err)) fail_msg("%s", err.message);
  if (dlcc_nn_upsample_init(&r->up, "up", spec, &err)) fail_msg("%s", err.message);
  memcpy(r->x_dims, x_dims, sizeof r->x_dims);
  if (dlcc_nn_upsample_output_dims(&r->up, x_dims, r->y_dims, &err)) fail_msg("%s", err.message);
  r->x_tag = dnnl_nchw;
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_init(t[i]);
}

static void rig_close(rig *r) {
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_free(t[i]);
  dlcc_nn_upsample_free(&r->up);
  dlcc_nn_engine_free(r->e);
}

static size_t count4(const int64_t d[4]) {
  return (size_t)(d[0] * d[1] * d[2] * d[3]);
}

static void rig_forward(rig *r, const float *x, float *y_out, dlcc_nn_mode mode) {
  dlcc_error err;
  if (dlcc_nn_tensor_set_shape(&r->x, r->e, r->x_dims, DLCC_NN_F32, r->x_tag, &err) ||
      dlcc_nn_tensor_import_nchw(&r->x, r->e, x, r->x_dims, DLCC_NN_F32, &err) ||
      dlcc_nn_upsample_forward(&r->up, r->e, &r->x, &r->y, mode, &err) ||
      dlcc_nn_tensor_export_nchw(&r->y, r->e, y_out, &err))
    fail_msg("%s", err.message);
}

static void rig_backward(rig *r, const float *dy, float *dx_out) {
  dlcc_error err;
  if (dlcc_nn_tensor_import_nchw(&r->dy, r->e, dy, r->y_dims, DLCC_NN_F32, &err) ||
      dlcc_nn_upsample_backward(&r->up, r->e, &r->x, &r->dy, &r->dx, &err) ||
      dlcc_nn_tensor_export_nchw(&r->dx, r->e, dx_out, &err))
    fail_msg("%s", err.message);
}

static void fill_normal(dlcc_rng *rng, float *v, size_t n, double scale) {
  for (size_t i = 0; i < n; i++) v[i] = (float)(dlcc_rng_normal(rng) * scale);
}

static double relative_error(const float *a, const float *b, size_t n) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < n; i++) {
    diff = fmax(diff, fabs((double)a[i] - (double)b[i]));
    scale = fmax(scale, fabs((double)b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

/* ---- Values and finite differences -------------------------------------------------------- */

/* Two columns 0 and 1 doubled: samples at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
 * align_corners=True would give 0, 1/3, 2/3, 1. */
static void test_factor2_follows_align_corners_false(void **state) {
  (void)state;
  dlcc_nn_upsample_spec s = dlcc_nn_upsample_spec_factor(2);
  const int64_t dims[4] = {1, 1, 1, 2};
  rig r;
  rig_open(&r, &s, dims);
  const float x[2] = {0, 1};
  float y[8];
  rig_forward(&r, x, y, DLCC_NN_INFERENCE);
  const float want[4] = {0, 0.25f, 0.75f, 1};
  for (int row = 0; row < 2; row++)
    for (int i = 0; i < 4; i++) assert_float_equal(y[row * 4 + i], want[i], 1e-6);
  rig_close(&r);
}

/* The layer is linear in x: central differences are exact up to f32 rounding. */
static void check_gradients_numerically(const dlcc_nn_upsample_spec *spec, const int64_t x_dims[4], uint64_t seed) {
  rig r;
  rig_open(&r, spec, x_dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  size_t nx = count4(x_dims), ny = count4(r.y_dims);
  float *x = malloc(nx * 4), *g = malloc(ny * 4), *y = malloc(ny * 4), *dx = malloc(nx * 4);
  fill_normal(&rng, x, nx, 1);
  fill_normal(&rng, g, ny, 1);
  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  rig_backward(&r, g, dx);
  double gap = 0, scale = 0;
  for (size_t i = 0; i < nx; i++) {
    double sum[2];
    for (int side = 0; side < 2; side++) {
      float keep = x[i];
      x[i] = keep + (side ? -0.1f : 0.1f);
      rig_forward(&r, x, y, DLCC_NN_TRAINING);
      x[i] = keep;
      sum[side] = 0;
      for (size_t j = 0; j < ny; j++) sum[side] += (double)y[j] * g[j];
    }
    double numeric = (sum[0] - sum[1]) / 0.2;
    gap = fmax(gap, fabs(numeric - dx[i]));
    scale = fmax(scale, fabs(numeric));
  }
  if (gap > 1e-3 * scale) fail_msg("d(input): gap %g for gradients up to %g", gap, scale);
  free(x), free(g), free(y), free(dx);
  rig_close(&r);
}

static void test_gradients_match_finite_differences_factor2(void **state) {
  (void)state;
  dlcc_nn_upsample_spec s = dlcc_nn_upsample_spec_factor(2);
  const int64_t dims[4] = {2, 2, 3, 4};
  check_gradients_numerically(&s, dims, 1);
}

static void test_gradients_match_finite_differences_to_size(void **state) {
  (void)state;
  dlcc_nn_upsample_spec s = dlcc_nn_upsample_spec_size(7, 3);
  const int64_t dims[4] = {1, 2, 3, 5};
  check_gradients_numerically(&s, dims, 2);
}

/* ---- PyTorch golden fixtures -------------------------------------------------------------- */

static int64_t meta_int(const dlcc_safetensors *st, const char *key) {
  const char *v = dlcc_safetensors_meta(st, key);
  if (!v) fail_msg("%s: metadata %s missing", st->path, key);
  return strtoll(v, NULL, 10);
}

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
  double rel = relative_error(got, want, n);
  if (rel >= 1e-4) fail_msg("%s: %s differs from PyTorch by %g (relative)", st->path, name, rel);
  free(want);
}

static void compare_with_pytorch(const char *fixture, dnnl_format_tag_t x_tag) {
  char *path = dlcc_strdupf("%s/%s.safetensors", getenv("DLCC_FIXTURES") ? getenv("DLCC_FIXTURES") : "tests/fixtures",
                            fixture);
  dlcc_safetensors *st = NULL;
  dlcc_error err;
  if (dlcc_safetensors_open(path, &st, &err)) fail_msg("%s", err.message);
  int64_t factor = meta_int(st, "factor");
  dlcc_nn_upsample_spec spec = factor ? dlcc_nn_upsample_spec_factor(factor)
                                      : dlcc_nn_upsample_spec_size(meta_int(st, "size_h"), meta_int(st, "size_w"));
  const dlcc_st_tensor *in = dlcc_safetensors_find(st, "input");
  assert_non_null(in);
  rig r;
  rig_open(&r, &spec, in->shape);
  r.x_tag = x_tag;
  size_t nx, ndy;
  float *x = read_tensor(st, "input", &nx), *dy = read_tensor(st, "grad.output", &ndy);
  float *y = malloc(ndy * sizeof *y), *dx = malloc(nx * sizeof *dx);
  assert_int_equal(ndy, count4(r.y_dims));
  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  rig_backward(&r, dy, dx);
  expect_close(st, "output", y, ndy);
  expect_close(st, "grad.input", dx, nx);
  rig_forward(&r, x, y, DLCC_NN_INFERENCE);
  expect_close(st, "output", y, ndy);
  free(x), free(dy), free(y), free(dx);
  rig_close(&r);
  dlcc_safetensors_close(st);
  free(path);
}

static void test_matches_pytorch_factor2(void **state) {
  (void)state;
  compare_with_pytorch("upsample_bilinear_x2", dnnl_nchw);
}

static void test_matches_pytorch_factor4(void **state) {
  (void)state;
  compare_with_pytorch("upsample_bilinear_x4", dnnl_nchw);
}

static void test_matches_pytorch_to_size_up_in_height_down_in_width(void **state) {
  (void)state;
  compare_with_pytorch("upsample_bilinear_to_size", dnnl_nchw);
}

static void test_blocked_input_layouts_match_pytorch_too(void **state) {
  (void)state;
  compare_with_pytorch("upsample_bilinear_x2", dnnl_nChw8c);
  compare_with_pytorch("upsample_bilinear_to_size", dnnl_nhwc);
}

/* ---- Shapes, plans and errors ------------------------------------------------------------- */

static void test_output_dims_by_factor_by_multiple_and_by_size(void **state) {
  (void)state;
  dlcc_nn_upsample up;
  dlcc_error err;
  dlcc_nn_upsample_spec s = dlcc_nn_upsample_spec_factor(8);
  assert_int_equal(dlcc_nn_upsample_init(&up, "up", &s, &err), DLCC_OK);
  const int64_t in[4] = {3, 17, 30, 41};
  int64_t out[4];
  assert_int_equal(dlcc_nn_upsample_output_dims(&up, in, out, &err), DLCC_OK);
  assert_int_equal(out[0], 3);
  assert_int_equal(out[1], 17);
  assert_int_equal(out[2], 240);
  assert_int_equal(out[3], 328);
  dlcc_nn_upsample_free(&up);
  /* dlcrnet's resize: 30 -> 4 * ceil(30 / 4) = 32, 41 -> 44; a multiple stays */
  s = dlcc_nn_upsample_spec_multiple(4);
  assert_int_equal(dlcc_nn_upsample_init(&up, "up", &s, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_upsample_output_dims(&up, in, out, &err), DLCC_OK);
  assert_int_equal(out[2], 32);
  assert_int_equal(out[3], 44);
  const int64_t even[4] = {1, 1, 28, 4};
  assert_int_equal(dlcc_nn_upsample_output_dims(&up, even, out, &err), DLCC_OK);
  assert_int_equal(out[2], 28);
  assert_int_equal(out[3], 4);
  dlcc_nn_upsample_free(&up);
  s = dlcc_nn_upsample_spec_size(480, 640);
  assert_int_equal(dlcc_nn_upsample_init(&up, "up", &s, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_upsample_output_dims(&up, in, out, &err), DLCC_OK);
  assert_int_equal(out[2], 480);
  assert_int_equal(out[3], 640);
  dlcc_nn_upsample_free(&up);
}

static void test_plans_are_built_once_per_input_shape(void **state) {
  (void)state;
  dlcc_nn_upsample_spec s = dlcc_nn_upsample_spec_factor(2);
  const int64_t a[4] = {1, 2, 3, 3}, b[4] = {1, 2, 2, 4};
  rig r;
  rig_open(&r, &s, a);
  float x[18] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 2, 3, 5, 8, 13, 21, 34}, y1[72], y2[72];
  rig_forward(&r, x, y1, DLCC_NN_INFERENCE);
  rig_forward(&r, x, y2, DLCC_NN_INFERENCE);
  assert_int_equal(r.up.plans.built, 1);
  assert_memory_equal(y1, y2, sizeof y1);
  memcpy(r.x_dims, b, sizeof b);
  rig_forward(&r, x, y2, DLCC_NN_INFERENCE);
  assert_int_equal(r.y.dims[2], 4);
  assert_int_equal(r.y.dims[3], 8);
  memcpy(r.x_dims, a, sizeof a);
  rig_forward(&r, x, y2, DLCC_NN_INFERENCE);
  assert_int_equal(r.up.plans.built, 2);
  assert_memory_equal(y1, y2, sizeof y1);
  rig_close(&r);
}

static void test_errors_name_the_layer(void **state) {
  (void)state;
  dlcc_nn_upsample up;
  dlcc_error err;
  dlcc_nn_upsample_spec s = dlcc_nn_upsample_spec_size(0, 5);
  assert_int_equal(dlcc_nn_upsample_init(&up, "pose.upsample", &s, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "pose.upsample: give a positive factor, multiple or output size");
  dlcc_nn_upsample_free(&up);
  s = dlcc_nn_upsample_spec_factor(-2);
  assert_int_equal(dlcc_nn_upsample_init(&up, "pose.upsample", &s, &err), DLCC_ERR_INVALID);
  dlcc_nn_upsample_free(&up);

  s = dlcc_nn_upsample_spec_factor(2);
  const int64_t dims[4] = {1, 2, 2, 2};
  rig r;
  rig_open(&r, &s, dims);
  float x[32] = {0}, y[32];
  dlcc_nn_tensor empty;
  dlcc_nn_tensor_init(&empty);
  assert_int_equal(dlcc_nn_upsample_forward(&r.up, r.e, &empty, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "up: the input tensor is empty");
  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.dy, r.e, x, dims, DLCC_NN_F32, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_upsample_backward(&r.up, r.e, &r.x, &r.dy, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "up: the output gradient is 1x2x2x2 f32, the output 1x2x4x4 f32");
  assert_int_equal(dlcc_nn_upsample_backward(&r.up, r.e, &r.x, &r.dy, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "up: backward needs a dx (the layer has no parameters)");
  rig_close(&r);
}

/* ---- bf16 --------------------------------------------------------------------------------- */

static void test_bf16_is_refused_without_cpu_support_or_tracks_f32(void **state) {
  (void)state;
  dlcc_nn_upsample_spec s = dlcc_nn_upsample_spec_factor(2);
  const int64_t dims[4] = {2, 16, 5, 4};
  rig r;
  rig_open(&r, &s, dims);
  dlcc_nn_cpu_info info = dlcc_nn_cpu_info_get(r.e);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 5);
  size_t nx = count4(dims), ny = count4(r.y_dims);
  float *x = malloc(nx * 4), *y32 = malloc(ny * 4), *y16 = malloc(ny * 4), *dy = malloc(ny * 4);
  float *dx32 = malloc(nx * 4), *dx16 = malloc(nx * 4);
  fill_normal(&rng, x, nx, 1);
  fill_normal(&rng, dy, ny, 1);
  rig_forward(&r, x, y32, DLCC_NN_TRAINING);
  rig_backward(&r, dy, dx32);
  dlcc_error err;
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.x, r.e, x, dims, DLCC_NN_BF16, &err), DLCC_OK);
  dlcc_status st = dlcc_nn_upsample_forward(&r.up, r.e, &r.x, &r.y, DLCC_NN_TRAINING, &err);
  if (!info.bf16_available) {
    assert_int_equal(st, DLCC_ERR_UNSUPPORTED);
    assert_contains(err.message, "up: forward (training) for input 2x16x5x4 bf16 abcd: oneDNN has no "
                                 "implementation for this shape and data type on this CPU (ISA ");
    assert_contains(err.message, info.isa);
  } else {
    if (st || dlcc_nn_tensor_export_nchw(&r.y, r.e, y16, &err) ||
        dlcc_nn_tensor_import_nchw(&r.dy, r.e, dy, r.y_dims, DLCC_NN_BF16, &err) ||
        dlcc_nn_upsample_backward(&r.up, r.e, &r.x, &r.dy, &r.dx, &err) ||
        dlcc_nn_tensor_export_nchw(&r.dx, r.e, dx16, &err))
      fail_msg("%s", err.message);
    assert_true(relative_error(y16, y32, ny) < 2e-2);
    assert_true(relative_error(dx16, dx32, nx) < 2e-2);
  }
  free(x), free(y32), free(y16), free(dy), free(dx32), free(dx16);
  rig_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_factor2_follows_align_corners_false),
    cmocka_unit_test(test_gradients_match_finite_differences_factor2),
    cmocka_unit_test(test_gradients_match_finite_differences_to_size),
    cmocka_unit_test(test_matches_pytorch_factor2),
    cmocka_unit_test(test_matches_pytorch_factor4),
    cmocka_unit_test(test_matches_pytorch_to_size_up_in_height_down_in_width),
    cmocka_unit_test(test_blocked_input_layouts_match_pytorch_too),
    cmocka_unit_test(test_output_dims_by_factor_by_multiple_and_by_size),
    cmocka_unit_test(test_plans_are_built_once_per_input_shape),
    cmocka_unit_test(test_errors_name_the_layer),
    cmocka_unit_test(test_bf16_is_refused_without_cpu_support_or_tracks_f32),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
