/* `dlcc evaluate-tracks` (see tracks.h): an analysis CSV against a ground truth of every frame. The
 * work is split so that multi-animal comparison only adds a matching step: match_columns names, for
 * one frame, the prediction column of each ground-truth column; accumulate_frame adds that frame's
 * distances; the totals are summed per body part. */
#include "eval/tracks.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

typedef struct column_sums {
  size_t visible, compared, within;
  double distance;
} column_sums;

/* A row name that is a whole frame number, or -1. */
static long frame_number(const char *name) {
  char *end;
  errno = 0;
  long v = strtol(name, &end, 10);
  return errno || end == name || *end || v < 0 ? -1 : v;
}

static dlcc_status check_tables(const dlcc_label_table *pred, const char *pred_path, const dlcc_label_table *truth,
                                const char *truth_path, double threshold, dlcc_error *err) {
  if (pred->multianimal || truth->multianimal)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "%s is a multi-animal table; dlcc evaluate-tracks compares "
                     "single-animal tables for now", pred->multianimal ? pred_path : truth_path);
  if (!(threshold > 0) || !isfinite(threshold))
    return dlcc_fail(err, DLCC_ERR_INVALID, "the distance threshold is %g px; it must be a positive number",
                     threshold);
  if (pred->n_rows != truth->n_rows)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s has %zu frames but the ground truth %s has %zu; frames are matched "
                     "by position, so both must cover the same frames of the same video",
                     pred_path, pred->n_rows, truth_path, truth->n_rows);
  for (size_t r = 0; r < pred->n_rows; r++) {
    long a = frame_number(pred->row_names[r]), b = frame_number(truth->row_names[r]);
    if (a >= 0 && b >= 0 && a != b)
      return dlcc_fail(err, DLCC_ERR_INVALID, "row %zu is frame %ld in %s but frame %ld in %s; both tables must "
                       "list the same frames in the same order", r, a, pred_path, b, truth_path);
  }
  return DLCC_OK;
}

static long find_bodypart(const dlcc_label_table *t, const char *bodypart) {
  for (size_t c = 0; c < t->n_columns; c++)
    if (!strcmp(t->columns[c].bodypart, bodypart)) return (long)c;
  return -1;
}

/* Appends to sb the body parts of `from` that `in` lacks; returns how many. */
static size_t list_missing(const dlcc_label_table *from, const dlcc_label_table *in, dlcc_strbuf *sb) {
  size_t n = 0;
  for (size_t c = 0; c < from->n_columns; c++)
    if (find_bodypart(in, from->columns[c].bodypart) < 0)
      dlcc_strbuf_printf(sb, "%s%s", n++ ? ", " : "", from->columns[c].bodypart);
  return n;
}

static dlcc_status check_bodyparts(const dlcc_label_table *pred, const char *pred_path, const dlcc_label_table *truth,
                                   const char *truth_path, dlcc_error *err) {
  dlcc_strbuf lacks_pred = {0}, lacks_truth = {0};
  size_t a = list_missing(truth, pred, &lacks_pred), b = list_missing(pred, truth, &lacks_truth);
  dlcc_status st = DLCC_OK;
  if (lacks_pred.failed || lacks_truth.failed) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  else if (a || b)
    st = dlcc_fail(err, DLCC_ERR_INVALID, "the body parts differ: %s lacks %s; %s lacks %s. Compare the analysis "
                   "of a video with the ground truth of the same project", pred_path, a ? lacks_pred.data : "none",
                   truth_path, b ? lacks_truth.data : "none");
  dlcc_strbuf_free(&lacks_pred);
  dlcc_strbuf_free(&lacks_truth);
  return st;
}

/* For frame `row`, the prediction column of each ground-truth column (-1: none). Single animal: the
 * column of the same body part, the same for every frame. */
static void match_columns(const dlcc_label_table *pred, const dlcc_label_table *truth, size_t row,
                          long *pred_column_of) {
  (void)row;
  for (size_t c = 0; c < truth->n_columns; c++) pred_column_of[c] = find_bodypart(pred, truth->columns[c].bodypart);
}

static void accumulate_frame(const dlcc_label_table *pred, const dlcc_label_table *truth, size_t row,
                             const long *pred_column_of, double threshold, column_sums *sums) {
  for (size_t c = 0; c < truth->n_columns; c++) {
    double tx = truth->values[dlcc_label_index(truth, row, c, 0)];
    double ty = truth->values[dlcc_label_index(truth, row, c, 1)];
    if (isnan(tx) || isnan(ty)) continue;
    sums[c].visible++;
    if (pred_column_of[c] < 0) continue;
    size_t pc = (size_t)pred_column_of[c];
    double px = pred->values[dlcc_label_index(pred, row, pc, 0)];
    double py = pred->values[dlcc_label_index(pred, row, pc, 1)];
    if (isnan(px) || isnan(py)) continue;
    double d = hypot(px - tx, py - ty);
    sums[c].compared++;
    sums[c].distance += d;
    if (d <= threshold) sums[c].within++;
  }
}

