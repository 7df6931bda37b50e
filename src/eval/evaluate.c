/* `dlcc evaluate` (see evaluate.h): DeepLabCut's evaluate_network. Each labeled image is read from the
 * project and predicted at native size with batch 1; single animal: its keypoints laid out as the
 * label table's columns; multi-animal: peaks and assembled individuals (evaluate_multi.c), the labels
 * matched with detections and individuals (ma_metrics.c). eval/ computes and writes the rest. */
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
  if (!st && ev->labels.multianimal != cfg->multianimal)
    st = dlcc_fail(err, DLCC_ERR_INVALID, "%s is a %s table but %s says multianimalproject: %s; create the training "
                   "dataset again", ev->labels_path, ev->labels.multianimal ? "multi-animal" : "single-animal",
                   cfg->config_path, cfg->multianimal ? "true" : "false");
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
  if (st || !cfg->multianimal) return st;
  if (!(ev->ma = calloc(1, sizeof *ev->ma))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  return dlcc_ma_evaluation_open(ev->ma, cfg, &ev->model, ev->labels.n_rows, notes, err);
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
    st = ev->ma ? dlcc_ma_evaluation_predict_row(ev->ma, &ev->model, e, ev->cfg->root, &ev->labels, row, err)
                : predict_row(ev, e, row, pose, err);
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
  if (ev->ma) {
    out->multianimal = true;
    out->dist_path = dlcc_strdupf("%s/dist_%ld.csv", ev->eval_dir, out->iterations);
    out->assemblies_path = out->scorer ? dlcc_strdupf("%s/%s-snapshot-%ld-assemblies.csv", ev->eval_dir, out->scorer,
                                                      out->iterations) : NULL;
  }
  if (!out->scorer || !out->predictions_path || !out->keypoint_path || !out->results_path || !out->combined_path ||
      (plot && !out->plot_dir) || (ev->ma && (!out->dist_path || !out->assemblies_path)))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  return DLCC_OK;
}

/* The multi-animal input of ma_metrics for this evaluation. */
static dlcc_ma_eval_input ma_input(const dlcc_evaluation *ev, const dlcc_eval_split *split) {
  return (dlcc_ma_eval_input){&ev->labels, ev->joint_of_column, split, ev->cfg->pcutoff, ev->ma->oks};
}

/* maDLC's extra files; *plotted receives the table to plot (the assembled individuals; caller frees). */
static dlcc_status write_multi_outputs(dlcc_evaluation *ev, dlcc_snapshot_evaluation *out, double **plotted,
                                       dlcc_error *err) {
  dlcc_status st = dlcc_ma_write_dist(out->dist_path, &ev->labels, out->errors.distance, out->errors.likelihood, err);
  if (st) return st;
  dlcc_eval_split split = dlcc_eval_split_of(&ev->split);
  dlcc_ma_eval_input in = ma_input(ev, &split);
  *plotted = dlcc_ma_assemblies_table(&in, &ev->ma->predictions, &out->dropped_individuals);
  if (!*plotted) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  return dlcc_eval_write_predictions(out->assemblies_path, &ev->labels, *plotted, out->scorer, err);
}

static dlcc_status write_outputs(dlcc_evaluation *ev, dlcc_snapshot_evaluation *out, dlcc_error *err) {
  dlcc_status st = dlcc_mkdirs(ev->eval_dir, err);
  if (!st) st = dlcc_eval_write_predictions(out->predictions_path, &ev->labels, ev->predictions, out->scorer, err);
  if (!st) st = dlcc_eval_write_keypoint_results(out->keypoint_path, &out->errors, err);
  if (!st) st = dlcc_eval_write_results(ev->eval_dir, out->scorer, &out->row, err);
  double *assembled = NULL;
  if (!st && ev->ma) st = write_multi_outputs(ev, out, &assembled, err);
  if (!st && out->plot_dir) {
    const dlcc_project_config *cfg = ev->cfg;
    dlcc_eval_plot_style style = {cfg->colormap, cfg->dotsize, cfg->alphavalue, cfg->pcutoff};
    dlcc_eval_split split = dlcc_eval_split_of(&ev->split);
    st = dlcc_eval_plot(cfg->root, out->plot_dir, &ev->labels, assembled ? assembled : ev->predictions,
                        ev->joint_of_column, ev->model.pose_cfg.n_joints, &split, &style, err);
  }
  free(assembled);
  return st;
}

/* The multi-animal numbers: detection errors into out->errors and ev->predictions, the rest into out->ma. */
static dlcc_status compute_multi(dlcc_evaluation *ev, const dlcc_eval_split *split, dlcc_snapshot_evaluation *out,
                                 dlcc_error *err) {
  dlcc_ma_eval_input in = ma_input(ev, split);
  dlcc_status st = dlcc_ma_eval_compute(&in, &ev->ma->predictions, &out->ma, err);
  if (st) return st;
  memcpy(ev->predictions, out->ma.matched, ev->labels.n_rows * ev->labels.n_columns * 3 * sizeof *ev->predictions);
  free(out->ma.matched);
  out->ma.matched = NULL;
  out->errors = out->ma.detection;
  memset(&out->ma.detection, 0, sizeof out->ma.detection);
  return DLCC_OK;
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
  if (!st && ev->ma) st = compute_multi(ev, &split, out, err);
  else if (!st) st = dlcc_eval_compute(&ev->labels, ev->predictions, &split, ev->cfg->pcutoff, &out->errors, err);
  if (st) return st;
  out->row = dlcc_eval_result_row_of(&out->errors, out->iterations, ev->model.training_fraction, ev->model.shuffle);
  if (ev->ma) {
    /* in percent, as DeepLabCut 3 writes its "train mAP" ... columns */
    out->row.has_map = true;
    out->row.train_map = 100 * out->ma.map_train.map;
    out->row.train_mar = 100 * out->ma.map_train.mar;
    out->row.test_map = 100 * out->ma.map_test.map;
    out->row.test_mar = 100 * out->ma.map_test.mar;
  }
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
  dlcc_ma_eval_result_free(&s->ma);
  free(s->dist_path);
  free(s->assemblies_path);
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
  if (ev->ma) dlcc_ma_evaluation_close(ev->ma);
  free(ev->ma);
  memset(ev, 0, sizeof *ev);
}
