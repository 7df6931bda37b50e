/* A DeepLabCut project's config.yaml: typed fields read with DeepLabCut's defaults and checked with
 * messages naming the file, line, key and value; saving writes the fields that changed back into a
 * copy of the document, so every key dlcc does not know keeps its value and place. */
#include "project/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

/* ------------------------------------------------------------------------------------------------
 * The scalar fields, with the values DeepLabCut's create_new_project writes into a new project
 * (used when a key is absent or empty). */

typedef enum field_type { FIELD_TEXT, FIELD_BOOL, FIELD_INT, FIELD_DOUBLE, FIELD_SNAPSHOT } field_type;

typedef struct scalar_field {
  const char *key;
  field_type type;
  size_t offset;       /* of the member in dlcc_project_config */
  const char *text;    /* FIELD_TEXT default; NULL: the key is required */
  double number;       /* default of the other types (0/1 for FIELD_BOOL) */
  double min, max;     /* FIELD_INT / FIELD_DOUBLE allowed range */
  const char *allowed; /* what the value may be, for messages */
} scalar_field;

#define AT(member) offsetof(dlcc_project_config, member)
#define TEXT(key, member, text, allowed) \
  { key, FIELD_TEXT, AT(member), text, 0, 0, 0, allowed }
#define FLAG(key, member) \
  { key, FIELD_BOOL, AT(member), NULL, 0, 0, 1, "true or false" }
#define WHOLE(key, member, number, min, allowed) \
  { key, FIELD_INT, AT(member), NULL, number, min, INT_MAX, allowed }
#define FRACTION(key, member, number) \
  { key, FIELD_DOUBLE, AT(member), NULL, number, 0, 1, "a number from 0 to 1" }
/* clang-format off */
static const scalar_field SCALAR_FIELDS[] = {
    TEXT("Task", task, NULL, "the project's name, e.g. openfield"),
    TEXT("scorer", scorer, NULL, "the labeller's name, as in CollectedData_<scorer>.csv"),
    TEXT("date", date, NULL, "the date in the project folder's name, e.g. Oct30"),
    FLAG("multianimalproject", multianimal),
    FLAG("identity", identity),
    WHOLE("iteration", iteration, 0, 0, "a whole number >= 0"),
    TEXT("default_net_type", default_net_type, "resnet_50", "a network name, e.g. resnet_50"),
    TEXT("default_augmenter", default_augmenter, "default", "an augmenter name, e.g. default or imgaug"),
    {"snapshotindex", FIELD_SNAPSHOT, AT(snapshotindex), NULL, -1, -1, INT_MAX,
     "-1 (the last snapshot), a snapshot number 0, 1, ... or all"},
    FRACTION("pcutoff", pcutoff, 0.6),
    WHOLE("batch_size", batch_size, 8, 1, "a whole number >= 1"),
    FLAG("cropping", cropping),
    WHOLE("x1", x1, 0, 0, "a pixel column >= 0"),
    WHOLE("x2", x2, 640, 0, "a pixel column >= 0"),
    WHOLE("y1", y1, 277, 0, "a pixel row >= 0"),
    WHOLE("y2", y2, 624, 0, "a pixel row >= 0"),
    WHOLE("dotsize", dotsize, 12, 0, "a whole number >= 0"),
    FRACTION("alphavalue", alphavalue, 0.7),
    TEXT("colormap", colormap, "rainbow", "a matplotlib colormap name, e.g. rainbow or jet"),
};
/* clang-format on */
#define N_SCALAR_FIELDS (sizeof SCALAR_FIELDS / sizeof *SCALAR_FIELDS)

#define DEFAULT_TRAINING_FRACTION 0.95
#define MULTI_ANIMAL_MARKER "MULTI!" /* `bodyparts` of a maDLC project */

typedef union field_value {
  const char *text;
  bool flag;
  long integer;
  double number;
} field_value;

/* Reads node (NULL when the key is absent) as f's type, giving f's default for an absent or empty
 * value. False when the value is of another type or out of range. */
static bool scalar_value(const scalar_field *f, const dlcc_yaml_node *node, field_value *v) {
  bool empty = !node || dlcc_yaml_is_null(node);
  switch (f->type) {
    case FIELD_TEXT:
      if (!empty && node->kind != DLCC_YAML_SCALAR) return false;
      v->text = empty || !*node->scalar ? f->text : node->scalar; /* '' as well */
      return true;
    case FIELD_BOOL: v->flag = f->number != 0; return empty || dlcc_yaml_as_bool(node, &v->flag);
    case FIELD_DOUBLE:
      v->number = f->number;
      return empty || (dlcc_yaml_as_double(node, &v->number) && v->number >= f->min && v->number <= f->max);
    case FIELD_INT:
      v->integer = (long)f->number;
      return empty || (dlcc_yaml_as_long(node, &v->integer) && v->integer >= f->min && v->integer <= f->max);
    case FIELD_SNAPSHOT:
      v->integer = (long)f->number;
      if (empty) return true;
      if (node->kind == DLCC_YAML_SCALAR && !strcmp(node->scalar, "all")) {
        v->integer = DLCC_SNAPSHOT_ALL;
        return true;
      }
      return dlcc_yaml_as_long(node, &v->integer) && v->integer >= f->min && v->integer <= f->max;
  }
  return false;
}

