/* `dlcc analyze-videos` for one video: every decoded frame (cut to config.yaml's crop box when cropping
 * is on, coordinates then relative to the box as DeepLabCut writes them) predicted in batches by a
 * trained single-animal network and streamed into <video><scorer>.csv with its metadata; a video that
 * cannot be decoded to the end leaves its analysed frames in the partial file. */
#ifndef DLCC_INFER_ANALYZE_VIDEO_H
#define DLCC_INFER_ANALYZE_VIDEO_H

#include "infer/model.h"
#include "nn/engine.h"
#include "project/config.h"
#include "util/error.h"
#include "util/notes.h"
#include "video/video.h"

/* Opens the shuffle for analysis and loads its snapshot: --snapshot's iteration, else config.yaml's
 * snapshotindex (all: the last, with a note). Close m with dlcc_model_close, also after a failure. */
dlcc_status dlcc_analysis_model_open(dlcc_model *m, const dlcc_project_config *cfg, const dlcc_model_options *opt,
                                     dlcc_notes *notes, dlcc_error *err);

typedef struct dlcc_analyze_options {
  const char *dest_folder;      /* NULL: next to the video (DeepLabCut's destfolder) */
  int batch_size;               /* frames per forward pass, >= 1 (config.yaml's batch_size by default) */
  dlcc_progress_fn progress;    /* after each batch with frames done and the container's frame count (an
                                   estimate, -1 when unknown); may be NULL */
  void *user;
} dlcc_analyze_options;

typedef struct dlcc_analyze_result {
  dlcc_video_info video;
  long frames;                  /* frames decoded and analysed */
  double seconds;               /* wall time of decoding and predicting */
  char *csv_path;               /* the CSV written: complete, or the .partial.csv after a failure (NULL
                                   when nothing was written) */
  char *meta_path;
  /* multi-animal: the per-frame individuals (<stem><scorer>_assemblies.json), what was found */
  char *assemblies_path;
  long detections;              /* candidate parts (peaks) over all frames */
  long animals;                 /* assembled individuals over all frames */
  long frames_with_animals;
} dlcc_analyze_result;

/* Analyses video_path with the loaded snapshot of m. Single animal: the poses go to the analysis CSV.
 * Multi-animal: each frame's individuals are assembled (predict_multi.h, with the shuffle's
 * test/inference_cfg.yaml) and streamed to <stem><scorer>_assemblies.json, and the metadata records
 * per frame the candidate parts and individuals; a video in which no individual was assembled at all
 * is an error saying what was detected. A video that stops decoding part-way fails with
 * the reader's message (the file and the last good frame) plus where the analysed frames were kept;
 * so does any later failure once frames were written. res is filled either way; free it with
 * dlcc_analyze_result_free. */
dlcc_status dlcc_analyze_video(dlcc_model *m, dlcc_nn_engine *e, const dlcc_project_config *cfg, const char *video_path,
                               const dlcc_analyze_options *opt, dlcc_analyze_result *res, dlcc_error *err);

void dlcc_analyze_result_free(dlcc_analyze_result *res);

/* Multi-animal: adds the tracking step's counts (tracklets, tracks found of tracks) and the tracks'
 * CSV to the analysis metadata (<stem><scorer>_meta.json), rewriting it atomically. */
dlcc_status dlcc_analysis_meta_add_tracking(const char *meta_path, size_t tracklets, int tracks_found, int tracks,
                                            const char *tracks_csv, dlcc_error *err);

#endif
