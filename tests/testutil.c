/* Shared test helpers (see testutil.h). */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fileio.h"

char *test_tempdir(const char *label) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  char *tmpl = dlcc_strdupf("%s/dlcc-test-%s-XXXXXX", base, label);
  assert_non_null(tmpl);
  if (!mkdtemp(tmpl)) fail_msg("mkdtemp %s: %s", tmpl, strerror(errno));
  return tmpl;
}

void test_rmtree(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    unlink(path);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char *child = dlcc_path_join(path, e->d_name);
    struct stat s;
    if (lstat(child, &s) == 0 && S_ISDIR(s.st_mode)) test_rmtree(child);
    else unlink(child);
    free(child);
  }
  closedir(d);
  rmdir(path);
}

char *test_write_file(const char *dir, const char *name, const char *text) {
  char *path = dlcc_path_join(dir, name);
  char *parent = dlcc_path_dirname(path);
  dlcc_error err;
  if (dlcc_mkdirs(parent, &err)) fail_msg("%s", err.message);
  free(parent);
  FILE *fp = fopen(path, "wb");
  if (!fp) fail_msg("cannot write %s", path);
  fputs(text, fp);
  fclose(fp);
  return path;
}

static void copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  if (!in || !out) fail_msg("copy %s -> %s failed", from, to);
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  fclose(in);
  fclose(out);
}

void test_copytree(const char *from, const char *to) {
  dlcc_error err;
  if (dlcc_mkdirs(to, &err)) fail_msg("%s", err.message);
  DIR *d = opendir(from);
  if (!d) fail_msg("cannot open %s", from);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char *src = dlcc_path_join(from, e->d_name), *dst = dlcc_path_join(to, e->d_name);
    if (dlcc_path_is_dir(src)) test_copytree(src, dst);
    else copy_file(src, dst);
    free(src);
    free(dst);
  }
  closedir(d);
}

char *test_shared_data(const char *name) {
  const char *base = getenv("DLCC_SHARED_DATA");
  char *path = dlcc_path_join(base ? base : "../shared/data", name);
  if (dlcc_path_is_dir(path)) return path;
  const char *ci = getenv("CI");
  bool required = ci && !strcmp(ci, "true");
  fprintf(stderr, "%s: shared data %s is not here (a fresh clone has no ../shared)%s\n",
          required ? "FAILED" : "SKIPPED", path, required ? "; it is required under CI=true" : "");
  free(path);
  if (required) fail();
  skip();
  return NULL;
}

int test_run_dlcc(const char *args, char **output) {
  const char *bin = getenv("DLCC_BIN");
  if (!bin) fail_msg("DLCC_BIN is not set (run the tests through ctest)");
  char *cmd = dlcc_strdupf("'%s' %s 2>&1", bin, args);
  FILE *p = popen(cmd, "r");
  if (!p) fail_msg("cannot run %s", cmd);
  dlcc_strbuf sb = {0};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) dlcc_strbuf_appendn(&sb, buf, n);
  int status = pclose(p);
  free(cmd);
  if (output) *output = sb.data ? sb.data : strdup("");
  else dlcc_strbuf_free(&sb);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

char *test_read_file(const char *path, size_t *len) {
  char *data;
  dlcc_error err;
  if (dlcc_file_read(path, &data, len, &err)) fail_msg("%s", err.message);
  return data;
}

void test_assert_contains(const char *haystack, const char *needle, const char *file, int line) {
  if (haystack && needle && strstr(haystack, needle)) return;
  fail_msg("%s:%d: expected to find \"%s\" in \"%s\"", file, line, needle ? needle : "(null)",
           haystack ? haystack : "(null)");
}