static field_value member_value(const scalar_field *f, const dlcc_project_config *cfg) {
  const char *member = (const char *)cfg + f->offset;
  field_value v;
  switch (f->type) {
    case FIELD_TEXT: v.text = *(char *const *)member; break;
    case FIELD_BOOL: v.flag = *(const bool *)member; break;
    case FIELD_DOUBLE: v.number = *(const double *)member; break;
    default: v.integer = *(const int *)member; break;
  }
  return v;
}

static bool set_member(const scalar_field *f, dlcc_project_config *cfg, const field_value *v) {
  char *member = (char *)cfg + f->offset;
  switch (f->type) {
    case FIELD_TEXT: return (*(char **)member = strdup(v->text)) != NULL;
    case FIELD_BOOL: *(bool *)member = v->flag; break;
    case FIELD_DOUBLE: *(double *)member = v->number; break;
    default: *(int *)member = (int)v->integer; break;
  }
  return true;
}

static bool same_value(const scalar_field *f, const field_value *a, const field_value *b) {
  switch (f->type) {
    case FIELD_TEXT: return a->text && b->text && !strcmp(a->text, b->text);
    case FIELD_BOOL: return a->flag == b->flag;
    case FIELD_DOUBLE: return a->number == b->number;
    default: return a->integer == b->integer;
  }
}

static dlcc_yaml_node *value_node(const scalar_field *f, const field_value *v) {
  switch (f->type) {
    case FIELD_TEXT: return dlcc_yaml_new_string(v->text);
    case FIELD_BOOL: return dlcc_yaml_new_scalar(v->flag ? "true" : "false");
    case FIELD_DOUBLE: return dlcc_yaml_new_double(v->number);
    default:
      return v->integer == DLCC_SNAPSHOT_ALL && f->type == FIELD_SNAPSHOT
                 ? dlcc_yaml_new_string("all")
                 : dlcc_yaml_new_scalarf("%ld", v->integer);
  }
}

/* ------------------------------------------------------------------------------------------------
 * Loading */

typedef struct reader {
  const char *file;          /* for messages */
  const dlcc_yaml_node *doc; /* the top-level map */
  dlcc_error *err;
} reader;

/* How a value is shown in messages: 'text', or what kind of node it is. */
static const char *shown(const dlcc_yaml_node *node, char *buf, size_t cap) {
  if (!node) return "missing";
  if (node->kind == DLCC_YAML_SEQ) return "a list";
  if (node->kind == DLCC_YAML_MAP) return "a map";
  if (node->quoted)
    snprintf(buf, cap, "\"%.300s\" (quoted, so text)", node->scalar);
  else
    snprintf(buf, cap, "'%.300s'", node->scalar);
  return buf;
}

static dlcc_status bad_value(const reader *r, int line, const char *key, const dlcc_yaml_node *node,
                             const char *allowed) {
  char buf[340];
  return dlcc_fail(r->err, DLCC_ERR_INVALID, "%s: line %d: %s is %s; allowed: %s", r->file, line, key,
                   shown(node, buf, sizeof buf), allowed);
}

/* A key that must be there: says whether it is absent or present but empty. */
static dlcc_status missing_value(const reader *r, const char *key, const char *allowed) {
  int line = dlcc_yaml_map_key_line(r->doc, key);
  if (!line)
    return dlcc_fail(r->err, DLCC_ERR_INVALID, "%s: %s is missing; add a line '%s: ...' with %s", r->file,
                     key, key, allowed);
  return dlcc_fail(r->err, DLCC_ERR_INVALID, "%s: line %d: %s is empty; allowed: %s", r->file, line, key,
                   allowed);
}

static dlcc_status out_of_memory(const reader *r) {
  return dlcc_fail(r->err, DLCC_ERR_NOMEM, "out of memory reading %s", r->file);
}

