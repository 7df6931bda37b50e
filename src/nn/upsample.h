/* Bilinear upsampling layer on oneDNN (linear resampling): forward (training and inference) and
 * backward, by an integer factor or to a given size, with PyTorch's align_corners=False meaning
 * (F.interpolate(mode="bilinear")). No parameters. */
#ifndef DLCC_NN_UPSAMPLE_H
#define DLCC_NN_UPSAMPLE_H

#include <stdint.h>

#include "nn/engine.h"
#include "nn/plancache.h"
#include "nn/tensor.h"
#include "util/error.h"

/* Sizes are (height, width). Output row oh samples the input at (oh + 0.5) * in / out - 0.5,
 * clamped to the edge rows: PyTorch's align_corners=False and oneDNN's linear resampling, which
 * agree (tests/test_nn_upsample.c compares them). An integer factor makes in / out exactly
 * 1 / factor, so PyTorch's scale_factor= and size= give the same result. */
typedef struct dlcc_nn_upsample_spec {
  int64_t factor[2];   /* > 0: output = input * factor */
  int64_t multiple[2]; /* > 0 (factor 0): output = input rounded up to a multiple of it */
  int64_t size[2];     /* factor and multiple 0: the output */
} dlcc_nn_upsample_spec;

dlcc_nn_upsample_spec dlcc_nn_upsample_spec_factor(int64_t factor);
dlcc_nn_upsample_spec dlcc_nn_upsample_spec_size(int64_t height, int64_t width);
/* Output m * ceil(input / m): dlcrnet's resize of a feature map to DeepLabCut's size for it. */
dlcc_nn_upsample_spec dlcc_nn_upsample_spec_multiple(int64_t m);

typedef struct dlcc_nn_upsample {
  char *name;
  dlcc_nn_upsample_spec spec;
  dlcc_nn_plan_cache plans;
} dlcc_nn_upsample;

/* Checks spec. Free with dlcc_nn_upsample_free. */
dlcc_status dlcc_nn_upsample_init(dlcc_nn_upsample *up, const char *name, const dlcc_nn_upsample_spec *spec,
                                  dlcc_error *err);
void dlcc_nn_upsample_free(dlcc_nn_upsample *up);

/* Output dims for input dims (N, C, H, W): (N, C, H * factor, W * factor), the rounded-up sizes or
 * (N, C, size). */
dlcc_status dlcc_nn_upsample_output_dims(const dlcc_nn_upsample *up, const int64_t in[4], int64_t out[4],
                                         dlcc_error *err);

/* y = upsample(x). y takes the layout the primitive chose and x's data type. */
dlcc_status dlcc_nn_upsample_forward(dlcc_nn_upsample *up, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                     dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err);

/* dx = dLoss/dx from dy = dLoss/dy (each input pixel collects the gradients of the outputs it
 * was interpolated into, with the same weights). x is the input of the training forward. */
dlcc_status dlcc_nn_upsample_backward(dlcc_nn_upsample *up, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                      const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err);

#endif
