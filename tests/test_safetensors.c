/* Tests of src/nn/safetensors: round trip with metadata, BF16/F16 conversion, and an error naming the
 * file and the tensor for each way a file can be wrong. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/safetensors.h"
#include "testutil.h"
#include "util/fileio.h"

/* Writes a file made of an 8-byte header length, header and data; returns its path (caller frees). */
static char *write_raw(const char *dir, const char *name, const char *header, const void *data, size_t data_len,
                       long long claimed_header_len) {
  char *path = dlcc_path_join(dir, name);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  unsigned long long len = claimed_header_len >= 0 ? (unsigned long long)claimed_header_len : strlen(header);
  assert_int_equal(fwrite(&len, 8, 1, fp), 1);
  fputs(header, fp);
  if (data_len) assert_int_equal(fwrite(data, 1, data_len, fp), data_len);
  fclose(fp);
  return path;
}

/* Opens path expecting failure; returns the message. */
static const char *open_fails(const char *path, dlcc_status expect, dlcc_error *err) {
  dlcc_safetensors *st = NULL;
  assert_int_equal(dlcc_safetensors_open(path, &st, err), expect);
  assert_null(st);
  return err->message;
}

static void test_round_trip_keeps_names_shapes_values_and_metadata(void **state) {
  (void)state;
  char *dir = test_tempdir("st");
  char *path = dlcc_path_join(dir, "w.safetensors");
  float conv[2 * 3 * 1 * 1] = {1.5f, -2, 3.25f, 0, 1e-30f, -7};
  float scalar = 42.0f;
  dlcc_st_out out[3] = {
    {.name = "conv1.weight", .ndims = 4, .shape = {2, 3, 1, 1}, .data = conv},
    {.name = "step", .ndims = 0, .data = &scalar},
    {.name = "empty \"quoted\"", .ndims = 1, .shape = {0}, .data = NULL},
  };
  const char *meta[] = {"format", "dlcc", "network", "resnet_50"};
  dlcc_error err;
  assert_int_equal(dlcc_safetensors_write(path, out, 3, meta, 2, &err), DLCC_OK);

  size_t len;
  char *bytes = test_read_file(path, &len);
  unsigned long long header_len;
  memcpy(&header_len, bytes, 8);
  assert_int_equal(header_len % 8, 0); /* data starts 8-byte aligned */
  assert_int_equal(len, 8 + header_len + 7 * 4);
  assert_int_equal(bytes[8], '{');
  free(bytes);

  dlcc_safetensors *st = NULL;
  assert_int_equal(dlcc_safetensors_open(path, &st, &err), DLCC_OK);
  assert_int_equal(st->count, 3);
  assert_string_equal(dlcc_safetensors_meta(st, "network"), "resnet_50");
  assert_string_equal(dlcc_safetensors_meta(st, "format"), "dlcc");
  assert_null(dlcc_safetensors_meta(st, "absent"));
  const dlcc_st_tensor *t = dlcc_safetensors_find(st, "conv1.weight");
  assert_non_null(t);
  assert_string_equal(t->dtype, "F32");
  assert_int_equal(t->ndims, 4);
  assert_int_equal(t->shape[1], 3);
  float back[6];
  const int64_t shape[4] = {2, 3, 1, 1};
  assert_int_equal(dlcc_safetensors_read_f32(st, "conv1.weight", 4, shape, back, &err), DLCC_OK);
  assert_memory_equal(back, conv, sizeof conv);
  float s = 0;
  assert_int_equal(dlcc_safetensors_read_f32(st, "step", 0, NULL, &s, &err), DLCC_OK);
  assert_float_equal(s, 42.0f, 0);
  assert_non_null(dlcc_safetensors_find(st, "empty \"quoted\""));
  dlcc_safetensors_close(st);
  free(path);
  test_rmtree(dir);
  free(dir);
}

