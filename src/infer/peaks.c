/* Peaks of multi-animal score maps: Gaussian smoothing, max-pool NMS, threshold, locref placement.
 * See peaks.h for DeepLabCut's semantics. The 2D kernel is an outer product, so the convolution runs
 * as two 1D passes (accumulated in double); the max-pool likewise. */
#include "infer/peaks.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

struct dlcc_peak_finder {
  dlcc_peak_params p;
  double *kernel;           /* [2r+1] */
  size_t cells_capacity;    /* of the scratch maps, in cells */
  double *row_pass;         /* the horizontal pass of the convolution */
  float *smooth;            /* one smoothed score map */
  float *row_max;           /* the horizontal pass of the max-pool */
  float *pooled;
  float *smooth_locref;     /* [2][cells]: one joint's smoothed dx, dy (locref_smooth) */
};

void dlcc_peak_params_init(dlcc_peak_params *p, int num_joints, double stride, double locref_stdev) {
  p->num_joints = num_joints;
  p->stride = stride;
  p->location_refinement = true;
  p->locref_stdev = locref_stdev;
  p->locref_smooth = false;
  p->nms_radius = 5;
  p->sigma = 1.0;
  p->min_confidence = 0.01;
}

void dlcc_peaks_free(dlcc_peaks *peaks) {
  if (!peaks) return;
  free(peaks->first);
  free(peaks->peaks);
  *peaks = (dlcc_peaks){0};
}

void dlcc_peak_finder_free(dlcc_peak_finder *finder) {
  if (!finder) return;
  free(finder->kernel);
  free(finder->row_pass);
  free(finder->smooth);
  free(finder->row_max);
  free(finder->pooled);
  free(finder->smooth_locref);
  free(finder);
}

dlcc_status dlcc_peak_finder_create(dlcc_peak_finder **finder, const dlcc_peak_params *p, dlcc_error *err) {
  *finder = NULL;
  if (p->num_joints <= 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot find peaks: num_joints is %d; it must be at least 1 "
                     "(pose_cfg.yaml's num_joints)", p->num_joints);
  if (!(p->stride > 0) || !isfinite(p->stride))
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot find peaks: stride is %g; it must be a positive number "
                     "(pose_cfg.yaml's stride, 8 for DeepLabCut's networks)", p->stride);
  if (p->location_refinement && !isfinite(p->locref_stdev))
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot find peaks: locref_stdev is %g; it must be finite "
                     "(pose_cfg.yaml's locref_stdev, 7.2801 by default)", p->locref_stdev);
  if (p->nms_radius < 1 || p->nms_radius > 1000)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot find peaks: nmsradius is %d; it must be between 1 and 1000 "
                     "(pose_cfg.yaml's nmsradius, 5 by default)", p->nms_radius);
  if (!(p->sigma > 0) || !isfinite(p->sigma))
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot find peaks: sigma is %g; the smoothing kernel needs a "
                     "positive sigma (pose_cfg.yaml's sigma, 1 by default)", p->sigma);
  if (!isfinite(p->min_confidence))
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot find peaks: minconfidence is %g; it must be a number "
                     "(pose_cfg.yaml's minconfidence, 0.01 by default)", p->min_confidence);
  dlcc_peak_finder *f = calloc(1, sizeof *f);
  int r = p->nms_radius, size = 2 * r + 1;
  if (f) f->kernel = malloc((size_t)size * sizeof *f->kernel);
  if (!f || !f->kernel) {
    dlcc_peak_finder_free(f);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for the peak finder's kernel");
  }
  f->p = *p;
  /* make_2d_gaussian_kernel: softmax of -k^2 / (2 sigma^2) over k = -r..r, in f32. */
  float scale = (float)(2.0 * p->sigma * p->sigma), logits[2 * 1000 + 1], top = 0.0f;
  for (int k = -r; k <= r; k++) logits[k + r] = -(float)(k * k) / scale;
  float sum = 0.0f, values[2 * 1000 + 1];
  for (int i = 0; i < size; i++) sum += values[i] = expf(logits[i] - top);
  for (int i = 0; i < size; i++) f->kernel[i] = (double)(values[i] / sum);
  *finder = f;
  return DLCC_OK;
}

