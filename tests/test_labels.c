/* Tests of src/project/labels*.c and float_repr.c: reading DeepLabCut label, ground-truth and
 * analysis tables (real project files and small hand-written ones), byte-identical rewriting, error
 * messages with file and line, checks against a project's config, and Python's float repr. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/labels.h"
#include "testutil.h"
#include "util/fileio.h"

#define OPENFIELD_CSV "openfield-Pranav-2018-10-30", "labeled-data/m4s1/CollectedData_Pranav.csv"
#define FLIES_CSV "flies-clip-madlc", "labeled-data/clip/CollectedData_sleap.csv"
#define GROUND_TRUTH_CSV "flies-clip-madlc", "ground-truth/clip_all_frames.csv"

/* A file inside a shared data project (the test is skipped when the project is absent). */
static char *shared_file(const char *project, const char *file) {
  char *dir = test_shared_data(project);
  char *path = dlcc_path_join(dir, file);
  free(dir);
  return path;
}

/* A temp folder per test, removed at teardown. */
static int make_tempdir(void **state) {
  *state = test_tempdir("labels");
  return 0;
}

static int remove_tempdir(void **state) {
  test_rmtree(*state);
  free(*state);
  return 0;
}

static double value_at(const dlcc_label_table *t, size_t row, size_t col, size_t coord) {
  return t->values[dlcc_label_index(t, row, col, coord)];
}

/* Writes text to <dir>/name.csv and reads it back as a table; returns the status. */
static dlcc_status read_text(const char *dir, const char *text, dlcc_label_table *t, dlcc_error *err) {
  char *path = test_write_file(dir, "CollectedData_test.csv", text);
  dlcc_status st = dlcc_labels_read(path, t, err);
  free(path);
  return st;
}

/* Reads text, expecting a failure whose message contains each fragment. */
static void assert_read_fails(const char *dir, const char *text, const char *const *fragments, size_t n) {
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(read_text(dir, text, &t, &err), DLCC_ERR_PARSE);
  assert_contains(err.message, "CollectedData_test.csv");
  for (size_t i = 0; i < n; i++) assert_contains(err.message, fragments[i]);
  assert_null(t.values);
  assert_int_equal(t.n_rows, 0);
}
#define ASSERT_READ_FAILS(dir, text, ...)                                                  \
  do {                                                                                     \
    const char *const fragments_[] = {__VA_ARGS__};                                         \
    assert_read_fails((dir), (text), fragments_, sizeof fragments_ / sizeof *fragments_); \
  } while (0)

/* Writes t to <dir>/out.csv and returns the file's text (caller frees). */
static char *write_and_load(const dlcc_label_table *t, const char *dir) {
  char *out = dlcc_path_join(dir, "out.csv");
  dlcc_error err;
  if (dlcc_labels_write(t, out, &err)) fail_msg("%s", err.message);
  char *text = test_read_file(out, NULL);
  free(out);
  return text;
}

/* Reads path, writes it back and asserts the bytes are unchanged. */
static void assert_round_trip_identical(const char *path, const char *dir) {
  dlcc_label_table t;
  dlcc_error err;
  if (dlcc_labels_read(path, &t, &err)) fail_msg("%s", err.message);
  size_t original_len, written_len;
  char *original = test_read_file(path, &original_len);
  char *out = dlcc_path_join(dir, "round-trip.csv");
  if (dlcc_labels_write(&t, out, &err)) fail_msg("%s", err.message);
  char *written = test_read_file(out, &written_len);
  assert_int_equal(written_len, original_len);
  assert_memory_equal(written, original, original_len);
  free(original);
  free(written);
  free(out);
  dlcc_labels_free(&t);
}

/* ---- the real project files ---- */

