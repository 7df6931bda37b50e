/* Reading DeepLabCut label tables: a small RFC-4180 CSV reader, the scorer/[individuals]/bodyparts/
 * coords header scheme and the data rows, with errors that name the file, line and column and say
 * what to change. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "project/labels_internal.h"
#include "util/fileio.h"

/* ------------------------------------------------------------------------------------------------
 * CSV records. The file is read whole; cells are unescaped in place, so each cell is a pointer into
 * that buffer and lives as long as it. */

typedef struct csv_reader {
  const char *path;
  char *pos, *end;   /* unread part of the buffer; *end is the NUL dlcc_file_read adds */
  int line;          /* physical line of pos, 1-based */
} csv_reader;

typedef struct csv_record {
  char **cells;
  size_t n_cells, cap;
  int line;          /* line on which the record starts */
} csv_record;

static bool push_cell(csv_record *rec, char *cell) {
  if (rec->n_cells == rec->cap) {
    size_t cap = rec->cap ? rec->cap * 2 : 64;
    char **bigger = realloc(rec->cells, cap * sizeof *bigger);
    if (!bigger) return false;
    rec->cells = bigger;
    rec->cap = cap;
  }
  rec->cells[rec->n_cells++] = cell;
  return true;
}

static bool is_line_break(const char *p, const char *end) {
  /* "\r\n" counts once, on its '\n'. */
  return *p == '\n' || (*p == '\r' && !(p + 1 < end && p[1] == '\n'));
}

/* Copies a quoted cell's contents (after its opening quote) to *w, undoubling "" and counting the
 * line breaks inside it. */
static dlcc_status read_quoted(csv_reader *r, char **p_io, char **w_io, dlcc_error *err) {
  char *p = *p_io, *w = *w_io;
  int start_line = r->line;
  for (;;) {
    if (p >= r->end)
      return dlcc_fail(err, DLCC_ERR_PARSE,
                       "%s line %d: a quoted cell is never closed; add the closing '\"' or remove the opening one",
                       r->path, start_line);
    if (*p == '"') {
      if (p + 1 < r->end && p[1] == '"') {
        *w++ = '"';
        p += 2;
        continue;
      }
      p++;
      break;
    }
    if (is_line_break(p, r->end)) r->line++;
    *w++ = *p++;
  }
  *p_io = p;
  *w_io = w;
  return DLCC_OK;
}

/* Reads one cell at r->pos; *record_ends tells whether a line end (or the end of file) followed. */
static dlcc_status read_cell(csv_reader *r, char **cell, bool *record_ends, dlcc_error *err) {
  char *p = r->pos, *w = r->pos;
  *cell = w;
  if (p < r->end && *p == '"') {
    p++;
    dlcc_status st = read_quoted(r, &p, &w, err);
    if (st) return st;
  }
  /* Unquoted text, or text after a closing quote (kept, as Python's csv module does). */
  while (p < r->end && *p != ',' && *p != '\n' && *p != '\r') *w++ = *p++;
  *record_ends = true;
  if (p < r->end && *p == ',') {
    *record_ends = false;
    p++;
  } else if (p < r->end) {
    if (*p == '\r' && p + 1 < r->end && p[1] == '\n') p++;
    p++;
    r->line++;
  }
  *w = '\0'; /* w < p here, or w == end, which holds the buffer's NUL */
  r->pos = p;
  return DLCC_OK;
}

/* Reads the next record into rec; *got is false at the end of the file. */
static dlcc_status csv_next(csv_reader *r, csv_record *rec, bool *got, dlcc_error *err) {
  rec->n_cells = 0;
  rec->line = r->line;
  *got = r->pos < r->end;
  if (!*got) return DLCC_OK;
  bool record_ends = false;
  while (!record_ends) {
    char *cell;
    dlcc_status st = read_cell(r, &cell, &record_ends, err);
    if (st) return st;
    if (!push_cell(rec, cell)) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", r->path);
  }
  return DLCC_OK;
}

static bool record_is_empty(const csv_record *rec) {
  for (size_t i = 0; i < rec->n_cells; i++)
    if (rec->cells[i][0] != '\0') return false;
  return true;
}

/* ------------------------------------------------------------------------------------------------
 * Header rows. */

typedef struct header {
  csv_record rows[N_LEVELS];   /* rows[LEVEL_INDIVIDUALS] is empty in single-animal tables */
  bool multianimal;
  size_t width;                /* cells per row */
  int index_columns;
  size_t n_coords;
} header;

