/* Convolution: shape logic, the plans cached per input layout, forward and backward side by side.
 * Parameters stay plain f32 in the params buffer; layer_params.c gives the primitives them reordered
 * (and cast to the activations' type) into their chosen layout once per params version. */
#include "nn/conv.h"

#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

/* ---- Spec and shape logic ---------------------------------------------------------------- */

dlcc_nn_conv_spec dlcc_nn_conv_spec_square(int64_t in_channels, int64_t out_channels, int64_t kernel) {
  dlcc_nn_conv_spec s = {
    .in_channels = in_channels, .out_channels = out_channels,
    .kernel = {kernel, kernel}, .stride = {1, 1}, .padding = {0, 0}, .dilation = {1, 1},
    .groups = 1, .bias = true,
  };
  return s;
}

dlcc_nn_conv_spec dlcc_nn_conv_spec_tf_same(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride) {
  dlcc_nn_conv_spec s = dlcc_nn_conv_spec_square(in_channels, out_channels, kernel);
  s.stride[0] = s.stride[1] = stride;
  s.tf_same = true;
  return s;
}

static dlcc_status check_spec(const char *name, const dlcc_nn_conv_spec *s, dlcc_error *err) {
  if (s->in_channels <= 0 || s->out_channels <= 0 || s->groups <= 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: channels and groups must be positive", name);
  if (s->in_channels % s->groups || s->out_channels % s->groups)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: %lld input and %lld output channels do not split into %lld groups",
                     name, (long long)s->in_channels, (long long)s->out_channels, (long long)s->groups);
  for (int i = 0; i < 2; i++)
    if (s->kernel[i] <= 0 || s->stride[i] <= 0 || s->dilation[i] <= 0 || s->padding[i] < 0)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: kernel, stride and dilation must be >= 1 and padding >= 0", name);
  if (s->tf_same && (s->padding[0] || s->padding[1]))
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: TensorFlow's 'SAME' chooses the padding itself; padding must be 0",
                     name);
  return DLCC_OK;
}

/* The first padding row (and column) before the input: `padding`, or TensorFlow's 'SAME' half of
 * the total, rounded down. */
static int64_t padding_before(const dlcc_nn_conv_spec *s, int i, int64_t in, int64_t out) {
  if (!s->tf_same) return s->padding[i];
  int64_t span = s->dilation[i] * (s->kernel[i] - 1) + 1, total = (out - 1) * s->stride[i] + span - in;
  return total > 0 ? total / 2 : 0;
}

dlcc_status dlcc_nn_conv_output_dims(const dlcc_nn_conv *conv, const int64_t in[4], int64_t out[4], dlcc_error *err) {
  const dlcc_nn_conv_spec *s = &conv->spec;
  if (in[1] != s->in_channels)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input has %lld channels, the layer takes %lld", conv->name,
                     (long long)in[1], (long long)s->in_channels);
  out[0] = in[0];
  out[1] = s->out_channels;
  for (int i = 0; i < 2; i++) {
    if (s->tf_same) {
      if (in[2 + i] < 1)
        return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input (%lldx%lld) is empty", conv->name, (long long)in[2],
                         (long long)in[3]);
      out[2 + i] = (in[2 + i] + s->stride[i] - 1) / s->stride[i];
      continue;
    }
    int64_t span = s->dilation[i] * (s->kernel[i] - 1) + 1, room = in[2 + i] + 2 * s->padding[i];
    if (room < span)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input (%lldx%lld) is smaller than the dilated kernel "
                       "(%lld) with padding %lld", conv->name, (long long)in[2], (long long)in[3],
                       (long long)span, (long long)s->padding[i]);
    out[2 + i] = (room - span) / s->stride[i] + 1;
  }
  return DLCC_OK;
}

/* ---- Parameters ---------------------------------------------------------------------------- */

static void destroy_plan(void *plan);

dlcc_status dlcc_nn_conv_init(dlcc_nn_conv *conv, const char *name, const dlcc_nn_conv_spec *spec,
                              dlcc_nn_params *params, dlcc_error *err) {
  memset(conv, 0, sizeof *conv);
  dlcc_nn_plan_cache_init(&conv->plans, destroy_plan);
  dlcc_status st = check_spec(name, spec, err);
  if (st) return st;
  conv->spec = *spec;
  conv->params = params;
  const int64_t wdims[4] = {spec->out_channels, spec->in_channels / spec->groups, spec->kernel[0], spec->kernel[1]};
  st = dlcc_nn_layer_params_init(&conv->lp, params, name, wdims, spec->bias ? spec->out_channels : 0, err);
  conv->weight = conv->lp.weight;
  conv->bias = conv->lp.bias;
  if (!st && !(conv->name = strdup(name))) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating %s", name);
  return st;
}

