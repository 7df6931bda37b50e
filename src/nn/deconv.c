/* Transposed convolution: shape logic, the plans cached per input layout, forward and backward side
 * by side. Same pattern as conv.c: parameters stay plain f32 in the params buffer and are reordered
 * (and cast) into the primitives' layouts once per params version. */
#include "nn/deconv.h"

#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

/* ---- Spec and shape logic ---------------------------------------------------------------- */

dlcc_nn_deconv_spec dlcc_nn_deconv_spec_square(int64_t in_channels, int64_t out_channels, int64_t kernel) {
  dlcc_nn_deconv_spec s = {
    .in_channels = in_channels, .out_channels = out_channels,
    .kernel = {kernel, kernel}, .stride = {1, 1}, .padding = {0, 0}, .output_padding = {0, 0},
    .dilation = {1, 1}, .bias = true,
  };
  return s;
}

dlcc_nn_deconv_spec dlcc_nn_deconv_spec_tf_same(int64_t in_channels, int64_t out_channels, int64_t kernel,
                                                int64_t stride) {
  dlcc_nn_deconv_spec s = dlcc_nn_deconv_spec_square(in_channels, out_channels, kernel);
  /* TensorFlow pads the convolution this is the gradient of by total = kernel - stride rows, half
   * (rounded down) at the start; a kernel shorter than the stride leaves gaps filled at the end. */
  int64_t total = kernel - stride;
  for (int i = 0; i < 2; i++) {
    s.stride[i] = stride;
    s.padding[i] = total >= 0 ? total / 2 : 0;
    s.output_padding[i] = total >= 0 ? -(total % 2) : -total;
  }
  return s;
}

static int64_t max64(int64_t a, int64_t b) {
  return a > b ? a : b;
}

static dlcc_status check_spec(const char *name, const dlcc_nn_deconv_spec *s, dlcc_error *err) {
  if (s->in_channels <= 0 || s->out_channels <= 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: channels must be positive", name);
  for (int i = 0; i < 2; i++) {
    if (s->kernel[i] <= 0 || s->stride[i] <= 0 || s->dilation[i] <= 0 || s->padding[i] < 0)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: kernel, stride and dilation must be >= 1 and padding >= 0", name);
    int64_t limit = max64(s->stride[i], s->dilation[i]);
    if (s->output_padding[i] >= limit || s->output_padding[i] <= -limit)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: output_padding %lld is out of range: it must be less than "
                       "max(stride, dilation) = %lld in size (negative drops rows at the end)", name,
                       (long long)s->output_padding[i], (long long)limit);
  }
  return DLCC_OK;
}

dlcc_status dlcc_nn_deconv_output_dims(const dlcc_nn_deconv *deconv, const int64_t in[4], int64_t out[4],
                                       dlcc_error *err) {
  const dlcc_nn_deconv_spec *s = &deconv->spec;
  if (in[1] != s->in_channels)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input has %lld channels, the layer takes %lld", deconv->name,
                     (long long)in[1], (long long)s->in_channels);
  out[0] = in[0];
  out[1] = s->out_channels;
  for (int i = 0; i < 2; i++) {
    out[2 + i] = (in[2 + i] - 1) * s->stride[i] - 2 * s->padding[i] + s->dilation[i] * (s->kernel[i] - 1) +
                 s->output_padding[i] + 1;
    if (in[2 + i] <= 0 || out[2 + i] <= 0)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input (%lldx%lld) is too small for padding %lld: the "
                       "output would be empty", deconv->name, (long long)in[2], (long long)in[3],
                       (long long)s->padding[i]);
  }
  return DLCC_OK;
}

/* ---- Parameters ---------------------------------------------------------------------------- */

static void destroy_plan(void *plan);

dlcc_status dlcc_nn_deconv_init(dlcc_nn_deconv *deconv, const char *name, const dlcc_nn_deconv_spec *spec,
                                dlcc_nn_params *params, dlcc_error *err) {
  memset(deconv, 0, sizeof *deconv);
  dlcc_nn_plan_cache_init(&deconv->plans, destroy_plan);
  dlcc_status st = check_spec(name, spec, err);
  if (st) return st;
  deconv->spec = *spec;
  deconv->params = params;
  const int64_t wdims[4] = {spec->in_channels, spec->out_channels, spec->kernel[0], spec->kernel[1]};
  st = dlcc_nn_layer_params_init(&deconv->lp, params, name, wdims, spec->bias ? spec->out_channels : 0, err);
  deconv->weight = deconv->lp.weight;
  deconv->bias = deconv->lp.bias;
  if (!st && !(deconv->name = strdup(name))) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating %s", name);
  return st;
}

