/* Batch normalization layer on oneDNN: forward (training and inference) and backward (data, scale,
 * shift), with frozen statistics (as DeepLabCut's TensorFlow engine trains its ResNets), batch
 * statistics in training (running statistics updated as PyTorch does) or batch statistics always.
 * Parameters follow PyTorch's BatchNorm2d: weight, bias (trained), running_mean, running_var (state,
 * no gradient); without scale (slim's default) there is no weight, without running statistics no
 * running_mean/running_var. */
#ifndef DLCC_NN_BATCHNORM_H
#define DLCC_NN_BATCHNORM_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/engine.h"
#include "nn/params.h"
#include "nn/plancache.h"
#include "nn/tensor.h"
#include "util/error.h"

/* Which statistics normalize. Inference uses the running ones, except with BATCH_ALWAYS.
 * FROZEN: running_mean/running_var, never updated; backward treats them as constants (TensorFlow's
 *   is_training=False, PyTorch's eval-mode BatchNorm with trainable weight and bias). DeepLabCut's
 *   ResNets train like this.
 * BATCH: the batch's mean and (biased) variance, and backward goes through them; each training
 *   forward also updates running = (1 - momentum) * running + momentum * batch, with the unbiased
 *   variance (PyTorch's train-mode BatchNorm2d; TensorFlow's decay is 1 - momentum).
 * BATCH_ALWAYS: the batch's statistics in inference too, and no running statistics at all
 *   (PyTorch's track_running_stats=False). tf-slim's batch_norm left at its default
 *   is_training=True does this: DeepLabCut's dlcrnet decoder, whose moving averages TensorFlow
 *   would update only through UPDATE_OPS, which DeepLabCut never runs, and never reads. */
typedef enum dlcc_nn_bn_stats {
  DLCC_NN_BN_FROZEN = 0,
  DLCC_NN_BN_BATCH = 1,
  DLCC_NN_BN_BATCH_ALWAYS = 2
} dlcc_nn_bn_stats;

/* eps: PyTorch's default is 1e-5, and the networks should use it: torchvision's ResNets and
 * MobileNetV2 (where dlcc's ImageNet weights come from) were trained with it, and TF-slim's
 * resnet_arg_scope (DeepLabCut's TensorFlow ResNets) sets 1e-5 too. DeepLabCut's TensorFlow
 * MobileNetV2 left slim's default 0.001 with its TF-slim checkpoints; use it only to reproduce such
 * a checkpoint. momentum: PyTorch's 0.1; DeepLabCut's TensorFlow MobileNetV2 has decay 0.997,
 * i.e. momentum 0.003. */
typedef struct dlcc_nn_batchnorm_spec {
  int64_t channels;
  float eps;
  float momentum;
  dlcc_nn_bn_stats stats;
  /* No weight (gamma = 1): y = (x - mean) / sqrt(var + eps) + bias, tf-slim's batch_norm default
   * scale=False. */
  bool shift_only;
} dlcc_nn_batchnorm_spec;

/* PyTorch's defaults: eps 1e-5, momentum 0.1, with scale. */
dlcc_nn_batchnorm_spec dlcc_nn_batchnorm_spec_default(int64_t channels, dlcc_nn_bn_stats stats);

/* The index of a parameter the layer does not have (weight when shift_only, the running statistics
 * with BATCH_ALWAYS). */
#define DLCC_NN_BN_ABSENT SIZE_MAX

typedef struct dlcc_nn_batchnorm {
  char *name;                /* "layer1.0.bn1": parameters "<name>.weight", ".bias", ".running_mean", ... */
  dlcc_nn_batchnorm_spec spec;
  dlcc_nn_params *params;
  size_t weight, bias, running_mean, running_var; /* parameter indices, or DLCC_NN_BN_ABSENT */
  /* Plain [C] f32 views of the parameter and gradient buffers, made at first use. */
  dnnl_memory_t scale, shift, scale_grad, shift_grad, mean_running, var_running;
  /* BATCH, BATCH_ALWAYS: the statistics of the last training forward, which backward goes through. */
  dnnl_memory_t mean_batch, var_batch;
  float *batch_stats;        /* mean then variance, 2 x channels */
  int64_t batch_dims[4];     /* input dims of that forward (0 before the first) */
  dlcc_nn_plan_cache plans;
} dlcc_nn_batchnorm;

/* Checks spec and declares "<name>.weight" (unless shift_only), "<name>.bias" (trained, no weight
 * decay), "<name>.running_mean" and "<name>.running_var" (state; not with BATCH_ALWAYS) in params,
 * which must not be allocated yet. After allocation the caller sets weight to 1 and running_var to
 * 1 (PyTorch's initial values) or loads them. Free with dlcc_nn_batchnorm_free. */
dlcc_status dlcc_nn_batchnorm_init(dlcc_nn_batchnorm *bn, const char *name, const dlcc_nn_batchnorm_spec *spec,
                                   dlcc_nn_params *params, dlcc_error *err);
void dlcc_nn_batchnorm_free(dlcc_nn_batchnorm *bn);

/* Sets weight = 1, bias = 0, running_mean = 0, running_var = 1 (PyTorch's reset_parameters), those
 * the layer has. */
void dlcc_nn_batchnorm_reset(dlcc_nn_batchnorm *bn);

/* y = weight * (x - mean) / sqrt(var + eps) + bias per channel. y takes x's layout and type. A
 * training forward of a BATCH layer updates running_mean and running_var in the params buffer
 * (nothing caches them, so dlcc_nn_params_changed is not needed) and fails when a channel has a
 * single value (N * H * W == 1), like PyTorch; a BATCH_ALWAYS layer then gives bias, as TensorFlow
 * does (a zero variance). */
dlcc_status dlcc_nn_batchnorm_forward(dlcc_nn_batchnorm *bn, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                      dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err);

/* From dy: writes (overwrites) dLoss/dweight (when there is one) and dLoss/dbias into the gradient
 * buffer, and dx unless dx is NULL. x is the input of the last training forward (a BATCH or
 * BATCH_ALWAYS layer goes through that forward's statistics). */
dlcc_status dlcc_nn_batchnorm_backward(dlcc_nn_batchnorm *bn, dlcc_nn_engine *e, const dlcc_nn_tensor *x,
                                       const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err);

#endif
