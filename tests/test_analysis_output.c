/* Tests of src/infer/analysis_output: the analysis CSV's exact text (DeepLabCut's header, pandas'
 * numbers, frame numbers as index), streaming (nothing under the final name until finish), the
 * partial file and its metadata when an analysis stops part-way, the metadata JSON's fields, and the
 * file names. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer/analysis_output.h"
#include "infer/predict_single.h"
#include "project/labels.h"
#include "testutil.h"
#include "util/fileio.h"

#define SCORER "DLC_resnet50_openfieldOct30shuffle1_15000"

static char *const bodyparts[2] = {"snout", "tailbase"};

/* Three frames of two body parts: pandas' shortest round-trip numbers, an f32 likelihood widened to
 * double as DeepLabCut's are, NaN (an empty cell), and the exponent form Python uses below 1e-4. */
static const double three_frames[3][6] = {
    {250.05599999999998, 12.0, 0.9999999, 300.25, 200.0, 0.9999998807907104},
    {27.280099868774414, 8.359950065612793, 0.5, NAN, NAN, NAN},
    {0.0, 479.99999999999994, 1e-05, 639.5, -0.75, 0.00012},
};

static const char *const expected_header =
    "scorer," SCORER "," SCORER "," SCORER "," SCORER "," SCORER "," SCORER "\n"
    "bodyparts,snout,snout,snout,tailbase,tailbase,tailbase\n"
    "coords,x,y,likelihood,x,y,likelihood\n";
static const char *const expected_rows[3] = {
    "0,250.05599999999998,12.0,0.9999999,300.25,200.0,0.9999998807907104\n",
    "1,27.280099868774414,8.359950065612793,0.5,,,\n",
    "2,0.0,479.99999999999994,1e-05,639.5,-0.75,0.00012\n",
};

static char *expected_csv(size_t n_rows) {
  dlcc_strbuf sb = {0};
  dlcc_strbuf_append(&sb, expected_header);
  for (size_t r = 0; r < n_rows; r++) dlcc_strbuf_append(&sb, expected_rows[r]);
  return sb.data;
}

static dlcc_analysis_info example_info(const char *video) {
  dlcc_analysis_info info;
  memset(&info, 0, sizeof info);
  info.video_path = video;
  info.scorer = SCORER;
  info.bodyparts = bodyparts;
  info.n_bodyparts = 2;
  info.fps = 30.0;
  info.width = 640;
  info.height = 480;
  info.frames_in_container = 2331;
  info.snapshot = "/p/dlc-models/iteration-0/openfieldOct30-trainset95shuffle1/train/snapshot-15000";
  info.net_type = "resnet_50";
  info.iteration = 0;
  info.train_fraction = 0.95;
  info.shuffle = 1;
  info.batch_size = 8;
  info.start_time = 1540900800.0; /* 2018-10-30T12:00:00Z */
  return info;
}

static dlcc_analysis_writer *open_ok(const dlcc_analysis_info *info) {
  dlcc_analysis_writer *w = NULL;
  dlcc_error err;
  if (dlcc_analysis_writer_open(&w, info, &err)) fail_msg("%s", err.message);
  return w;
}

static void append_ok(dlcc_analysis_writer *w, const double *pose, size_t n_frames) {
  dlcc_error err;
  if (dlcc_analysis_writer_append(w, pose, n_frames, &err)) fail_msg("%s", err.message);
}

static char *path_of(const char *video, dlcc_analysis_file which) {
  char *path = dlcc_analysis_path(video, NULL, SCORER, which);
  assert_non_null(path);
  return path;
}

/* Whether any file of dir holds a temp file's marker. */
static bool has_temp_file(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  bool found = false;
  for (struct dirent *e; (e = readdir(d));) found |= strstr(e->d_name, ".tmp-") != NULL;
  closedir(d);
  return found;
}

static cJSON *read_metadata(const char *path) {
  char *text = test_read_file(path, NULL);
  cJSON *root = cJSON_Parse(text);
  free(text);
  assert_non_null(root);
  cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
  assert_true(cJSON_IsObject(data));
  return root;
}

static cJSON *field(cJSON *root, const char *key) {
  cJSON *value = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "data"), key);
  if (!value) fail_msg("the metadata has no field '%s'", key);
  return value;
}

