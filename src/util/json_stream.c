/* A JSON pull reader over a FILE (64 KiB at a time, line and column counted) and the writing helpers
 * declared in json_stream.h. The grammar is checked with a stack of open containers, each in one of
 * a few states (what may come next). */
#include "util/json_stream.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef enum container { IN_TOP, IN_OBJECT, IN_ARRAY } container;

/* What a container expects next. */
typedef enum expect {
  EXPECT_FIRST,       /* object: a key or '}'; array: a value or ']'; top: the value */
  EXPECT_ITEM,        /* after ',': object: a key; array: a value */
  EXPECT_VALUE,       /* object: the value after "key": */
  EXPECT_SEPARATOR    /* after a value: ',' or the closing bracket; top: the end of the text */
} expect;

struct dlcc_json_reader {
  FILE *fp;
  char *path;
  unsigned char buf[65536];
  size_t pos, len;
  bool eof;
  int line, column;                 /* of the next character */
  int depth;                        /* stack[0] is the top level */
  container kind[JSON_MAX_DEPTH + 1];
  expect state[JSON_MAX_DEPTH + 1];
  char *text;                       /* the current string, unescaped */
  size_t text_len, text_cap;
  bool io_error;
};

/* ------------------------------------------------------------------------------------------------
 * Characters. */

static int peek_char(dlcc_json_reader *r) {
  if (r->pos == r->len) {
    if (r->eof) return EOF;
    r->len = fread(r->buf, 1, sizeof r->buf, r->fp);
    r->pos = 0;
    if (r->len == 0) {
      r->eof = true;
      if (ferror(r->fp)) r->io_error = true;
      return EOF;
    }
  }
  return r->buf[r->pos];
}

static int next_char(dlcc_json_reader *r) {
  int c = peek_char(r);
  if (c == EOF) return EOF;
  r->pos++;
  if (c == '\n') {
    r->line++;
    r->column = 1;
  } else {
    r->column++;
  }
  return c;
}

static void skip_space(dlcc_json_reader *r) {
  for (int c = peek_char(r); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek_char(r)) next_char(r);
}

/* ------------------------------------------------------------------------------------------------
 * Messages. */

static dlcc_status fail_vat(const dlcc_json_reader *r, int line, int column, dlcc_error *err, dlcc_status status,
                            const char *fmt, va_list ap) {
  char what[1536];
  vsnprintf(what, sizeof what, fmt, ap);
  return dlcc_fail(err, status, "%s line %d, column %d: %s", r->path, line, column, what);
}

