/* pose_cfg.yaml: every key of DeepLabCut's pose_cfg template plus the maDLC keys, typed, with
 * DeepLabCut's defaults in one table (posecfg_keys.c) and range checks whose errors name the file, the
 * line, the key, the bad value and what is allowed. Keys dlcc does not know are kept on rewrite. */
#ifndef DLCC_PROJECT_POSECFG_H
#define DLCC_PROJECT_POSECFG_H

#include <stdbool.h>
#include <stddef.h>

#include "project/yamldoc.h"
#include "util/error.h"

typedef struct dlcc_lr_step {
  double lr;
  long until_iteration;
} dlcc_lr_step;

typedef struct dlcc_pose_cfg {
  /* dataset and project (filled by create-training-dataset) */
  char *dataset;               /* training set file, relative to project_path */
  char *metadataset;           /* the split's documentation file, relative to project_path */
  char *engine;                /* "tensorflow" (written by DeepLabCut 2.3+) */
  char *dataset_type;          /* "imgaug", "multi-animal-imgaug", "default", ... */
  char *project_path;
  char *net_type;              /* "resnet_50", "mobilenet_v2_0.35", "dlcrnet_ms5", ... */
  char *init_weights;
  char *snapshot_prefix;       /* <folder of the file>/snapshot after loading, as DeepLabCut sets it */
  char *log_dir;
  char *scoremap_dir;
  int num_joints;
  size_t n_joints;             /* length of all_joints / all_joints_names */
  char **all_joints_names;
  size_t n_all_joints;         /* length of all_joints */
  int **all_joints;            /* all_joints[i] is a list with one index, as DeepLabCut writes */

  /* the seed's hyperparameters */
  int max_input_size;          /* 1500 */
  int min_input_size;          /* 64 */
  double global_scale;         /* 0.8 */
  int batch_size;              /* 1 single animal, 8 maDLC */
  double pos_dist_thresh;      /* 17 */
  double pafwidth;             /* 20 */
  double scale_jitter_lo;      /* 0.5 */
  double scale_jitter_up;      /* 1.25 */

  /* targets and losses */
  double stride;               /* 8 */
  bool location_refinement;    /* true */
  double locref_stdev;         /* 7.2801 */
  double locref_loss_weight;   /* 0.05 */
  bool locref_huber_loss;      /* true */
  bool weigh_only_present_joints;
  bool weigh_part_predictions;
  bool weigh_negatives;
  double fg_fraction;
  bool intermediate_supervision;
  int intermediate_supervision_layer;
  double mean_pixel[3];

  /* optimisation */
  char *optimizer;             /* "sgd" or "adam" */
  size_t n_multi_step;
  dlcc_lr_step *multi_step;
  bool regularize;
  double weight_decay;
  double lr_init, alpha_r;     /* cosine decay */
  long decay_steps;
  long display_iters;
  long save_iters;
  int max_snapshots_to_keep;
  bool shuffle;
  bool deterministic;

  /* augmentation (rotation: degrees, 0 = off; `rotation: False` reads as 0, `True` as DeepLabCut's
   * default angle) */
  double rotation;
  double rotratio;
  bool mirror;
  bool crop;                   /* single-animal cropping augmentation */
  double cropratio;
  double crop_by;              /* imgaug crop: at most this fraction of each side */
  int crop_pad;
  double apply_prob;           /* probability of each `sometimes` augmenter */
  int pre_resize[2];           /* width, height; 0, 0 when not resizing (`pre_resize: []`) */
  bool covering, elastic_transform, grayscale;
  bool motion_blur;            /* true also when given as parameters (kept in doc) */
  double gaussian_noise;       /* noise scale; 0 = off (`True` reads as DeepLabCut's default) */
  /* contrast: and convolution: (an augmenter given as a map of parameters is on; the parameters
   * stay in doc). emboss's parameters are typed: `emboss: True` reads as the template's. */
  struct {
    bool clahe, histeq, log, linear, sigmoid, gamma;
    double claheratio, histeqratio, logratio, linearratio, sigmoidratio, gammaratio;
  } contrast;
  struct {
    bool sharpen, edge, emboss;
    double sharpenratio, edgeratio, embossratio;
    double emboss_alpha[2], emboss_strength[2];
  } convolution;

  /* multi-animal */
  bool multianimal;
  size_t n_limbs;
  int (*partaffinityfield_graph)[2];
  bool partaffinityfield_predict;
  bool pairwise_predict;
  bool pairwise_huber_loss;
  double pairwise_loss_weight; /* 0.1 */
  int num_limbs;
  int num_idchannel;
  int crop_size[2];            /* 400, 400 */
  char *crop_sampling;         /* "hybrid" */
  double max_shift;            /* 0.4 */
  int nmsradius;               /* 5 */
  double minconfidence;        /* 0.01 */
  int sigma;
  bool locref_smooth;
  int topktoretain;            /* 0: as many as config.yaml lists individuals */
  double oks_sigma;            /* 0.1: maDLC evaluation's OKS sigma, every keypoint */
  double bbox_margin;          /* 0: pixels around the labels' box in the OKS area */
  bool multi_stage;

  char *source_path;           /* the file this came from, for messages; NULL when built in memory */
  dlcc_yaml_node *doc;         /* the document (unknown keys kept); owned */
} dlcc_pose_cfg;

/* Fills cfg with DeepLabCut's defaults for a single-animal (multianimal false) or maDLC project. */
dlcc_status dlcc_pose_cfg_defaults(dlcc_pose_cfg *cfg, bool multianimal, dlcc_error *err);

/* Reads path: defaults first (multianimal decided by the file's keys, e.g. partaffinityfield_graph or
 * dataset_type multi-animal-imgaug), then every key of the file, type- and range-checked. */
dlcc_status dlcc_pose_cfg_load(const char *path, dlcc_pose_cfg *cfg, dlcc_error *err);

/* Checks ranges and consistency (global_scale > 0, scale_jitter_lo <= scale_jitter_up, ...). The
 * message names the key, the value and what is allowed (and the file and line when known). */
dlcc_status dlcc_pose_cfg_validate(const dlcc_pose_cfg *cfg, dlcc_error *err);

/* Writes every typed key plus the unknown keys of cfg->doc to path atomically. */
dlcc_status dlcc_pose_cfg_save(const dlcc_pose_cfg *cfg, const char *path, dlcc_error *err);

void dlcc_pose_cfg_free(dlcc_pose_cfg *cfg);

/* Helpers for callers that fill names and graphs (they copy their arguments). */
dlcc_status dlcc_pose_cfg_set_joints(dlcc_pose_cfg *cfg, char *const *names, size_t n, dlcc_error *err);
dlcc_status dlcc_pose_cfg_set_graph(dlcc_pose_cfg *cfg, const int (*pairs)[2], size_t n, dlcc_error *err);
dlcc_status dlcc_pose_cfg_set_string(char **field, const char *value, dlcc_error *err);

/* The learning rate at `iteration` under multi_step: the first step whose until_iteration is at or
 * above it (DeepLabCut moves to the next rate after that iteration); the last step's rate past the
 * end; 0 when multi_step is empty. */
double dlcc_pose_cfg_learning_rate(const dlcc_pose_cfg *cfg, long iteration);

#endif
