/* Tests of the multi-animal evaluation numbers (src/eval/ma_metrics) on hand-made predictions, without a
 * network: labels as predictions, individuals in another order, a missed animal and a false one, a
 * frame with only individual 2 labeled; and maDLC's files: dist_<N>.csv and the mAP columns of the
 * results tables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/evaluate_multi.h"
#include "eval/ma_metrics.h"
#include "eval/results_csv.h"
#include "project/labels.h"
#include "testutil.h"
#include "util/fileio.h"

#define assert_near(actual, expected, tolerance) check_near((actual), (expected), (tolerance), __FILE__, __LINE__)
static void check_near(double actual, double expected, double tolerance, const char *file, int line) {
  bool both_nan = isnan(actual) && isnan(expected);
  if (!both_nan && !(fabs(actual - expected) <= tolerance))
    fail_msg("%s:%d: %.17g, want %.17g (tolerance %g)", file, line, actual, expected, tolerance);
}

/* The project of every case: individuals a1, a2 with multi-animal parts head, body, tail (joints 0-2)
 * and the unique part marker (joint 3, individual "single"); 4 images, rows 0-2 train, row 3 test. */
enum { N_ROWS = 4, N_COLS = 7, N_MULTI = 3, N_JOINTS = 4, MAX_ANIMALS = 3 };
static const size_t train_rows[] = {0, 1, 2}, test_rows[] = {3};
static const dlcc_eval_split split = {train_rows, 3, test_rows, 1};

/* Labeled position of individual i's part k in row r: the triangle head (0,0), body (10,0), tail
 * (10,20) (box 10 x 20: OKS denominator 2 * 200 * (2 * 0.1)^2 = 16) moved to (20 + 200 i + 3 r,
 * 30 + 100 i); the marker at (150 + r, 250). */
static void label_xy(size_t r, size_t i, size_t k, double xy[2]) {
  static const double base[3][2] = {{0, 0}, {10, 0}, {10, 20}};
  if (k == 3) {
    xy[0] = 150 + (double)r;
    xy[1] = 250;
    return;
  }
  xy[0] = base[k][0] + 20 + 200 * (double)i + 3 * (double)r;
  xy[1] = base[k][1] + 30 + 100 * (double)i;
}

/* The label table; swapped puts a2's columns before a1's. */
static void make_labels(dlcc_label_table *t, size_t *joint_of_column, bool swapped) {
  char *individuals[N_COLS], *bodyparts[N_COLS], *rows[N_ROWS];
  char *names[4] = {"head", "body", "tail", "marker"}, *inds[2] = {"a1", "a2"};
  char row_names[N_ROWS][40];
  size_t ind_of[N_COLS];
  for (size_t c = 0; c < N_COLS; c++) {
    size_t i = c < 6 ? (c / 3 + (swapped ? 1 : 0)) % 2 : 2, k = c < 6 ? c % 3 : 3;
    individuals[c] = i < 2 ? inds[i] : "single";
    bodyparts[c] = names[k];
    joint_of_column[c] = k;
    ind_of[c] = i;
  }
  for (size_t r = 0; r < N_ROWS; r++) {
    snprintf(row_names[r], sizeof row_names[r], "labeled-data/v/img%zu.png", r);
    rows[r] = row_names[r];
  }
  dlcc_error err;
  if (dlcc_labels_create(t, "me", true, 2, individuals, bodyparts, N_COLS, rows, N_ROWS, &err))
    fail_msg("%s", err.message);
  for (size_t r = 0; r < N_ROWS; r++)
    for (size_t c = 0; c < N_COLS; c++)
      label_xy(r, ind_of[c] < 2 ? ind_of[c] : 0, joint_of_column[c], t->values + dlcc_label_index(t, r, c, 0));
}

/* What a row's prediction holds: per individual (a1, a2, a far-away false one) whether it is there,
 * its offset from the labels, its keypoint score and its ranking score; the order the individuals (and
 * each joint's detections) come in. */
typedef struct image_spec {
  bool present[3];
  double offset[3][2];
  double score[3];
  double rank_score[3];
  int order[3];
} image_spec;

