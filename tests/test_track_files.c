/* Tests of the tracking files: the assemblies file (written frame by frame, read back with null and NaN
 * entries and unique body parts, keys in another order, the reader's errors naming file, line and
 * entry), the tracklets file (round trip with a "single" tracklet, errors), and the JSON pull reader
 * they share (escapes, Python's NaN, grammar errors). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "track/assemblies_file.h"
#include "track/tracklets_file.h"
#include "util/fileio.h"
#include "util/json_stream.h"

static char *tmpdir;

static int make_tmpdir(void **state) {
  (void)state;
  tmpdir = test_tempdir("trackfiles");
  return 0;
}

static int remove_tmpdir(void **state) {
  (void)state;
  test_rmtree(tmpdir);
  free(tmpdir);
  return 0;
}

/* Equal, with NaN equal to NaN. */
static void assert_same(double got, double want, const char *what, size_t i) {
  if (isnan(want) ? !isnan(got) : got != want) fail_msg("%s[%zu]: %.17g, want %.17g", what, i, got, want);
}

static char *bodyparts[] = {"head", "thorax", "abdomen"};
static char *uniqueparts[] = {"food", "marker"};
static char *individuals[] = {"female", "male"};

static dlcc_track_header header(bool with_unique) {
  return (dlcc_track_header){.scorer = "DLC_resnet50_courtshipDec3shuffle1_5000",
                             .video = "/data/a \"quoted\" \\ dir/clip\xc3\xa9.mp4",
                             .n_individuals = 2,
                             .individuals = individuals,
                             .n_bodyparts = 3,
                             .bodyparts = bodyparts,
                             .n_unique = with_unique ? 2 : 0,
                             .uniquebodyparts = with_unique ? uniqueparts : NULL};
}

/* ---- Assemblies -------------------------------------------------------------------------------- */

/* Three frames: two animals (the second missing its thorax, the first's abdomen without a score), none,
 * one; unique parts in frames 0 (both) and 2 (the marker only), none in frame 1. */
static const double frame0[2][3][3] = {{{10.5, 20.25, 0.9}, {11, 22, 0.8}, {12.125, 24, NAN}},
                                       {{100, 200, 0.7}, {NAN, NAN, NAN}, {1.0 / 3.0, 2e-7, 0.1}}};
static const double affinity0[2] = {0.93, 0.5};
static const double frame2[1][3][3] = {{{-5, 1e6, 1}, {6, 7, 0.25}, {8, 9, 0.125}}};
static const double affinity2[1] = {NAN};
static const double unique0[2][3] = {{300, 310, 0.99}, {320, 330, 0.6}};
static const double unique2[2][3] = {{NAN, NAN, NAN}, {42, 43, 0.75}};

static char *write_example(const char *name) {
  char *path = dlcc_path_join(tmpdir, name);
  dlcc_track_header h = header(true);
  dlcc_assemblies_writer *w;
  dlcc_error err;
  if (dlcc_assemblies_writer_open(&w, path, &h, &err)) fail_msg("%s", err.message);
  if (dlcc_assemblies_writer_append(w, 2, &frame0[0][0][0], affinity0, &unique0[0][0], &err) ||
      dlcc_assemblies_writer_append(w, 0, NULL, NULL, NULL, &err) ||
      dlcc_assemblies_writer_append(w, 1, &frame2[0][0][0], affinity2, &unique2[0][0], &err))
    fail_msg("%s", err.message);
  assert_int_equal(dlcc_assemblies_writer_frames(w), 3);
  /* nothing under the final name before the end */
  assert_false(dlcc_path_is_file(path));
  if (dlcc_assemblies_writer_finish(w, &err)) fail_msg("%s", err.message);
  return path;
}

