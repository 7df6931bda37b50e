/* The tracklets file (tracklets_file.h): written in one go (one pose per line) through an atomic
 * file, read back with the JSON pull reader, every tracklet checked before it joins the set. */
#include "track/tracklets_file.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "track/track_json.h"
#include "util/fileio.h"
#include "util/json_stream.h"

/* Ids above this are refused when reading (the set indexes its tracklets by id). */
#define MAX_TRACKLET_ID 10000000

const char *dlcc_track_method_name(dlcc_track_method m) { return m == DLCC_TRACK_BOX ? "box" : "ellipse"; }
const char *dlcc_track_method_suffix(dlcc_track_method m) { return m == DLCC_TRACK_BOX ? "bx" : "el"; }

dlcc_status dlcc_track_method_parse(const char *text, dlcc_track_method *m, dlcc_error *err) {
  if (!strcmp(text, "ellipse")) *m = DLCC_TRACK_ELLIPSE;
  else if (!strcmp(text, "box")) *m = DLCC_TRACK_BOX;
  else if (!strcmp(text, "skeleton") || !strcmp(text, "ctd"))
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "track method \"%s\" is not available in dlcc; use ellipse or box",
                     text);
  else return dlcc_fail(err, DLCC_ERR_INVALID, "unknown track method \"%s\"; use ellipse or box", text);
  return DLCC_OK;
}

char *dlcc_tracklets_path(const char *video_path, const char *dest_folder, const char *scorer, dlcc_track_method m) {
  char *folder = dest_folder ? strdup(dest_folder) : dlcc_path_dirname(video_path);
  char *stem = dlcc_path_stem(video_path);
  char *name = folder && stem ? dlcc_strdupf("%s%s_%s.json", stem, scorer, dlcc_track_method_suffix(m)) : NULL;
  char *path = name ? dlcc_path_join(folder, name) : NULL;
  free(folder);
  free(stem);
  free(name);
  return path;
}

void dlcc_tracklets_file_free(dlcc_tracklets_file *t) {
  dlcc_track_header_free(&t->header);
  dlcc_json_free_strings(t->ignore_bodyparts, t->n_ignored);
  dlcc_tracklet_set_free(&t->tracklets);
  dlcc_tracklet_set_free(&t->single);
  *t = (dlcc_tracklets_file){0};
}

/* ------------------------------------------------------------------------------------------------
 * Writing. */

/* {"id": .., "frames": [..], "poses": [..]} (id < 0: no id, for "single"). */
static void append_tracklet(dlcc_strbuf *sb, const dlcc_tracklet *t, int num_joints, bool with_id) {
  dlcc_strbuf_append(sb, "{");
  if (with_id) dlcc_strbuf_printf(sb, "\"id\": %d, ", t->id);
  dlcc_strbuf_append(sb, "\"frames\": [");
  for (size_t e = 0; e < t->length; e++) dlcc_strbuf_printf(sb, e ? ", %d" : "%d", t->frames[e]);
  dlcc_strbuf_append(sb, "],\n      \"poses\": [");
  for (size_t e = 0; e < t->length; e++) {
    dlcc_strbuf_append(sb, e ? ",\n        [" : "\n        [");
    for (int j = 0; j < num_joints; j++) {
      if (j) dlcc_strbuf_append(sb, ", ");
      dlcc_track_json_append_keypoint(sb, t->poses + (e * (size_t)num_joints + (size_t)j) * 3);
    }
    dlcc_strbuf_append(sb, "]");
  }
  dlcc_strbuf_append(sb, "]}");
}

static dlcc_status check_set(const dlcc_tracklet_set *s, long n_frames, int num_joints, const char *what,
                             const char *path, dlcc_error *err) {
  if (s->num_joints != num_joints)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write %s: the %s have %d keypoints per pose, the header %d", path,
                     what, s->num_joints, num_joints);
  for (size_t i = 0; i < s->count; i++) {
    const dlcc_tracklet *t = &s->items[i];
    if (t->length && (t->frames[0] < 0 || t->frames[t->length - 1] >= n_frames))
      return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write %s: %s %d reaches frame %d, outside the %ld frames", path,
                       what, t->id, t->frames[t->frames[0] < 0 ? 0 : t->length - 1], n_frames);
  }
  return DLCC_OK;
}

