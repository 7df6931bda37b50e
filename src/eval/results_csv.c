/* The files of `dlcc evaluate` (see results_csv.h): DeepLabCut's results tables as pandas writes
 * them (evaluate.py make_results_file: an unnamed index column, then the 8 columns), the snapshot's
 * predictions, keypoint_error's per-body-part table, and the terminal table. */
#include "eval/results_csv.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "project/layout.h"
#include "util/fileio.h"

/* make_results_file's col_names, with the index column pandas writes first (unnamed). The leading
 * spaces of " Train error(px)" and " Test error(px)" are DeepLabCut's. */
static const char results_header[] = ",Training iterations:,%Training dataset,Shuffle number, Train error(px),"
                                     " Test error(px),p-cutoff used,Train error with p-cutoff,Test error with p-cutoff";
/* The mAP / mAR columns of multi-animal rows (DeepLabCut 3's names). */
static const char map_header[] = ",train mAP,train mAR,test mAP,test mAR";
enum { RESULT_CELLS = 8, MAP_CELLS = 4 };

dlcc_eval_result_row dlcc_eval_result_row_of(const dlcc_eval_errors *e, long iterations, double training_fraction,
                                             int shuffle) {
  dlcc_eval_result_row row = {
      .iterations = iterations,
      .training_pct = dlcc_layout_training_pct(training_fraction),
      .shuffle = shuffle,
      .train_error = e->overall.train,
      .test_error = e->overall.test,
      .pcutoff = e->pcutoff,
      .train_error_cutoff = e->overall.train_cutoff,
      .test_error_cutoff = e->overall.test_cutoff,
  };
  return row;
}

char *dlcc_eval_folder(const dlcc_project_config *cfg, double training_fraction, int shuffle) {
  return dlcc_strdupf("evaluation-results/iteration-%d/%s%s-trainset%dshuffle%d", cfg->iteration, cfg->task,
                      cfg->date, dlcc_layout_training_pct(training_fraction), shuffle);
}

/* A float cell as pandas writes it: Python's repr, NaN as nothing. */
static void append_float(dlcc_strbuf *sb, double v) {
  if (isnan(v)) return;
  char buf[32];
  dlcc_format_double_repr(v, buf);
  dlcc_strbuf_append(sb, buf);
}

/* ------------------------------------------------------------------------------------------------
 * Results tables. */

/* A row of an existing table: its 8 value cells exactly as written, and its key. */
typedef struct kept_row {
  char *cells;
  double iterations, pct, shuffle;
} kept_row;

typedef struct kept_rows {
  kept_row *rows;
  size_t n;
  bool has_map;   /* the table has the 4 mAP columns */
} kept_rows;

static void kept_rows_free(kept_rows *k) {
  for (size_t i = 0; i < k->n; i++) free(k->rows[i].cells);
  free(k->rows);
  memset(k, 0, sizeof *k);
}

static bool parse_number(const char *cell, size_t len, double *out) {
  char buf[64];
  if (len == 0 || len >= sizeof buf) return false;
  memcpy(buf, cell, len);
  buf[len] = '\0';
  char *end;
  *out = strtod(buf, &end);
  return *end == '\0' && isfinite(*out);
}

/* Splits "index,c1,...,cN" into the kept cells and the key (first three value cells). */
static dlcc_status parse_row(const char *path, size_t line_no, char *line, int n_cells, kept_row *row,
                             dlcc_error *err) {
  char *cells = strchr(line, ',');
  size_t commas = 0;
  for (const char *p = cells; p && *p; p++) commas += *p == ',';
  if (!cells || commas != (size_t)n_cells || strchr(line, '"'))
    return dlcc_fail(err, DLCC_ERR_PARSE,
                     "%s line %zu: expected an index and %d cells separated by commas; fix the line or move the "
                     "file away so that dlcc starts a new one",
                     path, line_no, n_cells);
  cells++;
  double *key[3] = {&row->iterations, &row->pct, &row->shuffle};
  const char *names[3] = {"Training iterations:", "%Training dataset", "Shuffle number"};
  const char *p = cells;
  for (int i = 0; i < 3; i++) {
    size_t len = strcspn(p, ",");
    if (!parse_number(p, len, key[i]))
      return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %zu: the '%s' cell '%.*s' is not a number; fix the line or "
                       "move the file away", path, line_no, names[i], (int)(len < 40 ? len : 40), p);
    p += len + 1;
  }
  row->cells = strdup(cells);
  return row->cells ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
}

