/* Rescaling a training image to the batch's size with FFmpeg's libswscale (bicubic), and the matching
 * map for keypoints. Keypoints use dlcc's convention: pixel centres at integer coordinates; swscale
 * aligns pixel centres, so a point x of a source of length L lands at (x + 0.5) * L' / L - 0.5. */
#ifndef DLCC_AUGMENT_RESIZE_H
#define DLCC_AUGMENT_RESIZE_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"
#include "util/error.h"

struct SwsContext;

/* Scratch of the resizer, kept between calls so that batches of one size allocate nothing.
 * Zero-initialise; release with dlcc_aug_resizer_free. */
typedef struct dlcc_aug_resizer {
  struct SwsContext *sws;
  uint8_t *planes;      /* planar copies of source and destination (av_malloc) */
  size_t planes_size;
} dlcc_aug_resizer;

/* Length of a side of `length` pixels scaled by `factor`, rounded up as DeepLabCut's imgaug loader
 * does (np.ceil(size * scale)); products that are whole up to rounding error are not bumped up. At
 * least 1. */
int dlcc_aug_scaled_length(int length, double factor);

/* Where coordinate v of a side of src_length pixels lands on a side of dst_length pixels. */
double dlcc_aug_resize_coord(double v, int src_length, int dst_length);

/* Resamples src into dst at dst's width and height (dst->rgb allocated by the caller, overwritten).
 * Colours are scaled per channel, never through YUV, so a flat colour stays exactly that colour.
 * Fails only when swscale cannot set up the sizes or memory runs out. */
dlcc_status dlcc_aug_resize(dlcc_aug_resizer *r, const dlcc_image *src, dlcc_image *dst, dlcc_error *err);

void dlcc_aug_resizer_free(dlcc_aug_resizer *r);

#endif
