/* Channel concatenation on oneDNN (torch.cat(xs, dim=1)): forward (training and inference) and
 * backward, which splits dy into one gradient per input (views into dy where its layout allows,
 * else through one plain copy). Inputs share N, H, W and type; each has a fixed channel count. */
#ifndef DLCC_NN_CONCAT_H
#define DLCC_NN_CONCAT_H

#include <stdint.h>

#include "nn/engine.h"
#include "nn/plancache.h"
#include "nn/tensor.h"
#include "util/error.h"

#define DLCC_NN_CONCAT_MAX 8

typedef struct dlcc_nn_concat_spec {
  int inputs;                                  /* 2 to DLCC_NN_CONCAT_MAX */
  int64_t channels[DLCC_NN_CONCAT_MAX];        /* of each input, in output order */
} dlcc_nn_concat_spec;

typedef struct dlcc_nn_concat {
  char *name;  /* "fuse.cat", for messages */
  dlcc_nn_concat_spec spec;
  int64_t out_channels;  /* the sum of spec.channels */
  dlcc_nn_plan_cache plans;
} dlcc_nn_concat;

/* Checks spec (input count in range, channels positive). Free with dlcc_nn_concat_free, also after
 * a failed init. */
dlcc_status dlcc_nn_concat_init(dlcc_nn_concat *cat, const char *name, const dlcc_nn_concat_spec *spec,
                                dlcc_error *err);
void dlcc_nn_concat_free(dlcc_nn_concat *cat);

/* Output dims (N, sum of channels, H, W) for the inputs' dims in[0..spec.inputs); fails naming the
 * layer and the input whose channels differ from the spec or whose N, H, W differ from input 0's. */
dlcc_status dlcc_nn_concat_output_dims(const dlcc_nn_concat *cat, const int64_t (*in)[4], int64_t out[4],
                                       dlcc_error *err);

/* y = cat(x[0], ..., x[n-1]) along channels, in the layout oneDNN chose. Inputs may come in any
 * layouts; a plan is kept per layout of x[0], and inputs whose layout differs from the one the plan
 * was made with are converted. y is distinct from the inputs. */
dlcc_status dlcc_nn_concat_forward(dlcc_nn_concat *cat, dlcc_nn_engine *e, const dlcc_nn_tensor *const *x,
                                   dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err);

/* dx[i] = the channels of dy that came from x[i], each in the layout of the plan's input i (x[i]'s
 * own, usually). dx[i] may be NULL when input i needs no gradient. x gives the plan (the same
 * inputs as the forward). */
dlcc_status dlcc_nn_concat_backward(dlcc_nn_concat *cat, dlcc_nn_engine *e, const dlcc_nn_tensor *const *x,
                                    const dlcc_nn_tensor *dy, dlcc_nn_tensor *const *dx, dlcc_error *err);

#endif
