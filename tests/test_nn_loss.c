/* Tests of src/nn/loss: DeepLabCut's losses by hand on tiny arrays, TensorFlow's reduction when
 * weights are zero, gradients against finite differences, values against PyTorch
 * (tests/fixtures/loss_golden.safetensors), and the weighted total with its per-head report. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nn/loss.h"
#include "nn/safetensors.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/rng.h"

#define TOL 1e-6

static void assert_floats_near(const float *got, const double *want, size_t n, double tol) {
  for (size_t i = 0; i < n; i++)
    if (fabs(got[i] - want[i]) > tol) fail_msg("element %zu: got %.9g, want %.9g", i, got[i], want[i]);
}

static void test_sigmoid_cross_entropy_by_hand_divides_by_nonzero_weights(void **state) {
  (void)state;
  /* l = max(x,0) - x*z + log(1 + exp(-|x|)); l' = sigmoid(x) - z
   *   x=0,  z=1: 0 - 0 + log 2            = 0.693147181   l' = 0.5 - 1        = -0.5
   *   x=2,  z=0: 2 - 0 + log(1 + e^-2)    = 2.126928011   l' = 0.880797078
   *   x=-1, z=1: 0 + 1 + log(1 + e^-1)    = 1.313261688   (weight 0: left out)
   *   x=3,  z=1: 3 - 3 + log(1 + e^-3)    = 0.048587352   l' = 0.952574127 - 1 = -0.047425873
   * weights 1, 1, 0, 2: three are non-zero, so
   *   loss = (0.693147181 + 2.126928011 + 2 * 0.048587352) / 3 = 2.917249896 / 3 = 0.972416632
   *   grad = (-0.5/3, 0.880797078/3, 0, 2 * -0.047425873/3) */
  const float x[4] = {0, 2, -1, 3}, z[4] = {1, 0, 1, 1}, w[4] = {1, 1, 0, 2};
  float grad[4];
  double loss = dlcc_nn_sigmoid_cross_entropy(x, z, w, 4, 1.0, grad);
  assert_true(fabs(loss - 0.972416632) < 1e-8);
  const double want[4] = {-0.166666667, 0.293599026, 0, -0.031617249};
  assert_floats_near(grad, want, 4, TOL);
}

static void test_sigmoid_cross_entropy_stays_finite_for_huge_logits(void **state) {
  (void)state;
  /* log(sigmoid(x)) computed naively is log(0) = -inf for x = -100; the stable form gives
   * x=100, z=0: 100 + log(1 + e^-100) = 100;  x=-100, z=1: 0 + 100 + log(1 + e^-100) = 100;
   * x=100, z=1 and x=-100, z=0: log(1 + e^-100) = 3.7e-44. Mean over 4: 50.
   * Slopes: sigmoid(100) - 0 = 1, sigmoid(-100) - 1 = -1, ~0, ~0; divided by 4. */
  const float x[4] = {100, -100, 100, -100}, z[4] = {0, 1, 1, 0};
  float grad[4];
  double loss = dlcc_nn_sigmoid_cross_entropy(x, z, NULL, 4, 1.0, grad);
  assert_true(fabs(loss - 50.0) < 1e-12);
  const double want[4] = {0.25, -0.25, 0, 0};
  assert_floats_near(grad, want, 4, 1e-12);
}

