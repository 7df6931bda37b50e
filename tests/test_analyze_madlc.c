/* Tests of `dlcc analyze-videos` on a multi-animal project: a generated 3-animal demo project with a
 * random-weight snapshot (batch norm calibrated on a frame, so its maps are of order 1) goes through
 * peaks, PAF links, assembly, tracking and stitching into the files DeepLabCut's auto_track leaves;
 * a pcutoff no peak reaches gives the explicit error instead of empty files. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/labels.h"
#include "track/assemblies_file.h"
#include "testutil.h"
#include "trained_demo.h"
#include "util/fileio.h"

#define ANIMALS 3
#define SCORER "DLC_mobnet_35_demoJan1shuffle1_1000"

static char *project;

static int make_project(void **state) {
  (void)state;
  project = td_make_ma_project("analyzema", ANIMALS);
  td_write_snapshot(project, 1000, 11);
  return 0;
}

static int remove_project(void **state) {
  (void)state;
  test_rmtree(project);
  free(project);
  return 0;
}

static char *run_dlcc_args(int want_rc, const char *args) {
  char *out;
  int rc = test_run_dlcc(args, &out);
  if (rc != want_rc) fail_msg("dlcc %s: exit %d, want %d; output:\n%s", args, rc, want_rc, out);
  return out;
}

static void test_analysis_assembles_tracks_and_stitches(void **state) {
  (void)state;
  char *dest = test_tempdir("analyzema-out"), *config = td_path(project, "config.yaml"),
       *video = td_path(project, "videos/demo.mp4");
  char *args = dlcc_strdupf("analyze-videos '%s' '%s' --destfolder '%s'", config, video, dest);
  char *out = run_dlcc_args(0, args);
  assert_contains(out, "Analysing 1 video with snapshot-1000 of shuffle 1 (" SCORER ")");
  assert_contains(out, "individuals assembled");
  assert_contains(out, "3 tracks found");

  /* the assemblies: one entry per decoded frame, at most topktoretain (3) animals each, every
   * keypoint missing or near the frame (a cell centre plus the location refinement, which DeepLabCut
   * does not clip either: a random network's locref reaches a few cells out) */
  char *assemblies_path = dlcc_strdupf("%s/demo" SCORER "_assemblies.json", dest);
  dlcc_assemblies a;
  dlcc_error err;
  if (dlcc_assemblies_read(assemblies_path, &a, &err)) fail_msg("%s", err.message);
  assert_int_equal(a.n_frames, TD_FRAMES);
  assert_int_equal(a.header.n_bodyparts, 4);
  assert_int_equal(a.header.n_individuals, ANIMALS);
  assert_string_equal(a.header.scorer, SCORER);
  size_t animals = 0;
  for (long f = 0; f < a.n_frames; f++) {
    int n = dlcc_assemblies_count(&a, f);
    assert_true(n >= 0 && n <= ANIMALS);
    animals += (size_t)n;
    const double *kp = dlcc_assemblies_frame(&a, f);
    for (int i = 0; i < n * 4; i++) {
      if (isnan(kp[3 * i])) continue;
      if (!(kp[3 * i] >= -20 && kp[3 * i] < TD_WIDTH + 20 && kp[3 * i + 1] >= -20 && kp[3 * i + 1] < TD_HEIGHT + 20))
        fail_msg("frame %ld keypoint %d at (%g, %g)", f, i, kp[3 * i], kp[3 * i + 1]);
      assert_true(kp[3 * i + 2] >= 0.1 && kp[3 * i + 2] <= 1); /* inference_cfg.yaml's pcutoff */
    }
  }
  assert_true(animals > 0);
  print_message("%zu individuals assembled in %d frames\n", animals, TD_FRAMES);
  dlcc_assemblies_free(&a);

  /* the metadata: per frame the candidate parts and the individuals (summing to the assemblies'),
   * and the tracking step's counts */
  char *meta_path = dlcc_strdupf("%s/demo" SCORER "_meta.json", dest);
  size_t len;
  char *json = test_read_file(meta_path, &len);
  cJSON *root = cJSON_Parse(json), *data = cJSON_GetObjectItem(root, "data");
  cJSON *individuals = cJSON_GetObjectItem(data, "individuals_per_frame");
  assert_int_equal(cJSON_GetArraySize(individuals), TD_FRAMES);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(data, "detections_per_frame")), TD_FRAMES);
  size_t counted = 0;
  for (int f = 0; f < TD_FRAMES; f++) counted += (size_t)cJSON_GetArrayItem(individuals, f)->valueint;
  assert_int_equal(counted, animals);
  assert_int_equal(cJSON_GetObjectItem(data, "nframes")->valueint, TD_FRAMES);
  assert_true(cJSON_GetObjectItem(data, "tracklets")->valueint >= 1);
  assert_int_equal(cJSON_GetObjectItem(data, "tracks")->valueint, ANIMALS);
  assert_string_equal(cJSON_GetObjectItem(data, "precision")->valuestring, "f32");
  cJSON_Delete(root);
  free(json);
  free(meta_path);

  /* the tracks: DeepLabCut's 4-row header, one track per individual of config.yaml, a row per frame */
  char *tracklets_path = dlcc_strdupf("%s/demo" SCORER "_el.json", dest);
  char *csv_path = dlcc_strdupf("%s/demo" SCORER "_el.csv", dest);
  assert_true(dlcc_path_is_file(tracklets_path));
  dlcc_label_table t;
  if (dlcc_labels_read(csv_path, &t, &err)) fail_msg("%s", err.message);
  assert_true(t.multianimal);
  assert_int_equal(t.n_coords, 3);
  assert_int_equal(t.n_rows, TD_FRAMES);
  assert_int_equal(t.n_columns, ANIMALS * 4);
  assert_string_equal(t.columns[0].individual, "animal1");
  assert_string_equal(t.columns[4 * ANIMALS - 1].individual, "animal3");
  assert_string_equal(t.row_names[TD_FRAMES - 1], "19");
  dlcc_labels_free(&t);

  free(csv_path);
  free(tracklets_path);
  free(assemblies_path);
  test_rmtree(dest);
  free(out);
  free(args);
  free(video);
  free(config);
  free(dest);
}

