/* DeepLabCut label tables (CollectedData_<scorer>.csv, analysis outputs, ground truth): a small
 * RFC-4180 CSV reader, the scorer/[individuals]/bodyparts/coords header scheme, checks against a
 * project's config, and a writer that reproduces pandas' to_csv text byte for byte. */
#include "project/labels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * Table memory. */

static void free_strings(char **s, size_t n) {
  if (!s) return;
  for (size_t i = 0; i < n; i++) free(s[i]);
  free(s);
}

void dlcc_labels_free(dlcc_label_table *t) {
  if (!t) return;
  free(t->scorer);
  for (size_t c = 0; c < t->n_columns && t->columns; c++) {
    free(t->columns[c].individual);
    free(t->columns[c].bodypart);
  }
  free(t->columns);
  free_strings(t->row_names, t->n_rows);
  free(t->values);
  memset(t, 0, sizeof *t);
}

typedef struct named_row {
  const char *name;
  size_t pos;
} named_row;

static int compare_named_rows(const void *a, const void *b) {
  const named_row *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c) return c;
  return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Sets *found when two row names are equal, with their positions (*first < *second) of the pair
 * whose second occurrence comes earliest. Fails only for lack of memory. */
static dlcc_status find_duplicate_row(char *const *names, size_t n, size_t *first, size_t *second,
                                      bool *found) {
  *found = false;
  if (n < 2) return DLCC_OK;
  named_row *sorted = malloc(n * sizeof *sorted);
  if (!sorted) return DLCC_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) sorted[i] = (named_row){names[i], i};
  qsort(sorted, n, sizeof *sorted, compare_named_rows);
  /* Report the earliest second occurrence, so the message points at the first problem in the file. */
  for (size_t i = 0; i + 1 < n; i++) {
    if (strcmp(sorted[i].name, sorted[i + 1].name) != 0) continue;
    if (!*found || sorted[i + 1].pos < *second) {
      *first = sorted[i].pos;
      *second = sorted[i + 1].pos;
      *found = true;
    }
  }
  free(sorted);
  return DLCC_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Header rows. */

enum { LEVEL_SCORER, LEVEL_INDIVIDUALS, LEVEL_BODYPARTS, LEVEL_COORDS, N_LEVELS };
static const char *const level_names[N_LEVELS] = {"scorer", "individuals", "bodyparts", "coords"};
static const char *const coord_names[3] = {"x", "y", "likelihood"};

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
                   r->path, r->line, level_names[level]);
}

static dlcc_status expect_level(const char *path, const csv_record *rec, int level, const char *after,
                                dlcc_error *err) {
  if (strcmp(rec->cells[0], level_names[level]) == 0) return DLCC_OK;
  return dlcc_fail(err, DLCC_ERR_PARSE,
                   "%s line %d: expected the '%s' header row%s%s, found a row starting with '%s'; a DeepLabCut "
                   "table starts with the rows scorer, [individuals,] bodyparts, coords",
                   path, rec->line, level_names[level], after ? " after " : "", after ? after : "",
                   rec->cells[0]);
}

static dlcc_status read_header_rows(csv_reader *r, header *h, dlcc_error *err) {
  csv_record *rows = h->rows;
  dlcc_status st = next_header_record(r, &rows[LEVEL_SCORER], LEVEL_SCORER, err);
  if (!st) st = expect_level(r->path, &rows[LEVEL_SCORER], LEVEL_SCORER, NULL, err);
  /* The second row is `individuals` (maDLC) or `bodyparts`. */
  if (!st) st = next_header_record(r, &rows[LEVEL_BODYPARTS], LEVEL_BODYPARTS, err);
  if (!st && strcmp(rows[LEVEL_BODYPARTS].cells[0], level_names[LEVEL_INDIVIDUALS]) == 0) {
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
                       path, row->line, level_names[level], row->n_cells, h->rows[LEVEL_SCORER].line, h->width);
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
                         c + 1, level_names[level]);
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
    const char *want = coord_names[i % h->n_coords];
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
                         row->line, c + 1, level_names[level], row->cells[c], ref + 1, row->cells[ref],
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

static bool same_individual(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
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
  free_strings(s->names, s->n);
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
                     individual ? "', " : "", header_bodypart(h, column), coord_names[(c - first) % h->n_coords],
                     rec->cells[c]);
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
  if (find_duplicate_row(s->names, s->n, &a, &b, &found))
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

/* ------------------------------------------------------------------------------------------------
 * Writing. pandas writes through Python's csv module: a cell is quoted only when it holds a comma,
 * a quote or a line break. */

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
    default: return coord_names[coord];
  }
}

