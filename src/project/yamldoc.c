/* YAML documents as dlcc_yaml_node trees: loading through libyaml's event parser (recording the line
 * of every node and key), writing through libyaml's emitter, and YAML 1.1 scalar typing as PyYAML
 * applies it to DeepLabCut's config.yaml and pose_cfg.yaml. */
#include "project/yamldoc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/fileio.h"

/* Deeper nesting than this is refused rather than risking the stack on hostile input. */
#define MAX_DEPTH 256

/* ------------------------------------------------------------------------------------------------
 * Nodes */

static dlcc_yaml_node *new_node(dlcc_yaml_kind kind) {
  dlcc_yaml_node *n = calloc(1, sizeof *n);
  if (n) n->kind = kind;
  return n;
}

dlcc_yaml_node *dlcc_yaml_new_map(void) { return new_node(DLCC_YAML_MAP); }
dlcc_yaml_node *dlcc_yaml_new_seq(void) { return new_node(DLCC_YAML_SEQ); }

static dlcc_yaml_node *new_scalar_n(const char *text, size_t len) {
  dlcc_yaml_node *n = new_node(DLCC_YAML_SCALAR);
  if (!n) return NULL;
  n->scalar = strndup(text, len);
  if (!n->scalar) {
    free(n);
    return NULL;
  }
  return n;
}

dlcc_yaml_node *dlcc_yaml_new_scalar(const char *text) { return new_scalar_n(text, strlen(text)); }

dlcc_yaml_node *dlcc_yaml_new_scalarf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *text = malloc((size_t)n + 1);
  if (!text) return NULL;
  va_start(ap, fmt);
  vsnprintf(text, (size_t)n + 1, fmt, ap);
  va_end(ap);
  dlcc_yaml_node *node = dlcc_yaml_new_scalar(text);
  free(text);
  return node;
}

void dlcc_yaml_free(dlcc_yaml_node *node) {
  if (!node) return;
  free(node->scalar);
  for (size_t i = 0; i < node->count; i++) {
    if (node->keys) free(node->keys[i]);
    dlcc_yaml_free(node->items[i]);
  }
  free(node->keys);
  free(node->key_lines);
  free(node->items);
  free(node);
}

bool dlcc_yaml_seq_append(dlcc_yaml_node *seq, dlcc_yaml_node *item) {
  if (!seq || !item || seq->kind != DLCC_YAML_SEQ) {
    dlcc_yaml_free(item);
    return false;
  }
  dlcc_yaml_node **items = realloc(seq->items, (seq->count + 1) * sizeof *items);
  if (!items) {
    dlcc_yaml_free(item);
    return false;
  }
  seq->items = items;
  seq->items[seq->count++] = item;
  return true;
}

/* Appends a pair without looking for an existing key; takes ownership of value, not of key. */
static bool map_append(dlcc_yaml_node *map, const char *key, int key_line, dlcc_yaml_node *value) {
  char *key_copy = strdup(key);
  char **keys = realloc(map->keys, (map->count + 1) * sizeof *keys);
  if (keys) map->keys = keys;
  int *lines = realloc(map->key_lines, (map->count + 1) * sizeof *lines);
  if (lines) map->key_lines = lines;
  dlcc_yaml_node **items = realloc(map->items, (map->count + 1) * sizeof *items);
  if (items) map->items = items;
  if (!key_copy || !keys || !lines || !items) {
    free(key_copy);
    dlcc_yaml_free(value);
    return false;
  }
  map->keys[map->count] = key_copy;
  map->key_lines[map->count] = key_line;
  map->items[map->count] = value;
  map->count++;
  return true;
}

static long map_find(const dlcc_yaml_node *map, const char *key) {
  if (!map || map->kind != DLCC_YAML_MAP) return -1;
  for (size_t i = 0; i < map->count; i++)
    if (strcmp(map->keys[i], key) == 0) return (long)i;
  return -1;
}