static void test_nothing_assembled_is_an_error_not_an_empty_file(void **state) {
  (void)state;
  char *ic = td_path(project, TD_MODEL_DIR "/test/inference_cfg.yaml");
  size_t len;
  char *saved = test_read_file(ic, &len);
  /* no peak's probability reaches 1: nothing can be assembled */
  char *dir = td_path(project, TD_MODEL_DIR "/test");
  free(test_write_file(dir, "inference_cfg.yaml", "pcutoff: 1.0\n"));
  char *dest = test_tempdir("analyzema-none"), *config = td_path(project, "config.yaml"),
       *video = td_path(project, "videos/demo.mp4");
  char *args = dlcc_strdupf("analyze-videos '%s' '%s' --destfolder '%s'", config, video, dest);
  char *out = run_dlcc_args(1, args);
  assert_contains(out, "no individual was assembled in any of its 20 frames");
  assert_contains(out, "inference_cfg.yaml");
  char *assemblies_path = dlcc_strdupf("%s/demo" SCORER "_assemblies.json", dest);
  assert_false(dlcc_path_is_file(assemblies_path));
  free(test_write_file(dir, "inference_cfg.yaml", saved));
  free(assemblies_path);
  test_rmtree(dest);
  free(out);
  free(args);
  free(video);
  free(config);
  free(dest);
  free(dir);
  free(saved);
  free(ic);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_analysis_assembles_tracks_and_stitches),
    cmocka_unit_test(test_nothing_assembled_is_an_error_not_an_empty_file),
  };
  return cmocka_run_group_tests(tests, make_project, remove_project);
}
