/* Files and paths: whole-file reads, atomic writes (temp file + fsync + rename, so a killed run never
 * leaves a half-written output), directory creation and path pieces. */
#ifndef DLCC_UTIL_FILEIO_H
#define DLCC_UTIL_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

/* Reads a whole file into a NUL-terminated buffer the caller frees. */
dlcc_status dlcc_file_read(const char *path, char **data, size_t *len, dlcc_error *err);

/* An output file that appears under its final name only when committed. */
typedef struct dlcc_atomic_file {
  FILE *fp;            /* write here */
  char *final_path;
  char *temp_path;
} dlcc_atomic_file;

/* Opens "<path>.tmp-<pid>" next to path for writing. */
dlcc_status dlcc_atomic_open(dlcc_atomic_file *f, const char *path, dlcc_error *err);
/* Flushes, fsyncs and renames the temp file onto the final path; frees f's strings either way. */
dlcc_status dlcc_atomic_commit(dlcc_atomic_file *f, dlcc_error *err);
/* Closes and deletes the temp file, leaving any earlier file at the final path untouched. */
void dlcc_atomic_abort(dlcc_atomic_file *f);
/* Writes len bytes to path atomically. */
dlcc_status dlcc_file_write_atomic(const char *path, const void *data, size_t len, dlcc_error *err);

/* Creates path and its missing parents (like mkdir -p). */
dlcc_status dlcc_mkdirs(const char *path, dlcc_error *err);
bool dlcc_path_is_file(const char *path);
bool dlcc_path_is_dir(const char *path);

/* Path pieces; each returns a newly allocated string the caller frees (NULL on allocation failure). */
char *dlcc_path_join(const char *a, const char *b);   /* "a/b" (b returned as is when absolute) */
char *dlcc_path_dirname(const char *path);            /* "." when path has no slash */
char *dlcc_path_basename(const char *path);           /* last component; handles '/' and '\\' */
char *dlcc_path_stem(const char *path);               /* basename without its last extension */
char *dlcc_path_absolute(const char *path);           /* realpath, or cwd-joined when missing */

/* A growable string for building file contents. */
typedef struct dlcc_strbuf {
  char *data;   /* NUL-terminated; NULL until the first append */
  size_t len;
  size_t cap;
  bool failed;  /* an allocation failed; contents are incomplete */
} dlcc_strbuf;

void dlcc_strbuf_append(dlcc_strbuf *sb, const char *s);
void dlcc_strbuf_appendn(dlcc_strbuf *sb, const char *s, size_t n);
void dlcc_strbuf_printf(dlcc_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dlcc_strbuf_free(dlcc_strbuf *sb);

/* printf into a newly allocated string the caller frees. */
char *dlcc_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
