/* Rotation about the image centre (see affine.h). Each output pixel looks up where it came from (the
 * inverse rotation) and blends the four source pixels around that point; source pixels outside the
 * image count as black, which is what imgaug's default mode="constant", cval=0 gives. */
#include "augment/affine.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define PI 3.14159265358979323846

static void sincos_degrees(double degrees, double *s, double *c) {
  double quarter_turns = degrees / 90.0;
  if (quarter_turns == floor(quarter_turns) && fabs(quarter_turns) < 1e9) {
    static const double sines[4] = {0, 1, 0, -1}, cosines[4] = {1, 0, -1, 0};
    long q = ((long)quarter_turns % 4 + 4) % 4;
    *s = sines[q];
    *c = cosines[q];
    return;
  }
  double radians = degrees * PI / 180.0;
  *s = sin(radians);
  *c = cos(radians);
}

dlcc_aug_rotation dlcc_aug_rotation_about_centre(double degrees, int width, int height) {
  dlcc_aug_rotation rot = {.cx = (width - 1) / 2.0, .cy = (height - 1) / 2.0};
  sincos_degrees(degrees, &rot.sin_a, &rot.cos_a);
  return rot;
}

void dlcc_aug_rotation_apply(const dlcc_aug_rotation *rot, double *x, double *y) {
  double dx = *x - rot->cx, dy = *y - rot->cy;
  *x = rot->cx + rot->cos_a * dx - rot->sin_a * dy;
  *y = rot->cy + rot->sin_a * dx + rot->cos_a * dy;
}

/* Bilinear blend of the four pixels around (sx, sy), those outside the image being black. */
static void sample_bilinear(const dlcc_image *src, double sx, double sy, uint8_t out[3]) {
  out[0] = out[1] = out[2] = 0;
  if (!(sx > -1.0 && sx < src->width && sy > -1.0 && sy < src->height)) return;
  double fx = floor(sx), fy = floor(sy), ax = sx - fx, ay = sy - fy;
  int x0 = (int)fx, y0 = (int)fy;
  const double weight[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
  double sum[3] = {0, 0, 0};
  for (int k = 0; k < 4; k++) {
    int px = x0 + (k & 1), py = y0 + (k >> 1);
    if (px < 0 || py < 0 || px >= src->width || py >= src->height) continue;
    const uint8_t *p = src->rgb + ((size_t)py * src->width + px) * 3;
    for (int c = 0; c < 3; c++) sum[c] += weight[k] * p[c];
  }
  for (int c = 0; c < 3; c++) {
    double v = sum[c] + 0.5;
    out[c] = v >= 255.0 ? 255 : (uint8_t)v;
  }
}

void dlcc_aug_rotate_image(const dlcc_aug_rotation *rot, const dlcc_image *src, dlcc_image *dst) {
  /* The inverse rotation: turn by minus the angle about the same centre. */
  double c = rot->cos_a, s = rot->sin_a;
  for (int y = 0; y < dst->height; y++) {
    double dy = y - rot->cy;
    uint8_t *row = dst->rgb + (size_t)y * dst->width * 3;
    for (int x = 0; x < dst->width; x++) {
      double dx = x - rot->cx;
      sample_bilinear(src, rot->cx + c * dx + s * dy, rot->cy - s * dx + c * dy, row + 3 * x);
    }
  }
}
