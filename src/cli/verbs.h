/* The verbs of the `dlcc` command, one file each, and the small helpers they share (number parsing,
 * printing errors and notes). Only the command line prints; the library reports through dlcc_error
 * and dlcc_notes. */
#ifndef DLCC_CLI_VERBS_H
#define DLCC_CLI_VERBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/tensor.h"
#include "track/track_video.h"
#include "util/error.h"
#include "util/notes.h"

typedef struct dlcc_verb {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
} dlcc_verb;

int cli_create_training_dataset(int argc, char **argv);
int cli_make_demo_project(int argc, char **argv);
int cli_check_project(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_evaluate(int argc, char **argv);
int cli_analyze_videos(int argc, char **argv);
int cli_evaluate_tracks(int argc, char **argv);
int cli_convert_detections2tracklets(int argc, char **argv);
int cli_stitch_tracklets(int argc, char **argv);

/* Exit codes: 0 done, 1 the work failed (message printed), 2 bad command line. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* Parses a whole decimal integer in [min, max]; prints "dlcc <verb>: --<option> ..." and returns false
 * when text is not one. */
bool cli_parse_int(const char *verb, const char *option, const char *text, long min, long max, long *out);
/* A number in [min, max] (printing the problem like cli_parse_int). */
bool cli_parse_double(const char *verb, const char *option, const char *text, double min, double max, double *out);
/* "a,b,c" into a new list of names (none empty); prints the problem and returns false otherwise. Free
 * with cli_free_names. */
bool cli_split_names(const char *verb, const char *option, const char *text, char ***names, size_t *n);
void cli_free_names(char **names, size_t n);
bool cli_parse_u64(const char *verb, const char *option, const char *text, uint64_t *out);
/* --precision auto|f32|bf16 */
bool cli_parse_precision(const char *verb, const char *text, dlcc_nn_precision *out);
/* What --precision says in --help. */
#define CLI_PRECISION_HELP \
  "  --precision P        f32 (default), bf16, or auto: bf16 where the CPU computes it natively\n" \
  "                       (AVX512-BF16 or AMX), else f32. bf16 is 1.5 to 3 times faster there but moves\n" \
  "                       keypoints by about a quarter pixel (a few by whole cells)\n"
/* The options convert-detections2tracklets and stitch-tracklets share, by their getopt letters: k
 * --shuffle, t --trainingsetindex, s --snapshot, m --track-method, d --destfolder. Returns 1 when c
 * was one of them (stored), 0 when it is another option, -1 after a bad value (message printed). */
int cli_parse_track_target(const char *verb, int c, const char *arg, dlcc_track_target *t, const char **track_method);
/* Prints "dlcc <verb>: error: <message>" to stderr and returns CLI_FAILED. */
int cli_report_error(const char *verb, const dlcc_error *err);
/* Prints each note as "note: ..." to stderr. */
void cli_print_notes(const dlcc_notes *notes);
/* For getopt_long's ':' (missing value) and '?' (unknown option) answers: names the option. */
int cli_option_error(const char *verb, int getopt_result, char **argv);
/* Prints "dlcc <verb>: <problem>\nTry 'dlcc <verb> --help'." and returns CLI_USAGE. */
int cli_usage_error(const char *verb, const char *problem);

#endif
