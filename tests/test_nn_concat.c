/* Tests of src/nn/concat (channel concatenation): hand-computed values, gradients against finite
 * differences, results against PyTorch (tests/fixtures/concat_*), blocked layouts split by views
 * or through a plain copy, plans, error messages, bf16. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/concat.h"
#include "nn_layertest.h"

/* A concat layer with an engine, its inputs and gradients, and the tensors of one pass. */
typedef struct rig {
  dlcc_nn_engine *e;
  dlcc_nn_concat cat;
  int n;
  dlcc_nn_tensor x[DLCC_NN_CONCAT_MAX], dx[DLCC_NN_CONCAT_MAX], y, dy;
  const dlcc_nn_tensor *xs[DLCC_NN_CONCAT_MAX];
  dlcc_nn_tensor *dxs[DLCC_NN_CONCAT_MAX];
  int64_t dims[DLCC_NN_CONCAT_MAX][4], y_dims[4];
} rig;

/* Inputs of channels[0..n) channels, each N x C x H x W. */
static void rig_open(rig *r, int n, const int64_t *channels, int64_t batch, int64_t h, int64_t w) {
  memset(r, 0, sizeof *r);
  r->e = lt_engine();
  r->n = n;
  dlcc_nn_concat_spec spec = {.inputs = n};
  for (int i = 0; i < n; i++) {
    spec.channels[i] = channels[i];
    int64_t d[4] = {batch, channels[i], h, w};
    memcpy(r->dims[i], d, sizeof d);
    dlcc_nn_tensor_init(&r->x[i]);
    dlcc_nn_tensor_init(&r->dx[i]);
    r->xs[i] = &r->x[i];
    r->dxs[i] = &r->dx[i];
  }
  dlcc_nn_tensor_init(&r->y);
  dlcc_nn_tensor_init(&r->dy);
  dlcc_error err;
  if (dlcc_nn_concat_init(&r->cat, "fuse.cat", &spec, &err) ||
      dlcc_nn_concat_output_dims(&r->cat, (const int64_t(*)[4])r->dims, r->y_dims, &err))
    fail_msg("%s", err.message);
}

static void rig_close(rig *r) {
  for (int i = 0; i < r->n; i++) {
    dlcc_nn_tensor_free(&r->x[i]);
    dlcc_nn_tensor_free(&r->dx[i]);
  }
  dlcc_nn_tensor_free(&r->y);
  dlcc_nn_tensor_free(&r->dy);
  dlcc_nn_concat_free(&r->cat);
  dlcc_nn_engine_free(r->e);
}

/* Imports input i from v (plain) in layout tag. */
static void rig_input(rig *r, int i, const float *v, dnnl_format_tag_t tag) {
  lt_import_as(&r->x[i], r->e, v, r->dims[i], tag);
}

static float *rig_forward(rig *r, dlcc_nn_mode mode) {
  dlcc_error err;
  if (dlcc_nn_concat_forward(&r->cat, r->e, r->xs, &r->y, mode, &err)) fail_msg("%s", err.message);
  return lt_export(&r->y, r->e);
}

static void rig_backward(rig *r, const float *dy, dnnl_format_tag_t tag) {
  lt_import_as(&r->dy, r->e, dy, r->y_dims, tag);
  dlcc_error err;
  if (dlcc_nn_concat_backward(&r->cat, r->e, r->xs, &r->dy, r->dxs, &err)) fail_msg("%s", err.message);
}

/* ---- Hand-computed values ----------------------------------------------------------------- */

static void test_channels_are_stacked_in_input_order_and_the_gradient_split_back(void **state) {
  (void)state;
  const int64_t channels[2] = {1, 2};
  rig r;
  rig_open(&r, 2, channels, 1, 1, 2);
  const float x0[2] = {1, 2}, x1[4] = {3, 4, 5, 6}, dy[6] = {10, 20, 30, 40, 50, 60};
  rig_input(&r, 0, x0, dnnl_nchw);
  rig_input(&r, 1, x1, dnnl_nchw);
  float *y = rig_forward(&r, DLCC_NN_TRAINING);
  const float want[6] = {1, 2, 3, 4, 5, 6};
  assert_memory_equal(y, want, sizeof want);
  assert_int_equal(r.y.dims[1], 3);
  rig_backward(&r, dy, dnnl_nchw);
  float *dx0 = lt_export(&r.dx[0], r.e), *dx1 = lt_export(&r.dx[1], r.e);
  assert_memory_equal(dx0, dy, 2 * sizeof *dy);
  assert_memory_equal(dx1, dy + 2, 4 * sizeof *dy);
  free(y), free(dx0), free(dx1);
  rig_close(&r);
}

/* ---- Finite differences ------------------------------------------------------------------- */

