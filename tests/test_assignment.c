/* Tests of src/util/assignment: scipy's linear_sum_assignment pair for pair on tie-heavy matrices
 * (tools/assembly_reference.py -> tests/fixtures/assembly_reference.json "lsap"), hand cases, the least
 * sum against brute force, the forbidden-pair (+inf) layer against brute force, bad costs, and the
 * kept workspace. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/assignment.h"
#include "util/fileio.h"
#include "util/rng.h"

#define assert_double_equal(actual, expected, tolerance) \
  assert_double_near((actual), (expected), (tolerance), __FILE__, __LINE__)
static void assert_double_near(double actual, double expected, double tolerance, const char *file, int line) {
  if (!(fabs(actual - expected) <= tolerance))
    fail_msg("%s:%d: %.17g, want %.17g (tolerance %g)", file, line, actual, expected, tolerance);
}

/* Checks that row_to_col is a matching of min(rows, cols) pairs; returns its summed cost. */
static double matched_sum(const double *cost, int rows, int cols, const int *row_to_col) {
  int matched = 0, col_used[8] = {0};
  double sum = 0;
  for (int r = 0; r < rows; r++) {
    if (row_to_col[r] < 0) continue;
    assert_true(row_to_col[r] < cols);
    assert_false(col_used[row_to_col[r]]);
    col_used[row_to_col[r]] = 1;
    matched++;
    sum += cost[r * cols + row_to_col[r]];
  }
  assert_int_equal(matched, rows < cols ? rows : cols);
  return sum;
}

/* ---- scipy, tie for tie ------------------------------------------------------------------------ */

static void test_matches_scipy_pair_for_pair(void **state) {
  (void)state;
  const char *dir = getenv("DLCC_FIXTURES");
  assert_non_null(dir);
  char *path = dlcc_strdupf("%s/assembly_reference.json", dir);
  size_t len = 0;
  char *text = test_read_file(path, &len);
  cJSON *fixture = cJSON_Parse(text);
  free(text);
  free(path);
  assert_non_null(fixture);
  const cJSON *cases = cJSON_GetObjectItemCaseSensitive(fixture, "lsap"), *c;
  assert_non_null(cases);
  dlcc_assignment a;
  dlcc_assignment_init(&a);
  int n = 0;
  cJSON_ArrayForEach(c, cases) {
    const cJSON *cost = cJSON_GetObjectItemCaseSensitive(c, "cost");
    const cJSON *want_rows = cJSON_GetObjectItemCaseSensitive(c, "rows");
    const cJSON *want_cols = cJSON_GetObjectItemCaseSensitive(c, "cols");
    int nr = cJSON_GetArraySize(cost), nc = cJSON_GetArraySize(cJSON_GetArrayItem(cost, 0));
    assert_true(nr <= 8 && nc <= 8);
    double m[64];
    for (int i = 0; i < nr; i++)
      for (int j = 0; j < nc; j++) m[i * nc + j] = cJSON_GetArrayItem(cJSON_GetArrayItem(cost, i), j)->valuedouble;
    int row_to_col[8];
    dlcc_error err;
    bool maximize = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "maximize"));
    assert_int_equal(dlcc_assignment_solve(&a, m, nr, nc, maximize, row_to_col, &err), DLCC_OK);
    /* scipy lists its pairs by increasing row: the k-th assigned row is its k-th pair */
    int k = 0;
    for (int i = 0; i < nr; i++) {
      if (row_to_col[i] < 0) continue;
      assert_true(k < cJSON_GetArraySize(want_rows));
      int wr = cJSON_GetArrayItem(want_rows, k)->valueint, wc = cJSON_GetArrayItem(want_cols, k)->valueint;
      if (i != wr || row_to_col[i] != wc)
        fail_msg("case %d (%d x %d): pair %d is (%d, %d), scipy's (%d, %d)", n, nr, nc, k, i, row_to_col[i], wr, wc);
      k++;
    }
    assert_int_equal(k, cJSON_GetArraySize(want_rows));
    n++;
  }
  assert_true(n >= 40);
  dlcc_assignment_free(&a);
  cJSON_Delete(fixture);
}

/* ---- hand cases --------------------------------------------------------------------------------- */

