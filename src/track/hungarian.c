/* Linear sum assignment by shortest augmenting paths with row and column potentials: rows are added
 * one at a time, each by a Dijkstra-like search over reduced costs that ends at a free column, then
 * the alternating path is flipped. Rectangular problems with more rows than columns are transposed. */
#include "track/hungarian.h"

#include <math.h>
#include <stdlib.h>

void dlcc_assignment_init(dlcc_assignment *a) {
  *a = (dlcc_assignment){0};
}

void dlcc_assignment_free(dlcc_assignment *a) {
  free(a->u);
  free(a->v);
  free(a->min_to);
  free(a->col_row);
  free(a->way);
  free(a->used);
  free(a->transposed);
  dlcc_assignment_init(a);
}

static int grow(void **buf, size_t count, size_t size) {
  void *p = realloc(*buf, count * size);
  if (!p) return -1;
  *buf = p;
  return 0;
}

static dlcc_status reserve(dlcc_assignment *a, size_t rows, size_t cols, size_t cells, dlcc_error *err) {
  if (rows > a->capacity_rows) {
    if (grow((void **)&a->u, rows, sizeof *a->u)) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (assignment)");
    a->capacity_rows = rows;
  }
  if (cols > a->capacity_cols) {
    if (grow((void **)&a->v, cols, sizeof *a->v) || grow((void **)&a->min_to, cols, sizeof *a->min_to) ||
        grow((void **)&a->col_row, cols, sizeof *a->col_row) || grow((void **)&a->way, cols, sizeof *a->way) ||
        grow((void **)&a->used, cols, sizeof *a->used))
      return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (assignment)");
    a->capacity_cols = cols;
  }
  if (cells > a->capacity_cells) {
    if (grow((void **)&a->transposed, cells, sizeof *a->transposed))
      return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (assignment)");
    a->capacity_cells = cells;
  }
  return DLCC_OK;
}

/* n <= m. Index 0 of the potentials and of the columns is a sentinel: rows and columns are 1-based
 * inside, so that "column 0" is the virtual start of each search and col_row[j] == 0 means free. */
static void solve_wide(dlcc_assignment *a, const double *cost, int n, int m) {
  double *u = a->u, *v = a->v, *min_to = a->min_to;
  int *col_row = a->col_row, *way = a->way;
  unsigned char *used = a->used;
  for (int i = 0; i <= n; i++) u[i] = 0;
  for (int j = 0; j <= m; j++) v[j] = 0, col_row[j] = 0, way[j] = 0;
  for (int row = 1; row <= n; row++) {
    col_row[0] = row;
    int j0 = 0;
    for (int j = 0; j <= m; j++) min_to[j] = INFINITY, used[j] = 0;
    do {
      used[j0] = 1;
      int i0 = col_row[j0], j1 = 0;
      double delta = INFINITY;
      const double *cost_row = cost + (size_t)(i0 - 1) * (size_t)m;
      for (int j = 1; j <= m; j++) {
        if (used[j]) continue;
        double reduced = cost_row[j - 1] - u[i0] - v[j];
        if (reduced < min_to[j]) min_to[j] = reduced, way[j] = j0;
        if (min_to[j] < delta) delta = min_to[j], j1 = j;
      }
      for (int j = 0; j <= m; j++) {
        if (used[j]) {
          u[col_row[j]] += delta;
          v[j] -= delta;
        } else {
          min_to[j] -= delta;
        }
      }
      j0 = j1;
    } while (col_row[j0] != 0);
    /* Flip the alternating path back to the start. */
    do {
      int j1 = way[j0];
      col_row[j0] = col_row[j1];
      j0 = j1;
    } while (j0 != 0);
  }
}

dlcc_status dlcc_assignment_solve(dlcc_assignment *a, const double *cost, int n_rows, int n_cols, int *row_to_col,
                                  double *total, dlcc_error *err) {
  if (n_rows < 0 || n_cols < 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "assignment: negative matrix size %d x %d", n_rows, n_cols);
  size_t cells = (size_t)n_rows * (size_t)n_cols;
  for (size_t k = 0; k < cells; k++)
    if (!isfinite(cost[k]))
      return dlcc_fail(err, DLCC_ERR_INVALID, "assignment: cost[%zu][%zu] is not a finite number",
                       k / (size_t)n_cols, k % (size_t)n_cols);
  for (int r = 0; r < n_rows; r++) row_to_col[r] = -1;
  if (total) *total = 0;
  if (n_rows == 0 || n_cols == 0) return DLCC_OK;

  int transpose = n_rows > n_cols;
  int n = transpose ? n_cols : n_rows, m = transpose ? n_rows : n_cols;
  dlcc_status st = reserve(a, (size_t)n + 1, (size_t)m + 1, transpose ? cells : 0, err);
  if (st) return st;
  const double *wide = cost;
  if (transpose) {
    for (int r = 0; r < n_rows; r++)
      for (int c = 0; c < n_cols; c++) a->transposed[(size_t)c * (size_t)n_rows + (size_t)r] = cost[(size_t)r * (size_t)n_cols + (size_t)c];
    wide = a->transposed;
  }
  solve_wide(a, wide, n, m);
  double sum = 0;
  for (int j = 1; j <= m; j++) {
    int i = a->col_row[j];
    if (i == 0) continue;
    int r = transpose ? j - 1 : i - 1, c = transpose ? i - 1 : j - 1;
    row_to_col[r] = c;
    sum += cost[(size_t)r * (size_t)n_cols + (size_t)c];
  }
  if (total) *total = sum;
  return DLCC_OK;
}
