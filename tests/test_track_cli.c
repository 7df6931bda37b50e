/* End-to-end tests of `dlcc convert-detections2tracklets` and `dlcc stitch-tracklets` on a real
 * multi-animal config.yaml (make-demo-project --animals 2) with synthetic assemblies files written by
 * dlcc's writer: two animals crossing over 60 frames tracked and stitched without an identity swap,
 * DeepLabCut's 4-row tracks CSV, empty cells where an animal or a keypoint is absent, the scorer found
 * among several analyses, unique body parts under "single", and the messages for missing inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "project/config.h"
#include "project/labels.h"
#include "project/layout.h"
#include "testutil.h"
#include "track/assemblies_file.h"
#include "track/track_video.h"
#include "track/tracklets_file.h"
#include "util/fileio.h"

static char *project;       /* the demo project's folder */
static char *config_path;
static dlcc_project_config cfg;

static int make_project(void **state) {
  (void)state;
  char *dir = test_tempdir("trackcli");
  project = dlcc_path_join(dir, "demo");
  free(dir);
  char *args = dlcc_strdupf("make-demo-project '%s' --animals 2 --frames 20 --labeled 4", project);
  char *out;
  int rc = test_run_dlcc(args, &out);
  if (rc) fail_msg("make-demo-project failed: %s", out);
  free(out);
  free(args);
  config_path = dlcc_path_join(project, "config.yaml");
  dlcc_error err;
  if (dlcc_config_load(config_path, &cfg, &err)) fail_msg("%s", err.message);
  return 0;
}

static int remove_project(void **state) {
  (void)state;
  dlcc_config_free(&cfg);
  char *dir = dlcc_path_dirname(project);
  test_rmtree(dir);
  free(dir);
  free(project);
  free(config_path);
  return 0;
}

/* The scorer analyze-videos would give shuffle 1 of the demo project at iteration `iteration`. */
static char *demo_scorer(long iteration) {
  return dlcc_strdupf("DLC_dlcrnetms5_%s%sshuffle1_%ld", cfg.task, cfg.date, iteration);
}

/* An animal's four keypoints (snout, leftear, rightear, tailbase) with its body at (x, y). */
static void animal_pose(double x, double y, double *pose) {
  const double dx[4] = {10, 0, 0, -15}, dy[4] = {0, -5, 5, 0}, score[4] = {0.9, 0.8, 0.85, 0.7};
  for (int j = 0; j < 4; j++) {
    pose[j * 3] = x + dx[j];
    pose[j * 3 + 1] = y + dy[j];
    pose[j * 3 + 2] = score[j];
  }
}

/* Animal A walks right (body x = 40 + 4f, y = 100), animal B left (x = 280 - 4f, y = 112): they pass
 * each other at frame 30, 12 px apart. B is not found in frames 20-22; A's tail base is not found in
 * frames 50-59. The animals are listed in the opposite order in odd frames. unique_per_frame: also
 * writes unique parts (2) in even frames. */
static void write_crossing(const char *path, const char *video, const char *scorer, bool with_unique) {
  char *bodyparts[] = {"snout", "leftear", "rightear", "tailbase"};
  char *unique_names[] = {"food", "nest"};
  dlcc_track_header h = {.scorer = (char *)scorer,
                         .video = (char *)video,
                         .n_individuals = cfg.n_individuals,
                         .individuals = cfg.individuals,
                         .n_bodyparts = 4,
                         .bodyparts = bodyparts,
                         .n_unique = with_unique ? 2 : 0,
                         .uniquebodyparts = with_unique ? unique_names : NULL};
  dlcc_assemblies_writer *w;
  dlcc_error err;
  if (dlcc_assemblies_writer_open(&w, path, &h, &err)) fail_msg("%s", err.message);
  for (int f = 0; f < 60; f++) {
    double animals[2][12], affinity[2] = {0.9, 0.8};
    int n = 0;
    double a[12], b[12];
    animal_pose(40 + 4 * f, 100, a);
    animal_pose(280 - 4 * f, 112, b);
    if (f >= 50) a[9] = a[10] = a[11] = NAN;
    bool b_found = f < 20 || f > 22;
    if (f % 2 == 0) {
      memcpy(animals[n++], a, sizeof a);
      if (b_found) memcpy(animals[n++], b, sizeof b);
    } else {
      if (b_found) memcpy(animals[n++], b, sizeof b);
      memcpy(animals[n++], a, sizeof a);
    }
    const double unique[6] = {7, 8, 0.5, NAN, NAN, NAN};
    if (dlcc_assemblies_writer_append(w, n, &animals[0][0], affinity, with_unique && f % 2 == 0 ? unique : NULL,
                                      &err))
      fail_msg("%s", err.message);
  }
  if (dlcc_assemblies_writer_finish(w, &err)) fail_msg("%s", err.message);
}

