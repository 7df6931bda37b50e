/* Score-map and location-refinement targets of one training image, as DeepLabCut's TensorFlow
 * engine builds them (pose_imgaug / pose_multianimal_imgaug loaders): a cell is positive for a joint
 * when its centre (x*stride + stride/2, y*stride + stride/2) lies within pos_dist_thresh * scale of
 * the joint; there the locref target is the offset to the joint divided by locref_stdev. */
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
  double stride;             /* 8; must be > 0 */
  double pos_dist_thresh;    /* 17 */
  double scale;              /* the batch's scale factor (global_scale x jitter) */
  double locref_stdev;       /* 7.2801 */
  bool weigh_only_present_joints;
  /* false: the single-animal loader (pose_imgaug). true: maDLC's (pose_multianimal_imgaug), whose
   * locref mask is 1 on every cell of every channel unless weigh_only_present_joints, whose half
   * stride is floor(stride / 2), and whose score map for stride 2 is ceil(side / 16) * 8. */
  bool multianimal;
} dlcc_scoremap_params;

/* Score-map size for an input of width x height: ceil(side / (2 * stride)) * 2 per side (maDLC with
 * stride 2: ceil(side / 16) * 8). Sides <= 0 give 0. */
void dlcc_scoremap_size(const dlcc_scoremap_params *p, int width, int height, int *map_width, int *map_height);

/* Fills the targets of one image for map_height x map_width cells, all arrays plain CHW f32:
 *   scoremap  [num_joints][H][W]      1 in the positive window, else 0
 *   weights   [num_joints][H][W]      1 everywhere, or (weigh_only_present_joints) 1 only on the
 *                                      channels of the joints given, 0 on the others
 *   locref    [2 * num_joints][H][W]  (dx, dy) / locref_stdev in the window, else 0, where
 *                                      (dx, dy) = joint - cell centre
 *   locref_mask [2 * num_joints][H][W] 1 in the window, else 0 (maDLC without
 *                                      weigh_only_present_joints: 1 everywhere)
 * Every array is overwritten entirely; no joints gives an all-background sample. Joints are taken in
 * order, so where the windows of two joints of one id overlap (two animals) the later joint's
 * locref is written. The caller passes only the joints DeepLabCut keeps (visible, strictly inside
 * the augmented image); joints with an id outside [0, num_joints) or a non-finite coordinate are
 * ignored here (also for the weights). Any finite coordinate is safe: windows are clipped to the
 * map. Allocates nothing; the work per joint is proportional to its window, not to the map. */
void dlcc_scoremap_targets_build(const dlcc_scoremap_params *p, const dlcc_joint *joints, size_t n_joints,
                                 int map_width, int map_height, float *scoremap, float *weights, float *locref,
                                 float *locref_mask);

/* maDLC's identity channels (pose_cfg num_idchannel > 0, config.yaml identity: true), which follow
 * the num_joints score-map channels of part_pred. Channel a (a < num_idchannel) is 1 on every cell
 * where any visible joint of animal a has its score-map window (the cells dlcc_scoremap_targets_build
 * sets for that joint), 0 elsewhere: the animal's identity is learnt where its body parts are. Joints
 * come grouped by animal as for the part affinity fields (joints_per_animal[a] consecutive entries
 * of `joints` are animal a's); animals from num_idchannel on (the unique body parts' "single") and
 * animals without joints in this image mark nothing. Weights: 1 on every cell of every identity
 * channel, or 0 everywhere with weigh_only_present_joints (DeepLabCut then weighs only the channels
 * of the joints present, never an identity channel). Arrays [num_idchannel][H][W], overwritten
 * entirely; weights may be NULL. Joints with a bad id or a non-finite coordinate are ignored. */
void dlcc_scoremap_identity_build(const dlcc_scoremap_params *p, int num_idchannel, const dlcc_joint *joints,
                                  const size_t *joints_per_animal, size_t n_animals, int map_width, int map_height,
                                  float *identity, float *weights);

#endif
