/* PAF line integrals between candidate peaks, DeepLabCut's "m1" link cost; see paf.h for the exact
 * arithmetic (which f32 and double steps mirror numpy's dtype promotions). */
#include "infer/paf.h"

#include <math.h>
#include <stdlib.h>

void dlcc_link_costs_free(dlcc_link_costs *costs) {
  if (!costs) return;
  free(costs->first);
  free(costs->affinity);
  *costs = (dlcc_link_costs){0};
}

/* floor(a + k (b - a) / 9) for k = 0..9 without rounding error: all coordinates are >= 0, so
 * (9a + k (b - a)) / 9 in integers is the floor. np.linspace's float steps give the same cells for
 * every map side dlcc meets (checked exhaustively up to 300 cells by tools/assembly_reference.py). */
static int sample_coordinate(int a, int b, int k) {
  return ((DLCC_PAF_SAMPLES - 1) * a + k * (b - a)) / (DLCC_PAF_SAMPLES - 1);
}

float dlcc_paf_affinity(const float *paf_x, const float *paf_y, int map_width, int row_a, int col_a, int row_b,
                        int col_b) {
  double integral_x = 0.0, integral_y = 0.0;
  int prev_row = row_a, prev_col = col_a;
  size_t prev = (size_t)row_a * map_width + col_a;
  for (int k = 1; k < DLCC_PAF_SAMPLES; k++) {
    int row = sample_coordinate(row_a, row_b, k), col = sample_coordinate(col_a, col_b, k);
    size_t cur = (size_t)row * map_width + col;
    /* d * (y[1:] + y[:-1]) / 2.0: the pair sum in f32, the rest in double (int32 * f32 -> f64). */
    float sum_x = paf_x[cur] + paf_x[prev], sum_y = paf_y[cur] + paf_y[prev];
    integral_x += (double)(col - prev_col) * (double)sum_x / 2.0;
    integral_y += (double)(row - prev_row) * (double)sum_y / 2.0;
    prev_row = row;
    prev_col = col;
    prev = cur;
  }
  float norm = (float)sqrt(integral_x * integral_x + integral_y * integral_y);
  double d_row = row_b - row_a, d_col = col_b - col_a;
  float length = (float)sqrt(d_row * d_row + d_col * d_col) + 0x1p-23f; /* np.spacing(1, float32) */
  float affinity = norm / length;
  return rintf(affinity * 1000.0f) / 1000.0f;
}

dlcc_status dlcc_paf_link_costs(const float *paf, int n_paf_limbs, int map_height, int map_width,
                                const dlcc_paf_link *limbs, int n_limbs, const dlcc_peaks *peaks,
                                dlcc_link_costs *costs, dlcc_error *err) {
  if (map_height <= 0 || map_width <= 0 || n_limbs < 0 || n_paf_limbs < 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot score links: %d limbs on a %d x %d map with %d PAF limbs",
                     n_limbs, map_width, map_height, n_paf_limbs);
  size_t total = 0;
  for (int k = 0; k < n_limbs; k++) {
    const dlcc_paf_link *l = &limbs[k];
    if (l->joint_a < 0 || l->joint_a >= peaks->num_joints || l->joint_b < 0 || l->joint_b >= peaks->num_joints)
      return dlcc_fail(err, DLCC_ERR_INVALID, "cannot score links: limb %d joins joints %d and %d, but the score "
                       "maps have %d joints (check pose_cfg.yaml's partaffinityfield_graph)", k, l->joint_a,
                       l->joint_b, peaks->num_joints);
    if (l->paf_index < 0 || l->paf_index >= n_paf_limbs)
      return dlcc_fail(err, DLCC_ERR_INVALID, "cannot score links: limb %d is PAF limb %d, but the network's PAF "
                       "output has %d limbs (%d channels)", k, l->paf_index, n_paf_limbs, 2 * n_paf_limbs);
    total += dlcc_peaks_of_joint(peaks, l->joint_a) * dlcc_peaks_of_joint(peaks, l->joint_b);
  }
  for (size_t i = 0; i < peaks->count; i++)
    if (peaks->peaks[i].row < 0 || peaks->peaks[i].row >= map_height || peaks->peaks[i].col < 0 ||
        peaks->peaks[i].col >= map_width)
      return dlcc_fail(err, DLCC_ERR_INVALID, "cannot score links: peak %zu lies at cell (%d, %d), outside the "
                       "%d x %d PAF maps", i, peaks->peaks[i].col, peaks->peaks[i].row, map_width, map_height);
  if (costs->first_capacity < n_limbs || !costs->first) {
    size_t *first = realloc(costs->first, ((size_t)n_limbs + 1) * sizeof *first);
    if (!first) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for the link costs");
    costs->first = first;
    costs->first_capacity = n_limbs;
  }
  if (total > costs->capacity) {
    float *affinity = realloc(costs->affinity, total * sizeof *affinity);
    if (!affinity) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for %zu link costs", total);
    costs->affinity = affinity;
    costs->capacity = total;
  }
  costs->n_limbs = n_limbs;
  size_t cells = (size_t)map_height * (size_t)map_width, at = 0;
  for (int k = 0; k < n_limbs; k++) {
    const dlcc_paf_link *l = &limbs[k];
    costs->first[k] = at;
    const float *paf_x = paf + (size_t)(2 * l->paf_index) * cells, *paf_y = paf_x + cells;
    const dlcc_peak *pa = peaks->peaks + peaks->first[l->joint_a], *pb = peaks->peaks + peaks->first[l->joint_b];
    size_t na = dlcc_peaks_of_joint(peaks, l->joint_a), nb = dlcc_peaks_of_joint(peaks, l->joint_b);
    for (size_t i = 0; i < na; i++)
      for (size_t j = 0; j < nb; j++)
        costs->affinity[at++] = dlcc_paf_affinity(paf_x, paf_y, map_width, pa[i].row, pa[i].col, pb[j].row, pb[j].col);
  }
  costs->first[n_limbs] = at;
  return DLCC_OK;
}