static char *run(const char *fmt, const char *a, const char *b, int want_rc) {
  char *args = dlcc_strdupf(fmt, a, b);
  char *out;
  int rc = test_run_dlcc(args, &out);
  if (rc != want_rc) fail_msg("dlcc %s: exit %d, want %d:\n%s", args, rc, want_rc, out);
  free(args);
  return out;
}

static void assert_same(double got, double want, const char *what, int frame) {
  if (isnan(want) ? !isnan(got) : got != want) fail_msg("%s, frame %d: %.17g, want %.17g", what, frame, got, want);
}

static void test_help(void **state) {
  (void)state;
  char *out = run("%s%s--help", "convert-detections2tracklets ", "", 0);
  assert_contains(out, "usage: dlcc convert-detections2tracklets CONFIG VIDEO...");
  assert_contains(out, "--track-method");
  assert_contains(out, "_assemblies.json");
  free(out);
  out = run("%s%s--help", "stitch-tracklets ", "", 0);
  assert_contains(out, "usage: dlcc stitch-tracklets CONFIG VIDEO...");
  assert_contains(out, "--n-tracks");
  assert_contains(out, "--no-split");
  free(out);
  out = run("%s%s", "--help", "", 0);
  assert_contains(out, "convert-detections2tracklets");
  assert_contains(out, "stitch-tracklets");
  free(out);
  out = run("%s%s", "stitch-tracklets x.yaml v.mp4 --min-length 2", "", 2);
  assert_contains(out, "--min-length wants a whole number from 3");
  free(out);
  out = run("%s%s", "convert-detections2tracklets x.yaml v.mp4 --track-method skeleton", "", 2);
  assert_contains(out, "\"skeleton\" is not available in dlcc");
  free(out);
}

