/* maDLC training batches (see batch_madlc.h). DeepLabCut's pipeline order: PadToFixedSize(crop_size),
 * the keypoint-aware crop to the batch's window, fliplr, rotation; the pixels and the labels follow
 * the same steps, labels are carried with their animal, and those off the final image are dropped
 * as next_batch drops them. The pad and the crop only copy pixels, so a 1024x1024 frame costs one
 * copy of its window. */
#include "augment/batch_madlc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "augment/affine.h"
#include "augment/batch_internal.h"
#include "augment/mirror.h"
#include "augment/resize.h"
#include "dataset/input_size.h"

/* ---- the plan ---- */

static const char *where(const dlcc_pose_cfg *cfg) { return cfg->source_path ? cfg->source_path : "pose_cfg.yaml"; }

static const dlcc_yaml_node *doc_key(const dlcc_pose_cfg *cfg, const char *key) {
  return cfg->doc ? dlcc_yaml_map_get(cfg->doc, key) : NULL;
}

/* `if cfg.get("rotation")`: an int n rotates by +-n, any other true value by +-10 (a float such as
 * 25.0 included, which posecfg reads as 25). */
static double rotation_degrees(const dlcc_pose_cfg *cfg) {
  if (cfg->rotation == 0) return 0;
  const dlcc_yaml_node *node = doc_key(cfg, "rotation");
  long whole;
  if (node && node->kind == DLCC_YAML_SCALAR && !dlcc_yaml_as_long(node, &whole)) {
    bool flag;
    if (!dlcc_yaml_as_bool(node, &flag)) return 10;
  }
  return fabs(cfg->rotation);
}

/* fliplr's p: true or a non-zero whole number flips every time it is applied, another true value
 * half the time; 0 when fliplr is absent or false. */
static double fliplr_p(const dlcc_pose_cfg *cfg) {
  const dlcc_yaml_node *node = doc_key(cfg, "fliplr");
  if (!node) return 0;
  if (node->kind != DLCC_YAML_SCALAR) return node->count ? 0.5 : 0;
  bool flag;
  long whole;
  double value;
  if (dlcc_yaml_as_bool(node, &flag)) return flag ? 1 : 0;
  if (dlcc_yaml_as_long(node, &whole)) return whole != 0 ? 1 : 0;
  if (dlcc_yaml_as_double(node, &value)) return value != 0 ? 0.5 : 0;
  return dlcc_yaml_is_null(node) || !*node->scalar ? 0 : 0.5;
}

static dlcc_status pair_error(const dlcc_pose_cfg *cfg, const dlcc_yaml_node *pairs, size_t k, dlcc_error *err) {
  return dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s line %d: symmetric_pairs[%zu] must be a pair [a, b] of joint indices 0 to %d (the positions "
                   "of all_joints_names)",
                   where(cfg), pairs->line, k, cfg->num_joints - 1);
}

/* The id each joint takes on a flip: DeepLabCut swaps the pairs' slots one pair after another, so
 * the slot p ends up holding the label that had id order[p], and that label is now joint p. */
