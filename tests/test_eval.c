/* Tests of src/eval: DeepLabCut's evaluation errors on hand-computed tables (missing labels,
 * predictions below pcutoff, train/test split) and against numpy's nanmean to the bit, the results
 * tables' exact text and how re-running updates them, the predictions and per-body-part files, the
 * terminal table, matplotlib's colormaps, and the plots' pixels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/colormap.h"
#include "eval/errors.h"
#include "eval/plot.h"
#include "eval/results_csv.h"
#include "eval/split.h"
#include "image/image.h"
#include "project/config.h"
#include "project/labels.h"
#include "project/layout.h"
#include "testutil.h"
#include "util/fileio.h"

/* Fails unless |actual - expected| <= tolerance (0: exactly equal), printing both. */
#define assert_double_equal(actual, expected, tolerance) \
  assert_double_near((actual), (expected), (tolerance), __FILE__, __LINE__)
static void assert_double_near(double actual, double expected, double tolerance, const char *file, int line) {
  if (!(fabs(actual - expected) <= tolerance))
    fail_msg("%s:%d: %.17g, want %.17g (tolerance %g)", file, line, actual, expected, tolerance);
}

static int make_tempdir(void **state) {
  *state = test_tempdir("eval");
  return 0;
}

static int remove_tempdir(void **state) {
  test_rmtree(*state);
  free(*state);
  return 0;
}

/* A single-animal label table with the given body parts and rows "labeled-data/v/img<i>.png";
 * xy: n_rows x n_parts x 2. */
static void make_labels(dlcc_label_table *t, char *const *parts, size_t n_parts, size_t n_rows, const double *xy) {
  char **rows = calloc(n_rows, sizeof *rows);
  for (size_t r = 0; r < n_rows; r++) rows[r] = dlcc_strdupf("labeled-data/v/img%zu.png", r);
  dlcc_error err;
  assert_int_equal(dlcc_labels_create(t, "tester", false, 2, NULL, parts, n_parts, rows, n_rows, &err), DLCC_OK);
  memcpy(t->values, xy, n_rows * n_parts * 2 * sizeof *xy);
  for (size_t r = 0; r < n_rows; r++) free(rows[r]);
  free(rows);
}

/* The hand-computed case: 4 images, snout and tail, train {0, 2}, test {1, 3}, pcutoff 0.5.
 * Distances (likelihood): row 0 snout 5 (0.9), tail 10 (0.3); row 1 snout 1 (0.8), tail label missing;
 * row 2 snout 0 (0.5, exactly the cutoff: kept), tail 2 (0.1); row 3 snout 5 (0.45), tail prediction
 * missing. */
static char *const two_parts[] = {"snout", "tail"};
static const double hand_labels[] = {10, 10, 20, 20, 0, 0, NAN, NAN, 5, 5, 0, 0, 1, 1, 2, 2};
static const double hand_predictions[] = {13, 14, 0.9, 26, 28, 0.3, 0, 1, 0.8, 9, 9, 0.9,
                                          5,  5,  0.5, 0,  2,  0.1, 4, 5, 0.45, NAN, NAN, NAN};
static const size_t hand_train[] = {0, 2};
static const size_t hand_test[] = {1, 3};
static const dlcc_eval_split hand_split = {hand_train, 2, hand_test, 2};

static void compute_hand_case(dlcc_label_table *labels, dlcc_eval_errors *e) {
  make_labels(labels, two_parts, 2, 4, hand_labels);
  dlcc_error err;
  assert_int_equal(dlcc_eval_compute(labels, hand_predictions, &hand_split, 0.5, e, &err), DLCC_OK);
}

static void test_errors_are_nanmeans_over_split_with_and_without_cutoff(void **state) {
  (void)state;
  dlcc_label_table labels;
  dlcc_eval_errors e;
  compute_hand_case(&labels, &e);
  assert_double_equal(e.distance[0], 5.0, 0);
  assert_double_equal(e.distance[1], 10.0, 0);
  assert_true(isnan(e.distance[3]));  /* missing label */
  assert_true(isnan(e.distance[7]));  /* missing prediction */
  assert_double_equal(e.overall.train, (5 + 10 + 0 + 2) / 4.0, 0);
  assert_double_equal(e.overall.test, (1 + 5) / 2.0, 0);
  assert_double_equal(e.overall.train_cutoff, (5 + 0) / 2.0, 0);
  assert_double_equal(e.overall.test_cutoff, 1.0, 0);
  dlcc_eval_errors_free(&e);
  dlcc_labels_free(&labels);
}

static void test_per_bodypart_errors_and_nan_when_nothing_counts(void **state) {
  (void)state;
  dlcc_label_table labels;
  dlcc_eval_errors e;
  compute_hand_case(&labels, &e);
  assert_int_equal(e.n_bodyparts, 2);
  assert_string_equal(e.bodyparts[0], "snout");
  assert_string_equal(e.bodyparts[1], "tail");
  assert_double_equal(e.per_bodypart[0].train, 2.5, 0);
  assert_double_equal(e.per_bodypart[0].test, 3.0, 0);
  assert_double_equal(e.per_bodypart[0].train_cutoff, 2.5, 0);
  assert_double_equal(e.per_bodypart[0].test_cutoff, 1.0, 0);
  assert_double_equal(e.per_bodypart[1].train, 6.0, 0);
  assert_true(isnan(e.per_bodypart[1].test));          /* label missing, prediction missing */
  assert_true(isnan(e.per_bodypart[1].train_cutoff));  /* both below 0.5 */
  assert_true(isnan(e.per_bodypart[1].test_cutoff));
  dlcc_eval_errors_free(&e);
  dlcc_labels_free(&labels);
}