static void test_crossing_end_to_end(void **state) {
  (void)state;
  char *video = dlcc_path_join(project, "videos/demo.mp4");
  char *scorer = demo_scorer(5000);
  char *assemblies = dlcc_assemblies_path(video, NULL, scorer);
  write_crossing(assemblies, video, scorer, false);

  char *out = run("convert-detections2tracklets '%s' '%s'", config_path, video, 0);
  /* 60 frames, 117 animals (B missing 3 times) in 60 frames: 1.95 per frame */
  assert_contains(out, "60 frames, animals in 60 of them (1.95 per such frame, at most 2)");
  assert_contains(out, "ellipse tracker: max_age 1, min_hits 1, iou_threshold 0.6");
  char *tracklets = dlcc_tracklets_path(video, NULL, scorer, DLCC_TRACK_ELLIPSE);
  assert_contains(out, tracklets);
  free(out);
  /* three tracklets: A throughout, B before and after its gap (the tracker forgets it after max_age) */
  dlcc_tracklets_file t;
  dlcc_error err;
  if (dlcc_tracklets_read(tracklets, &t, &err)) fail_msg("%s", err.message);
  assert_int_equal(t.tracklets.count, 3);
  assert_int_equal(t.n_frames, 60);
  dlcc_tracklets_file_free(&t);
  /* a second run keeps the file */
  out = run("convert-detections2tracklets '%s' '%s'", config_path, video, 0);
  assert_contains(out, "tracklets already computed, kept");
  free(out);

  out = run("stitch-tracklets '%s' '%s'", config_path, video, 0);
  assert_contains(out, "2 of 2 tracks found over 60 frames");
  char *csv = dlcc_strdupf("%.*s.csv", (int)(strlen(tracklets) - 5), tracklets);
  assert_contains(out, csv);
  assert_true(strstr(out, "note:") == NULL);
  free(out);

  /* DeepLabCut's header: scorer, individuals (config.yaml's, in order), bodyparts, coords */
  char *text = test_read_file(csv, NULL);
  char *line1 = dlcc_strdupf("scorer,%s,%s,", scorer, scorer);
  assert_true(strncmp(text, line1, strlen(line1)) == 0);
  char *line2 = dlcc_strdupf("\nindividuals,%s,%s,%s,", cfg.individuals[0], cfg.individuals[0], cfg.individuals[0]);
  assert_contains(text, line2);
  assert_contains(text, "\nbodyparts,snout,snout,snout,leftear,leftear,leftear,rightear,rightear,rightear,tailbase,");
  assert_contains(text, "\ncoords,x,y,likelihood,x,y,likelihood,");
  free(line1);
  free(line2);
  free(text);

  dlcc_label_table table;
  if (dlcc_labels_read(csv, &table, &err)) fail_msg("%s", err.message);
  assert_true(table.multianimal);
  assert_int_equal(table.n_coords, 3);
  assert_int_equal(table.n_columns, 8);
  assert_int_equal(table.n_rows, 60);
  assert_string_equal(table.row_names[0], "0");
  assert_string_equal(table.row_names[59], "59");
  assert_string_equal(table.columns[0].individual, cfg.individuals[0]);
  assert_string_equal(table.columns[4].individual, cfg.individuals[1]);
  assert_string_equal(table.columns[7].bodypart, "tailbase");
  /* which track is A: the one whose snout starts at x = 40 + 10 */
  int track_a = table.values[dlcc_label_index(&table, 0, 0, 0)] == 50 ? 0 : 1, track_b = 1 - track_a;
  assert_same(table.values[dlcc_label_index(&table, 0, (size_t)track_b * 4, 0)], 290, "B's snout x", 0);
  for (int f = 0; f < 60; f++) {
    /* no identity swap: each track stays on its animal through the crossing at frame 30 */
    assert_same(table.values[dlcc_label_index(&table, (size_t)f, (size_t)track_a * 4, 0)], 50 + 4 * f, "A's snout x", f);
    assert_same(table.values[dlcc_label_index(&table, (size_t)f, (size_t)track_a * 4, 1)], 100, "A's snout y", f);
    assert_same(table.values[dlcc_label_index(&table, (size_t)f, (size_t)track_a * 4, 2)], 0.9, "A's snout p", f);
    /* A's tail base is missing from frame 50: empty cells */
    double tail_x = table.values[dlcc_label_index(&table, (size_t)f, (size_t)track_a * 4 + 3, 0)];
    double tail_p = table.values[dlcc_label_index(&table, (size_t)f, (size_t)track_a * 4 + 3, 2)];
    assert_same(tail_x, f >= 50 ? NAN : 40 + 4 * f - 15, "A's tail base x", f);
    assert_same(tail_p, f >= 50 ? NAN : 0.7, "A's tail base p", f);
    /* B is absent in frames 20-22, and in frame 23 too: the tracker that finds it again there (a new
     * one, the old one having gone after max_age = 1 frame) reports it from its second match, as SORT
     * does in DeepLabCut */
    double b_x = table.values[dlcc_label_index(&table, (size_t)f, (size_t)track_b * 4, 0)];
    double b_y = table.values[dlcc_label_index(&table, (size_t)f, (size_t)track_b * 4 + 2, 1)];
    assert_same(b_x, f >= 20 && f <= 23 ? NAN : 290 - 4 * f, "B's snout x", f);
    assert_same(b_y, f >= 20 && f <= 23 ? NAN : 117, "B's right ear y", f);
  }
  dlcc_labels_free(&table);
  free(csv);
  free(tracklets);
  free(assemblies);
  free(scorer);
  free(video);
}

