/* Tests of src/nn/optimizer and src/nn/schedule: SGD-momentum and Adam by hand over three steps,
 * against PyTorch (tests/fixtures/optimizer_golden.safetensors), weight decay on weights only,
 * state left alone; learning-rate lookups at multi_step boundaries, cosine decay, the last
 * iteration. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/optimizer.h"
#include "nn/safetensors.h"
#include "nn/schedule.h"
#include "testutil.h"
#include "util/fileio.h"

/* One weight "w" [1], one bias "b" [1] and one state "s" [1]; after allocation w at 0, b at 16,
 * s at 32 (each aligned to 16 floats). */
static void tiny_net(dlcc_nn_params *p) {
  const int64_t one[1] = {1};
  dlcc_error err;
  dlcc_nn_params_init(p);
  if (dlcc_nn_params_add(p, "w", DLCC_NN_PARAM_WEIGHT, 1, one, NULL, &err) ||
      dlcc_nn_params_add(p, "b", DLCC_NN_PARAM_BIAS, 1, one, NULL, &err) ||
      dlcc_nn_params_add(p, "s", DLCC_NN_PARAM_STATE, 1, one, NULL, &err) || dlcc_nn_params_allocate(p, &err))
    fail_msg("%s", err.message);
}

static const float hand_grads[3] = {0.5f, -0.25f, 1.0f};
static const double hand_lrs[3] = {0.1, 0.1, 0.2};

/* Runs the three hand steps with w = b = s = 1 and both gradients hand_grads[t]; w_out, b_out
 * receive the values after each step. */
static void run_three_steps(dlcc_nn_optimizer_kind kind, double wd, double w_out[3], double b_out[3]) {
  dlcc_nn_params p;
  tiny_net(&p);
  dlcc_nn_optimizer opt;
  dlcc_error err;
  if (dlcc_nn_optimizer_init(&opt, kind, wd, &p, &err)) fail_msg("%s", err.message);
  float *w = dlcc_nn_param_values(&p, 0), *b = dlcc_nn_param_values(&p, 1), *s = dlcc_nn_param_values(&p, 2);
  *w = *b = *s = 1.0f;
  for (int t = 0; t < 3; t++) {
    *dlcc_nn_param_grads(&p, 0) = *dlcc_nn_param_grads(&p, 1) = hand_grads[t];
    uint64_t version = p.version;
    if (dlcc_nn_optimizer_step(&opt, &p, hand_lrs[t], &err)) fail_msg("%s", err.message);
    assert_true(p.version > version);
    w_out[t] = *w;
    b_out[t] = *b;
    assert_true(*s == 1.0f);                         /* state is not trained */
    assert_true(*dlcc_nn_param_grads(&p, 0) == hand_grads[t]); /* grads are left as given */
    for (size_t i = 1; i < p.trained; i++)
      if (i != 16) assert_true(p.values[i] == 0.0f); /* gaps stay zero */
  }
  assert_int_equal(opt.step, 3);
  dlcc_nn_optimizer_free(&opt);
  dlcc_nn_params_free(&p);
}

static void assert_near3(const double got[3], const double want[3], double tol) {
  for (int i = 0; i < 3; i++)
    if (fabs(got[i] - want[i]) > tol) fail_msg("step %d: got %.9g, want %.9g", i + 1, got[i], want[i]);
}

static void test_sgd_momentum_three_steps_by_hand(void **state) {
  (void)state;
  /* accum = 0.9 accum + g; value -= lr * accum. Value 1, gradients 0.5, -0.25, 1, rates 0.1, 0.1, 0.2:
   *   accum 0.5                  value 1    - 0.1 * 0.5  = 0.95
   *   accum 0.45 - 0.25 = 0.2    value 0.95 - 0.1 * 0.2  = 0.93
   *   accum 0.18 + 1    = 1.18   value 0.93 - 0.2 * 1.18 = 0.694
   * With weight decay 0.1 the weight's gradient gains 0.1 * value (the bias's does not):
   *   g 0.5 + 0.1           = 0.6       accum 0.6                        value 1 - 0.06 = 0.94
   *   g -0.25 + 0.094       = -0.156    accum 0.54 - 0.156   = 0.384     value 0.94 - 0.0384 = 0.9016
   *   g 1 + 0.09016         = 1.09016   accum 0.3456 + 1.09016 = 1.43576 value 0.9016 - 0.287152 = 0.614448 */
  double w[3], b[3];
  const double plain[3] = {0.95, 0.93, 0.694}, decayed[3] = {0.94, 0.9016, 0.614448};
  run_three_steps(DLCC_NN_OPT_SGD, 0.0, w, b);
  assert_near3(w, plain, 1e-6);
  assert_near3(b, plain, 1e-6);
  run_three_steps(DLCC_NN_OPT_SGD, 0.1, w, b);
  assert_near3(w, decayed, 1e-6);
  assert_near3(b, plain, 1e-6);
}

