/* `dlcc evaluate-tracks CSV GROUND_TRUTH_CSV [--threshold PX]`. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/verbs.h"
#include "eval/tracks.h"
#include "project/labels.h"

static const char *const VERB = "evaluate-tracks";

static void print_help(void) {
  printf(
      "usage: dlcc evaluate-tracks CSV GROUND_TRUTH_CSV [--threshold PX]\n\n"
      "Compares the analysis of a video (<video><scorer>.csv from dlcc analyze-videos) with a ground truth of\n"
      "every frame of the same video (make-demo-project writes ground-truth/<video>_all_frames.csv), frame i\n"
      "with frame i. Prints per body part and overall the mean distance in pixels between prediction and\n"
      "ground truth, the share of visible ground-truth keypoints predicted within the threshold, and the\n"
      "number of frames compared. Both tables must have the same body parts and the same number of frames.\n"
      "Multi-animal tables (the _el.csv of a multi-animal analysis): in each frame the tracks are matched to\n"
      "the ground truth's individuals (least mean distance), the errors follow that matching, and the\n"
      "identity switches are counted (an individual matched to another track than in its last matched frame).\n\n"
      "  --threshold PX   the distance that counts as found (default 5 pixels)\n");
}

static bool parse_threshold(const char *text, double *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || *end || !(v > 0) || !isfinite(v)) {
    fprintf(stderr, "dlcc %s: --threshold wants a positive number of pixels, not \"%s\"\n", VERB, text);
    return false;
  }
  *out = v;
  return true;
}

int cli_evaluate_tracks(int argc, char **argv) {
  static const struct option options[] = {
      {"threshold", required_argument, 0, 'r'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  double threshold = 5.0;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    switch (c) {
      case 'r':
        if (!parse_threshold(optarg, &threshold)) return CLI_USAGE;
        break;
      case 'h': print_help(); return CLI_OK;
      default: return cli_option_error(VERB, c, argv);
    }
  }
  if (argc - optind != 2) return cli_usage_error(VERB, "give the analysis CSV and the ground-truth CSV");
  const char *pred_path = argv[optind], *truth_path = argv[optind + 1];
  dlcc_label_table pred = {0}, truth = {0};
  dlcc_track_errors errors;
  dlcc_ma_track_errors ma_errors;
  dlcc_error err;
  dlcc_status st = dlcc_labels_read(pred_path, &pred, &err);
  if (!st) st = dlcc_labels_read(truth_path, &truth, &err);
  bool multi = pred.multianimal;
  if (!st && multi) st = dlcc_tracks_compare_multi(&pred, pred_path, &truth, truth_path, threshold, &ma_errors, &err);
  else if (!st) st = dlcc_tracks_compare(&pred, pred_path, &truth, truth_path, threshold, &errors, &err);
  dlcc_labels_free(&pred);
  dlcc_labels_free(&truth);
  if (st) return cli_report_error(VERB, &err);
  char *table = multi ? dlcc_tracks_format_multi(&ma_errors) : dlcc_tracks_format_table(&errors);
  if (multi) dlcc_ma_track_errors_free(&ma_errors);
  else dlcc_track_errors_free(&errors);
  if (!table) {
    fprintf(stderr, "dlcc %s: out of memory\n", VERB);
    return CLI_FAILED;
  }
  printf("%s vs %s\n%s", pred_path, truth_path, table);
  free(table);
  return CLI_OK;
}