static double loss_of(rig *r, float *const *x, const float *g) {
  for (int i = 0; i < r->n; i++) rig_input(r, i, x[i], dnnl_nchw);
  float *y = rig_forward(r, DLCC_NN_TRAINING);
  double sum = 0;
  for (size_t i = 0; i < lt_count4(r->y_dims); i++) sum += (double)y[i] * g[i];
  free(y);
  return sum;
}

/* Concatenation is linear: central differences are exact up to rounding at any step. */
static void test_gradients_match_finite_differences(void **state) {
  (void)state;
  const int64_t channels[3] = {2, 3, 1};
  rig r;
  rig_open(&r, 3, channels, 2, 3, 2);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 1);
  float *x[3], *g = malloc(lt_count4(r.y_dims) * sizeof *g);
  for (int i = 0; i < 3; i++) {
    x[i] = malloc(lt_count4(r.dims[i]) * sizeof *x[i]);
    lt_fill_normal(&rng, x[i], lt_count4(r.dims[i]), 1);
  }
  lt_fill_normal(&rng, g, lt_count4(r.y_dims), 1);
  loss_of(&r, x, g);
  rig_backward(&r, g, dnnl_nchw);
  const float step = 0.1f;
  for (int k = 0; k < 3; k++) {
    size_t n = lt_count4(r.dims[k]);
    float *dx = lt_export(&r.dx[k], r.e);
    double *numeric = malloc(n * sizeof *numeric);
    for (size_t i = 0; i < n; i++) {
      float keep = x[k][i];
      x[k][i] = keep + step;
      double up = loss_of(&r, x, g);
      x[k][i] = keep - step;
      double down = loss_of(&r, x, g);
      x[k][i] = keep;
      numeric[i] = (up - down) / (2.0 * step);
    }
    double worst, gap = lt_max_gap(numeric, dx, n, &worst);
    if (gap > 1e-3 * worst) fail_msg("d(input %d): gap %g for gradients up to %g", k, gap, worst);
    free(dx), free(numeric);
  }
  for (int i = 0; i < 3; i++) free(x[i]);
  free(g);
  rig_close(&r);
}

/* ---- PyTorch golden fixtures -------------------------------------------------------------- */

static void test_matches_pytorch_three_inputs(void **state) {
  (void)state;
  dlcc_safetensors *st = lt_fixture_open("concat_3");
  int n = (int)lt_meta_int(st, "inputs");
  assert_true(n >= 2 && n <= DLCC_NN_CONCAT_MAX);
  float *x[DLCC_NN_CONCAT_MAX];
  int64_t dims[DLCC_NN_CONCAT_MAX][4], channels[DLCC_NN_CONCAT_MAX];
  char name[64];
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof name, "input.%d", i);
    x[i] = lt_read4(st, name, dims[i]);
    channels[i] = dims[i][1];
  }
  assert_string_equal(lt_meta(st, "channels"), "3,8,5");
  rig r;
  rig_open(&r, n, channels, dims[0][0], dims[0][2], dims[0][3]);
  for (int i = 0; i < n; i++) rig_input(&r, i, x[i], dnnl_nchw);
  int64_t dy_dims[4];
  float *dy = lt_read4(st, "grad.output", dy_dims);
  float *y = rig_forward(&r, DLCC_NN_TRAINING);
  lt_expect_close(st, "output", y, lt_count4(r.y_dims));
  rig_backward(&r, dy, dnnl_nchw);
  for (int i = 0; i < n; i++) {
    float *dx = lt_export(&r.dx[i], r.e);
    snprintf(name, sizeof name, "grad.input.%d", i);
    lt_expect_close(st, name, dx, lt_count4(dims[i]));
    free(dx);
  }
  free(y);
  y = rig_forward(&r, DLCC_NN_INFERENCE);
  lt_expect_close(st, "output", y, lt_count4(r.y_dims));
  for (int i = 0; i < n; i++) free(x[i]);
  free(dy), free(y);
  rig_close(&r);
  dlcc_safetensors_close(st);
}

/* ---- Layouts, plans and errors ------------------------------------------------------------ */

/* Forward and backward of inputs in layouts tags[i] (and dy in dy_tag) against the plain result;
 * each gradient takes its input's layout. */
