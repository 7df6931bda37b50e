/* Tests of `dlcc evaluate` and src/infer/model on a generated demo project with snapshots written from
 * a random network: the results files at DeepLabCut's paths with errors equal to a hand computation
 * from the predictions written, predictions equal to the network's on each image at native size,
 * snapshot choice (snapshotindex -1, k, all, --snapshot), plots, and the errors that tell the user
 * what to run: no snapshot ("train first"), no model folder, TensorFlow checkpoints; analyze-videos refusing
 * maDLC projects. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/errors.h"
#include "eval/split.h"
#include "infer/model.h"
#include "project/labels.h"
#include "testutil.h"
#include "trained_demo.h"
#include "util/fileio.h"

#define SCORER_1000 "DLC_mobnet_35_demoJan1shuffle1_1000"
#define SCORER_2000 "DLC_mobnet_35_demoJan1shuffle1_2000"

/* The project every test reads (tests that write results copy it first). */
static char *project;

static int make_trained_project(void **state) {
  (void)state;
  project = td_make_project("evalcli", 1);
  td_write_snapshot(project, 1000, 1);
  td_write_snapshot(project, 2000, 2);
  return 0;
}

static int remove_project(void **state) {
  (void)state;
  test_rmtree(project);
  free(project);
  return 0;
}

/* A copy of the trained project; caller removes and frees it. */
static char *copy_project(void) {
  char *dir = test_tempdir("evalcli-copy");
  test_copytree(project, dir);
  return dir;
}

static char *run_dlcc(int want_rc, const char *fmt, const char *a, const char *b) {
  char *args = dlcc_strdupf(fmt, a, b), *out;
  int rc = test_run_dlcc(args, &out);
  if (rc != want_rc) fail_msg("dlcc %s: exit %d, want %d; output:\n%s", args, rc, want_rc, out);
  free(args);
  return out;
}

static void read_table(const char *path, dlcc_label_table *t) {
  dlcc_error err;
  if (dlcc_labels_read(path, t, &err)) fail_msg("%s", err.message);
}

/* The mean over the rows of one split part of every (row, column) distance, NaNs left out: the
 * train/test error by its definition, computed here independently of src/eval. */
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

/* The data line of CombinedEvaluation-results.csv for `iterations`, split into its 9 cells. */
static void combined_row(const char *text, long iterations, double cells[9]) {
  char key[32];
  snprintf(key, sizeof key, ",%ld,95,1,", iterations);
  const char *line = strstr(text, key);
  if (!line) fail_msg("no row of iteration %ld in:\n%s", iterations, text);
  while (line > text && line[-1] != '\n') line--;
  char *end;
  for (int i = 0; i < 9; i++) {
    cells[i] = strtod(line, &end);
    line = end + 1;
  }
}