static dlcc_status fail_here(const dlcc_json_reader *r, dlcc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static dlcc_status fail_here(const dlcc_json_reader *r, dlcc_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dlcc_status st = fail_vat(r, r->line, r->column, err, DLCC_ERR_PARSE, fmt, ap);
  va_end(ap);
  return st;
}

dlcc_status dlcc_json_error_at(const dlcc_json_reader *r, const dlcc_json_token *tok, dlcc_error *err,
                               dlcc_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dlcc_status st = fail_vat(r, tok->line, tok->column, err, status, fmt, ap);
  va_end(ap);
  return st;
}

static dlcc_status ends_early(const dlcc_json_reader *r, dlcc_error *err) {
  if (r->io_error) return dlcc_fail(err, DLCC_ERR_IO, "cannot read %s: %s", r->path, strerror(errno));
  return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: the file ends early (cut short while being "
                   "written?)", r->path, r->line, r->column);
}

const char *dlcc_json_kind_name(dlcc_json_kind kind) {
  switch (kind) {
    case DLCC_JSON_BEGIN_OBJECT: return "an object";
    case DLCC_JSON_END_OBJECT: return "'}'";
    case DLCC_JSON_BEGIN_ARRAY: return "an array";
    case DLCC_JSON_END_ARRAY: return "']'";
    case DLCC_JSON_KEY: return "a key";
    case DLCC_JSON_STRING: return "a string";
    case DLCC_JSON_NUMBER: return "a number";
    case DLCC_JSON_TRUE: return "true";
    case DLCC_JSON_FALSE: return "false";
    case DLCC_JSON_NULL: return "null";
    case DLCC_JSON_END: return "the end of the file";
  }
  return "?";
}

/* ------------------------------------------------------------------------------------------------
 * Opening. */

dlcc_status dlcc_json_reader_open(dlcc_json_reader **out, const char *path, dlcc_error *err) {
  *out = NULL;
  dlcc_json_reader *r = calloc(1, sizeof *r);
  if (!r || !(r->path = strdup(path))) {
    free(r);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", path);
  }
  r->fp = fopen(path, "rb");
  if (!r->fp) {
    dlcc_status st = dlcc_fail(err, DLCC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    free(r->path);
    free(r);
    return st;
  }
  r->line = r->column = 1;
  r->kind[0] = IN_TOP;
  r->state[0] = EXPECT_FIRST;
  *out = r;
  return DLCC_OK;
}

void dlcc_json_reader_close(dlcc_json_reader *r) {
  if (!r) return;
  if (r->fp) fclose(r->fp);
  free(r->path);
  free(r->text);
  free(r);
}

const char *dlcc_json_reader_path(const dlcc_json_reader *r) { return r->path; }

/* ------------------------------------------------------------------------------------------------
 * Scalars. */

static bool text_push(dlcc_json_reader *r, char c) {
  if (r->text_len + 2 > r->text_cap) {
    size_t cap = r->text_cap ? 2 * r->text_cap : 64;
    char *t = realloc(r->text, cap);
    if (!t) return false;
    r->text = t;
    r->text_cap = cap;
  }
  r->text[r->text_len++] = c;
  r->text[r->text_len] = '\0';
  return true;
}

static bool text_push_utf8(dlcc_json_reader *r, uint32_t cp) {
  if (cp < 0x80) return text_push(r, (char)cp);
  if (cp < 0x800) return text_push(r, (char)(0xC0 | (cp >> 6))) && text_push(r, (char)(0x80 | (cp & 0x3F)));
  if (cp < 0x10000)
    return text_push(r, (char)(0xE0 | (cp >> 12))) && text_push(r, (char)(0x80 | ((cp >> 6) & 0x3F))) &&
           text_push(r, (char)(0x80 | (cp & 0x3F)));
  return text_push(r, (char)(0xF0 | (cp >> 18))) && text_push(r, (char)(0x80 | ((cp >> 12) & 0x3F))) &&
         text_push(r, (char)(0x80 | ((cp >> 6) & 0x3F))) && text_push(r, (char)(0x80 | (cp & 0x3F)));
}

static dlcc_status read_hex4(dlcc_json_reader *r, uint32_t *out, dlcc_error *err) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int c = next_char(r);
    if (c == EOF) return ends_early(r, err);
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return fail_here(r, err, "\\u wants 4 hexadecimal digits");
    v = v * 16 + (uint32_t)d;
  }
  *out = v;
  return DLCC_OK;
}

