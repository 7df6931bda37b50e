/* A weight layer's parameters as its oneDNN primitives see them (convolution and transposed
 * convolution): plain memories over the layer's slices of the params value and gradient buffers,
 * the weights converted into the layouts the primitives chose (redone when params->version moves),
 * and the weight gradient brought back from a primitive's layout into the gradient buffer. */
#ifndef DLCC_NN_LAYER_PARAMS_H
#define DLCC_NN_LAYER_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include <dnnl.h>

#include "nn/engine.h"
#include "nn/params.h"
#include "nn/tensor.h"
#include "util/error.h"

/* The weights in one layout a primitive chose, converted again whenever params->version moves. */
typedef struct dlcc_nn_weights_copy {
  dlcc_nn_convert convert;
  dnnl_memory_t mem;  /* NULL: slot unused */
  uint64_t version;
} dlcc_nn_weights_copy;

typedef struct dlcc_nn_layer_params {
  dlcc_nn_params *params;
  size_t weight, bias;    /* parameter indices (bias only when bias_channels > 0) */
  int64_t bias_channels;  /* 0: no bias */
  /* Plain views of the parameter and gradient buffers, made by ensure_views. */
  dnnl_memory_t weight_plain, weight_grad_plain, bias_plain, bias_grad_plain;
  dlcc_nn_weights_copy weights[2]; /* usually forward's and backward-data's layouts */
  int weights_next;                /* slot replaced next when a third layout appears */
  dlcc_nn_buffer weight_grad;      /* weight gradient in backward-weights' layout, when not plain */
  dlcc_nn_reorder weight_grad_out; /* ... and its reorder into the gradient buffer */
} dlcc_nn_layer_params;

/* Declares "<name>.weight" (weight_dims, PyTorch's shape) and, when bias_channels > 0,
 * "<name>.bias" in params, which must not be allocated yet. lp is zeroed first, so
 * dlcc_nn_layer_params_free is safe after a failure. */
dlcc_status dlcc_nn_layer_params_init(dlcc_nn_layer_params *lp, dlcc_nn_params *params, const char *name,
                                      const int64_t weight_dims[4], int64_t bias_channels, dlcc_error *err);
void dlcc_nn_layer_params_free(dlcc_nn_layer_params *lp);

/* Makes the plain views (once; after a failure the next call starts again). weight_md is the plain
 * f32 descriptor whose bytes match PyTorch's weight layout; the bias is plain f32 [bias_channels].
 * Fails naming the layer when the parameters are not allocated yet. */
dlcc_status dlcc_nn_layer_params_ensure_views(dlcc_nn_layer_params *lp, dlcc_nn_engine *e,
                                              const dnnl_memory_desc_t *weight_md, const char *name,
                                              dlcc_error *err);

/* Sets *out to the weights in layout want: the plain view itself when want is plain f32, else a
 * converted copy, redone only when the parameters changed since. */
dlcc_status dlcc_nn_layer_params_weights_in_layout(dlcc_nn_layer_params *lp, dlcc_nn_engine *e,
                                                   const dnnl_memory_desc_t *want, dnnl_memory_t *out,
                                                   dlcc_error *err);

/* Sets *out to where a backward-weights primitive writes the weight gradient in layout grad_md:
 * the gradient buffer's plain view when that is the layout, else a buffer of the layer. */
dlcc_status dlcc_nn_layer_params_weight_grad_target(dlcc_nn_layer_params *lp, dlcc_nn_engine *e,
                                                    const dnnl_memory_desc_t *grad_md, dnnl_memory_t *out,
                                                    dlcc_error *err);
/* After the primitive wrote into target (from weight_grad_target): copies it into the gradient
 * buffer (overwriting) unless it already is the buffer's plain view. */
dlcc_status dlcc_nn_layer_params_write_weight_grad(dlcc_nn_layer_params *lp, dlcc_nn_engine *e,
                                                   dnnl_memory_t target, dlcc_error *err);

#endif