static void check_example(const dlcc_assemblies *a) {
  assert_string_equal(a->header.scorer, "DLC_resnet50_courtshipDec3shuffle1_5000");
  assert_string_equal(a->header.video, "/data/a \"quoted\" \\ dir/clip\xc3\xa9.mp4");
  assert_int_equal(a->header.n_individuals, 2);
  assert_string_equal(a->header.individuals[1], "male");
  assert_int_equal(a->header.n_bodyparts, 3);
  assert_string_equal(a->header.bodyparts[2], "abdomen");
  assert_int_equal(a->header.n_unique, 2);
  assert_string_equal(a->header.uniquebodyparts[1], "marker");
  assert_int_equal(a->n_frames, 3);
  assert_int_equal(dlcc_assemblies_count(a, 0), 2);
  assert_int_equal(dlcc_assemblies_count(a, 1), 0);
  assert_int_equal(dlcc_assemblies_count(a, 2), 1);
  assert_int_equal(a->n_animals, 3);
  for (size_t i = 0; i < 18; i++) assert_same(dlcc_assemblies_frame(a, 0)[i], (&frame0[0][0][0])[i], "frame 0", i);
  for (size_t i = 0; i < 9; i++) assert_same(dlcc_assemblies_frame(a, 2)[i], (&frame2[0][0][0])[i], "frame 2", i);
  assert_same(a->affinity[0], 0.93, "affinity", 0);
  assert_same(a->affinity[1], 0.5, "affinity", 1);
  assert_same(a->affinity[2], NAN, "affinity", 2);
  for (size_t i = 0; i < 6; i++) {
    assert_same(a->unique[i], (&unique0[0][0])[i], "unique frame 0", i);
    assert_same(a->unique[6 + i], NAN, "unique frame 1", i);
    assert_same(a->unique[12 + i], (&unique2[0][0])[i], "unique frame 2", i);
  }
}

static void test_assemblies_round_trip(void **state) {
  (void)state;
  char *path = write_example("clipDLC_assemblies.json");
  dlcc_assemblies a;
  dlcc_error err;
  if (dlcc_assemblies_read(path, &a, &err)) fail_msg("%s", err.message);
  check_example(&a);
  /* written again from memory, the text is the same */
  char *again = dlcc_path_join(tmpdir, "again_assemblies.json");
  if (dlcc_assemblies_write(&a, again, &err)) fail_msg("%s", err.message);
  char *t1 = test_read_file(path, NULL), *t2 = test_read_file(again, NULL);
  assert_string_equal(t1, t2);
  /* a missing keypoint is null, a missing score inside one is null, frame 1 has no unique parts */
  assert_contains(t1, "[12.125, 24, null]");
  assert_contains(t1, "{\"affinity\": 0.5, \"keypoints\": [[100, 200, 0.7], null, [0.33333333333333331, 2e-07, 0.1]]}");
  assert_contains(t1, "\"unique\": [\n    [[300, 310, 0.99], [320, 330, 0.6]],\n    null,\n    [null, [42, 43, 0.75]]\n  ]");
  assert_contains(t1, "\"frames\": 3\n}");
  free(t1);
  free(t2);
  free(again);
  dlcc_assemblies_free(&a);
  free(path);
}

static void test_assemblies_path_and_empty_file(void **state) {
  (void)state;
  char *p = dlcc_assemblies_path("/v/clip.mp4", NULL, "DLC_x_yshuffle1_5");
  assert_string_equal(p, "/v/clipDLC_x_yshuffle1_5_assemblies.json");
  free(p);
  p = dlcc_assemblies_path("/v/clip.mp4", "/out", "DLC_x_yshuffle1_5");
  assert_string_equal(p, "/out/clipDLC_x_yshuffle1_5_assemblies.json");
  free(p);
  /* no frame, no unique parts: still a valid file */
  char *path = dlcc_path_join(tmpdir, "sub/dir/empty_assemblies.json");
  dlcc_track_header h = header(false);
  dlcc_assemblies_writer *w;
  dlcc_error err;
  if (dlcc_assemblies_writer_open(&w, path, &h, &err)) fail_msg("%s", err.message);
  if (dlcc_assemblies_writer_finish(w, &err)) fail_msg("%s", err.message);
  dlcc_assemblies a;
  if (dlcc_assemblies_read(path, &a, &err)) fail_msg("%s", err.message);
  assert_int_equal(a.n_frames, 0);
  assert_int_equal(a.n_animals, 0);
  assert_null(a.unique);
  dlcc_assemblies_free(&a);
  /* an aborted writer leaves nothing */
  char *aborted = dlcc_path_join(tmpdir, "aborted_assemblies.json");
  if (dlcc_assemblies_writer_open(&w, aborted, &h, &err)) fail_msg("%s", err.message);
  dlcc_assemblies_writer_abort(w);
  assert_false(dlcc_path_is_file(aborted));
  free(aborted);
  free(path);
}

