/* Tests of src/infer/predict_single: DeepLabCut's single-animal arg-max + location refinement on
 * hand-made score maps (peaks at known cells with known offsets give known positions), numpy's
 * tie-breaking, the f32 arithmetic of the offsets, no refinement, scale and crop offset, and the
 * errors for a diverged network or missing locref. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer/predict_single.h"
#include "testutil.h"

#define MAP_W 5
#define MAP_H 4
#define CELLS (MAP_W * MAP_H)
#define BACKGROUND (-6.0f) /* a low logit everywhere but the peaks */

/* Network outputs of a batch, NCHW: logits [n][joints][H][W], locref [n][2 joints][H][W]. */
typedef struct outputs {
  int n_images, num_joints;
  float *logits, *locref;
} outputs;

static outputs outputs_alloc(int n_images, int num_joints) {
  outputs o = {n_images, num_joints, NULL, NULL};
  size_t planes = (size_t)n_images * (size_t)num_joints;
  o.logits = malloc(planes * CELLS * sizeof *o.logits);
  o.locref = malloc(2 * planes * CELLS * sizeof *o.locref);
  assert_non_null(o.logits);
  assert_non_null(o.locref);
  for (size_t i = 0; i < planes * CELLS; i++) o.logits[i] = BACKGROUND;
  /* Offsets of 3 cells everywhere else: picking a wrong cell or channel moves the answer by 3 * stdev. */
  for (size_t i = 0; i < 2 * planes * CELLS; i++) o.locref[i] = 3.0f;
  return o;
}

static void outputs_free(outputs *o) {
  free(o->logits);
  free(o->locref);
}

static float *logit_at(outputs *o, int image, int joint, int x, int y) {
  return &o->logits[((size_t)image * o->num_joints + joint) * CELLS + (size_t)y * MAP_W + x];
}

static void set_locref(outputs *o, int image, int joint, int x, int y, float dx, float dy) {
  size_t base = ((size_t)image * 2 * o->num_joints + 2 * (size_t)joint) * CELLS + (size_t)y * MAP_W + x;
  o->locref[base] = dx;
  o->locref[base + CELLS] = dy;
}

/* actual within tolerance of expected (an f32 sigmoid against the exact value). */
static void assert_near(double actual, double expected, double tolerance) {
  if (!(fabs(actual - expected) <= tolerance))
    fail_msg("%.17g is not within %g of %.17g", actual, tolerance, expected);
}

static dlcc_predict_params params(int num_joints, bool refine, double stdev) {
  dlcc_predict_params p;
  dlcc_predict_params_init(&p, num_joints, 8.0, refine, stdev);
  return p;
}

static void predict_ok(const dlcc_predict_params *p, outputs *o, double *pose) {
  dlcc_error err;
  dlcc_error_clear(&err);
  if (dlcc_predict_single(p, o->logits, p->location_refinement ? o->locref : NULL, o->n_images, MAP_H, MAP_W,
                          pose, &err))
    fail_msg("%s", err.message);
}

static void test_predict_peak_with_locref_gives_cell_centre_plus_scaled_offset(void **state) {
  (void)state;
  outputs o = outputs_alloc(2, 2);
  /* Image 0: joint 0 peaks at cell (3, 1), joint 1 at the bottom-right corner (4, 3). Image 1: joint
   * 0 at the top-left corner. locref_stdev 2 keeps the arithmetic exact. */
  *logit_at(&o, 0, 0, 3, 1) = 0.0f;
  set_locref(&o, 0, 0, 3, 1, 0.25f, -0.5f);
  *logit_at(&o, 0, 1, 4, 3) = 2.0f;
  set_locref(&o, 0, 1, 4, 3, -1.0f, 0.125f);
  *logit_at(&o, 1, 0, 0, 0) = 1.0f;
  set_locref(&o, 1, 0, 0, 0, 0.5f, 0.5f);
  *logit_at(&o, 1, 1, 2, 2) = 1.0f;
  set_locref(&o, 1, 1, 2, 2, 0.0f, 0.0f);
  dlcc_predict_params p = params(2, true, 2.0);
  double pose[2 * 2 * 3];
  predict_ok(&p, &o, pose);
  /* (3*8 + 4 + 0.25*2, 1*8 + 4 - 0.5*2); sigmoid(0) = 0.5 exactly. */
  assert_true(pose[0] == 28.5 && pose[1] == 11.0 && pose[2] == 0.5);
  /* (4*8 + 4 - 2, 3*8 + 4 + 0.25) */
  assert_true(pose[3] == 34.0 && pose[4] == 28.25);
  assert_near(pose[5], 1.0 / (1.0 + exp(-2.0)), 1e-7);
  assert_true(pose[6] == 5.0 && pose[7] == 5.0);
  assert_near(pose[8], 1.0 / (1.0 + exp(-1.0)), 1e-7);
  assert_true(pose[9] == 20.0 && pose[10] == 20.0);
  outputs_free(&o);
}