void dlcc_nn_conv_free(dlcc_nn_conv *conv) {
  dlcc_nn_plan_cache_free(&conv->plans);
  dlcc_nn_layer_params_free(&conv->lp);
  free(conv->name);
  memset(conv, 0, sizeof *conv);
}

/* Weights as oneDNN sees them: [g, out/g, in/g, kh, kw] when grouped, else [out, in, kh, kw]; the
 * plain tags (goihw, oihw) match PyTorch's [out, in/g, kh, kw] byte for byte. */
static dnnl_status_t init_weights_md(dnnl_memory_desc_t *md, const dlcc_nn_conv_spec *s, dnnl_data_type_t type,
                                     int plain) {
  int64_t g = s->groups;
  if (g == 1) {
    dnnl_dims_t dims = {s->out_channels, s->in_channels, s->kernel[0], s->kernel[1]};
    return dnnl_memory_desc_init_by_tag(md, 4, dims, type, plain ? dnnl_oihw : dnnl_format_tag_any);
  }
  dnnl_dims_t dims = {g, s->out_channels / g, s->in_channels / g, s->kernel[0], s->kernel[1]};
  return dnnl_memory_desc_init_by_tag(md, 5, dims, type, plain ? dnnl_goihw : dnnl_format_tag_any);
}

/* The plain views of the parameters (made once, see dlcc_nn_layer_params_ensure_views). */
static dlcc_status ensure_param_views(dlcc_nn_conv *conv, dlcc_nn_engine *e, dlcc_error *err) {
  if (conv->lp.weight_plain) return DLCC_OK;
  dnnl_memory_desc_t weight_md;
  dlcc_status st = dlcc_nn_check(init_weights_md(&weight_md, &conv->spec, dnnl_f32, 1), err, conv->name);
  return st ? st : dlcc_nn_layer_params_ensure_views(&conv->lp, e, &weight_md, conv->name, err);
}

/* ---- Plans: one per input layout and mode --------------------------------------------------- */

typedef struct conv_plan {
  dnnl_primitive_desc_t fwd_pd, bwd_data_pd, bwd_weights_pd; /* backward ones made at first use */
  dlcc_nn_prim fwd, bwd_data, bwd_weights;
  dlcc_nn_convert src_for_fwd, src_for_weights, dy_for_data, dy_for_weights;
  int dy_for_data_fresh; /* dy_for_data holds this call's dy (set by backward data) */
  int64_t out_dims[4];
} conv_plan;

