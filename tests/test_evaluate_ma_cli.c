/* `dlcc evaluate` on a generated 3-animal demo project with a random-weight snapshot (PAF head): the
 * files at DeepLabCut's paths with their headers and row counts, finite numbers, the results' train
 * error equal to the mean distance of the detections written, and those detections being peaks that
 * the network gives on each image at native size. Random weights: no assertion on quality. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/errors.h"
#include "eval/split.h"
#include "infer/model.h"
#include "infer/predict_multi.h"
#include "project/inference_cfg.h"
#include "project/labels.h"
#include "testutil.h"
#include "trained_demo.h"
#include "util/fileio.h"

#define SCORER "DLC_mobnet_35_demoJan1shuffle1_1000"
#define DATASET "training-datasets/iteration-0/UnaugmentedDataSet_demoJan1/"
enum { ANIMALS = 3, PARTS = 4 };

static char *project;

static int make_project(void **state) {
  (void)state;
  project = td_make_ma_project("evalma", ANIMALS);
  td_write_snapshot(project, 1000, 5);
  return 0;
}

static int remove_project(void **state) {
  (void)state;
  test_rmtree(project);
  free(project);
  return 0;
}

static void read_table(const char *path, dlcc_label_table *t) {
  dlcc_error err;
  if (dlcc_labels_read(path, t, &err)) fail_msg("%s", err.message);
}

static size_t count_lines(const char *text) {
  size_t n = 0;
  for (const char *p = text; *p; p++) n += *p == '\n';
  return n;
}

/* The cells of the data line of a results table (after the index), parsed as numbers (NaN if empty). */
static size_t result_cells(const char *text, double *cells, size_t max) {
  const char *line = strchr(text, '\n');
  if (!line) fail_msg("no data line in:\n%s", text);
  line = strchr(line + 1, ',');
  size_t n = 0;
  while (line && *line == ',' && n < max) {
    char *end;
    cells[n] = strtod(line + 1, &end);
    if (end == line + 1) cells[n] = NAN;
    n++;
    line = end;
  }
  return n;
}

static double mean_distance(const dlcc_label_table *labels, const dlcc_label_table *pred, const size_t *rows,
                            size_t n_rows) {
  double sum = 0;
  size_t n = 0;
  for (size_t i = 0; i < n_rows; i++)
    for (size_t c = 0; c < labels->n_columns; c++) {
      size_t l = dlcc_label_index(labels, rows[i], c, 0), p = dlcc_label_index(pred, rows[i], c, 0);
      double dx = labels->values[l] - pred->values[p], dy = labels->values[l + 1] - pred->values[p + 1];
      if (isnan(dx) || isnan(dy)) continue;
      sum += sqrt(dx * dx + dy * dy);
      n++;
    }
  return n ? sum / (double)n : NAN;
}