void dlcc_labels_append_header(const dlcc_label_table *t, dlcc_strbuf *sb) {
  for (int level = 0; level < N_LEVELS; level++) {
    if (level == LEVEL_INDIVIDUALS && !t->multianimal) continue;
    dlcc_strbuf_append(sb, level_names[level]);
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

/* ------------------------------------------------------------------------------------------------
 * Checks against the project. The header rows are the file's first lines: scorer on line 1, then
 * individuals (maDLC) and bodyparts (header cells cannot hold line breaks, see check_header_cells). */

static bool name_listed(const char *name, char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (list[i] && strcmp(list[i], name) == 0) return true;
  return false;
}

/* Names to report, each once, in the order first met. */
typedef struct name_list {
  char **names;
  size_t n;
  bool failed;
} name_list;

static void name_list_add(name_list *list, const char *name) {
  if (list->failed || name_listed(name, list->names, list->n)) return;
  char **bigger = realloc(list->names, (list->n + 1) * sizeof *bigger);
  char *copy = strdup(name);
  if (bigger) list->names = bigger;
  if (!bigger || !copy) {
    free(copy);
    list->failed = true;
    return;
  }
  list->names[list->n++] = copy;
}

/* "'a', 'b'" (caller frees), or NULL when the list is empty or an allocation failed. */
static char *name_list_join(name_list *list) {
  dlcc_strbuf sb = {0};
  for (size_t i = 0; i < list->n; i++) dlcc_strbuf_printf(&sb, "%s'%s'", i ? ", " : "", list->names[i]);
  free_strings(list->names, list->n);
  *list = (name_list){0};
  if (sb.failed) dlcc_strbuf_free(&sb);
  return sb.data;
}

typedef struct project_names {
  bool multianimal;
  char *const *bodyparts;
  size_t n_bodyparts;
  char *const *individuals;
  size_t n_individuals;
  char *const *unique;
  size_t n_unique;
} project_names;

static bool table_has_column(const dlcc_label_table *t, const char *individual, const char *bodypart) {
  for (size_t c = 0; c < t->n_columns; c++)
    if (strcmp(t->columns[c].bodypart, bodypart) == 0 && same_individual(t->columns[c].individual, individual))
      return true;
  return false;
}

static dlcc_status check_unknown_individuals(const dlcc_label_table *t, const char *path, const project_names *p,
                                             dlcc_error *err) {
  name_list unknown = {0};
  for (size_t c = 0; c < t->n_columns; c++) {
    const char *ind = t->columns[c].individual;
    if (strcmp(ind, "single") != 0 && !name_listed(ind, p->individuals, p->n_individuals))
      name_list_add(&unknown, ind);
  }
  if (unknown.failed) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory checking %s", path);
  char *names = name_list_join(&unknown);
  dlcc_status st = DLCC_OK;
  if (names)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s line 2: individual(s) %s in the CSV are not listed under individuals in config.yaml; add "
                   "them to config.yaml or remove their columns", path, names);
  free(names);
  return st;
}

static dlcc_status check_unknown_bodyparts(const dlcc_label_table *t, const char *path, const project_names *p,
                                          dlcc_error *err) {
  name_list unknown = {0}, unknown_unique = {0};
  for (size_t c = 0; c < t->n_columns; c++) {
    const char *bp = t->columns[c].bodypart;
    bool unique = p->multianimal && strcmp(t->columns[c].individual, "single") == 0;
    if (unique && !name_listed(bp, p->unique, p->n_unique)) name_list_add(&unknown_unique, bp);
    if (!unique && !name_listed(bp, p->bodyparts, p->n_bodyparts)) name_list_add(&unknown, bp);
  }
  bool failed = unknown.failed || unknown_unique.failed;
  char *names = name_list_join(&unknown), *unique_names = name_list_join(&unknown_unique);
  int line = p->multianimal ? 3 : 2;
  dlcc_status st = DLCC_OK;
  if (failed)
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory checking %s", path);
  else if (names)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s line %d: body part(s) %s in the CSV are not listed under %s in config.yaml; add them "
                   "there or remove their columns", path, line, names,
                   p->multianimal ? "multianimalbodyparts" : "bodyparts");
  else if (unique_names)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s line %d: body part(s) %s of individual 'single' in the CSV are not listed under "
                   "uniquebodyparts in config.yaml; add them there or remove their columns",
                   path, line, unique_names);
  free(names);
  free(unique_names);
  return st;
}

/* Adds the project's body parts of `individual` (NULL: single animal) that have no column in t. */
static void list_missing(const dlcc_label_table *t, const char *individual, char *const *bodyparts, size_t n,
                         name_list *missing) {
  for (size_t i = 0; i < n; i++) {
    if (table_has_column(t, individual, bodyparts[i])) continue;
    char *described = individual ? dlcc_strdupf("%s' of individual '%s", bodyparts[i], individual)
                                 : strdup(bodyparts[i]);
    if (described) name_list_add(missing, described);
    else missing->failed = true;
    free(described);
  }
}

