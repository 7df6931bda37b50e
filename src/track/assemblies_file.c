/* The assemblies file (assemblies_file.h): a streaming writer (one frame per line, the unique parts
 * kept as text until the end because they follow the assemblies) and a pull reader that checks
 * every entry against the header as it goes. */
#include "track/assemblies_file.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "track/track_json.h"
#include "util/fileio.h"
#include "util/json_stream.h"

/* ------------------------------------------------------------------------------------------------
 * Header. */

static char **copy_strings(char *const *s, size_t n, bool *failed) {
  if (n == 0) return NULL;
  char **out = calloc(n, sizeof *out);
  if (!out) {
    *failed = true;
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    if (!(out[i] = strdup(s[i] ? s[i] : ""))) *failed = true;
  return out;
}

dlcc_status dlcc_track_header_copy(dlcc_track_header *dst, const dlcc_track_header *src, dlcc_error *err) {
  bool failed = false;
  *dst = (dlcc_track_header){.n_individuals = src->n_individuals,
                             .n_bodyparts = src->n_bodyparts,
                             .n_unique = src->n_unique};
  dst->scorer = strdup(src->scorer ? src->scorer : "");
  dst->video = strdup(src->video ? src->video : "");
  failed = !dst->scorer || !dst->video;
  dst->individuals = copy_strings(src->individuals, src->n_individuals, &failed);
  dst->bodyparts = copy_strings(src->bodyparts, src->n_bodyparts, &failed);
  dst->uniquebodyparts = copy_strings(src->uniquebodyparts, src->n_unique, &failed);
  if (failed) {
    dlcc_track_header_free(dst);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory copying a track header");
  }
  return DLCC_OK;
}

void dlcc_track_header_free(dlcc_track_header *h) {
  free(h->scorer);
  free(h->video);
  dlcc_json_free_strings(h->individuals, h->n_individuals);
  dlcc_json_free_strings(h->bodyparts, h->n_bodyparts);
  dlcc_json_free_strings(h->uniquebodyparts, h->n_unique);
  *h = (dlcc_track_header){0};
}

char *dlcc_assemblies_path(const char *video_path, const char *dest_folder, const char *scorer) {
  char *folder = dest_folder ? strdup(dest_folder) : dlcc_path_dirname(video_path);
  char *stem = dlcc_path_stem(video_path);
  char *name = folder && stem ? dlcc_strdupf("%s%s_assemblies.json", stem, scorer) : NULL;
  char *path = name ? dlcc_path_join(folder, name) : NULL;
  free(folder);
  free(stem);
  free(name);
  return path;
}

/* ------------------------------------------------------------------------------------------------
 * Writing. */

struct dlcc_assemblies_writer {
  dlcc_track_header header;
  dlcc_atomic_file file;
  char *path;
  dlcc_strbuf line;      /* one frame's text, reused */
  dlcc_strbuf unique;    /* every frame's unique entry, written at the end */
  long frames;
};

static void writer_free(dlcc_assemblies_writer *w) {
  dlcc_track_header_free(&w->header);
  dlcc_strbuf_free(&w->line);
  dlcc_strbuf_free(&w->unique);
  free(w->path);
  free(w);
}

static dlcc_status write_text(dlcc_assemblies_writer *w, const dlcc_strbuf *sb, dlcc_error *err) {
  if (sb->failed) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", w->path);
  if (sb->len && fwrite(sb->data, 1, sb->len, w->file.fp) != sb->len)
    return dlcc_fail(err, DLCC_ERR_IO, "cannot write %s: %s", w->file.temp_path, strerror(errno));
  return DLCC_OK;
}

dlcc_status dlcc_assemblies_writer_open(dlcc_assemblies_writer **out, const char *path, const dlcc_track_header *h,
                                        dlcc_error *err) {
  *out = NULL;
  if (!h->scorer || !*h->scorer)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write %s: the scorer name is empty", path);
  if (h->n_bodyparts == 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write %s: no body parts (config.yaml's multianimalbodyparts)",
                     path);
  char *folder = dlcc_path_dirname(path);
  if (!folder) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  dlcc_status st = dlcc_mkdirs(folder, err);
  free(folder);
  if (st) return st;
  dlcc_assemblies_writer *w = calloc(1, sizeof *w);
  if (!w || !(w->path = strdup(path))) {
    free(w);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  }
  st = dlcc_track_header_copy(&w->header, h, err);
  if (!st) st = dlcc_atomic_open(&w->file, path, err);
  if (st) {
    writer_free(w);
    return st;
  }
  dlcc_track_json_append_header(&w->line, DLCC_ASSEMBLIES_FORMAT, &w->header);
  dlcc_strbuf_append(&w->line, ",\n  \"assemblies\": [");
  st = write_text(w, &w->line, err);
  if (st) {
    dlcc_assemblies_writer_abort(w);
    return st;
  }
  *out = w;
  return DLCC_OK;
}

dlcc_status dlcc_assemblies_writer_append(dlcc_assemblies_writer *w, int n_animals, const double *keypoints,
                                          const double *affinity, const double *unique, dlcc_error *err) {
  if (n_animals < 0 || (n_animals > 0 && (!keypoints || !affinity)))
    return dlcc_fail(err, DLCC_ERR_INVALID, "writing %s, frame %ld: %d animals without their keypoints or affinity",
                     w->path, w->frames, n_animals);
  const size_t nb = w->header.n_bodyparts;
  w->line.len = 0;
  if (w->line.data) w->line.data[0] = '\0';
  dlcc_strbuf_append(&w->line, w->frames ? ",\n    [" : "\n    [");
  for (int i = 0; i < n_animals; i++) {
    dlcc_strbuf_append(&w->line, i ? ", {\"affinity\": " : "{\"affinity\": ");
    dlcc_json_append_number(&w->line, affinity[i]);
    dlcc_strbuf_append(&w->line, ", \"keypoints\": [");
    for (size_t j = 0; j < nb; j++) {
      if (j) dlcc_strbuf_append(&w->line, ", ");
      dlcc_track_json_append_keypoint(&w->line, keypoints + ((size_t)i * nb + j) * 3);
    }
    dlcc_strbuf_append(&w->line, "]}");
  }
  dlcc_strbuf_append(&w->line, "]");
  if (w->header.n_unique > 0) {
    dlcc_strbuf_append(&w->unique, w->frames ? ",\n    " : "\n    ");
    if (!unique) {
      dlcc_strbuf_append(&w->unique, "null");
    } else {
      dlcc_strbuf_append(&w->unique, "[");
      for (size_t j = 0; j < w->header.n_unique; j++) {
        if (j) dlcc_strbuf_append(&w->unique, ", ");
        dlcc_track_json_append_keypoint(&w->unique, unique + j * 3);
      }
      dlcc_strbuf_append(&w->unique, "]");
    }
    if (w->unique.failed) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", w->path);
  }
  dlcc_status st = write_text(w, &w->line, err);
  if (!st) w->frames++;
  return st;
}

long dlcc_assemblies_writer_frames(const dlcc_assemblies_writer *w) { return w->frames; }

dlcc_status dlcc_assemblies_writer_finish(dlcc_assemblies_writer *w, dlcc_error *err) {
  w->line.len = 0;
  if (w->line.data) w->line.data[0] = '\0';
  dlcc_strbuf_append(&w->line, w->frames ? "\n  ]" : "]");
  dlcc_status st = write_text(w, &w->line, err);
  if (!st && w->header.n_unique > 0) {
    w->line.len = 0;
    dlcc_strbuf_append(&w->line, ",\n  \"unique\": [");
    st = write_text(w, &w->line, err);
    if (!st) st = write_text(w, &w->unique, err);
    if (!st) {
      w->line.len = 0;
      dlcc_strbuf_append(&w->line, w->frames ? "\n  ]" : "]");
      st = write_text(w, &w->line, err);
    }
  }
  if (!st) {
    w->line.len = 0;
    dlcc_strbuf_printf(&w->line, ",\n  \"frames\": %ld\n}\n", w->frames);
    st = write_text(w, &w->line, err);
  }
  if (st) dlcc_atomic_abort(&w->file);
  else st = dlcc_atomic_commit(&w->file, err);
  writer_free(w);
  return st;
}

void dlcc_assemblies_writer_abort(dlcc_assemblies_writer *w) {
  if (!w) return;
  dlcc_atomic_abort(&w->file);
  writer_free(w);
}

dlcc_status dlcc_assemblies_write(const dlcc_assemblies *a, const char *path, dlcc_error *err) {
  dlcc_assemblies_writer *w;
  dlcc_status st = dlcc_assemblies_writer_open(&w, path, &a->header, err);
  const size_t nb = a->header.n_bodyparts, nu = a->header.n_unique;
  for (long f = 0; f < a->n_frames && !st; f++) {
    const double *unique = NULL;
    if (nu && a->unique) { /* a frame with no unique keypoint at all is written as null */
      const double *u = a->unique + (size_t)f * nu * 3;
      for (size_t j = 0; j < nu && !unique; j++)
        if (isfinite(u[j * 3]) && isfinite(u[j * 3 + 1])) unique = u;
    }
    int n = dlcc_assemblies_count(a, f);
    st = dlcc_assemblies_writer_append(w, n, n ? a->keypoints + a->frame_start[f] * nb * 3 : NULL,
                                       n ? a->affinity + a->frame_start[f] : NULL, unique, err);
  }
  if (st) {
    dlcc_assemblies_writer_abort(w);
    return st;
  }
  return dlcc_assemblies_writer_finish(w, err);
}

/* ------------------------------------------------------------------------------------------------
 * Reading. */

typedef struct doubles {
  double *v;
  size_t n, cap;
} doubles;

static bool doubles_reserve(doubles *d, size_t more) {
  if (d->n + more <= d->cap) return true;
  size_t cap = d->cap ? d->cap : 256;
  while (cap < d->n + more) cap *= 2;
  double *v = realloc(d->v, cap * sizeof *v);
  if (!v) return false;
  d->v = v;
  d->cap = cap;
  return true;
}

typedef struct sizes {
  size_t *v;
  size_t n, cap;
} sizes;

static bool sizes_push(sizes *s, size_t x) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 256;
    size_t *v = realloc(s->v, cap * sizeof *v);
    if (!v) return false;
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = x;
  return true;
}

/* What has been read so far. */
typedef struct reading {
  dlcc_json_reader *r;
  const char *path;
  char *format;
  bool has_frames, has_bodyparts, has_unique_names, has_assemblies;
  long frames;
  dlcc_track_header h;
  sizes frame_start;           /* one per frame read, then the total at the end */
  doubles affinity, keypoints;
  size_t keypoints_per_animal; /* of the first animal (0 before it) */
  int first_line, first_column;
  /* unique: per non-null entry its frame and values */
  long unique_entries;
  sizes unique_frame;
  doubles unique_values;
  size_t unique_per_entry;
  int unique_line, unique_column;
} reading;

static dlcc_status nomem(const reading *rd, dlcc_error *err) {
  return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", rd->path);
}

/* One keypoint: null, or [x, y, score] with null numbers read as NaN. `what` names it. */
/* A list of keypoints appended to d; *count receives how many. */
static dlcc_status read_keypoint_list(reading *rd, const char *what, doubles *d, size_t *count, dlcc_error *err) {
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(rd->r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_BEGIN_ARRAY)
    return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "%s should be a list of keypoints, not %s", what,
                              dlcc_json_kind_name(tok.kind));
  size_t n = 0;
  for (;;) {
    if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
    if (tok.kind == DLCC_JSON_END_ARRAY) break;
    if (!doubles_reserve(d, 3)) return nomem(rd, err);
    char item[160];
    snprintf(item, sizeof item, "%s[%zu]", what, n);
    if ((st = dlcc_track_json_read_keypoint(rd->r, &tok, item, d->v + d->n, err))) return st;
    d->n += 3;
    n++;
  }
  *count = n;
  return DLCC_OK;
}

