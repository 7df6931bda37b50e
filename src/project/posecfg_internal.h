/* Shared by the pose_cfg pieces (internal, not part of posecfg.h): the key table's types and the
 * table itself (posecfg_keys.c), reading one YAML value into its field (posecfg_read.c), and the
 * message helpers that loading and validation both use. */
#ifndef DLCC_PROJECT_POSECFG_INTERNAL_H
#define DLCC_PROJECT_POSECFG_INTERNAL_H

#include "project/posecfg.h"

typedef enum value_type {
  V_STRING,
  V_BOOL,
  V_INT,
  V_LONG,
  V_DOUBLE,
  V_NUMBER_OR_BOOL, /* a number, or false (0) / true (the key's on_value) */
  V_TOGGLE,         /* an augmenter: true/false, or a map or list of its parameters (= on) */
  V_GROUP,          /* a map holding the entries "<key>.<name>" */
  V_INTS,           /* fixed-length lists of numbers (count) */
  V_DOUBLES,
  V_NAMES,          /* all_joints_names */
  V_JOINT_LISTS,    /* all_joints */
  V_MULTI_STEP,
  V_GRAPH           /* partaffinityfield_graph */
} value_type;

typedef enum save_policy {
  SAVE_ALWAYS,    /* DeepLabCut writes it into every train/pose_cfg.yaml */
  SAVE_MADLC,     /* written for maDLC; for single animal only when in the file or changed */
  SAVE_WHEN_SET,  /* written only when in the file or different from the default */
  SAVE_FROM_FILE  /* set while loading: only the file's own text is written back */
} save_policy;

enum { KIND_SINGLE = 0, KIND_MADLC = 1 };

typedef struct bounds {
  double lo, hi;
  bool has_lo, lo_open, has_hi; /* hi, when present, is inclusive */
} bounds;

typedef struct key_spec {
  const char *key;     /* dotted under a group: "contrast.clahe" */
  value_type type;
  size_t offset;       /* of the field in dlcc_pose_cfg (groups have none) */
  const char *def[2];  /* the default as YAML text: single animal, maDLC (NULL: as single); none */
  bounds range;        /* numbers, and each element of a list of numbers */
  const char *choices; /* strings: the allowed values, '|'-separated */
  int count;           /* V_INTS / V_DOUBLES: elements; negative: that many or an empty list */
  double on_value[2];  /* V_NUMBER_OR_BOOL: what `true` reads as, single animal and maDLC */
  save_policy save;
} key_spec;

/* The table, in the order of saved files; a group's entries ("contrast.clahe") follow the group
 * (saving relies on it). */
extern const key_spec dlcc_pose_cfg_keys[];
extern const size_t dlcc_pose_cfg_n_keys;

/* The table's entry for key; NULL when dlcc does not know it. */
const key_spec *dlcc_pose_cfg_find_key(const char *key);

static inline int kind_of(const dlcc_pose_cfg *cfg) { return cfg->multianimal ? KIND_MADLC : KIND_SINGLE; }

static inline const char *default_text(const key_spec *k, int kind) {
  return kind == KIND_MADLC && k->def[1] ? k->def[1] : k->def[0];
}

static inline void *field_of(const dlcc_pose_cfg *cfg, const key_spec *k) { return (char *)cfg + k->offset; }

static inline bool is_seq(const dlcc_yaml_node *n) { return n && n->kind == DLCC_YAML_SEQ; }

static inline const char *ordinal_suffix(size_t i) {
  if (i % 100 >= 11 && i % 100 <= 13) return "th";
  return i % 10 == 1 ? "st" : i % 10 == 2 ? "nd" : i % 10 == 3 ? "rd" : "th";
}

/* Where a value came from, for messages while reading. */
typedef struct origin {
  const char *file;
  int line;
  int kind;
} origin;

/* Fails with "<file> line <line>: <body>", plus the key's default when k is given and has one. */
dlcc_status dlcc_pose_cfg_fail_at(dlcc_error *err, const char *file, int line, const key_spec *k, int kind,
                                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* "out of memory reading <what> of pose_cfg". */
dlcc_status dlcc_pose_cfg_out_of_memory(dlcc_error *err, const char *what);

/* The node at a dotted key ("convolution.emboss.alpha") and its key's line; NULL when absent. */
const dlcc_yaml_node *dlcc_pose_cfg_node_at(const dlcc_yaml_node *doc, const char *key, int *line);

/* Reads n into k's field of cfg, type-checked (ranges are validation's job); on failure the field
 * keeps its value. err may be NULL. */
dlcc_status dlcc_pose_cfg_read_value(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                                     const origin *at, dlcc_error *err);

/* Frees k's field of cfg (strings and lists) and leaves it empty. */
void dlcc_pose_cfg_free_field(dlcc_pose_cfg *cfg, const key_spec *k);

#endif