static dlcc_status read_flip_ids(const dlcc_pose_cfg *cfg, const dlcc_yaml_node *pairs, dlcc_aug_madlc_plan *plan,
                                 dlcc_error *err) {
  int n = cfg->num_joints;
  int *order = malloc((size_t)n * sizeof *order);
  plan->flip_ids = malloc((size_t)n * sizeof *plan->flip_ids);
  if (!order || !plan->flip_ids) {
    free(order);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  plan->n_flip_ids = n;
  for (int p = 0; p < n; p++) order[p] = p;
  for (size_t k = 0; k < pairs->count; k++) {
    const dlcc_yaml_node *pair = pairs->items[k];
    long ids[2];
    bool ok = pair->kind == DLCC_YAML_SEQ && pair->count == 2;
    for (int e = 0; ok && e < 2; e++)
      ok = dlcc_yaml_as_long(pair->items[e], &ids[e]) && ids[e] >= 0 && ids[e] < n;
    if (!ok) {
      free(order);
      return pair_error(cfg, pairs, k, err);
    }
    int held = order[ids[0]];
    order[ids[0]] = order[ids[1]];
    order[ids[1]] = held;
  }
  for (int p = 0; p < n; p++) plan->flip_ids[order[p]] = p;
  free(order);
  return DLCC_OK;
}

static dlcc_status read_flip(const dlcc_pose_cfg *cfg, dlcc_aug_madlc_plan *plan, dlcc_error *err) {
  double p = fliplr_p(cfg);
  const dlcc_yaml_node *pairs = doc_key(cfg, "symmetric_pairs");
  if (p == 0 || !pairs || pairs->kind != DLCC_YAML_SEQ || pairs->count == 0) return DLCC_OK;
  plan->flip_prob = cfg->apply_prob * p;
  return read_flip_ids(cfg, pairs, plan, err);
}

dlcc_status dlcc_aug_madlc_plan_from_cfg(const dlcc_pose_cfg *cfg, dlcc_aug_madlc_plan *plan, dlcc_error *err) {
  *plan = (dlcc_aug_madlc_plan){.crop_width = cfg->crop_size[0], .crop_height = cfg->crop_size[1],
                                .max_shift = cfg->max_shift, .rotation = rotation_degrees(cfg),
                                .rotation_prob = cfg->apply_prob};
  if (cfg->crop_sampling && !strcmp(cfg->crop_sampling, "none"))
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED,
                     "%s: crop_sampling is none; dlcc trains maDLC on crops (DeepLabCut's loader then feeds whole "
                     "images, whose size does not match the score maps it builds for crop_size): set crop_sampling "
                     "to hybrid, density, keypoints or uniform",
                     where(cfg));
  if (cfg->pre_resize[0] > 0 || cfg->pre_resize[1] > 0)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED,
                     "%s: pre_resize is [%d, %d]; dlcc does not resize maDLC training images yet: set pre_resize: []",
                     where(cfg), cfg->pre_resize[0], cfg->pre_resize[1]);
  if (plan->crop_width < 1 || plan->crop_height < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: crop_size is [%d, %d]; give [width, height], both at least 1",
                     where(cfg), plan->crop_width, plan->crop_height);
  dlcc_status st = dlcc_aug_crop_sampling_parse(cfg->crop_sampling, &plan->sampling, err);
  if (st) {
    dlcc_error_prefix(err, "%s", where(cfg));
    return st;
  }
  st = read_flip(cfg, plan, err);
  if (st) dlcc_aug_madlc_plan_free(plan);
  return st;
}

void dlcc_aug_madlc_plan_free(dlcc_aug_madlc_plan *plan) {
  if (!plan) return;
  free(plan->flip_ids);
  plan->flip_ids = NULL;
  plan->n_flip_ids = 0;
}

/* ---- the batch's window ---- */

/* DeepLabCut's calc_target_and_scoremap_sizes: ceil(crop_size x scale), or crop_size itself when that
 * breaks the input-size bounds (no second draw); the targets' scale is the mean of the two ratios. */
static void choose_window(dlcc_aug_batch *b, const dlcc_pose_cfg *cfg, const dlcc_aug_madlc_plan *plan,
                          dlcc_rng *rng) {
  double scale = dlcc_aug_draw_scale(cfg, rng);
  b->width = dlcc_aug_scaled_length(plan->crop_width, scale);
  b->height = dlcc_aug_scaled_length(plan->crop_height, scale);
  if (!dlcc_input_size_ok(cfg, b->width, b->height, 1.0)) {
    b->width = plan->crop_width;
    b->height = plan->crop_height;
  }
  b->scale = ((double)b->width / plan->crop_width + (double)b->height / plan->crop_height) / 2;
}

/* ---- one frame ---- */

static dlcc_status reserve_animals(dlcc_aug_sample *s, size_t n, dlcc_error *err) {
  if (n <= s->animals_capacity) return DLCC_OK;
  size_t *grown = realloc(s->joints_per_animal, n * sizeof *grown);
  if (!grown) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for a frame's animals");
  s->joints_per_animal = grown;
  s->animals_capacity = n;
  return DLCC_OK;
}

