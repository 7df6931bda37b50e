/* Tests of src/nn/engine and src/nn/tensor: thread count and ISA report, layouts (plain and blocked),
 * import/export at the edges, bf16 rounding, and conversions that copy only when layouts differ. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/engine.h"
#include "nn/tensor.h"
#include "testutil.h"

static dlcc_nn_engine *engine_or_fail(int threads) {
  dlcc_nn_engine *e = NULL;
  dlcc_error err;
  dlcc_status st = dlcc_nn_engine_create(&e, threads, &err);
  if (st) fail_msg("%s", err.message);
  return e;
}

static void test_engine_follows_thread_count_and_names_isa(void **state) {
  (void)state;
  dlcc_nn_engine *e = engine_or_fail(1);
  dlcc_nn_cpu_info info = dlcc_nn_cpu_info_get(e);
#ifdef DLCC_HAVE_OPENMP
  assert_int_equal(info.threads, 1);
#endif
  assert_true(strlen(info.isa) > 0);
  assert_string_not_equal(info.isa, "generic");
  if (info.bf16_fast) assert_true(info.bf16_available);
  assert_int_equal(info.onednn_major >= 2, 1);
  char line[256];
  dlcc_nn_engine_describe(e, line, sizeof line);
  assert_contains(line, "oneDNN ");
  assert_contains(line, info.isa);
#ifdef DLCC_HAVE_OPENMP
  assert_contains(line, "1 thread,");
#endif
  dlcc_nn_engine_free(e);
}

static void test_engine_rejects_negative_threads(void **state) {
  (void)state;
  dlcc_nn_engine *e = NULL;
  dlcc_error err;
  assert_int_equal(dlcc_nn_engine_create(&e, -2, &err), DLCC_ERR_INVALID);
  assert_null(e);
  assert_contains(err.message, "--threads must be >= 0, got -2");
}

static void fill_ramp(float *v, size_t n) {
  for (size_t i = 0; i < n; i++) v[i] = (float)i * 0.25f - 7.0f;
}

static void test_blocked_layout_round_trips_plain_data(void **state) {
  (void)state;
  dlcc_nn_engine *e = engine_or_fail(1);
  dlcc_error err;
  dlcc_nn_tensor t;
  dlcc_nn_tensor_init(&t);
  const int64_t dims[4] = {2, 3, 4, 5};
  /* 3 channels in blocks of 8: the layout pads, the logical data must survive unchanged. */
  assert_int_equal(dlcc_nn_tensor_set_shape(&t, e, dims, DLCC_NN_F32, dnnl_nChw8c, &err), DLCC_OK);
  char desc[128];
  dlcc_nn_md_describe(dlcc_nn_tensor_md(&t), desc, sizeof desc);
  assert_string_equal(desc, "2x3x4x5 f32 aBcd8b");
  assert_true(t.buf.capacity >= 2 * 8 * 4 * 5 * sizeof(float));
  float in[120], out[120];
  fill_ramp(in, 120);
  assert_int_equal(dlcc_nn_tensor_import_nchw(&t, e, in, dims, DLCC_NN_F32, &err), DLCC_OK);
  dlcc_nn_md_describe(dlcc_nn_tensor_md(&t), desc, sizeof desc);
  assert_string_equal(desc, "2x3x4x5 f32 aBcd8b"); /* import kept the chosen layout */
  /* In the blocked buffer, element (n=0, c=1, h=0, w=1) sits at block offset w*8 + c. */
  assert_float_equal(((float *)t.buf.data)[1 * 8 + 1], in[1 * 20 + 1], 0);
  memset(out, 0, sizeof out);
  assert_int_equal(dlcc_nn_tensor_export_nchw(&t, e, out, &err), DLCC_OK);
  assert_memory_equal(in, out, sizeof in);
  dlcc_nn_tensor_free(&t);
  dlcc_nn_engine_free(e);
}

static void test_import_of_new_shape_becomes_plain_and_reuses_buffer(void **state) {
  (void)state;
  dlcc_nn_engine *e = engine_or_fail(1);
  dlcc_error err;
  dlcc_nn_tensor t;
  dlcc_nn_tensor_init(&t);
  float in[120];
  fill_ramp(in, 120);
  const int64_t big[4] = {2, 3, 4, 5}, small[4] = {1, 3, 4, 5};
  assert_int_equal(dlcc_nn_tensor_import_nchw(&t, e, in, big, DLCC_NN_F32, &err), DLCC_OK);
  void *data = t.buf.data;
  dnnl_memory_t mem = t.buf.mem;
  assert_int_equal(dlcc_nn_tensor_import_nchw(&t, e, in + 60, big, DLCC_NN_F32, &err), DLCC_OK);
  assert_ptr_equal(t.buf.mem, mem); /* same shape: nothing recreated */
  assert_int_equal(dlcc_nn_tensor_import_nchw(&t, e, in + 60, small, DLCC_NN_F32, &err), DLCC_OK);
  assert_ptr_equal(t.buf.data, data); /* smaller: same allocation */
  assert_int_equal(dlcc_nn_tensor_count(&t), 60);
  char desc[128];
  dlcc_nn_md_describe(dlcc_nn_tensor_md(&t), desc, sizeof desc);
  assert_string_equal(desc, "1x3x4x5 f32 abcd");
  assert_float_equal(((float *)t.buf.data)[0], in[60], 0);
  dlcc_nn_tensor_free(&t);
  dlcc_nn_engine_free(e);
}

