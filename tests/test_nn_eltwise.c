/* Tests of src/nn/eltwise (ReLU, ReLU6, sigmoid): hand-computed values including the kinks,
 * gradients against finite differences, results against PyTorch (tests/fixtures/eltwise_*),
 * layouts kept, plan reuse, error messages, bf16. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/eltwise.h"
#include "nn_layertest.h"

/* An activation layer with an engine and the tensors of one forward/backward. */
typedef struct rig {
  dlcc_nn_engine *e;
  dlcc_nn_eltwise elt;
  dlcc_nn_tensor x, y, dy, dx;
} rig;

static void rig_open(rig *r, dlcc_nn_eltwise_kind kind) {
  memset(r, 0, sizeof *r);
  r->e = lt_engine();
  dlcc_error err;
  dlcc_nn_eltwise_spec spec = {.kind = kind};
  if (dlcc_nn_eltwise_init(&r->elt, dlcc_nn_eltwise_kind_name(kind), &spec, &err)) fail_msg("%s", err.message);
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_init(t[i]);
}

static void rig_close(rig *r) {
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_free(t[i]);
  dlcc_nn_eltwise_free(&r->elt);
  dlcc_nn_engine_free(r->e);
}

/* Forward of r->x into r->y, exported (caller frees). */
static float *rig_forward(rig *r, dlcc_nn_mode mode) {
  dlcc_error err;
  if (dlcc_nn_eltwise_forward(&r->elt, r->e, &r->x, &r->y, mode, &err)) fail_msg("%s", err.message);
  return lt_export(&r->y, r->e);
}

/* Backward from r->dy into r->dx, exported (caller frees). */
static float *rig_backward(rig *r) {
  dlcc_error err;
  if (dlcc_nn_eltwise_backward(&r->elt, r->e, &r->y, &r->dy, &r->dx, &err)) fail_msg("%s", err.message);
  return lt_export(&r->dx, r->e);
}

/* ---- Hand-computed values ----------------------------------------------------------------- */

static const float kinks[8] = {-2.0f, -0.0f, 0.0f, 0.5f, 3.0f, 6.0f, 7.5f, 1e-3f};
static const int64_t kink_dims[4] = {1, 2, 2, 2};
static const float ones_to_eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static void expect_values(dlcc_nn_eltwise_kind kind, const float want_y[8], const float want_dx[8]) {
  rig r;
  rig_open(&r, kind);
  lt_import(&r.x, r.e, kinks, kink_dims);
  float *y = rig_forward(&r, DLCC_NN_TRAINING);
  lt_import(&r.dy, r.e, ones_to_eight, kink_dims);
  float *dx = rig_backward(&r);
  for (int i = 0; i < 8; i++) {
    assert_float_equal(y[i], want_y[i], 1e-6);
    assert_float_equal(dx[i], want_dx[i], 1e-6);
  }
  free(y), free(dx);
  rig_close(&r);
}

static void test_relu_passes_positive_values_and_their_gradient_only(void **state) {
  (void)state;
  const float y[8] = {0, 0, 0, 0.5f, 3, 6, 7.5f, 1e-3f};
  const float dx[8] = {0, 0, 0, 4, 5, 6, 7, 8}; /* 0 at x == 0, as PyTorch's relu */
  expect_values(DLCC_NN_RELU, y, dx);
}

static void test_relu6_clips_at_6_with_zero_gradient_at_both_bounds(void **state) {
  (void)state;
  const float y[8] = {0, 0, 0, 0.5f, 3, 6, 6, 1e-3f};
  const float dx[8] = {0, 0, 0, 4, 5, 0, 0, 8}; /* PyTorch's hardtanh_backward: 0 at x == 0 and x == 6 */
  expect_values(DLCC_NN_RELU6, y, dx);
}

static void test_sigmoid_values_and_gradient_y_times_one_minus_y(void **state) {
  (void)state;
  float y[8], dx[8];
  for (int i = 0; i < 8; i++) {
    double s = 1.0 / (1.0 + exp(-(double)kinks[i]));
    y[i] = (float)s;
    dx[i] = (float)(s * (1 - s) * ones_to_eight[i]);
  }
  assert_float_equal(y[2], 0.5f, 0);
  assert_float_equal(dx[2], 0.75f, 1e-7); /* 0.25 * 3 */
  expect_values(DLCC_NN_SIGMOID, y, dx);
}

