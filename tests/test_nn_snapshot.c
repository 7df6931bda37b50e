/* Tests of src/nn/snapshot and src/nn/init: seeded torchvision-style initialisation, snapshot round
 * trips that resume training bit for bit (parameters, optimizer state, iteration, RNG), and the
 * refusals: another network, another optimizer, a truncated file, a file that is not a snapshot. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/init.h"
#include "nn/optimizer.h"
#include "nn/safetensors.h"
#include "nn/snapshot.h"
#include "testutil.h"
#include "util/fileio.h"

/* conv1 [4,3,3,3] + bn1 (weight, bias, running_mean, running_var [4]) + a transposed-conv head
 * [4, head_channels, 3, 3] with bias: seven parameters. */
static void small_net(dlcc_nn_params *p, int64_t head_channels) {
  const int64_t conv[4] = {4, 3, 3, 3}, four[1] = {4}, head[4] = {4, head_channels, 3, 3}, hb[1] = {head_channels};
  dlcc_error err;
  dlcc_nn_params_init(p);
  if (dlcc_nn_params_add(p, "conv1.weight", DLCC_NN_PARAM_WEIGHT, 4, conv, NULL, &err) ||
      dlcc_nn_params_add(p, "bn1.weight", DLCC_NN_PARAM_BIAS, 1, four, NULL, &err) ||
      dlcc_nn_params_add(p, "bn1.bias", DLCC_NN_PARAM_BIAS, 1, four, NULL, &err) ||
      dlcc_nn_params_add(p, "bn1.running_mean", DLCC_NN_PARAM_STATE, 1, four, NULL, &err) ||
      dlcc_nn_params_add(p, "bn1.running_var", DLCC_NN_PARAM_STATE, 1, four, NULL, &err) ||
      dlcc_nn_params_add(p, "head.weight", DLCC_NN_PARAM_WEIGHT, 4, head, NULL, &err) ||
      dlcc_nn_params_add(p, "head.bias", DLCC_NN_PARAM_BIAS, 1, hb, NULL, &err) || dlcc_nn_params_allocate(p, &err))
    fail_msg("%s", err.message);
}

static const float *values_of(const dlcc_nn_params *p, const char *name) {
  long i = dlcc_nn_params_find(p, name);
  if (i < 0) fail_msg("no parameter %s", name);
  return dlcc_nn_param_values(p, (size_t)i);
}