static void test_openfield_labels_read_with_values(void **state) {
  (void)state;
  char *path = shared_file(OPENFIELD_CSV);
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(dlcc_labels_read(path, &t, &err), DLCC_OK);
  assert_string_equal(t.scorer, "Pranav");
  assert_false(t.multianimal);
  assert_int_equal(t.index_columns, 1);
  assert_int_equal(t.n_coords, 2);
  assert_int_equal(t.n_rows, 116);
  assert_int_equal(t.n_columns, 4);
  const char *parts[] = {"snout", "leftear", "rightear", "tailbase"};
  for (size_t c = 0; c < 4; c++) {
    assert_string_equal(t.columns[c].bodypart, parts[c]);
    assert_null(t.columns[c].individual);
  }
  assert_string_equal(t.row_names[0], "labeled-data/m4s1/img0000.png");
  assert_string_equal(t.row_names[115], "labeled-data/m4s1/img0115.png");
  const double first[8] = {21.521, 265.428, 33.819, 265.941, 19.984, 250.05599999999998, 87.11, 152.69799999999998};
  for (size_t i = 0; i < 8; i++) assert_true(value_at(&t, 0, i / 2, i % 2) == first[i]);
  assert_true(value_at(&t, 115, 0, 0) == 65.58800000000001);
  assert_true(value_at(&t, 115, 3, 1) == 192.15400000000002);
  dlcc_labels_free(&t);
  free(path);
}

static void test_openfield_labels_round_trip_byte_for_byte(void **state) {
  char *path = shared_file(OPENFIELD_CSV);
  assert_round_trip_identical(path, *state);
  free(path);
}

static void test_flies_multianimal_labels_read_with_missing_cell(void **state) {
  (void)state;
  char *path = shared_file(FLIES_CSV);
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(dlcc_labels_read(path, &t, &err), DLCC_OK);
  assert_string_equal(t.scorer, "sleap");
  assert_true(t.multianimal);
  assert_int_equal(t.n_coords, 2);
  assert_int_equal(t.n_columns, 26);
  assert_int_equal(t.n_rows, 100);
  assert_string_equal(t.columns[0].individual, "female");
  assert_string_equal(t.columns[0].bodypart, "head");
  assert_string_equal(t.columns[7].individual, "female");
  assert_string_equal(t.columns[7].bodypart, "midlegL4");
  assert_string_equal(t.columns[13].individual, "male");
  assert_string_equal(t.columns[13].bodypart, "head");
  assert_string_equal(t.columns[25].bodypart, "eyeR");
  assert_string_equal(t.row_names[0], "labeled-data/clip/img00000.png");
  assert_string_equal(t.row_names[99], "labeled-data/clip/img01485.png");
  assert_true(value_at(&t, 0, 0, 0) == 435.25);
  assert_true(value_at(&t, 0, 0, 1) == 415.75);
  assert_true(isnan(value_at(&t, 0, 7, 0)));
  assert_true(isnan(value_at(&t, 0, 7, 1)));
  assert_true(value_at(&t, 0, 13, 0) == 335.25);
  assert_true(value_at(&t, 0, 25, 1) == 458.25);
  assert_true(value_at(&t, 99, 1, 1) == 432.25);
  dlcc_labels_free(&t);
  free(path);
}

static void test_flies_labels_round_trip_byte_for_byte(void **state) {
  char *path = shared_file(FLIES_CSV);
  assert_round_trip_identical(path, *state);
  free(path);
}

/* The first `lines` lines of a file, as a new string. */
static char *head_of(const char *path, int lines) {
  char *text = test_read_file(path, NULL);
  char *p = text;
  for (int i = 0; i < lines && p; i++) {
    p = strchr(p, '\n');
    if (p) p++;
  }
  assert_non_null(p);
  *p = '\0';
  return text;
}

static void test_ground_truth_head_reads_frame_numbers(void **state) {
  char *path = shared_file(GROUND_TRUTH_CSV);
  char *head = head_of(path, 4 + 8);
  char *copy = test_write_file(*state, "gt-head.csv", head);
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(dlcc_labels_read(copy, &t, &err), DLCC_OK);
  assert_true(t.multianimal);
  assert_int_equal(t.n_coords, 2);
  assert_int_equal(t.n_columns, 26);
  assert_int_equal(t.n_rows, 8);
  assert_string_equal(t.row_names[0], "0");
  assert_string_equal(t.row_names[7], "7");
  assert_true(value_at(&t, 2, 2, 0) == 360.25);  /* female abdomen x in frame 2 */
  assert_true(value_at(&t, 3, 2, 0) == 358.75);
  assert_true(value_at(&t, 1, 3, 0) == 344.25);  /* female wingL x in frame 1 */
  assert_true(isnan(value_at(&t, 5, 7, 0)));
  dlcc_labels_free(&t);
  assert_round_trip_identical(copy, *state);
  free(copy);
  free(head);
  free(path);
}

