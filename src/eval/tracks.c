/* `dlcc evaluate-tracks` (see tracks.h): an analysis CSV against a ground truth of every frame. The
 * work is split so that multi-animal comparison only adds a matching step: match_columns (single
 * animal) or match_individual_columns (multi-animal) names, for one frame, the prediction column of
 * each ground-truth column; accumulate_frame adds that frame's distances; the totals are summed per
 * body part. */
#include "eval/tracks.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "eval/matching.h"
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
                                const char *truth_path, double threshold, bool multianimal, dlcc_error *err) {
  if (!multianimal && (pred->multianimal || truth->multianimal))
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "%s is a multi-animal table; dlcc evaluate-tracks compares "
                     "single-animal tables for now", pred->multianimal ? pred_path : truth_path);
  if (multianimal && (!pred->multianimal || !truth->multianimal))
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s is a single-animal table (no individuals row); a multi-animal "
                     "comparison needs a multi-animal analysis and ground truth", !pred->multianimal ? pred_path
                     : truth_path);
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
  dlcc_status st = check_tables(pred, pred_path, truth, truth_path, threshold, false, err);
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

/* Multi-animal comparison. */

static bool is_unique_column(const dlcc_label_column *c) { return !c->individual || !strcmp(c->individual, "single"); }

/* A multi-animal table's individuals ("single" left out, first-column order) and, for each of them
 * and each body part of `parts`, its column (-1 when the table has none). Names are borrowed. */
typedef struct individual_layout {
  size_t n;
  const char **names;
  long *column;  /* n x n_parts */
} individual_layout;

static long index_of(const char *const *names, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(names[i], name)) return (long)i;
  return -1;
}

static dlcc_status layout_individuals(const dlcc_label_table *t, const char *const *parts, size_t n_parts,
                                      individual_layout *l, dlcc_error *err) {
  size_t cap = t->n_columns ? t->n_columns : 1;
  l->names = calloc(cap, sizeof *l->names);
  l->column = malloc(cap * (n_parts ? n_parts : 1) * sizeof *l->column);
  if (!l->names || !l->column) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t c = 0; c < t->n_columns; c++) {
    const dlcc_label_column *col = &t->columns[c];
    if (is_unique_column(col)) continue;
    long g = index_of(l->names, l->n, col->individual);
    if (g < 0) {
      g = (long)l->n++;
      l->names[g] = col->individual;
      for (size_t k = 0; k < n_parts; k++) l->column[(size_t)g * n_parts + k] = -1;
    }
    long k = index_of(parts, n_parts, col->bodypart);
    if (k >= 0) l->column[(size_t)g * n_parts + (size_t)k] = (long)c;
  }
  return DLCC_OK;
}

/* The table's row as a pose array (n individuals x n_parts x n_out: x, y[, likelihood or NaN]). */
static void fill_poses(const dlcc_label_table *t, const individual_layout *l, size_t n_parts, size_t row,
                       size_t n_out, double *poses) {
  for (size_t g = 0; g < l->n; g++)
    for (size_t k = 0; k < n_parts; k++) {
      double *p = poses + (g * n_parts + k) * n_out;
      long c = l->column[g * n_parts + k];
      for (size_t v = 0; v < n_out; v++)
        p[v] = c >= 0 && v < t->n_coords ? t->values[dlcc_label_index(t, row, (size_t)c, v)] : NAN;
    }
}

size_t dlcc_count_id_switches(const long *track_of_individual, size_t n_frames, size_t n_individuals,
                              size_t *per_individual) {
  size_t total = 0;
  for (size_t g = 0; g < n_individuals; g++) {
    long last = -1;
    size_t n = 0;
    for (size_t t = 0; t < n_frames; t++) {
      long h = track_of_individual[t * n_individuals + g];
      if (h < 0) continue;
      if (last >= 0 && h != last) n++;
      last = h;
    }
    if (per_individual) per_individual[g] = n;
    total += n;
  }
  return total;
}

/* Everything one multi-animal comparison needs besides the output. */
typedef struct multi_work {
  size_t n_parts;
  const char **parts;           /* the ground truth's multi-animal body parts */
  individual_layout truth, pred;
  long *unique_pred_column;     /* per truth column: the prediction's "single" column of its body part */
  long *individual_of_column;   /* per truth column: its individual, -1 for "single" */
  long *part_of_column;         /* per truth column: its body part in parts */
  double *truth_xy, *pred_xyz;  /* one frame's poses */
  long *pred_of_truth;          /* one frame's matching */
} multi_work;