dlcc_yaml_node *dlcc_yaml_map_get(const dlcc_yaml_node *map, const char *key) {
  long i = map_find(map, key);
  return i < 0 ? NULL : map->items[i];
}

int dlcc_yaml_map_key_line(const dlcc_yaml_node *map, const char *key) {
  long i = map_find(map, key);
  return i < 0 ? 0 : map->key_lines[i];
}

bool dlcc_yaml_map_set(dlcc_yaml_node *map, const char *key, dlcc_yaml_node *value) {
  if (!map || !value || map->kind != DLCC_YAML_MAP) {
    dlcc_yaml_free(value);
    return false;
  }
  long i = map_find(map, key);
  if (i < 0) return map_append(map, key, 0, value);
  if (value->line == 0) value->line = map->items[i]->line;
  dlcc_yaml_free(map->items[i]);
  map->items[i] = value;
  return true;
}

dlcc_yaml_node *dlcc_yaml_clone(const dlcc_yaml_node *node) {
  if (!node) return NULL;
  dlcc_yaml_node *copy =
      node->kind == DLCC_YAML_SCALAR ? dlcc_yaml_new_scalar(node->scalar) : new_node(node->kind);
  if (!copy) return NULL;
  copy->line = node->line;
  copy->quoted = node->quoted;
  copy->flow = node->flow;
  for (size_t i = 0; i < node->count; i++) {
    dlcc_yaml_node *item = dlcc_yaml_clone(node->items[i]);
    bool ok =
        item && (node->kind == DLCC_YAML_SEQ ? dlcc_yaml_seq_append(copy, item)
                                             : map_append(copy, node->keys[i], node->key_lines[i], item));
    if (!ok) { /* a failed append has freed item */
      dlcc_yaml_free(copy);
      return NULL;
    }
  }
  return copy;
}

/* ------------------------------------------------------------------------------------------------
 * Scalar typing (YAML 1.1 as PyYAML's resolver applies it; quoted scalars are always strings) */

static bool is_plain(const dlcc_yaml_node *node) {
  return node && node->kind == DLCC_YAML_SCALAR && !node->quoted;
}