static void test_bf16_and_f16_are_read_as_f32(void **state) {
  (void)state;
  char *dir = test_tempdir("st");
  /* bf16 0x3fc0 = 1.5, 0xc040 = -3; f16 0x3e00 = 1.5, 0x0001 = 2^-24 (subnormal), 0xfc00 = -inf,
   * 0x7bff = 65504 (largest finite). */
  const unsigned short data[6] = {0x3fc0, 0xc040, 0x3e00, 0x0001, 0xfc00, 0x7bff};
  char *path = write_raw(dir, "half.safetensors",
                         "{\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                         "\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[4,12]}}",
                         data, sizeof data, -1);
  dlcc_safetensors *st = NULL;
  dlcc_error err;
  assert_int_equal(dlcc_safetensors_open(path, &st, &err), DLCC_OK);
  float b[2], h[4];
  const int64_t two = 2, four = 4;
  assert_int_equal(dlcc_safetensors_read_f32(st, "b", 1, &two, b, &err), DLCC_OK);
  assert_int_equal(dlcc_safetensors_read_f32(st, "h", 1, &four, h, &err), DLCC_OK);
  assert_float_equal(b[0], 1.5f, 0);
  assert_float_equal(b[1], -3.0f, 0);
  assert_float_equal(h[0], 1.5f, 0);
  assert_float_equal(h[1], ldexpf(1.0f, -24), 0);
  assert_true(isinf(h[2]) && h[2] < 0);
  assert_float_equal(h[3], 65504.0f, 0);
  dlcc_safetensors_close(st);
  free(path);
  test_rmtree(dir);
  free(dir);
}

static dlcc_safetensors *open_small_file(const char *dir, char **path) {
  const float data[6] = {1, 2, 3, 4, 5, 6};
  const long long step = 7;
  unsigned char bytes[32];
  memcpy(bytes, data, 24);
  memcpy(bytes + 24, &step, 8);
  *path = write_raw(dir, "small.safetensors",
                    "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                    "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]}}",
                    bytes, sizeof bytes, -1);
  dlcc_safetensors *st = NULL;
  dlcc_error err;
  assert_int_equal(dlcc_safetensors_open(*path, &st, &err), DLCC_OK);
  return st;
}

