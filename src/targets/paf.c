/* Part-affinity-field targets of one training image (see paf.h), cell for cell as the PAF part of
 * compute_target_part_scoremap_numpy in DeepLabCut's pose_multianimal_imgaug.py computes them,
 * visiting, row by row, only the cells that can lie in each limb's band. */
#include "targets/paf.h"

#include <math.h>

/* The limb-independent numbers of one image's targets. */
typedef struct paf_geometry {
  double stride, half_stride; /* half_stride = floor(stride / 2): maDLC's integer stride // 2 */
  double pafwidth, scale;
  int map_width, map_height;
} paf_geometry;

/* One limb of one animal: the unit vector from its first joint A to its second B, the projections
 * of A and B on it (the band's ends) and A's projection on the normal, in DeepLabCut's terms. */
typedef struct limb_band {
  double ax, ay, bx, by;
  double dir_x, dir_y;
  double along_lo, along_hi;
  double across_mid; /* ay * dir_x - ax * dir_y */
} limb_band;

/* An inclusive range of cells along one axis; empty when lo > hi. */
typedef struct cell_range {
  int lo, hi;
} cell_range;

/* v as an int within [lo, hi] (NaN gives lo), so that huge or infinite values cannot overflow. */
static int clamp_to_int(double v, int lo, int hi) {
  if (!(v >= lo)) return lo;
  if (v > hi) return hi;
  return (int)v;
}

/* The cells whose centre c * stride + half_stride lies in [lo_px, hi_px], widened by a cell each
 * side so that rounding in this division never drops a cell; a NaN bound does not constrain. */
static cell_range cells_between(const paf_geometry *g, double lo_px, double hi_px, int n_cells) {
  if (isnan(lo_px)) lo_px = -INFINITY;
  if (isnan(hi_px)) hi_px = INFINITY;
  double lo = floor((lo_px - g->half_stride) / g->stride) - 1;
  double hi = ceil((hi_px - g->half_stride) / g->stride) + 1;
  return (cell_range){clamp_to_int(lo, 0, n_cells), clamp_to_int(hi, -1, n_cells - 1)};
}

static cell_range intersect(cell_range a, cell_range b) {
  return (cell_range){a.lo > b.lo ? a.lo : b.lo, a.hi < b.hi ? a.hi : b.hi};
}

/* DeepLabCut's test for cell (col, row), in its order of operations so that cells on the band's
 * edge fall the same way: true when the cell is in the band, with 1 - |across| in *fade. */
static bool band_fade(const paf_geometry *g, const limb_band *b, int col, int row, double *fade) {
  double x = col * g->stride + g->half_stride, y = row * g->stride + g->half_stride;
  double along = b->dir_x * x + b->dir_y * y;
  if (!(along >= b->along_lo && along <= b->along_hi)) return false;
  double across = fabs(((y * b->dir_x - x * b->dir_y) - b->across_mid) / g->pafwidth * g->scale);
  if (!(across <= 1)) return false;
  *fade = 1 - across;
  return true;
}

/* The columns of one row that can hold band cells. The band is the strip D.A <= D.P <= D.B cut by
 * the strip |(P - A) . (-dir_y, dir_x)| <= half_width; each strip bounds x on a row when its
 * coefficient of x is not tiny (one of them always is not, as |D| = 1). The bounds are widened by
 * `slack` pixels, far more than the rounding of either side, and by a cell; band_fade decides. */
static cell_range row_columns(const paf_geometry *g, const limb_band *b, double half_width, double slack,
                              int row) {
  const double tiny = 1e-3;
  double y = row * g->stride + g->half_stride;
  cell_range cols = {0, g->map_width - 1};
  if (fabs(b->dir_x) >= tiny) {
    double x1 = (b->along_lo - slack - b->dir_y * y) / b->dir_x;
    double x2 = (b->along_hi + slack - b->dir_y * y) / b->dir_x;
    cols = intersect(cols, cells_between(g, fmin(x1, x2), fmax(x1, x2), g->map_width));
  }
  if (isfinite(half_width) && fabs(b->dir_y) >= tiny) {
    double x1 = (y * b->dir_x - b->across_mid - half_width - slack) / b->dir_y;
    double x2 = (y * b->dir_x - b->across_mid + half_width + slack) / b->dir_y;
    cols = intersect(cols, cells_between(g, fmin(x1, x2), fmax(x1, x2), g->map_width));
  }
  return cols;
}

/* Writes one limb's band into its two channels (plane = map_width * map_height), over whatever an
 * earlier animal wrote there. The rows come from the bounding box of the band's rectangle (corners
 * A and B moved half_width along the normal) and the columns from row_columns, unless a number is
 * not finite (a zero scale, coordinates near the double range, a bad stride): then every cell is
 * tested, which is still exact. */
