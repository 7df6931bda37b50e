/* Optimal assignment of rows to columns (the Hungarian method with potentials, O(n^2 m)), for
 * matching predicted individuals to labeled ones. Self-contained on purpose: src/track/ may carry
 * its own solver; any solver with this contract (minimum summed cost, +INFINITY = forbidden) can
 * replace this one. */
#ifndef DLCC_EVAL_ASSIGNMENT_H
#define DLCC_EVAL_ASSIGNMENT_H

#include <stddef.h>

#include "util/error.h"

/* Assigns rows to columns of cost (n_rows x n_cols, row-major) minimising the summed cost of the
 * assigned pairs; each row and each column is used at most once and min(n_rows, n_cols) pairs are
 * formed. +INFINITY marks a forbidden pair: the solution uses as few forbidden pairs as possible
 * (then the least finite cost), and rows left on a forbidden pair are reported unassigned, so the
 * result is a minimum-cost matching among the largest matchings of allowed pairs. When several
 * solutions tie, any one of them is returned (deterministic for given input).
 * column_of_row: n_rows entries, the column of each row or -1. Fails (DLCC_ERR_INVALID) on a NaN
 * or -INFINITY cost, and on running out of memory. To maximise a score, pass its negation. */
dlcc_status dlcc_assign_min_cost(const double *cost, size_t n_rows, size_t n_cols, long *column_of_row,
                                 dlcc_error *err);

#endif
