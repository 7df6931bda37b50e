/* Tests of src/nn/params: the three-region buffer layout, declaration errors, save/load round trip,
 * and the load message that lists every missing, mis-shaped or non-float tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/params.h"
#include "nn/safetensors.h"
#include "testutil.h"
#include "util/fileio.h"

/* conv1.weight [4,3,3,3], bn1.weight [4], bn1.running_mean [4], conv2.weight [2,4,1,1], conv2.bias [2]. */
static void declare_small_net(dlcc_nn_params *p) {
  dlcc_error err;
  const int64_t c1[4] = {4, 3, 3, 3}, four[1] = {4}, c2[4] = {2, 4, 1, 1}, two[1] = {2};
  dlcc_nn_params_init(p);
  assert_int_equal(dlcc_nn_params_add(p, "conv1.weight", DLCC_NN_PARAM_WEIGHT, 4, c1, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_add(p, "bn1.weight", DLCC_NN_PARAM_BIAS, 1, four, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_add(p, "bn1.running_mean", DLCC_NN_PARAM_STATE, 1, four, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_add(p, "conv2.weight", DLCC_NN_PARAM_WEIGHT, 4, c2, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_add(p, "conv2.bias", DLCC_NN_PARAM_BIAS, 1, two, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_allocate(p, &err), DLCC_OK);
}

static void test_regions_hold_weights_then_biases_then_state_aligned(void **state) {
  (void)state;
  dlcc_nn_params p;
  declare_small_net(&p);
  /* 108 floats of conv1.weight padded to 112; conv2.weight's 8 end the weight region at 128. */
  assert_int_equal(p.items[dlcc_nn_params_find(&p, "conv1.weight")].offset, 0);
  assert_int_equal(p.items[dlcc_nn_params_find(&p, "conv2.weight")].offset, 112);
  assert_int_equal(p.decayed, 128);
  assert_int_equal(p.items[dlcc_nn_params_find(&p, "bn1.weight")].offset, 128);
  assert_int_equal(p.items[dlcc_nn_params_find(&p, "conv2.bias")].offset, 144);
  assert_int_equal(p.trained, 160);
  assert_int_equal(p.items[dlcc_nn_params_find(&p, "bn1.running_mean")].offset, 160);
  assert_int_equal(p.total, 176);
  assert_int_equal((uintptr_t)p.values % 64, 0);
  assert_null(dlcc_nn_param_grads(&p, (size_t)dlcc_nn_params_find(&p, "bn1.running_mean")));
  assert_ptr_equal(dlcc_nn_param_grads(&p, 4), p.grads + 144);
  assert_int_equal(dlcc_nn_params_find(&p, "fc.weight"), -1);
  for (size_t i = 0; i < p.total; i++) assert_float_equal(p.values[i], 0, 0);
  dlcc_nn_params_free(&p);
}

static void test_declaration_errors_name_the_parameter(void **state) {
  (void)state;
  dlcc_nn_params p;
  dlcc_nn_params_init(&p);
  dlcc_error err;
  const int64_t ok[1] = {3}, zero[2] = {3, 0};
  assert_int_equal(dlcc_nn_params_add(&p, "fc.bias", DLCC_NN_PARAM_BIAS, 1, ok, NULL, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_add(&p, "fc.bias", DLCC_NN_PARAM_BIAS, 1, ok, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "parameter fc.bias is declared twice");
  assert_int_equal(dlcc_nn_params_add(&p, "fc.weight", DLCC_NN_PARAM_WEIGHT, 2, zero, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "parameter fc.weight has a size <= 0");
  assert_int_equal(dlcc_nn_params_add(&p, "x", DLCC_NN_PARAM_WEIGHT, 5, zero, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "parameter x has 5 dims (1 to 4)");
  assert_int_equal(dlcc_nn_params_allocate(&p, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_add(&p, "late", DLCC_NN_PARAM_BIAS, 1, ok, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "parameter late declared after allocation");
  dlcc_nn_params_free(&p);
}

static void test_save_then_load_restores_values_and_bumps_version(void **state) {
  (void)state;
  char *dir = test_tempdir("params");
  char *path = dlcc_path_join(dir, "snapshot.safetensors");
  dlcc_nn_params a, b;
  declare_small_net(&a);
  declare_small_net(&b);
  for (size_t i = 0; i < a.count; i++) {
    float *v = dlcc_nn_param_values(&a, i);
    for (size_t k = 0; k < a.items[i].count; k++) v[k] = (float)(i * 1000 + k) * 0.5f;
  }
  const char *meta[] = {"iteration", "250"};
  dlcc_error err;
  assert_int_equal(dlcc_nn_params_save(&a, path, meta, 1, &err), DLCC_OK);
  uint64_t before = b.version;
  size_t loaded = 0;
  assert_int_equal(dlcc_nn_params_load(&b, path, NULL, 0, &loaded, &err), DLCC_OK);
  assert_int_equal(loaded, 5);
  assert_true(b.version > before);
  assert_memory_equal(a.values, b.values, a.total * sizeof(float));
  dlcc_safetensors *st = NULL;
  assert_int_equal(dlcc_safetensors_open(path, &st, &err), DLCC_OK);
  assert_string_equal(dlcc_safetensors_meta(st, "iteration"), "250");
  assert_string_equal(st->tensors[0].name, "conv1.weight"); /* declaration order */
  assert_string_equal(st->tensors[2].name, "bn1.running_mean");
  dlcc_safetensors_close(st);
  dlcc_nn_params_free(&a);
  dlcc_nn_params_free(&b);
  free(path);
  test_rmtree(dir);
  free(dir);
}

static void test_load_lists_every_tensor_that_does_not_fit_and_changes_nothing(void **state) {
  (void)state;
  char *dir = test_tempdir("params");
  char *path = dlcc_path_join(dir, "other.safetensors");
  /* Written by hand to hold an int64 tensor: conv1.weight 7x7 instead of 3x3, bn1.weight fine,
   * bn1.running_mean I64, conv2.bias fine, conv2.weight absent. */
  const char *header = "{\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[4,3,7,7],\"data_offsets\":[0,2352]},"
                       "\"bn1.weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[2352,2368]},"
                       "\"bn1.running_mean\":{\"dtype\":\"I64\",\"shape\":[4],\"data_offsets\":[2368,2400]},"
                       "\"conv2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[2400,2408]}}";
  static unsigned char data[2408];
  const float four[4] = {1, 2, 3, 4};
  memcpy(data + 2352, four, sizeof four);
  FILE *fp = fopen(path, "wb");
  unsigned long long len = strlen(header);
  assert_int_equal(fwrite(&len, 8, 1, fp), 1);
  fputs(header, fp);
  assert_int_equal(fwrite(data, 1, sizeof data, fp), sizeof data);
  fclose(fp);
  dlcc_nn_params p;
  declare_small_net(&p);
  uint64_t before = p.version;
  dlcc_error err;
  assert_int_equal(dlcc_nn_params_load(&p, path, NULL, 0, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "other.safetensors: 3 of the network's 5 parameters do not fit; "
                               "missing: conv2.weight; mis-shaped: conv1.weight (file [4, 3, 7, 7], "
                               "network [4, 3, 3, 3]); not F32, BF16 or F16: bn1.running_mean (I64)");
  assert_int_equal(p.version, before);
  assert_float_equal(dlcc_nn_param_values(&p, 1)[0], 0, 0); /* bn1.weight fitted but was not loaded */
  dlcc_nn_params_free(&p);
  free(path);
  test_rmtree(dir);
  free(dir);
}

static void test_optional_heads_may_be_absent_and_extra_tensors_are_ignored(void **state) {
  (void)state;
  char *dir = test_tempdir("params");
  /* An ImageNet-style file: the backbone and a classifier the network lacks. */
  const float c1[108] = {[0] = 0.25f, [107] = -1.0f}, four[4] = {1, 2, 3, 4}, fc[10] = {0};
  dlcc_st_out out[4] = {
    {.name = "conv1.weight", .ndims = 4, .shape = {4, 3, 3, 3}, .data = c1},
    {.name = "bn1.weight", .ndims = 1, .shape = {4}, .data = four},
    {.name = "bn1.running_mean", .ndims = 1, .shape = {4}, .data = four},
    {.name = "fc.weight", .ndims = 2, .shape = {2, 5}, .data = fc},
  };
  char *path = dlcc_path_join(dir, "imagenet.safetensors");
  dlcc_error err;
  assert_int_equal(dlcc_safetensors_write(path, out, 4, NULL, 0, &err), DLCC_OK);
  dlcc_nn_params p;
  declare_small_net(&p);
  const char *heads[] = {"conv2."};
  size_t loaded = 0;
  assert_int_equal(dlcc_nn_params_load(&p, path, heads, 1, &loaded, &err), DLCC_OK);
  assert_int_equal(loaded, 3);
  assert_float_equal(dlcc_nn_param_values(&p, 0)[0], 0.25f, 0);
  assert_float_equal(dlcc_nn_param_values(&p, 0)[107], -1.0f, 0);
  assert_float_equal(dlcc_nn_param_values(&p, 2)[3], 4.0f, 0);
  /* Without the prefix the same file is refused, naming both absent head tensors. */
  assert_int_equal(dlcc_nn_params_load(&p, path, NULL, 0, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "missing: conv2.weight, conv2.bias");
  dlcc_nn_params_free(&p);
  free(path);
  test_rmtree(dir);
  free(dir);
}

static void test_long_lists_are_cut_with_a_count(void **state) {
  (void)state;
  char *dir = test_tempdir("params");
  char *path = dlcc_path_join(dir, "empty.safetensors");
  dlcc_error err;
  assert_int_equal(dlcc_safetensors_write(path, NULL, 0, NULL, 0, &err), DLCC_OK);
  dlcc_nn_params p;
  dlcc_nn_params_init(&p);
  const int64_t one[1] = {1};
  for (int i = 0; i < 11; i++) {
    char name[32];
    snprintf(name, sizeof name, "layer%d.bias", i);
    assert_int_equal(dlcc_nn_params_add(&p, name, DLCC_NN_PARAM_BIAS, 1, one, NULL, &err), DLCC_OK);
  }
  assert_int_equal(dlcc_nn_params_allocate(&p, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_params_load(&p, path, NULL, 0, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "11 of the network's 11 parameters do not fit; missing: layer0.bias, ");
  assert_contains(err.message, "layer7.bias and 3 more");
  dlcc_nn_params_free(&p);
  free(path);
  test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_regions_hold_weights_then_biases_then_state_aligned),
    cmocka_unit_test(test_declaration_errors_name_the_parameter),
    cmocka_unit_test(test_save_then_load_restores_values_and_bumps_version),
    cmocka_unit_test(test_load_lists_every_tensor_that_does_not_fit_and_changes_nothing),
    cmocka_unit_test(test_optional_heads_may_be_absent_and_extra_tensors_are_ignored),
    cmocka_unit_test(test_long_lists_are_cut_with_a_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