static void check_layouts(int n, const int64_t *channels, const dnnl_format_tag_t *tags, dnnl_format_tag_t dy_tag,
                          const char *const *dx_layouts) {
  rig plain, r;
  rig_open(&plain, n, channels, 2, 3, 2);
  rig_open(&r, n, channels, 2, 3, 2);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 3);
  for (int i = 0; i < n; i++) {
    size_t count = lt_count4(r.dims[i]);
    float *x = malloc(count * sizeof *x);
    lt_fill_normal(&rng, x, count, 1);
    rig_input(&plain, i, x, dnnl_nchw);
    rig_input(&r, i, x, tags[i]);
    free(x);
  }
  size_t ny = lt_count4(r.y_dims);
  float *g = malloc(ny * sizeof *g);
  lt_fill_normal(&rng, g, ny, 1);
  float *y1 = rig_forward(&plain, DLCC_NN_TRAINING), *y2 = rig_forward(&r, DLCC_NN_TRAINING);
  assert_memory_equal(y1, y2, ny * sizeof *y1);
  rig_backward(&plain, g, dnnl_nchw);
  rig_backward(&r, g, dy_tag);
  char layout[128];
  for (int i = 0; i < n; i++) {
    float *d1 = lt_export(&plain.dx[i], plain.e), *d2 = lt_export(&r.dx[i], r.e);
    assert_memory_equal(d1, d2, lt_count4(r.dims[i]) * sizeof *d1);
    lt_layout(&r.dx[i], layout, sizeof layout);
    assert_string_equal(layout, dx_layouts[i]);
    free(d1), free(d2);
  }
  free(g), free(y1), free(y2);
  rig_close(&plain);
  rig_close(&r);
}

static void test_blocked_gradient_cut_at_block_boundaries_is_split_by_views(void **state) {
  (void)state;
  const int64_t channels[3] = {8, 16, 5};
  const dnnl_format_tag_t tags[3] = {dnnl_nChw8c, dnnl_nChw8c, dnnl_nChw8c};
  const char *layouts[3] = {"2x8x3x2 f32 aBcd8b", "2x16x3x2 f32 aBcd8b", "2x5x3x2 f32 aBcd8b"};
  check_layouts(3, channels, tags, dnnl_nChw8c, layouts);
}

static void test_blocked_gradient_cut_inside_a_block_goes_through_plain(void **state) {
  (void)state;
  const int64_t channels[3] = {3, 8, 5};
  const dnnl_format_tag_t tags[3] = {dnnl_nChw8c, dnnl_nhwc, dnnl_nchw};
  const char *layouts[3] = {"2x3x3x2 f32 aBcd8b", "2x8x3x2 f32 acdb", "2x5x3x2 f32 abcd"};
  check_layouts(3, channels, tags, dnnl_nChw8c, layouts);
}

