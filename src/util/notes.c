/* Notes for the user collected by library code; see notes.h. */
#include "util/notes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void dlcc_notes_add(dlcc_notes *notes, const char *fmt, ...) {
  if (!notes) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  char *line = malloc((size_t)n + 1);
  char **grown = realloc(notes->lines, (notes->count + 1) * sizeof *grown);
  if (!line || !grown) {
    free(line);
    if (grown) notes->lines = grown;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(line, (size_t)n + 1, fmt, ap);
  va_end(ap);
  notes->lines = grown;
  notes->lines[notes->count++] = line;
}

void dlcc_notes_free(dlcc_notes *notes) {
  for (size_t i = 0; i < notes->count; i++) free(notes->lines[i]);
  free(notes->lines);
  notes->lines = NULL;
  notes->count = 0;
}