/* The count of keypoints an animal (or a unique entry) must have: the header's when read already,
 * else the first one's. */
static dlcc_status check_count(reading *rd, const dlcc_json_token *at, const char *what, size_t count,
                               bool names_known, size_t names, const char *names_key, size_t *first_count,
                               int *first_line, int *first_column, dlcc_error *err) {
  if (names_known && count != names)
    return dlcc_json_error_at(rd->r, at, err, DLCC_ERR_PARSE, "%s has %zu entries; %s lists %zu", what, count,
                              names_key, names);
  if (*first_count == 0 && *first_line == 0) {
    *first_count = count;
    *first_line = at->line;
    *first_column = at->column;
  } else if (count != *first_count) {
    return dlcc_json_error_at(rd->r, at, err, DLCC_ERR_PARSE, "%s has %zu entries where earlier ones have %zu", what,
                              count, *first_count);
  }
  return DLCC_OK;
}

static dlcc_status read_animal(reading *rd, long frame, size_t index, const dlcc_json_token *first, dlcc_error *err) {
  char what[96];
  snprintf(what, sizeof what, "assemblies[%ld][%zu]", frame, index);
  if (first->kind != DLCC_JSON_BEGIN_OBJECT)
    return dlcc_json_error_at(rd->r, first, err, DLCC_ERR_PARSE,
                              "%s should be an animal {\"affinity\": ..., \"keypoints\": [...]}, not %s", what,
                              dlcc_json_kind_name(first->kind));
  double affinity = NAN;
  bool has_keypoints = false;
  dlcc_status st;
  for (;;) {
    dlcc_json_token tok;
    if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
    if (tok.kind == DLCC_JSON_END_OBJECT) break;
    if (!strcmp(tok.text, "affinity")) {
      char item[128];
      snprintf(item, sizeof item, "%s.affinity", what);
      if ((st = dlcc_json_read_number(rd->r, item, true, &affinity, err))) return st;
    } else if (!strcmp(tok.text, "keypoints")) {
      char item[128];
      snprintf(item, sizeof item, "%s.keypoints", what);
      if (has_keypoints)
        return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "%s has \"keypoints\" twice", what);
      has_keypoints = true;
      size_t count = 0;
      dlcc_json_token at = tok;
      if ((st = read_keypoint_list(rd, item, &rd->keypoints, &count, err))) return st;
      if ((st = check_count(rd, &at, item, count, rd->has_bodyparts, rd->h.n_bodyparts, "bodyparts",
                            &rd->keypoints_per_animal, &rd->first_line, &rd->first_column, err)))
        return st;
    } else {
      dlcc_json_token value;
      if ((st = dlcc_json_next(rd->r, &value, err)) || (st = dlcc_json_skip(rd->r, &value, err))) return st;
    }
  }
  if (!has_keypoints)
    return dlcc_json_error_at(rd->r, first, err, DLCC_ERR_PARSE, "%s has no \"keypoints\"", what);
  if (!doubles_reserve(&rd->affinity, 1)) return nomem(rd, err);
  rd->affinity.v[rd->affinity.n++] = affinity;
  return DLCC_OK;
}