static void test_adam_three_steps_by_hand_with_tensorflow_rate(void **state) {
  (void)state;
  /* m = 0.9 m + 0.1 g; v = 0.999 v + 0.001 g^2; lr_t = lr sqrt(1 - 0.999^t) / (1 - 0.9^t);
   * value -= lr_t m / (sqrt(v) + 1e-8). Same gradients and rates as the SGD case:
   *   t=1: m 0.05   v 0.00025      lr_t 0.1*sqrt(0.001)/0.1      = 0.0316227766
   *        update 0.0316227766 * 0.05 / 0.0158113983 = 0.0999999368      value 0.9000000632
   *   t=2: m 0.02   v 0.00031225   lr_t 0.1*sqrt(0.001999)/0.19  = 0.0235316725
   *        update 0.0235316725 * 0.02 / 0.0176706071 = 0.0266336889      value 0.8733663744
   *   t=3: m 0.118  v 0.0013119378 lr_t 0.2*sqrt(0.002997)/0.271 = 0.0404021195
   *        update 0.0404021195 * 0.118 / 0.0362206913 = 0.1316222837     value 0.7417440906 */
  double w[3], b[3];
  const double want[3] = {0.9000000632, 0.8733663744, 0.7417440906};
  run_three_steps(DLCC_NN_OPT_ADAM, 0.0, w, b);
  assert_near3(w, want, 2e-6);
  assert_near3(b, want, 2e-6);
}

static float *read_tensor(const dlcc_safetensors *st, const char *name, size_t n) {
  float *data = malloc(n * sizeof *data);
  dlcc_error err;
  const int64_t shape[3] = {2, 3, 5};
  if (dlcc_safetensors_read_f32(st, name, 3, shape, data, &err)) fail_msg("%s", err.message);
  return data;
}

/* Three steps of one case of the fixture on a single weight [2, 3, 5]. */
static void compare_with_torch(const dlcc_safetensors *st, const char *name, dlcc_nn_optimizer_kind kind, double wd) {
  enum { N = 30 };
  const double lrs[3] = {0.1, 0.1, 0.4}; /* the fixture's "lrs" */
  const int64_t shape[3] = {2, 3, 5};
  dlcc_nn_params p;
  dlcc_error err;
  dlcc_nn_params_init(&p);
  if (dlcc_nn_params_add(&p, "w", DLCC_NN_PARAM_WEIGHT, 3, shape, NULL, &err) || dlcc_nn_params_allocate(&p, &err))
    fail_msg("%s", err.message);
  dlcc_nn_optimizer opt;
  if (dlcc_nn_optimizer_init(&opt, kind, wd, &p, &err)) fail_msg("%s", err.message);
  float *init = read_tensor(st, "param.init", N);
  memcpy(p.values, init, sizeof(float) * N);
  for (int t = 1; t <= 3; t++) {
    char key[64];
    snprintf(key, sizeof key, "grad.%d", t);
    float *g = read_tensor(st, key, N);
    memcpy(p.grads, g, sizeof(float) * N);
    if (dlcc_nn_optimizer_step(&opt, &p, lrs[t - 1], &err)) fail_msg("%s", err.message);
    snprintf(key, sizeof key, "%s.after.%d", name, t);
    float *want = read_tensor(st, key, N);
    for (int i = 0; i < N; i++)
      if (fabs(p.values[i] - want[i]) > 2e-6 * fmax(1.0, fabs(want[i])))
        fail_msg("%s step %d element %d: dlcc %.9g, torch %.9g", name, t, i, p.values[i], want[i]);
    free(g);
    free(want);
  }
  free(init);
  dlcc_nn_optimizer_free(&opt);
  dlcc_nn_params_free(&p);
}

static void test_optimizers_match_pytorch_over_three_steps(void **state) {
  (void)state;
  const char *dir = getenv("DLCC_FIXTURES") ? getenv("DLCC_FIXTURES") : "tests/fixtures";
  char *path = dlcc_strdupf("%s/optimizer_golden.safetensors", dir);
  dlcc_safetensors *st = NULL;
  dlcc_error err;
  if (dlcc_safetensors_open(path, &st, &err)) fail_msg("%s", err.message);
  assert_string_equal(dlcc_safetensors_meta(st, "lrs"), "0.1,0.1,0.4");
  assert_string_equal(dlcc_safetensors_meta(st, "weight_decay"), "0.01");
  compare_with_torch(st, "sgd", DLCC_NN_OPT_SGD, 0.0);
  compare_with_torch(st, "sgd_wd", DLCC_NN_OPT_SGD, 0.01);
  compare_with_torch(st, "adam", DLCC_NN_OPT_ADAM, 0.0);
  compare_with_torch(st, "adam_wd", DLCC_NN_OPT_ADAM, 0.01);
  dlcc_safetensors_close(st);
  free(path);
}