static void assert_int_array(cJSON *array, const int *expected, int n) {
  assert_int_equal(cJSON_GetArraySize(array), n);
  for (int i = 0; i < n; i++) assert_int_equal(cJSON_GetArrayItem(array, i)->valuedouble, expected[i]);
}

static void test_analysis_csv_is_deeplabcut_text_and_appears_only_at_finish(void **state) {
  (void)state;
  char *dir = test_tempdir("analysis");
  char *video = dlcc_path_join(dir, "m3v1mp4.mp4");
  char *csv = path_of(video, DLCC_ANALYSIS_CSV);
  dlcc_analysis_info info = example_info(video);
  dlcc_analysis_writer *w = open_ok(&info);
  append_ok(w, three_frames[0], 1);
  append_ok(w, three_frames[1], 2); /* frames keep their numbers across appends */
  assert_int_equal(dlcc_analysis_writer_frames(w), 3);
  assert_false(dlcc_path_is_file(csv));
  dlcc_error err;
  if (dlcc_analysis_writer_finish(w, &err)) fail_msg("%s", err.message);
  char *text = test_read_file(csv, NULL), *expected = expected_csv(3);
  assert_string_equal(text, expected);
  assert_false(has_temp_file(dir));
  free(text);
  free(expected);
  free(csv);
  free(video);
  test_rmtree(dir);
  free(dir);
}

/* The streamed text is the one dlcc_labels_write gives for the same table, and reads back exactly. */
static void test_analysis_csv_matches_labels_writer_and_reads_back(void **state) {
  (void)state;
  char *dir = test_tempdir("analysis");
  char *video = dlcc_path_join(dir, "clip.avi"), *csv = path_of(video, DLCC_ANALYSIS_CSV);
  dlcc_analysis_info info = example_info(video);
  dlcc_analysis_writer *w = open_ok(&info);
  append_ok(w, three_frames[0], 3);
  dlcc_error err;
  if (dlcc_analysis_writer_finish(w, &err)) fail_msg("%s", err.message);

  char *const rows[3] = {"0", "1", "2"};
  dlcc_label_table t;
  if (dlcc_labels_create(&t, SCORER, false, 3, NULL, bodyparts, 2, rows, 3, &err)) fail_msg("%s", err.message);
  memcpy(t.values, three_frames, sizeof three_frames);
  char *table_path = dlcc_path_join(dir, "table.csv");
  if (dlcc_labels_write(&t, table_path, &err)) fail_msg("%s", err.message);
  char *streamed = test_read_file(csv, NULL), *written = test_read_file(table_path, NULL);
  assert_string_equal(streamed, written);
  dlcc_labels_free(&t);

  if (dlcc_labels_read(csv, &t, &err)) fail_msg("%s", err.message);
  assert_string_equal(t.scorer, SCORER);
  assert_int_equal(t.n_rows, 3);
  assert_int_equal(t.n_columns, 2);
  assert_int_equal(t.n_coords, 3);
  assert_string_equal(t.row_names[2], "2");
  assert_string_equal(t.columns[1].bodypart, "tailbase");
  const double *expected = &three_frames[0][0];
  for (size_t i = 0; i < 18; i++)
    assert_true(isnan(expected[i]) ? isnan(t.values[i]) : t.values[i] == expected[i]);
  dlcc_labels_free(&t);
  free(streamed);
  free(written);
  free(table_path);
  free(csv);
  free(video);
  test_rmtree(dir);
  free(dir);
}

