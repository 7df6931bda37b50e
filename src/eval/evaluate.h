/* `dlcc evaluate`: every labeled image of the merged CollectedData (training-set folder) predicted at
 * its native size, one image at a time, by a snapshot of a shuffle; DeepLabCut's train and test errors
 * from the shuffle's split; and the files DeepLabCut's evaluate_network writes where it writes them.
 * Multi-animal projects go through evaluate_multi.h (individuals assembled, mAP/mAR). */
#ifndef DLCC_EVAL_EVALUATE_H
#define DLCC_EVAL_EVALUATE_H

#include <stdbool.h>
#include <stddef.h>

#include "eval/errors.h"
#include "eval/evaluate_multi.h"
#include "eval/ma_metrics.h"
#include "eval/results_csv.h"
#include "eval/split.h"
#include "infer/model.h"
#include "nn/engine.h"
#include "project/config.h"
#include "project/labels.h"
#include "util/error.h"
#include "util/notes.h"

typedef struct dlcc_evaluation {
  const dlcc_project_config *cfg;   /* borrowed; outlives the evaluation */
  dlcc_model model;
  char *labels_path;                /* the merged CollectedData_<scorer>.csv */
  dlcc_label_table labels;
  dlcc_eval_split_indices split;
  size_t *joint_of_column;          /* labels' columns -> the network's joints */
  char *eval_dir;                   /* absolute evaluation-results/iteration-<i>/<Task><date>-trainset<pct>shuffle<k> */
  double *predictions;              /* labels.n_rows x labels.n_columns x 3 of the last snapshot run (maDLC:
                                       the detection each label was matched with) */
  dlcc_ma_evaluation *ma;           /* multi-animal projects only, else NULL */
} dlcc_evaluation;

/* Opens the shuffle (dlcc_model_open with every snapshot when snapshotindex is all), reads the merged
 * labels and the split and maps the labels' body parts to the network's joints; for a multi-animal
 * project also inference_cfg.yaml and the assembly (dlcc_ma_evaluation_open; notes say what is
 * missing). Free with dlcc_evaluation_close, also after a failure. */
dlcc_status dlcc_evaluation_open(dlcc_evaluation *ev, const dlcc_project_config *cfg, const dlcc_model_options *opt,
                                 dlcc_notes *notes, dlcc_error *err);

/* What one snapshot's evaluation gave and where it went. */
typedef struct dlcc_snapshot_evaluation {
  long iterations;
  char *scorer;                 /* DLC_<net>_<Task><date>shuffle<k>_<iterations> */
  dlcc_eval_errors errors;
  dlcc_eval_result_row row;
  char *predictions_path;       /* <eval_dir>/<scorer>-snapshot-<iterations>.csv */
  char *keypoint_path;          /* <eval_dir>/<scorer>-keypoint-results.csv */
  char *results_path;           /* <eval_dir>/<scorer>-results.csv */
  char *combined_path;          /* <eval_dir>/../CombinedEvaluation-results.csv */
  char *plot_dir;               /* <eval_dir>/LabeledImages_<scorer>_snapshot-<iterations>, NULL unless plotted */
  /* Multi-animal projects: errors above are the detection errors (ma_metrics.h); ma has the assembly
   * errors and mAP/mAR (its matched and detection fields are empty: they live in errors and the
   * evaluation's predictions). */
  bool multianimal;
  dlcc_ma_eval_result ma;
  size_t dropped_individuals;   /* assembled individuals beyond the labeled ones, not in assemblies_path */
  char *dist_path;              /* <eval_dir>/dist_<iterations>.csv */
  char *assemblies_path;        /* <eval_dir>/<scorer>-snapshot-<iterations>-assemblies.csv */
} dlcc_snapshot_evaluation;

/* Evaluates ev->model.snapshots[ev->model.selected[k]]: loads it, predicts every labeled image
 * (progress, when given, after each), computes the errors with config.yaml's pcutoff, writes the
 * predictions, the per-body-part table and both results tables, and with plot the labeled images
 * (config.yaml's colormap, dotsize, alphavalue). Multi-animal: the predictions are the matched
 * detections, the results tables get mAP / mAR columns, dist_<iterations>.csv and the assembled
 * individuals are written too, and the plots show the assembled individuals. Free out with
 * dlcc_snapshot_evaluation_free. */
dlcc_status dlcc_evaluation_run(dlcc_evaluation *ev, dlcc_nn_engine *e, size_t k, bool plot, dlcc_progress_fn progress,
                                void *user, dlcc_snapshot_evaluation *out, dlcc_error *err);

void dlcc_snapshot_evaluation_free(dlcc_snapshot_evaluation *s);
void dlcc_evaluation_close(dlcc_evaluation *ev);

#endif
