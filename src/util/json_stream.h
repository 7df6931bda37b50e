/* JSON read token by token from a file, for dlcc's own large JSON files (a video's assemblies and
 * tracklets) whose whole tree would take many times the file's size in memory: the reader keeps
 * only the current token and the nesting, and every error names the file, line and column. Also
 * the small pieces for writing such files (strings escaped, numbers as Python's repr). */
#ifndef DLCC_UTIL_JSON_STREAM_H
#define DLCC_UTIL_JSON_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"
#include "util/fileio.h"

typedef enum dlcc_json_kind {
  DLCC_JSON_BEGIN_OBJECT,
  DLCC_JSON_END_OBJECT,
  DLCC_JSON_BEGIN_ARRAY,
  DLCC_JSON_END_ARRAY,
  DLCC_JSON_KEY,          /* an object's key (its ':' already read); text holds it */
  DLCC_JSON_STRING,       /* text holds it, unescaped, UTF-8 */
  DLCC_JSON_NUMBER,       /* number holds it; NaN, Infinity and -Infinity (Python's json) are accepted */
  DLCC_JSON_TRUE,
  DLCC_JSON_FALSE,
  DLCC_JSON_NULL,
  DLCC_JSON_END           /* the end of the document (only after the one top-level value) */
} dlcc_json_kind;

typedef struct dlcc_json_token {
  dlcc_json_kind kind;
  int line, column;       /* where it starts, 1-based */
  const char *text;       /* KEY, STRING: valid until the next call */
  size_t text_len;
  double number;          /* NUMBER */
} dlcc_json_token;

typedef struct dlcc_json_reader dlcc_json_reader;

/* Opens path for reading; the name is used in every message. */
dlcc_status dlcc_json_reader_open(dlcc_json_reader **r, const char *path, dlcc_error *err);
void dlcc_json_reader_close(dlcc_json_reader *r);
const char *dlcc_json_reader_path(const dlcc_json_reader *r);

/* The next token, with the grammar checked (commas, colons, brackets, one top-level value, nothing
 * after it). Errors: "<path> line L, column C: <what is wrong>", "the file ends early" when it is cut
 * short. */
dlcc_status dlcc_json_next(dlcc_json_reader *r, dlcc_json_token *tok, dlcc_error *err);

/* Skips the value that begins with tok (for BEGIN_OBJECT/BEGIN_ARRAY everything up to its end). */
dlcc_status dlcc_json_skip(dlcc_json_reader *r, const dlcc_json_token *tok, dlcc_error *err);

/* Fails with "<path> line L, column C: <message>" at tok. */
dlcc_status dlcc_json_error_at(const dlcc_json_reader *r, const dlcc_json_token *tok, dlcc_error *err,
                               dlcc_status status, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A short name for a token's kind ("a number", "null", "'['", ...), for messages. */
const char *dlcc_json_kind_name(dlcc_json_kind kind);

/* Typed reads of the next value; `what` names it in the message when it is of another kind ("<path>
 * line L, column C: <what> should be a string, not a number"). */
dlcc_status dlcc_json_read_string(dlcc_json_reader *r, const char *what, char **out, dlcc_error *err);
/* A number, or null read as NaN when allow_null. */
dlcc_status dlcc_json_read_number(dlcc_json_reader *r, const char *what, bool allow_null, double *out,
                                  dlcc_error *err);
/* A whole number in [min, max]. */
dlcc_status dlcc_json_read_long(dlcc_json_reader *r, const char *what, long min, long max, long *out,
                                dlcc_error *err);
/* An array of strings (each copied; free with dlcc_json_free_strings). */
dlcc_status dlcc_json_read_strings(dlcc_json_reader *r, const char *what, char ***out, size_t *n,
                                   dlcc_error *err);
void dlcc_json_free_strings(char **strings, size_t n);

/* Writing: s as a JSON string (quoted, escaped); v as Python's repr (null for NaN and infinities). */
void dlcc_json_append_string(dlcc_strbuf *sb, const char *s);
void dlcc_json_append_number(dlcc_strbuf *sb, double v);
/* ["a", "b"] */
void dlcc_json_append_strings(dlcc_strbuf *sb, char *const *s, size_t n);

#endif
