/* scipy's rectangular linear sum assignment: per row a shortest augmenting path (Dijkstra over costs
 * reduced by the dual variables u, v), preferring among equal path costs a free column. Written from
 * Crouse's description and checked pair for pair against scipy (tests/test_infer_assembly.c). */
#include "infer/lsap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Scratch of the solver for nr <= nc, in doubles then ints then bytes, rounded to whole doubles. */
static size_t solver_bytes(int nr, int nc) {
  size_t bytes = (size_t)(nr + 2 * nc) * sizeof(double) + (size_t)(3 * nc) * sizeof(int) + (size_t)(nr + nc);
  return (bytes + sizeof(double) - 1) / sizeof(double) * sizeof(double);
}

size_t dlcc_lsap_workspace_bytes(int n_rows, int n_cols) {
  if (n_rows <= 0 || n_cols <= 0) return sizeof(double);
  int r = n_rows < n_cols ? n_rows : n_cols, c = n_rows < n_cols ? n_cols : n_rows;
  /* the (transposed, negated) cost copy, the solver's scratch, col4row */
  return (size_t)n_rows * n_cols * sizeof(double) + solver_bytes(r, c) + (size_t)r * sizeof(int);
}

/* Minimises over an nr x nc matrix with nr <= nc; col4row[nr] receives each row's column. Returns 0, or
 * -1 when no augmenting path exists (not with finite costs). */
static int solve_min(const double *cost, int nr, int nc, int *col4row, void *work) {
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

int dlcc_lsap_solve(const double *cost, int nr, int nc, bool maximize, int *rows, int *cols, void *work) {
  if (nr <= 0 || nc <= 0) return 0;
  bool transpose = nc < nr;
  int r = transpose ? nc : nr, c = transpose ? nr : nc;
  double *copy = work, sign = maximize ? -1.0 : 1.0;
  void *solver = copy + (size_t)nr * nc;
  int *col4row = (int *)((unsigned char *)solver + solver_bytes(r, c));
  for (int i = 0; i < nr; i++)
    for (int j = 0; j < nc; j++) {
      double v = cost[(size_t)i * nc + j];
      if (!isfinite(v)) return -1;
      copy[transpose ? (size_t)j * nr + i : (size_t)i * nc + j] = sign * v;
    }
  if (solve_min(copy, r, c, col4row, solver)) return -1;
  if (!transpose) {
    for (int i = 0; i < r; i++) rows[i] = i, cols[i] = col4row[i];
  } else {
    /* the transposed problem's pairs (col4row[i], i), ordered by original row */
    int n = 0;
    for (int orig_row = 0; orig_row < nr; orig_row++)
      for (int i = 0; i < r; i++)
        if (col4row[i] == orig_row) rows[n] = orig_row, cols[n] = i, n++;
  }
  return r;
}

int dlcc_linear_sum_assignment(const double *cost, int n_rows, int n_cols, bool maximize, int *rows, int *cols) {
  void *work = malloc(dlcc_lsap_workspace_bytes(n_rows, n_cols));
  if (!work) return -1;
  int n = dlcc_lsap_solve(cost, n_rows, n_cols, maximize, rows, cols, work);
  free(work);
  return n;
}
