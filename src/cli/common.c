/* Helpers shared by the verbs: strict number parsing and the printing of errors and notes. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verbs.h"
#include "track/tracklets_file.h"

bool cli_parse_int(const char *verb, const char *option, const char *text, long min, long max, long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || end == text || *end != '\0' || v < min || v > max) {
    fprintf(stderr, "dlcc %s: --%s wants a whole number from %ld to %ld, not \"%s\"\n", verb, option, min, max,
            text);
    return false;
  }
  *out = v;
  return true;
}

bool cli_parse_u64(const char *verb, const char *option, const char *text, uint64_t *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text || *end != '\0' || text[0] == '-') {
    fprintf(stderr, "dlcc %s: --%s wants a non-negative whole number, not \"%s\"\n", verb, option, text);
    return false;
  }
  *out = (uint64_t)v;
  return true;
}

bool cli_parse_precision(const char *verb, const char *text, dlcc_nn_precision *out) {
  dlcc_error err;
  if (!dlcc_nn_precision_parse(text, out, &err)) return true;
  fprintf(stderr, "dlcc %s: --precision: %s\n", verb, err.message);
  return false;
}

int cli_parse_track_target(const char *verb, int c, const char *arg, dlcc_track_target *t, const char **track_method) {
  long v;
  dlcc_track_method m;
  dlcc_error err;
  switch (c) {
    case 'k':
      if (!cli_parse_int(verb, "shuffle", arg, 1, 100000, &v)) return -1;
      t->shuffle = (int)v;
      return 1;
    case 't':
      if (!cli_parse_int(verb, "trainingsetindex", arg, 0, 1000, &v)) return -1;
      t->trainingsetindex = (int)v;
      return 1;
    case 's':
      if (!cli_parse_int(verb, "snapshot", arg, 0, 1000000000000L, &v)) return -1;
      t->snapshot = v;
      return 1;
    case 'm':
      if (dlcc_track_method_parse(arg, &m, &err)) {
        fprintf(stderr, "dlcc %s: --track-method: %s\n", verb, err.message);
        return -1;
      }
      *track_method = arg;
      return 1;
    case 'd':
      t->dest_folder = arg;
      return 1;
    default: return 0;
  }
}

int cli_report_error(const char *verb, const dlcc_error *err) {
  fprintf(stderr, "dlcc %s: error: %s\n", verb, err->message);
  return CLI_FAILED;
}

void cli_print_notes(const dlcc_notes *notes) {
  for (size_t i = 0; i < notes->count; i++) fprintf(stderr, "note: %s\n", notes->lines[i]);
}

int cli_usage_error(const char *verb, const char *problem) {
  fprintf(stderr, "dlcc %s: %s\nTry 'dlcc %s --help'.\n", verb, problem, verb);
  return CLI_USAGE;
}

int cli_option_error(const char *verb, int getopt_result, char **argv) {
  char problem[300];
  const char *option = argv[optind - 1];
  if (getopt_result == ':') snprintf(problem, sizeof problem, "option %.200s needs a value", option);
  else snprintf(problem, sizeof problem, "unknown option %.200s", option);
  return cli_usage_error(verb, problem);
}

bool cli_parse_double(const char *verb, const char *option, const char *text, double min, double max, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || *end != '\0' || !(v >= min && v <= max)) {
    fprintf(stderr, "dlcc %s: --%s wants a number from %g to %g, not \"%s\"\n", verb, option, min, max, text);
    return false;
  }
  *out = v;
  return true;
}

bool cli_split_names(const char *verb, const char *option, const char *text, char ***names, size_t *n) {
  *names = NULL;
  *n = 0;
  size_t count = 1;
  for (const char *p = text; *p; p++) count += *p == ',';
  char **list = calloc(count, sizeof *list);
  if (!list) {
    fprintf(stderr, "dlcc %s: out of memory\n", verb);
    return false;
  }
  size_t k = 0;
  for (const char *p = text;; p++) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == 0 || !(list[k] = strndup(p, len))) {
      if (len == 0) fprintf(stderr, "dlcc %s: --%s wants names separated by commas, not \"%s\"\n", verb, option, text);
      else fprintf(stderr, "dlcc %s: out of memory\n", verb);
      cli_free_names(list, k);
      return false;
    }
    k++;
    if (!comma) break;
    p = comma;
  }
  *names = list;
  *n = k;
  return true;
}

void cli_free_names(char **names, size_t n) {
  if (!names) return;
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}