/* One animal in a video of a two-animal project: the second track stays empty and a note says so. */
static void test_fewer_animals_than_individuals(void **state) {
  (void)state;
  char *video = dlcc_path_join(project, "videos/alone.mp4"); /* need not exist: only its name is used */
  char *scorer = demo_scorer(5000);
  char *assemblies = dlcc_assemblies_path(video, NULL, scorer);
  char *bodyparts[] = {"snout", "leftear", "rightear", "tailbase"};
  dlcc_track_header h = {.scorer = scorer, .video = video, .n_bodyparts = 4, .bodyparts = bodyparts};
  dlcc_assemblies_writer *w;
  dlcc_error err;
  if (dlcc_assemblies_writer_open(&w, assemblies, &h, &err)) fail_msg("%s", err.message);
  for (int f = 0; f < 30; f++) {
    double pose[12], affinity = 1;
    animal_pose(100 + f, 50, pose);
    if (dlcc_assemblies_writer_append(w, 1, pose, &affinity, NULL, &err)) fail_msg("%s", err.message);
  }
  if (dlcc_assemblies_writer_finish(w, &err)) fail_msg("%s", err.message);
  char *out = run("convert-detections2tracklets '%s' '%s' --track-method box", config_path, video, 0);
  assert_contains(out, "box tracker: max_age 1, min_hits 1, iou_threshold 0.6, boundingboxslack 0");
  assert_contains(out, "_bx.json");
  free(out);
  out = run("stitch-tracklets '%s' '%s' --track-method box", config_path, video, 0);
  assert_contains(out, "1 of 2 tracks found over 30 frames");
  char *note = dlcc_strdupf("note: %s: found 1 track for 2 individuals; %s is empty in", video, cfg.individuals[1]);
  assert_contains(out, note);
  free(note);
  free(out);
  /* --n-tracks 3 without names for the third: DeepLabCut's ind1, ind2, ind3 */
  out = run("stitch-tracklets '%s' '%s' --track-method box --n-tracks 3", config_path, video, 0);
  assert_contains(out, "1 of 3 tracks found");
  assert_contains(out, "ind2, ind3 are empty");
  assert_contains(out, "the tracks are named ind1 to ind3");
  free(out);
  char *csv = dlcc_tracklets_path(video, NULL, scorer, DLCC_TRACK_BOX);
  strcpy(csv + strlen(csv) - 5, ".csv");
  char *text = test_read_file(csv, NULL);
  assert_contains(text, "\nindividuals,ind1,ind1,ind1,ind1,ind1,ind1,ind1,ind1,ind1,ind1,ind1,ind1,ind2,");
  /* frame 0: ind1 holds the animal, ind2 and ind3 are 24 empty cells */
  assert_contains(text, "\n0,110.0,50.0,0.9,100.0,45.0,0.8,100.0,55.0,0.85,85.0,50.0,0.7,,,,,,,,,,,,,,,,,,,,,,,,\n");
  free(text);
  free(csv);
  free(assemblies);
  free(scorer);
  free(video);
}

