/* DeepLabCut label tables (CollectedData_<scorer>.csv, analysis outputs, ground truth): their
 * memory, creating one, and checks against a project's config. Reading is in labels_read.c, writing
 * in labels_write.c. */
#include "project/labels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "project/labels_internal.h"
#include "util/fileio.h"

const char *const dlcc_labels_level_names[N_LEVELS] = {"scorer", "individuals", "bodyparts", "coords"};
const char *const dlcc_labels_coord_names[3] = {"x", "y", "likelihood"};

/* ------------------------------------------------------------------------------------------------
 * Table memory, and the duplicate-row search that reading and creating share. */

void dlcc_labels_free_strings(char **s, size_t n) {
  if (!s) return;
  for (size_t i = 0; i < n; i++) free(s[i]);
  free(s);
}

void dlcc_labels_free(dlcc_label_table *t) {
  if (!t) return;
  free(t->scorer);
  for (size_t c = 0; c < t->n_columns && t->columns; c++) {
    free(t->columns[c].individual);
    free(t->columns[c].bodypart);
  }
  free(t->columns);
  dlcc_labels_free_strings(t->row_names, t->n_rows);
  free(t->values);
  memset(t, 0, sizeof *t);
}

typedef struct named_row {
  const char *name;
  size_t pos;
} named_row;

static int compare_named_rows(const void *a, const void *b) {
  const named_row *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c) return c;
  return (x->pos > y->pos) - (x->pos < y->pos);
}

dlcc_status dlcc_labels_find_duplicate_row(char *const *names, size_t n, size_t *first, size_t *second,
                                           bool *found) {
  *found = false;
  if (n < 2) return DLCC_OK;
  named_row *sorted = malloc(n * sizeof *sorted);
  if (!sorted) return DLCC_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) sorted[i] = (named_row){names[i], i};
  qsort(sorted, n, sizeof *sorted, compare_named_rows);
  /* Report the earliest second occurrence, so the message points at the first problem in the file. */
  for (size_t i = 0; i + 1 < n; i++) {
    if (strcmp(sorted[i].name, sorted[i + 1].name) != 0) continue;
    if (!*found || sorted[i + 1].pos < *second) {
      *first = sorted[i].pos;
      *second = sorted[i + 1].pos;
      *found = true;
    }
  }
  free(sorted);
  return DLCC_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Checks against the project. The header rows are the file's first lines: scorer on line 1, then
 * individuals (maDLC) and bodyparts (header cells cannot hold line breaks, see labels_read.c). */

static bool name_listed(const char *name, char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (list[i] && strcmp(list[i], name) == 0) return true;
  return false;
}

/* Names to report, each once, in the order first met. */
typedef struct name_list {
  char **names;
  size_t n;
  bool failed;
} name_list;

static void name_list_add(name_list *list, const char *name) {
  if (list->failed || name_listed(name, list->names, list->n)) return;
  char **bigger = realloc(list->names, (list->n + 1) * sizeof *bigger);
  char *copy = strdup(name);
  if (bigger) list->names = bigger;
  if (!bigger || !copy) {
    free(copy);
    list->failed = true;
    return;
  }
  list->names[list->n++] = copy;
}

/* "'a', 'b'" (caller frees), or NULL when the list is empty or an allocation failed. */
static char *name_list_join(name_list *list) {
  dlcc_strbuf sb = {0};
  for (size_t i = 0; i < list->n; i++) dlcc_strbuf_printf(&sb, "%s'%s'", i ? ", " : "", list->names[i]);
  dlcc_labels_free_strings(list->names, list->n);
  *list = (name_list){0};
  if (sb.failed) dlcc_strbuf_free(&sb);
  return sb.data;
}

typedef struct project_names {
  bool multianimal;
  char *const *bodyparts;
  size_t n_bodyparts;
  char *const *individuals;
  size_t n_individuals;
  char *const *unique;
  size_t n_unique;
} project_names;

static bool table_has_column(const dlcc_label_table *t, const char *individual, const char *bodypart) {
  for (size_t c = 0; c < t->n_columns; c++)
    if (strcmp(t->columns[c].bodypart, bodypart) == 0 && same_individual(t->columns[c].individual, individual))
      return true;
  return false;
}