/* Reads a string whose opening quote is next. */
static dlcc_status read_string_text(dlcc_json_reader *r, dlcc_error *err) {
  next_char(r);
  r->text_len = 0;
  if (!text_push(r, 'x')) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", r->path);
  r->text_len = 0;
  r->text[0] = '\0';
  for (;;) {
    int c = next_char(r);
    if (c == EOF) return ends_early(r, err);
    if (c == '"') return DLCC_OK;
    if (c < 0x20) return fail_here(r, err, "a control character inside a string (a missing closing quote?)");
    if (c == '\\') {
      int e = next_char(r);
      uint32_t cp = 0;
      dlcc_status st;
      switch (e) {
        case EOF: return ends_early(r, err);
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u':
          if ((st = read_hex4(r, &cp, err))) return st;
          if (cp >= 0xD800 && cp < 0xDC00) { /* a surrogate pair */
            uint32_t low;
            if (next_char(r) != '\\' || next_char(r) != 'u') return fail_here(r, err, "an unpaired \\u surrogate");
            if ((st = read_hex4(r, &low, err))) return st;
            if (low < 0xDC00 || low >= 0xE000) return fail_here(r, err, "an unpaired \\u surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          if (!text_push_utf8(r, cp)) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", r->path);
          continue;
        default: return fail_here(r, err, "unknown escape \\%c in a string", e);
      }
    }
    if (!text_push(r, (char)c)) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", r->path);
  }
}

/* Reads a word of letters (true, false, null, NaN, Infinity). */
static size_t read_word(dlcc_json_reader *r, char *word, size_t cap) {
  size_t n = 0;
  for (int c = peek_char(r); (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); c = peek_char(r)) {
    if (n + 1 < cap) word[n++] = (char)c;
    next_char(r);
  }
  word[n] = '\0';
  return n;
}

static dlcc_status read_number(dlcc_json_reader *r, double *out, dlcc_error *err) {
  char text[64];
  size_t n = 0;
  if (peek_char(r) == '-') text[n++] = (char)next_char(r);
  if ((peek_char(r) >= 'a' && peek_char(r) <= 'z') || (peek_char(r) >= 'A' && peek_char(r) <= 'Z')) {
    char word[16];
    read_word(r, word, sizeof word);
    if (!strcmp(word, "Infinity")) {
      *out = n ? -INFINITY : INFINITY;
      return DLCC_OK;
    }
    return fail_here(r, err, "\"%s%s\" is not a number", n ? "-" : "", word);
  }
  /* JSON's number characters; strtod must take all of them (a little more lenient than JSON: "01") */
  for (int c = peek_char(r); (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
       c = peek_char(r)) {
    if (n + 1 >= sizeof text) return fail_here(r, err, "a number longer than %zu characters", sizeof text - 1);
    text[n++] = (char)next_char(r);
  }
  text[n] = '\0';
  char *end = NULL;
  double v = strtod(text, &end);
  if (n == 0 || end != text + n || !isfinite(v))
    return fail_here(r, err, "\"%s\" is not a number", text);
  *out = v;
  return DLCC_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Tokens. */

static dlcc_status push(dlcc_json_reader *r, container kind, dlcc_error *err) {
  if (r->depth == JSON_MAX_DEPTH) return fail_here(r, err, "nested deeper than %d levels", JSON_MAX_DEPTH);
  r->state[r->depth] = EXPECT_SEPARATOR; /* the container is the value of its parent */
  r->depth++;
  r->kind[r->depth] = kind;
  r->state[r->depth] = EXPECT_FIRST;
  return DLCC_OK;
}

/* A value starting at the next character (after white space). */
static dlcc_status read_value(dlcc_json_reader *r, dlcc_json_token *tok, dlcc_error *err) {
  int c = peek_char(r);
  dlcc_status st = DLCC_OK;
  switch (c) {
    case EOF: return ends_early(r, err);
    case '{':
      next_char(r);
      tok->kind = DLCC_JSON_BEGIN_OBJECT;
      return push(r, IN_OBJECT, err);
    case '[':
      next_char(r);
      tok->kind = DLCC_JSON_BEGIN_ARRAY;
      return push(r, IN_ARRAY, err);
    case '"':
      if ((st = read_string_text(r, err))) return st;
      tok->kind = DLCC_JSON_STRING;
      tok->text = r->text;
      tok->text_len = r->text_len;
      break;
    default:
      if (c == '-' || (c >= '0' && c <= '9')) {
        if ((st = read_number(r, &tok->number, err))) return st;
        tok->kind = DLCC_JSON_NUMBER;
      } else {
        char word[16];
        if (!read_word(r, word, sizeof word))
          return fail_here(r, err, "unexpected character '%c' where a value should be", c);
        if (!strcmp(word, "true")) tok->kind = DLCC_JSON_TRUE;
        else if (!strcmp(word, "false")) tok->kind = DLCC_JSON_FALSE;
        else if (!strcmp(word, "null")) tok->kind = DLCC_JSON_NULL;
        else if (!strcmp(word, "NaN")) {
          tok->kind = DLCC_JSON_NUMBER;
          tok->number = NAN;
        } else if (!strcmp(word, "Infinity")) {
          tok->kind = DLCC_JSON_NUMBER;
          tok->number = INFINITY;
        } else {
          return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: \"%s\" is not a JSON value", r->path, tok->line,
                           tok->column, word);
        }
      }
  }
  r->state[r->depth] = EXPECT_SEPARATOR;
  return DLCC_OK;
}

dlcc_status dlcc_json_next(dlcc_json_reader *r, dlcc_json_token *tok, dlcc_error *err) {
  for (;;) {
    skip_space(r);
    *tok = (dlcc_json_token){.line = r->line, .column = r->column};
    int c = peek_char(r);
    container kind = r->kind[r->depth];
    expect state = r->state[r->depth];
    if (kind == IN_TOP) {
      if (state == EXPECT_SEPARATOR) {
        if (c == EOF) {
          if (r->io_error) return ends_early(r, err);
          tok->kind = DLCC_JSON_END;
          return DLCC_OK;
        }
        return fail_here(r, err, "text after the end of the JSON document");
      }
      if (c == EOF && r->line == 1 && r->column == 1 && !r->io_error)
        return dlcc_fail(err, DLCC_ERR_PARSE, "%s is empty", r->path);
      return read_value(r, tok, err);
    }
    if (c == EOF) return ends_early(r, err);
    const char close = kind == IN_OBJECT ? '}' : ']';
    if (state == EXPECT_SEPARATOR) {
      next_char(r);
      if (c == ',') {
        r->state[r->depth] = EXPECT_ITEM;
        continue;
      }
      if (c == close) {
        r->depth--;
        tok->kind = kind == IN_OBJECT ? DLCC_JSON_END_OBJECT : DLCC_JSON_END_ARRAY;
        return DLCC_OK;
      }
      return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: expected ',' or '%c', found '%c'", r->path,
                       tok->line, tok->column, close, c);
    }
    if (state == EXPECT_FIRST && c == close) {
      next_char(r);
      r->depth--;
      tok->kind = kind == IN_OBJECT ? DLCC_JSON_END_OBJECT : DLCC_JSON_END_ARRAY;
      return DLCC_OK;
    }
    if (kind == IN_ARRAY || state == EXPECT_VALUE) {
      if (c == ']' || c == '}') return fail_here(r, err, "expected a value, found '%c'", c);
      return read_value(r, tok, err);
    }
    /* an object's key */
    if (c != '"') return fail_here(r, err, "expected a key in double quotes, found '%c'", c);
    dlcc_status st = read_string_text(r, err);
    if (st) return st;
    skip_space(r);
    int colon = peek_char(r);
    if (colon == EOF) return ends_early(r, err);
    if (colon != ':') return fail_here(r, err, "expected ':' after the key \"%s\"", r->text);
    next_char(r);
    r->state[r->depth] = EXPECT_VALUE;
    tok->kind = DLCC_JSON_KEY;
    tok->text = r->text;
    tok->text_len = r->text_len;
    return DLCC_OK;
  }
}

dlcc_status dlcc_json_skip(dlcc_json_reader *r, const dlcc_json_token *tok, dlcc_error *err) {
  if (tok->kind != DLCC_JSON_BEGIN_OBJECT && tok->kind != DLCC_JSON_BEGIN_ARRAY) return DLCC_OK;
  int open = 1;
  dlcc_json_token t;
  while (open > 0) {
    dlcc_status st = dlcc_json_next(r, &t, err);
    if (st) return st;
    if (t.kind == DLCC_JSON_BEGIN_OBJECT || t.kind == DLCC_JSON_BEGIN_ARRAY) open++;
    else if (t.kind == DLCC_JSON_END_OBJECT || t.kind == DLCC_JSON_END_ARRAY) open--;
  }
  return DLCC_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Typed reads. */

static dlcc_status wrong_kind(const dlcc_json_reader *r, const dlcc_json_token *tok, const char *what,
                              const char *wanted, dlcc_error *err) {
  return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: %s should be %s, not %s", r->path, tok->line,
                   tok->column, what, wanted, dlcc_json_kind_name(tok->kind));
}

dlcc_status dlcc_json_read_string(dlcc_json_reader *r, const char *what, char **out, dlcc_error *err) {
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_STRING) return wrong_kind(r, &tok, what, "a string", err);
  *out = strdup(tok.text);
  return *out ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", r->path);
}