static void header_free(header *h) {
  for (int i = 0; i < N_LEVELS; i++) free(h->rows[i].cells);
}

static dlcc_status next_header_record(csv_reader *r, csv_record *rec, int level, dlcc_error *err) {
  bool got;
  dlcc_status st = csv_next(r, rec, &got, err);
  if (st || got) return st;
  return dlcc_fail(err, DLCC_ERR_PARSE,
                   "%s line %d: the file ends before the '%s' header row; a DeepLabCut table starts with the "
                   "rows scorer, [individuals,] bodyparts, coords",
                   r->path, r->line, dlcc_labels_level_names[level]);
}

static dlcc_status expect_level(const char *path, const csv_record *rec, int level, const char *after,
                                dlcc_error *err) {
  if (strcmp(rec->cells[0], dlcc_labels_level_names[level]) == 0) return DLCC_OK;
  return dlcc_fail(err, DLCC_ERR_PARSE,
                   "%s line %d: expected the '%s' header row%s%s, found a row starting with '%s'; a DeepLabCut "
                   "table starts with the rows scorer, [individuals,] bodyparts, coords",
                   path, rec->line, dlcc_labels_level_names[level], after ? " after " : "", after ? after : "",
                   rec->cells[0]);
}

static dlcc_status read_header_rows(csv_reader *r, header *h, dlcc_error *err) {
  csv_record *rows = h->rows;
  dlcc_status st = next_header_record(r, &rows[LEVEL_SCORER], LEVEL_SCORER, err);
  if (!st) st = expect_level(r->path, &rows[LEVEL_SCORER], LEVEL_SCORER, NULL, err);
  /* The second row is `individuals` (maDLC) or `bodyparts`. */
  if (!st) st = next_header_record(r, &rows[LEVEL_BODYPARTS], LEVEL_BODYPARTS, err);
  if (!st && strcmp(rows[LEVEL_BODYPARTS].cells[0], dlcc_labels_level_names[LEVEL_INDIVIDUALS]) == 0) {
    h->multianimal = true;
    rows[LEVEL_INDIVIDUALS] = rows[LEVEL_BODYPARTS];
    rows[LEVEL_BODYPARTS] = (csv_record){0};
    st = next_header_record(r, &rows[LEVEL_BODYPARTS], LEVEL_BODYPARTS, err);
  }
  if (!st)
    st = expect_level(r->path, &rows[LEVEL_BODYPARTS], LEVEL_BODYPARTS,
                      h->multianimal ? "'individuals'" : "'scorer'", err);
  if (!st) st = next_header_record(r, &rows[LEVEL_COORDS], LEVEL_COORDS, err);
  if (!st) st = expect_level(r->path, &rows[LEVEL_COORDS], LEVEL_COORDS, "'bodyparts'", err);
  return st;
}

/* The image path takes 1 index column, or 3 whose header cells are empty. */
static dlcc_status find_index_columns(const char *path, header *h, dlcc_error *err) {
  const csv_record *scorer = &h->rows[LEVEL_SCORER];
  size_t empty = 0;
  while (1 + empty < scorer->n_cells && scorer->cells[1 + empty][0] == '\0') empty++;
  if (1 + empty >= scorer->n_cells)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d: the scorer row names no scorer, so the table has no "
                     "body-part columns", path, scorer->line);
  if (empty != 0 && empty != 2)
    return dlcc_fail(err, DLCC_ERR_PARSE,
                     "%s line %d: the scorer row starts with %zu empty cells; DeepLabCut writes the image path "
                     "in 1 index column (no empty cell) or in 3 (2 empty cells)",
                     path, scorer->line, empty);
  h->index_columns = (int)(1 + empty);
  h->width = scorer->n_cells;
  return DLCC_OK;
}

