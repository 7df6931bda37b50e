/* The progress display of long verbs (see progress.h). */
#include "cli/progress.h"

#include <stdio.h>
#include <unistd.h>

/* Seconds between displays: often enough to look alive on a terminal, rarely enough for a log. */
#define TERMINAL_INTERVAL 0.2
#define LOG_INTERVAL 10.0
#define BAR_WIDTH 30

void cli_progress_init(cli_progress *p, const char *label, const char *unit) {
  *p = (cli_progress){.label = label, .unit = unit, .terminal = isatty(STDERR_FILENO) == 1, .last_shown = -1e9};
}

static void format_duration(double seconds, char *buf, size_t size) {
  long s = seconds < 0 ? 0 : (long)(seconds + 0.5);
  if (s >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

static void draw_bar(const cli_progress *p, long done, long total, double rate) {
  fprintf(stderr, "\r%s ", p->label);
  if (total > 0) {
    int filled = (int)((double)BAR_WIDTH * (double)done / (double)total);
    char left[32];
    format_duration(rate > 0 ? (double)(total - done) / rate : 0, left, sizeof left);
    fprintf(stderr, "[%.*s%*s] %ld/%ld %s  %.1f %s/s  %s left\033[K", filled,
            "##############################", BAR_WIDTH - filled, "", done, total, p->unit, rate, p->unit, left);
  } else {
    fprintf(stderr, "%ld %s  %.1f %s/s\033[K", done, p->unit, rate, p->unit);
  }
  fflush(stderr);
}

void cli_progress_update(void *user, long done, long total, double elapsed) {
  cli_progress *p = user;
  if (total < done) total = -1;
  bool finished = total > 0 && done == total;
  double interval = p->terminal ? TERMINAL_INTERVAL : LOG_INTERVAL;
  if (!finished && elapsed - p->last_shown < interval) return;
  p->last_shown = elapsed;
  double rate = elapsed > 0 ? (double)done / elapsed : 0;
  if (p->terminal) {
    draw_bar(p, done, total, rate);
    p->drawn = true;
  } else if (total > 0) {
    fprintf(stderr, "%s: %ld/%ld %s, %.1f %s/s\n", p->label, done, total, p->unit, rate, p->unit);
  } else {
    fprintf(stderr, "%s: %ld %s, %.1f %s/s\n", p->label, done, p->unit, rate, p->unit);
  }
}

void cli_progress_end(cli_progress *p) {
  if (p->drawn) fputc('\n', stderr);
  p->drawn = false;
}
