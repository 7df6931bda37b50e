/* Reading a shuffle's training set (see dataset_reader.h): every entry checked once here, so workers
 * meet a bad image only if a file changes during training. Training draws each image thousands of
 * times, so pixels are decoded once (openfield: 110 PNGs, 101 MiB) and past the budget on demand. */
#include "train/dataset_reader.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

/* ---- where the project's files are ---- */

/* Folders a project-relative path is looked up in, in order: the project's folder as the caller knows
 * it, then pose_cfg.yaml's project_path (stale when the project was moved). */
typedef struct project_roots {
  const char *dirs[2];
  size_t n;
} project_roots;

static project_roots roots_of(const dlcc_pose_cfg *cfg, const char *project_root) {
  project_roots r = {{NULL, NULL}, 0};
  if (project_root && *project_root) r.dirs[r.n++] = project_root;
  if (cfg->project_path && *cfg->project_path && !(r.n && strcmp(cfg->project_path, project_root) == 0))
    r.dirs[r.n++] = cfg->project_path;
  return r;
}

/* Sets *found (allocated) to the first existing file for `relative` under the roots, or NULL, with
 * the places looked at in `tried`. Fails only when memory runs out. */
static dlcc_status locate(const project_roots *roots, const char *relative, char **found, char *tried,
                          size_t tried_size, dlcc_error *err) {
  *found = NULL;
  snprintf(tried, tried_size, "%s", relative);
  if (relative[0] == '/' || roots->n == 0) {
    if (dlcc_path_is_file(relative) && !(*found = strdup(relative)))
      return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    return DLCC_OK;
  }
  size_t used = 0;
  for (size_t i = 0; i < roots->n; i++) {
    char *path = dlcc_path_join(roots->dirs[i], relative);
    if (!path) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    if (dlcc_path_is_file(path)) {
      *found = path;
      return DLCC_OK;
    }
    int n = snprintf(tried + used, tried_size - used, "%s%s", i ? " and " : "", path);
    if (n > 0) used = (size_t)n + used < tried_size ? used + (size_t)n : tried_size - 1;
    free(path);
  }
  return DLCC_OK;
}

static dlcc_status find_dataset_file(const dlcc_pose_cfg *cfg, const project_roots *roots, char **file,
                                     dlcc_error *err) {
  const char *where = cfg->source_path ? cfg->source_path : "pose_cfg.yaml";
  if (!cfg->dataset || !*cfg->dataset)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s has no `dataset`: run dlcc create-training-dataset for this shuffle",
                     where);
  char tried[2048];
  dlcc_status st = locate(roots, cfg->dataset, file, tried, sizeof tried, err);
  if (st == DLCC_OK && !*file)
    st = dlcc_fail(err, DLCC_ERR_IO,
                   "the training set %s (`dataset` in %s) was not found: looked for %s; run dlcc "
                   "create-training-dataset for this shuffle or correct `dataset`",
                   cfg->dataset, where, tried);
  return st;
}

/* ---- the file ---- */

static bool ends_with(const char *s, const char *suffix) {
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static cJSON *parse_json(const char *file, dlcc_error *err) {
  if (ends_with(file, ".mat") || ends_with(file, ".pickle")) {
    dlcc_fail(err, DLCC_ERR_UNSUPPORTED,
              "%s is a DeepLabCut training set (.mat/.pickle); dlcc trains from its own JSON training set: run "
              "dlcc create-training-dataset for this shuffle",
              file);
    return NULL;
  }
  char *text = NULL;
  if (dlcc_file_read(file, &text, NULL, err)) return NULL;
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(text, &end, 0);
  if (!root) {
    int line = 1;
    for (const char *p = text; end && p < end && *p; p++) line += *p == '\n';
    dlcc_fail(err, DLCC_ERR_PARSE, "%s: not valid JSON (error at line %d); recreate it with dlcc "
              "create-training-dataset", file, line);
  }
  free(text);
  return root;
}

/* Sets *item to the key `key` of obj; fails naming it when it is missing or of another type. */
static dlcc_status required(const cJSON *obj, const char *key, cJSON_bool (*is_type)(const cJSON *),
                            const char *type, const char *where, const cJSON **item, dlcc_error *err) {
  *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!*item) return dlcc_fail(err, DLCC_ERR_PARSE, "%s: the key \"%s\" is missing", where, key);
  if (!is_type(*item)) return dlcc_fail(err, DLCC_ERR_PARSE, "%s: \"%s\" must be %s", where, key, type);
  return DLCC_OK;
}