static image_spec exact_spec(void) {
  return (image_spec){{true, true, false}, {{0, 0}, {0, 0}, {0, 0}}, {0.9, 0.9, 0.9}, {0.9, 0.8, 0.95}, {0, 1, 2}};
}

static void predicted_xy(size_t r, int i, size_t k, const image_spec *s, double xy[2]) {
  if (i == 2) { /* the false individual: far from every label */
    xy[0] = 900 + 10 * (double)k;
    xy[1] = 900;
    return;
  }
  label_xy(r, (size_t)i, k, xy);
  xy[0] += s->offset[i][0];
  xy[1] += s->offset[i][1];
}

static void set_image(dlcc_ma_predictions *p, size_t r, const image_spec *s) {
  size_t first[N_JOINTS + 1] = {0};
  double xy[N_JOINTS * 3 * 2], score[N_JOINTS * 3], animals[MAX_ANIMALS * N_MULTI * 3], animal_score[MAX_ANIMALS];
  size_t n = 0;
  for (size_t k = 0; k < N_MULTI; k++) {
    for (int o = 0; o < 3; o++) {
      int i = s->order[o];
      if (!s->present[i]) continue;
      predicted_xy(r, i, k, s, xy + 2 * n);
      score[n++] = s->score[i];
    }
    first[k + 1] = n;
  }
  label_xy(r, 0, 3, xy + 2 * n);
  score[n++] = 0.9;
  first[N_JOINTS] = n;
  int n_animals = 0;
  for (int o = 0; o < 3; o++) {
    int i = s->order[o];
    if (!s->present[i]) continue;
    for (size_t k = 0; k < N_MULTI; k++) {
      double *a = animals + ((size_t)n_animals * N_MULTI + k) * 3;
      predicted_xy(r, i, k, s, a);
      a[2] = s->score[i];
    }
    animal_score[n_animals++] = s->rank_score[i];
  }
  double unique[3];
  label_xy(r, 0, 3, unique);
  unique[2] = 0.9;
  dlcc_error err;
  if (dlcc_ma_predictions_set(p, r, first, xy, score, n_animals, animals, animal_score, unique, &err))
    fail_msg("%s", err.message);
}

typedef struct ma_case {
  dlcc_label_table labels;
  size_t joint_of_column[N_COLS];
  dlcc_ma_predictions pred;
  dlcc_ma_eval_result result;
} ma_case;

/* Runs the numbers for the given image specs (pcutoff 0.6, OKS sigma 0.1, no margin). */
static void run_case(ma_case *c, const image_spec specs[N_ROWS], bool swapped_labels) {
  memset(c, 0, sizeof *c);
  make_labels(&c->labels, c->joint_of_column, swapped_labels);
  dlcc_error err;
  if (dlcc_ma_predictions_init(&c->pred, N_ROWS, N_JOINTS, N_MULTI, MAX_ANIMALS, &err)) fail_msg("%s", err.message);
  for (size_t r = 0; r < N_ROWS; r++) set_image(&c->pred, r, &specs[r]);
  dlcc_ma_eval_input in = {&c->labels, c->joint_of_column, &split, 0.6, {0.1, NULL, 0}};
  if (dlcc_ma_eval_compute(&in, &c->pred, &c->result, &err)) fail_msg("%s", err.message);
}

static void free_case(ma_case *c) {
  dlcc_ma_eval_result_free(&c->result);
  dlcc_ma_predictions_free(&c->pred);
  dlcc_labels_free(&c->labels);
}

static void assert_means(const dlcc_eval_means *m, double train, double test, double train_cut, double test_cut) {
  assert_near(m->train, train, 1e-12);
  assert_near(m->test, test, 1e-12);
  assert_near(m->train_cutoff, train_cut, 1e-12);
  assert_near(m->test_cutoff, test_cut, 1e-12);
}