/* ---- Finite differences ------------------------------------------------------------------- */

/* x drawn from a normal (times scale), moved at least `margin` away from the kinks 0 and 6 so
 * that central differences of step < margin never straddle one. */
static void fill_away_from_kinks(dlcc_rng *rng, float *x, size_t n, double scale, double margin) {
  for (size_t i = 0; i < n; i++) {
    double v;
    do v = dlcc_rng_normal(rng) * scale;
    while (fabs(v) < margin || fabs(v - 6) < margin);
    x[i] = (float)v;
  }
}

/* sum(f(x) * g) in double. */
static double loss_of(rig *r, const float *x, const int64_t dims[4], const float *g) {
  lt_import(&r->x, r->e, x, dims);
  float *y = rig_forward(r, DLCC_NN_TRAINING);
  double sum = 0;
  for (size_t i = 0; i < lt_count4(dims); i++) sum += (double)y[i] * g[i];
  free(y);
  return sum;
}

static void check_gradients_numerically(dlcc_nn_eltwise_kind kind, double scale, uint64_t seed) {
  const int64_t dims[4] = {2, 3, 4, 5};
  const size_t n = lt_count4(dims);
  const float step = 1e-2f;
  rig r;
  rig_open(&r, kind);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g);
  double *numeric = malloc(n * sizeof *numeric);
  fill_away_from_kinks(&rng, x, n, scale, 0.1);
  lt_fill_normal(&rng, g, n, 1.0);
  lt_import(&r.x, r.e, x, dims);
  free(rig_forward(&r, DLCC_NN_TRAINING));
  lt_import(&r.dy, r.e, g, dims);
  float *dx = rig_backward(&r);
  for (size_t i = 0; i < n; i++) {
    float keep = x[i];
    x[i] = keep + step;
    double up = loss_of(&r, x, dims, g);
    x[i] = keep - step;
    double down = loss_of(&r, x, dims, g);
    x[i] = keep;
    numeric[i] = (up - down) / (2.0 * step);
  }
  double worst, gap = lt_max_gap(numeric, dx, n, &worst);
  if (gap > 1e-3 * worst) fail_msg("%s: gap %g for gradients up to %g", r.elt.name, gap, worst);
  free(x), free(g), free(numeric), free(dx);
  rig_close(&r);
}

static void test_relu_gradient_matches_finite_differences(void **state) {
  (void)state;
  check_gradients_numerically(DLCC_NN_RELU, 1.0, 1);
}

static void test_relu6_gradient_matches_finite_differences(void **state) {
  (void)state;
  check_gradients_numerically(DLCC_NN_RELU6, 4.0, 2);
}

static void test_sigmoid_gradient_matches_finite_differences(void **state) {
  (void)state;
  check_gradients_numerically(DLCC_NN_SIGMOID, 3.0, 3);
}

/* ---- PyTorch golden fixtures -------------------------------------------------------------- */

static dlcc_nn_eltwise_kind kind_named(const char *name) {
  for (int k = DLCC_NN_RELU; k <= DLCC_NN_SIGMOID; k++)
    if (!strcmp(dlcc_nn_eltwise_kind_name((dlcc_nn_eltwise_kind)k), name)) return (dlcc_nn_eltwise_kind)k;
  fail_msg("unknown activation %s", name);
  return DLCC_NN_RELU;
}

static void compare_with_pytorch(const char *fixture) {
  dlcc_safetensors *st = lt_fixture_open(fixture);
  rig r;
  rig_open(&r, kind_named(lt_meta(st, "kind")));
  int64_t dims[4], dy_dims[4];
  float *x = lt_read4(st, "input", dims), *dy = lt_read4(st, "grad.output", dy_dims);
  size_t n = lt_count4(dims);
  lt_import(&r.x, r.e, x, dims);
  float *y = rig_forward(&r, DLCC_NN_TRAINING);
  lt_import(&r.dy, r.e, dy, dy_dims);
  float *dx = rig_backward(&r);
  lt_expect_close(st, "output", y, n);
  lt_expect_close(st, "grad.input", dx, n);
  free(y);
  y = rig_forward(&r, DLCC_NN_INFERENCE);
  lt_expect_close(st, "output", y, n);
  free(x), free(dy), free(y), free(dx);
  rig_close(&r);
  dlcc_safetensors_close(st);
}

