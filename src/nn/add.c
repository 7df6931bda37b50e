/* Residual add: oneDNN's binary add (with an eltwise ReLU post-op when fused), plans cached per
 * layout of the first input, forward and backward side by side. The fused ReLU's backward is
 * oneDNN's ReLU backward from the output (relu_use_dst_for_bwd), which needs only y and dy. */
#include "nn/add.h"

#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

/* ---- Spec and shape logic ---------------------------------------------------------------- */

static void destroy_plan(void *plan);

dlcc_status dlcc_nn_add_init(dlcc_nn_add *add, const char *name, const dlcc_nn_add_spec *spec, dlcc_error *err) {
  memset(add, 0, sizeof *add);
  dlcc_nn_plan_cache_init(&add->plans, destroy_plan);
  add->spec = *spec;
  if (!(add->name = strdup(name))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating %s", name);
  return DLCC_OK;
}

void dlcc_nn_add_free(dlcc_nn_add *add) {
  dlcc_nn_plan_cache_free(&add->plans);
  free(add->name);
  memset(add, 0, sizeof *add);
}

dlcc_status dlcc_nn_add_output_dims(const dlcc_nn_add *add, const int64_t a[4], const int64_t b[4], int64_t out[4],
                                    dlcc_error *err) {
  if (memcmp(a, b, 4 * sizeof *a) != 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: cannot add a %lldx%lldx%lldx%lld tensor and a %lldx%lldx%lldx%lld "
                     "one (the shapes must be equal)", add->name, (long long)a[0], (long long)a[1], (long long)a[2],
                     (long long)a[3], (long long)b[0], (long long)b[1], (long long)b[2], (long long)b[3]);
  memcpy(out, a, 4 * sizeof *out);
  return DLCC_OK;
}

/* ---- Plans: one per layout of the first input and mode --------------------------------------- */

typedef struct add_plan {
  dnnl_primitive_desc_t fwd_pd, relu_bwd_pd; /* the ReLU's backward made at first use */
  dlcc_nn_prim fwd, relu_bwd;
  dlcc_nn_convert b_for_fwd, dy_for_bwd;
  dlcc_nn_reorder copy_dy; /* backward without ReLU: dx = dy, in y's layout */
} add_plan;

static void destroy_plan(void *opaque) {
  add_plan *plan = opaque;
  if (plan->fwd_pd) dnnl_primitive_desc_destroy(plan->fwd_pd);
  if (plan->relu_bwd_pd) dnnl_primitive_desc_destroy(plan->relu_bwd_pd);
  dlcc_nn_prim_destroy(&plan->fwd);
  dlcc_nn_prim_destroy(&plan->relu_bwd);
  dlcc_nn_convert_free(&plan->b_for_fwd);
  dlcc_nn_convert_free(&plan->dy_for_bwd);
  dlcc_nn_reorder_free(&plan->copy_dy);
  free(plan);
}

/* The engine's attributes (user scratchpad) plus, when fused, the ReLU post-op. */
static dlcc_status forward_attr(const dlcc_nn_add *add, dlcc_nn_engine *e, dnnl_primitive_attr_t *attr,
                                const char *what, dlcc_error *err) {
  dnnl_post_ops_t ops = NULL;
  dlcc_status st = dlcc_nn_check(dnnl_primitive_attr_clone(attr, e->attr), err, what);
  if (!st && add->spec.relu) {
    st = dlcc_nn_check(dnnl_post_ops_create(&ops), err, what);
    if (!st) st = dlcc_nn_check(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), err, what);
    if (!st) st = dlcc_nn_check(dnnl_primitive_attr_set_post_ops(*attr, ops), err, what);
  }
  if (ops) dnnl_post_ops_destroy(ops);
  return st;
}

/* Both sources and the output in a's layout (b converted), so that the output may overwrite a. */
static dlcc_status create_forward(dlcc_nn_add *add, dlcc_nn_engine *e, const dnnl_memory_desc_t *a, add_plan *plan,
                                  dlcc_error *err) {
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, add->name, add->spec.relu ? "add + relu forward" : "add forward", a);
  dnnl_binary_desc_t d;
  dnnl_primitive_attr_t attr = NULL;
  dlcc_status st = dlcc_nn_check(dnnl_binary_desc_init(&d, dnnl_binary_add, a, a, a), err, what);
  if (!st) st = forward_attr(add, e, &attr, what, err);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&plan->fwd_pd, &d, attr, e->cpu, NULL), err, what);
  if (!st) st = dlcc_nn_prim_create(&plan->fwd, e, plan->fwd_pd, what, err);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return st;
}

