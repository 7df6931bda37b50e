/* Finding and pruning a run's snapshot files (see snapshots.h). Only names dlcc itself writes are
 * recognised (canonical decimal iterations), so a file is always deleted under the name it was listed
 * by, and nothing else in the folder (DeepLabCut's TensorFlow checkpoints, logs) is ever touched. */
#include "train/snapshots.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

char *dlcc_snapshot_path(const char *prefix, long iteration) {
  return dlcc_strdupf("%s-%ld%s", prefix, iteration, DLCC_SNAPSHOT_EXTENSION);
}

/* The iteration in "<base>-<digits>.safetensors", or -1 when name is not such a file. Leading zeros
 * are refused so that dlcc_snapshot_path gives the name back. */
static long iteration_of(const char *name, const char *base) {
  size_t base_len = strlen(base), ext_len = strlen(DLCC_SNAPSHOT_EXTENSION), len = strlen(name);
  if (len <= base_len + 1 + ext_len || strncmp(name, base, base_len) != 0 || name[base_len] != '-') return -1;
  if (strcmp(name + len - ext_len, DLCC_SNAPSHOT_EXTENSION) != 0) return -1;
  const char *digits = name + base_len + 1, *end = name + len - ext_len;
  if (digits[0] == '0' && end - digits > 1) return -1;
  long value = 0;
  for (const char *c = digits; c < end; c++) {
    if (*c < '0' || *c > '9' || value > (LONG_MAX - 9) / 10) return -1;
    value = value * 10 + (*c - '0');
  }
  return value;
}

static int compare_longs(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

static dlcc_status append_iteration(long **items, size_t *count, size_t *cap, long it, dlcc_error *err) {
  if (*count == *cap) {
    size_t grown = *cap ? 2 * *cap : 16;
    long *bigger = realloc(*items, grown * sizeof *bigger);
    if (!bigger) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory listing snapshots");
    *items = bigger;
    *cap = grown;
  }
  (*items)[(*count)++] = it;
  return DLCC_OK;
}

static dlcc_status list_folder(const char *dir_path, const char *base, long **iterations, size_t *count,
                               dlcc_error *err) {
  DIR *dir = opendir(dir_path);
  if (!dir) {
    if (errno == ENOENT) return DLCC_OK;
    return dlcc_fail(err, DLCC_ERR_IO, "cannot read the folder %s: %s", dir_path, strerror(errno));
  }
  size_t cap = 0;
  dlcc_status st = DLCC_OK;
  struct dirent *e;
  while (!st && (e = readdir(dir))) {
    long it = iteration_of(e->d_name, base);
    if (it >= 0) st = append_iteration(iterations, count, &cap, it, err);
  }
  closedir(dir);
  return st;
}

dlcc_status dlcc_snapshots_list(const char *prefix, long **iterations, size_t *count, dlcc_error *err) {
  *iterations = NULL;
  *count = 0;
  char *dir_path = dlcc_path_dirname(prefix), *base = dlcc_path_basename(prefix);
  dlcc_status st = dir_path && base ? list_folder(dir_path, base, iterations, count, err)
                                    : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory listing snapshots");
  free(dir_path);
  free(base);
  if (st) {
    free(*iterations);
    *iterations = NULL;
    *count = 0;
    return st;
  }
  if (*count) qsort(*iterations, *count, sizeof **iterations, compare_longs);
  return DLCC_OK;
}

dlcc_status dlcc_snapshots_prune(const char *prefix, size_t keep, size_t *removed, dlcc_error *err) {
  if (removed) *removed = 0;
  long *iterations;
  size_t count;
  dlcc_status st = dlcc_snapshots_list(prefix, &iterations, &count, err);
  for (size_t i = 0; !st && count > keep && i < count - keep; i++) {
    char *path = dlcc_snapshot_path(prefix, iterations[i]);
    if (!path) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory pruning snapshots");
    else if (remove(path) != 0 && errno != ENOENT)
      st = dlcc_fail(err, DLCC_ERR_IO, "cannot delete the old snapshot %s (max_snapshots_to_keep is %zu): %s", path,
                     keep, strerror(errno));
    else if (removed) (*removed)++;
    free(path);
  }
  free(iterations);
  return st;
}
