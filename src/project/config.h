/* A DeepLabCut project's config.yaml: typed fields dlcc uses, plus the whole YAML document so that
 * rewriting the file keeps every key dlcc does not know. The folder holding config.yaml is the
 * project root (`project_path` inside the file is often stale and is only informative). */
#ifndef DLCC_PROJECT_CONFIG_H
#define DLCC_PROJECT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "project/yamldoc.h"
#include "util/error.h"

typedef struct dlcc_video_set {
  char *path;      /* the key as written in config.yaml (absolute, relative, or a placeholder) */
  bool has_crop;
  int crop[4];     /* x1, x2, y1, y2 from "crop: 0, 640, 0, 480" */
} dlcc_video_set;

typedef struct dlcc_project_config {
  char *config_path;    /* absolute path of config.yaml */
  char *root;           /* absolute path of the folder holding it */

  char *task;
  char *scorer;
  char *date;
  bool multianimal;     /* multianimalproject: true */
  bool identity;

  size_t n_video_sets;
  dlcc_video_set *video_sets;

  /* Single animal: `bodyparts`. maDLC: `bodyparts` is "MULTI!" and the parts are split into
   * multianimalbodyparts (one set per individual) and uniquebodyparts (under individual "single"). */
  size_t n_bodyparts;
  char **bodyparts;
  size_t n_individuals;
  char **individuals;
  size_t n_multianimalbodyparts;
  char **multianimalbodyparts;
  size_t n_uniquebodyparts;
  char **uniquebodyparts;

  size_t n_skeleton;     /* pairs of body-part names */
  char *(*skeleton)[2];

  size_t n_training_fractions;
  double *training_fractions;
  int iteration;
  char *default_net_type;     /* "resnet_50" when absent */
  char *default_augmenter;    /* "default" when absent */
  int snapshotindex;          /* -1 = last */
  double pcutoff;             /* 0.6 when absent */
  int batch_size;             /* analysis batch size, 8 when absent */
  bool cropping;
  int x1, x2, y1, y2;
  int dotsize;
  double alphavalue;
  char *colormap;

  dlcc_yaml_node *doc;        /* the parsed document; owned */
} dlcc_project_config;

/* Loads and checks config.yaml. Errors name the file, the line, the key and what is expected
 * (a missing Task/scorer/date, bodyparts that are not a list, a maDLC project without individuals,
 * a skeleton naming an unknown body part, a TrainingFraction outside (0, 1], ...). On failure cfg is
 * left zeroed. `path` may also be the project folder, in which case <path>/config.yaml is read. */
dlcc_status dlcc_config_load(const char *path, dlcc_project_config *cfg, dlcc_error *err);

/* Writes cfg back to path atomically: the typed fields above replace their keys in cfg->doc, every
 * other key is kept in its place. */
dlcc_status dlcc_config_save(const dlcc_project_config *cfg, const char *path, dlcc_error *err);

void dlcc_config_free(dlcc_project_config *cfg);

/* The body parts a network predicts, in DeepLabCut's order: single animal: bodyparts; maDLC:
 * multianimalbodyparts then uniquebodyparts. Returns a count; *names points into cfg. The array is
 * allocated, the caller frees it (not the strings). */
size_t dlcc_config_joint_names(const dlcc_project_config *cfg, char ***names);

/* Index of body part `name` among dlcc_config_joint_names, or -1. */
int dlcc_config_joint_index(const dlcc_project_config *cfg, const char *name);

#endif
