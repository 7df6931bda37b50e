/* Shared by the label-table pieces (internal, not part of labels.h): the names of the header rows
 * and coordinates, and helpers that reading, creating and checking tables all use. */
#ifndef DLCC_PROJECT_LABELS_INTERNAL_H
#define DLCC_PROJECT_LABELS_INTERNAL_H

#include <string.h>

#include "project/labels.h"

/* The header rows, in the file's order; LEVEL_INDIVIDUALS only in multi-animal tables. */
enum { LEVEL_SCORER, LEVEL_INDIVIDUALS, LEVEL_BODYPARTS, LEVEL_COORDS, N_LEVELS };
extern const char *const dlcc_labels_level_names[N_LEVELS]; /* each row's first cell: "scorer", ... */
extern const char *const dlcc_labels_coord_names[3];        /* "x", "y", "likelihood" */

/* Individuals are NULL in single-animal tables. */
static inline bool same_individual(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Frees n strings and the array; s may be NULL. */
void dlcc_labels_free_strings(char **s, size_t n);

/* Sets *found when two row names are equal, with their positions (*first < *second) of the pair
 * whose second occurrence comes earliest. Fails (DLCC_ERR_NOMEM, err not filled) only for lack of
 * memory. */
dlcc_status dlcc_labels_find_duplicate_row(char *const *names, size_t n, size_t *first, size_t *second,
                                           bool *found);

#endif