static void test_hand_cases(void **state) {
  (void)state;
  dlcc_assignment a;
  dlcc_assignment_init(&a);
  int row_to_col[3];
  dlcc_error err;
  /* Rows 0->1 (1), 1->0 (2), 2->2 (2): 5; every other matching costs more (the diagonal 4+0+2 = 6,
   * 0->0 1->2 2->1: 4+5+2 = 11, ...): the row minima all lie in column 1. */
  const double square[9] = {4, 1, 3, 2, 0, 5, 3, 2, 2};
  assert_int_equal(dlcc_assignment_solve(&a, square, 3, 3, false, row_to_col, &err), DLCC_OK);
  assert_int_equal(row_to_col[0], 1);
  assert_int_equal(row_to_col[1], 0);
  assert_int_equal(row_to_col[2], 2);
  /* Three rows, two columns: the rows taking columns 0 and 1 most cheaply are 2 (1) and 0 (2); row 1
   * is left out: 3. */
  const double tall[6] = {5, 2, 4, 4, 1, 6};
  assert_int_equal(dlcc_assignment_solve(&a, tall, 3, 2, false, row_to_col, &err), DLCC_OK);
  assert_int_equal(row_to_col[0], 1);
  assert_int_equal(row_to_col[1], -1);
  assert_int_equal(row_to_col[2], 0);
  /* Maximised: [[1, 2], [3, 1]] pairs (0,1) + (1,0) = 5, beating the diagonal's 2; the 3 x 2 matrix
   * [[0.1, 0.2], [0.9, 0.1], [0.3, 0.8]] pairs its two best rows: 1->0 (0.9) and 2->1 (0.8). */
  const double two[4] = {1, 2, 3, 1};
  assert_int_equal(dlcc_assignment_solve(&a, two, 2, 2, true, row_to_col, &err), DLCC_OK);
  assert_int_equal(row_to_col[0], 1);
  assert_int_equal(row_to_col[1], 0);
  const double tall_scores[6] = {0.1, 0.2, 0.9, 0.1, 0.3, 0.8};
  assert_int_equal(dlcc_assignment_solve(&a, tall_scores, 3, 2, true, row_to_col, &err), DLCC_OK);
  assert_int_equal(row_to_col[0], -1);
  assert_int_equal(row_to_col[1], 0);
  assert_int_equal(row_to_col[2], 1);
  /* Empty problems leave every row out. */
  row_to_col[0] = row_to_col[1] = 7;
  assert_int_equal(dlcc_assignment_solve(&a, tall, 0, 2, false, row_to_col, &err), DLCC_OK);
  assert_int_equal(dlcc_assignment_solve(&a, tall, 2, 0, false, row_to_col, &err), DLCC_OK);
  assert_int_equal(row_to_col[0], -1);
  assert_int_equal(row_to_col[1], -1);
  dlcc_assignment_free(&a);
}