/* ---- the forms DeepLabCut writes ---- */

static const char three_index_columns[] =
    "scorer,,,Pranav,Pranav,Pranav,Pranav\n"
    "bodyparts,,,snout,snout,tailbase,tailbase\n"
    "coords,,,x,y,x,y\n"
    "labeled-data,m4s1,img0000.png,21.521,265.428,87.11,152.69799999999998\n"
    "labeled-data,m4s1,img0001.png,,,95.821,221.361\n";

static void test_three_index_columns_join_path_and_round_trip(void **state) {
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(read_text(*state, three_index_columns, &t, &err), DLCC_OK);
  assert_int_equal(t.index_columns, 3);
  assert_int_equal(t.n_columns, 2);
  assert_int_equal(t.n_rows, 2);
  assert_string_equal(t.row_names[0], "labeled-data/m4s1/img0000.png");
  assert_string_equal(t.row_names[1], "labeled-data/m4s1/img0001.png");
  assert_true(value_at(&t, 0, 1, 1) == 152.69799999999998);
  assert_true(isnan(value_at(&t, 1, 0, 0)));
  assert_true(value_at(&t, 1, 1, 0) == 95.821);
  char *written = write_and_load(&t, *state);
  assert_string_equal(written, three_index_columns);
  free(written);
  dlcc_labels_free(&t);
}

static void test_three_index_columns_multianimal_round_trip(void **state) {
  const char text[] =
      "scorer,,,sleap,sleap,sleap,sleap\n"
      "individuals,,,female,female,single,single\n"
      "bodyparts,,,head,head,corner,corner\n"
      "coords,,,x,y,x,y\n"
      "labeled-data,clip,img00000.png,435.25,415.75,1.0,2.0\n";
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(read_text(*state, text, &t, &err), DLCC_OK);
  assert_true(t.multianimal);
  assert_int_equal(t.index_columns, 3);
  assert_string_equal(t.columns[1].individual, "single");
  assert_string_equal(t.columns[1].bodypart, "corner");
  assert_true(value_at(&t, 0, 1, 1) == 2.0);
  char *written = write_and_load(&t, *state);
  assert_string_equal(written, text);
  free(written);
  dlcc_labels_free(&t);
}

static void test_analysis_output_with_likelihood_round_trips(void **state) {
  const char text[] =
      "scorer,DLC_resnet50_openfieldOct30shuffle1_1030000,DLC_resnet50_openfieldOct30shuffle1_1030000,"
      "DLC_resnet50_openfieldOct30shuffle1_1030000\n"
      "bodyparts,snout,snout,snout\n"
      "coords,x,y,likelihood\n"
      "0,21.5,265.25,0.9987\n"
      "1,22.0,264.0,1.2e-05\n";
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(read_text(*state, text, &t, &err), DLCC_OK);
  assert_int_equal(t.n_coords, 3);
  assert_int_equal(t.n_columns, 1);
  assert_string_equal(t.row_names[1], "1");
  assert_true(value_at(&t, 0, 0, 2) == 0.9987);
  assert_true(value_at(&t, 1, 0, 2) == 1.2e-05);
  char *written = write_and_load(&t, *state);
  assert_string_equal(written, text);
  free(written);
  dlcc_labels_free(&t);
}

/* ---- loose inputs that are accepted ---- */

static const char canonical_two_rows[] =
    "scorer,Pranav,Pranav\n"
    "bodyparts,snout,snout\n"
    "coords,x,y\n"
    "labeled-data/m4s1/img0000.png,21.521,265.428\n"
    "labeled-data/m4s1/img0001.png,,\n";

/* Reads text and asserts it holds the table canonical_two_rows writes, then that it is rewritten so. */
static void assert_reads_as_canonical(const char *dir, const char *text) {
  dlcc_label_table t;
  dlcc_error err;
  if (read_text(dir, text, &t, &err)) fail_msg("%s", err.message);
  assert_string_equal(t.scorer, "Pranav");
  assert_int_equal(t.n_rows, 2);
  assert_int_equal(t.n_columns, 1);
  assert_string_equal(t.columns[0].bodypart, "snout");
  assert_string_equal(t.row_names[0], "labeled-data/m4s1/img0000.png");
  assert_string_equal(t.row_names[1], "labeled-data/m4s1/img0001.png");
  assert_true(value_at(&t, 0, 0, 0) == 21.521);
  assert_true(value_at(&t, 0, 0, 1) == 265.428);
  assert_true(isnan(value_at(&t, 1, 0, 0)) && isnan(value_at(&t, 1, 0, 1)));
  char *written = write_and_load(&t, dir);
  assert_string_equal(written, canonical_two_rows);
  free(written);
  dlcc_labels_free(&t);
}