static dlcc_status flush(dlcc_strbuf *sb, dlcc_atomic_file *f, const char *path, dlcc_error *err) {
  if (sb->failed) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  if (sb->len && fwrite(sb->data, 1, sb->len, f->fp) != sb->len)
    return dlcc_fail(err, DLCC_ERR_IO, "cannot write %s: %s", f->temp_path, strerror(errno));
  sb->len = 0;
  if (sb->data) sb->data[0] = '\0';
  return DLCC_OK;
}

dlcc_status dlcc_tracklets_write(const dlcc_tracklets_file *t, const char *path, dlcc_error *err) {
  const dlcc_track_header *h = &t->header;
  if (!h->scorer || !*h->scorer) return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write %s: the scorer is empty", path);
  if (h->n_bodyparts == 0) return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write %s: no body parts", path);
  if (t->n_frames < 0) return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write %s: %ld frames", path, t->n_frames);
  dlcc_status st = check_set(&t->tracklets, t->n_frames, (int)h->n_bodyparts, "tracklet", path, err);
  if (!st && t->single.count) st = check_set(&t->single, t->n_frames, (int)h->n_unique, "single tracklet", path, err);
  if (st) return st;
  char *folder = dlcc_path_dirname(path);
  if (!folder) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  st = dlcc_mkdirs(folder, err);
  free(folder);
  dlcc_atomic_file f;
  if (st || (st = dlcc_atomic_open(&f, path, err))) return st;

  dlcc_strbuf sb = {0};
  dlcc_track_json_append_header(&sb, DLCC_TRACKLETS_FORMAT, h);
  dlcc_strbuf_append(&sb, ",\n  \"track_method\": ");
  dlcc_json_append_string(&sb, dlcc_track_method_name(t->method));
  dlcc_strbuf_printf(&sb, ",\n  \"frames\": %ld", t->n_frames);
  if (t->has_params) {
    dlcc_strbuf_printf(&sb, ",\n  \"tracker\": {\"max_age\": %d, \"min_hits\": %d, \"iou_threshold\": ",
                       t->params.max_age, t->params.min_hits);
    dlcc_json_append_number(&sb, t->params.iou_threshold);
    dlcc_strbuf_append(&sb, ", \"boundingboxslack\": ");
    dlcc_json_append_number(&sb, t->params.box_slack);
    dlcc_strbuf_append(&sb, ", \"ignore_bodyparts\": ");
    dlcc_json_append_strings(&sb, t->ignore_bodyparts, t->n_ignored);
    dlcc_strbuf_append(&sb, "}");
  }
  dlcc_strbuf_append(&sb, ",\n  \"tracklets\": [");
  for (size_t i = 0; i < t->tracklets.count && !st; i++) {
    dlcc_strbuf_append(&sb, i ? ",\n    " : "\n    ");
    append_tracklet(&sb, &t->tracklets.items[i], (int)h->n_bodyparts, true);
    st = flush(&sb, &f, path, err);
  }
  if (!st) {
    dlcc_strbuf_append(&sb, t->tracklets.count ? "\n  ]" : "]");
    if (h->n_unique > 0) {
      dlcc_strbuf_append(&sb, ",\n  \"single\": ");
      const dlcc_tracklet empty = {0};
      append_tracklet(&sb, t->single.count ? &t->single.items[0] : &empty, (int)h->n_unique, false);
    }
    dlcc_strbuf_append(&sb, "\n}\n");
    st = flush(&sb, &f, path, err);
  }
  dlcc_strbuf_free(&sb);
  if (st) {
    dlcc_atomic_abort(&f);
    return st;
  }
  return dlcc_atomic_commit(&f, err);
}

/* ------------------------------------------------------------------------------------------------
 * Reading. */

