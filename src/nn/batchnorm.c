/* Batch normalization: spec, parameters, the plans cached per input layout, forward and backward
 * side by side. oneDNN normalizes in the input's own layout; scale, shift and statistics are plain
 * [C] f32 arrays, so the primitives read and write the params buffer directly. */
#include "nn/batchnorm.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

/* ---- Spec ---------------------------------------------------------------------------------- */

dlcc_nn_batchnorm_spec dlcc_nn_batchnorm_spec_default(int64_t channels, dlcc_nn_bn_stats stats) {
  dlcc_nn_batchnorm_spec s = {.channels = channels, .eps = 1e-5f, .momentum = 0.1f, .stats = stats};
  return s;
}

static dlcc_status check_spec(const char *name, const dlcc_nn_batchnorm_spec *s, dlcc_error *err) {
  if (s->channels <= 0) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: channels must be positive", name);
  if (!(s->eps > 0)) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: eps must be positive (PyTorch's 1e-5)", name);
  if (!(s->momentum >= 0 && s->momentum <= 1))
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: momentum must be in [0, 1] (PyTorch's 0.1)", name);
  if (s->stats != DLCC_NN_BN_FROZEN && s->stats != DLCC_NN_BN_BATCH && s->stats != DLCC_NN_BN_BATCH_ALWAYS)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: statistics are frozen, batch or batch always", name);
  return DLCC_OK;
}

/* ---- Parameters ---------------------------------------------------------------------------- */

static void destroy_plan(void *plan);

static dlcc_status declare(dlcc_nn_params *params, const char *layer, const char *what, dlcc_nn_param_kind kind,
                           const int64_t *channels, size_t *index, dlcc_error *err) {
  char pname[512];
  snprintf(pname, sizeof pname, "%s.%s", layer, what);
  return dlcc_nn_params_add(params, pname, kind, 1, channels, index, err);
}

dlcc_status dlcc_nn_batchnorm_init(dlcc_nn_batchnorm *bn, const char *name, const dlcc_nn_batchnorm_spec *spec,
                                   dlcc_nn_params *params, dlcc_error *err) {
  memset(bn, 0, sizeof *bn);
  dlcc_nn_plan_cache_init(&bn->plans, destroy_plan);
  dlcc_status st = check_spec(name, spec, err);
  if (st) return st;
  bn->spec = *spec;
  bn->params = params;
  bn->weight = bn->running_mean = bn->running_var = DLCC_NN_BN_ABSENT;
  const int64_t *c = &spec->channels;
  bool running = spec->stats != DLCC_NN_BN_BATCH_ALWAYS;
  if (!spec->shift_only) st = declare(params, name, "weight", DLCC_NN_PARAM_BIAS, c, &bn->weight, err);
  if (!st) st = declare(params, name, "bias", DLCC_NN_PARAM_BIAS, c, &bn->bias, err);
  if (!st && running) st = declare(params, name, "running_mean", DLCC_NN_PARAM_STATE, c, &bn->running_mean, err);
  if (!st && running) st = declare(params, name, "running_var", DLCC_NN_PARAM_STATE, c, &bn->running_var, err);
  if (!st && !(bn->name = strdup(name))) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating %s", name);
  return st;
}

static void destroy_views(dlcc_nn_batchnorm *bn) {
  dnnl_memory_t *views[8] = {&bn->scale,        &bn->shift,       &bn->scale_grad, &bn->shift_grad,
                             &bn->mean_running, &bn->var_running, &bn->mean_batch, &bn->var_batch};
  for (int i = 0; i < 8; i++) {
    if (*views[i]) dnnl_memory_destroy(*views[i]);
    *views[i] = NULL;
  }
}

void dlcc_nn_batchnorm_free(dlcc_nn_batchnorm *bn) {
  dlcc_nn_plan_cache_free(&bn->plans);
  destroy_views(bn);
  free(bn->batch_stats);
  free(bn->name);
  memset(bn, 0, sizeof *bn);
}

static void fill(dlcc_nn_params *p, size_t index, int64_t n, float value) {
  if (index == DLCC_NN_BN_ABSENT) return;
  float *v = dlcc_nn_param_values(p, index);
  for (int64_t i = 0; i < n; i++) v[i] = value;
}

void dlcc_nn_batchnorm_reset(dlcc_nn_batchnorm *bn) {
  dlcc_nn_params *p = bn->params;
  int64_t c = bn->spec.channels;
  fill(p, bn->weight, c, 1);
  fill(p, bn->bias, c, 0);
  fill(p, bn->running_mean, c, 0);
  fill(p, bn->running_var, c, 1);
  dlcc_nn_params_changed(p);
}

/* The values (or, when grads, the gradients) of parameter index, NULL when the layer lacks it. */
static float *param_at(const dlcc_nn_params *p, size_t index, bool grads) {
  if (index == DLCC_NN_BN_ABSENT) return NULL;
  return grads ? dlcc_nn_param_grads(p, index) : dlcc_nn_param_values(p, index);
}

/* Memories over the layer's slices of the params buffers and over its batch statistics (made
 * once; `shift` last, as the mark that all exist; those of absent parameters stay NULL). */
static dlcc_status ensure_views(dlcc_nn_batchnorm *bn, dlcc_nn_engine *e, dlcc_error *err) {
  if (bn->shift) return DLCC_OK;
  destroy_views(bn); /* left over from an earlier attempt that failed */
  const dlcc_nn_params *p = bn->params;
  if (!p->values) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the parameters are not allocated yet", bn->name);
  size_t c = (size_t)bn->spec.channels;
  if (!bn->batch_stats && !(bn->batch_stats = calloc(2 * c, sizeof *bn->batch_stats)))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", bn->name);
  dnnl_memory_desc_t md;
  dnnl_dims_t dims = {bn->spec.channels};
  dlcc_status st = dlcc_nn_check(dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_f32, dnnl_x), err, bn->name);
  struct {
    dnnl_memory_t *mem;
    float *at;
  } views[8] = {
    {&bn->scale, param_at(p, bn->weight, false)},
    {&bn->scale_grad, param_at(p, bn->weight, true)},
    {&bn->shift_grad, param_at(p, bn->bias, true)},
    {&bn->mean_running, param_at(p, bn->running_mean, false)},
    {&bn->var_running, param_at(p, bn->running_var, false)},
    {&bn->mean_batch, bn->batch_stats},
    {&bn->var_batch, bn->batch_stats + c},
    {&bn->shift, param_at(p, bn->bias, false)},
  };
  for (int i = 0; i < 8 && !st; i++)
    if (views[i].at) st = dlcc_nn_check(dnnl_memory_create(views[i].mem, &md, e->cpu, views[i].at), err, bn->name);
  return st;
}

/* ---- Plans: one per input layout and mode --------------------------------------------------- */

typedef struct bn_plan {
  dnnl_primitive_desc_t fwd_pd, bwd_pd; /* backward made at first use */
  dlcc_nn_prim fwd, bwd;
  dlcc_nn_convert dy_for_bwd;
  dlcc_nn_buffer unused_dx;             /* backward's dx when the caller wants none */
  unsigned flags;                       /* oneDNN's normalization flags of this plan */
} bn_plan;

static void destroy_plan(void *opaque) {
  bn_plan *plan = opaque;
  if (plan->fwd_pd) dnnl_primitive_desc_destroy(plan->fwd_pd);
  if (plan->bwd_pd) dnnl_primitive_desc_destroy(plan->bwd_pd);
  dlcc_nn_prim_destroy(&plan->fwd);
  dlcc_nn_prim_destroy(&plan->bwd);
  dlcc_nn_convert_free(&plan->dy_for_bwd);
  dlcc_nn_buffer_free(&plan->unused_dx);
  free(plan);
}

/* Batch statistics in training of a BATCH layer and always in a BATCH_ALWAYS one; every other case
 * normalizes with the running statistics, given to oneDNN as inputs. */
static bool uses_batch_stats(const dlcc_nn_batchnorm *bn, dlcc_nn_mode mode) {
  return bn->spec.stats == DLCC_NN_BN_BATCH_ALWAYS || (bn->spec.stats == DLCC_NN_BN_BATCH && mode == DLCC_NN_TRAINING);
}

/* Batch norm works in the layout it is given: the forward's data descriptor is x's own. */
static dlcc_status create_forward(dlcc_nn_batchnorm *bn, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                  dlcc_nn_mode mode, bn_plan *plan, dlcc_error *err) {
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, bn->name, mode == DLCC_NN_TRAINING ? "forward (training)" : "forward", x);
  plan->flags = (bn->spec.shift_only ? 0u : (unsigned)dnnl_use_scale) | (unsigned)dnnl_use_shift |
                (uses_batch_stats(bn, mode) ? 0u : (unsigned)dnnl_use_global_stats);
  dnnl_batch_normalization_desc_t d;
  dnnl_prop_kind_t prop = mode == DLCC_NN_TRAINING ? dnnl_forward_training : dnnl_forward_inference;
  dlcc_status st = dlcc_nn_check(dnnl_batch_normalization_forward_desc_init(&d, prop, x, bn->spec.eps, plan->flags),
                                 err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&plan->fwd_pd, &d, e->attr, e->cpu, NULL), err, what);
  if (!st) st = dlcc_nn_prim_create(&plan->fwd, e, plan->fwd_pd, what, err);
  return st;
}

