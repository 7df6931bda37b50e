/* The Hungarian method (shortest augmenting paths with row and column potentials) on a rectangular
 * cost matrix with at most as many rows as columns; a taller matrix is solved transposed. Forbidden
 * pairs get a cost larger than any sum of finite costs can offset, so a solution never trades an
 * allowed pair for a forbidden one. */
#include "eval/assignment.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Solves a (n x m, n <= m, all finite) and writes the column of each row. The arrays are 1-based
 * as in the textbook formulation: column 0 is a virtual start column, row 0 means "free". */
static dlcc_status solve_wide(const double *a, size_t n, size_t m, long *column_of_row, dlcc_error *err) {
  double *u = calloc(n + 1, sizeof *u), *v = calloc(m + 1, sizeof *v), *minv = malloc((m + 1) * sizeof *minv);
  size_t *row_of_col = calloc(m + 1, sizeof *row_of_col), *way = calloc(m + 1, sizeof *way);
  bool *used = malloc((m + 1) * sizeof *used);
  dlcc_status st = DLCC_OK;
  if (!u || !v || !minv || !row_of_col || !way || !used) {
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 1; i <= n; i++) {
    /* Grow an alternating tree from row i until it reaches a free column, then flip the path. */
    row_of_col[0] = i;
    size_t j0 = 0;
    for (size_t j = 0; j <= m; j++) {
      minv[j] = INFINITY;
      used[j] = false;
    }
    do {
      used[j0] = true;
      size_t i0 = row_of_col[j0], j1 = 0;
      double delta = INFINITY;
      for (size_t j = 1; j <= m; j++) {
        if (used[j]) continue;
        double reduced = a[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
        if (reduced < minv[j]) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (size_t j = 0; j <= m; j++) {
        if (used[j]) {
          u[row_of_col[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (row_of_col[j0] != 0);
    do {
      size_t j1 = way[j0];
      row_of_col[j0] = row_of_col[j1];
      j0 = j1;
    } while (j0);
  }
  for (size_t i = 0; i < n; i++) column_of_row[i] = -1;
  for (size_t j = 1; j <= m; j++)
    if (row_of_col[j]) column_of_row[row_of_col[j] - 1] = (long)(j - 1);
done:
  free(u);
  free(v);
  free(minv);
  free(row_of_col);
  free(way);
  free(used);
  return st;
}

dlcc_status dlcc_assign_min_cost(const double *cost, size_t n_rows, size_t n_cols, long *column_of_row,
                                 dlcc_error *err) {
  for (size_t i = 0; i < n_rows; i++) column_of_row[i] = -1;
  if (n_rows == 0 || n_cols == 0) return DLCC_OK;
  size_t n = n_rows * n_cols;
  double finite_total = 0.0;
  for (size_t k = 0; k < n; k++) {
    if (isnan(cost[k]) || cost[k] == -INFINITY)
      return dlcc_fail(err, DLCC_ERR_INVALID, "assignment cost (%zu, %zu) is %g; costs must be finite or +inf "
                       "(forbidden)", k / n_cols, k % n_cols, cost[k]);
    if (isfinite(cost[k])) finite_total += fabs(cost[k]);
  }
  /* Any two solutions' finite parts differ by at most 2 * finite_total, so one more forbidden pair
   * always costs more than the finite part can save. */
  double forbidden = 2.0 * finite_total + 1.0;
  bool transpose = n_rows > n_cols;
  size_t rows = transpose ? n_cols : n_rows, cols = transpose ? n_rows : n_cols;
  double *a = malloc(n * sizeof *a);
  long *col_of = malloc(rows * sizeof *col_of);
  if (!a || !col_of) {
    free(a);
    free(col_of);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n_rows; i++)
    for (size_t j = 0; j < n_cols; j++) {
      double c = cost[i * n_cols + j];
      a[transpose ? j * n_rows + i : i * n_cols + j] = isfinite(c) ? c : forbidden;
    }
  dlcc_status st = solve_wide(a, rows, cols, col_of, err);
  for (size_t r = 0; !st && r < rows; r++) {
    if (col_of[r] < 0) continue;
    size_t i = transpose ? (size_t)col_of[r] : r, j = transpose ? r : (size_t)col_of[r];
    if (isfinite(cost[i * n_cols + j])) column_of_row[i] = (long)j;
  }
  free(a);
  free(col_of);
  return st;
}
