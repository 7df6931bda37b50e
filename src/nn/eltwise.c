/* Elementwise activations: the kind's oneDNN algorithm, plans cached per input layout, forward and
 * backward side by side. oneDNN's eltwise works in the layout it is given, so output and gradients
 * keep the input's layout and no conversion happens except for a dy that arrives in another. */
#include "nn/eltwise.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

/* ---- Spec and shape logic ---------------------------------------------------------------- */

const char *dlcc_nn_eltwise_kind_name(dlcc_nn_eltwise_kind kind) {
  switch (kind) {
    case DLCC_NN_RELU: return "relu";
    case DLCC_NN_RELU6: return "relu6";
    case DLCC_NN_SIGMOID: return "sigmoid";
  }
  return NULL;
}

static void destroy_plan(void *plan);

dlcc_status dlcc_nn_eltwise_init(dlcc_nn_eltwise *elt, const char *name, const dlcc_nn_eltwise_spec *spec,
                                 dlcc_error *err) {
  memset(elt, 0, sizeof *elt);
  dlcc_nn_plan_cache_init(&elt->plans, destroy_plan);
  if (!dlcc_nn_eltwise_kind_name(spec->kind))
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: unknown activation kind %d (relu, relu6 or sigmoid)", name,
                     (int)spec->kind);
  elt->spec = *spec;
  if (!(elt->name = strdup(name))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating %s", name);
  return DLCC_OK;
}

void dlcc_nn_eltwise_free(dlcc_nn_eltwise *elt) {
  dlcc_nn_plan_cache_free(&elt->plans);
  free(elt->name);
  memset(elt, 0, sizeof *elt);
}

dlcc_status dlcc_nn_eltwise_output_dims(const dlcc_nn_eltwise *elt, const int64_t in[4], int64_t out[4],
                                        dlcc_error *err) {
  (void)elt, (void)err;
  memcpy(out, in, 4 * sizeof *out);
  return DLCC_OK;
}

/* The "use_dst_for_bwd" algorithms compute the same forward and let backward work from y alone.
 * clip_v2 (not clip) because its gradient is 0 at the bounds, as PyTorch's and TensorFlow's. */
static void algorithm(dlcc_nn_eltwise_kind kind, dnnl_alg_kind_t *alg, float *alpha, float *beta) {
  *alg = dnnl_alg_kind_undef; /* init refuses other kinds; oneDNN would refuse this one */
  *alpha = 0.0f;
  *beta = 0.0f;
  switch (kind) {
    case DLCC_NN_RELU: *alg = dnnl_eltwise_relu_use_dst_for_bwd; break;
    case DLCC_NN_RELU6:
      *alg = dnnl_eltwise_clip_v2_use_dst_for_bwd;
      *beta = 6.0f;
      break;
    case DLCC_NN_SIGMOID: *alg = dnnl_eltwise_logistic_use_dst_for_bwd; break;
  }
}

/* ---- Plans: one per input layout and mode --------------------------------------------------- */

typedef struct eltwise_plan {
  dnnl_primitive_desc_t fwd_pd, bwd_pd; /* backward made at first use */
  dlcc_nn_prim fwd, bwd;
  dlcc_nn_convert dy_for_bwd;
} eltwise_plan;

static void destroy_plan(void *opaque) {
  eltwise_plan *plan = opaque;
  if (plan->fwd_pd) dnnl_primitive_desc_destroy(plan->fwd_pd);
  if (plan->bwd_pd) dnnl_primitive_desc_destroy(plan->bwd_pd);
  dlcc_nn_prim_destroy(&plan->fwd);
  dlcc_nn_prim_destroy(&plan->bwd);
  dlcc_nn_convert_free(&plan->dy_for_bwd);
  free(plan);
}

static void describe_input(const dlcc_nn_eltwise *elt, const dnnl_memory_desc_t *x, const char *what, char *buf,
                           size_t size) {
  char layout[128];
  dlcc_nn_md_describe(x, layout, sizeof layout);
  snprintf(buf, size, "%s: %s %s for input %s", elt->name, dlcc_nn_eltwise_kind_name(elt->spec.kind), what, layout);
}