static dlcc_status read_scalar_field(const reader *r, const scalar_field *f, dlcc_project_config *cfg) {
  const dlcc_yaml_node *node = dlcc_yaml_map_get(r->doc, f->key);
  field_value v;
  if (!scalar_value(f, node, &v))
    return bad_value(r, dlcc_yaml_map_key_line(r->doc, f->key), f->key, node, f->allowed);
  if (f->type == FIELD_TEXT && !v.text) return missing_value(r, f->key, f->allowed);
  return set_member(f, cfg, &v) ? DLCC_OK : out_of_memory(r);
}

/* A list of distinct names; absent or empty reads as no names. */
static dlcc_status read_names(const reader *r, const char *key, char ***names, size_t *count) {
  const dlcc_yaml_node *node = dlcc_yaml_map_get(r->doc, key);
  if (!node || dlcc_yaml_is_null(node)) return DLCC_OK;
  if (node->kind != DLCC_YAML_SEQ)
    return bad_value(r, dlcc_yaml_map_key_line(r->doc, key), key, node,
                     "a list of names, one per line after '- '");
  if (!(*names = calloc(node->count + 1, sizeof **names))) return out_of_memory(r);
  for (size_t i = 0; i < node->count; i++) {
    const dlcc_yaml_node *item = node->items[i];
    char buf[340];
    if (item->kind != DLCC_YAML_SCALAR || dlcc_yaml_is_null(item))
      return dlcc_fail(r->err, DLCC_ERR_INVALID, "%s: line %d: an item of %s is %s; allowed: a name", r->file,
                       item->line, key, shown(item, buf, sizeof buf));
    for (size_t j = 0; j < i; j++)
      if (!strcmp((*names)[j], item->scalar))
        return dlcc_fail(r->err, DLCC_ERR_INVALID,
                         "%s: line %d: '%s' is listed twice in %s (also at line %d); remove one", r->file,
                         item->line, item->scalar, key, node->items[j]->line);
    if (!((*names)[i] = strdup(item->scalar))) return out_of_memory(r);
    (*count)++;
  }
  return DLCC_OK;
}

static long name_index(char *const *names, size_t count, const char *name) {
  for (size_t i = 0; i < count; i++)
    if (!strcmp(names[i], name)) return (long)i;
  return -1;
}

static dlcc_status read_single_animal_parts(const reader *r, dlcc_project_config *cfg) {
  const char *allowed = "a list of body-part names, one per line after '- '";
  const dlcc_yaml_node *node = dlcc_yaml_map_get(r->doc, "bodyparts");
  int line = dlcc_yaml_map_key_line(r->doc, "bodyparts");
  if (!node || dlcc_yaml_is_null(node)) return missing_value(r, "bodyparts", allowed);
  if (node->kind == DLCC_YAML_SCALAR && !strcmp(node->scalar, MULTI_ANIMAL_MARKER))
    return dlcc_fail(r->err, DLCC_ERR_INVALID,
                     "%s: line %d: bodyparts is '%s' but multianimalproject is not "
                     "true; set 'multianimalproject: true' or list the body parts",
                     r->file, line, MULTI_ANIMAL_MARKER);
  if (node->kind != DLCC_YAML_SEQ || node->count == 0) return bad_value(r, line, "bodyparts", node, allowed);
  return read_names(r, "bodyparts", &cfg->bodyparts, &cfg->n_bodyparts);
}

/* maDLC: individuals and multianimalbodyparts are required, and no part is both multi and unique. */
static dlcc_status read_multi_animal_parts(const reader *r, dlcc_project_config *cfg) {
  const dlcc_yaml_node *marker = dlcc_yaml_map_get(r->doc, "bodyparts");
  bool is_marker = marker && marker->kind == DLCC_YAML_SCALAR && !strcmp(marker->scalar, MULTI_ANIMAL_MARKER);
  dlcc_status st = is_marker ? DLCC_OK : read_names(r, "bodyparts", &cfg->bodyparts, &cfg->n_bodyparts);
  if (!st) st = read_names(r, "individuals", &cfg->individuals, &cfg->n_individuals);
  if (!st && !cfg->n_individuals)
    return missing_value(r, "individuals",
                         "a list of animal names (multianimalproject is true), e.g. '- mouse1'");
  if (!st)
    st = read_names(r, "multianimalbodyparts", &cfg->multianimalbodyparts, &cfg->n_multianimalbodyparts);
  if (!st && !cfg->n_multianimalbodyparts)
    return missing_value(r, "multianimalbodyparts",
                         "a list of the body parts every animal has (multianimalproject is true)");
  if (!st) st = read_names(r, "uniquebodyparts", &cfg->uniquebodyparts, &cfg->n_uniquebodyparts);
  for (size_t i = 0; !st && i < cfg->n_uniquebodyparts; i++)
    if (name_index(cfg->multianimalbodyparts, cfg->n_multianimalbodyparts, cfg->uniquebodyparts[i]) >= 0)
      return dlcc_fail(r->err, DLCC_ERR_INVALID,
                       "%s: line %d: '%s' is listed in both multianimalbodyparts and "
                       "uniquebodyparts; keep it in one of them",
                       r->file, dlcc_yaml_map_get(r->doc, "uniquebodyparts")->items[i]->line,
                       cfg->uniquebodyparts[i]);
  return st;
}

