/* DeepLabCut's losses as TensorFlow v1 computes them (tf.compat.v1.losses.* with the default
 * reduction SUM_BY_NONZERO_WEIGHTS), with their gradients, in plain loops: oneDNN has no losses and
 * these arrays are small next to the network. */
#include "nn/loss.h"

#include <math.h>
#include <string.h>

/* One element's loss l(x, z) for prediction x and target z; *slope receives dl/dx. */
typedef double (*element_loss)(double x, double z, double *slope);

static double sigmoid_ce_element(double x, double z, double *slope) {
  double e = exp(-fabs(x)); /* in (0, 1]: never overflows */
  *slope = (x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)) - z;
  return fmax(x, 0.0) - x * z + log1p(e);
}

static double huber_element(double x, double z, double *slope) {
  const double k = 1.0; /* tf.losses.huber_loss's delta, DeepLabCut's k: both 1 */
  double d = x - z;
  if (fabs(d) < k) {
    *slope = d;
    return 0.5 * d * d;
  }
  *slope = d > 0 ? k : -k;
  return k * fabs(d) - 0.5 * k * k;
}

static double squared_element(double x, double z, double *slope) {
  double d = x - z;
  *slope = 2.0 * d;
  return d * d;
}

/* TensorFlow's num_present: the weights that are not zero (every element when weights is NULL). */
static size_t nonzero_weights(const float *weights, size_t count) {
  if (!weights) return count;
  size_t n = 0;
  for (size_t i = 0; i < count; i++) n += weights[i] != 0.0f;
  return n;
}

/* sum(w * l) / num_present, 0 when num_present is 0 (tf's div_no_nan), and its gradient. Elements
 * with weight 0 are skipped, so a NaN or infinite prediction there does not leak into the loss. */
static double weighted_mean(element_loss fn, const float *pred, const float *target, const float *weights,
                            size_t count, double scale, float *grad) {
  size_t present = nonzero_weights(weights, count);
  if (present == 0) {
    if (grad) memset(grad, 0, count * sizeof *grad);
    return 0.0;
  }
  double factor = scale / (double)present, sum = 0.0;
  for (size_t i = 0; i < count; i++) {
    double w = weights ? weights[i] : 1.0;
    if (w == 0.0) {
      if (grad) grad[i] = 0.0f;
      continue;
    }
    double slope;
    sum += w * fn(pred[i], target[i], &slope);
    if (grad) grad[i] = (float)(factor * w * slope);
  }
  return sum * factor;
}

double dlcc_nn_sigmoid_cross_entropy(const float *logits, const float *targets, const float *weights,
                                     size_t count, double scale, float *grad) {
  return weighted_mean(sigmoid_ce_element, logits, targets, weights, count, scale, grad);
}

double dlcc_nn_huber_loss(const float *pred, const float *targets, const float *weights, size_t count,
                          double scale, float *grad) {
  return weighted_mean(huber_element, pred, targets, weights, count, scale, grad);
}

double dlcc_nn_squared_error(const float *pred, const float *targets, const float *weights, size_t count,
                             double scale, float *grad) {
  return weighted_mean(squared_element, pred, targets, weights, count, scale, grad);
}

double dlcc_nn_regression_loss_run(dlcc_nn_regression_loss kind, const float *pred, const float *targets,
                                   const float *weights, size_t count, double scale, float *grad) {
  if (kind == DLCC_NN_LOSS_HUBER) return dlcc_nn_huber_loss(pred, targets, weights, count, scale, grad);
  return dlcc_nn_squared_error(pred, targets, weights, count, scale, grad);
}