static void multi_work_free(multi_work *w) {
  free(w->parts);
  free(w->truth.names);
  free(w->truth.column);
  free(w->pred.names);
  free(w->pred.column);
  free(w->unique_pred_column);
  free(w->individual_of_column);
  free(w->part_of_column);
  free(w->truth_xy);
  free(w->pred_xyz);
  free(w->pred_of_truth);
}

static dlcc_status multi_work_init(const dlcc_label_table *pred, const dlcc_label_table *truth, multi_work *w,
                                   dlcc_error *err) {
  size_t nc = truth->n_columns ? truth->n_columns : 1;
  w->parts = calloc(nc, sizeof *w->parts);
  w->unique_pred_column = malloc(nc * sizeof *w->unique_pred_column);
  w->individual_of_column = malloc(nc * sizeof *w->individual_of_column);
  w->part_of_column = malloc(nc * sizeof *w->part_of_column);
  if (!w->parts || !w->unique_pred_column || !w->individual_of_column || !w->part_of_column)
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t c = 0; c < truth->n_columns; c++)
    if (!is_unique_column(&truth->columns[c]) && index_of(w->parts, w->n_parts, truth->columns[c].bodypart) < 0)
      w->parts[w->n_parts++] = truth->columns[c].bodypart;
  dlcc_status st = layout_individuals(truth, w->parts, w->n_parts, &w->truth, err);
  if (!st) st = layout_individuals(pred, w->parts, w->n_parts, &w->pred, err);
  if (st) return st;
  for (size_t c = 0; c < truth->n_columns; c++) {
    const dlcc_label_column *col = &truth->columns[c];
    w->unique_pred_column[c] = -1;
    w->individual_of_column[c] = is_unique_column(col) ? -1 : index_of(w->truth.names, w->truth.n, col->individual);
    w->part_of_column[c] = index_of(w->parts, w->n_parts, col->bodypart);
    for (size_t pc = 0; is_unique_column(col) && pc < pred->n_columns; pc++)
      if (is_unique_column(&pred->columns[pc]) && !strcmp(pred->columns[pc].bodypart, col->bodypart))
        w->unique_pred_column[c] = (long)pc;
  }
  size_t np = w->n_parts ? w->n_parts : 1;
  w->truth_xy = malloc((w->truth.n ? w->truth.n : 1) * np * 2 * sizeof *w->truth_xy);
  w->pred_xyz = malloc((w->pred.n ? w->pred.n : 1) * np * 3 * sizeof *w->pred_xyz);
  w->pred_of_truth = malloc((w->truth.n ? w->truth.n : 1) * sizeof *w->pred_of_truth);
  if (!w->truth_xy || !w->pred_xyz || !w->pred_of_truth) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  return DLCC_OK;
}

/* Matches the frame's tracks to the ground-truth individuals, records the matching, and names the
 * prediction column of each ground-truth column. */
static dlcc_status match_individual_columns(const dlcc_label_table *pred, const dlcc_label_table *truth, size_t row,
                                            multi_work *w, long *track_of_individual, long *pred_column_of,
                                            dlcc_error *err) {
  fill_poses(truth, &w->truth, w->n_parts, row, 2, w->truth_xy);
  fill_poses(pred, &w->pred, w->n_parts, row, 3, w->pred_xyz);
  dlcc_pose_frame frame = {w->n_parts, w->truth.n, w->truth_xy, w->pred.n, w->pred_xyz, NULL};
  dlcc_status st = dlcc_match_individuals(&frame, DLCC_MATCH_DISTANCE, NULL, w->pred_of_truth, err);
  if (st) return st;
  memcpy(track_of_individual, w->pred_of_truth, w->truth.n * sizeof *track_of_individual);
  for (size_t c = 0; c < truth->n_columns; c++) {
    long g = w->individual_of_column[c];
    if (g < 0) {
      pred_column_of[c] = w->unique_pred_column[c];
      continue;
    }
    long track = w->pred_of_truth[g];
    pred_column_of[c] = track < 0 ? -1 : w->pred.column[(size_t)track * w->n_parts + (size_t)w->part_of_column[c]];
  }
  return DLCC_OK;
}

