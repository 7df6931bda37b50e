/* Single-animal keypoints from the network's outputs: arg-max of the sigmoid score map plus the
 * location-refinement offset, as DeepLabCut's argmax_pose_predict / getposeNP. See predict_single.h
 * for the exact arithmetic and why parts of it stay in f32. */
#include "infer/predict_single.h"

#include <math.h>
#include <stddef.h>

void dlcc_predict_params_init(dlcc_predict_params *p, int num_joints, double stride, bool location_refinement,
                              double locref_stdev) {
  p->num_joints = num_joints;
  p->stride = stride;
  p->location_refinement = location_refinement;
  p->locref_stdev = locref_stdev;
  p->scale_x = p->scale_y = 1.0;
  p->offset_x = p->offset_y = 0.0;
}

static dlcc_status check_params(const dlcc_predict_params *p, const float *locref, int n_images, int map_height,
                                int map_width, dlcc_error *err) {
  if (p->num_joints <= 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot predict keypoints: num_joints is %d; it must be at least 1 "
                     "(pose_cfg.yaml's num_joints)", p->num_joints);
  if (!(p->stride > 0) || !isfinite(p->stride))
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot predict keypoints: stride is %g; it must be a positive number "
                     "(pose_cfg.yaml's stride, 8 for DeepLabCut's networks)", p->stride);
  if (!(p->scale_x > 0) || !(p->scale_y > 0) || !isfinite(p->scale_x) || !isfinite(p->scale_y))
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot predict keypoints: the input scale is %g x %g; both factors "
                     "must be positive (1 when frames are fed at native size)", p->scale_x, p->scale_y);
  if (!isfinite(p->offset_x) || !isfinite(p->offset_y))
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot predict keypoints: the crop offset (%g, %g) is not finite",
                     p->offset_x, p->offset_y);
  if (p->location_refinement && (!locref || !isfinite(p->locref_stdev)))
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot predict keypoints: location_refinement is on but the %s; "
                     "give the network's locref output and a finite locref_stdev, or set location_refinement: "
                     "false in pose_cfg.yaml", locref ? "locref_stdev is not finite" : "locref output is missing");
  if (n_images < 0 || map_height <= 0 || map_width <= 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot predict keypoints from %d images of %d x %d score-map cells; "
                     "the score map must have at least one cell", n_images, map_width, map_height);
  return DLCC_OK;
}

/* TensorFlow's tf.sigmoid on an f32 logit. */
static float sigmoid_f32(float logit) {
  return 1.0f / (1.0f + expf(-logit));
}

/* Index of the largest sigmoid value in one map (first in row-major order on ties), and that value;
 * -1 when the map holds a NaN. */
static ptrdiff_t argmax_sigmoid(const float *logits, size_t cells, float *likelihood) {
  ptrdiff_t best = 0;
  float best_value = -1.0f;
  for (size_t i = 0; i < cells; i++) {
    if (isnan(logits[i])) return -1;
    float value = sigmoid_f32(logits[i]);
    if (value > best_value) {
      best_value = value;
      best = (ptrdiff_t)i;
    }
  }
  *likelihood = best_value;
  return best;
}

/* One joint of one image: pose_out = (x, y, likelihood) in original-image pixels. */
static dlcc_status predict_joint(const dlcc_predict_params *p, const float *logits, const float *dx_map,
                                 const float *dy_map, int map_width, size_t cells, int image, int joint,
                                 double *pose_out, dlcc_error *err) {
  float likelihood;
  ptrdiff_t best = argmax_sigmoid(logits, cells, &likelihood);
  if (best < 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "the network's score map holds NaN (image %d of the batch, joint %d); "
                     "the snapshot is corrupt or its training diverged: analyse with an earlier snapshot or "
                     "retrain with a lower learning rate", image, joint);
  int cx = (int)(best % map_width), cy = (int)(best / map_width);
  double x = cx * p->stride + 0.5 * p->stride, y = cy * p->stride + 0.5 * p->stride;
  if (p->location_refinement) {
    float stdev = (float)p->locref_stdev;
    x += (double)(dx_map[best] * stdev);
    y += (double)(dy_map[best] * stdev);
    if (!isfinite(x) || !isfinite(y))
      return dlcc_fail(err, DLCC_ERR_INVALID, "the network's locref output is not finite at cell (%d, %d) (image %d "
                       "of the batch, joint %d); the snapshot is corrupt or its training diverged: analyse with "
                       "an earlier snapshot or retrain with a lower learning rate", cx, cy, image, joint);
  }
  pose_out[0] = x / p->scale_x + p->offset_x;
  pose_out[1] = y / p->scale_y + p->offset_y;
  pose_out[2] = (double)likelihood;
  return DLCC_OK;
}

dlcc_status dlcc_predict_single(const dlcc_predict_params *p, const float *part_logits, const float *locref,
                                int n_images, int map_height, int map_width, double *pose, dlcc_error *err) {
  dlcc_status st = check_params(p, locref, n_images, map_height, map_width, err);
  if (st) return st;
  size_t cells = (size_t)map_height * (size_t)map_width, joints = (size_t)p->num_joints;
  for (int image = 0; image < n_images; image++) {
    for (int joint = 0; joint < p->num_joints; joint++) {
      const float *logits = part_logits + ((size_t)image * joints + (size_t)joint) * cells;
      const float *dx_map = NULL, *dy_map = NULL;
      if (p->location_refinement) {
        dx_map = locref + ((size_t)image * 2 * joints + 2 * (size_t)joint) * cells;
        dy_map = dx_map + cells;
      }
      double *out = pose + ((size_t)image * joints + (size_t)joint) * 3;
      st = predict_joint(p, logits, dx_map, dy_map, map_width, cells, image, joint, out, err);
      if (st) return st;
    }
  }
  return DLCC_OK;
}