static void test_bf16_import_rounds_to_nearest_even(void **state) {
  (void)state;
  dlcc_nn_engine *e = engine_or_fail(1);
  dlcc_error err;
  dlcc_nn_tensor t;
  dlcc_nn_tensor_init(&t);
  /* bf16 keeps 8 significant bits: 1 + 2^-8 is a tie (to even: 1), 1 + 3*2^-8 rounds up to
   * 1 + 2^-6, 1.5 and -2.25 are exact. */
  const float in[4] = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, 1.5f, -2.25f};
  const float expect[4] = {1.0f, 1.0f + 1.0f / 64, 1.5f, -2.25f};
  const int64_t dims[4] = {1, 4, 1, 1};
  assert_int_equal(dlcc_nn_tensor_import_nchw(&t, e, in, dims, DLCC_NN_BF16, &err), DLCC_OK);
  assert_int_equal(t.dtype, DLCC_NN_BF16);
  assert_int_equal(dlcc_nn_memory_md(t.buf.mem)->data_type, dnnl_bf16);
  float out[4];
  assert_int_equal(dlcc_nn_tensor_export_nchw(&t, e, out, &err), DLCC_OK);
  for (int i = 0; i < 4; i++) assert_float_equal(out[i], expect[i], 0);
  dlcc_nn_tensor_free(&t);
  dlcc_nn_engine_free(e);
}

static void test_convert_copies_only_when_layout_differs(void **state) {
  (void)state;
  dlcc_nn_engine *e = engine_or_fail(1);
  dlcc_error err;
  dlcc_nn_tensor t;
  dlcc_nn_tensor_init(&t);
  float in[2 * 16 * 3 * 3];
  fill_ramp(in, 288);
  const dnnl_dims_t dims = {2, 16, 3, 3};
  assert_int_equal(dlcc_nn_tensor_import_nchw(&t, e, in, dims, DLCC_NN_F32, &err), DLCC_OK);
  dlcc_nn_convert c;
  dlcc_nn_convert_init(&c);
  dnnl_memory_t got = NULL;
  assert_int_equal(dlcc_nn_convert_run(&c, e, t.buf.mem, dlcc_nn_tensor_md(&t), &got, &err), DLCC_OK);
  assert_ptr_equal(got, t.buf.mem);
  assert_null(c.out.data);
  dnnl_memory_desc_t blocked;
  assert_int_equal(dnnl_memory_desc_init_by_tag(&blocked, 4, dims, dnnl_f32, dnnl_nChw8c), dnnl_success);
  assert_int_equal(dlcc_nn_convert_run(&c, e, t.buf.mem, &blocked, &got, &err), DLCC_OK);
  assert_ptr_equal(got, c.out.mem);
  /* (n=1, c=9, h=2, w=0) in nChw8c: n*(16*9) + (c/8)*(8*9) + (h*3+w)*8 + c%8. */
  const float *b = c.out.data;
  assert_float_equal(b[1 * 144 + 1 * 72 + 6 * 8 + 1], in[1 * 144 + 9 * 9 + 6], 0);
  dnnl_primitive_t first = c.reorder.prim.prim;
  assert_int_equal(dlcc_nn_convert_run(&c, e, t.buf.mem, &blocked, &got, &err), DLCC_OK);
  assert_ptr_equal(c.reorder.prim.prim, first); /* same pair: the reorder is reused */
  dlcc_nn_convert_free(&c);
  dlcc_nn_tensor_free(&t);
  dlcc_nn_engine_free(e);
}

static void test_tensor_rejects_non_positive_dims(void **state) {
  (void)state;
  dlcc_nn_engine *e = engine_or_fail(1);
  dlcc_error err;
  dlcc_nn_tensor t;
  dlcc_nn_tensor_init(&t);
  const int64_t dims[4] = {1, 0, 4, 4};
  assert_int_equal(dlcc_nn_tensor_set_shape(&t, e, dims, DLCC_NN_F32, dnnl_nchw, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "tensor dims must be positive, got 1x0x4x4");
  float out[1];
  assert_int_equal(dlcc_nn_tensor_export_nchw(&t, e, out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "exporting an empty tensor");
  dlcc_nn_tensor_free(&t);
  dlcc_nn_engine_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_engine_follows_thread_count_and_names_isa),
    cmocka_unit_test(test_engine_rejects_negative_threads),
    cmocka_unit_test(test_blocked_layout_round_trips_plain_data),
    cmocka_unit_test(test_import_of_new_shape_becomes_plain_and_reuses_buffer),
    cmocka_unit_test(test_bf16_import_rounds_to_nearest_even),
    cmocka_unit_test(test_convert_copies_only_when_layout_differs),
    cmocka_unit_test(test_tensor_rejects_non_positive_dims),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
