/* Score-map, weight and location-refinement targets of one training image (see scoremap.h), cell
 * for cell as DeepLabCut's TensorFlow loaders compute them (compute_target_part_scoremap_numpy and
 * compute_scmap_weights), visiting only the cells near each joint. */
#include "targets/scoremap.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* The joint-independent numbers of one image's targets, in input pixels. */
typedef struct window_geometry {
  double stride, half_stride;
  double dist_thresh, dist_thresh_sq;
  double locref_scale; /* 1 / locref_stdev: DeepLabCut multiplies by it rather than dividing */
} window_geometry;

/* An inclusive range of cells along one axis; empty when lo > hi. */
typedef struct cell_range {
  int lo, hi;
} cell_range;

/* Python's round() on a float and numpy's np.round both round half to even, as nearbyint does in
 * the default rounding mode (to nearest), which dlcc never changes. */
static double round_half_even(double v) { return nearbyint(v); }

/* v as an int within [lo, hi] (NaN gives lo), so that huge or infinite values cannot overflow. */
static int clamp_to_int(double v, int lo, int hi) {
  if (!(v >= lo)) return lo;
  if (v > hi) return hi;
  return (int)v;
}

/* DeepLabCut's bounding box around a joint along one axis: the joint's cell
 * j_sm = round((j - half_stride) / stride), then cells round(max(j_sm - dist_thresh - 1, 0)) to
 * round(min(j_sm + dist_thresh + 1, n_cells - 1)). dist_thresh is in pixels there, not cells, so the
 * box reaches about stride times further than the disc and, for any stride > 1, never excludes a
 * cell that passes the distance test: such a cell is within dist_thresh / stride + 1/2 cells of
 * j_sm, the box's rounded edge at least dist_thresh + 1/2 away (rounding, half to even, moves the
 * edge by at most half a cell). So with DeepLabCut's strides (8, 4, 2) neither the box nor its
 * rounding ever changes a target (tools/scoremap_reference.py checks its random cases with and
 * without it); below stride 1 it cuts the disc, which the tests show. It is kept so that dlcc
 * matches DeepLabCut by construction, not by this argument. */
static cell_range dlc_box(double j, const window_geometry *g, int n_cells) {
  double j_sm = round_half_even((j - g->half_stride) / g->stride);
  double lo = round_half_even(fmax(j_sm - g->dist_thresh - 1, 0));
  double hi = round_half_even(fmin(j_sm + g->dist_thresh + 1, n_cells - 1));
  return (cell_range){clamp_to_int(lo, 0, n_cells), clamp_to_int(hi, -1, n_cells - 1)};
}

/* The cells whose centre c * stride + half_stride lies within |dist_thresh| of j along one axis
 * (the test is dist <= dist_thresh^2, so a negative threshold acts as its magnitude), widened by a
 * cell each side so that rounding in this division never drops a cell the exact test accepts. */
static cell_range disc_reach(double j, const window_geometry *g, int n_cells) {
  double r = fabs(g->dist_thresh);
  double lo = floor((j - g->half_stride - r) / g->stride) - 1;
  double hi = ceil((j - g->half_stride + r) / g->stride) + 1;
  return (cell_range){clamp_to_int(lo, 0, n_cells), clamp_to_int(hi, -1, n_cells - 1)};
}

static cell_range axis_window(double j, const window_geometry *g, int n_cells) {
  cell_range box = dlc_box(j, g, n_cells), reach = disc_reach(j, g, n_cells);
  return (cell_range){box.lo > reach.lo ? box.lo : reach.lo, box.hi < reach.hi ? box.hi : reach.hi};
}

static int map_side(const dlcc_scoremap_params *p, int side) {
  if (side <= 0 || !(p->stride > 0)) return 0;
  double cells = p->multianimal && p->stride == 2 ? ceil(side / 16.0) * 8 : ceil(side / (p->stride * 2)) * 2;
  return cells <= INT_MAX ? (int)cells : 0;
}

void dlcc_scoremap_size(const dlcc_scoremap_params *p, int width, int height, int *map_width, int *map_height) {
  *map_width = map_side(p, width);
  *map_height = map_side(p, height);
}

static void fill(float *a, size_t n, float v) {
  for (size_t i = 0; i < n; i++) a[i] = v;
}

/* Writes one joint's window into its channels (plane = map_width * map_height). In the window the
 * score is 1, both mask channels 1 and the locref the offset joint - cell centre times
 * locref_scale, overwriting what an earlier joint of the same id wrote, as DeepLabCut's loop does. */