static void destroy_plan(void *opaque) {
  conv_plan *plan = opaque;
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

/* Everything a convolution descriptor needs for one input shape. Memory formats are "any" so that
 * oneDNN picks its preferred (usually blocked) layouts; gradients of weights and bias are f32
 * whatever the activations' type. */
typedef struct conv_descs {
  dnnl_memory_desc_t src, weights, bias, dst, weights_grad;
  dnnl_dims_t strides, dilates, pad_l, pad_r;
} conv_descs;

static dlcc_status describe(const dlcc_nn_conv *conv, const dnnl_memory_desc_t *x, const int64_t out[4],
                            conv_descs *d, dlcc_error *err) {
  const dlcc_nn_conv_spec *s = &conv->spec;
  dnnl_data_type_t type = x->data_type;
  dnnl_dims_t src_dims = {x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
  dnnl_dims_t dst_dims = {out[0], out[1], out[2], out[3]}, bias_dims = {s->out_channels};
  memset(d, 0, sizeof *d);
  for (int i = 0; i < 2; i++) {
    d->strides[i] = s->stride[i];
    d->dilates[i] = s->dilation[i] - 1; /* oneDNN counts the gaps: 0 is dense */
    d->pad_l[i] = padding_before(s, i, x->dims[2 + i], out[2 + i]);
    /* What makes oneDNN's output size equal PyTorch's (or TensorFlow's); negative when the last
     * rows are skipped (a 1x1 stride-2 convolution of an even size). */
    d->pad_r[i] = (out[2 + i] - 1) * s->stride[i] + (s->kernel[i] - 1) * s->dilation[i] + 1 - x->dims[2 + i] -
                  d->pad_l[i];
  }
  dnnl_status_t r = dnnl_memory_desc_init_by_tag(&d->src, 4, src_dims, type, dnnl_format_tag_any);
  if (r == dnnl_success) r = init_weights_md(&d->weights, s, type, 0);
  if (r == dnnl_success) r = init_weights_md(&d->weights_grad, s, dnnl_f32, 0);
  if (r == dnnl_success) r = dnnl_memory_desc_init_by_tag(&d->bias, 1, bias_dims, dnnl_f32, dnnl_x);
  if (r == dnnl_success) r = dnnl_memory_desc_init_by_tag(&d->dst, 4, dst_dims, type, dnnl_format_tag_any);
  return dlcc_nn_check(r, err, conv->name);
}

static dlcc_status create_pd(dnnl_primitive_desc_t *pd, const dnnl_convolution_desc_t *cd, dlcc_nn_engine *e,
                             const_dnnl_primitive_desc_t hint, const char *what, dlcc_error *err) {
  return dlcc_nn_check(dnnl_primitive_desc_create(pd, cd, e->attr, e->cpu, hint), err, what);
}

static dlcc_status create_forward(dlcc_nn_conv *conv, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                  dlcc_nn_mode mode, conv_plan *plan, dlcc_error *err) {
  conv_descs d;
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, conv->name, mode == DLCC_NN_TRAINING ? "forward (training)" : "forward", x);
  dlcc_status st = describe(conv, x, plan->out_dims, &d, err);
  if (st) return st;
  dnnl_convolution_desc_t cd;
  dnnl_prop_kind_t prop = mode == DLCC_NN_TRAINING ? dnnl_forward_training : dnnl_forward_inference;
  st = dlcc_nn_check(dnnl_dilated_convolution_forward_desc_init(&cd, prop, dnnl_convolution_direct, &d.src,
                                                                &d.weights, conv->spec.bias ? &d.bias : NULL,
                                                                &d.dst, d.strides, d.dilates, d.pad_l, d.pad_r),
                     err, what);
  if (!st) st = create_pd(&plan->fwd_pd, &cd, e, NULL, what, err);
  if (!st) st = dlcc_nn_prim_create(&plan->fwd, e, plan->fwd_pd, what, err);
  return st;
}

static dlcc_status create_backward_data(dlcc_nn_conv *conv, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                        conv_plan *plan, dlcc_error *err) {
  conv_descs d;
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, conv->name, "backward (data)", x);
  dlcc_status st = describe(conv, x, plan->out_dims, &d, err);
  if (st) return st;
  dnnl_convolution_desc_t cd;
  st = dlcc_nn_check(dnnl_dilated_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &d.src,
                                                                      &d.weights, &d.dst, d.strides, d.dilates,
                                                                      d.pad_l, d.pad_r),
                     err, what);
  if (!st) st = create_pd(&plan->bwd_data_pd, &cd, e, plan->fwd_pd, what, err);
  if (!st) st = dlcc_nn_prim_create(&plan->bwd_data, e, plan->bwd_data_pd, what, err);
  return st;
}

static dlcc_status create_backward_weights(dlcc_nn_conv *conv, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                           conv_plan *plan, dlcc_error *err) {
  conv_descs d;
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, conv->name, "backward (weights)", x);
  dlcc_status st = describe(conv, x, plan->out_dims, &d, err);
  if (st) return st;
  dnnl_convolution_desc_t cd;
  st = dlcc_nn_check(dnnl_dilated_convolution_backward_weights_desc_init(
                         &cd, dnnl_convolution_direct, &d.src, &d.weights_grad, conv->spec.bias ? &d.bias : NULL,
                         &d.dst, d.strides, d.dilates, d.pad_l, d.pad_r),
                     err, what);
  if (!st) st = create_pd(&plan->bwd_weights_pd, &cd, e, plan->fwd_pd, what, err);
  if (!st) st = dlcc_nn_prim_create(&plan->bwd_weights, e, plan->bwd_weights_pd, what, err);
  return st;
}

/* The plan for x in mode: from the cache, or built (forward part only) and cached. */
static dlcc_status plan_for(dlcc_nn_conv *conv, dlcc_nn_engine *e, const dlcc_nn_tensor *x, dlcc_nn_mode mode,
                            conv_plan **out, dlcc_error *err) {
  *out = NULL;
  const dnnl_memory_desc_t *x_md = dlcc_nn_tensor_md(x);
  if (!x_md) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input tensor is empty", conv->name);
  dlcc_status st = ensure_param_views(conv, e, err);
  if (st) return st;
  if ((*out = dlcc_nn_plan_cache_find(&conv->plans, x_md, mode))) return DLCC_OK;
  conv_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", conv->name);
  st = dlcc_nn_conv_output_dims(conv, x->dims, plan->out_dims, err);
  if (!st) st = create_forward(conv, e, x_md, mode, plan, err);
  st = dlcc_nn_plan_cache_keep(&conv->plans, x_md, mode, plan, st);
  if (!st) *out = plan;
  return st;
}