static dlcc_status read_assemblies(reading *rd, const dlcc_json_token *key, dlcc_error *err) {
  if (rd->has_assemblies)
    return dlcc_json_error_at(rd->r, key, err, DLCC_ERR_PARSE, "\"assemblies\" appears twice");
  rd->has_assemblies = true;
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(rd->r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_BEGIN_ARRAY)
    return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "assemblies should be a list of frames, not %s",
                              dlcc_json_kind_name(tok.kind));
  for (long frame = 0;; frame++) {
    if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
    if (tok.kind == DLCC_JSON_END_ARRAY) return DLCC_OK;
    if (tok.kind != DLCC_JSON_BEGIN_ARRAY)
      return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE,
                                "assemblies[%ld] should be the list of frame %ld's animals, not %s", frame, frame,
                                dlcc_json_kind_name(tok.kind));
    if (!sizes_push(&rd->frame_start, rd->affinity.n)) return nomem(rd, err);
    for (size_t index = 0;; index++) {
      if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
      if (tok.kind == DLCC_JSON_END_ARRAY) break;
      if ((st = read_animal(rd, frame, index, &tok, err))) return st;
    }
  }
}

static dlcc_status read_unique(reading *rd, const dlcc_json_token *key, dlcc_error *err) {
  if (rd->unique_entries >= 0)
    return dlcc_json_error_at(rd->r, key, err, DLCC_ERR_PARSE, "\"unique\" appears twice");
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(rd->r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_BEGIN_ARRAY)
    return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "unique should be a list with one entry per frame, "
                              "not %s", dlcc_json_kind_name(tok.kind));
  long frame = 0;
  for (;; frame++) {
    if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
    if (tok.kind == DLCC_JSON_END_ARRAY) break;
    if (tok.kind == DLCC_JSON_NULL) continue;
    char what[64];
    snprintf(what, sizeof what, "unique[%ld]", frame);
    if (tok.kind != DLCC_JSON_BEGIN_ARRAY)
      return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "%s should be a list of keypoints or null, not %s",
                                what, dlcc_json_kind_name(tok.kind));
    dlcc_json_token at = tok;
    size_t n = 0;
    for (;; n++) {
      if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
      if (tok.kind == DLCC_JSON_END_ARRAY) break;
      if (!doubles_reserve(&rd->unique_values, 3)) return nomem(rd, err);
      char item[96];
      snprintf(item, sizeof item, "%s[%zu]", what, n);
      if ((st = dlcc_track_json_read_keypoint(rd->r, &tok, item, rd->unique_values.v + rd->unique_values.n, err)))
        return st;
      rd->unique_values.n += 3;
    }
    if ((st = check_count(rd, &at, what, n, rd->has_unique_names, rd->h.n_unique, "uniquebodyparts",
                          &rd->unique_per_entry, &rd->unique_line, &rd->unique_column, err)))
      return st;
    if (!sizes_push(&rd->unique_frame, (size_t)frame)) return nomem(rd, err);
  }
  rd->unique_entries = frame;
  return DLCC_OK;
}

