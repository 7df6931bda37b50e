/* A multi-animal video analysis's assembled animals, per frame: the file
 * <video stem><scorer>_assemblies.json that dlcc writes where DeepLabCut writes _assemblies.pickle,
 * and that convert-detections2tracklets reads. The writer streams frame by frame as the analysis
 * goes (temp file, renamed into place at the end); the reader holds the frames in flat arrays.
 *
 *   {"format": "dlcc assemblies 1", "scorer": "DLC_...", "video": "/abs/clip.mp4",
 *    "individuals": [...], "bodyparts": [...multianimalbodyparts...], "uniquebodyparts": [...],
 *    "assemblies": [ [ {"affinity": 0.93, "keypoints": [[x, y, score], null, ...]}, ... ], [], ... ],
 *    "unique": [ [[x, y, score] or null, ...] or null, ... ],       (only with unique body parts)
 *    "frames": 1500}
 *
 * assemblies[f] lists the animals of frame f; each has one keypoint per bodyparts entry (null:
 * missing; a null score: NaN). The writer puts "frames" last (it is known only at the end); the
 * reader takes the keys in any order and skips keys it does not know. */
#ifndef DLCC_TRACK_ASSEMBLIES_FILE_H
#define DLCC_TRACK_ASSEMBLIES_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define DLCC_ASSEMBLIES_FORMAT "dlcc assemblies 1"

/* The names shared by a video's assemblies and tracklets files. */
typedef struct dlcc_track_header {
  char *scorer;                 /* DLC_<net>_<Task><date>shuffle<k>_<iteration> */
  char *video;                  /* the analysed video's path */
  size_t n_individuals;
  char **individuals;           /* config.yaml individuals */
  size_t n_bodyparts;
  char **bodyparts;             /* multianimalbodyparts: the keypoints of every animal, in order */
  size_t n_unique;
  char **uniquebodyparts;       /* may be empty */
} dlcc_track_header;

/* Deep copy (strings and arrays); on failure dst is left zeroed. */
dlcc_status dlcc_track_header_copy(dlcc_track_header *dst, const dlcc_track_header *src, dlcc_error *err);
void dlcc_track_header_free(dlcc_track_header *h);

/* A whole assemblies file in memory. */
typedef struct dlcc_assemblies {
  dlcc_track_header header;
  long n_frames;
  size_t *frame_start;   /* n_frames + 1: frame f's animals are frame_start[f] .. frame_start[f+1]-1 */
  size_t n_animals;      /* over all frames */
  double *affinity;      /* [n_animals] */
  double *keypoints;     /* [n_animals][n_bodyparts][3]: x, y, score; NaN where missing */
  double *unique;        /* [n_frames][n_unique][3], NaN where missing; NULL when n_unique is 0 */
} dlcc_assemblies;

static inline int dlcc_assemblies_count(const dlcc_assemblies *a, long frame) {
  return (int)(a->frame_start[frame + 1] - a->frame_start[frame]);
}
/* Frame f's animals: [count][n_bodyparts][3]. */
static inline const double *dlcc_assemblies_frame(const dlcc_assemblies *a, long frame) {
  return a->keypoints + a->frame_start[frame] * a->header.n_bodyparts * 3;
}

/* <video stem><scorer>_assemblies.json in dest_folder, or next to the video when dest_folder is NULL
 * (the folder where analyze-videos writes its CSV). Caller frees; NULL when out of memory. */
char *dlcc_assemblies_path(const char *video_path, const char *dest_folder, const char *scorer);

/* ---- Writing, frame by frame ------------------------------------------------------------------- */

typedef struct dlcc_assemblies_writer dlcc_assemblies_writer;

/* Opens "<path>.tmp-<pid>" and writes the header (strings are copied). Needs a scorer and at least
 * one body part; creates path's folder when missing. */
dlcc_status dlcc_assemblies_writer_open(dlcc_assemblies_writer **w, const char *path, const dlcc_track_header *h,
                                        dlcc_error *err);

/* Appends the next frame (frames are numbered from 0 in the order appended): n_animals animals,
 * keypoints [n_animals][n_bodyparts][3] (x, y, score; a keypoint whose x or y is not finite is
 * written as null), affinity [n_animals] (may be NULL when n_animals is 0), unique
 * [n_unique][3] or NULL (no unique body part found in this frame; ignored without unique parts).
 * A dlcc_assembly_result maps to it as (res.n_animals, res.animals, res.affinity,
 * res.has_unique ? res.unique : NULL). */
dlcc_status dlcc_assemblies_writer_append(dlcc_assemblies_writer *w, int n_animals, const double *keypoints,
                                          const double *affinity, const double *unique, dlcc_error *err);

long dlcc_assemblies_writer_frames(const dlcc_assemblies_writer *w);

/* Writes the unique parts and the frame count, fsyncs and renames the file into place. Frees w
 * whatever happens; on failure the temp file is removed and an earlier file is left as it was. */
dlcc_status dlcc_assemblies_writer_finish(dlcc_assemblies_writer *w, dlcc_error *err);

/* Removes the temp file and frees w (NULL allowed); nothing appears at the final path. */
void dlcc_assemblies_writer_abort(dlcc_assemblies_writer *w);

/* Writes a whole dlcc_assemblies through the writer. */
dlcc_status dlcc_assemblies_write(const dlcc_assemblies *a, const char *path, dlcc_error *err);

/* ---- Reading ----------------------------------------------------------------------------------- */

/* Reads path. Errors name the file, the line and column and the entry ("assemblies[12][0].keypoints
 * has 3 entries; bodyparts lists 4"): a format tag other than DLCC_ASSEMBLIES_FORMAT or none, a missing
 * scorer, bodyparts or frames, a frame count that is not the number of assemblies entries, a keypoint
 * that is not null or [x, y, score], a unique entry of the wrong size, a file cut short. On failure a
 * is left zeroed. */
dlcc_status dlcc_assemblies_read(const char *path, dlcc_assemblies *a, dlcc_error *err);

void dlcc_assemblies_free(dlcc_assemblies *a);

#endif
