/* convert_detections2tracklets and stitch_tracklets for one video (track_video.h): finding the
 * analysis's files by scorer, the tracker settings from inference_cfg.yaml, and the tracks CSV
 * streamed in DeepLabCut's layout. */
#include "track/track_video.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infer/model.h"
#include "project/labels.h"
#include "project/layout.h"
#include "project/yamldoc.h"
#include "track/assemblies_file.h"
#include "track/tracklets_file.h"
#include "util/fileio.h"
#include "util/json_stream.h"

/* ------------------------------------------------------------------------------------------------
 * Finding the analysis. */

typedef struct candidate {
  char *scorer;
  long iteration;
} candidate;

/* The scorer in file name `name` when it is <stem>DLC_<net>_<tail>_<N><suffix>, tail being
 * <Task><date>shuffle<k>; NULL otherwise. */
static char *scorer_of(const char *name, const char *stem, const char *suffix, const char *tail, long *iteration) {
  size_t len = strlen(name), ls = strlen(stem), lx = strlen(suffix), lt = strlen(tail);
  if (len <= ls + lx || strncmp(name, stem, ls) || strcmp(name + len - lx, suffix)) return NULL;
  const char *scorer = name + ls;
  size_t n = len - ls - lx;
  if (n < 4 || strncmp(scorer, "DLC_", 4)) return NULL;
  size_t digits = 0;
  while (digits < n && scorer[n - 1 - digits] >= '0' && scorer[n - 1 - digits] <= '9') digits++;
  if (digits == 0 || digits > 15 || n < digits + 1 + lt + 1 + 5) return NULL;
  size_t underscore = n - digits - 1; /* DLC_ + net + _ + tail + _ + N */
  if (scorer[underscore] != '_' || strncmp(scorer + underscore - lt, tail, lt) ||
      scorer[underscore - lt - 1] != '_' || underscore - lt - 1 < 5)
    return NULL;
  *iteration = strtol(scorer + underscore + 1, NULL, 10);
  return strndup(scorer, n);
}

/* The iteration config.yaml's snapshotindex picks among the shuffle's snapshots; -1 when there is
 * none to pick. */
static long configured_iteration(const dlcc_project_config *cfg, const dlcc_track_target *t) {
  if (t->trainingsetindex < 0 || (size_t)t->trainingsetindex >= cfg->n_training_fractions) return -1;
  char *rel = dlcc_layout_model_dir(cfg, cfg->training_fractions[t->trainingsetindex], t->shuffle);
  char *model = rel ? dlcc_path_join(cfg->root, rel) : NULL;
  char *train = model ? dlcc_path_join(model, "train") : NULL;
  free(rel);
  free(model);
  dlcc_snapshot_file *files = NULL;
  size_t n = 0;
  dlcc_error ignored;
  long iteration = -1;
  if (train && !dlcc_model_list_snapshots(train, &files, &n, NULL, &ignored) && n > 0) {
    if (cfg->snapshotindex < 0) iteration = files[n - 1].iteration; /* -1 and all: the last */
    else if ((size_t)cfg->snapshotindex < n) iteration = files[cfg->snapshotindex].iteration;
  }
  dlcc_snapshot_files_free(files, n);
  free(train);
  return iteration;
}

static void candidates_free(candidate *c, size_t n) {
  for (size_t i = 0; i < n; i++) free(c[i].scorer);
  free(c);
}