static void test_crlf_line_ends_accepted(void **state) {
  assert_reads_as_canonical(*state,
                            "scorer,Pranav,Pranav\r\nbodyparts,snout,snout\r\ncoords,x,y\r\n"
                            "labeled-data/m4s1/img0000.png,21.521,265.428\r\nlabeled-data/m4s1/img0001.png,,\r\n");
}

static void test_quoted_cells_accepted(void **state) {
  assert_reads_as_canonical(*state,
                            "\"scorer\",\"Pranav\",Pranav\nbodyparts,\"snout\",\"snout\"\n\"coords\",\"x\",\"y\"\n"
                            "\"labeled-data/m4s1/img0000.png\",\"21.521\",\"265.428\"\n"
                            "labeled-data/m4s1/img0001.png,\"\",\"\"\n");
}

static void test_quoted_cell_with_comma_and_quote_round_trips(void **state) {
  const char text[] =
      "scorer,Pranav,Pranav\n"
      "bodyparts,\"left,ear\",\"left,ear\"\n"
      "coords,x,y\n"
      "\"labeled-data/m4s1/say \"\"hi\"\".png\",1.0,2.0\n";
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(read_text(*state, text, &t, &err), DLCC_OK);
  assert_string_equal(t.columns[0].bodypart, "left,ear");
  assert_string_equal(t.row_names[0], "labeled-data/m4s1/say \"hi\".png");
  char *written = write_and_load(&t, *state);
  assert_string_equal(written, text);
  free(written);
  dlcc_labels_free(&t);
}

static void test_nan_spellings_are_missing(void **state) {
  assert_reads_as_canonical(*state,
                            "scorer,Pranav,Pranav\nbodyparts,snout,snout\ncoords,x,y\n"
                            "labeled-data/m4s1/img0000.png,21.521,265.428\n"
                            "labeled-data/m4s1/img0001.png,NaN,nan\n");
}

static void test_windows_backslashes_become_slashes(void **state) {
  assert_reads_as_canonical(*state,
                            "scorer,Pranav,Pranav\nbodyparts,snout,snout\ncoords,x,y\n"
                            "labeled-data\\m4s1\\img0000.png,21.521,265.428\n"
                            "labeled-data\\m4s1\\img0001.png,,\n");
}

static void test_empty_first_data_row_skipped(void **state) {
  assert_reads_as_canonical(*state,
                            "scorer,Pranav,Pranav\nbodyparts,snout,snout\ncoords,x,y\n,,\n"
                            "labeled-data/m4s1/img0000.png,21.521,265.428\n"
                            "labeled-data/m4s1/img0001.png,,\n");
  assert_reads_as_canonical(*state,
                            "scorer,Pranav,Pranav\nbodyparts,snout,snout\ncoords,x,y\n\n"
                            "labeled-data/m4s1/img0000.png,21.521,265.428\n"
                            "labeled-data/m4s1/img0001.png,,\n");
}

static void test_spreadsheet_byte_order_mark_and_missing_final_newline_accepted(void **state) {
  assert_reads_as_canonical(*state,
                            "\xEF\xBB\xBFscorer,Pranav,Pranav\nbodyparts,snout,snout\ncoords,x,y\n"
                            "labeled-data/m4s1/img0000.png,21.521,265.428\n"
                            "labeled-data/m4s1/img0001.png,,");
}

static void test_header_without_rows_is_an_empty_table(void **state) {
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(read_text(*state, "scorer,Pranav,Pranav\nbodyparts,snout,snout\ncoords,x,y\n", &t, &err), DLCC_OK);
  assert_int_equal(t.n_rows, 0);
  assert_int_equal(t.n_columns, 1);
  dlcc_labels_free(&t);
}

/* ---- errors, each with file and line ---- */