static void test_huber_by_hand_is_quadratic_inside_one_linear_outside(void **state) {
  (void)state;
  /* d = pred - target = 0.5, 2, -2, 1, 0 (the fourth on the boundary |d| = k = 1)
   *   l = 0.5*0.25 = 0.125; 2 - 0.5 = 1.5; 1.5; 1 - 0.5 = 0.5 (= 0.5 * 1^2 too); 0
   *   l' = 0.5; 1; -1; 1; 0
   * weights 1, 0.5, 1, 1, 0: four non-zero
   *   loss = (0.125 + 0.75 + 1.5 + 0.5) / 4 = 2.875 / 4 = 0.71875
   *   grad = (0.5/4, 0.5*1/4, -1/4, 1/4, 0) = (0.125, 0.125, -0.25, 0.25, 0) */
  const float pred[5] = {0.5f, 3, -2, 1, 0.2f}, target[5] = {0, 1, 0, 0, 0.2f}, w[5] = {1, 0.5f, 1, 1, 0};
  float grad[5];
  double loss = dlcc_nn_huber_loss(pred, target, w, 5, 1.0, grad);
  assert_true(fabs(loss - 0.71875) < 1e-12);
  const double want[5] = {0.125, 0.125, -0.25, 0.25, 0};
  assert_floats_near(grad, want, 5, 1e-12);
}

static void test_squared_error_by_hand_has_no_half(void **state) {
  (void)state;
  /* tf.losses.mean_squared_error: d = 1, -2, 0; l = d^2 = 1, 4, 0; weights all 1 (NULL)
   *   loss = 5/3 = 1.666666667;  grad = 2d/3 = (0.666666667, -1.333333333, 0)
   * and scaled by 0.05 (a locref_loss_weight): 0.083333333, gradient times 0.05 too. */
  const float pred[3] = {1, -1, 0.5f}, target[3] = {0, 1, 0.5f};
  float grad[3];
  double loss = dlcc_nn_squared_error(pred, target, NULL, 3, 1.0, grad);
  assert_true(fabs(loss - 5.0 / 3.0) < 1e-12);
  const double want[3] = {2.0 / 3.0, -4.0 / 3.0, 0};
  assert_floats_near(grad, want, 3, TOL);
  loss = dlcc_nn_regression_loss_run(DLCC_NN_LOSS_L2, pred, target, NULL, 3, 0.05, grad);
  assert_true(fabs(loss - 0.25 / 3.0) < 1e-12);
  const double scaled[3] = {0.1 / 3.0, -0.2 / 3.0, 0};
  assert_floats_near(grad, scaled, 3, TOL);
}

static void test_all_zero_weights_give_zero_loss_and_zero_gradient(void **state) {
  (void)state;
  /* TensorFlow divides with div_no_nan: no present weight means loss 0, not 0/0. A NaN prediction
   * under weight 0 does not leak either. */
  const float pred[3] = {1, NAN, -4}, target[3] = {0, 1, 1}, zero[3] = {0, 0, 0};
  float grad[3] = {7, 7, 7};
  double (*const losses[3])(const float *, const float *, const float *, size_t, double, float *) = {
      dlcc_nn_sigmoid_cross_entropy, dlcc_nn_huber_loss, dlcc_nn_squared_error};
  for (int k = 0; k < 3; k++) {
    double loss = losses[k](pred, target, zero, 3, 1.0, grad);
    assert_true(loss == 0.0);
    for (int i = 0; i < 3; i++) assert_true(grad[i] == 0.0f);
  }
  /* an empty array is the same case */
  assert_true(dlcc_nn_huber_loss(pred, target, NULL, 0, 1.0, NULL) == 0.0);
}

/* Random predictions, targets and weights (0, 0.5 or 1); regression gaps kept away from Huber's
 * kink at |d| = 1, where the derivative jumps and central differences straddle it. */
static void random_case(dlcc_rng *rng, float *pred, float *target, float *w, size_t n, bool binary_target) {
  for (size_t i = 0; i < n; i++) {
    target[i] = binary_target ? (float)(dlcc_rng_uniform(rng) < 0.3) : (float)dlcc_rng_normal(rng);
    do pred[i] = (float)(dlcc_rng_normal(rng) * 2.0);
    while (fabs(fabs((double)pred[i] - target[i]) - 1.0) < 0.05);
    w[i] = (float)(dlcc_rng_below(rng, 3) * 0.5);
  }
}

typedef double (*loss_fn)(const float *, const float *, const float *, size_t, double, float *);