/* Python's json.dump(sort_keys=True, indent=1) of the same content: other key order, NaN for a score,
 * an unknown key. */
static void test_assemblies_any_key_order(void **state) {
  (void)state;
  char *path = test_write_file(tmpdir, "sorted_assemblies.json",
                               "{\"assemblies\": [[{\"affinity\": 1, \"keypoints\": [[1.5, 2.5, NaN], null, [3, 4, 0.5]],"
                               " \"extra\": {\"a\": [1, 2]}}], []],\n"
                               " \"bodyparts\": [\"a\", \"b\", \"c\"], \"format\": \"dlcc assemblies 1\", \"frames\": 2,\n"
                               " \"individuals\": [], \"scorer\": \"S\", \"unique\": [null, [[7, 8, 0.5]]],\n"
                               " \"uniquebodyparts\": [\"u\\u00e9\"], \"video\": \"v.mp4\"}\n");
  dlcc_assemblies a;
  dlcc_error err;
  if (dlcc_assemblies_read(path, &a, &err)) fail_msg("%s", err.message);
  assert_int_equal(a.n_frames, 2);
  assert_int_equal(dlcc_assemblies_count(&a, 0), 1);
  assert_int_equal(dlcc_assemblies_count(&a, 1), 0);
  const double want[9] = {1.5, 2.5, NAN, NAN, NAN, NAN, 3, 4, 0.5};
  for (size_t i = 0; i < 9; i++) assert_same(dlcc_assemblies_frame(&a, 0)[i], want[i], "keypoints", i);
  assert_string_equal(a.header.uniquebodyparts[0], "u\xc3\xa9");
  assert_same(a.unique[0], NAN, "unique", 0);
  assert_same(a.unique[3], 7, "unique", 3);
  dlcc_assemblies_free(&a);
  free(path);
}

/* Reads text as an assemblies file and checks that it fails with a message holding each of `needles`. */
static void expect_assemblies_error(const char *name, const char *text, const char *needle1, const char *needle2) {
  char *path = test_write_file(tmpdir, name, text);
  dlcc_assemblies a;
  dlcc_error err;
  assert_int_not_equal(dlcc_assemblies_read(path, &a, &err), DLCC_OK);
  assert_contains(err.message, path);
  assert_contains(err.message, needle1);
  if (needle2) assert_contains(err.message, needle2);
  assert_null(a.keypoints);
  free(path);
}

#define HEAD "{\"format\": \"dlcc assemblies 1\", \"scorer\": \"S\", \"bodyparts\": [\"a\", \"b\"],\n"