static void test_non_numeric_cell_names_line_bodypart_and_text(void **state) {
  ASSERT_READ_FAILS(*state,
                    "scorer,Pranav,Pranav,Pranav,Pranav\nbodyparts,snout,snout,leftear,leftear\ncoords,x,y,x,y\n"
                    "labeled-data/m4s1/img0000.png,21.521,265.428,33.819,265.941\n"
                    "labeled-data/m4s1/img0001.png,10.248,288.487,19.9.84,297.198\n",
                    "line 5", "column 4", "body part 'leftear', x", "'19.9.84' is not a number");
  ASSERT_READ_FAILS(*state,
                    "scorer,s,s\nindividuals,female,female\nbodyparts,head,head\ncoords,x,y\n0,1.5,inf\n",
                    "line 5", "individual 'female', body part 'head', y", "'inf' is not a number");
  ASSERT_READ_FAILS(*state, "scorer,s,s\nbodyparts,a,a\ncoords,x,y\n0,0x10,1\n", "line 4", "'0x10'");
}

static void test_row_of_wrong_length_says_expected_and_found(void **state) {
  ASSERT_READ_FAILS(*state,
                    "scorer,Pranav,Pranav,Pranav,Pranav\nbodyparts,snout,snout,leftear,leftear\ncoords,x,y,x,y\n"
                    "labeled-data/m4s1/img0000.png,21.521,265.428,33.819,265.941\n"
                    "labeled-data/m4s1/img0001.png,10.248,288.487,19.984\n",
                    "line 5", "expected 5 cells", "found 4");
}

static void test_duplicated_image_names_image_and_both_lines(void **state) {
  ASSERT_READ_FAILS(*state,
                    "scorer,Pranav,Pranav\nbodyparts,snout,snout\ncoords,x,y\n"
                    "labeled-data/m4s1/img0000.png,1,2\n"
                    "labeled-data/m4s1/img0001.png,3,4\n"
                    "labeled-data/m4s1/img0002.png,5,6\n"
                    "labeled-data\\m4s1\\img0001.png,7,8\n",
                    "lines 5 and 7", "'labeled-data/m4s1/img0001.png' has two rows");
}

static void test_coords_not_xy_pairs_rejected(void **state) {
  ASSERT_READ_FAILS(*state, "scorer,P,P,P,P\nbodyparts,a,a,b,b\ncoords,x,y,y,x\nimg.png,1,2,3,4\n",
                    "line 3", "column 4", "says 'y' where 'x' is expected", "x, y");
  ASSERT_READ_FAILS(*state, "scorer,P,P,P\nbodyparts,a,a,b\ncoords,x,y,x\nimg.png,1,2,3\n",
                    "line 3", "ends in the middle of a body part");
}

static void test_header_rows_of_different_lengths_rejected(void **state) {
  ASSERT_READ_FAILS(*state, "scorer,P,P,P,P\nbodyparts,a,a,b,b\ncoords,x,y,x\nimg.png,1,2,3,4\n",
                    "line 3", "coords header row has 4 cells", "scorer row (line 1) has 5");
}

static void test_missing_bodyparts_or_coords_row_rejected(void **state) {
  ASSERT_READ_FAILS(*state, "scorer,P,P\ncoords,x,y\nimg.png,1,2\n", "line 2",
                    "expected the 'bodyparts' header row after 'scorer'", "'coords'");
  ASSERT_READ_FAILS(*state, "scorer,P,P\nbodyparts,a,a\nimg.png,1,2\n", "line 3",
                    "expected the 'coords' header row after 'bodyparts'", "'img.png'");
  ASSERT_READ_FAILS(*state, "scorer,P,P\nindividuals,f,f\ncoords,x,y\n", "line 3",
                    "expected the 'bodyparts' header row after 'individuals'");
  ASSERT_READ_FAILS(*state, "bodyparts,a,a\ncoords,x,y\n", "line 1", "expected the 'scorer' header row");
  ASSERT_READ_FAILS(*state, "scorer,P,P\nbodyparts,a,a\n", "line 3", "file ends before the 'coords' header row");
}