static dlcc_status check_header_cells(const char *path, const header *h, dlcc_error *err) {
  for (int level = 0; level < N_LEVELS; level++) {
    const csv_record *row = &h->rows[level];
    if (level == LEVEL_INDIVIDUALS && !h->multianimal) continue;
    if (row->n_cells != h->width)
      return dlcc_fail(err, DLCC_ERR_PARSE,
                       "%s line %d: the %s header row has %zu cells but the scorer row (line %d) has %zu; every "
                       "header row needs one cell per column",
                       path, row->line, dlcc_labels_level_names[level], row->n_cells, h->rows[LEVEL_SCORER].line,
                       h->width);
    for (size_t c = 1; c < h->width; c++) {
      const char *cell = row->cells[c];
      bool index_cell = c < (size_t)h->index_columns;
      if (strpbrk(cell, "\r\n"))
        return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %zu: a header cell contains a line break",
                         path, row->line, c + 1);
      if (index_cell && cell[0] != '\0')
        return dlcc_fail(err, DLCC_ERR_PARSE,
                         "%s line %d, column %zu: '%s' sits above an index column, where the scorer row has an "
                         "empty cell; empty it",
                         path, row->line, c + 1, cell);
      if (!index_cell && cell[0] == '\0')
        return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %zu: the %s cell is empty", path, row->line,
                         c + 1, dlcc_labels_level_names[level]);
    }
  }
  return DLCC_OK;
}

/* coords must repeat (x, y) or (x, y, likelihood). */
static dlcc_status check_coords(const char *path, header *h, dlcc_error *err) {
  const csv_record *coords = &h->rows[LEVEL_COORDS];
  size_t first = (size_t)h->index_columns, n_data = h->width - first;
  h->n_coords = (n_data >= 3 && strcmp(coords->cells[first + 2], "likelihood") == 0) ? 3 : 2;
  const char *pattern = h->n_coords == 3 ? "x, y, likelihood" : "x, y";
  for (size_t i = 0; i < n_data; i++) {
    const char *want = dlcc_labels_coord_names[i % h->n_coords];
    if (strcmp(coords->cells[first + i], want) != 0)
      return dlcc_fail(err, DLCC_ERR_PARSE,
                       "%s line %d, column %zu: the coords row says '%s' where '%s' is expected; coords must "
                       "repeat %s for each body part",
                       path, coords->line, first + i + 1, coords->cells[first + i], want, pattern);
  }
  if (n_data % h->n_coords != 0)
    return dlcc_fail(err, DLCC_ERR_PARSE,
                     "%s line %d: the coords row ends in the middle of a body part (%zu coordinate columns is "
                     "not a multiple of %zu); coords must repeat %s",
                     path, coords->line, n_data, h->n_coords, pattern);
  return DLCC_OK;
}

/* Each body part's coordinate columns must agree on scorer, individual and body part. */
static dlcc_status check_column_groups(const char *path, const header *h, dlcc_error *err) {
  size_t first = (size_t)h->index_columns;
  for (int level = LEVEL_SCORER; level < LEVEL_COORDS; level++) {
    if (level == LEVEL_INDIVIDUALS && !h->multianimal) continue;
    const csv_record *row = &h->rows[level];
    for (size_t c = first; c < h->width; c++) {
      /* The scorer must be the same across the whole table, the others within a body part. */
      size_t ref = level == LEVEL_SCORER ? first : c - (c - first) % h->n_coords;
      if (strcmp(row->cells[c], row->cells[ref]) != 0)
        return dlcc_fail(err, DLCC_ERR_PARSE,
                         "%s line %d, column %zu: the %s row says '%s' but column %zu says '%s'; %s", path,
                         row->line, c + 1, dlcc_labels_level_names[level], row->cells[c], ref + 1, row->cells[ref],
                         level == LEVEL_SCORER ? "a table has a single scorer"
                                               : "the coordinate columns of one body part must sit side by side");
    }
  }
  return DLCC_OK;
}

static const char *header_individual(const header *h, size_t column) {
  if (!h->multianimal) return NULL;
  return h->rows[LEVEL_INDIVIDUALS].cells[(size_t)h->index_columns + column * h->n_coords];
}

static const char *header_bodypart(const header *h, size_t column) {
  return h->rows[LEVEL_BODYPARTS].cells[(size_t)h->index_columns + column * h->n_coords];
}

static dlcc_status check_unique_columns(const char *path, const header *h, dlcc_error *err) {
  size_t n_columns = (h->width - (size_t)h->index_columns) / h->n_coords;
  for (size_t j = 1; j < n_columns; j++) {
    for (size_t i = 0; i < j; i++) {
      if (strcmp(header_bodypart(h, i), header_bodypart(h, j)) != 0) continue;
      if (!same_individual(header_individual(h, i), header_individual(h, j))) continue;
      size_t ci = (size_t)h->index_columns + i * h->n_coords + 1, cj = (size_t)h->index_columns + j * h->n_coords + 1;
      return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d: body part '%s'%s%s%s appears twice (columns %zu and %zu); "
                       "remove one", path, h->rows[LEVEL_BODYPARTS].line, header_bodypart(h, j),
                       h->multianimal ? " of individual '" : "", h->multianimal ? header_individual(h, j) : "",
                       h->multianimal ? "'" : "", ci, cj);
    }
  }
  return DLCC_OK;
}

