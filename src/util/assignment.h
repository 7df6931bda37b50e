/* Optimal assignment (the linear sum assignment problem) exactly as scipy.optimize.linear_sum_assignment
 * solves it, ties included, for every place DeepLabCut calls it: the Assembler pairing body parts, the
 * trackers matching detections to tracks, evaluation matching predicted individuals to labeled ones. */
#ifndef DLCC_UTIL_ASSIGNMENT_H
#define DLCC_UTIL_ASSIGNMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* Scratch a caller keeps across problems: it grows to the largest problem solved and is kept, so that
 * a per-frame loop allocates only while its largest frame so far grows. Zero it (or call
 * dlcc_assignment_init) before the first use; dlcc_assignment_free releases it. */
typedef struct dlcc_assignment {
  void *work;
  size_t work_bytes;
} dlcc_assignment;

void dlcc_assignment_init(dlcc_assignment *a);
void dlcc_assignment_free(dlcc_assignment *a);

/* linear_sum_assignment(cost, maximize) for cost[n_rows][n_cols] (row-major): the min(n_rows, n_cols)
 * pairs of least (greatest when maximize) summed cost, each row and column used at most once, and
 * among equal sums the very pairs scipy returns (a matrix wider than tall is solved transposed, as
 * scipy does). row_to_col[r] (n_rows entries) is row r's column, -1 when r is left out (only when
 * n_rows > n_cols). Every cost must be finite: DLCC_ERR_INVALID otherwise (scipy's "matrix contains
 * invalid numeric entries"; for +inf meaning "never pair these", see dlcc_assignment_solve_forbidden).
 * a may be NULL: scratch is then allocated for this call only. Fails with DLCC_ERR_NOMEM when the
 * scratch cannot grow. */
dlcc_status dlcc_assignment_solve(dlcc_assignment *a, const double *cost, int n_rows, int n_cols, bool maximize,
                                  int *row_to_col, dlcc_error *err);

/* The same minimisation where a +INFINITY cost marks a forbidden pair: the result uses as few
 * forbidden pairs as possible, then has the least summed finite cost, and rows left on a forbidden
 * pair are reported unassigned (-1). So it is a minimum-cost matching among the largest matchings of
 * allowed pairs. NaN and -INFINITY are refused (DLCC_ERR_INVALID), as are costs so large that no
 * finite cost can stand for "forbidden". Without +INFINITY entries the answer is
 * dlcc_assignment_solve's. To maximise a score, pass its negation. */
dlcc_status dlcc_assignment_solve_forbidden(dlcc_assignment *a, const double *cost, int n_rows, int n_cols,
                                            int *row_to_col, dlcc_error *err);

#endif