static void test_inconsistent_header_cells_rejected(void **state) {
  ASSERT_READ_FAILS(*state, "scorer,P,P,Q,Q\nbodyparts,a,a,b,b\ncoords,x,y,x,y\n", "line 1", "column 4",
                    "'Q' but column 2 says 'P'", "single scorer");
  ASSERT_READ_FAILS(*state, "scorer,P,P,P,P\nbodyparts,a,b,b,a\ncoords,x,y,x,y\n", "line 2", "column 3",
                    "side by side");
  ASSERT_READ_FAILS(*state, "scorer,P,P,P,P\nbodyparts,a,a,a,a\ncoords,x,y,x,y\n", "line 2",
                    "body part 'a' appears twice (columns 2 and 4)");
  ASSERT_READ_FAILS(*state, "scorer,,P,P\nbodyparts,,a,a\ncoords,,x,y\n", "line 1", "1 empty cells",
                    "1 index column");
  ASSERT_READ_FAILS(*state, "scorer,,,P,P\nbodyparts,,,a,\ncoords,,,x,y\n", "line 2", "column 5",
                    "bodyparts cell is empty");
}

static void test_unclosed_quote_and_missing_image_name_rejected(void **state) {
  ASSERT_READ_FAILS(*state, "scorer,P,P\nbodyparts,a,a\ncoords,x,y\nimg.png,\"1,2\n", "line 4",
                    "quoted cell is never closed");
  ASSERT_READ_FAILS(*state, "scorer,P,P\nbodyparts,a,a\ncoords,x,y\nimg.png,1,2\n,3,4\n", "line 5",
                    "no image name");
}

static void test_missing_file_names_path(void **state) {
  char *path = dlcc_path_join(*state, "CollectedData_nobody.csv");
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(dlcc_labels_read(path, &t, &err), DLCC_ERR_IO);
  assert_contains(err.message, "CollectedData_nobody.csv");
  free(path);
}

/* ---- checks against the project ---- */

static char *openfield_parts[] = {"snout", "leftear", "rightear", "tailbase"};

static void test_openfield_matches_its_project(void **state) {
  (void)state;
  char *path = shared_file(OPENFIELD_CSV);
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(dlcc_labels_read(path, &t, &err), DLCC_OK);
  assert_int_equal(dlcc_labels_check_project(&t, path, "Pranav", false, openfield_parts, 4, NULL, 0, NULL, 0, &err),
                   DLCC_OK);
  dlcc_labels_free(&t);
  free(path);
}