static dlcc_status parse_table(const char *path, char *text, kept_rows *out, dlcc_error *err) {
  size_t line_no = 0;
  char *save = NULL;
  bool header_seen = false;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    line_no++;
    line[strcspn(line, "\r")] = '\0';
    if (!header_seen) {
      size_t base = strlen(results_header);
      bool plain = !strcmp(line, results_header);
      out->has_map = !plain && !strncmp(line, results_header, base) && !strcmp(line + base, map_header);
      if (!plain && !out->has_map)
        return dlcc_fail(err, DLCC_ERR_PARSE,
                         "%s line 1: not DeepLabCut's evaluation results header (expected '%s', possibly followed "
                         "by '%s'); move the file away so that dlcc starts a new one",
                         path, results_header, map_header);
      header_seen = true;
      continue;
    }
    if (!*line) continue;
    kept_row *grown = realloc(out->rows, (out->n + 1) * sizeof *grown);
    if (!grown) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    out->rows = grown;
    memset(&out->rows[out->n], 0, sizeof out->rows[out->n]);
    dlcc_status st = parse_row(path, line_no, line, RESULT_CELLS + (out->has_map ? MAP_CELLS : 0),
                               &out->rows[out->n], err);
    if (st) return st;
    out->n++;
  }
  if (!header_seen)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s is empty, not an evaluation results table; delete it", path);
  return DLCC_OK;
}

static dlcc_status read_table(const char *path, kept_rows *out, dlcc_error *err) {
  memset(out, 0, sizeof *out);
  if (!dlcc_path_is_file(path)) return DLCC_OK;
  char *text;
  size_t len;
  dlcc_status st = dlcc_file_read(path, &text, &len, err);
  if (st) return st;
  st = parse_table(path, text, out, err);
  free(text);
  if (st) kept_rows_free(out);
  return st;
}

/* Empty mAP cells for a row without them in a table with them. */
static void append_missing_map(dlcc_strbuf *sb) {
  for (int i = 0; i < MAP_CELLS; i++) dlcc_strbuf_append(sb, ",");
}

static void append_new_cells(dlcc_strbuf *sb, const dlcc_eval_result_row *r, bool table_has_map) {
  dlcc_strbuf_printf(sb, "%ld,%d,%d,", r->iterations, r->training_pct, r->shuffle);
  append_float(sb, dlcc_eval_round2(r->train_error));
  dlcc_strbuf_append(sb, ",");
  append_float(sb, dlcc_eval_round2(r->test_error));
  dlcc_strbuf_append(sb, ",");
  append_float(sb, r->pcutoff);
  dlcc_strbuf_append(sb, ",");
  append_float(sb, dlcc_eval_round2(r->train_error_cutoff));
  dlcc_strbuf_append(sb, ",");
  append_float(sb, dlcc_eval_round2(r->test_error_cutoff));
  if (!table_has_map) return;
  if (!r->has_map) {
    append_missing_map(sb);
    return;
  }
  const double map[MAP_CELLS] = {r->train_map, r->train_mar, r->test_map, r->test_mar};
  for (int i = 0; i < MAP_CELLS; i++) {
    dlcc_strbuf_append(sb, ",");
    append_float(sb, dlcc_eval_round2(map[i]));
  }
}

static bool same_model(const kept_row *k, const dlcc_eval_result_row *r) {
  return k->iterations == (double)r->iterations && k->pct == (double)r->training_pct &&
         k->shuffle == (double)r->shuffle;
}

