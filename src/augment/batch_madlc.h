/* One maDLC training batch as DeepLabCut's TensorFlow multi-animal loader makes it
 * (pose_multianimal_imgaug.py, next_batch and build_augmentation_pipeline): one scale per batch sets
 * the crop window, ceil(crop_size x global_scale x jitter) (crop_size itself when that size breaks
 * max_input_size / min_input_size), and the images are not resized: per image a pad to crop_size,
 * the keypoint-aware crop to the window (augment/crop.h), a left-right flip with symmetric_pairs
 * swapped (fliplr), a rotation (probability apply_prob, angle uniform in +-rotation degrees), then
 * the labels that left the image are dropped. Animals stay grouped for the part affinity fields. */
#ifndef DLCC_AUGMENT_BATCH_MADLC_H
#define DLCC_AUGMENT_BATCH_MADLC_H

#include <stddef.h>

#include "augment/batch.h"
#include "augment/crop.h"
#include "project/posecfg.h"
#include "util/error.h"
#include "util/rng.h"

/* What pose_cfg asks of the maDLC augmentation, read once. */
typedef struct dlcc_aug_madlc_plan {
  int crop_width, crop_height;   /* crop_size: the window at scale 1, and the size images are padded to */
  dlcc_crop_sampling sampling;
  double max_shift;
  double rotation;               /* degrees either way; 0: no rotation */
  double rotation_prob;          /* apply_prob (maDLC's loader does not read rotratio) */
  double flip_prob;              /* apply_prob x fliplr's p; 0: no flip */
  int *flip_ids;                 /* num_joints entries: on a flip joint id k becomes flip_ids[k] */
  int n_flip_ids;
} dlcc_aug_madlc_plan;

/* Reads crop_size, crop_sampling, max_shift, rotation, apply_prob, fliplr and symmetric_pairs as
 * DeepLabCut's loader does:
 *   - rotation: an integer n rotates by up to |n| degrees, any other true value by up to 10;
 *   - fliplr: flips only with a non-empty symmetric_pairs; true or a whole number flips with
 *     probability apply_prob, any other true value with apply_prob x 0.5; the pairs are swapped one
 *     after the other, as DeepLabCut swaps them, so ids that appear in two pairs move on.
 * Refused (DLCC_ERR_UNSUPPORTED, naming the key): crop_sampling none (DeepLabCut then feeds whole
 * images whose size does not match its score maps) and pre_resize (not applied by dlcc yet).
 * DLCC_ERR_INVALID naming the key: crop_size below 1, an unknown crop_sampling, symmetric_pairs that
 * are not pairs of joint ids in [0, num_joints). Free with dlcc_aug_madlc_plan_free. */
dlcc_status dlcc_aug_madlc_plan_from_cfg(const dlcc_pose_cfg *cfg, dlcc_aug_madlc_plan *plan, dlcc_error *err);

void dlcc_aug_madlc_plan_free(dlcc_aug_madlc_plan *plan);

/* Fills batch from the n sources (their joints grouped by animal: joints_per_animal, n_animals; no
 * groups means one animal) under cfg and plan, every random choice from rng. The batch's size is the
 * window's; batch->scale and every sample's scale are mean(window / crop_size), the scale of
 * DeepLabCut's targets; each sample's joints stay grouped (joints_per_animal, one entry per source
 * slot, empty ones included), only those on the final image, none ever off it. Samples also record
 * the window (crop_x0, crop_y0: where its pixel (0, 0) lies in the source image), the flip and the
 * rotation. Fails (DLCC_ERR_INVALID) on sources without pixels or whose groups do not add up to
 * n_joints. */
dlcc_status dlcc_aug_madlc_batch_make(dlcc_aug_batch *batch, const dlcc_pose_cfg *cfg, const dlcc_aug_madlc_plan *plan,
                                      const dlcc_aug_source *sources, size_t n, dlcc_rng *rng, dlcc_error *err);

#endif
