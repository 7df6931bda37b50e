/* Rotation of a training image about its centre, as imgaug's Affine(rotate=...) does it in DeepLabCut's
 * loader: same image size, bilinear sampling, constant black (0) where the source has no pixel. The
 * matching map for keypoints (pixel centres at integer coordinates) keeps a label on its feature. */
#ifndef DLCC_AUGMENT_AFFINE_H
#define DLCC_AUGMENT_AFFINE_H

#include "image/image.h"

typedef struct dlcc_aug_rotation {
  double cos_a, sin_a;  /* positive angles turn clockwise on screen (y points down), as imgaug */
  double cx, cy;        /* the image centre ((width - 1) / 2, (height - 1) / 2) */
} dlcc_aug_rotation;

/* The rotation by `degrees` about the centre of a width x height image. Multiples of 90 degrees are
 * exact (no rounding error in the sine and cosine). */
dlcc_aug_rotation dlcc_aug_rotation_about_centre(double degrees, int width, int height);

/* Moves the point (*x, *y) as the image content under it moves. */
void dlcc_aug_rotation_apply(const dlcc_aug_rotation *rot, double *x, double *y);

/* Writes the rotated src into dst, which has src's size (dst->rgb allocated by the caller, not src's). */
void dlcc_aug_rotate_image(const dlcc_aug_rotation *rot, const dlcc_image *src, dlcc_image *dst);

#endif