static void test_assemblies_reader_errors(void **state) {
  (void)state;
  expect_assemblies_error("e1.json", "{\"format\": \"dlcc tracklets 1\", \"frames\": 0}",
                          "line 1, column 2: the format is \"dlcc tracklets 1\"", "\"dlcc assemblies 1\"");
  expect_assemblies_error("e2.json", "{\"scorer\": \"S\", \"bodyparts\": [\"a\"], \"frames\": 0, \"assemblies\": []}",
                          "has no \"format\"", "not a dlcc assemblies file");
  /* one keypoint short in frame 1's first animal: the message points at its "keypoints" key (line 3, column 22) */
  expect_assemblies_error("e3.json",
                          HEAD "\"assemblies\": [[],\n"
                               "  [{\"affinity\": 0.5, \"keypoints\": [[1, 2, 0.5]]}]], \"frames\": 2}",
                          "line 3, column 22: assemblies[1][0].keypoints has 1 entries; bodyparts lists 2", NULL);
  /* bodyparts after the assemblies: checked at the end against the first animal */
  expect_assemblies_error("e4.json",
                          "{\"format\": \"dlcc assemblies 1\", \"scorer\": \"S\", \"frames\": 1,\n"
                          "\"assemblies\": [[{\"keypoints\": [null, null, null]}]], \"bodyparts\": [\"a\", \"b\"]}",
                          "line 2, column 18: the animals have 3 keypoints; bodyparts lists 2", NULL);
  expect_assemblies_error("e5.json", HEAD "\"assemblies\": [[{\"keypoints\": [[1, 2], null]}]], \"frames\": 1}",
                          "assemblies[0][0].keypoints[0] has 2 numbers; a keypoint is [x, y, score]", NULL);
  expect_assemblies_error("e6.json", HEAD "\"assemblies\": [[], []], \"frames\": 3}",
                          "\"frames\" is 3 but \"assemblies\" has 2 entries", NULL);
  /* cut short in the middle of a frame (a run killed while writing, without the atomic rename) */
  expect_assemblies_error("e7.json", HEAD "\"assemblies\": [[{\"affinity\": 0.5, \"keypoints\": [[1, 2",
                          "line 2, column 54: the file ends early", NULL);
  expect_assemblies_error("e8.json", HEAD "\"assemblies\": [[{\"keypoints\": [null, \"x\"]}]], \"frames\": 1}",
                          "assemblies[0][0].keypoints[1] should be [x, y, score] or null, not a string", NULL);
  expect_assemblies_error("e9.json",
                          HEAD "\"uniquebodyparts\": [\"u\"], \"assemblies\": [[]], \"frames\": 1, \"unique\": [[null, null]]}",
                          "unique[0] has 2 entries; uniquebodyparts lists 1", NULL);
  expect_assemblies_error("e10.json", HEAD "\"assemblies\": [], \"frames\": 0} x", "text after the end", NULL);
  expect_assemblies_error("e11.json", "", "is empty", NULL);
  expect_assemblies_error("e12.json", HEAD "\"assemblies\": [[]] \"frames\": 1}", "line 2, column 20: expected ',' or '}', found '\"'",
                          NULL);
  dlcc_assemblies a;
  dlcc_error err;
  char *missing = dlcc_path_join(tmpdir, "missing.json");
  assert_int_equal(dlcc_assemblies_read(missing, &a, &err), DLCC_ERR_IO);
  assert_contains(err.message, "cannot open");
  assert_contains(err.message, missing);
  free(missing);
}

/* ---- Tracklets --------------------------------------------------------------------------------- */