static void test_later_inputs_in_another_layout_are_converted_within_the_same_plan(void **state) {
  (void)state;
  const int64_t channels[2] = {2, 3};
  rig r;
  rig_open(&r, 2, channels, 1, 2, 2);
  const float x0[8] = {1, 2, 3, 4, 5, 6, 7, 8}, x1[12] = {9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  rig_input(&r, 0, x0, dnnl_nchw);
  rig_input(&r, 1, x1, dnnl_nchw);
  float *y1 = rig_forward(&r, DLCC_NN_TRAINING);
  rig_input(&r, 1, x1, dnnl_nhwc);
  float *y2 = rig_forward(&r, DLCC_NN_TRAINING);
  assert_int_equal(r.cat.plans.built, 1);
  for (int i = 0; i < 20; i++) assert_float_equal(y2[i], (float)(i + 1), 0);
  assert_memory_equal(y1, y2, 20 * sizeof *y1);
  float dy[20];
  for (int i = 0; i < 20; i++) dy[i] = (float)-i;
  r.dxs[0] = NULL; /* no gradient wanted for input 0 */
  rig_backward(&r, dy, dnnl_nchw);
  assert_int_equal(r.cat.plans.built, 1);
  assert_null(r.dx[0].buf.mem);
  float *dx1 = lt_export(&r.dx[1], r.e);
  assert_memory_equal(dx1, dy + 8, 12 * sizeof *dx1);
  free(y1), free(y2), free(dx1);
  rig_close(&r);
}

static void test_bad_specs_and_mismatched_inputs_are_named(void **state) {
  (void)state;
  dlcc_error err;
  dlcc_nn_concat cat;
  dlcc_nn_concat_spec one = {.inputs = 1, .channels = {3}};
  assert_int_equal(dlcc_nn_concat_init(&cat, "fuse.cat", &one, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "fuse.cat: concatenates 2 to 8 inputs, not 1");
  dlcc_nn_concat_free(&cat);
  dlcc_nn_concat_spec zero = {.inputs = 2, .channels = {3, 0}};
  assert_int_equal(dlcc_nn_concat_init(&cat, "fuse.cat", &zero, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "fuse.cat: input 1 has 0 channels; channels must be positive");
  dlcc_nn_concat_free(&cat);

  const int64_t channels[2] = {2, 3};
  rig r;
  rig_open(&r, 2, channels, 1, 2, 2);
  float zeros[32] = {0};
  assert_int_equal(dlcc_nn_concat_forward(&r.cat, r.e, r.xs, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "fuse.cat: input 0 is empty");
  rig_input(&r, 0, zeros, dnnl_nchw);
  const int64_t wrong_c[4] = {1, 4, 2, 2}, wrong_hw[4] = {1, 3, 2, 1};
  lt_import(&r.x[1], r.e, zeros, wrong_c);
  assert_int_equal(dlcc_nn_concat_forward(&r.cat, r.e, r.xs, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "fuse.cat: input 1 has 4 channels, the layer takes 3");
  lt_import(&r.x[1], r.e, zeros, wrong_hw);
  assert_int_equal(dlcc_nn_concat_forward(&r.cat, r.e, r.xs, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "fuse.cat: input 1 is 1x3x2x1, input 0 1x2x2x2: batch, height and width must agree");
  lt_import_bf16(&r.x[1], r.e, zeros, r.dims[1]);
  assert_int_equal(dlcc_nn_concat_forward(&r.cat, r.e, r.xs, &r.y, DLCC_NN_TRAINING, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "fuse.cat: input 1 is bf16, input 0 f32");
  dlcc_nn_tensor_free(&r.x[1]);
  rig_input(&r, 1, zeros, dnnl_nchw);
  free(rig_forward(&r, DLCC_NN_TRAINING));
  const int64_t wrong_dy[4] = {1, 4, 2, 2};
  lt_import(&r.dy, r.e, zeros, wrong_dy);
  assert_int_equal(dlcc_nn_concat_backward(&r.cat, r.e, r.xs, &r.dy, r.dxs, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "fuse.cat: the output gradient is 1x4x2x2 f32, the output 1x5x2x2 f32");
  rig_close(&r);
}

/* ---- bf16 --------------------------------------------------------------------------------- */

/* Concatenation only moves values: in bf16 the result is the inputs rounded to bf16, exactly. */
static void test_bf16_moves_values_exactly_or_is_refused_naming_layer_and_isa(void **state) {
  (void)state;
  const char *isa;
  bool has_bf16 = lt_cpu_has_bf16(&isa);
  const int64_t channels[2] = {16, 8};
  rig r;
  rig_open(&r, 2, channels, 2, 3, 4);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 4);
  float *x[2];
  for (int i = 0; i < 2; i++) {
    size_t n = lt_count4(r.dims[i]);
    x[i] = malloc(n * sizeof *x[i]);
    for (size_t k = 0; k < n; k++) x[i][k] = (float)(dlcc_rng_below(&rng, 512)) - 256.0f; /* exact in bf16 */
    lt_import_bf16(&r.x[i], r.e, x[i], r.dims[i]);
  }
  dlcc_error err;
  dlcc_status st = dlcc_nn_concat_forward(&r.cat, r.e, r.xs, &r.y, DLCC_NN_TRAINING, &err);
  if (!has_bf16 && st) {
    assert_int_equal(st, DLCC_ERR_UNSUPPORTED);
    assert_contains(err.message, "fuse.cat: forward for input 0 2x16x3x4 bf16 abcd: oneDNN has no implementation");
    assert_contains(err.message, isa);
    print_message("bf16 refused on this CPU (ISA %s)\n", isa);
  } else {
    if (st) fail_msg("%s", err.message);
    assert_int_equal(r.y.dtype, DLCC_NN_BF16);
    float *y = lt_export(&r.y, r.e);
    size_t n0 = lt_count4(r.dims[0]) / 2, n1 = lt_count4(r.dims[1]) / 2; /* per image */
    for (int b = 0; b < 2; b++) {
      assert_memory_equal(y + b * (n0 + n1), x[0] + b * n0, n0 * sizeof *y);
      assert_memory_equal(y + b * (n0 + n1) + n0, x[1] + b * n1, n1 * sizeof *y);
    }
    lt_import_bf16(&r.dy, r.e, y, r.y_dims);
    if (dlcc_nn_concat_backward(&r.cat, r.e, r.xs, &r.dy, r.dxs, &err)) fail_msg("%s", err.message);
    for (int i = 0; i < 2; i++) {
      float *dx = lt_export(&r.dx[i], r.e);
      assert_memory_equal(dx, x[i], lt_count4(r.dims[i]) * sizeof *dx);
      free(dx);
    }
    free(y);
  }
  free(x[0]), free(x[1]);
  rig_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_channels_are_stacked_in_input_order_and_the_gradient_split_back),
    cmocka_unit_test(test_gradients_match_finite_differences),
    cmocka_unit_test(test_matches_pytorch_three_inputs),
    cmocka_unit_test(test_blocked_gradient_cut_at_block_boundaries_is_split_by_views),
    cmocka_unit_test(test_blocked_gradient_cut_inside_a_block_goes_through_plain),
    cmocka_unit_test(test_later_inputs_in_another_layout_are_converted_within_the_same_plan),
    cmocka_unit_test(test_bad_specs_and_mismatched_inputs_are_named),
    cmocka_unit_test(test_bf16_moves_values_exactly_or_is_refused_naming_layer_and_isa),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