static void write_band(const paf_geometry *g, const limb_band *b, float *paf_xy, float *mask_xy, bool set_mask) {
  size_t plane = (size_t)g->map_width * (size_t)g->map_height;
  double half_width = g->scale == 0 ? INFINITY : fabs(g->pafwidth / g->scale);
  double extent = fmax(g->map_width, g->map_height) * g->stride + g->half_stride;
  double slack = 1e-9 * (1 + fabs(b->ax) + fabs(b->ay) + fabs(b->bx) + fabs(b->by) + extent +
                         (isfinite(half_width) ? half_width : 0));
  bool banded = g->stride > 0 && isfinite(g->stride) && isfinite(slack) && isfinite(b->along_lo) &&
                isfinite(b->along_hi) && isfinite(b->across_mid) && fabs(b->dir_x) + fabs(b->dir_y) >= 0.5;
  cell_range rows = {0, g->map_height - 1};
  if (banded && isfinite(half_width)) {
    double reach = half_width * fabs(b->dir_x) + slack;
    rows = cells_between(g, fmin(b->ay, b->by) - reach, fmax(b->ay, b->by) + reach, g->map_height);
  }
  for (int row = rows.lo; row <= rows.hi; row++) {
    cell_range cols = banded ? row_columns(g, b, half_width, slack, row) : (cell_range){0, g->map_width - 1};
    for (int col = cols.lo; col <= cols.hi; col++) {
      double fade;
      if (!band_fade(g, b, col, row, &fade)) continue;
      size_t at = (size_t)row * (size_t)g->map_width + (size_t)col;
      paf_xy[at] = (float)(b->dir_x * fade);
      paf_xy[plane + at] = (float)(b->dir_y * fade);
      if (set_mask) mask_xy[at] = mask_xy[plane + at] = 1;
    }
  }
}

/* The first joint of an animal with this id and finite coordinates, or NULL. */
static const dlcc_joint *find_joint(const dlcc_joint *joints, size_t n, int id) {
  for (size_t k = 0; k < n; k++)
    if (joints[k].id == id && isfinite(joints[k].x) && isfinite(joints[k].y)) return &joints[k];
  return NULL;
}

/* The band of the limb from A to B, or false when they coincide: DeepLabCut's sqrt of the sum of
 * squares, not hypot, so that a length that underflows to 0 is skipped as there. */
static bool limb_band_of(const dlcc_joint *a, const dlcc_joint *b, limb_band *band) {
  double dx = b->x - a->x, dy = b->y - a->y;
  double length = sqrt(dx * dx + dy * dy);
  if (!(length > 0)) return false;
  band->ax = a->x;
  band->ay = a->y;
  band->bx = b->x;
  band->by = b->y;
  band->dir_x = dx / length;
  band->dir_y = dy / length;
  double along_a = band->dir_x * a->x + band->dir_y * a->y;
  double along_b = band->dir_x * b->x + band->dir_y * b->y;
  band->along_lo = fmin(along_a, along_b);
  band->along_hi = fmax(along_a, along_b);
  band->across_mid = a->y * band->dir_x - a->x * band->dir_y;
  return true;
}

static void fill(float *a, size_t n, float v) {
  for (size_t i = 0; i < n; i++) a[i] = v;
}

void dlcc_paf_targets_build(const dlcc_paf_params *p, const dlcc_joint *joints, const size_t *joints_per_animal,
                            size_t n_animals, int map_width, int map_height, float *paf, float *paf_mask) {
  if (p->num_limbs <= 0 || map_width <= 0 || map_height <= 0) return;
  size_t plane = (size_t)map_width * (size_t)map_height, channels = 2 * (size_t)p->num_limbs;
  fill(paf, channels * plane, 0);
  fill(paf_mask, channels * plane, p->weigh_only_present_joints ? 0 : 1);
  /* DeepLabCut divides by pafwidth; with 0 every across is infinite or NaN and no cell passes. */
  if (p->pafwidth == 0 || isnan(p->pafwidth)) return;

  paf_geometry g = {.stride = p->stride, .half_stride = floor(p->stride / 2), .pafwidth = p->pafwidth,
                    .scale = p->scale, .map_width = map_width, .map_height = map_height};
  size_t first = 0;
  for (size_t animal = 0; animal < n_animals; animal++) {
    size_t n_own = joints_per_animal[animal];
    const dlcc_joint *own = n_own ? joints + first : NULL;
    first += n_own;
    for (int l = 0; l < p->num_limbs; l++) {
      const dlcc_joint *a = find_joint(own, n_own, p->limbs[l].from);
      const dlcc_joint *b = a ? find_joint(own, n_own, p->limbs[l].to) : NULL;
      limb_band band;
      if (!b || !limb_band_of(a, b, &band)) continue;
      size_t ch = 2 * (size_t)l;
      write_band(&g, &band, paf + ch * plane, paf_mask + ch * plane, p->weigh_only_present_joints);
    }
  }
}
