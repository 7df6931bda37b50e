/* Tests of src/nn/add (residual add, optionally with a fused ReLU): hand-computed values,
 * gradients against finite differences, results against PyTorch (tests/fixtures/add*), inputs in
 * different layouts, plans, error messages, bf16. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/add.h"
#include "nn_layertest.h"

/* An add layer with an engine and the tensors of one forward/backward. */
typedef struct rig {
  dlcc_nn_engine *e;
  dlcc_nn_add add;
  dlcc_nn_tensor a, b, y, dy, dx;
} rig;

static void rig_open(rig *r, bool relu) {
  memset(r, 0, sizeof *r);
  r->e = lt_engine();
  dlcc_error err;
  dlcc_nn_add_spec spec = {.relu = relu};
  if (dlcc_nn_add_init(&r->add, "layer1.0.add", &spec, &err)) fail_msg("%s", err.message);
  dlcc_nn_tensor *t[5] = {&r->a, &r->b, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 5; i++) dlcc_nn_tensor_init(t[i]);
}

static void rig_close(rig *r) {
  dlcc_nn_tensor *t[5] = {&r->a, &r->b, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 5; i++) dlcc_nn_tensor_free(t[i]);
  dlcc_nn_add_free(&r->add);
  dlcc_nn_engine_free(r->e);
}

static float *rig_forward(rig *r, dlcc_nn_mode mode) {
  dlcc_error err;
  if (dlcc_nn_add_forward(&r->add, r->e, &r->a, &r->b, &r->y, mode, &err)) fail_msg("%s", err.message);
  return lt_export(&r->y, r->e);
}

static float *rig_backward(rig *r) {
  dlcc_error err;
  if (dlcc_nn_add_backward(&r->add, r->e, &r->y, &r->dy, &r->dx, &err)) fail_msg("%s", err.message);
  return lt_export(&r->dx, r->e);
}

/* ---- Hand-computed values ----------------------------------------------------------------- */

static const int64_t hand_dims[4] = {1, 1, 2, 2};
static const float hand_a[4] = {1, -2, 3, -4}, hand_b[4] = {0.5f, 1, -4, 4.5f}, hand_dy[4] = {1, 2, 3, 4};

static void expect_values(bool relu, const float want_y[4], const float want_dx[4]) {
  rig r;
  rig_open(&r, relu);
  lt_import(&r.a, r.e, hand_a, hand_dims);
  lt_import(&r.b, r.e, hand_b, hand_dims);
  float *y = rig_forward(&r, DLCC_NN_TRAINING);
  lt_import(&r.dy, r.e, hand_dy, hand_dims);
  float *dx = rig_backward(&r);
  assert_memory_equal(y, want_y, 4 * sizeof *y);
  assert_memory_equal(dx, want_dx, 4 * sizeof *dx);
  free(y), free(dx);
  rig_close(&r);
}

static void test_add_sums_and_passes_the_gradient_unchanged(void **state) {
  (void)state;
  const float y[4] = {1.5f, -1, -1, 0.5f};
  expect_values(false, y, hand_dy);
}

static void test_fused_relu_clamps_the_sum_and_masks_the_gradient(void **state) {
  (void)state;
  const float y[4] = {1.5f, 0, 0, 0.5f}, dx[4] = {1, 0, 0, 4};
  expect_values(true, y, dx);
}

/* ---- Finite differences ------------------------------------------------------------------- */

static double loss_of(rig *r, const float *a, const float *b, const int64_t dims[4], const float *g) {
  lt_import(&r->a, r->e, a, dims);
  lt_import(&r->b, r->e, b, dims);
  float *y = rig_forward(r, DLCC_NN_TRAINING);
  double sum = 0;
  for (size_t i = 0; i < lt_count4(dims); i++) sum += (double)y[i] * g[i];
  free(y);
  return sum;
}

