/* Bilinear upsampling: shape logic, the plans cached per input layout, forward and backward side by
 * side, on oneDNN's linear resampling (whose coordinate rule is PyTorch's align_corners=False). */
#include "nn/upsample.h"

#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

/* ---- Spec and shape logic ---------------------------------------------------------------- */

dlcc_nn_upsample_spec dlcc_nn_upsample_spec_factor(int64_t factor) {
  dlcc_nn_upsample_spec s = {.factor = {factor, factor}};
  return s;
}

dlcc_nn_upsample_spec dlcc_nn_upsample_spec_size(int64_t height, int64_t width) {
  dlcc_nn_upsample_spec s = {.size = {height, width}};
  return s;
}

dlcc_nn_upsample_spec dlcc_nn_upsample_spec_multiple(int64_t m) {
  dlcc_nn_upsample_spec s = {.multiple = {m, m}};
  return s;
}

static dlcc_status check_spec(const char *name, const dlcc_nn_upsample_spec *s, dlcc_error *err) {
  for (int i = 0; i < 2; i++)
    if (s->factor[i] < 0 || s->multiple[i] < 0 || (s->factor[i] == 0 && s->multiple[i] == 0 && s->size[i] <= 0))
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: give a positive factor, multiple or output size", name);
  return DLCC_OK;
}

dlcc_status dlcc_nn_upsample_output_dims(const dlcc_nn_upsample *up, const int64_t in[4], int64_t out[4],
                                         dlcc_error *err) {
  out[0] = in[0];
  out[1] = in[1];
  for (int i = 0; i < 2; i++) {
    if (in[2 + i] <= 0)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input (%lldx%lld) is empty", up->name, (long long)in[2],
                       (long long)in[3]);
    int64_t m = up->spec.multiple[i];
    out[2 + i] = up->spec.factor[i] > 0 ? in[2 + i] * up->spec.factor[i]
                 : m > 0               ? (in[2 + i] + m - 1) / m * m
                                       : up->spec.size[i];
  }
  return DLCC_OK;
}

/* ---- Layer --------------------------------------------------------------------------------- */

static void destroy_plan(void *plan);

dlcc_status dlcc_nn_upsample_init(dlcc_nn_upsample *up, const char *name, const dlcc_nn_upsample_spec *spec,
                                  dlcc_error *err) {
  memset(up, 0, sizeof *up);
  dlcc_nn_plan_cache_init(&up->plans, destroy_plan);
  dlcc_status st = check_spec(name, spec, err);
  if (st) return st;
  up->spec = *spec;
  if (!(up->name = strdup(name))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating %s", name);
  return DLCC_OK;
}

void dlcc_nn_upsample_free(dlcc_nn_upsample *up) {
  dlcc_nn_plan_cache_free(&up->plans);
  free(up->name);
  memset(up, 0, sizeof *up);
}

/* ---- Plans: one per input layout and mode --------------------------------------------------- */

typedef struct upsample_plan {
  dnnl_primitive_desc_t fwd_pd, bwd_pd; /* backward made at first use */
  dlcc_nn_prim fwd, bwd;
  dlcc_nn_convert dy_for_bwd;
  int64_t out_dims[4];
} upsample_plan;

static void destroy_plan(void *opaque) {
  upsample_plan *plan = opaque;
  if (plan->fwd_pd) dnnl_primitive_desc_destroy(plan->fwd_pd);
  if (plan->bwd_pd) dnnl_primitive_desc_destroy(plan->bwd_pd);
  dlcc_nn_prim_destroy(&plan->fwd);
  dlcc_nn_prim_destroy(&plan->bwd);
  dlcc_nn_convert_free(&plan->dy_for_bwd);
  free(plan);
}

static dnnl_status_t init_any(dnnl_memory_desc_t *md, const int64_t dims[4], dnnl_data_type_t type) {
  dnnl_dims_t full = {dims[0], dims[1], dims[2], dims[3]};
  return dnnl_memory_desc_init_by_tag(md, 4, full, type, dnnl_format_tag_any);
}

/* Resampling reads the input in its own layout and picks the output's. The factors oneDNN uses
 * are out / in from the dims (no factor array is given). */
static dlcc_status create_forward(dlcc_nn_upsample *up, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                  dlcc_nn_mode mode, upsample_plan *plan, dlcc_error *err) {
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, up->name, mode == DLCC_NN_TRAINING ? "forward (training)" : "forward", x);
  dnnl_memory_desc_t dst;
  dnnl_resampling_desc_t d;
  dnnl_prop_kind_t prop = mode == DLCC_NN_TRAINING ? dnnl_forward_training : dnnl_forward_inference;
  dlcc_status st = dlcc_nn_check(init_any(&dst, plan->out_dims, x->data_type), err, what);
  if (!st) st = dlcc_nn_check(dnnl_resampling_forward_desc_init(&d, prop, dnnl_resampling_linear, NULL, x, &dst), err,
                              what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&plan->fwd_pd, &d, e->attr, e->cpu, NULL), err, what);
  if (!st) st = dlcc_nn_prim_create(&plan->fwd, e, plan->fwd_pd, what, err);
  return st;
}

