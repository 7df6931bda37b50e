/* Training batches (see batch.h). The order of the steps is DeepLabCut's pipeline order: flip, rotate
 * (both at the image's own size), then resize to the batch's size; every joint follows the same maps
 * and is dropped when it ends up outside the image, as next_batch does after the pipeline. Buffers
 * grow to the largest batch seen and are then reused. */
#include "augment/batch.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment/affine.h"
#include "augment/batch_internal.h"
#include "augment/mirror.h"
#include "dataset/input_size.h"

/* ---- buffers ---- */

static dlcc_status out_of_memory(dlcc_error *err, const char *what, size_t bytes) {
  return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for %s (%zu bytes)", what, bytes);
}

dlcc_status dlcc_aug_reserve_image(dlcc_image *img, size_t *capacity, int width, int height, dlcc_error *err) {
  size_t bytes = (size_t)width * (size_t)height * 3;
  if (bytes > *capacity) {
    uint8_t *grown = realloc(img->rgb, bytes);
    if (!grown) return out_of_memory(err, "an augmented image", bytes);
    img->rgb = grown;
    *capacity = bytes;
  }
  img->width = width;
  img->height = height;
  return DLCC_OK;
}

dlcc_status dlcc_aug_reserve_frames(dlcc_aug_batch *b, size_t n, dlcc_error *err) {
  if (n > b->samples_capacity) {
    dlcc_aug_sample *grown = realloc(b->samples, n * sizeof *grown);
    if (!grown) return out_of_memory(err, "the batch's frames", n * sizeof *grown);
    memset(grown + b->samples_capacity, 0, (n - b->samples_capacity) * sizeof *grown);
    b->samples = grown;
    b->samples_capacity = n;
  }
  size_t floats = n * 3 * (size_t)b->width * (size_t)b->height;
  if (floats > b->pixels_capacity) {
    float *grown = realloc(b->pixels, floats * sizeof *grown);
    if (!grown) return out_of_memory(err, "the batch's pixels", floats * sizeof *grown);
    b->pixels = grown;
    b->pixels_capacity = floats;
  }
  b->n = n;
  return DLCC_OK;
}

dlcc_status dlcc_aug_reserve_joints(dlcc_aug_sample *s, size_t n, dlcc_error *err) {
  if (n <= s->joints_capacity) return DLCC_OK;
  dlcc_joint *grown = realloc(s->joints, n * sizeof *grown);
  if (!grown) return out_of_memory(err, "a frame's joints", n * sizeof *grown);
  s->joints = grown;
  s->joints_capacity = n;
  return DLCC_OK;
}

/* ---- the batch's scale and size ---- */

static void describe_source(const dlcc_aug_source *src, size_t index, char *out, size_t size) {
  if (src->name) snprintf(out, size, "image %s", src->name);
  else snprintf(out, size, "image %zu of the batch", index + 1);
}

/* Which bound the size breaks, what the bound means, and which keys to change. */
static void describe_bound(const dlcc_pose_cfg *cfg, int width, int height, char *out, size_t size) {
  double max_area = (double)cfg->max_input_size * cfg->max_input_size;
  if ((double)width * height > max_area)
    snprintf(out, size, "above max_input_size %d (width*height at most %d^2); increase max_input_size or "
             "decrease global_scale", cfg->max_input_size, cfg->max_input_size);
  else if (cfg->multianimal)
    snprintf(out, size, "below min_input_size %d (both sides at least %d); decrease min_input_size or increase "
             "global_scale", cfg->min_input_size, cfg->min_input_size);
  else
    snprintf(out, size, "below min_input_size %d (width*height at least %d^2); decrease min_input_size or "
             "increase global_scale", cfg->min_input_size, cfg->min_input_size);
}

static dlcc_status size_error(const dlcc_pose_cfg *cfg, const dlcc_aug_source *src, size_t index, double scale,
                              int width, int height, dlcc_error *err) {
  char who[512], bound[256], hint[64] = "";
  describe_source(src, index, who, sizeof who);
  describe_bound(cfg, width, height, bound, sizeof bound);
  double suggested;
  if (!dlcc_input_size_ever_ok(cfg, src->image->width, src->image->height, &suggested))
    snprintf(hint, sizeof hint, " (global_scale %.2f would fit)", suggested);
  return dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s (%dx%d) does not fit the training input size: scaled by %.3g (global_scale %g x scale "
                   "jitter in [%g, %g]) it is %dx%d, %s%s in %s; %d draws of the batch's scale found no fit",
                   who, src->image->width, src->image->height, scale, cfg->global_scale, cfg->scale_jitter_lo,
                   cfg->scale_jitter_up, width, height, bound, hint,
                   cfg->source_path ? cfg->source_path : "pose_cfg.yaml", DLCC_AUG_SIZE_TRIES);
}