/* Central differences of the loss with respect to v (a or b). */
static void numeric_gradient(rig *r, float *a, float *b, float *v, const int64_t dims[4], const float *g,
                             double *out) {
  const float step = 1e-2f;
  for (size_t i = 0; i < lt_count4(dims); i++) {
    float keep = v[i];
    v[i] = keep + step;
    double up = loss_of(r, a, b, dims, g);
    v[i] = keep - step;
    double down = loss_of(r, a, b, dims, g);
    v[i] = keep;
    out[i] = (up - down) / (2.0 * step);
  }
}

/* With the ReLU, sums within 0.1 of 0 are moved away: the kink is not differentiable. */
static void check_gradients_numerically(bool relu, uint64_t seed) {
  const int64_t dims[4] = {2, 3, 4, 5};
  const size_t n = lt_count4(dims);
  rig r;
  rig_open(&r, relu);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *g = malloc(n * sizeof *g);
  double *numeric = malloc(n * sizeof *numeric);
  lt_fill_normal(&rng, a, n, 1.0);
  lt_fill_normal(&rng, b, n, 1.0);
  lt_fill_normal(&rng, g, n, 1.0);
  for (size_t i = 0; i < n; i++)
    if (fabsf(a[i] + b[i]) < 0.1f) a[i] += a[i] + b[i] >= 0 ? 0.2f : -0.2f;
  loss_of(&r, a, b, dims, g); /* the training forward backward follows */
  lt_import(&r.dy, r.e, g, dims);
  float *dx = rig_backward(&r);
  float *v[2] = {a, b};
  for (int k = 0; k < 2; k++) {
    numeric_gradient(&r, a, b, v[k], dims, g, numeric);
    double worst, gap = lt_max_gap(numeric, dx, n, &worst);
    if (gap > 1e-3 * worst) fail_msg("d(input %c): gap %g for gradients up to %g", "ab"[k], gap, worst);
  }
  free(a), free(b), free(g), free(numeric), free(dx);
  rig_close(&r);
}

static void test_gradients_match_finite_differences(void **state) {
  (void)state;
  check_gradients_numerically(false, 1);
}

static void test_gradients_with_fused_relu_match_finite_differences(void **state) {
  (void)state;
  check_gradients_numerically(true, 2);
}

/* ---- PyTorch golden fixtures -------------------------------------------------------------- */

static void compare_with_pytorch(const char *fixture) {
  dlcc_safetensors *st = lt_fixture_open(fixture);
  rig r;
  rig_open(&r, lt_meta_int(st, "relu") != 0);
  int64_t dims[4], b_dims[4], dy_dims[4];
  float *a = lt_read4(st, "input.a", dims), *b = lt_read4(st, "input.b", b_dims);
  float *dy = lt_read4(st, "grad.output", dy_dims);
  size_t n = lt_count4(dims);
  lt_import(&r.a, r.e, a, dims);
  lt_import(&r.b, r.e, b, b_dims);
  float *y = rig_forward(&r, DLCC_NN_TRAINING);
  lt_import(&r.dy, r.e, dy, dy_dims);
  float *dx = rig_backward(&r);
  lt_expect_close(st, "output", y, n);
  lt_expect_close(st, "grad.input.a", dx, n);
  lt_expect_close(st, "grad.input.b", dx, n);
  free(y);
  y = rig_forward(&r, DLCC_NN_INFERENCE);
  lt_expect_close(st, "output", y, n);
  free(a), free(b), free(dy), free(y), free(dx);
  rig_close(&r);
  dlcc_safetensors_close(st);
}

static void test_matches_pytorch(void **state) {
  (void)state;
  compare_with_pytorch("add");
}

static void test_matches_pytorch_with_relu(void **state) {
  (void)state;
  compare_with_pytorch("add_relu");
}

/* ---- Layouts, plans and errors ------------------------------------------------------------ */