static void test_init_random_is_kaiming_fan_out_and_batch_norm_identity(void **state) {
  (void)state;
  const int64_t stem[4] = {64, 3, 7, 7}, one[1] = {64};
  dlcc_nn_params p;
  dlcc_error err;
  dlcc_nn_params_init(&p);
  assert_int_equal(dlcc_nn_params_add(&p, "conv1.weight", DLCC_NN_PARAM_WEIGHT, 4, stem, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_add(&p, "layer1.0.downsample.1.weight", DLCC_NN_PARAM_BIAS, 1, one, NULL, &err), 0);
  assert_int_equal(dlcc_nn_params_add(&p, "bn1.bias", DLCC_NN_PARAM_BIAS, 1, one, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_add(&p, "bn1.running_mean", DLCC_NN_PARAM_STATE, 1, one, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_add(&p, "bn1.running_var", DLCC_NN_PARAM_STATE, 1, one, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_allocate(&p, &err), DLCC_OK);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 5);
  uint64_t version = p.version;
  dlcc_nn_init_random(&p, &rng);
  assert_true(p.version > version);
  /* fan_out = 64 * 7 * 7 = 3136: std sqrt(2/3136) = 0.025254; 9408 draws put the sample std within
   * 2% of it and the mean within 0.001 */
  const float *w = values_of(&p, "conv1.weight");
  double sum = 0, sq = 0;
  for (int i = 0; i < 9408; i++) sum += w[i], sq += (double)w[i] * w[i];
  double mean = sum / 9408, std = sqrt(sq / 9408 - mean * mean);
  assert_true(fabs(mean) < 1e-3);
  if (fabs(std / sqrt(2.0 / 3136.0) - 1.0) > 0.02) fail_msg("sample std %g, want %g", std, sqrt(2.0 / 3136.0));
  for (int i = 0; i < 64; i++) {
    assert_true(values_of(&p, "layer1.0.downsample.1.weight")[i] == 1.0f); /* a BN scale, whatever its name */
    assert_true(values_of(&p, "bn1.bias")[i] == 0.0f);
    assert_true(values_of(&p, "bn1.running_mean")[i] == 0.0f);
    assert_true(values_of(&p, "bn1.running_var")[i] == 1.0f);
  }
  /* the same seed draws the same weights, another seed others */
  float first = w[0];
  dlcc_rng_seed(&rng, 5);
  dlcc_nn_init_random(&p, &rng);
  assert_true(w[0] == first);
  dlcc_rng_seed(&rng, 6);
  dlcc_nn_init_random(&p, &rng);
  assert_true(w[0] != first);
  dlcc_nn_params_free(&p);
}

static void test_xavier_uniform_bound_uses_both_channel_counts(void **state) {
  (void)state;
  /* head.weight [4, 5, 3, 3]: bound sqrt(6 / ((4 + 5) * 9)) = sqrt(6/81) = 0.272166 */
  dlcc_nn_params p;
  small_net(&p, 5);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 9);
  size_t head = (size_t)dlcc_nn_params_find(&p, "head.weight");
  dlcc_nn_init_xavier_uniform(&p, head, &rng);
  const float *v = dlcc_nn_param_values(&p, head);
  double bound = sqrt(6.0 / 81.0), largest = 0;
  for (int i = 0; i < 180; i++) {
    assert_true(fabs(v[i]) <= bound);
    largest = fmax(largest, fabs(v[i]));
  }
  assert_true(largest > 0.95 * bound); /* 180 uniform draws reach the edge */
  assert_true(values_of(&p, "conv1.weight")[0] == 0.0f); /* only the head was drawn */
  dlcc_nn_params_free(&p);
}

/* A training run in miniature: network, optimizer, iteration counter and generator. */
typedef struct run {
  dlcc_nn_params p;
  dlcc_nn_optimizer opt;
  dlcc_rng rng;
  long iteration;
} run;

static void run_open(run *r, dlcc_nn_optimizer_kind kind, int64_t head_channels, uint64_t seed) {
  dlcc_error err;
  small_net(&r->p, head_channels);
  if (dlcc_nn_optimizer_init(&r->opt, kind, 1e-4, &r->p, &err)) fail_msg("%s", err.message);
  dlcc_rng_seed(&r->rng, seed);
  r->iteration = 0;
}

static void run_close(run *r) {
  dlcc_nn_optimizer_free(&r->opt);
  dlcc_nn_params_free(&r->p);
}

/* One iteration: gradients drawn from the run's generator (standing in for augmentation), a step. */
static void run_step(run *r) {
  dlcc_error err;
  for (size_t i = 0; i < r->p.count; i++) {
    float *g = dlcc_nn_param_grads(&r->p, i);
    for (size_t k = 0; g && k < r->p.items[i].count; k++) g[k] = (float)dlcc_rng_normal(&r->rng);
  }
  if (dlcc_nn_optimizer_step(&r->opt, &r->p, 0.01, &err)) fail_msg("%s", err.message);
  r->iteration++;
}

static void assert_runs_identical(const run *a, const run *b) {
  assert_memory_equal(a->p.values, b->p.values, a->p.total * sizeof(float));
  assert_memory_equal(a->opt.m, b->opt.m, a->opt.size * sizeof(float));
  if (a->opt.v) assert_memory_equal(a->opt.v, b->opt.v, a->opt.size * sizeof(float));
  assert_int_equal(a->opt.step, b->opt.step);
  assert_int_equal(a->iteration, b->iteration);
  assert_true(a->rng.state == b->rng.state && a->rng.inc == b->rng.inc);
}

static void round_trip(dlcc_nn_optimizer_kind kind, const char *dir) {
  char *path = dlcc_path_join(dir, "snapshot-2.safetensors");
  dlcc_error err;
  run a, b;
  run_open(&a, kind, 5, 42);
  dlcc_nn_init_random(&a.p, &a.rng);
  run_step(&a);
  run_step(&a);
  assert_int_equal(dlcc_nn_snapshot_save(path, "resnet_50", &a.p, &a.opt, a.iteration, &a.rng, &err), DLCC_OK);
  run_open(&b, kind, 5, 7); /* fresh: zero parameters and moments, another seed */
  assert_int_equal(dlcc_nn_snapshot_load(path, "resnet_50", &b.p, &b.opt, &b.iteration, &b.rng, &err), DLCC_OK);
  assert_int_equal(b.iteration, 2);
  assert_runs_identical(&a, &b);
  run_step(&a); /* both continue: same gradients from the same generator, same result */
  run_step(&b);
  assert_runs_identical(&a, &b);
  assert_true(dlcc_rng_u32(&a.rng) == dlcc_rng_u32(&b.rng));
  run_close(&a);
  run_close(&b);
  free(path);
}

static void test_round_trip_resumes_bit_for_bit(void **state) {
  (void)state;
  char *dir = test_tempdir("snapshot");
  round_trip(DLCC_NN_OPT_ADAM, dir);
  round_trip(DLCC_NN_OPT_SGD, dir);
  test_rmtree(dir);
  free(dir);
}

static void test_snapshot_records_metadata_and_plain_parameter_names(void **state) {
  (void)state;
  char *dir = test_tempdir("snapshot");
  char *path = dlcc_path_join(dir, "s.safetensors");
  dlcc_error err;
  run a;
  run_open(&a, DLCC_NN_OPT_ADAM, 5, 1);
  run_step(&a);
  assert_int_equal(dlcc_nn_snapshot_save(path, "resnet_50", &a.p, &a.opt, -1, &a.rng, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "iteration -1 is negative");
  assert_int_equal(dlcc_nn_snapshot_save(path, "resnet_50", &a.p, &a.opt, 1, &a.rng, &err), DLCC_OK);
  dlcc_safetensors *st = NULL;
  assert_int_equal(dlcc_safetensors_open(path, &st, &err), DLCC_OK);
  assert_string_equal(dlcc_safetensors_meta(st, "format"), "dlcc-snapshot");
  assert_string_equal(dlcc_safetensors_meta(st, "net_type"), "resnet_50");
  assert_string_equal(dlcc_safetensors_meta(st, "parameters"), "7");
  assert_string_equal(dlcc_safetensors_meta(st, "iteration"), "1");
  assert_string_equal(dlcc_safetensors_meta(st, "optimizer"), "adam");
  assert_string_equal(dlcc_safetensors_meta(st, "optimizer_step"), "1");
  assert_string_equal(dlcc_safetensors_meta(st, "weight_decay"), "0.0001");
  char expected[17];
  snprintf(expected, sizeof expected, "%016llx", (unsigned long long)dlcc_nn_network_fingerprint("resnet_50", &a.p));
  assert_string_equal(dlcc_safetensors_meta(st, "fingerprint"), expected);
  /* 7 parameters, 5 trained ones with m and v: 17 tensors */
  assert_int_equal(st->count, 17);
  assert_non_null(dlcc_safetensors_find(st, "optimizer.v.head.bias"));
  assert_null(dlcc_safetensors_find(st, "optimizer.m.bn1.running_var"));
  dlcc_safetensors_close(st);
  /* the parameters load as plain weights too (dlcc_nn_params_load ignores the optimizer's tensors) */
  dlcc_nn_params q;
  small_net(&q, 5);
  size_t loaded = 0;
  assert_int_equal(dlcc_nn_params_load(&q, path, NULL, 0, &loaded, &err), DLCC_OK);
  assert_int_equal(loaded, 7);
  assert_memory_equal(q.values, a.p.values, q.total * sizeof(float));
  dlcc_nn_params_free(&q);
  run_close(&a);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_snapshot_of_another_network_is_refused_naming_both(void **state) {
  (void)state;
  char *dir = test_tempdir("snapshot");
  char *path = dlcc_path_join(dir, "s.safetensors");
  dlcc_error err;
  run a, b;
  run_open(&a, DLCC_NN_OPT_SGD, 5, 1);
  assert_int_equal(dlcc_nn_snapshot_save(path, "resnet_50", &a.p, &a.opt, 0, &a.rng, &err), DLCC_OK);
  run_open(&b, DLCC_NN_OPT_SGD, 6, 1); /* one more output channel in the head */
  b.p.values[0] = 42.0f;
  assert_int_equal(dlcc_nn_snapshot_load(path, "resnet_50", &b.p, &b.opt, &b.iteration, &b.rng, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "s.safetensors is a snapshot of network resnet_50 (7 parameters, fingerprint ");
  assert_contains(err.message, "but this network is resnet_50 (7 parameters, fingerprint ");
  assert_contains(err.message, "first difference: head.weight is [4, 5, 3, 3] in the snapshot, [4, 6, 3, 3] in "
                               "this network");
  assert_true(b.p.values[0] == 42.0f); /* nothing changed */
  /* same parameters, another backbone name: still another network */
  run_close(&b);
  run_open(&b, DLCC_NN_OPT_SGD, 5, 1);
  assert_int_equal(dlcc_nn_snapshot_load(path, "mobilenet_v2_0.35", &b.p, &b.opt, NULL, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "is a snapshot of network resnet_50 (7 parameters");
  assert_contains(err.message, "but this network is mobilenet_v2_0.35 (7 parameters");
  run_close(&a);
  run_close(&b);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_truncated_snapshot_is_refused_and_changes_nothing(void **state) {
  (void)state;
  char *dir = test_tempdir("snapshot");
  char *path = dlcc_path_join(dir, "s.safetensors"), *cut = dlcc_path_join(dir, "cut.safetensors");
  dlcc_error err;
  run a, b;
  run_open(&a, DLCC_NN_OPT_ADAM, 5, 1);
  assert_int_equal(dlcc_nn_snapshot_save(path, "resnet_50", &a.p, &a.opt, 0, &a.rng, &err), DLCC_OK);
  size_t len = 0;
  char *bytes = test_read_file(path, &len);
  run_open(&b, DLCC_NN_OPT_ADAM, 5, 1);
  b.p.values[0] = 42.0f;
  /* the data section cut short: the last tensor runs past the end */
  assert_int_equal(dlcc_file_write_atomic(cut, bytes, len - 100, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_snapshot_load(cut, "resnet_50", &b.p, &b.opt, &b.iteration, &b.rng, &err), DLCC_ERR_PARSE);
  assert_contains(err.message, "cut.safetensors: tensor 'optimizer.v.head.");
  assert_contains(err.message, "the file is truncated");
  /* the header cut short */
  assert_int_equal(dlcc_file_write_atomic(cut, bytes, 40, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_snapshot_load(cut, "resnet_50", &b.p, &b.opt, &b.iteration, &b.rng, &err), DLCC_ERR_PARSE);
  assert_contains(err.message, "cut.safetensors: the header length");
  assert_true(b.p.values[0] == 42.0f && b.opt.step == 0);
  free(bytes);
  run_close(&a);
  run_close(&b);
  test_rmtree(dir);
  free(path);
  free(cut);
  free(dir);
}

static void test_resume_needs_the_same_optimizer_and_its_state(void **state) {
  (void)state;
  char *dir = test_tempdir("snapshot");
  char *path = dlcc_path_join(dir, "s.safetensors"), *bare = dlcc_path_join(dir, "bare.safetensors");
  dlcc_error err;
  run a, b;
  run_open(&a, DLCC_NN_OPT_ADAM, 5, 1);
  run_step(&a);
  assert_int_equal(dlcc_nn_snapshot_save(path, "resnet_50", &a.p, &a.opt, 1, &a.rng, &err), DLCC_OK);
  run_open(&b, DLCC_NN_OPT_SGD, 5, 1);
  assert_int_equal(dlcc_nn_snapshot_load(path, "resnet_50", &b.p, &b.opt, &b.iteration, &b.rng, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "s.safetensors was trained with optimizer adam but this run uses sgd; resume with "
                               "optimizer: adam in pose_cfg.yaml");
  /* weights only (evaluation): no optimizer, iteration or generator asked for */
  assert_int_equal(dlcc_nn_snapshot_load(path, "resnet_50", &b.p, NULL, NULL, NULL, &err), DLCC_OK);
  assert_memory_equal(b.p.values, a.p.values, a.p.total * sizeof(float));
  /* a snapshot saved without optimizer or generator cannot resume */
  assert_int_equal(dlcc_nn_snapshot_save(bare, "resnet_50", &a.p, NULL, 1, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_snapshot_load(bare, "resnet_50", &b.p, &b.opt, NULL, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "bare.safetensors holds no optimizer state, so training cannot resume from it");
  assert_int_equal(dlcc_nn_snapshot_load(bare, "resnet_50", &b.p, NULL, &b.iteration, &b.rng, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "bare.safetensors holds no random generator state");
  run_close(&a);
  run_close(&b);
  test_rmtree(dir);
  free(path);
  free(bare);
  free(dir);
}

static void test_plain_weights_file_is_not_taken_for_a_snapshot(void **state) {
  (void)state;
  char *dir = test_tempdir("snapshot");
  char *path = dlcc_path_join(dir, "weights.safetensors");
  dlcc_error err;
  dlcc_nn_params p;
  small_net(&p, 5);
  assert_int_equal(dlcc_nn_params_save(&p, path, NULL, 0, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_snapshot_load(path, "resnet_50", &p, NULL, NULL, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "weights.safetensors is not a dlcc snapshot");
  assert_contains(err.message, "give the file as init_weights instead");
  dlcc_nn_params_free(&p);
  test_rmtree(dir);
  free(path);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_random_is_kaiming_fan_out_and_batch_norm_identity),
      cmocka_unit_test(test_xavier_uniform_bound_uses_both_channel_counts),
      cmocka_unit_test(test_round_trip_resumes_bit_for_bit),
      cmocka_unit_test(test_snapshot_records_metadata_and_plain_parameter_names),
      cmocka_unit_test(test_snapshot_of_another_network_is_refused_naming_both),
      cmocka_unit_test(test_truncated_snapshot_is_refused_and_changes_nothing),
      cmocka_unit_test(test_resume_needs_the_same_optimizer_and_its_state),
      cmocka_unit_test(test_plain_weights_file_is_not_taken_for_a_snapshot),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