static bool text_is_null(const char *s) {
  return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* PyYAML accepts exactly these spellings (lower, Capitalised, UPPER); "tRuE" is a string. */
static int text_bool(const char *s) {
  static const char *const truths[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
  static const char *const falsehoods[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
  for (size_t i = 0; i < sizeof truths / sizeof *truths; i++) {
    if (!strcmp(s, truths[i])) return 1;
    if (!strcmp(s, falsehoods[i])) return 0;
  }
  return -1;
}

/* Copies s without '_' separators (YAML 1.1 allows 1_000); false when it does not fit. */
static bool strip_underscores(const char *s, char *out, size_t cap) {
  size_t n = 0;
  for (; *s; s++) {
    if (*s == '_') continue;
    if (n + 1 >= cap) return false;
    out[n++] = *s;
  }
  out[n] = '\0';
  return true;
}

static bool all_digits_in(const char *s, const char *alphabet) {
  if (!*s) return false;
  for (; *s; s++)
    if (!strchr(alphabet, *s)) return false;
  return true;
}

/* 1:30:05 style base-60 integers (digits after the first group are 0..59). */
static bool parse_sexagesimal(const char *s, long *out) {
  char *end;
  errno = 0;
  long value = strtol(s, &end, 10);
  if (end == s || *end != ':' || errno || value < 0 || *s == '0') return false;
  while (*end == ':') {
    const char *group = end + 1;
    long part = strtol(group, &end, 10);
    if (end == group || end - group > 2 || !isdigit((unsigned char)*group) || part > 59) return false;
    if (value > (LONG_MAX - part) / 60) return false;
    value = value * 60 + part;
  }
  if (*end) return false;
  *out = value;
  return true;
}

static bool text_long(const char *text, long *out) {
  char buf[128];
  if (!strip_underscores(text, buf, sizeof buf)) return false;
  const char *s = buf;
  bool negative = *s == '-';
  if (*s == '-' || *s == '+') s++;
  /* YAML 1.1 prefixes: 0b binary, 0x hex, a leading 0 octal */
  int base = !strncmp(s, "0b", 2) ? 2 : !strncmp(s, "0x", 2) ? 16 : (s[0] == '0' && s[1]) ? 8 : 10;
  const char *digits = s + (base == 2 || base == 16 ? 2 : base == 8 ? 1 : 0);
  const char *alphabet = base == 2    ? "01"
                         : base == 8  ? "01234567"
                         : base == 16 ? "0123456789abcdefABCDEF"
                                      : "0123456789";
  if (!all_digits_in(digits, alphabet)) {
    long v;
    if (base != 10 || !parse_sexagesimal(s, &v)) return false;
    *out = negative ? -v : v;
    return true;
  }
  errno = 0;
  unsigned long long magnitude = strtoull(digits, NULL, base);
  if (errno || magnitude > (unsigned long long)LONG_MAX + (negative ? 1u : 0u)) return false;
  if (!negative)
    *out = (long)magnitude;
  else
    *out = magnitude ? -(long)(magnitude - 1) - 1 : 0; /* so that -(LONG_MAX + 1) fits */
  return true;
}

/* Decimal floats: PyYAML's forms (1.5, .5, 1., 5.0e-3) plus YAML 1.2's (1e-4, 5E3) which ruamel,
 * DeepLabCut's config.yaml reader, accepts; .inf and .nan in their three spellings. */
static bool text_double(const char *text, double *out) {
  long as_int;
  if (text_long(text, &as_int)) {
    *out = (double)as_int; /* 0x1F, 010 (octal) and 1:30 keep their YAML 1.1 integer values */
    return true;
  }
  char buf[128];
  if (!strip_underscores(text, buf, sizeof buf)) return false;
  const char *s = buf;
  bool negative = *s == '-';
  if (*s == '-' || *s == '+') s++;
  if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF")) {
    *out = negative ? -INFINITY : INFINITY;
    return true;
  }
  if (s == buf && (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))) {
    *out = NAN;
    return true;
  }
  size_t mantissa_digits = 0, i = 0;
  while (isdigit((unsigned char)s[i])) i++, mantissa_digits++;
  if (s[i] == '.') i++;
  while (isdigit((unsigned char)s[i])) i++, mantissa_digits++;
  if (!mantissa_digits) return false;
  if (s[i] == 'e' || s[i] == 'E') {
    i++;
    if (s[i] == '-' || s[i] == '+') i++;
    if (!isdigit((unsigned char)s[i])) return false;
    while (isdigit((unsigned char)s[i])) i++;
  }
  if (s[i]) return false;
  *out = strtod(buf, NULL);
  return true;
}

bool dlcc_yaml_is_null(const dlcc_yaml_node *node) { return is_plain(node) && text_is_null(node->scalar); }

bool dlcc_yaml_as_bool(const dlcc_yaml_node *node, bool *out) {
  int b = is_plain(node) ? text_bool(node->scalar) : -1;
  if (b < 0) return false;
  *out = b == 1;
  return true;
}

bool dlcc_yaml_as_long(const dlcc_yaml_node *node, long *out) {
  return is_plain(node) && text_long(node->scalar, out);
}

bool dlcc_yaml_as_double(const dlcc_yaml_node *node, double *out) {
  return is_plain(node) && text_double(node->scalar, out);
}

/* 2018-10-30...: PyYAML would construct a date or timestamp. */
static bool looks_like_date(const char *s) {
  for (int i = 0; i < 4; i++)
    if (!isdigit((unsigned char)s[i])) return false;
  return s[4] == '-';
}

/* Whether a plain scalar with this text would read as something other than a string, to PyYAML
 * (YAML 1.1: also timestamps, sexagesimal floats, "=" and "<<") or to a YAML 1.2 reader. */
static bool plain_text_is_typed(const char *s) {
  double d;
  long l;
  if (text_is_null(s) || text_bool(s) >= 0 || text_long(s, &l) || text_double(s, &d)) return true;
  if (!strcmp(s, "=") || !strcmp(s, "<<")) return true;
  bool numeric_start = isdigit((unsigned char)s[0]) || strchr("+-.", s[0]);
  if (numeric_start && strchr(s, ':') && all_digits_in(s + 1, "0123456789:._")) return true;
  return looks_like_date(s);
}

dlcc_yaml_node *dlcc_yaml_new_string(const char *text) {
  dlcc_yaml_node *n = dlcc_yaml_new_scalar(text);
  if (n) n->quoted = plain_text_is_typed(text);
  return n;
}

/* ------------------------------------------------------------------------------------------------
 * Doubles as text: Python's repr (shortest digits that read back exactly; fixed notation for
 * decimal exponents -4..15, else scientific), with PyYAML's ".0" before a bare exponent so that
 * YAML 1.1 readers also see a float: 0.8, 7.2801, 17.0, 0.0001, 1.0e-05, 1.0e+16. */

static int shortest_digits(double v, char *digits, int *exponent) {
  char text[40];
  for (int precision = 1; precision <= 17; precision++) {
    snprintf(text, sizeof text, "%.*e", precision - 1, v);
    if (strtod(text, NULL) == v || precision == 17) break;
  }
  /* text is "d.ddde±XX" (or "de±XX"): collect the digits and the exponent. */
  int n = 0;
  const char *p = text;
  for (; *p && *p != 'e'; p++)
    if (isdigit((unsigned char)*p)) digits[n++] = *p;
  while (n > 1 && digits[n - 1] == '0') n--;
  digits[n] = '\0';
  *exponent = atoi(p + 1);
  return n;
}

static void append_zeros(char *out, size_t *k, int count) {
  for (int i = 0; i < count; i++) out[(*k)++] = '0';
}

static void append_text(char *out, size_t *k, const char *text, size_t n) {
  memcpy(out + *k, text, n);
  *k += n;
}

/* out must hold 40 bytes. */
static void format_repr(double v, char *out) {
  if (isnan(v) || isinf(v)) {
    strcpy(out, isnan(v) ? ".nan" : v < 0 ? "-.inf" : ".inf");
    return;
  }
  char digits[32];
  int exponent;
  size_t n = (size_t)shortest_digits(fabs(v), digits, &exponent), k = 0;
  if (signbit(v)) out[k++] = '-';
  if (exponent < -4 || exponent >= 16) {
    out[k++] = digits[0];
    out[k++] = '.';
    if (n > 1)
      append_text(out, &k, digits + 1, n - 1);
    else
      out[k++] = '0';
    k += (size_t)sprintf(out + k, "e%c%02d", exponent < 0 ? '-' : '+', abs(exponent));
  } else if (exponent < 0) {
    append_text(out, &k, "0.", 2);
    append_zeros(out, &k, -exponent - 1);
    append_text(out, &k, digits, n);
  } else {
    size_t whole = (size_t)exponent + 1;
    append_text(out, &k, digits, n < whole ? n : whole);
    if (n < whole) append_zeros(out, &k, (int)(whole - n));
    out[k++] = '.';
    if (n > whole)
      append_text(out, &k, digits + whole, n - whole);
    else
      out[k++] = '0';
  }
  out[k] = '\0';
}

dlcc_yaml_node *dlcc_yaml_new_double(double v) {
  char text[40];
  format_repr(v, text);
  return dlcc_yaml_new_scalar(text);
}

/* ------------------------------------------------------------------------------------------------
 * Loading: libyaml events -> nodes. Each load_* function consumes (deletes) the event it is given. */

typedef struct loader {
  yaml_parser_t parser;
  const char *label; /* file name for messages */
  dlcc_error *err;
} loader;

static void syntax_error(loader *ld) {
  const yaml_parser_t *p = &ld->parser;
  if (p->error == YAML_MEMORY_ERROR) {
    dlcc_fail(ld->err, DLCC_ERR_NOMEM, "out of memory reading %s", ld->label);
    return;
  }
  const char *problem = p->problem ? p->problem : "malformed YAML";
  if (p->error == YAML_READER_ERROR) {
    dlcc_fail(ld->err, DLCC_ERR_PARSE, "%s: byte %zu: invalid YAML: %s (save the file as UTF-8 text)",
              ld->label, p->problem_offset, problem);
    return;
  }
  char context[256] = "";
  if (p->context)
    snprintf(context, sizeof context, " (%s at line %zu, column %zu)", p->context, p->context_mark.line + 1,
             p->context_mark.column + 1);
  dlcc_fail(ld->err, DLCC_ERR_PARSE,
            "%s: line %zu, column %zu: invalid YAML: %s%s; check the indentation, colons and quotes there",
            ld->label, p->problem_mark.line + 1, p->problem_mark.column + 1, problem, context);
}

static bool next_event(loader *ld, yaml_event_t *ev) {
  if (yaml_parser_parse(&ld->parser, ev)) return true;
  syntax_error(ld);
  return false;
}

static int event_line(const yaml_event_t *ev) { return (int)ev->start_mark.line + 1; }

static dlcc_yaml_node *out_of_memory(loader *ld) {
  dlcc_fail(ld->err, DLCC_ERR_NOMEM, "out of memory reading %s", ld->label);
  return NULL;
}

static dlcc_yaml_node *load_node(loader *ld, yaml_event_t *ev, int depth);

static dlcc_yaml_node *load_scalar(loader *ld, const yaml_event_t *ev) {
  const char *value = (const char *)ev->data.scalar.value;
  size_t len = ev->data.scalar.length;
  if (memchr(value, '\0', len)) {
    dlcc_fail(ld->err, DLCC_ERR_PARSE, "%s: line %d: a value contains a NUL character; remove it", ld->label,
              event_line(ev));
    return NULL;
  }
  dlcc_yaml_node *node = new_scalar_n(value, len);
  if (!node) return out_of_memory(ld);
  const char *tag = (const char *)ev->data.scalar.tag;
  node->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || (tag && !strcmp(tag, YAML_STR_TAG));
  return node;
}

static dlcc_yaml_node *load_seq(loader *ld, const yaml_event_t *start, int depth) {
  dlcc_yaml_node *seq = dlcc_yaml_new_seq();
  if (!seq) return out_of_memory(ld);
  seq->flow = start->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
  for (;;) {
    yaml_event_t ev;
    if (!next_event(ld, &ev)) break;
    if (ev.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&ev);
      return seq;
    }
    dlcc_yaml_node *item = load_node(ld, &ev, depth + 1);
    if (!item) break;
    if (!dlcc_yaml_seq_append(seq, item)) {
      out_of_memory(ld);
      break;
    }
  }
  dlcc_yaml_free(seq);
  return NULL;
}