static void test_analysis_partial_keeps_frames_up_to_last_good_frame(void **state) {
  (void)state;
  char *dir = test_tempdir("analysis");
  char *video = dlcc_path_join(dir, "m3v1mp4.mp4");
  char *csv = path_of(video, DLCC_ANALYSIS_CSV), *meta = path_of(video, DLCC_ANALYSIS_META);
  char *partial = path_of(video, DLCC_ANALYSIS_PARTIAL_CSV);
  char *partial_meta = path_of(video, DLCC_ANALYSIS_PARTIAL_META);
  dlcc_analysis_info info = example_info(video);
  dlcc_analysis_writer *w = open_ok(&info);
  append_ok(w, three_frames[0], 2);
  dlcc_error err;
  const char *reason = "cannot decode m3v1mp4.mp4 after frame 1 (the last good frame)";
  if (dlcc_analysis_writer_finish_partial(w, reason, &err)) fail_msg("%s", err.message);

  assert_false(dlcc_path_is_file(csv));
  assert_false(dlcc_path_is_file(meta));
  assert_false(has_temp_file(dir));
  char *text = test_read_file(partial, NULL), *expected = expected_csv(2);
  assert_string_equal(text, expected);
  cJSON *root = read_metadata(partial_meta);
  assert_true(cJSON_IsFalse(field(root, "complete")));
  assert_int_equal(field(root, "frames_analysed")->valuedouble, 2);
  assert_int_equal(field(root, "nframes")->valuedouble, 2);
  assert_int_equal(field(root, "last_good_frame")->valuedouble, 1);
  assert_string_equal(field(root, "reason")->valuestring, reason);
  assert_string_equal(field(root, "csv")->valuestring, "m3v1mp4" SCORER ".partial.csv");
  cJSON_Delete(root);
  free(text);
  free(expected);
  free(csv);
  free(meta);
  free(partial);
  free(partial_meta);
  free(video);
  test_rmtree(dir);
  free(dir);
}

/* A failed re-run never touches the complete output of an earlier run; a later complete run removes
 * the partial files it supersedes. */
static void test_analysis_partial_leaves_complete_csv_and_complete_run_removes_partial(void **state) {
  (void)state;
  char *dir = test_tempdir("analysis");
  char *video = dlcc_path_join(dir, "m3v1mp4.mp4");
  char *csv = path_of(video, DLCC_ANALYSIS_CSV), *partial = path_of(video, DLCC_ANALYSIS_PARTIAL_CSV);
  char *partial_meta = path_of(video, DLCC_ANALYSIS_PARTIAL_META);
  dlcc_analysis_info info = example_info(video);
  dlcc_error err;
  dlcc_analysis_writer *w = open_ok(&info);
  append_ok(w, three_frames[0], 3);
  if (dlcc_analysis_writer_finish(w, &err)) fail_msg("%s", err.message);
  char *complete = test_read_file(csv, NULL);

  w = open_ok(&info);
  append_ok(w, three_frames[2], 1);
  if (dlcc_analysis_writer_finish_partial(w, "interrupted", &err)) fail_msg("%s", err.message);
  char *after = test_read_file(csv, NULL);
  assert_string_equal(after, complete);
  assert_true(dlcc_path_is_file(partial));
  assert_true(dlcc_path_is_file(partial_meta));

  w = open_ok(&info);
  append_ok(w, three_frames[0], 1);
  if (dlcc_analysis_writer_finish(w, &err)) fail_msg("%s", err.message);
  assert_false(dlcc_path_is_file(partial));
  assert_false(dlcc_path_is_file(partial_meta));
  free(complete);
  free(after);
  free(csv);
  free(partial);
  free(partial_meta);
  free(video);
  test_rmtree(dir);
  free(dir);
}

static void test_analysis_stopping_before_any_frame_or_abort_writes_nothing(void **state) {
  (void)state;
  char *dir = test_tempdir("analysis");
  char *video = dlcc_path_join(dir, "broken.mp4");
  dlcc_analysis_info info = example_info(video);
  dlcc_error err;
  dlcc_analysis_writer *w = open_ok(&info);
  assert_int_equal(dlcc_analysis_writer_finish_partial(w, "cannot decode frame 0", &err), DLCC_OK);
  w = open_ok(&info);
  append_ok(w, three_frames[0], 2);
  dlcc_analysis_writer_abort(w);
  DIR *d = opendir(dir);
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) fail_msg("unexpected file %s", e->d_name);
  closedir(d);
  free(video);
  test_rmtree(dir);
  free(dir);
}