void dlcc_nn_loss_spec_from_cfg(const dlcc_pose_cfg *cfg, dlcc_nn_loss_spec *spec) {
  bool efficientnet = cfg->net_type && strstr(cfg->net_type, "efficientnet");
  *spec = (dlcc_nn_loss_spec){
      .intermediate_supervision = cfg->intermediate_supervision && !efficientnet,
      .location_refinement = cfg->location_refinement,
      .locref_kind = cfg->locref_huber_loss ? DLCC_NN_LOSS_HUBER : DLCC_NN_LOSS_L2,
      .locref_loss_weight = cfg->locref_loss_weight,
      .pairwise = cfg->pairwise_predict || cfg->partaffinityfield_predict,
      .pairwise_kind = cfg->pairwise_huber_loss ? DLCC_NN_LOSS_HUBER : DLCC_NN_LOSS_L2,
      .pairwise_loss_weight = cfg->pairwise_loss_weight,
  };
}

static dlcc_status check_head(const dlcc_nn_head_io *h, const char *head, bool needs_target, dlcc_error *err) {
  if (!h->pred || h->count == 0 || (needs_target && !h->target))
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "loss: the %s head is enabled but its prediction or targets are missing (give pred, "
                     "target and count, or switch the head off in pose_cfg.yaml)",
                     head);
  return DLCC_OK;
}

static dlcc_status check_batch(const dlcc_nn_loss_spec *spec, const dlcc_nn_loss_batch *b, dlcc_error *err) {
  dlcc_status status = check_head(&b->part, "part_pred", true, err);
  if (!status && spec->intermediate_supervision) {
    status = check_head(&b->part_interm, "part_pred_interm", false, err);
    if (!status && b->part_interm.count != b->part.count)
      status = dlcc_fail(err, DLCC_ERR_INVALID,
                         "loss: part_pred_interm has %zu values but part_pred %zu; both are compared with the "
                         "same score-map targets, so the intermediate head must have part_pred's shape",
                         b->part_interm.count, b->part.count);
  }
  if (!status && spec->location_refinement) status = check_head(&b->locref, "locref", true, err);
  if (!status && spec->pairwise) status = check_head(&b->pairwise, "pairwise_pred", true, err);
  return status;
}

static dlcc_status check_finite(double value, const char *part, dlcc_error *err) {
  if (isfinite(value)) return DLCC_OK;
  return dlcc_fail(err, DLCC_ERR_INVALID,
                   "loss: the %s is %s: training diverged (lower the learning rate in multi_step, or check "
                   "the targets for NaN)",
                   part, isnan(value) ? "NaN" : "infinite");
}

dlcc_status dlcc_nn_total_loss(const dlcc_nn_loss_spec *spec, const dlcc_nn_loss_batch *b, dlcc_nn_losses *out,
                               dlcc_error *err) {
  memset(out, 0, sizeof *out);
  dlcc_status status = check_batch(spec, b, err);
  if (status) return status;
  const dlcc_nn_head_io *p = &b->part;
  out->part = dlcc_nn_sigmoid_cross_entropy(p->pred, p->target, p->weights, p->count, 1.0, p->grad);
  if (spec->intermediate_supervision)
    out->part_interm = dlcc_nn_sigmoid_cross_entropy(b->part_interm.pred, p->target, p->weights, p->count, 1.0,
                                                     b->part_interm.grad);
  const dlcc_nn_head_io *l = &b->locref, *w = &b->pairwise;
  if (spec->location_refinement)
    out->locref = dlcc_nn_regression_loss_run(spec->locref_kind, l->pred, l->target, l->weights, l->count,
                                              spec->locref_loss_weight, l->grad);
  if (spec->pairwise)
    out->pairwise = dlcc_nn_regression_loss_run(spec->pairwise_kind, w->pred, w->target, w->weights, w->count,
                                                spec->pairwise_loss_weight, w->grad);
  out->total = out->part + out->part_interm + out->locref + out->pairwise;
  status = check_finite(out->part, "part loss (score maps)", err);
  if (!status) status = check_finite(out->part_interm, "intermediate part loss", err);
  if (!status) status = check_finite(out->locref, "locref loss", err);
  if (!status) status = check_finite(out->pairwise, "pairwise (PAF) loss", err);
  return status;
}
