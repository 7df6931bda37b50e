/* `dlcc create-training-dataset`: merges the project's labels, splits them per TrainingFraction with
 * a seeded permutation exactly as DeepLabCut sizes it (train = int(n * fraction)), and writes the
 * training set, the split, and the shuffle's train/test pose_cfg.yaml where DeepLabCut puts them. */
#ifndef DLCC_DATASET_TRAINING_SET_H
#define DLCC_DATASET_TRAINING_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/notes.h"

typedef struct dlcc_training_set_options {
  int shuffle;               /* >= 1 */
  const char *net_type;      /* NULL: config.yaml's default_net_type */
  bool seed_given;
  uint64_t seed;             /* permutation seed; default: the shuffle number */
  bool paf_graph_skeleton;   /* maDLC: PAF graph from config.yaml's skeleton instead of all pairs */
} dlcc_training_set_options;

typedef struct dlcc_training_split {
  double fraction;
  size_t n_train, n_test;
  char *model_dir;           /* absolute dlc-models/... folder of this shuffle */
  char *dataset_file;        /* absolute path of the training set */
} dlcc_training_split;

typedef struct dlcc_training_set_result {
  size_t n_images;           /* labeled images used */
  size_t n_unusable;         /* images that no jitter makes fit the input-size bounds (named in notes) */
  size_t n_splits;
  dlcc_training_split *splits;
} dlcc_training_set_result;

/* Creates the training dataset of one shuffle for every TrainingFraction of config.yaml. Refuses to
 * overwrite a shuffle that already has snapshots. Notes get every skipped folder, missing image and
 * unusable image. */
dlcc_status dlcc_training_set_create(const char *config_path, const dlcc_training_set_options *opt,
                                     dlcc_training_set_result *result, dlcc_notes *notes, dlcc_error *err);

void dlcc_training_set_result_free(dlcc_training_set_result *result);

#endif