dlcc_status dlcc_track_find_scorer(const dlcc_project_config *cfg, const char *video, const dlcc_track_target *t,
                                   const char *suffix, char **scorer, dlcc_error *err) {
  *scorer = NULL;
  if (t->scorer) {
    *scorer = strdup(t->scorer);
    return *scorer ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  char *folder = t->dest_folder ? strdup(t->dest_folder) : dlcc_path_dirname(video);
  char *stem = dlcc_path_stem(video);
  char *tail = dlcc_strdupf("%s%sshuffle%d", cfg->task, cfg->date, t->shuffle);
  char *pattern = folder && stem && tail ? dlcc_strdupf("%s/%sDLC_*_%s_*%s", folder, stem, tail, suffix) : NULL;
  if (!pattern) {
    free(folder);
    free(stem);
    free(tail);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  candidate *found = NULL;
  size_t n = 0, cap = 0;
  dlcc_status st = DLCC_OK;
  DIR *dir = opendir(folder);
  for (struct dirent *e; dir && !st && (e = readdir(dir));) {
    long iteration;
    char *s = scorer_of(e->d_name, stem, suffix, tail, &iteration);
    if (!s) continue;
    if (t->snapshot >= 0 && iteration != t->snapshot) {
      free(s);
      continue;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 4;
      candidate *c = realloc(found, cap * sizeof *c);
      if (!c) {
        free(s);
        st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
        break;
      }
      found = c;
    }
    found[n++] = (candidate){s, iteration};
  }
  if (dir) closedir(dir);
  if (!st && n == 0) {
    if (t->snapshot >= 0)
      st = dlcc_fail(err, DLCC_ERR_IO, "no file %s for snapshot %ld (looked for %s)", suffix, t->snapshot, pattern);
    else st = dlcc_fail(err, DLCC_ERR_IO, "no file for shuffle %d (looked for %s)", t->shuffle, pattern);
  }
  if (!st && n > 1) {
    long wanted = configured_iteration(cfg, t);
    size_t match = n, matches = 0;
    for (size_t i = 0; i < n; i++)
      if (found[i].iteration == wanted) {
        match = i;
        matches++;
      }
    if (matches == 1) {
      candidate keep = found[match];
      found[match] = found[0];
      found[0] = keep;
    } else {
      dlcc_strbuf list = {0};
      for (size_t i = 0; i < n; i++) dlcc_strbuf_printf(&list, "%s%s (--snapshot %ld)", i ? ", " : "",
                                                         found[i].scorer, found[i].iteration);
      st = dlcc_fail(err, DLCC_ERR_INVALID, "%zu analyses of %s for shuffle %d are in %s: %s; config.yaml's "
                     "snapshotindex does not pick one of them: choose with --snapshot", n, video, t->shuffle, folder,
                     list.data ? list.data : "");
      dlcc_strbuf_free(&list);
    }
  }
  if (!st) {
    *scorer = found[0].scorer;
    found[0].scorer = NULL;
  }
  candidates_free(found, n);
  free(folder);
  free(stem);
  free(tail);
  free(pattern);
  return st;
}

dlcc_status dlcc_track_method_from_config(const dlcc_project_config *cfg, const char *requested,
                                          dlcc_track_method *m, dlcc_notes *notes, dlcc_error *err) {
  if (requested) return dlcc_track_method_parse(requested, m, err);
  const dlcc_yaml_node *node = cfg->doc ? dlcc_yaml_map_get(cfg->doc, "default_track_method") : NULL;
  if (!node || dlcc_yaml_is_null(node) || node->kind != DLCC_YAML_SCALAR || !*node->scalar) {
    dlcc_notes_add(notes, "%s has no default_track_method: using ellipse (DeepLabCut's default)", cfg->config_path);
    *m = DLCC_TRACK_ELLIPSE;
    return DLCC_OK;
  }
  dlcc_status st = dlcc_track_method_parse(node->scalar, m, err);
  if (st) dlcc_error_prefix(err, "%s line %d, default_track_method: ", cfg->config_path, node->line);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * convert_detections2tracklets. */

void dlcc_convert_options_init(dlcc_convert_options *o) {
  *o = (dlcc_convert_options){.target = {.shuffle = 1, .snapshot = -1},
                              .max_age = -1,
                              .min_hits = -1,
                              .iou_threshold = NAN,
                              .boundingboxslack = NAN};
}

void dlcc_convert_result_free(dlcc_convert_result *r) {
  free(r->scorer);
  free(r->assemblies_path);
  free(r->tracklets_path);
  free(r->inference_cfg_path);
  *r = (dlcc_convert_result){0};
}

static dlcc_status check_target(const dlcc_project_config *cfg, const dlcc_track_target *t, dlcc_error *err) {
  if (!cfg->multianimal)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s is a single-animal project: tracking individuals is for multi-animal "
                     "projects (multianimalproject: true)", cfg->config_path);
  if (t->shuffle < 1) return dlcc_fail(err, DLCC_ERR_INVALID, "shuffle %d: shuffles are numbered from 1", t->shuffle);
  if (t->trainingsetindex < 0 || (size_t)t->trainingsetindex >= cfg->n_training_fractions)
    return dlcc_fail(err, DLCC_ERR_INVALID, "trainingsetindex %d: %s lists %zu TrainingFraction value%s (0 to %zu)",
                     t->trainingsetindex, cfg->config_path, cfg->n_training_fractions,
                     cfg->n_training_fractions == 1 ? "" : "s", cfg->n_training_fractions - 1);
  return DLCC_OK;
}

/* One number of inference_cfg.yaml into *out when the key is there. */
static dlcc_status inference_number(const dlcc_yaml_node *doc, const char *path, const char *key, double min,
                                    double *out, bool *present, dlcc_error *err) {
  const dlcc_yaml_node *node = dlcc_yaml_map_get(doc, key);
  *present = false;
  if (!node) return DLCC_OK;
  double v;
  if (!dlcc_yaml_as_double(node, &v) || !(v >= min))
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s line %d: %s should be a number >= %g, not \"%s\"", path, node->line,
                     key, min, node->kind == DLCC_YAML_SCALAR ? node->scalar : "(a list or map)");
  *out = v;
  *present = true;
  return DLCC_OK;
}

/* The tracker settings: DeepLabCut's defaults, the model's test/inference_cfg.yaml when it is there,
 * then the options' overrides. *topk: inference_cfg's topktoretain (0 when absent). */
static dlcc_status tracker_settings(const dlcc_project_config *cfg, const dlcc_convert_options *o,
                                    dlcc_track_method method, dlcc_tracker_params *p, int *topk, char **cfg_path,
                                    dlcc_error *err) {
  dlcc_tracker_params_default(p, method);
  *topk = 0;
  char *rel = dlcc_layout_model_dir(cfg, cfg->training_fractions[o->target.trainingsetindex], o->target.shuffle);
  char *model = rel ? dlcc_path_join(cfg->root, rel) : NULL;
  char *path = model ? dlcc_path_join(model, "test/inference_cfg.yaml") : NULL;
  free(rel);
  free(model);
  if (!path) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_status st = DLCC_OK;
  if (dlcc_path_is_file(path)) {
    dlcc_yaml_node *doc = dlcc_yaml_load_file(path, err);
    if (!doc) {
      free(path);
      return DLCC_ERR_PARSE;
    }
    double v;
    bool present;
    if (!st && !(st = inference_number(doc, path, "max_age", 0, &v, &present, err)) && present) p->max_age = (int)v;
    if (!st && !(st = inference_number(doc, path, "min_hits", 0, &v, &present, err)) && present) p->min_hits = (int)v;
    if (!st && !(st = inference_number(doc, path, "iou_threshold", 0, &v, &present, err)) && present)
      p->iou_threshold = v;
    if (!st && !(st = inference_number(doc, path, "boundingboxslack", -1e9, &v, &present, err)) && present)
      p->box_slack = v;
    if (!st && !(st = inference_number(doc, path, "topktoretain", 0, &v, &present, err)) && present) *topk = (int)v;
    dlcc_yaml_free(doc);
    *cfg_path = path;
  } else {
    free(path);
  }
  if (o->max_age >= 0) p->max_age = o->max_age;
  if (o->min_hits >= 0) p->min_hits = o->min_hits;
  if (!isnan(o->iou_threshold)) p->iou_threshold = o->iou_threshold;
  if (!isnan(o->boundingboxslack)) p->box_slack = o->boundingboxslack;
  return st;
}

/* use_joint flags from ignore_bodyparts (names among the assemblies' body parts). */
static dlcc_status joints_used(const dlcc_track_header *h, const dlcc_convert_options *o, unsigned char *use,
                               dlcc_error *err) {
  for (size_t j = 0; j < h->n_bodyparts; j++) use[j] = 1;
  for (size_t i = 0; i < o->n_ignore; i++) {
    size_t j = 0;
    while (j < h->n_bodyparts && strcmp(h->bodyparts[j], o->ignore_bodyparts[i])) j++;
    if (j == h->n_bodyparts) {
      dlcc_strbuf names = {0};
      dlcc_json_append_strings(&names, h->bodyparts, h->n_bodyparts);
      dlcc_status st = dlcc_fail(err, DLCC_ERR_INVALID, "ignore_bodyparts: \"%s\" is not one of the multi-animal body "
                                 "parts %s", o->ignore_bodyparts[i], names.data ? names.data : "");
      dlcc_strbuf_free(&names);
      return st;
    }
    use[j] = 0;
  }
  size_t used = 0;
  for (size_t j = 0; j < h->n_bodyparts; j++) used += use[j];
  if (used == 0) return dlcc_fail(err, DLCC_ERR_INVALID, "ignore_bodyparts leaves no body part to track");
  return DLCC_OK;
}

static bool any_keypoint(const double *pose, size_t n) {
  for (size_t j = 0; j < n; j++)
    if (isfinite(pose[j * 3]) && isfinite(pose[j * 3 + 1])) return true;
  return false;
}

/* Tracks every frame of a into out->tracklets (and out->single). */
static dlcc_status track_frames(const dlcc_assemblies *a, const dlcc_tracker_params *p, const unsigned char *use,
                                int topk, dlcc_tracklets_file *out, dlcc_convert_result *res, dlcc_error *err) {
  const size_t nb = a->header.n_bodyparts, nu = a->header.n_unique;
  dlcc_tracker *tracker = NULL;
  dlcc_status st = topk == 1 ? DLCC_OK : dlcc_tracker_create(p, (int)nb, use, &tracker, err);
  for (long f = 0; f < a->n_frames && !st; f++) {
    int n = dlcc_assemblies_count(a, f);
    if (n > 0) {
      res->frames_with_animals++;
      res->detections += (size_t)n;
      if (n > res->most_animals) res->most_animals = n;
    }
    if (f > INT32_MAX) st = dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "more than %d frames", INT32_MAX);
    else if (topk == 1) { /* DeepLabCut's shortcut: one animal, the frame's first assembly */
      if (n > 0) st = dlcc_tracklet_set_append(&out->tracklets, 0, (int)f, dlcc_assemblies_frame(a, f), err);
    } else {
      st = dlcc_tracker_step(tracker, (int)f, dlcc_assemblies_frame(a, f), n, &out->tracklets, NULL, err);
    }
    if (!st && nu > 0 && any_keypoint(a->unique + (size_t)f * nu * 3, nu)) {
      st = dlcc_tracklet_set_append(&out->single, 0, (int)f, a->unique + (size_t)f * nu * 3, err);
      res->single_frames++;
    }
  }
  dlcc_tracker_free(tracker);
  return st;
}

