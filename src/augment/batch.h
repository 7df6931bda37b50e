/* One training batch as DeepLabCut's TensorFlow imgaug loader makes it (pose_imgaug.py, get_batch and
 * build_augmentation_pipeline): one scale per batch, global_scale x uniform(scale_jitter_lo,
 * scale_jitter_up); the batch's size is an image's size at that scale (rounded up) and must pass
 * max_input_size / min_input_size; per image a mirror (probability apply_prob) and a rotation
 * (probability rotratio, angle uniform in +-rotation degrees), both at the image's own size, then a
 * resize to the batch's size. Joints that leave the image are dropped. */
#ifndef DLCC_AUGMENT_BATCH_H
#define DLCC_AUGMENT_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "augment/resize.h"
#include "image/image.h"
#include "project/posecfg.h"
#include "targets/scoremap.h"
#include "util/error.h"
#include "util/rng.h"

/* Tries at finding a scale and a size-giving image that pass the input-size bounds before giving up
 * (DeepLabCut's get_batch counts n_tries from 10 down to 2). */
enum { DLCC_AUG_SIZE_TRIES = 9 };

/* One frame going into a batch. */
typedef struct dlcc_aug_source {
  const dlcc_image *image;
  const dlcc_joint *joints;   /* labels in the image's pixels; a non-finite x or y means not visible */
  size_t n_joints;
  /* maDLC: joints_per_animal[a] consecutive entries of `joints` are animal a's (n_animals slots, the
   * training set's); the single-animal batch ignores these (NULL, 0) */
  const size_t *joints_per_animal;
  size_t n_animals;
  const char *name;           /* for messages (e.g. labeled-data/m4s1/img0012.png); NULL: its index */
} dlcc_aug_source;

/* What became of one frame. */
typedef struct dlcc_aug_sample {
  dlcc_joint *joints;         /* the joints still inside the image, in the batch's pixels */
  size_t n_joints;
  size_t joints_capacity;
  /* maDLC: how many of `joints` (consecutive) are each animal's, n_animals = the source's slots;
   * 0 animals in a single-animal batch */
  size_t *joints_per_animal;
  size_t n_animals;
  size_t animals_capacity;
  double scale;               /* min(batch width / image width, batch height / image height): the scale
                                 DeepLabCut's targets use for this frame (pos_dist_thresh * scale) */
  bool mirrored;
  double rotation;            /* degrees turned (clockwise on screen); 0 when not rotated */
  int crop_x0, crop_y0;       /* maDLC: the crop window's pixel (0, 0) in the source image's pixels */
} dlcc_aug_sample;

/* A batch and the scratch reused from one batch to the next. Zero-initialise; free with
 * dlcc_aug_batch_free. One batch object per thread. */
typedef struct dlcc_aug_batch {
  size_t n;                   /* frames */
  int width, height;          /* every frame's size in the batch */
  double scale;               /* the batch's drawn scale: global_scale x jitter */
  float *pixels;              /* n x 3 x height x width, RGB, 0..255 (mean_pixel not subtracted) */
  dlcc_aug_sample *samples;   /* n */

  size_t pixels_capacity, samples_capacity;
  dlcc_image flipped, rotated, resized, padded, cropped;
  size_t flipped_capacity, rotated_capacity, resized_capacity, padded_capacity, cropped_capacity;
  dlcc_aug_resizer resizer;
} dlcc_aug_batch;

/* Fills batch from the n sources under cfg, every random choice from rng. When no drawn scale brings
 * the drawn size-giving image within max_input_size / min_input_size after DLCC_AUG_SIZE_TRIES draws,
 * fails with DLCC_ERR_INVALID naming the image, its size and which of max_input_size,
 * min_input_size and global_scale to change in the pose_cfg.yaml. The sources are not modified and
 * need not outlive the call. */
dlcc_status dlcc_aug_batch_make(dlcc_aug_batch *batch, const dlcc_pose_cfg *cfg, const dlcc_aug_source *sources,
                                size_t n, dlcc_rng *rng, dlcc_error *err);

void dlcc_aug_batch_free(dlcc_aug_batch *batch);

#endif
