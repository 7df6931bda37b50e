/* Max pooling: shape logic, plans cached per input layout (each holding its workspace), forward and
 * backward side by side. oneDNN pools in the input's layout; backward picks its own gradient
 * layouts and dy is converted when it arrives in another. */
#include "nn/pool.h"

#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

/* ---- Spec and shape logic ---------------------------------------------------------------- */

dlcc_nn_pool_spec dlcc_nn_pool_spec_square(int64_t kernel, int64_t stride, int64_t padding) {
  dlcc_nn_pool_spec s = {.kernel = {kernel, kernel}, .stride = {stride, stride}, .padding = {padding, padding}};
  return s;
}

static void destroy_plan(void *plan);

dlcc_status dlcc_nn_pool_init(dlcc_nn_pool *pool, const char *name, const dlcc_nn_pool_spec *spec, dlcc_error *err) {
  memset(pool, 0, sizeof *pool);
  dlcc_nn_plan_cache_init(&pool->plans, destroy_plan);
  for (int i = 0; i < 2; i++) {
    if (spec->kernel[i] <= 0 || spec->stride[i] <= 0 || spec->padding[i] < 0)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: kernel and stride must be >= 1 and padding >= 0", name);
    /* A window of padding only would have no maximum. */
    if (2 * spec->padding[i] > spec->kernel[i])
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: padding %lld is more than half the kernel (%lld)", name,
                       (long long)spec->padding[i], (long long)spec->kernel[i]);
  }
  pool->spec = *spec;
  if (!(pool->name = strdup(name))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating %s", name);
  return DLCC_OK;
}

void dlcc_nn_pool_free(dlcc_nn_pool *pool) {
  dlcc_nn_plan_cache_free(&pool->plans);
  free(pool->name);
  memset(pool, 0, sizeof *pool);
}

dlcc_status dlcc_nn_pool_output_dims(const dlcc_nn_pool *pool, const int64_t in[4], int64_t out[4], dlcc_error *err) {
  const dlcc_nn_pool_spec *s = &pool->spec;
  out[0] = in[0];
  out[1] = in[1];
  for (int i = 0; i < 2; i++) {
    int64_t room = in[2 + i] + 2 * s->padding[i];
    if (room < s->kernel[i])
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input (%lldx%lld) is smaller than the %lldx%lld window "
                       "with padding %lld", pool->name, (long long)in[2], (long long)in[3], (long long)s->kernel[0],
                       (long long)s->kernel[1], (long long)s->padding[i]);
    out[2 + i] = (room - s->kernel[i]) / s->stride[i] + 1;
  }
  return DLCC_OK;
}

/* ---- Plans: one per input layout and mode --------------------------------------------------- */

typedef struct pool_plan {
  dnnl_primitive_desc_t fwd_pd, bwd_pd; /* backward made at first use */
  dlcc_nn_prim fwd, bwd;
  dlcc_nn_buffer workspace;  /* training: where each maximum came from */
  bool workspace_filled;     /* a training forward wrote it */
  dlcc_nn_convert dy_for_bwd;
  int64_t out_dims[4];
} pool_plan;

static void destroy_plan(void *opaque) {
  pool_plan *plan = opaque;
  if (plan->fwd_pd) dnnl_primitive_desc_destroy(plan->fwd_pd);
  if (plan->bwd_pd) dnnl_primitive_desc_destroy(plan->bwd_pd);
  dlcc_nn_prim_destroy(&plan->fwd);
  dlcc_nn_prim_destroy(&plan->bwd);
  dlcc_nn_buffer_free(&plan->workspace);
  dlcc_nn_convert_free(&plan->dy_for_bwd);
  free(plan);
}

/* What a pooling descriptor needs for one input shape. */
typedef struct pool_descs {
  dnnl_memory_desc_t src_any, dst_any;
  dnnl_dims_t strides, kernel, pad_l, pad_r;
} pool_descs;

static dlcc_status describe(const dlcc_nn_pool *pool, const dnnl_memory_desc_t *x, const int64_t out[4],
                            pool_descs *d, dlcc_error *err) {
  const dlcc_nn_pool_spec *s = &pool->spec;
  dnnl_dims_t src_dims = {x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
  dnnl_dims_t dst_dims = {out[0], out[1], out[2], out[3]};
  memset(d, 0, sizeof *d);
  for (int i = 0; i < 2; i++) {
    d->strides[i] = s->stride[i];
    d->kernel[i] = s->kernel[i];
    d->pad_l[i] = s->padding[i];
    /* What makes oneDNN's output size equal PyTorch's; negative when the last rows are never read
     * (a 2x2 stride-2 window over an odd size). */
    d->pad_r[i] = (out[2 + i] - 1) * s->stride[i] + s->kernel[i] - x->dims[2 + i] - s->padding[i];
  }
  dnnl_status_t r = dnnl_memory_desc_init_by_tag(&d->src_any, 4, src_dims, x->data_type, dnnl_format_tag_any);
  if (r == dnnl_success) r = dnnl_memory_desc_init_by_tag(&d->dst_any, 4, dst_dims, x->data_type, dnnl_format_tag_any);
  return dlcc_nn_check(r, err, pool->name);
}

/* oneDNN pools in the layout of the source it is given, so the source is x's own layout. */
static dlcc_status create_forward(dlcc_nn_pool *pool, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                  dlcc_nn_mode mode, pool_plan *plan, dlcc_error *err) {
  pool_descs d;
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, pool->name, mode == DLCC_NN_TRAINING ? "forward (training)" : "forward", x);
  dlcc_status st = describe(pool, x, plan->out_dims, &d, err);
  if (st) return st;
  dnnl_pooling_desc_t pd;
  dnnl_prop_kind_t prop = mode == DLCC_NN_TRAINING ? dnnl_forward_training : dnnl_forward_inference;
  st = dlcc_nn_check(dnnl_pooling_forward_desc_init(&pd, prop, dnnl_pooling_max, x, &d.dst_any, d.strides, d.kernel,
                                                    d.pad_l, d.pad_r),
                     err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&plan->fwd_pd, &pd, e->attr, e->cpu, NULL), err, what);
  if (!st) st = dlcc_nn_prim_create(&plan->fwd, e, plan->fwd_pd, what, err);
  const dnnl_memory_desc_t *ws = st ? NULL : dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_workspace_md);
  if (ws && dnnl_memory_desc_get_size(ws) > 0) st = dlcc_nn_buffer_set(&plan->workspace, e, ws, err);
  return st;
}