/* dnnl_backward: gradients of data, scale and shift. With use_global_stats the statistics are
 * constants; without, oneDNN differentiates through the batch mean and variance. */
static dlcc_status create_backward(dlcc_nn_batchnorm *bn, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                   bn_plan *plan, dlcc_error *err) {
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, bn->name, "backward", x);
  dnnl_batch_normalization_desc_t d;
  dlcc_status st = dlcc_nn_check(
      dnnl_batch_normalization_backward_desc_init(&d, dnnl_backward, x, x, bn->spec.eps, plan->flags), err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&plan->bwd_pd, &d, e->attr, e->cpu, plan->fwd_pd), err, what);
  if (!st) st = dlcc_nn_prim_create(&plan->bwd, e, plan->bwd_pd, what, err);
  return st;
}

static dlcc_status plan_for(dlcc_nn_batchnorm *bn, dlcc_nn_engine *e, const dlcc_nn_tensor *x, dlcc_nn_mode mode,
                            bn_plan **out, dlcc_error *err) {
  *out = NULL;
  const dnnl_memory_desc_t *x_md = dlcc_nn_tensor_md(x);
  if (!x_md) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input tensor is empty", bn->name);
  if (x->dims[1] != bn->spec.channels)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input has %lld channels, the layer takes %lld", bn->name,
                     (long long)x->dims[1], (long long)bn->spec.channels);
  dlcc_status st = ensure_views(bn, e, err);
  if (st) return st;
  if ((*out = dlcc_nn_plan_cache_find(&bn->plans, x_md, mode))) return DLCC_OK;
  bn_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", bn->name);
  st = create_forward(bn, e, x_md, mode, plan, err);
  st = dlcc_nn_plan_cache_keep(&bn->plans, x_md, mode, plan, st);
  if (!st) *out = plan;
  return st;
}

