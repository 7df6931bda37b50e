/* A multi-animal shuffle's test/inference_cfg.yaml: how DeepLabCut assembles detected parts into
 * animals and tracks them (pafthreshold, minimalnumberofconnections, pcutoff, topktoretain, the
 * tracker's iou_threshold, max_age, min_hits, boundingboxslack). create-training-dataset writes it
 * with DeepLabCut's template values; analysis and tracking read it. */
#ifndef DLCC_PROJECT_INFERENCE_CFG_H
#define DLCC_PROJECT_INFERENCE_CFG_H

#include <stdbool.h>

#include "project/config.h"
#include "util/error.h"

typedef struct dlcc_inference_cfg {
  double pafthreshold;            /* least PAF affinity of a link kept for assembly (0.1) */
  int minimalnumberofconnections; /* least links of an animal (len(multianimalbodyparts) / 2) */
  double pcutoff;                 /* least part score taken into assembly (0.1) */
  int topktoretain;               /* most animals kept per frame (len(individuals)) */
  bool withid;                    /* use identity channels (false) */
  double boundingboxslack;        /* pixels added around a box tracker's box (0) */
  double iou_threshold;           /* least similarity that links a detection to a track (0.6) */
  int max_age;                    /* frames a lost track may stay unmatched (1) */
  int min_hits;                   /* matches before a track is reported (1) */
} dlcc_inference_cfg;

/* DeepLabCut's template (deeplabcut/inference_cfg.yaml) with the two values create-training-dataset
 * fills from config.yaml: topktoretain = len(individuals), minimalnumberofconnections =
 * int(len(multianimalbodyparts) / 2). */
void dlcc_inference_cfg_defaults(dlcc_inference_cfg *ic, const dlcc_project_config *cfg);

/* Writes ic as DeepLabCut's inference_cfg.yaml (its keys, plus method: m1 and variant: 0), atomically. */
dlcc_status dlcc_inference_cfg_save(const dlcc_inference_cfg *ic, const char *path, dlcc_error *err);

/* Reads path over the defaults of cfg: keys that are absent keep their default; a value of the wrong
 * type or out of range fails naming the file, line and key. Unknown keys are ignored (DeepLabCut
 * keeps other tools' keys there). */
dlcc_status dlcc_inference_cfg_load(const char *path, const dlcc_project_config *cfg, dlcc_inference_cfg *ic,
                                    dlcc_error *err);

#endif