/* The sample starts with the source's labels and groups (no groups: one animal holding them all). */
static dlcc_status copy_labels(dlcc_aug_sample *s, const dlcc_aug_source *src, dlcc_error *err) {
  size_t n_animals = src->n_animals ? src->n_animals : 1;
  dlcc_status st = dlcc_aug_reserve_joints(s, src->n_joints, err);
  if (!st) st = reserve_animals(s, n_animals, err);
  if (st) return st;
  if (src->n_joints) memcpy(s->joints, src->joints, src->n_joints * sizeof *s->joints);
  s->n_joints = src->n_joints;
  s->n_animals = n_animals;
  if (src->n_animals) memcpy(s->joints_per_animal, src->joints_per_animal, n_animals * sizeof(size_t));
  else s->joints_per_animal[0] = src->n_joints;
  return DLCC_OK;
}

/* Cuts crop out of *img into out, moves the labels with it (those off it become NaN) and makes out
 * the current image. */
static dlcc_status apply_crop(const dlcc_aug_crop *crop, dlcc_image *out, size_t *capacity, dlcc_aug_sample *s,
                              const dlcc_image **img, dlcc_error *err) {
  dlcc_status st = dlcc_aug_reserve_image(out, capacity, crop->width, crop->height, err);
  if (!st) st = dlcc_aug_crop_image(crop, *img, out, err);
  if (st) return st;
  dlcc_aug_crop_joints(crop, s->joints, s->n_joints);
  *img = out;
  return DLCC_OK;
}

/* PadToFixedSize(crop_size): a side shorter than crop_size gets black pixels at random before and
 * after it; that is a crop with a window of max(side, crop_size) drawn uniformly. */
static dlcc_status pad_to_crop_size(dlcc_aug_batch *b, const dlcc_aug_madlc_plan *plan, dlcc_aug_sample *s,
                                    const dlcc_image **img, dlcc_rng *rng, dlcc_error *err) {
  const dlcc_image *cur = *img;
  if (cur->width >= plan->crop_width && cur->height >= plan->crop_height) return DLCC_OK;
  dlcc_aug_crop_params pad = {.width = cur->width > plan->crop_width ? cur->width : plan->crop_width,
                              .height = cur->height > plan->crop_height ? cur->height : plan->crop_height,
                              .sampling = DLCC_CROP_UNIFORM};
  dlcc_aug_crop window;
  dlcc_status st = dlcc_aug_crop_choose(cur->width, cur->height, NULL, 0, &pad, rng, &window, err);
  if (!st) st = apply_crop(&window, &b->padded, &b->padded_capacity, s, img, err);
  s->crop_x0 += window.x0;
  s->crop_y0 += window.y0;
  return st;
}

static dlcc_status crop_to_window(dlcc_aug_batch *b, const dlcc_aug_madlc_plan *plan, dlcc_aug_sample *s,
                                  const dlcc_image **img, dlcc_rng *rng, dlcc_error *err) {
  dlcc_aug_crop_params params = {.width = b->width, .height = b->height, .sampling = plan->sampling,
                                 .max_shift = plan->max_shift};
  dlcc_aug_crop window;
  dlcc_status st = dlcc_aug_crop_choose((*img)->width, (*img)->height, s->joints, s->n_joints, &params, rng, &window,
                                        err);
  if (!st) st = apply_crop(&window, &b->cropped, &b->cropped_capacity, s, img, err);
  s->crop_x0 += window.x0;
  s->crop_y0 += window.y0;
  return st;
}

static dlcc_status flip(dlcc_aug_batch *b, const dlcc_aug_madlc_plan *plan, dlcc_aug_sample *s,
                        const dlcc_image **img, dlcc_rng *rng, dlcc_error *err) {
  s->mirrored = plan->flip_prob > 0 && dlcc_rng_uniform(rng) < plan->flip_prob;
  if (!s->mirrored) return DLCC_OK;
  dlcc_status st = dlcc_aug_reserve_image(&b->flipped, &b->flipped_capacity, (*img)->width, (*img)->height, err);
  if (st) return st;
  dlcc_aug_mirror_image(*img, &b->flipped);
  dlcc_aug_mirror_joints(s->joints, s->n_joints, (*img)->width, plan->flip_ids, plan->n_flip_ids);
  *img = &b->flipped;
  return DLCC_OK;
}