/* ---- The inference path's descriptor (fused.c) ------------------------------------------- */

dlcc_status dlcc_nn_conv_plain_weights_md(const dlcc_nn_conv *conv, dnnl_memory_desc_t *md, dlcc_error *err) {
  return dlcc_nn_check(init_weights_md(md, &conv->spec, dnnl_f32, 1), err, conv->name);
}

dlcc_status dlcc_nn_conv_inference_pd(const dlcc_nn_conv *conv, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                      const_dnnl_primitive_attr_t attr, const dnnl_memory_desc_t *dst,
                                      dnnl_primitive_desc_t *pd, const char *what, dlcc_error *err) {
  conv_descs d;
  int64_t out[4];
  dlcc_status st = dlcc_nn_conv_output_dims(conv, x->dims, out, err);
  if (!st) st = describe(conv, x, out, &d, err);
  if (st) return st;
  /* Activations in the CPU's channel-blocked layout (nChw16c with AVX-512, nChw8c below): on AVX-512
   * oneDNN would pick nhwc, whose kernels were no faster here, and Winograd wants the blocked one.
   * The image (3 channels) keeps its plain layout and oneDNN picks its kernel. */
  dnnl_format_tag_t blocked = dlcc_nn_cpu_info_get(e).channel_block == 16 ? dnnl_nChw16c : dnnl_nChw8c;
  dnnl_status_t r = dnnl_success;
  if (x->dims[1] > 3) r = dnnl_memory_desc_init_by_tag(&d.src, 4, d.src.dims, d.src.data_type, blocked);
  if (dst) d.dst = *dst;
  else if (r == dnnl_success) r = dnnl_memory_desc_init_by_tag(&d.dst, 4, d.dst.dims, d.dst.data_type, blocked);
  st = dlcc_nn_check(r, err, what);
  /* Winograd F(4x4, 3x3) needs about half the multiplications of a direct 3x3 convolution (ResNet-50
   * at 640x480, batch 1: 2.8 -> 3.5 images/s on an AVX-512 CPU); oneDNN has it for f32 3x3 stride 1
   * only, and its error stays near 1e-6 relative. Elsewhere, or when oneDNN lacks it, direct. */
  const dlcc_nn_conv_spec *s = &conv->spec;
  bool winograd = x->data_type == dnnl_f32 && s->kernel[0] == 3 && s->kernel[1] == 3 && s->stride[0] == 1 &&
                  s->stride[1] == 1 && s->dilation[0] == 1 && s->dilation[1] == 1 && s->groups == 1;
  for (int attempt = winograd ? 0 : 1; !st && attempt < 2; attempt++) {
    dnnl_convolution_desc_t cd;
    dnnl_alg_kind_t alg = attempt == 0 ? dnnl_convolution_winograd : dnnl_convolution_direct;
    r = dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, alg, &d.src, &d.weights, &d.bias,
                                                   &d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
    if (r == dnnl_success) r = dnnl_primitive_desc_create(pd, &cd, attr, e->cpu, NULL);
    if (r == dnnl_success || attempt == 1) st = dlcc_nn_check(r, err, what);
    if (r == dnnl_success) break;
  }
  return st;
}

/* ---- Forward ------------------------------------------------------------------------------ */

dlcc_status dlcc_nn_conv_forward(dlcc_nn_conv *conv, dlcc_nn_engine *e, const dlcc_nn_tensor *x, dlcc_nn_tensor *y,
                                 dlcc_nn_mode mode, dlcc_error *err) {
  conv_plan *plan;
  dlcc_status st = plan_for(conv, e, x, mode, &plan, err);
  if (st) return st;
  dnnl_memory_t src, weights;
  st = dlcc_nn_convert_run(&plan->src_for_fwd, e, x->buf.mem, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_src_md), &src,
                           err);
  if (!st)
    st = dlcc_nn_layer_params_weights_in_layout(&conv->lp, e, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_weights_md),
                                                &weights, err);
  if (!st) st = dlcc_nn_tensor_set_layout(y, e, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_dst_md), err);
  if (st) return st;
  dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, y->buf.mem}};
  int n = 3;
  if (conv->spec.bias) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, conv->lp.bias_plain};
  return dlcc_nn_prim_run(&plan->fwd, e, n, args, conv->name, err);
}

/* ---- Backward ----------------------------------------------------------------------------- */