/* The message for a missing file of an earlier step. */
static dlcc_status missing_input(const char *video, const dlcc_track_target *t, const char *what, const char *run,
                                 dlcc_error *err) {
  char found[sizeof err->message];
  snprintf(found, sizeof found, "%s", err->message);
  return dlcc_fail(err, DLCC_ERR_IO, "%s: %s: %s; run %s%s%s first", video, what, found, run,
                   t->dest_folder ? " with --destfolder " : "", t->dest_folder ? t->dest_folder : "");
}

dlcc_status dlcc_convert_detections2tracklets(const dlcc_project_config *cfg, const char *video,
                                              const dlcc_convert_options *o, dlcc_convert_result *res,
                                              dlcc_notes *notes, dlcc_error *err) {
  *res = (dlcc_convert_result){.single_frames = -1};
  dlcc_track_method method;
  dlcc_status st = check_target(cfg, &o->target, err);
  if (!st) st = dlcc_track_method_from_config(cfg, o->track_method, &method, notes, err);
  if (st) return st;
  if (dlcc_track_find_scorer(cfg, video, &o->target, "_assemblies.json", &res->scorer, err)) {
    char run[160];
    snprintf(run, sizeof run, "'dlcc analyze-videos CONFIG VIDEO --shuffle %d'", o->target.shuffle);
    return err->status == DLCC_ERR_IO ? missing_input(video, &o->target, "no assemblies", run, err) : err->status;
  }
  res->assemblies_path = dlcc_assemblies_path(video, o->target.dest_folder, res->scorer);
  if (!res->assemblies_path) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!dlcc_path_is_file(res->assemblies_path)) {
    dlcc_fail(err, DLCC_ERR_IO, "%s is not there", res->assemblies_path);
    char run[160];
    snprintf(run, sizeof run, "'dlcc analyze-videos CONFIG VIDEO --shuffle %d'", o->target.shuffle);
    return missing_input(video, &o->target, "no assemblies", run, err);
  }

  dlcc_assemblies a;
  if ((st = dlcc_assemblies_read(res->assemblies_path, &a, err))) return st;
  res->frames = a.n_frames;
  int topk = 0;
  dlcc_tracker_params p;
  st = tracker_settings(cfg, o, method, &p, &topk, &res->inference_cfg_path, err);
  if (!st && a.header.n_bodyparts == 1 && method != DLCC_TRACK_BOX) {
    dlcc_notes_add(notes, "one multi-animal body part: switching to the box tracker (boundingboxslack at least 40), as "
                   "DeepLabCut does");
    method = DLCC_TRACK_BOX;
    p.method = method;
    if (p.box_slack < 40) p.box_slack = 40;
  }
  res->params = p;
  if (!st) {
    res->tracklets_path = dlcc_tracklets_path(video, o->target.dest_folder, res->scorer, method);
    if (!res->tracklets_path) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  if (!st && !o->overwrite && dlcc_path_is_file(res->tracklets_path)) {
    res->kept_existing = true;
    dlcc_assemblies_free(&a);
    return DLCC_OK;
  }
  if (!st && a.header.n_bodyparts != cfg->n_multianimalbodyparts)
    dlcc_notes_add(notes, "%s has %zu body parts per animal; config.yaml lists %zu multianimalbodyparts",
                   res->assemblies_path, a.header.n_bodyparts, cfg->n_multianimalbodyparts);

  dlcc_tracklets_file out = {.method = method, .n_frames = a.n_frames, .has_params = true, .params = p};
  unsigned char *use = st ? NULL : malloc(a.header.n_bodyparts);
  if (!st && !use) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) st = joints_used(&a.header, o, use, err);
  if (!st) st = dlcc_track_header_copy(&out.header, &a.header, err);
  if (!st && o->n_ignore) {
    out.ignore_bodyparts = calloc(o->n_ignore, sizeof *out.ignore_bodyparts);
    if (!out.ignore_bodyparts) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < o->n_ignore; i++) {
      if (!(out.ignore_bodyparts[i] = strdup(o->ignore_bodyparts[i])))
        st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
      out.n_ignored = i + 1;
    }
  }
  dlcc_tracklet_set_init(&out.tracklets, (int)a.header.n_bodyparts);
  dlcc_tracklet_set_init(&out.single, (int)a.header.n_unique);
  if (!st && a.header.n_unique > 0) res->single_frames = 0;
  if (!st) st = track_frames(&a, &p, use, topk, &out, res, err);
  if (!st) {
    res->n_tracklets = out.tracklets.count;
    st = dlcc_tracklets_write(&out, res->tracklets_path, err);
  }
  free(use);
  dlcc_tracklets_file_free(&out);
  dlcc_assemblies_free(&a);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * stitch_tracklets. */

