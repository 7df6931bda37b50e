/* Video analysis output: the CSV streamed to a temp file frame by frame (header and rows formatted by
 * project/labels, so the text is the one dlcc_labels_write and pandas write), renamed into place as
 * the complete or the partial CSV, and the metadata JSON beside it. */
#include "infer/analysis_output.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "project/labels.h"
#include "util/fileio.h"

struct dlcc_analysis_writer {
  dlcc_label_table columns;      /* the CSV's header: no rows, n_coords 3 */
  dlcc_atomic_file csv;          /* the temp file being written */
  dlcc_strbuf rows;              /* reused for each append */
  long frames;
  char *video_path, *snapshot, *net_type;
  char *paths[4];                /* indexed by dlcc_analysis_file */
  dlcc_analysis_info info;       /* its strings point to the copies above or into columns */
};

static const char *const path_suffixes[4] = {".csv", "_meta.json", ".partial.csv", ".partial_meta.json"};

char *dlcc_analysis_path(const char *video_path, const char *dest_folder, const char *scorer,
                         dlcc_analysis_file which) {
  char *folder = dest_folder ? strdup(dest_folder) : dlcc_path_dirname(video_path);
  char *stem = dlcc_path_stem(video_path);
  char *name = folder && stem ? dlcc_strdupf("%s%s%s", stem, scorer, path_suffixes[which]) : NULL;
  char *path = name ? dlcc_path_join(folder, name) : NULL;
  free(folder);
  free(stem);
  free(name);
  return path;
}

/* ------------------------------------------------------------------------------------------------
 * Opening. */

static dlcc_status check_info(const dlcc_analysis_info *info, dlcc_error *err) {
  if (!info->video_path || !*info->video_path)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write an analysis without the video's path");
  const char *video = info->video_path;
  if (!info->scorer || !*info->scorer)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write the analysis of %s: the scorer name is empty", video);
  if (info->n_bodyparts == 0 || !info->bodyparts)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write the analysis of %s: the network has no body parts "
                     "(pose_cfg.yaml's all_joints_names is empty)", video);
  for (size_t i = 0; i < info->n_bodyparts; i++)
    if (!info->bodyparts[i] || !*info->bodyparts[i])
      return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write the analysis of %s: body part %zu has no name "
                       "(pose_cfg.yaml's all_joints_names)", video, i);
  if (info->width <= 0 || info->height <= 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write the analysis of %s: the frame size %d x %d is not "
                     "positive", video, info->width, info->height);
  return DLCC_OK;
}

static void writer_free(dlcc_analysis_writer *w) {
  dlcc_labels_free(&w->columns);
  dlcc_strbuf_free(&w->rows);
  free(w->video_path);
  free(w->snapshot);
  free(w->net_type);
  for (int i = 0; i < 4; i++) free(w->paths[i]);
  free(w);
}

static char *strdup_or_null(const char *s, bool *failed) {
  if (!s) return NULL;
  char *copy = strdup(s);
  if (!copy) *failed = true;
  return copy;
}

/* Copies info's strings into w and points w->info at the copies. */
static bool copy_info(dlcc_analysis_writer *w, const dlcc_analysis_info *info) {
  bool failed = false;
  w->video_path = strdup_or_null(info->video_path, &failed);
  w->snapshot = strdup_or_null(info->snapshot, &failed);
  w->net_type = strdup_or_null(info->net_type, &failed);
  for (int i = 0; i < 4 && !failed; i++) {
    w->paths[i] = dlcc_analysis_path(info->video_path, info->dest_folder, info->scorer, (dlcc_analysis_file)i);
    failed = !w->paths[i];
  }
  w->info = *info;
  w->info.video_path = w->video_path;
  w->info.dest_folder = NULL;
  w->info.scorer = w->columns.scorer;
  w->info.bodyparts = NULL;
  w->info.snapshot = w->snapshot;
  w->info.net_type = w->net_type;
  if (w->info.start_time == 0) w->info.start_time = (double)time(NULL);
  return !failed;
}

static dlcc_status write_header(dlcc_analysis_writer *w, dlcc_error *err) {
  dlcc_labels_append_header(&w->columns, &w->rows);
  if (w->rows.failed) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", w->paths[DLCC_ANALYSIS_CSV]);
  if (fwrite(w->rows.data, 1, w->rows.len, w->csv.fp) != w->rows.len)
    return dlcc_fail(err, DLCC_ERR_IO, "cannot write %s: %s", w->csv.temp_path, strerror(errno));
  return DLCC_OK;
}

