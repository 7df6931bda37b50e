/* maDLC's fixed-size training crops: the window drawn as DeepLabCut's TensorFlow multi-animal loader
 * draws it (random padding of short sides, then an offset from crop_sampling), the labels moved into
 * it, the pixels cut out. See crop.h for the formulas. */
#include "augment/crop.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Neighbours count for density sampling within this fraction of the padded image's shorter side. */
static const double density_radius_fraction = 0.1;

static const char *const sampling_names[] = {"uniform", "keypoints", "density", "hybrid"};

dlcc_status dlcc_aug_crop_sampling_parse(const char *name, dlcc_crop_sampling *sampling, dlcc_error *err) {
  for (int k = 0; k < 4; k++)
    if (name && !strcmp(name, sampling_names[k])) {
      *sampling = (dlcc_crop_sampling)k;
      return DLCC_OK;
    }
  return dlcc_fail(err, DLCC_ERR_INVALID, "crop_sampling is %s; it must be one of uniform, keypoints, density, hybrid",
                   name ? name : "empty");
}

const char *dlcc_aug_crop_sampling_name(dlcc_crop_sampling sampling) {
  return (unsigned)sampling < 4 ? sampling_names[sampling] : "unknown";
}

/* On the image: the pixel-centre form of DeepLabCut's 0 < x < width (pixel edges at integers). */
static bool on_image(double x, double y, int width, int height) {
  return x > -0.5 && x < width - 0.5 && y > -0.5 && y < height - 0.5;
}

static bool usable(const dlcc_joint *j, int width, int height) {
  return isfinite(j->x) && isfinite(j->y) && on_image(j->x, j->y, width, height);
}

/* 1 + the usable labels within `radius` of joint i (distance <= radius counts, as DeepLabCut's). */
static uint64_t density_weight(const dlcc_joint *joints, size_t n, size_t i, int width, int height,
                               double radius_sq) {
  uint64_t w = 1;
  for (size_t j = 0; j < n; j++) {
    if (j == i || !usable(&joints[j], width, height)) continue;
    double dx = joints[j].x - joints[i].x, dy = joints[j].y - joints[i].y;
    if (dx * dx + dy * dy <= radius_sq) w++;
  }
  return w;
}

/* Index of a usable label drawn with weight 1 each (keypoints) or 1 + neighbours (density). The
 * weights are whole numbers, so the draw is an exact integer one; the neighbour counts are recomputed
 * on the second pass instead of being stored, which keeps this free of allocations. */
static size_t draw_anchor(const dlcc_joint *joints, size_t n, int width, int height, bool density,
                          double radius_sq, dlcc_rng *rng) {
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++)
    if (usable(&joints[i], width, height))
      total += density ? density_weight(joints, n, i, width, height, radius_sq) : 1;
  uint64_t r = total <= UINT32_MAX ? dlcc_rng_below(rng, (uint32_t)total)
                                   : (uint64_t)(dlcc_rng_uniform(rng) * (double)total);
  size_t last = 0;
  for (size_t i = 0; i < n; i++) {
    if (!usable(&joints[i], width, height)) continue;
    uint64_t w = density ? density_weight(joints, n, i, width, height, radius_sq) : 1;
    if (r < w) return i;
    r -= w;
    last = i;
  }
  return last;
}

/* Padding before the image along a side shorter than the window (imgaug's PadToFixedSize with its
 * default uniform position); 0 along a side at least as long. */
static int padding_before(int side, int window, double u) {
  if (side >= window) return 0;
  int missing = window - side;
  int pad = (int)((1.0 - u) * missing);
  return pad > missing ? missing : pad;
}

/* Offset of the window along a (padded) side from the fraction f (imgaug's CropToFixedSize). */
static int crop_offset(int padded_side, int window, double f) {
  if (padded_side <= window) return 0;
  int room = padded_side - window;
  int off = (int)(f * room);
  return off < 0 ? 0 : off > room ? room : off;
}

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

