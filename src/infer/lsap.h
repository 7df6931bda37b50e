/* The linear sum assignment problem as scipy.optimize.linear_sum_assignment solves it (the shortest
 * augmenting path method of Crouse 2016, which scipy implements), so that ties resolve as they do in
 * DeepLabCut: the Assembler pairs body parts with it, its trackers match detections to tracks. */
#ifndef DLCC_INFER_LSAP_H
#define DLCC_INFER_LSAP_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of workspace dlcc_lsap_solve needs for an n_rows x n_cols matrix. */
size_t dlcc_lsap_workspace_bytes(int n_rows, int n_cols);

/* linear_sum_assignment(cost, maximize) for cost [n_rows][n_cols] (row-major, finite values): the
 * min(n_rows, n_cols) pairs of the cheapest (most valuable when maximize) assignment, rows[k] increasing,
 * cols[k] the row's column; a matrix wider than tall is solved as scipy does it, transposed. work holds
 * dlcc_lsap_workspace_bytes(n_rows, n_cols) bytes (suitably aligned, as malloc returns). Returns the
 * number of pairs, or -1 when a cost is not finite. Allocates nothing. */
int dlcc_lsap_solve(const double *cost, int n_rows, int n_cols, bool maximize, int *rows, int *cols, void *work);

/* The same with its own workspace; -1 also when out of memory. */
int dlcc_linear_sum_assignment(const double *cost, int n_rows, int n_cols, bool maximize, int *rows, int *cols);

#endif