static dlcc_status grow_scratch(dlcc_peak_finder *f, size_t cells, dlcc_error *err) {
  if (cells <= f->cells_capacity) return DLCC_OK;
  double *row_pass = realloc(f->row_pass, cells * sizeof *row_pass);
  if (row_pass) f->row_pass = row_pass;
  float *smooth = realloc(f->smooth, cells * sizeof *smooth);
  if (smooth) f->smooth = smooth;
  float *row_max = realloc(f->row_max, cells * sizeof *row_max);
  if (row_max) f->row_max = row_max;
  float *pooled = realloc(f->pooled, cells * sizeof *pooled);
  if (pooled) f->pooled = pooled;
  float *smooth_locref = realloc(f->smooth_locref, 2 * cells * sizeof *smooth_locref);
  if (smooth_locref) f->smooth_locref = smooth_locref;
  if (!row_pass || !smooth || !row_max || !pooled || !smooth_locref)
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for the peak finder's maps (%zu cells)", cells);
  f->cells_capacity = cells;
  return DLCC_OK;
}

static dlcc_status grow_peaks(dlcc_peaks *out, size_t need, dlcc_error *err) {
  if (need <= out->capacity) return DLCC_OK;
  size_t capacity = out->capacity ? out->capacity : 64;
  while (capacity < need) capacity *= 2;
  dlcc_peak *peaks = realloc(out->peaks, capacity * sizeof *peaks);
  if (!peaks) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for %zu peaks", need);
  out->peaks = peaks;
  out->capacity = capacity;
  return DLCC_OK;
}

/* The "SAME" depthwise convolution of one map with the 2D kernel: zeros outside the map. */
static void smooth_map(const dlcc_peak_finder *f, const float *in, int height, int width, float *out) {
  int r = f->p.nms_radius;
  const double *k = f->kernel;
  for (int y = 0; y < height; y++) {
    const float *row = in + (size_t)y * width;
    double *dst = f->row_pass + (size_t)y * width;
    for (int x = 0; x < width; x++) {
      int lo = x - r < 0 ? -x : -r, hi = x + r >= width ? width - 1 - x : r;
      double acc = 0.0;
      for (int d = lo; d <= hi; d++) acc += k[d + r] * (double)row[x + d];
      dst[x] = acc;
    }
  }
  for (int y = 0; y < height; y++) {
    int lo = y - r < 0 ? -y : -r, hi = y + r >= height ? height - 1 - y : r;
    for (int x = 0; x < width; x++) {
      double acc = 0.0;
      for (int d = lo; d <= hi; d++) acc += k[d + r] * f->row_pass[(size_t)(y + d) * width + x];
      out[(size_t)y * width + x] = (float)acc;
    }
  }
}

/* tf.nn.max_pool2d with a window of n x n cells, stride 1, "SAME": the window covers offsets
 * -(n-1)/2 .. n/2 and cells outside the map take no part. */
static void max_pool(dlcc_peak_finder *f, const float *in, int height, int width, float *out) {
  int n = f->p.nms_radius, before = (n - 1) / 2, after = n / 2;
  for (int y = 0; y < height; y++) {
    const float *row = in + (size_t)y * width;
    float *dst = f->row_max + (size_t)y * width;
    for (int x = 0; x < width; x++) {
      int lo = x - before < 0 ? 0 : x - before, hi = x + after >= width ? width - 1 : x + after;
      float m = row[lo];
      for (int i = lo + 1; i <= hi; i++) m = row[i] > m ? row[i] : m;
      dst[x] = m;
    }
  }
  for (int y = 0; y < height; y++) {
    int lo = y - before < 0 ? 0 : y - before, hi = y + after >= height ? height - 1 : y + after;
    for (int x = 0; x < width; x++) {
      float m = f->row_max[(size_t)lo * width + x];
      for (int i = lo + 1; i <= hi; i++) {
        float v = f->row_max[(size_t)i * width + x];
        m = v > m ? v : m;
      }
      out[(size_t)y * width + x] = m;
    }
  }
}