/* ReLU backward from the output y; oneDNN wants a ReLU forward descriptor as its hint. */
static dlcc_status create_relu_backward(dlcc_nn_add *add, dlcc_nn_engine *e, const dnnl_memory_desc_t *y,
                                        add_plan *plan, dlcc_error *err) {
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, add->name, "relu backward", y);
  dnnl_eltwise_desc_t fd, bd;
  dnnl_primitive_desc_t hint = NULL;
  dlcc_status st = dlcc_nn_check(
      dnnl_eltwise_forward_desc_init(&fd, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd, y, 0.0f, 0.0f),
      err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&hint, &fd, e->attr, e->cpu, NULL), err, what);
  if (!st) st = dlcc_nn_check(dnnl_eltwise_backward_desc_init(&bd, dnnl_eltwise_relu_use_dst_for_bwd, y, y, 0.0f,
                                                              0.0f),
                              err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&plan->relu_bwd_pd, &bd, e->attr, e->cpu, hint), err, what);
  if (!st) st = dlcc_nn_prim_create(&plan->relu_bwd, e, plan->relu_bwd_pd, what, err);
  if (hint) dnnl_primitive_desc_destroy(hint);
  return st;
}

/* The plan for first input a in mode: from the cache, or built (forward part only) and cached.
 * y has a's layout, so backward finds the training plan from y's. */
static dlcc_status plan_for(dlcc_nn_add *add, dlcc_nn_engine *e, const dlcc_nn_tensor *a, const char *which,
                            dlcc_nn_mode mode, add_plan **out, dlcc_error *err) {
  *out = NULL;
  const dnnl_memory_desc_t *a_md = dlcc_nn_tensor_md(a);
  if (!a_md) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the %s tensor is empty", add->name, which);
  if ((*out = dlcc_nn_plan_cache_find(&add->plans, a_md, mode))) return DLCC_OK;
  add_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", add->name);
  dlcc_status st = create_forward(add, e, a_md, plan, err);
  st = dlcc_nn_plan_cache_keep(&add->plans, a_md, mode, plan, st);
  if (!st) *out = plan;
  return st;
}

/* ---- Forward ------------------------------------------------------------------------------ */

static dlcc_status check_inputs(const dlcc_nn_add *add, const dlcc_nn_tensor *a, const dlcc_nn_tensor *b,
                                dlcc_error *err) {
  int64_t out[4];
  if (!b->buf.mem) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the second input tensor is empty", add->name);
  dlcc_status st = dlcc_nn_add_output_dims(add, a->dims, b->dims, out, err);
  if (!st && a->dtype != b->dtype)
    st = dlcc_fail(err, DLCC_ERR_INVALID, "%s: cannot add a %s tensor and a %s one", add->name,
                   dlcc_nn_dtype_name(a->dtype), dlcc_nn_dtype_name(b->dtype));
  return st;
}

dlcc_status dlcc_nn_add_forward(dlcc_nn_add *add, dlcc_nn_engine *e, const dlcc_nn_tensor *a, const dlcc_nn_tensor *b,
                                dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err) {
  add_plan *plan;
  dlcc_status st = plan_for(add, e, a, "first input", mode, &plan, err);
  if (!st) st = check_inputs(add, a, b, err);
  if (st) return st;
  const dnnl_memory_desc_t *b_want = dnnl_primitive_desc_query_md(plan->fwd_pd, dnnl_query_src_md, 1);
  dnnl_memory_t b_mem;
  st = dlcc_nn_convert_run(&plan->b_for_fwd, e, b->buf.mem, b_want, &b_mem, err);
  if (!st) st = dlcc_nn_tensor_set_layout(y, e, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_dst_md), err);
  if (st) return st;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC_0, a->buf.mem}, {DNNL_ARG_SRC_1, b_mem}, {DNNL_ARG_DST, y->buf.mem}};
  return dlcc_nn_prim_run(&plan->fwd, e, 3, args, add->name, err);
}

/* ---- Backward ----------------------------------------------------------------------------- */

dlcc_status dlcc_nn_add_backward(dlcc_nn_add *add, dlcc_nn_engine *e, const dlcc_nn_tensor *y,
                                 const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err) {
  add_plan *plan;
  dlcc_status st = plan_for(add, e, y, "output", DLCC_NN_TRAINING, &plan, err);
  if (!st) st = dlcc_nn_check_grad_output(add->name, dy, y->dims, y->dtype, err);
  if (st) return st;
  if (!add->spec.relu) {
    st = dlcc_nn_tensor_set_layout(dx, e, dlcc_nn_tensor_md(y), err);
    return st ? st : dlcc_nn_reorder_run(&plan->copy_dy, e, dy->buf.mem, dx->buf.mem, err);
  }
  if (!plan->relu_bwd_pd) st = create_relu_backward(add, e, dlcc_nn_tensor_md(y), plan, err);
  if (st) return st;
  dnnl_memory_t grad_out;
  st = dlcc_nn_convert_run(&plan->dy_for_bwd, e, dy->buf.mem,
                           dlcc_nn_pd_md(plan->relu_bwd_pd, dnnl_query_diff_dst_md), &grad_out, err);
  if (!st) st = dlcc_nn_tensor_set_layout(dx, e, dlcc_nn_pd_md(plan->relu_bwd_pd, dnnl_query_diff_src_md), err);
  if (st) return st;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_DST, y->buf.mem}, {DNNL_ARG_DIFF_DST, grad_out},
                             {DNNL_ARG_DIFF_SRC, dx->buf.mem}};
  return dlcc_nn_prim_run(&plan->relu_bwd, e, 3, args, add->name, err);
}