/* Reads one key event; NULL (with *end set) at the end of the map, NULL on error. */
static char *load_key(loader *ld, int *line, bool *end) {
  yaml_event_t ev;
  *end = false;
  if (!next_event(ld, &ev)) return NULL;
  char *key = NULL;
  *line = event_line(&ev);
  if (ev.type == YAML_MAPPING_END_EVENT)
    *end = true;
  else if (ev.type != YAML_SCALAR_EVENT)
    dlcc_fail(ld->err, DLCC_ERR_UNSUPPORTED,
              "%s: line %d: a key is a list, map or alias; only plain text keys are supported", ld->label,
              *line);
  else if (!(key = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length)))
    out_of_memory(ld);
  yaml_event_delete(&ev);
  return key;
}

static dlcc_yaml_node *load_map(loader *ld, const yaml_event_t *start, int depth) {
  dlcc_yaml_node *map = dlcc_yaml_new_map();
  if (!map) return out_of_memory(ld);
  map->flow = start->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
  for (;;) {
    int line;
    bool end;
    char *key = load_key(ld, &line, &end);
    if (end) return map;
    if (!key) break;
    long earlier = map_find(map, key);
    yaml_event_t ev;
    dlcc_yaml_node *value = NULL;
    if (earlier >= 0)
      dlcc_fail(ld->err, DLCC_ERR_PARSE, "%s: line %d: key \"%s\" appears twice (also at line %d); keep one",
                ld->label, line, key, map->key_lines[earlier]);
    else if (next_event(ld, &ev))
      value = load_node(ld, &ev, depth + 1);
    bool ok = value && map_append(map, key, line, value);
    if (value && !ok) out_of_memory(ld);
    free(key);
    if (!ok) break;
  }
  dlcc_yaml_free(map);
  return NULL;
}

