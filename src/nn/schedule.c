/* Learning-rate schedules: multi_step through pose_cfg's own lookup, cosine decay as TensorFlow
 * computes it, and where training stops. */
#include "nn/schedule.h"

#include <math.h>
#include <string.h>

dlcc_nn_lr_schedule dlcc_nn_lr_schedule_for(const dlcc_pose_cfg *cfg) {
  if (cfg->net_type && strstr(cfg->net_type, "efficientnet")) return DLCC_NN_LR_COSINE;
  return DLCC_NN_LR_MULTI_STEP;
}

double dlcc_nn_cosine_decay(double lr_init, long decay_steps, double alpha, long step) {
  if (decay_steps < 1) return alpha * lr_init;
  double s = step < 0 ? 0.0 : (double)(step < decay_steps ? step : decay_steps);
  double cosine = 0.5 * (1.0 + cos(M_PI * s / (double)decay_steps));
  return lr_init * ((1.0 - alpha) * cosine + alpha);
}

double dlcc_nn_learning_rate(const dlcc_pose_cfg *cfg, long iteration) {
  if (dlcc_nn_lr_schedule_for(cfg) == DLCC_NN_LR_COSINE)
    return dlcc_nn_cosine_decay(cfg->lr_init, cfg->decay_steps, cfg->alpha_r, iteration);
  return dlcc_pose_cfg_learning_rate(cfg, iteration);
}

long dlcc_nn_last_iteration(const dlcc_pose_cfg *cfg, long max_iters) {
  if (cfg->n_multi_step == 0) return 0;
  long last = cfg->multi_step[cfg->n_multi_step - 1].until_iteration;
  return max_iters > 0 && max_iters < last ? max_iters : last;
}
