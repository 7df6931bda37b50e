/* The optimizers DeepLabCut's TensorFlow engine trains with, TensorFlow v1's semantics exactly:
 * MomentumOptimizer (momentum 0.9) for optimizer "sgd", AdamOptimizer for "adam", with weight decay
 * (the gradient of l2_regularizer) on convolution weights when pose_cfg's regularize is true. One
 * loop over the trained region of the parameter buffer. */
#ifndef DLCC_NN_OPTIMIZER_H
#define DLCC_NN_OPTIMIZER_H

#include <stddef.h>

#include "nn/params.h"
#include "project/posecfg.h"
#include "util/error.h"

/* DeepLabCut's train.py builds MomentumOptimizer(learning_rate, momentum=0.9); not a pose_cfg key. */
#define DLCC_NN_SGD_MOMENTUM 0.9
/* tf.compat.v1.train.AdamOptimizer's defaults, which DeepLabCut keeps. */
#define DLCC_NN_ADAM_BETA1 0.9
#define DLCC_NN_ADAM_BETA2 0.999
#define DLCC_NN_ADAM_EPSILON 1e-8

typedef enum dlcc_nn_optimizer_kind {
  /* TF MomentumOptimizer: accum = momentum * accum + grad; var -= lr * accum. The same as
   * torch.optim.SGD(momentum=0.9, dampening=0, nesterov=False): torch's first step sets its buffer
   * to the gradient, which is TF's accumulator starting at zero; both apply the current rate to the
   * whole accumulator, so a multi_step rate change scales past momentum at once (unlike the form
   * v = momentum * v - lr * grad of some other frameworks, where old steps keep their old rate). */
  DLCC_NN_OPT_SGD,
  /* TF AdamOptimizer: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; at step t (1 first)
   * lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); var -= lr_t m / (sqrt(v) + eps). torch.optim.Adam
   * adds eps after the bias correction instead (var -= lr m_hat / (sqrt(v_hat) + eps)), so TF's
   * update is torch's with eps / sqrt(1 - b2^t): different when gradients are tiny (|g| ~ eps). */
  DLCC_NN_OPT_ADAM
} dlcc_nn_optimizer_kind;

/* The optimizer's state for one parameter buffer. */
typedef struct dlcc_nn_optimizer {
  dlcc_nn_optimizer_kind kind;
  double weight_decay; /* added as weight_decay * w to the gradient of weights; 0 when not regularize */
  size_t size;         /* floats in m and v: the params' trained region, [0, trained) */
  float *m;            /* SGD: TF's "Momentum" accumulator; Adam: the first moment */
  float *v;            /* Adam: the second moment; NULL for SGD */
  long step;           /* steps taken; Adam's t is step after the update */
} dlcc_nn_optimizer;

/* "sgd" or "adam" for kind (as pose_cfg spells it). */
const char *dlcc_nn_optimizer_name(dlcc_nn_optimizer_kind kind);

/* Allocates zeroed state for the trained region of p (allocated first). weight_decay >= 0. Free
 * with dlcc_nn_optimizer_free, also after a failure. */
dlcc_status dlcc_nn_optimizer_init(dlcc_nn_optimizer *opt, dlcc_nn_optimizer_kind kind, double weight_decay,
                                   const dlcc_nn_params *p, dlcc_error *err);
void dlcc_nn_optimizer_free(dlcc_nn_optimizer *opt);

/* The optimizer pose_cfg asks for, as DeepLabCut's train.py picks it: cfg->optimizer ("sgd" or
 * "adam"; EfficientNet backbones always Adam), weight decay cfg->weight_decay when cfg->regularize,
 * else 0. DeepLabCut itself ignores regularize (its pose_net.py builds the total loss without the
 * regularisation losses: the line that would add them is commented out), and regularize is false by
 * default, so by default the two agree. */
dlcc_status dlcc_nn_optimizer_init_from_cfg(dlcc_nn_optimizer *opt, const dlcc_pose_cfg *cfg, const dlcc_nn_params *p,
                                            dlcc_error *err);

/* One update of values[0, trained) from grads[0, trained) at learning rate lr (state parameters are
 * not touched), then dlcc_nn_params_changed. Weight decay applies to [0, decayed) only:
 * slim.l2_regularizer(wd) adds wd * sum(w^2) / 2 to the loss, so wd * w to the gradient. grads
 * itself is left as it was. Fails when p is not the buffer the optimizer was made for (size) or lr
 * is negative or not finite. */
dlcc_status dlcc_nn_optimizer_step(dlcc_nn_optimizer *opt, dlcc_nn_params *p, double lr, dlcc_error *err);

/* The regularisation term wd * sum(w^2) / 2 over [0, decayed), for reporting next to the losses. */
double dlcc_nn_weight_decay_loss(const dlcc_nn_params *p, double weight_decay);

#endif