/* The new row takes the place of the first row of the same model; later ones of that model go. */
static void render_table(dlcc_strbuf *sb, const kept_rows *old, const dlcc_eval_result_row *row) {
  bool has_map = old->has_map || row->has_map;
  dlcc_strbuf_append(sb, results_header);
  if (has_map) dlcc_strbuf_append(sb, map_header);
  dlcc_strbuf_append(sb, "\n");
  size_t index = 0;
  bool placed = false;
  for (size_t i = 0; i < old->n; i++) {
    bool same = same_model(&old->rows[i], row);
    if (same && placed) continue;
    dlcc_strbuf_printf(sb, "%zu,", index++);
    if (same) {
      append_new_cells(sb, row, has_map);
      placed = true;
    } else {
      dlcc_strbuf_append(sb, old->rows[i].cells);
      if (has_map && !old->has_map) append_missing_map(sb);
    }
    dlcc_strbuf_append(sb, "\n");
  }
  if (!placed) {
    dlcc_strbuf_printf(sb, "%zu,", index);
    append_new_cells(sb, row, has_map);
    dlcc_strbuf_append(sb, "\n");
  }
}

dlcc_status dlcc_eval_results_update(const char *path, const dlcc_eval_result_row *row, dlcc_error *err) {
  kept_rows old;
  dlcc_status st = read_table(path, &old, err);
  if (st) return st;
  dlcc_strbuf sb = {0};
  render_table(&sb, &old, row);
  kept_rows_free(&old);
  if (sb.failed) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) st = dlcc_file_write_atomic(path, sb.data, sb.len, err);
  dlcc_strbuf_free(&sb);
  return st;
}

dlcc_status dlcc_eval_write_results(const char *eval_dir, const char *scorer, const dlcc_eval_result_row *row,
                                    dlcc_error *err) {
  dlcc_status st = dlcc_mkdirs(eval_dir, err);
  if (st) return st;
  char *model_table = dlcc_strdupf("%s/%s-results.csv", eval_dir, scorer);
  char *parent = dlcc_path_dirname(eval_dir);
  char *combined = parent ? dlcc_path_join(parent, "CombinedEvaluation-results.csv") : NULL;
  if (!model_table || !combined) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) st = dlcc_eval_results_update(model_table, row, err);
  if (!st) st = dlcc_eval_results_update(combined, row, err);
  free(model_table);
  free(parent);
  free(combined);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Predictions and per-body-part errors. */

char *dlcc_eval_predictions_path(const char *eval_dir, const char *scorer, long iterations) {
  return dlcc_strdupf("%s/%s-snapshot-%ld.csv", eval_dir, scorer, iterations);
}

