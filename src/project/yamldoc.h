/* A YAML document as a small tree (maps, sequences, scalars) with the source line of every node,
 * read and written through libyaml. config.yaml and pose_cfg.yaml are both handled through it, so
 * that errors can name lines and rewriting a file keeps keys dlcc does not know. */
#ifndef DLCC_PROJECT_YAMLDOC_H
#define DLCC_PROJECT_YAMLDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef enum dlcc_yaml_kind { DLCC_YAML_SCALAR, DLCC_YAML_SEQ, DLCC_YAML_MAP } dlcc_yaml_kind;

typedef struct dlcc_yaml_node {
  dlcc_yaml_kind kind;
  int line;                       /* 1-based line in the source file; 0 when built in memory */
  char *scalar;                   /* SCALAR: the text ("" for an empty value such as `key:`) */
  bool quoted;                    /* SCALAR: was written in quotes (so it is a string, never a number) */
  bool flow;                      /* SEQ/MAP: written in flow style [a, b] / {a: b} */
  size_t count;                   /* SEQ: items; MAP: pairs */
  char **keys;                    /* MAP: keys */
  int *key_lines;                 /* MAP: line of each key */
  struct dlcc_yaml_node **items;  /* SEQ: items; MAP: values */
} dlcc_yaml_node;

/* Parses a file; on failure returns NULL and err names the file, line and column. */
dlcc_yaml_node *dlcc_yaml_load_file(const char *path, dlcc_error *err);
/* Parses text (file_label is used in error messages). */
dlcc_yaml_node *dlcc_yaml_load_string(const char *text, size_t len, const char *file_label, dlcc_error *err);

/* Writes the tree as YAML (block style, keys in their order) to path atomically. */
dlcc_status dlcc_yaml_write_file(const dlcc_yaml_node *root, const char *path, dlcc_error *err);
/* The same text into a newly allocated string the caller frees. */
char *dlcc_yaml_to_string(const dlcc_yaml_node *root, dlcc_error *err);

/* Map lookup; NULL when the key is absent or node is not a map. */
dlcc_yaml_node *dlcc_yaml_map_get(const dlcc_yaml_node *map, const char *key);
/* Line of `key` in map, or 0. */
int dlcc_yaml_map_key_line(const dlcc_yaml_node *map, const char *key);
/* Sets map[key] = value (takes ownership of value), replacing an existing value in place or
 * appending the key at the end. Returns false on allocation failure (value is freed). */
bool dlcc_yaml_map_set(dlcc_yaml_node *map, const char *key, dlcc_yaml_node *value);

/* Constructors (NULL on allocation failure). */
dlcc_yaml_node *dlcc_yaml_new_map(void);
dlcc_yaml_node *dlcc_yaml_new_seq(void);
/* A plain (unquoted) scalar: readers type its text ("5" is a number); use new_string for text. */
dlcc_yaml_node *dlcc_yaml_new_scalar(const char *text);
dlcc_yaml_node *dlcc_yaml_new_scalarf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A string: quoted only when its plain text would read as a null, boolean, number or date. */
dlcc_yaml_node *dlcc_yaml_new_string(const char *text);
/* The shortest text that reads back as v, as Python's repr writes it, with PyYAML's ".0" before a
 * bare exponent so YAML 1.1 readers see a float too: 0.8, 17.0, 0.0001, 1.0e-05; .inf, .nan. */
dlcc_yaml_node *dlcc_yaml_new_double(double v);
/* Appends item to seq (takes ownership). Returns false on allocation failure (item is freed). */
bool dlcc_yaml_seq_append(dlcc_yaml_node *seq, dlcc_yaml_node *item);
dlcc_yaml_node *dlcc_yaml_clone(const dlcc_yaml_node *node);
void dlcc_yaml_free(dlcc_yaml_node *node);

/* Scalar readers following YAML 1.1 as DeepLabCut's loaders (PyYAML / ruamel) read them:
 * booleans true/false/yes/no/on/off (lower, Capitalised or UPPER case, as PyYAML), null as
 * ~/null/empty, integers also as 0x1F / 0b101 / 017 (octal) / 1_000, doubles also as .5, 1e-4,
 * 5.0e-3, .inf (as_double accepts integers too). Each returns false when the scalar is not of that
 * type; a quoted scalar is always a string. */
bool dlcc_yaml_is_null(const dlcc_yaml_node *node);
bool dlcc_yaml_as_bool(const dlcc_yaml_node *node, bool *out);
bool dlcc_yaml_as_long(const dlcc_yaml_node *node, long *out);
bool dlcc_yaml_as_double(const dlcc_yaml_node *node, double *out);

#endif
