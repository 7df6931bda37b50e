/* Horizontal flip of a training image and its joints (DeepLabCut's `mirror`). With pixel centres at
 * integer coordinates, the pixel at column x moves to column width - 1 - x, and so does a label on it.
 * DeepLabCut's imgaug loader flips without swapping left and right joints (pose_cfg.yaml: "imgaug &
 * tensorpack do not consider mirror symmetric joints"); a swap map is for `fliplr` + symmetric_pairs. */
#ifndef DLCC_AUGMENT_MIRROR_H
#define DLCC_AUGMENT_MIRROR_H

#include <stddef.h>

#include "image/image.h"
#include "targets/scoremap.h"

/* Where x lands when a width-pixel-wide image is flipped left to right. */
double dlcc_aug_mirror_x(double x, int width);

/* Writes the left-right flip of src into dst, which has src's size (allocated by the caller; not src). */
void dlcc_aug_mirror_image(const dlcc_image *src, dlcc_image *dst);

/* Flips the joints' x in place. When swap_ids is not NULL, joint id k becomes swap_ids[k] (ids outside
 * [0, n_ids) are left alone); pass NULL for DeepLabCut's `mirror`, which keeps ids. */
void dlcc_aug_mirror_joints(dlcc_joint *joints, size_t n_joints, int width, const int *swap_ids, int n_ids);

#endif
