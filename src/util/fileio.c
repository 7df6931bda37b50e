/* Files and paths: whole-file reads, atomic writes, mkdir -p, path pieces, growable strings.
 * Atomic writes go through a temp file in the same directory so rename() is atomic on POSIX. */
#include "util/fileio.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

dlcc_status dlcc_file_read(const char *path, char **data, size_t *len, dlcc_error *err) {
  *data = NULL;
  if (len) *len = 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return dlcc_fail(err, DLCC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(fp);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", path);
  }
  for (;;) {
    if (n + 1 >= cap) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        fclose(fp);
        return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", path);
      }
      buf = bigger;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, fp);
    n += got;
    if (got == 0) break;
  }
  int failed = ferror(fp);
  fclose(fp);
  if (failed) {
    free(buf);
    return dlcc_fail(err, DLCC_ERR_IO, "error while reading %s", path);
  }
  buf[n] = '\0';
  *data = buf;
  if (len) *len = n;
  return DLCC_OK;
}

dlcc_status dlcc_atomic_open(dlcc_atomic_file *f, const char *path, dlcc_error *err) {
  memset(f, 0, sizeof *f);
  f->final_path = strdup(path);
  f->temp_path = dlcc_strdupf("%s.tmp-%ld", path, (long)getpid());
  if (!f->final_path || !f->temp_path) {
    dlcc_atomic_abort(f);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening %s", path);
  }
  f->fp = fopen(f->temp_path, "wb");
  if (!f->fp) {
    dlcc_status st = dlcc_fail(err, DLCC_ERR_IO, "cannot write %s: %s", f->temp_path, strerror(errno));
    dlcc_atomic_abort(f);
    return st;
  }
  return DLCC_OK;
}

static void atomic_release(dlcc_atomic_file *f) {
  free(f->final_path);
  free(f->temp_path);
  f->final_path = f->temp_path = NULL;
  f->fp = NULL;
}

dlcc_status dlcc_atomic_commit(dlcc_atomic_file *f, dlcc_error *err) {
  dlcc_status st = DLCC_OK;
  int write_failed = fflush(f->fp) != 0 || ferror(f->fp) || fsync(fileno(f->fp)) != 0;
  int saved = errno;
  if (fclose(f->fp) != 0 && !write_failed) {
    write_failed = 1;
    saved = errno;
  }
  f->fp = NULL;
  if (write_failed) {
    st = dlcc_fail(err, DLCC_ERR_IO, "cannot write %s: %s", f->final_path, strerror(saved));
    unlink(f->temp_path);
  } else if (rename(f->temp_path, f->final_path) != 0) {
    st = dlcc_fail(err, DLCC_ERR_IO, "cannot rename %s to %s: %s", f->temp_path, f->final_path,
                   strerror(errno));
    unlink(f->temp_path);
  }
  atomic_release(f);
  return st;
}

void dlcc_atomic_abort(dlcc_atomic_file *f) {
  if (f->fp) fclose(f->fp);
  if (f->temp_path) unlink(f->temp_path);
  atomic_release(f);
}

dlcc_status dlcc_file_write_atomic(const char *path, const void *data, size_t len, dlcc_error *err) {
  dlcc_atomic_file f;
  dlcc_status st = dlcc_atomic_open(&f, path, err);
  if (st) return st;
  if (len && fwrite(data, 1, len, f.fp) != len) {
    st = dlcc_fail(err, DLCC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    dlcc_atomic_abort(&f);
    return st;
  }
  return dlcc_atomic_commit(&f, err);
}

dlcc_status dlcc_mkdirs(const char *path, dlcc_error *err) {
  char *p = strdup(path);
  if (!p) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  size_t n = strlen(p);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != '\0') continue;
    char saved = p[i];
    p[i] = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      dlcc_status st = dlcc_fail(err, DLCC_ERR_IO, "cannot create folder %s: %s", p, strerror(errno));
      free(p);
      return st;
    }
    if (!dlcc_path_is_dir(p)) {
      dlcc_status st = dlcc_fail(err, DLCC_ERR_IO, "cannot create folder %s: a file of that name exists", p);
      free(p);
      return st;
    }
    p[i] = saved;
  }
  free(p);
  return DLCC_OK;
}

bool dlcc_path_is_file(const char *path) {
  struct stat s;
  return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

bool dlcc_path_is_dir(const char *path) {
  struct stat s;
  return stat(path, &s) == 0 && S_ISDIR(s.st_mode);
}

char *dlcc_path_join(const char *a, const char *b) {
  if (b[0] == '/' || a[0] == '\0') return strdup(b);
  size_t la = strlen(a);
  while (la > 1 && a[la - 1] == '/') la--;
  return dlcc_strdupf("%.*s/%s", (int)la, a, b);
}

static const char *last_separator(const char *path) {
  const char *s = strrchr(path, '/'), *b = strrchr(path, '\\');
  return (b && (!s || b > s)) ? b : s;
}

char *dlcc_path_dirname(const char *path) {
  const char *sep = last_separator(path);
  if (!sep) return strdup(".");
  if (sep == path) return strdup("/");
  return strndup(path, (size_t)(sep - path));
}

char *dlcc_path_basename(const char *path) {
  const char *sep = last_separator(path);
  return strdup(sep ? sep + 1 : path);
}

char *dlcc_path_stem(const char *path) {
  char *base = dlcc_path_basename(path);
  if (!base) return NULL;
  char *dot = strrchr(base, '.');
  if (dot && dot != base) *dot = '\0';
  return base;
}

char *dlcc_path_absolute(const char *path) {
  char resolved[PATH_MAX];
  if (realpath(path, resolved)) return strdup(resolved);
  if (path[0] == '/') return strdup(path);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return strdup(path);
  return dlcc_path_join(cwd, path);
}

static bool strbuf_reserve(dlcc_strbuf *sb, size_t extra) {
  if (sb->failed) return false;
  if (sb->len + extra + 1 <= sb->cap) return true;
  size_t cap = sb->cap ? sb->cap : 256;
  while (cap < sb->len + extra + 1) cap *= 2;
  char *bigger = realloc(sb->data, cap);
  if (!bigger) {
    sb->failed = true;
    return false;
  }
  sb->data = bigger;
  sb->cap = cap;
  return true;
}

void dlcc_strbuf_appendn(dlcc_strbuf *sb, const char *s, size_t n) {
  if (!strbuf_reserve(sb, n)) return;
  memcpy(sb->data + sb->len, s, n);
  sb->len += n;
  sb->data[sb->len] = '\0';
}

void dlcc_strbuf_append(dlcc_strbuf *sb, const char *s) { dlcc_strbuf_appendn(sb, s, strlen(s)); }

void dlcc_strbuf_printf(dlcc_strbuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !strbuf_reserve(sb, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb->len += (size_t)n;
}

void dlcc_strbuf_free(dlcc_strbuf *sb) {
  free(sb->data);
  memset(sb, 0, sizeof *sb);
}

char *dlcc_strdupf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}