/* The second input is converted to the first's layout, which the output takes. */
static void test_inputs_in_different_layouts_give_the_first_inputs_layout(void **state) {
  (void)state;
  const int64_t dims[4] = {2, 5, 3, 4};
  const size_t n = lt_count4(dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 5);
  float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *g = malloc(n * sizeof *g);
  lt_fill_normal(&rng, a, n, 1);
  lt_fill_normal(&rng, b, n, 1);
  lt_fill_normal(&rng, g, n, 1);
  float *want = malloc(n * sizeof *want), *want_dx = malloc(n * sizeof *want_dx);
  for (size_t i = 0; i < n; i++) {
    want[i] = fmaxf(a[i] + b[i], 0);
    want_dx[i] = want[i] > 0 ? g[i] : 0;
  }
  const char *block;
  const dnnl_format_tag_t blocked = lt_native_blocked_tag(&block);
  const dnnl_format_tag_t tags[2][2] = {{blocked, dnnl_nchw}, {dnnl_nchw, dnnl_nhwc}};
  char blocked_layout[64];
  snprintf(blocked_layout, sizeof blocked_layout, "2x5x3x4 f32 %s", block);
  const char *layouts[2] = {blocked_layout, "2x5x3x4 f32 abcd"};
  for (int k = 0; k < 2; k++) {
    rig r;
    rig_open(&r, true);
    lt_import_as(&r.a, r.e, a, dims, tags[k][0]);
    lt_import_as(&r.b, r.e, b, dims, tags[k][1]);
    lt_import_as(&r.dy, r.e, g, dims, dnnl_nhwc);
    float *y = rig_forward(&r, DLCC_NN_TRAINING), *dx = rig_backward(&r);
    char layout[128];
    lt_layout(&r.y, layout, sizeof layout);
    assert_string_equal(layout, layouts[k]);
    lt_layout(&r.dx, layout, sizeof layout);
    assert_string_equal(layout, layouts[k]);
    for (size_t i = 0; i < n; i++) { /* == rather than bytes: the masked gradient may be -0 */
      assert_true(y[i] == want[i]);
      assert_true(dx[i] == want_dx[i]);
    }
    free(y), free(dx);
    rig_close(&r);
  }
  free(a), free(b), free(g), free(want), free(want_dx);
}

static void test_backward_reuses_the_training_plan(void **state) {
  (void)state;
  rig r;
  rig_open(&r, true);
  lt_import(&r.a, r.e, hand_a, hand_dims);
  lt_import(&r.b, r.e, hand_b, hand_dims);
  lt_import(&r.dy, r.e, hand_dy, hand_dims);
  free(rig_forward(&r, DLCC_NN_TRAINING));
  free(rig_backward(&r));
  free(rig_forward(&r, DLCC_NN_TRAINING));
  free(rig_backward(&r));
  assert_int_equal(r.add.plans.built, 1);
  free(rig_forward(&r, DLCC_NN_INFERENCE));
  assert_int_equal(r.add.plans.built, 2);
  rig_close(&r);
}

