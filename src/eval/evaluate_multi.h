/* The multi-animal side of `dlcc evaluate`, as DeepLabCut's TensorFlow evaluate_multianimal: each
 * labeled image's maps at native size, its peaks and assembled individuals (with the settings of
 * DeepLabCut's evaluation, not of video analysis), the numbers of ma_metrics.h and maDLC's extra file
 * dist_<iterations>.csv. evaluate.c calls this for multi-animal projects. */
#ifndef DLCC_EVAL_EVALUATE_MULTI_H
#define DLCC_EVAL_EVALUATE_MULTI_H

#include <stdbool.h>
#include <stddef.h>

#include "eval/ma_metrics.h"
#include "infer/model.h"
#include "infer/predict_multi.h"
#include "nn/engine.h"
#include "project/config.h"
#include "project/inference_cfg.h"
#include "project/labels.h"
#include "util/error.h"
#include "util/notes.h"

typedef struct dlcc_ma_evaluation {
  char *inference_cfg_path;          /* <model_dir>/test/inference_cfg.yaml */
  dlcc_inference_cfg inference;      /* read from it, or DeepLabCut's template when it is missing */
  dlcc_oks_params oks;               /* test pose_cfg's oks_sigma (0.1) and bbox_margin (0) */
  dlcc_multi_predictor predictor;
  dlcc_ma_predictions predictions;   /* of the last snapshot run */
  double *xy, *score;                /* one image's peaks, grown as needed */
  size_t peak_cap;
  double *animal_score;              /* [topktoretain] */
} dlcc_ma_evaluation;

/* Reads inference_cfg.yaml (a note when it is missing: DeepLabCut's template is used) and the OKS
 * settings, and sets up peaks and the Assembler as DeepLabCut's evaluation runs it
 * (crossvalutils.cross_validate_paf_graphs -> _benchmark_paf_graphs): topktoretain and pafthreshold
 * from inference_cfg.yaml, pcutoff 0.1 and min_n_links 2 whatever the file says, optimal pairing,
 * add_discarded on, no calibration, every edge of partaffinityfield_graph. n_images: the label rows.
 * Free with dlcc_ma_evaluation_close (also after a failure). */
dlcc_status dlcc_ma_evaluation_open(dlcc_ma_evaluation *ma, const dlcc_project_config *cfg, const dlcc_model *model,
                                    size_t n_images, dlcc_notes *notes, dlcc_error *err);

/* Predicts row `row` of labels (the image <project_root>/<row name>) with the loaded snapshot into
 * ma->predictions. */
dlcc_status dlcc_ma_evaluation_predict_row(dlcc_ma_evaluation *ma, dlcc_model *model, dlcc_nn_engine *e,
                                           const char *project_root, const dlcc_label_table *labels, size_t row,
                                           dlcc_error *err);

void dlcc_ma_evaluation_close(dlcc_ma_evaluation *ma);

/* <eval_dir>/dist_<iterations>.csv, DeepLabCut's table of the detection errors: one row per label row
 * (index 0..n-1), columns (scorer, individuals, bodyparts, metrics) sorted by individual then body part
 * (as pandas' sort_index orders strings), each with "rmse" (the distance to the matched detection) then
 * "conf" (its score); NaN as empty cells. distance and conf: labels->n_rows x labels->n_columns.
 * Atomic. */
dlcc_status dlcc_ma_write_dist(const char *path, const dlcc_label_table *labels, const double *distance,
                               const double *conf, dlcc_error *err);

#endif