static dlcc_status check_missing_bodyparts(const dlcc_label_table *t, const char *path, const project_names *p,
                                          dlcc_error *err) {
  name_list missing = {0};
  if (!p->multianimal) list_missing(t, NULL, p->bodyparts, p->n_bodyparts, &missing);
  for (size_t i = 0; p->multianimal && i < p->n_individuals; i++)
    list_missing(t, p->individuals[i], p->bodyparts, p->n_bodyparts, &missing);
  if (p->multianimal) list_missing(t, "single", p->unique, p->n_unique, &missing);
  bool failed = missing.failed;
  char *names = name_list_join(&missing);
  dlcc_status st = DLCC_OK;
  if (failed)
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory checking %s", path);
  else if (names)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s line %d: body part(s) %s listed in config.yaml have no columns in the CSV; add their "
                   "columns (cells may stay empty) or remove them from config.yaml",
                   path, p->multianimal ? 3 : 2, names);
  free(names);
  return st;
}

dlcc_status dlcc_labels_check_project(const dlcc_label_table *t, const char *path, const char *scorer,
                                      bool multianimal, char *const *bodyparts, size_t n_bodyparts,
                                      char *const *individuals, size_t n_individuals,
                                      char *const *uniquebodyparts, size_t n_unique, dlcc_error *err) {
  if (scorer && strcmp(t->scorer, scorer) != 0)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s line 1: the CSV's scorer is '%s' but config.yaml's scorer is '%s'; make them the same "
                     "(edit the scorer row of the CSV, or `scorer:` in config.yaml)",
                     path, t->scorer, scorer);
  if (t->multianimal != multianimal)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s line 2: the CSV is a %s table (%s) but config.yaml describes a %s project "
                     "(multianimalproject: %s); label the project's own way or fix multianimalproject",
                     path, t->multianimal ? "multi-animal" : "single-animal",
                     t->multianimal ? "it has an individuals row" : "it has no individuals row",
                     multianimal ? "multi-animal" : "single-animal", multianimal ? "true" : "false");
  project_names p = {multianimal, bodyparts, n_bodyparts, individuals, n_individuals, uniquebodyparts, n_unique};
  dlcc_status st = multianimal ? check_unknown_individuals(t, path, &p, err) : DLCC_OK;
  if (!st) st = check_unknown_bodyparts(t, path, &p, err);
  if (!st) st = check_missing_bodyparts(t, path, &p, err);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Creating a table. */

static dlcc_status create_columns(dlcc_label_table *t, bool multianimal, char *const *individuals,
                                  char *const *bodyparts, size_t n_columns) {
  t->columns = calloc(n_columns ? n_columns : 1, sizeof *t->columns);
  if (!t->columns) return DLCC_ERR_NOMEM;
  t->n_columns = n_columns;
  for (size_t c = 0; c < n_columns; c++) {
    t->columns[c].bodypart = strdup(bodyparts[c]);
    t->columns[c].individual = multianimal ? strdup(individuals[c]) : NULL;
    if (!t->columns[c].bodypart || (multianimal && !t->columns[c].individual)) return DLCC_ERR_NOMEM;
  }
  return DLCC_OK;
}

static dlcc_status create_rows(dlcc_label_table *t, char *const *row_names, size_t n_rows) {
  t->row_names = calloc(n_rows ? n_rows : 1, sizeof *t->row_names);
  size_t n_values = n_rows * t->n_columns * t->n_coords;
  t->values = malloc((n_values ? n_values : 1) * sizeof *t->values);
  if (!t->row_names || !t->values) return DLCC_ERR_NOMEM;
  t->n_rows = n_rows;
  for (size_t i = 0; i < n_values; i++) t->values[i] = NAN;
  for (size_t r = 0; r < n_rows; r++) {
    t->row_names[r] = strdup(row_names[r]);
    if (!t->row_names[r]) return DLCC_ERR_NOMEM;
  }
  return DLCC_OK;
}

