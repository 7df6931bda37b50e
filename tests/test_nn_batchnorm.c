/* Tests of src/nn/batchnorm: gradients against finite differences in both modes (with batch
 * statistics the loss goes through them), every result against PyTorch's
 * (tests/fixtures/batchnorm_*.safetensors from tools/make-golden.py) in plain and blocked layouts,
 * the running statistics' update, errors, bf16. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/batchnorm.h"
#include "nn/safetensors.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/rng.h"

/* A batch norm with its own parameters, an engine and the tensors of one pass. x_tag is the layout
 * the input is given in (nchw, or blocked: batch norm keeps whatever it gets). */
typedef struct rig {
  dlcc_nn_engine *e;
  dlcc_nn_params params;
  dlcc_nn_batchnorm bn;
  dlcc_nn_tensor x, y, dy, dx;
  int64_t dims[4];
  dnnl_format_tag_t x_tag;
} rig;

static void rig_open(rig *r, const dlcc_nn_batchnorm_spec *spec, const int64_t dims[4]) {
  memset(r, 0, sizeof *r);
  dlcc_error err;
  if (dlcc_nn_engine_create(&r->e, 0, &err)) fail_msg("%s", err.message);
  dlcc_nn_params_init(&r->params);
  if (dlcc_nn_batchnorm_init(&r->bn, "bn", spec, &r->params, &err)) fail_msg("%s", err.message);
  if (dlcc_nn_params_allocate(&r->params, &err)) fail_msg("%s", err.message);
  dlcc_nn_batchnorm_reset(&r->bn);
  memcpy(r->dims, dims, sizeof r->dims);
  r->x_tag = dnnl_nchw;
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_init(t[i]);
}

static void rig_close(rig *r) {
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_free(t[i]);
  dlcc_nn_batchnorm_free(&r->bn);
  dlcc_nn_params_free(&r->params);
  dlcc_nn_engine_free(r->e);
}

static size_t count4(const int64_t d[4]) {
  return (size_t)(d[0] * d[1] * d[2] * d[3]);
}

/* Imports plain data into t in layout tag (import keeps a layout whose dims and type match). */
static void import_as(rig *r, dlcc_nn_tensor *t, const float *v, dnnl_format_tag_t tag) {
  dlcc_error err;
  if (dlcc_nn_tensor_set_shape(t, r->e, r->dims, DLCC_NN_F32, tag, &err) ||
      dlcc_nn_tensor_import_nchw(t, r->e, v, r->dims, DLCC_NN_F32, &err))
    fail_msg("%s", err.message);
}

static void rig_forward(rig *r, const float *x, float *y_out, dlcc_nn_mode mode) {
  dlcc_error err;
  import_as(r, &r->x, x, r->x_tag);
  if (dlcc_nn_batchnorm_forward(&r->bn, r->e, &r->x, &r->y, mode, &err) ||
      dlcc_nn_tensor_export_nchw(&r->y, r->e, y_out, &err))
    fail_msg("%s", err.message);
}