static void test_mismatched_inputs_wrong_gradient_and_empty_tensors_are_named(void **state) {
  (void)state;
  rig r;
  rig_open(&r, false);
  dlcc_error err;
  const int64_t dims[4] = {1, 2, 3, 3}, other[4] = {1, 4, 3, 3};
  float zeros[36] = {0};
  dlcc_nn_tensor empty;
  dlcc_nn_tensor_init(&empty);
  assert_int_equal(dlcc_nn_add_forward(&r.add, r.e, &empty, &r.b, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "layer1.0.add: the first input tensor is empty");
  lt_import(&r.a, r.e, zeros, dims);
  assert_int_equal(dlcc_nn_add_forward(&r.add, r.e, &r.a, &empty, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "layer1.0.add: the second input tensor is empty");
  lt_import(&r.b, r.e, zeros, other);
  assert_int_equal(dlcc_nn_add_forward(&r.add, r.e, &r.a, &r.b, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "layer1.0.add: cannot add a 1x2x3x3 tensor and a 1x4x3x3 one (the shapes must be "
                               "equal)");
  lt_import_bf16(&r.b, r.e, zeros, dims);
  assert_int_equal(dlcc_nn_add_forward(&r.add, r.e, &r.a, &r.b, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "layer1.0.add: cannot add a f32 tensor and a bf16 one");
  dlcc_nn_tensor_free(&r.b);
  lt_import(&r.b, r.e, zeros, dims);
  free(rig_forward(&r, DLCC_NN_TRAINING));
  lt_import(&r.dy, r.e, zeros, other);
  assert_int_equal(dlcc_nn_add_backward(&r.add, r.e, &r.y, &r.dy, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "layer1.0.add: the output gradient is 1x4x3x3 f32, the output 1x2x3x3 f32");
  rig_close(&r);
}

/* ---- bf16 --------------------------------------------------------------------------------- */

static void test_bf16_tracks_f32_or_is_refused_naming_layer_and_isa(void **state) {
  (void)state;
  const char *isa;
  bool has_bf16 = lt_cpu_has_bf16(&isa);
  const int64_t dims[4] = {2, 16, 5, 6};
  const size_t n = lt_count4(dims);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 6);
  float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *g = malloc(n * sizeof *g);
  lt_fill_normal(&rng, a, n, 1);
  lt_fill_normal(&rng, b, n, 1);
  lt_fill_normal(&rng, g, n, 1);
  for (size_t i = 0; i < n; i++) /* away from the kink, where bf16 rounding could flip the mask */
    if (fabsf(a[i] + b[i]) < 0.1f) a[i] += a[i] + b[i] >= 0 ? 0.2f : -0.2f;
  rig r;
  rig_open(&r, true);
  lt_import(&r.a, r.e, a, dims);
  lt_import(&r.b, r.e, b, dims);
  lt_import(&r.dy, r.e, g, dims);
  float *y32 = rig_forward(&r, DLCC_NN_TRAINING), *dx32 = rig_backward(&r);
  dlcc_nn_tensor *ts[3] = {&r.a, &r.b, &r.dy};
  const float *vs[3] = {a, b, g};
  for (int i = 0; i < 3; i++) {
    dlcc_nn_tensor_free(ts[i]);
    lt_import_bf16(ts[i], r.e, vs[i], dims);
  }
  dlcc_error err;
  dlcc_status st = dlcc_nn_add_forward(&r.add, r.e, &r.a, &r.b, &r.y, DLCC_NN_TRAINING, &err);
  if (!has_bf16) {
    assert_int_equal(st, DLCC_ERR_UNSUPPORTED);
    assert_contains(err.message, "layer1.0.add: add + relu forward for input 2x16x5x6 bf16 abcd: oneDNN has no "
                                 "implementation for this shape and data type on this CPU (ISA ");
    assert_contains(err.message, isa);
    print_message("bf16 refused as expected on this CPU (ISA %s)\n", isa);
  } else {
    if (st) fail_msg("%s", err.message);
    float *y16 = lt_export(&r.y, r.e), *dx16 = rig_backward(&r);
    assert_true(lt_relative_error(y16, y32, n) < 2e-2);
    assert_true(lt_relative_error(dx16, dx32, n) < 2e-2);
    free(y16), free(dx16);
  }
  free(a), free(b), free(g), free(y32), free(dx32);
  rig_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_add_sums_and_passes_the_gradient_unchanged),
    cmocka_unit_test(test_fused_relu_clamps_the_sum_and_masks_the_gradient),
    cmocka_unit_test(test_gradients_match_finite_differences),
    cmocka_unit_test(test_gradients_with_fused_relu_match_finite_differences),
    cmocka_unit_test(test_matches_pytorch),
    cmocka_unit_test(test_matches_pytorch_with_relu),
    cmocka_unit_test(test_inputs_in_different_layouts_give_the_first_inputs_layout),
    cmocka_unit_test(test_backward_reuses_the_training_plan),
    cmocka_unit_test(test_mismatched_inputs_wrong_gradient_and_empty_tensors_are_named),
    cmocka_unit_test(test_bf16_tracks_f32_or_is_refused_naming_layer_and_isa),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