double dlcc_aug_draw_scale(const dlcc_pose_cfg *cfg, dlcc_rng *rng) {
  double lo = cfg->scale_jitter_lo, up = cfg->scale_jitter_up;
  return cfg->global_scale * (lo + (up - lo) * dlcc_rng_uniform(rng));
}

/* DeepLabCut draws the scale once and then up to 9 images from the dataset until one, scaled, passes
 * the bounds; its size becomes the batch's. Here both the scale and the image (one of the batch's) are
 * drawn again on each try: with frames of one size, as in most projects, redrawing only the image
 * could never succeed where the first try failed. */
static dlcc_status choose_size(dlcc_aug_batch *b, const dlcc_pose_cfg *cfg, const dlcc_aug_source *sources,
                               size_t n, dlcc_rng *rng, dlcc_error *err) {
  size_t pick = 0;
  for (int t = 0; t < DLCC_AUG_SIZE_TRIES; t++) {
    b->scale = dlcc_aug_draw_scale(cfg, rng);
    pick = dlcc_rng_below(rng, (uint32_t)n);
    b->width = dlcc_aug_scaled_length(sources[pick].image->width, b->scale);
    b->height = dlcc_aug_scaled_length(sources[pick].image->height, b->scale);
    if (dlcc_input_size_ok(cfg, b->width, b->height, 1.0)) return DLCC_OK;
  }
  return size_error(cfg, &sources[pick], pick, b->scale, b->width, b->height, err);
}

/* ---- one frame ---- */

static void draw_augmentation(const dlcc_pose_cfg *cfg, dlcc_rng *rng, dlcc_aug_sample *s) {
  /* `mirror: true` is iaa.Sometimes(apply_prob, iaa.Fliplr(True)): Fliplr(True) always flips. */
  s->mirrored = cfg->mirror && dlcc_rng_uniform(rng) < cfg->apply_prob;
  s->rotation = 0;
  if (cfg->rotation > 0 && dlcc_rng_uniform(rng) < cfg->rotratio)
    s->rotation = cfg->rotation * (2.0 * dlcc_rng_uniform(rng) - 1.0);
}

/* Flips, rotates and resizes the frame's pixels; *out is the result (one of the batch's scratch images,
 * or the source itself when nothing changed it). */
static dlcc_status transform_pixels(dlcc_aug_batch *b, const dlcc_aug_sample *s, const dlcc_image *src,
                                    const dlcc_aug_rotation *rot, const dlcc_image **out, dlcc_error *err) {
  const dlcc_image *cur = src;
  dlcc_status st = DLCC_OK;
  if (s->mirrored) {
    if ((st = dlcc_aug_reserve_image(&b->flipped, &b->flipped_capacity, cur->width, cur->height, err))) return st;
    dlcc_aug_mirror_image(cur, &b->flipped);
    cur = &b->flipped;
  }
  if (s->rotation != 0) {
    if ((st = dlcc_aug_reserve_image(&b->rotated, &b->rotated_capacity, cur->width, cur->height, err))) return st;
    dlcc_aug_rotate_image(rot, cur, &b->rotated);
    cur = &b->rotated;
  }
  if (cur->width != b->width || cur->height != b->height) {
    if ((st = dlcc_aug_reserve_image(&b->resized, &b->resized_capacity, b->width, b->height, err))) return st;
    if ((st = dlcc_aug_resize(&b->resizer, cur, &b->resized, err))) return st;
    cur = &b->resized;
  }
  *out = cur;
  return DLCC_OK;
}

bool dlcc_aug_inside(double x, double y, int width, int height) {
  return x > -0.5 && x < width - 0.5 && y > -0.5 && y < height - 0.5;
}

