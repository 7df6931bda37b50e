/* Tests of src/nn/layer_params: the views over the params buffers, the weights cached in two
 * primitive layouts until params->version moves, and the weight gradient reordered back into the
 * gradient buffer. Weights are an 8x8x1x1 kernel so that 8-blocked layouts apply. */
#include <stdlib.h>
#include <string.h>

#include "nn/layer_params.h"
#include "nn_layertest.h"
#include "testutil.h"

#define CH 8
#define N (CH * CH)

typedef struct rig {
  dlcc_nn_engine *e;
  dlcc_nn_params params;
  dlcc_nn_layer_params lp;
  dnnl_memory_desc_t plain; /* oihw f32 */
} rig;

static void md_of(dnnl_memory_desc_t *md, dnnl_format_tag_t tag) {
  dnnl_dims_t dims = {CH, CH, 1, 1};
  assert_int_equal(dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, tag), dnnl_success);
}

/* Declares "head.weight" [8, 8, 1, 1] (and "head.bias" [8] when with_bias), allocates, sets weight
 * element k to k + 1. */
static void rig_open(rig *r, int with_bias) {
  memset(r, 0, sizeof *r);
  dlcc_error err;
  const int64_t wdims[4] = {CH, CH, 1, 1};
  r->e = lt_engine();
  dlcc_nn_params_init(&r->params);
  if (dlcc_nn_layer_params_init(&r->lp, &r->params, "head", wdims, with_bias ? CH : 0, &err))
    fail_msg("%s", err.message);
  md_of(&r->plain, dnnl_oihw);
  if (dlcc_nn_params_allocate(&r->params, &err)) fail_msg("%s", err.message);
  float *w = dlcc_nn_param_values(&r->params, r->lp.weight);
  for (int k = 0; k < N; k++) w[k] = (float)(k + 1);
  dlcc_nn_params_changed(&r->params);
  if (dlcc_nn_layer_params_ensure_views(&r->lp, r->e, &r->plain, "head", &err)) fail_msg("%s", err.message);
}

static void rig_close(rig *r) {
  dlcc_nn_layer_params_free(&r->lp);
  dlcc_nn_params_free(&r->params);
  dlcc_nn_engine_free(r->e);
}

/* Copies between mem (any layout) and a plain oihw f32 array, in the direction asked. */
static void plain_copy(rig *r, dnnl_memory_t mem, float *plain, int into_mem) {
  dnnl_memory_t view;
  dlcc_nn_reorder reorder = {0};
  dlcc_error err;
  assert_int_equal(dnnl_memory_create(&view, &r->plain, r->e->cpu, plain), dnnl_success);
  if (dlcc_nn_reorder_run(&reorder, r->e, into_mem ? view : mem, into_mem ? mem : view, &err))
    fail_msg("%s", err.message);
  dlcc_nn_reorder_free(&reorder);
  dnnl_memory_destroy(view);
}

/* Weight element 0 as the copy in layout tag holds it (read back into plain order). */
static float first_weight_in(rig *r, dnnl_format_tag_t tag) {
  dnnl_memory_desc_t want;
  dnnl_memory_t mem;
  dlcc_error err;
  float back[N];
  md_of(&want, tag);
  if (dlcc_nn_layer_params_weights_in_layout(&r->lp, r->e, &want, &mem, &err)) fail_msg("%s", err.message);
  assert_true(dnnl_memory_desc_equal(dlcc_nn_memory_md(mem), &want));
  plain_copy(r, mem, back, 0);
  return back[0];
}