static void test_analysis_metadata_records_video_model_and_frames(void **state) {
  (void)state;
  char *dir = test_tempdir("analysis");
  char *video = dlcc_path_join(dir, "m3v1mp4.mp4"), *meta = path_of(video, DLCC_ANALYSIS_META);
  dlcc_analysis_info info = example_info(video);
  info.fps = 29.97;
  info.cropping = true;
  memcpy(info.crop, (int[4]){10, 600, 20, 400}, sizeof info.crop);
  dlcc_analysis_writer *w = open_ok(&info);
  append_ok(w, three_frames[0], 3);
  dlcc_error err;
  if (dlcc_analysis_writer_finish(w, &err)) fail_msg("%s", err.message);

  cJSON *root = read_metadata(meta);
  assert_string_equal(field(root, "Scorer")->valuestring, SCORER);
  assert_true(field(root, "fps")->valuedouble == 29.97);
  assert_int_equal(field(root, "nframes")->valuedouble, 3);
  assert_int_equal(field(root, "frames_analysed")->valuedouble, 3);
  assert_int_equal(field(root, "frames_in_container")->valuedouble, 2331);
  assert_int_array(field(root, "frame_dimensions"), (int[2]){480, 640}, 2); /* DeepLabCut's (ny, nx) */
  assert_true(cJSON_IsTrue(field(root, "cropping")));
  assert_int_array(field(root, "cropping_parameters"), (int[4]){10, 600, 20, 400}, 4);
  assert_string_equal(field(root, "snapshot")->valuestring, info.snapshot);
  assert_string_equal(field(root, "net_type")->valuestring, "resnet_50");
  assert_int_equal(field(root, "iteration (active-learning)")->valuedouble, 0);
  assert_true(field(root, "training set fraction")->valuedouble == 0.95);
  assert_int_equal(field(root, "shuffle")->valuedouble, 1);
  assert_int_equal(field(root, "batch_size")->valuedouble, 8);
  assert_string_equal(field(root, "date")->valuestring, "2018-10-30T12:00:00Z");
  assert_true(field(root, "start")->valuedouble == 1540900800.0);
  assert_true(field(root, "stop")->valuedouble >= 1540900800.0);
  assert_string_equal(field(root, "dlcc_version")->valuestring, DLCC_VERSION);
  assert_string_equal(field(root, "video")->valuestring, video);
  assert_string_equal(field(root, "csv")->valuestring, "m3v1mp4" SCORER ".csv");
  assert_true(cJSON_IsTrue(field(root, "complete")));
  assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "data"), "reason"));
  cJSON_Delete(root);
  free(meta);
  free(video);
  test_rmtree(dir);
  free(dir);
}

static void test_analysis_metadata_without_cropping_records_whole_frame(void **state) {
  (void)state;
  char *dir = test_tempdir("analysis");
  char *video = dlcc_path_join(dir, "m3v1mp4.mp4"), *meta = path_of(video, DLCC_ANALYSIS_META);
  dlcc_analysis_info info = example_info(video);
  info.frames_in_container = -1;
  dlcc_analysis_writer *w = open_ok(&info);
  append_ok(w, three_frames[0], 1);
  dlcc_error err;
  if (dlcc_analysis_writer_finish(w, &err)) fail_msg("%s", err.message);
  cJSON *root = read_metadata(meta);
  assert_true(cJSON_IsFalse(field(root, "cropping")));
  assert_int_array(field(root, "cropping_parameters"), (int[4]){0, 640, 0, 480}, 4); /* as DeepLabCut */
  assert_true(cJSON_IsNull(field(root, "frames_in_container")));
  cJSON_Delete(root);
  free(meta);
  free(video);
  test_rmtree(dir);
  free(dir);
}

static void test_analysis_paths_use_video_stem_scorer_and_dest_folder(void **state) {
  (void)state;
  const char *video = "/data/videos/m3v1mp4.mp4";
  const char *expected[4] = {"/data/videos/m3v1mp4" SCORER ".csv", "/data/videos/m3v1mp4" SCORER "_meta.json",
                             "/data/videos/m3v1mp4" SCORER ".partial.csv",
                             "/data/videos/m3v1mp4" SCORER ".partial_meta.json"};
  for (int i = 0; i < 4; i++) {
    char *path = path_of(video, (dlcc_analysis_file)i);
    assert_string_equal(path, expected[i]);
    free(path);
  }
  char *path = dlcc_analysis_path("clip.v2.avi", "out", SCORER, DLCC_ANALYSIS_CSV);
  assert_string_equal(path, "out/clip.v2" SCORER ".csv");
  free(path);

  char *dir = test_tempdir("analysis");
  char *dest = dlcc_path_join(dir, "results/run1"), *in_video = dlcc_path_join(dir, "clip.mp4");
  dlcc_analysis_info info = example_info(in_video);
  info.dest_folder = dest;
  dlcc_analysis_writer *w = open_ok(&info);
  append_ok(w, three_frames[0], 1);
  dlcc_error err;
  if (dlcc_analysis_writer_finish(w, &err)) fail_msg("%s", err.message);
  char *csv = dlcc_path_join(dest, "clip" SCORER ".csv");
  assert_true(dlcc_path_is_file(csv));
  free(csv);
  free(dest);
  free(in_video);
  test_rmtree(dir);
  free(dir);
}