/* Central differences of the loss (in double, from f32 inputs) for every prediction, compared with
 * the gradient the loss writes: max gap below 1e-4 of the largest gradient. */
static void check_gradient(loss_fn fn, bool binary_target, double scale) {
  enum { N = 2 * 3 * 4 * 5 };
  float pred[N], target[N], w[N], grad[N];
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 17);
  random_case(&rng, pred, target, w, N, binary_target);
  fn(pred, target, w, N, scale, grad);
  double worst = 0, largest = 0;
  for (size_t i = 0; i < N; i++) {
    float keep = pred[i];
    pred[i] = keep + 1e-2f;
    double up = fn(pred, target, w, N, scale, NULL), h_up = (double)pred[i] - keep;
    pred[i] = keep - 1e-2f;
    double down = fn(pred, target, w, N, scale, NULL), h_down = keep - (double)pred[i];
    pred[i] = keep;
    double numeric = (up - down) / (h_up + h_down);
    worst = fmax(worst, fabs(numeric - grad[i]));
    largest = fmax(largest, fabs(grad[i]));
  }
  assert_true(largest > 0);
  if (worst > 1e-4 * largest) fail_msg("finite differences differ by %g (largest gradient %g)", worst, largest);
}

static void test_every_loss_gradient_matches_finite_differences(void **state) {
  (void)state;
  check_gradient(dlcc_nn_sigmoid_cross_entropy, true, 1.0);
  check_gradient(dlcc_nn_huber_loss, false, 1.0);
  check_gradient(dlcc_nn_squared_error, false, 1.0);
  check_gradient(dlcc_nn_huber_loss, false, 0.05);
}

static float *read_tensor(const dlcc_safetensors *st, const char *name, size_t n) {
  const dlcc_st_tensor *t = dlcc_safetensors_find(st, name);
  if (!t) fail_msg("fixture lacks %s", name);
  float *data = malloc(n * sizeof *data);
  dlcc_error err;
  if (dlcc_safetensors_read_f32(st, name, t->ndims, t->shape, data, &err)) fail_msg("%s", err.message);
  return data;
}

static void compare_case(const dlcc_safetensors *st, const char *name, loss_fn fn) {
  enum { N = 2 * 3 * 4 * 5 };
  char key[64];
  float *in[5];
  const char *parts[5] = {"pred", "target", "weights", "loss", "grad"};
  for (int k = 0; k < 5; k++) {
    snprintf(key, sizeof key, "%s.%s", name, parts[k]);
    in[k] = read_tensor(st, key, k == 3 ? 1 : N);
  }
  float grad[N];
  double loss = fn(in[0], in[1], in[2], N, 1.0, grad);
  if (fabs(loss - in[3][0]) > 1e-5 * fabs(in[3][0])) fail_msg("%s: loss %.9g, PyTorch %.9g", name, loss, in[3][0]);
  double diff = 0, scale = 0;
  for (size_t i = 0; i < N; i++) {
    diff = fmax(diff, fabs(grad[i] - in[4][i]));
    scale = fmax(scale, fabs(in[4][i]));
  }
  if (diff > 1e-5 * scale) fail_msg("%s: gradient differs from PyTorch's by %g (scale %g)", name, diff, scale);
  for (int k = 0; k < 5; k++) free(in[k]);
}

static void test_losses_match_pytorch_with_tensorflow_reduction(void **state) {
  (void)state;
  const char *dir = getenv("DLCC_FIXTURES") ? getenv("DLCC_FIXTURES") : "tests/fixtures";
  char *path = dlcc_strdupf("%s/loss_golden.safetensors", dir);
  dlcc_safetensors *st = NULL;
  dlcc_error err;
  if (dlcc_safetensors_open(path, &st, &err)) fail_msg("%s", err.message);
  compare_case(st, "sigmoid_ce", dlcc_nn_sigmoid_cross_entropy);
  compare_case(st, "huber", dlcc_nn_huber_loss);
  compare_case(st, "l2", dlcc_nn_squared_error);
  dlcc_safetensors_close(st);
  free(path);
}

