/* The learning rate at each training iteration, as DeepLabCut's TensorFlow engine sets it: multi_step
 * (piecewise constant) for most networks, cosine decay for EfficientNets; and the iteration training
 * ends at. Iterations count from 0, as in DeepLabCut's train.py. */
#ifndef DLCC_NN_SCHEDULE_H
#define DLCC_NN_SCHEDULE_H

#include "project/posecfg.h"

typedef enum dlcc_nn_lr_schedule {
  DLCC_NN_LR_MULTI_STEP, /* multi_step: [[rate, last iteration], ...] */
  DLCC_NN_LR_COSINE      /* tf.compat.v1.train.cosine_decay(lr_init, step, decay_steps, alpha_r) */
} dlcc_nn_lr_schedule;

/* DeepLabCut's get_optimizer: cosine decay (with Adam) for EfficientNet backbones, multi_step
 * otherwise. */
dlcc_nn_lr_schedule dlcc_nn_lr_schedule_for(const dlcc_pose_cfg *cfg);

/* tf.compat.v1.train.cosine_decay: with s = min(step, decay_steps) (step below 0 counts as 0),
 *   lr_init * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha),
 * so lr_init at step 0, falling to alpha * lr_init at decay_steps and staying there. decay_steps
 * below 1 (pose_cfg refuses it) gives alpha * lr_init. */
double dlcc_nn_cosine_decay(double lr_init, long decay_steps, double alpha, long step);

/* The rate at iteration under cfg's schedule: multi_step as dlcc_pose_cfg_learning_rate (a step's
 * rate applies up to and including its last iteration, DeepLabCut's LearningRate.get_lr), or
 * cosine decay of (lr_init, decay_steps, alpha_r) at step = iteration. */
double dlcc_nn_learning_rate(const dlcc_pose_cfg *cfg, long iteration);

/* The last iteration trained: multi_step's last iteration, or max_iters when it is > 0 and smaller
 * (DeepLabCut's train(maxiters=...)). DeepLabCut runs iterations 0 to this one inclusive and
 * writes its final snapshot there, for every schedule. 0 when multi_step is empty. */
long dlcc_nn_last_iteration(const dlcc_pose_cfg *cfg, long max_iters);

#endif