/* ---- Forward ------------------------------------------------------------------------------ */

/* PyTorch's update: the running variance follows the unbiased batch variance. */
static void update_running_stats(dlcc_nn_batchnorm *bn, int64_t values_per_channel) {
  const dlcc_nn_params *p = bn->params;
  float *mean = dlcc_nn_param_values(p, bn->running_mean), *var = dlcc_nn_param_values(p, bn->running_var);
  const float *batch_mean = bn->batch_stats, *batch_var = bn->batch_stats + bn->spec.channels;
  double m = bn->spec.momentum, unbias = (double)values_per_channel / (double)(values_per_channel - 1);
  for (int64_t c = 0; c < bn->spec.channels; c++) {
    mean[c] = (float)((1 - m) * mean[c] + m * batch_mean[c]);
    var[c] = (float)((1 - m) * var[c] + m * batch_var[c] * unbias);
  }
}

dlcc_status dlcc_nn_batchnorm_forward(dlcc_nn_batchnorm *bn, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                      dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err) {
  bn_plan *plan;
  dlcc_status st = plan_for(bn, e, x, mode, &plan, err);
  if (st) return st;
  bool batch = uses_batch_stats(bn, mode);
  int64_t per_channel = x->dims[0] * x->dims[2] * x->dims[3];
  if (bn->spec.stats == DLCC_NN_BN_BATCH && batch && per_channel < 2)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: batch statistics need more than one value per channel, the input "
                     "is %lldx%lldx%lldx%lld (use a larger batch or frozen statistics)", bn->name,
                     (long long)x->dims[0], (long long)x->dims[1], (long long)x->dims[2], (long long)x->dims[3]);
  st = dlcc_nn_tensor_set_layout(y, e, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_dst_md), err);
  if (st) return st;
  dnnl_exec_arg_t args[8] = {
    {DNNL_ARG_SRC, x->buf.mem},
    {DNNL_ARG_DST, y->buf.mem},
    {DNNL_ARG_SHIFT, bn->shift},
    {DNNL_ARG_MEAN, batch ? bn->mean_batch : bn->mean_running},
    {DNNL_ARG_VARIANCE, batch ? bn->var_batch : bn->var_running},
  };
  int n = 5;
  if (bn->scale) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCALE, bn->scale};
  /* the batch statistics (overwritten now) are a training forward's for backward only after this
   * one succeeds in training */
  if (batch) memset(bn->batch_dims, 0, sizeof bn->batch_dims);
  st = dlcc_nn_prim_run(&plan->fwd, e, n, args, bn->name, err);
  if (st || !batch || mode != DLCC_NN_TRAINING) return st;
  memcpy(bn->batch_dims, x->dims, sizeof bn->batch_dims);
  if (bn->spec.stats == DLCC_NN_BN_BATCH) update_running_stats(bn, per_channel);
  return DLCC_OK;
}