static void test_evaluate_writes_results_whose_errors_are_the_mean_distances_of_its_predictions(void **state) {
  (void)state;
  char *dir = copy_project();
  char *config = td_path(dir, "config.yaml");
  char *out = run_dlcc(0, "evaluate '%s' --snapshot %s", config, "1000");
  assert_contains(out, "Evaluating snapshot-1000 of shuffle 1 on 10 labeled images (9 train, 1 test)");
  assert_contains(out, "body part  train (px)  test (px)");
  char *pred_path = td_path(dir, TD_EVAL_DIR "/" SCORER_1000 "-snapshot-1000.csv");
  char *results = td_path(dir, TD_EVAL_DIR "/" SCORER_1000 "-results.csv");
  char *keypoints = td_path(dir, TD_EVAL_DIR "/" SCORER_1000 "-keypoint-results.csv");
  char *combined_path = td_path(dir, "evaluation-results/iteration-0/CombinedEvaluation-results.csv");
  assert_true(dlcc_path_is_file(results));
  assert_true(dlcc_path_is_file(keypoints));
  assert_contains(out, combined_path);

  dlcc_label_table labels, pred;
  char *labels_path = td_path(dir, "training-datasets/iteration-0/UnaugmentedDataSet_demoJan1/CollectedData_dlcc.csv");
  read_table(labels_path, &labels);
  read_table(pred_path, &pred);
  assert_int_equal(pred.n_rows, TD_LABELED);
  assert_int_equal(pred.n_coords, 3);
  assert_string_equal(pred.scorer, SCORER_1000);
  dlcc_eval_split_indices split;
  dlcc_error err;
  char *split_path = td_path(dir, "training-datasets/iteration-0/UnaugmentedDataSet_demoJan1/"
                                  "Documentation_data-demo_95shuffle1.json");
  assert_int_equal(dlcc_eval_split_read(split_path, &labels, &split, &err), DLCC_OK);
  size_t len;
  char *combined = test_read_file(combined_path, &len);
  assert_contains(combined, ",Training iterations:,%Training dataset,Shuffle number, Train error(px)");
  double cells[9];
  combined_row(combined, 1000, cells);
  double train = mean_distance(&labels, &pred, split.train, split.n_train);
  double test = mean_distance(&labels, &pred, split.test, split.n_test);
  assert_true(fabs(cells[4] - dlcc_eval_round2(train)) < 1e-9);
  assert_true(fabs(cells[5] - dlcc_eval_round2(test)) < 1e-9);
  assert_true(cells[6] == 0.6); /* the demo's pcutoff */
  assert_true(train > 1.0);     /* a random network is far from the labels */

  dlcc_eval_split_indices_free(&split);
  dlcc_labels_free(&labels);
  dlcc_labels_free(&pred);
  test_rmtree(dir);
  free(combined);
  free(split_path);
  free(labels_path);
  free(combined_path);
  free(keypoints);
  free(results);
  free(pred_path);
  free(out);
  free(config);
  free(dir);
}

/* Each labeled image predicted at its own size with batch 1 gives exactly the predictions file's row. */
static void test_evaluate_predictions_are_the_networks_on_each_image_at_native_size(void **state) {
  (void)state;
  char *dir = copy_project();
  char *config = td_path(dir, "config.yaml");
  free(run_dlcc(0, "evaluate '%s' --snapshot %s", config, "2000"));
  dlcc_label_table pred;
  char *pred_path = td_path(dir, TD_EVAL_DIR "/" SCORER_2000 "-snapshot-2000.csv");
  read_table(pred_path, &pred);

  dlcc_project_config cfg;
  dlcc_model m;
  dlcc_notes notes = {0};
  dlcc_nn_engine *e;
  dlcc_error err;
  dlcc_model_options opt = {.shuffle = 1, .snapshot_iteration = 2000};
  assert_int_equal(dlcc_config_load(config, &cfg, &err), DLCC_OK);
  assert_int_equal(dlcc_model_open(&m, &cfg, &opt, &notes, &err), DLCC_OK);
  assert_int_equal(dlcc_model_load(&m, m.selected[0], &err), DLCC_OK);
  assert_int_equal(dlcc_nn_engine_create(&e, 1, &err), DLCC_OK);
  double pose[4 * 3];
  for (size_t row = 0; row < pred.n_rows; row += 3) {
    char *image_path = td_path(dir, pred.row_names[row]);
    dlcc_image img = {0};
    assert_int_equal(dlcc_image_load(image_path, &img, &err), DLCC_OK);
    assert_int_equal(img.width, TD_WIDTH);
    assert_int_equal(dlcc_model_predict(&m, e, &img, 1, NULL, pose, &err), DLCC_OK);
    for (size_t c = 0; c < pred.n_columns; c++) {
      int j = dlcc_config_joint_index(&cfg, pred.columns[c].bodypart);
      for (size_t k = 0; k < 3; k++)
        if (pred.values[dlcc_label_index(&pred, row, c, k)] != pose[j * 3 + (int)k])
          fail_msg("row %zu %s coord %zu: file %.17g, network %.17g", row, pred.columns[c].bodypart, k,
                   pred.values[dlcc_label_index(&pred, row, c, k)], pose[j * 3 + (int)k]);
    }
    dlcc_image_free(&img);
    free(image_path);
  }
  dlcc_nn_engine_free(e);
  dlcc_model_close(&m);
  dlcc_config_free(&cfg);
  dlcc_notes_free(&notes);
  dlcc_labels_free(&pred);
  test_rmtree(dir);
  free(pred_path);
  free(config);
  free(dir);
}