/* One tracklet object as read, before it is checked. */
typedef struct raw_tracklet {
  long id;                 /* -1 when absent */
  int *frames;
  size_t n_frames, frames_cap;
  double *poses;
  size_t n_poses, poses_cap; /* poses read; keypoints per pose in *per_pose of the reading */
  bool has_frames, has_poses;
} raw_tracklet;

typedef struct reading {
  dlcc_json_reader *r;
  const char *path;
  dlcc_tracklets_file *t;
  char *format;
  bool has_method, has_frames, has_bodyparts, has_unique_names;
  /* what the poses have when the names were not read yet: the first one's count and place */
  size_t pose_size[2];
  int pose_line[2], pose_column[2];
  bool has_tracklets, has_single;
  /* tracklets kept as read until the names and frame count are known */
  raw_tracklet *raws;
  size_t n_raws, raws_cap;
  raw_tracklet single_raw;
  int single_line, single_column;
  int *raw_line, *raw_column;
} reading;

static dlcc_status nomem(const reading *rd, dlcc_error *err) {
  return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", rd->path);
}

static void raw_free(raw_tracklet *t) {
  free(t->frames);
  free(t->poses);
  *t = (raw_tracklet){.id = -1};
}

static dlcc_status read_frames(reading *rd, const char *what, raw_tracklet *raw, dlcc_error *err) {
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(rd->r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_BEGIN_ARRAY)
    return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "%s.frames should be a list of frame numbers, not %s",
                              what, dlcc_json_kind_name(tok.kind));
  for (;;) {
    if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
    if (tok.kind == DLCC_JSON_END_ARRAY) return DLCC_OK;
    if (tok.kind != DLCC_JSON_NUMBER || tok.number != floor(tok.number) || tok.number < 0 || tok.number > INT32_MAX)
      return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "%s.frames[%zu] should be a frame number (a whole "
                                "number >= 0)", what, raw->n_frames);
    int frame = (int)tok.number;
    if (raw->n_frames && frame <= raw->frames[raw->n_frames - 1])
      return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "%s.frames[%zu] is %d, not after the frame before "
                                "it (%d): frames must increase", what, raw->n_frames, frame,
                                raw->frames[raw->n_frames - 1]);
    if (raw->n_frames == raw->frames_cap) {
      size_t cap = raw->frames_cap ? 2 * raw->frames_cap : 64;
      int *f = realloc(raw->frames, cap * sizeof *f);
      if (!f) return nomem(rd, err);
      raw->frames = f;
      raw->frames_cap = cap;
    }
    raw->frames[raw->n_frames++] = frame;
  }
}

/* One keypoint: null, or [x, y, score] (null numbers NaN). */
/* "poses": a list of poses, each a list of keypoints; which = 0 (tracklets) or 1 (single). */
static dlcc_status read_poses(reading *rd, const char *what, raw_tracklet *raw, int which, dlcc_error *err) {
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(rd->r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_BEGIN_ARRAY)
    return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "%s.poses should be a list of poses, not %s", what,
                              dlcc_json_kind_name(tok.kind));
  const bool names_known = which == 0 ? rd->has_bodyparts : rd->has_unique_names;
  const size_t names = which == 0 ? rd->t->header.n_bodyparts : rd->t->header.n_unique;
  const char *names_key = which == 0 ? "bodyparts" : "uniquebodyparts";
  for (;;) {
    if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
    if (tok.kind == DLCC_JSON_END_ARRAY) return DLCC_OK;
    char pose_what[128];
    snprintf(pose_what, sizeof pose_what, "%s.poses[%zu]", what, raw->n_poses);
    if (tok.kind != DLCC_JSON_BEGIN_ARRAY)
      return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "%s should be a list of keypoints, not %s", pose_what,
                                dlcc_json_kind_name(tok.kind));
    const dlcc_json_token at = tok;
    size_t n = 0;
    for (;; n++) {
      if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
      if (tok.kind == DLCC_JSON_END_ARRAY) break;
      size_t need = (raw->n_poses * (rd->pose_size[which] ? rd->pose_size[which] : n + 1) + n + 1) * 3;
      if (need > raw->poses_cap) {
        size_t cap = raw->poses_cap ? raw->poses_cap : 256;
        while (cap < need) cap *= 2;
        double *p = realloc(raw->poses, cap * sizeof *p);
        if (!p) return nomem(rd, err);
        raw->poses = p;
        raw->poses_cap = cap;
      }
      size_t base = raw->n_poses * (rd->pose_size[which] ? rd->pose_size[which] : 0);
      char keypoint_what[320];
      snprintf(keypoint_what, sizeof keypoint_what, "%s[%zu]", pose_what, n);
      if ((st = dlcc_track_json_read_keypoint(rd->r, &tok, keypoint_what, raw->poses + (base + n) * 3, err)))
        return st;
    }
    if (names_known && n != names)
      return dlcc_json_error_at(rd->r, &at, err, DLCC_ERR_PARSE, "%s has %zu keypoints; %s lists %zu", pose_what, n,
                                names_key, names);
    if (rd->pose_line[which] == 0) {
      rd->pose_size[which] = n;
      rd->pose_line[which] = at.line;
      rd->pose_column[which] = at.column;
    } else if (n != rd->pose_size[which]) {
      return dlcc_json_error_at(rd->r, &at, err, DLCC_ERR_PARSE, "%s has %zu keypoints where earlier poses have %zu",
                                pose_what, n, rd->pose_size[which]);
    }
    raw->n_poses++;
  }
}