static dlcc_status rotate(dlcc_aug_batch *b, const dlcc_aug_madlc_plan *plan, dlcc_aug_sample *s,
                          const dlcc_image **img, dlcc_rng *rng, dlcc_error *err) {
  s->rotation = 0;
  if (plan->rotation > 0 && dlcc_rng_uniform(rng) < plan->rotation_prob)
    s->rotation = plan->rotation * (2.0 * dlcc_rng_uniform(rng) - 1.0);
  if (s->rotation == 0) return DLCC_OK;
  const dlcc_image *cur = *img;
  dlcc_status st = dlcc_aug_reserve_image(&b->rotated, &b->rotated_capacity, cur->width, cur->height, err);
  if (st) return st;
  dlcc_aug_rotation rot = dlcc_aug_rotation_about_centre(s->rotation, cur->width, cur->height);
  dlcc_aug_rotate_image(&rot, cur, &b->rotated);
  for (size_t k = 0; k < s->n_joints; k++)
    if (isfinite(s->joints[k].x) && isfinite(s->joints[k].y))
      dlcc_aug_rotation_apply(&rot, &s->joints[k].x, &s->joints[k].y);
  *img = &b->rotated;
  return DLCC_OK;
}

/* Keeps the labels on the final image, animal by animal, in their order. */
static void keep_visible(dlcc_aug_sample *s, int width, int height) {
  size_t kept = 0, first = 0;
  for (size_t a = 0; a < s->n_animals; a++) {
    size_t own = s->joints_per_animal[a], visible = 0;
    for (size_t k = first; k < first + own; k++) {
      dlcc_joint j = s->joints[k];
      if (isfinite(j.x) && isfinite(j.y) && dlcc_aug_inside(j.x, j.y, width, height)) {
        s->joints[kept++] = j;
        visible++;
      }
    }
    first += own;
    s->joints_per_animal[a] = visible;
  }
  s->n_joints = kept;
}

static dlcc_status make_sample(dlcc_aug_batch *b, const dlcc_aug_madlc_plan *plan, const dlcc_aug_source *src,
                               size_t index, dlcc_rng *rng, dlcc_error *err) {
  dlcc_aug_sample *s = &b->samples[index];
  s->crop_x0 = s->crop_y0 = 0;
  s->scale = b->scale;
  const dlcc_image *img = src->image;
  dlcc_status st = copy_labels(s, src, err);
  if (!st) st = pad_to_crop_size(b, plan, s, &img, rng, err);
  if (!st) st = crop_to_window(b, plan, s, &img, rng, err);
  if (!st) st = flip(b, plan, s, &img, rng, err);
  if (!st) st = rotate(b, plan, s, &img, rng, err);
  if (st) return st;
  dlcc_aug_write_planes(img, b->pixels + index * 3 * (size_t)b->width * b->height);
  keep_visible(s, b->width, b->height);
  return DLCC_OK;
}

/* ---- the batch ---- */

static dlcc_status check_groups(const dlcc_aug_source *sources, size_t n, dlcc_error *err) {
  for (size_t i = 0; i < n; i++) {
    const dlcc_aug_source *src = &sources[i];
    if (!src->n_animals) continue;
    size_t total = 0;
    for (size_t a = 0; src->joints_per_animal && a < src->n_animals; a++) total += src->joints_per_animal[a];
    if (!src->joints_per_animal || total != src->n_joints)
      return dlcc_fail(err, DLCC_ERR_INVALID,
                       "frame %zu of the batch (%s) groups %zu of its %zu joints into its %zu animals", i + 1,
                       src->name ? src->name : "unnamed", total, src->n_joints, src->n_animals);
  }
  return DLCC_OK;
}

dlcc_status dlcc_aug_madlc_batch_make(dlcc_aug_batch *batch, const dlcc_pose_cfg *cfg, const dlcc_aug_madlc_plan *plan,
                                      const dlcc_aug_source *sources, size_t n, dlcc_rng *rng, dlcc_error *err) {
  dlcc_status st = dlcc_aug_check_sources(sources, n, err);
  if (!st) st = check_groups(sources, n, err);
  if (!st) {
    choose_window(batch, cfg, plan, rng);
    st = dlcc_aug_reserve_frames(batch, n, err);
  }
  for (size_t i = 0; i < n && !st; i++) st = make_sample(batch, plan, &sources[i], i, rng, err);
  if (st) batch->n = 0;
  return st;
}