dlcc_status dlcc_eval_write_predictions(const char *path, const dlcc_label_table *labels, const double *predictions,
                                        const char *scorer, dlcc_error *err) {
  size_t n = labels->n_columns;
  char **individuals = calloc(n + 1, sizeof *individuals);
  char **bodyparts = calloc(n + 1, sizeof *bodyparts);
  if (!individuals || !bodyparts) {
    free(individuals);
    free(bodyparts);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  for (size_t c = 0; c < n; c++) {
    individuals[c] = labels->columns[c].individual;
    bodyparts[c] = labels->columns[c].bodypart;
  }
  dlcc_label_table t;
  dlcc_status st = dlcc_labels_create(&t, scorer, labels->multianimal, 3, labels->multianimal ? individuals : NULL,
                                      bodyparts, n, labels->row_names, labels->n_rows, err);
  free(individuals);
  free(bodyparts);
  if (st) return st;
  t.index_columns = labels->index_columns;
  memcpy(t.values, predictions, labels->n_rows * n * 3 * sizeof *t.values);
  st = dlcc_labels_write(&t, path, err);
  dlcc_labels_free(&t);
  return st;
}

/* A CSV cell as pandas quotes it: in double quotes (inner quotes doubled) when it holds a comma,
 * a quote or a line break. */
static void append_csv_text(dlcc_strbuf *sb, const char *text) {
  if (!strpbrk(text, ",\"\r\n")) {
    dlcc_strbuf_append(sb, text);
    return;
  }
  dlcc_strbuf_append(sb, "\"");
  for (const char *p = text; *p; p++) {
    dlcc_strbuf_appendn(sb, p, 1);
    if (*p == '"') dlcc_strbuf_appendn(sb, p, 1);
  }
  dlcc_strbuf_append(sb, "\"");
}

dlcc_status dlcc_eval_write_keypoint_results(const char *path, const dlcc_eval_errors *e, dlcc_error *err) {
  static const char *const row_names[4] = {"Train error (px)", "Test error (px)", "Train error (px) with p-cutoff",
                                           "Test error (px) with p-cutoff"};
  dlcc_strbuf sb = {0};
  dlcc_strbuf_append(&sb, "Error Type");
  for (size_t k = 0; k < e->n_bodyparts; k++) {
    dlcc_strbuf_append(&sb, ",");
    append_csv_text(&sb, e->bodyparts[k]);
  }
  dlcc_strbuf_append(&sb, "\n");
  for (int r = 0; r < 4; r++) {
    dlcc_strbuf_append(&sb, row_names[r]);
    for (size_t k = 0; k < e->n_bodyparts; k++) {
      const dlcc_eval_means *m = &e->per_bodypart[k];
      double v[4] = {m->train, m->test, m->train_cutoff, m->test_cutoff};
      dlcc_strbuf_append(&sb, ",");
      append_float(&sb, v[r]);
    }
    dlcc_strbuf_append(&sb, "\n");
  }
  dlcc_status st = sb.failed ? dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory")
                             : dlcc_file_write_atomic(path, sb.data, sb.len, err);
  dlcc_strbuf_free(&sb);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Terminal table. */

static void append_error_cell(dlcc_strbuf *sb, double v, int width) {
  double r = dlcc_eval_round2(v);
  if (isnan(r))
    dlcc_strbuf_printf(sb, "  %*s", width, "-");
  else
    dlcc_strbuf_printf(sb, "  %*.2f", width, r);
}

static void append_table_line(dlcc_strbuf *sb, const char *name, int name_width, const dlcc_eval_means *m,
                              const int widths[4]) {
  dlcc_strbuf_printf(sb, "%-*s", name_width, name);
  append_error_cell(sb, m->train, widths[0]);
  append_error_cell(sb, m->test, widths[1]);
  append_error_cell(sb, m->train_cutoff, widths[2]);
  append_error_cell(sb, m->test_cutoff, widths[3]);
  dlcc_strbuf_append(sb, "\n");
}

char *dlcc_eval_format_table(const dlcc_eval_errors *e) {
  char pc[32];
  dlcc_format_double_repr(e->pcutoff, pc);
  char *headers[4] = {dlcc_strdupf("train (px)"), dlcc_strdupf("test (px)"), dlcc_strdupf("train, p>=%s", pc),
                      dlcc_strdupf("test, p>=%s", pc)};
  int widths[4];
  int name_width = (int)strlen("body part");
  for (size_t k = 0; k < e->n_bodyparts; k++)
    if ((int)strlen(e->bodyparts[k]) > name_width) name_width = (int)strlen(e->bodyparts[k]);
  dlcc_strbuf sb = {0};
  bool ok = headers[0] && headers[1] && headers[2] && headers[3];
  if (ok) {
    dlcc_strbuf_printf(&sb, "%-*s", name_width, "body part");
    for (int i = 0; i < 4; i++) {
      widths[i] = (int)strlen(headers[i]);
      dlcc_strbuf_printf(&sb, "  %s", headers[i]);
    }
    dlcc_strbuf_append(&sb, "\n");
    for (size_t k = 0; k < e->n_bodyparts; k++)
      append_table_line(&sb, e->bodyparts[k], name_width, &e->per_bodypart[k], widths);
    append_table_line(&sb, "all", name_width, &e->overall, widths);
  }
  for (int i = 0; i < 4; i++) free(headers[i]);
  if (!ok || sb.failed) {
    dlcc_strbuf_free(&sb);
    return NULL;
  }
  return sb.data;
}
