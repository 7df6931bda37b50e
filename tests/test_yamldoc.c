/* Tests of src/project/yamldoc: loading with line numbers, syntax and structure errors, writing that
 * round-trips real DeepLabCut configs exactly, quoting of ambiguous strings, scalar typing. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "project/yamldoc.h"
#include "testutil.h"
#include "util/fileio.h"

/* Same structure, texts, quoting and flow style (lines are not compared). */
static void assert_trees_equal(const dlcc_yaml_node *a, const dlcc_yaml_node *b) {
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(a->kind, b->kind);
  assert_int_equal(a->count, b->count);
  if (a->kind == DLCC_YAML_SCALAR) {
    assert_string_equal(a->scalar, b->scalar);
    assert_int_equal(a->quoted, b->quoted);
    return;
  }
  if (a->count) assert_int_equal(a->flow, b->flow);
  for (size_t i = 0; i < a->count; i++) {
    if (a->kind == DLCC_YAML_MAP) assert_string_equal(a->keys[i], b->keys[i]);
    assert_trees_equal(a->items[i], b->items[i]);
  }
}

static dlcc_yaml_node *load_text(const char *text, dlcc_error *err) {
  return dlcc_yaml_load_string(text, strlen(text), "test.yaml", err);
}

static dlcc_yaml_node *load_ok(const char *text) {
  dlcc_error err = {0};
  dlcc_yaml_node *root = load_text(text, &err);
  if (!root) fail_msg("%s", err.message);
  return root;
}

static char *to_string_ok(const dlcc_yaml_node *root) {
  dlcc_error err = {0};
  char *text = dlcc_yaml_to_string(root, &err);
  if (!text) fail_msg("%s", err.message);
  return text;
}

/* Loads a shared config, writes it to a temp file, reads that back: the trees must be equal. */
static dlcc_yaml_node *round_trip_shared_config(const char *project, dlcc_yaml_node **reread) {
  char *dir = test_shared_data(project);
  char *path = dlcc_path_join(dir, "config.yaml");
  dlcc_error err = {0};
  dlcc_yaml_node *root = dlcc_yaml_load_file(path, &err);
  if (!root) fail_msg("%s", err.message);
  char *tmp = test_tempdir("yaml");
  char *out = dlcc_path_join(tmp, "config.yaml");
  assert_int_equal(dlcc_yaml_write_file(root, out, &err), DLCC_OK);
  *reread = dlcc_yaml_load_file(out, &err);
  if (!*reread) fail_msg("%s", err.message);
  assert_trees_equal(root, *reread);
  test_rmtree(tmp);
  free(tmp);
  free(out);
  free(path);
  free(dir);
  return root;
}

static void test_openfield_config_round_trips_with_keys_in_order(void **state) {
  (void)state;
  dlcc_yaml_node *reread;
  dlcc_yaml_node *root = round_trip_shared_config("openfield-Pranav-2018-10-30", &reread);
  assert_int_equal(root->kind, DLCC_YAML_MAP);
  const char *first_keys[] = {"Task",         "scorer", "date",       "multianimalproject", "identity",
                              "project_path", "engine", "video_sets", "bodyparts"};
  for (size_t i = 0; i < sizeof first_keys / sizeof *first_keys; i++)
    assert_string_equal(reread->keys[i], first_keys[i]);
  assert_string_equal(reread->keys[reread->count - 1], "SuperAnimalConversionTables");
  dlcc_yaml_node *empty = dlcc_yaml_map_get(reread, "multianimalproject");
  assert_string_equal(empty->scalar, "");
  assert_true(dlcc_yaml_is_null(empty));
  dlcc_yaml_node *tables = dlcc_yaml_map_get(reread, "SuperAnimalConversionTables");
  dlcc_yaml_node *mouse = dlcc_yaml_map_get(tables, "superanimal_topviewmouse");
  assert_string_equal(dlcc_yaml_map_get(mouse, "tailbase")->scalar, "tail_base");
  dlcc_yaml_free(root);
  dlcc_yaml_free(reread);
}

static void test_flies_config_round_trips_with_nested_skeleton_in_block_style(void **state) {
  (void)state;
  dlcc_yaml_node *reread;
  dlcc_yaml_node *root = round_trip_shared_config("flies-clip-madlc", &reread);
  char *text = to_string_ok(root);
  assert_contains(text, "skeleton:\n- - head\n  - eyeL\n- - head\n  - eyeR\n");
  assert_contains(text, "uniquebodyparts: []\n");
  assert_contains(text, "bodyparts: MULTI!\n");
  dlcc_yaml_node *skeleton = dlcc_yaml_map_get(reread, "skeleton");
  assert_int_equal(skeleton->count, 12);
  assert_string_equal(skeleton->items[11]->items[1]->scalar, "hindlegR4");
  free(text);
  dlcc_yaml_free(root);
  dlcc_yaml_free(reread);
}