static size_t count_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) fail_msg("no folder %s", dir);
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* Every detection written for row `row` is a peak of its body part in the network's maps of that image. */
static void check_detections_are_peaks(const char *config, const dlcc_label_table *pred, size_t row) {
  dlcc_project_config cfg;
  dlcc_model m;
  dlcc_notes notes = {0};
  dlcc_nn_engine *e;
  dlcc_error err;
  dlcc_model_options opt = {.shuffle = 1, .snapshot_iteration = 1000};
  assert_int_equal(dlcc_config_load(config, &cfg, &err), DLCC_OK);
  assert_int_equal(dlcc_model_open(&m, &cfg, &opt, &notes, &err), DLCC_OK);
  assert_int_equal(dlcc_model_load(&m, m.selected[0], &err), DLCC_OK);
  assert_int_equal(dlcc_nn_engine_create(&e, 1, &err), DLCC_OK);
  dlcc_inference_cfg ic;
  dlcc_inference_cfg_defaults(&ic, &cfg);
  dlcc_multi_predictor mp;
  assert_int_equal(dlcc_multi_predictor_init(&mp, &m.pose_cfg, &cfg, &ic, &err), DLCC_OK);
  char *image_path = td_path(project, pred->row_names[row]);
  dlcc_image img = {0};
  int64_t dims[4];
  assert_int_equal(dlcc_image_load(image_path, &img, &err), DLCC_OK);
  assert_int_equal(dlcc_model_predict_maps(&m, e, &img, 1, NULL, dims, &err), DLCC_OK);
  assert_int_equal(dlcc_multi_predict_frame(&mp, m.part, m.locref, m.paf, (int)dims[2], (int)dims[3], &err), DLCC_OK);
  size_t found = 0;
  for (size_t c = 0; c < pred->n_columns; c++) {
    const double *v = pred->values + dlcc_label_index(pred, row, c, 0);
    if (isnan(v[0])) continue;
    int j = dlcc_config_joint_index(&cfg, pred->columns[c].bodypart);
    bool is_peak = false;
    for (size_t k = mp.peaks.first[j]; k < mp.peaks.first[j + 1]; k++) {
      const dlcc_peak *p = &mp.peaks.peaks[k];
      is_peak = is_peak || (p->x == v[0] && p->y == v[1] && p->score == v[2]);
    }
    if (!is_peak) fail_msg("row %zu column %zu: (%g, %g, %g) is no peak of %s", row, c, v[0], v[1], v[2],
                           pred->columns[c].bodypart);
    found++;
  }
  assert_true(found > 0);
  dlcc_image_free(&img);
  free(image_path);
  dlcc_multi_predictor_free(&mp);
  dlcc_nn_engine_free(e);
  dlcc_model_close(&m);
  dlcc_config_free(&cfg);
  dlcc_notes_free(&notes);
}