void dlcc_stitch_options_init(dlcc_stitch_options *o) {
  *o = (dlcc_stitch_options){.target = {.shuffle = 1, .snapshot = -1},
                             .min_length = 10,
                             .split_tracklets = true,
                             .prestitch_residuals = true};
}

void dlcc_stitch_result_free(dlcc_stitch_result *r) {
  free(r->scorer);
  free(r->tracklets_path);
  free(r->csv_path);
  if (r->track_names)
    for (int k = 0; k < r->n_tracks; k++) free(r->track_names[k]);
  free(r->track_names);
  free(r->track_frames);
  *r = (dlcc_stitch_result){0};
}

/* DeepLabCut's format_df names: the animal names when there are enough (the first n_tracks), else
 * ind1 .. ind<n_tracks>. */
static dlcc_status name_tracks(const dlcc_project_config *cfg, const dlcc_stitch_options *o, dlcc_stitch_result *res,
                               dlcc_notes *notes, dlcc_error *err) {
  char *const *names = o->animal_names ? o->animal_names : cfg->individuals;
  size_t n_names = o->animal_names ? o->n_animal_names : cfg->n_individuals;
  if (o->animal_names && o->n_tracks > 0 && (size_t)o->n_tracks != n_names)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%d tracks but %zu animal names: give as many names as tracks",
                     o->n_tracks, n_names);
  int n_tracks = o->n_tracks > 0 ? o->n_tracks : (int)n_names;
  if (n_tracks < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "no tracks to build: %s lists no individuals", cfg->config_path);
  res->n_tracks = n_tracks;
  res->track_names = calloc((size_t)n_tracks, sizeof *res->track_names);
  res->track_frames = calloc((size_t)n_tracks, sizeof *res->track_frames);
  if (!res->track_names || !res->track_frames) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  bool generic = n_names < (size_t)n_tracks;
  if (generic)
    dlcc_notes_add(notes, "%d tracks but %zu individual name%s: the tracks are named ind1 to ind%d, as DeepLabCut "
                   "does", n_tracks, n_names, n_names == 1 ? "" : "s", n_tracks);
  for (int k = 0; k < n_tracks; k++) {
    res->track_names[k] = generic ? dlcc_strdupf("ind%d", k + 1) : strdup(names[k]);
    if (!res->track_names[k]) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  return DLCC_OK;
}