static void test_missing_inputs_say_what_to_run(void **state) {
  (void)state;
  char *video = dlcc_path_join(project, "videos/unanalysed.mp4");
  char *out = run("convert-detections2tracklets '%s' '%s'", config_path, video, 1);
  assert_contains(out, "no assemblies: no file for shuffle 1 (looked for ");
  assert_contains(out, "unanalysedDLC_*_demoJan1shuffle1_*_assemblies.json");
  assert_contains(out, "run 'dlcc analyze-videos CONFIG VIDEO --shuffle 1' first");
  free(out);
  out = run("stitch-tracklets '%s' '%s'", config_path, video, 1);
  assert_contains(out, "no tracklets: no file for shuffle 1");
  assert_contains(out, "run 'dlcc analyze-videos' and then 'dlcc convert-detections2tracklets CONFIG VIDEO --shuffle 1 "
                       "--track-method ellipse' first");
  free(out);
  /* another shuffle of an analysed video */
  char *demo = dlcc_path_join(project, "videos/demo.mp4");
  out = run("convert-detections2tracklets '%s' '%s' --shuffle 2", config_path, demo, 1);
  assert_contains(out, "no file for shuffle 2");
  free(out);
  free(demo);
  free(video);
}

/* Analyses by two snapshots next to one video: ambiguous until --snapshot or config.yaml's snapshotindex
 * among the model's snapshots decides. */
static void test_several_analyses(void **state) {
  (void)state;
  char *video = dlcc_path_join(project, "videos/twice.mp4");
  char *s1 = demo_scorer(5000), *s2 = demo_scorer(10000);
  char *a1 = dlcc_assemblies_path(video, NULL, s1), *a2 = dlcc_assemblies_path(video, NULL, s2);
  write_crossing(a1, video, s1, false);
  write_crossing(a2, video, s2, false);
  char *out = run("convert-detections2tracklets '%s' '%s'", config_path, video, 1);
  assert_contains(out, "2 analyses of");
  assert_contains(out, "(--snapshot 5000)");
  assert_contains(out, "(--snapshot 10000)");
  assert_contains(out, "choose with --snapshot");
  free(out);
  out = run("convert-detections2tracklets '%s' '%s' --snapshot 10000", config_path, video, 0);
  assert_contains(out, "shuffle1_10000_el.json");
  free(out);
  /* the shuffle's snapshots 5000 and 10000 with snapshotindex -1: the last one, 10000 */
  char *rel = dlcc_layout_model_dir(&cfg, cfg.training_fractions[0], 1);
  char *model = dlcc_path_join(project, rel);
  char *train = dlcc_path_join(model, "train");
  char *snap1 = test_write_file(train, "snapshot-5000.safetensors", "");
  char *snap2 = test_write_file(train, "snapshot-10000.safetensors", "");
  out = run("stitch-tracklets '%s' '%s'", config_path, video, 0);
  assert_contains(out, "shuffle1_10000_el.csv");
  free(out);
  /* the model's inference_cfg.yaml sets the tracker */
  char *icfg = test_write_file(model, "test/inference_cfg.yaml", "max_age: 5\nmin_hits: 2\niou_threshold: 0.5\n");
  out = run("convert-detections2tracklets '%s' '%s' --snapshot 5000 --min-hits 3", config_path, video, 0);
  assert_contains(out, "shuffle1_5000_el.json");
  assert_contains(out, "ellipse tracker: max_age 5, min_hits 3, iou_threshold 0.5 (");
  assert_contains(out, "inference_cfg.yaml)");
  free(out);
  free(icfg);
  icfg = test_write_file(model, "test/inference_cfg.yaml", "max_age: many\n");
  out = run("convert-detections2tracklets '%s' '%s' --snapshot 5000 --overwrite", config_path, video, 1);
  assert_contains(out, "inference_cfg.yaml line 1: max_age should be a number >= 0, not \"many\"");
  free(out);
  unlink(icfg);
  unlink(snap1);
  unlink(snap2);
  free(icfg);
  free(snap1);
  free(snap2);
  free(train);
  free(model);
  free(rel);
  free(a1);
  free(a2);
  free(s1);
  free(s2);
  free(video);
}

/* Unique body parts go to the tracklets file's "single" and to the CSV under "single"; the library
 * called as analyze-videos would call it, with its scorer and a destination folder. */
