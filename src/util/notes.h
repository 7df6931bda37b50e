/* Notes for the user collected by library code (warnings that do not stop the work, such as
 * "3 images listed in CollectedData are missing"); the command line prints them. */
#ifndef DLCC_UTIL_NOTES_H
#define DLCC_UTIL_NOTES_H

#include <stddef.h>

typedef struct dlcc_notes {
  size_t count;
  char **lines;   /* owned */
} dlcc_notes;

/* Appends a printf-style note (silently dropped when memory runs out: a note is never essential). */
void dlcc_notes_add(dlcc_notes *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dlcc_notes_free(dlcc_notes *notes);

#endif
