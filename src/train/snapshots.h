/* The snapshots of a training run in its train folder: `<prefix>-<iteration>.safetensors` as
 * DeepLabCut names its checkpoints (snapshot_prefix of pose_cfg.yaml, e.g. train/snapshot-5000),
 * found, listed newest last, and pruned to max_snapshots_to_keep the way TensorFlow's Saver does. */
#ifndef DLCC_TRAIN_SNAPSHOTS_H
#define DLCC_TRAIN_SNAPSHOTS_H

#include <stddef.h>

#include "util/error.h"

#define DLCC_SNAPSHOT_EXTENSION ".safetensors"

/* "<prefix>-<iteration>.safetensors" (caller frees; NULL when memory runs out). */
char *dlcc_snapshot_path(const char *prefix, long iteration);

/* The iterations of the dlcc snapshots next to prefix (files named basename(prefix)-<digits>.safetensors
 * in dirname(prefix); DeepLabCut's TensorFlow files snapshot-N.index/.meta/.data-* are not listed), in
 * increasing order, into *iterations (caller frees; NULL when there are none). A missing folder
 * lists nothing. Fails only when the folder exists but cannot be read, or memory runs out. */
dlcc_status dlcc_snapshots_list(const char *prefix, long **iterations, size_t *count, dlcc_error *err);

/* Deletes the oldest snapshots (lowest iterations) next to prefix until at most keep are left
 * (keep >= 1). *removed (may be NULL) receives how many were deleted. Fails naming the file that
 * could not be deleted. */
dlcc_status dlcc_snapshots_prune(const char *prefix, size_t keep, size_t *removed, dlcc_error *err);

#endif
