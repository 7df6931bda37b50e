/* DeepLabCut's training losses (TensorFlow engine) on plain NCHW f32 arrays: sigmoid cross-entropy
 * for score maps, Huber or squared error for location refinement and part affinity fields, each
 * reduced as TensorFlow v1's losses do by default, and the weighted total DeepLabCut minimises. */
#ifndef DLCC_NN_LOSS_H
#define DLCC_NN_LOSS_H

#include <stdbool.h>
#include <stddef.h>

#include "project/posecfg.h"
#include "util/error.h"

/* Every loss below reads `count` predictions, targets and weights in the same order (any order, as
 * long as it is the same: NCHW as the engine exports). weights == NULL means weight 1 everywhere
 * (DeepLabCut's scalar weight 1.0). The reduction is TensorFlow v1's SUM_BY_NONZERO_WEIGHTS:
 *   loss = sum_i w_i * l_i / #{i : w_i != 0},   and 0 (never NaN) when no weight is non-zero.
 * Each returns scale * loss and, when grad is not NULL, writes grad[i] = d(scale * loss)/d pred[i]
 * = scale * w_i * l_i'(pred_i) / #{w != 0} (all zeros when no weight is non-zero); scale is the
 * head's weight in the total (locref_loss_weight...), 1 for the loss alone. Sums are in double. */

/* tf.losses.sigmoid_cross_entropy(targets, logits, weights): per element, in the numerically
 * stable form max(x, 0) - x*z + log(1 + exp(-|x|)) with x the logit and z the target; its
 * derivative is sigmoid(x) - z. */
double dlcc_nn_sigmoid_cross_entropy(const float *logits, const float *targets, const float *weights,
                                     size_t count, double scale, float *grad);

/* Huber loss with delta (DeepLabCut's k) 1, d = pred - target: 0.5 d^2 when |d| < 1, else
 * |d| - 0.5. DeepLabCut 2.0-2.1 used its own huber_loss (nnet/losses.py), DeepLabCut 2.2+
 * tf.losses.huber_loss(delta=1): the same function and the same gradient (d, clipped to [-1, 1]). */
double dlcc_nn_huber_loss(const float *pred, const float *targets, const float *weights, size_t count,
                          double scale, float *grad);

/* tf.losses.mean_squared_error(targets, pred, weights): per element d^2 (no 1/2), gradient 2d. */
double dlcc_nn_squared_error(const float *pred, const float *targets, const float *weights, size_t count,
                             double scale, float *grad);

typedef enum dlcc_nn_regression_loss {
  DLCC_NN_LOSS_HUBER, /* locref_huber_loss / pairwise_huber_loss true */
  DLCC_NN_LOSS_L2     /* ... false: mean squared error */
} dlcc_nn_regression_loss;

/* Huber or squared error, as kind says. */
double dlcc_nn_regression_loss_run(dlcc_nn_regression_loss kind, const float *pred, const float *targets,
                                   const float *weights, size_t count, double scale, float *grad);

/* Which heads contribute to the total and with which weight (pose_cfg keys). */
typedef struct dlcc_nn_loss_spec {
  bool intermediate_supervision; /* part loss also on part_pred_interm (not for EfficientNet) */
  bool location_refinement;
  dlcc_nn_regression_loss locref_kind;
  double locref_loss_weight;
  bool pairwise;                 /* pairwise_predict or partaffinityfield_predict */
  dlcc_nn_regression_loss pairwise_kind;
  double pairwise_loss_weight;
} dlcc_nn_loss_spec;

/* The spec DeepLabCut's BasePoseNet.train derives from pose_cfg (intermediate supervision is off
 * for EfficientNet backbones, as there). */
void dlcc_nn_loss_spec_from_cfg(const dlcc_pose_cfg *cfg, dlcc_nn_loss_spec *spec);

/* One head's arrays: its prediction, the targets and weights built for it (weights NULL: all 1),
 * and where to write d total / d pred (NULL: no gradient wanted, e.g. for validation). */
typedef struct dlcc_nn_head_io {
  const float *pred;
  const float *target;
  const float *weights;
  float *grad;
  size_t count;
} dlcc_nn_head_io;

/* The heads of one batch. part_interm needs only pred, grad and count: it is compared with part's
 * targets and weights, as in DeepLabCut. Heads the spec leaves out are not read. */
typedef struct dlcc_nn_loss_batch {
  dlcc_nn_head_io part, part_interm, locref, pairwise;
} dlcc_nn_loss_batch;

/* Each part as DeepLabCut reports it (locref and pairwise already times their loss weight; 0 for
 * a head the spec leaves out) and their sum. */
typedef struct dlcc_nn_losses {
  double part, part_interm, locref, pairwise, total;
} dlcc_nn_losses;

/* total = part + part_interm + locref_loss_weight * locref + pairwise_loss_weight * pairwise,
 * writing each head's gradient of the total. Fails (naming the head) when an enabled head lacks
 * its arrays or part_interm's size differs from part's, and when a loss is not finite (training
 * diverged). */
dlcc_status dlcc_nn_total_loss(const dlcc_nn_loss_spec *spec, const dlcc_nn_loss_batch *batch,
                               dlcc_nn_losses *out, dlcc_error *err);

#endif
