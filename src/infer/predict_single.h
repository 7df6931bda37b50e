/* Single-animal keypoints from the network's outputs, as DeepLabCut's TensorFlow engine computes them
 * (core/predict.py: extract_cnn_output, argmax_pose_predict, getposeNP): per joint the arg-max cell of
 * the sigmoid score map, refined by the location-refinement offset there, then mapped back to the
 * original image when the input was resized or cropped. */
#ifndef DLCC_INFER_PREDICT_SINGLE_H
#define DLCC_INFER_PREDICT_SINGLE_H

#include <stdbool.h>

#include "util/error.h"

typedef struct dlcc_predict_params {
  int num_joints;
  double stride;              /* pose_cfg stride (8): input pixels per score-map cell */
  bool location_refinement;   /* pose_cfg location_refinement; false: the cell centre alone */
  double locref_stdev;        /* pose_cfg locref_stdev (7.2801) */
  /* Mapping back to the original image: original = input / scale + offset. DeepLabCut feeds frames
   * at native size (scale 1) and writes coordinates relative to config.yaml's crop box (offset 0; the
   * box goes to the metadata and make_labeled_video adds x1, y1 when drawing on the full frame). Its
   * dynamic cropping (GetPoseDynamic) adds the box's corner: offset = (x1, y1). */
  double scale_x, scale_y;    /* input size / original size, > 0 */
  double offset_x, offset_y;
} dlcc_predict_params;

/* Fills p for a network read from pose_cfg: stride, location_refinement, locref_stdev as given,
 * scale 1, offset 0. */
void dlcc_predict_params_init(dlcc_predict_params *p, int num_joints, double stride, bool location_refinement,
                              double locref_stdev);

/* Predicts the pose of each of n_images images from one batch of network outputs, plain NCHW f32:
 *   part_logits [n_images][num_joints][map_height][map_width]   part_pred before the sigmoid
 *   locref      [n_images][2 * num_joints][map_height][map_width]  channel 2j is joint j's dx, 2j+1
 *               its dy (DeepLabCut reshapes [h][w][2J] to [h][w][J][2]); NULL without refinement
 * into pose [n_images][num_joints][3] = (x, y, likelihood), the row layout of an analysis CSV.
 *
 * Per image and joint, as DeepLabCut: the likelihood map is sigmoid(logit) in f32 and the cell is its
 * arg-max, the first in row-major order among equal values (numpy's argmax; ties are common where the
 * f32 sigmoid rounds to 1). The position is (x * stride + stride / 2 + dx', y * stride + stride / 2
 * + dy') with dx' = f32(dx * f32(locref_stdev)) (locref *= locref_stdev on the f32 array), summed in
 * double as argmax_pose_predict does; the likelihood is the f32 sigmoid there, widened to double.
 *
 * Fails, naming the image and joint, on a NaN logit (a diverged or corrupt snapshot: DeepLabCut
 * would write a NaN pose without a word) and on parameters out of range. Allocates nothing. */
dlcc_status dlcc_predict_single(const dlcc_predict_params *p, const float *part_logits, const float *locref,
                                int n_images, int map_height, int map_width, double *pose, dlcc_error *err);

#endif