/* Maps the visible joints through the same flip, rotation and resize as the pixels; keeps those inside. */
static dlcc_status transform_joints(dlcc_aug_batch *b, dlcc_aug_sample *s, const dlcc_aug_source *src,
                                    const dlcc_aug_rotation *rot, dlcc_error *err) {
  dlcc_status st = dlcc_aug_reserve_joints(s, src->n_joints, err);
  if (st != DLCC_OK) return st;
  size_t n = 0;
  for (size_t j = 0; j < src->n_joints; j++)
    if (isfinite(src->joints[j].x) && isfinite(src->joints[j].y)) s->joints[n++] = src->joints[j];
  int width = src->image->width, height = src->image->height;
  if (s->mirrored) dlcc_aug_mirror_joints(s->joints, n, width, NULL, 0);
  s->n_joints = 0;
  for (size_t j = 0; j < n; j++) {
    dlcc_joint joint = s->joints[j];
    if (s->rotation != 0) dlcc_aug_rotation_apply(rot, &joint.x, &joint.y);
    joint.x = dlcc_aug_resize_coord(joint.x, width, b->width);
    joint.y = dlcc_aug_resize_coord(joint.y, height, b->height);
    if (dlcc_aug_inside(joint.x, joint.y, b->width, b->height)) s->joints[s->n_joints++] = joint;
  }
  return DLCC_OK;
}

void dlcc_aug_write_planes(const dlcc_image *img, float *out) {
  size_t plane = (size_t)img->width * img->height;
  for (size_t p = 0; p < plane; p++)
    for (int c = 0; c < 3; c++) out[c * plane + p] = img->rgb[3 * p + c];
}

static dlcc_status make_sample(dlcc_aug_batch *b, const dlcc_pose_cfg *cfg, const dlcc_aug_source *src,
                               size_t index, dlcc_rng *rng, dlcc_error *err) {
  dlcc_aug_sample *s = &b->samples[index];
  draw_augmentation(cfg, rng, s);
  const dlcc_image *img = src->image;
  dlcc_aug_rotation rot = dlcc_aug_rotation_about_centre(s->rotation, img->width, img->height);
  const dlcc_image *result;
  dlcc_status st = transform_pixels(b, s, img, &rot, &result, err);
  if (st != DLCC_OK) return st;
  dlcc_aug_write_planes(result, b->pixels + index * 3 * (size_t)b->width * b->height);
  /* DeepLabCut's get_scmap_update "approximates the scale" the same way. */
  s->scale = fmin((double)b->width / img->width, (double)b->height / img->height);
  return transform_joints(b, s, src, &rot, err);
}

/* ---- the batch ---- */

dlcc_status dlcc_aug_check_sources(const dlcc_aug_source *sources, size_t n, dlcc_error *err) {
  if (n == 0 || n > UINT32_MAX) return dlcc_fail(err, DLCC_ERR_INVALID, "a batch needs 1 to %u frames, got %zu",
                                                 (unsigned)UINT32_MAX, n);
  for (size_t i = 0; i < n; i++) {
    const dlcc_image *img = sources[i].image;
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0) {
      char who[512];
      describe_source(&sources[i], i, who, sizeof who);
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s has no pixels", who);
    }
    if (sources[i].n_joints && !sources[i].joints)
      return dlcc_fail(err, DLCC_ERR_INVALID, "frame %zu of the batch lists %zu joints but gives none", i + 1,
                       sources[i].n_joints);
  }
  return DLCC_OK;
}

dlcc_status dlcc_aug_batch_make(dlcc_aug_batch *batch, const dlcc_pose_cfg *cfg, const dlcc_aug_source *sources,
                                size_t n, dlcc_rng *rng, dlcc_error *err) {
  dlcc_status st = dlcc_aug_check_sources(sources, n, err);
  if (st == DLCC_OK) st = choose_size(batch, cfg, sources, n, rng, err);
  if (st == DLCC_OK) st = dlcc_aug_reserve_frames(batch, n, err);
  for (size_t i = 0; i < n && st == DLCC_OK; i++) st = make_sample(batch, cfg, &sources[i], i, rng, err);
  if (st != DLCC_OK) batch->n = 0;
  return st;
}

void dlcc_aug_batch_free(dlcc_aug_batch *batch) {
  if (!batch) return;
  for (size_t i = 0; i < batch->samples_capacity; i++) {
    free(batch->samples[i].joints);
    free(batch->samples[i].joints_per_animal);
  }
  free(batch->samples);
  free(batch->pixels);
  free(batch->flipped.rgb);
  free(batch->rotated.rgb);
  free(batch->resized.rgb);
  free(batch->padded.rgb);
  free(batch->cropped.rgb);
  dlcc_aug_resizer_free(&batch->resizer);
  *batch = (dlcc_aug_batch){0};
}
