/* Tests of `dlcc analyze-videos` (src/infer/analyze_video) and `dlcc evaluate-tracks` (src/eval/tracks)
 * on a generated demo project with a snapshot written from a random network: one CSV row per decoded
 * frame with DeepLabCut's header and the metadata, the same keypoints whatever the batch size, a
 * truncated video's error and partial file, config.yaml's cropping, and track errors against the
 * ground truth on hand-built predictions. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/tracks.h"
#include "infer/analysis_output.h"
#include "infer/analyze_video.h"
#include "project/labels.h"
#include "testutil.h"
#include "trained_demo.h"
#include "util/fileio.h"
#include "video/video.h"

#define SCORER "DLC_mobnet_35_demoJan1shuffle1_1000"

static char *project, *config_path, *video_path, *truth_path;

static int make_trained_project(void **state) {
  (void)state;
  project = td_make_project("analyze", 1);
  td_write_snapshot(project, 1000, 7);
  config_path = td_path(project, "config.yaml");
  video_path = td_path(project, "videos/demo.mp4");
  truth_path = td_path(project, "ground-truth/demo_all_frames.csv");
  return 0;
}

static int remove_project(void **state) {
  (void)state;
  test_rmtree(project);
  free(project);
  free(config_path);
  free(video_path);
  free(truth_path);
  return 0;
}

static char *run_dlcc(int want_rc, const char *fmt, const char *a, const char *b, const char *c) {
  char *args = dlcc_strdupf(fmt, a, b, c), *out;
  int rc = test_run_dlcc(args, &out);
  if (rc != want_rc) fail_msg("dlcc %s: exit %d, want %d; output:\n%s", args, rc, want_rc, out);
  free(args);
  return out;
}

static void read_table(const char *path, dlcc_label_table *t) {
  dlcc_error err;
  if (dlcc_labels_read(path, t, &err)) fail_msg("%s", err.message);
}

static long count_decoded_frames(const char *path) {
  dlcc_video_reader *r;
  dlcc_video_info info;
  dlcc_image frame = {0};
  dlcc_error err;
  if (dlcc_video_reader_open(&r, path, &info, &err)) fail_msg("%s", err.message);
  bool done = false;
  while (!done)
    if (dlcc_video_reader_next(r, &frame, &done, &err)) fail_msg("%s", err.message);
  long n = dlcc_video_reader_frame_index(r);
  dlcc_video_reader_close(r);
  dlcc_image_free(&frame);
  return n;
}

/* ---- analysis through the library, with an engine of one thread ---- */

typedef struct analysis {
  dlcc_project_config cfg;
  dlcc_model model;
  dlcc_nn_engine *engine;
} analysis;

static void analysis_open(analysis *a) {
  dlcc_error err;
  dlcc_notes notes = {0};
  dlcc_model_options opt = {.shuffle = 1, .snapshot_iteration = DLCC_MODEL_SNAPSHOT_FROM_CONFIG};
  if (dlcc_config_load(config_path, &a->cfg, &err) ||
      dlcc_analysis_model_open(&a->model, &a->cfg, &opt, &notes, &err) ||
      dlcc_nn_engine_create(&a->engine, 1, &err))
    fail_msg("%s", err.message);
  dlcc_notes_free(&notes);
}

static void analysis_close(analysis *a) {
  dlcc_nn_engine_free(a->engine);
  dlcc_model_close(&a->model);
  dlcc_config_free(&a->cfg);
}

/* Analyses video into dest with batch size b; returns the status, res filled. */
static dlcc_status analyse(analysis *a, const char *video, const char *dest, int b, dlcc_analyze_result *res,
                           dlcc_error *err) {
  dlcc_analyze_options opt = {.dest_folder = dest, .batch_size = b};
  return dlcc_analyze_video(&a->model, a->engine, &a->cfg, video, &opt, res, err);
}

static void analyse_into(analysis *a, const char *dest, int b, dlcc_label_table *t) {
  dlcc_analyze_result res;
  dlcc_error err;
  if (analyse(a, video_path, dest, b, &res, &err)) fail_msg("%s", err.message);
  read_table(res.csv_path, t);
  dlcc_analyze_result_free(&res);
}

