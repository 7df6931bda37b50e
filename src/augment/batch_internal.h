/* The pieces the single-animal batch (batch.c) and maDLC's (batch_madlc.c) share: growing the
 * batch's buffers, checking the sources, the batch's scale draw, the on-image test and the planar
 * copy. Only for src/augment; the rest of dlcc goes through batch.h and batch_madlc.h. */
#ifndef DLCC_AUGMENT_BATCH_INTERNAL_H
#define DLCC_AUGMENT_BATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "augment/batch.h"

/* Makes img a width x height image, reallocating only when it outgrows *capacity bytes. */
dlcc_status dlcc_aug_reserve_image(dlcc_image *img, size_t *capacity, int width, int height, dlcc_error *err);

/* Room for n frames of b->width x b->height (set them first); sets b->n. New samples start zeroed. */
dlcc_status dlcc_aug_reserve_frames(dlcc_aug_batch *b, size_t n, dlcc_error *err);

/* Room for n joints in s->joints. */
dlcc_status dlcc_aug_reserve_joints(dlcc_aug_sample *s, size_t n, dlcc_error *err);

/* 1 to UINT32_MAX sources, each with pixels, and joints when it lists some. */
dlcc_status dlcc_aug_check_sources(const dlcc_aug_source *sources, size_t n, dlcc_error *err);

/* global_scale x uniform(scale_jitter_lo, scale_jitter_up): one draw from rng. */
double dlcc_aug_draw_scale(const dlcc_pose_cfg *cfg, dlcc_rng *rng);

/* Whether a point lies on the image: with pixel centres at integers the image spans [-0.5, side - 0.5],
 * which is DeepLabCut's 0 < x < width test in imgaug's coordinates (pixel edges at integers). */
bool dlcc_aug_inside(double x, double y, int width, int height);

/* Interleaved 8-bit RGB to the three float planes of one frame. */
void dlcc_aug_write_planes(const dlcc_image *img, float *out);

#endif
