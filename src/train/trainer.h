/* `dlcc train`: trains a shuffle's network as DeepLabCut's TensorFlow engine does (core/train.py;
 * core/train_multianimal.py for maDLC shuffles: crops, identity channels, part affinity fields):
 * reads train/pose_cfg.yaml, builds and initialises the network, draws batches from the threaded
 * loader, and runs forward, losses, backward and an optimizer step at the multi_step rate for
 * iterations 0 to the schedule's last (or max_iters), with log lines every display_iters and
 * snapshots every save_iters and at the end. A run stopped by the caller's flag saves a snapshot;
 * --resume continues from the newest snapshot exactly as if it had never stopped. */
#ifndef DLCC_TRAIN_TRAINER_H
#define DLCC_TRAIN_TRAINER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/loss.h"
#include "nn/tensor.h"
#include "util/error.h"
#include "util/notes.h"

/* Data workers when the options leave it at 0: batches are cheap next to the network's step, and two
 * keep one ready while the other decodes a large image. */
enum { DLCC_TRAIN_DEFAULT_WORKERS = 2 };

typedef enum dlcc_train_event {
  DLCC_TRAIN_STARTED,     /* set up, about to train `iteration`; notes holds every note so far */
  DLCC_TRAIN_ITERATION,   /* `iteration` trained: losses are its own, images_per_s and eta_s running */
  DLCC_TRAIN_DISPLAY,     /* every display_iters: losses are means since the last one; log_line written */
  DLCC_TRAIN_SNAPSHOT     /* `snapshot` written after `iteration` */
} dlcc_train_event;

typedef struct dlcc_train_progress {
  dlcc_train_event event;
  long iteration;
  long first_iteration;       /* the first iteration this run trains (0, or the resumed snapshot's + 1) */
  long last_iteration;        /* the last it will train */
  dlcc_nn_losses losses;
  double lr;
  double images_per_s;
  double elapsed_s;           /* since the first iteration started */
  double eta_s;               /* time left, from the recent iterations' pace */
  const char *log_line;       /* DISPLAY: the message appended to log.txt (without the time stamp) */
  const char *snapshot;       /* SNAPSHOT: its path */
  const char *train_dir;      /* the shuffle's train folder (log.txt, snapshots) */
  const char *net_type;
  const char *precision;      /* "f32" or "bf16" */
  const dlcc_notes *notes;    /* STARTED: the notes gathered while setting up */
} dlcc_train_progress;

typedef void (*dlcc_train_progress_fn)(const dlcc_train_progress *progress, void *user);

/* Sizes of a reduced network, copied into the description built from pose_cfg (0: the net_type's
 * own). Only tests use them: a ResNet of base width 4 trains in milliseconds. See dlcc_nn_net_desc. */
typedef struct dlcc_train_reduced_net {
  int width;
  int blocks[4];
  double width_multiplier;
  int last_channels;
} dlcc_train_reduced_net;

typedef struct dlcc_train_options {
  const char *config_path;    /* the project's config.yaml (or its folder) */
  int shuffle;                /* >= 1 */
  int trainingsetindex;       /* index into config.yaml's TrainingFraction list */
  long max_iters;             /* > 0: train up to this iteration at most; 0: the schedule's last */
  long display_iters;         /* > 0: overrides pose_cfg's display_iters */
  long save_iters;            /* > 0: overrides pose_cfg's save_iters */
  bool seed_given;
  uint64_t seed;              /* initialisation and batches; default: the shuffle number */
  int threads;                /* compute threads; 0: OpenMP's default */
  int workers;                /* data loader threads; 0: DLCC_TRAIN_DEFAULT_WORKERS */
  bool resume;                /* continue from the newest snapshot of the shuffle */
  /* of the activations (parameters, gradients, optimizer state and snapshots stay f32); 0: f32 */
  dlcc_nn_precision precision;
  dlcc_train_reduced_net reduced;
  /* Set by the caller (a signal handler) to stop: the current iteration finishes, a snapshot is saved
   * and dlcc_train_run returns DLCC_ERR_INTERRUPTED. NULL: never stopped. */
  volatile sig_atomic_t *stop;
  dlcc_train_progress_fn progress;   /* NULL: no reports */
  void *user;
} dlcc_train_options;

/* Shuffle 1, training-set index 0, pose_cfg's iterations, display_iters and save_iters, the default
 * threads and workers, f32, the full-size network, no stop flag, no progress reports. */
void dlcc_train_options_default(dlcc_train_options *opt);

typedef struct dlcc_train_result {
  long first_iteration, last_iteration;  /* trained by this run (last < first when nothing was left) */
  long iterations;                       /* how many */
  double wall_s;                         /* of the training loop */
  double images_per_s;
  char *train_dir;
  char *snapshot;                        /* the last snapshot written (NULL when none) */
} dlcc_train_result;

/* Trains as described at the top. Fails before training, naming the file and what to change, when:
 * the shuffle has no pose_cfg.yaml (run create-training-dataset), pose_cfg asks for what dlcc cannot
 * train yet (single-animal pairwise, maDLC's crop_sampling none or pre_resize, a stride other than 8,
 * bf16 without kernels), init_weights names a .safetensors file that is missing or does not fit,
 * the train folder already holds snapshots and resume is off,
 * or resume is on and it holds none. During training, a batch the loader cannot make (an image out of
 * the input-size bounds) stops with the loader's message (a snapshot keeps the iterations done). Notes:
 * random initialisation (and its batch norm), augmentations the pose_cfg switches on that dlcc does
 * not apply yet, resuming; maDLC: multi_stage (dlcrnet) not built, batch_size 1 with an optimizer
 * other than adam (as DeepLabCut), mirror ignored. result (freed with dlcc_train_result_free) is filled
 * also after a failure
 * or an interruption. */
dlcc_status dlcc_train_run(const dlcc_train_options *opt, dlcc_train_result *result, dlcc_notes *notes,
                           dlcc_error *err);

void dlcc_train_result_free(dlcc_train_result *result);

#endif
