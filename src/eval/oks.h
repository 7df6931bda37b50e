/* Object keypoint similarity (OKS) and the COCO-style mAP / mAR over OKS thresholds 0.50:0.05:0.95
 * of DeepLabCut's multi-animal evaluation: deeplabcut/core/inferenceutils.py
 * (calc_object_keypoint_similarity, evaluate_assembly; what the TensorFlow evaluate_multianimal
 * reports) and deeplabcut/core/metrics/distance_metrics.py (compute_oks; what the PyTorch engine
 * reports). Poses of one image are a dlcc_pose_frame. */
#ifndef DLCC_EVAL_OKS_H
#define DLCC_EVAL_OKS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* The labeled and the predicted individuals of one image. A labeled keypoint is there when its x
 * and y are both finite; a predicted one when its x and y are finite (under
 * DLCC_MAP_PYTORCH also its score must not be negative, as DeepLabCut 3 drops those). */
typedef struct dlcc_pose_frame {
  size_t n_bodyparts;
  size_t n_truth;
  const double *truth;      /* n_truth x n_bodyparts x 2 (x, y); NaN where not labeled */
  size_t n_pred;
  const double *pred;       /* n_pred x n_bodyparts x 3 (x, y, score); NaN where not predicted */
  const double *pred_score; /* n_pred: the individual's score that ranks it (the TensorFlow engine uses
                               the assembly's mean link affinity when it has links); NULL: the mean of
                               its keypoints' scores, NaN scores left out (np.nanmean) */
} dlcc_pose_frame;

/* oks_sigma and bbox_margin of pose_cfg.yaml: DeepLabCut uses test_pose_cfg.get("oks_sigma", 0.1)
 * and .get("bbox_margin", 0) (compute_metrics likewise defaults to 0.1 and 0). One sigma serves
 * every keypoint unless per-keypoint sigmas are given. */
#define DLCC_OKS_SIGMA_DEFAULT 0.1
#define DLCC_OKS_MARGIN_DEFAULT 0.0

typedef struct dlcc_oks_params {
  double sigma;          /* used when sigmas is NULL */
  const double *sigmas;  /* n_bodyparts sigmas, or NULL */
  double margin;         /* px added on every side of the keypoints' box before taking its area */
} dlcc_oks_params;

/* OKS of one predicted individual (n_bodyparts x 3) against one labeled individual
 * (n_bodyparts x 2), DeepLabCut's formula: over the labeled keypoints k,
 *   OKS = mean_k exp(-d_k^2 / (2 * A * (2 sigma_k)^2)),
 *   A = (w + eps + 2 margin) * (h + eps + 2 margin),
 * with w, h the extent (max - min) of the labeled keypoints' x and y, eps = 2^-52 (np.spacing(1)),
 * d_k the distance from label to prediction; a keypoint that is not predicted contributes 0.
 * The "area" is thus the labels' bounding box, not a segmentation area as in COCO.
 * NaN when fewer than 2 keypoints are labeled or A <= 1e-8 (np.isclose(A, 0)). */
double dlcc_oks(const double *pred, const double *truth, size_t n_bodyparts, const dlcc_oks_params *p);

/* The two protocols DeepLabCut 3.0 has for pose mAP. */
typedef enum dlcc_map_protocol {
  /* The TensorFlow engine's evaluate_multianimal (via crossvalutils to inferenceutils
   * evaluate_assembly, greedy_oks false as by default): per image one optimal assignment
   * (Hungarian, scipy's linear_sum_assignment) maximising the summed OKS, NaN OKS counting as 0;
   * only images with at least one labeled keypoint count (predictions in other images are ignored);
   * predictions of equal score keep the image order across images and, within an image, the later
   * prediction comes first (argsort(...)[::-1]). */
  DLCC_MAP_TENSORFLOW,
  /* The PyTorch engine's compute_metrics / compute_oks: per image and per OKS threshold t, the
   * predictions in decreasing score each take the label of highest OKS if it is still free and its
   * OKS >= t (pycocotools' greedy rule); every image counts; ties keep the prediction order. */
  DLCC_MAP_PYTORCH
} dlcc_map_protocol;

#define DLCC_OKS_N_THRESHOLDS 10
#define DLCC_OKS_N_RECALLS 101

/* The i-th OKS threshold (np.linspace(0.5, 0.95, 10)[i], bit for bit: 0.8999999999999999 at i=8). */
double dlcc_oks_threshold(size_t i);

/* The i-th recall level (np.linspace(0, 1, 101)[i] = i * 0.01). */
double dlcc_oks_recall_level(size_t i);

typedef struct dlcc_oks_ap {
  double map;   /* mean of precision[][]; a fraction (DeepLabCut 3 prints 100 times this) */
  double mar;   /* mean of recall[]; NaN when no individual is labeled */
  double precision[DLCC_OKS_N_THRESHOLDS][DLCC_OKS_N_RECALLS]; /* interpolated, per threshold */
  double recall[DLCC_OKS_N_THRESHOLDS];                        /* final recall per threshold */
  size_t n_truth;  /* labeled individuals counted (those with >= 2 labeled keypoints) */
  size_t n_pred;   /* predicted individuals ranked (those with >= 2 keypoints) */
} dlcc_oks_ap;

/* mAP and mAR over frames[0..n_frames) (every frame with the same n_bodyparts), COCO style:
 * individuals with fewer than 2 keypoints are left out (labeled and predicted); predictions of
 * all images are ranked by score (highest first); at threshold t a prediction is a true positive
 * when it is matched with OKS >= t (an unmatched one has OKS 0), else a false positive;
 * recall = TP / labeled individuals, precision = TP / (TP + FP + 2^-52), made non-increasing from
 * the right, then read at the 101 recall levels r (the first rank whose recall >= r; 0 when none
 * reaches r). mAP averages the 10 x 101 precisions, mAR the 10 final recalls.
 * With no prediction at all both are 0. Fails on mismatched frames or out of memory. */
dlcc_status dlcc_oks_map(const dlcc_pose_frame *frames, size_t n_frames, const dlcc_oks_params *p,
                         dlcc_map_protocol protocol, dlcc_oks_ap *out, dlcc_error *err);

/* Helpers shared with matching.c. */

/* Whether predicted keypoint k (x, y, score) counts under protocol (see dlcc_pose_frame). */
bool dlcc_pred_keypoint_present(const double *kp, dlcc_map_protocol protocol);

/* The score that ranks prediction i of f: f->pred_score[i], or the nanmean of its keypoints'
 * scores over keypoints present (NaN when none has a score). */
double dlcc_pred_score(const dlcc_pose_frame *f, size_t i, dlcc_map_protocol protocol);

#endif
