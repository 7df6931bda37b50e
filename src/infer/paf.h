/* Link affinities of a multi-animal frame: for each limb of the part-affinity-field graph and each pair
 * of candidate peaks of its two joints, the PAF integrated along the segment between them, with the
 * sampling and normalisation of DeepLabCut's TensorFlow maDLC inference
 * (core/predict_multianimal.py compute_edge_costs), its "m1" cost. */
#ifndef DLCC_INFER_PAF_H
#define DLCC_INFER_PAF_H

#include <stddef.h>

#include "infer/peaks.h"
#include "util/error.h"

/* One edge of pose_cfg's partaffinityfield_graph: joints (a, b) and the limb's index in that graph,
 * whose field is PAF channels 2 * paf_index (x component) and 2 * paf_index + 1 (y). DeepLabCut scores
 * the limbs listed in paf_best, or all of them, in that order. (Training's targets/paf.h has its own
 * dlcc_limb, the graph edge alone.) */
typedef struct dlcc_paf_link {
  int joint_a, joint_b;
  int paf_index;
} dlcc_paf_link;

/* Number of samples along a segment (compute_edge_costs' n_points). */
#define DLCC_PAF_SAMPLES 10

/* The affinity of the segment from cell (row_a, col_a) to cell (row_b, col_b) of one limb's field
 * (paf_x, paf_y: [map_height][map_width], the x and y channels), as DeepLabCut computes it:
 *   - DLCC_PAF_SAMPLES cells on the segment: cell k (0..9) = floor(a + k (b - a) / 9), per coordinate
 *     (np.linspace cast to int32);
 *   - the trapezoid rule of each component against its own coordinate (np.trapz(y, x) with x the
 *     sampled (col, row)): Ix = sum_k (col_k+1 - col_k) (px_k+1 + px_k) / 2, Iy likewise with rows and
 *     py, the f32 sums widened to double;
 *   - affinity = f32(|(Ix, Iy)|) / (f32(|b - a|) + 2^-23), in f32, rounded to 3 decimals.
 * So a constant unit field along an axis-aligned limb gives 1 and a perpendicular one 0; along a
 * diagonal the score is |(Dx^2, Dy^2)| (0.707 at 45 degrees) and a perpendicular field scores as much:
 * DeepLabCut's m1 takes the norm of per-axis integrals, not the field's projection on the limb. A field
 * pointing from b to a scores as one from a to b. Coincident cells score 0. */
float dlcc_paf_affinity(const float *paf_x, const float *paf_y, int map_width, int row_a, int col_a, int row_b,
                        int col_b);

/* One frame's affinities: limb k's matrix is affinity[first[k] .. first[k + 1]), row-major
 * [peaks of joint_a][peaks of joint_b] in the peak lists' order. A zeroed struct is empty; the arrays
 * grow and are kept for the next frame. */
typedef struct dlcc_link_costs {
  int n_limbs;
  size_t *first;              /* [n_limbs + 1] */
  float *affinity;
  size_t capacity;            /* of affinity */
  int first_capacity;         /* of first, in limbs */
} dlcc_link_costs;

void dlcc_link_costs_free(dlcc_link_costs *costs);

/* Scores every candidate pair of every limb of limbs[0 .. n_limbs) from
 *   paf [2 * n_paf_limbs][map_height][map_width]   the network's pairwise_pred (PAF) output, CHW
 * with peaks found on score maps of the same size. Fails on a limb naming a joint outside the peaks'
 * joints or a PAF channel outside the maps, and on a peak outside the map. Allocates only to grow
 * costs. */
dlcc_status dlcc_paf_link_costs(const float *paf, int n_paf_limbs, int map_height, int map_width,
                                const dlcc_paf_link *limbs, int n_limbs, const dlcc_peaks *peaks,
                                dlcc_link_costs *costs, dlcc_error *err);

#endif