void dlcc_nn_deconv_free(dlcc_nn_deconv *deconv) {
  dlcc_nn_plan_cache_free(&deconv->plans);
  dlcc_nn_layer_params_free(&deconv->lp);
  free(deconv->name);
  memset(deconv, 0, sizeof *deconv);
}

/* oneDNN's deconvolution weights are [out, in, kh, kw]; PyTorch stores [in, out, kh, kw], which is
 * oneDNN's iohw order of the same dims, byte for byte. */
static dnnl_status_t init_weights_md(dnnl_memory_desc_t *md, const dlcc_nn_deconv_spec *s, dnnl_data_type_t type,
                                     int plain) {
  dnnl_dims_t dims = {s->out_channels, s->in_channels, s->kernel[0], s->kernel[1]};
  return dnnl_memory_desc_init_by_tag(md, 4, dims, type, plain ? dnnl_iohw : dnnl_format_tag_any);
}

/* The plain views of the parameters (made once, see dlcc_nn_layer_params_ensure_views). */
static dlcc_status ensure_param_views(dlcc_nn_deconv *deconv, dlcc_nn_engine *e, dlcc_error *err) {
  if (deconv->lp.weight_plain) return DLCC_OK;
  dnnl_memory_desc_t weight_md;
  dlcc_status st = dlcc_nn_check(init_weights_md(&weight_md, &deconv->spec, dnnl_f32, 1), err, deconv->name);
  return st ? st : dlcc_nn_layer_params_ensure_views(&deconv->lp, e, &weight_md, deconv->name, err);
}

/* ---- Plans: one per input layout and mode --------------------------------------------------- */

typedef struct deconv_plan {
  dnnl_primitive_desc_t fwd_pd, bwd_data_pd, bwd_weights_pd; /* backward ones made at first use */
  dlcc_nn_prim fwd, bwd_data, bwd_weights;
  dlcc_nn_convert src_for_fwd, src_for_weights, dy_for_data, dy_for_weights;
  int dy_for_data_fresh; /* dy_for_data holds this call's dy (set by backward data) */
  int64_t out_dims[4];
} deconv_plan;

static void destroy_plan(void *opaque) {
  deconv_plan *plan = opaque;
  dnnl_primitive_desc_t pds[3] = {plan->fwd_pd, plan->bwd_data_pd, plan->bwd_weights_pd};
  for (int i = 0; i < 3; i++)
    if (pds[i]) dnnl_primitive_desc_destroy(pds[i]);
  dlcc_nn_prim_destroy(&plan->fwd);
  dlcc_nn_prim_destroy(&plan->bwd_data);
  dlcc_nn_prim_destroy(&plan->bwd_weights);
  dlcc_nn_convert_free(&plan->src_for_fwd);
  dlcc_nn_convert_free(&plan->src_for_weights);
  dlcc_nn_convert_free(&plan->dy_for_data);
  dlcc_nn_convert_free(&plan->dy_for_weights);
  free(plan);
}

/* Everything a deconvolution descriptor needs for one input shape, memory formats "any";
 * gradients of weights and bias are f32 whatever the activations' type. */
typedef struct deconv_descs {
  dnnl_memory_desc_t src, weights, bias, dst, weights_grad;
  dnnl_dims_t strides, dilates, pad_l, pad_r;
} deconv_descs;