/* One {"id", "frames", "poses"} object; which = 0 (a tracklet, id required) or 1 (single). */
static dlcc_status read_raw(reading *rd, const dlcc_json_token *first, const char *what, int which, raw_tracklet *raw,
                            dlcc_error *err) {
  *raw = (raw_tracklet){.id = -1};
  if (first->kind != DLCC_JSON_BEGIN_OBJECT)
    return dlcc_json_error_at(rd->r, first, err, DLCC_ERR_PARSE,
                              "%s should be an object {\"id\": ..., \"frames\": [...], \"poses\": [...]}, not %s", what,
                              dlcc_json_kind_name(first->kind));
  dlcc_status st;
  for (;;) {
    dlcc_json_token tok;
    if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
    if (tok.kind == DLCC_JSON_END_OBJECT) break;
    if (!strcmp(tok.text, "id") && which == 0) {
      char item[96];
      snprintf(item, sizeof item, "%s.id", what);
      if ((st = dlcc_json_read_long(rd->r, item, 0, MAX_TRACKLET_ID, &raw->id, err))) return st;
    } else if (!strcmp(tok.text, "frames")) {
      if (raw->has_frames) return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "%s has \"frames\" twice", what);
      raw->has_frames = true;
      if ((st = read_frames(rd, what, raw, err))) return st;
    } else if (!strcmp(tok.text, "poses")) {
      if (raw->has_poses) return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "%s has \"poses\" twice", what);
      raw->has_poses = true;
      if ((st = read_poses(rd, what, raw, which, err))) return st;
    } else {
      dlcc_json_token value;
      if ((st = dlcc_json_next(rd->r, &value, err)) || (st = dlcc_json_skip(rd->r, &value, err))) return st;
    }
  }
  if (which == 0 && raw->id < 0)
    return dlcc_json_error_at(rd->r, first, err, DLCC_ERR_PARSE, "%s has no \"id\"", what);
  if (!raw->has_frames || !raw->has_poses)
    return dlcc_json_error_at(rd->r, first, err, DLCC_ERR_PARSE, "%s has no \"%s\"", what,
                              raw->has_frames ? "poses" : "frames");
  if (raw->n_frames != raw->n_poses)
    return dlcc_json_error_at(rd->r, first, err, DLCC_ERR_PARSE, "%s has %zu frames but %zu poses", what, raw->n_frames,
                              raw->n_poses);
  for (size_t i = 0; i < rd->n_raws && which == 0; i++)
    if (rd->raws[i].id == raw->id)
      return dlcc_json_error_at(rd->r, first, err, DLCC_ERR_PARSE, "%s: id %ld is used by tracklets[%zu] too", what,
                                raw->id, i);
  return DLCC_OK;
}

