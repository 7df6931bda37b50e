/* Helpers shared by the layer tests (tests/test_nn_<layer>.c): tensors in and out of the engine
 * as plain NCHW f32, the error measure of the PyTorch comparisons, fixture reading and the bf16
 * probe. Header-only (static inline) so that each test stays one executable without build changes. */
#ifndef DLCC_TESTS_NN_LAYERTEST_H
#define DLCC_TESTS_NN_LAYERTEST_H

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nn/engine.h"
#include "nn/safetensors.h"
#include "nn/tensor.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/rng.h"

static inline size_t lt_count4(const int64_t d[4]) {
  return (size_t)(d[0] * d[1] * d[2] * d[3]);
}

static inline void lt_fill_normal(dlcc_rng *rng, float *v, size_t n, double scale) {
  for (size_t i = 0; i < n; i++) v[i] = (float)(dlcc_rng_normal(rng) * scale);
}

static inline dlcc_nn_engine *lt_engine(void) {
  dlcc_nn_engine *e = NULL;
  dlcc_error err;
  if (dlcc_nn_engine_create(&e, 0, &err)) fail_msg("%s", err.message);
  return e;
}

static inline void lt_import(dlcc_nn_tensor *t, dlcc_nn_engine *e, const float *v, const int64_t dims[4]) {
  dlcc_error err;
  if (dlcc_nn_tensor_import_nchw(t, e, v, dims, DLCC_NN_F32, &err)) fail_msg("%s", err.message);
}

/* Imports v into t in a chosen layout (dnnl_nChw8c, ...) instead of plain nchw. */
static inline void lt_import_as(dlcc_nn_tensor *t, dlcc_nn_engine *e, const float *v, const int64_t dims[4],
                                dnnl_format_tag_t tag) {
  dlcc_error err;
  if (dlcc_nn_tensor_set_shape(t, e, dims, DLCC_NN_F32, tag, &err) ||
      dlcc_nn_tensor_import_nchw(t, e, v, dims, DLCC_NN_F32, &err))
    fail_msg("%s", err.message);
}

/* t exported into a new plain NCHW f32 array (caller frees). */
static inline float *lt_export(dlcc_nn_tensor *t, dlcc_nn_engine *e) {
  float *v = malloc(dlcc_nn_tensor_count(t) * sizeof *v + 1);
  dlcc_error err;
  if (dlcc_nn_tensor_export_nchw(t, e, v, &err)) fail_msg("%s", err.message);
  return v;
}

/* The layout of t in oneDNN's notation, "2x5x4x3 f32 aBcd8b". */
static inline void lt_layout(const dlcc_nn_tensor *t, char *buf, size_t size) {
  dlcc_nn_md_describe(dlcc_nn_tensor_md(t), buf, size);
}

/* max |a - b| / max |b|: the error relative to the reference's scale. */
static inline double lt_relative_error(const float *a, const float *b, size_t n) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < n; i++) {
    diff = fmax(diff, fabs((double)a[i] - (double)b[i]));
    scale = fmax(scale, fabs((double)b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

/* Largest |numeric - analytic|; *scale receives the largest |numeric|. */
static inline double lt_max_gap(const double *numeric, const float *analytic, size_t n, double *scale) {
  double gap = 0;
  *scale = 0;
  for (size_t i = 0; i < n; i++) {
    gap = fmax(gap, fabs(numeric[i] - analytic[i]));
    *scale = fmax(*scale, fabs(numeric[i]));
  }
  return gap;
}

/* ---- PyTorch fixtures (tools/make-golden.py) ---------------------------------------------- */

static inline dlcc_safetensors *lt_fixture_open(const char *fixture) {
  const char *dir = getenv("DLCC_FIXTURES") ? getenv("DLCC_FIXTURES") : "tests/fixtures";
  char *path = dlcc_strdupf("%s/%s.safetensors", dir, fixture);
  dlcc_safetensors *st = NULL;
  dlcc_error err;
  if (dlcc_safetensors_open(path, &st, &err)) fail_msg("%s", err.message);
  free(path);
  return st;
}

static inline int64_t lt_meta_int(const dlcc_safetensors *st, const char *key) {
  const char *v = dlcc_safetensors_meta(st, key);
  if (!v) fail_msg("%s: metadata %s missing", st->path, key);
  return strtoll(v, NULL, 10);
}

static inline const char *lt_meta(const dlcc_safetensors *st, const char *key) {
  const char *v = dlcc_safetensors_meta(st, key);
  if (!v) fail_msg("%s: metadata %s missing", st->path, key);
  return v;
}

/* A 4-D fixture tensor: its values (caller frees) and dims. */
static inline float *lt_read4(const dlcc_safetensors *st, const char *name, int64_t dims[4]) {
  const dlcc_st_tensor *t = dlcc_safetensors_find(st, name);
  if (!t) fail_msg("%s: no tensor %s", st->path, name);
  if (t->ndims != 4) fail_msg("%s: %s is not 4-D", st->path, name);
  for (int i = 0; i < 4; i++) dims[i] = t->shape[i];
  float *v = malloc(t->nbytes + 1);
  dlcc_error err;
  if (dlcc_safetensors_read_f32(st, name, 4, t->shape, v, &err)) fail_msg("%s", err.message);
  return v;
}

/* got (n floats, plain NCHW) against the fixture's tensor name: relative error below 1e-4. */
static inline void lt_expect_close(const dlcc_safetensors *st, const char *name, const float *got, size_t n) {
  int64_t dims[4];
  float *want = lt_read4(st, name, dims);
  assert_int_equal(lt_count4(dims), n);
  double rel = lt_relative_error(got, want, n);
  if (rel >= 1e-4) fail_msg("%s: %s differs from PyTorch by %g (relative)", st->path, name, rel);
  free(want);
}

/* ---- bf16 --------------------------------------------------------------------------------- */

/* Whether oneDNN has bf16 kernels on this CPU; *isa names the CPU's instruction set. */
/* What oneDNN dispatches to here, read through a throw-away engine. */
static inline dlcc_nn_cpu_info lt_cpu_info(void) {
  dlcc_nn_engine *probe = lt_engine();
  dlcc_nn_cpu_info info = dlcc_nn_cpu_info_get(probe);
  dlcc_nn_engine_free(probe);
  return info;
}

static inline bool lt_cpu_has_bf16(const char **isa) {
  dlcc_nn_cpu_info info = lt_cpu_info();
  *isa = info.isa;
  return info.bf16_available;
}

/* The channel-blocked layout oneDNN's kernels use on this CPU: 16 channels per block from AVX-512 on,
 * 8 below. (oneDNN 2.6.3's binary add computes wrong values on the other block size: nChw16c on
 * AVX2, and overruns nChw8c buffers on AVX-512; dlcc's tensors never hold a foreign block size.) */
static inline dnnl_format_tag_t lt_native_blocked_tag(const char **layout_suffix) {
  bool avx512 = strncmp(lt_cpu_info().isa, "avx512", 6) == 0;
  *layout_suffix = avx512 ? "aBcd16b" : "aBcd8b";
  return avx512 ? dnnl_nChw16c : dnnl_nChw8c;
}

/* Imports plain f32 v into t as bf16. */
static inline void lt_import_bf16(dlcc_nn_tensor *t, dlcc_nn_engine *e, const float *v, const int64_t dims[4]) {
  dlcc_error err;
  if (dlcc_nn_tensor_import_nchw(t, e, v, dims, DLCC_NN_BF16, &err)) fail_msg("%s", err.message);
}

#endif