static dlcc_status describe(const dlcc_nn_deconv *deconv, const dnnl_memory_desc_t *x, const int64_t out[4],
                            deconv_descs *d, dlcc_error *err) {
  const dlcc_nn_deconv_spec *s = &deconv->spec;
  dnnl_data_type_t type = x->data_type;
  dnnl_dims_t src_dims = {x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
  dnnl_dims_t dst_dims = {out[0], out[1], out[2], out[3]}, bias_dims = {s->out_channels};
  memset(d, 0, sizeof *d);
  for (int i = 0; i < 2; i++) {
    d->strides[i] = s->stride[i];
    d->dilates[i] = s->dilation[i] - 1; /* oneDNN counts the gaps: 0 is dense */
    /* oneDNN crops padding_l rows at the start and padding_r at the end of the full output
     * (in - 1) * stride + span; PyTorch's output_padding is rows given back at the end. */
    d->pad_l[i] = s->padding[i];
    d->pad_r[i] = s->padding[i] - s->output_padding[i];
  }
  dnnl_status_t r = dnnl_memory_desc_init_by_tag(&d->src, 4, src_dims, type, dnnl_format_tag_any);
  if (r == dnnl_success) r = init_weights_md(&d->weights, s, type, 0);
  if (r == dnnl_success) r = init_weights_md(&d->weights_grad, s, dnnl_f32, 0);
  if (r == dnnl_success) r = dnnl_memory_desc_init_by_tag(&d->bias, 1, bias_dims, dnnl_f32, dnnl_x);
  if (r == dnnl_success) r = dnnl_memory_desc_init_by_tag(&d->dst, 4, dst_dims, type, dnnl_format_tag_any);
  return dlcc_nn_check(r, err, deconv->name);
}

static dlcc_status create_pd(dnnl_primitive_desc_t *pd, const dnnl_deconvolution_desc_t *dd, dlcc_nn_engine *e,
                             const_dnnl_primitive_desc_t hint, const char *what, dlcc_error *err) {
  return dlcc_nn_check(dnnl_primitive_desc_create(pd, dd, e->attr, e->cpu, hint), err, what);
}

static dlcc_status create_forward(dlcc_nn_deconv *deconv, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                  dlcc_nn_mode mode, deconv_plan *plan, dlcc_error *err) {
  deconv_descs d;
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, deconv->name, mode == DLCC_NN_TRAINING ? "forward (training)" : "forward", x);
  dlcc_status st = describe(deconv, x, plan->out_dims, &d, err);
  if (st) return st;
  dnnl_deconvolution_desc_t dd;
  dnnl_prop_kind_t prop = mode == DLCC_NN_TRAINING ? dnnl_forward_training : dnnl_forward_inference;
  st = dlcc_nn_check(dnnl_dilated_deconvolution_forward_desc_init(&dd, prop, dnnl_deconvolution_direct, &d.src,
                                                                  &d.weights, deconv->spec.bias ? &d.bias : NULL,
                                                                  &d.dst, d.strides, d.dilates, d.pad_l, d.pad_r),
                     err, what);
  if (!st) st = create_pd(&plan->fwd_pd, &dd, e, NULL, what, err);
  if (!st) st = dlcc_nn_prim_create(&plan->fwd, e, plan->fwd_pd, what, err);
  return st;
}

dlcc_status dlcc_nn_deconv_joint_inference_pd(const dlcc_nn_deconv *deconv, dlcc_nn_engine *e,
                                              const dnnl_memory_desc_t *x, int64_t out_channels,
                                              dnnl_primitive_desc_t *pd, const char *what, dlcc_error *err) {
  dlcc_nn_deconv joint = *deconv;
  joint.spec.out_channels = out_channels;
  joint.spec.bias = true;
  int64_t out[4];
  deconv_descs d;
  dlcc_status st = dlcc_nn_deconv_output_dims(&joint, x->dims, out, err);
  if (!st) st = describe(&joint, x, out, &d, err);
  if (st) return st;
  dnnl_deconvolution_desc_t dd;
  dnnl_status_t r = dnnl_memory_desc_init_by_tag(&d.dst, 4, d.dst.dims, d.dst.data_type, dnnl_nchw);
  if (r == dnnl_success)
    r = dnnl_dilated_deconvolution_forward_desc_init(&dd, dnnl_forward_inference, dnnl_deconvolution_direct, &d.src,
                                                     &d.weights, &d.bias, &d.dst, d.strides, d.dilates, d.pad_l,
                                                     d.pad_r);
  st = dlcc_nn_check(r, err, what);
  return st ? st : create_pd(pd, &dd, e, NULL, what, err);
}

