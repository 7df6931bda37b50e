/* The files a video analysis leaves next to the video: <video stem><scorer>.csv in DeepLabCut's format
 * (scorer/bodyparts/coords header, x, y, likelihood per body part, frame number as index) and
 * <video stem><scorer>_meta.json (DeepLabCut writes _meta.pickle with the same facts). Frames are
 * streamed to a temp file as they are predicted; the CSV appears, complete, only at the end. An
 * analysis that stops part-way keeps its frames in <video stem><scorer>.partial.csv instead. */
#ifndef DLCC_INFER_ANALYSIS_OUTPUT_H
#define DLCC_INFER_ANALYSIS_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef enum dlcc_analysis_file {
  DLCC_ANALYSIS_CSV,           /* <stem><scorer>.csv */
  DLCC_ANALYSIS_META,          /* <stem><scorer>_meta.json */
  DLCC_ANALYSIS_PARTIAL_CSV,   /* <stem><scorer>.partial.csv */
  DLCC_ANALYSIS_PARTIAL_META   /* <stem><scorer>.partial_meta.json */
} dlcc_analysis_file;

/* Path of one of an analysis's files: in dest_folder, or next to the video when dest_folder is NULL
 * (DeepLabCut's destfolder). The stem is the video's file name without its last extension. Caller
 * frees; NULL when out of memory. */
char *dlcc_analysis_path(const char *video_path, const char *dest_folder, const char *scorer,
                         dlcc_analysis_file which);

/* What the metadata records about a run; strings are copied at open. */
typedef struct dlcc_analysis_info {
  const char *video_path;
  const char *dest_folder;     /* NULL: next to the video */
  const char *scorer;          /* DLC_<net>_<Task><date>shuffle<k>_<iterations> */
  char *const *bodyparts;      /* the network's joints, in its order: the CSV's columns */
  size_t n_bodyparts;
  double fps;                  /* the stream's average frame rate */
  int width, height;           /* decoded frame size, before cropping */
  long frames_in_container;    /* the container's claim (-1 unknown); recorded, never used to count */
  bool cropping;               /* config.yaml cropping; then crop is x1, x2, y1, y2 */
  int crop[4];
  const char *snapshot;        /* the snapshot's path */
  const char *net_type;        /* pose_cfg net_type */
  const char *precision;       /* the activations' data type, "f32" or "bf16" (a static string) */
  int iteration;               /* config.yaml iteration (active learning) */
  double train_fraction;
  int shuffle;
  int batch_size;
  double start_time;           /* Unix seconds when the analysis started; 0: when the writer opens */
} dlcc_analysis_info;

typedef struct dlcc_analysis_writer dlcc_analysis_writer;

/* Starts an analysis's output: checks info, creates dest_folder when missing, opens the CSV's temp
 * file next to its final path and writes the header. Nothing appears under a final name yet. */
dlcc_status dlcc_analysis_writer_open(dlcc_analysis_writer **w, const dlcc_analysis_info *info, dlcc_error *err);

/* Appends n_frames frames, numbered on from the frames already appended; pose is
 * [n_frames][n_bodyparts][3] = (x, y, likelihood), NaN written as an empty cell, as pandas does. */
dlcc_status dlcc_analysis_writer_append(dlcc_analysis_writer *w, const double *pose, size_t n_frames,
                                        dlcc_error *err);

/* Frames appended so far. */
long dlcc_analysis_writer_frames(const dlcc_analysis_writer *w);

/* Completes the analysis: the CSV and then its metadata (complete: true) go into place atomically,
 * and partial files left there by an earlier failed run of the same video and scorer are removed.
 * Frees w whatever happens; on failure the temp file is removed and no earlier output is touched. */
dlcc_status dlcc_analysis_writer_finish(dlcc_analysis_writer *w, dlcc_error *err);

/* Ends an analysis that stopped part-way (reason: the error that stopped it, e.g. the decoder's
 * message naming the last good frame): the frames appended so far go to the .partial.csv and the
 * .partial_meta.json records complete: false, frames_analysed, last_good_frame and reason. A complete
 * CSV of an earlier run stays as it was. With no frame appended nothing is written. Frees w. */
dlcc_status dlcc_analysis_writer_finish_partial(dlcc_analysis_writer *w, const char *reason, dlcc_error *err);

/* Abandons the output (temp file removed, nothing written) and frees w; NULL is allowed. */
void dlcc_analysis_writer_abort(dlcc_analysis_writer *w);

#endif
