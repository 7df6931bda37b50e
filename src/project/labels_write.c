/* Writing DeepLabCut label tables as pandas' to_csv writes them, byte for byte: the header rows,
 * the index in 1 or 3 columns, numbers as Python's repr, NaN as an empty cell. Also the row-by-row
 * pieces for writers that stream (video analysis). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "project/labels_internal.h"
#include "util/fileio.h"

/* pandas writes through Python's csv module: a cell is quoted only when it holds a comma, a quote or
 * a line break. */
static void append_cell(dlcc_strbuf *sb, const char *cell) {
  if (!strpbrk(cell, ",\"\r\n")) {
    dlcc_strbuf_append(sb, cell);
    return;
  }
  dlcc_strbuf_append(sb, "\"");
  for (const char *p = cell; *p; p++) {
    if (*p == '"') dlcc_strbuf_append(sb, "\"\"");
    else dlcc_strbuf_appendn(sb, p, 1);
  }
  dlcc_strbuf_append(sb, "\"");
}

static const char *column_level_value(const dlcc_label_table *t, int level, size_t column, size_t coord) {
  switch (level) {
    case LEVEL_SCORER: return t->scorer;
    case LEVEL_INDIVIDUALS: return t->columns[column].individual ? t->columns[column].individual : "";
    case LEVEL_BODYPARTS: return t->columns[column].bodypart;
    default: return dlcc_labels_coord_names[coord];
  }
}

void dlcc_labels_append_header(const dlcc_label_table *t, dlcc_strbuf *sb) {
  for (int level = 0; level < N_LEVELS; level++) {
    if (level == LEVEL_INDIVIDUALS && !t->multianimal) continue;
    dlcc_strbuf_append(sb, dlcc_labels_level_names[level]);
    for (int i = 1; i < t->index_columns; i++) dlcc_strbuf_append(sb, ",");
    for (size_t c = 0; c < t->n_columns; c++) {
      for (size_t k = 0; k < t->n_coords; k++) {
        dlcc_strbuf_append(sb, ",");
        append_cell(sb, column_level_value(t, level, c, k));
      }
    }
    dlcc_strbuf_append(sb, "\n");
  }
}

/* The 3-column form splits "labeled-data/<video>/<image>" at its first two slashes. */
static bool append_index(dlcc_strbuf *sb, const dlcc_label_table *t, const char *name) {
  if (t->index_columns != 3) {
    append_cell(sb, name);
    return true;
  }
  const char *s1 = strchr(name, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
  if (!s2) return false;
  char *first = strndup(name, (size_t)(s1 - name)), *second = strndup(s1 + 1, (size_t)(s2 - s1 - 1));
  if (!first || !second) sb->failed = true;
  else {
    append_cell(sb, first);
    dlcc_strbuf_append(sb, ",");
    append_cell(sb, second);
    dlcc_strbuf_append(sb, ",");
    append_cell(sb, s2 + 1);
  }
  free(first);
  free(second);
  return true;
}

static void append_values(dlcc_strbuf *sb, const double *values, size_t n) {
  char number[32];
  for (size_t i = 0; i < n; i++) {
    dlcc_strbuf_append(sb, ",");
    if (isnan(values[i])) continue;
    dlcc_format_double_repr(values[i], number);
    dlcc_strbuf_append(sb, number);
  }
}

bool dlcc_labels_append_row(const dlcc_label_table *t, const char *row_name, const double *values,
                            dlcc_strbuf *sb) {
  if (!append_index(sb, t, row_name)) return false;
  append_values(sb, values, t->n_columns * t->n_coords);
  dlcc_strbuf_append(sb, "\n");
  return true;
}

static dlcc_status check_writable(const dlcc_label_table *t, const char *path, dlcc_error *err) {
  if (t->index_columns != 1 && t->index_columns != 3)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write %s: index_columns is %d; it must be 1 or 3", path,
                     t->index_columns);
  if (t->n_coords != 2 && t->n_coords != 3)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write %s: n_coords is %zu; it must be 2 (x, y) or 3 "
                     "(x, y, likelihood)", path, t->n_coords);
  if (!t->scorer || (t->n_columns && !t->columns) || (t->n_rows && (!t->row_names || !t->values)))
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write %s: the table has no scorer, columns or rows", path);
  for (size_t c = 0; c < t->n_columns; c++)
    if (!t->columns[c].bodypart || (t->multianimal && !t->columns[c].individual))
      return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write %s: column %zu has no %s", path, c,
                       t->columns[c].bodypart ? "individual" : "body part");
  return DLCC_OK;
}

dlcc_status dlcc_labels_write(const dlcc_label_table *t, const char *path, dlcc_error *err) {
  dlcc_status st = check_writable(t, path, err);
  if (st) return st;
  dlcc_strbuf sb = {0};
  dlcc_labels_append_header(t, &sb);
  size_t per_row = t->n_columns * t->n_coords;
  for (size_t r = 0; r < t->n_rows; r++) {
    if (!dlcc_labels_append_row(t, t->row_names[r], t->values + r * per_row, &sb)) {
      dlcc_strbuf_free(&sb);
      return dlcc_fail(err, DLCC_ERR_INVALID,
                       "cannot write %s: the image '%s' cannot be split into the 3 index columns "
                       "labeled-data, <video>, <image>; write the table with index_columns 1",
                       path, t->row_names[r]);
    }
  }
  if (sb.failed) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  else st = dlcc_file_write_atomic(path, sb.data, sb.len, err);
  dlcc_strbuf_free(&sb);
  return st;
}