static void test_analysis_open_rejects_unnamed_body_part_naming_video(void **state) {
  (void)state;
  char *const parts[2] = {"snout", ""};
  dlcc_analysis_info info = example_info("/data/videos/m3v1mp4.mp4");
  info.bodyparts = parts;
  dlcc_analysis_writer *w = NULL;
  dlcc_error err;
  assert_int_equal(dlcc_analysis_writer_open(&w, &info, &err), DLCC_ERR_INVALID);
  assert_null(w);
  assert_contains(err.message, "analysis of /data/videos/m3v1mp4.mp4: body part 1 has no name");
  info.n_bodyparts = 0;
  assert_int_equal(dlcc_analysis_writer_open(&w, &info, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "the network has no body parts");
}

/* A pose predicted from network outputs lands in the CSV as DeepLabCut's numbers: f32 offsets on the
 * cell centre, f32 likelihoods, written with Python's repr. */
static void test_analysis_row_of_predicted_pose_has_deeplabcut_numbers(void **state) {
  (void)state;
  float logits[2][2][2], locref[4][2][2];
  for (int i = 0; i < 8; i++) (&logits[0][0][0])[i] = -5.0f;
  memset(locref, 0, sizeof locref);
  logits[0][1][0] = 4.0f;  /* snout at cell (0, 1) */
  locref[0][1][0] = 0.3f;  /* its dx */
  locref[1][1][0] = -0.5f; /* its dy */
  logits[1][0][1] = 0.0f;  /* tailbase at cell (1, 0), no offset */
  dlcc_predict_params p;
  dlcc_predict_params_init(&p, 2, 8.0, true, 7.2801);
  double pose[6];
  dlcc_error err;
  if (dlcc_predict_single(&p, &logits[0][0][0], &locref[0][0][0], 1, 2, 2, pose, &err)) fail_msg("%s", err.message);

  char *dir = test_tempdir("analysis");
  char *video = dlcc_path_join(dir, "m3v1mp4.mp4"), *csv = path_of(video, DLCC_ANALYSIS_CSV);
  dlcc_analysis_info info = example_info(video);
  dlcc_analysis_writer *w = open_ok(&info);
  append_ok(w, pose, 1);
  if (dlcc_analysis_writer_finish(w, &err)) fail_msg("%s", err.message);
  char *text = test_read_file(csv, NULL);
  /* 4 + f32(f32(0.3) * f32(7.2801)), 12 + f32(-0.5 * f32(7.2801)), f32 sigmoid(4); then 12, 4, 0.5 */
  assert_contains(text, "coords,x,y,likelihood,x,y,likelihood\n"
                        "0,6.184030055999756,8.359950065612793,0.9820137619972229,12.0,4.0,0.5\n");
  free(text);
  free(csv);
  free(video);
  test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_analysis_csv_is_deeplabcut_text_and_appears_only_at_finish),
      cmocka_unit_test(test_analysis_csv_matches_labels_writer_and_reads_back),
      cmocka_unit_test(test_analysis_partial_keeps_frames_up_to_last_good_frame),
      cmocka_unit_test(test_analysis_partial_leaves_complete_csv_and_complete_run_removes_partial),
      cmocka_unit_test(test_analysis_stopping_before_any_frame_or_abort_writes_nothing),
      cmocka_unit_test(test_analysis_metadata_records_video_model_and_frames),
      cmocka_unit_test(test_analysis_metadata_without_cropping_records_whole_frame),
      cmocka_unit_test(test_analysis_paths_use_video_stem_scorer_and_dest_folder),
      cmocka_unit_test(test_analysis_open_rejects_unnamed_body_part_naming_video),
      cmocka_unit_test(test_analysis_row_of_predicted_pose_has_deeplabcut_numbers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