static char *joint_list_text(const dlcc_project_config *cfg) {
  char **names;
  size_t n = dlcc_config_joint_names(cfg, &names);
  dlcc_strbuf sb = {0};
  dlcc_strbuf_append(&sb, "");
  for (size_t i = 0; i < n; i++) dlcc_strbuf_printf(&sb, "%s%s", i ? ", " : "", names[i]);
  free(names);
  return sb.data;
}

/* One skeleton pair: two different names of known body parts. */
static dlcc_status read_skeleton_pair(const reader *r, const dlcc_yaml_node *pair, dlcc_project_config *cfg) {
  char buf[340];
  bool shaped = pair->kind == DLCC_YAML_SEQ && pair->count == 2;
  for (size_t k = 0; shaped && k < 2; k++)
    shaped = pair->items[k]->kind == DLCC_YAML_SCALAR && !dlcc_yaml_is_null(pair->items[k]);
  if (!shaped || !strcmp(pair->items[0]->scalar, pair->items[1]->scalar))
    return dlcc_fail(r->err, DLCC_ERR_INVALID,
                     "%s: line %d: a skeleton item is %s; allowed: a pair of two "
                     "different body parts, e.g. [snout, tailbase]",
                     r->file, pair->line,
                     shaped ? "a body part joined to itself" : shown(pair, buf, sizeof buf));
  for (size_t k = 0; k < 2; k++) {
    const char *name = pair->items[k]->scalar;
    if (dlcc_config_joint_index(cfg, name) >= 0) continue;
    char *known = joint_list_text(cfg);
    dlcc_fail(r->err, DLCC_ERR_INVALID,
              "%s: line %d: skeleton names '%s', which is not a body part; allowed: %s", r->file,
              pair->items[k]->line, name, known ? known : "the body parts");
    free(known);
    return DLCC_ERR_INVALID;
  }
  char *first = strdup(pair->items[0]->scalar), *second = strdup(pair->items[1]->scalar);
  if (!first || !second) {
    free(first);
    free(second);
    return out_of_memory(r);
  }
  cfg->skeleton[cfg->n_skeleton][0] = first;
  cfg->skeleton[cfg->n_skeleton][1] = second;
  cfg->n_skeleton++;
  return DLCC_OK;
}

static dlcc_status read_skeleton(const reader *r, dlcc_project_config *cfg) {
  const dlcc_yaml_node *node = dlcc_yaml_map_get(r->doc, "skeleton");
  if (!node || dlcc_yaml_is_null(node) || (node->kind == DLCC_YAML_SCALAR && !*node->scalar)) return DLCC_OK;
  if (node->kind != DLCC_YAML_SEQ)
    return bad_value(r, dlcc_yaml_map_key_line(r->doc, "skeleton"), "skeleton", node,
                     "a list of body-part pairs, e.g. '- [snout, tailbase]', or []");
  if (!(cfg->skeleton = calloc(node->count + 1, sizeof *cfg->skeleton))) return out_of_memory(r);
  dlcc_status st = DLCC_OK;
  for (size_t i = 0; !st && i < node->count; i++) st = read_skeleton_pair(r, node->items[i], cfg);
  return st;
}

/* A list of fractions in (0, 1], or a single one; [0.95] when absent. */
static dlcc_status read_training_fractions(const reader *r, dlcc_project_config *cfg) {
  const char *allowed = "fractions of the labeled frames used for training, above 0 and at most 1, e.g. 0.95";
  const dlcc_yaml_node *node = dlcc_yaml_map_get(r->doc, "TrainingFraction");
  int line = dlcc_yaml_map_key_line(r->doc, "TrainingFraction");
  bool absent = !node || dlcc_yaml_is_null(node);
  size_t n = absent || node->kind != DLCC_YAML_SEQ ? 1 : node->count;
  if (n == 0) return bad_value(r, line, "TrainingFraction", node, allowed);
  if (!(cfg->training_fractions = calloc(n, sizeof *cfg->training_fractions))) return out_of_memory(r);
  for (size_t i = 0; i < n; i++) {
    double f = DEFAULT_TRAINING_FRACTION;
    const dlcc_yaml_node *item = absent || node->kind != DLCC_YAML_SEQ ? node : node->items[i];
    if (!absent && (!dlcc_yaml_as_double(item, &f) || !(f > 0 && f <= 1)))
      return bad_value(r, item->line ? item->line : line, "TrainingFraction", item, allowed);
    cfg->training_fractions[cfg->n_training_fractions++] = f;
  }
  return DLCC_OK;
}