static dlcc_status read_tracklets(reading *rd, const dlcc_json_token *key, dlcc_error *err) {
  if (rd->has_tracklets) return dlcc_json_error_at(rd->r, key, err, DLCC_ERR_PARSE, "\"tracklets\" appears twice");
  rd->has_tracklets = true;
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(rd->r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_BEGIN_ARRAY)
    return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "tracklets should be a list, not %s",
                              dlcc_json_kind_name(tok.kind));
  for (;;) {
    if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
    if (tok.kind == DLCC_JSON_END_ARRAY) return DLCC_OK;
    if (rd->n_raws == rd->raws_cap) {
      size_t cap = rd->raws_cap ? 2 * rd->raws_cap : 16;
      raw_tracklet *raws = realloc(rd->raws, cap * sizeof *raws);
      int *lines = realloc(rd->raw_line, cap * sizeof *lines);
      if (lines) rd->raw_line = lines;
      int *columns = lines ? realloc(rd->raw_column, cap * sizeof *columns) : NULL;
      if (columns) rd->raw_column = columns;
      if (raws) rd->raws = raws;
      if (!raws || !lines || !columns) return nomem(rd, err);
      rd->raws_cap = cap;
    }
    char what[48];
    snprintf(what, sizeof what, "tracklets[%zu]", rd->n_raws);
    raw_tracklet raw;
    st = read_raw(rd, &tok, what, 0, &raw, err);
    if (st) {
      raw_free(&raw);
      return st;
    }
    rd->raw_line[rd->n_raws] = tok.line;
    rd->raw_column[rd->n_raws] = tok.column;
    rd->raws[rd->n_raws++] = raw;
  }
}

static dlcc_status read_tracker(reading *rd, dlcc_error *err) {
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(rd->r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_BEGIN_OBJECT)
    return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "tracker should be an object, not %s",
                              dlcc_json_kind_name(tok.kind));
  dlcc_tracker_params *p = &rd->t->params;
  rd->t->has_params = true;
  for (;;) {
    if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
    if (tok.kind == DLCC_JSON_END_OBJECT) return DLCC_OK;
    long v;
    if (!strcmp(tok.text, "max_age")) {
      if ((st = dlcc_json_read_long(rd->r, "tracker.max_age", 0, INT32_MAX, &v, err))) return st;
      p->max_age = (int)v;
    } else if (!strcmp(tok.text, "min_hits")) {
      if ((st = dlcc_json_read_long(rd->r, "tracker.min_hits", 0, INT32_MAX, &v, err))) return st;
      p->min_hits = (int)v;
    } else if (!strcmp(tok.text, "iou_threshold")) {
      if ((st = dlcc_json_read_number(rd->r, "tracker.iou_threshold", false, &p->iou_threshold, err))) return st;
    } else if (!strcmp(tok.text, "boundingboxslack")) {
      if ((st = dlcc_json_read_number(rd->r, "tracker.boundingboxslack", false, &p->box_slack, err))) return st;
    } else if (!strcmp(tok.text, "ignore_bodyparts")) {
      dlcc_json_free_strings(rd->t->ignore_bodyparts, rd->t->n_ignored);
      rd->t->ignore_bodyparts = NULL;
      rd->t->n_ignored = 0;
      if ((st = dlcc_json_read_strings(rd->r, "tracker.ignore_bodyparts", &rd->t->ignore_bodyparts, &rd->t->n_ignored,
                                       err)))
        return st;
    } else {
      dlcc_json_token value;
      if ((st = dlcc_json_next(rd->r, &value, err)) || (st = dlcc_json_skip(rd->r, &value, err))) return st;
    }
  }
}

