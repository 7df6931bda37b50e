/* The files `dlcc evaluate` writes where DeepLabCut's evaluate_network writes them: the results
 * tables (CombinedEvaluation-results.csv and <scorer>-results.csv, evaluate.py make_results_file),
 * the predictions of a snapshot, the per-body-part table (keypoint_error), and a text table for the
 * terminal. */
#ifndef DLCC_EVAL_RESULTS_CSV_H
#define DLCC_EVAL_RESULTS_CSV_H

#include "eval/errors.h"
#include "project/config.h"
#include "project/labels.h"
#include "util/error.h"

/* One row of the results tables. Errors are kept unrounded here; they are written as np.round(x, 2)
 * (NaN as an empty cell, as pandas writes it). */
typedef struct dlcc_eval_result_row {
  long iterations;           /* "Training iterations:" */
  int training_pct;          /* "%Training dataset": int(100 * TrainingFraction) */
  int shuffle;               /* "Shuffle number" */
  double train_error;        /* " Train error(px)" */
  double test_error;         /* " Test error(px)" */
  double pcutoff;            /* "p-cutoff used" */
  double train_error_cutoff; /* "Train error with p-cutoff" */
  double test_error_cutoff;  /* "Test error with p-cutoff" */
  /* Multi-animal projects: pose mAP / mAR over OKS 0.50:0.95, in percent, in four more columns named as
   * DeepLabCut 3 names them in its results tables ("train mAP", "train mAR", "test mAP", "test mAR";
   * its TensorFlow engine keeps them in <scorer>_map.pickle instead). */
  bool has_map;
  double train_map, train_mar, test_map, test_mar;
} dlcc_eval_result_row;

/* The row of one evaluated snapshot. */
dlcc_eval_result_row dlcc_eval_result_row_of(const dlcc_eval_errors *e, long iterations, double training_fraction,
                                             int shuffle);

/* evaluation-results/iteration-<i>/<Task><date>-trainset<pct>shuffle<k>, relative to the project
 * root (DeepLabCut's get_evaluation_folder); caller frees. */
char *dlcc_eval_folder(const dlcc_project_config *cfg, double training_fraction, int shuffle);

/* Adds row to the results table at path, or replaces the rows of the same (iterations, training
 * percentage, shuffle); other rows are kept as they were written, in their order, and the index
 * column is renumbered 0..n-1 as pandas' reset_index does. A missing file is created. The file is
 * rewritten atomically. The table has the 8 columns, or 12 when it has or gets mAP columns (rows
 * without them get empty cells, as pandas' concat writes them). An existing file whose header is not
 * one of these, or whose rows do not have the header's cells, is refused (the message names the file
 * and line) rather than overwritten. */
dlcc_status dlcc_eval_results_update(const char *path, const dlcc_eval_result_row *row, dlcc_error *err);

/* Both tables of make_results_file: <eval_dir>/<scorer>-results.csv and, one folder up,
 * CombinedEvaluation-results.csv (eval_dir is dlcc_eval_folder's, made absolute; created when
 * missing). DeepLabCut appends a row on every evaluation; dlcc replaces the row of the same snapshot
 * so that re-evaluating does not leave stale duplicates. */
dlcc_status dlcc_eval_write_results(const char *eval_dir, const char *scorer, const dlcc_eval_result_row *row,
                                    dlcc_error *err);

/* <eval_dir>/<scorer>-snapshot-<iterations>.csv: where DeepLabCut writes the predictions of a
 * snapshot as .h5 (check_if_not_evaluated's name), dlcc writes the same table as CSV. Caller frees. */
char *dlcc_eval_predictions_path(const char *eval_dir, const char *scorer, long iterations);

/* Writes predictions (labels->n_rows x labels->n_columns x 3: x, y, likelihood) as an analysis-style
 * table: scorer `scorer`, the rows and columns of labels (with individuals for maDLC), coords x, y,
 * likelihood; missing values as empty cells. Atomic. */
dlcc_status dlcc_eval_write_predictions(const char *path, const dlcc_label_table *labels, const double *predictions,
                                        const char *scorer, dlcc_error *err);

/* <scorer>-keypoint-results.csv as keypoint_error writes it (per_keypoint_evaluation): index
 * "Error Type" with the rows "Train error (px)", "Test error (px)", "Train error (px) with p-cutoff",
 * "Test error (px) with p-cutoff", one column per body part, unrounded. Atomic. */
dlcc_status dlcc_eval_write_keypoint_results(const char *path, const dlcc_eval_errors *e, dlcc_error *err);

/* A text table for the terminal: one line per body part and a last line "all", with train and test
 * error with and without pcutoff, rounded to 2 decimals ("-" where nothing counts). Caller frees;
 * NULL when out of memory. */
char *dlcc_eval_format_table(const dlcc_eval_errors *e);

#endif