/* "x1, x2, y1, y2" (or a list of four) with x1 < x2 and y1 < y2. */
static bool parse_crop(const dlcc_yaml_node *node, int crop[4]) {
  long v[4];
  if (node->kind == DLCC_YAML_SEQ) {
    if (node->count != 4) return false;
    for (size_t k = 0; k < 4; k++)
      if (!dlcc_yaml_as_long(node->items[k], &v[k])) return false;
  } else if (node->kind == DLCC_YAML_SCALAR) {
    const char *p = node->scalar;
    for (size_t k = 0; k < 4; k++) {
      char *end;
      errno = 0;
      v[k] = strtol(p, &end, 10);
      if (end == p || errno) return false;
      p = end + strspn(end, " ");
      if (k < 3 && *p++ != ',') return false;
    }
    if (*p) return false;
  } else {
    return false;
  }
  for (size_t k = 0; k < 4; k++) {
    if (v[k] < 0 || v[k] > INT_MAX) return false;
    crop[k] = (int)v[k];
  }
  return crop[0] < crop[1] && crop[2] < crop[3];
}

static dlcc_status read_video_set(const reader *r, const dlcc_yaml_node *videos, size_t i,
                                  dlcc_video_set *set) {
  const dlcc_yaml_node *value = videos->items[i];
  char buf[340];
  if (!(set->path = strdup(videos->keys[i]))) return out_of_memory(r);
  if (dlcc_yaml_is_null(value)) return DLCC_OK;
  if (value->kind != DLCC_YAML_MAP)
    return dlcc_fail(r->err, DLCC_ERR_INVALID,
                     "%s: line %d: video_sets entry '%s' is %s; allowed: a map "
                     "holding 'crop: x1, x2, y1, y2'",
                     r->file, videos->key_lines[i], set->path, shown(value, buf, sizeof buf));
  const dlcc_yaml_node *crop = dlcc_yaml_map_get(value, "crop");
  if (!crop || dlcc_yaml_is_null(crop)) return DLCC_OK;
  if (!parse_crop(crop, set->crop))
    return dlcc_fail(r->err, DLCC_ERR_INVALID,
                     "%s: line %d: crop of video '%s' is %s; allowed: four whole "
                     "numbers 'x1, x2, y1, y2' with x1 < x2 and y1 < y2, e.g. '0, 640, 0, 480'",
                     r->file, dlcc_yaml_map_key_line(value, "crop"), set->path, shown(crop, buf, sizeof buf));
  set->has_crop = true;
  return DLCC_OK;
}

static dlcc_status read_video_sets(const reader *r, dlcc_project_config *cfg) {
  const dlcc_yaml_node *node = dlcc_yaml_map_get(r->doc, "video_sets");
  if (!node || dlcc_yaml_is_null(node)) return DLCC_OK;
  if (node->kind != DLCC_YAML_MAP)
    return bad_value(r, dlcc_yaml_map_key_line(r->doc, "video_sets"), "video_sets", node,
                     "a map from each video's path to 'crop: x1, x2, y1, y2'");
  if (!(cfg->video_sets = calloc(node->count + 1, sizeof *cfg->video_sets))) return out_of_memory(r);
  dlcc_status st = DLCC_OK;
  for (size_t i = 0; !st && i < node->count; i++) {
    st = read_video_set(r, node, i, &cfg->video_sets[i]);
    cfg->n_video_sets++;
  }
  return st;
}

static dlcc_status check_cropping(const reader *r, const dlcc_project_config *cfg) {
  if (!cfg->cropping) return DLCC_OK;
  if (cfg->x1 >= cfg->x2)
    return dlcc_fail(r->err, DLCC_ERR_INVALID,
                     "%s: line %d: x2 is %d, not above x1 = %d; allowed when cropping "
                     "is true: x1 < x2 and y1 < y2",
                     r->file, dlcc_yaml_map_key_line(r->doc, "x2"), cfg->x2, cfg->x1);
  if (cfg->y1 >= cfg->y2)
    return dlcc_fail(r->err, DLCC_ERR_INVALID,
                     "%s: line %d: y2 is %d, not above y1 = %d; allowed when cropping "
                     "is true: x1 < x2 and y1 < y2",
                     r->file, dlcc_yaml_map_key_line(r->doc, "y2"), cfg->y2, cfg->y1);
  return DLCC_OK;
}