static dlcc_status create_forward(dlcc_nn_eltwise *elt, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                  dlcc_nn_mode mode, eltwise_plan *plan, dlcc_error *err) {
  char what[384];
  describe_input(elt, x, mode == DLCC_NN_TRAINING ? "forward (training)" : "forward", what, sizeof what);
  dnnl_alg_kind_t alg;
  float alpha, beta;
  algorithm(elt->spec.kind, &alg, &alpha, &beta);
  dnnl_eltwise_desc_t d;
  dnnl_prop_kind_t prop = mode == DLCC_NN_TRAINING ? dnnl_forward_training : dnnl_forward_inference;
  dlcc_status st = dlcc_nn_check(dnnl_eltwise_forward_desc_init(&d, prop, alg, x, alpha, beta), err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&plan->fwd_pd, &d, e->attr, e->cpu, NULL), err, what);
  if (!st) st = dlcc_nn_prim_create(&plan->fwd, e, plan->fwd_pd, what, err);
  return st;
}

/* Gradients in the layout of the data itself (y's), the one oneDNN's eltwise runs fastest on. */
static dlcc_status create_backward(dlcc_nn_eltwise *elt, dlcc_nn_engine *e, const dnnl_memory_desc_t *y,
                                   eltwise_plan *plan, dlcc_error *err) {
  char what[384];
  describe_input(elt, y, "backward", what, sizeof what);
  dnnl_alg_kind_t alg;
  float alpha, beta;
  algorithm(elt->spec.kind, &alg, &alpha, &beta);
  dnnl_eltwise_desc_t d;
  dlcc_status st = dlcc_nn_check(dnnl_eltwise_backward_desc_init(&d, alg, y, y, alpha, beta), err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&plan->bwd_pd, &d, e->attr, e->cpu, plan->fwd_pd), err,
                              what);
  if (!st) st = dlcc_nn_prim_create(&plan->bwd, e, plan->bwd_pd, what, err);
  return st;
}

/* The plan for input layout x_md in mode: from the cache, or built (forward part only) and cached.
 * Input and output share the layout, so backward finds the training plan from y's layout. */
static dlcc_status plan_for(dlcc_nn_eltwise *elt, dlcc_nn_engine *e, const dlcc_nn_tensor *x, const char *which,
                            dlcc_nn_mode mode, eltwise_plan **out, dlcc_error *err) {
  *out = NULL;
  const dnnl_memory_desc_t *x_md = dlcc_nn_tensor_md(x);
  if (!x_md) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the %s tensor is empty", elt->name, which);
  if ((*out = dlcc_nn_plan_cache_find(&elt->plans, x_md, mode))) return DLCC_OK;
  eltwise_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", elt->name);
  dlcc_status st = create_forward(elt, e, x_md, mode, plan, err);
  st = dlcc_nn_plan_cache_keep(&elt->plans, x_md, mode, plan, st);
  if (!st) *out = plan;
  return st;
}

/* ---- Forward ------------------------------------------------------------------------------ */

dlcc_status dlcc_nn_eltwise_forward(dlcc_nn_eltwise *elt, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                    dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err) {
  eltwise_plan *plan;
  dlcc_status st = plan_for(elt, e, x, "input", mode, &plan, err);
  if (!st) st = dlcc_nn_tensor_set_layout(y, e, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_dst_md), err);
  if (st) return st;
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, x->buf.mem}, {DNNL_ARG_DST, y->buf.mem}};
  return dlcc_nn_prim_run(&plan->fwd, e, 2, args, elt->name, err);
}

/* ---- Backward ----------------------------------------------------------------------------- */

dlcc_status dlcc_nn_eltwise_backward(dlcc_nn_eltwise *elt, dlcc_nn_engine *e, const dlcc_nn_tensor *y,
                                     const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err) {
  eltwise_plan *plan;
  dlcc_status st = plan_for(elt, e, y, "output", DLCC_NN_TRAINING, &plan, err);
  if (!st) st = dlcc_nn_check_grad_output(elt->name, dy, y->dims, y->dtype, err);
  if (!st && !plan->bwd_pd) st = create_backward(elt, e, dlcc_nn_tensor_md(y), plan, err);
  if (st) return st;
  dnnl_memory_t grad_out;
  st = dlcc_nn_convert_run(&plan->dy_for_bwd, e, dy->buf.mem, dlcc_nn_pd_md(plan->bwd_pd, dnnl_query_diff_dst_md),
                           &grad_out, err);
  if (!st) st = dlcc_nn_tensor_set_layout(dx, e, dlcc_nn_pd_md(plan->bwd_pd, dnnl_query_diff_src_md), err);
  if (st) return st;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_DST, y->buf.mem}, {DNNL_ARG_DIFF_DST, grad_out},
                             {DNNL_ARG_DIFF_SRC, dx->buf.mem}};
  return dlcc_nn_prim_run(&plan->bwd, e, 3, args, elt->name, err);
}