static dlcc_status read_top_level(reading *rd, dlcc_error *err) {
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(rd->r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_BEGIN_OBJECT)
    return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "expected an object ({\"format\": \"%s\", ...}), "
                              "found %s", DLCC_ASSEMBLIES_FORMAT, dlcc_json_kind_name(tok.kind));
  for (;;) {
    if ((st = dlcc_json_next(rd->r, &tok, err))) return st;
    if (tok.kind == DLCC_JSON_END_OBJECT) break;
    const char *k = tok.text;
    if (!strcmp(k, "format")) {
      free(rd->format);
      rd->format = NULL;
      dlcc_json_token at;
      if ((st = dlcc_json_read_string(rd->r, "format", &rd->format, err))) return st;
      at = tok;
      if (strcmp(rd->format, DLCC_ASSEMBLIES_FORMAT))
        return dlcc_json_error_at(rd->r, &at, err, DLCC_ERR_PARSE,
                                  "the format is \"%s\"; an assemblies file says \"%s\"", rd->format,
                                  DLCC_ASSEMBLIES_FORMAT);
    } else if (!strcmp(k, "scorer") || !strcmp(k, "video")) {
      char **slot = !strcmp(k, "scorer") ? &rd->h.scorer : &rd->h.video;
      free(*slot);
      *slot = NULL;
      if ((st = dlcc_json_read_string(rd->r, k[0] == 's' ? "scorer" : "video", slot, err))) return st;
    } else if (!strcmp(k, "individuals")) {
      dlcc_json_free_strings(rd->h.individuals, rd->h.n_individuals);
      if ((st = dlcc_json_read_strings(rd->r, "individuals", &rd->h.individuals, &rd->h.n_individuals, err)))
        return st;
    } else if (!strcmp(k, "bodyparts")) {
      if (rd->has_bodyparts) return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "\"bodyparts\" appears twice");
      if ((st = dlcc_json_read_strings(rd->r, "bodyparts", &rd->h.bodyparts, &rd->h.n_bodyparts, err))) return st;
      rd->has_bodyparts = true;
    } else if (!strcmp(k, "uniquebodyparts")) {
      if (rd->has_unique_names)
        return dlcc_json_error_at(rd->r, &tok, err, DLCC_ERR_PARSE, "\"uniquebodyparts\" appears twice");
      if ((st = dlcc_json_read_strings(rd->r, "uniquebodyparts", &rd->h.uniquebodyparts, &rd->h.n_unique, err)))
        return st;
      rd->has_unique_names = true;
    } else if (!strcmp(k, "frames")) {
      if ((st = dlcc_json_read_long(rd->r, "frames", 0, INT32_MAX, &rd->frames, err))) return st;
      rd->has_frames = true;
    } else if (!strcmp(k, "assemblies")) {
      if ((st = read_assemblies(rd, &tok, err))) return st;
    } else if (!strcmp(k, "unique")) {
      if ((st = read_unique(rd, &tok, err))) return st;
    } else {
      dlcc_json_token value;
      if ((st = dlcc_json_next(rd->r, &value, err)) || (st = dlcc_json_skip(rd->r, &value, err))) return st;
    }
  }
  return dlcc_json_next(rd->r, &tok, err); /* nothing may follow */
}