static dlcc_status flush_text(dlcc_strbuf *sb, dlcc_atomic_file *f, const char *path, dlcc_error *err) {
  if (sb->failed) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  if (sb->len && fwrite(sb->data, 1, sb->len, f->fp) != sb->len)
    return dlcc_fail(err, DLCC_ERR_IO, "cannot write %s: %s", f->temp_path, strerror(errno));
  sb->len = 0;
  return DLCC_OK;
}

/* The CSV: columns (track, body part) for every track, then ("single", unique part); rows 0..frames-1. */
static dlcc_status write_tracks_csv(const dlcc_tracklets_file *t, const dlcc_tracks *tracks, dlcc_stitch_result *res,
                                    dlcc_error *err) {
  const size_t nb = t->header.n_bodyparts, nu = t->header.n_unique;
  const size_t n_columns = (size_t)res->n_tracks * nb + nu;
  char **individuals = calloc(n_columns, sizeof *individuals);
  char **bodyparts = calloc(n_columns, sizeof *bodyparts);
  double *row = malloc(n_columns * 3 * sizeof *row);
  if (!individuals || !bodyparts || !row) {
    free(individuals);
    free(bodyparts);
    free(row);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", res->csv_path);
  }
  static char single[] = "single";
  for (int k = 0; k < res->n_tracks; k++)
    for (size_t j = 0; j < nb; j++) {
      individuals[(size_t)k * nb + j] = res->track_names[k];
      bodyparts[(size_t)k * nb + j] = t->header.bodyparts[j];
    }
  for (size_t j = 0; j < nu; j++) {
    individuals[(size_t)res->n_tracks * nb + j] = single;
    bodyparts[(size_t)res->n_tracks * nb + j] = t->header.uniquebodyparts[j];
  }
  dlcc_label_table columns;
  dlcc_status st = dlcc_labels_create(&columns, t->header.scorer, true, 3, individuals, bodyparts, n_columns, NULL, 0,
                                      err);
  free(individuals);
  free(bodyparts);
  dlcc_atomic_file f = {0};
  bool open = false;
  if (!st && !(st = dlcc_atomic_open(&f, res->csv_path, err))) open = true;
  dlcc_strbuf sb = {0};
  if (!st) dlcc_labels_append_header(&columns, &sb);
  const dlcc_tracklet *single_track = t->single.count ? &t->single.items[0] : NULL;
  size_t next_single = 0;
  for (long frame = 0; !st && frame < res->frames; frame++) {
    for (int k = 0; k < res->n_tracks; k++)
      memcpy(row + (size_t)k * nb * 3, dlcc_tracks_pose(tracks, k, (int)frame), nb * 3 * sizeof *row);
    double *u = row + (size_t)res->n_tracks * nb * 3;
    for (size_t j = 0; j < nu * 3; j++) u[j] = NAN;
    if (single_track && next_single < single_track->length && single_track->frames[next_single] == frame)
      memcpy(u, single_track->poses + next_single++ * nu * 3, nu * 3 * sizeof *row);
    char name[24];
    snprintf(name, sizeof name, "%ld", frame);
    dlcc_labels_append_row(&columns, name, row, &sb);
    if (sb.len > (1u << 20)) st = flush_text(&sb, &f, res->csv_path, err);
  }
  if (!st) st = flush_text(&sb, &f, res->csv_path, err);
  dlcc_strbuf_free(&sb);
  free(row);
  dlcc_labels_free(&columns);
  if (open) {
    if (st) dlcc_atomic_abort(&f);
    else st = dlcc_atomic_commit(&f, err);
  }
  return st;
}