static void test_refuses_costs_that_are_not_numbers(void **state) {
  (void)state;
  int row_to_col[2];
  dlcc_error err;
  const double nan_cost[2] = {1, NAN}, inf_cost[2] = {INFINITY, 1}, minus_inf[2] = {1, -INFINITY};
  assert_int_equal(dlcc_assignment_solve(NULL, nan_cost, 1, 2, false, row_to_col, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "(0, 1)");
  assert_contains(err.message, "must be finite");
  /* +inf is refused by the plain solver (scipy-like), accepted as "forbidden" by the other */
  assert_int_equal(dlcc_assignment_solve(NULL, inf_cost, 2, 1, false, row_to_col, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "(0, 0)");
  assert_int_equal(dlcc_assignment_solve_forbidden(NULL, inf_cost, 2, 1, row_to_col, &err), DLCC_OK);
  assert_int_equal(row_to_col[0], -1);
  assert_int_equal(row_to_col[1], 0);
  assert_int_equal(dlcc_assignment_solve_forbidden(NULL, nan_cost, 1, 2, row_to_col, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "(0, 1)");
  assert_int_equal(dlcc_assignment_solve_forbidden(NULL, minus_inf, 1, 2, row_to_col, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "(0, 1)");
  /* finite costs whose absolute sum overflows leave no cost to mark a forbidden pair with */
  const double huge[3] = {1e308, 1e308, INFINITY};
  assert_int_equal(dlcc_assignment_solve_forbidden(NULL, huge, 1, 3, row_to_col, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "too large");
  assert_int_equal(dlcc_assignment_solve(NULL, nan_cost, -1, 2, false, row_to_col, &err), DLCC_ERR_INVALID);
}

/* ---- least sum: brute force --------------------------------------------------------------------- */

/* The least cost over all matchings of min(rows, cols) pairs, by trying every injective map from the
 * smaller side into the larger. */
static double brute_force_min(const double *cost, int rows, int cols) {
  int small = rows < cols ? rows : cols, large = rows < cols ? cols : rows;
  int pick[8], used[8] = {0};
  double best = INFINITY;
  int depth = 0;
  pick[0] = -1;
  while (depth >= 0) {
    if (pick[depth] >= 0) used[pick[depth]] = 0;
    pick[depth]++;
    while (pick[depth] < large && used[pick[depth]]) pick[depth]++;
    if (pick[depth] >= large) {
      depth--;
      continue;
    }
    used[pick[depth]] = 1;
    if (depth == small - 1) {
      double sum = 0;
      for (int k = 0; k < small; k++)
        sum += rows <= cols ? cost[k * cols + pick[k]] : cost[pick[k] * cols + k];
      if (sum < best) best = sum;
    } else {
      pick[++depth] = -1;
    }
  }
  return best;
}

static void test_least_sum_matches_brute_force(void **state) {
  (void)state;
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 6);
  dlcc_assignment a;
  dlcc_assignment_init(&a);
  double cost[64], negated[64];
  for (int trial = 0; trial < 600; trial++) {
    int rows = 1 + (int)dlcc_rng_below(&rng, 7), cols = 1 + (int)dlcc_rng_below(&rng, 7);
    bool integers = trial % 3 == 0;   /* small integers: many ties */
    for (int k = 0; k < rows * cols; k++) {
      cost[k] = integers ? (double)dlcc_rng_below(&rng, 4) : 200 * dlcc_rng_uniform(&rng) - 100;
      negated[k] = -cost[k];
    }
    int row_to_col[8], max_row_to_col[8];
    dlcc_error err;
    assert_int_equal(dlcc_assignment_solve(&a, cost, rows, cols, false, row_to_col, &err), DLCC_OK);
    assert_double_equal(matched_sum(cost, rows, cols, row_to_col), brute_force_min(cost, rows, cols), 1e-9);
    /* maximising the negation is the same problem: scipy negates the matrix itself */
    assert_int_equal(dlcc_assignment_solve(&a, negated, rows, cols, true, max_row_to_col, &err), DLCC_OK);
    assert_memory_equal(max_row_to_col, row_to_col, (size_t)rows * sizeof *row_to_col);
    /* without +inf the forbidden layer gives the same answer */
    assert_int_equal(dlcc_assignment_solve_forbidden(&a, cost, rows, cols, max_row_to_col, &err), DLCC_OK);
    assert_memory_equal(max_row_to_col, row_to_col, (size_t)rows * sizeof *row_to_col);
  }
  dlcc_assignment_free(&a);
}

/* ---- forbidden pairs: brute force ---------------------------------------------------------------- */

/* The best (most allowed pairs, then least cost) over every injective map of rows to columns. */
static void brute_force_allowed(const double *cost, int rows, int cols, int row, bool *used, int n_allowed,
                                double sum, int *best_allowed, double *best_sum) {
  if (row == rows) {
    if (n_allowed > *best_allowed || (n_allowed == *best_allowed && sum < *best_sum)) {
      *best_allowed = n_allowed;
      *best_sum = sum;
    }
    return;
  }
  bool any_free = false;
  for (int j = 0; j < cols; j++) {
    if (used[j]) continue;
    any_free = true;
    used[j] = true;
    double c = cost[row * cols + j];
    if (isfinite(c))
      brute_force_allowed(cost, rows, cols, row + 1, used, n_allowed + 1, sum + c, best_allowed, best_sum);
    else
      brute_force_allowed(cost, rows, cols, row + 1, used, n_allowed, sum, best_allowed, best_sum);
    used[j] = false;
  }
  /* Leaving a row out only helps when it has no column (taller matrices). */
  if (!any_free || rows > cols)
    brute_force_allowed(cost, rows, cols, row + 1, used, n_allowed, sum, best_allowed, best_sum);
}

static void test_forbidden_pairs_match_brute_force(void **state) {
  (void)state;
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 7);
  dlcc_assignment a;
  dlcc_assignment_init(&a);
  double cost[36];
  int col_of[6];
  bool used[6];
  for (int trial = 0; trial < 600; trial++) {
    int rows = 1 + (int)dlcc_rng_below(&rng, 6), cols = 1 + (int)dlcc_rng_below(&rng, 6);
    for (int k = 0; k < rows * cols; k++) {
      double u = dlcc_rng_uniform(&rng);
      /* Some forbidden pairs, some repeated small integers (ties), otherwise reals. */
      cost[k] = u < 0.2 ? INFINITY : u < 0.4 ? (double)dlcc_rng_below(&rng, 3) : 100 * dlcc_rng_uniform(&rng) - 20;
    }
    dlcc_error err;
    assert_int_equal(dlcc_assignment_solve_forbidden(&a, cost, rows, cols, col_of, &err), DLCC_OK);
    int n_allowed = 0;
    double sum = 0;
    memset(used, 0, sizeof used);
    for (int i = 0; i < rows; i++) {
      if (col_of[i] < 0) continue;
      assert_true(col_of[i] < cols);
      assert_false(used[col_of[i]]);
      used[col_of[i]] = true;
      assert_true(isfinite(cost[i * cols + col_of[i]]));
      n_allowed++;
      sum += cost[i * cols + col_of[i]];
    }
    int best_allowed = 0;
    double best_sum = INFINITY;
    memset(used, 0, sizeof used);
    brute_force_allowed(cost, rows, cols, 0, used, 0, 0.0, &best_allowed, &best_sum);
    if (best_allowed == 0) best_sum = 0;
    assert_int_equal(n_allowed, best_allowed);
    assert_double_equal(sum, best_sum, 1e-9);
  }
  dlcc_assignment_free(&a);
}

static void test_forbidden_pair_is_avoided_at_any_cost(void **state) {
  (void)state;
  int col_of[2];
  dlcc_error err;
  /* Row 1 can only take column 0; row 0 would like it too (cost 0 vs 10 elsewhere): both rows stay
   * matched (0->1 at 10, 1->0 at 1: 11 with no forbidden pair) rather than 0->0 (0) with row 1 on its
   * forbidden pair. */
  const double forced[4] = {0, 10, 1, INFINITY};
  assert_int_equal(dlcc_assignment_solve_forbidden(NULL, forced, 2, 2, col_of, &err), DLCC_OK);
  assert_int_equal(col_of[0], 1);
  assert_int_equal(col_of[1], 0);
  /* Both rows can only take column 0: one is left out, the cheaper (row 1, 2 < 5) keeps it. */
  const double one_column[4] = {5, INFINITY, 2, INFINITY};
  assert_int_equal(dlcc_assignment_solve_forbidden(NULL, one_column, 2, 2, col_of, &err), DLCC_OK);
  assert_int_equal(col_of[0], -1);
  assert_int_equal(col_of[1], 0);
}

/* ---- the kept workspace ------------------------------------------------------------------------- */

static void test_workspace_grows_only_for_a_larger_problem(void **state) {
  (void)state;
  dlcc_assignment a;
  dlcc_assignment_init(&a);
  assert_null(a.work);
  const double big[12] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8};
  int row_to_col[4];
  dlcc_error err;
  /* 0->3 (1), 1->2 (2), 2->1 (3): 6, each row at its minimum (row 0 has 1 at column 1 too, which
   * row 2 needs) */
  assert_int_equal(dlcc_assignment_solve(&a, big, 3, 4, false, row_to_col, &err), DLCC_OK);
  assert_int_equal(row_to_col[0], 3);
  assert_int_equal(row_to_col[1], 2);
  assert_int_equal(row_to_col[2], 1);
  void *work = a.work;
  size_t bytes = a.work_bytes;
  assert_non_null(work);
  /* a smaller problem (either orientation) reuses the scratch as it is */
  const double small[6] = {1, 2, 3, 4, 5, 6};
  assert_int_equal(dlcc_assignment_solve(&a, small, 2, 3, false, row_to_col, &err), DLCC_OK);
  assert_int_equal(dlcc_assignment_solve(&a, small, 3, 2, true, row_to_col, &err), DLCC_OK);
  assert_ptr_equal(a.work, work);
  assert_int_equal(a.work_bytes, bytes);
  /* [[1, 2], [3, 4], [5, 6]] maximised: rows 1 and 2 sum to 3 + 6 = 4 + 5 = 9 either way; scipy
   * (linear_sum_assignment(..., maximize=True) -> rows [1, 2], cols [1, 0]) pairs 1->1, 2->0. */
  assert_int_equal(row_to_col[0], -1);
  assert_int_equal(row_to_col[1], 1);
  assert_int_equal(row_to_col[2], 0);
  dlcc_assignment_free(&a);
  assert_null(a.work);
  assert_int_equal(a.work_bytes, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_scipy_pair_for_pair),
      cmocka_unit_test(test_hand_cases),
      cmocka_unit_test(test_refuses_costs_that_are_not_numbers),
      cmocka_unit_test(test_least_sum_matches_brute_force),
      cmocka_unit_test(test_forbidden_pairs_match_brute_force),
      cmocka_unit_test(test_forbidden_pair_is_avoided_at_any_cost),
      cmocka_unit_test(test_workspace_grows_only_for_a_larger_problem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