/* DeepLabCut multiplies the f32 locref array by locref_stdev in place (f32) and adds the result to
 * the cell centre in double: 7.2801 as f32 is 7.2800998687744140625. */
static void test_predict_default_locref_stdev_scales_offset_in_f32(void **state) {
  (void)state;
  outputs o = outputs_alloc(1, 1);
  *logit_at(&o, 0, 0, 2, 1) = 4.0f;
  set_locref(&o, 0, 0, 2, 1, 1.0f, -0.5f);
  dlcc_predict_params p = params(1, true, 7.2801);
  double pose[3];
  predict_ok(&p, &o, pose);
  assert_true(pose[0] == 27.2800998687744140625);  /* 20 + f32(7.2801) */
  assert_true(pose[1] == 8.359950065612792968750); /* 12 + f32(-0.5 * f32(7.2801)) */
  /* the likelihood is the f32 sigmoid widened: within f32 rounding of the exact value */
  assert_near(pose[2], 1.0 / (1.0 + exp(-4.0)), 1e-7);
  assert_true(pose[2] == (double)(float)pose[2]);
  outputs_free(&o);
}

static void test_predict_equal_values_take_first_cell_in_row_major_order(void **state) {
  (void)state;
  outputs o = outputs_alloc(1, 2);
  /* joint 0: equal peaks at (4, 0) and (1, 2): row 0 comes first although its column is larger.
   * joint 1: equal peaks at (3, 2) and (1, 2) in one row: the smaller column. */
  *logit_at(&o, 0, 0, 1, 2) = 3.0f;
  *logit_at(&o, 0, 0, 4, 0) = 3.0f;
  *logit_at(&o, 0, 1, 3, 2) = 3.0f;
  *logit_at(&o, 0, 1, 1, 2) = 3.0f;
  dlcc_predict_params p = params(2, false, 7.2801);
  double pose[6];
  predict_ok(&p, &o, pose);
  assert_true(pose[0] == 36.0 && pose[1] == 4.0);
  assert_true(pose[3] == 12.0 && pose[4] == 20.0);
  outputs_free(&o);
}

/* The arg-max is taken over the f32 sigmoid, as DeepLabCut's numpy code sees it: logits 20 and 30
 * both give 1.0f, so the first cell wins, not the larger logit. */
static void test_predict_saturated_sigmoid_ties_take_first_cell_not_larger_logit(void **state) {
  (void)state;
  outputs o = outputs_alloc(1, 1);
  *logit_at(&o, 0, 0, 3, 1) = 20.0f;
  *logit_at(&o, 0, 0, 0, 3) = 30.0f;
  dlcc_predict_params p = params(1, false, 7.2801);
  double pose[3];
  predict_ok(&p, &o, pose);
  assert_true(pose[0] == 28.0 && pose[1] == 12.0 && pose[2] == 1.0);
  outputs_free(&o);
}

static void test_predict_without_locref_gives_cell_centre(void **state) {
  (void)state;
  outputs o = outputs_alloc(1, 1);
  *logit_at(&o, 0, 0, 4, 2) = -1.0f; /* the peak may be below 0.5 */
  dlcc_predict_params p = params(1, false, 7.2801);
  double pose[3];
  predict_ok(&p, &o, pose); /* locref passed as NULL */
  assert_true(pose[0] == 36.0 && pose[1] == 20.0);
  assert_near(pose[2], 1.0 / (1.0 + exp(1.0)), 1e-7);
  outputs_free(&o);
}