static void test_snapshotindex_all_evaluates_every_snapshot_into_its_own_row(void **state) {
  (void)state;
  char *dir = copy_project();
  char *config = td_path(dir, "config.yaml");
  size_t len;
  char *text = test_read_file(config, &len);
  char *at = strstr(text, "snapshotindex: -1\n");
  assert_non_null(at);
  char *edited = dlcc_strdupf("%.*ssnapshotindex: all\n%s", (int)(at - text), text, at + strlen("snapshotindex: -1\n"));
  dlcc_error err;
  assert_int_equal(dlcc_file_write_atomic(config, edited, strlen(edited), &err), DLCC_OK);
  char *out = run_dlcc(0, "evaluate '%s'%s", config, "");
  assert_contains(out, "Evaluating snapshot-1000");
  assert_contains(out, "Evaluating snapshot-2000");
  char *combined_path = td_path(dir, "evaluation-results/iteration-0/CombinedEvaluation-results.csv");
  char *combined = test_read_file(combined_path, &len);
  double cells[9];
  combined_row(combined, 1000, cells);
  assert_true(cells[0] == 0);
  combined_row(combined, 2000, cells);
  assert_true(cells[0] == 1);
  /* evaluating again replaces the rows instead of adding more */
  free(out);
  out = run_dlcc(0, "evaluate '%s' --snapshot %s", config, "2000");
  free(combined);
  combined = test_read_file(combined_path, &len);
  size_t lines = 0;
  for (const char *p = combined; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 3);
  test_rmtree(dir);
  free(combined);
  free(combined_path);
  free(out);
  free(edited);
  free(text);
  free(config);
  free(dir);
}

static void open_model(dlcc_project_config *cfg, dlcc_model *m, long iteration, dlcc_status want, dlcc_error *err) {
  dlcc_notes notes = {0};
  dlcc_model_options opt = {.shuffle = 1, .snapshot_iteration = iteration};
  dlcc_status st = dlcc_model_open(m, cfg, &opt, &notes, err);
  if (st != want) fail_msg("dlcc_model_open gave %d, want %d: %s", st, want, err->message);
  dlcc_notes_free(&notes);
}