static void test_lines_of_keys_and_items_match_the_source(void **state) {
  (void)state;
  char *dir = test_shared_data("openfield-Pranav-2018-10-30");
  char *path = dlcc_path_join(dir, "config.yaml");
  dlcc_error err = {0};
  dlcc_yaml_node *root = dlcc_yaml_load_file(path, &err);
  assert_non_null(root);
  assert_int_equal(dlcc_yaml_map_key_line(root, "Task"), 2);
  assert_int_equal(dlcc_yaml_map_key_line(root, "video_sets"), 17);
  assert_int_equal(dlcc_yaml_map_key_line(root, "iteration"), 45);
  assert_int_equal(dlcc_yaml_map_key_line(root, "SuperAnimalConversionTables"), 71);
  assert_int_equal(dlcc_yaml_map_key_line(root, "no_such_key"), 0);
  dlcc_yaml_node *videos = dlcc_yaml_map_get(root, "video_sets");
  assert_int_equal(videos->key_lines[0], 18);
  assert_int_equal(dlcc_yaml_map_key_line(videos->items[0], "crop"), 19);
  dlcc_yaml_node *bodyparts = dlcc_yaml_map_get(root, "bodyparts");
  assert_int_equal(bodyparts->line, 21);
  assert_int_equal(bodyparts->items[3]->line, 24);
  assert_int_equal(dlcc_yaml_map_get(root, "pcutoff")->line, 36);
  dlcc_yaml_free(root);
  free(path);
  free(dir);
}

static void test_syntax_error_names_file_line_column_and_problem(void **state) {
  (void)state;
  dlcc_error err = {0};
  assert_null(load_text("Task: openfield\nscorer: Pranav\n  date: Oct30\n", &err));
  assert_int_equal(err.status, DLCC_ERR_PARSE);
  assert_contains(err.message, "test.yaml: line 3, column 7: invalid YAML: mapping values are not allowed");
  assert_null(load_text("bodyparts: [snout, leftear\npcutoff: 0.4\n", &err));
  assert_contains(err.message, "test.yaml: line 2");
  assert_contains(err.message, "flow sequence");
}

static void test_missing_file_error_names_the_path(void **state) {
  (void)state;
  dlcc_error err = {0};
  assert_null(dlcc_yaml_load_file("/nonexistent/dir/config.yaml", &err));
  assert_int_equal(err.status, DLCC_ERR_IO);
  assert_contains(err.message, "/nonexistent/dir/config.yaml");
}

static void test_duplicate_key_names_both_lines(void **state) {
  (void)state;
  dlcc_error err = {0};
  assert_null(load_text("Task: a\nscorer: b\nTask: c\n", &err));
  assert_contains(err.message, "test.yaml: line 3: key \"Task\" appears twice (also at line 1)");
}

static void test_alias_is_rejected_with_its_line(void **state) {
  (void)state;
  dlcc_error err = {0};
  assert_null(load_text("a: &x [1, 2]\nb: *x\n", &err));
  assert_int_equal(err.status, DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, "test.yaml: line 2, column 4: aliases (*x) are not supported");
}

static void test_second_document_is_rejected(void **state) {
  (void)state;
  dlcc_error err = {0};
  assert_null(load_text("a: 1\n---\nb: 2\n", &err));
  assert_contains(err.message, "test.yaml: line 2: a second YAML document starts here");
}

static void test_empty_text_reads_as_null(void **state) {
  (void)state;
  dlcc_yaml_node *root = load_ok("# only a comment\n");
  assert_int_equal(root->kind, DLCC_YAML_SCALAR);
  assert_true(dlcc_yaml_is_null(root));
  dlcc_yaml_free(root);
}

static void test_ambiguous_strings_are_quoted_and_read_back_as_strings(void **state) {
  (void)state;
  const char *texts[] = {
      "true", "no",         "0.5",  "",    "a: b",  "null",        "~",      "1e-4",
      "17",   "2018-10-30", "1:30", "- x", "#hash", "plain words", "MULTI!", "videos/clip.mp4"};
  const size_t n = sizeof texts / sizeof *texts;
  dlcc_yaml_node *map = dlcc_yaml_new_map();
  char key[16];
  for (size_t i = 0; i < n; i++) {
    snprintf(key, sizeof key, "k%zu", i);
    assert_true(dlcc_yaml_map_set(map, key, dlcc_yaml_new_string(texts[i])));
  }
  char *text = to_string_ok(map);
  assert_contains(text, "k0: 'true'\n");
  assert_contains(text, "k2: '0.5'\n");
  assert_contains(text, "k3: ''\n");
  assert_contains(text, "k13: plain words\n");
  assert_contains(text, "k14: MULTI!\n");
  dlcc_yaml_node *reread = load_ok(text);
  for (size_t i = 0; i < n; i++) {
    dlcc_yaml_node *v = reread->items[i];
    assert_string_equal(v->scalar, texts[i]);
    double d;
    bool b;
    assert_false(dlcc_yaml_is_null(v) || dlcc_yaml_as_bool(v, &b) || dlcc_yaml_as_double(v, &d));
  }
  free(text);
  dlcc_yaml_free(map);
  dlcc_yaml_free(reread);
}