static void test_predict_scale_and_crop_offset_map_back_to_original_image(void **state) {
  (void)state;
  outputs o = outputs_alloc(1, 1);
  *logit_at(&o, 0, 0, 2, 1) = 5.0f;
  set_locref(&o, 0, 0, 2, 1, 0.5f, -0.25f);
  dlcc_predict_params p = params(1, true, 2.0);
  p.offset_x = 100; /* a crop box whose top-left corner is (100, 50) */
  p.offset_y = 50;
  double pose[3];
  predict_ok(&p, &o, pose);
  assert_true(pose[0] == 121.0 && pose[1] == 61.5); /* (20 + 1, 12 - 0.5) + (100, 50) */
  p.scale_x = p.scale_y = 0.5; /* the crop was also halved before the network */
  predict_ok(&p, &o, pose);
  assert_true(pose[0] == 142.0 && pose[1] == 73.0); /* (21, 11.5) / 0.5 + (100, 50) */
  outputs_free(&o);
}

static void test_predict_nan_logit_names_image_and_joint(void **state) {
  (void)state;
  outputs o = outputs_alloc(2, 2);
  *logit_at(&o, 1, 1, 2, 2) = NAN;
  dlcc_predict_params p = params(2, true, 7.2801);
  double pose[12];
  dlcc_error err;
  assert_int_equal(dlcc_predict_single(&p, o.logits, o.locref, 2, MAP_H, MAP_W, pose, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "score map holds NaN (image 1 of the batch, joint 1)");
  assert_contains(err.message, "earlier snapshot");
  outputs_free(&o);
}

static void test_predict_nonfinite_locref_at_peak_is_an_error(void **state) {
  (void)state;
  outputs o = outputs_alloc(1, 1);
  *logit_at(&o, 0, 0, 1, 1) = 2.0f;
  set_locref(&o, 0, 0, 1, 1, INFINITY, 0.0f);
  dlcc_predict_params p = params(1, true, 7.2801);
  double pose[3];
  dlcc_error err;
  assert_int_equal(dlcc_predict_single(&p, o.logits, o.locref, 1, MAP_H, MAP_W, pose, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "locref output is not finite at cell (1, 1) (image 0 of the batch, joint 0)");
  outputs_free(&o);
}

static void test_predict_refinement_without_locref_output_says_what_to_change(void **state) {
  (void)state;
  outputs o = outputs_alloc(1, 1);
  dlcc_predict_params p = params(1, true, 7.2801);
  double pose[3];
  dlcc_error err;
  assert_int_equal(dlcc_predict_single(&p, o.logits, NULL, 1, MAP_H, MAP_W, pose, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "locref output is missing");
  assert_contains(err.message, "location_refinement: false");
  p.location_refinement = false;
  p.scale_x = 0;
  assert_int_equal(dlcc_predict_single(&p, o.logits, NULL, 1, MAP_H, MAP_W, pose, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "the input scale is 0 x 1");
  outputs_free(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_predict_peak_with_locref_gives_cell_centre_plus_scaled_offset),
      cmocka_unit_test(test_predict_default_locref_stdev_scales_offset_in_f32),
      cmocka_unit_test(test_predict_equal_values_take_first_cell_in_row_major_order),
      cmocka_unit_test(test_predict_saturated_sigmoid_ties_take_first_cell_not_larger_logit),
      cmocka_unit_test(test_predict_without_locref_gives_cell_centre),
      cmocka_unit_test(test_predict_scale_and_crop_offset_map_back_to_original_image),
      cmocka_unit_test(test_predict_nan_logit_names_image_and_joint),
      cmocka_unit_test(test_predict_nonfinite_locref_at_peak_is_an_error),
      cmocka_unit_test(test_predict_refinement_without_locref_output_says_what_to_change),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