/* dx from dy and the weights (in backward-data's layout). */
static dlcc_status backward_data(dlcc_nn_conv *conv, dlcc_nn_engine *e, conv_plan *plan, const dlcc_nn_tensor *dy,
                                 dlcc_nn_tensor *dx, dlcc_error *err) {
  const_dnnl_primitive_desc_t pd = plan->bwd_data_pd;
  dnnl_memory_t weights, grad_out;
  dlcc_status st =
      dlcc_nn_layer_params_weights_in_layout(&conv->lp, e, dlcc_nn_pd_md(pd, dnnl_query_weights_md), &weights, err);
  if (!st) st = dlcc_nn_convert_run(&plan->dy_for_data, e, dy->buf.mem, dlcc_nn_pd_md(pd, dnnl_query_diff_dst_md),
                                    &grad_out, err);
  if (!st) st = dlcc_nn_tensor_set_layout(dx, e, dlcc_nn_pd_md(pd, dnnl_query_diff_src_md), err);
  if (st) return st;
  plan->dy_for_data_fresh = grad_out == plan->dy_for_data.out.mem;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_DIFF_DST, grad_out}, {DNNL_ARG_WEIGHTS, weights},
                             {DNNL_ARG_DIFF_SRC, dx->buf.mem}};
  return dlcc_nn_prim_run(&plan->bwd_data, e, 3, args, conv->name, err);
}

/* Memory holding dy in layout want, reusing backward-data's conversion of the same dy (made moments
 * before in this call) when it produced that layout. */
static dlcc_status dy_for_weights(conv_plan *plan, dlcc_nn_engine *e, const dlcc_nn_tensor *dy,
                                  const dnnl_memory_desc_t *want, dnnl_memory_t *out, dlcc_error *err) {
  if (plan->dy_for_data_fresh && dnnl_memory_desc_equal(dlcc_nn_memory_md(plan->dy_for_data.out.mem), want)) {
    *out = plan->dy_for_data.out.mem;
    return DLCC_OK;
  }
  return dlcc_nn_convert_run(&plan->dy_for_weights, e, dy->buf.mem, want, out, err);
}

/* dweight and dbias into the gradient buffer, through a reorder when the primitive's layout is
 * not plain. */
static dlcc_status backward_weights(dlcc_nn_conv *conv, dlcc_nn_engine *e, conv_plan *plan, const dlcc_nn_tensor *x,
                                    const dlcc_nn_tensor *dy, dlcc_error *err) {
  const_dnnl_primitive_desc_t pd = plan->bwd_weights_pd;
  const dnnl_memory_desc_t *grad_md = dlcc_nn_pd_md(pd, dnnl_query_diff_weights_md);
  dnnl_memory_t src, grad_out, weight_grad;
  /* x is converted again rather than taken from forward's copy: nothing guarantees that the last
   * forward of this shape saw this x. */
  dlcc_status st = dlcc_nn_convert_run(&plan->src_for_weights, e, x->buf.mem, dlcc_nn_pd_md(pd, dnnl_query_src_md),
                                       &src, err);
  if (!st) st = dy_for_weights(plan, e, dy, dlcc_nn_pd_md(pd, dnnl_query_diff_dst_md), &grad_out, err);
  if (!st) st = dlcc_nn_layer_params_weight_grad_target(&conv->lp, e, grad_md, &weight_grad, err);
  if (st) return st;
  dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, grad_out}, {DNNL_ARG_DIFF_WEIGHTS, weight_grad}};
  int n = 3;
  if (conv->spec.bias) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_BIAS, conv->lp.bias_grad_plain};
  st = dlcc_nn_prim_run(&plan->bwd_weights, e, n, args, conv->name, err);
  if (!st) st = dlcc_nn_layer_params_write_weight_grad(&conv->lp, e, weight_grad, err);
  return st;
}

dlcc_status dlcc_nn_conv_backward(dlcc_nn_conv *conv, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                  const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err) {
  conv_plan *plan;
  dlcc_status st = plan_for(conv, e, x, DLCC_NN_TRAINING, &plan, err);
  if (st) return st;
  plan->dy_for_data_fresh = 0;
  st = dlcc_nn_check_grad_output(conv->name, dy, plan->out_dims, x->dtype, err);
  if (!st && dx && !plan->bwd_data_pd) st = create_backward_data(conv, e, dlcc_nn_tensor_md(x), plan, err);
  if (!st && !plan->bwd_weights_pd) st = create_backward_weights(conv, e, dlcc_nn_tensor_md(x), plan, err);
  if (!st && dx) st = backward_data(conv, e, plan, dy, dx, err);
  if (!st) st = backward_weights(conv, e, plan, x, dy, err);
  return st;
}