static dlcc_status read_top_level(reading *rd, dlcc_error *err) {
  dlcc_tracklets_file *t = rd->t;
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(rd->r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_BEGIN_OBJECT)
    return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "expected an object ({\"format\": \"%s\", ...}), "
                              "found %s", DLCC_TRACKLETS_FORMAT, dlcc_json_kind_name(tok.kind));
  for (;;) {
    if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
    if (tok.kind == DLCC_JSON_END_OBJECT) break;
    const dlcc_json_token key = tok;
    const char *k = tok.text;
    if (!strcmp(k, "format")) {
      free(rd->format);
      rd->format = NULL;
      if ((st = dlcc_json_read_string(rd->r, "format", &rd->format, err))) return st;
      if (strcmp(rd->format, DLCC_TRACKLETS_FORMAT))
        return dlcc_json_error_at(rd->r, &key, err, DLCC_ERR_PARSE,
                                  "the format is \"%s\"; a tracklets file says \"%s\"",
                                  rd->format, DLCC_TRACKLETS_FORMAT);
    } else if (!strcmp(k, "scorer") || !strcmp(k, "video")) {
      bool scorer = !strcmp(k, "scorer");
      char **slot = scorer ? &t->header.scorer : &t->header.video;
      free(*slot);
      *slot = NULL;
      if ((st = dlcc_json_read_string(rd->r, scorer ? "scorer" : "video", slot, err))) return st;
    } else if (!strcmp(k, "individuals")) {
      dlcc_json_free_strings(t->header.individuals, t->header.n_individuals);
      t->header.individuals = NULL;
      t->header.n_individuals = 0;
      if ((st = dlcc_json_read_strings(rd->r, "individuals", &t->header.individuals, &t->header.n_individuals, err)))
        return st;
    } else if (!strcmp(k, "bodyparts")) {
      if (rd->has_bodyparts) return dlcc_json_error_at(rd->r, &key, err, DLCC_ERR_PARSE, "\"bodyparts\" appears twice");
      if ((st = dlcc_json_read_strings(rd->r, "bodyparts", &t->header.bodyparts, &t->header.n_bodyparts, err)))
        return st;
      rd->has_bodyparts = true;
    } else if (!strcmp(k, "uniquebodyparts")) {
      if (rd->has_unique_names)
        return dlcc_json_error_at(rd->r, &key, err, DLCC_ERR_PARSE, "\"uniquebodyparts\" appears twice");
      if ((st = dlcc_json_read_strings(rd->r, "uniquebodyparts", &t->header.uniquebodyparts, &t->header.n_unique, err)))
        return st;
      rd->has_unique_names = true;
    } else if (!strcmp(k, "track_method")) {
      char *method = NULL;
      if ((st = dlcc_json_read_string(rd->r, "track_method", &method, err))) return st;
      dlcc_error why;
      st = dlcc_track_method_parse(method, &t->method, &why);
      free(method);
      if (st) return dlcc_json_error_at(rd->r, &key, err, DLCC_ERR_PARSE, "%s", why.message);
      rd->has_method = true;
    } else if (!strcmp(k, "frames")) {
      if ((st = dlcc_json_read_long(rd->r, "frames", 0, INT32_MAX, &t->n_frames, err))) return st;
      rd->has_frames = true;
    } else if (!strcmp(k, "tracker")) {
      if ((st = read_tracker(rd, err))) return st;
    } else if (!strcmp(k, "tracklets")) {
      if ((st = read_tracklets(rd, &key, err))) return st;
    } else if (!strcmp(k, "single")) {
      if (rd->has_single) return dlcc_json_error_at(rd->r, &key, err, DLCC_ERR_PARSE, "\"single\" appears twice");
      rd->has_single = true;
      if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
      rd->single_line = tok.line;
      rd->single_column = tok.column;
      if (tok.kind != DLCC_JSON_NULL && (st = read_raw(rd, &tok, "single", 1, &rd->single_raw, err))) return st;
    } else {
      dlcc_json_token value;
      if ((st = dlcc_json_next(rd->r, &value, err)) || (st = dlcc_json_skip(rd->r, &value, err))) return st;
    }
  }
  return dlcc_json_next(rd->r, &tok, err);
}

