/* A weight layer's parameters for its primitives: plain views over the params buffers, the weights
 * cached in up to two primitive layouts per params version, the weight gradient reordered back.
 * Parameters stay plain f32 (the master copy); only the copies here take other layouts and types. */
#include "nn/layer_params.h"

#include <stdio.h>
#include <string.h>

dlcc_status dlcc_nn_layer_params_init(dlcc_nn_layer_params *lp, dlcc_nn_params *params, const char *name,
                                      const int64_t weight_dims[4], int64_t bias_channels, dlcc_error *err) {
  memset(lp, 0, sizeof *lp);
  lp->params = params;
  lp->bias_channels = bias_channels;
  char pname[512];
  snprintf(pname, sizeof pname, "%s.weight", name);
  dlcc_status st = dlcc_nn_params_add(params, pname, DLCC_NN_PARAM_WEIGHT, 4, weight_dims, &lp->weight, err);
  if (!st && bias_channels > 0) {
    snprintf(pname, sizeof pname, "%s.bias", name);
    st = dlcc_nn_params_add(params, pname, DLCC_NN_PARAM_BIAS, 1, &bias_channels, &lp->bias, err);
  }
  return st;
}

void dlcc_nn_layer_params_free(dlcc_nn_layer_params *lp) {
  dnnl_memory_t views[4] = {lp->weight_plain, lp->weight_grad_plain, lp->bias_plain, lp->bias_grad_plain};
  for (int i = 0; i < 4; i++)
    if (views[i]) dnnl_memory_destroy(views[i]);
  for (int i = 0; i < 2; i++) dlcc_nn_convert_free(&lp->weights[i].convert);
  dlcc_nn_buffer_free(&lp->weight_grad);
  dlcc_nn_reorder_free(&lp->weight_grad_out);
  memset(lp, 0, sizeof *lp);
}

static dlcc_status view(dnnl_memory_t *mem, dlcc_nn_engine *e, const dnnl_memory_desc_t *md, float *at,
                        const char *name, dlcc_error *err) {
  return dlcc_nn_check(dnnl_memory_create(mem, md, e->cpu, at), err, name);
}

dlcc_status dlcc_nn_layer_params_ensure_views(dlcc_nn_layer_params *lp, dlcc_nn_engine *e,
                                              const dnnl_memory_desc_t *weight_md, const char *name,
                                              dlcc_error *err) {
  if (lp->weight_plain) return DLCC_OK;
  dnnl_memory_t *partial[3] = {&lp->weight_grad_plain, &lp->bias_plain, &lp->bias_grad_plain};
  for (int i = 0; i < 3; i++) { /* left over from an earlier attempt that failed */
    if (*partial[i]) dnnl_memory_destroy(*partial[i]);
    *partial[i] = NULL;
  }
  const dlcc_nn_params *p = lp->params;
  if (!p->values) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the parameters are not allocated yet", name);
  dnnl_memory_desc_t bias_md;
  dnnl_dims_t bias_dims = {lp->bias_channels};
  dlcc_status st = DLCC_OK;
  if (lp->bias_channels > 0)
    st = dlcc_nn_check(dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x), err, name);
  if (!st) st = view(&lp->weight_grad_plain, e, weight_md, dlcc_nn_param_grads(p, lp->weight), name, err);
  if (!st && lp->bias_channels > 0) {
    st = view(&lp->bias_plain, e, &bias_md, dlcc_nn_param_values(p, lp->bias), name, err);
    if (!st) st = view(&lp->bias_grad_plain, e, &bias_md, dlcc_nn_param_grads(p, lp->bias), name, err);
  }
  /* weight_plain last: it marks the views as made. */
  if (!st) st = view(&lp->weight_plain, e, weight_md, dlcc_nn_param_values(p, lp->weight), name, err);
  return st;
}

dlcc_status dlcc_nn_layer_params_weights_in_layout(dlcc_nn_layer_params *lp, dlcc_nn_engine *e,
                                                   const dnnl_memory_desc_t *want, dnnl_memory_t *out,
                                                   dlcc_error *err) {
  if (dnnl_memory_desc_equal(want, dlcc_nn_memory_md(lp->weight_plain))) {
    *out = lp->weight_plain;
    return DLCC_OK;
  }
  dlcc_nn_weights_copy *slot = NULL;
  for (int i = 0; i < 2 && !slot; i++)
    if (lp->weights[i].mem && dnnl_memory_desc_equal(dlcc_nn_memory_md(lp->weights[i].mem), want))
      slot = &lp->weights[i];
  if (slot && slot->version == lp->params->version) {
    *out = slot->mem;
    return DLCC_OK;
  }
  if (!slot) {
    slot = &lp->weights[lp->weights_next];
    lp->weights_next = 1 - lp->weights_next;
  }
  dlcc_status st = dlcc_nn_convert_run(&slot->convert, e, lp->weight_plain, want, &slot->mem, err);
  slot->version = st ? 0 : lp->params->version;
  *out = slot->mem;
  return st;
}

dlcc_status dlcc_nn_layer_params_weight_grad_target(dlcc_nn_layer_params *lp, dlcc_nn_engine *e,
                                                    const dnnl_memory_desc_t *grad_md, dnnl_memory_t *out,
                                                    dlcc_error *err) {
  *out = lp->weight_grad_plain;
  if (dnnl_memory_desc_equal(grad_md, dlcc_nn_memory_md(lp->weight_grad_plain))) return DLCC_OK;
  dlcc_status st = dlcc_nn_buffer_set(&lp->weight_grad, e, grad_md, err);
  *out = lp->weight_grad.mem;
  return st;
}

dlcc_status dlcc_nn_layer_params_write_weight_grad(dlcc_nn_layer_params *lp, dlcc_nn_engine *e,
                                                   dnnl_memory_t target, dlcc_error *err) {
  if (target == lp->weight_grad_plain) return DLCC_OK;
  return dlcc_nn_reorder_run(&lp->weight_grad_out, e, target, lp->weight_grad_plain, err);
}
