/* `dlcc evaluate-tracks`: an analysis CSV (x, y, likelihood per body part and frame) against a
 * ground-truth table of the same video (x, y of every visible part on every frame, as
 * make-demo-project writes ground-truth/<video>_all_frames.csv): per body part and overall the mean
 * distance in pixels and the share of visible ground-truth keypoints predicted within a threshold.
 * Frames are matched by position. Each ground-truth column is compared with the prediction column
 * that a per-frame matching names: by body part for single-animal tables; multi-animal tables will
 * match individuals per frame there. */
#ifndef DLCC_EVAL_TRACKS_H
#define DLCC_EVAL_TRACKS_H

#include <stddef.h>

#include "project/labels.h"
#include "util/error.h"

typedef struct dlcc_track_stats {
  size_t visible;      /* ground-truth keypoints with x and y */
  size_t compared;     /* of those, with a prediction (x and y) */
  size_t within;       /* of those, at most threshold pixels from the ground truth */
  double mean_error;   /* mean distance over `compared` (px); NaN when none */
  double pct_within;   /* 100 * within / visible; NaN when nothing is visible */
} dlcc_track_stats;

typedef struct dlcc_track_errors {
  double threshold;              /* px */
  size_t n_frames;               /* frames compared */
  size_t n_bodyparts;            /* the ground truth's body parts, in the order of their first column */
  char **bodyparts;
  dlcc_track_stats *per_bodypart;
  dlcc_track_stats overall;
} dlcc_track_errors;

/* Compares pred (read from pred_path) with truth (from truth_path). Fails, naming both files, when
 * the body parts differ (listing those missing on either side), when the frame counts differ, when
 * frame i of both is numbered and the numbers differ, and for multi-animal tables (not compared yet).
 * threshold > 0. On success free out with dlcc_track_errors_free. */
dlcc_status dlcc_tracks_compare(const dlcc_label_table *pred, const char *pred_path, const dlcc_label_table *truth,
                                const char *truth_path, double threshold, dlcc_track_errors *out, dlcc_error *err);

/* A text table: one line per body part and "all": mean error (px), % within the threshold, the
 * visible keypoints. "-" where nothing counts. Caller frees; NULL when out of memory. */
char *dlcc_tracks_format_table(const dlcc_track_errors *e);

void dlcc_track_errors_free(dlcc_track_errors *e);

#endif