/* ---- tests ---- */

static void test_analysis_csv_has_a_row_per_decoded_frame_and_deeplabcuts_header(void **state) {
  (void)state;
  char *dest = test_tempdir("analyze-out");
  char *out = run_dlcc(0, "analyze-videos '%s' '%s' --destfolder '%s'", config_path, video_path, dest);
  char *csv = dlcc_strdupf("%s/demo" SCORER ".csv", dest), *meta = dlcc_strdupf("%s/demo" SCORER "_meta.json", dest);
  assert_contains(out, "Analysing 1 video with snapshot-1000 of shuffle 1 (" SCORER "), batch size 8");
  assert_contains(out, "20 frames (160x128)");
  assert_contains(out, csv);
  long decoded = count_decoded_frames(video_path);
  assert_int_equal(decoded, TD_FRAMES);
  dlcc_label_table t;
  read_table(csv, &t);
  assert_int_equal(t.n_rows, decoded);
  assert_int_equal(t.n_coords, 3);
  assert_int_equal(t.n_columns, 4);
  assert_false(t.multianimal);
  assert_string_equal(t.row_names[0], "0");
  assert_string_equal(t.row_names[decoded - 1], "19");
  for (size_t i = 0; i < t.n_rows * t.n_columns * 3; i++) {
    double v = t.values[i];
    bool likelihood = i % 3 == 2;
    assert_true(likelihood ? v > 0 && v < 1 : v >= 0 && v < TD_WIDTH);
  }
  size_t len;
  char *text = test_read_file(csv, &len);
  assert_true(!strncmp(text, "scorer," SCORER "," SCORER ",", strlen("scorer," SCORER "," SCORER ",")));
  assert_contains(text, "\nbodyparts,snout,snout,snout,leftear,leftear,leftear,rightear,rightear,rightear,tailbase,"
                        "tailbase,tailbase\ncoords,x,y,likelihood,x,y,likelihood,");
  char *json = test_read_file(meta, &len);
  cJSON *root = cJSON_Parse(json), *data = cJSON_GetObjectItem(root, "data");
  assert_int_equal(cJSON_GetObjectItem(data, "nframes")->valueint, TD_FRAMES);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(data, "complete")));
  assert_string_equal(cJSON_GetObjectItem(data, "Scorer")->valuestring, SCORER);
  assert_int_equal(cJSON_GetObjectItem(data, "batch_size")->valueint, 8);
  assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(data, "frame_dimensions"), 0)->valueint, TD_HEIGHT);
  assert_int_equal(cJSON_GetObjectItem(data, "fps")->valuedouble, 30);
  assert_contains(cJSON_GetObjectItem(data, "snapshot")->valuestring, "train/snapshot-1000.safetensors");
  assert_string_equal(cJSON_GetObjectItem(data, "precision")->valuestring, "f32");
  cJSON_Delete(root);
  dlcc_labels_free(&t);
  test_rmtree(dest);
  free(json);
  free(text);
  free(csv);
  free(meta);
  free(out);
  free(dest);
}

/* --precision bf16 runs the network in bf16 where oneDNN has bf16 kernels and says so in the metadata;
 * elsewhere it is refused with what to use instead. A bad value names the choices. */