static void test_unique_bodyparts_via_library(void **state) {
  (void)state;
  char *video = dlcc_path_join(project, "videos/demo.mp4");
  char *dest = dlcc_path_join(project, "out");
  char *scorer = demo_scorer(777);
  char *assemblies = dlcc_assemblies_path(video, dest, scorer);
  write_crossing(assemblies, video, scorer, true);
  dlcc_convert_options co;
  dlcc_convert_options_init(&co);
  co.target.scorer = scorer;
  co.target.dest_folder = dest;
  co.overwrite = true;
  char *ignore[] = {"tailbase"};
  co.ignore_bodyparts = ignore;
  co.n_ignore = 1;
  dlcc_convert_result cr;
  dlcc_notes notes = {0};
  dlcc_error err;
  if (dlcc_convert_detections2tracklets(&cfg, video, &co, &cr, &notes, &err)) fail_msg("%s", err.message);
  assert_int_equal(cr.frames, 60);
  assert_int_equal(cr.detections, 117);
  assert_int_equal(cr.single_frames, 30);
  assert_int_equal(cr.n_tracklets, 3);
  assert_int_equal(notes.count, 0);
  dlcc_tracklets_file t;
  if (dlcc_tracklets_read(cr.tracklets_path, &t, &err)) fail_msg("%s", err.message);
  assert_int_equal(t.n_ignored, 1);
  assert_string_equal(t.ignore_bodyparts[0], "tailbase");
  assert_int_equal(t.single.count, 1);
  assert_int_equal(t.single.items[0].length, 30);
  assert_int_equal(t.single.items[0].frames[1], 2);
  dlcc_tracklets_file_free(&t);
  dlcc_convert_result_free(&cr);

  dlcc_stitch_options so;
  dlcc_stitch_options_init(&so);
  so.target.scorer = scorer;
  so.target.dest_folder = dest;
  char *names[] = {"left", "right"};
  so.animal_names = names;
  so.n_animal_names = 2;
  dlcc_stitch_result sr;
  if (dlcc_stitch_video_tracklets(&cfg, video, &so, &sr, &notes, &err)) fail_msg("%s", err.message);
  assert_int_equal(sr.n_found, 2);
  assert_int_equal(sr.single_frames, 30);
  assert_int_equal(sr.track_frames[0] + sr.track_frames[1], 116); /* 117 animals less B's first frame back */
  dlcc_label_table table;
  if (dlcc_labels_read(sr.csv_path, &table, &err)) fail_msg("%s", err.message);
  assert_int_equal(table.n_columns, 10);
  assert_string_equal(table.columns[0].individual, "left");
  assert_string_equal(table.columns[4].individual, "right");
  assert_string_equal(table.columns[8].individual, "single");
  assert_string_equal(table.columns[8].bodypart, "food");
  assert_string_equal(table.columns[9].bodypart, "nest");
  for (int f = 0; f < 60; f++) {
    assert_same(table.values[dlcc_label_index(&table, (size_t)f, 8, 0)], f % 2 ? NAN : 7, "food x", f);
    assert_same(table.values[dlcc_label_index(&table, (size_t)f, 8, 2)], f % 2 ? NAN : 0.5, "food p", f);
    assert_same(table.values[dlcc_label_index(&table, (size_t)f, 9, 0)], NAN, "nest x", f);
  }
  dlcc_labels_free(&table);
  dlcc_stitch_result_free(&sr);
  dlcc_notes_free(&notes);
  free(assemblies);
  free(scorer);
  free(dest);
  free(video);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_help),
      cmocka_unit_test(test_crossing_end_to_end),
      cmocka_unit_test(test_fewer_animals_than_individuals),
      cmocka_unit_test(test_missing_inputs_say_what_to_run),
      cmocka_unit_test(test_several_analyses),
      cmocka_unit_test(test_unique_bodyparts_via_library),
  };
  return cmocka_run_group_tests(tests, make_project, remove_project);
}