static dlcc_status check_format(const cJSON *root, const char *file, dlcc_error *err) {
  if (!cJSON_IsObject(root))
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: the training set must be a JSON object", file);
  const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
  if (format && !(cJSON_IsString(format) && strcmp(format->valuestring, "dlcc training set 1") == 0))
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED,
                     "%s: \"format\" is not \"dlcc training set 1\", the only one this dlcc reads; recreate it "
                     "with dlcc create-training-dataset",
                     file);
  return DLCC_OK;
}

/* The joint names and the kind of project must be the pose_cfg's, or joint ids would mean other parts. */
static dlcc_status check_joints_and_kind(const cJSON *root, const dlcc_pose_cfg *cfg, const char *file,
                                         dlcc_error *err) {
  const char *pose = cfg->source_path ? cfg->source_path : "pose_cfg.yaml";
  const cJSON *names, *multi;
  dlcc_status st = required(root, "all_joints_names", cJSON_IsArray, "a list of names", file, &names, err);
  if (!st) st = required(root, "multianimal", cJSON_IsBool, "true or false", file, &multi, err);
  if (st) return st;
  int n = cJSON_GetArraySize(names);
  if (n != cfg->num_joints)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s names %d joints but num_joints is %d in %s; recreate the training set with dlcc "
                     "create-training-dataset", file, n, cfg->num_joints, pose);
  for (int j = 0; j < n; j++) {
    const cJSON *name = cJSON_GetArrayItem(names, j);
    if (!cJSON_IsString(name))
      return dlcc_fail(err, DLCC_ERR_PARSE, "%s: all_joints_names[%d] must be a string", file, j);
    if ((size_t)j < cfg->n_joints && strcmp(name->valuestring, cfg->all_joints_names[j]) != 0)
      return dlcc_fail(err, DLCC_ERR_INVALID,
                       "%s: joint %d is \"%s\" but \"%s\" in %s's all_joints_names; recreate the training set "
                       "with dlcc create-training-dataset", file, j, name->valuestring, cfg->all_joints_names[j], pose);
  }
  if (cJSON_IsTrue(multi) != cfg->multianimal)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s is a %s training set but %s is set up for a %s project", file,
                     cJSON_IsTrue(multi) ? "multi-animal" : "single-animal", pose,
                     cfg->multianimal ? "multi-animal" : "single-animal");
  return DLCC_OK;
}

/* ---- one image entry ---- */

