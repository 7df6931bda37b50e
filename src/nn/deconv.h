/* 2-D transposed convolution ("deconvolution") layer on oneDNN: forward (training and inference) and
 * backward (data, weights, bias), as DeepLabCut's heads upsample by 2. Parameters follow PyTorch's
 * ConvTranspose2d (groups 1): weight [in, out, kh, kw], bias [out]. */
#ifndef DLCC_NN_DECONV_H
#define DLCC_NN_DECONV_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/engine.h"
#include "nn/layer_params.h"
#include "nn/params.h"
#include "nn/plancache.h"
#include "nn/tensor.h"
#include "util/error.h"

/* Sizes are (height, width), with PyTorch's meanings: output row oh receives input row ih through
 * kernel row kh when oh = ih * stride - padding + kh * dilation, and rows outside
 * [0, out) are dropped. output_padding adds rows at the end (PyTorch: 0 <= output_padding <
 * max(stride, dilation)); dlcc also takes it negative, which drops that many rows from the end:
 * how TensorFlow's 'SAME' puts its odd padding at the bottom and right. */
typedef struct dlcc_nn_deconv_spec {
  int64_t in_channels, out_channels;
  int64_t kernel[2], stride[2], padding[2], output_padding[2], dilation[2];
  bool bias;
} dlcc_nn_deconv_spec;

/* A square kernel with PyTorch's defaults: stride 1, padding 0, output_padding 0, dilation 1, bias. */
dlcc_nn_deconv_spec dlcc_nn_deconv_spec_square(int64_t in_channels, int64_t out_channels, int64_t kernel);

/* TensorFlow's conv2d_transpose with padding 'SAME' (slim.conv2d_transpose in DeepLabCut's heads:
 * kernel 3, stride 2), with bias: output = input * stride, and the same values as TensorFlow.
 * TensorFlow pads the equivalent convolution by (span - stride) in all, the odd row at the end, so
 * for kernel 3 stride 2 this is padding 0, output_padding -1. PyTorch cannot say that; its nearest,
 * padding 1 output_padding 1 (DeepLabCut's PyTorch heads), has the same size but every output one
 * row and column later than TensorFlow's. */
dlcc_nn_deconv_spec dlcc_nn_deconv_spec_tf_same(int64_t in_channels, int64_t out_channels, int64_t kernel,
                                                int64_t stride);

typedef struct dlcc_nn_deconv {
  char *name;                /* "pose.part_pred": parameters are "<name>.weight", "<name>.bias" */
  dlcc_nn_deconv_spec spec;
  dlcc_nn_params *params;
  size_t weight, bias;       /* parameter indices (bias only when spec.bias) */
  dlcc_nn_layer_params lp;   /* the parameters as the primitives see them */
  dlcc_nn_plan_cache plans;
} dlcc_nn_deconv;

/* Checks spec and declares "<name>.weight" (and "<name>.bias") in params, which must not be
 * allocated yet. Free with dlcc_nn_deconv_free. */
dlcc_status dlcc_nn_deconv_init(dlcc_nn_deconv *deconv, const char *name, const dlcc_nn_deconv_spec *spec,
                                dlcc_nn_params *params, dlcc_error *err);
void dlcc_nn_deconv_free(dlcc_nn_deconv *deconv);

/* Output dims for input dims (N, C, H, W), PyTorch's rule:
 * out = (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1.
 * Fails naming the layer when C is not in_channels or the output would be empty. */
dlcc_status dlcc_nn_deconv_output_dims(const dlcc_nn_deconv *deconv, const int64_t in[4], int64_t out[4],
                                       dlcc_error *err);

/* y = deconv(x). y takes the layout the primitive chose and x's data type. */
dlcc_status dlcc_nn_deconv_forward(dlcc_nn_deconv *deconv, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                   dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err);

/* From dy = dLoss/dy: writes (overwrites) dLoss/dweight and dLoss/dbias into the gradient buffer,
 * and dx = dLoss/dx unless dx is NULL. x is the input of the training forward. */
dlcc_status dlcc_nn_deconv_backward(dlcc_nn_deconv *deconv, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                    const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err);

/* For the fused inference path (fused.c): one forward-inference descriptor computing several heads
 * of deconv's geometry at once, out_channels outputs in all (their weights side by side along
 * PyTorch's out dimension), with an f32 bias and the output in plain nchw so that each head is a
 * channel range of it. */
dlcc_status dlcc_nn_deconv_joint_inference_pd(const dlcc_nn_deconv *deconv, dlcc_nn_engine *e,
                                              const dnnl_memory_desc_t *x, int64_t out_channels,
                                              dnnl_primitive_desc_t *pd, const char *what, dlcc_error *err);

#endif
