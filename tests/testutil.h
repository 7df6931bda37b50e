/* Shared test helpers: temporary folders, copying a project, the shared data folder (skipped when
 * absent, except under CI=true where its absence fails), running the dlcc command. */
#ifndef DLCC_TESTS_TESTUTIL_H
#define DLCC_TESTS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh empty folder under $TMPDIR (or /tmp); the caller frees the string and may remove it with
 * test_rmtree. */
char *test_tempdir(const char *label);
void test_rmtree(const char *path);
/* Writes text to dir/name (creating parent folders); returns the full path (caller frees). */
char *test_write_file(const char *dir, const char *name, const char *text);
/* Copies a folder tree (files and folders, permissions made writable). */
void test_copytree(const char *from, const char *to);
/* Path of ../shared/data/<name>; when missing, skips the test (fails it under CI=true). */
char *test_shared_data(const char *name);
/* Runs the dlcc binary ($DLCC_BIN) with a shell command tail, capturing stdout+stderr into *output
 * (caller frees); returns the exit status. */
int test_run_dlcc(const char *args, char **output);
/* Reads a whole file (fails the test when missing); caller frees. */
char *test_read_file(const char *path, size_t *len);

/* Asserts that haystack contains needle, printing both when not. */
#define assert_contains(haystack, needle) test_assert_contains((haystack), (needle), __FILE__, __LINE__)
void test_assert_contains(const char *haystack, const char *needle, const char *file, int line);

#endif
