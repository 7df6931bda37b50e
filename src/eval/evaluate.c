/* `dlcc evaluate` (see evaluate.h): DeepLabCut's evaluate_network for single-animal projects. Each
 * labeled image is read from the project, predicted at native size with batch 1, and its keypoints
 * laid out as the label table's columns; eval/ computes and writes the rest. */
#include "eval/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/plot.h"
#include "project/layout.h"
#include "util/fileio.h"

static double seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static dlcc_status read_labels_and_split(dlcc_evaluation *ev, dlcc_error *err) {
  const dlcc_project_config *cfg = ev->cfg;
  char *dataset_dir = dlcc_layout_dataset_dir(cfg);
  char *split_rel = dlcc_layout_split_file(cfg, ev->model.training_fraction, ev->model.shuffle);
  char *split_path = split_rel ? dlcc_path_join(cfg->root, split_rel) : NULL;
  ev->labels_path = dataset_dir ? dlcc_strdupf("%s/%s/CollectedData_%s.csv", cfg->root, dataset_dir, cfg->scorer)
                                : NULL;
  dlcc_status st = split_path && ev->labels_path ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st && !dlcc_path_is_file(ev->labels_path))
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s is missing: evaluation scores the merged labels that create-training-dataset writes; run "
                   "dlcc create-training-dataset %s --shuffle %d (a shuffle with snapshots is kept as it is)",
                   ev->labels_path, cfg->config_path, ev->model.shuffle);
  if (!st) st = dlcc_labels_read(ev->labels_path, &ev->labels, err);
  if (!st && ev->labels.multianimal)
    st = dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "%s is a multi-animal table; dlcc evaluate scores single-animal "
                   "projects for now", ev->labels_path);
  if (!st) st = dlcc_eval_split_read(split_path, &ev->labels, &ev->split, err);
  free(dataset_dir);
  free(split_rel);
  free(split_path);
  return st;
}

dlcc_status dlcc_evaluation_open(dlcc_evaluation *ev, const dlcc_project_config *cfg, const dlcc_model_options *opt,
                                 dlcc_notes *notes, dlcc_error *err) {
  memset(ev, 0, sizeof *ev);
  ev->cfg = cfg;
  ev->model.loaded = -1;
  if (cfg->multianimal)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED,
                     "%s is a multi-animal project; dlcc evaluate handles single-animal projects for now "
                     "(multi-animal evaluation matches predicted individuals to labeled ones, which comes with "
                     "multi-animal inference)", cfg->config_path);
  dlcc_model_options o = *opt;
  o.allow_all = true;
  dlcc_status st = dlcc_model_open(&ev->model, cfg, &o, notes, err);
  if (!st) st = read_labels_and_split(ev, err);
  if (st) return st;
  size_t cells = ev->labels.n_rows * ev->labels.n_columns * 3;
  ev->joint_of_column = calloc(ev->labels.n_columns ? ev->labels.n_columns : 1, sizeof *ev->joint_of_column);
  ev->predictions = malloc((cells ? cells : 1) * sizeof *ev->predictions);
  char *rel = dlcc_eval_folder(cfg, ev->model.training_fraction, ev->model.shuffle);
  ev->eval_dir = rel ? dlcc_path_join(cfg->root, rel) : NULL;
  free(rel);
  if (!ev->joint_of_column || !ev->predictions || !ev->eval_dir) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  st = dlcc_eval_column_joints(&ev->labels, ev->model.pose_cfg.all_joints_names, ev->model.pose_cfg.n_joints,
                               ev->joint_of_column, err);
  if (st) dlcc_error_prefix(err, "%s against the network of %s: ", ev->labels_path, ev->model.pose_cfg_path);
  return st;
}

/* Predicts row `row` of the labels into ev->predictions. */
static dlcc_status predict_row(dlcc_evaluation *ev, dlcc_nn_engine *e, size_t row, double *pose, dlcc_error *err) {
  const dlcc_label_table *t = &ev->labels;
  char *path = dlcc_path_join(ev->cfg->root, t->row_names[row]);
  if (!path) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_image img = {0};
  dlcc_status st = dlcc_image_load(path, &img, err);
  if (st) dlcc_error_prefix(err, "evaluating %s (row %zu of %s): ", t->row_names[row], row, ev->labels_path);
  if (!st) st = dlcc_model_predict(&ev->model, e, &img, 1, NULL, pose, err);
  if (st && img.rgb) dlcc_error_prefix(err, "evaluating %s: ", path);
  for (size_t c = 0; !st && c < t->n_columns; c++)
    memcpy(ev->predictions + (row * t->n_columns + c) * 3, pose + ev->joint_of_column[c] * 3, 3 * sizeof *pose);
  dlcc_image_free(&img);
  free(path);
  return st;
}