dlcc_status dlcc_json_read_number(dlcc_json_reader *r, const char *what, bool allow_null, double *out,
                                  dlcc_error *err) {
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(r, &tok, err);
  if (st) return st;
  if (tok.kind == DLCC_JSON_NUMBER) *out = tok.number;
  else if (allow_null && tok.kind == DLCC_JSON_NULL) *out = NAN;
  else return wrong_kind(r, &tok, what, allow_null ? "a number or null" : "a number", err);
  return DLCC_OK;
}

dlcc_status dlcc_json_read_long(dlcc_json_reader *r, const char *what, long min, long max, long *out,
                                dlcc_error *err) {
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_NUMBER) return wrong_kind(r, &tok, what, "a whole number", err);
  if (!(tok.number >= (double)min && tok.number <= (double)max) || tok.number != floor(tok.number))
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s line %d, column %d: %s is %.17g; it should be a whole number from %ld to "
                     "%ld", r->path, tok.line, tok.column, what, tok.number, min, max);
  *out = (long)tok.number;
  return DLCC_OK;
}

void dlcc_json_free_strings(char **strings, size_t n) {
  if (!strings) return;
  for (size_t i = 0; i < n; i++) free(strings[i]);
  free(strings);
}

dlcc_status dlcc_json_read_strings(dlcc_json_reader *r, const char *what, char ***out, size_t *n_out,
                                   dlcc_error *err) {
  *out = NULL;
  *n_out = 0;
  dlcc_json_token tok;
  dlcc_status st = dlcc_json_next(r, &tok, err);
  if (st) return st;
  if (tok.kind != DLCC_JSON_BEGIN_ARRAY) return wrong_kind(r, &tok, what, "an array of strings", err);
  char **items = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if ((st = dlcc_json_next(r, &tok, err))) break;
    if (tok.kind == DLCC_JSON_END_ARRAY) break;
    if (tok.kind != DLCC_JSON_STRING) {
      char item[200];
      snprintf(item, sizeof item, "%s[%zu]", what, n);
      st = wrong_kind(r, &tok, item, "a string", err);
      break;
    }
    if (n == cap) {
      size_t c = cap ? 2 * cap : 8;
      char **grown = realloc(items, c * sizeof *grown);
      if (!grown) {
        st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", r->path);
        break;
      }
      items = grown;
      cap = c;
    }
    if (!(items[n] = strdup(tok.text))) {
      st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", r->path);
      break;
    }
    n++;
  }
  if (st) {
    dlcc_json_free_strings(items, n);
    return st;
  }
  *out = items;
  *n_out = n;
  return DLCC_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Writing. */