static dlcc_status check_unknown_individuals(const dlcc_label_table *t, const char *path, const project_names *p,
                                             dlcc_error *err) {
  name_list unknown = {0};
  for (size_t c = 0; c < t->n_columns; c++) {
    const char *ind = t->columns[c].individual;
    if (strcmp(ind, "single") != 0 && !name_listed(ind, p->individuals, p->n_individuals))
      name_list_add(&unknown, ind);
  }
  if (unknown.failed) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory checking %s", path);
  char *names = name_list_join(&unknown);
  dlcc_status st = DLCC_OK;
  if (names)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s line 2: individual(s) %s in the CSV are not listed under individuals in config.yaml; add "
                   "them to config.yaml or remove their columns", path, names);
  free(names);
  return st;
}

static dlcc_status check_unknown_bodyparts(const dlcc_label_table *t, const char *path, const project_names *p,
                                          dlcc_error *err) {
  name_list unknown = {0}, unknown_unique = {0};
  for (size_t c = 0; c < t->n_columns; c++) {
    const char *bp = t->columns[c].bodypart;
    bool unique = p->multianimal && strcmp(t->columns[c].individual, "single") == 0;
    if (unique && !name_listed(bp, p->unique, p->n_unique)) name_list_add(&unknown_unique, bp);
    if (!unique && !name_listed(bp, p->bodyparts, p->n_bodyparts)) name_list_add(&unknown, bp);
  }
  bool failed = unknown.failed || unknown_unique.failed;
  char *names = name_list_join(&unknown), *unique_names = name_list_join(&unknown_unique);
  int line = p->multianimal ? 3 : 2;
  dlcc_status st = DLCC_OK;
  if (failed)
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory checking %s", path);
  else if (names)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s line %d: body part(s) %s in the CSV are not listed under %s in config.yaml; add them "
                   "there or remove their columns", path, line, names,
                   p->multianimal ? "multianimalbodyparts" : "bodyparts");
  else if (unique_names)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s line %d: body part(s) %s of individual 'single' in the CSV are not listed under "
                   "uniquebodyparts in config.yaml; add them there or remove their columns",
                   path, line, unique_names);
  free(names);
  free(unique_names);
  return st;
}

/* Adds the project's body parts of `individual` (NULL: single animal) that have no column in t. */
static void list_missing(const dlcc_label_table *t, const char *individual, char *const *bodyparts, size_t n,
                         name_list *missing) {
  for (size_t i = 0; i < n; i++) {
    if (table_has_column(t, individual, bodyparts[i])) continue;
    char *described = individual ? dlcc_strdupf("%s' of individual '%s", bodyparts[i], individual)
                                 : strdup(bodyparts[i]);
    if (described) name_list_add(missing, described);
    else missing->failed = true;
    free(described);
  }
}

static dlcc_status check_missing_bodyparts(const dlcc_label_table *t, const char *path, const project_names *p,
                                          dlcc_error *err) {
  name_list missing = {0};
  if (!p->multianimal) list_missing(t, NULL, p->bodyparts, p->n_bodyparts, &missing);
  for (size_t i = 0; p->multianimal && i < p->n_individuals; i++)
    list_missing(t, p->individuals[i], p->bodyparts, p->n_bodyparts, &missing);
  if (p->multianimal) list_missing(t, "single", p->unique, p->n_unique, &missing);
  bool failed = missing.failed;
  char *names = name_list_join(&missing);
  dlcc_status st = DLCC_OK;
  if (failed)
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory checking %s", path);
  else if (names)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s line %d: body part(s) %s listed in config.yaml have no columns in the CSV; add their "
                   "columns (cells may stay empty) or remove them from config.yaml",
                   path, p->multianimal ? 3 : 2, names);
  free(names);
  return st;
}

