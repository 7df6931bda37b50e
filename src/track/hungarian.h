/* Optimal assignment (linear sum assignment) on a rectangular cost matrix: the shortest augmenting
 * path form of the Hungarian method (Jonker-Volgenant), O(k^2 l) for k = min(rows, cols), l = max.
 * It is what scipy's linear_sum_assignment computes for DeepLabCut's trackers. */
#ifndef DLCC_TRACK_HUNGARIAN_H
#define DLCC_TRACK_HUNGARIAN_H

#include <stddef.h>

#include "util/error.h"

/* Reusable work space: buffers grow to the largest problem solved and are kept, so that a tracker
 * solving one small problem per frame allocates only while the largest frame so far grows. */
typedef struct dlcc_assignment {
  size_t capacity_rows, capacity_cols, capacity_cells;
  double *u, *v, *min_to;   /* row and column potentials, shortest reduced distance to each column */
  int *col_row, *way;       /* row matched to each column, previous column on the shortest path */
  unsigned char *used;
  double *transposed;       /* the matrix transposed when it has more rows than columns */
} dlcc_assignment;

void dlcc_assignment_init(dlcc_assignment *a);
void dlcc_assignment_free(dlcc_assignment *a);

/* Minimises the summed cost of a matching of the rows of cost (n_rows x n_cols, row-major) to its
 * columns in which min(n_rows, n_cols) pairs are matched, each row and column at most once.
 * row_to_col[r] is r's column, or -1 when r is left out (only when n_rows > n_cols). total (may be
 * NULL) gets the summed cost. To maximise, pass the negated matrix. Every entry must be finite
 * (DLCC_ERR_INVALID otherwise, like scipy's "matrix contains invalid numeric entries"). Among
 * matchings of equal cost, which one is returned may differ from scipy's. */
dlcc_status dlcc_assignment_solve(dlcc_assignment *a, const double *cost, int n_rows, int n_cols, int *row_to_col,
                                  double *total, dlcc_error *err);

#endif