static void test_labels_as_predictions_give_error_0_and_map_1(void **state) {
  (void)state;
  image_spec specs[N_ROWS];
  for (int r = 0; r < N_ROWS; r++) specs[r] = exact_spec();
  ma_case c;
  run_case(&c, specs, false);
  assert_means(&c.result.detection.overall, 0, 0, 0, 0);
  for (size_t k = 0; k < c.result.detection.n_bodyparts; k++)
    assert_means(&c.result.detection.per_bodypart[k], 0, 0, 0, 0);
  assert_means(&c.result.assembly, 0, 0, 0, 0);
  /* every prediction a true positive of OKS 1: precision tp / (tp + 2^-52) at every recall level */
  assert_near(c.result.map_train.map, 1, 1e-12);
  assert_near(c.result.map_train.mar, 1, 0);
  assert_near(c.result.map_test.map, 1, 1e-12);
  assert_near(c.result.map_test.mar, 1, 0);
  assert_int_equal(c.result.map_train.n_truth, 6);
  assert_int_equal(c.result.map_test.n_truth, 2);
  assert_int_equal(c.result.n_scored_train, 3);
  assert_int_equal(c.result.n_scored_test, 1);
  /* each label took the detection at its own place, with its score */
  for (size_t r = 0; r < N_ROWS; r++)
    for (size_t col = 0; col < N_COLS; col++) {
      const double *m = c.result.matched + (r * N_COLS + col) * 3;
      assert_near(m[0], c.labels.values[dlcc_label_index(&c.labels, r, col, 0)], 0);
      assert_near(m[1], c.labels.values[dlcc_label_index(&c.labels, r, col, 1)], 0);
      assert_near(m[2], 0.9, 0);
    }
  free_case(&c);
}

/* a1 predicted 1 px right with keypoint scores 0.9, a2 2 px down with scores 0.5 (below pcutoff
 * 0.6); ranked a1 (0.9) before a2 (0.5). */
static void offset_specs(image_spec specs[N_ROWS], bool reversed) {
  for (int r = 0; r < N_ROWS; r++) {
    specs[r] = exact_spec();
    specs[r].offset[0][0] = 1;
    specs[r].offset[1][1] = 2;
    specs[r].score[1] = 0.5;
    specs[r].rank_score[1] = 0.5;
    if (reversed) {
      specs[r].order[0] = 1;
      specs[r].order[1] = 0;
    }
  }
}

static void check_offset_numbers(const ma_case *c) {
  /* Detections: per image a1's 3 labels 1 px off, a2's 3 labels 2 px off, the marker exact:
   * (3 * 1 + 3 * 2 + 0) / 7 = 9/7; above pcutoff only a1 and the marker: (3 * 1 + 0) / 4 = 0.75. */
  assert_means(&c->result.detection.overall, 9.0 / 7, 9.0 / 7, 0.75, 0.75);
  /* Assembled individuals (multi-animal parts only): (3 + 6) / 6 = 1.5; above pcutoff 3 / 3 = 1. */
  assert_means(&c->result.assembly, 1.5, 1.5, 1.0, 1.0);
  /* OKS: a1 exp(-1/16) = 0.939, a2 exp(-4/16) = 0.779. Train (3 images, 6 labels), ranks a1 x 3 then
   * a2 x 3. Thresholds 0.50..0.75 (6): all true, AP 1, recall 1. 0.80..0.90 (3): a1 true, a2 false:
   * recall reaches 1/2 at precision 1: levels 0..0.50 (51 of 101) read 1, AP 51/101, recall 1/2.
   * 0.95: none, AP 0, recall 0. mAP (6 + 3 * 51/101) / 10 = 759/1010, mAR (6 + 1.5) / 10 = 0.75.
   * Test (1 image, a1 then a2) gives the same. */
  assert_near(c->result.map_train.map, 759.0 / 1010, 1e-12);
  assert_near(c->result.map_train.mar, 0.75, 1e-15);
  assert_near(c->result.map_test.map, 759.0 / 1010, 1e-12);
  assert_near(c->result.map_test.mar, 0.75, 1e-15);
}

