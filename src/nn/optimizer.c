/* SGD with momentum and Adam as TensorFlow v1 applies them (ApplyMomentum, ApplyAdam), over the
 * trained region of one parameter buffer, with L2 weight decay folded into the gradient of the
 * decayed region. */
#include "nn/optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *dlcc_nn_optimizer_name(dlcc_nn_optimizer_kind kind) {
  return kind == DLCC_NN_OPT_ADAM ? "adam" : "sgd";
}

static float *zeroed(size_t n) {
  return calloc(n ? n : 1, sizeof(float));
}

dlcc_status dlcc_nn_optimizer_init(dlcc_nn_optimizer *opt, dlcc_nn_optimizer_kind kind, double weight_decay,
                                   const dlcc_nn_params *p, dlcc_error *err) {
  memset(opt, 0, sizeof *opt);
  if (!p->values) return dlcc_fail(err, DLCC_ERR_INVALID, "optimizer: the parameters are not allocated yet");
  if (!(weight_decay >= 0) || !isfinite(weight_decay))
    return dlcc_fail(err, DLCC_ERR_INVALID, "optimizer: weight_decay is %g; it must be a number >= 0", weight_decay);
  opt->kind = kind;
  opt->weight_decay = weight_decay;
  opt->size = p->trained;
  opt->m = zeroed(opt->size);
  if (kind == DLCC_NN_OPT_ADAM) opt->v = zeroed(opt->size);
  if (!opt->m || (kind == DLCC_NN_OPT_ADAM && !opt->v))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "optimizer: out of memory for the state of %zu parameters", opt->size);
  return DLCC_OK;
}

void dlcc_nn_optimizer_free(dlcc_nn_optimizer *opt) {
  free(opt->m);
  free(opt->v);
  memset(opt, 0, sizeof *opt);
}

dlcc_status dlcc_nn_optimizer_init_from_cfg(dlcc_nn_optimizer *opt, const dlcc_pose_cfg *cfg, const dlcc_nn_params *p,
                                            dlcc_error *err) {
  memset(opt, 0, sizeof *opt);
  const char *name = cfg->optimizer ? cfg->optimizer : "sgd";
  dlcc_nn_optimizer_kind kind;
  if (cfg->net_type && strstr(cfg->net_type, "efficientnet"))
    kind = DLCC_NN_OPT_ADAM; /* DeepLabCut's get_optimizer switches EfficientNets to Adam */
  else if (strcmp(name, "sgd") == 0)
    kind = DLCC_NN_OPT_SGD;
  else if (strcmp(name, "adam") == 0)
    kind = DLCC_NN_OPT_ADAM;
  else
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: optimizer is '%s'; DeepLabCut knows sgd and adam",
                     cfg->source_path ? cfg->source_path : "pose_cfg.yaml", name);
  return dlcc_nn_optimizer_init(opt, kind, cfg->regularize ? cfg->weight_decay : 0.0, p, err);
}

/* ApplyMomentum (use_nesterov false) on [begin, end), gradient plus wd * value. */
static void sgd_range(float *value, const float *grad, float *accum, size_t begin, size_t end, float wd, float lr) {
  const float momentum = (float)DLCC_NN_SGD_MOMENTUM;
  for (size_t i = begin; i < end; i++) {
    float g = grad[i] + wd * value[i];
    accum[i] = momentum * accum[i] + g;
    value[i] -= lr * accum[i];
  }
}

/* ApplyAdam on [begin, end) with TF's bias-corrected rate lr_t. */
static void adam_range(float *value, const float *grad, float *m, float *v, size_t begin, size_t end, float wd,
                       float lr_t) {
  /* 1 - beta from the decimal constants: 1 - 0.999f would be 0.00099998713, 1.3e-5 off */
  const float b1 = (float)DLCC_NN_ADAM_BETA1, b2 = (float)DLCC_NN_ADAM_BETA2, eps = (float)DLCC_NN_ADAM_EPSILON;
  const float c1 = (float)(1.0 - DLCC_NN_ADAM_BETA1), c2 = (float)(1.0 - DLCC_NN_ADAM_BETA2);
  for (size_t i = begin; i < end; i++) {
    float g = grad[i] + wd * value[i];
    m[i] = b1 * m[i] + c1 * g;
    v[i] = b2 * v[i] + c2 * g * g;
    value[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
  }
}

dlcc_status dlcc_nn_optimizer_step(dlcc_nn_optimizer *opt, dlcc_nn_params *p, double lr, dlcc_error *err) {
  if (!p->values || p->trained != opt->size)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "optimizer: made for %zu trained parameters, given a network with %zu; create the optimizer "
                     "for this network",
                     opt->size, p->values ? p->trained : 0);
  if (!(lr >= 0) || !isfinite(lr))
    return dlcc_fail(err, DLCC_ERR_INVALID, "optimizer: learning rate %g; it must be a number >= 0", lr);
  float wd = (float)opt->weight_decay;
  opt->step++;
  if (opt->kind == DLCC_NN_OPT_SGD) {
    sgd_range(p->values, p->grads, opt->m, 0, p->decayed, wd, (float)lr);
    sgd_range(p->values, p->grads, opt->m, p->decayed, p->trained, 0.0f, (float)lr);
  } else {
    double t = (double)opt->step;
    float lr_t = (float)(lr * sqrt(1.0 - pow(DLCC_NN_ADAM_BETA2, t)) / (1.0 - pow(DLCC_NN_ADAM_BETA1, t)));
    adam_range(p->values, p->grads, opt->m, opt->v, 0, p->decayed, wd, lr_t);
    adam_range(p->values, p->grads, opt->m, opt->v, p->decayed, p->trained, 0.0f, lr_t);
  }
  dlcc_nn_params_changed(p);
  return DLCC_OK;
}

double dlcc_nn_weight_decay_loss(const dlcc_nn_params *p, double weight_decay) {
  if (!p->values || weight_decay == 0.0) return 0.0;
  double sum = 0.0;
  for (size_t i = 0; i < p->decayed; i++) sum += (double)p->values[i] * p->values[i];
  return weight_decay * sum / 2.0;
}