/* The checks that need the whole file. */
static dlcc_status check_whole(reading *rd, dlcc_error *err) {
  const char *p = rd->path;
  if (!rd->format)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s has no \"format\": it is not a dlcc assemblies file (\"format\": \"%s\")",
                     p, DLCC_ASSEMBLIES_FORMAT);
  if (!rd->h.scorer) return dlcc_fail(err, DLCC_ERR_PARSE, "%s has no \"scorer\"", p);
  if (!rd->has_bodyparts || rd->h.n_bodyparts == 0)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s has no \"bodyparts\" (the multi-animal body parts, in order)", p);
  if (!rd->has_frames) return dlcc_fail(err, DLCC_ERR_PARSE, "%s has no \"frames\" (the number of frames analysed)", p);
  if (!rd->has_assemblies) return dlcc_fail(err, DLCC_ERR_PARSE, "%s has no \"assemblies\"", p);
  if ((long)rd->frame_start.n != rd->frames)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: \"frames\" is %ld but \"assemblies\" has %zu entries (one per frame)", p,
                     rd->frames, rd->frame_start.n);
  if (rd->first_line && rd->keypoints_per_animal != rd->h.n_bodyparts)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: the animals have %zu keypoints; bodyparts lists %zu",
                     p, rd->first_line, rd->first_column, rd->keypoints_per_animal, rd->h.n_bodyparts);
  if (rd->unique_entries >= 0) {
    if (rd->h.n_unique == 0 && rd->unique_frame.n > 0)
      return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: unique keypoints, but uniquebodyparts is empty", p,
                       rd->unique_line, rd->unique_column);
    if (rd->unique_line && rd->unique_per_entry != rd->h.n_unique)
      return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: the unique entries have %zu keypoints; "
                       "uniquebodyparts lists %zu", p, rd->unique_line, rd->unique_column, rd->unique_per_entry,
                       rd->h.n_unique);
    if (rd->unique_entries != rd->frames)
      return dlcc_fail(err, DLCC_ERR_PARSE, "%s: \"unique\" has %ld entries but \"frames\" is %ld (one per frame)", p,
                       rd->unique_entries, rd->frames);
  }
  return DLCC_OK;
}