static dlcc_status create_backward(dlcc_nn_upsample *up, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                   upsample_plan *plan, dlcc_error *err) {
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, up->name, "backward", x);
  dnnl_memory_desc_t diff_src, diff_dst;
  dnnl_resampling_desc_t d;
  dlcc_status st = dlcc_nn_check(init_any(&diff_src, x->dims, x->data_type), err, what);
  if (!st) st = dlcc_nn_check(init_any(&diff_dst, plan->out_dims, x->data_type), err, what);
  if (!st) st = dlcc_nn_check(dnnl_resampling_backward_desc_init(&d, dnnl_resampling_linear, NULL, &diff_src,
                                                                 &diff_dst), err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&plan->bwd_pd, &d, e->attr, e->cpu, plan->fwd_pd), err,
                              what);
  if (!st) st = dlcc_nn_prim_create(&plan->bwd, e, plan->bwd_pd, what, err);
  return st;
}

static dlcc_status plan_for(dlcc_nn_upsample *up, dlcc_nn_engine *e, const dlcc_nn_tensor *x, dlcc_nn_mode mode,
                            upsample_plan **out, dlcc_error *err) {
  *out = NULL;
  const dnnl_memory_desc_t *x_md = dlcc_nn_tensor_md(x);
  if (!x_md) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input tensor is empty", up->name);
  if ((*out = dlcc_nn_plan_cache_find(&up->plans, x_md, mode))) return DLCC_OK;
  upsample_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", up->name);
  dlcc_status st = dlcc_nn_upsample_output_dims(up, x->dims, plan->out_dims, err);
  if (!st) st = create_forward(up, e, x_md, mode, plan, err);
  st = dlcc_nn_plan_cache_keep(&up->plans, x_md, mode, plan, st);
  if (!st) *out = plan;
  return st;
}

/* ---- Forward ------------------------------------------------------------------------------ */

dlcc_status dlcc_nn_upsample_forward(dlcc_nn_upsample *up, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                     dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err) {
  upsample_plan *plan;
  dlcc_status st = plan_for(up, e, x, mode, &plan, err);
  if (!st) st = dlcc_nn_tensor_set_layout(y, e, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_dst_md), err);
  if (st) return st;
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, x->buf.mem}, {DNNL_ARG_DST, y->buf.mem}};
  return dlcc_nn_prim_run(&plan->fwd, e, 2, args, up->name, err);
}

/* ---- Backward ----------------------------------------------------------------------------- */

dlcc_status dlcc_nn_upsample_backward(dlcc_nn_upsample *up, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                      const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err) {
  if (!dx) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: backward needs a dx (the layer has no parameters)", up->name);
  upsample_plan *plan;
  dlcc_status st = plan_for(up, e, x, DLCC_NN_TRAINING, &plan, err);
  if (!st) st = dlcc_nn_check_grad_output(up->name, dy, plan->out_dims, x->dtype, err);
  if (!st && !plan->bwd_pd) st = create_backward(up, e, dlcc_nn_tensor_md(x), plan, err);
  if (st) return st;
  dnnl_memory_t grad_out;
  st = dlcc_nn_convert_run(&plan->dy_for_bwd, e, dy->buf.mem, dlcc_nn_pd_md(plan->bwd_pd, dnnl_query_diff_dst_md),
                           &grad_out, err);
  if (!st) st = dlcc_nn_tensor_set_layout(dx, e, dlcc_nn_pd_md(plan->bwd_pd, dnnl_query_diff_src_md), err);
  if (st) return st;
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, grad_out}, {DNNL_ARG_DIFF_SRC, dx->buf.mem}};
  return dlcc_nn_prim_run(&plan->bwd, e, 2, args, up->name, err);
}