static void test_precision_bf16_is_recorded_or_refused(void **state) {
  (void)state;
  char *dest = test_tempdir("analyze-bf16");
  char *bad = run_dlcc(2, "analyze-videos '%s' '%s' --precision half%s", config_path, video_path, "");
  assert_contains(bad, "precision 'half': choose f32, bf16 or auto");
  dlcc_nn_cpu_info cpu = dlcc_nn_cpu_info_get(NULL);
  if (!cpu.bf16_available) {
    char *out = run_dlcc(1, "analyze-videos '%s' '%s' --precision bf16 --destfolder '%s'", config_path, video_path, dest);
    assert_contains(out, "use --precision f32");
    free(out);
  } else {
    char *out = run_dlcc(0, "analyze-videos '%s' '%s' --precision bf16 --destfolder '%s'", config_path, video_path, dest);
    assert_contains(out, "batch size 8, bf16");
    char *meta = dlcc_strdupf("%s/demo" SCORER "_meta.json", dest);
    size_t len;
    char *json = test_read_file(meta, &len);
    cJSON *root = cJSON_Parse(json), *data = cJSON_GetObjectItem(root, "data");
    assert_string_equal(cJSON_GetObjectItem(data, "precision")->valuestring, "bf16");
    assert_int_equal(cJSON_GetObjectItem(data, "nframes")->valueint, TD_FRAMES);
    cJSON_Delete(root);
    free(json);
    free(meta);
    free(out);
  }
  test_rmtree(dest);
  free(bad);
  free(dest);
}

static void assert_same_keypoints(const dlcc_label_table *a, const dlcc_label_table *b, const char *what) {
  assert_int_equal(a->n_rows, b->n_rows);
  for (size_t i = 0; i < a->n_rows * a->n_columns * 3; i++) {
    double tolerance = i % 3 == 2 ? 1e-5 : 1e-3;
    if (!(fabs(a->values[i] - b->values[i]) <= tolerance))
      fail_msg("%s: frame %zu, value %zu: %.9g vs %.9g", what, i / (a->n_columns * 3), i % (a->n_columns * 3),
               a->values[i], b->values[i]);
  }
}

static void test_batch_sizes_give_the_same_keypoints(void **state) {
  (void)state;
  analysis a;
  analysis_open(&a);
  char *dest = test_tempdir("analyze-batch");
  char *d1 = dlcc_path_join(dest, "b1"), *d3 = dlcc_path_join(dest, "b3"), *d4 = dlcc_path_join(dest, "b4");
  dlcc_label_table b1, b3, b4;
  analyse_into(&a, d1, 1, &b1);
  analyse_into(&a, d4, 4, &b4);
  analyse_into(&a, d3, 3, &b3);  /* 20 frames: the last batch holds 2 */
  assert_int_equal(b1.n_rows, TD_FRAMES);
  assert_same_keypoints(&b1, &b4, "batch 1 vs 4");
  assert_same_keypoints(&b1, &b3, "batch 1 vs 3");
  /* the keypoints move with the animal: a constant output would pass the comparison trivially */
  size_t differing = 0;
  for (size_t r = 1; r < b1.n_rows; r++)
    differing += b1.values[dlcc_label_index(&b1, r, 0, 0)] != b1.values[dlcc_label_index(&b1, 0, 0, 0)];
  assert_true(differing > 0);
  dlcc_labels_free(&b1);
  dlcc_labels_free(&b3);
  dlcc_labels_free(&b4);
  analysis_close(&a);
  test_rmtree(dest);
  free(d1);
  free(d3);
  free(d4);
  free(dest);
}

static void copy_first_bytes(const char *from, const char *to, double fraction) {
  size_t len;
  char *data = test_read_file(from, &len);
  dlcc_error err;
  if (dlcc_file_write_atomic(to, data, (size_t)((double)len * fraction), &err)) fail_msg("%s", err.message);
  free(data);
}

