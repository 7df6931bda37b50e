/* Tests of src/nn/pool (max pooling): hand-computed windows, gradients against finite differences
 * (inputs without ties), results against PyTorch (tests/fixtures/pool_*), output sizes, layouts,
 * plans and their workspace, error messages, bf16. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/pool.h"
#include "nn_layertest.h"

/* A pooling layer with an engine and the tensors of one forward/backward. */
typedef struct rig {
  dlcc_nn_engine *e;
  dlcc_nn_pool pool;
  dlcc_nn_tensor x, y, dy, dx;
} rig;

static void rig_open(rig *r, const dlcc_nn_pool_spec *spec) {
  memset(r, 0, sizeof *r);
  r->e = lt_engine();
  dlcc_error err;
  if (dlcc_nn_pool_init(&r->pool, "maxpool", spec, &err)) fail_msg("%s", err.message);
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_init(t[i]);
}

static void rig_close(rig *r) {
  dlcc_nn_tensor *t[4] = {&r->x, &r->y, &r->dy, &r->dx};
  for (int i = 0; i < 4; i++) dlcc_nn_tensor_free(t[i]);
  dlcc_nn_pool_free(&r->pool);
  dlcc_nn_engine_free(r->e);
}

static float *rig_forward(rig *r, dlcc_nn_mode mode) {
  dlcc_error err;
  if (dlcc_nn_pool_forward(&r->pool, r->e, &r->x, &r->y, mode, &err)) fail_msg("%s", err.message);
  return lt_export(&r->y, r->e);
}

static float *rig_backward(rig *r) {
  dlcc_error err;
  if (dlcc_nn_pool_backward(&r->pool, r->e, &r->x, &r->dy, &r->dx, &err)) fail_msg("%s", err.message);
  return lt_export(&r->dx, r->e);
}

/* ---- Hand-computed windows ---------------------------------------------------------------- */

static void test_2x2_stride2_takes_each_window_maximum_and_routes_gradient_back(void **state) {
  (void)state;
  dlcc_nn_pool_spec s = dlcc_nn_pool_spec_square(2, 2, 0);
  rig r;
  rig_open(&r, &s);
  const int64_t dims[4] = {1, 1, 4, 4}, out[4] = {1, 1, 2, 2};
  const float x[16] = {1, 9, 2, 0,  /* */
                       3, 4, 8, 5,  /* */
                       0, 0, -1, -2, /* */
                       7, 0, -3, -4};
  const float dy[4] = {10, 20, 30, 40};
  lt_import(&r.x, r.e, x, dims);
  float *y = rig_forward(&r, DLCC_NN_TRAINING);
  const float want_y[4] = {9, 8, 7, -1};
  assert_memory_equal(y, want_y, sizeof want_y);
  lt_import(&r.dy, r.e, dy, out);
  float *dx = rig_backward(&r);
  const float want_dx[16] = {0, 10, 0, 0, 0, 0, 20, 0, 0, 0, 40, 0, 30, 0, 0, 0};
  assert_memory_equal(dx, want_dx, sizeof want_dx);
  free(y), free(dx);
  rig_close(&r);
}

/* Every 3x3 window (stride 1, padding 1) over a 3x3 input contains its centre: the maximum
 * everywhere, so its gradient is the sum of all nine output gradients. */
