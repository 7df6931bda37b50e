/* Tests of src/util: error messages, the seeded RNG, atomic writes, path pieces. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/rng.h"

static void test_error_prefix_keeps_original_message(void **state) {
  (void)state;
  dlcc_error err;
  assert_int_equal(dlcc_fail(&err, DLCC_ERR_IO, "cannot open %s", "x.csv"), DLCC_ERR_IO);
  dlcc_error_prefix(&err, "loading project %s", "p");
  assert_string_equal(err.message, "loading project p: cannot open x.csv");
  assert_int_equal(err.status, DLCC_ERR_IO);
}

static void test_rng_same_seed_same_sequence(void **state) {
  (void)state;
  dlcc_rng a, b, c;
  dlcc_rng_seed(&a, 7);
  dlcc_rng_seed(&b, 7);
  dlcc_rng_seed(&c, 8);
  int differs = 0;
  for (int i = 0; i < 100; i++) {
    uint32_t x = dlcc_rng_u32(&a);
    assert_int_equal(x, dlcc_rng_u32(&b));
    differs |= x != dlcc_rng_u32(&c);
  }
  assert_true(differs);
}

static void test_rng_pcg32_reference_values(void **state) {
  (void)state;
  /* pcg32 with initstate 42, initseq 54 (the reference demo's first outputs). */
  dlcc_rng r = {0, (54u << 1u) | 1u};
  dlcc_rng_u32(&r);
  r.state += 42;
  dlcc_rng_u32(&r);
  assert_int_equal(dlcc_rng_u32(&r), 0xa15c02b7u);
  assert_int_equal(dlcc_rng_u32(&r), 0x7b47f409u);
  assert_int_equal(dlcc_rng_u32(&r), 0xba1d3330u);
}

static void test_rng_permutation_is_a_permutation(void **state) {
  (void)state;
  dlcc_rng r;
  dlcc_rng_seed(&r, 1);
  size_t perm[116];
  dlcc_rng_permutation(&r, perm, 116);
  int seen[116] = {0};
  int moved = 0;
  for (size_t i = 0; i < 116; i++) {
    assert_true(perm[i] < 116);
    seen[perm[i]]++;
    moved += perm[i] != i;
  }
  for (size_t i = 0; i < 116; i++) assert_int_equal(seen[i], 1);
  assert_true(moved > 100);
}

static void test_rng_uniform_and_normal_moments(void **state) {
  (void)state;
  dlcc_rng r;
  dlcc_rng_seed(&r, 3);
  double su = 0, sn = 0, sn2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; i++) {
    double u = dlcc_rng_uniform(&r);
    assert_true(u >= 0 && u < 1);
    su += u;
    double g = dlcc_rng_normal(&r);
    sn += g;
    sn2 += g * g;
  }
  assert_true(fabs(su / n - 0.5) < 0.005);
  assert_true(fabs(sn / n) < 0.01);
  assert_true(fabs(sn2 / n - 1.0) < 0.02);
}

static void test_atomic_abort_leaves_old_file(void **state) {
  (void)state;
  char *dir = test_tempdir("util");
  char *path = dlcc_path_join(dir, "out.txt");
  dlcc_error err;
  assert_int_equal(dlcc_file_write_atomic(path, "old\n", 4, &err), DLCC_OK);
  dlcc_atomic_file f;
  assert_int_equal(dlcc_atomic_open(&f, path, &err), DLCC_OK);
  fputs("half-writ", f.fp);
  dlcc_atomic_abort(&f);
  char *text = test_read_file(path, NULL);
  assert_string_equal(text, "old\n");
  free(text);
  assert_int_equal(dlcc_atomic_open(&f, path, &err), DLCC_OK);
  fputs("new\n", f.fp);
  assert_int_equal(dlcc_atomic_commit(&f, &err), DLCC_OK);
  text = test_read_file(path, NULL);
  assert_string_equal(text, "new\n");
  free(text);
  free(path);
  test_rmtree(dir);
  free(dir);
}

static void test_mkdirs_and_path_pieces(void **state) {
  (void)state;
  char *dir = test_tempdir("util");
  char *deep = dlcc_path_join(dir, "a/b/c");
  dlcc_error err;
  assert_int_equal(dlcc_mkdirs(deep, &err), DLCC_OK);
  assert_true(dlcc_path_is_dir(deep));
  assert_int_equal(dlcc_mkdirs(deep, &err), DLCC_OK);
  char *s = dlcc_path_stem("videos/m3v1mp4.mp4");
  assert_string_equal(s, "m3v1mp4");
  free(s);
  s = dlcc_path_basename("C:\\data\\labeled-data\\m4s1\\img0000.png");
  assert_string_equal(s, "img0000.png");
  free(s);
  s = dlcc_path_dirname("labeled-data/m4s1/img0000.png");
  assert_string_equal(s, "labeled-data/m4s1");
  free(s);
  s = dlcc_path_join("/a/", "b");
  assert_string_equal(s, "/a/b");
  free(s);
  free(deep);
  test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_prefix_keeps_original_message),
      cmocka_unit_test(test_rng_same_seed_same_sequence),
      cmocka_unit_test(test_rng_pcg32_reference_values),
      cmocka_unit_test(test_rng_permutation_is_a_permutation),
      cmocka_unit_test(test_rng_uniform_and_normal_moments),
      cmocka_unit_test(test_atomic_abort_leaves_old_file),
      cmocka_unit_test(test_mkdirs_and_path_pieces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