static void reading_free(reading *rd) {
  dlcc_json_reader_close(rd->r);
  free(rd->format);
  dlcc_track_header_free(&rd->h);
  free(rd->frame_start.v);
  free(rd->affinity.v);
  free(rd->keypoints.v);
  free(rd->unique_frame.v);
  free(rd->unique_values.v);
}

dlcc_status dlcc_assemblies_read(const char *path, dlcc_assemblies *a, dlcc_error *err) {
  *a = (dlcc_assemblies){0};
  reading rd = {.path = path, .unique_entries = -1};
  dlcc_status st = dlcc_json_reader_open(&rd.r, path, err);
  if (!st) st = read_top_level(&rd, err);
  if (!st) st = check_whole(&rd, err);
  if (!st && !sizes_push(&rd.frame_start, rd.affinity.n)) st = nomem(&rd, err);
  /* never NULL, so that a frame's (empty) animals are a valid pointer */
  if (!st && (!doubles_reserve(&rd.affinity, 1) || !doubles_reserve(&rd.keypoints, 3))) st = nomem(&rd, err);
  const size_t nu = rd.h.n_unique;
  double *unique = NULL;
  if (!st && nu > 0) {
    size_t n = (size_t)rd.frames * nu * 3;
    unique = malloc((n ? n : 1) * sizeof *unique);
    if (!unique) st = nomem(&rd, err);
    for (size_t i = 0; unique && i < n; i++) unique[i] = NAN;
    for (size_t e = 0; unique && e < rd.unique_frame.n; e++)
      memcpy(unique + rd.unique_frame.v[e] * nu * 3, rd.unique_values.v + e * nu * 3, nu * 3 * sizeof *unique);
  }
  if (st) {
    free(unique);
    reading_free(&rd);
    return st;
  }
  a->header = rd.h;
  rd.h = (dlcc_track_header){0};
  if (!a->header.video && !(a->header.video = strdup(""))) st = nomem(&rd, err);
  a->n_frames = rd.frames;
  a->frame_start = rd.frame_start.v;
  rd.frame_start.v = NULL;
  a->n_animals = rd.affinity.n;
  a->affinity = rd.affinity.v;
  rd.affinity.v = NULL;
  a->keypoints = rd.keypoints.v;
  rd.keypoints.v = NULL;
  a->unique = unique;
  reading_free(&rd);
  if (st) dlcc_assemblies_free(a);
  return st;
}

void dlcc_assemblies_free(dlcc_assemblies *a) {
  dlcc_track_header_free(&a->header);
  free(a->frame_start);
  free(a->affinity);
  free(a->keypoints);
  free(a->unique);
  *a = (dlcc_assemblies){0};
}