static void test_overlapping_windows_sum_gradients_at_a_shared_maximum(void **state) {
  (void)state;
  dlcc_nn_pool_spec s = dlcc_nn_pool_spec_square(3, 1, 1);
  rig r;
  rig_open(&r, &s);
  const int64_t dims[4] = {1, 1, 3, 3};
  const float x[9] = {-1, -2, -3, -4, 5, -6, -7, -8, -9}, dy[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  lt_import(&r.x, r.e, x, dims);
  float *y = rig_forward(&r, DLCC_NN_TRAINING);
  for (int i = 0; i < 9; i++) assert_float_equal(y[i], 5, 0);
  lt_import(&r.dy, r.e, dy, dims);
  float *dx = rig_backward(&r);
  const float want_dx[9] = {0, 0, 0, 0, 45, 0, 0, 0, 0};
  assert_memory_equal(dx, want_dx, sizeof want_dx);
  free(y), free(dx);
  rig_close(&r);
}

static void test_output_sizes_follow_pytorch_floor_rule(void **state) {
  (void)state;
  dlcc_error err;
  dlcc_nn_pool pool;
  dlcc_nn_pool_spec resnet = dlcc_nn_pool_spec_square(3, 2, 1);
  assert_int_equal(dlcc_nn_pool_init(&pool, "maxpool", &resnet, &err), DLCC_OK);
  const int64_t stem[4] = {8, 64, 112, 111}, odd[4] = {1, 3, 1, 2};
  int64_t out[4];
  assert_int_equal(dlcc_nn_pool_output_dims(&pool, stem, out, &err), DLCC_OK);
  assert_int_equal(out[0], 8);
  assert_int_equal(out[1], 64);
  assert_int_equal(out[2], 56); /* floor((112 + 2 - 3) / 2) + 1 */
  assert_int_equal(out[3], 56); /* floor((111 + 2 - 3) / 2) + 1 */
  assert_int_equal(dlcc_nn_pool_output_dims(&pool, odd, out, &err), DLCC_OK);
  assert_int_equal(out[2], 1);
  dlcc_nn_pool_free(&pool);
  dlcc_nn_pool_spec big = dlcc_nn_pool_spec_square(5, 1, 1);
  assert_int_equal(dlcc_nn_pool_init(&pool, "pool5", &big, &err), DLCC_OK);
  const int64_t small[4] = {1, 3, 2, 9};
  assert_int_equal(dlcc_nn_pool_output_dims(&pool, small, out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "pool5: the input (2x9) is smaller than the 5x5 window with padding 1");
  dlcc_nn_pool_free(&pool);
}

/* ---- Finite differences ------------------------------------------------------------------- */

/* Values 0.1 apart in random order: central differences of step 0.01 never change which element is
 * a window's maximum (max pooling's gradient is undefined at ties). */
static void fill_without_ties(dlcc_rng *rng, float *x, size_t n) {
  size_t *perm = malloc(n * sizeof *perm);
  dlcc_rng_permutation(rng, perm, n);
  for (size_t i = 0; i < n; i++) x[i] = (float)(0.1 * (double)perm[i] - 0.05 * (double)n);
  free(perm);
}

static double loss_of(rig *r, const float *x, const int64_t dims[4], const float *g, size_t ny) {
  lt_import(&r->x, r->e, x, dims);
  float *y = rig_forward(r, DLCC_NN_TRAINING);
  double sum = 0;
  for (size_t i = 0; i < ny; i++) sum += (double)y[i] * g[i];
  free(y);
  return sum;
}

static void check_gradients_numerically(const dlcc_nn_pool_spec *spec, const int64_t dims[4], uint64_t seed) {
  rig r;
  rig_open(&r, spec);
  dlcc_error err;
  int64_t out[4];
  if (dlcc_nn_pool_output_dims(&r.pool, dims, out, &err)) fail_msg("%s", err.message);
  size_t nx = lt_count4(dims), ny = lt_count4(out);
  const float step = 1e-2f;
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  float *x = malloc(nx * sizeof *x), *g = malloc(ny * sizeof *g);
  double *numeric = malloc(nx * sizeof *numeric);
  fill_without_ties(&rng, x, nx);
  lt_fill_normal(&rng, g, ny, 1.0);
  lt_import(&r.x, r.e, x, dims);
  free(rig_forward(&r, DLCC_NN_TRAINING));
  lt_import(&r.dy, r.e, g, out);
  float *dx = rig_backward(&r);
  for (size_t i = 0; i < nx; i++) {
    float keep = x[i];
    x[i] = keep + step;
    double up = loss_of(&r, x, dims, g, ny);
    x[i] = keep - step;
    double down = loss_of(&r, x, dims, g, ny);
    x[i] = keep;
    numeric[i] = (up - down) / (2.0 * step);
  }
  double worst, gap = lt_max_gap(numeric, dx, nx, &worst);
  if (gap > 1e-3 * worst) fail_msg("gap %g for gradients up to %g", gap, worst);
  free(x), free(g), free(numeric), free(dx);
  rig_close(&r);
}

static void test_gradients_match_finite_differences_resnet_3x3_stride2_pad1(void **state) {
  (void)state;
  dlcc_nn_pool_spec s = dlcc_nn_pool_spec_square(3, 2, 1);
  const int64_t dims[4] = {2, 3, 7, 6};
  check_gradients_numerically(&s, dims, 1);
}

static void test_gradients_match_finite_differences_rectangular_window(void **state) {
  (void)state;
  dlcc_nn_pool_spec s = {.kernel = {2, 3}, .stride = {1, 2}, .padding = {1, 0}};
  const int64_t dims[4] = {1, 2, 5, 8};
  check_gradients_numerically(&s, dims, 2);
}

/* ---- PyTorch golden fixtures -------------------------------------------------------------- */

static void compare_with_pytorch(const char *fixture) {
  dlcc_safetensors *st = lt_fixture_open(fixture);
  dlcc_nn_pool_spec spec = dlcc_nn_pool_spec_square(lt_meta_int(st, "kernel"), lt_meta_int(st, "stride"),
                                                    lt_meta_int(st, "padding"));
  rig r;
  rig_open(&r, &spec);
  int64_t dims[4], dy_dims[4];
  float *x = lt_read4(st, "input", dims), *dy = lt_read4(st, "grad.output", dy_dims);
  lt_import(&r.x, r.e, x, dims);
  float *y = rig_forward(&r, DLCC_NN_TRAINING);
  lt_import(&r.dy, r.e, dy, dy_dims);
  float *dx = rig_backward(&r);
  lt_expect_close(st, "output", y, lt_count4(dy_dims));
  lt_expect_close(st, "grad.input", dx, lt_count4(dims));
  free(y);
  y = rig_forward(&r, DLCC_NN_INFERENCE);
  lt_expect_close(st, "output", y, lt_count4(dy_dims));
  free(x), free(dy), free(y), free(dx);
  rig_close(&r);
  dlcc_safetensors_close(st);
}

static void test_matches_pytorch_3x3_stride2_pad1_like_resnet(void **state) {
  (void)state;
  compare_with_pytorch("pool_3x3_s2_p1");
}

static void test_matches_pytorch_2x2_stride2_odd_width(void **state) {
  (void)state;
  compare_with_pytorch("pool_2x2_s2");
}

static void test_matches_pytorch_3x3_stride1_pad1(void **state) {
  (void)state;
  compare_with_pytorch("pool_3x3_s1_p1");
}

/* ---- Layouts, plans and errors ------------------------------------------------------------ */

static void test_blocked_input_gives_blocked_output_with_plain_values(void **state) {
  (void)state;
  dlcc_nn_pool_spec s = dlcc_nn_pool_spec_square(3, 2, 1);
  const int64_t dims[4] = {2, 5, 6, 7}, out[4] = {2, 5, 3, 4};
  size_t nx = lt_count4(dims), ny = lt_count4(out);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 3);
  float *x = malloc(nx * sizeof *x), *g = malloc(ny * sizeof *g);
  lt_fill_normal(&rng, x, nx, 1);
  lt_fill_normal(&rng, g, ny, 1);
  rig plain, blocked;
  rig_open(&plain, &s);
  rig_open(&blocked, &s);
  lt_import(&plain.x, plain.e, x, dims);
  lt_import(&plain.dy, plain.e, g, out);
  lt_import_as(&blocked.x, blocked.e, x, dims, dnnl_nChw8c);
  lt_import(&blocked.dy, blocked.e, g, out); /* plain dy: converted to what backward wants */
  float *y1 = rig_forward(&plain, DLCC_NN_TRAINING), *dx1 = rig_backward(&plain);
  float *y2 = rig_forward(&blocked, DLCC_NN_TRAINING), *dx2 = rig_backward(&blocked);
  char layout[128];
  lt_layout(&blocked.y, layout, sizeof layout);
  assert_string_equal(layout, "2x5x3x4 f32 aBcd8b");
  lt_layout(&plain.y, layout, sizeof layout);
  assert_string_equal(layout, "2x5x3x4 f32 abcd");
  assert_memory_equal(y1, y2, ny * sizeof *y1);
  /* Overlapping windows add gradients in a kernel-dependent order: equal up to rounding. */
  assert_true(lt_relative_error(dx2, dx1, nx) < 1e-6);
  free(x), free(g), free(y1), free(dx1), free(y2), free(dx2);
  rig_close(&plain);
  rig_close(&blocked);
}

static void test_backward_reuses_the_training_plan_and_its_workspace(void **state) {
  (void)state;
  dlcc_nn_pool_spec s = dlcc_nn_pool_spec_square(2, 2, 0);
  rig r;
  rig_open(&r, &s);
  const int64_t a[4] = {1, 1, 2, 2}, b[4] = {1, 1, 4, 2};
  const float xa[4] = {1, 2, 3, 4}, xb[8] = {8, 7, 6, 5, 4, 3, 2, 1}, one = 1;
  const int64_t out_a[4] = {1, 1, 1, 1};
  lt_import(&r.x, r.e, xa, a);
  free(rig_forward(&r, DLCC_NN_TRAINING));
  lt_import(&r.dy, r.e, &one, out_a);
  float *dx = rig_backward(&r);
  assert_int_equal(r.pool.plans.built, 1);
  const float want_a[4] = {0, 0, 0, 1};
  assert_memory_equal(dx, want_a, sizeof want_a);
  free(dx);
  /* Another shape in between has a plan (and a workspace) of its own. */
  dlcc_nn_tensor other;
  dlcc_nn_tensor_init(&other);
  lt_import(&other, r.e, xb, b);
  dlcc_error err;
  if (dlcc_nn_pool_forward(&r.pool, r.e, &other, &r.y, DLCC_NN_TRAINING, &err)) fail_msg("%s", err.message);
  assert_int_equal(r.pool.plans.built, 2);
  dx = rig_backward(&r);
  assert_memory_equal(dx, want_a, sizeof want_a);
  assert_int_equal(r.pool.plans.built, 2);
  free(dx);
  dlcc_nn_tensor_free(&other);
  rig_close(&r);
}

static void test_backward_without_training_forward_is_refused(void **state) {
  (void)state;
  dlcc_nn_pool_spec s = dlcc_nn_pool_spec_square(2, 2, 0);
  rig r;
  rig_open(&r, &s);
  const int64_t dims[4] = {1, 1, 2, 2}, out[4] = {1, 1, 1, 1};
  const float x[4] = {1, 2, 3, 4};
  lt_import(&r.x, r.e, x, dims);
  free(rig_forward(&r, DLCC_NN_INFERENCE));
  lt_import(&r.dy, r.e, x, out);
  dlcc_error err;
  assert_int_equal(dlcc_nn_pool_backward(&r.pool, r.e, &r.x, &r.dy, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "maxpool: backward needs a training forward of this input shape first");
  rig_close(&r);
}

static void test_bad_specs_wrong_gradient_and_empty_input_are_named(void **state) {
  (void)state;
  dlcc_error err;
  dlcc_nn_pool pool;
  dlcc_nn_pool_spec s = dlcc_nn_pool_spec_square(3, 2, 2);
  assert_int_equal(dlcc_nn_pool_init(&pool, "maxpool", &s, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "maxpool: padding 2 is more than half the kernel (3)");
  dlcc_nn_pool_free(&pool);
  s = dlcc_nn_pool_spec_square(3, 0, 1);
  assert_int_equal(dlcc_nn_pool_init(&pool, "maxpool", &s, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "maxpool: kernel and stride must be >= 1 and padding >= 0");
  dlcc_nn_pool_free(&pool);

  s = dlcc_nn_pool_spec_square(3, 2, 1);
  rig r;
  rig_open(&r, &s);
  dlcc_nn_tensor empty;
  dlcc_nn_tensor_init(&empty);
  assert_int_equal(dlcc_nn_pool_forward(&r.pool, r.e, &empty, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "maxpool: the input tensor is empty");
  const int64_t dims[4] = {1, 2, 4, 4}, wrong[4] = {1, 2, 4, 2};
  float x[32] = {0};
  lt_import(&r.x, r.e, x, dims);
  free(rig_forward(&r, DLCC_NN_TRAINING));
  lt_import(&r.dy, r.e, x, wrong);
  assert_int_equal(dlcc_nn_pool_backward(&r.pool, r.e, &r.x, &r.dy, &r.dx, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "maxpool: the output gradient is 1x2x4x2 f32, the output 1x2x2x2 f32");
  rig_close(&r);
}

/* ---- bf16 --------------------------------------------------------------------------------- */

static void test_bf16_tracks_f32_or_is_refused_naming_layer_and_isa(void **state) {
  (void)state;
  const char *isa;
  bool has_bf16 = lt_cpu_has_bf16(&isa);
  dlcc_nn_pool_spec s = dlcc_nn_pool_spec_square(3, 2, 1);
  const int64_t dims[4] = {1, 16, 4, 4}, out[4] = {1, 16, 2, 2};
  size_t nx = lt_count4(dims), ny = lt_count4(out);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 4);
  float *x = malloc(nx * sizeof *x), *g = malloc(ny * sizeof *g);
  size_t perm[256];
  dlcc_rng_permutation(&rng, perm, nx);
  for (size_t i = 0; i < nx; i++) x[i] = (float)perm[i] - 128.0f; /* distinct integers: exact in bf16 */
  lt_fill_normal(&rng, g, ny, 1);
  rig r;
  rig_open(&r, &s);
  lt_import(&r.x, r.e, x, dims);
  lt_import(&r.dy, r.e, g, out);
  float *y32 = rig_forward(&r, DLCC_NN_TRAINING), *dx32 = rig_backward(&r);
  dlcc_nn_tensor_free(&r.x);
  dlcc_nn_tensor_free(&r.dy);
  lt_import_bf16(&r.x, r.e, x, dims);
  lt_import_bf16(&r.dy, r.e, g, out);
  dlcc_error err;
  dlcc_status st = dlcc_nn_pool_forward(&r.pool, r.e, &r.x, &r.y, DLCC_NN_TRAINING, &err);
  if (!has_bf16) {
    assert_int_equal(st, DLCC_ERR_UNSUPPORTED);
    assert_contains(err.message, "maxpool: forward (training) for input 1x16x4x4 bf16 abcd: oneDNN has no "
                                 "implementation for this shape and data type on this CPU (ISA ");
    assert_contains(err.message, isa);
    print_message("bf16 refused as expected on this CPU (ISA %s)\n", isa);
  } else {
    if (st) fail_msg("%s", err.message);
    float *y16 = lt_export(&r.y, r.e), *dx16 = rig_backward(&r);
    assert_true(lt_relative_error(y16, y32, ny) < 2e-2);
    assert_true(lt_relative_error(dx16, dx32, nx) < 2e-2);
    free(y16), free(dx16);
  }
  free(x), free(g), free(y32), free(dx32);
  rig_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_2x2_stride2_takes_each_window_maximum_and_routes_gradient_back),
    cmocka_unit_test(test_overlapping_windows_sum_gradients_at_a_shared_maximum),
    cmocka_unit_test(test_output_sizes_follow_pytorch_floor_rule),
    cmocka_unit_test(test_gradients_match_finite_differences_resnet_3x3_stride2_pad1),
    cmocka_unit_test(test_gradients_match_finite_differences_rectangular_window),
    cmocka_unit_test(test_matches_pytorch_3x3_stride2_pad1_like_resnet),
    cmocka_unit_test(test_matches_pytorch_2x2_stride2_odd_width),
    cmocka_unit_test(test_matches_pytorch_3x3_stride1_pad1),
    cmocka_unit_test(test_blocked_input_gives_blocked_output_with_plain_values),
    cmocka_unit_test(test_backward_reuses_the_training_plan_and_its_workspace),
    cmocka_unit_test(test_backward_without_training_forward_is_refused),
    cmocka_unit_test(test_bad_specs_wrong_gradient_and_empty_input_are_named),
    cmocka_unit_test(test_bf16_tracks_f32_or_is_refused_naming_layer_and_isa),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