static dlcc_status create_backward(dlcc_nn_pool *pool, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                   pool_plan *plan, dlcc_error *err) {
  pool_descs d;
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, pool->name, "backward", x);
  dlcc_status st = describe(pool, x, plan->out_dims, &d, err);
  if (st) return st;
  dnnl_pooling_desc_t pd;
  st = dlcc_nn_check(dnnl_pooling_backward_desc_init(&pd, dnnl_pooling_max, &d.src_any, &d.dst_any, d.strides,
                                                     d.kernel, d.pad_l, d.pad_r),
                     err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&plan->bwd_pd, &pd, e->attr, e->cpu, plan->fwd_pd), err,
                              what);
  if (!st) st = dlcc_nn_prim_create(&plan->bwd, e, plan->bwd_pd, what, err);
  return st;
}

/* The plan for x in mode: from the cache, or built (forward part only) and cached. */
static dlcc_status plan_for(dlcc_nn_pool *pool, dlcc_nn_engine *e, const dlcc_nn_tensor *x, dlcc_nn_mode mode,
                            pool_plan **out, dlcc_error *err) {
  *out = NULL;
  const dnnl_memory_desc_t *x_md = dlcc_nn_tensor_md(x);
  if (!x_md) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input tensor is empty", pool->name);
  if ((*out = dlcc_nn_plan_cache_find(&pool->plans, x_md, mode))) return DLCC_OK;
  pool_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", pool->name);
  dlcc_status st = dlcc_nn_pool_output_dims(pool, x->dims, plan->out_dims, err);
  if (!st) st = create_forward(pool, e, x_md, mode, plan, err);
  st = dlcc_nn_plan_cache_keep(&pool->plans, x_md, mode, plan, st);
  if (!st) *out = plan;
  return st;
}

/* ---- Forward ------------------------------------------------------------------------------ */

dlcc_status dlcc_nn_pool_forward(dlcc_nn_pool *pool, dlcc_nn_engine *e, const dlcc_nn_tensor *x, dlcc_nn_tensor *y,
                                 dlcc_nn_mode mode, dlcc_error *err) {
  pool_plan *plan;
  dlcc_status st = plan_for(pool, e, x, mode, &plan, err);
  if (!st) st = dlcc_nn_tensor_set_layout(y, e, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_dst_md), err);
  if (st) return st;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, x->buf.mem}, {DNNL_ARG_DST, y->buf.mem}};
  int n = 2;
  if (plan->workspace.mem) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, plan->workspace.mem};
  st = dlcc_nn_prim_run(&plan->fwd, e, n, args, pool->name, err);
  plan->workspace_filled = mode == DLCC_NN_TRAINING && !st;
  return st;
}

/* ---- Backward ----------------------------------------------------------------------------- */

static dlcc_status check_grad_output(const dlcc_nn_pool *pool, const pool_plan *plan, const dlcc_nn_tensor *x,
                                     const dlcc_nn_tensor *dy, dlcc_error *err) {
  dlcc_status st = dlcc_nn_check_grad_output(pool->name, dy, plan->out_dims, x->dtype, err);
  if (!st && !plan->workspace_filled)
    st = dlcc_fail(err, DLCC_ERR_INVALID, "%s: backward needs a training forward of this input shape first",
                   pool->name);
  return st;
}

dlcc_status dlcc_nn_pool_backward(dlcc_nn_pool *pool, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                  const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err) {
  pool_plan *plan;
  dlcc_status st = plan_for(pool, e, x, DLCC_NN_TRAINING, &plan, err);
  if (!st) st = check_grad_output(pool, plan, x, dy, err);
  if (!st && !plan->bwd_pd) st = create_backward(pool, e, dlcc_nn_tensor_md(x), plan, err);
  if (st) return st;
  dnnl_memory_t grad_out;
  st = dlcc_nn_convert_run(&plan->dy_for_bwd, e, dy->buf.mem, dlcc_nn_pd_md(plan->bwd_pd, dnnl_query_diff_dst_md),
                           &grad_out, err);
  if (!st) st = dlcc_nn_tensor_set_layout(dx, e, dlcc_nn_pd_md(plan->bwd_pd, dnnl_query_diff_src_md), err);
  if (st) return st;
  dnnl_exec_arg_t args[5] = {{DNNL_ARG_DIFF_DST, grad_out}, {DNNL_ARG_DIFF_SRC, dx->buf.mem}};
  int n = 2;
  if (plan->workspace.mem) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, plan->workspace.mem};
  return dlcc_nn_prim_run(&plan->bwd, e, n, args, pool->name, err);
}
