/* pose_cfg.yaml as a typed struct. The table KEYS lists every key DeepLabCut writes or reads (its
 * template, default_config.py, the maDLC additions, the imgaug loaders and the test/inference keys)
 * with its type, DeepLabCut's defaults and the allowed range; loading, validation and saving all
 * walk that one table, so DeepLabCut's numbers live nowhere else. */
#include "project/posecfg.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

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

#define NO_BOUNDS {0, 0, false, false, false}
#define ABOVE(x) {(x), 0, true, true, false}
#define AT_LEAST(x) {(x), 0, true, false, false}
#define BETWEEN(a, b) {(a), (b), true, false, true}
#define AT(field) offsetof(dlcc_pose_cfg, field)

/* The range comes last (variadic) because its braces hold commas. */
#define ENTRY(k, t, field, d, dma, sv, ...) \
  {.key = (k), .type = (t), .offset = AT(field), .def = {(d), (dma)}, .save = (sv), .range = __VA_ARGS__}
#define STR(k, field, d, dma, allowed, sv) \
  {.key = (k), .type = V_STRING, .offset = AT(field), .def = {(d), (dma)}, .choices = (allowed), .save = (sv)}
#define BOOLEAN(k, field, d, dma, sv) ENTRY(k, V_BOOL, field, d, dma, sv, NO_BOUNDS)
#define TOGGLE(k, field, d, dma, sv) ENTRY(k, V_TOGGLE, field, d, dma, sv, NO_BOUNDS)
#define INT(k, field, d, dma, sv, ...) ENTRY(k, V_INT, field, d, dma, sv, __VA_ARGS__)
#define LONG(k, field, d, dma, sv, ...) ENTRY(k, V_LONG, field, d, dma, sv, __VA_ARGS__)
#define DBL(k, field, d, dma, sv, ...) ENTRY(k, V_DOUBLE, field, d, dma, sv, __VA_ARGS__)
#define LIST(k, t, field, d, dma, sv) ENTRY(k, t, field, d, dma, sv, NO_BOUNDS)
#define NUMBERS(k, t, field, n, d, sv, ...) \
  {.key = (k), .type = (t), .offset = AT(field), .def = {(d), NULL}, .count = (n), .save = (sv), \
   .range = __VA_ARGS__}
#define NUMBER_OR_BOOL(k, field, d, on, on_ma, sv, ...) \
  {.key = (k), .type = V_NUMBER_OR_BOOL, .offset = AT(field), .def = {(d), NULL}, .on_value = {(on), (on_ma)}, \
   .save = (sv), .range = __VA_ARGS__}
#define GROUP(k) {.key = (k), .type = V_GROUP, .save = SAVE_ALWAYS}