static void test_tracklets_round_trip(void **state) {
  (void)state;
  dlcc_track_header h = header(true);
  dlcc_tracklets_file t = {.method = DLCC_TRACK_BOX, .n_frames = 10, .has_params = true};
  dlcc_tracker_params_default(&t.params, DLCC_TRACK_BOX);
  t.params.box_slack = 12.5;
  t.params.max_age = 3;
  char *ignore[] = {"thorax"};
  dlcc_error err;
  if (dlcc_track_header_copy(&t.header, &h, &err)) fail_msg("%s", err.message);
  t.n_ignored = 1;
  t.ignore_bodyparts = calloc(1, sizeof(char *));
  t.ignore_bodyparts[0] = strdup(ignore[0]);
  dlcc_tracklet_set_init(&t.tracklets, 3);
  dlcc_tracklet_set_init(&t.single, 2);
  const double pose_a[9] = {1, 2, 0.5, NAN, NAN, NAN, 5, 6, NAN};
  const double pose_b[9] = {10.25, 20, 1, 11, 21, 0.9, 12, 22, 0.8};
  const double uniq[6] = {100, 101, 0.5, NAN, NAN, NAN};
  /* tracklet 3 starts first (DeepLabCut's dict order is kept), then tracklet 0 */
  assert_int_equal(dlcc_tracklet_set_append(&t.tracklets, 3, 0, pose_a, &err), DLCC_OK);
  assert_int_equal(dlcc_tracklet_set_append(&t.tracklets, 3, 4, pose_b, &err), DLCC_OK);
  assert_int_equal(dlcc_tracklet_set_append(&t.tracklets, 0, 9, pose_b, &err), DLCC_OK);
  assert_int_equal(dlcc_tracklet_set_append(&t.single, 0, 2, uniq, &err), DLCC_OK);
  char *path = dlcc_path_join(tmpdir, "clip_bx.json");
  if (dlcc_tracklets_write(&t, path, &err)) fail_msg("%s", err.message);
  dlcc_tracklets_file r;
  if (dlcc_tracklets_read(path, &r, &err)) fail_msg("%s", err.message);
  assert_int_equal(r.method, DLCC_TRACK_BOX);
  assert_int_equal(r.n_frames, 10);
  assert_true(r.has_params);
  assert_int_equal(r.params.max_age, 3);
  assert_int_equal(r.params.min_hits, 1);
  assert_same(r.params.box_slack, 12.5, "slack", 0);
  assert_same(r.params.iou_threshold, 0.6, "iou", 0);
  assert_int_equal(r.n_ignored, 1);
  assert_string_equal(r.ignore_bodyparts[0], "thorax");
  assert_string_equal(r.header.video, h.video);
  assert_int_equal(r.tracklets.count, 2);
  assert_int_equal(r.tracklets.items[0].id, 3);
  assert_int_equal(r.tracklets.items[0].length, 2);
  assert_int_equal(r.tracklets.items[0].frames[1], 4);
  for (size_t i = 0; i < 9; i++) {
    assert_same(r.tracklets.items[0].poses[i], pose_a[i], "tracklet 3 frame 0", i);
    assert_same(r.tracklets.items[0].poses[9 + i], pose_b[i], "tracklet 3 frame 4", i);
    assert_same(r.tracklets.items[1].poses[i], pose_b[i], "tracklet 0 frame 9", i);
  }
  assert_int_equal(r.tracklets.items[1].id, 0);
  assert_int_equal(r.single.count, 1);
  assert_int_equal(r.single.items[0].frames[0], 2);
  for (size_t i = 0; i < 6; i++) assert_same(r.single.items[0].poses[i], uniq[i], "single", i);
  char *text = test_read_file(path, NULL);
  assert_contains(text, "\"track_method\": \"box\"");
  assert_contains(text, "[[1, 2, 0.5], null, [5, 6, null]]");
  free(text);
  dlcc_tracklets_file_free(&r);
  /* the names */
  char *p = dlcc_tracklets_path("/v/clip.avi", NULL, "DLC_s", DLCC_TRACK_ELLIPSE);
  assert_string_equal(p, "/v/clipDLC_s_el.json");
  free(p);
  p = dlcc_tracklets_path("/v/clip.avi", "/d", "DLC_s", DLCC_TRACK_BOX);
  assert_string_equal(p, "/d/clipDLC_s_bx.json");
  free(p);
  /* a tracklet beyond the frames is refused when writing */
  t.n_frames = 9;
  assert_int_equal(dlcc_tracklets_write(&t, path, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "reaches frame 9, outside the 9 frames");
  dlcc_tracklets_file_free(&t);
  free(path);
}

static void expect_tracklets_error(const char *name, const char *text, const char *needle) {
  char *path = test_write_file(tmpdir, name, text);
  dlcc_tracklets_file t;
  dlcc_error err;
  assert_int_not_equal(dlcc_tracklets_read(path, &t, &err), DLCC_OK);
  assert_contains(err.message, path);
  assert_contains(err.message, needle);
  assert_int_equal(t.tracklets.count, 0);
  free(path);
}

#define THEAD "{\"format\": \"dlcc tracklets 1\", \"scorer\": \"S\", \"bodyparts\": [\"a\"], \"frames\": 5,\n"

static void test_tracklets_reader_errors(void **state) {
  (void)state;
  expect_tracklets_error("t1.json", "{\"format\": \"dlcc assemblies 1\"}",
                         "the format is \"dlcc assemblies 1\"; a tracklets file says \"dlcc tracklets 1\"");
  expect_tracklets_error("t2.json", THEAD "\"track_method\": \"skeleton\", \"tracklets\": []}",
                         "line 2, column 1: track method \"skeleton\" is not available in dlcc");
  expect_tracklets_error("t3.json",
                         THEAD "\"track_method\": \"box\", \"tracklets\": [{\"id\": 0, \"frames\": [2, 2], \"poses\": []}]}",
                         "tracklets[0].frames[1] is 2, not after the frame before it (2)");
  expect_tracklets_error("t4.json",
                         THEAD "\"track_method\": \"box\",\n\"tracklets\": [{\"id\": 0, \"frames\": [1, 5], "
                               "\"poses\": [[null], [null]]}]}",
                         "line 3, column 15: tracklets[0] has frame 5, but the video has 5 frames");
  expect_tracklets_error("t5.json",
                         THEAD "\"track_method\": \"box\", \"tracklets\": [{\"id\": 0, \"frames\": [1], \"poses\": []}]}",
                         "tracklets[0] has 1 frames but 0 poses");
  expect_tracklets_error("t6.json",
                         THEAD "\"track_method\": \"box\", \"tracklets\": [{\"id\": 1, \"frames\": [1], \"poses\": [[null]]},"
                               " {\"id\": 1, \"frames\": [2], \"poses\": [[null]]}]}",
                         "tracklets[1]: id 1 is used by tracklets[0] too");
  expect_tracklets_error("t7.json",
                         THEAD "\"track_method\": \"box\", \"tracklets\": [{\"id\": 0, \"frames\": [1], "
                               "\"poses\": [[null, null]]}]}",
                         "tracklets[0].poses[0] has 2 keypoints; bodyparts lists 1");
  expect_tracklets_error("t8.json", THEAD "\"track_method\": \"box\", \"tracklets\": [{\"id\": 0, \"fra",
                         "the file ends early");
  expect_tracklets_error("t9.json", THEAD "\"tracklets\": []}", "has no \"track_method\"");
}

/* ---- The JSON reader --------------------------------------------------------------------------- */

static void test_json_reader_tokens(void **state) {
  (void)state;
  char *path = test_write_file(tmpdir, "tokens.json",
                               " [\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\", -1.5e2, true, false, null,\n"
                               "  {}, [], -Infinity, 0]");
  dlcc_json_reader *r;
  dlcc_error err;
  dlcc_json_token tok;
  if (dlcc_json_reader_open(&r, path, &err)) fail_msg("%s", err.message);
  const dlcc_json_kind kinds[] = {DLCC_JSON_BEGIN_ARRAY, DLCC_JSON_STRING, DLCC_JSON_NUMBER,
                                  DLCC_JSON_TRUE, DLCC_JSON_FALSE, DLCC_JSON_NULL,
                                  DLCC_JSON_BEGIN_OBJECT, DLCC_JSON_END_OBJECT, DLCC_JSON_BEGIN_ARRAY,
                                  DLCC_JSON_END_ARRAY, DLCC_JSON_NUMBER, DLCC_JSON_NUMBER,
                                  DLCC_JSON_END_ARRAY, DLCC_JSON_END};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    if (dlcc_json_next(r, &tok, &err)) fail_msg("token %zu: %s", i, err.message);
    assert_int_equal(tok.kind, kinds[i]);
    if (i == 0) {
      assert_int_equal(tok.line, 1);
      assert_int_equal(tok.column, 2);
    }
    if (i == 1) assert_string_equal(tok.text, "a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
    if (i == 2) assert_same(tok.number, -150, "number", 0);
    if (i == 6) {
      assert_int_equal(tok.line, 2);
      assert_int_equal(tok.column, 3);
    }
    if (i == 10) assert_same(tok.number, -INFINITY, "number", 0);
  }
  dlcc_json_reader_close(r);
  /* the writer's escapes read back */
  dlcc_strbuf sb = {0};
  dlcc_json_append_string(&sb, "q\"b\\n\nt\t\x01");
  assert_string_equal(sb.data, "\"q\\\"b\\\\n\\nt\\t\\u0001\"");
  dlcc_strbuf_free(&sb);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_assemblies_round_trip),
      cmocka_unit_test(test_assemblies_path_and_empty_file),
      cmocka_unit_test(test_assemblies_any_key_order),
      cmocka_unit_test(test_assemblies_reader_errors),
      cmocka_unit_test(test_tracklets_round_trip),
      cmocka_unit_test(test_tracklets_reader_errors),
      cmocka_unit_test(test_json_reader_tokens),
  };
  return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