/* Two heads of 4 values: part (score map) and locref, plus the intermediate part head and a PAF. */
static const float part_pred[4] = {0, 2, -1, 3}, part_target[4] = {1, 0, 1, 1}, part_w[4] = {1, 1, 0, 2};
static const float interm_pred[4] = {0, 0, 0, 0};
static const float reg_pred[4] = {0.5f, 3, -2, 0}, reg_target[4] = {0, 1, 0, 0}, reg_mask[4] = {1, 1, 0, 0};

static void test_total_is_part_plus_weighted_heads_each_reported(void **state) {
  (void)state;
  /* part: 0.972416632 (the hand-computed case above).
   * part_interm: logits 0 against the same targets: log 2 for each present weight, so
   *   (1 + 1 + 2) * 0.693147181 / 3 = 0.924196241.
   * locref (Huber), mask 1, 1, 0, 0: (0.125 + 1.5) / 2 = 0.8125, times locref_loss_weight 0.05
   *   = 0.040625; its gradient (0.5/2, 1/2, 0, 0) * 0.05 = (0.0125, 0.025, 0, 0).
   * pairwise (L2), same arrays: (0.25 + 4) / 2 = 2.125, times pairwise_loss_weight 0.1 = 0.2125.
   * total = 0.972416632 + 0.924196241 + 0.040625 + 0.2125 = 2.149737873 */
  dlcc_nn_loss_spec spec = {.intermediate_supervision = true, .location_refinement = true,
                            .locref_kind = DLCC_NN_LOSS_HUBER, .locref_loss_weight = 0.05, .pairwise = true,
                            .pairwise_kind = DLCC_NN_LOSS_L2, .pairwise_loss_weight = 0.1};
  float g_part[4], g_interm[4], g_locref[4], g_paf[4];
  dlcc_nn_loss_batch b = {
      .part = {part_pred, part_target, part_w, g_part, 4},
      .part_interm = {.pred = interm_pred, .grad = g_interm, .count = 4},
      .locref = {reg_pred, reg_target, reg_mask, g_locref, 4},
      .pairwise = {reg_pred, reg_target, reg_mask, g_paf, 4},
  };
  dlcc_nn_losses out;
  dlcc_error err;
  assert_int_equal(dlcc_nn_total_loss(&spec, &b, &out, &err), DLCC_OK);
  assert_true(fabs(out.part - 0.972416632) < 1e-8);
  assert_true(fabs(out.part_interm - 0.924196241) < 1e-8);
  assert_true(fabs(out.locref - 0.040625) < 1e-12);
  assert_true(fabs(out.pairwise - 0.2125) < 1e-12);
  assert_true(fabs(out.total - 2.149737873) < 1e-8);
  const double want_locref[4] = {0.0125, 0.025, 0, 0}, want_paf[4] = {0.05, 0.2, 0, 0};
  assert_floats_near(g_locref, want_locref, 4, TOL);
  assert_floats_near(g_paf, want_paf, 4, TOL);
  /* the intermediate head's gradient: (sigmoid(0) - z) * w / 3 = (-0.5, 0.5, 0, -1) / 3 */
  const double want_interm[4] = {-0.5 / 3, 0.5 / 3, 0, -1.0 / 3};
  assert_floats_near(g_interm, want_interm, 4, TOL);
}

static void test_heads_switched_off_are_not_read_and_report_zero(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, false, &err), DLCC_OK);
  cfg.location_refinement = false;
  dlcc_nn_loss_spec spec;
  dlcc_nn_loss_spec_from_cfg(&cfg, &spec);
  assert_false(spec.pairwise);
  assert_false(spec.intermediate_supervision);
  float g_part[4];
  dlcc_nn_loss_batch b = {.part = {part_pred, part_target, part_w, g_part, 4}};
  dlcc_nn_losses out;
  assert_int_equal(dlcc_nn_total_loss(&spec, &b, &out, &err), DLCC_OK);
  assert_true(out.locref == 0 && out.pairwise == 0 && out.part_interm == 0);
  assert_true(out.total == out.part);
  dlcc_pose_cfg_free(&cfg);
}