static dlcc_yaml_node *load_node(loader *ld, yaml_event_t *ev, int depth) {
  dlcc_yaml_node *node = NULL;
  int line = event_line(ev);
  if (depth > MAX_DEPTH)
    dlcc_fail(ld->err, DLCC_ERR_UNSUPPORTED, "%s: line %d: lists and maps nested more than %d deep",
              ld->label, line, MAX_DEPTH);
  else if (ev->type == YAML_SCALAR_EVENT)
    node = load_scalar(ld, ev);
  else if (ev->type == YAML_SEQUENCE_START_EVENT)
    node = load_seq(ld, ev, depth);
  else if (ev->type == YAML_MAPPING_START_EVENT)
    node = load_map(ld, ev, depth);
  else if (ev->type == YAML_ALIAS_EVENT)
    dlcc_fail(ld->err, DLCC_ERR_UNSUPPORTED,
              "%s: line %d, column %zu: aliases (*%s) are not supported; write the value out in full",
              ld->label, line, ev->start_mark.column + 1, (const char *)ev->data.alias.anchor);
  else
    dlcc_fail(ld->err, DLCC_ERR_PARSE, "%s: line %d: unexpected YAML structure", ld->label, line);
  if (node) node->line = line;
  yaml_event_delete(ev);
  return node;
}