static void write_window(const window_geometry *g, const dlcc_joint *j, int map_width, int map_height,
                         float *score, float *locref_xy, float *mask_xy) {
  size_t plane = (size_t)map_width * (size_t)map_height;
  cell_range xs = axis_window(j->x, g, map_width), ys = axis_window(j->y, g, map_height);
  for (int y = ys.lo; y <= ys.hi; y++) {
    double dy = j->y - y * g->stride - g->half_stride;
    for (int x = xs.lo; x <= xs.hi; x++) {
      double dx = j->x - x * g->stride - g->half_stride;
      if (!(dx * dx + dy * dy <= g->dist_thresh_sq)) continue;
      size_t at = (size_t)y * (size_t)map_width + (size_t)x;
      score[at] = 1;
      mask_xy[at] = mask_xy[plane + at] = 1;
      locref_xy[at] = (float)(dx * g->locref_scale);
      locref_xy[plane + at] = (float)(dy * g->locref_scale);
    }
  }
}

static window_geometry geometry_of(const dlcc_scoremap_params *p) {
  window_geometry g = {.stride = p->stride, .locref_scale = 1.0 / p->locref_stdev};
  g.half_stride = p->multianimal ? floor(p->stride / 2) : p->stride / 2;
  g.dist_thresh = p->pos_dist_thresh * p->scale;
  g.dist_thresh_sq = g.dist_thresh * g.dist_thresh;
  return g;
}

/* Sets to 1 the cells of one joint's window in one channel (the cells write_window scores). */
static void mark_window(const window_geometry *g, const dlcc_joint *j, int map_width, int map_height, float *channel) {
  cell_range xs = axis_window(j->x, g, map_width), ys = axis_window(j->y, g, map_height);
  for (int y = ys.lo; y <= ys.hi; y++) {
    double dy = j->y - y * g->stride - g->half_stride;
    for (int x = xs.lo; x <= xs.hi; x++) {
      double dx = j->x - x * g->stride - g->half_stride;
      if (dx * dx + dy * dy <= g->dist_thresh_sq) channel[(size_t)y * (size_t)map_width + (size_t)x] = 1;
    }
  }
}

void dlcc_scoremap_identity_build(const dlcc_scoremap_params *p, int num_idchannel, const dlcc_joint *joints,
                                  const size_t *joints_per_animal, size_t n_animals, int map_width, int map_height,
                                  float *identity, float *weights) {
  if (num_idchannel <= 0 || map_width <= 0 || map_height <= 0) return;
  size_t plane = (size_t)map_width * (size_t)map_height, channels = (size_t)num_idchannel;
  fill(identity, channels * plane, 0);
  if (weights) fill(weights, channels * plane, p->weigh_only_present_joints ? 0 : 1);
  window_geometry g = geometry_of(p);
  size_t first = 0;
  for (size_t a = 0; a < n_animals; a++) {
    size_t own = joints_per_animal[a];
    for (size_t k = first; a < channels && k < first + own; k++) {
      const dlcc_joint *j = &joints[k];
      if (j->id < 0 || j->id >= p->num_joints || !isfinite(j->x) || !isfinite(j->y)) continue;
      mark_window(&g, j, map_width, map_height, identity + a * plane);
    }
    first += own;
  }
}

void dlcc_scoremap_targets_build(const dlcc_scoremap_params *p, const dlcc_joint *joints, size_t n_joints,
                                 int map_width, int map_height, float *scoremap, float *weights, float *locref,
                                 float *locref_mask) {
  if (p->num_joints <= 0 || map_width <= 0 || map_height <= 0) return;
  size_t plane = (size_t)map_width * (size_t)map_height, channels = (size_t)p->num_joints;
  bool mask_everywhere = p->multianimal && !p->weigh_only_present_joints;
  fill(scoremap, channels * plane, 0);
  fill(weights, channels * plane, p->weigh_only_present_joints ? 0 : 1);
  fill(locref, 2 * channels * plane, 0);
  fill(locref_mask, 2 * channels * plane, mask_everywhere ? 1 : 0);

  window_geometry g = geometry_of(p);
  /* With mask_everywhere the window's mask writes are no-ops (1 over 1), as in DeepLabCut. */
  for (size_t k = 0; k < n_joints; k++) {
    const dlcc_joint *j = &joints[k];
    if (j->id < 0 || j->id >= p->num_joints || !isfinite(j->x) || !isfinite(j->y)) continue;
    size_t ch = (size_t)j->id;
    /* A channel's first weight is 0 only until its first joint, so each is filled once: O(map)
     * per id present, never per joint. */
    if (p->weigh_only_present_joints && weights[ch * plane] == 0) fill(weights + ch * plane, plane, 1);
    write_window(&g, j, map_width, map_height, scoremap + ch * plane, locref + 2 * ch * plane,
                 locref_mask + 2 * ch * plane);
  }
}