static void test_keys_that_look_like_numbers_are_quoted(void **state) {
  (void)state;
  dlcc_yaml_node *map = load_ok("'0.5': a\n'yes': b\nplain: c\n");
  char *text = to_string_ok(map);
  assert_string_equal(text, "'0.5': a\n'yes': b\nplain: c\n");
  free(text);
  dlcc_yaml_free(map);
}

static void test_flow_sequences_stay_flow_and_nested_lists_stay_block(void **state) {
  (void)state;
  const char *source =
      "crop_size: [400, 400]\nmulti_step:\n- - 0.005\n  - 10000\n- - 0.02\n  - 430000\n"
      "name: 'quoted'\nempty:\nnested:\n  inner: 1\nnote: |\n  two\n  lines\n";
  dlcc_yaml_node *root = load_ok(source);
  assert_true(dlcc_yaml_map_get(root, "crop_size")->flow);
  assert_false(dlcc_yaml_map_get(root, "multi_step")->flow);
  assert_true(dlcc_yaml_map_get(root, "name")->quoted);
  char *text = to_string_ok(root);
  assert_string_equal(text, source);
  free(text);
  dlcc_yaml_free(root);
}

static void assert_double_text(double v, const char *expected) {
  dlcc_yaml_node *n = dlcc_yaml_new_double(v);
  assert_string_equal(n->scalar, expected);
  double back;
  assert_true(dlcc_yaml_as_double(n, &back));
  if (isnan(v))
    assert_true(isnan(back));
  else
    assert_true(back == v && signbit(back) == signbit(v));
  dlcc_yaml_free(n);
}

static void test_new_double_writes_shortest_repr_text(void **state) {
  (void)state;
  assert_double_text(0.8, "0.8");
  assert_double_text(7.2801, "7.2801");
  assert_double_text(17.0, "17.0");
  assert_double_text(0.0001, "0.0001");
  assert_double_text(1e-5, "1.0e-05");
  assert_double_text(1.5e-7, "1.5e-07");
  assert_double_text(0.1 + 0.2, "0.30000000000000004");
  assert_double_text(1e15, "1000000000000000.0");
  assert_double_text(1e16, "1.0e+16");
  assert_double_text(123.456, "123.456");
  assert_double_text(-0.5, "-0.5");
  assert_double_text(-0.0, "-0.0");
  assert_double_text(0.0, "0.0");
  assert_double_text(430000, "430000.0");
  assert_double_text(INFINITY, ".inf");
  assert_double_text(-INFINITY, "-.inf");
  assert_double_text(NAN, ".nan");
}