static dlcc_status create_backward_data(dlcc_nn_deconv *deconv, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                        deconv_plan *plan, dlcc_error *err) {
  deconv_descs d;
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, deconv->name, "backward (data)", x);
  dlcc_status st = describe(deconv, x, plan->out_dims, &d, err);
  if (st) return st;
  dnnl_deconvolution_desc_t dd;
  st = dlcc_nn_check(dnnl_dilated_deconvolution_backward_data_desc_init(&dd, dnnl_deconvolution_direct, &d.src,
                                                                        &d.weights, &d.dst, d.strides, d.dilates,
                                                                        d.pad_l, d.pad_r),
                     err, what);
  if (!st) st = create_pd(&plan->bwd_data_pd, &dd, e, plan->fwd_pd, what, err);
  if (!st) st = dlcc_nn_prim_create(&plan->bwd_data, e, plan->bwd_data_pd, what, err);
  return st;
}

static dlcc_status create_backward_weights(dlcc_nn_deconv *deconv, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                           deconv_plan *plan, dlcc_error *err) {
  deconv_descs d;
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, deconv->name, "backward (weights)", x);
  dlcc_status st = describe(deconv, x, plan->out_dims, &d, err);
  if (st) return st;
  dnnl_deconvolution_desc_t dd;
  st = dlcc_nn_check(dnnl_dilated_deconvolution_backward_weights_desc_init(
                         &dd, dnnl_deconvolution_direct, &d.src, &d.weights_grad,
                         deconv->spec.bias ? &d.bias : NULL, &d.dst, d.strides, d.dilates, d.pad_l, d.pad_r),
                     err, what);
  if (!st) st = create_pd(&plan->bwd_weights_pd, &dd, e, plan->fwd_pd, what, err);
  if (!st) st = dlcc_nn_prim_create(&plan->bwd_weights, e, plan->bwd_weights_pd, what, err);
  return st;
}

/* The plan for x in mode: from the cache, or built (forward part only) and cached. */
static dlcc_status plan_for(dlcc_nn_deconv *deconv, dlcc_nn_engine *e, const dlcc_nn_tensor *x, dlcc_nn_mode mode,
                            deconv_plan **out, dlcc_error *err) {
  *out = NULL;
  const dnnl_memory_desc_t *x_md = dlcc_nn_tensor_md(x);
  if (!x_md) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input tensor is empty", deconv->name);
  dlcc_status st = ensure_param_views(deconv, e, err);
  if (st) return st;
  if ((*out = dlcc_nn_plan_cache_find(&deconv->plans, x_md, mode))) return DLCC_OK;
  deconv_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", deconv->name);
  st = dlcc_nn_deconv_output_dims(deconv, x->dims, plan->out_dims, err);
  if (!st) st = create_forward(deconv, e, x_md, mode, plan, err);
  st = dlcc_nn_plan_cache_keep(&deconv->plans, x_md, mode, plan, st);
  if (!st) *out = plan;
  return st;
}

/* ---- Forward ------------------------------------------------------------------------------ */

dlcc_status dlcc_nn_deconv_forward(dlcc_nn_deconv *deconv, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                   dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err) {
  deconv_plan *plan;
  dlcc_status st = plan_for(deconv, e, x, mode, &plan, err);
  if (st) return st;
  dnnl_memory_t src, weights;
  st = dlcc_nn_convert_run(&plan->src_for_fwd, e, x->buf.mem, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_src_md), &src,
                           err);
  if (!st)
    st = dlcc_nn_layer_params_weights_in_layout(&deconv->lp, e, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_weights_md),
                                                &weights, err);
  if (!st) st = dlcc_nn_tensor_set_layout(y, e, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_dst_md), err);
  if (st) return st;
  dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, y->buf.mem}};
  int n = 3;
  if (deconv->spec.bias) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, deconv->lp.bias_plain};
  return dlcc_nn_prim_run(&plan->fwd, e, n, args, deconv->name, err);
}

/* ---- Backward ----------------------------------------------------------------------------- */

