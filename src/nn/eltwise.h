/* Elementwise activations on oneDNN: ReLU, ReLU6 (oneDNN's clip to [0, 6]) and sigmoid, forward
 * (training and inference) and backward. One layer type, the activation a field of its spec; no
 * parameters. The output keeps the input's layout, and backward works from the output y. */
#ifndef DLCC_NN_ELTWISE_H
#define DLCC_NN_ELTWISE_H

#include <stdint.h>

#include "nn/engine.h"
#include "nn/plancache.h"
#include "nn/tensor.h"
#include "util/error.h"

typedef enum dlcc_nn_eltwise_kind {
  DLCC_NN_RELU = 0,   /* max(x, 0) */
  DLCC_NN_RELU6 = 1,  /* min(max(x, 0), 6): PyTorch's ReLU6, TensorFlow's relu6 */
  DLCC_NN_SIGMOID = 2 /* 1 / (1 + exp(-x)) */
} dlcc_nn_eltwise_kind;

typedef struct dlcc_nn_eltwise_spec {
  dlcc_nn_eltwise_kind kind;
} dlcc_nn_eltwise_spec;

/* "relu", "relu6", "sigmoid"; NULL for a value outside the enum. */
const char *dlcc_nn_eltwise_kind_name(dlcc_nn_eltwise_kind kind);

typedef struct dlcc_nn_eltwise {
  char *name;  /* "layer1.0.relu", for messages */
  dlcc_nn_eltwise_spec spec;
  dlcc_nn_plan_cache plans;
} dlcc_nn_eltwise;

/* Checks spec (a known kind). Free with dlcc_nn_eltwise_free, also after a failed init. */
dlcc_status dlcc_nn_eltwise_init(dlcc_nn_eltwise *elt, const char *name, const dlcc_nn_eltwise_spec *spec,
                                 dlcc_error *err);
void dlcc_nn_eltwise_free(dlcc_nn_eltwise *elt);

/* Output dims: the input's (N, C, H, W). Never fails; kept for the uniform layer interface. */
dlcc_status dlcc_nn_eltwise_output_dims(const dlcc_nn_eltwise *elt, const int64_t in[4], int64_t out[4],
                                        dlcc_error *err);

/* y = f(x), y in x's layout and type. x and y are distinct tensors. */
dlcc_status dlcc_nn_eltwise_forward(dlcc_nn_eltwise *elt, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                    dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err);

/* dx = f'(x) * dy, computed from the forward's output y (oneDNN's "use_dst_for_bwd" algorithms:
 * ReLU and ReLU6 pass dy where 0 < y (< 6), sigmoid multiplies by y (1 - y)), so x need not be
 * kept. At exactly 0 and 6 the gradient is 0, as in PyTorch and TensorFlow. dx takes y's layout. */
dlcc_status dlcc_nn_eltwise_backward(dlcc_nn_eltwise *elt, dlcc_nn_engine *e, const dlcc_nn_tensor *y,
                                     const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err);

#endif