dlcc_status dlcc_analysis_writer_open(dlcc_analysis_writer **out, const dlcc_analysis_info *info, dlcc_error *err) {
  *out = NULL;
  dlcc_status st = check_info(info, err);
  if (st) return st;
  if (info->dest_folder && (st = dlcc_mkdirs(info->dest_folder, err))) return st;
  dlcc_analysis_writer *w = calloc(1, sizeof *w);
  if (!w) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening the analysis of %s", info->video_path);
  st = dlcc_labels_create(&w->columns, info->scorer, false, 3, NULL, info->bodyparts, info->n_bodyparts, NULL, 0,
                          err);
  if (!st && !copy_info(w, info))
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening the analysis of %s", info->video_path);
  if (!st) st = dlcc_atomic_open(&w->csv, w->paths[DLCC_ANALYSIS_CSV], err);
  if (!st && (st = write_header(w, err))) dlcc_atomic_abort(&w->csv);
  if (st) {
    writer_free(w);
    return st;
  }
  *out = w;
  return DLCC_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Appending. */

dlcc_status dlcc_analysis_writer_append(dlcc_analysis_writer *w, const double *pose, size_t n_frames,
                                        dlcc_error *err) {
  size_t per_frame = w->columns.n_columns * 3;
  w->rows.len = 0;
  for (size_t f = 0; f < n_frames; f++) {
    char frame_name[24];
    snprintf(frame_name, sizeof frame_name, "%ld", w->frames + (long)f);
    /* with one index column a row always formats */
    (void)dlcc_labels_append_row(&w->columns, frame_name, pose + f * per_frame, &w->rows);
  }
  if (w->rows.failed) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", w->paths[DLCC_ANALYSIS_CSV]);
  if (w->rows.len && fwrite(w->rows.data, 1, w->rows.len, w->csv.fp) != w->rows.len)
    return dlcc_fail(err, DLCC_ERR_IO, "cannot write %s: %s", w->csv.temp_path, strerror(errno));
  w->frames += (long)n_frames;
  return DLCC_OK;
}

long dlcc_analysis_writer_frames(const dlcc_analysis_writer *w) { return w->frames; }

/* ------------------------------------------------------------------------------------------------
 * Metadata: DeepLabCut's _meta.pickle keys (under "data", as it nests them) plus what dlcc adds. */

static void add_int_array(cJSON *obj, const char *key, const int *values, int n) {
  cJSON *array = cJSON_AddArrayToObject(obj, key);
  for (int i = 0; array && i < n; i++) cJSON_AddItemToArray(array, cJSON_CreateNumber(values[i]));
}

static void add_string_or_null(cJSON *obj, const char *key, const char *value) {
  if (value) cJSON_AddStringToObject(obj, key, value);
  else cJSON_AddNullToObject(obj, key);
}

static void add_deeplabcut_fields(cJSON *data, const dlcc_analysis_info *info, long frames, double stop) {
  cJSON_AddNumberToObject(data, "start", info->start_time);
  cJSON_AddNumberToObject(data, "stop", stop);
  cJSON_AddNumberToObject(data, "run_duration", stop - info->start_time);
  cJSON_AddStringToObject(data, "Scorer", info->scorer);
  if (isfinite(info->fps)) cJSON_AddNumberToObject(data, "fps", info->fps);
  else cJSON_AddNullToObject(data, "fps");
  cJSON_AddNumberToObject(data, "batch_size", info->batch_size);
  add_int_array(data, "frame_dimensions", (const int[2]){info->height, info->width}, 2);
  cJSON_AddNumberToObject(data, "nframes", (double)frames);
  cJSON_AddNumberToObject(data, "iteration (active-learning)", info->iteration);
  cJSON_AddNumberToObject(data, "training set fraction", info->train_fraction);
  cJSON_AddBoolToObject(data, "cropping", info->cropping);
  const int whole_frame[4] = {0, info->width, 0, info->height};
  add_int_array(data, "cropping_parameters", info->cropping ? info->crop : whole_frame, 4);
}

static void add_dlcc_fields(cJSON *data, const dlcc_analysis_info *info, long frames, const char *csv_name,
                            const char *reason) {
  char date[32] = "";
  time_t start = (time_t)info->start_time;
  struct tm utc;
  if (gmtime_r(&start, &utc)) strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
  cJSON_AddStringToObject(data, "date", date);
  cJSON_AddStringToObject(data, "dlcc_version", DLCC_VERSION);
  cJSON_AddStringToObject(data, "video", info->video_path);
  add_string_or_null(data, "snapshot", info->snapshot);
  add_string_or_null(data, "net_type", info->net_type);
  add_string_or_null(data, "precision", info->precision);
  cJSON_AddNumberToObject(data, "shuffle", info->shuffle);
  if (info->frames_in_container >= 0)
    cJSON_AddNumberToObject(data, "frames_in_container", (double)info->frames_in_container);
  else
    cJSON_AddNullToObject(data, "frames_in_container");
  cJSON_AddStringToObject(data, "csv", csv_name);
  cJSON_AddBoolToObject(data, "complete", reason == NULL);
  cJSON_AddNumberToObject(data, "frames_analysed", (double)frames);
  cJSON_AddNumberToObject(data, "last_good_frame", (double)(frames - 1));
  if (reason) cJSON_AddStringToObject(data, "reason", reason);
}

/* The metadata text (caller frees); NULL when out of memory. */
static char *metadata_json(const dlcc_analysis_writer *w, const char *csv_path, const char *reason) {
  cJSON *root = cJSON_CreateObject();
  cJSON *data = root ? cJSON_AddObjectToObject(root, "data") : NULL;
  char *csv_name = dlcc_path_basename(csv_path);
  char *text = NULL;
  if (data && csv_name) {
    add_deeplabcut_fields(data, &w->info, w->frames, (double)time(NULL));
    add_dlcc_fields(data, &w->info, w->frames, csv_name, reason);
    text = cJSON_Print(root);
  }
  cJSON_Delete(root);
  free(csv_name);
  return text;
}

static dlcc_status write_metadata(const dlcc_analysis_writer *w, dlcc_analysis_file meta, const char *csv_path,
                                  const char *reason, dlcc_error *err) {
  char *text = metadata_json(w, csv_path, reason);
  if (!text) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", w->paths[meta]);
  dlcc_status st = dlcc_file_write_atomic(w->paths[meta], text, strlen(text), err);
  free(text);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Ending. */

/* Renames the temp file to paths[which] (instead of the path it was opened for). */
static dlcc_status commit_csv_as(dlcc_analysis_writer *w, dlcc_analysis_file which, dlcc_error *err) {
  char *target = strdup(w->paths[which]);
  if (!target) {
    dlcc_atomic_abort(&w->csv);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", w->paths[which]);
  }
  free(w->csv.final_path);
  w->csv.final_path = target;
  return dlcc_atomic_commit(&w->csv, err);
}

dlcc_status dlcc_analysis_writer_finish(dlcc_analysis_writer *w, dlcc_error *err) {
  dlcc_status st = commit_csv_as(w, DLCC_ANALYSIS_CSV, err);
  if (!st) st = write_metadata(w, DLCC_ANALYSIS_META, w->paths[DLCC_ANALYSIS_CSV], NULL, err);
  if (!st) { /* the complete output supersedes an earlier run's partial one; one that stays is harmless */
    unlink(w->paths[DLCC_ANALYSIS_PARTIAL_CSV]);
    unlink(w->paths[DLCC_ANALYSIS_PARTIAL_META]);
  }
  writer_free(w);
  return st;
}

dlcc_status dlcc_analysis_writer_finish_partial(dlcc_analysis_writer *w, const char *reason, dlcc_error *err) {
  if (w->frames == 0) {
    dlcc_analysis_writer_abort(w);
    return DLCC_OK;
  }
  dlcc_status st = commit_csv_as(w, DLCC_ANALYSIS_PARTIAL_CSV, err);
  if (!st)
    st = write_metadata(w, DLCC_ANALYSIS_PARTIAL_META, w->paths[DLCC_ANALYSIS_PARTIAL_CSV],
                        reason && *reason ? reason : "stopped before the end of the video", err);
  writer_free(w);
  return st;
}

void dlcc_analysis_writer_abort(dlcc_analysis_writer *w) {
  if (!w) return;
  dlcc_atomic_abort(&w->csv);
  writer_free(w);
}