/* Fails with "<file>: images[i] (<name>): <what>". */
static dlcc_status entry_fail(dlcc_error *err, dlcc_status st, const char *file, size_t i, const char *name,
                              const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static dlcc_status entry_fail(dlcc_error *err, dlcc_status st, const char *file, size_t i, const char *name,
                              const char *fmt, ...) {
  char what[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (name) return dlcc_fail(err, st, "%s: images[%zu] (%s): %s", file, i, name, what);
  return dlcc_fail(err, st, "%s: images[%zu]: %s", file, i, what);
}

static bool whole_in_range(const cJSON *v, double lo, double hi) {
  return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && v->valuedouble >= lo && v->valuedouble <= hi;
}

static dlcc_status read_name(const cJSON *entry, const char *file, size_t i, dlcc_train_image *img, dlcc_error *err) {
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(entry, "image");
  if (!cJSON_IsString(name) || !*name->valuestring)
    return entry_fail(err, DLCC_ERR_PARSE, file, i, NULL, "\"image\" (the image's path in the project) is %s",
                      name ? "not a non-empty string" : "missing");
  if (!(img->name = strdup(name->valuestring))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (char *p = img->name; *p; p++)
    if (*p == '\\') *p = '/';
  return DLCC_OK;
}

/* "size": [channels, height, width], DeepLabCut's order. */
static dlcc_status read_size(const cJSON *entry, const char *file, size_t i, dlcc_train_image *img, dlcc_error *err) {
  const cJSON *size = cJSON_GetObjectItemCaseSensitive(entry, "size");
  bool ok = cJSON_IsArray(size) && cJSON_GetArraySize(size) == 3;
  for (int k = 0; ok && k < 3; k++) ok = whole_in_range(cJSON_GetArrayItem(size, k), 1, INT_MAX);
  if (!ok)
    return entry_fail(err, DLCC_ERR_INVALID, file, i, img->name,
                      "\"size\" must be [channels, height, width] with positive whole numbers");
  img->height = cJSON_GetArrayItem(size, 1)->valueint;
  img->width = cJSON_GetArrayItem(size, 2)->valueint;
  return DLCC_OK;
}

/* One [joint, x, y] of animal slot a. */
static dlcc_status read_joint(const cJSON *triple, int num_joints, const char *file, size_t i, size_t a, size_t k,
                              dlcc_train_image *img, dlcc_error *err) {
  if (!cJSON_IsArray(triple) || cJSON_GetArraySize(triple) != 3)
    return entry_fail(err, DLCC_ERR_PARSE, file, i, img->name, "joints[%zu][%zu] must be [joint, x, y]", a, k);
  const cJSON *id = cJSON_GetArrayItem(triple, 0), *x = cJSON_GetArrayItem(triple, 1),
              *y = cJSON_GetArrayItem(triple, 2);
  if (!whole_in_range(id, -INFINITY, INFINITY))
    return entry_fail(err, DLCC_ERR_INVALID, file, i, img->name, "joints[%zu][%zu] has a joint id that is not a "
                      "whole number", a, k);
  if (!whole_in_range(id, 0, num_joints - 1))
    return entry_fail(err, DLCC_ERR_INVALID, file, i, img->name,
                      "joints[%zu][%zu] has joint id %.0f, out of range for num_joints %d (ids 0..%d)", a, k,
                      id->valuedouble, num_joints, num_joints - 1);
  if (!cJSON_IsNumber(x) || !cJSON_IsNumber(y) || !isfinite(x->valuedouble) || !isfinite(y->valuedouble))
    return entry_fail(err, DLCC_ERR_INVALID, file, i, img->name,
                      "joints[%zu][%zu] (joint %d) must have finite numbers as x and y", a, k, id->valueint);
  img->joints[img->n_joints++] = (dlcc_joint){.id = id->valueint, .x = x->valuedouble, .y = y->valuedouble};
  return DLCC_OK;
}

/* maDLC: a joint id at most once per animal (DeepLabCut keeps one position per animal and joint; the
 * part affinity fields join one joint to one other). */
static dlcc_status check_each_joint_once(const dlcc_train_dataset *ds, size_t i, const dlcc_train_image *img,
                                         dlcc_error *err) {
  size_t first = 0;
  for (size_t a = 0; a < img->n_animals; a++) {
    const dlcc_joint *own = img->joints + first;
    for (size_t k = 0; k < img->joints_per_animal[a]; k++)
      for (size_t m = 0; m < k; m++)
        if (own[m].id == own[k].id)
          return entry_fail(err, DLCC_ERR_INVALID, ds->file, i, img->name,
                            "joints[%zu] lists joint %d twice (entries %zu and %zu); each animal has one position "
                            "per body part: recreate the training set with dlcc create-training-dataset",
                            a, own[k].id, m, k);
    first += img->joints_per_animal[a];
  }
  return DLCC_OK;
}

/* "joints": per animal slot a list of [joint, x, y] (one slot for a single-animal set). */
static dlcc_status read_joints(const cJSON *entry, const dlcc_train_dataset *ds, size_t i, dlcc_train_image *img,
                               dlcc_error *err) {
  const cJSON *animals = cJSON_GetObjectItemCaseSensitive(entry, "joints");
  if (!cJSON_IsArray(animals))
    return entry_fail(err, DLCC_ERR_PARSE, ds->file, i, img->name,
                      "\"joints\" (a list per animal of [joint, x, y]) is %s", animals ? "not a list" : "missing");
  size_t n_slots = (size_t)cJSON_GetArraySize(animals), total = 0;
  if (!ds->multianimal && n_slots > 1)
    return entry_fail(err, DLCC_ERR_INVALID, ds->file, i, img->name,
                      "\"joints\" lists %zu animals in a single-animal training set", n_slots);
  const cJSON *slot;
  cJSON_ArrayForEach(slot, animals) {
    if (!cJSON_IsArray(slot))
      return entry_fail(err, DLCC_ERR_PARSE, ds->file, i, img->name, "each animal's joints must be a list");
    total += (size_t)cJSON_GetArraySize(slot);
  }
  if ((total && !(img->joints = malloc(total * sizeof *img->joints))) ||
      (n_slots && !(img->joints_per_animal = calloc(n_slots, sizeof *img->joints_per_animal))))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  img->n_animals = n_slots;
  size_t a = 0;
  cJSON_ArrayForEach(slot, animals) {
    size_t k = 0;
    const cJSON *triple;
    cJSON_ArrayForEach(triple, slot) {
      dlcc_status st = read_joint(triple, ds->num_joints, ds->file, i, a, k++, img, err);
      if (st) return st;
    }
    img->joints_per_animal[a++] = k;
  }
  return ds->multianimal ? check_each_joint_once(ds, i, img, err) : DLCC_OK;
}

/* Finds the image on disk and checks that its header gives the size the labels were made for. */
static dlcc_status check_on_disk(const project_roots *roots, const char *file, size_t i, dlcc_train_image *img,
                                 dlcc_error *err) {
  char tried[2048];
  dlcc_status st = locate(roots, img->name, &img->path, tried, sizeof tried, err);
  if (st) return st;
  if (!img->path)
    return entry_fail(err, DLCC_ERR_IO, file, i, img->name, "the image does not exist: looked for %s", tried);
  int width = 0, height = 0;
  if ((st = dlcc_image_read_size(img->path, &width, &height, err))) {
    dlcc_error_prefix(err, "%s: images[%zu]", file, i);
    return st;
  }
  if (width != img->width || height != img->height)
    return entry_fail(err, DLCC_ERR_INVALID, file, i, img->name,
                      "%s is %dx%d but the training set lists %dx%d (width x height), so its labels may not fit "
                      "its pixels; recreate the training set with dlcc create-training-dataset",
                      img->path, width, height, img->width, img->height);
  return DLCC_OK;
}

static dlcc_status read_image(const cJSON *entry, const dlcc_train_dataset *ds, const project_roots *roots, size_t i,
                              dlcc_train_image *img, dlcc_error *err) {
  if (!cJSON_IsObject(entry))
    return entry_fail(err, DLCC_ERR_PARSE, ds->file, i, NULL, "must be an object with image, size and joints");
  dlcc_status st = read_name(entry, ds->file, i, img, err);
  if (!st) st = read_size(entry, ds->file, i, img, err);
  if (!st) st = read_joints(entry, ds, i, img, err);
  if (!st) st = check_on_disk(roots, ds->file, i, img, err);
  return st;
}

static dlcc_status read_images(const cJSON *root, dlcc_train_dataset *ds, const project_roots *roots,
                               dlcc_error *err) {
  const cJSON *images;
  dlcc_status st = required(root, "images", cJSON_IsArray, "a list", ds->file, &images, err);
  if (st) return st;
  size_t n = (size_t)cJSON_GetArraySize(images);
  if (n == 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s lists no images: label some frames and recreate the training set",
                     ds->file);
  if (!(ds->images = calloc(n, sizeof *ds->images))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  const cJSON *entry;
  cJSON_ArrayForEach(entry, images) {
    st = read_image(entry, ds, roots, ds->n_images, &ds->images[ds->n_images], err);
    ds->n_images++;
    if (st) return st;
  }
  return DLCC_OK;
}

/* ---- pixels ---- */

static dlcc_status decode_cache(dlcc_train_dataset *ds, size_t budget, dlcc_error *err) {
  for (size_t i = 0; i < ds->n_images; i++) {
    dlcc_train_image *img = &ds->images[i];
    size_t bytes = (size_t)img->width * (size_t)img->height * 3;
    if (bytes > budget - ds->cached_bytes) break;
    const dlcc_image *pixels = NULL;
    dlcc_status st = dlcc_train_dataset_pixels(ds, i, &img->pixels, &pixels, err);
    if (st) return st;
    ds->cached_bytes += bytes;
    ds->n_cached++;
  }
  return DLCC_OK;
}

dlcc_status dlcc_train_dataset_pixels(const dlcc_train_dataset *ds, size_t i, dlcc_image *scratch,
                                      const dlcc_image **pixels, dlcc_error *err) {
  const dlcc_train_image *img = &ds->images[i];
  if (img->pixels.rgb) {
    *pixels = &img->pixels;
    return DLCC_OK;
  }
  dlcc_image_free(scratch);
  dlcc_status st = dlcc_image_load(img->path, scratch, err);
  if (st) {
    dlcc_error_prefix(err, "%s: images[%zu]", ds->file, i);
    return st;
  }
  if (scratch->width != img->width || scratch->height != img->height)
    return entry_fail(err, DLCC_ERR_INVALID, ds->file, i, img->name,
                      "%s is now %dx%d, not the %dx%d listed: it changed after the training set was loaded",
                      img->path, scratch->width, scratch->height, img->width, img->height);
  *pixels = scratch;
  return DLCC_OK;
}

/* ---- the whole set ---- */

static dlcc_status read_dataset(const dlcc_pose_cfg *cfg, const project_roots *roots, dlcc_train_dataset *ds,
                                dlcc_error *err) {
  if (cfg->num_joints < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: num_joints is %d; it must be at least 1",
                     cfg->source_path ? cfg->source_path : "pose_cfg.yaml", cfg->num_joints);
  dlcc_status st = find_dataset_file(cfg, roots, &ds->file, err);
  if (st) return st;
  cJSON *root = parse_json(ds->file, err);
  if (!root) return err ? err->status : DLCC_ERR_PARSE;
  ds->multianimal = cfg->multianimal;
  ds->num_joints = cfg->num_joints;
  st = check_format(root, ds->file, err);
  if (!st) st = check_joints_and_kind(root, cfg, ds->file, err);
  if (!st) st = read_images(root, ds, roots, err);
  cJSON_Delete(root);
  return st;
}

dlcc_status dlcc_train_dataset_load(const dlcc_pose_cfg *cfg, const char *project_root,
                                    const dlcc_train_dataset_options *opt, dlcc_train_dataset *ds, dlcc_error *err) {
  *ds = (dlcc_train_dataset){0};
  size_t budget = opt ? opt->cache_bytes : DLCC_TRAIN_DATASET_DEFAULT_CACHE_BYTES;
  project_roots roots = roots_of(cfg, project_root);
  dlcc_status st = read_dataset(cfg, &roots, ds, err);
  if (!st) st = decode_cache(ds, budget, err);
  if (st) dlcc_train_dataset_free(ds);
  return st;
}

void dlcc_train_dataset_free(dlcc_train_dataset *ds) {
  if (!ds) return;
  for (size_t i = 0; i < ds->n_images; i++) {
    free(ds->images[i].name);
    free(ds->images[i].path);
    free(ds->images[i].joints);
    free(ds->images[i].joints_per_animal);
    dlcc_image_free(&ds->images[i].pixels);
  }
  free(ds->images);
  free(ds->file);
  *ds = (dlcc_train_dataset){0};
}
