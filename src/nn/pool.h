/* Max pooling on oneDNN, as PyTorch's MaxPool2d (ceil_mode off, no dilation): forward (training and
 * inference) and backward. Training keeps oneDNN's workspace (where each maximum came from) in the
 * plan of the input shape; backward routes each output gradient to that position. No parameters. */
#ifndef DLCC_NN_POOL_H
#define DLCC_NN_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/engine.h"
#include "nn/plancache.h"
#include "nn/tensor.h"
#include "util/error.h"

/* Sizes are (height, width). Padding counts as -infinity (never the maximum), as in PyTorch. */
typedef struct dlcc_nn_pool_spec {
  int64_t kernel[2], stride[2], padding[2];
} dlcc_nn_pool_spec;

/* A square window: ResNet's stem is dlcc_nn_pool_spec_square(3, 2, 1). */
dlcc_nn_pool_spec dlcc_nn_pool_spec_square(int64_t kernel, int64_t stride, int64_t padding);

typedef struct dlcc_nn_pool {
  char *name;  /* "maxpool", for messages */
  dlcc_nn_pool_spec spec;
  dlcc_nn_plan_cache plans;
} dlcc_nn_pool;

/* Checks spec: kernel and stride >= 1, 0 <= padding <= kernel / 2 (PyTorch's rule). Free with
 * dlcc_nn_pool_free, also after a failed init. */
dlcc_status dlcc_nn_pool_init(dlcc_nn_pool *pool, const char *name, const dlcc_nn_pool_spec *spec, dlcc_error *err);
void dlcc_nn_pool_free(dlcc_nn_pool *pool);

/* Output dims for input dims (N, C, H, W), PyTorch's rule:
 * out = floor((in + 2 * padding - kernel) / stride) + 1.
 * Fails naming the layer when the padded input is smaller than the window. */
dlcc_status dlcc_nn_pool_output_dims(const dlcc_nn_pool *pool, const int64_t in[4], int64_t out[4], dlcc_error *err);

/* y = maxpool(x), y in the layout oneDNN chose (x's) and x's type. In training mode the positions
 * of the maxima are kept (in the plan of x's shape) for backward. */
dlcc_status dlcc_nn_pool_forward(dlcc_nn_pool *pool, dlcc_nn_engine *e, const dlcc_nn_tensor *x, dlcc_nn_tensor *y,
                                 dlcc_nn_mode mode, dlcc_error *err);

/* dx = dLoss/dx from dy: each dy goes to the position its maximum came from (summed where windows
 * overlap). Uses the positions of the last training forward of x's shape, so it follows the
 * training forward of the same x; fails when no training forward of that shape came before. */
dlcc_status dlcc_nn_pool_backward(dlcc_nn_pool *pool, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                  const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err);

#endif