static void test_snapshot_choice_follows_snapshotindex_or_iteration_and_lists_what_exists(void **state) {
  (void)state;
  char *config = td_path(project, "config.yaml");
  dlcc_project_config cfg;
  dlcc_model m;
  dlcc_error err;
  assert_int_equal(dlcc_config_load(config, &cfg, &err), DLCC_OK);
  open_model(&cfg, &m, DLCC_MODEL_SNAPSHOT_FROM_CONFIG, DLCC_OK, &err);  /* snapshotindex -1: the last */
  assert_int_equal(m.n_snapshots, 2);
  assert_int_equal(m.n_selected, 1);
  assert_int_equal(m.snapshots[m.selected[0]].iteration, 2000);
  assert_int_equal(dlcc_model_iteration(&m), -1);
  assert_int_equal(dlcc_model_load(&m, m.selected[0], &err), DLCC_OK);
  char *scorer = dlcc_model_scorer(&m, &cfg);
  assert_string_equal(scorer, SCORER_2000);
  free(scorer);
  dlcc_model_close(&m);
  cfg.snapshotindex = 0;
  open_model(&cfg, &m, DLCC_MODEL_SNAPSHOT_FROM_CONFIG, DLCC_OK, &err);
  assert_int_equal(m.snapshots[m.selected[0]].iteration, 1000);
  dlcc_model_close(&m);
  open_model(&cfg, &m, 2000, DLCC_OK, &err);  /* --snapshot overrides snapshotindex */
  assert_int_equal(m.snapshots[m.selected[0]].iteration, 2000);
  dlcc_model_close(&m);
  open_model(&cfg, &m, 1500, DLCC_ERR_INVALID, &err);
  assert_contains(err.message, "--snapshot 1500");
  assert_contains(err.message, "has no snapshot-1500.safetensors; its snapshots are at iterations 1000, 2000");
  dlcc_model_close(&m);
  cfg.snapshotindex = 5;
  open_model(&cfg, &m, DLCC_MODEL_SNAPSHOT_FROM_CONFIG, DLCC_ERR_INVALID, &err);
  assert_contains(err.message, "snapshotindex is 5, but");
  assert_contains(err.message, "holds 2 snapshots (iterations 1000, 2000); set snapshotindex to -1 (the last), 0 to 1");
  dlcc_model_close(&m);
  cfg.snapshotindex = DLCC_SNAPSHOT_ALL;  /* analysis takes the last one and says so */
  dlcc_notes notes = {0};
  dlcc_model_options opt = {.shuffle = 1, .snapshot_iteration = DLCC_MODEL_SNAPSHOT_FROM_CONFIG};
  assert_int_equal(dlcc_model_open(&m, &cfg, &opt, &notes, &err), DLCC_OK);
  assert_int_equal(m.n_selected, 1);
  assert_int_equal(m.snapshots[m.selected[0]].iteration, 2000);
  assert_int_equal(notes.count, 1);
  assert_contains(notes.lines[0], "snapshotindex is all");
  dlcc_model_close(&m);
  dlcc_notes_free(&notes);
  opt.allow_all = true;
  assert_int_equal(dlcc_model_open(&m, &cfg, &opt, &notes, &err), DLCC_OK);
  assert_int_equal(m.n_selected, 2);
  dlcc_model_close(&m);
  dlcc_config_free(&cfg);
  free(config);
}

/* get_scorer_name: a multi-stage ResNet (DeepLabCut's dlcrnet_ms5 shuffles) is named dlcrnetms5. */
static void test_scorer_names_a_multi_stage_resnet_dlcrnetms5(void **state) {
  (void)state;
  dlcc_project_config cfg = {.task = "openfield", .date = "Oct30"};
  dlcc_snapshot_file snapshot = {50000, "train/snapshot-50000.safetensors"};
  dlcc_model m = {.shuffle = 3, .snapshots = &snapshot, .n_snapshots = 1, .loaded = 0};
  m.pose_cfg.net_type = "resnet_50";
  char *plain = dlcc_model_scorer(&m, &cfg);
  m.pose_cfg.multi_stage = true;
  char *multi = dlcc_model_scorer(&m, &cfg);
  assert_string_equal(plain, "DLC_resnet50_openfieldOct30shuffle3_50000");
  assert_string_equal(multi, "DLC_dlcrnetms5_openfieldOct30shuffle3_50000");
  free(plain);
  free(multi);
}

static void test_plot_draws_every_labeled_image_into_deeplabcuts_folder(void **state) {
  (void)state;
  char *dir = copy_project();
  char *config = td_path(dir, "config.yaml");
  char *out = run_dlcc(0, "evaluate '%s' --plot --snapshot %s", config, "1000");
  char *plots = td_path(dir, TD_EVAL_DIR "/LabeledImages_" SCORER_1000 "_snapshot-1000");
  assert_contains(out, plots);
  DIR *d = opendir(plots);
  assert_non_null(d);
  int training = 0, test = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    training += !strncmp(e->d_name, "Training-demo-img", 17);
    test += !strncmp(e->d_name, "Test-demo-img", 13);
  }
  closedir(d);
  assert_int_equal(training, 9);
  assert_int_equal(test, 1);
  test_rmtree(dir);
  free(plots);
  free(out);
  free(config);
  free(dir);
}