void dlcc_json_append_string(dlcc_strbuf *sb, const char *s) {
  dlcc_strbuf_append(sb, "\"");
  const char *run = s;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p >= 0x20 && *p != '"' && *p != '\\') continue;
    dlcc_strbuf_appendn(sb, run, (size_t)((const char *)p - run));
    switch (*p) {
      case '"': dlcc_strbuf_append(sb, "\\\""); break;
      case '\\': dlcc_strbuf_append(sb, "\\\\"); break;
      case '\n': dlcc_strbuf_append(sb, "\\n"); break;
      case '\r': dlcc_strbuf_append(sb, "\\r"); break;
      case '\t': dlcc_strbuf_append(sb, "\\t"); break;
      default: dlcc_strbuf_printf(sb, "\\u%04x", *p);
    }
    run = (const char *)p + 1;
  }
  dlcc_strbuf_append(sb, run);
  dlcc_strbuf_append(sb, "\"");
}

void dlcc_json_append_number(dlcc_strbuf *sb, double v) {
  if (!isfinite(v)) {
    dlcc_strbuf_append(sb, "null");
    return;
  }
  /* 15 significant digits when they read back exactly (0.93, 12.5), else 17, which always do */
  char text[40];
  snprintf(text, sizeof text, "%.15g", v);
  if (strtod(text, NULL) != v) snprintf(text, sizeof text, "%.17g", v);
  dlcc_strbuf_append(sb, text);
}

void dlcc_json_append_strings(dlcc_strbuf *sb, char *const *s, size_t n) {
  dlcc_strbuf_append(sb, "[");
  for (size_t i = 0; i < n; i++) {
    if (i) dlcc_strbuf_append(sb, ", ");
    dlcc_json_append_string(sb, s[i]);
  }
  dlcc_strbuf_append(sb, "]");
}