static void test_views_are_refused_before_allocation_and_made_after(void **state) {
  (void)state;
  dlcc_nn_engine *e = lt_engine();
  dlcc_nn_params p;
  dlcc_nn_layer_params lp;
  dnnl_memory_desc_t plain;
  dlcc_error err;
  const int64_t wdims[4] = {CH, CH, 1, 1};
  dlcc_nn_params_init(&p);
  assert_int_equal(dlcc_nn_layer_params_init(&lp, &p, "layer1.0.conv1", wdims, CH, &err), DLCC_OK);
  assert_string_equal(p.items[lp.weight].name, "layer1.0.conv1.weight");
  assert_string_equal(p.items[lp.bias].name, "layer1.0.conv1.bias");
  md_of(&plain, dnnl_oihw);
  assert_int_equal(dlcc_nn_layer_params_ensure_views(&lp, e, &plain, "layer1.0.conv1", &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "layer1.0.conv1: the parameters are not allocated yet");
  assert_int_equal(dlcc_nn_params_allocate(&p, &err), DLCC_OK);
  assert_int_equal(dlcc_nn_layer_params_ensure_views(&lp, e, &plain, "layer1.0.conv1", &err), DLCC_OK);
  void *at;
  assert_int_equal(dnnl_memory_get_data_handle(lp.weight_plain, &at), dnnl_success);
  assert_ptr_equal(at, dlcc_nn_param_values(&p, lp.weight));
  assert_int_equal(dnnl_memory_get_data_handle(lp.bias_grad_plain, &at), dnnl_success);
  assert_ptr_equal(at, dlcc_nn_param_grads(&p, lp.bias));
  dlcc_nn_layer_params_free(&lp);
  dlcc_nn_params_free(&p);
  dlcc_nn_engine_free(e);
}

static void test_without_bias_only_the_weight_is_declared(void **state) {
  (void)state;
  rig r;
  rig_open(&r, 0);
  assert_int_equal(r.params.count, 1);
  assert_null(r.lp.bias_plain);
  assert_null(r.lp.bias_grad_plain);
  rig_close(&r);
}

static void test_plain_layout_is_the_parameter_buffer_itself(void **state) {
  (void)state;
  rig r;
  rig_open(&r, 1);
  dnnl_memory_t mem;
  dlcc_error err;
  assert_int_equal(dlcc_nn_layer_params_weights_in_layout(&r.lp, r.e, &r.plain, &mem, &err), DLCC_OK);
  assert_ptr_equal(mem, r.lp.weight_plain);
  rig_close(&r);
}

/* A copy is made again only when the version moves: a write without dlcc_nn_params_changed is not
 * seen (which is why every writer must call it). */
static void test_copy_is_redone_only_when_params_version_moves(void **state) {
  (void)state;
  rig r;
  rig_open(&r, 1);
  float *w = dlcc_nn_param_values(&r.params, r.lp.weight);
  assert_float_equal(first_weight_in(&r, dnnl_OIhw8i8o), 1.0f, 0);
  w[0] = 100.0f;
  assert_float_equal(first_weight_in(&r, dnnl_OIhw8i8o), 1.0f, 0);
  dlcc_nn_params_changed(&r.params);
  assert_float_equal(first_weight_in(&r, dnnl_OIhw8i8o), 100.0f, 0);
  rig_close(&r);
}

/* Two layouts stay cached; a third replaces the older slot, so that layout is converted afresh
 * while the other still holds the copy of its version. */
static void test_third_layout_replaces_the_oldest_of_two_copies(void **state) {
  (void)state;
  rig r;
  rig_open(&r, 1);
  float *w = dlcc_nn_param_values(&r.params, r.lp.weight);
  assert_float_equal(first_weight_in(&r, dnnl_OIhw8i8o), 1.0f, 0);
  assert_float_equal(first_weight_in(&r, dnnl_OIhw8o8i), 1.0f, 0);
  w[0] = 7.0f; /* not announced: only fresh conversions see it */
  assert_float_equal(first_weight_in(&r, dnnl_ihwo), 7.0f, 0);
  assert_float_equal(first_weight_in(&r, dnnl_OIhw8o8i), 1.0f, 0);
  assert_float_equal(first_weight_in(&r, dnnl_OIhw8i8o), 7.0f, 0);
  rig_close(&r);
}

static void test_weight_gradient_in_a_blocked_layout_lands_plain_in_the_gradient_buffer(void **state) {
  (void)state;
  rig r;
  rig_open(&r, 1);
  dnnl_memory_desc_t blocked;
  dnnl_memory_t target;
  dlcc_error err;
  assert_int_equal(dlcc_nn_layer_params_weight_grad_target(&r.lp, r.e, &r.plain, &target, &err), DLCC_OK);
  assert_ptr_equal(target, r.lp.weight_grad_plain);

  md_of(&blocked, dnnl_OIhw8i8o);
  assert_int_equal(dlcc_nn_layer_params_weight_grad_target(&r.lp, r.e, &blocked, &target, &err), DLCC_OK);
  assert_ptr_not_equal(target, r.lp.weight_grad_plain);
  assert_true(dnnl_memory_desc_equal(dlcc_nn_memory_md(target), &blocked));
  float grad[N];
  for (int k = 0; k < N; k++) grad[k] = (float)(-k);
  plain_copy(&r, target, grad, 1); /* what a backward-weights primitive would write */
  const float *buffer = dlcc_nn_param_grads(&r.params, r.lp.weight);
  assert_float_equal(buffer[5], 0.0f, 0);
  assert_int_equal(dlcc_nn_layer_params_write_weight_grad(&r.lp, r.e, target, &err), DLCC_OK);
  for (int k = 0; k < N; k++) assert_float_equal(buffer[k], (float)(-k), 0);
  rig_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_views_are_refused_before_allocation_and_made_after),
    cmocka_unit_test(test_without_bias_only_the_weight_is_declared),
    cmocka_unit_test(test_plain_layout_is_the_parameter_buffer_itself),
    cmocka_unit_test(test_copy_is_redone_only_when_params_version_moves),
    cmocka_unit_test(test_third_layout_replaces_the_oldest_of_two_copies),
    cmocka_unit_test(test_weight_gradient_in_a_blocked_layout_lands_plain_in_the_gradient_buffer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
