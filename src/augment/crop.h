/* maDLC's fixed-size training crops (DeepLabCut's TensorFlow multi-animal loader: imgaug's
 * PadToFixedSize, then its keypoint-aware CropToFixedSize): the crop window drawn by crop_sampling
 * and max_shift, the labels moved into it, and the pixels cut out with black where it leaves the image. */
#ifndef DLCC_AUGMENT_CROP_H
#define DLCC_AUGMENT_CROP_H

#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"
#include "targets/scoremap.h"
#include "util/error.h"
#include "util/rng.h"

/* pose_cfg.yaml's crop_sampling: where the crop goes. */
typedef enum dlcc_crop_sampling {
  DLCC_CROP_UNIFORM,   /* anywhere in the image */
  DLCC_CROP_KEYPOINTS, /* placed by a keypoint drawn with equal probability */
  DLCC_CROP_DENSITY,   /* placed by a keypoint drawn in proportion to 1 + its neighbours within
                          0.1 x the shorter side of the (padded) image */
  DLCC_CROP_HYBRID     /* uniform or density, 50 % each, drawn per crop */
} dlcc_crop_sampling;

/* DeepLabCut clamps max_shift to [0, 0.4] without a word; dlcc does the same. */
#define DLCC_CROP_MAX_SHIFT_LIMIT 0.4

/* "uniform", "keypoints", "density", "hybrid" to the enum; any other text (NULL included) is
 * DLCC_ERR_INVALID naming crop_sampling and the four allowed values. */
dlcc_status dlcc_aug_crop_sampling_parse(const char *name, dlcc_crop_sampling *sampling, dlcc_error *err);
const char *dlcc_aug_crop_sampling_name(dlcc_crop_sampling sampling);

/* How to crop: the window's size (the batch's size, DeepLabCut's ceil(crop_size x batch scale)),
 * the sampling and max_shift (a fraction of the window's size). */
typedef struct dlcc_aug_crop_params {
  int width, height;
  dlcc_crop_sampling sampling;
  double max_shift;
} dlcc_aug_crop_params;

/* A drawn window and how it was drawn. Coordinates are the source image's pixels (pixel centres at
 * integers, as everywhere in dlcc): the window's pixel (0, 0) is the source's (x0, y0). A side shorter
 * than the window is padded at random, so x0 or y0 is then <= 0 and the window reaches past the image;
 * a longer side is cut, so the window lies inside the image along it. */
typedef struct dlcc_aug_crop {
  int x0, y0;
  int width, height;               /* the window's size (params' width and height) */
  int image_width, image_height;   /* the source's size: labels off it are dropped too */
  dlcc_crop_sampling used;         /* uniform, keypoints or density: what placed this window */
  bool fell_back;                  /* keypoints/density were asked, no label was on the image: uniform */
  long anchor;                     /* index into the joints of the label that placed the window; -1 */
  double shift_x, shift_y;         /* the drawn shift of the anchor, pixels, |shift| <= max_shift x size */
} dlcc_aug_crop;

/* Draws the window for one image of image_width x image_height with n joints (labels in its pixels; a
 * non-finite x or y means not visible; joints may be NULL when n is 0). Only visible labels on the image
 * (-0.5 < x < width - 0.5, same for y) may place the window; when none is and the sampling needs one,
 * the window is drawn uniformly and fell_back is set, so labels lost to a rotation or a border never
 * stop a batch. Every random number comes from rng, so a seed reproduces the window.
 * Placement follows DeepLabCut: per side, the padding before the image is floor((1 - u) x missing)
 * pixels, u uniform in [0, 1); along a side longer than the window the offset is floor(f x (side -
 * window)) with f uniform in [0, 1), or for an anchor at a (pixel-edge coordinate, padded image)
 * f = clamp((a + shift) / side, 0, 1), shift uniform in +-max_shift x window. The anchor's fraction of the
 * side thus becomes the window's offset fraction; the window is centred on the anchor only mid-image, and
 * near an edge the anchor can land outside its own window (as in DeepLabCut). Fails (DLCC_ERR_INVALID) only for sizes below 1 or a non-finite
 * max_shift. */
dlcc_status dlcc_aug_crop_choose(int image_width, int image_height, const dlcc_joint *joints, size_t n,
                                 const dlcc_aug_crop_params *params, dlcc_rng *rng, dlcc_aug_crop *crop,
                                 dlcc_error *err);

/* Moves the joints into the window's pixels in place and marks not visible (x = y = NAN) every label
 * that is not on both the source image and the window, so no label ever lies off the crop. Positions in
 * the array are kept (a joint keeps its slot and id). Returns how many stay visible. */
size_t dlcc_aug_crop_joints(const dlcc_aug_crop *crop, dlcc_joint *joints, size_t n);

/* Copies the window out of src into dst, which must be crop->width x crop->height (dst->rgb allocated by
 * the caller, not src's); pixels off the source are black (imgaug pads with 0). DLCC_ERR_INVALID when
 * dst or src does not have the sizes the crop was drawn for. */
dlcc_status dlcc_aug_crop_image(const dlcc_aug_crop *crop, const dlcc_image *src, dlcc_image *dst,
                                dlcc_error *err);

#endif
