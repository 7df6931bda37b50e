/* 2-D convolution layer on oneDNN: forward (training and inference) and backward (data, weights,
 * bias) with stride, padding, dilation and groups (depthwise when groups == in_channels), optional
 * bias. Parameters follow PyTorch's Conv2d: weight [out, in/groups, kh, kw], bias [out]. */
#ifndef DLCC_NN_CONV_H
#define DLCC_NN_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/engine.h"
#include "nn/layer_params.h"
#include "nn/params.h"
#include "nn/plancache.h"
#include "nn/tensor.h"
#include "util/error.h"

/* Sizes are (height, width). Dilation has PyTorch's meaning: 1 is a dense kernel. tf_same pads as
 * TensorFlow's padding 'SAME' instead of by `padding` (which must be 0): output ceil(in / stride),
 * the input padded by max((out - 1) * stride + span - in, 0) rows in all, the odd one at the end
 * (span = dilation * (kernel - 1) + 1). It depends on the input size: for a 3x3 stride-2
 * convolution, 0 before and 1 after on an even size, 1 and 1 on an odd one. */
typedef struct dlcc_nn_conv_spec {
  int64_t in_channels, out_channels;
  int64_t kernel[2], stride[2], padding[2], dilation[2];
  int64_t groups;
  bool bias;
  bool tf_same;
} dlcc_nn_conv_spec;

/* A square kernel with PyTorch's defaults: stride 1, padding 0, dilation 1, groups 1, bias. */
dlcc_nn_conv_spec dlcc_nn_conv_spec_square(int64_t in_channels, int64_t out_channels, int64_t kernel);
/* slim.conv2d's geometry: a square kernel, stride, TensorFlow's 'SAME' padding, bias. */
dlcc_nn_conv_spec dlcc_nn_conv_spec_tf_same(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride);

typedef struct dlcc_nn_conv {
  char *name;                /* "layer1.0.conv1": parameters are "<name>.weight", "<name>.bias" */
  dlcc_nn_conv_spec spec;
  dlcc_nn_params *params;
  size_t weight, bias;       /* parameter indices (bias only when spec.bias) */
  dlcc_nn_layer_params lp;   /* the parameters as the primitives see them */
  dlcc_nn_plan_cache plans;
} dlcc_nn_conv;

/* Checks spec and declares "<name>.weight" (and "<name>.bias") in params, which must not be
 * allocated yet. Free with dlcc_nn_conv_free. */
dlcc_status dlcc_nn_conv_init(dlcc_nn_conv *conv, const char *name, const dlcc_nn_conv_spec *spec,
                              dlcc_nn_params *params, dlcc_error *err);
void dlcc_nn_conv_free(dlcc_nn_conv *conv);

/* Output dims for input dims (N, C, H, W), PyTorch's rule:
 * out = floor((in + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1, or ceil(in / stride)
 * with tf_same.
 * Fails naming the layer when C is not in_channels or the input is smaller than the kernel. */
dlcc_status dlcc_nn_conv_output_dims(const dlcc_nn_conv *conv, const int64_t in[4], int64_t out[4], dlcc_error *err);

/* y = conv(x). y takes the layout the primitive chose and x's data type. In training mode the
 * primitive keeps what backward needs; the same x must then be passed to backward. */
dlcc_status dlcc_nn_conv_forward(dlcc_nn_conv *conv, dlcc_nn_engine *e, const dlcc_nn_tensor *x, dlcc_nn_tensor *y,
                                 dlcc_nn_mode mode, dlcc_error *err);

/* From dy = dLoss/dy: writes (overwrites, no accumulation) dLoss/dweight and dLoss/dbias into the
 * gradient buffer, and dx = dLoss/dx unless dx is NULL (the first layer needs none). */
dlcc_status dlcc_nn_conv_backward(dlcc_nn_conv *conv, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                  const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err);

/* For the fused inference path (fused.c), which keeps its own folded copy of the parameters: the
 * plain f32 descriptor matching PyTorch's weight layout, and a forward-inference primitive
 * descriptor for input layout x with attr (post-ops), always with an f32 bias, and the output in
 * layout dst (NULL: oneDNN's choice). `what` prefixes errors. */
dlcc_status dlcc_nn_conv_plain_weights_md(const dlcc_nn_conv *conv, dnnl_memory_desc_t *md, dlcc_error *err);
dlcc_status dlcc_nn_conv_inference_pd(const dlcc_nn_conv *conv, dlcc_nn_engine *e, const dnnl_memory_desc_t *x,
                                      const_dnnl_primitive_attr_t attr, const dnnl_memory_desc_t *dst,
                                      dnnl_primitive_desc_t *pd, const char *what, dlcc_error *err);

#endif
