/* The real-size ResNet-50 and MobileNetV2-0.35 (every head) on one 640x480 image, and dlcrnet_ms5 on
 * one 628x468 image, against PyTorch with the same seeded weights: tools/torch-pose-reference.py runs the PyTorch side when Debian's
 * /usr/bin/python3 has torch; without it each test says so and skips. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/network.h"
#include "nn/safetensors.h"
#include "nn_nettest.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/rng.h"

#define PYTHON "/usr/bin/python3"

static bool python_has_torch(void) {
  return system(PYTHON " -c 'import torch' >/dev/null 2>&1") == 0;
}

/* tools/ next to tests/fixtures (DLCC_FIXTURES, set by ctest). */
static char *reference_script(void) {
  const char *fixtures = getenv("DLCC_FIXTURES") ? getenv("DLCC_FIXTURES") : "tests/fixtures";
  return dlcc_strdupf("%s/../../tools/torch-pose-reference.py", fixtures);
}

static void save_weights(const dlcc_nn_network *net, dlcc_nn_mode mode, const char *path) {
  char part[16], locref[16], pairwise[16], interm[16];
  int joints = net->desc.num_joints + net->desc.num_idchannel;
  snprintf(part, sizeof part, "%d", joints);
  snprintf(locref, sizeof locref, "%d", net->desc.location_refinement ? 2 * net->desc.num_joints : 0);
  snprintf(pairwise, sizeof pairwise, "%d", 2 * net->desc.num_limbs);
  snprintf(interm, sizeof interm, "%d", net->desc.intermediate_supervision ? net->desc.intermediate_supervision_layer : 0);
  const char *meta[] = {"net_type", net->desc.net_type, "part", part, "locref", locref, "pairwise", pairwise,
                        "interm", interm, "mode", mode == DLCC_NN_TRAINING ? "train" : "eval"};
  dlcc_error err;
  if (dlcc_nn_params_save(&net->params, path, meta, 6, &err)) fail_msg("%s", err.message);
}

static void save_input(const float *x, const int64_t dims[4], const char *path) {
  dlcc_st_out t = {.name = "input", .ndims = 4, .shape = {dims[0], dims[1], dims[2], dims[3]}, .data = x};
  dlcc_error err;
  if (dlcc_safetensors_write(path, &t, 1, NULL, 0, &err)) fail_msg("%s", err.message);
}

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* Builds net_type with every head (the intermediate one at interm), seeded random weights, one
 * random width x height image, and compares each head's output of a forward in mode with PyTorch's
 * (the heads are 80x60 for the sizes used here). */
static void compare_with_pytorch(const char *net_type, int interm, dlcc_nn_mode mode, int64_t width, int64_t height) {
  if (!python_has_torch()) {
    print_message("skipped: " PYTHON " has no torch (apt-get install python3-torch to compare with PyTorch)\n");
    skip();
  }
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default(net_type, 4);
  desc.num_limbs = 3;
  desc.intermediate_supervision = true;
  desc.intermediate_supervision_layer = interm;
  dlcc_nn_network *net = nt_create(&desc);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 640480);
  dlcc_nn_network_init_random(net, &rng);
  const int64_t dims[4] = {1, 3, height, width};
  float *x = malloc(lt_count4(dims) * sizeof *x);
  for (size_t i = 0; i < lt_count4(dims); i++) x[i] = (float)(255 * dlcc_rng_uniform(&rng));

  char *dir = test_tempdir("network-torch");
  char *weights = dlcc_path_join(dir, "weights.safetensors"), *input = dlcc_path_join(dir, "input.safetensors"),
       *output = dlcc_path_join(dir, "output.safetensors"), *script = reference_script();
  save_weights(net, mode, weights);
  save_input(x, dims, input);
  char *command = dlcc_strdupf(PYTHON " '%s' '%s' '%s' '%s'", script, weights, input, output);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (system(command) != 0) fail_msg("%s failed", command);
  double torch_s = seconds_since(&t0);

  dlcc_nn_engine *e = lt_engine();
  clock_gettime(CLOCK_MONOTONIC, &t0);
  nt_forward(net, e, x, dims, mode);
  double dlcc_s = seconds_since(&t0);
  print_message("%s: PyTorch (with start-up) %.1f s, dlcc forward %.1f s\n", net_type, torch_s, dlcc_s);
  dlcc_safetensors *st = NULL;
  dlcc_error err;
  if (dlcc_safetensors_open(output, &st, &err)) fail_msg("%s", err.message);
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    size_t n;
    float *got = nt_head(net, e, (dlcc_nn_head)h, &n);
    int64_t want_dims[4];
    float *want = lt_read4(st, dlcc_nn_head_name((dlcc_nn_head)h), want_dims);
    const int64_t expected[4] = {1, want_dims[1], 60, 80};
    assert_memory_equal(want_dims, expected, sizeof expected);
    assert_int_equal(lt_count4(want_dims), n);
    double rel = lt_relative_error(got, want, n), scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    print_message("%s: max |PyTorch| %.3g, relative error %.2g\n", dlcc_nn_head_name((dlcc_nn_head)h), scale, rel);
    assert_true(scale > 1e-3); /* not a comparison of zeros */
    if (rel >= 1e-3) fail_msg("%s differs from PyTorch by %g (relative)", dlcc_nn_head_name((dlcc_nn_head)h), rel);
    free(got);
    free(want);
  }
  dlcc_safetensors_close(st);
  test_rmtree(dir);
  free(command), free(script), free(output), free(input), free(weights), free(dir), free(x);
  dlcc_nn_network_free(net);
  dlcc_nn_engine_free(e);
}

static void test_resnet_50_at_640x480_matches_pytorch(void **state) {
  (void)state;
  compare_with_pytorch("resnet_50", 4, DLCC_NN_INFERENCE, 640, 480);
}

/* Fused inference with the decoder's batch norm on the image's own statistics, as DeepLabCut's
 * graph has it; 628x468 is no multiple of 16, so both of the fusion's resizes interpolate (layer1
 * 157x117 -> 160x120, layer2 79x59 -> 80x60). */
static void test_dlcrnet_ms5_at_628x468_matches_pytorch(void **state) {
  (void)state;
  compare_with_pytorch("dlcrnet_ms5", 4, DLCC_NN_INFERENCE, 628, 468);
}

/* A training forward: batch norm with the image's statistics, as DeepLabCut's TensorFlow
 * MobileNetV2 runs (at initialisation the running statistics are the identity, under which
 * torchvision's fan-out initialisation of the depthwise kernels shrinks the signal to ~1e-6). */
static void test_mobilenet_v2_035_at_640x480_matches_pytorch(void **state) {
  (void)state;
  compare_with_pytorch("mobilenet_v2_0.35", 12, DLCC_NN_TRAINING, 640, 480);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_resnet_50_at_640x480_matches_pytorch),
    cmocka_unit_test(test_mobilenet_v2_035_at_640x480_matches_pytorch),
    cmocka_unit_test(test_dlcrnet_ms5_at_628x468_matches_pytorch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