static void test_relu_matches_pytorch(void **state) {
  (void)state;
  compare_with_pytorch("eltwise_relu");
}

static void test_relu6_matches_pytorch(void **state) {
  (void)state;
  compare_with_pytorch("eltwise_relu6");
}

static void test_sigmoid_matches_pytorch(void **state) {
  (void)state;
  compare_with_pytorch("eltwise_sigmoid");
}

/* ---- Layouts, plans and errors ------------------------------------------------------------ */

/* A blocked input (5 channels in blocks of 8: padded) gives a blocked output and gradient with the
 * same values as plain ones; a plain dy is converted to the output's layout. */
static void test_blocked_input_keeps_its_layout_through_forward_and_backward(void **state) {
  (void)state;
  const int64_t dims[4] = {2, 5, 3, 4};
  const size_t n = lt_count4(dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 7);
  float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g);
  lt_fill_normal(&rng, x, n, 4.0);
  lt_fill_normal(&rng, g, n, 1.0);
  rig plain, blocked;
  rig_open(&plain, DLCC_NN_RELU6);
  rig_open(&blocked, DLCC_NN_RELU6);
  lt_import(&plain.x, plain.e, x, dims);
  lt_import(&plain.dy, plain.e, g, dims);
  lt_import_as(&blocked.x, blocked.e, x, dims, dnnl_nChw8c);
  lt_import(&blocked.dy, blocked.e, g, dims);
  float *y1 = rig_forward(&plain, DLCC_NN_TRAINING), *dx1 = rig_backward(&plain);
  float *y2 = rig_forward(&blocked, DLCC_NN_TRAINING), *dx2 = rig_backward(&blocked);
  char layout[128];
  lt_layout(&blocked.y, layout, sizeof layout);
  assert_string_equal(layout, "2x5x3x4 f32 aBcd8b");
  lt_layout(&blocked.dx, layout, sizeof layout);
  assert_string_equal(layout, "2x5x3x4 f32 aBcd8b");
  lt_layout(&plain.dx, layout, sizeof layout);
  assert_string_equal(layout, "2x5x3x4 f32 abcd");
  assert_memory_equal(y1, y2, n * sizeof *y1);
  assert_memory_equal(dx1, dx2, n * sizeof *dx1);
  free(x), free(g), free(y1), free(dx1), free(y2), free(dx2);
  rig_close(&plain);
  rig_close(&blocked);
}

static void test_plans_are_built_once_per_shape_and_backward_reuses_training_plan(void **state) {
  (void)state;
  rig r;
  rig_open(&r, DLCC_NN_SIGMOID);
  const int64_t a[4] = {1, 2, 3, 3}, b[4] = {1, 2, 5, 4};
  float x[40] = {0};
  lt_import(&r.x, r.e, x, a);
  free(rig_forward(&r, DLCC_NN_INFERENCE));
  free(rig_forward(&r, DLCC_NN_INFERENCE));
  assert_int_equal(r.elt.plans.built, 1);
  free(rig_forward(&r, DLCC_NN_TRAINING));
  assert_int_equal(r.elt.plans.built, 2);
  lt_import(&r.dy, r.e, x, a);
  free(rig_backward(&r));
  free(rig_backward(&r));
  assert_int_equal(r.elt.plans.built, 2);
  lt_import(&r.x, r.e, x, b);
  float *y = rig_forward(&r, DLCC_NN_TRAINING);
  assert_int_equal(r.elt.plans.built, 3);
  assert_float_equal(y[39], 0.5f, 0);
  free(y);
  rig_close(&r);
}