/* Expects exactly one document; an empty stream reads as a null scalar, as PyYAML gives None. */
static dlcc_yaml_node *load_stream(loader *ld) {
  yaml_event_t ev;
  if (!next_event(ld, &ev)) return NULL; /* stream start */
  yaml_event_delete(&ev);
  if (!next_event(ld, &ev)) return NULL;
  if (ev.type == YAML_STREAM_END_EVENT) {
    yaml_event_delete(&ev);
    dlcc_yaml_node *empty = dlcc_yaml_new_scalar("");
    if (!empty) return out_of_memory(ld);
    empty->line = 1;
    return empty;
  }
  yaml_event_delete(&ev); /* document start */
  if (!next_event(ld, &ev)) return NULL;
  dlcc_yaml_node *root = load_node(ld, &ev, 0);
  if (!root || !next_event(ld, &ev)) { /* document end */
    dlcc_yaml_free(root);
    return NULL;
  }
  yaml_event_delete(&ev);
  if (!next_event(ld, &ev)) {
    dlcc_yaml_free(root);
    return NULL;
  }
  bool single = ev.type == YAML_STREAM_END_EVENT;
  if (!single)
    dlcc_fail(ld->err, DLCC_ERR_PARSE,
              "%s: line %d: a second YAML document starts here; the file must "
              "hold one document (remove the '---' line and what follows)",
              ld->label, event_line(&ev));
  yaml_event_delete(&ev);
  if (single) return root;
  dlcc_yaml_free(root);
  return NULL;
}

dlcc_yaml_node *dlcc_yaml_load_string(const char *text, size_t len, const char *file_label, dlcc_error *err) {
  loader ld = {.label = file_label, .err = err};
  if (!yaml_parser_initialize(&ld.parser)) return out_of_memory(&ld);
  yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text, len);
  dlcc_yaml_node *root = load_stream(&ld);
  yaml_parser_delete(&ld.parser);
  return root;
}