static void test_empty_test_split_gives_nan_test_error(void **state) {
  (void)state;
  dlcc_label_table labels;
  make_labels(&labels, two_parts, 2, 4, hand_labels);
  const size_t all[] = {0, 1, 2, 3};
  dlcc_eval_split split = {all, 4, NULL, 0};
  dlcc_eval_errors e;
  dlcc_error err;
  assert_int_equal(dlcc_eval_compute(&labels, hand_predictions, &split, 0.5, &e, &err), DLCC_OK);
  assert_double_equal(e.overall.train, (5 + 10 + 1 + 0 + 2 + 5) / 6.0, 1e-15);
  assert_true(isnan(e.overall.test));
  assert_true(isnan(e.overall.test_cutoff));
  dlcc_eval_errors_free(&e);
  dlcc_labels_free(&labels);
}

static void test_split_index_outside_labels_names_index_and_rows(void **state) {
  (void)state;
  dlcc_label_table labels;
  make_labels(&labels, two_parts, 2, 4, hand_labels);
  const size_t test[] = {1, 7};
  dlcc_eval_split split = {hand_train, 2, test, 2};
  dlcc_eval_errors e;
  dlcc_error err;
  assert_int_equal(dlcc_eval_compute(&labels, hand_predictions, &split, 0.5, &e, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "test split lists image index 7");
  assert_contains(err.message, "only 4 rows");
  assert_contains(err.message, "create-training-dataset");
  dlcc_labels_free(&labels);
}

/* 300 x 4 distances with NaNs, rows taken in a shuffled order: the means equal numpy's
 * np.nanmean(RMSE.iloc[idx].values.flatten()) bit for bit (values from numpy 1.24; a plain
 * left-to-right sum gives 71.94080280554657 and 71.55263513513508 instead). */
static void test_means_equal_numpy_nanmean_to_the_bit(void **state) {
  (void)state;
  enum { ROWS = 300, COLS = 4 };
  char *parts[COLS] = {"a", "b", "c", "d"};
  double *xy = calloc(ROWS * COLS * 2, sizeof *xy), *pred = calloc(ROWS * COLS * 3, sizeof *pred);
  for (int k = 0; k < ROWS * COLS; k++) {
    xy[2 * k] = k % 13 == 5 ? NAN : (double)(k * 7919 % 1000) / 7.0 + 0.001 * (double)k;
    pred[3 * k + 2] = 1.0;  /* prediction at (0, 0): the distance is the label's x */
  }
  size_t train[240], test[60];
  for (size_t r = 0; r < 240; r++) train[r] = r * 7 % 240;
  for (size_t r = 0; r < 60; r++) test[r] = 299 - r;
  dlcc_label_table labels;
  make_labels(&labels, parts, COLS, ROWS, xy);
  dlcc_eval_split split = {train, 240, test, 60};
  dlcc_eval_errors e;
  dlcc_error err;
  assert_int_equal(dlcc_eval_compute(&labels, pred, &split, 0.5, &e, &err), DLCC_OK);
  assert_true(e.overall.train == 0x1.1fc361cf873b1p+6);
  assert_true(e.overall.test == 0x1.1e35e5fc201aap+6);
  assert_true(e.overall.train_cutoff == e.overall.train);
  dlcc_eval_errors_free(&e);
  dlcc_labels_free(&labels);
  free(xy);
  free(pred);
}

static void test_round2_is_numpy_round(void **state) {
  (void)state;
  /* np.round(x, 2) for these values (halves go to even after the scaling by 100) */
  assert_true(dlcc_eval_round2(2.675) == 2.68);
  assert_true(dlcc_eval_round2(0.125) == 0.12);
  assert_true(dlcc_eval_round2(1.005) == 1.0);
  assert_true(dlcc_eval_round2(2.885) == 2.88);
  assert_true(dlcc_eval_round2(0.375) == 0.38);
  assert_true(dlcc_eval_round2(-1.235) == -1.24);
  assert_true(isnan(dlcc_eval_round2(NAN)));
}

/* maDLC tables are compared column by column; per body part the individuals are pooled. */
static void test_multianimal_columns_compared_per_individual_and_pooled_per_bodypart(void **state) {
  (void)state;
  char *inds[] = {"m1", "m2", "single"}, *parts[] = {"nose", "nose", "corner"}, *rows[] = {"labeled-data/v/a.png"};
  dlcc_label_table labels;
  dlcc_error err;
  assert_int_equal(dlcc_labels_create(&labels, "tester", true, 2, inds, parts, 3, rows, 1, &err), DLCC_OK);
  const double xy[] = {0, 0, 10, 10, 50, 50};
  memcpy(labels.values, xy, sizeof xy);
  const double pred[] = {3, 4, 0.9, 10, 12, 0.9, 50, 51, 0.2};
  const size_t train[] = {0};
  dlcc_eval_split split = {train, 1, NULL, 0};
  dlcc_eval_errors e;
  assert_int_equal(dlcc_eval_compute(&labels, pred, &split, 0.6, &e, &err), DLCC_OK);
  assert_int_equal(e.n_bodyparts, 2);
  assert_string_equal(e.bodyparts[0], "nose");
  assert_double_equal(e.per_bodypart[0].train, (5 + 2) / 2.0, 0);
  assert_double_equal(e.per_bodypart[1].train, 1.0, 0);
  assert_double_equal(e.overall.train, (5 + 2 + 1) / 3.0, 1e-15);
  assert_double_equal(e.overall.train_cutoff, (5 + 2) / 2.0, 0);
  char *joints[] = {"nose", "corner"};
  size_t joint_of_column[3];
  assert_int_equal(dlcc_eval_column_joints(&labels, joints, 2, joint_of_column, &err), DLCC_OK);
  assert_int_equal(joint_of_column[0], 0);
  assert_int_equal(joint_of_column[1], 0);
  assert_int_equal(joint_of_column[2], 1);
  dlcc_eval_errors_free(&e);
  dlcc_labels_free(&labels);
}

static void test_column_joints_names_unknown_bodypart(void **state) {
  (void)state;
  dlcc_label_table labels;
  make_labels(&labels, two_parts, 2, 4, hand_labels);
  char *joints[] = {"snout", "tailbase"};
  size_t joint_of_column[2];
  dlcc_error err;
  assert_int_equal(dlcc_eval_column_joints(&labels, joints, 2, joint_of_column, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "body part 'tail' (column 2)");
  assert_contains(err.message, "all_joints_names");
  dlcc_labels_free(&labels);
}

/* ------------------------------------------------------------------------------------------------
 * Results tables. */

#define HEADER                                                                                                    \
  ",Training iterations:,%Training dataset,Shuffle number, Train error(px), Test error(px),p-cutoff used,Train " \
  "error with p-cutoff,Test error with p-cutoff\n"

static dlcc_eval_result_row result_row(long iterations, int pct, int shuffle, double train, double test) {
  dlcc_eval_result_row r = {.iterations = iterations, .training_pct = pct, .shuffle = shuffle, .train_error = train,
                            .test_error = test, .pcutoff = 0.4, .train_error_cutoff = train,
                            .test_error_cutoff = test};
  return r;
}

static char *read_text(const char *dir, const char *name) {
  char *path = dlcc_path_join(dir, name);
  char *text = test_read_file(path, NULL);
  free(path);
  return text;
}

/* The text pandas writes for make_results_file's DataFrame (checked with pandas 1.5). */
static void test_results_tables_are_pandas_text_in_both_places(void **state) {
  char *eval_dir = dlcc_path_join(*state, "evaluation-results/iteration-0/openfieldOct30-trainset95shuffle1");
  dlcc_eval_result_row row = {.iterations = 15000, .training_pct = 95, .shuffle = 1, .train_error = 2.8851,
                              .test_error = NAN, .pcutoff = 0.4, .train_error_cutoff = 2.0, .test_error_cutoff = NAN};
  dlcc_error err;
  assert_int_equal(dlcc_eval_write_results(eval_dir, "DLC_resnet50_openfieldOct30shuffle1_15000", &row, &err),
                   DLCC_OK);
  const char *expected = HEADER "0,15000,95,1,2.89,,0.4,2.0,\n";
  char *combined = read_text(*state, "evaluation-results/iteration-0/CombinedEvaluation-results.csv");
  char *model = read_text(eval_dir, "DLC_resnet50_openfieldOct30shuffle1_15000-results.csv");
  assert_string_equal(combined, expected);
  assert_string_equal(model, expected);
  free(combined);
  free(model);
  free(eval_dir);
}

static void test_rerun_replaces_same_model_row_and_keeps_others(void **state) {
  char *path = dlcc_path_join(*state, "CombinedEvaluation-results.csv");
  dlcc_error err;
  dlcc_eval_result_row a = result_row(15000, 95, 1, 3.0, 4.0), b = result_row(20000, 95, 1, 2.5, 3.5),
                       c = result_row(15000, 80, 2, 1.25, 1.5), a2 = result_row(15000, 95, 1, 2.0, 2.75);
  assert_int_equal(dlcc_eval_results_update(path, &a, &err), DLCC_OK);
  assert_int_equal(dlcc_eval_results_update(path, &b, &err), DLCC_OK);
  assert_int_equal(dlcc_eval_results_update(path, &c, &err), DLCC_OK);
  assert_int_equal(dlcc_eval_results_update(path, &a2, &err), DLCC_OK);
  char *text = test_read_file(path, NULL);
  assert_string_equal(text, HEADER "0,15000,95,1,2.0,2.75,0.4,2.0,2.75\n"
                                   "1,20000,95,1,2.5,3.5,0.4,2.5,3.5\n"
                                   "2,15000,80,2,1.25,1.5,0.4,1.25,1.5\n");
  free(text);
  free(path);
}

/* DeepLabCut appends on each run, so its files may hold the same model twice; other writers may
 * format numbers differently. dlcc keeps foreign rows as written and leaves one row per model. */
static void test_existing_duplicates_collapse_and_foreign_rows_stay_verbatim(void **state) {
  char *path = test_write_file(*state, "CombinedEvaluation-results.csv",
                               HEADER "0,5000,95,1,9.1,9.2,0.6,9.3,9.4\r\n"
                                      "1,15000.0,95,1,3.0,4.0,0.6,3.0,4.0\r\n"
                                      "\r\n"
                                      "2,10000,95,1,7.50,,0.6,,\r\n"
                                      "3,15000,95,1,3.1,4.1,0.6,3.1,4.1\r\n");
  dlcc_eval_result_row row = result_row(15000, 95, 1, 1.0, 1.5);
  dlcc_error err;
  assert_int_equal(dlcc_eval_results_update(path, &row, &err), DLCC_OK);
  char *text = test_read_file(path, NULL);
  assert_string_equal(text, HEADER "0,5000,95,1,9.1,9.2,0.6,9.3,9.4\n"
                                   "1,15000,95,1,1.0,1.5,0.4,1.0,1.5\n"
                                   "2,10000,95,1,7.50,,0.6,,\n");
  free(text);
  free(path);
}

static void test_foreign_results_file_is_refused_and_left_untouched(void **state) {
  const char *foreign = "iterations,error\n1000,2.0\n";
  char *path = test_write_file(*state, "CombinedEvaluation-results.csv", foreign);
  dlcc_eval_result_row row = result_row(15000, 95, 1, 1.0, 1.5);
  dlcc_error err;
  assert_int_equal(dlcc_eval_results_update(path, &row, &err), DLCC_ERR_PARSE);
  assert_contains(err.message, path);
  assert_contains(err.message, "line 1");
  assert_contains(err.message, "Training iterations:");
  char *text = test_read_file(path, NULL);
  assert_string_equal(text, foreign);
  free(text);
  free(path);
}

static void test_malformed_results_row_names_line(void **state) {
  char *path = test_write_file(*state, "r.csv", HEADER "0,5000,95,1,9.1,9.2,0.6,9.3,9.4\n1,abc,95,1,1,1,1,1,1\n");
  dlcc_eval_result_row row = result_row(15000, 95, 1, 1.0, 1.5);
  dlcc_error err;
  assert_int_equal(dlcc_eval_results_update(path, &row, &err), DLCC_ERR_PARSE);
  assert_contains(err.message, "line 3");
  assert_contains(err.message, "'abc'");
  free(path);
  path = test_write_file(*state, "s.csv", HEADER "0,5000,95,1,9.1\n");
  assert_int_equal(dlcc_eval_results_update(path, &row, &err), DLCC_ERR_PARSE);
  assert_contains(err.message, "line 2: expected an index and 8 cells");
  free(path);
}

static void test_result_row_and_folder_follow_deeplabcut_names(void **state) {
  (void)state;
  dlcc_label_table labels;
  dlcc_eval_errors e;
  compute_hand_case(&labels, &e);
  dlcc_eval_result_row row = dlcc_eval_result_row_of(&e, 15000, 0.95, 1);
  assert_int_equal(row.training_pct, 95);
  assert_double_equal(row.train_error, 4.25, 0);
  assert_double_equal(row.test_error_cutoff, 1.0, 0);
  assert_double_equal(row.pcutoff, 0.5, 0);
  dlcc_project_config cfg = {0};
  cfg.task = "openfield";
  cfg.date = "Oct30";
  cfg.iteration = 2;
  char *folder = dlcc_eval_folder(&cfg, 0.8, 3);
  assert_string_equal(folder, "evaluation-results/iteration-2/openfieldOct30-trainset80shuffle3");
  char *pred = dlcc_eval_predictions_path("E", "DLC_x", 15000);
  assert_string_equal(pred, "E/DLC_x-snapshot-15000.csv");
  free(pred);
  free(folder);
  dlcc_eval_errors_free(&e);
  dlcc_labels_free(&labels);
}

static void test_predictions_table_reads_back_with_likelihood(void **state) {
  dlcc_label_table labels;
  make_labels(&labels, two_parts, 2, 4, hand_labels);
  char *path = dlcc_path_join(*state, "DLC_x-snapshot-100.csv");
  dlcc_error err;
  assert_int_equal(dlcc_eval_write_predictions(path, &labels, hand_predictions, "DLC_x", &err), DLCC_OK);
  char *text = test_read_file(path, NULL);
  assert_contains(text, "scorer,DLC_x,DLC_x,DLC_x,DLC_x,DLC_x,DLC_x\n"
                        "bodyparts,snout,snout,snout,tail,tail,tail\n"
                        "coords,x,y,likelihood,x,y,likelihood\n"
                        "labeled-data/v/img0.png,13.0,14.0,0.9,26.0,28.0,0.3\n");
  assert_contains(text, "labeled-data/v/img3.png,4.0,5.0,0.45,,,\n");
  dlcc_label_table back;
  assert_int_equal(dlcc_labels_read(path, &back, &err), DLCC_OK);
  assert_int_equal(back.n_coords, 3);
  assert_int_equal(back.n_rows, 4);
  assert_double_equal(back.values[dlcc_label_index(&back, 2, 1, 2)], 0.1, 0);
  dlcc_labels_free(&back);
  free(text);
  free(path);
  dlcc_labels_free(&labels);
}

static void test_keypoint_results_are_keypoint_error_text(void **state) {
  dlcc_label_table labels;
  dlcc_eval_errors e;
  compute_hand_case(&labels, &e);
  char *path = dlcc_path_join(*state, "k.csv");
  dlcc_error err;
  assert_int_equal(dlcc_eval_write_keypoint_results(path, &e, &err), DLCC_OK);
  char *text = test_read_file(path, NULL);
  assert_string_equal(text, "Error Type,snout,tail\n"
                            "Train error (px),2.5,6.0\n"
                            "Test error (px),3.0,\n"
                            "Train error (px) with p-cutoff,2.5,\n"
                            "Test error (px) with p-cutoff,1.0,\n");
  free(text);
  free(path);
  dlcc_eval_errors_free(&e);
  dlcc_labels_free(&labels);
}

static void test_terminal_table_lists_parts_and_all(void **state) {
  (void)state;
  dlcc_label_table labels;
  dlcc_eval_errors e;
  compute_hand_case(&labels, &e);
  char *table = dlcc_eval_format_table(&e);
  assert_non_null(table);
  assert_string_equal(table, "body part  train (px)  test (px)  train, p>=0.5  test, p>=0.5\n"
                             "snout            2.50       3.00           2.50          1.00\n"
                             "tail             6.00          -              -             -\n"
                             "all              4.25       3.00           2.50          1.00\n");
  free(table);
  dlcc_eval_errors_free(&e);
  dlcc_labels_free(&labels);
}

/* ------------------------------------------------------------------------------------------------
 * Colormaps: values of matplotlib 3.6's plt.cm.get_cmap(name, n)(i). */

static void assert_colors(const char *name, size_t n, const double (*expected)[3]) {
  double rgb[16][3];
  dlcc_error err;
  assert_int_equal(dlcc_eval_colormap(name, n, rgb, &err), DLCC_OK);
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < 3; c++) {
      if (fabs(rgb[i][c] - expected[i][c]) > 1e-12) fail_msg("%s(%zu)[%zu][%d] = %.17g, want %.17g", name, n, i, c,
                                                              rgb[i][c], expected[i][c]);
    }
}

static void test_colormaps_sample_like_matplotlib(void **state) {
  (void)state;
  const double rainbow4[4][3] = {{0.5, 0, 1},
                                 {0.16666666666666663, 0.8660254037844386, 0.8660254037844387},
                                 {0.8333333333333333, 0.8660254037844387, 0.5000000000000001},
                                 {1, 1.2246467991473532e-16, 6.123233995736766e-17}};
  const double jet4[4][3] = {{0, 0, 0.5}, {0, 0.8333333333333334, 1}, {1, 0.9012345679012345, 0}, {0.5, 0, 0}};
  const double jet5[5][3] = {{0, 0, 0.5},
                             {0, 0.5, 1},
                             {0.4838709677419355, 1, 0.4838709677419356},
                             {1, 0.5925925925925927, 0},
                             {0.5, 0, 0}};
  const double viridis4[4][3] = {{0.267004, 0.004874, 0.329415},
                                 {0.190631, 0.407061, 0.556089},
                                 {0.20803, 0.718701, 0.472873},
                                 {0.993248, 0.906157, 0.143936}};
  const double hsv4[4][3] = {{1, 0, 0},
                             {0.031249343749343732, 1, 1.3125013125390552e-06},
                             {0, 0.062501968751969, 1},
                             {1, 0, 0.09375}};
  assert_colors("rainbow", 4, rainbow4);
  assert_colors("jet", 4, jet4);
  assert_colors("jet", 5, jet5);
  assert_colors("viridis", 4, viridis4);
  assert_colors("hsv", 4, hsv4);
  /* one colour: matplotlib takes x = 1 for segment maps, x = 0 for rainbow and listed maps */
  const double jet1[1][3] = {{0.5, 0, 0}}, rainbow1[1][3] = {{0.5, 0, 1}}, hsv1[1][3] = {{1, 0, 0.09375}};
  assert_colors("jet", 1, jet1);
  assert_colors("rainbow", 1, rainbow1);
  assert_colors("hsv", 1, hsv1);
  assert_colors("viridis", 1, viridis4);
  double viridis13[13][3];
  dlcc_error err;
  assert_int_equal(dlcc_eval_colormap("viridis", 13, viridis13, &err), DLCC_OK);
  assert_double_equal(viridis13[9][0], 0.369214, 0);   /* table entry 192 */
  assert_double_equal(viridis13[10][1], 0.842430, 0);  /* table entry 213 */
}

static void test_unknown_colormap_names_key_and_choices(void **state) {
  (void)state;
  double rgb[2][3];
  dlcc_error err;
  assert_int_equal(dlcc_eval_colormap("magma", 2, rgb, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, "config.yaml: colormap 'magma'");
  assert_contains(err.message, "rainbow, jet, viridis or hsv");
}

/* ------------------------------------------------------------------------------------------------
 * Plots. */

/* A project folder with labeled-data/v/img0.png and img1.png, 40 x 30, gray 100. */
static void write_gray_images(const char *root) {
  char *dir = dlcc_path_join(root, "labeled-data/v");
  dlcc_error err;
  assert_int_equal(dlcc_mkdirs(dir, &err), DLCC_OK);
  dlcc_image img;
  assert_int_equal(dlcc_image_alloc(&img, 40, 30, &err), DLCC_OK);
  memset(img.rgb, 100, 40 * 30 * 3);
  for (int i = 0; i < 2; i++) {
    char *path = dlcc_strdupf("%s/img%d.png", dir, i);
    assert_int_equal(dlcc_image_save_png(path, &img, &err), DLCC_OK);
    free(path);
  }
  dlcc_image_free(&img);
  free(dir);
}

static void assert_pixel(const dlcc_image *img, int x, int y, int r, int g, int b) {
  const uint8_t *p = img->rgb + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
  if (p[0] != r || p[1] != g || p[2] != b)
    fail_msg("pixel (%d, %d) is (%d, %d, %d), want (%d, %d, %d)", x, y, p[0], p[1], p[2], r, g, b);
}

/* jet over 2 joints: snout (0, 0, 0.5), tail (0.5, 0, 0); alpha 0.7 over gray 100 gives
 * 0.7 * 0 + 30 = 30 and 0.7 * 127.5 + 30 = 119.25 -> 119. dotsize 8: "+" and "x" reach
 * 4 * 100/72 = 5.56 px from the centre, the dot's radius is 2 * 100/72 + 0.5 * 100/72 = 3.47 px. */
static void test_plot_draws_labels_and_predictions_in_bodypart_colours(void **state) {
  const char *root = *state;
  write_gray_images(root);
  const double xy[] = {10.7, 12.2, 30, 20, NAN, NAN, NAN, NAN};
  dlcc_label_table labels;
  make_labels(&labels, two_parts, 2, 2, xy);
  const double pred[] = {25, 8, 0.9, 5, 25, 0.1, NAN, NAN, NAN, NAN, NAN, NAN};
  const size_t joint_of_column[] = {0, 1}, train[] = {0}, test[] = {1};
  dlcc_eval_split split = {train, 1, test, 1};
  dlcc_eval_plot_style style = {"jet", 8, 0.7, 0.4};
  char *out = dlcc_eval_plot_dir(root, "DLC_x", 15000);
  dlcc_error err;
  assert_int_equal(dlcc_eval_plot(root, out, &labels, pred, joint_of_column, 2, &split, &style, &err), DLCC_OK);

  char *plotted = dlcc_path_join(out, "Training-v-img0.png");
  dlcc_image img;
  assert_int_equal(dlcc_image_load(plotted, &img, &err), DLCC_OK);
  assert_int_equal(img.width, 40);
  assert_pixel(&img, 10, 12, 30, 30, 119);   /* snout label "+", at int(10.7), int(12.2) */
  assert_pixel(&img, 15, 12, 30, 30, 119);   /* its arm, 5 px out */
  assert_pixel(&img, 16, 12, 100, 100, 100); /* past the arm */
  assert_pixel(&img, 11, 13, 100, 100, 100); /* between the arms */
  assert_pixel(&img, 30, 20, 119, 30, 30);   /* tail label */
  assert_pixel(&img, 25, 8, 30, 30, 119);    /* snout prediction, likelihood 0.9: a dot */
  assert_pixel(&img, 27, 10, 30, 30, 119);   /* inside the dot (2.83 px) */
  assert_pixel(&img, 28, 10, 100, 100, 100); /* outside (3.61 px) */
  assert_pixel(&img, 5, 25, 119, 30, 30);    /* tail prediction, likelihood 0.1: an x */
  assert_pixel(&img, 8, 28, 119, 30, 30);    /* on its diagonal */
  assert_pixel(&img, 8, 25, 100, 100, 100);  /* not on a diagonal */
  dlcc_image_free(&img);
  free(plotted);

  plotted = dlcc_path_join(out, "Test-v-img1.png");
  assert_int_equal(dlcc_image_load(plotted, &img, &err), DLCC_OK);
  for (size_t i = 0; i < 40 * 30 * 3; i++) assert_int_equal(img.rgb[i], 100);  /* nothing to draw */
  dlcc_image_free(&img);
  free(plotted);
  assert_contains(out, "/LabeledImages_DLC_x_snapshot-15000");
  free(out);
  dlcc_labels_free(&labels);
}

static void test_plot_missing_image_and_bad_style_are_named(void **state) {
  const char *root = *state;
  dlcc_label_table labels;
  make_labels(&labels, two_parts, 2, 1, hand_labels);
  const size_t joint_of_column[] = {0, 1}, train[] = {0};
  dlcc_eval_split split = {train, 1, NULL, 0};
  dlcc_eval_plot_style style = {"rainbow", 12, 0.7, 0.6};
  char *out = dlcc_path_join(root, "plots");
  dlcc_error err;
  assert_int_not_equal(dlcc_eval_plot(root, out, &labels, hand_predictions, joint_of_column, 2, &split, &style, &err),
                       DLCC_OK);
  assert_contains(err.message, "labeled-data/v/img0.png");
  style.dotsize = 0;
  assert_int_equal(dlcc_eval_plot(root, out, &labels, hand_predictions, joint_of_column, 2, &split, &style, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "config.yaml: dotsize is 0");
  style.dotsize = 12;
  style.alphavalue = 1.5;
  assert_int_equal(dlcc_eval_plot(root, out, &labels, hand_predictions, joint_of_column, 2, &split, &style, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "alphavalue is 1.5");
  free(out);
  dlcc_labels_free(&labels);
}

static void test_plot_file_names_follow_save_labeled_frame(void **state) {
  (void)state;
  char *a = dlcc_eval_plot_file_name("labeled-data/m4s1/img0042.png", true);
  char *b = dlcc_eval_plot_file_name("labeled-data/m4s1/img0042.png", false);
  char *c = dlcc_eval_plot_file_name("img7.png", true);
  assert_string_equal(a, "Training-m4s1-img0042.png");
  assert_string_equal(b, "Test-m4s1-img0042.png");
  assert_string_equal(c, "Training-img7.png");
  free(a);
  free(b);
  free(c);
}

/* ------------------------------------------------------------------------------------------------
 * The split file and the whole chain on a project made by make-demo-project and
 * create-training-dataset. */

static void test_split_read_checks_rows_and_names(void **state) {
  dlcc_label_table labels;
  make_labels(&labels, two_parts, 2, 4, hand_labels);
  char *good = test_write_file(*state, "good.json",
                               "{\"train_indices\": [3, 0], \"test_indices\": [1],"
                               " \"train_images\": [\"labeled-data/v/img3.png\", \"labeled-data/v/img0.png\"]}");
  dlcc_eval_split_indices s;
  dlcc_error err;
  assert_int_equal(dlcc_eval_split_read(good, &labels, &s, &err), DLCC_OK);
  assert_int_equal(s.n_train, 2);
  assert_int_equal(s.train[0], 3);
  assert_int_equal(s.train[1], 0);
  assert_int_equal(s.n_test, 1);
  assert_int_equal(dlcc_eval_split_of(&s).test[0], 1);
  dlcc_eval_split_indices_free(&s);
  const struct {
    const char *json, *fragment;
  } bad[] = {
      {"{\"train_indices\": [0, 9], \"test_indices\": []}", "train_indices entry 1 is not a row of the 4 merged"},
      {"{\"train_indices\": [0, 1.5], \"test_indices\": []}", "train_indices entry 1 is not a row"},
      {"{\"train_indices\": [0, 2], \"test_indices\": [2]}", "row 2 (labeled-data/v/img2.png) is listed twice"},
      {"{\"train_indices\": [0], \"test_indices\": [1], \"test_images\": [\"labeled-data/v/img9.png\"]}",
       "test_indices entry 0 names labeled-data/v/img9.png but row 1 of the merged labels is labeled-data/v/img1.png"},
      {"{\"train_indices\": [0]}", "'test_indices' is missing"},
      {"[1, 2]", "is not a JSON object"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *path = test_write_file(*state, "bad.json", bad[i].json);
    assert_int_not_equal(dlcc_eval_split_read(path, &labels, &s, &err), DLCC_OK);
    assert_contains(err.message, bad[i].fragment);
    assert_contains(err.message, "bad.json");
    assert_contains(err.message, "create-training-dataset");
    free(path);
  }
  free(good);
  dlcc_labels_free(&labels);
}

/* Paths under the demo project for shuffle 1 at 95% and scorer DLC_resnet50_demoJan1shuffle1_100. */
static char *demo_path(const char *root, const char *rel) { return dlcc_path_join(root, rel); }

/* Predictions = labels moved by (3, 4): every distance is 5; tailbase (last column) gets likelihood
 * 0.1 and drops out with the cutoff. */
static double *shifted_predictions(const dlcc_label_table *labels) {
  size_t cells = labels->n_rows * labels->n_columns;
  double *pred = malloc(cells * 3 * sizeof *pred);
  for (size_t k = 0; k < cells; k++) {
    pred[3 * k] = labels->values[2 * k] + 3;
    pred[3 * k + 1] = labels->values[2 * k + 1] + 4;
    pred[3 * k + 2] = k % labels->n_columns == labels->n_columns - 1 ? 0.1 : 0.9;
  }
  return pred;
}

static void test_demo_project_evaluates_to_known_errors_in_deeplabcut_places(void **state) {
  const char *root = *state;
  char *args = dlcc_strdupf("make-demo-project '%s/p' --frames 12 --labeled 6 && '%s' create-training-dataset '%s/p'",
                            root, getenv("DLCC_BIN"), root);
  char *output;
  assert_int_equal(test_run_dlcc(args, &output), 0);
  free(output);
  free(args);
  char *project = dlcc_path_join(root, "p");
  dlcc_project_config cfg;
  dlcc_error err;
  assert_int_equal(dlcc_config_load(project, &cfg, &err), DLCC_OK);
  char *dataset_dir = dlcc_layout_dataset_dir(&cfg);
  char *merged_rel = dlcc_strdupf("%s/CollectedData_%s.csv", dataset_dir, cfg.scorer);
  char *split_rel = dlcc_layout_split_file(&cfg, cfg.training_fractions[0], 1);
  char *merged = demo_path(project, merged_rel), *split_path = demo_path(project, split_rel);
  dlcc_label_table labels;
  assert_int_equal(dlcc_labels_read(merged, &labels, &err), DLCC_OK);
  dlcc_eval_split_indices split;
  assert_int_equal(dlcc_eval_split_read(split_path, &labels, &split, &err), DLCC_OK);
  assert_int_equal(split.n_train + split.n_test, 6);
  double *pred = shifted_predictions(&labels);
  dlcc_eval_split view = dlcc_eval_split_of(&split);
  dlcc_eval_errors e;
  assert_int_equal(dlcc_eval_compute(&labels, pred, &view, cfg.pcutoff, &e, &err), DLCC_OK);
  assert_double_equal(e.overall.train, 5.0, 1e-12);
  assert_double_equal(e.overall.test, 5.0, 1e-12);
  assert_double_equal(e.overall.test_cutoff, 5.0, 1e-12);
  assert_true(isnan(e.per_bodypart[e.n_bodyparts - 1].train_cutoff));

  char *scorer = dlcc_layout_scorer_name(&cfg, "resnet_50", 1, 100);
  char *eval_rel = dlcc_eval_folder(&cfg, cfg.training_fractions[0], 1);
  char *eval_dir = demo_path(project, eval_rel);
  dlcc_eval_result_row row = dlcc_eval_result_row_of(&e, 100, cfg.training_fractions[0], 1);
  assert_int_equal(dlcc_eval_write_results(eval_dir, scorer, &row, &err), DLCC_OK);
  char *pred_path = dlcc_eval_predictions_path(eval_dir, scorer, 100);
  assert_int_equal(dlcc_eval_write_predictions(pred_path, &labels, pred, scorer, &err), DLCC_OK);
  char **joints;
  size_t n_joints = dlcc_config_joint_names(&cfg, &joints);
  size_t *joint_of_column = calloc(labels.n_columns, sizeof *joint_of_column);
  assert_int_equal(dlcc_eval_column_joints(&labels, joints, n_joints, joint_of_column, &err), DLCC_OK);
  dlcc_eval_plot_style style = {cfg.colormap, cfg.dotsize, cfg.alphavalue, cfg.pcutoff};
  char *plot_dir = dlcc_eval_plot_dir(eval_dir, scorer, 100);
  assert_int_equal(dlcc_eval_plot(project, plot_dir, &labels, pred, joint_of_column, n_joints, &view, &style, &err),
                   DLCC_OK);

  char *combined = read_text(project, "evaluation-results/iteration-0/CombinedEvaluation-results.csv");
  assert_string_equal(combined, HEADER "0,100,95,1,5.0,5.0,0.6,5.0,5.0\n");
  char *model = read_text(project, "evaluation-results/iteration-0/demoJan1-trainset95shuffle1/"
                                   "DLC_resnet50_demoJan1shuffle1_100-results.csv");
  assert_string_equal(model, combined);
  assert_true(dlcc_path_is_file(pred_path));
  assert_contains(pred_path, "demoJan1-trainset95shuffle1/DLC_resnet50_demoJan1shuffle1_100-snapshot-100.csv");
  char *test_image = dlcc_eval_plot_file_name(labels.row_names[split.test[0]], false);
  char *test_plot = dlcc_path_join(plot_dir, test_image);
  assert_true(dlcc_path_is_file(test_plot));
  assert_contains(plot_dir, "/LabeledImages_DLC_resnet50_demoJan1shuffle1_100_snapshot-100");

  free(test_plot);
  free(test_image);
  free(model);
  free(combined);
  free(plot_dir);
  free(joint_of_column);
  free(joints);
  free(pred_path);
  free(eval_dir);
  free(eval_rel);
  free(scorer);
  dlcc_eval_errors_free(&e);
  free(pred);
  dlcc_eval_split_indices_free(&split);
  dlcc_labels_free(&labels);
  free(merged);
  free(split_path);
  free(split_rel);
  free(merged_rel);
  free(dataset_dir);
  dlcc_config_free(&cfg);
  free(project);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors_are_nanmeans_over_split_with_and_without_cutoff),
      cmocka_unit_test(test_per_bodypart_errors_and_nan_when_nothing_counts),
      cmocka_unit_test(test_empty_test_split_gives_nan_test_error),
      cmocka_unit_test(test_split_index_outside_labels_names_index_and_rows),
      cmocka_unit_test(test_means_equal_numpy_nanmean_to_the_bit),
      cmocka_unit_test(test_round2_is_numpy_round),
      cmocka_unit_test(test_multianimal_columns_compared_per_individual_and_pooled_per_bodypart),
      cmocka_unit_test(test_column_joints_names_unknown_bodypart),
      cmocka_unit_test_setup_teardown(test_results_tables_are_pandas_text_in_both_places, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_rerun_replaces_same_model_row_and_keeps_others, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_existing_duplicates_collapse_and_foreign_rows_stay_verbatim, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_foreign_results_file_is_refused_and_left_untouched, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_malformed_results_row_names_line, make_tempdir, remove_tempdir),
      cmocka_unit_test(test_result_row_and_folder_follow_deeplabcut_names),
      cmocka_unit_test_setup_teardown(test_predictions_table_reads_back_with_likelihood, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_keypoint_results_are_keypoint_error_text, make_tempdir, remove_tempdir),
      cmocka_unit_test(test_terminal_table_lists_parts_and_all),
      cmocka_unit_test(test_colormaps_sample_like_matplotlib),
      cmocka_unit_test(test_unknown_colormap_names_key_and_choices),
      cmocka_unit_test_setup_teardown(test_plot_draws_labels_and_predictions_in_bodypart_colours, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_plot_missing_image_and_bad_style_are_named, make_tempdir, remove_tempdir),
      cmocka_unit_test(test_plot_file_names_follow_save_labeled_frame),
      cmocka_unit_test_setup_teardown(test_split_read_checks_rows_and_names, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_demo_project_evaluates_to_known_errors_in_deeplabcut_places, make_tempdir,
                                      remove_tempdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