static void test_truncated_video_names_last_good_frame_and_keeps_the_frames_before_it(void **state) {
  (void)state;
  char *dir = test_tempdir("analyze-cut");
  char *cut = dlcc_path_join(dir, "cut.mp4");
  copy_first_bytes(video_path, cut, 0.6);
  analysis a;
  analysis_open(&a);
  dlcc_analyze_result res;
  dlcc_error err;
  assert_int_equal(analyse(&a, cut, NULL, 4, &res, &err), DLCC_ERR_PARSE);
  assert_true(res.frames > 0 && res.frames < TD_FRAMES);
  char *partial = dlcc_strdupf("%s/cut" SCORER ".partial.csv", dir);
  char *complete = dlcc_strdupf("%s/cut" SCORER ".csv", dir);
  char *last_good = dlcc_strdupf("video %s is truncated or corrupt after frame %ld (the last good frame", cut,
                                 res.frames - 1);
  char *kept = dlcc_strdupf("the %ld frames analysed before it are kept in %s", res.frames, partial);
  assert_contains(err.message, last_good);
  assert_contains(err.message, kept);
  assert_string_equal(res.csv_path, partial);
  assert_false(dlcc_path_is_file(complete));
  dlcc_label_table got, full;
  read_table(partial, &got);
  assert_int_equal(got.n_rows, res.frames);
  char *full_dir = dlcc_path_join(dir, "full");
  analyse_into(&a, full_dir, 4, &full);
  full.n_rows = got.n_rows;  /* the partial file holds the same first frames */
  assert_same_keypoints(&got, &full, "partial vs complete");
  full.n_rows = TD_FRAMES;
  dlcc_analyze_result_free(&res);
  /* the command line says the same and exits 1 */
  char *out = run_dlcc(1, "analyze-videos '%s' '%s'%s", config_path, cut, "");
  assert_contains(out, "dlcc analyze-videos: error: video ");
  assert_contains(out, last_good);
  assert_contains(out, kept);
  dlcc_labels_free(&got);
  dlcc_labels_free(&full);
  analysis_close(&a);
  test_rmtree(dir);
  free(out);
  free(full_dir);
  free(kept);
  free(last_good);
  free(partial);
  free(complete);
  free(cut);
  free(dir);
}

static void test_cropping_predicts_the_box_with_coordinates_relative_to_it(void **state) {
  (void)state;
  analysis a;
  analysis_open(&a);
  a.cfg.cropping = true;
  a.cfg.x1 = 16, a.cfg.x2 = 144, a.cfg.y1 = 8, a.cfg.y2 = 120;
  char *dest = test_tempdir("analyze-crop");
  dlcc_label_table t;
  analyse_into(&a, dest, 4, &t);
  /* frame 0 through the network, cut by hand to the box */
  dlcc_video_reader *r;
  dlcc_video_info info;
  dlcc_image frame = {0};
  bool done;
  dlcc_error err;
  assert_int_equal(dlcc_video_reader_open(&r, video_path, &info, &err), DLCC_OK);
  assert_int_equal(dlcc_video_reader_next(r, &frame, &done, &err), DLCC_OK);
  dlcc_image box;
  assert_int_equal(dlcc_image_alloc(&box, 128, 112, &err), DLCC_OK);
  for (int y = 0; y < 112; y++)
    memcpy(box.rgb + (size_t)y * 128 * 3, frame.rgb + ((size_t)(y + 8) * 160 + 16) * 3, 128 * 3);
  double pose[12];
  assert_int_equal(dlcc_model_predict(&a.model, a.engine, &box, 1, NULL, pose, &err), DLCC_OK);
  for (int i = 0; i < 12; i++)
    if (!(fabs(t.values[i] - pose[i]) <= (i % 3 == 2 ? 1e-5 : 1e-3)))
      fail_msg("value %d: CSV %.9g, network on the box %.9g", i, t.values[i], pose[i]);
  size_t len;
  char *meta = dlcc_strdupf("%s/demo" SCORER "_meta.json", dest), *json = test_read_file(meta, &len);
  assert_contains(json, "\"cropping\":\ttrue");
  cJSON *root = cJSON_Parse(json);
  cJSON *crop = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "data"), "cropping_parameters");
  assert_int_equal(cJSON_GetArrayItem(crop, 1)->valueint, 144);
  assert_int_equal(cJSON_GetArrayItem(crop, 2)->valueint, 8);
  cJSON_Delete(root);
  /* a box that leaves the frame is refused naming the keys */
  a.cfg.x2 = 200;
  dlcc_analyze_result res;
  assert_int_equal(analyse(&a, video_path, dest, 4, &res, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "cropping is on with x1 16, x2 200, y1 8, y2 120, but video");
  assert_contains(err.message, "is 160x128; the box must have x1 < x2 <= 160 and y1 < y2 <= 128: fix x1, x2, y1, y2 or "
                               "set cropping: false");
  assert_null(res.csv_path);
  dlcc_analyze_result_free(&res);
  dlcc_video_reader_close(r);
  dlcc_image_free(&frame);
  dlcc_image_free(&box);
  dlcc_labels_free(&t);
  analysis_close(&a);
  test_rmtree(dest);
  free(json);
  free(meta);
  free(dest);
}