static void test_evaluate_multianimal_writes_deeplabcuts_files(void **state) {
  (void)state;
  char *config = td_path(project, "config.yaml");
  char *args = dlcc_strdupf("evaluate '%s' --snapshot 1000 --plot", config), *out;
  int rc = test_run_dlcc(args, &out);
  if (rc != 0) fail_msg("dlcc %s: exit %d; output:\n%s", args, rc, out);
  assert_contains(out, "Evaluating snapshot-1000 of shuffle 1 on 10 labeled images (9 train, 1 test)");
  assert_contains(out, "Errors of the detections per body part");
  assert_contains(out, "error (px), assembled individuals (greedy OKS)");
  assert_contains(out, "mAP (%), optimal OKS assignment");

  /* the results tables: DeepLabCut's 8 columns and DeepLabCut 3's mAP / mAR, one row */
  char *combined_path = td_path(project, "evaluation-results/iteration-0/CombinedEvaluation-results.csv");
  char *combined = test_read_file(combined_path, NULL);
  assert_true(strncmp(combined, ",Training iterations:,%Training dataset,Shuffle number, Train error(px), Test "
                      "error(px),p-cutoff used,Train error with p-cutoff,Test error with p-cutoff,train mAP,train "
                      "mAR,test mAP,test mAR\n0,1000,95,1,", 200) == 0);
  assert_int_equal(count_lines(combined), 2);
  double cells[12];
  assert_int_equal(result_cells(combined, cells, 12), 12);
  assert_true(isfinite(cells[3]) && isfinite(cells[4]));   /* train and test error */
  assert_true(cells[5] == 0.6);                              /* the demo's pcutoff */
  for (int i = 8; i < 12; i++) assert_true(isfinite(cells[i]) && cells[i] >= 0 && cells[i] <= 100);
  char *model_results = td_path(project, TD_EVAL_DIR "/" SCORER "-results.csv");
  char *model_text = test_read_file(model_results, NULL);
  assert_string_equal(model_text, combined);

  /* the detections matched with the labels: the label table's rows and columns, x, y, likelihood */
  dlcc_label_table labels, pred, assembled;
  char *labels_path = td_path(project, DATASET "CollectedData_dlcc.csv");
  read_table(labels_path, &labels);
  char *pred_path = td_path(project, TD_EVAL_DIR "/" SCORER "-snapshot-1000.csv");
  read_table(pred_path, &pred);
  assert_int_equal(pred.n_rows, TD_LABELED);
  assert_int_equal(pred.n_columns, ANIMALS * PARTS);
  assert_int_equal(pred.n_coords, 3);
  assert_true(pred.multianimal);
  char *assembled_path = td_path(project, TD_EVAL_DIR "/" SCORER "-snapshot-1000-assemblies.csv");
  read_table(assembled_path, &assembled);
  assert_int_equal(assembled.n_rows, TD_LABELED);
  assert_int_equal(assembled.n_columns, ANIMALS * PARTS);

  /* the train error is the mean distance of those detections over the train rows */
  dlcc_eval_split_indices split;
  dlcc_error err;
  char *split_path = td_path(project, DATASET "Documentation_data-demo_95shuffle1.json");
  assert_int_equal(dlcc_eval_split_read(split_path, &labels, &split, &err), DLCC_OK);
  double train = mean_distance(&labels, &pred, split.train, split.n_train);
  assert_true(isfinite(train));
  assert_true(fabs(cells[3] - dlcc_eval_round2(train)) < 1e-9);
  check_detections_are_peaks(config, &pred, split.train[0]);
  check_detections_are_peaks(config, &pred, split.test[0]);

  /* dist_1000.csv: 4 header rows, one row per image, (rmse, conf) per individual and body part */
  char *dist_path = td_path(project, TD_EVAL_DIR "/dist_1000.csv");
  char *dist = test_read_file(dist_path, NULL);
  assert_int_equal(count_lines(dist), 4 + TD_LABELED);
  assert_true(strncmp(dist, "scorer,dlcc,", 12) == 0);
  assert_contains(dist, "\nindividuals,animal1,animal1,");
  assert_contains(dist, "\nmetrics,rmse,conf,rmse,conf,");
  size_t commas = 0;
  for (const char *p = dist; *p != '\n'; p++) commas += *p == ',';
  assert_int_equal(commas, ANIMALS * PARTS * 2);

  char *keypoints = td_path(project, TD_EVAL_DIR "/" SCORER "-keypoint-results.csv");
  assert_true(dlcc_path_is_file(keypoints));
  char *plots = td_path(project, TD_EVAL_DIR "/LabeledImages_" SCORER "_snapshot-1000");
  assert_int_equal(count_files(plots), TD_LABELED);

  dlcc_eval_split_indices_free(&split);
  dlcc_labels_free(&labels);
  dlcc_labels_free(&pred);
  dlcc_labels_free(&assembled);
  free(plots);
  free(keypoints);
  free(dist);
  free(dist_path);
  free(split_path);
  free(assembled_path);
  free(pred_path);
  free(labels_path);
  free(model_text);
  free(model_results);
  free(combined);
  free(combined_path);
  free(out);
  free(args);
  free(config);
}

/* Without test/inference_cfg.yaml a note says that DeepLabCut's template is used. */
static void test_missing_inference_cfg_is_a_note(void **state) {
  (void)state;
  char *dir = test_tempdir("evalma-copy");
  test_copytree(project, dir);
  char *ic = td_path(dir, TD_MODEL_DIR "/test/inference_cfg.yaml");
  assert_int_equal(remove(ic), 0);
  char *config = td_path(dir, "config.yaml");
  char *args = dlcc_strdupf("evaluate '%s'", config), *out;
  int rc = test_run_dlcc(args, &out);
  if (rc != 0) fail_msg("dlcc %s: exit %d; output:\n%s", args, rc, out);
  assert_contains(out, "inference_cfg.yaml is missing; assembling with DeepLabCut's template values (topktoretain 3");
  test_rmtree(dir);
  free(out);
  free(args);
  free(config);
  free(ic);
  free(dir);
}

int main(void) {
  setenv("OMP_NUM_THREADS", "1", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_evaluate_multianimal_writes_deeplabcuts_files),
      cmocka_unit_test(test_missing_inference_cfg_is_a_note),
  };
  return cmocka_run_group_tests(tests, make_project, remove_project);
}