static void test_untrained_shuffle_says_train_first(void **state) {
  (void)state;
  char *dir = td_make_project("evalcli-untrained", 1);
  char *config = td_path(dir, "config.yaml");
  char *out = run_dlcc(1, "evaluate '%s'%s", config, "");
  assert_contains(out, "dlcc evaluate: error: shuffle 1 (TrainingFraction 0.95) has no trained network");
  assert_contains(out, "holds no snapshot-N.safetensors; train first: dlcc train");
  assert_contains(out, "config.yaml --shuffle 1");
  free(out);
  out = run_dlcc(1, "analyze-videos '%s' '%s'", config, "videos/demo.mp4");
  assert_contains(out, "dlcc analyze-videos: error: shuffle 1 (TrainingFraction 0.95) has no trained network");
  assert_contains(out, "train first: dlcc train");
  free(out);
  out = run_dlcc(1, "evaluate '%s' --shuffle %s", config, "2");
  assert_contains(out, "shuffle 2 (TrainingFraction 0.95) has no model folder");
  assert_contains(out, "dlcc create-training-dataset");
  assert_contains(out, "config.yaml --shuffle 2, then dlcc train");
  free(out);
  /* DeepLabCut's own checkpoints are recognised and named */
  char *index = test_write_file(dir, TD_MODEL_DIR "/train/snapshot-5000.index", "");
  out = run_dlcc(1, "evaluate '%s'%s", config, "");
  assert_contains(out, "holds 1 TensorFlow checkpoint (snapshot-N.index), which dlcc cannot read");
  free(out);
  out = run_dlcc(1, "evaluate '%s' --trainingsetindex %s", config, "1");
  assert_contains(out, "--trainingsetindex 1:");
  assert_contains(out, "lists one TrainingFraction (0.95), so the only index is 0");
  test_rmtree(dir);
  free(index);
  free(out);
  free(config);
  free(dir);
}

static void test_multianimal_project_without_shuffle_names_what_to_run(void **state) {
  (void)state;
  char *dir = td_make_project("evalcli-ma", 2);
  char *config = td_path(dir, "config.yaml");
  char *video = td_path(dir, "videos/demo.mp4");
  /* both take multi-animal projects (test_analyze_madlc.c, test_evaluate_ma_cli.c); this one has no
   * shuffle yet */
  char *out = run_dlcc(1, "analyze-videos '%s' '%s'", config, video);
  assert_contains(out, "has no model folder");
  assert_contains(out, "dlcc create-training-dataset");
  free(out);
  out = run_dlcc(1, "evaluate '%s'%s", config, "");
  assert_contains(out, "has no model folder");
  test_rmtree(dir);
  free(out);
  free(video);
  free(config);
  free(dir);
}

static void test_evaluate_usage_errors_name_the_option(void **state) {
  (void)state;
  char *out = run_dlcc(2, "evaluate%s%s", "", "");
  assert_contains(out, "give exactly one CONFIG");
  free(out);
  out = run_dlcc(2, "evaluate x.yaml --snapshot %s%s", "last", "");
  assert_contains(out, "--snapshot wants a whole number");
  free(out);
  out = run_dlcc(0, "evaluate --help%s%s", "", "");
  assert_contains(out, "--snapshot N         the snapshot of iteration N");
  free(out);
}

int main(void) {
  /* one OpenMP thread in the dlcc runs: ctest runs tests side by side, and oneDNN's spinning threads
   * on busy cores make a small network hundreds of times slower */
  setenv("OMP_NUM_THREADS", "1", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_evaluate_writes_results_whose_errors_are_the_mean_distances_of_its_predictions),
      cmocka_unit_test(test_evaluate_predictions_are_the_networks_on_each_image_at_native_size),
      cmocka_unit_test(test_snapshotindex_all_evaluates_every_snapshot_into_its_own_row),
      cmocka_unit_test(test_snapshot_choice_follows_snapshotindex_or_iteration_and_lists_what_exists),
      cmocka_unit_test(test_scorer_names_a_multi_stage_resnet_dlcrnetms5),
      cmocka_unit_test(test_plot_draws_every_labeled_image_into_deeplabcuts_folder),
      cmocka_unit_test(test_untrained_shuffle_says_train_first),
      cmocka_unit_test(test_multianimal_project_without_shuffle_names_what_to_run),
      cmocka_unit_test(test_evaluate_usage_errors_name_the_option),
  };
  return cmocka_run_group_tests(tests, make_trained_project, remove_project);
}