dlcc_status dlcc_aug_crop_choose(int image_width, int image_height, const dlcc_joint *joints, size_t n,
                                 const dlcc_aug_crop_params *params, dlcc_rng *rng, dlcc_aug_crop *crop,
                                 dlcc_error *err) {
  if (image_width < 1 || image_height < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot crop an image of %d x %d pixels", image_width, image_height);
  if (params->width < 1 || params->height < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "crop size is [%d, %d]; each value must be at least 1", params->width,
                     params->height);
  if (!isfinite(params->max_shift))
    return dlcc_fail(err, DLCC_ERR_INVALID, "max_shift is %g; it must be a finite number", params->max_shift);
  if ((unsigned)params->sampling > DLCC_CROP_HYBRID)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "crop_sampling is %d; it must be one of uniform, keypoints, density, hybrid",
                     (int)params->sampling);
  if (!joints) n = 0;

  double max_shift = params->max_shift;
  if (max_shift < 0) max_shift = 0;
  if (max_shift > DLCC_CROP_MAX_SHIFT_LIMIT) max_shift = DLCC_CROP_MAX_SHIFT_LIMIT;
  memset(crop, 0, sizeof *crop);
  crop->width = params->width;
  crop->height = params->height;
  crop->image_width = image_width;
  crop->image_height = image_height;
  crop->anchor = -1;

  /* DeepLabCut draws the shifts and the padding for every image, whatever the sampling. */
  crop->shift_x = max_shift * params->width * (2.0 * dlcc_rng_uniform(rng) - 1.0);
  crop->shift_y = max_shift * params->height * (2.0 * dlcc_rng_uniform(rng) - 1.0);
  int pad_left = padding_before(image_width, params->width, dlcc_rng_uniform(rng));
  int pad_top = padding_before(image_height, params->height, dlcc_rng_uniform(rng));
  int padded_width = image_width > params->width ? image_width : params->width;
  int padded_height = image_height > params->height ? image_height : params->height;

  dlcc_crop_sampling used = params->sampling;
  if (used == DLCC_CROP_HYBRID) used = dlcc_rng_below(rng, 2) ? DLCC_CROP_DENSITY : DLCC_CROP_UNIFORM;
  if (used != DLCC_CROP_UNIFORM) {
    bool any = false;
    for (size_t i = 0; i < n && !any; i++) any = usable(&joints[i], image_width, image_height);
    if (!any) {
      used = DLCC_CROP_UNIFORM;
      crop->fell_back = true;
    }
  }
  crop->used = used;

  double fx, fy;
  if (used == DLCC_CROP_UNIFORM) {
    fx = dlcc_rng_uniform(rng);
    fy = dlcc_rng_uniform(rng);
  } else {
    /* The radius is measured on the padded image, as DeepLabCut's augmenter sees it. */
    double radius = density_radius_fraction * (padded_width < padded_height ? padded_width : padded_height);
    size_t a = draw_anchor(joints, n, image_width, image_height, used == DLCC_CROP_DENSITY, radius * radius, rng);
    crop->anchor = (long)a;
    /* imgaug's coordinates put pixel edges at integers: dlcc's x is imgaug's x - 0.5. */
    fx = clamp01((joints[a].x + 0.5 + pad_left + crop->shift_x) / padded_width);
    fy = clamp01((joints[a].y + 0.5 + pad_top + crop->shift_y) / padded_height);
  }
  crop->x0 = crop_offset(padded_width, params->width, fx) - pad_left;
  crop->y0 = crop_offset(padded_height, params->height, fy) - pad_top;
  return DLCC_OK;
}

size_t dlcc_aug_crop_joints(const dlcc_aug_crop *crop, dlcc_joint *joints, size_t n) {
  size_t visible = 0;
  for (size_t i = 0; i < n; i++) {
    dlcc_joint *j = &joints[i];
    bool keep = isfinite(j->x) && isfinite(j->y) && on_image(j->x, j->y, crop->image_width, crop->image_height);
    if (keep) {
      j->x -= crop->x0;
      j->y -= crop->y0;
      keep = on_image(j->x, j->y, crop->width, crop->height);
    }
    if (keep) {
      visible++;
    } else {
      j->x = NAN;
      j->y = NAN;
    }
  }
  return visible;
}

dlcc_status dlcc_aug_crop_image(const dlcc_aug_crop *crop, const dlcc_image *src, dlcc_image *dst,
                                dlcc_error *err) {
  if (src->width != crop->image_width || src->height != crop->image_height)
    return dlcc_fail(err, DLCC_ERR_INVALID, "the crop was drawn for a %d x %d image, not %d x %d", crop->image_width,
                     crop->image_height, src->width, src->height);
  if (dst->width != crop->width || dst->height != crop->height || !dst->rgb)
    return dlcc_fail(err, DLCC_ERR_INVALID, "the crop's output must be %d x %d, not %d x %d", crop->width,
                     crop->height, dst->width, dst->height);
  /* Columns of the window that fall on the source: [first, last). */
  int first = crop->x0 < 0 ? -crop->x0 : 0;
  int last = src->width - crop->x0 < crop->width ? src->width - crop->x0 : crop->width;
  if (last < first) last = first;
  size_t row_bytes = (size_t)crop->width * 3;
  for (int y = 0; y < crop->height; y++) {
    uint8_t *out = dst->rgb + (size_t)y * row_bytes;
    int sy = crop->y0 + y;
    if (sy < 0 || sy >= src->height || first == last) {
      memset(out, 0, row_bytes);
      continue;
    }
    memset(out, 0, (size_t)first * 3);
    memcpy(out + (size_t)first * 3, src->rgb + ((size_t)sy * src->width + (size_t)(crop->x0 + first)) * 3,
           (size_t)(last - first) * 3);
    memset(out + (size_t)last * 3, 0, (size_t)(crop->width - last) * 3);
  }
  return DLCC_OK;
}