dlcc_status dlcc_labels_create(dlcc_label_table *t, const char *scorer, bool multianimal, size_t n_coords,
                               char *const *individuals, char *const *bodyparts, size_t n_columns,
                               char *const *row_names, size_t n_rows, dlcc_error *err) {
  memset(t, 0, sizeof *t);
  if (n_coords != 2 && n_coords != 3)
    return dlcc_fail(err, DLCC_ERR_INVALID, "a label table has 2 (x, y) or 3 (x, y, likelihood) coordinates, "
                     "not %zu", n_coords);
  if (multianimal && !individuals)
    return dlcc_fail(err, DLCC_ERR_INVALID, "a multi-animal label table needs an individual for each column");
  size_t a, b;
  bool duplicate;
  if (find_duplicate_row(row_names, n_rows, &a, &b, &duplicate))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating a label table");
  if (duplicate)
    return dlcc_fail(err, DLCC_ERR_INVALID, "the image '%s' is listed twice (rows %zu and %zu)", row_names[a], a, b);
  t->multianimal = multianimal;
  t->index_columns = 1;
  t->n_coords = n_coords;
  t->scorer = strdup(scorer);
  dlcc_status st = t->scorer ? create_columns(t, multianimal, individuals, bodyparts, n_columns) : DLCC_ERR_NOMEM;
  if (!st) st = create_rows(t, row_names, n_rows);
  if (st) {
    dlcc_labels_free(t);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating a label table");
  }
  return DLCC_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Python's repr of a float. */

/* Replaces text ("d.ddde[+-]x", a correctly rounded decimal) by the decimal one unit up in its last
 * digit when that one reads back as a; returns whether it did. */
static bool try_one_digit_up(char text[48], double a) {
  char *e = strchr(text, 'e');
  int exponent10 = atoi(e + 1);
  char *p = e - 1;
  while (p >= text && (*p == '9' || *p == '.')) {
    if (*p == '9') *p = '0';
    p--;
  }
  char up[48];
  if (p >= text) {
    (*p)++;
    snprintf(up, sizeof up, "%.*se%d", (int)(e - text), text, exponent10);
  } else {
    snprintf(up, sizeof up, "1e%d", exponent10 + 1);
  }
  if (strtod(up, NULL) != a) return false;
  strcpy(text, up);
  return true;
}

/* The shortest significant digits that read back as a (a > 0, finite), and the decimal exponent
 * decpt such that a = 0.DIGITS x 10^decpt. The correctly rounded n-digit decimal is the closest one,
 * so it round-trips whenever any n-digit decimal does, except at a power of two, where the gap to the
 * next double below is half the gap above: there the next n-digit decimal up may round-trip instead. */
static void shortest_digits(double a, char digits[20], int *decpt) {
  char text[48];
  for (int precision = 0; precision < 17; precision++) {
    snprintf(text, sizeof text, "%.*e", precision, a);
    if (strtod(text, NULL) == a) break;
    int exponent2;
    if (frexp(a, &exponent2) == 0.5 && try_one_digit_up(text, a)) break;
  }
  /* text is "d[.ddd]e[+-]x"; 17 significant digits always read back, so the loop ends on a match. */
  size_t n = 0;
  const char *p = text;
  for (; *p != 'e'; p++)
    if (*p != '.') digits[n++] = *p;
  while (n > 1 && digits[n - 1] == '0') n--;
  digits[n] = '\0';
  *decpt = atoi(p + 1) + 1;
}

static char *append_zeros(char *out, int n) {
  for (int i = 0; i < n; i++) *out++ = '0';
  return out;
}

/* Lays out digits (value 0.DIGITS x 10^decpt) as Python's repr does: positional when
 * -4 < decpt <= 16 (1e-4 <= |v| < 1e16), with at least one digit after the point, else exponent form
 * with a sign and at least two exponent digits ("1e-05", "1.5e+16"). */
static void layout_repr(const char *digits, int decpt, char *out) {
  int n = (int)strlen(digits);
  if (decpt <= -4 || decpt > 16) {
    *out++ = digits[0];
    if (n > 1) out += sprintf(out, ".%s", digits + 1);
    sprintf(out, "e%c%02d", decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
  } else if (decpt <= 0) {
    out = append_zeros(out, 1);
    *out++ = '.';
    out = append_zeros(out, -decpt);
    strcpy(out, digits);
  } else if (decpt < n) {
    memcpy(out, digits, (size_t)decpt);
    out[decpt] = '.';
    strcpy(out + decpt + 1, digits + decpt);
  } else {
    strcpy(out, digits);
    out = append_zeros(out + n, decpt - n);
    strcpy(out, ".0");
  }
}

void dlcc_format_double_repr(double v, char buf[32]) {
  if (isnan(v)) {
    strcpy(buf, "nan");
  } else if (isinf(v)) {
    strcpy(buf, v < 0 ? "-inf" : "inf");
  } else if (v == 0) {
    strcpy(buf, signbit(v) ? "-0.0" : "0.0");
  } else {
    char digits[20];
    int decpt;
    shortest_digits(fabs(v), digits, &decpt);
    if (v < 0) *buf++ = '-';
    layout_repr(digits, decpt, buf);
  }
}
