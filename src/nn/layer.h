/* What every layer says and checks the same way: the description of one of its operations for one
 * input layout (the prefix of oneDNN errors) and the check of an output gradient against the output
 * that backward expects. */
#ifndef DLCC_NN_LAYER_H
#define DLCC_NN_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include <dnnl.h>

#include "nn/tensor.h"
#include "util/error.h"

/* Writes "<layer>: <op> for input <layout>" into buf, e.g.
 * "conv: forward (training) for input 2x16x6x5 bf16 abcd". */
void dlcc_nn_describe_op(char *buf, size_t size, const char *layer, const char *op, const dnnl_memory_desc_t *x);

/* Fails naming the layer when dy is empty or is not out_dims of out_dtype (the output's shape and
 * the input's data type): "conv: the output gradient is 1x4x2x1 f32, the output 1x4x1x1 f32". */
dlcc_status dlcc_nn_check_grad_output(const char *layer, const dlcc_nn_tensor *dy, const int64_t out_dims[4],
                                      dlcc_nn_dtype out_dtype, dlcc_error *err);

#endif