dlcc_status dlcc_labels_check_project(const dlcc_label_table *t, const char *path, const char *scorer,
                                      bool multianimal, char *const *bodyparts, size_t n_bodyparts,
                                      char *const *individuals, size_t n_individuals,
                                      char *const *uniquebodyparts, size_t n_unique, dlcc_error *err) {
  if (scorer && strcmp(t->scorer, scorer) != 0)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s line 1: the CSV's scorer is '%s' but config.yaml's scorer is '%s'; make them the same "
                     "(edit the scorer row of the CSV, or `scorer:` in config.yaml)",
                     path, t->scorer, scorer);
  if (t->multianimal != multianimal)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s line 2: the CSV is a %s table (%s) but config.yaml describes a %s project "
                     "(multianimalproject: %s); label the project's own way or fix multianimalproject",
                     path, t->multianimal ? "multi-animal" : "single-animal",
                     t->multianimal ? "it has an individuals row" : "it has no individuals row",
                     multianimal ? "multi-animal" : "single-animal", multianimal ? "true" : "false");
  project_names p = {multianimal, bodyparts, n_bodyparts, individuals, n_individuals, uniquebodyparts, n_unique};
  dlcc_status st = multianimal ? check_unknown_individuals(t, path, &p, err) : DLCC_OK;
  if (!st) st = check_unknown_bodyparts(t, path, &p, err);
  if (!st) st = check_missing_bodyparts(t, path, &p, err);
  return st;
}

/* ------------------------------------------------------------------------------------------------
 * Creating a table. */

static dlcc_status create_columns(dlcc_label_table *t, bool multianimal, char *const *individuals,
                                  char *const *bodyparts, size_t n_columns) {
  t->columns = calloc(n_columns ? n_columns : 1, sizeof *t->columns);
  if (!t->columns) return DLCC_ERR_NOMEM;
  t->n_columns = n_columns;
  for (size_t c = 0; c < n_columns; c++) {
    t->columns[c].bodypart = strdup(bodyparts[c]);
    t->columns[c].individual = multianimal ? strdup(individuals[c]) : NULL;
    if (!t->columns[c].bodypart || (multianimal && !t->columns[c].individual)) return DLCC_ERR_NOMEM;
  }
  return DLCC_OK;
}

static dlcc_status create_rows(dlcc_label_table *t, char *const *row_names, size_t n_rows) {
  t->row_names = calloc(n_rows ? n_rows : 1, sizeof *t->row_names);
  size_t n_values = n_rows * t->n_columns * t->n_coords;
  t->values = malloc((n_values ? n_values : 1) * sizeof *t->values);
  if (!t->row_names || !t->values) return DLCC_ERR_NOMEM;
  t->n_rows = n_rows;
  for (size_t i = 0; i < n_values; i++) t->values[i] = NAN;
  for (size_t r = 0; r < n_rows; r++) {
    t->row_names[r] = strdup(row_names[r]);
    if (!t->row_names[r]) return DLCC_ERR_NOMEM;
  }
  return DLCC_OK;
}

dlcc_status dlcc_labels_create(dlcc_label_table *t, const char *scorer, bool multianimal, size_t n_coords,
                               char *const *individuals, char *const *bodyparts, size_t n_columns,
                               char *const *row_names, size_t n_rows, dlcc_error *err) {
  memset(t, 0, sizeof *t);
  if (n_coords != 2 && n_coords != 3)
    return dlcc_fail(err, DLCC_ERR_INVALID, "a label table has 2 (x, y) or 3 (x, y, likelihood) coordinates, "
                     "not %zu", n_coords);
  if (multianimal && !individuals)
    return dlcc_fail(err, DLCC_ERR_INVALID, "a multi-animal label table needs an individual for each column");
  size_t a, b;
  bool duplicate;
  if (dlcc_labels_find_duplicate_row(row_names, n_rows, &a, &b, &duplicate))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating a label table");
  if (duplicate)
    return dlcc_fail(err, DLCC_ERR_INVALID, "the image '%s' is listed twice (rows %zu and %zu)", row_names[a], a, b);
  t->multianimal = multianimal;
  t->index_columns = 1;
  t->n_coords = n_coords;
  t->scorer = strdup(scorer);
  dlcc_status st = t->scorer ? create_columns(t, multianimal, individuals, bodyparts, n_columns) : DLCC_ERR_NOMEM;
  if (!st) st = create_rows(t, row_names, n_rows);
  if (st) {
    dlcc_labels_free(t);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating a label table");
  }
  return DLCC_OK;
}
