/* All parameters of a network in one contiguous f32 buffer and all gradients in another (as llm.c
 * does), each parameter a named view with a shape, named as torchvision names them
 * ("conv1.weight", "layer1.0.bn1.running_mean"). The optimizer is then one loop over the buffer and
 * a checkpoint one write. Parameters are plain (PyTorch) layout; layers reorder them into whatever
 * layout their primitives want and track `version` to know when to do it again. */
#ifndef DLCC_NN_PARAMS_H
#define DLCC_NN_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef enum dlcc_nn_param_kind {
  DLCC_NN_PARAM_WEIGHT, /* trained, with weight decay (convolution kernels) */
  DLCC_NN_PARAM_BIAS,   /* trained, no weight decay (biases, batch-norm scale and shift) */
  DLCC_NN_PARAM_STATE   /* not trained and no gradient: batch norm's running statistics */
} dlcc_nn_param_kind;

typedef struct dlcc_nn_param {
  char *name;
  dlcc_nn_param_kind kind;
  int ndims;            /* 1 to 4 */
  int64_t dims[4];      /* PyTorch's shape: conv weights [out, in/groups, kh, kw] */
  size_t offset, count; /* in floats, into values (and grads when trained) */
} dlcc_nn_param;

/* The buffers hold three regions, each parameter 64-byte aligned inside its region:
 *   values[0, decayed)        weights          grads[0, decayed)
 *   values[decayed, trained)  biases           grads[decayed, trained)
 *   values[trained, total)    state            (no gradients)
 * so weight decay applies to the first region, the optimizer to the first two. Gaps between
 * parameters are zero and stay zero under any update (their gradient is zero). */
typedef struct dlcc_nn_params {
  dlcc_nn_param *items; /* in declaration order */
  size_t count, cap;
  float *values, *grads; /* NULL until dlcc_nn_params_allocate */
  size_t decayed, trained, total;
  uint64_t version;      /* bumped by dlcc_nn_params_changed: layers re-reorder their weights */
} dlcc_nn_params;

void dlcc_nn_params_init(dlcc_nn_params *p);
void dlcc_nn_params_free(dlcc_nn_params *p);

/* Declares a parameter (before dlcc_nn_params_allocate); *index identifies it from then on.
 * Fails on a duplicate name or a shape that is not 1 to 4 positive sizes. */
dlcc_status dlcc_nn_params_add(dlcc_nn_params *p, const char *name, dlcc_nn_param_kind kind, int ndims,
                               const int64_t *dims, size_t *index, dlcc_error *err);
/* Allocates both buffers, zero-filled, once all parameters are declared. The buffers never move
 * afterwards, so layers may keep pointers into them. */
dlcc_status dlcc_nn_params_allocate(dlcc_nn_params *p, dlcc_error *err);

float *dlcc_nn_param_values(const dlcc_nn_params *p, size_t index);
/* NULL for state parameters. */
float *dlcc_nn_param_grads(const dlcc_nn_params *p, size_t index);
/* Index of the parameter called name, or -1. */
long dlcc_nn_params_find(const dlcc_nn_params *p, const char *name);

/* Call after writing into values (optimizer step, loading, a test's perturbation): layers convert
 * weights again before their next use. */
void dlcc_nn_params_changed(dlcc_nn_params *p);

/* Loads every parameter from a safetensors file (extra tensors in the file are ignored, as are
 * torchvision's num_batches_tracked). Parameters whose names start with one of optional_prefixes
 * may be absent (new heads on an ImageNet backbone). All or nothing: when any is missing,
 * mis-shaped or not a float type, nothing is changed and the message lists them. *loaded (may
 * be NULL) receives the number of parameters read. */
dlcc_status dlcc_nn_params_load(dlcc_nn_params *p, const char *path, const char *const *optional_prefixes,
                                size_t n_optional, size_t *loaded, dlcc_error *err);
/* Writes every parameter's values (F32, declaration order) and the metadata pairs atomically. */
dlcc_status dlcc_nn_params_save(const dlcc_nn_params *p, const char *path, const char *const *meta,
                                size_t meta_pairs, dlcc_error *err);

#endif