/* Template keys first, in deeplabcut/pose_cfg.yaml's order (the order of saved files). */
static const key_spec KEYS[] = {
    STR("dataset", dataset, NULL, NULL, NULL, SAVE_ALWAYS),
    STR("metadataset", metadataset, NULL, NULL, NULL, SAVE_ALWAYS),
    INT("num_joints", num_joints, NULL, NULL, SAVE_ALWAYS, AT_LEAST(1)),
    LIST("all_joints", V_JOINT_LISTS, all_joints, NULL, NULL, SAVE_ALWAYS),
    LIST("all_joints_names", V_NAMES, all_joints_names, NULL, NULL, SAVE_ALWAYS),
    STR("init_weights", init_weights, NULL, NULL, NULL, SAVE_ALWAYS),
    STR("project_path", project_path, NULL, NULL, NULL, SAVE_ALWAYS),
    DBL("pos_dist_thresh", pos_dist_thresh, "17", NULL, SAVE_ALWAYS, ABOVE(0)),
    DBL("global_scale", global_scale, "0.8", NULL, SAVE_ALWAYS, ABOVE(0)),
    STR("dataset_type", dataset_type, "imgaug", "multi-animal-imgaug",
        "imgaug|default|deterministic|scalecrop|tensorpack|multi-animal-imgaug", SAVE_ALWAYS),
    INT("batch_size", batch_size, "1", "8", SAVE_ALWAYS, AT_LEAST(1)),
    DBL("apply_prob", apply_prob, "0.5", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    NUMBERS("pre_resize", V_INTS, pre_resize, -2, "[]", SAVE_MADLC, ABOVE(0)),
    NUMBERS("crop_size", V_INTS, crop_size, 2, "[400, 400]", SAVE_MADLC, ABOVE(0)),
    DBL("max_shift", max_shift, "0.4", NULL, SAVE_MADLC, BETWEEN(0, 1)),
    STR("crop_sampling", crop_sampling, "hybrid", NULL, "uniform|keypoints|density|hybrid", SAVE_MADLC),
    DBL("cropratio", cropratio, "0.4", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    /* `rotation: True`: the angle DeepLabCut's loaders fall back to for a non-integer value. */
    NUMBER_OR_BOOL("rotation", rotation, "25", 25, 10, SAVE_ALWAYS, BETWEEN(-180, 180)),
    DBL("rotratio", rotratio, "0.4", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    DBL("scale_jitter_lo", scale_jitter_lo, "0.5", NULL, SAVE_ALWAYS, ABOVE(0)),
    DBL("scale_jitter_up", scale_jitter_up, "1.25", NULL, SAVE_ALWAYS, ABOVE(0)),
    BOOLEAN("mirror", mirror, "false", NULL, SAVE_ALWAYS),
    GROUP("contrast"),
    TOGGLE("contrast.clahe", contrast.clahe, "true", NULL, SAVE_ALWAYS),
    DBL("contrast.claheratio", contrast.claheratio, "0.1", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    TOGGLE("contrast.histeq", contrast.histeq, "true", NULL, SAVE_ALWAYS),
    DBL("contrast.histeqratio", contrast.histeqratio, "0.1", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    TOGGLE("contrast.log", contrast.log, "false", NULL, SAVE_WHEN_SET),
    DBL("contrast.logratio", contrast.logratio, "0.1", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    TOGGLE("contrast.linear", contrast.linear, "false", NULL, SAVE_WHEN_SET),
    DBL("contrast.linearratio", contrast.linearratio, "0.1", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    TOGGLE("contrast.sigmoid", contrast.sigmoid, "false", NULL, SAVE_WHEN_SET),
    DBL("contrast.sigmoidratio", contrast.sigmoidratio, "0.1", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    TOGGLE("contrast.gamma", contrast.gamma, "false", NULL, SAVE_WHEN_SET),
    DBL("contrast.gammaratio", contrast.gammaratio, "0.1", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    GROUP("convolution"),
    TOGGLE("convolution.sharpen", convolution.sharpen, "false", NULL, SAVE_ALWAYS),
    DBL("convolution.sharpenratio", convolution.sharpenratio, "0.3", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    TOGGLE("convolution.edge", convolution.edge, "false", NULL, SAVE_ALWAYS),
    DBL("convolution.edgeratio", convolution.edgeratio, "0.1", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    TOGGLE("convolution.emboss", convolution.emboss, "true", NULL, SAVE_ALWAYS),
    NUMBERS("convolution.emboss.alpha", V_DOUBLES, convolution.emboss_alpha, 2, "[0.0, 1.0]",
            SAVE_ALWAYS, BETWEEN(0, 1)),
    NUMBERS("convolution.emboss.strength", V_DOUBLES, convolution.emboss_strength, 2, "[0.5, 1.5]", SAVE_ALWAYS,
            AT_LEAST(0)),
    DBL("convolution.embossratio", convolution.embossratio, "0.1", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    STR("net_type", net_type, "resnet_50", NULL, NULL, SAVE_ALWAYS),
    /* maDLC's default network, dlcrnet_ms5, is written as resnet_50 with multi_stage. */
    BOOLEAN("multi_stage", multi_stage, "false", "true", SAVE_ALWAYS),
    BOOLEAN("location_refinement", location_refinement, "true", NULL, SAVE_ALWAYS),
    BOOLEAN("locref_huber_loss", locref_huber_loss, "true", NULL, SAVE_ALWAYS),
    DBL("locref_loss_weight", locref_loss_weight, "0.05", NULL, SAVE_ALWAYS, AT_LEAST(0)),
    DBL("locref_stdev", locref_stdev, "7.2801", NULL, SAVE_ALWAYS, ABOVE(0)),
    BOOLEAN("intermediate_supervision", intermediate_supervision, "false", NULL, SAVE_ALWAYS),
    INT("intermediate_supervision_layer", intermediate_supervision_layer, "12", NULL, SAVE_ALWAYS, AT_LEAST(1)),
    BOOLEAN("pairwise_huber_loss", pairwise_huber_loss, "false", NULL, SAVE_ALWAYS),
    BOOLEAN("partaffinityfield_predict", partaffinityfield_predict, "false", NULL, SAVE_ALWAYS),
    BOOLEAN("pairwise_predict", pairwise_predict, "false", NULL, SAVE_ALWAYS),
    INT("max_input_size", max_input_size, "1500", NULL, SAVE_ALWAYS, AT_LEAST(1)),
    INT("min_input_size", min_input_size, "64", NULL, SAVE_ALWAYS, AT_LEAST(1)),
    LIST("multi_step", V_MULTI_STEP, multi_step,
         "[[0.005, 10000], [0.02, 430000], [0.002, 730000], [0.001, 1030000]]",
         "[[1e-4, 7500], [5e-5, 12000], [1e-5, 200000]]", SAVE_ALWAYS),
    DBL("lr_init", lr_init, "0.0005", NULL, SAVE_ALWAYS, ABOVE(0)),
    LONG("decay_steps", decay_steps, "30000", NULL, SAVE_ALWAYS, AT_LEAST(1)),
    DBL("alpha_r", alpha_r, "0.02", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    LONG("display_iters", display_iters, "1000", "500", SAVE_ALWAYS, AT_LEAST(1)),
    LONG("save_iters", save_iters, "50000", "10000", SAVE_ALWAYS, AT_LEAST(1)),

    /* Added by create_training_dataset (DeepLabCut 2.3+) and create_multianimaltraining_dataset. */
    STR("engine", engine, "tensorflow", NULL, NULL, SAVE_WHEN_SET),
    STR("optimizer", optimizer, "sgd", "adam", "sgd|adam", SAVE_MADLC),
    DBL("pairwise_loss_weight", pairwise_loss_weight, "0.1", NULL, SAVE_MADLC, AT_LEAST(0)),
    DBL("pafwidth", pafwidth, "20", NULL, SAVE_MADLC, ABOVE(0)),
    LIST("partaffinityfield_graph", V_GRAPH, partaffinityfield_graph, "[]", NULL, SAVE_MADLC),
    BOOLEAN("weigh_only_present_joints", weigh_only_present_joints, "false", NULL, SAVE_MADLC),
    INT("num_limbs", num_limbs, "0", NULL, SAVE_MADLC, AT_LEAST(0)),
    INT("num_idchannel", num_idchannel, "0", NULL, SAVE_MADLC, AT_LEAST(0)),

    /* default_config.py: what DeepLabCut uses when the file does not say. */
    DBL("stride", stride, "8", NULL, SAVE_WHEN_SET, ABOVE(0)),
    BOOLEAN("weigh_part_predictions", weigh_part_predictions, "false", NULL, SAVE_WHEN_SET),
    BOOLEAN("weigh_negatives", weigh_negatives, "false", NULL, SAVE_WHEN_SET),
    DBL("fg_fraction", fg_fraction, "0.25", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    NUMBERS("mean_pixel", V_DOUBLES, mean_pixel, 3, "[123.68, 116.779, 103.939]",
            SAVE_WHEN_SET, BETWEEN(0, 255)),
    BOOLEAN("shuffle", shuffle, "true", NULL, SAVE_WHEN_SET),
    STR("snapshot_prefix", snapshot_prefix, "./snapshot", NULL, NULL, SAVE_FROM_FILE),
    STR("log_dir", log_dir, "log", NULL, NULL, SAVE_WHEN_SET),
    BOOLEAN("regularize", regularize, "false", NULL, SAVE_WHEN_SET),
    DBL("weight_decay", weight_decay, "0.0001", NULL, SAVE_WHEN_SET, AT_LEAST(0)),
    INT("crop_pad", crop_pad, "0", NULL, SAVE_WHEN_SET, AT_LEAST(0)),
    STR("scoremap_dir", scoremap_dir, "test", NULL, NULL, SAVE_WHEN_SET),
    BOOLEAN("deterministic", deterministic, "false", NULL, SAVE_WHEN_SET),

    /* The imgaug loaders' own fallbacks (pose_imgaug.py, pose_multianimal_imgaug.py, scalecrop). */
    BOOLEAN("crop", crop, "true", NULL, SAVE_WHEN_SET),
    DBL("crop_by", crop_by, "0.15", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    BOOLEAN("covering", covering, "true", "false", SAVE_WHEN_SET),
    BOOLEAN("elastic_transform", elastic_transform, "true", "false", SAVE_WHEN_SET),
    TOGGLE("motion_blur", motion_blur, "true", "false", SAVE_WHEN_SET),
    /* `gaussian_noise: True`: noise up to 0.05 * 255. */
    NUMBER_OR_BOOL("gaussian_noise", gaussian_noise, "false", 12.75, 12.75, SAVE_WHEN_SET, AT_LEAST(0)),
    BOOLEAN("grayscale", grayscale, "false", NULL, SAVE_WHEN_SET),

    /* test/pose_cfg.yaml (maDLC inference) and training's snapshot count. */
    INT("nmsradius", nmsradius, "5", NULL, SAVE_WHEN_SET, AT_LEAST(1)),
    DBL("minconfidence", minconfidence, "0.01", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    INT("sigma", sigma, "1", NULL, SAVE_WHEN_SET, AT_LEAST(0)),
    BOOLEAN("locref_smooth", locref_smooth, "false", NULL, SAVE_WHEN_SET),
    INT("topktoretain", topktoretain, "0", NULL, SAVE_WHEN_SET, AT_LEAST(0)),
    INT("max_snapshots_to_keep", max_snapshots_to_keep, "5", NULL, SAVE_WHEN_SET, AT_LEAST(1)),
};
enum { N_KEYS = sizeof KEYS / sizeof *KEYS };

static int kind_of(const dlcc_pose_cfg *cfg) { return cfg->multianimal ? KIND_MADLC : KIND_SINGLE; }

static const char *default_text(const key_spec *k, int kind) {
  return kind == KIND_MADLC && k->def[1] ? k->def[1] : k->def[0];
}

static void *field_of(const dlcc_pose_cfg *cfg, const key_spec *k) { return (char *)cfg + k->offset; }

static const key_spec *find_spec(const char *key) {
  for (size_t i = 0; i < N_KEYS; i++)
    if (!strcmp(KEYS[i].key, key)) return &KEYS[i];
  return NULL;
}

/* ------------------------------------------------------------------------------------------------
 * Messages: "<file> line <n>: <key> is <value>; it must be <...> (DeepLabCut's default is <d>)" */

/* Shortest text that reads back as v (0.8, not 0.80000000000000004); whole numbers in full (200,
 * not 2e+02). */
static void format_number(double v, char *out, size_t cap) {
  if (v == floor(v) && fabs(v) < 1e15) {
    snprintf(out, cap, "%.0f", v);
    return;
  }
  for (int digits = 1; digits <= 17; digits++) {
    snprintf(out, cap, "%.*g", digits, v);
    if (strtod(out, NULL) == v) return;
  }
}

static void append_node_text(dlcc_strbuf *sb, const dlcc_yaml_node *n, int depth) {
  if (n->kind == DLCC_YAML_MAP) {
    dlcc_strbuf_append(sb, "a map");
  } else if (n->kind == DLCC_YAML_SCALAR) {
    if (n->quoted) dlcc_strbuf_printf(sb, "\"%s\" (in quotes, so text)", n->scalar);
    else dlcc_strbuf_append(sb, dlcc_yaml_is_null(n) ? "empty" : n->scalar);
  } else if (depth > 1 || n->count > 6) {
    dlcc_strbuf_printf(sb, "a list of %zu items", n->count);
  } else {
    dlcc_strbuf_append(sb, "[");
    for (size_t i = 0; i < n->count; i++) {
      if (i) dlcc_strbuf_append(sb, ", ");
      append_node_text(sb, n->items[i], depth + 1);
    }
    dlcc_strbuf_append(sb, "]");
  }
}

/* The value as the user wrote it, for messages (NUL-terminated into out). */
static void describe_node(const dlcc_yaml_node *n, char *out, size_t cap) {
  dlcc_strbuf sb = {0};
  append_node_text(&sb, n, 0);
  snprintf(out, cap, "%.200s", sb.data && !sb.failed ? sb.data : "?");
  dlcc_strbuf_free(&sb);
}

static const char *ordinal_suffix(size_t i) {
  if (i % 100 >= 11 && i % 100 <= 13) return "th";
  return i % 10 == 1 ? "st" : i % 10 == 2 ? "nd" : i % 10 == 3 ? "rd" : "th";
}

/* Fails with "<file> line <line>: <body>", plus the key's default when k is given and has one. */
static dlcc_status fail_at(dlcc_error *err, const char *file, int line, const key_spec *k, int kind,
                           const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static dlcc_status fail_at(dlcc_error *err, const char *file, int line, const key_spec *k, int kind,
                           const char *fmt, ...) {
  char where[1100] = "", body[1400], dflt[400] = "";
  if (file && line > 0) snprintf(where, sizeof where, "%s line %d: ", file, line);
  else if (file) snprintf(where, sizeof where, "%s: ", file);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  const char *d = k ? default_text(k, kind) : NULL;
  if (d) snprintf(dflt, sizeof dflt, " (DeepLabCut's default is %s)", d);
  return dlcc_fail(err, DLCC_ERR_INVALID, "%s%s%s", where, body, dflt);
}

/* Where a value came from, for messages while reading. */
typedef struct origin {
  const char *file;
  int line;
  int kind;
} origin;

static dlcc_status fail_type(dlcc_error *err, const origin *at, const key_spec *k, const dlcc_yaml_node *n,
                             const char *expected) {
  char text[256];
  describe_node(n, text, sizeof text);
  return fail_at(err, at->file, at->line, k, at->kind, "%s is %s; it must be %s", k->key, text, expected);
}

static dlcc_status fail_item(dlcc_error *err, const origin *at, const key_spec *k, size_t i,
                             const dlcc_yaml_node *item, const char *expected) {
  char text[256];
  describe_node(item, text, sizeof text);
  int line = item->line > 0 ? item->line : at->line;
  return fail_at(err, at->file, line, k, at->kind, "the %zu%s item of %s is %s; each item must be %s", i + 1,
                 ordinal_suffix(i + 1), k->key, text, expected);
}

/* ------------------------------------------------------------------------------------------------
 * Reading one value (from the file, or from the table's default text) into its field */

/* Whole numbers, also when written as 5.0 or 1.0e+4 (as Python writes floats). */
static bool read_whole(const dlcc_yaml_node *n, long *out) {
  double d;
  if (dlcc_yaml_as_long(n, out)) return true;
  if (!dlcc_yaml_as_double(n, &d) || !isfinite(d) || d != floor(d) || fabs(d) > 9e15) return false;
  *out = (long)d;
  return true;
}

static bool read_int(const dlcc_yaml_node *n, int *out) {
  long v;
  if (!read_whole(n, &v) || v < INT_MIN || v > INT_MAX) return false;
  *out = (int)v;
  return true;
}

/* true/false in YAML 1.1's spellings, or 0/1 as Python's truthiness reads them. */
static bool read_flag(const dlcc_yaml_node *n, bool *out) {
  long v;
  if (dlcc_yaml_as_bool(n, out)) return true;
  if (!dlcc_yaml_as_long(n, &v) || (v != 0 && v != 1)) return false;
  *out = v == 1;
  return true;
}

static bool is_seq(const dlcc_yaml_node *n) { return n && n->kind == DLCC_YAML_SEQ; }

static void free_field(dlcc_pose_cfg *cfg, const key_spec *k) {
  void *f = field_of(cfg, k);
  switch (k->type) {
    case V_STRING:
      free(*(char **)f);
      *(char **)f = NULL;
      break;
    case V_NAMES:
      for (size_t i = 0; i < cfg->n_joints; i++) free(cfg->all_joints_names[i]);
      free(cfg->all_joints_names);
      cfg->all_joints_names = NULL;
      cfg->n_joints = 0;
      break;
    case V_JOINT_LISTS:
      for (size_t i = 0; i < cfg->n_all_joints; i++) free(cfg->all_joints[i]);
      free(cfg->all_joints);
      cfg->all_joints = NULL;
      cfg->n_all_joints = 0;
      break;
    case V_MULTI_STEP:
      free(cfg->multi_step);
      cfg->multi_step = NULL;
      cfg->n_multi_step = 0;
      break;
    case V_GRAPH:
      free(cfg->partaffinityfield_graph);
      cfg->partaffinityfield_graph = NULL;
      cfg->n_limbs = 0;
      break;
    default:
      break;
  }
}

static dlcc_status out_of_memory(dlcc_error *err, const char *what) {
  return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s of pose_cfg", what);
}

static dlcc_status read_string(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                               const origin *at, dlcc_error *err) {
  if (n->kind != DLCC_YAML_SCALAR) return fail_type(err, at, k, n, "a single text value");
  char *copy = NULL;
  if (!dlcc_yaml_is_null(n) && !(copy = strdup(n->scalar))) return out_of_memory(err, k->key);
  free_field(cfg, k);
  *(char **)field_of(cfg, k) = copy;
  return DLCC_OK;
}

static dlcc_status read_scalar(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                               const origin *at, dlcc_error *err) {
  void *f = field_of(cfg, k);
  bool flag;
  double d;
  switch (k->type) {
    case V_BOOL:
      return read_flag(n, f) ? DLCC_OK : fail_type(err, at, k, n, "true or false");
    case V_INT:
      return read_int(n, f) ? DLCC_OK : fail_type(err, at, k, n, "a whole number");
    case V_LONG:
      return read_whole(n, f) ? DLCC_OK : fail_type(err, at, k, n, "a whole number");
    case V_DOUBLE:
      return dlcc_yaml_as_double(n, f) ? DLCC_OK : fail_type(err, at, k, n, "a number");
    case V_NUMBER_OR_BOOL:
      if (dlcc_yaml_as_bool(n, &flag)) *(double *)f = flag ? k->on_value[at->kind] : 0.0;
      else if (dlcc_yaml_as_double(n, &d)) *(double *)f = d;
      else return fail_type(err, at, k, n, "a number, or true or false");
      return DLCC_OK;
    case V_TOGGLE:
      if (n->kind != DLCC_YAML_SCALAR || dlcc_yaml_is_null(n)) *(bool *)f = n->kind != DLCC_YAML_SCALAR;
      else if (!read_flag(n, f))
        return fail_type(err, at, k, n, "true or false, or a map of the augmenter's parameters");
      return DLCC_OK;
    case V_GROUP:
      if (n->kind == DLCC_YAML_MAP || dlcc_yaml_is_null(n)) return DLCC_OK;
      return fail_type(err, at, k, n, "a map of keys, as in DeepLabCut's pose_cfg.yaml template");
    default:
      return read_string(cfg, k, n, at, err);
  }
}

static dlcc_status read_numbers(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                                const origin *at, dlcc_error *err) {
  size_t count = (size_t)abs(k->count);
  bool ints = k->type == V_INTS;
  char expected[160];
  snprintf(expected, sizeof expected, "a list of %zu %s%s", count, ints ? "whole numbers" : "numbers",
           k->count < 0 ? ", or [] for none" : "");
  if (!is_seq(n)) return fail_type(err, at, k, n, expected);
  if (n->count == 0 && k->count < 0) {
    memset(field_of(cfg, k), 0, count * (ints ? sizeof(int) : sizeof(double)));
    return DLCC_OK;
  }
  if (n->count != count) return fail_type(err, at, k, n, expected);
  int as_int[8];
  double as_double[8];
  for (size_t i = 0; i < count; i++) {
    bool ok = ints ? read_int(n->items[i], &as_int[i]) : dlcc_yaml_as_double(n->items[i], &as_double[i]);
    if (!ok) return fail_type(err, at, k, n, expected);
  }
  memcpy(field_of(cfg, k), ints ? (void *)as_int : (void *)as_double, count * (ints ? sizeof(int) : sizeof(double)));
  return DLCC_OK;
}

static dlcc_status read_names(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                              const origin *at, dlcc_error *err) {
  if (!is_seq(n)) return fail_type(err, at, k, n, "a list of body part names");
  for (size_t i = 0; i < n->count; i++)
    if (n->items[i]->kind != DLCC_YAML_SCALAR || dlcc_yaml_is_null(n->items[i]))
      return fail_item(err, at, k, i, n->items[i], "a body part name");
  char **names = calloc(n->count ? n->count : 1, sizeof *names);
  if (!names) return out_of_memory(err, k->key);
  for (size_t i = 0; i < n->count; i++) {
    if (!(names[i] = strdup(n->items[i]->scalar))) {
      for (size_t j = 0; j < i; j++) free(names[j]);
      free(names);
      return out_of_memory(err, k->key);
    }
  }
  free_field(cfg, k);
  cfg->all_joints_names = names;
  cfg->n_joints = n->count;
  return DLCC_OK;
}

/* all_joints as [[0], [1], ...] lists of one index each; a bare index (`[0, 1, 2]`) also reads. */
static bool read_joint_list_item(const dlcc_yaml_node *item, int *index) {
  if (is_seq(item)) return item->count == 1 && read_int(item->items[0], index);
  return read_int(item, index);
}

static dlcc_status read_joint_lists(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                                    const origin *at, dlcc_error *err) {
  if (!is_seq(n)) return fail_type(err, at, k, n, "a list of one-index lists, [[0], [1], ...]");
  int **lists = calloc(n->count ? n->count : 1, sizeof *lists);
  if (!lists) return out_of_memory(err, k->key);
  dlcc_status st = DLCC_OK;
  for (size_t i = 0; i < n->count && st == DLCC_OK; i++) {
    int index;
    if (!read_joint_list_item(n->items[i], &index))
      st = fail_item(err, at, k, i, n->items[i], "a list of one body part index, such as [0] (dlcc does not read "
                                                 "DeeperCut's mirrored pairs)");
    else if (!(lists[i] = malloc(sizeof **lists))) st = out_of_memory(err, k->key);
    else *lists[i] = index;
  }
  if (st != DLCC_OK) {
    for (size_t i = 0; i < n->count; i++) free(lists[i]);
    free(lists);
    return st;
  }
  free_field(cfg, k);
  cfg->all_joints = lists;
  cfg->n_all_joints = n->count;
  return DLCC_OK;
}

static bool read_step(const dlcc_yaml_node *item, dlcc_lr_step *step) {
  return is_seq(item) && item->count == 2 && dlcc_yaml_as_double(item->items[0], &step->lr) &&
         read_whole(item->items[1], &step->until_iteration);
}

static dlcc_status read_multi_step(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                                   const origin *at, dlcc_error *err) {
  if (!is_seq(n)) return fail_type(err, at, k, n, "a list of [learning rate, last iteration] pairs");
  dlcc_lr_step *steps = calloc(n->count ? n->count : 1, sizeof *steps);
  if (!steps) return out_of_memory(err, k->key);
  for (size_t i = 0; i < n->count; i++) {
    if (!read_step(n->items[i], &steps[i])) {
      free(steps);
      return fail_item(err, at, k, i, n->items[i], "a pair [learning rate, last iteration], such as [0.005, 10000]");
    }
  }
  free_field(cfg, k);
  cfg->multi_step = steps;
  cfg->n_multi_step = n->count;
  return DLCC_OK;
}

static dlcc_status read_graph(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n,
                              const origin *at, dlcc_error *err) {
  if (!is_seq(n)) return fail_type(err, at, k, n, "a list of body part index pairs, such as [[0, 1], [1, 2]]");
  int(*pairs)[2] = calloc(n->count ? n->count : 1, sizeof *pairs);
  if (!pairs) return out_of_memory(err, k->key);
  for (size_t i = 0; i < n->count; i++) {
    const dlcc_yaml_node *item = n->items[i];
    if (!is_seq(item) || item->count != 2 || !read_int(item->items[0], &pairs[i][0]) ||
        !read_int(item->items[1], &pairs[i][1])) {
      free(pairs);
      return fail_item(err, at, k, i, item, "a pair of body part indices, such as [0, 1]");
    }
  }
  free_field(cfg, k);
  cfg->partaffinityfield_graph = pairs;
  cfg->n_limbs = n->count;
  return DLCC_OK;
}

static dlcc_status read_value(dlcc_pose_cfg *cfg, const key_spec *k, const dlcc_yaml_node *n, const origin *at,
                              dlcc_error *err) {
  switch (k->type) {
    case V_INTS:
    case V_DOUBLES: return read_numbers(cfg, k, n, at, err);
    case V_NAMES: return read_names(cfg, k, n, at, err);
    case V_JOINT_LISTS: return read_joint_lists(cfg, k, n, at, err);
    case V_MULTI_STEP: return read_multi_step(cfg, k, n, at, err);
    case V_GRAPH: return read_graph(cfg, k, n, at, err);
    default: return read_scalar(cfg, k, n, at, err);
  }
}

/* The node at a dotted key ("convolution.emboss.alpha") and its key's line; NULL when absent. */
static const dlcc_yaml_node *node_at(const dlcc_yaml_node *doc, const char *key, int *line) {
  const dlcc_yaml_node *node = doc;
  char part[128];
  *line = 0;
  while (node && *key) {
    size_t len = strcspn(key, ".");
    if (node->kind != DLCC_YAML_MAP || len >= sizeof part) return NULL;
    memcpy(part, key, len);
    part[len] = '\0';
    *line = dlcc_yaml_map_key_line(node, part);
    node = dlcc_yaml_map_get(node, part);
    key += len + (key[len] == '.');
  }
  return node;
}

/* ------------------------------------------------------------------------------------------------
 * Defaults and loading */

dlcc_status dlcc_pose_cfg_defaults(dlcc_pose_cfg *cfg, bool multianimal, dlcc_error *err) {
  memset(cfg, 0, sizeof *cfg);
  cfg->multianimal = multianimal;
  origin at = {"pose_cfg defaults", 0, kind_of(cfg)};
  for (size_t i = 0; i < N_KEYS; i++) {
    const char *text = default_text(&KEYS[i], at.kind);
    if (!text) continue;
    dlcc_yaml_node *node = dlcc_yaml_load_string(text, strlen(text), at.file, err);
    dlcc_status st = node ? read_value(cfg, &KEYS[i], node, &at, err) : (err ? err->status : DLCC_ERR_NOMEM);
    dlcc_yaml_free(node);
    if (st != DLCC_OK) {
      dlcc_pose_cfg_free(cfg);
      return st;
    }
  }
  return DLCC_OK;
}

/* maDLC files name a part affinity graph or the multi-animal loader. */
static bool file_is_multianimal(const dlcc_yaml_node *doc) {
  const dlcc_yaml_node *type = dlcc_yaml_map_get(doc, "dataset_type");
  if (dlcc_yaml_map_get(doc, "partaffinityfield_graph")) return true;
  return type && type->kind == DLCC_YAML_SCALAR && !strncmp(type->scalar, "multi-animal", 12);
}

static dlcc_status read_file_keys(dlcc_pose_cfg *cfg, const char *path, dlcc_error *err) {
  for (size_t i = 0; i < N_KEYS; i++) {
    origin at = {path, 0, kind_of(cfg)};
    const dlcc_yaml_node *node = node_at(cfg->doc, KEYS[i].key, &at.line);
    if (!node) continue;
    dlcc_status st = read_value(cfg, &KEYS[i], node, &at, err);
    if (st != DLCC_OK) return st;
  }
  return DLCC_OK;
}

/* Keys DeepLabCut derives: all_joints from num_joints, num_limbs from the graph, and the snapshot
 * prefix next to the file (cfg_from_file always overrides it). */
static dlcc_status derive_keys(dlcc_pose_cfg *cfg, const char *path, dlcc_error *err) {
  int line;
  /* Only when the names agree, so that a wild num_joints is reported rather than allocated. */
  if (!node_at(cfg->doc, "all_joints", &line) && cfg->num_joints > 0 && (size_t)cfg->num_joints == cfg->n_joints) {
    cfg->all_joints = calloc((size_t)cfg->num_joints, sizeof *cfg->all_joints);
    if (!cfg->all_joints) return out_of_memory(err, "all_joints");
    for (int i = 0; i < cfg->num_joints; i++) {
      if (!(cfg->all_joints[i] = malloc(sizeof(int)))) return out_of_memory(err, "all_joints");
      *cfg->all_joints[i] = i;
      cfg->n_all_joints = (size_t)i + 1;
    }
  }
  if (!node_at(cfg->doc, "num_limbs", &line)) cfg->num_limbs = (int)cfg->n_limbs;
  char *dir = dlcc_path_dirname(path);
  char *prefix = dir ? dlcc_path_join(dir, "snapshot") : NULL;
  free(dir);
  if (!prefix) return out_of_memory(err, "snapshot_prefix");
  free(cfg->snapshot_prefix);
  cfg->snapshot_prefix = prefix;
  return DLCC_OK;
}

dlcc_status dlcc_pose_cfg_load(const char *path, dlcc_pose_cfg *cfg, dlcc_error *err) {
  memset(cfg, 0, sizeof *cfg);
  dlcc_yaml_node *doc = dlcc_yaml_load_file(path, err);
  if (!doc) return err ? err->status : DLCC_ERR_PARSE;
  if (doc->kind != DLCC_YAML_MAP) {
    const char *found = dlcc_yaml_is_null(doc) ? "it is empty" : "it holds a single value or a list";
    dlcc_yaml_free(doc);
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: expected `key: value` lines as DeepLabCut writes pose_cfg.yaml, but %s",
                     path, found);
  }
  dlcc_status st = dlcc_pose_cfg_defaults(cfg, file_is_multianimal(doc), err);
  if (st != DLCC_OK) {
    dlcc_yaml_free(doc);
    return st;
  }
  cfg->doc = doc;
  if (!(cfg->source_path = strdup(path))) st = out_of_memory(err, path);
  if (st == DLCC_OK) st = read_file_keys(cfg, path, err);
  if (st == DLCC_OK) st = derive_keys(cfg, path, err);
  if (st == DLCC_OK) st = dlcc_pose_cfg_validate(cfg, err);
  if (st != DLCC_OK) dlcc_pose_cfg_free(cfg);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Validation: each key's range from the table, then the checks that relate keys */

static int line_of(const dlcc_pose_cfg *cfg, const char *key) {
  int line = 0;
  node_at(cfg->doc, key, &line);
  return line;
}

/* Line of the i-th item of a list key (the key's own line when unknown). */
static int item_line(const dlcc_pose_cfg *cfg, const char *key, size_t i) {
  int line = 0;
  const dlcc_yaml_node *n = node_at(cfg->doc, key, &line);
  if (is_seq(n) && i < n->count && n->items[i]->line > 0) return n->items[i]->line;
  return line;
}

static bool in_bounds(double v, const bounds *b) {
  if (b->has_lo && (b->lo_open ? !(v > b->lo) : !(v >= b->lo))) return false;
  return !b->has_hi || v <= b->hi;
}

static void bounds_text(const bounds *b, char *out, size_t cap) {
  char lo[40], hi[40];
  format_number(b->lo, lo, sizeof lo);
  format_number(b->hi, hi, sizeof hi);
  if (b->has_hi) snprintf(out, cap, "between %s and %s", lo, hi);
  else snprintf(out, cap, "%s %s", b->lo_open ? "greater than" : "at least", lo);
}

static dlcc_status fail_key(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static dlcc_status fail_key(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err, const char *fmt, ...) {
  char body[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  return fail_at(err, cfg->source_path, line_of(cfg, k->key), k, kind_of(cfg), "%s", body);
}

static dlcc_status check_number(const dlcc_pose_cfg *cfg, const key_spec *k, double v, dlcc_error *err) {
  char value[40], allowed[100];
  int line;
  if (isfinite(v) && in_bounds(v, &k->range)) return DLCC_OK;
  format_number(v, value, sizeof value);
  bounds_text(&k->range, allowed, sizeof allowed);
  bool missing = !default_text(k, kind_of(cfg)) && !node_at(cfg->doc, k->key, &line);
  if (missing) return fail_key(cfg, k, err, "%s is missing; it must be %s", k->key, allowed);
  return fail_key(cfg, k, err, "%s is %s; it must be %s", k->key, value, isfinite(v) ? allowed : "a finite number");
}

static dlcc_status check_numbers(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  size_t count = (size_t)abs(k->count);
  const void *f = field_of(cfg, k);
  double v[8];
  bool all_zero = true;
  for (size_t i = 0; i < count; i++) {
    v[i] = k->type == V_INTS ? ((const int *)f)[i] : ((const double *)f)[i];
    all_zero = all_zero && v[i] == 0;
  }
  if (all_zero && k->count < 0) return DLCC_OK; /* `[]`: not set */
  for (size_t i = 0; i < count; i++) {
    if (isfinite(v[i]) && in_bounds(v[i], &k->range)) continue;
    char text[300] = "[", num[40], allowed[100];
    for (size_t j = 0; j < count; j++) {
      format_number(v[j], num, sizeof num);
      snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s", j ? ", " : "", num);
    }
    bounds_text(&k->range, allowed, sizeof allowed);
    return fail_key(cfg, k, err, "%s is %s]; each value must be %s", k->key, text, allowed);
  }
  return DLCC_OK;
}

static bool is_choice(const char *choices, const char *v) {
  size_t len = strlen(v);
  for (const char *c = choices; *c;) {
    size_t n = strcspn(c, "|");
    if (n == len && !strncmp(c, v, n)) return true;
    c += n + (c[n] == '|');
  }
  return false;
}

/* Strings with a default must not be left empty (callers rely on them); choices are checked. */
static dlcc_status check_string(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  const char *v = *(char *const *)field_of(cfg, k);
  if (!k->choices && !v && default_text(k, kind_of(cfg)))
    return fail_key(cfg, k, err, "%s is empty; give a value or remove the line to use the default", k->key);
  if (!k->choices || (v && is_choice(k->choices, v))) return DLCC_OK;
  dlcc_strbuf allowed = {0};
  for (const char *c = k->choices; *c; c++) {
    if (*c == '|') dlcc_strbuf_append(&allowed, ", ");
    else dlcc_strbuf_appendn(&allowed, c, 1);
  }
  dlcc_status st = fail_key(cfg, k, err, "%s is %s; it must be one of %s", k->key, v ? v : "empty",
                            allowed.data && !allowed.failed ? allowed.data : k->choices);
  dlcc_strbuf_free(&allowed);
  return st;
}

static dlcc_status check_names(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  for (size_t i = 0; i < cfg->n_joints; i++) {
    if (!cfg->all_joints_names[i][0])
      return fail_at(err, cfg->source_path, item_line(cfg, k->key, i), NULL, 0,
                     "the %zu%s name in all_joints_names is empty; each body part needs a name", i + 1,
                     ordinal_suffix(i + 1));
    for (size_t j = 0; j < i; j++)
      if (!strcmp(cfg->all_joints_names[i], cfg->all_joints_names[j]))
        return fail_at(err, cfg->source_path, item_line(cfg, k->key, i), NULL, 0,
                       "all_joints_names lists %s twice (items %zu and %zu); body part names must be unique",
                       cfg->all_joints_names[i], j + 1, i + 1);
  }
  return DLCC_OK;
}

static dlcc_status check_joint_lists(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  for (size_t i = 0; i < cfg->n_all_joints; i++) {
    int index = *cfg->all_joints[i];
    if (index < 0 || index >= cfg->num_joints)
      return fail_at(err, cfg->source_path, item_line(cfg, k->key, i), NULL, 0,
                     "the %zu%s item of all_joints is [%d]; indices must be 0 to num_joints - 1 = %d", i + 1,
                     ordinal_suffix(i + 1), index, cfg->num_joints - 1);
  }
  return DLCC_OK;
}

static dlcc_status check_multi_step(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  if (cfg->n_multi_step == 0)
    return fail_key(cfg, k, err, "multi_step is empty; it must list [learning rate, last iteration] pairs");
  for (size_t i = 0; i < cfg->n_multi_step; i++) {
    const dlcc_lr_step *s = &cfg->multi_step[i];
    char lr[40];
    format_number(s->lr, lr, sizeof lr);
    const char *problem = NULL;
    if (!isfinite(s->lr) || s->lr <= 0) problem = "its learning rate must be greater than 0";
    else if (s->until_iteration < 1) problem = "its iteration must be at least 1";
    else if (i > 0 && s->until_iteration <= cfg->multi_step[i - 1].until_iteration)
      problem = "iterations must increase from one pair to the next";
    if (problem)
      return fail_at(err, cfg->source_path, item_line(cfg, k->key, i), k, kind_of(cfg),
                     "the %zu%s item of multi_step is [%s, %ld]; %s", i + 1, ordinal_suffix(i + 1), lr,
                     s->until_iteration, problem);
  }
  return DLCC_OK;
}

static dlcc_status check_graph(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  for (size_t i = 0; i < cfg->n_limbs; i++) {
    const int *p = cfg->partaffinityfield_graph[i];
    const char *problem = NULL;
    if (p[0] < 0 || p[1] < 0 || p[0] >= cfg->num_joints || p[1] >= cfg->num_joints) problem = "indices must be 0 to";
    else if (p[0] == p[1]) problem = "a limb must join two different body parts; indices are 0 to";
    if (problem)
      return fail_at(err, cfg->source_path, item_line(cfg, k->key, i), NULL, 0,
                     "the %zu%s item of partaffinityfield_graph is [%d, %d]; %s num_joints - 1 = %d", i + 1,
                     ordinal_suffix(i + 1), p[0], p[1], problem, cfg->num_joints - 1);
  }
  return DLCC_OK;
}

static dlcc_status check_key(const dlcc_pose_cfg *cfg, const key_spec *k, dlcc_error *err) {
  const void *f = field_of(cfg, k);
  switch (k->type) {
    case V_INT: return check_number(cfg, k, *(const int *)f, err);
    case V_LONG: return check_number(cfg, k, (double)*(const long *)f, err);
    case V_DOUBLE:
    case V_NUMBER_OR_BOOL: return check_number(cfg, k, *(const double *)f, err);
    case V_INTS:
    case V_DOUBLES: return check_numbers(cfg, k, err);
    case V_STRING: return check_string(cfg, k, err);
    case V_NAMES: return check_names(cfg, k, err);
    case V_JOINT_LISTS: return check_joint_lists(cfg, k, err);
    case V_MULTI_STEP: return check_multi_step(cfg, k, err);
    case V_GRAPH: return check_graph(cfg, k, err);
    default: return DLCC_OK;
  }
}

static dlcc_status fail_pair(const dlcc_pose_cfg *cfg, const char *key, dlcc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static dlcc_status fail_pair(const dlcc_pose_cfg *cfg, const char *key, dlcc_error *err, const char *fmt, ...) {
  char body[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  return fail_at(err, cfg->source_path, line_of(cfg, key), NULL, 0, "%s", body);
}

static dlcc_status check_joint_counts(const dlcc_pose_cfg *cfg, dlcc_error *err) {
  int line;
  if (!cfg->all_joints_names && !node_at(cfg->doc, "all_joints_names", &line))
    return fail_pair(cfg, "num_joints", err, "all_joints_names is missing; it must list the %d body part names",
                     cfg->num_joints);
  if (cfg->n_joints != (size_t)cfg->num_joints)
    return fail_pair(cfg, "all_joints_names", err,
                     "all_joints_names lists %zu body part%s but num_joints is %d; they must agree", cfg->n_joints,
                     cfg->n_joints == 1 ? "" : "s", cfg->num_joints);
  if (cfg->n_all_joints != (size_t)cfg->num_joints)
    return fail_pair(cfg, "all_joints", err,
                     "all_joints has %zu items but num_joints is %d; DeepLabCut writes one per body part, "
                     "[[0], [1], ..., [%d]]", cfg->n_all_joints, cfg->num_joints, cfg->num_joints - 1);
  return DLCC_OK;
}

static dlcc_status check_relations(const dlcc_pose_cfg *cfg, dlcc_error *err) {
  char lo[40], up[40];
  dlcc_status st = check_joint_counts(cfg, err);
  if (st != DLCC_OK) return st;
  if (cfg->scale_jitter_lo > cfg->scale_jitter_up) {
    format_number(cfg->scale_jitter_lo, lo, sizeof lo);
    format_number(cfg->scale_jitter_up, up, sizeof up);
    return fail_pair(cfg, "scale_jitter_lo", err,
                     "scale_jitter_lo is %s but scale_jitter_up is %s; scale_jitter_lo must be at most "
                     "scale_jitter_up", lo, up);
  }
  if (cfg->min_input_size > cfg->max_input_size)
    return fail_pair(cfg, "min_input_size", err,
                     "min_input_size is %d but max_input_size is %d; min_input_size must be at most max_input_size",
                     cfg->min_input_size, cfg->max_input_size);
  if ((size_t)cfg->num_limbs != cfg->n_limbs)
    return fail_pair(cfg, "num_limbs", err,
                     "num_limbs is %d but partaffinityfield_graph has %zu pairs; set num_limbs to %zu",
                     cfg->num_limbs, cfg->n_limbs, cfg->n_limbs);
  if (cfg->partaffinityfield_predict && cfg->n_limbs == 0)
    return fail_pair(cfg, "partaffinityfield_predict", err,
                     "partaffinityfield_predict is true but partaffinityfield_graph is empty; give the graph's "
                     "body part pairs or set partaffinityfield_predict to false");
  return DLCC_OK;
}

dlcc_status dlcc_pose_cfg_validate(const dlcc_pose_cfg *cfg, dlcc_error *err) {
  for (size_t i = 0; i < N_KEYS; i++) {
    dlcc_status st = check_key(cfg, &KEYS[i], err);
    if (st != DLCC_OK) return st;
  }
  return check_relations(cfg, err);
}

/* ------------------------------------------------------------------------------------------------
 * Saving: typed keys in the table's order (nested under their groups), then the file's other keys */

typedef struct saver {
  const dlcc_pose_cfg *cfg;
  dlcc_pose_cfg defaults;
  dlcc_pose_cfg scratch; /* the file's value read back, to keep the file's spelling when unchanged */
  bool failed;           /* an allocation failed */
} saver;

static dlcc_yaml_node *new_flow_seq(void) {
  dlcc_yaml_node *n = dlcc_yaml_new_seq();
  if (n) n->flow = true;
  return n;
}

/* Appends item to seq; on failure frees seq and returns NULL. */
static dlcc_yaml_node *append(dlcc_yaml_node *seq, dlcc_yaml_node *item) {
  if (!seq) {
    dlcc_yaml_free(item);
    return NULL;
  }
  if (!item || !dlcc_yaml_seq_append(seq, item)) {
    dlcc_yaml_free(seq);
    return NULL;
  }
  return seq;
}

static dlcc_yaml_node *pair_node(dlcc_yaml_node *a, dlcc_yaml_node *b) {
  return append(append(new_flow_seq(), a), b);
}

static dlcc_yaml_node *numbers_node(const dlcc_pose_cfg *cfg, const key_spec *k) {
  size_t count = (size_t)abs(k->count);
  const void *f = field_of(cfg, k);
  dlcc_yaml_node *seq = new_flow_seq();
  bool all_zero = true;
  for (size_t i = 0; i < count; i++)
    all_zero = all_zero && (k->type == V_INTS ? ((const int *)f)[i] == 0 : ((const double *)f)[i] == 0);
  if (all_zero && k->count < 0) return seq;
  for (size_t i = 0; i < count && seq; i++)
    seq = append(seq, k->type == V_INTS ? dlcc_yaml_new_scalarf("%d", ((const int *)f)[i])
                                        : dlcc_yaml_new_double(((const double *)f)[i]));
  return seq;
}

static dlcc_yaml_node *list_node(const dlcc_pose_cfg *cfg, const key_spec *k) {
  dlcc_yaml_node *seq = dlcc_yaml_new_seq();
  if (k->type == V_NAMES)
    for (size_t i = 0; i < cfg->n_joints && seq; i++) seq = append(seq, dlcc_yaml_new_string(cfg->all_joints_names[i]));
  if (k->type == V_JOINT_LISTS)
    for (size_t i = 0; i < cfg->n_all_joints && seq; i++)
      seq = append(seq, append(new_flow_seq(), dlcc_yaml_new_scalarf("%d", *cfg->all_joints[i])));
  if (k->type == V_MULTI_STEP)
    for (size_t i = 0; i < cfg->n_multi_step && seq; i++)
      seq = append(seq, pair_node(dlcc_yaml_new_double(cfg->multi_step[i].lr),
                                  dlcc_yaml_new_scalarf("%ld", cfg->multi_step[i].until_iteration)));
  if (k->type == V_GRAPH)
    for (size_t i = 0; i < cfg->n_limbs && seq; i++)
      seq = append(seq, pair_node(dlcc_yaml_new_scalarf("%d", cfg->partaffinityfield_graph[i][0]),
                                  dlcc_yaml_new_scalarf("%d", cfg->partaffinityfield_graph[i][1])));
  return seq;
}

/* A whole-valued rotation is written as an integer: DeepLabCut's loaders read a float there as
 * "use the default angle". */
static dlcc_yaml_node *number_or_bool_node(double v) {
  if (v == floor(v) && fabs(v) < 1e15) return dlcc_yaml_new_scalarf("%.0f", v);
  return dlcc_yaml_new_double(v);
}

/* The field as a fresh node; NULL for a missing string (and for groups, built by build_map). */
static dlcc_yaml_node *value_node(const dlcc_pose_cfg *cfg, const key_spec *k) {
  const void *f = field_of(cfg, k);
  switch (k->type) {
    case V_STRING: return *(char *const *)f ? dlcc_yaml_new_string(*(char *const *)f) : NULL;
    case V_BOOL:
    case V_TOGGLE: return dlcc_yaml_new_scalar(*(const bool *)f ? "true" : "false");
    case V_INT: return dlcc_yaml_new_scalarf("%d", *(const int *)f);
    case V_LONG: return dlcc_yaml_new_scalarf("%ld", *(const long *)f);
    case V_DOUBLE: return dlcc_yaml_new_double(*(const double *)f);
    case V_NUMBER_OR_BOOL: return number_or_bool_node(*(const double *)f);
    case V_INTS:
    case V_DOUBLES: return numbers_node(cfg, k);
    case V_GROUP: return NULL;
    default: return list_node(cfg, k);
  }
}

static bool nodes_equal(const dlcc_yaml_node *a, const dlcc_yaml_node *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind || a->count != b->count) return false;
  if (a->kind == DLCC_YAML_SCALAR) return !strcmp(a->scalar, b->scalar);
  for (size_t i = 0; i < a->count; i++)
    if ((a->kind == DLCC_YAML_MAP && strcmp(a->keys[i], b->keys[i])) || !nodes_equal(a->items[i], b->items[i]))
      return false;
  return true;
}

static bool differs_from_default(saver *s, const key_spec *k) {
  dlcc_yaml_node *mine = value_node(s->cfg, k), *dflt = value_node(&s->defaults, k);
  bool differs = !nodes_equal(mine, dflt);
  dlcc_yaml_free(mine);
  dlcc_yaml_free(dflt);
  return differs;
}

static bool should_write(saver *s, const key_spec *k, const dlcc_yaml_node *in_file) {
  switch (k->save) {
    case SAVE_ALWAYS: return true;
    case SAVE_FROM_FILE: return in_file != NULL;
    case SAVE_MADLC: return s->cfg->multianimal || in_file || differs_from_default(s, k);
    default: return in_file || differs_from_default(s, k);
  }
}

/* Whether the file's node reads back as the value we would write (then its text is kept). */
static bool file_says_the_same(saver *s, const key_spec *k, const dlcc_yaml_node *in_file,
                               const dlcc_yaml_node *mine) {
  origin at = {NULL, 0, kind_of(s->cfg)};
  if (read_value(&s->scratch, k, in_file, &at, NULL) != DLCC_OK) return false;
  dlcc_yaml_node *theirs = value_node(&s->scratch, k);
  bool same = nodes_equal(theirs, mine);
  dlcc_yaml_free(theirs);
  free_field(&s->scratch, k);
  return same;
}

static bool has_children(const key_spec *k) {
  size_t len = strlen(k->key);
  const key_spec *next = k + 1;
  return next < KEYS + N_KEYS && !strncmp(next->key, k->key, len) && next->key[len] == '.';
}

static dlcc_yaml_node *build_map(saver *s, const char *prefix, const dlcc_yaml_node *in_file);

static dlcc_yaml_node *entry_node(saver *s, const key_spec *k, const dlcc_yaml_node *in_file) {
  bool enabled = k->type == V_TOGGLE && *(const bool *)field_of(s->cfg, k);
  if (k->type == V_GROUP || (enabled && has_children(k))) return build_map(s, k->key, in_file);
  if (k->save == SAVE_FROM_FILE) return dlcc_yaml_clone(in_file);
  dlcc_yaml_node *mine = value_node(s->cfg, k);
  if (k->type != V_STRING && !mine) {
    s->failed = true;
    return NULL;
  }
  if (in_file && (!mine || file_says_the_same(s, k, in_file, mine))) {
    dlcc_yaml_free(mine);
    return dlcc_yaml_clone(in_file);
  }
  return mine;
}

static const char *child_name(const char *key, const char *prefix) {
  size_t len = strlen(prefix);
  if (len && (strncmp(key, prefix, len) || key[len] != '.')) return NULL;
  const char *name = key + len + (len > 0);
  return strchr(name, '.') ? NULL : name;
}

static bool is_known_child(const char *prefix, const char *name) {
  for (size_t i = 0; i < N_KEYS; i++) {
    const char *child = child_name(KEYS[i].key, prefix);
    if (child && !strcmp(child, name)) return true;
  }
  return false;
}

static void put(saver *s, dlcc_yaml_node *map, const char *name, dlcc_yaml_node *value) {
  if (!value || !dlcc_yaml_map_set(map, name, value)) s->failed = true;
}

static dlcc_yaml_node *build_map(saver *s, const char *prefix, const dlcc_yaml_node *in_file) {
  dlcc_yaml_node *map = dlcc_yaml_new_map();
  if (!map) {
    s->failed = true;
    return NULL;
  }
  if (in_file && in_file->kind != DLCC_YAML_MAP) in_file = NULL;
  for (size_t i = 0; i < N_KEYS && !s->failed; i++) {
    const char *name = child_name(KEYS[i].key, prefix);
    if (!name) continue;
    const dlcc_yaml_node *theirs = in_file ? dlcc_yaml_map_get(in_file, name) : NULL;
    if (!should_write(s, &KEYS[i], theirs)) continue;
    dlcc_yaml_node *value = entry_node(s, &KEYS[i], theirs);
    if (value) put(s, map, name, value);
  }
  for (size_t i = 0; in_file && i < in_file->count && !s->failed; i++)
    if (!is_known_child(prefix, in_file->keys[i])) put(s, map, in_file->keys[i], dlcc_yaml_clone(in_file->items[i]));
  return map;
}

dlcc_status dlcc_pose_cfg_save(const dlcc_pose_cfg *cfg, const char *path, dlcc_error *err) {
  saver s = {.cfg = cfg};
  dlcc_status st = dlcc_pose_cfg_defaults(&s.defaults, cfg->multianimal, err);
  if (st != DLCC_OK) return st;
  dlcc_yaml_node *root = build_map(&s, "", cfg->doc);
  if (s.failed || !root) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  else st = dlcc_yaml_write_file(root, path, err);
  dlcc_yaml_free(root);
  dlcc_pose_cfg_free(&s.defaults);
  dlcc_pose_cfg_free(&s.scratch);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Ownership, setters and the learning-rate schedule */

void dlcc_pose_cfg_free(dlcc_pose_cfg *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < N_KEYS; i++) free_field(cfg, &KEYS[i]);
  free(cfg->source_path);
  dlcc_yaml_free(cfg->doc);
  memset(cfg, 0, sizeof *cfg);
}

dlcc_status dlcc_pose_cfg_set_string(char **field, const char *value, dlcc_error *err) {
  char *copy = NULL;
  if (value && !(copy = strdup(value))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory copying %s", value);
  free(*field);
  *field = copy;
  return DLCC_OK;
}

dlcc_status dlcc_pose_cfg_set_joints(dlcc_pose_cfg *cfg, char *const *names, size_t n, dlcc_error *err) {
  if (n > INT_MAX) return dlcc_fail(err, DLCC_ERR_INVALID, "%zu body parts are more than dlcc handles", n);
  char **copy = calloc(n ? n : 1, sizeof *copy);
  int **lists = calloc(n ? n : 1, sizeof *lists);
  bool ok = copy && lists;
  for (size_t i = 0; ok && i < n; i++) {
    ok = (copy[i] = strdup(names[i])) && (lists[i] = malloc(sizeof **lists));
    if (ok) *lists[i] = (int)i;
  }
  if (!ok) {
    for (size_t i = 0; i < n && copy && lists; i++) free(copy[i]), free(lists[i]);
    free(copy);
    free(lists);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory copying %zu body part names", n);
  }
  free_field(cfg, find_spec("all_joints_names"));
  free_field(cfg, find_spec("all_joints"));
  cfg->all_joints_names = copy;
  cfg->all_joints = lists;
  cfg->n_joints = cfg->n_all_joints = n;
  cfg->num_joints = (int)n;
  return DLCC_OK;
}

/* As create_multianimaltraining_dataset: num_limbs is the graph's length and part affinity fields
 * are predicted exactly when the graph has limbs. */
dlcc_status dlcc_pose_cfg_set_graph(dlcc_pose_cfg *cfg, const int (*pairs)[2], size_t n, dlcc_error *err) {
  if (n > INT_MAX) return dlcc_fail(err, DLCC_ERR_INVALID, "%zu limbs are more than dlcc handles", n);
  int(*copy)[2] = calloc(n ? n : 1, sizeof *copy);
  if (!copy) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory copying a graph of %zu limbs", n);
  if (n) memcpy(copy, pairs, n * sizeof *copy);
  free(cfg->partaffinityfield_graph);
  cfg->partaffinityfield_graph = copy;
  cfg->n_limbs = n;
  cfg->num_limbs = (int)n;
  cfg->partaffinityfield_predict = n > 0;
  return DLCC_OK;
}

double dlcc_pose_cfg_learning_rate(const dlcc_pose_cfg *cfg, long iteration) {
  if (cfg->n_multi_step == 0) return 0.0;
  for (size_t i = 0; i < cfg->n_multi_step; i++)
    if (iteration <= cfg->multi_step[i].until_iteration) return cfg->multi_step[i].lr;
  return cfg->multi_step[cfg->n_multi_step - 1].lr;
}