static dlcc_status parse_header(csv_reader *r, header *h, dlcc_error *err) {
  dlcc_status st = read_header_rows(r, h, err);
  if (!st) st = find_index_columns(r->path, h, err);
  if (!st) st = check_header_cells(r->path, h, err);
  if (!st) st = check_coords(r->path, h, err);
  if (!st) st = check_column_groups(r->path, h, err);
  if (!st) st = check_unique_columns(r->path, h, err);
  return st;
}

static dlcc_status table_from_header(const header *h, dlcc_label_table *t, const char *path, dlcc_error *err) {
  t->multianimal = h->multianimal;
  t->index_columns = h->index_columns;
  t->n_coords = h->n_coords;
  t->n_columns = (h->width - (size_t)h->index_columns) / h->n_coords;
  t->scorer = strdup(h->rows[LEVEL_SCORER].cells[h->index_columns]);
  t->columns = calloc(t->n_columns, sizeof *t->columns);
  if (!t->scorer || !t->columns) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", path);
  for (size_t c = 0; c < t->n_columns; c++) {
    const char *individual = header_individual(h, c);
    t->columns[c].bodypart = strdup(header_bodypart(h, c));
    t->columns[c].individual = individual ? strdup(individual) : NULL;
    if (!t->columns[c].bodypart || (individual && !t->columns[c].individual))
      return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", path);
  }
  return DLCC_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Data rows. */

/* What pandas' read_csv takes as a missing value by default. */
static const char *const missing_tokens[] = {
    "", "NaN", "nan", "-NaN", "-nan", "NA", "N/A", "n/a", "NULL", "null", "None", "<NA>", "#N/A", "#NA",
    "#N/A N/A", "1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN"};

/* Parses a coordinate cell; false when it is not a finite decimal number (nor a missing value). */
static bool parse_coordinate(const char *cell, double *value) {
  while (*cell == ' ' || *cell == '\t') cell++;
  size_t n = strlen(cell);
  while (n && (cell[n - 1] == ' ' || cell[n - 1] == '\t')) n--;
  char text[64];
  if (n >= sizeof text) return false;
  memcpy(text, cell, n);
  text[n] = '\0';
  for (size_t i = 0; i < sizeof missing_tokens / sizeof *missing_tokens; i++) {
    if (strcmp(text, missing_tokens[i]) == 0) {
      *value = NAN;
      return true;
    }
  }
  /* strtod alone would also take "inf", "infinity" and hex floats; a coordinate is a finite decimal. */
  if (n == 0 || strspn(text, "0123456789+-.eE") != n) return false;
  char *end;
  double v = strtod(text, &end);
  if (*end != '\0' || !isfinite(v)) return false;
  *value = v;
  return true;
}

typedef struct row_store {
  size_t n, cap;
  char **names;
  int *lines;
  double *values;
  size_t values_per_row;
} row_store;

static void row_store_free(row_store *s) {
  dlcc_labels_free_strings(s->names, s->n);
  free(s->lines);
  free(s->values);
}

static bool row_store_grow(row_store *s) {
  if (s->n < s->cap) return true;
  size_t cap = s->cap ? s->cap * 2 : 128;
  char **names = realloc(s->names, cap * sizeof *names);
  if (names) s->names = names;
  int *lines = realloc(s->lines, cap * sizeof *lines);
  if (lines) s->lines = lines;
  double *values = realloc(s->values, cap * s->values_per_row * sizeof *values);
  if (values) s->values = values;
  if (!names || !lines || !values) return false;
  s->cap = cap;
  return true;
}

/* Joins the index cells with '/', turning Windows back-slashes into '/'. */
static char *row_name_from_cells(char *const *cells, int index_columns) {
  dlcc_strbuf sb = {0};
  for (int i = 0; i < index_columns; i++) {
    if (i) dlcc_strbuf_append(&sb, "/");
    dlcc_strbuf_append(&sb, cells[i]);
  }
  if (sb.failed || !sb.data) {
    dlcc_strbuf_free(&sb);
    return NULL;
  }
  for (char *p = sb.data; *p; p++)
    if (*p == '\\') *p = '/';
  return sb.data;
}

static dlcc_status parse_values(const char *path, const header *h, const csv_record *rec, double *out,
                                dlcc_error *err) {
  size_t first = (size_t)h->index_columns;
  for (size_t c = first; c < h->width; c++) {
    if (parse_coordinate(rec->cells[c], &out[c - first])) continue;
    size_t column = (c - first) / h->n_coords;
    const char *individual = header_individual(h, column);
    return dlcc_fail(err, DLCC_ERR_PARSE,
                     "%s line %d, column %zu (%s%s%sbody part '%s', %s): '%s' is not a number; write a decimal "
                     "number such as 12.5, or leave the cell empty for a missing label",
                     path, rec->line, c + 1, individual ? "individual '" : "", individual ? individual : "",
                     individual ? "', " : "", header_bodypart(h, column),
                     dlcc_labels_coord_names[(c - first) % h->n_coords], rec->cells[c]);
  }
  return DLCC_OK;
}

static dlcc_status add_data_row(const char *path, const header *h, const csv_record *rec, row_store *s,
                                dlcc_error *err) {
  if (rec->n_cells != h->width)
    return dlcc_fail(err, DLCC_ERR_PARSE,
                     "%s line %d: expected %zu cells (as many as the header rows have), found %zu; each row needs "
                     "the image name and one cell per coordinate (empty when missing)",
                     path, rec->line, h->width, rec->n_cells);
  bool no_name = true;
  for (int i = 0; i < h->index_columns; i++) no_name = no_name && rec->cells[i][0] == '\0';
  if (no_name)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d: the row has labels but no image name in its first cell",
                     path, rec->line);
  if (!row_store_grow(s)) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", path);
  dlcc_status st = parse_values(path, h, rec, s->values + s->n * s->values_per_row, err);
  if (st) return st;
  s->names[s->n] = row_name_from_cells(rec->cells, h->index_columns);
  if (!s->names[s->n]) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", path);
  s->lines[s->n++] = rec->line;
  return DLCC_OK;
}

