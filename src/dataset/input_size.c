/* Input-size bounds of training (see input_size.h). The scaled area grows with the square of the
 * scale, so an image is usable for some jitter exactly when the smallest scale is not too big and the
 * largest is not too small. */
#include "dataset/input_size.h"

#include <math.h>

/* The scale below which the image is too small (0 when none). */
static double smallest_scale(const dlcc_pose_cfg *cfg, int width, int height) {
  if (cfg->multianimal) {
    int side = width < height ? width : height;
    return (double)cfg->min_input_size / side;
  }
  return (double)cfg->min_input_size / sqrt((double)width * height);
}

/* The scale above which the image is too big. */
static double largest_scale(const dlcc_pose_cfg *cfg, int width, int height) {
  return (double)cfg->max_input_size / sqrt((double)width * height);
}

bool dlcc_input_size_ok(const dlcc_pose_cfg *cfg, int width, int height, double scale) {
  double w = width * scale, h = height * scale, area = w * h;
  if (area > (double)cfg->max_input_size * cfg->max_input_size) return false;
  if (cfg->multianimal) return w >= cfg->min_input_size && h >= cfg->min_input_size;
  return area >= (double)cfg->min_input_size * cfg->min_input_size;
}

bool dlcc_input_size_ever_ok(const dlcc_pose_cfg *cfg, int width, int height, double *suggested_global_scale) {
  double lo = cfg->global_scale * cfg->scale_jitter_lo, up = cfg->global_scale * cfg->scale_jitter_up;
  double smallest = smallest_scale(cfg, width, height), largest = largest_scale(cfg, width, height);
  if (lo <= largest && up >= smallest) return true;
  /* Suggestions round to hundredths; the 1e-9 keeps 3.2 / 1.25 at 2.56 rather than 2.57. */
  if (suggested_global_scale) {
    if (lo > largest) { /* too big even at the smallest jitter: shrink, rounding down */
      double exact = largest / cfg->scale_jitter_lo;
      *suggested_global_scale = exact >= 0.01 ? floor(100.0 * exact + 1e-9) / 100.0 : exact;
    } else /* too small even at the largest jitter: enlarge, rounding up */
      *suggested_global_scale = ceil(100.0 * smallest / cfg->scale_jitter_up - 1e-9) / 100.0;
  }
  return false;
}