static void test_order_of_individuals_does_not_change_the_numbers(void **state) {
  (void)state;
  image_spec specs[N_ROWS];
  ma_case plain, reversed, swapped;
  offset_specs(specs, false);
  run_case(&plain, specs, false);
  check_offset_numbers(&plain);
  /* the assembler's individuals (and the detections) in the other order */
  offset_specs(specs, true);
  run_case(&reversed, specs, false);
  check_offset_numbers(&reversed);
  /* the label table with a2's columns first */
  offset_specs(specs, false);
  run_case(&swapped, specs, true);
  check_offset_numbers(&swapped);
  assert_near(reversed.result.map_train.map, plain.result.map_train.map, 0);
  assert_near(reversed.result.detection.overall.train, plain.result.detection.overall.train, 0);
  assert_near(reversed.result.assembly.train, plain.result.assembly.train, 0);
  free_case(&plain);
  free_case(&reversed);
  free_case(&swapped);
}

static void test_missing_and_false_individuals(void **state) {
  (void)state;
  image_spec specs[N_ROWS];
  for (int r = 0; r < N_ROWS; r++) specs[r] = exact_spec();
  specs[1].present[1] = false; /* a2 missed in train image 1 */
  ma_case c;
  run_case(&c, specs, false);
  /* Train: 6 labels, 5 exact predictions (OKS 1): recall 1/6 .. 5/6 at precision 1; levels 0..0.83
   * (84 of 101) read 1: AP 84/101 at every threshold, mAR 5/6. Test untouched. */
  assert_near(c.result.map_train.map, 84.0 / 101, 1e-12);
  assert_near(c.result.map_train.mar, 5.0 / 6, 1e-15);
  assert_near(c.result.map_test.map, 1, 1e-12);
  /* a2's labels in image 1 found no detection of their own: the one detection per part went to a1 */
  for (size_t col = 3; col < 6; col++) assert_true(isnan(c.result.matched[(1 * N_COLS + col) * 3]));
  assert_true(isnan(c.result.detection.distance[1 * N_COLS + 3]));
  assert_means(&c.result.detection.overall, 0, 0, 0, 0);
  free_case(&c);

  /* Also a false individual far away in train image 2, scored 0.95 so that it ranks first: FP, then
   * 5 TP: precision 0, 1/2, 2/3, 3/4, 4/5, 5/6, made non-increasing from the right: 5/6 everywhere,
   * read at levels 0..0.83: AP 84/101 * 5/6 at every threshold: mAP 420/606, mAR 5/6. */
  specs[2].present[2] = true;
  run_case(&c, specs, false);
  assert_near(c.result.map_train.map, 420.0 / 606, 1e-12);
  assert_near(c.result.map_train.mar, 5.0 / 6, 1e-15);
  assert_means(&c.result.detection.overall, 0, 0, 0, 0);
  assert_means(&c.result.assembly, 0, 0, 0, 0);
  /* the third individual has no column among the 2 labeled individuals */
  dlcc_ma_eval_input in = {&c.labels, c.joint_of_column, &split, 0.6, {0.1, NULL, 0}};
  size_t dropped = 0;
  double *table = dlcc_ma_assemblies_table(&in, &c.pred, &dropped);
  assert_non_null(table);
  assert_int_equal(dropped, 1);
  /* image 1: a1 in a1's columns, a2's columns empty, the marker in the single column */
  assert_near(table[(1 * N_COLS + 0) * 3], c.labels.values[dlcc_label_index(&c.labels, 1, 0, 0)], 0);
  assert_true(isnan(table[(1 * N_COLS + 3) * 3]));
  assert_near(table[(1 * N_COLS + 6) * 3], 151, 0);
  free(table);
  free_case(&c);
}