static void test_weight_decay_loss_is_half_wd_sum_of_squared_weights(void **state) {
  (void)state;
  /* weights 3 (w); bias 5 and state 7 do not count: 0.01 * 3^2 / 2 = 0.045 */
  dlcc_nn_params p;
  tiny_net(&p);
  p.values[0] = 3.0f;
  p.values[16] = 5.0f;
  p.values[32] = 7.0f;
  assert_true(fabs(dlcc_nn_weight_decay_loss(&p, 0.01) - 0.045) < 1e-12);
  assert_true(dlcc_nn_weight_decay_loss(&p, 0.0) == 0.0);
  dlcc_nn_params_free(&p);
}

static void test_optimizer_from_cfg_follows_deeplabcut(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err;
  dlcc_nn_params p;
  tiny_net(&p);
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, false, &err), DLCC_OK);
  dlcc_nn_optimizer opt;
  assert_int_equal(dlcc_nn_optimizer_init_from_cfg(&opt, &cfg, &p, &err), DLCC_OK);
  assert_int_equal(opt.kind, DLCC_NN_OPT_SGD);
  assert_true(opt.weight_decay == 0.0); /* regularize is false by default */
  assert_null(opt.v);
  assert_int_equal(opt.size, p.trained);
  dlcc_nn_optimizer_free(&opt);
  cfg.regularize = true;
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg.net_type, "efficientnet-b3", &err), DLCC_OK);
  assert_int_equal(dlcc_nn_optimizer_init_from_cfg(&opt, &cfg, &p, &err), DLCC_OK);
  assert_int_equal(opt.kind, DLCC_NN_OPT_ADAM); /* EfficientNets always train with Adam */
  assert_true(opt.weight_decay == cfg.weight_decay && opt.weight_decay == 0.0001);
  assert_string_equal(dlcc_nn_optimizer_name(opt.kind), "adam");
  dlcc_nn_optimizer_free(&opt);
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg.net_type, "resnet_50", &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg.optimizer, "rmsprop", &err), DLCC_OK);
  assert_int_equal(dlcc_nn_optimizer_init_from_cfg(&opt, &cfg, &p, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "optimizer is 'rmsprop'; DeepLabCut knows sgd and adam");
  dlcc_nn_optimizer_free(&opt);
  dlcc_pose_cfg_free(&cfg);
  dlcc_nn_params_free(&p);
}

