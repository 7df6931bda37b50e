/* A video's tracklets: the file <video stem><scorer>_el.json (ellipse tracker) or _bx.json (box)
 * that convert-detections2tracklets writes where DeepLabCut writes _el.pickle / _bx.pickle, and
 * stitch-tracklets reads.
 *
 *   {"format": "dlcc tracklets 1", "scorer": "DLC_...", "video": "/abs/clip.mp4",
 *    "individuals": [...], "bodyparts": [...multianimalbodyparts...], "uniquebodyparts": [...],
 *    "track_method": "ellipse", "frames": 1500,
 *    "tracker": {"max_age": 1, "min_hits": 1, "iou_threshold": 0.6, "boundingboxslack": 0,
 *                "ignore_bodyparts": []},
 *    "tracklets": [ {"id": 0, "frames": [0, 1, 2], "poses": [[[x, y, score] or null, ...], ...]}, ... ],
 *    "single": {"frames": [...], "poses": [...]}}          (only with unique body parts)
 *
 * A tracklet is what one tracker followed: its frames (increasing, below "frames") and the whole pose
 * of the animal there, one keypoint per bodyparts entry. "single" holds the unique body parts of every
 * frame that has one (DeepLabCut's "single" tracklet). "tracker" records the settings used; it is
 * informative and may be absent. Keys may come in any order; unknown keys are skipped. */
#ifndef DLCC_TRACK_TRACKLETS_FILE_H
#define DLCC_TRACK_TRACKLETS_FILE_H

#include <stdbool.h>

#include "track/assemblies_file.h"
#include "track/trackers.h"
#include "util/error.h"

#define DLCC_TRACKLETS_FORMAT "dlcc tracklets 1"

typedef struct dlcc_tracklets_file {
  dlcc_track_header header;
  dlcc_track_method method;
  long n_frames;                   /* frames analysed */
  bool has_params;
  dlcc_tracker_params params;      /* "tracker" (method, max_age, min_hits, iou_threshold, box_slack) */
  size_t n_ignored;
  char **ignore_bodyparts;         /* body parts the tracker's shapes left out */
  dlcc_tracklet_set tracklets;     /* num_joints = header.n_bodyparts */
  dlcc_tracklet_set single;        /* num_joints = header.n_unique; one tracklet (id 0) or none */
} dlcc_tracklets_file;

/* "ellipse" / "box", and the short name in file names: "el" / "bx". */
const char *dlcc_track_method_name(dlcc_track_method m);
const char *dlcc_track_method_suffix(dlcc_track_method m);
/* Parses "ellipse" or "box" (DeepLabCut's "skeleton" and "ctd" are refused with a message). */
dlcc_status dlcc_track_method_parse(const char *text, dlcc_track_method *m, dlcc_error *err);

/* <video stem><scorer>_<el|bx>.json in dest_folder, or next to the video (dest_folder NULL). Caller
 * frees; NULL when out of memory. */
char *dlcc_tracklets_path(const char *video_path, const char *dest_folder, const char *scorer, dlcc_track_method m);

/* Writes t to path atomically (creating its folder). Checks that every tracklet frame is below
 * n_frames and every pose has header.n_bodyparts keypoints. */
dlcc_status dlcc_tracklets_write(const dlcc_tracklets_file *t, const char *path, dlcc_error *err);

/* Reads path. Errors name the file, line and column and the entry: a format tag other than
 * DLCC_TRACKLETS_FORMAT, an unknown track_method, a tracklet whose frames do not increase or reach
 * "frames", whose poses and frames differ in number, a pose with the wrong number of keypoints, an
 * id used twice, a file cut short. On failure t is left zeroed. */
dlcc_status dlcc_tracklets_read(const char *path, dlcc_tracklets_file *t, dlcc_error *err);

void dlcc_tracklets_file_free(dlcc_tracklets_file *t);

#endif
