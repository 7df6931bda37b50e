/* Score-map and location-refinement targets of one training image, as DeepLabCut's TensorFlow
 * engine builds them (pose_dataset / imgaug loaders): a cell is positive for a joint when its centre
 * (x*stride + stride/2, y*stride + stride/2) lies within pos_dist_thresh * scale of the joint;
 * there the locref target is the offset to the joint divided by locref_stdev. */
#ifndef DLCC_TARGETS_SCOREMAP_H
#define DLCC_TARGETS_SCOREMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct dlcc_joint {
  int id;         /* index into all_joints */
  double x, y;    /* in input pixels of the (scaled, augmented) image */
} dlcc_joint;

typedef struct dlcc_scoremap_params {
  int num_joints;
  double stride;             /* 8 */
  double pos_dist_thresh;    /* 17 */
  double scale;              /* the batch's scale factor (global_scale x jitter) */
  double locref_stdev;       /* 7.2801 */
  bool weigh_only_present_joints;
} dlcc_scoremap_params;

/* Score-map size for an input of width x height: ceil(side / (2 * stride)) * 2 per side. */
void dlcc_scoremap_size(const dlcc_scoremap_params *p, int width, int height, int *map_width, int *map_height);

/* Fills the targets of one image for map_height x map_width cells, all arrays plain CHW f32:
 *   scoremap  [num_joints][H][W]      1 in the positive window, else 0
 *   weights   [num_joints][H][W]      1 everywhere, or only for present joints' channels
 *   locref    [2 * num_joints][H][W]  (dx, dy) / locref_stdev in the window, else 0
 *   locref_mask [2 * num_joints][H][W] 1 in the window
 * Every array is overwritten entirely. Joints with an id outside [0, num_joints) are ignored (the
 * caller validates ids). */
void dlcc_scoremap_targets_build(const dlcc_scoremap_params *p, const dlcc_joint *joints, size_t n_joints,
                                 int map_width, int map_height, float *scoremap, float *weights, float *locref,
                                 float *locref_mask);

#endif
