/* DeepLabCut label tables (CollectedData_<scorer>.csv) and analysis/ground-truth tables of the same
 * shape: single-animal (3 header rows: scorer, bodyparts, coords) and multi-animal (4: scorer,
 * individuals, bodyparts, coords), the image path in 1 index column or split over 3. Missing labels
 * (empty cell or NaN) are NaN. Writing reproduces DeepLabCut's (pandas') text byte for byte. */
#ifndef DLCC_PROJECT_LABELS_H
#define DLCC_PROJECT_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"
#include "util/fileio.h"

typedef struct dlcc_label_column {
  char *individual;   /* NULL in single-animal tables; "single" for maDLC unique body parts */
  char *bodypart;
} dlcc_label_column;

typedef struct dlcc_label_table {
  char *scorer;
  bool multianimal;          /* has the `individuals` header row */
  int index_columns;         /* 1 ("labeled-data/v/img0.png") or 3 ("labeled-data","v","img0.png") */
  size_t n_coords;           /* 2 (x, y) for labels, 3 (x, y, likelihood) for analysis outputs */
  size_t n_columns;          /* keypoint columns (individual, bodypart) */
  dlcc_label_column *columns;
  size_t n_rows;
  char **row_names;          /* the index, '/'-separated ("labeled-data/m4s1/img0000.png", or "17") */
  double *values;            /* n_rows x n_columns x n_coords, NaN when missing */
} dlcc_label_table;

/* values[] index of (row, column, coord). */
static inline size_t dlcc_label_index(const dlcc_label_table *t, size_t row, size_t col, size_t coord) {
  return (row * t->n_columns + col) * t->n_coords + coord;
}

/* Reads a table. Accepts empty cells and NaN as missing, Windows back-slashes in paths (converted
 * to '/'), a first data row that is entirely empty (skipped), rows without any label. Errors name the
 * file and line: a non-numeric cell, a row of the wrong length, a duplicated image row, malformed
 * header rows (coords other than x,y[,likelihood] pairs). */
dlcc_status dlcc_labels_read(const char *path, dlcc_label_table *t, dlcc_error *err);

/* Writes t to path atomically in DeepLabCut's format: numbers as Python's repr of a float (what
 * pandas writes), NaN as an empty cell, '\n' line ends. */
dlcc_status dlcc_labels_write(const dlcc_label_table *t, const char *path, dlcc_error *err);

/* Checks a table read from `path` against the project: scorer equal to `scorer` (the message names
 * both), every column's body part listed in the project and every project body part present (the
 * message names which), individuals known (maDLC). joint names: config's bodyparts (single animal)
 * or multianimalbodyparts/uniquebodyparts with the individuals (maDLC). */
dlcc_status dlcc_labels_check_project(const dlcc_label_table *t, const char *path, const char *scorer,
                                      bool multianimal, char *const *bodyparts, size_t n_bodyparts,
                                      char *const *individuals, size_t n_individuals,
                                      char *const *uniquebodyparts, size_t n_unique, dlcc_error *err);

/* Allocates an empty table with the given columns and rows (values all NaN); strings are copied.
 * individuals may be NULL for a single-animal table. */
dlcc_status dlcc_labels_create(dlcc_label_table *t, const char *scorer, bool multianimal, size_t n_coords,
                               char *const *individuals, char *const *bodyparts, size_t n_columns,
                               char *const *row_names, size_t n_rows, dlcc_error *err);

/* The pieces of dlcc_labels_write for writers that stream rows (video analysis): the header rows
 * of t, then one data row (row_name's index cell(s), then the n_columns * n_coords values of the
 * row), each appended to sb exactly as dlcc_labels_write writes it. t's rows are not used. The row
 * returns false, appending nothing, when row_name cannot be split into 3 index columns. */
void dlcc_labels_append_header(const dlcc_label_table *t, dlcc_strbuf *sb);
bool dlcc_labels_append_row(const dlcc_label_table *t, const char *row_name, const double *values,
                            dlcc_strbuf *sb);

void dlcc_labels_free(dlcc_label_table *t);

/* Python's repr() of a double: the shortest decimal that reads back exactly, "1.0" for integers,
 * exponent form as Python chooses it ("1e-05", "1e+16"). buf must hold 32 bytes. */
void dlcc_format_double_repr(double v, char buf[32]);

#endif