static void add_sums(column_sums *to, const column_sums *from) {
  to->visible += from->visible;
  to->compared += from->compared;
  to->within += from->within;
  to->distance += from->distance;
}

static dlcc_track_stats stats_of(const column_sums *s) {
  return (dlcc_track_stats){s->visible, s->compared, s->within, s->compared ? s->distance / (double)s->compared : NAN,
                            s->visible ? 100.0 * (double)s->within / (double)s->visible : NAN};
}

/* Groups the column totals by body part (first-appearance order) into out. */
static dlcc_status summarise(const dlcc_label_table *truth, const column_sums *sums, dlcc_track_errors *out,
                             dlcc_error *err) {
  size_t n = truth->n_columns;
  out->bodyparts = calloc(n ? n : 1, sizeof *out->bodyparts);
  out->per_bodypart = calloc(n ? n : 1, sizeof *out->per_bodypart);
  column_sums *groups = calloc(n ? n : 1, sizeof *groups), total = {0};
  bool ok = out->bodyparts && out->per_bodypart && groups;
  for (size_t c = 0; ok && c < n; c++) {
    size_t k = 0;
    while (k < out->n_bodyparts && strcmp(out->bodyparts[k], truth->columns[c].bodypart)) k++;
    if (k == out->n_bodyparts) ok = (out->bodyparts[out->n_bodyparts++] = strdup(truth->columns[c].bodypart)) != NULL;
    if (ok) add_sums(&groups[k], &sums[c]);
    add_sums(&total, &sums[c]);
  }
  for (size_t k = 0; ok && k < out->n_bodyparts; k++) out->per_bodypart[k] = stats_of(&groups[k]);
  out->overall = stats_of(&total);
  free(groups);
  return ok ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
}

dlcc_status dlcc_tracks_compare(const dlcc_label_table *pred, const char *pred_path, const dlcc_label_table *truth,
                                const char *truth_path, double threshold, dlcc_track_errors *out, dlcc_error *err) {
  memset(out, 0, sizeof *out);
  dlcc_status st = check_tables(pred, pred_path, truth, truth_path, threshold, err);
  if (!st) st = check_bodyparts(pred, pred_path, truth, truth_path, err);
  if (st) return st;
  size_t n = truth->n_columns ? truth->n_columns : 1;
  long *pred_column_of = malloc(n * sizeof *pred_column_of);
  column_sums *sums = calloc(n, sizeof *sums);
  if (!pred_column_of || !sums) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t row = 0; !st && row < truth->n_rows; row++) {
    match_columns(pred, truth, row, pred_column_of);
    accumulate_frame(pred, truth, row, pred_column_of, threshold, sums);
  }
  out->threshold = threshold;
  out->n_frames = truth->n_rows;
  if (!st) st = summarise(truth, sums, out, err);
  free(pred_column_of);
  free(sums);
  if (st) dlcc_track_errors_free(out);
  return st;
}

static void append_line(dlcc_strbuf *sb, const char *name, int name_width, const dlcc_track_stats *s) {
  dlcc_strbuf_printf(sb, "%-*s", name_width, name);
  if (isnan(s->mean_error)) dlcc_strbuf_printf(sb, "  %15s", "-");
  else dlcc_strbuf_printf(sb, "  %15.2f", s->mean_error);
  if (isnan(s->pct_within)) dlcc_strbuf_printf(sb, "  %12s", "-");
  else dlcc_strbuf_printf(sb, "  %11.1f%%", s->pct_within);
  dlcc_strbuf_printf(sb, "  %9zu\n", s->visible);
}

char *dlcc_tracks_format_table(const dlcc_track_errors *e) {
  int name_width = (int)strlen("body part");
  for (size_t k = 0; k < e->n_bodyparts; k++)
    if ((int)strlen(e->bodyparts[k]) > name_width) name_width = (int)strlen(e->bodyparts[k]);
  dlcc_strbuf sb = {0};
  char within[32];
  snprintf(within, sizeof within, "within %g px", e->threshold);
  dlcc_strbuf_printf(&sb, "%-*s  %15s  %12s  %9s\n", name_width, "body part", "mean error (px)", within, "visible");
  for (size_t k = 0; k < e->n_bodyparts; k++) append_line(&sb, e->bodyparts[k], name_width, &e->per_bodypart[k]);
  append_line(&sb, "all", name_width, &e->overall);
  dlcc_strbuf_printf(&sb, "%zu frames compared\n", e->n_frames);
  if (sb.failed) {
    dlcc_strbuf_free(&sb);
    return NULL;
  }
  return sb.data;
}

void dlcc_track_errors_free(dlcc_track_errors *e) {
  for (size_t k = 0; e->bodyparts && k < e->n_bodyparts; k++) free(e->bodyparts[k]);
  free(e->bodyparts);
  free(e->per_bodypart);
  memset(e, 0, sizeof *e);
}
