/* Stitching tracklets into one track per animal as DeepLabCut's TrackletStitcher does
 * (deeplabcut/refine_training_dataset/stitch.py, run by stitch_tracklets): tracklets are cleaned and
 * split at gaps, short ones set aside as residuals, the rest chained into n_tracks tracks by a
 * minimum-cost flow over time-ordered links weighted by centroid distance, and the residuals put
 * back where they fit. */
#ifndef DLCC_TRACK_STITCH_H
#define DLCC_TRACK_STITCH_H

#include <stdbool.h>

#include "track/trackers.h"
#include "util/error.h"

typedef struct dlcc_stitch_params {
  int n_tracks;             /* tracks to build: the number of individuals, >= 1 */
  int min_length;           /* min_length (10, >= 3): shorter pieces are residuals */
  bool split_tracklets;     /* split_tracklets (true): cut tracklets where frames are not consecutive */
  bool prestitch_residuals; /* prestitch_residuals (true): chain residuals less than 5 frames apart first */
  int max_gap;              /* max_gap (0: automatic): the largest gap a link may bridge, in frames */
} dlcc_stitch_params;

/* DeepLabCut's defaults for n_tracks individuals. */
void dlcc_stitch_params_default(dlcc_stitch_params *p, int n_tracks);

typedef struct dlcc_tracks {
  int n_tracks, n_frames, num_joints;
  double *poses;            /* n_tracks x n_frames x num_joints x 3 (x, y, likelihood), NaN where absent */
  int n_found;              /* tracks holding at least one frame: tracks 0..n_found-1 */
  /* What happened, for the user: */
  int n_tracklets;          /* pieces of at least min_length frames that entered the flow problem */
  int n_residuals;          /* shorter pieces (after prestitching) */
  int n_residuals_placed;   /* residuals added back to a track */
  int max_gap;              /* the max_gap used */
  bool used_fallback;       /* DeepLabCut's flow problem had no solution; see dlcc_stitch */
  int n_left_out;           /* tracklets that the fallback could not chain (then treated as residuals) */
} dlcc_tracks;

/* Stitches the tracklets of a video of n_frames frames (every tracklet frame must be below it) into
 * p->n_tracks tracks, as TrackletStitcher(tracklets, n_tracks, min_length, split_tracklets,
 * prestitch_residuals).build_graph(max_gap).stitch() then write_tracks do, for tracklets without
 * identity:
 *  - frames without a joint with finite x and y are dropped; tracklets are cut at gaps (split_tracklets); pieces
 *    shorter than min_length are residuals; an error when no piece is long enough ("Tracklets are
 *    empty");
 *  - residuals less than 5 frames apart are chained (prestitch: per connected group the path of the
 *    largest summed 1 - IoU of the boxes at the junctions);
 *  - the pieces, by start, are nodes of DeepLabCut's flow graph: n_tracks units from a source to a
 *    sink through the pieces, each piece entered once and left once, links i -> j when j starts 1 to
 *    max_gap frames after i ends (automatic max_gap: int(1.5 x the largest, over pieces, of the
 *    smallest positive gap to a later piece)), costing int(100 x the distance between the
 *    likelihood-weighted centroids of i's last and j's first frame); the minimum-cost flow gives the
 *    tracks, ordered by their first piece;
 *  - residuals are put back: repeatedly those that fit (no common frame) in exactly one track, longest
 *    first; then each remaining one, longest first, into the track with a hole around it whose
 *    centroids next to the hole are nearest; single-frame residuals are dropped.
 * When the flow problem has no solution (more overlapping pieces than tracks, or fewer pieces than
 * tracks), DeepLabCut prunes the graph and falls back on node-disjoint paths and ad-hoc merging; dlcc
 * instead picks at most n_tracks chains of time-ordered pieces (links across any gap) that cover the
 * most frames, then have the least link cost, and treats the pieces left out as residuals
 * (used_fallback, n_left_out). Tracks then hold fewer animals than n_tracks when fewer exist; the
 * missing tracks are all NaN, as DeepLabCut writes them.
 * Also unlike DeepLabCut 3.0.1: prestitching removes the residuals it joined (DeepLabCut pops them by
 * their position in the start-sorted list from the unsorted one, which can keep a joined residual
 * twice and lose another); the greedy placement uses the nearest track itself (DeepLabCut indexes the
 * tracks with the position in the list of tracks that fit); a joint without x and y does not count in
 * a centroid's likelihood sum; among solutions of equal cost the one chosen may differ. Identity
 * (a 4th column), re-identification weights and the unique body parts' "single" track are not handled
 * here. On success free out with dlcc_tracks_free. */
dlcc_status dlcc_stitch(const dlcc_tracklet_set *tracklets, int n_frames, const dlcc_stitch_params *p,
                        dlcc_tracks *out, dlcc_error *err);

void dlcc_tracks_free(dlcc_tracks *t);

/* The pose of track k at frame f (num_joints x 3). */
static inline const double *dlcc_tracks_pose(const dlcc_tracks *t, int k, int f) {
  return t->poses + ((size_t)k * (size_t)t->n_frames + (size_t)f) * (size_t)t->num_joints * 3;
}

#endif