/* dy is given plain, so that backward converts it to x's layout when that is blocked. */
static void rig_backward(rig *r, const float *dy, float *dx_out) {
  dlcc_error err;
  import_as(r, &r->dy, dy, dnnl_nchw);
  if (dlcc_nn_batchnorm_backward(&r->bn, r->e, &r->x, &r->dy, dx_out ? &r->dx : NULL, &err) ||
      (dx_out && dlcc_nn_tensor_export_nchw(&r->dx, r->e, dx_out, &err)))
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

/* ---- Finite differences ------------------------------------------------------------------- */

static double loss_of(rig *r, const float *x, const float *g, float *y) {
  rig_forward(r, x, y, DLCC_NN_TRAINING);
  double sum = 0;
  for (size_t i = 0; i < count4(r->dims); i++) sum += (double)y[i] * g[i];
  return sum;
}

/* Central differences of sum(y * g) with respect to v[0..n). */
static void numeric_gradient(rig *r, float *x, const float *g, float *v, size_t n, float step, double *out) {
  float *y = malloc(count4(r->dims) * sizeof *y);
  for (size_t i = 0; i < n; i++) {
    float keep = v[i];
    v[i] = keep + step;
    double up = loss_of(r, x, g, y);
    v[i] = keep - step;
    double down = loss_of(r, x, g, y);
    v[i] = keep;
    out[i] = (up - down) / (2.0 * step);
  }
  free(y);
}

static void expect_gradient(const char *what, const double *numeric, const float *analytic, size_t n) {
  double gap = 0, scale = 0;
  for (size_t i = 0; i < n; i++) {
    gap = fmax(gap, fabs(numeric[i] - analytic[i]));
    scale = fmax(scale, fabs(numeric[i]));
  }
  if (gap > 1e-3 * scale) fail_msg("d(%s): gap %g for gradients up to %g", what, gap, scale);
}

/* x_step: the layer is linear in x with frozen statistics (any step is exact), not with batch
 * statistics, where a small step keeps the second-order error below the tolerance. Weight and
 * bias enter linearly in both modes. */
static void check_gradients_numerically(dlcc_nn_bn_stats stats, const int64_t dims[4], float x_step, uint64_t seed) {
  dlcc_nn_batchnorm_spec spec = dlcc_nn_batchnorm_spec_default(dims[1], stats);
  rig r;
  rig_open(&r, &spec, dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  size_t n = count4(dims), c = (size_t)dims[1];
  float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *y = malloc(n * sizeof *y), *dx = malloc(n * 4);
  float *dweight = malloc(c * 4), *dbias = malloc(c * 4);
  double *numeric = malloc(n * sizeof *numeric);
  fill_normal(&rng, x, n, 1.0);
  fill_normal(&rng, g, n, 1.0);
  float *weight = dlcc_nn_param_values(&r.params, r.bn.weight), *bias = dlcc_nn_param_values(&r.params, r.bn.bias);
  float *mean = dlcc_nn_param_values(&r.params, r.bn.running_mean);
  float *var = dlcc_nn_param_values(&r.params, r.bn.running_var);
  for (size_t i = 0; i < c; i++)
    weight[i] = 1.0f + 0.5f * (float)i, bias[i] = 0.1f * (float)i, mean[i] = 0.2f, var[i] = 0.5f + (float)i;

  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  rig_backward(&r, g, dx);
  memcpy(dweight, dlcc_nn_param_grads(&r.params, r.bn.weight), c * 4);
  memcpy(dbias, dlcc_nn_param_grads(&r.params, r.bn.bias), c * 4);

  numeric_gradient(&r, x, g, x, n, x_step, numeric);
  expect_gradient("input", numeric, dx, n);
  numeric_gradient(&r, x, g, weight, c, 0.1f, numeric);
  expect_gradient("bn.weight", numeric, dweight, c);
  numeric_gradient(&r, x, g, bias, c, 0.1f, numeric);
  expect_gradient("bn.bias", numeric, dbias, c);
  free(x), free(g), free(y), free(dx), free(dweight), free(dbias), free(numeric);
  rig_close(&r);
}

static void test_frozen_gradients_match_finite_differences(void **state) {
  (void)state;
  const int64_t dims[4] = {2, 3, 3, 4};
  check_gradients_numerically(DLCC_NN_BN_FROZEN, dims, 0.1f, 1);
}

/* The loss reaches x also through the batch mean and variance: backward must include both. */
static void test_batch_statistics_gradients_match_finite_differences_through_the_statistics(void **state) {
  (void)state;
  const int64_t dims[4] = {2, 3, 3, 4};
  check_gradients_numerically(DLCC_NN_BN_BATCH, dims, 1e-2f, 2);
}

/* ---- PyTorch golden fixtures -------------------------------------------------------------- */

static const char *meta_text(const dlcc_safetensors *st, const char *key) {
  const char *v = dlcc_safetensors_meta(st, key);
  if (!v) fail_msg("%s: metadata %s missing", st->path, key);
  return v;
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
  dlcc_nn_batchnorm_spec spec = {
    .channels = strtoll(meta_text(st, "channels"), NULL, 10),
    .eps = strtof(meta_text(st, "eps"), NULL),
    .momentum = strtof(meta_text(st, "momentum"), NULL),
    .stats = strcmp(meta_text(st, "stats"), "batch") == 0 ? DLCC_NN_BN_BATCH : DLCC_NN_BN_FROZEN,
  };
  const dlcc_st_tensor *in = dlcc_safetensors_find(st, "input");
  assert_non_null(in);
  rig r;
  rig_open(&r, &spec, in->shape);
  r.x_tag = x_tag;
  if (dlcc_nn_params_load(&r.params, path, NULL, 0, NULL, &err)) fail_msg("%s", err.message);
  size_t n, ndy, c = (size_t)spec.channels;
  float *x = read_tensor(st, "input", &n), *dy = read_tensor(st, "grad.output", &ndy);
  float *y = malloc(n * sizeof *y), *dx = malloc(n * sizeof *dx);
  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  rig_backward(&r, dy, dx);
  expect_close(st, "output", y, n);
  expect_close(st, "grad.input", dx, n);
  expect_close(st, "grad.bn.weight", dlcc_nn_param_grads(&r.params, r.bn.weight), c);
  expect_close(st, "grad.bn.bias", dlcc_nn_param_grads(&r.params, r.bn.bias), c);
  expect_close(st, "updated.bn.running_mean", dlcc_nn_param_values(&r.params, r.bn.running_mean), c);
  expect_close(st, "updated.bn.running_var", dlcc_nn_param_values(&r.params, r.bn.running_var), c);
  rig_forward(&r, x, y, DLCC_NN_INFERENCE);
  expect_close(st, "inference.output", y, n);
  free(x), free(dy), free(y), free(dx);
  rig_close(&r);
  dlcc_safetensors_close(st);
  free(path);
}

static void test_frozen_matches_pytorch_eval_mode_with_eps_1e3(void **state) {
  (void)state;
  compare_with_pytorch("batchnorm_frozen", dnnl_nchw);
}

static void test_batch_statistics_match_pytorch_train_mode_and_running_update(void **state) {
  (void)state;
  compare_with_pytorch("batchnorm_batch", dnnl_nchw);
}

static void test_batch_statistics_of_one_image_with_momentum_0003(void **state) {
  (void)state;
  compare_with_pytorch("batchnorm_batch_one_image", dnnl_nchw);
}

/* The fixtures have 2 to 4 channels: a block of 8 or 16 is mostly padding. */
static void test_blocked_layouts_match_pytorch_too(void **state) {
  (void)state;
  const dnnl_format_tag_t tags[2] = {dnnl_nChw8c, dnnl_nhwc};
  for (int i = 0; i < 2; i++) {
    compare_with_pytorch("batchnorm_frozen", tags[i]);
    compare_with_pytorch("batchnorm_batch", tags[i]);
  }
}

/* ---- Modes, layouts, plans and errors ----------------------------------------------------- */

static void test_declares_pytorch_names_and_initial_values(void **state) {
  (void)state;
  dlcc_nn_batchnorm_spec s = dlcc_nn_batchnorm_spec_default(3, DLCC_NN_BN_FROZEN);
  assert_true(s.eps == 1e-5f);
  assert_true(s.momentum == 0.1f);
  const int64_t dims[4] = {1, 3, 2, 2};
  rig r;
  rig_open(&r, &s, dims);
  const char *names[4] = {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"};
  const dlcc_nn_param_kind kinds[4] = {DLCC_NN_PARAM_BIAS, DLCC_NN_PARAM_BIAS, DLCC_NN_PARAM_STATE,
                                       DLCC_NN_PARAM_STATE};
  const float initial[4] = {1, 0, 0, 1};
  for (int i = 0; i < 4; i++) {
    assert_string_equal(r.params.items[i].name, names[i]);
    assert_int_equal(r.params.items[i].kind, kinds[i]);
    assert_int_equal(r.params.items[i].dims[0], 3);
    for (int c = 0; c < 3; c++) assert_true(dlcc_nn_param_values(&r.params, (size_t)i)[c] == initial[i]);
  }
  assert_null(dlcc_nn_param_grads(&r.params, r.bn.running_var));
  rig_close(&r);
}

/* Hand-computed: channel values {1, 3} normalize to -1, +1 (biased variance 1); the running
 * statistics move 10% towards mean 2 and unbiased variance 2. */
static void test_batch_mode_normalizes_by_batch_and_updates_running_stats(void **state) {
  (void)state;
  dlcc_nn_batchnorm_spec s = dlcc_nn_batchnorm_spec_default(1, DLCC_NN_BN_BATCH);
  s.eps = 1e-12f;
  const int64_t dims[4] = {2, 1, 1, 1};
  rig r;
  rig_open(&r, &s, dims);
  const float x[2] = {1, 3};
  float y[2];
  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  assert_float_equal(y[0], -1, 1e-5);
  assert_float_equal(y[1], 1, 1e-5);
  assert_float_equal(dlcc_nn_param_values(&r.params, r.bn.running_mean)[0], 0.2, 1e-6);
  assert_float_equal(dlcc_nn_param_values(&r.params, r.bn.running_var)[0], 0.9 + 0.2, 1e-6);
  rig_forward(&r, x, y, DLCC_NN_INFERENCE); /* running statistics, and no update */
  assert_float_equal(y[0], (1 - 0.2) / sqrt(1.1), 1e-5);
  assert_float_equal(dlcc_nn_param_values(&r.params, r.bn.running_mean)[0], 0.2, 1e-6);
  rig_close(&r);
}

/* slim's batch_norm as dlcrnet's decoder has it: no scale, eps 1e-3, the batch's statistics in
 * inference too, nothing running. Hand-computed on N=1, H=1, W=3:
 *   channel 0, {1, 2, 3}: mean 2, biased variance 2/3, y = (x - 2) / sqrt(2/3 + 1e-3) + 0.5
 *     = 0.5 -/+ 1 / 0.8171087 = {-0.7238273, 0.5, 1.7238273};
 *   channel 1, {4, 4, 10}: mean 6, variance 8, y = (x - 6) / sqrt(8.001) - 1 = (x - 6) / 2.8286039 - 1
 *     = {-1.7070626, -1.7070626, 0.4141252}.
 * Backward with dy = 1 everywhere: dbias = 3 per channel, dx = 0 (a constant shift of x moves the
 * mean with it and the variance not at all, so the output ignores it). */
static void test_shift_only_batch_always_normalizes_inference_by_the_batch(void **state) {
  (void)state;
  dlcc_nn_batchnorm_spec s = dlcc_nn_batchnorm_spec_default(2, DLCC_NN_BN_BATCH_ALWAYS);
  s.eps = 1e-3f;
  s.shift_only = true;
  const int64_t dims[4] = {1, 2, 1, 3};
  rig r;
  rig_open(&r, &s, dims);
  assert_int_equal(r.params.count, 1);
  assert_string_equal(r.params.items[0].name, "bn.bias");
  assert_true(r.bn.weight == DLCC_NN_BN_ABSENT && r.bn.running_mean == DLCC_NN_BN_ABSENT);
  float *bias = dlcc_nn_param_values(&r.params, r.bn.bias);
  bias[0] = 0.5f, bias[1] = -1.0f;
  const float x[6] = {1, 2, 3, 4, 4, 10}, want[6] = {-0.7238273f, 0.5f, 1.7238273f, -1.7070626f, -1.7070626f,
                                                     0.4141252f};
  for (int mode = 0; mode < 2; mode++) {
    float y[6];
    rig_forward(&r, x, y, mode ? DLCC_NN_TRAINING : DLCC_NN_INFERENCE);
    for (int i = 0; i < 6; i++) assert_float_equal(y[i], want[i], 1e-5);
  }
  const float dy[6] = {1, 1, 1, 1, 1, 1};
  float dx[6];
  rig_backward(&r, dy, dx);
  for (int i = 0; i < 6; i++) assert_float_equal(dx[i], 0, 1e-6);
  assert_float_equal(dlcc_nn_param_grads(&r.params, r.bn.bias)[0], 3, 1e-6);
  assert_float_equal(dlcc_nn_param_grads(&r.params, r.bn.bias)[1], 3, 1e-6);
  /* an inference forward replaces the statistics backward would go through */
  float y[6];
  rig_forward(&r, x, y, DLCC_NN_INFERENCE);
  dlcc_error err;
  import_as(&r, &r.dy, dy, dnnl_nchw);
  assert_int_equal(dlcc_nn_batchnorm_backward(&r.bn, r.e, &r.x, &r.dy, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "bn: backward goes through the batch statistics of a training forward");
  rig_close(&r);
  /* one value per channel: TensorFlow's zero variance, the output is the shift */
  const int64_t one[4] = {1, 2, 1, 1};
  rig_open(&r, &s, one);
  bias = dlcc_nn_param_values(&r.params, r.bn.bias);
  bias[0] = 0.5f, bias[1] = -1.0f;
  rig_forward(&r, (const float[]){7, -3}, y, DLCC_NN_INFERENCE);
  assert_float_equal(y[0], 0.5, 1e-6);
  assert_float_equal(y[1], -1, 1e-6);
  rig_close(&r);
}

/* Through the batch statistics, without a scale: dx and dbias against central differences. */
static void test_shift_only_batch_always_gradients_match_finite_differences(void **state) {
  (void)state;
  dlcc_nn_batchnorm_spec spec = dlcc_nn_batchnorm_spec_default(3, DLCC_NN_BN_BATCH_ALWAYS);
  spec.eps = 1e-3f;
  spec.shift_only = true;
  const int64_t dims[4] = {2, 3, 2, 3};
  rig r;
  rig_open(&r, &spec, dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 9);
  size_t n = count4(dims);
  float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *y = malloc(n * sizeof *y), *dx = malloc(n * 4);
  double *numeric = malloc(n * sizeof *numeric);
  fill_normal(&rng, x, n, 1.0);
  fill_normal(&rng, g, n, 1.0);
  float *bias = dlcc_nn_param_values(&r.params, r.bn.bias), dbias[3];
  for (int c = 0; c < 3; c++) bias[c] = 0.1f * (float)c;
  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  rig_backward(&r, g, dx);
  memcpy(dbias, dlcc_nn_param_grads(&r.params, r.bn.bias), sizeof dbias);
  numeric_gradient(&r, x, g, x, n, 1e-2f, numeric);
  expect_gradient("input", numeric, dx, n);
  numeric_gradient(&r, x, g, bias, 3, 0.1f, numeric);
  expect_gradient("bn.bias", numeric, dbias, 3);
  free(x), free(g), free(y), free(dx), free(numeric);
  rig_close(&r);
}

static void test_frozen_mode_never_changes_running_stats(void **state) {
  (void)state;
  dlcc_nn_batchnorm_spec s = dlcc_nn_batchnorm_spec_default(1, DLCC_NN_BN_FROZEN);
  const int64_t dims[4] = {2, 1, 1, 1};
  rig r;
  rig_open(&r, &s, dims);
  dlcc_nn_param_values(&r.params, r.bn.running_mean)[0] = 1;
  dlcc_nn_param_values(&r.params, r.bn.running_var)[0] = 4;
  const float x[2] = {1, 5}, g[2] = {1, 1};
  float y[2], dx[2];
  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  assert_float_equal(y[0], 0, 1e-6);
  assert_float_equal(y[1], 4 / sqrt(4 + 1e-5), 1e-5);
  rig_backward(&r, g, dx);
  assert_float_equal(dx[0], 1 / sqrt(4 + 1e-5), 1e-6); /* statistics are constants */
  assert_float_equal(dlcc_nn_param_grads(&r.params, r.bn.bias)[0], 2, 1e-6);
  assert_true(dlcc_nn_param_values(&r.params, r.bn.running_mean)[0] == 1);
  assert_true(dlcc_nn_param_values(&r.params, r.bn.running_var)[0] == 4);
  rig_close(&r);
}

static void test_backward_without_dx_still_writes_parameter_gradients(void **state) {
  (void)state;
  dlcc_nn_batchnorm_spec s = dlcc_nn_batchnorm_spec_default(3, DLCC_NN_BN_BATCH);
  const int64_t dims[4] = {2, 3, 2, 3};
  rig r;
  rig_open(&r, &s, dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 3);
  float x[36], g[36], y[36], dx[36], with_dx[6];
  fill_normal(&rng, x, 36, 1);
  fill_normal(&rng, g, 36, 1);
  rig_forward(&r, x, y, DLCC_NN_TRAINING);
  rig_backward(&r, g, dx);
  memcpy(with_dx, dlcc_nn_param_grads(&r.params, r.bn.weight), 3 * 4);
  memcpy(with_dx + 3, dlcc_nn_param_grads(&r.params, r.bn.bias), 3 * 4);
  memset(r.params.grads, 0, r.params.trained * 4);
  rig_backward(&r, g, NULL);
  assert_memory_equal(dlcc_nn_param_grads(&r.params, r.bn.weight), with_dx, 3 * 4);
  assert_memory_equal(dlcc_nn_param_grads(&r.params, r.bn.bias), with_dx + 3, 3 * 4);
  rig_close(&r);
}

static void test_plans_are_built_once_per_input_shape_and_mode(void **state) {
  (void)state;
  dlcc_nn_batchnorm_spec s = dlcc_nn_batchnorm_spec_default(2, DLCC_NN_BN_BATCH);
  const int64_t a[4] = {1, 2, 3, 3}, b[4] = {2, 2, 2, 2};
  rig r;
  rig_open(&r, &s, a);
  float x[18] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 2, 3, 5, 8, 13, 21, 34}, y1[18], y2[18];
  rig_forward(&r, x, y1, DLCC_NN_TRAINING);
  rig_forward(&r, x, y2, DLCC_NN_TRAINING);
  assert_int_equal(r.bn.plans.built, 1);
  assert_memory_equal(y1, y2, sizeof y1);
  rig_forward(&r, x, y2, DLCC_NN_INFERENCE);
  assert_int_equal(r.bn.plans.built, 2);
  memcpy(r.dims, b, sizeof b);
  rig_forward(&r, x, y2, DLCC_NN_TRAINING);
  memcpy(r.dims, a, sizeof a);
  rig_forward(&r, x, y2, DLCC_NN_TRAINING);
  assert_int_equal(r.bn.plans.built, 3);
  assert_memory_equal(y1, y2, sizeof y1);
  rig_close(&r);
}

static void test_errors_name_the_layer_and_what_to_change(void **state) {
  (void)state;
  dlcc_nn_params p;
  dlcc_nn_params_init(&p);
  dlcc_nn_batchnorm bn;
  dlcc_error err;
  dlcc_nn_batchnorm_spec s = dlcc_nn_batchnorm_spec_default(4, DLCC_NN_BN_BATCH);
  s.eps = 0;
  assert_int_equal(dlcc_nn_batchnorm_init(&bn, "layer1.0.bn1", &s, &p, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "layer1.0.bn1: eps must be positive (PyTorch's 1e-5)");
  dlcc_nn_batchnorm_free(&bn);
  s = dlcc_nn_batchnorm_spec_default(4, DLCC_NN_BN_BATCH);
  s.momentum = 1.5f;
  assert_int_equal(dlcc_nn_batchnorm_init(&bn, "layer1.0.bn1", &s, &p, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "layer1.0.bn1: momentum must be in [0, 1] (PyTorch's 0.1)");
  dlcc_nn_batchnorm_free(&bn);
  assert_int_equal(p.count, 0);
  dlcc_nn_params_free(&p);

  s = dlcc_nn_batchnorm_spec_default(4, DLCC_NN_BN_BATCH);
  const int64_t one[4] = {1, 4, 1, 1}, two[4] = {2, 4, 1, 1}, channels[4] = {2, 3, 1, 1};
  rig r;
  rig_open(&r, &s, one);
  float x[8] = {0};
  import_as(&r, &r.x, x, dnnl_nchw);
  assert_int_equal(dlcc_nn_batchnorm_forward(&r.bn, r.e, &r.x, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "bn: batch statistics need more than one value per channel, the input is 1x4x1x1 "
                               "(use a larger batch or frozen statistics)");
  assert_int_equal(dlcc_nn_batchnorm_forward(&r.bn, r.e, &r.x, &r.y, DLCC_NN_INFERENCE, &err), DLCC_OK);
  memcpy(r.dims, two, sizeof two);
  import_as(&r, &r.x, x, dnnl_nchw);
  import_as(&r, &r.dy, x, dnnl_nchw);
  assert_int_equal(dlcc_nn_batchnorm_backward(&r.bn, r.e, &r.x, &r.dy, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "bn: backward goes through the batch statistics of a training forward of this "
                               "input; run that forward first");
  assert_int_equal(dlcc_nn_batchnorm_forward(&r.bn, r.e, &r.x, &r.y, DLCC_NN_TRAINING, &err), DLCC_OK);
  memcpy(r.dims, one, sizeof one);
  import_as(&r, &r.dy, x, dnnl_nchw);
  assert_int_equal(dlcc_nn_batchnorm_backward(&r.bn, r.e, &r.x, &r.dy, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "bn: the output gradient is 1x4x1x1 f32, the output 2x4x1x1 f32");
  memcpy(r.dims, channels, sizeof channels);
  import_as(&r, &r.x, x, dnnl_nchw);
  assert_int_equal(dlcc_nn_batchnorm_forward(&r.bn, r.e, &r.x, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "bn: the input has 3 channels, the layer takes 4");
  rig_close(&r);
}

/* ---- bf16 --------------------------------------------------------------------------------- */

static void test_bf16_is_refused_without_cpu_support_or_tracks_f32(void **state) {
  (void)state;
  dlcc_nn_batchnorm_spec s = dlcc_nn_batchnorm_spec_default(16, DLCC_NN_BN_BATCH);
  const int64_t dims[4] = {2, 16, 5, 4};
  rig r;
  rig_open(&r, &s, dims);
  dlcc_nn_cpu_info info = dlcc_nn_cpu_info_get(r.e);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 5);
  size_t n = count4(dims);
  float *x = malloc(n * 4), *y32 = malloc(n * 4), *y16 = malloc(n * 4), *dy = malloc(n * 4);
  float *dx32 = malloc(n * 4), *dx16 = malloc(n * 4), *dw32 = malloc(r.params.trained * 4);
  fill_normal(&rng, x, n, 1);
  fill_normal(&rng, dy, n, 1);
  rig_forward(&r, x, y32, DLCC_NN_TRAINING);
  rig_backward(&r, dy, dx32);
  memcpy(dw32, r.params.grads, r.params.trained * 4);
  dlcc_error err;
  assert_int_equal(dlcc_nn_tensor_import_nchw(&r.x, r.e, x, dims, DLCC_NN_BF16, &err), DLCC_OK);
  dlcc_status st = dlcc_nn_batchnorm_forward(&r.bn, r.e, &r.x, &r.y, DLCC_NN_TRAINING, &err);
  if (!info.bf16_available) {
    assert_int_equal(st, DLCC_ERR_UNSUPPORTED);
    assert_contains(err.message, "bn: forward (training) for input 2x16x5x4 bf16 abcd: oneDNN has no "
                                 "implementation for this shape and data type on this CPU (ISA ");
    assert_contains(err.message, info.isa);
  } else {
    if (st || dlcc_nn_tensor_export_nchw(&r.y, r.e, y16, &err) ||
        dlcc_nn_tensor_import_nchw(&r.dy, r.e, dy, dims, DLCC_NN_BF16, &err) ||
        dlcc_nn_batchnorm_backward(&r.bn, r.e, &r.x, &r.dy, &r.dx, &err) ||
        dlcc_nn_tensor_export_nchw(&r.dx, r.e, dx16, &err))
      fail_msg("%s", err.message);
    assert_true(relative_error(y16, y32, n) < 2e-2);
    assert_true(relative_error(dx16, dx32, n) < 2e-2);
    assert_true(relative_error(r.params.grads, dw32, r.params.trained) < 2e-2);
  }
  free(x), free(y32), free(y16), free(dy), free(dx32), free(dx16), free(dw32);
  rig_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_frozen_gradients_match_finite_differences),
    cmocka_unit_test(test_batch_statistics_gradients_match_finite_differences_through_the_statistics),
    cmocka_unit_test(test_frozen_matches_pytorch_eval_mode_with_eps_1e3),
    cmocka_unit_test(test_batch_statistics_match_pytorch_train_mode_and_running_update),
    cmocka_unit_test(test_batch_statistics_of_one_image_with_momentum_0003),
    cmocka_unit_test(test_blocked_layouts_match_pytorch_too),
    cmocka_unit_test(test_declares_pytorch_names_and_initial_values),
    cmocka_unit_test(test_batch_mode_normalizes_by_batch_and_updates_running_stats),
    cmocka_unit_test(test_shift_only_batch_always_normalizes_inference_by_the_batch),
    cmocka_unit_test(test_shift_only_batch_always_gradients_match_finite_differences),
    cmocka_unit_test(test_frozen_mode_never_changes_running_stats),
    cmocka_unit_test(test_backward_without_dx_still_writes_parameter_gradients),
    cmocka_unit_test(test_plans_are_built_once_per_input_shape_and_mode),
    cmocka_unit_test(test_errors_name_the_layer_and_what_to_change),
    cmocka_unit_test(test_bf16_is_refused_without_cpu_support_or_tracks_f32),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