static void test_frame_with_only_individual2_labeled(void **state) {
  (void)state;
  image_spec specs[N_ROWS];
  for (int r = 0; r < N_ROWS; r++) specs[r] = exact_spec();
  ma_case c;
  run_case(&c, specs, false);
  /* unlabel a1 in the test image and recompute */
  dlcc_ma_eval_result_free(&c.result);
  for (size_t col = 0; col < 3; col++)
    for (size_t k = 0; k < 2; k++) c.labels.values[dlcc_label_index(&c.labels, 3, col, k)] = NAN;
  dlcc_ma_eval_input in = {&c.labels, c.joint_of_column, &split, 0.6, {0.1, NULL, 0}};
  dlcc_error err;
  assert_int_equal(dlcc_ma_eval_compute(&in, &c.pred, &c.result, &err), DLCC_OK);
  /* Test: 1 label (a2), 2 predictions: a1 (0.9, no label left: OKS 0, a false positive) ranks before a2
   * (0.8, OKS 1): precision 0, 1/2 -> 1/2, 1/2 at recall 0, 1: every level reads 1/2: mAP 1/2, mAR 1. */
  assert_int_equal(c.result.map_test.n_truth, 1);
  assert_near(c.result.map_test.map, 0.5, 1e-12);
  assert_near(c.result.map_test.mar, 1, 0);
  /* a2's labels take their own detections (a1's are farther): error 0; a1's columns stay empty */
  assert_means(&c.result.detection.overall, 0, 0, 0, 0);
  assert_means(&c.result.assembly, 0, 0, 0, 0);
  assert_true(isnan(c.result.matched[(3 * N_COLS + 0) * 3]));
  assert_near(c.result.matched[(3 * N_COLS + 3) * 3], c.labels.values[dlcc_label_index(&c.labels, 3, 3, 0)], 0);
  free_case(&c);
}

static void test_unpredicted_or_unlabeled_images_are_left_out(void **state) {
  (void)state;
  image_spec specs[N_ROWS];
  for (int r = 0; r < N_ROWS; r++) specs[r] = exact_spec();
  specs[1].offset[0][0] = 5; /* a1 5 px off in image 1 */
  ma_case c;
  run_case(&c, specs, false);
  /* (3 * 5) / (3 * 7) over the 3 train images */
  assert_near(c.result.detection.overall.train, 15.0 / 21, 1e-12);
  /* image 1 without any detection (DeepLabCut skips it): nothing of it counts */
  size_t first[N_JOINTS + 1] = {0};
  dlcc_error err;
  assert_int_equal(dlcc_ma_predictions_set(&c.pred, 1, first, NULL, NULL, 0, NULL, NULL, NULL, &err), DLCC_OK);
  assert_false(c.pred.images[1].predicted);
  dlcc_ma_eval_result_free(&c.result);
  dlcc_ma_eval_input in = {&c.labels, c.joint_of_column, &split, 0.6, {0.1, NULL, 0}};
  assert_int_equal(dlcc_ma_eval_compute(&in, &c.pred, &c.result, &err), DLCC_OK);
  assert_int_equal(c.result.n_scored_train, 2);
  assert_int_equal(c.result.map_train.n_truth, 4); /* image 1's 2 labeled individuals do not count */
  assert_near(c.result.map_train.mar, 1, 0);
  assert_near(c.result.detection.overall.train, 0, 0);
  free_case(&c);
}