static void test_scalar_readers_follow_yaml_1_1(void **state) {
  (void)state;
  dlcc_yaml_node *root = load_ok(
      "bools: [true, True, TRUE, yes, on, false, No, OFF, tRuE, 'true', 1]\n"
      "nulls: [~, null, NULL, '', nil]\n"
      "longs: [0, -3, +7, 1_000, 0x1F, 0b101, 017, '5', 1.5, abc, 99999999999999999999, 1:30]\n"
      "doubles: [1e-4, .5, -0.5, 5.0e-3, 17, 1E3, .inf, 12abc, '0.5', 1.2.3, e5]\n"
      "empty:\n");
  const bool want_bool[] = {true, true, true, true, true, false, false, false};
  dlcc_yaml_node *bools = dlcc_yaml_map_get(root, "bools");
  bool b;
  for (size_t i = 0; i < 8; i++) {
    assert_true(dlcc_yaml_as_bool(bools->items[i], &b));
    assert_int_equal(b, want_bool[i]);
  }
  for (size_t i = 8; i < 11; i++) assert_false(dlcc_yaml_as_bool(bools->items[i], &b));
  dlcc_yaml_node *nulls = dlcc_yaml_map_get(root, "nulls");
  for (size_t i = 0; i < 3; i++) assert_true(dlcc_yaml_is_null(nulls->items[i]));
  assert_false(dlcc_yaml_is_null(nulls->items[3]));
  assert_false(dlcc_yaml_is_null(nulls->items[4]));
  assert_true(dlcc_yaml_is_null(dlcc_yaml_map_get(root, "empty")));
  const long want_long[] = {0, -3, 7, 1000, 31, 5, 15};
  dlcc_yaml_node *longs = dlcc_yaml_map_get(root, "longs");
  long l;
  for (size_t i = 0; i < 7; i++) {
    assert_true(dlcc_yaml_as_long(longs->items[i], &l));
    assert_int_equal(l, want_long[i]);
  }
  for (size_t i = 7; i < 11; i++) assert_false(dlcc_yaml_as_long(longs->items[i], &l));
  assert_true(dlcc_yaml_as_long(longs->items[11], &l));
  assert_int_equal(l, 90);
  dlcc_yaml_node *extreme = dlcc_yaml_new_scalar("-9223372036854775808");
  assert_true(dlcc_yaml_as_long(extreme, &l));
  assert_true(l == LONG_MIN);
  dlcc_yaml_free(extreme);
  const double want_double[] = {1e-4, 0.5, -0.5, 5e-3, 17.0, 1000.0, INFINITY};
  dlcc_yaml_node *doubles = dlcc_yaml_map_get(root, "doubles");
  double d;
  for (size_t i = 0; i < 7; i++) {
    assert_true(dlcc_yaml_as_double(doubles->items[i], &d));
    assert_true(d == want_double[i]);
  }
  for (size_t i = 7; i < 11; i++) assert_false(dlcc_yaml_as_double(doubles->items[i], &d));
  assert_false(dlcc_yaml_as_double(root, &d));
  dlcc_yaml_free(root);
}

static void test_map_set_replaces_in_place_and_appends_new_keys(void **state) {
  (void)state;
  dlcc_yaml_node *root = load_ok("a: 1\nb: 2\nc: 3\n");
  assert_true(dlcc_yaml_map_set(root, "b", dlcc_yaml_new_scalar("20")));
  assert_true(dlcc_yaml_map_set(root, "d", dlcc_yaml_new_scalarf("%d", 4)));
  assert_int_equal(dlcc_yaml_map_get(root, "b")->line, 2);
  char *text = to_string_ok(root);
  assert_string_equal(text, "a: 1\nb: 20\nc: 3\nd: 4\n");
  dlcc_yaml_node *seq = dlcc_yaml_new_seq();
  assert_false(dlcc_yaml_map_set(seq, "x", dlcc_yaml_new_scalar("1")));
  assert_true(dlcc_yaml_seq_append(seq, dlcc_yaml_new_scalar("1")));
  assert_int_equal(seq->count, 1);
  free(text);
  dlcc_yaml_free(seq);
  dlcc_yaml_free(root);
}

static void test_clone_is_deep_and_equal(void **state) {
  (void)state;
  dlcc_yaml_node *root = load_ok("a: [1, 'x']\nb:\n  c:\n  - d\n");
  dlcc_yaml_node *copy = dlcc_yaml_clone(root);
  assert_trees_equal(root, copy);
  assert_int_equal(copy->key_lines[1], 2);
  assert_true(dlcc_yaml_map_set(copy, "a", dlcc_yaml_new_scalar("changed")));
  assert_int_equal(dlcc_yaml_map_get(root, "a")->kind, DLCC_YAML_SEQ);
  dlcc_yaml_free(root);
  dlcc_yaml_free(copy);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_openfield_config_round_trips_with_keys_in_order),
      cmocka_unit_test(test_flies_config_round_trips_with_nested_skeleton_in_block_style),
      cmocka_unit_test(test_lines_of_keys_and_items_match_the_source),
      cmocka_unit_test(test_syntax_error_names_file_line_column_and_problem),
      cmocka_unit_test(test_missing_file_error_names_the_path),
      cmocka_unit_test(test_duplicate_key_names_both_lines),
      cmocka_unit_test(test_alias_is_rejected_with_its_line),
      cmocka_unit_test(test_second_document_is_rejected),
      cmocka_unit_test(test_empty_text_reads_as_null),
      cmocka_unit_test(test_ambiguous_strings_are_quoted_and_read_back_as_strings),
      cmocka_unit_test(test_keys_that_look_like_numbers_are_quoted),
      cmocka_unit_test(test_flow_sequences_stay_flow_and_nested_lists_stay_block),
      cmocka_unit_test(test_new_double_writes_shortest_repr_text),
      cmocka_unit_test(test_scalar_readers_follow_yaml_1_1),
      cmocka_unit_test(test_map_set_replaces_in_place_and_appends_new_keys),
      cmocka_unit_test(test_clone_is_deep_and_equal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