/* Task, scorer and date become parts of file and folder names (UnaugmentedDataSet_<Task><date>,
 * CollectedData_<scorer>.csv): a separator or ".." would write outside the project. */
static dlcc_status check_file_name_parts(const reader *r, const dlcc_project_config *cfg) {
  const char *keys[3] = {"Task", "scorer", "date"};
  const char *values[3] = {cfg->task, cfg->scorer, cfg->date};
  for (int i = 0; i < 3; i++) {
    if (!strchr(values[i], '/') && !strchr(values[i], '\\') && strcmp(values[i], "..") && strcmp(values[i], "."))
      continue;
    const dlcc_yaml_node *node = dlcc_yaml_map_get(r->doc, keys[i]);
    return bad_value(r, dlcc_yaml_map_key_line(r->doc, keys[i]), keys[i], node,
                     "a name without '/' or '\\' (it becomes part of folder and file names)");
  }
  return DLCC_OK;
}

/* Each TrainingFraction gets the folder ...-trainset<int(100 f)>: two fractions with the same number
 * would overwrite each other's files. */
static dlcc_status check_fraction_folders(const reader *r, const dlcc_project_config *cfg) {
  for (size_t i = 0; i < cfg->n_training_fractions; i++)
    for (size_t j = 0; j < i; j++) {
      int a = (int)(100.0 * cfg->training_fractions[i]), b = (int)(100.0 * cfg->training_fractions[j]);
      if (a != b) continue;
      return dlcc_fail(r->err, DLCC_ERR_INVALID,
                       "%s: line %d: TrainingFraction lists %g and %g, which share the folder name "
                       "trainset%d; give fractions that differ in their first two decimals",
                       r->file, dlcc_yaml_map_key_line(r->doc, "TrainingFraction"), cfg->training_fractions[j],
                       cfg->training_fractions[i], a);
    }
  return DLCC_OK;
}

static dlcc_status read_fields(const reader *r, dlcc_project_config *cfg) {
  if (r->doc->kind != DLCC_YAML_MAP)
    return dlcc_fail(r->err, DLCC_ERR_INVALID,
                     "%s: holds no keys (it is empty or not a map); a DeepLabCut "
                     "config.yaml has lines such as 'Task: openfield'",
                     r->file);
  dlcc_status st = DLCC_OK;
  for (size_t i = 0; !st && i < N_SCALAR_FIELDS; i++) st = read_scalar_field(r, &SCALAR_FIELDS[i], cfg);
  if (!st) st = cfg->multianimal ? read_multi_animal_parts(r, cfg) : read_single_animal_parts(r, cfg);
  if (!st) st = check_file_name_parts(r, cfg);
  if (!st) st = read_skeleton(r, cfg);
  if (!st) st = read_training_fractions(r, cfg);
  if (!st) st = check_fraction_folders(r, cfg);
  if (!st) st = read_video_sets(r, cfg);
  if (!st) st = check_cropping(r, cfg);
  return st;
}

/* config_path and root from a file or folder path. */
static dlcc_status locate(const char *path, dlcc_project_config *cfg, dlcc_error *err) {
  char *file = dlcc_path_is_dir(path) ? dlcc_path_join(path, "config.yaml") : strdup(path);
  if (file) cfg->config_path = dlcc_path_absolute(file);
  free(file);
  if (cfg->config_path) cfg->root = dlcc_path_dirname(cfg->config_path);
  if (!cfg->config_path || !cfg->root)
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory loading %s", path);
  if (!dlcc_path_is_file(cfg->config_path))
    return dlcc_fail(err, DLCC_ERR_IO,
                     "cannot find %s; give the path of a project's config.yaml or of the folder holding it",
                     cfg->config_path);
  return DLCC_OK;
}