static void test_missing_tensor_is_named_with_the_file(void **state) {
  (void)state;
  char *dir = test_tempdir("st"), *path;
  dlcc_safetensors *st = open_small_file(dir, &path);
  dlcc_error err;
  float out[6];
  const int64_t shape[2] = {2, 3};
  assert_int_equal(dlcc_safetensors_read_f32(st, "conv1.weight", 2, shape, out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "small.safetensors: tensor 'conv1.weight' is missing");
  dlcc_safetensors_close(st);
  free(path);
  test_rmtree(dir);
  free(dir);
}

static void test_misshaped_tensor_names_both_shapes(void **state) {
  (void)state;
  char *dir = test_tempdir("st"), *path;
  dlcc_safetensors *st = open_small_file(dir, &path);
  dlcc_error err;
  float out[6];
  const int64_t shape[2] = {3, 2};
  assert_int_equal(dlcc_safetensors_read_f32(st, "fc.weight", 2, shape, out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "small.safetensors: tensor 'fc.weight' has shape [2, 3] but [3, 2] is expected");
  const int64_t flat[1] = {6};
  assert_int_equal(dlcc_safetensors_read_f32(st, "fc.weight", 1, flat, out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "has shape [2, 3] but [6] is expected");
  dlcc_safetensors_close(st);
  free(path);
  test_rmtree(dir);
  free(dir);
}

static void test_integer_tensor_is_listed_but_not_read_as_float(void **state) {
  (void)state;
  char *dir = test_tempdir("st"), *path;
  dlcc_safetensors *st = open_small_file(dir, &path);
  dlcc_error err;
  const dlcc_st_tensor *t = dlcc_safetensors_find(st, "bn.num_batches_tracked");
  assert_non_null(t);
  assert_int_equal(t->ndims, 0);
  float out;
  assert_int_equal(dlcc_safetensors_read_f32(st, "bn.num_batches_tracked", 0, NULL, &out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "tensor 'bn.num_batches_tracked' has dtype I64; dlcc reads F32, BF16 or F16");
  dlcc_safetensors_close(st);
  free(path);
  test_rmtree(dir);
  free(dir);
}

static void test_truncated_data_names_the_tensor(void **state) {
  (void)state;
  char *dir = test_tempdir("st");
  const float data[5] = {0};
  char *path = write_raw(dir, "cut.safetensors",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[4,28]}}",
                         data, sizeof data, -1);
  dlcc_error err;
  open_fails(path, DLCC_ERR_PARSE, &err);
  assert_contains(err.message, "cut.safetensors: tensor 'b' ends at data byte 28 but the file holds only 20 "
                               "data bytes: the file is truncated");
  free(path);
  test_rmtree(dir);
  free(dir);
}

static void test_header_length_past_end_of_file(void **state) {
  (void)state;
  char *dir = test_tempdir("st");
  char *path = write_raw(dir, "bad.safetensors", "{}", NULL, 0, 1000);
  dlcc_error err;
  open_fails(path, DLCC_ERR_PARSE, &err);
  assert_contains(err.message, "bad.safetensors: the header length 1000 runs past the end of the file (10 bytes)");
  free(path);
  char *tiny = test_write_file(dir, "tiny.safetensors", "abc");
  open_fails(tiny, DLCC_ERR_PARSE, &err);
  assert_contains(err.message, "tiny.safetensors: 3 bytes is too short for a safetensors file");
  free(tiny);
  char *missing = dlcc_path_join(dir, "none.safetensors");
  open_fails(missing, DLCC_ERR_IO, &err);
  assert_contains(err.message, "cannot open ");
  assert_contains(err.message, "none.safetensors: No such file");
  free(missing);
  test_rmtree(dir);
  free(dir);
}

static void expect_header_error(const char *header, const char *message) {
  char *dir = test_tempdir("st");
  const float data[4] = {0};
  char *path = write_raw(dir, "h.safetensors", header, data, sizeof data, -1);
  dlcc_error err;
  open_fails(path, DLCC_ERR_PARSE, &err);
  assert_contains(err.message, "h.safetensors: ");
  assert_contains(err.message, message);
  free(path);
  test_rmtree(dir);
  free(dir);
}

static void test_malformed_headers_say_what_is_wrong(void **state) {
  (void)state;
  expect_header_error("{\"a\": [", "the header is not a JSON object");
  expect_header_error("[1, 2]", "the header is not a JSON object");
  expect_header_error("{\"a\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                      "tensor 'a' has an unknown or missing dtype (F99)");
  expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}",
                      "tensor 'a' spans 12 bytes but shape [2, 2] of F32 needs 16");
  expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}",
                      "tensor 'a' needs \"data_offsets\": [begin, end] with 0 <= begin <= end");
  expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                      "tensor 'a' has a shape entry that is not a whole number >= 0");
  expect_header_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                      "tensor 'a' appears twice in the header");
  expect_header_error("{\"__metadata__\":{\"epoch\":3}}", "metadata \"epoch\" is not a string");
  expect_header_error("{\"__metadata__\":{},\"__metadata__\":{}}", "\"__metadata__\" appears twice");
  expect_header_error("{\"a\":3}", "tensor 'a' must be an object with dtype, shape and data_offsets");
}

static void test_write_rejects_duplicate_names_and_reports_unwritable_path(void **state) {
  (void)state;
  char *dir = test_tempdir("st");
  float v = 1;
  dlcc_st_out out[2] = {{.name = "w", .ndims = 0, .data = &v}, {.name = "w", .ndims = 0, .data = &v}};
  char *path = dlcc_path_join(dir, "d.safetensors");
  dlcc_error err;
  assert_int_equal(dlcc_safetensors_write(path, out, 2, NULL, 0, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "d.safetensors: tensor 'w' is given twice");
  assert_false(dlcc_path_is_file(path));
  char *nowhere = dlcc_path_join(dir, "missing/folder/d.safetensors");
  assert_int_equal(dlcc_safetensors_write(nowhere, out, 1, NULL, 0, &err), DLCC_ERR_IO);
  assert_contains(err.message, "missing/folder/d.safetensors");
  free(nowhere);
  free(path);
  test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_round_trip_keeps_names_shapes_values_and_metadata),
    cmocka_unit_test(test_bf16_and_f16_are_read_as_f32),
    cmocka_unit_test(test_missing_tensor_is_named_with_the_file),
    cmocka_unit_test(test_misshaped_tensor_names_both_shapes),
    cmocka_unit_test(test_integer_tensor_is_listed_but_not_read_as_float),
    cmocka_unit_test(test_truncated_data_names_the_tensor),
    cmocka_unit_test(test_header_length_past_end_of_file),
    cmocka_unit_test(test_malformed_headers_say_what_is_wrong),
    cmocka_unit_test(test_write_rejects_duplicate_names_and_reports_unwritable_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