static void test_spec_from_cfg_follows_deeplabcut_keys(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, true, &err), DLCC_OK);
  cfg.partaffinityfield_predict = true;
  cfg.pairwise_huber_loss = false;
  cfg.locref_huber_loss = true;
  cfg.intermediate_supervision = true;
  dlcc_nn_loss_spec spec;
  dlcc_nn_loss_spec_from_cfg(&cfg, &spec);
  assert_true(spec.pairwise && spec.pairwise_kind == DLCC_NN_LOSS_L2);
  assert_true(spec.location_refinement && spec.locref_kind == DLCC_NN_LOSS_HUBER);
  assert_true(spec.intermediate_supervision);
  assert_true(spec.locref_loss_weight == cfg.locref_loss_weight);
  assert_true(spec.pairwise_loss_weight == cfg.pairwise_loss_weight);
  /* DeepLabCut skips intermediate supervision for EfficientNet backbones */
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg.net_type, "efficientnet-b0", &err), DLCC_OK);
  dlcc_nn_loss_spec_from_cfg(&cfg, &spec);
  assert_false(spec.intermediate_supervision);
  dlcc_pose_cfg_free(&cfg);
}

static void test_missing_head_and_mismatched_interm_are_refused_by_name(void **state) {
  (void)state;
  dlcc_nn_loss_spec spec = {.location_refinement = true, .locref_loss_weight = 0.05};
  float g_part[4];
  dlcc_nn_loss_batch b = {.part = {part_pred, part_target, part_w, g_part, 4}};
  dlcc_nn_losses out;
  dlcc_error err;
  assert_int_equal(dlcc_nn_total_loss(&spec, &b, &out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "the locref head is enabled but its prediction or targets are missing");
  spec = (dlcc_nn_loss_spec){.intermediate_supervision = true};
  b.part_interm = (dlcc_nn_head_io){.pred = interm_pred, .count = 3};
  assert_int_equal(dlcc_nn_total_loss(&spec, &b, &out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "part_pred_interm has 3 values but part_pred 4");
}

static void test_diverged_loss_is_reported_not_returned_silently(void **state) {
  (void)state;
  const float pred[2] = {NAN, 0}, target[2] = {0, 1};
  dlcc_nn_loss_spec spec = {0};
  dlcc_nn_loss_batch b = {.part = {pred, target, NULL, NULL, 2}};
  dlcc_nn_losses out;
  dlcc_error err;
  assert_int_equal(dlcc_nn_total_loss(&spec, &b, &out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "the part loss (score maps) is NaN: training diverged");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sigmoid_cross_entropy_by_hand_divides_by_nonzero_weights),
      cmocka_unit_test(test_sigmoid_cross_entropy_stays_finite_for_huge_logits),
      cmocka_unit_test(test_huber_by_hand_is_quadratic_inside_one_linear_outside),
      cmocka_unit_test(test_squared_error_by_hand_has_no_half),
      cmocka_unit_test(test_all_zero_weights_give_zero_loss_and_zero_gradient),
      cmocka_unit_test(test_every_loss_gradient_matches_finite_differences),
      cmocka_unit_test(test_losses_match_pytorch_with_tensorflow_reduction),
      cmocka_unit_test(test_total_is_part_plus_weighted_heads_each_reported),
      cmocka_unit_test(test_heads_switched_off_are_not_read_and_report_zero),
      cmocka_unit_test(test_spec_from_cfg_follows_deeplabcut_keys),
      cmocka_unit_test(test_missing_head_and_mismatched_interm_are_refused_by_name),
      cmocka_unit_test(test_diverged_loss_is_reported_not_returned_silently),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