static void test_step_refuses_other_network_and_bad_rate(void **state) {
  (void)state;
  dlcc_nn_params p, other;
  tiny_net(&p);
  dlcc_nn_params_init(&other);
  const int64_t big[1] = {40};
  dlcc_error err;
  assert_int_equal(dlcc_nn_params_add(&other, "w", DLCC_NN_PARAM_WEIGHT, 1, big, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_allocate(&other, &err), DLCC_OK);
  dlcc_nn_optimizer opt;
  assert_int_equal(dlcc_nn_optimizer_init(&opt, DLCC_NN_OPT_ADAM, 0.0, &p, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_optimizer_step(&opt, &other, 0.1, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "made for 32 trained parameters, given a network with 48");
  assert_int_equal(dlcc_nn_optimizer_step(&opt, &p, NAN, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "learning rate nan; it must be a number >= 0");
  assert_int_equal(opt.step, 0);
  dlcc_nn_optimizer_free(&opt);
  assert_int_equal(dlcc_nn_optimizer_init(&opt, DLCC_NN_OPT_SGD, -1.0, &p, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "weight_decay is -1; it must be a number >= 0");
  dlcc_nn_optimizer_free(&opt);
  dlcc_nn_params_free(&p);
  dlcc_nn_params_free(&other);
}

/* DeepLabCut's LearningRate class, stateful as in train.py: the current step's rate, moving to the
 * next step after the iteration equal to the step's last one. */
typedef struct dlc_learning_rate {
  const dlcc_lr_step *steps;
  size_t current;
} dlc_learning_rate;

static double dlc_get_lr(dlc_learning_rate *g, long iteration) {
  double lr = g->steps[g->current].lr;
  if (iteration == g->steps[g->current].until_iteration) g->current++;
  return lr;
}

static void test_multi_step_rate_applies_through_its_last_iteration(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, false, &err), DLCC_OK);
  /* single-animal default [[0.005, 10000], [0.02, 430000], [0.002, 730000], [0.001, 1030000]] */
  assert_int_equal(cfg.n_multi_step, 4);
  assert_true(dlcc_nn_lr_schedule_for(&cfg) == DLCC_NN_LR_MULTI_STEP);
  assert_true(dlcc_nn_learning_rate(&cfg, 0) == 0.005);
  assert_true(dlcc_nn_learning_rate(&cfg, 10000) == 0.005);
  assert_true(dlcc_nn_learning_rate(&cfg, 10001) == 0.02);
  assert_true(dlcc_nn_learning_rate(&cfg, 430000) == 0.02);
  assert_true(dlcc_nn_learning_rate(&cfg, 430001) == 0.002);
  assert_true(dlcc_nn_learning_rate(&cfg, 1030000) == 0.001);
  assert_int_equal(dlcc_nn_last_iteration(&cfg, 0), 1030000);
  assert_int_equal(dlcc_nn_last_iteration(&cfg, 5000), 5000);       /* maxiters below the end */
  assert_int_equal(dlcc_nn_last_iteration(&cfg, 2000000), 1030000); /* ... and above */
  /* the same rates as DeepLabCut's stateful class on every iteration of a short schedule */
  const dlcc_lr_step short_steps[3] = {{0.1, 3}, {0.01, 5}, {0.001, 9}};
  free(cfg.multi_step);
  cfg.multi_step = malloc(sizeof short_steps);
  memcpy(cfg.multi_step, short_steps, sizeof short_steps);
  cfg.n_multi_step = 3;
  dlc_learning_rate dlc = {short_steps, 0};
  for (long it = 0; it <= dlcc_nn_last_iteration(&cfg, 0); it++)
    if (dlcc_nn_learning_rate(&cfg, it) != dlc_get_lr(&dlc, it)) fail_msg("iteration %ld differs", it);
  assert_int_equal(dlcc_nn_last_iteration(&cfg, 0), 9);
  dlcc_pose_cfg_free(&cfg);
}

static void test_cosine_decay_matches_tensorflow_formula(void **state) {
  (void)state;
  /* lr_init 0.0005, decay_steps 30000, alpha 0.02 (pose_cfg's defaults):
   *   step 0:      0.0005 * (0.98 * 1 + 0.02)                         = 0.0005
   *   step 7500:   0.0005 * (0.98 * 0.5 * (1 + cos(pi/4)) + 0.02)     = 0.000428241161
   *   step 15000:  0.0005 * (0.98 * 0.5 + 0.02)                       = 0.000255
   *   step 30000 and later: 0.0005 * 0.02                             = 0.00001 */
  assert_true(fabs(dlcc_nn_cosine_decay(0.0005, 30000, 0.02, 0) - 0.0005) < 1e-15);
  assert_true(fabs(dlcc_nn_cosine_decay(0.0005, 30000, 0.02, 7500) - 0.000428241161) < 1e-12);
  assert_true(fabs(dlcc_nn_cosine_decay(0.0005, 30000, 0.02, 15000) - 0.000255) < 1e-15);
  assert_true(fabs(dlcc_nn_cosine_decay(0.0005, 30000, 0.02, 30000) - 0.00001) < 1e-15);
  assert_true(fabs(dlcc_nn_cosine_decay(0.0005, 30000, 0.02, 90000) - 0.00001) < 1e-15);
  dlcc_pose_cfg cfg;
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, false, &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg.net_type, "efficientnet-b0", &err), DLCC_OK);
  assert_true(dlcc_nn_lr_schedule_for(&cfg) == DLCC_NN_LR_COSINE);
  assert_true(fabs(dlcc_nn_learning_rate(&cfg, 15000) - 0.000255) < 1e-15);
  assert_int_equal(dlcc_nn_last_iteration(&cfg, 0), 1030000); /* still multi_step's last iteration */
  dlcc_pose_cfg_free(&cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sgd_momentum_three_steps_by_hand),
      cmocka_unit_test(test_adam_three_steps_by_hand_with_tensorflow_rate),
      cmocka_unit_test(test_optimizers_match_pytorch_over_three_steps),
      cmocka_unit_test(test_weight_decay_loss_is_half_wd_sum_of_squared_weights),
      cmocka_unit_test(test_optimizer_from_cfg_follows_deeplabcut),
      cmocka_unit_test(test_step_refuses_other_network_and_bad_rate),
      cmocka_unit_test(test_multi_step_rate_applies_through_its_last_iteration),
      cmocka_unit_test(test_cosine_decay_matches_tensorflow_formula),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
