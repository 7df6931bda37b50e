/* Training batches prepared by a pool of worker threads while the network computes. Batch k is a
 * pure function of (seed, k): its images are drawn as DeepLabCut's imgaug loaders draw them
 * (batch_size indices uniformly with replacement, every iteration independent of the others), then
 * augmented (augment/batch.h; maDLC: augment/batch_madlc.h) and given score-map and
 * location-refinement targets (targets/scoremap.h; maDLC also identity channels and part affinity
 * fields, targets/paf.h).
 * So any number of workers gives the same bytes, and a run resumed at iteration k gets the batches it
 * would have got. Batches come out in order k, k+1, ... through a ring of recycled buffers. */
#ifndef DLCC_TRAIN_LOADER_H
#define DLCC_TRAIN_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "augment/batch.h"
#include "project/posecfg.h"
#include "train/dataset_reader.h"
#include "util/error.h"

typedef struct dlcc_train_loader_options {
  uint64_t seed;
  uint64_t first_batch;   /* index k of the first batch handed out: 0, or the iteration resumed at */
  int n_workers;          /* worker threads, 1..DLCC_TRAIN_LOADER_MAX_WORKERS */
  int ring_size;          /* batches prepared ahead, counting the one the consumer holds; 0: 2 x n_workers */
} dlcc_train_loader_options;

enum { DLCC_TRAIN_LOADER_MAX_WORKERS = 256 };

/* One batch, every array plain NCHW f32. The map arrays have map_height x map_width cells,
 * dlcc_scoremap_size of the input's size under the pose_cfg's stride. maDLC batches (pose_cfg
 * multianimal) come from augment/batch_madlc.h: the score map then has num_idchannel identity
 * channels after the joints' (weights likewise), and with partaffinityfield_predict the part
 * affinity fields and their mask (targets/paf.h); a single-animal batch has neither. */
typedef struct dlcc_train_batch {
  uint64_t index;           /* k */
  size_t n;                 /* frames: batch_size */
  int width, height;        /* input size, the same for every frame of the batch */
  int map_width, map_height;
  int num_joints;
  int num_idchannel;        /* maDLC identity channels; 0 otherwise */
  int num_limbs;            /* maDLC limbs with part affinity fields; 0: paf and paf_mask are NULL */
  const float *inputs;      /* n x 3 x height x width, RGB 0..255 (mean_pixel not subtracted) */
  const float *scoremap;    /* n x (num_joints + num_idchannel) x map */
  const float *weights;     /* n x (num_joints + num_idchannel) x map */
  const float *locref;      /* n x 2 num_joints x map: (dx, dy) / locref_stdev per joint */
  const float *locref_mask; /* n x 2 num_joints x map */
  const float *paf;         /* n x 2 num_limbs x map: per limb its x then y component */
  const float *paf_mask;    /* n x 2 num_limbs x map: the pairwise loss's weights */
  const size_t *image_indices;        /* n: which image of the training set each frame is */
  const dlcc_aug_sample *samples;     /* n: per frame the surviving joints (maDLC: by animal), its scale,
                                         mirror, rotation (maDLC: and crop window) */
  double scale;             /* the batch's drawn scale, global_scale x jitter (maDLC: the targets' scale,
                               mean(window / crop_size)) */
} dlcc_train_batch;

typedef struct dlcc_train_loader dlcc_train_loader;

/* Starts the workers on batches first_batch, first_batch + 1, ... of the data under cfg (batch_size,
 * augmentation, target parameters). data and cfg must stay unchanged until dlcc_train_loader_stop.
 * Fails on bad options (naming them) or when threads or memory cannot be had; then *loader is NULL. */
dlcc_status dlcc_train_loader_start(dlcc_train_loader **loader, const dlcc_train_dataset *data,
                                    const dlcc_pose_cfg *cfg, const dlcc_train_loader_options *opt,
                                    dlcc_error *err);

/* Hands out the next batch in order, waiting only while it is not ready yet. *batch stays valid until
 * the next call or dlcc_train_loader_stop (the call gives its buffers back to the workers). When the
 * worker making this batch failed, returns its status with the message prefixed by "batch <k>"
 * and *batch NULL; the following call goes on with batch k + 1. */
dlcc_status dlcc_train_loader_next(dlcc_train_loader *loader, const dlcc_train_batch **batch, dlcc_error *err);

/* Batches finished and not yet handed out (for progress displays and tests). */
size_t dlcc_train_loader_ready(dlcc_train_loader *loader);

/* Stops the workers (those waiting for room in the ring at once, those busy after their batch), joins
 * them and frees everything. NULL is allowed. */
void dlcc_train_loader_stop(dlcc_train_loader *loader);

#endif
