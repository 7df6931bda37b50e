/* The train/test split `dlcc evaluate` scores: the Documentation_data-<Task>_<pct>shuffle<k>.json
 * that create-training-dataset writes (train_indices, test_indices: rows of the merged
 * CollectedData in the training-set folder; train_images, test_images: those rows' names). */
#ifndef DLCC_EVAL_SPLIT_H
#define DLCC_EVAL_SPLIT_H

#include <stddef.h>

#include "eval/errors.h"
#include "project/labels.h"
#include "util/error.h"

typedef struct dlcc_eval_split_indices {
  size_t *train;
  size_t n_train;
  size_t *test;
  size_t n_test;
} dlcc_eval_split_indices;

/* Reads the split at path and checks it against labels (the merged CollectedData): every index a
 * whole number naming a row, no row listed twice, and, where the file names the images, each index's
 * row having that name. Errors name the file, the index and what to do (re-create the training
 * dataset). On success free out with dlcc_eval_split_indices_free. */
dlcc_status dlcc_eval_split_read(const char *path, const dlcc_label_table *labels, dlcc_eval_split_indices *out,
                                 dlcc_error *err);

void dlcc_eval_split_indices_free(dlcc_eval_split_indices *s);

/* The split as dlcc_eval_compute and dlcc_eval_plot take it (pointing into s). */
dlcc_eval_split dlcc_eval_split_of(const dlcc_eval_split_indices *s);

#endif
