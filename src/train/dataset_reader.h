/* The training set of a shuffle as training reads it: the JSON that create-training-dataset writes
 * (named by pose_cfg.yaml's `dataset`), checked entry by entry, with every image found on disk and
 * decoded once into memory up to a byte budget (the rest is decoded again each time it is drawn). */
#ifndef DLCC_TRAIN_DATASET_READER_H
#define DLCC_TRAIN_DATASET_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"
#include "project/posecfg.h"
#include "targets/scoremap.h"
#include "util/error.h"

/* Decoded pixels kept in memory by default: 4 GiB holds about 4600 frames of 640x480 (openfield's
 * 110 training frames take 101 MiB). */
#define DLCC_TRAIN_DATASET_DEFAULT_CACHE_BYTES ((size_t)4 << 30)

typedef struct dlcc_train_dataset_options {
  size_t cache_bytes;   /* decode images up front while their pixels fit in this many bytes; 0: none */
} dlcc_train_dataset_options;

typedef struct dlcc_train_image {
  char *name;           /* as the training set lists it, '/'-separated: labeled-data/m4s1/img0000.png */
  char *path;           /* where it was found on disk */
  int width, height;    /* from the training set, checked against the file */
  dlcc_joint *joints;   /* the visible joints of every animal, in the image's pixels, animal by animal */
  size_t n_joints;
  /* joints_per_animal[a]: how many of `joints` (consecutive, in order) belong to animal slot a, as the
   * training set lists the slots (maDLC: the individuals, then "single" for the unique body parts;
   * single-animal: one slot). n_animals slots, some possibly empty. */
  size_t *joints_per_animal;
  size_t n_animals;
  dlcc_image pixels;    /* decoded when cached (pixels.rgb != NULL); else read on demand */
} dlcc_train_image;

typedef struct dlcc_train_dataset {
  char *file;           /* the training-set file read */
  bool multianimal;
  int num_joints;
  size_t n_images;
  dlcc_train_image *images;
  size_t n_cached;      /* images decoded up front (the first n_cached that fit the budget, in order) */
  size_t cached_bytes;
} dlcc_train_dataset;

/* Reads the training set named by cfg->dataset. A relative name is looked up under project_root (the
 * folder holding config.yaml, which stays true when a project is moved) and then under
 * cfg->project_path; image paths likewise. Checks, each failure naming the file, the image
 * (images[i] and its path) and what is wrong: the JSON's keys and types, sizes positive, joint ids in
 * [0, num_joints), coordinates finite, joint names and multianimal equal to the pose_cfg's, every image
 * present on disk at the size listed. opt NULL: DLCC_TRAIN_DATASET_DEFAULT_CACHE_BYTES. On failure ds
 * holds nothing to free. Free with dlcc_train_dataset_free. */
dlcc_status dlcc_train_dataset_load(const dlcc_pose_cfg *cfg, const char *project_root,
                                    const dlcc_train_dataset_options *opt, dlcc_train_dataset *ds, dlcc_error *err);

/* The pixels of image i: the cached ones, or the file decoded into *scratch (its previous pixels
 * freed; the caller frees the last ones with dlcc_image_free). Fails when the file has gone or changed
 * size since loading. Safe to call from several threads with different scratch images. */
dlcc_status dlcc_train_dataset_pixels(const dlcc_train_dataset *ds, size_t i, dlcc_image *scratch,
                                      const dlcc_image **pixels, dlcc_error *err);

void dlcc_train_dataset_free(dlcc_train_dataset *ds);

#endif
