/* A DeepLabCut project's config.yaml: typed fields dlcc uses, plus the whole YAML document so that
 * rewriting the file keeps every key dlcc does not know. The folder holding config.yaml is the
 * project root (`project_path` inside the file is often stale and is only informative). */
#ifndef DLCC_PROJECT_CONFIG_H
#define DLCC_PROJECT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "project/yamldoc.h"
#include "util/error.h"

/* snapshotindex: all snapshots ("snapshotindex: all" in config.yaml). Other values are -1 (the last
 * snapshot) or a 0-based index; Python's other negative indices are refused when loading. */
#define DLCC_SNAPSHOT_ALL (-2)

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

  /* Single animal: `bodyparts`. maDLC: `bodyparts` is "MULTI!" (read as n_bodyparts == 0) and the
   * parts are split into multianimalbodyparts (one set per individual) and uniquebodyparts (under
   * individual "single"). Names are distinct across all these lists. */
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
  double *training_fractions; /* each in (0, 1]; [0.95] when absent */
  int iteration;              /* 0 when absent */
  char *default_net_type;     /* "resnet_50" when absent */
  char *default_augmenter;    /* "default" when absent */
  int snapshotindex;          /* -1 = last (when absent), DLCC_SNAPSHOT_ALL = "all", else 0-based */
  double pcutoff;             /* 0.6 when absent */
  int batch_size;             /* analysis batch size, 8 when absent */
  bool cropping;              /* false when absent */
  int x1, x2, y1, y2;         /* 0, 640, 277, 624 when absent (DeepLabCut's new-project values) */
  int dotsize;                /* 12 when absent */
  double alphavalue;          /* 0.7 when absent */
  char *colormap;             /* "rainbow" when absent */

  dlcc_yaml_node *doc;        /* the parsed document; owned */
} dlcc_project_config;

/* Loads and checks config.yaml. Errors name the file, the line, the key and what is expected
 * (a missing Task/scorer/date, bodyparts that are not a list, a maDLC project without individuals,
 * a skeleton naming an unknown body part, a TrainingFraction outside (0, 1], ...). On failure cfg is
 * left zeroed. `path` may also be the project folder, in which case <path>/config.yaml is read. */
dlcc_status dlcc_config_load(const char *path, dlcc_project_config *cfg, dlcc_error *err);

/* Writes cfg back to path atomically: the typed fields above replace their keys in cfg->doc, every
 * other key is kept in its place. A key whose value already reads as the field's value is left as
 * written; project_path is set to the folder path is in (cfg->root when saving in place).
 * Comments of the original file are not kept. */
dlcc_status dlcc_config_save(const dlcc_project_config *cfg, const char *path, dlcc_error *err);

void dlcc_config_free(dlcc_project_config *cfg);

/* The body parts a network predicts, in DeepLabCut's order: single animal: bodyparts; maDLC:
 * multianimalbodyparts then uniquebodyparts. Returns a count; *names points into cfg. The array is
 * allocated, the caller frees it (not the strings). */
size_t dlcc_config_joint_names(const dlcc_project_config *cfg, char ***names);

/* Index of body part `name` among dlcc_config_joint_names, or -1. */
int dlcc_config_joint_index(const dlcc_project_config *cfg, const char *name);

#endif