dlcc_status dlcc_stitch_video_tracklets(const dlcc_project_config *cfg, const char *video,
                                        const dlcc_stitch_options *o, dlcc_stitch_result *res, dlcc_notes *notes,
                                        dlcc_error *err) {
  *res = (dlcc_stitch_result){.single_frames = -1};
  dlcc_track_method method;
  dlcc_status st = check_target(cfg, &o->target, err);
  if (!st) st = dlcc_track_method_from_config(cfg, o->track_method, &method, notes, err);
  if (!st) st = name_tracks(cfg, o, res, notes, err);
  if (st) return st;
  char suffix[16];
  snprintf(suffix, sizeof suffix, "_%s.json", dlcc_track_method_suffix(method));
  if (dlcc_track_find_scorer(cfg, video, &o->target, suffix, &res->scorer, err)) {
    if (err->status != DLCC_ERR_IO) return err->status;
    /* say which step is missing: tracking only, or the analysis too */
    char *assemblies_scorer = NULL;
    dlcc_error ignored;
    bool analysed = !dlcc_track_find_scorer(cfg, video, &o->target, "_assemblies.json", &assemblies_scorer, &ignored);
    free(assemblies_scorer);
    char run[200];
    snprintf(run, sizeof run, "%s'dlcc convert-detections2tracklets CONFIG VIDEO --shuffle %d --track-method %s'",
             analysed ? "" : "'dlcc analyze-videos' and then ", o->target.shuffle, dlcc_track_method_name(method));
    return missing_input(video, &o->target, "no tracklets", run, err);
  }
  res->tracklets_path = dlcc_tracklets_path(video, o->target.dest_folder, res->scorer, method);
  char *csv_name = res->tracklets_path ? strdup(res->tracklets_path) : NULL;
  if (!csv_name) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  strcpy(csv_name + strlen(csv_name) - strlen(".json"), ".csv");
  res->csv_path = csv_name;
  if (!dlcc_path_is_file(res->tracklets_path)) {
    dlcc_fail(err, DLCC_ERR_IO, "%s is not there", res->tracklets_path);
    char run[160];
    snprintf(run, sizeof run, "'dlcc convert-detections2tracklets CONFIG VIDEO --shuffle %d'", o->target.shuffle);
    return missing_input(video, &o->target, "no tracklets", run, err);
  }

  dlcc_tracklets_file t;
  if ((st = dlcc_tracklets_read(res->tracklets_path, &t, err))) return st;
  res->frames = t.n_frames;
  if (t.method != method)
    dlcc_notes_add(notes, "%s says track_method %s", res->tracklets_path, dlcc_track_method_name(t.method));
  if (t.n_frames < 1) st = dlcc_fail(err, DLCC_ERR_INVALID, "%s: the analysis has no frame", res->tracklets_path);
  dlcc_stitch_params p;
  dlcc_stitch_params_default(&p, res->n_tracks);
  p.min_length = o->min_length;
  p.split_tracklets = o->split_tracklets;
  p.prestitch_residuals = o->prestitch_residuals;
  p.max_gap = o->max_gap;
  dlcc_tracks tracks = {0};
  if (!st && (st = dlcc_stitch(&t.tracklets, (int)t.n_frames, &p, &tracks, err)))
    dlcc_error_prefix(err, "%s: ", res->tracklets_path);
  if (!st) {
    res->summary = tracks;
    res->summary.poses = NULL;
    res->n_found = tracks.n_found;
    for (int k = 0; k < res->n_tracks; k++)
      for (long f = 0; f < res->frames; f++)
        res->track_frames[k] += any_keypoint(dlcc_tracks_pose(&tracks, k, (int)f), t.header.n_bodyparts);
    if (t.header.n_unique > 0) res->single_frames = t.single.count ? (long)t.single.items[0].length : 0;
    st = write_tracks_csv(&t, &tracks, res, err);
  }
  if (!st && res->n_found < res->n_tracks) {
    dlcc_strbuf empty = {0};
    for (int k = 0; k < res->n_tracks; k++)
      if (res->track_frames[k] == 0) dlcc_strbuf_printf(&empty, "%s%s", empty.len ? ", " : "", res->track_names[k]);
    dlcc_notes_add(notes, "%s: found %d track%s for %d individuals; %s %s empty in %s", video, res->n_found,
                   res->n_found == 1 ? "" : "s", res->n_tracks, empty.data ? empty.data : "?",
                   res->n_tracks - res->n_found == 1 ? "is" : "are", res->csv_path);
    dlcc_strbuf_free(&empty);
  }
  if (!st && tracks.used_fallback)
    dlcc_notes_add(notes, "%s: the tracklets do not fit %d tracks as DeepLabCut's flow needs them (more of them "
                   "overlap, or there are fewer); dlcc chained the longest ones instead%s", video, res->n_tracks,
                   tracks.n_left_out ? " and put the others back as residuals" : "");
  dlcc_tracks_free(&tracks);
  dlcc_tracklets_file_free(&t);
  return st;
}