/* ---- evaluate-tracks ---- */

/* Predictions built from the ground truth: snout off by (2.4, 3.2) = 4 px (within 5), leftear by
 * (6, 8) = 10 px (not within), rightear exact, tailbase off by (0, 1) on even frames and missing on
 * odd ones. */
static void make_predictions(const dlcc_label_table *truth, dlcc_label_table *pred) {
  char *parts[4], *rows[TD_FRAMES];
  for (size_t c = 0; c < 4; c++) parts[c] = truth->columns[c].bodypart;
  for (size_t r = 0; r < truth->n_rows; r++) rows[r] = truth->row_names[r];
  dlcc_error err;
  if (dlcc_labels_create(pred, SCORER, false, 3, NULL, parts, 4, rows, truth->n_rows, &err))
    fail_msg("%s", err.message);
  const double offset[4][2] = {{2.4, 3.2}, {6, 8}, {0, 0}, {0, 1}};
  for (size_t r = 0; r < truth->n_rows; r++)
    for (size_t c = 0; c < 4; c++) {
      if (c == 3 && r % 2) continue;
      pred->values[dlcc_label_index(pred, r, c, 0)] = truth->values[dlcc_label_index(truth, r, c, 0)] + offset[c][0];
      pred->values[dlcc_label_index(pred, r, c, 1)] = truth->values[dlcc_label_index(truth, r, c, 1)] + offset[c][1];
      pred->values[dlcc_label_index(pred, r, c, 2)] = 0.9;
    }
}

static void test_evaluate_tracks_gives_the_hand_computed_errors(void **state) {
  (void)state;
  dlcc_label_table truth, pred;
  read_table(truth_path, &truth);
  assert_int_equal(truth.n_rows, TD_FRAMES);
  make_predictions(&truth, &pred);
  /* visible ground truth per part (the demo leaves out parts outside the frame) */
  size_t visible[4] = {0}, even_visible = 0;
  for (size_t r = 0; r < truth.n_rows; r++)
    for (size_t c = 0; c < 4; c++) {
      bool v = !isnan(truth.values[dlcc_label_index(&truth, r, c, 0)]);
      visible[c] += v;
      if (c == 3 && r % 2 == 0) even_visible += v;
    }
  assert_true(visible[0] > 0 && visible[1] > 0 && visible[2] > 0 && even_visible > 0);
  dlcc_track_errors e;
  dlcc_error err;
  assert_int_equal(dlcc_tracks_compare(&pred, "pred.csv", &truth, "truth.csv", 5.0, &e, &err), DLCC_OK);
  assert_int_equal(e.n_frames, TD_FRAMES);
  assert_int_equal(e.n_bodyparts, 4);
  assert_string_equal(e.bodyparts[0], "snout");
  assert_true(fabs(e.per_bodypart[0].mean_error - 4.0) < 1e-9);
  assert_true(e.per_bodypart[0].pct_within == 100.0);
  assert_true(fabs(e.per_bodypart[1].mean_error - 10.0) < 1e-9);
  assert_true(e.per_bodypart[1].pct_within == 0.0);
  assert_true(e.per_bodypart[2].mean_error == 0.0);
  assert_true(fabs(e.per_bodypart[3].mean_error - 1.0) < 1e-9);
  assert_int_equal(e.per_bodypart[3].visible, visible[3]);
  assert_int_equal(e.per_bodypart[3].compared, even_visible);
  assert_true(fabs(e.per_bodypart[3].pct_within - 100.0 * (double)even_visible / (double)visible[3]) < 1e-12);
  size_t compared = visible[0] + visible[1] + visible[2] + even_visible;
  double mean = (4.0 * (double)visible[0] + 10.0 * (double)visible[1] + (double)even_visible) / (double)compared;
  double within = 100.0 * (double)(visible[0] + visible[2] + even_visible) /
                  (double)(visible[0] + visible[1] + visible[2] + visible[3]);
  assert_true(fabs(e.overall.mean_error - mean) < 1e-9);
  assert_true(fabs(e.overall.pct_within - within) < 1e-12);
  dlcc_track_errors_free(&e);

  /* the command line prints the same numbers */
  char *dir = test_tempdir("tracks"), *pred_path = dlcc_path_join(dir, "demo" SCORER ".csv");
  assert_int_equal(dlcc_labels_write(&pred, pred_path, &err), DLCC_OK);
  char *out = run_dlcc(0, "evaluate-tracks '%s' '%s'%s", pred_path, truth_path, "");
  char *snout = dlcc_strdupf("%-9s  %15.2f  %11.1f%%  %9zu\n", "snout", 4.0, 100.0, visible[0]);
  char *all = dlcc_strdupf("%-9s  %15.2f  %11.1f%%  %9zu\n", "all", mean, within,
                           visible[0] + visible[1] + visible[2] + visible[3]);
  assert_contains(out, "body part  mean error (px)   within 5 px    visible\n");
  assert_contains(out, snout);
  assert_contains(out, all);
  assert_contains(out, "20 frames compared");
  dlcc_labels_free(&truth);
  dlcc_labels_free(&pred);
  test_rmtree(dir);
  free(snout);
  free(all);
  free(out);
  free(pred_path);
  free(dir);
}

