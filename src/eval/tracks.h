/* `dlcc evaluate-tracks`: an analysis CSV (x, y, likelihood per body part and frame) against a
 * ground-truth table of the same video (x, y of every visible part on every frame, as
 * make-demo-project writes ground-truth/<video>_all_frames.csv): per body part and overall the mean
 * distance in pixels and the share of visible ground-truth keypoints predicted within a threshold.
 * Frames are matched by position. Each ground-truth column is compared with the prediction column
 * that a per-frame matching names: by body part for single-animal tables; for multi-animal tables
 * (dlcc_tracks_compare_multi) by an optimal matching of tracks to ground-truth individuals in each
 * frame, which also yields identity switches. */
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

/* Multi-animal: a tracked analysis (individuals are tracks, any names, any number) against a
 * ground truth of named individuals. */
typedef struct dlcc_ma_track_errors {
  dlcc_track_errors keypoints;  /* per body part and overall, each keypoint against its matched track */
  size_t n_individuals;         /* the ground truth's individuals ("single" left out), first-column order */
  char **individuals;
  size_t n_tracks;              /* the prediction's individuals ("single" left out) */
  char **tracks;
  long *track_of_individual;    /* n_frames x n_individuals: the track matched in each frame, -1 none */
  size_t *id_switches;          /* n_individuals: identity switches of each (dlcc_count_id_switches) */
  size_t total_id_switches;
  size_t n_matched;             /* (frame, individual) pairs with a matched track */
} dlcc_ma_track_errors;

/* Like dlcc_tracks_compare for two multi-animal tables (both must have the individuals row). In
 * each frame, the ground-truth individuals with at least one visible keypoint are matched to the
 * tracks with at least one predicted keypoint by DLCC_MATCH_DISTANCE (matching.h): an optimal
 * assignment minimising the summed mean distance over the body parts both have, so neither the
 * order nor the names of individual columns matter; individuals and tracks with no body part in
 * common stay unmatched, and there is no distance gate. Then each visible ground-truth keypoint
 * is compared with the same body part of its individual's track (counted as visible but not
 * compared when the individual is unmatched). Unique body parts (individual "single") are compared
 * with the prediction's "single" column of the same body part, without matching. Fails as
 * dlcc_tracks_compare does (body parts, frames, threshold), and when a table is single-animal.
 * On success free out with dlcc_ma_track_errors_free. */
dlcc_status dlcc_tracks_compare_multi(const dlcc_label_table *pred, const char *pred_path,
                                      const dlcc_label_table *truth, const char *truth_path, double threshold,
                                      dlcc_ma_track_errors *out, dlcc_error *err);

/* Identity switches in the MOT ("CLEAR MOT") sense, from a per-frame matching
 * (track_of_individual: n_frames x n_individuals, -1 = unmatched in that frame). For each
 * individual, a switch is counted in frame t when it is matched to track h in t and, in the most
 * recent earlier frame in which it was matched at all, it was matched to a track other than h.
 * Frames where it is unmatched (not visible, or no track left) neither count nor reset that memory:
 * A A - B counts one switch, A - A none, A B A two. Switches are counted per ground-truth
 * individual, as in MOT: two individuals exchanging their tracks make two switches, and an
 * individual's first match is never one. per_individual (n_individuals entries, may be NULL)
 * gets each individual's count; returns the total. */
size_t dlcc_count_id_switches(const long *track_of_individual, size_t n_frames, size_t n_individuals,
                              size_t *per_individual);

/* dlcc_tracks_format_table's table, then the identity switches ("identity switches: 3 (female 1,
 * male 2) in 2990 matched individual-frames") and the number of tracks. Caller frees; NULL when
 * out of memory. */
char *dlcc_tracks_format_multi(const dlcc_ma_track_errors *e);

void dlcc_ma_track_errors_free(dlcc_ma_track_errors *e);

#endif
