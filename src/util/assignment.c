/* scipy's rectangular linear sum assignment: per row a shortest augmenting path (Dijkstra over costs
 * reduced by the dual variables u, v), preferring among equal path costs a free column. Written from
 * Crouse's description and checked pair for pair against scipy (tests/test_assignment.c). Forbidden
 * pairs are a thin layer on top: a finite cost too large for any allowed pairs to offset. */
#include "util/assignment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void dlcc_assignment_init(dlcc_assignment *a) {
  *a = (dlcc_assignment){0};
}

void dlcc_assignment_free(dlcc_assignment *a) {
  free(a->work);
  dlcc_assignment_init(a);
}

/* Scratch of the solver for nr <= nc, in doubles then ints then bytes, rounded to whole doubles. */
static size_t solver_bytes(int nr, int nc) {
  size_t bytes = (size_t)(nr + 2 * nc) * sizeof(double) + (size_t)(3 * nc) * sizeof(int) + (size_t)(nr + nc);
  return (bytes + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

/* All scratch for an n_rows x n_cols problem: the (transposed, signed) cost copy, the solver's
 * scratch, col4row. */
static size_t workspace_bytes(int n_rows, int n_cols) {
  int r = n_rows < n_cols ? n_rows : n_cols, c = n_rows < n_cols ? n_cols : n_rows;
  return (size_t)n_rows * (size_t)n_cols * sizeof(double) + solver_bytes(r, c) + (size_t)r * sizeof(int);
}

/* Minimises over an nr x nc matrix with nr <= nc; col4row[nr] receives each row's column. Returns 0, or
 * -1 when no augmenting path exists (not with finite costs, short of overflow). */
static int solve_min(const double *cost, int nr, int nc, int *col4row, void *work) {
  /* never taken (the caller solves only non-empty problems); without it gcc -O2 warns that the memsets
   * below may get a negative size */
  if (nr <= 0 || nc <= 0) return 0;
  double *u = work, *v = u + nr, *shortest = v + nc;
  int *path = (int *)(shortest + nc), *row4col = path + nc, *remaining = row4col + nc;
  unsigned char *sr = (unsigned char *)(remaining + nc), *sc = sr + nr;
  for (int i = 0; i < nr; i++) u[i] = 0.0, col4row[i] = -1;
  for (int j = 0; j < nc; j++) v[j] = 0.0, path[j] = -1, row4col[j] = -1;
  for (int cur = 0; cur < nr; cur++) {
    double min_val = 0.0;
    int i = cur, n_remaining = nc, sink = -1;
    for (int it = 0; it < nc; it++) remaining[it] = nc - it - 1;
    memset(sr, 0, (size_t)nr);
    memset(sc, 0, (size_t)nc);
    for (int j = 0; j < nc; j++) shortest[j] = INFINITY;
    while (sink < 0) {
      int index = -1;
      double lowest = INFINITY;
      sr[i] = 1;
      for (int it = 0; it < n_remaining; it++) {
        int j = remaining[it];
        double r = min_val + cost[(size_t)i * nc + j] - u[i] - v[j];
        if (r < shortest[j]) {
          path[j] = i;
          shortest[j] = r;
        }
        /* among equal path costs a free column wins: it ends the path */
        if (shortest[j] < lowest || (shortest[j] == lowest && row4col[j] == -1)) {
          lowest = shortest[j];
          index = it;
        }
      }
      min_val = lowest;
      if (index < 0 || min_val == INFINITY) return -1;
      int j = remaining[index];
      if (row4col[j] == -1)
        sink = j;
      else
        i = row4col[j];
      sc[j] = 1;
      remaining[index] = remaining[--n_remaining];
    }
    /* update the duals, then flip the path */
    u[cur] += min_val;
    for (int r = 0; r < nr; r++)
      if (sr[r] && r != cur) u[r] += min_val - shortest[col4row[r]];
    for (int j = 0; j < nc; j++)
      if (sc[j]) v[j] -= min_val - shortest[j];
    for (int j = sink;;) {
      int r = path[j];
      row4col[j] = r;
      int t = col4row[r];
      col4row[r] = j;
      j = t;
      if (r == cur) break;
    }
  }
  return 0;
}

/* Minimises sign * cost, +inf standing for forbidden_cost when allow_forbidden (the caller has
 * checked the other entries), every entry finite otherwise. */
static dlcc_status solve(dlcc_assignment *a, const double *cost, int nr, int nc, double sign, bool allow_forbidden,
                         double forbidden_cost, int *row_to_col, dlcc_error *err) {
  if (nr < 0 || nc < 0) return dlcc_fail(err, DLCC_ERR_INVALID, "assignment: negative matrix size %d x %d", nr, nc);
  for (int i = 0; i < nr; i++) row_to_col[i] = -1;
  if (nr == 0 || nc == 0) return DLCC_OK;
  dlcc_assignment own = {0};
  if (!a) a = &own;
  size_t need = workspace_bytes(nr, nc);
  if (need > a->work_bytes) {
    void *p = realloc(a->work, need);
    if (!p) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (assignment of %d x %d)", nr, nc);
    a->work = p;
    a->work_bytes = need;
  }
  bool transpose = nc < nr;
  int r = transpose ? nc : nr, c = transpose ? nr : nc;
  double *copy = a->work;
  void *solver = copy + (size_t)nr * nc;
  int *col4row = (int *)((unsigned char *)solver + solver_bytes(r, c));
  dlcc_status st = DLCC_OK;
  for (int i = 0; i < nr && !st; i++)
    for (int j = 0; j < nc; j++) {
      double v = cost[(size_t)i * nc + j];
      if (allow_forbidden && v == INFINITY) {
        v = forbidden_cost;
      } else if (!isfinite(v)) {
        st = dlcc_fail(err, DLCC_ERR_INVALID, "assignment cost (%d, %d) is %g; costs must be finite", i, j, v);
        break;
      }
      copy[transpose ? (size_t)j * nr + i : (size_t)i * nc + j] = sign * v;
    }
  if (!st && solve_min(copy, r, c, col4row, solver))
    st = dlcc_fail(err, DLCC_ERR_INVALID, "assignment of %d x %d: the costs are too large to sum", nr, nc);
  if (!st) {
    /* transposed: row i of the solved problem is column i of cost */
    for (int i = 0; i < r; i++) {
      if (transpose)
        row_to_col[col4row[i]] = i;
      else
        row_to_col[i] = col4row[i];
    }
  }
  if (a == &own) dlcc_assignment_free(&own);
  return st;
}

dlcc_status dlcc_assignment_solve(dlcc_assignment *a, const double *cost, int n_rows, int n_cols, bool maximize,
                                  int *row_to_col, dlcc_error *err) {
  return solve(a, cost, n_rows, n_cols, maximize ? -1.0 : 1.0, false, 0.0, row_to_col, err);
}

dlcc_status dlcc_assignment_solve_forbidden(dlcc_assignment *a, const double *cost, int n_rows, int n_cols,
                                            int *row_to_col, dlcc_error *err) {
  size_t n = n_rows > 0 && n_cols > 0 ? (size_t)n_rows * (size_t)n_cols : 0;
  double finite_total = 0.0;
  bool any_forbidden = false;
  for (size_t k = 0; k < n; k++) {
    if (isnan(cost[k]) || cost[k] == -INFINITY)
      return dlcc_fail(err, DLCC_ERR_INVALID, "assignment cost (%zu, %zu) is %g; costs must be finite or +inf "
                       "(forbidden)", k / (size_t)n_cols, k % (size_t)n_cols, cost[k]);
    if (isfinite(cost[k]))
      finite_total += fabs(cost[k]);
    else
      any_forbidden = true;
  }
  /* Any two complete assignments' finite parts differ by at most 2 * finite_total, so one forbidden
   * pair more always costs more than the finite part can save: the solver minimises the number of
   * forbidden pairs first, then the finite sum. Any matching of allowed pairs extends to a complete
   * assignment with the same finite sum, so dropping the forbidden pairs afterwards leaves a
   * minimum-cost matching among the largest allowed ones. */
  double forbidden_cost = 2.0 * finite_total + 1.0;
  if (any_forbidden && !isfinite(forbidden_cost))
    return dlcc_fail(err, DLCC_ERR_INVALID, "assignment of %d x %d: the finite costs are too large to mark "
                     "forbidden pairs (their absolute sum overflows)", n_rows, n_cols);
  dlcc_status st = solve(a, cost, n_rows, n_cols, 1.0, true, forbidden_cost, row_to_col, err);
  if (st) return st;
  for (int i = 0; i < n_rows; i++)
    if (row_to_col[i] >= 0 && cost[(size_t)i * n_cols + row_to_col[i]] == INFINITY) row_to_col[i] = -1;
  return DLCC_OK;
}
