/* Left-right flip of an image and its joints (see mirror.h). */
#include "augment/mirror.h"

#include <stdint.h>

double dlcc_aug_mirror_x(double x, int width) { return (width - 1) - x; }

void dlcc_aug_mirror_image(const dlcc_image *src, dlcc_image *dst) {
  for (int y = 0; y < src->height; y++) {
    const uint8_t *in = src->rgb + (size_t)y * src->width * 3;
    uint8_t *out = dst->rgb + (size_t)y * src->width * 3;
    for (int x = 0; x < src->width; x++) {
      const uint8_t *p = in + 3 * (src->width - 1 - x);
      out[3 * x] = p[0];
      out[3 * x + 1] = p[1];
      out[3 * x + 2] = p[2];
    }
  }
}

void dlcc_aug_mirror_joints(dlcc_joint *joints, size_t n_joints, int width, const int *swap_ids, int n_ids) {
  for (size_t i = 0; i < n_joints; i++) {
    joints[i].x = dlcc_aug_mirror_x(joints[i].x, width);
    if (swap_ids && joints[i].id >= 0 && joints[i].id < n_ids) joints[i].id = swap_ids[joints[i].id];
  }
}
