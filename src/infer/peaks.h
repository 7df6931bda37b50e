/* Candidate body parts of a multi-animal frame, as DeepLabCut's TensorFlow maDLC inference finds them
 * (nnets/base.py add_inference_layers, core/predict_multianimal.py): per joint the local maxima of the
 * Gaussian-smoothed score map (max-pool NMS, minconfidence), placed at the cell centre plus the
 * location-refinement offset, scored by the unsmoothed probability there. */
#ifndef DLCC_INFER_PEAKS_H
#define DLCC_INFER_PEAKS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef struct dlcc_peak_params {
  int num_joints;             /* score-map channels searched (pose_cfg num_joints; identity channels excluded) */
  double stride;              /* pose_cfg stride (8): input pixels per score-map cell */
  bool location_refinement;   /* false: the cell centre alone (DeepLabCut's maDLC always refines) */
  double locref_stdev;        /* pose_cfg locref_stdev (7.2801) */
  bool locref_smooth;         /* pose_cfg locref_smooth (false): smooth the locref maps with the same kernel */
  int nms_radius;             /* pose_cfg nmsradius (5): the Gaussian kernel is 2r+1 cells wide, and a peak is
                                 the largest value of the r x r max-pool window ("SAME" padding) around it */
  double sigma;               /* pose_cfg sigma (1): the Gaussian's standard deviation in cells, > 0 */
  double min_confidence;      /* pose_cfg minconfidence (0.01): threshold on the smoothed value */
} dlcc_peak_params;

/* DeepLabCut's defaults: refinement on, locref_smooth off, nmsradius 5, sigma 1, minconfidence 0.01. */
void dlcc_peak_params_init(dlcc_peak_params *p, int num_joints, double stride, double locref_stdev);

typedef struct dlcc_peak {
  double x, y;      /* input pixels: col * stride + floor(stride / 2) + dx, likewise y, with
                       dx = f32(locref_dx * f32(locref_stdev)); rounded to 3 decimals as DeepLabCut does */
  double score;     /* the unsmoothed probability at the cell, rounded to 3 decimals in f32 (np.round on
                       the f32 map), widened to double */
  int row, col;     /* the score-map cell; the PAF is sampled between cells (paf.h) */
} dlcc_peak;

/* One frame's peaks: joint j's are peaks[first[j] .. first[j + 1]), in row-major order of their cells
 * (the order of TensorFlow's tf.where). A zeroed struct is an empty list; dlcc_find_peaks grows the
 * arrays and keeps them, so a video loop stops allocating once the largest frame has been seen. */
typedef struct dlcc_peaks {
  int num_joints;
  size_t *first;              /* [num_joints + 1] */
  dlcc_peak *peaks;
  size_t count;
  size_t capacity;            /* of peaks */
  int first_capacity;         /* of first, in joints */
} dlcc_peaks;

static inline size_t dlcc_peaks_of_joint(const dlcc_peaks *p, int joint) {
  return p->first[joint + 1] - p->first[joint];
}

void dlcc_peaks_free(dlcc_peaks *peaks);

/* The smoothing kernel, scratch maps and parameters of a frame loop. */
typedef struct dlcc_peak_finder dlcc_peak_finder;

/* Checks p and builds the kernel: softmax over k = -r..r of -k^2 / (2 sigma^2), the 2D kernel being its
 * outer product (make_2d_gaussian_kernel). Free with dlcc_peak_finder_free. */
dlcc_status dlcc_peak_finder_create(dlcc_peak_finder **finder, const dlcc_peak_params *p, dlcc_error *err);
void dlcc_peak_finder_free(dlcc_peak_finder *finder);

/* Finds one frame's peaks:
 *   prob    [num_joints][map_height][map_width]      sigmoid probabilities (f32, as tf.sigmoid gives them)
 *   locref  [2 * num_joints][map_height][map_width]  channel 2j is joint j's dx, 2j+1 its dy; NULL
 *                                                     only without location refinement
 * Per joint: the map is convolved with the kernel (zeros outside the map, as a "SAME" depthwise
 * convolution), a cell is a peak when its smoothed value equals the maximum of its max-pool window
 * and is >= f32(min_confidence), and the peak gets the position and score described at dlcc_peak.
 * Fills out (replacing what it held). Allocates only when out or the scratch maps must grow. Fails
 * on a NaN probability (a corrupt or diverged snapshot), naming the joint and cell. */
dlcc_status dlcc_find_peaks(dlcc_peak_finder *finder, const float *prob, const float *locref, int map_height,
                            int map_width, dlcc_peaks *out, dlcc_error *err);

#endif