static void test_scorer_mismatch_names_both_scorers(void **state) {
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(read_text(*state, canonical_two_rows, &t, &err), DLCC_OK);
  char *parts[] = {"snout"};
  assert_int_equal(dlcc_labels_check_project(&t, "labeled-data/m4s1/CollectedData_Pranav.csv", "Alex", false, parts,
                                             1, NULL, 0, NULL, 0, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "labeled-data/m4s1/CollectedData_Pranav.csv line 1");
  assert_contains(err.message, "scorer is 'Pranav'");
  assert_contains(err.message, "config.yaml's scorer is 'Alex'");
  dlcc_labels_free(&t);
}

static void test_bodypart_not_in_project_and_project_bodypart_missing(void **state) {
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(read_text(*state,
                             "scorer,P,P,P,P\nbodyparts,snout,snout,tail,tail\ncoords,x,y,x,y\nimg.png,1,2,3,4\n",
                             &t, &err),
                   DLCC_OK);
  char *two[] = {"snout", "tail"}, *one[] = {"snout"}, *three[] = {"snout", "tail", "leftear"};
  assert_int_equal(dlcc_labels_check_project(&t, "a.csv", "P", false, two, 2, NULL, 0, NULL, 0, &err), DLCC_OK);
  assert_int_equal(dlcc_labels_check_project(&t, "a.csv", "P", false, one, 1, NULL, 0, NULL, 0, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "a.csv line 2: body part(s) 'tail' in the CSV are not listed under bodyparts");
  assert_int_equal(dlcc_labels_check_project(&t, "a.csv", "P", false, three, 3, NULL, 0, NULL, 0, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "a.csv line 2: body part(s) 'leftear' listed in config.yaml have no columns");
  dlcc_labels_free(&t);
}

static char *fly_parts[] = {"head",     "thorax",   "abdomen",   "wingL",     "wingR", "forelegL4", "forelegR4",
                            "midlegL4", "midlegR4", "hindlegL4", "hindlegR4", "eyeL",  "eyeR"};

static void test_flies_match_their_project_and_unknown_individual_is_named(void **state) {
  (void)state;
  char *path = shared_file(FLIES_CSV);
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(dlcc_labels_read(path, &t, &err), DLCC_OK);
  char *both[] = {"female", "male"}, *female_only[] = {"female"};
  assert_int_equal(dlcc_labels_check_project(&t, path, "sleap", true, fly_parts, 13, both, 2, NULL, 0, &err), DLCC_OK);
  assert_int_equal(dlcc_labels_check_project(&t, path, "sleap", true, fly_parts, 13, female_only, 1, NULL, 0, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "CollectedData_sleap.csv line 2: individual(s) 'male' in the CSV are not listed");
  assert_int_equal(dlcc_labels_check_project(&t, path, "sleap", true, fly_parts, 12, both, 2, NULL, 0, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "line 3: body part(s) 'eyeR' in the CSV are not listed under multianimalbodyparts");
  assert_int_equal(dlcc_labels_check_project(&t, path, "sleap", false, fly_parts, 13, NULL, 0, NULL, 0, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "multi-animal table");
  dlcc_labels_free(&t);
  free(path);
}

static void test_multianimal_unique_bodyparts_checked_under_single(void **state) {
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(read_text(*state,
                             "scorer,s,s,s,s\nindividuals,f,f,single,single\nbodyparts,head,head,corner,corner\n"
                             "coords,x,y,x,y\nimg.png,1,2,3,4\n",
                             &t, &err),
                   DLCC_OK);
  char *head[] = {"head"}, *f[] = {"f"}, *corner[] = {"corner"}, *two_ind[] = {"f", "m"};
  assert_int_equal(dlcc_labels_check_project(&t, "a.csv", "s", true, head, 1, f, 1, corner, 1, &err), DLCC_OK);
  assert_int_equal(dlcc_labels_check_project(&t, "a.csv", "s", true, head, 1, f, 1, NULL, 0, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "a.csv line 3: body part(s) 'corner' of individual 'single'");
  assert_int_equal(dlcc_labels_check_project(&t, "a.csv", "s", true, head, 1, two_ind, 2, corner, 1, &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "a.csv line 3: body part(s) 'head' of individual 'm' listed in config.yaml have no");
  dlcc_labels_free(&t);
}

/* ---- creating and writing ---- */

static void test_created_table_writes_pandas_text(void **state) {
  char *individuals[] = {"female", "female", "single"}, *parts[] = {"head", "thorax", "corner"};
  char *rows[] = {"0", "1"};
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(dlcc_labels_create(&t, "DLC_x", true, 3, individuals, parts, 3, rows, 2, &err), DLCC_OK);
  assert_true(isnan(value_at(&t, 1, 2, 2)));
  t.values[dlcc_label_index(&t, 0, 0, 0)] = 87.0;
  t.values[dlcc_label_index(&t, 0, 0, 1)] = 1.0 / 3.0;
  t.values[dlcc_label_index(&t, 0, 0, 2)] = 1e-05;
  t.values[dlcc_label_index(&t, 1, 2, 0)] = -0.0;
  char *written = write_and_load(&t, *state);
  assert_string_equal(written,
                      "scorer,DLC_x,DLC_x,DLC_x,DLC_x,DLC_x,DLC_x,DLC_x,DLC_x,DLC_x\n"
                      "individuals,female,female,female,female,female,female,single,single,single\n"
                      "bodyparts,head,head,head,thorax,thorax,thorax,corner,corner,corner\n"
                      "coords,x,y,likelihood,x,y,likelihood,x,y,likelihood\n"
                      "0,87.0,0.3333333333333333,1e-05,,,,,,\n"
                      "1,,,,,,,-0.0,,\n");
  free(written);
  dlcc_labels_free(&t);
}

static void test_create_rejects_duplicate_rows_and_bad_coords(void **state) {
  (void)state;
  char *parts[] = {"snout"}, *rows[] = {"a.png", "b.png", "a.png"};
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(dlcc_labels_create(&t, "P", false, 2, NULL, parts, 1, rows, 3, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "'a.png' is listed twice (rows 0 and 2)");
  assert_int_equal(dlcc_labels_create(&t, "P", false, 4, NULL, parts, 1, rows, 2, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "not 4");
}

static void test_three_column_write_needs_splittable_names(void **state) {
  char *parts[] = {"snout"}, *rows[] = {"img0000.png"};
  dlcc_label_table t;
  dlcc_error err;
  assert_int_equal(dlcc_labels_create(&t, "P", false, 2, NULL, parts, 1, rows, 1, &err), DLCC_OK);
  t.index_columns = 3;
  char *out = dlcc_path_join(*state, "out.csv");
  assert_int_equal(dlcc_labels_write(&t, out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "'img0000.png' cannot be split into the 3 index columns");
  assert_false(dlcc_path_is_file(out));
  free(out);
  dlcc_labels_free(&t);
}

/* ---- Python's repr ---- */

static void test_format_double_repr_matches_python(void **state) {
  (void)state;
  /* Expected strings from Python 3.11's repr(). */
  static const struct {
    double value;
    const char *repr;
  } cases[] = {
      {0.1, "0.1"},
      {1 / 3.0, "0.3333333333333333"},
      {250.05599999999998, "250.05599999999998"},
      {152.69799999999998, "152.69799999999998"},
      {0.1 + 0.2, "0.30000000000000004"},
      {87.0, "87.0"},
      {100.0, "100.0"},
      {-21.521, "-21.521"},
      {1e-05, "1e-05"},
      {2.5e-05, "2.5e-05"},
      {1e-07, "1e-07"},
      {0.0001, "0.0001"},
      {-0.0001, "-0.0001"},
      {0.00012345, "0.00012345"},
      {123456789012345680.0, "1.2345678901234568e+17"},
      {1e16, "1e+16"},
      {1.5e16, "1.5e+16"},
      {9999999999999998.0, "9999999999999998.0"},
      {1e22, "1e+22"},
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      /* Powers of two, where the shortest decimal lies above the correctly rounded 16-digit one. */
      {0x1p-705, "5.940911144672375e-213"},
      {0x1p-695, "6.083493012144512e-210"},
      {INFINITY, "inf"},
      {-INFINITY, "-inf"},
      {NAN, "nan"},
  };
  char buf[32];
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    dlcc_format_double_repr(cases[i].value, buf);
    assert_string_equal(buf, cases[i].repr);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_openfield_labels_read_with_values),
      cmocka_unit_test_setup_teardown(test_openfield_labels_round_trip_byte_for_byte, make_tempdir, remove_tempdir),
      cmocka_unit_test(test_flies_multianimal_labels_read_with_missing_cell),
      cmocka_unit_test_setup_teardown(test_flies_labels_round_trip_byte_for_byte, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_ground_truth_head_reads_frame_numbers, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_three_index_columns_join_path_and_round_trip, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_three_index_columns_multianimal_round_trip, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_analysis_output_with_likelihood_round_trips, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_crlf_line_ends_accepted, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_quoted_cells_accepted, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_quoted_cell_with_comma_and_quote_round_trips, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_nan_spellings_are_missing, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_windows_backslashes_become_slashes, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_empty_first_data_row_skipped, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_spreadsheet_byte_order_mark_and_missing_final_newline_accepted,
                                      make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_header_without_rows_is_an_empty_table, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_non_numeric_cell_names_line_bodypart_and_text, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_row_of_wrong_length_says_expected_and_found, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_duplicated_image_names_image_and_both_lines, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_coords_not_xy_pairs_rejected, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_header_rows_of_different_lengths_rejected, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_missing_bodyparts_or_coords_row_rejected, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_inconsistent_header_cells_rejected, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_unclosed_quote_and_missing_image_name_rejected, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_missing_file_names_path, make_tempdir, remove_tempdir),
      cmocka_unit_test(test_openfield_matches_its_project),
      cmocka_unit_test_setup_teardown(test_scorer_mismatch_names_both_scorers, make_tempdir, remove_tempdir),
      cmocka_unit_test_setup_teardown(test_bodypart_not_in_project_and_project_bodypart_missing, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test(test_flies_match_their_project_and_unknown_individual_is_named),
      cmocka_unit_test_setup_teardown(test_multianimal_unique_bodyparts_checked_under_single, make_tempdir,
                                      remove_tempdir),
      cmocka_unit_test_setup_teardown(test_created_table_writes_pandas_text, make_tempdir, remove_tempdir),
      cmocka_unit_test(test_create_rejects_duplicate_rows_and_bad_coords),
      cmocka_unit_test_setup_teardown(test_three_column_write_needs_splittable_names, make_tempdir, remove_tempdir),
      cmocka_unit_test(test_format_double_repr_matches_python),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