static void test_labels_of_unique_part_under_an_individual_are_refused(void **state) {
  (void)state;
  image_spec specs[N_ROWS];
  for (int r = 0; r < N_ROWS; r++) specs[r] = exact_spec();
  ma_case c;
  run_case(&c, specs, false);
  dlcc_ma_eval_result_free(&c.result);
  c.joint_of_column[0] = 3; /* a1's column named as the unique marker */
  dlcc_ma_eval_input in = {&c.labels, c.joint_of_column, &split, 0.6, {0.1, NULL, 0}};
  dlcc_error err;
  assert_int_equal(dlcc_ma_eval_compute(&in, &c.pred, &c.result, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "label column 1 (a1, head) belongs to an individual but head is a unique body part");
  free_case(&c);
}

/* --- files --- */

/* dist_<N>.csv as pandas writes DeepLabCut's df_joint (checked with pandas 1.5): columns sorted by
 * individual then body part, rmse before conf, NaN empty, index 0..n-1. */
static void test_dist_file_is_deeplabcuts_table(void **state) {
  (void)state;
  dlcc_label_table t;
  char *individuals[3] = {"b", "a", "single"}, *bodyparts[3] = {"snout", "snout", "x"}, *rows[2] = {"r0", "r1"};
  dlcc_error err;
  assert_int_equal(dlcc_labels_create(&t, "me", true, 2, individuals, bodyparts, 3, rows, 2, &err), DLCC_OK);
  const double dist[6] = {1.5, NAN, 2, NAN, 3, 4}, conf[6] = {0.15, NAN, 0.2, NAN, 0.3, 0.4};
  char *dir = test_tempdir("dist");
  char *path = dlcc_path_join(dir, "dist_5.csv");
  assert_int_equal(dlcc_ma_write_dist(path, &t, dist, conf, &err), DLCC_OK);
  char *text = test_read_file(path, NULL);
  assert_string_equal(text, "scorer,me,me,me,me,me,me\n"
                            "individuals,a,a,b,b,single,single\n"
                            "bodyparts,snout,snout,snout,snout,x,x\n"
                            "metrics,rmse,conf,rmse,conf,rmse,conf\n"
                            "0,,,1.5,0.15,2.0,0.2\n"
                            "1,3.0,0.3,,,4.0,0.4\n");
  free(text);
  test_rmtree(dir);
  free(dir);
  free(path);
  dlcc_labels_free(&t);
}

#define HEADER                                                                                              \
  ",Training iterations:,%Training dataset,Shuffle number, Train error(px), Test error(px),p-cutoff used," \
  "Train error with p-cutoff,Test error with p-cutoff"
#define MAP_HEADER ",train mAP,train mAR,test mAP,test mAR"

/* A multi-animal row widens the table by DeepLabCut 3's four mAP columns; rows without them get empty
 * cells there, as pandas' concat writes a missing value. */
static void test_results_table_gets_map_columns(void **state) {
  (void)state;
  char *dir = test_tempdir("mapcols");
  char *path = test_write_file(dir, "CombinedEvaluation-results.csv", HEADER "\n0,500,95,1,9.1,9.2,0.6,9.3,9.4\n");
  dlcc_eval_result_row row = {1000, 95, 1, 3.0, 4.0, 0.6, 2.5, NAN, true, 75.148514851485146, 75.0, 50.5,
                              100.0};
  dlcc_error err;
  assert_int_equal(dlcc_eval_results_update(path, &row, &err), DLCC_OK);
  char *text = test_read_file(path, NULL);
  assert_string_equal(text, HEADER MAP_HEADER "\n0,500,95,1,9.1,9.2,0.6,9.3,9.4,,,,\n"
                                             "1,1000,95,1,3.0,4.0,0.6,2.5,,75.15,75.0,50.5,100.0\n");
  free(text);
  /* read back as a 12-column table; a single-animal row added to it gets empty mAP cells */
  dlcc_eval_result_row plain = {2000, 95, 1, 1.0, 1.5, 0.6, 1.0, 1.5, false, 0, 0, 0, 0};
  assert_int_equal(dlcc_eval_results_update(path, &plain, &err), DLCC_OK);
  text = test_read_file(path, NULL);
  assert_contains(text, "\n2,2000,95,1,1.0,1.5,0.6,1.0,1.5,,,,\n");
  free(text);
  /* a 12-column header with 8-cell rows is refused */
  char *bad = test_write_file(dir, "bad.csv", HEADER MAP_HEADER "\n0,500,95,1,9.1,9.2,0.6,9.3,9.4\n");
  assert_int_equal(dlcc_eval_results_update(bad, &row, &err), DLCC_ERR_PARSE);
  assert_contains(err.message, "line 2: expected an index and 12 cells");
  free(bad);
  test_rmtree(dir);
  free(dir);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_labels_as_predictions_give_error_0_and_map_1),
      cmocka_unit_test(test_order_of_individuals_does_not_change_the_numbers),
      cmocka_unit_test(test_missing_and_false_individuals),
      cmocka_unit_test(test_frame_with_only_individual2_labeled),
      cmocka_unit_test(test_unpredicted_or_unlabeled_images_are_left_out),
      cmocka_unit_test(test_labels_of_unique_part_under_an_individual_are_refused),
      cmocka_unit_test(test_dist_file_is_deeplabcuts_table),
      cmocka_unit_test(test_results_table_gets_map_columns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