static dlcc_status copy_names(const char **names, size_t n, char ***out, dlcc_error *err) {
  *out = calloc(n ? n : 1, sizeof **out);
  if (!*out) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++)
    if (!((*out)[i] = strdup(names[i]))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  return DLCC_OK;
}

dlcc_status dlcc_tracks_compare_multi(const dlcc_label_table *pred, const char *pred_path,
                                      const dlcc_label_table *truth, const char *truth_path, double threshold,
                                      dlcc_ma_track_errors *out, dlcc_error *err) {
  memset(out, 0, sizeof *out);
  dlcc_status st = check_tables(pred, pred_path, truth, truth_path, threshold, true, err);
  if (!st) st = check_bodyparts(pred, pred_path, truth, truth_path, err);
  if (st) return st;
  multi_work w = {0};
  st = multi_work_init(pred, truth, &w, err);
  size_t n = truth->n_columns ? truth->n_columns : 1;
  long *pred_column_of = malloc(n * sizeof *pred_column_of);
  column_sums *sums = calloc(n, sizeof *sums);
  if (!st && (!pred_column_of || !sums)) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  out->n_individuals = w.truth.n;
  out->n_tracks = w.pred.n;
  if (!st) st = copy_names(w.truth.names, w.truth.n, &out->individuals, err);
  if (!st) st = copy_names(w.pred.names, w.pred.n, &out->tracks, err);
  if (!st) {
    size_t cells = truth->n_rows * w.truth.n;
    out->track_of_individual = malloc((cells ? cells : 1) * sizeof *out->track_of_individual);
    out->id_switches = calloc(w.truth.n ? w.truth.n : 1, sizeof *out->id_switches);
    if (!out->track_of_individual || !out->id_switches) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  for (size_t row = 0; !st && row < truth->n_rows; row++) {
    st = match_individual_columns(pred, truth, row, &w, out->track_of_individual + row * w.truth.n,
                                  pred_column_of, err);
    if (!st) accumulate_frame(pred, truth, row, pred_column_of, threshold, sums);
  }
  out->keypoints.threshold = threshold;
  out->keypoints.n_frames = truth->n_rows;
  if (!st) st = summarise(truth, sums, &out->keypoints, err);
  if (!st) {
    out->total_id_switches =
        dlcc_count_id_switches(out->track_of_individual, truth->n_rows, w.truth.n, out->id_switches);
    for (size_t i = 0; i < truth->n_rows * w.truth.n; i++) out->n_matched += out->track_of_individual[i] >= 0;
  }
  multi_work_free(&w);
  free(pred_column_of);
  free(sums);
  if (st) dlcc_ma_track_errors_free(out);
  return st;
}

char *dlcc_tracks_format_multi(const dlcc_ma_track_errors *e) {
  char *table = dlcc_tracks_format_table(&e->keypoints);
  if (!table) return NULL;
  dlcc_strbuf sb = {0};
  dlcc_strbuf_append(&sb, table);
  free(table);
  dlcc_strbuf_printf(&sb, "identity switches: %zu", e->total_id_switches);
  for (size_t g = 0; g < e->n_individuals; g++)
    dlcc_strbuf_printf(&sb, "%s%s %zu", g ? ", " : " (", e->individuals[g], e->id_switches[g]);
  dlcc_strbuf_printf(&sb, "%s in %zu matched individual-frames; %zu tracks\n", e->n_individuals ? ")" : "",
                     e->n_matched, e->n_tracks);
  if (sb.failed) {
    dlcc_strbuf_free(&sb);
    return NULL;
  }
  return sb.data;
}

void dlcc_ma_track_errors_free(dlcc_ma_track_errors *e) {
  dlcc_track_errors_free(&e->keypoints);
  for (size_t g = 0; e->individuals && g < e->n_individuals; g++) free(e->individuals[g]);
  for (size_t t = 0; e->tracks && t < e->n_tracks; t++) free(e->tracks[t]);
  free(e->individuals);
  free(e->tracks);
  free(e->track_of_individual);
  free(e->id_switches);
  memset(e, 0, sizeof *e);
}