static void test_wrong_gradient_shape_empty_tensors_and_unknown_kind_are_named(void **state) {
  (void)state;
  rig r;
  rig_open(&r, DLCC_NN_RELU);
  dlcc_error err;
  dlcc_nn_tensor empty;
  dlcc_nn_tensor_init(&empty);
  assert_int_equal(dlcc_nn_eltwise_forward(&r.elt, r.e, &empty, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "relu: the input tensor is empty");
  const int64_t dims[4] = {1, 2, 3, 3}, wrong[4] = {1, 2, 3, 4};
  float x[24] = {0};
  lt_import(&r.x, r.e, x, dims);
  free(rig_forward(&r, DLCC_NN_TRAINING));
  lt_import(&r.dy, r.e, x, wrong);
  assert_int_equal(dlcc_nn_eltwise_backward(&r.elt, r.e, &r.y, &r.dy, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "relu: the output gradient is 1x2x3x4 f32, the output 1x2x3x3 f32");
  assert_int_equal(dlcc_nn_eltwise_backward(&r.elt, r.e, &r.y, &empty, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "relu: the output gradient is empty");
  assert_int_equal(dlcc_nn_eltwise_backward(&r.elt, r.e, &empty, &r.dy, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "relu: the output tensor is empty");
  rig_close(&r);
  dlcc_nn_eltwise elt;
  dlcc_nn_eltwise_spec bad = {.kind = (dlcc_nn_eltwise_kind)7};
  assert_int_equal(dlcc_nn_eltwise_init(&elt, "head.act", &bad, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "head.act: unknown activation kind 7 (relu, relu6 or sigmoid)");
  dlcc_nn_eltwise_free(&elt);
}

/* ---- bf16 --------------------------------------------------------------------------------- */

static void test_bf16_tracks_f32_or_is_refused_naming_layer_and_isa(void **state) {
  (void)state;
  const char *isa;
  bool has_bf16 = lt_cpu_has_bf16(&isa);
  const int64_t dims[4] = {2, 16, 5, 6};
  const size_t n = lt_count4(dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 11);
  float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g);
  lt_fill_normal(&rng, x, n, 3.0);
  lt_fill_normal(&rng, g, n, 1.0);
  rig r;
  rig_open(&r, DLCC_NN_SIGMOID);
  lt_import(&r.x, r.e, x, dims);
  lt_import(&r.dy, r.e, g, dims);
  float *y32 = rig_forward(&r, DLCC_NN_TRAINING), *dx32 = rig_backward(&r);
  dlcc_nn_tensor_free(&r.x);
  dlcc_nn_tensor_free(&r.dy);
  lt_import_bf16(&r.x, r.e, x, dims);
  lt_import_bf16(&r.dy, r.e, g, dims);
  dlcc_error err;
  dlcc_status st = dlcc_nn_eltwise_forward(&r.elt, r.e, &r.x, &r.y, DLCC_NN_TRAINING, &err);
  if (!has_bf16) {
    assert_int_equal(st, DLCC_ERR_UNSUPPORTED);
    assert_contains(err.message, "sigmoid: sigmoid forward (training) for input 2x16x5x6 bf16 abcd: oneDNN has no "
                                 "implementation for this shape and data type on this CPU (ISA ");
    assert_contains(err.message, isa);
    print_message("bf16 refused as expected on this CPU (ISA %s)\n", isa);
  } else {
    if (st) fail_msg("%s", err.message);
    assert_int_equal(r.y.dtype, DLCC_NN_BF16);
    float *y16 = lt_export(&r.y, r.e), *dx16 = rig_backward(&r);
    assert_true(lt_relative_error(y16, y32, n) < 2e-2);
    assert_true(lt_relative_error(dx16, dx32, n) < 2e-2);
    free(y16), free(dx16);
  }
  free(x), free(g), free(y32), free(dx32);
  rig_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_relu_passes_positive_values_and_their_gradient_only),
    cmocka_unit_test(test_relu6_clips_at_6_with_zero_gradient_at_both_bounds),
    cmocka_unit_test(test_sigmoid_values_and_gradient_y_times_one_minus_y),
    cmocka_unit_test(test_relu_gradient_matches_finite_differences),
    cmocka_unit_test(test_relu6_gradient_matches_finite_differences),
    cmocka_unit_test(test_sigmoid_gradient_matches_finite_differences),
    cmocka_unit_test(test_relu_matches_pytorch),
    cmocka_unit_test(test_relu6_matches_pytorch),
    cmocka_unit_test(test_sigmoid_matches_pytorch),
    cmocka_unit_test(test_blocked_input_keeps_its_layout_through_forward_and_backward),
    cmocka_unit_test(test_plans_are_built_once_per_shape_and_backward_reuses_training_plan),
    cmocka_unit_test(test_wrong_gradient_shape_empty_tensors_and_unknown_kind_are_named),
    cmocka_unit_test(test_bf16_tracks_f32_or_is_refused_naming_layer_and_isa),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
