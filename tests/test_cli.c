/* Tests of the `dlcc` command line: help and version, exit codes for bad usage, and the verbs run
 * end to end on a copy of the real openfield project. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/fileio.h"

static void test_help_lists_every_verb(void **state) {
  (void)state;
  char *out;
  assert_int_equal(test_run_dlcc("--help", &out), 0);
  assert_contains(out, "make-demo-project");
  assert_contains(out, "check-project");
  assert_contains(out, "create-training-dataset");
  free(out);
  assert_int_equal(test_run_dlcc("", &out), 2);
  free(out);
}

static void test_version_prints_the_version(void **state) {
  (void)state;
  char *out;
  assert_int_equal(test_run_dlcc("--version", &out), 0);
  assert_contains(out, "dlcc " DLCC_VERSION);
  free(out);
}

static void test_each_verb_explains_itself(void **state) {
  (void)state;
  const char *verbs[] = {"make-demo-project", "check-project", "create-training-dataset"};
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
    char *args = dlcc_strdupf("%s --help", verbs[i]);
    char *out;
    assert_int_equal(test_run_dlcc(args, &out), 0);
    char *usage = dlcc_strdupf("usage: dlcc %s", verbs[i]);
    assert_contains(out, usage);
    free(usage);
    free(out);
    free(args);
  }
}

static void test_bad_usage_exits_2_with_a_hint(void **state) {
  (void)state;
  char *out;
  assert_int_equal(test_run_dlcc("frobnicate", &out), 2);
  assert_contains(out, "unknown verb \"frobnicate\"");
  free(out);
  assert_int_equal(test_run_dlcc("create-training-dataset x/config.yaml --shuffle zero", &out), 2);
  assert_contains(out, "--shuffle wants a whole number");
  free(out);
  assert_int_equal(test_run_dlcc("create-training-dataset x/config.yaml --shuffle", &out), 2);
  assert_contains(out, "option --shuffle needs a value");
  free(out);
  assert_int_equal(test_run_dlcc("check-project --frobnicate x", &out), 2);
  assert_contains(out, "unknown option --frobnicate");
  free(out);
  assert_int_equal(test_run_dlcc("make-demo-project ''", &out), 2);
  assert_contains(out, "give exactly one DIR");
  free(out);
  assert_int_equal(test_run_dlcc("create-training-dataset", &out), 2);
  assert_contains(out, "Try 'dlcc create-training-dataset --help'");
  free(out);
}

static void test_missing_config_is_a_clear_error(void **state) {
  (void)state;
  char *out;
  assert_int_equal(test_run_dlcc("create-training-dataset /nonexistent/config.yaml", &out), 1);
  assert_contains(out, "/nonexistent/config.yaml");
  free(out);
}

static void test_check_and_create_on_openfield(void **state) {
  (void)state;
  char *src = test_shared_data("openfield-Pranav-2018-10-30");
  char *dir = test_tempdir("cli");
  char *project = dlcc_path_join(dir, "openfield");
  test_copytree(src, project);
  char *args = dlcc_strdupf("check-project '%s/config.yaml'", project);
  char *out;
  assert_int_equal(test_run_dlcc(args, &out), 0);
  assert_contains(out, "snout, leftear, rightear, tailbase");
  assert_contains(out, "116 images");
  free(out);
  free(args);
  args = dlcc_strdupf("create-training-dataset '%s/config.yaml' --shuffle 3", project);
  assert_int_equal(test_run_dlcc(args, &out), 0);
  assert_contains(out, "TrainingFraction 0.95: 110 train / 6 test images");
  assert_contains(out, "openfieldOct30-trainset95shuffle3/train/pose_cfg.yaml");
  free(out);
  free(args);
  test_rmtree(dir);
  free(dir);
  free(project);
  free(src);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_help_lists_every_verb),
      cmocka_unit_test(test_version_prints_the_version),
      cmocka_unit_test(test_each_verb_explains_itself),
      cmocka_unit_test(test_bad_usage_exits_2_with_a_hint),
      cmocka_unit_test(test_missing_config_is_a_clear_error),
      cmocka_unit_test(test_check_and_create_on_openfield),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