dlcc_yaml_node *dlcc_yaml_load_file(const char *path, dlcc_error *err) {
  char *text;
  size_t len;
  if (dlcc_file_read(path, &text, &len, err)) return NULL;
  dlcc_yaml_node *root = dlcc_yaml_load_string(text, len, path, err);
  free(text);
  return root;
}

/* ------------------------------------------------------------------------------------------------
 * Writing: nodes -> libyaml events. The emitter owns each event once given it, even on failure. */

static int append_output(void *data, unsigned char *buffer, size_t size) {
  dlcc_strbuf *sb = data;
  dlcc_strbuf_appendn(sb, (const char *)buffer, size);
  return !sb->failed;
}

static bool emit_scalar(yaml_emitter_t *em, const char *text, bool quoted) {
  yaml_event_t ev;
  yaml_scalar_style_t style = !quoted              ? YAML_PLAIN_SCALAR_STYLE
                              : strchr(text, '\n') ? YAML_LITERAL_SCALAR_STYLE
                                                   : YAML_SINGLE_QUOTED_SCALAR_STYLE;
  return yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1, style) &&
         yaml_emitter_emit(em, &ev);
}

static bool emit_node(yaml_emitter_t *em, const dlcc_yaml_node *node) {
  yaml_event_t ev;
  if (node->kind == DLCC_YAML_SCALAR) return emit_scalar(em, node->scalar, node->quoted);
  bool ok;
  if (node->kind == DLCC_YAML_SEQ)
    ok = yaml_sequence_start_event_initialize(
        &ev, NULL, NULL, 1, node->flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
  else
    ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                             node->flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
  ok = ok && yaml_emitter_emit(em, &ev);
  for (size_t i = 0; ok && i < node->count; i++) {
    /* Keys are strings: quote one that a reader would take for a number, boolean or null. */
    if (node->kind == DLCC_YAML_MAP) ok = emit_scalar(em, node->keys[i], plain_text_is_typed(node->keys[i]));
    ok = ok && emit_node(em, node->items[i]);
  }
  if (!ok) return false;
  if (node->kind == DLCC_YAML_SEQ)
    yaml_sequence_end_event_initialize(&ev);
  else
    yaml_mapping_end_event_initialize(&ev);
  return yaml_emitter_emit(em, &ev);
}

static bool emit_document(yaml_emitter_t *em, const dlcc_yaml_node *root) {
  yaml_event_t ev;
  return yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && yaml_emitter_emit(em, &ev) &&
         yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) && yaml_emitter_emit(em, &ev) &&
         emit_node(em, root) && yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(em, &ev) &&
         yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
}

char *dlcc_yaml_to_string(const dlcc_yaml_node *root, dlcc_error *err) {
  yaml_emitter_t em;
  dlcc_strbuf sb = {0};
  if (!yaml_emitter_initialize(&em)) {
    dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing YAML");
    return NULL;
  }
  yaml_emitter_set_output(&em, append_output, &sb);
  yaml_emitter_set_unicode(&em, 1);
  yaml_emitter_set_width(&em, -1); /* never fold long paths onto a second line */
  yaml_emitter_set_indent(&em, 2);
  bool ok = emit_document(&em, root) && yaml_emitter_flush(&em);
  if (!ok || sb.failed || !sb.data) {
    if (sb.failed || em.error == YAML_MEMORY_ERROR)
      dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing YAML");
    else
      dlcc_fail(err, DLCC_ERR_INVALID, "cannot write YAML: %s", em.problem ? em.problem : "emitter error");
    dlcc_strbuf_free(&sb);
  }
  yaml_emitter_delete(&em);
  return sb.data;
}

dlcc_status dlcc_yaml_write_file(const dlcc_yaml_node *root, const char *path, dlcc_error *err) {
  char *text = dlcc_yaml_to_string(root, err);
  if (!text) {
    dlcc_error_prefix(err, "writing %s", path);
    return err ? err->status : DLCC_ERR_INVALID;
  }
  dlcc_status st = dlcc_file_write_atomic(path, text, strlen(text), err);
  free(text);
  return st;
}
