/* A trained shuffle ready to predict: the model folder of (config.yaml, TrainingFraction, shuffle), its
 * snapshot-<iteration>.safetensors files, the network built from test/pose_cfg.yaml (the file
 * DeepLabCut's evaluate_network and analyze_videos read) with one snapshot's weights, and the
 * single-animal prediction of a batch of images that `dlcc evaluate` and `dlcc analyze-videos` share. */
#ifndef DLCC_INFER_MODEL_H
#define DLCC_INFER_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "image/image.h"
#include "infer/predict_single.h"
#include "nn/engine.h"
#include "nn/network.h"
#include "project/config.h"
#include "project/posecfg.h"
#include "util/error.h"
#include "util/notes.h"

/* Progress of a long run (frames or images done out of total; total -1 when unknown), called by the
 * library so that the command line can draw it; elapsed in seconds since the run started. */
typedef void (*dlcc_progress_fn)(void *user, long done, long total, double elapsed);

/* One snapshot file of the train folder. */
typedef struct dlcc_snapshot_file {
  long iteration;  /* the N of snapshot-N.safetensors */
  char *path;      /* absolute */
} dlcc_snapshot_file;

/* snapshot_iteration: choose config.yaml's snapshotindex. */
#define DLCC_MODEL_SNAPSHOT_FROM_CONFIG (-1L)

typedef struct dlcc_model_options {
  int shuffle;               /* >= 1 */
  int trainingsetindex;      /* index into config.yaml's TrainingFraction, >= 0 */
  /* Which snapshot: DLCC_MODEL_SNAPSHOT_FROM_CONFIG follows config.yaml's snapshotindex (-1 the last,
   * k the k-th from 0 in order of iteration, all every one); a number >= 0 is an iteration: the
   * snapshot-<that number> file (the name the user sees, and the number in the scorer name). */
  long snapshot_iteration;
  /* snapshotindex: all selects every snapshot when true (evaluate); otherwise the last one is used
   * and a note says so, as DeepLabCut's analyze_videos does. */
  bool allow_all;
  dlcc_nn_precision precision; /* of the network's activations (0: f32) */
} dlcc_model_options;

typedef struct dlcc_model {
  double training_fraction;
  int shuffle;
  char *model_dir;              /* absolute dlc-models/iteration-<i>/<Task><date>-trainset<pct>shuffle<k> */
  char *pose_cfg_path;          /* <model_dir>/test/pose_cfg.yaml */
  dlcc_pose_cfg pose_cfg;
  size_t n_snapshots;           /* every snapshot in <model_dir>/train, by increasing iteration */
  dlcc_snapshot_file *snapshots;
  size_t n_selected;            /* the ones the options chose (indices into snapshots), in order */
  size_t *selected;
  dlcc_nn_network *net;
  long loaded;                  /* index into snapshots of the weights in net; -1 before loading */
  dlcc_predict_params predict;
  /* prediction buffers, grown as needed */
  float *input, *part, *locref, *paf;
  size_t input_cap, part_cap, locref_cap, paf_cap;
} dlcc_model;

/* Opens the shuffle of cfg chosen by opt: finds its model folder, reads test/pose_cfg.yaml, lists and
 * selects the snapshots and builds the network (weights not loaded yet). Fails with what to run when
 * the shuffle has no model folder or no snapshot ("train first: dlcc train ..."), naming the
 * TensorFlow checkpoints dlcc cannot read when only those are there, and listing the iterations
 * present when the requested one (or snapshotindex) is not. Notes get the snapshotindex: all
 * fallback. Free with dlcc_model_close (also after a failure). */
dlcc_status dlcc_model_open(dlcc_model *m, const dlcc_project_config *cfg, const dlcc_model_options *opt,
                            dlcc_notes *notes, dlcc_error *err);

/* Lists the snapshot-<N>.safetensors files of folder train_dir sorted by N (an empty list when there
 * is none). *tf_checkpoints (may be NULL) counts DeepLabCut's TensorFlow snapshot-<N>.index files.
 * Free with dlcc_snapshot_files_free. */
dlcc_status dlcc_model_list_snapshots(const char *train_dir, dlcc_snapshot_file **files, size_t *n,
                                      size_t *tf_checkpoints, dlcc_error *err);
void dlcc_snapshot_files_free(dlcc_snapshot_file *files, size_t n);

/* Loads the weights of snapshots[index] into the network (weights only). */
dlcc_status dlcc_model_load(dlcc_model *m, size_t index, dlcc_error *err);

/* The iteration of the loaded snapshot (-1 before loading). */
long dlcc_model_iteration(const dlcc_model *m);

/* The scorer name of the loaded snapshot, DLC_<net>_<Task><date>shuffle<k>_<iteration> as
 * DeepLabCut's get_scorer_name builds it (dlcrnetms5 for a multi_stage ResNet). Caller frees. */
char *dlcc_model_scorer(const dlcc_model *m, const dlcc_project_config *cfg);

/* A window of an image: x, y of its top-left pixel and its size. */
typedef struct dlcc_crop_box {
  int x, y, width, height;
} dlcc_crop_box;

/* Predicts the pose of n images of one size (each cut to crop when crop is given, the whole image
 * otherwise) in one batch at native size: forward in inference mode, then arg-max + location
 * refinement. pose receives [n][num_joints][3] = (x, y, likelihood) in the coordinates of the
 * (cropped) input. Fails on images of different sizes, a crop outside the image, a NaN output. */
dlcc_status dlcc_model_predict(dlcc_model *m, dlcc_nn_engine *e, const dlcc_image *images, int n,
                               const dlcc_crop_box *crop, double *pose, dlcc_error *err);

/* The network's maps for n images of one size (crop as above), for multi-animal prediction: m->part
 * receives part_pred's logits [n][channels][H][W] (dims in part_dims), m->locref [n][2 num_joints][H][W]
 * with location refinement, m->paf [n][2 num_limbs][H][W] when the network has the pairwise head
 * (else NULL). Valid until the next prediction. */
dlcc_status dlcc_model_predict_maps(dlcc_model *m, dlcc_nn_engine *e, const dlcc_image *images, int n,
                                    const dlcc_crop_box *crop, int64_t part_dims[4], dlcc_error *err);

void dlcc_model_close(dlcc_model *m);

#endif