/* Rows whose cells are all empty carry nothing and are skipped: some DeepLabCut versions write one
 * right after the header, and pandas skips blank lines. */
static dlcc_status read_data_rows(csv_reader *r, const header *h, row_store *s, dlcc_error *err) {
  csv_record rec = {0};
  dlcc_status st = DLCC_OK;
  for (;;) {
    bool got;
    st = csv_next(r, &rec, &got, err);
    if (st || !got) break;
    if (record_is_empty(&rec)) continue;
    st = add_data_row(r->path, h, &rec, s, err);
    if (st) break;
  }
  free(rec.cells);
  return st;
}

static dlcc_status check_duplicate_rows(const char *path, const row_store *s, dlcc_error *err) {
  size_t a, b;
  bool found;
  if (dlcc_labels_find_duplicate_row(s->names, s->n, &a, &b, &found))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", path);
  if (!found) return DLCC_OK;
  return dlcc_fail(err, DLCC_ERR_PARSE,
                   "%s lines %d and %d: the image '%s' has two rows; keep one of them", path, s->lines[a],
                   s->lines[b], s->names[a]);
}

static dlcc_status read_table(char *text, size_t len, const char *path, dlcc_label_table *t, dlcc_error *err) {
  csv_reader r = {path, text, text + len, 1};
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) r.pos += 3; /* a spreadsheet's UTF-8 mark */
  header h = {0};
  row_store rows = {0};
  dlcc_status st = parse_header(&r, &h, err);
  if (!st) {
    rows.values_per_row = h.width - (size_t)h.index_columns;
    st = read_data_rows(&r, &h, &rows, err);
  }
  if (!st) st = check_duplicate_rows(path, &rows, err);
  if (!st) st = table_from_header(&h, t, path, err);
  if (!st) {
    t->n_rows = rows.n;
    t->row_names = rows.names;
    t->values = rows.values;
    rows.names = NULL;
    rows.values = NULL;
    rows.n = 0;
  }
  row_store_free(&rows);
  header_free(&h);
  return st;
}

dlcc_status dlcc_labels_read(const char *path, dlcc_label_table *t, dlcc_error *err) {
  memset(t, 0, sizeof *t);
  char *text;
  size_t len;
  dlcc_status st = dlcc_file_read(path, &text, &len, err);
  if (st) return st;
  st = read_table(text, len, path, t, err);
  free(text);
  if (st) dlcc_labels_free(t);
  return st;
}
