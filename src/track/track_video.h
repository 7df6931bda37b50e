/* The two steps from a multi-animal video analysis to its tracks, as DeepLabCut's
 * convert_detections2tracklets and stitch_tracklets run them on one video: the assemblies file ->
 * trackers -> the tracklets file, then the tracklets file -> stitcher -> <video><scorer>_el.csv.
 * `dlcc convert-detections2tracklets` and `dlcc stitch-tracklets` call these; analyze-videos can
 * call both right after analysing a video (DeepLabCut's auto_track) with the scorer it used. */
#ifndef DLCC_TRACK_TRACK_VIDEO_H
#define DLCC_TRACK_TRACK_VIDEO_H

#include <stdbool.h>
#include <stddef.h>

#include "project/config.h"
#include "track/stitch.h"
#include "track/trackers.h"
#include "util/error.h"
#include "util/notes.h"

/* Which analysis of a video: the shuffle's files next to the video (or in dest_folder). */
typedef struct dlcc_track_target {
  int shuffle;               /* >= 1 */
  int trainingsetindex;      /* index into config.yaml's TrainingFraction */
  long snapshot;             /* the iteration in the scorer name when several analyses of the shuffle are
                                there; -1: config.yaml's snapshotindex among the shuffle's snapshots */
  const char *dest_folder;   /* NULL: next to the video (DeepLabCut's destfolder) */
  const char *scorer;        /* the analysis's scorer when known (analyze-videos); NULL: found by name */
} dlcc_track_target;

/* Finds the scorer of the shuffle's analysis of video from the files named
 * <video stem><scorer><suffix> in the folder, where scorer is DLC_<net>_<Task><date>shuffle<k>_<N>
 * for config.yaml's Task and date and the target's shuffle (any net and N). With one such file its
 * scorer; with several, the one of iteration target->snapshot, or else the one whose N is the
 * snapshot config.yaml's snapshotindex picks among the model's train/snapshot-*.safetensors; when
 * that cannot decide, an error listing them (choose with --snapshot). No file: an error naming the
 * pattern looked for (the caller adds what to run). Caller frees *scorer. */
dlcc_status dlcc_track_find_scorer(const dlcc_project_config *cfg, const char *video, const dlcc_track_target *t,
                                   const char *suffix, char **scorer, dlcc_error *err);

/* The track method to use: `requested` ("ellipse" or "box") when not NULL, else config.yaml's
 * default_track_method, else ellipse (with a note, as DeepLabCut warns). */
dlcc_status dlcc_track_method_from_config(const dlcc_project_config *cfg, const char *requested,
                                          dlcc_track_method *m, dlcc_notes *notes, dlcc_error *err);

/* ---- convert_detections2tracklets -------------------------------------------------------------- */

typedef struct dlcc_convert_options {
  dlcc_track_target target;
  const char *track_method;        /* "ellipse" / "box"; NULL: see dlcc_track_method_from_config */
  bool overwrite;                  /* false: an existing tracklets file is kept, as DeepLabCut does */
  char *const *ignore_bodyparts;   /* multi-animal body parts left out of the trackers' shapes */
  size_t n_ignore;
  /* Overrides of the model's test/inference_cfg.yaml; negative (NaN for the doubles): keep it. */
  int max_age, min_hits;
  double iou_threshold, boundingboxslack;
} dlcc_convert_options;

/* shuffle 1, trainingsetindex 0, snapshot -1, no overrides. */
void dlcc_convert_options_init(dlcc_convert_options *o);

typedef struct dlcc_convert_result {
  char *scorer;
  char *assemblies_path;
  char *tracklets_path;
  char *inference_cfg_path;        /* the inference_cfg.yaml read, NULL: DeepLabCut's defaults */
  dlcc_tracker_params params;      /* as used */
  bool kept_existing;              /* the tracklets file was there and overwrite was false: nothing done */
  long frames;                     /* frames analysed */
  long frames_with_animals;
  size_t detections;               /* animals over all frames */
  int most_animals;                /* in one frame */
  size_t n_tracklets;
  long single_frames;              /* frames with a unique body part; -1 without unique body parts */
} dlcc_convert_result;

void dlcc_convert_result_free(dlcc_convert_result *r);

/* Reads the video's <stem><scorer>_assemblies.json (scorer: target->scorer, or found), tracks every
 * frame's animals with the box or ellipse tracker (inference_cfg.yaml's max_age, min_hits,
 * iou_threshold, boundingboxslack; topktoretain 1: every frame's first animal goes to tracklet 0) and
 * writes <stem><scorer>_<el|bx>.json atomically, the unique body parts of each frame as its "single"
 * tracklet. As DeepLabCut: with one multi-animal body part the box tracker is used (boundingboxslack at
 * least 40), with a note. A missing assemblies file is an error saying to run analyze-videos first.
 * res is filled as far as it got; free it with dlcc_convert_result_free. */
dlcc_status dlcc_convert_detections2tracklets(const dlcc_project_config *cfg, const char *video,
                                              const dlcc_convert_options *o, dlcc_convert_result *res,
                                              dlcc_notes *notes, dlcc_error *err);

/* ---- stitch_tracklets -------------------------------------------------------------------------- */

typedef struct dlcc_stitch_options {
  dlcc_track_target target;
  const char *track_method;        /* which tracklets file: "ellipse" / "box"; NULL: from config.yaml */
  int n_tracks;                    /* 0: as many as animal names */
  char *const *animal_names;       /* NULL: config.yaml's individuals */
  size_t n_animal_names;
  int min_length;                  /* 10 */
  bool split_tracklets;            /* true */
  bool prestitch_residuals;        /* true */
  int max_gap;                     /* 0: automatic */
} dlcc_stitch_options;

void dlcc_stitch_options_init(dlcc_stitch_options *o);

typedef struct dlcc_stitch_result {
  char *scorer;
  char *tracklets_path;
  char *csv_path;                  /* <stem><scorer>_<el|bx>.csv */
  long frames;
  int n_tracks;
  char **track_names;              /* n_tracks: the individuals' names in the CSV */
  long *track_frames;              /* per track, frames with a pose */
  int n_found;                     /* tracks with at least one frame */
  long single_frames;              /* frames with a unique body part; -1 without unique body parts */
  dlcc_tracks summary;             /* the stitcher's counts (poses NULL) */
} dlcc_stitch_result;

void dlcc_stitch_result_free(dlcc_stitch_result *r);

/* Reads the video's tracklets file for the track method, stitches its tracklets into n_tracks tracks
 * (dlcc_stitch) and writes <stem><scorer>_<el|bx>.csv atomically in DeepLabCut's format: 4 header rows
 * (scorer, individuals, bodyparts, coords), x, y, likelihood per body part of each track, the tracks
 * named after the animal names in order (ind1, ind2... when there are fewer names than tracks, as
 * DeepLabCut does), the unique body parts under individual "single", one row per analysed frame
 * numbered from 0, empty cells where a track has no pose. Notes say when fewer tracks than n_tracks
 * hold an animal, and when the stitcher fell back (see dlcc_stitch). A missing tracklets file is an
 * error saying to run convert-detections2tracklets (and analyze-videos) first. */
dlcc_status dlcc_stitch_video_tracklets(const dlcc_project_config *cfg, const char *video,
                                        const dlcc_stitch_options *o, dlcc_stitch_result *res, dlcc_notes *notes,
                                        dlcc_error *err);

#endif