/* dx from dy and the weights (in backward-data's layout). */
static dlcc_status backward_data(dlcc_nn_deconv *deconv, dlcc_nn_engine *e, deconv_plan *plan,
                                 const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err) {
  const_dnnl_primitive_desc_t pd = plan->bwd_data_pd;
  dnnl_memory_t weights, grad_out;
  dlcc_status st =
      dlcc_nn_layer_params_weights_in_layout(&deconv->lp, e, dlcc_nn_pd_md(pd, dnnl_query_weights_md), &weights, err);
  if (!st) st = dlcc_nn_convert_run(&plan->dy_for_data, e, dy->buf.mem, dlcc_nn_pd_md(pd, dnnl_query_diff_dst_md),
                                    &grad_out, err);
  if (!st) st = dlcc_nn_tensor_set_layout(dx, e, dlcc_nn_pd_md(pd, dnnl_query_diff_src_md), err);
  if (st) return st;
  plan->dy_for_data_fresh = grad_out == plan->dy_for_data.out.mem;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_DIFF_DST, grad_out}, {DNNL_ARG_WEIGHTS, weights},
                             {DNNL_ARG_DIFF_SRC, dx->buf.mem}};
  return dlcc_nn_prim_run(&plan->bwd_data, e, 3, args, deconv->name, err);
}

/* Memory holding dy in layout want, reusing backward-data's conversion of the same dy (made moments
 * before in this call) when it produced that layout. */
static dlcc_status dy_for_weights(deconv_plan *plan, dlcc_nn_engine *e, const dlcc_nn_tensor *dy,
                                  const dnnl_memory_desc_t *want, dnnl_memory_t *out, dlcc_error *err) {
  if (plan->dy_for_data_fresh && dnnl_memory_desc_equal(dlcc_nn_memory_md(plan->dy_for_data.out.mem), want)) {
    *out = plan->dy_for_data.out.mem;
    return DLCC_OK;
  }
  return dlcc_nn_convert_run(&plan->dy_for_weights, e, dy->buf.mem, want, out, err);
}

/* dweight and dbias into the gradient buffer, through a reorder when the primitive's layout is
 * not plain. */
static dlcc_status backward_weights(dlcc_nn_deconv *deconv, dlcc_nn_engine *e, deconv_plan *plan,
                                    const dlcc_nn_tensor *x, const dlcc_nn_tensor *dy, dlcc_error *err) {
  const_dnnl_primitive_desc_t pd = plan->bwd_weights_pd;
  const dnnl_memory_desc_t *grad_md = dlcc_nn_pd_md(pd, dnnl_query_diff_weights_md);
  dnnl_memory_t src, grad_out, weight_grad;
  dlcc_status st = dlcc_nn_convert_run(&plan->src_for_weights, e, x->buf.mem, dlcc_nn_pd_md(pd, dnnl_query_src_md),
                                       &src, err);
  if (!st) st = dy_for_weights(plan, e, dy, dlcc_nn_pd_md(pd, dnnl_query_diff_dst_md), &grad_out, err);
  if (!st) st = dlcc_nn_layer_params_weight_grad_target(&deconv->lp, e, grad_md, &weight_grad, err);
  if (st) return st;
  dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, grad_out}, {DNNL_ARG_DIFF_WEIGHTS, weight_grad}};
  int n = 3;
  if (deconv->spec.bias) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_BIAS, deconv->lp.bias_grad_plain};
  st = dlcc_nn_prim_run(&plan->bwd_weights, e, n, args, deconv->name, err);
  if (!st) st = dlcc_nn_layer_params_write_weight_grad(&deconv->lp, e, weight_grad, err);
  return st;
}

dlcc_status dlcc_nn_deconv_backward(dlcc_nn_deconv *deconv, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                    const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err) {
  deconv_plan *plan;
  dlcc_status st = plan_for(deconv, e, x, DLCC_NN_TRAINING, &plan, err);
  if (st) return st;
  plan->dy_for_data_fresh = 0;
  st = dlcc_nn_check_grad_output(deconv->name, dy, plan->out_dims, x->dtype, err);
  if (!st && dx && !plan->bwd_data_pd) st = create_backward_data(deconv, e, dlcc_nn_tensor_md(x), plan, err);
  if (!st && !plan->bwd_weights_pd) st = create_backward_weights(deconv, e, dlcc_nn_tensor_md(x), plan, err);
  if (!st && dx) st = backward_data(deconv, e, plan, dy, dx, err);
  if (!st) st = backward_weights(deconv, e, plan, x, dy, err);
  return st;
}