/* np.round(v, 3) of a float64 value: scale, round half to even, unscale. */
static double round3(double v) {
  return rint(v * 1000.0) / 1000.0;
}

/* np.round(v, 3) of a float32 value: the same steps in f32. */
static float round3_f32(float v) {
  return rintf(v * 1000.0f) / 1000.0f;
}

dlcc_status dlcc_find_peaks(dlcc_peak_finder *f, const float *prob, const float *locref, int map_height,
                            int map_width, dlcc_peaks *out, dlcc_error *err) {
  const dlcc_peak_params *p = &f->p;
  if (map_height <= 0 || map_width <= 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot find peaks on a %d x %d score map; it needs at least one "
                     "cell", map_width, map_height);
  if (p->location_refinement && !locref)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot find peaks: location refinement is on but no locref maps "
                     "were given");
  size_t cells = (size_t)map_height * (size_t)map_width;
  dlcc_status st = grow_scratch(f, cells, err);
  if (st) return st;
  if (out->first_capacity < p->num_joints) {
    size_t *first = realloc(out->first, ((size_t)p->num_joints + 1) * sizeof *first);
    if (!first) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for the peak lists");
    out->first = first;
    out->first_capacity = p->num_joints;
  }
  out->num_joints = p->num_joints;
  out->count = 0;
  float threshold = (float)p->min_confidence, stdev = (float)p->locref_stdev;
  double half = floor(p->stride / 2.0);
  for (int j = 0; j < p->num_joints; j++) {
    out->first[j] = out->count;
    const float *map = prob + (size_t)j * cells;
    for (size_t i = 0; i < cells; i++)
      if (isnan(map[i]))
        return dlcc_fail(err, DLCC_ERR_INVALID, "the network's score map holds NaN (joint %d, cell x=%zu, "
                         "y=%zu); the snapshot is corrupt or its training diverged", j, i % (size_t)map_width,
                         i / (size_t)map_width);
    smooth_map(f, map, map_height, map_width, f->smooth);
    max_pool(f, f->smooth, map_height, map_width, f->pooled);
    const float *dx = NULL, *dy = NULL;
    if (p->location_refinement) {
      dx = locref + (size_t)(2 * j) * cells;
      dy = locref + (size_t)(2 * j + 1) * cells;
      if (p->locref_smooth) {
        smooth_map(f, dx, map_height, map_width, f->smooth_locref);
        smooth_map(f, dy, map_height, map_width, f->smooth_locref + cells);
        dx = f->smooth_locref;
        dy = f->smooth_locref + cells;
      }
    }
    for (size_t i = 0; i < cells; i++) {
      /* maxima = smoothed * (smoothed == pooled); a peak where maxima >= threshold. */
      float maxima = f->smooth[i] == f->pooled[i] ? f->smooth[i] : 0.0f;
      if (!(maxima >= threshold)) continue;
      st = grow_peaks(out, out->count + 1, err);
      if (st) return st;
      int row = (int)(i / (size_t)map_width), col = (int)(i % (size_t)map_width);
      double x = col * p->stride + half, y = row * p->stride + half;
      if (dx) {
        x += (double)(dx[i] * stdev);
        y += (double)(dy[i] * stdev);
      }
      out->peaks[out->count++] = (dlcc_peak){round3(x), round3(y), (double)round3_f32(map[i]), row, col};
    }
  }
  out->first[p->num_joints] = out->count;
  return DLCC_OK;
}