/* Moves a checked raw tracklet into set (id: its id). */
static dlcc_status add_raw(reading *rd, dlcc_tracklet_set *set, int id, raw_tracklet *raw, const char *what, int line,
                           int column, dlcc_error *err) {
  if (raw->n_frames && raw->frames[raw->n_frames - 1] >= rd->t->n_frames)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: %s has frame %d, but the video has %ld frames",
                     rd->path, line, column, what, raw->frames[raw->n_frames - 1], rd->t->n_frames);
  const size_t per_pose = (size_t)set->num_joints * 3;
  for (size_t e = 0; e < raw->n_frames; e++) {
    dlcc_status st = dlcc_tracklet_set_append(set, id, raw->frames[e], raw->poses + e * per_pose, err);
    if (st) return st;
  }
  return DLCC_OK;
}

static dlcc_status finish(reading *rd, dlcc_error *err) {
  dlcc_tracklets_file *t = rd->t;
  const char *p = rd->path;
  if (!rd->format)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s has no \"format\": it is not a dlcc tracklets file (\"format\": \"%s\")",
                     p, DLCC_TRACKLETS_FORMAT);
  if (!t->header.scorer) return dlcc_fail(err, DLCC_ERR_PARSE, "%s has no \"scorer\"", p);
  if (!rd->has_bodyparts || t->header.n_bodyparts == 0)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s has no \"bodyparts\" (the multi-animal body parts, in order)", p);
  if (!rd->has_method) return dlcc_fail(err, DLCC_ERR_PARSE, "%s has no \"track_method\" (ellipse or box)", p);
  if (!rd->has_frames) return dlcc_fail(err, DLCC_ERR_PARSE, "%s has no \"frames\" (the number of frames analysed)", p);
  if (!rd->has_tracklets) return dlcc_fail(err, DLCC_ERR_PARSE, "%s has no \"tracklets\"", p);
  if (rd->pose_line[0] && rd->pose_size[0] != t->header.n_bodyparts)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: the poses have %zu keypoints; bodyparts lists %zu", p,
                     rd->pose_line[0], rd->pose_column[0], rd->pose_size[0], t->header.n_bodyparts);
  if (rd->pose_line[1] && rd->pose_size[1] != t->header.n_unique)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: the single poses have %zu keypoints; "
                     "uniquebodyparts lists %zu", p, rd->pose_line[1], rd->pose_column[1], rd->pose_size[1],
                     t->header.n_unique);
  if (!t->header.video && !(t->header.video = strdup(""))) return nomem(rd, err);
  if (t->has_params) t->params.method = t->method;
  dlcc_tracklet_set_init(&t->tracklets, (int)t->header.n_bodyparts);
  dlcc_tracklet_set_init(&t->single, (int)t->header.n_unique);
  for (size_t i = 0; i < rd->n_raws; i++) {
    char what[48];
    snprintf(what, sizeof what, "tracklets[%zu]", i);
    dlcc_status st = add_raw(rd, &t->tracklets, (int)rd->raws[i].id, &rd->raws[i], what, rd->raw_line[i],
                             rd->raw_column[i], err);
    if (st) return st;
  }
  if (rd->single_raw.n_frames > 0 && t->header.n_unique == 0)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: a single tracklet, but uniquebodyparts is empty", p,
                     rd->single_line, rd->single_column);
  if (rd->single_raw.n_frames > 0)
    return add_raw(rd, &t->single, 0, &rd->single_raw, "single", rd->single_line, rd->single_column, err);
  return DLCC_OK;
}

dlcc_status dlcc_tracklets_read(const char *path, dlcc_tracklets_file *t, dlcc_error *err) {
  *t = (dlcc_tracklets_file){0};
  dlcc_tracker_params_default(&t->params, DLCC_TRACK_ELLIPSE);
  reading rd = {.path = path, .t = t, .single_raw = {.id = -1}};
  dlcc_status st = dlcc_json_reader_open(&rd.r, path, err);
  if (!st) st = read_top_level(&rd, err);
  if (!st) st = finish(&rd, err);
  dlcc_json_reader_close(rd.r);
  free(rd.format);
  for (size_t i = 0; i < rd.n_raws; i++) raw_free(&rd.raws[i]);
  free(rd.raws);
  free(rd.raw_line);
  free(rd.raw_column);
  raw_free(&rd.single_raw);
  if (st) dlcc_tracklets_file_free(t);
  return st;
}