static void test_evaluate_tracks_refuses_other_bodyparts_or_frame_counts(void **state) {
  (void)state;
  dlcc_label_table truth, pred;
  read_table(truth_path, &truth);
  make_predictions(&truth, &pred);
  char *dir = test_tempdir("tracks"), *pred_path = dlcc_path_join(dir, "pred.csv");
  free(pred.columns[0].bodypart);
  pred.columns[0].bodypart = strdup("nose");
  dlcc_error err;
  assert_int_equal(dlcc_labels_write(&pred, pred_path, &err), DLCC_OK);
  char *out = run_dlcc(1, "evaluate-tracks '%s' '%s'%s", pred_path, truth_path, "");
  char *lacks = dlcc_strdupf("the body parts differ: %s lacks snout; %s lacks nose", pred_path, truth_path);
  assert_contains(out, lacks);
  free(out);
  free(pred.columns[0].bodypart);
  pred.columns[0].bodypart = strdup("snout");
  pred.n_rows = 19;  /* the writer writes the first 19 rows */
  assert_int_equal(dlcc_labels_write(&pred, pred_path, &err), DLCC_OK);
  pred.n_rows = 20;
  out = run_dlcc(1, "evaluate-tracks '%s' '%s'%s", pred_path, truth_path, "");
  char *frames = dlcc_strdupf("%s has 19 frames but the ground truth %s has 20", pred_path, truth_path);
  assert_contains(out, frames);
  dlcc_labels_free(&truth);
  dlcc_labels_free(&pred);
  test_rmtree(dir);
  free(frames);
  free(lacks);
  free(out);
  free(pred_path);
  free(dir);
}

int main(void) {
  /* one OpenMP thread in the dlcc runs: ctest runs tests side by side, and oneDNN's spinning threads
   * on busy cores make a small network hundreds of times slower */
  setenv("OMP_NUM_THREADS", "1", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_analysis_csv_has_a_row_per_decoded_frame_and_deeplabcuts_header),
      cmocka_unit_test(test_batch_sizes_give_the_same_keypoints),
    cmocka_unit_test(test_precision_bf16_is_recorded_or_refused),
      cmocka_unit_test(test_truncated_video_names_last_good_frame_and_keeps_the_frames_before_it),
      cmocka_unit_test(test_cropping_predicts_the_box_with_coordinates_relative_to_it),
      cmocka_unit_test(test_evaluate_tracks_gives_the_hand_computed_errors),
      cmocka_unit_test(test_evaluate_tracks_refuses_other_bodyparts_or_frame_counts),
  };
  return cmocka_run_group_tests(tests, make_trained_project, remove_project);
}