/* ---- Backward ----------------------------------------------------------------------------- */

static dlcc_status check_backward_inputs(const dlcc_nn_batchnorm *bn, const dlcc_nn_tensor *x,
                                         const dlcc_nn_tensor *dy, dlcc_error *err) {
  dlcc_status st = dlcc_nn_check_grad_output(bn->name, dy, x->dims, x->dtype, err);
  if (!st && bn->spec.stats != DLCC_NN_BN_FROZEN && memcmp(bn->batch_dims, x->dims, sizeof x->dims) != 0)
    st = dlcc_fail(err, DLCC_ERR_INVALID, "%s: backward goes through the batch statistics of a training forward "
                   "of this input; run that forward first", bn->name);
  return st;
}

dlcc_status dlcc_nn_batchnorm_backward(dlcc_nn_batchnorm *bn, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                       const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err) {
  bn_plan *plan;
  dlcc_status st = plan_for(bn, e, x, DLCC_NN_TRAINING, &plan, err);
  if (!st) st = check_backward_inputs(bn, x, dy, err);
  if (!st && !plan->bwd_pd) st = create_backward(bn, e, dlcc_nn_tensor_md(x), plan, err);
  if (st) return st;
  const_dnnl_primitive_desc_t pd = plan->bwd_pd;
  dnnl_memory_t grad_out;
  const dnnl_memory_desc_t *grad_in_md = dlcc_nn_pd_md(pd, dnnl_query_diff_src_md);
  st = dlcc_nn_convert_run(&plan->dy_for_bwd, e, dy->buf.mem, dlcc_nn_pd_md(pd, dnnl_query_diff_dst_md), &grad_out,
                           err);
  /* oneDNN computes the scale and shift gradients along with dx: without a dx, it goes to scratch. */
  if (!st) st = dx ? dlcc_nn_tensor_set_layout(dx, e, grad_in_md, err) : dlcc_nn_buffer_set(&plan->unused_dx, e,
                                                                                             grad_in_md, err);
  if (st) return st;
  dnnl_memory_t grad_in = dx ? dx->buf.mem : plan->unused_dx.mem;
  bool batch = uses_batch_stats(bn, DLCC_NN_TRAINING);
  dnnl_exec_arg_t args[10] = {
    {DNNL_ARG_SRC, x->buf.mem},
    {DNNL_ARG_DIFF_DST, grad_out},
    {DNNL_ARG_DIFF_SRC, grad_in},
    {DNNL_ARG_MEAN, batch ? bn->mean_batch : bn->mean_running},
    {DNNL_ARG_VARIANCE, batch ? bn->var_batch : bn->var_running},
    {DNNL_ARG_DIFF_SHIFT, bn->shift_grad},
    {DNNL_ARG_SHIFT, bn->shift}, /* unused by the math, but oneDNN 2.6 counts it among the inputs */
  };
  int n = 7;
  if (bn->scale) {
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCALE, bn->scale};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SCALE, bn->scale_grad};
  }
  return dlcc_nn_prim_run(&plan->bwd, e, n, args, bn->name, err);
}
