/* A progress display for long verbs (video analysis, evaluation): on a terminal a bar redrawn in place
 * with the count, the rate and the time left when the total is known; otherwise (a log, a pipe) a
 * plain line now and then, so that logs stay readable. Written to stderr; stdout keeps the results. */
#ifndef DLCC_CLI_PROGRESS_H
#define DLCC_CLI_PROGRESS_H

#include <stdbool.h>

typedef struct cli_progress {
  const char *label;     /* what is being processed, e.g. the video's file name */
  const char *unit;      /* "frames", "images" */
  bool terminal;         /* stderr is a terminal: redraw in place */
  bool drawn;            /* a bar is on the current line */
  double last_shown;     /* elapsed seconds at the last display */
} cli_progress;

void cli_progress_init(cli_progress *p, const char *label, const char *unit);

/* A dlcc_progress_fn: user is a cli_progress. total -1 (or below done) when unknown: an estimate
 * that turns out short is ignored rather than shown as more than 100%. */
void cli_progress_update(void *user, long done, long total, double elapsed);

/* Ends the bar's line on a terminal (call once the work stops, whatever the outcome). */
void cli_progress_end(cli_progress *p);

#endif