static dlcc_status predict_all(dlcc_evaluation *ev, dlcc_nn_engine *e, dlcc_progress_fn progress, void *user,
                               dlcc_error *err) {
  double *pose = malloc((size_t)ev->model.predict.num_joints * 3 * sizeof *pose);
  if (!pose) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  double start = seconds_now();
  dlcc_status st = DLCC_OK;
  for (size_t row = 0; row < ev->labels.n_rows && !st; row++) {
    st = predict_row(ev, e, row, pose, err);
    if (!st && progress) progress(user, (long)row + 1, (long)ev->labels.n_rows, seconds_now() - start);
  }
  free(pose);
  return st;
}

static dlcc_status set_paths(dlcc_evaluation *ev, dlcc_snapshot_evaluation *out, bool plot, dlcc_error *err) {
  char *parent = dlcc_path_dirname(ev->eval_dir);
  out->scorer = dlcc_model_scorer(&ev->model, ev->cfg);
  if (out->scorer) {
    out->predictions_path = dlcc_eval_predictions_path(ev->eval_dir, out->scorer, out->iterations);
    out->keypoint_path = dlcc_strdupf("%s/%s-keypoint-results.csv", ev->eval_dir, out->scorer);
    out->results_path = dlcc_strdupf("%s/%s-results.csv", ev->eval_dir, out->scorer);
    if (plot) out->plot_dir = dlcc_eval_plot_dir(ev->eval_dir, out->scorer, out->iterations);
  }
  out->combined_path = parent ? dlcc_path_join(parent, "CombinedEvaluation-results.csv") : NULL;
  free(parent);
  if (!out->scorer || !out->predictions_path || !out->keypoint_path || !out->results_path || !out->combined_path ||
      (plot && !out->plot_dir))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  return DLCC_OK;
}

static dlcc_status write_outputs(dlcc_evaluation *ev, dlcc_snapshot_evaluation *out, dlcc_error *err) {
  dlcc_status st = dlcc_mkdirs(ev->eval_dir, err);
  if (!st) st = dlcc_eval_write_predictions(out->predictions_path, &ev->labels, ev->predictions, out->scorer, err);
  if (!st) st = dlcc_eval_write_keypoint_results(out->keypoint_path, &out->errors, err);
  if (!st) st = dlcc_eval_write_results(ev->eval_dir, out->scorer, &out->row, err);
  if (st || !out->plot_dir) return st;
  const dlcc_project_config *cfg = ev->cfg;
  dlcc_eval_plot_style style = {cfg->colormap, cfg->dotsize, cfg->alphavalue, cfg->pcutoff};
  dlcc_eval_split split = dlcc_eval_split_of(&ev->split);
  return dlcc_eval_plot(cfg->root, out->plot_dir, &ev->labels, ev->predictions, ev->joint_of_column,
                        ev->model.pose_cfg.n_joints, &split, &style, err);
}

dlcc_status dlcc_evaluation_run(dlcc_evaluation *ev, dlcc_nn_engine *e, size_t k, bool plot, dlcc_progress_fn progress,
                                void *user, dlcc_snapshot_evaluation *out, dlcc_error *err) {
  memset(out, 0, sizeof *out);
  if (k >= ev->model.n_selected)
    return dlcc_fail(err, DLCC_ERR_INVALID, "snapshot choice %zu of %zu does not exist", k, ev->model.n_selected);
  dlcc_status st = dlcc_model_load(&ev->model, ev->model.selected[k], err);
  if (st) return st;
  out->iterations = dlcc_model_iteration(&ev->model);
  st = set_paths(ev, out, plot, err);
  if (!st) st = predict_all(ev, e, progress, user, err);
  dlcc_eval_split split = dlcc_eval_split_of(&ev->split);
  if (!st) st = dlcc_eval_compute(&ev->labels, ev->predictions, &split, ev->cfg->pcutoff, &out->errors, err);
  if (st) return st;
  out->row = dlcc_eval_result_row_of(&out->errors, out->iterations, ev->model.training_fraction, ev->model.shuffle);
  return write_outputs(ev, out, err);
}

void dlcc_snapshot_evaluation_free(dlcc_snapshot_evaluation *s) {
  free(s->scorer);
  dlcc_eval_errors_free(&s->errors);
  free(s->predictions_path);
  free(s->keypoint_path);
  free(s->results_path);
  free(s->combined_path);
  free(s->plot_dir);
  memset(s, 0, sizeof *s);
}

void dlcc_evaluation_close(dlcc_evaluation *ev) {
  dlcc_model_close(&ev->model);
  free(ev->labels_path);
  dlcc_labels_free(&ev->labels);
  dlcc_eval_split_indices_free(&ev->split);
  free(ev->joint_of_column);
  free(ev->eval_dir);
  free(ev->predictions);
  memset(ev, 0, sizeof *ev);
}