dlcc_status dlcc_config_load(const char *path, dlcc_project_config *cfg, dlcc_error *err) {
  memset(cfg, 0, sizeof *cfg);
  dlcc_status st = locate(path, cfg, err);
  if (!st && !(cfg->doc = dlcc_yaml_load_file(cfg->config_path, err)))
    st = err ? err->status : DLCC_ERR_PARSE;
  if (!st) st = read_fields(&(reader){.file = cfg->config_path, .doc = cfg->doc, .err = err}, cfg);
  if (st) dlcc_config_free(cfg);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Saving: each field replaces its key only when the value written there differs. */

/* Same structure and texts (style and lines aside). */
static bool same_tree(const dlcc_yaml_node *a, const dlcc_yaml_node *b) {
  if (a->kind != b->kind || a->count != b->count) return false;
  if (a->kind == DLCC_YAML_SCALAR) return !strcmp(a->scalar, b->scalar);
  for (size_t i = 0; i < a->count; i++)
    if ((a->kind == DLCC_YAML_MAP && strcmp(a->keys[i], b->keys[i])) || !same_tree(a->items[i], b->items[i]))
      return false;
  return true;
}

/* Sets doc[key] = value (owned) unless the present value is the same, or the key is absent and
 * value is an empty list. False on allocation failure (value NULL included). */
static bool set_if_changed(dlcc_yaml_node *doc, const char *key, dlcc_yaml_node *value) {
  if (!value) return false;
  const dlcc_yaml_node *present = dlcc_yaml_map_get(doc, key);
  bool empty_list = value->kind != DLCC_YAML_SCALAR && value->count == 0;
  if ((present && same_tree(present, value)) || (!present && empty_list)) {
    dlcc_yaml_free(value);
    return true;
  }
  return dlcc_yaml_map_set(doc, key, value);
}

static bool write_scalar_field(dlcc_yaml_node *doc, const scalar_field *f, const dlcc_project_config *cfg) {
  field_value want = member_value(f, cfg), have;
  if (f->type == FIELD_TEXT && !want.text) return true;
  if (scalar_value(f, dlcc_yaml_map_get(doc, f->key), &have) && same_value(f, &have, &want)) return true;
  return dlcc_yaml_map_set(doc, f->key, value_node(f, &want));
}

static dlcc_yaml_node *names_node(char *const *names, size_t count) {
  dlcc_yaml_node *seq = dlcc_yaml_new_seq();
  for (size_t i = 0; seq && i < count; i++) {
    if (!dlcc_yaml_seq_append(seq, dlcc_yaml_new_string(names[i]))) {
      dlcc_yaml_free(seq);
      return NULL;
    }
  }
  return seq;
}

static dlcc_yaml_node *skeleton_node(const dlcc_project_config *cfg) {
  dlcc_yaml_node *seq = dlcc_yaml_new_seq();
  for (size_t i = 0; seq && i < cfg->n_skeleton; i++) {
    if (!dlcc_yaml_seq_append(seq, names_node(cfg->skeleton[i], 2))) {
      dlcc_yaml_free(seq);
      return NULL;
    }
  }
  return seq;
}

static dlcc_yaml_node *fractions_node(const dlcc_project_config *cfg) {
  dlcc_yaml_node *seq = dlcc_yaml_new_seq();
  for (size_t i = 0; seq && i < cfg->n_training_fractions; i++) {
    if (!dlcc_yaml_seq_append(seq, dlcc_yaml_new_double(cfg->training_fractions[i]))) {
      dlcc_yaml_free(seq);
      return NULL;
    }
  }
  return seq;
}

/* One video's map: the keys it had besides crop, then crop when set; empty (`path:`) when neither. */
static dlcc_yaml_node *video_set_node(const dlcc_video_set *set, const dlcc_yaml_node *before) {
  dlcc_yaml_node *map = dlcc_yaml_new_map();
  bool ok = map != NULL;
  for (size_t i = 0; ok && before && before->kind == DLCC_YAML_MAP && i < before->count; i++)
    if (strcmp(before->keys[i], "crop"))
      ok = dlcc_yaml_map_set(map, before->keys[i], dlcc_yaml_clone(before->items[i]));
  if (ok && set->has_crop)
    ok = dlcc_yaml_map_set(
        map, "crop",
        dlcc_yaml_new_scalarf("%d, %d, %d, %d", set->crop[0], set->crop[1], set->crop[2], set->crop[3]));
  if (ok && map->count == 0) {
    dlcc_yaml_free(map);
    return dlcc_yaml_new_scalar("");
  }
  if (!ok) dlcc_yaml_free(map);
  return ok ? map : NULL;
}

static dlcc_yaml_node *video_sets_node(const dlcc_project_config *cfg, const dlcc_yaml_node *before) {
  dlcc_yaml_node *map = dlcc_yaml_new_map();
  bool ok = map != NULL;
  for (size_t i = 0; ok && i < cfg->n_video_sets; i++) {
    const dlcc_video_set *set = &cfg->video_sets[i];
    ok = dlcc_yaml_map_set(map, set->path, video_set_node(set, dlcc_yaml_map_get(before, set->path)));
  }
  if (!ok) dlcc_yaml_free(map);
  return ok ? map : NULL;
}

static bool write_body_parts(dlcc_yaml_node *doc, const dlcc_project_config *cfg) {
  bool ok = cfg->multianimal && !cfg->n_bodyparts
                ? set_if_changed(doc, "bodyparts", dlcc_yaml_new_string(MULTI_ANIMAL_MARKER))
                : set_if_changed(doc, "bodyparts", names_node(cfg->bodyparts, cfg->n_bodyparts));
  if (!cfg->multianimal) return ok; /* a single-animal file's maDLC keys, if any, stay as they were */
  return ok && set_if_changed(doc, "individuals", names_node(cfg->individuals, cfg->n_individuals)) &&
         set_if_changed(doc, "multianimalbodyparts",
                        names_node(cfg->multianimalbodyparts, cfg->n_multianimalbodyparts)) &&
         set_if_changed(doc, "uniquebodyparts", names_node(cfg->uniquebodyparts, cfg->n_uniquebodyparts));
}

/* project_path: the folder the file is written to (cfg->root when saving in place). */
static bool write_fields(dlcc_yaml_node *doc, const dlcc_project_config *cfg, const char *project_path) {
  bool ok = project_path && set_if_changed(doc, "project_path", dlcc_yaml_new_string(project_path));
  for (size_t i = 0; ok && i < N_SCALAR_FIELDS; i++) ok = write_scalar_field(doc, &SCALAR_FIELDS[i], cfg);
  return ok && write_body_parts(doc, cfg) && set_if_changed(doc, "skeleton", skeleton_node(cfg)) &&
         set_if_changed(doc, "TrainingFraction", fractions_node(cfg)) &&
         set_if_changed(doc, "video_sets", video_sets_node(cfg, dlcc_yaml_map_get(doc, "video_sets")));
}

dlcc_status dlcc_config_save(const dlcc_project_config *cfg, const char *path, dlcc_error *err) {
  bool has_doc = cfg->doc && cfg->doc->kind == DLCC_YAML_MAP;
  dlcc_yaml_node *doc = has_doc ? dlcc_yaml_clone(cfg->doc) : dlcc_yaml_new_map();
  char *parent = dlcc_path_dirname(path), *folder = parent ? dlcc_path_absolute(parent) : NULL;
  bool ok = doc && write_fields(doc, cfg, folder);
  free(parent);
  free(folder);
  if (!ok) {
    dlcc_yaml_free(doc);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory saving %s", path);
  }
  dlcc_status st = dlcc_yaml_write_file(doc, path, err);
  dlcc_yaml_free(doc);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Body parts and release */

size_t dlcc_config_joint_names(const dlcc_project_config *cfg, char ***names) {
  size_t n_multi = cfg->multianimal ? cfg->n_multianimalbodyparts : 0;
  size_t n_rest = cfg->multianimal ? cfg->n_uniquebodyparts : cfg->n_bodyparts;
  char *const *rest = cfg->multianimal ? cfg->uniquebodyparts : cfg->bodyparts;
  *names = malloc((n_multi + n_rest + 1) * sizeof **names);
  if (!*names) return 0;
  for (size_t i = 0; i < n_multi; i++) (*names)[i] = cfg->multianimalbodyparts[i];
  for (size_t i = 0; i < n_rest; i++) (*names)[n_multi + i] = rest[i];
  return n_multi + n_rest;
}

int dlcc_config_joint_index(const dlcc_project_config *cfg, const char *name) {
  if (!cfg->multianimal) return (int)name_index(cfg->bodyparts, cfg->n_bodyparts, name);
  long i = name_index(cfg->multianimalbodyparts, cfg->n_multianimalbodyparts, name);
  if (i >= 0) return (int)i;
  i = name_index(cfg->uniquebodyparts, cfg->n_uniquebodyparts, name);
  return i < 0 ? -1 : (int)(cfg->n_multianimalbodyparts + (size_t)i);
}

static void free_names(char **names, size_t count) {
  for (size_t i = 0; i < count; i++) free(names[i]);
  free(names);
}

void dlcc_config_free(dlcc_project_config *cfg) {
  if (!cfg) return;
  char *texts[] = {
      cfg->config_path,       cfg->root,    cfg->task, cfg->scorer, cfg->date, cfg->default_net_type,
      cfg->default_augmenter, cfg->colormap};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) free(texts[i]);
  for (size_t i = 0; i < cfg->n_video_sets; i++) free(cfg->video_sets[i].path);
  free(cfg->video_sets);
  free_names(cfg->bodyparts, cfg->n_bodyparts);
  free_names(cfg->individuals, cfg->n_individuals);
  free_names(cfg->multianimalbodyparts, cfg->n_multianimalbodyparts);
  free_names(cfg->uniquebodyparts, cfg->n_uniquebodyparts);
  for (size_t i = 0; i < cfg->n_skeleton; i++) {
    free(cfg->skeleton[i][0]);
    free(cfg->skeleton[i][1]);
  }
  free(cfg->skeleton);
  free(cfg->training_fractions);
  dlcc_yaml_free(cfg->doc);
  memset(cfg, 0, sizeof *cfg);
}
