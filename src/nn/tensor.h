/* The engine's one tensor type: logical shape (N, C, H, W), data type, and a oneDNN memory in
 * whatever layout the primitive that produced it chose (plain nchw, or blocked such as nChw8c).
 * Data enters and leaves in plain NCHW f32 through import/export; inside the engine, conversions
 * between layouts are cached reorders (dlcc_nn_reorder, dlcc_nn_convert). */
#ifndef DLCC_NN_TENSOR_H
#define DLCC_NN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include <dnnl.h>

#include "nn/engine.h"
#include "util/error.h"

typedef enum dlcc_nn_dtype {
  DLCC_NN_F32 = 0,
  DLCC_NN_BF16 = 1
} dlcc_nn_dtype;

dnnl_data_type_t dlcc_nn_dtype_onednn(dlcc_nn_dtype dtype);
const char *dlcc_nn_dtype_name(dlcc_nn_dtype dtype); /* "f32", "bf16" */

/* The data type a network computes in, as the user asks for it: AUTO is bf16 where the CPU does bf16
 * arithmetic natively (AVX512-BF16 or AMX), else f32. F32 is the zero value and the default: bf16
 * activations move keypoints by a fraction of a pixel (docs/performance.md), so faster is the
 * user's choice. */
typedef enum dlcc_nn_precision {
  DLCC_NN_PRECISION_F32 = 0,
  DLCC_NN_PRECISION_BF16,
  DLCC_NN_PRECISION_AUTO
} dlcc_nn_precision;

/* "f32", "bf16", "auto" (what --precision takes); fails naming the choices. */
dlcc_status dlcc_nn_precision_parse(const char *text, dlcc_nn_precision *out, dlcc_error *err);
const char *dlcc_nn_precision_name(dlcc_nn_precision p);
/* The data type for p on this CPU; bf16 asked for where oneDNN has no bf16 kernels (below AVX-512)
 * fails saying to use f32. */
dlcc_status dlcc_nn_precision_resolve(dlcc_nn_precision p, dlcc_nn_dtype *dtype, dlcc_error *err);

/* A cached reorder between two layouts: rebuilt only when asked for a different pair. */
typedef struct dlcc_nn_reorder {
  dnnl_memory_desc_t from, to;
  dlcc_nn_prim prim; /* prim.prim NULL until first use */
} dlcc_nn_reorder;

/* Import and export reorders of a tensor, with the wrapper over the caller's plain f32 buffer. */
typedef struct dlcc_nn_tensor_edges {
  dlcc_nn_reorder import, export_;
  dnnl_memory_t plain;          /* over the caller's buffer, pointer replaced at each use */
  dnnl_memory_desc_t plain_md;  /* plain f32 nchw of the current shape */
} dlcc_nn_tensor_edges;

/* A oneDNN memory over an owned, 64-byte aligned allocation that grows and never shrinks. */
typedef struct dlcc_nn_buffer {
  dnnl_memory_t mem;  /* NULL while empty; its descriptor is the layout */
  void *data;
  size_t capacity;    /* bytes */
} dlcc_nn_buffer;

/* Gives b the layout md. Keeps the allocation when it is large enough and the memory object when
 * md is unchanged, so a steady shape costs nothing; contents are undefined after a change. */
dlcc_status dlcc_nn_buffer_set(dlcc_nn_buffer *b, dlcc_nn_engine *e, const dnnl_memory_desc_t *md,
                               dlcc_error *err);
void dlcc_nn_buffer_free(dlcc_nn_buffer *b);

typedef struct dlcc_nn_tensor {
  int64_t dims[4];       /* N, C, H, W */
  dlcc_nn_dtype dtype;
  dlcc_nn_buffer buf;    /* buf.mem is the data in the layout in use */
  dlcc_nn_tensor_edges *edges; /* allocated at the first import/export */
} dlcc_nn_tensor;

/* An empty tensor (no allocation); dlcc_nn_tensor_free releases whatever it acquired since. */
void dlcc_nn_tensor_init(dlcc_nn_tensor *t);
void dlcc_nn_tensor_free(dlcc_nn_tensor *t);

/* The layout in use (NULL while empty). */
const dnnl_memory_desc_t *dlcc_nn_tensor_md(const dlcc_nn_tensor *t);

/* Gives t the layout md (4-D, f32 or bf16), see dlcc_nn_buffer_set. */
dlcc_status dlcc_nn_tensor_set_layout(dlcc_nn_tensor *t, dlcc_nn_engine *e, const dnnl_memory_desc_t *md,
                                      dlcc_error *err);
/* Same with a plain or blocked format tag (dnnl_nchw, dnnl_nChw8c, dnnl_nhwc, ...). */
dlcc_status dlcc_nn_tensor_set_shape(dlcc_nn_tensor *t, dlcc_nn_engine *e, const int64_t dims[4],
                                     dlcc_nn_dtype dtype, dnnl_format_tag_t tag, dlcc_error *err);

/* Number of elements N*C*H*W (0 when empty). */
size_t dlcc_nn_tensor_count(const dlcc_nn_tensor *t);

/* Copies plain NCHW f32 data (dims) into t, converting to dtype. When t already has these dims
 * and dtype its layout is kept (so a caller may choose the layout a first layer prefers), else t
 * becomes plain nchw. */
dlcc_status dlcc_nn_tensor_import_nchw(dlcc_nn_tensor *t, dlcc_nn_engine *e, const float *src,
                                       const int64_t dims[4], dlcc_nn_dtype dtype, dlcc_error *err);
/* Copies t into dst as plain NCHW f32 (dlcc_nn_tensor_count(t) floats). */
dlcc_status dlcc_nn_tensor_export_nchw(dlcc_nn_tensor *t, dlcc_nn_engine *e, float *dst, dlcc_error *err);

/* Runs the reorder from -> to, (re)creating its primitive when the pair differs from last time. */
dlcc_status dlcc_nn_reorder_run(dlcc_nn_reorder *r, dlcc_nn_engine *e, dnnl_memory_t from, dnnl_memory_t to,
                                dlcc_error *err);
void dlcc_nn_reorder_free(dlcc_nn_reorder *r);

/* Brings data into the layout a primitive wants: the data itself when its layout already matches,
 * else a reordered copy held in `out` (reused while shapes stay the same). */
typedef struct dlcc_nn_convert {
  dlcc_nn_reorder reorder;
  dlcc_nn_buffer out;
} dlcc_nn_convert;

void dlcc_nn_convert_init(dlcc_nn_convert *c);
/* Sets *result to a memory holding src in layout want (src itself, or c's copy). */
dlcc_status dlcc_nn_convert_run(dlcc_nn_convert *c, dlcc_nn_engine *e, dnnl_memory_t src,
                                const dnnl_memory_desc_t *want, dnnl_memory_t *result, dlcc_error *err);
void dlcc_nn_convert_free(dlcc_nn_convert *c);

/* The memory descriptor of a memory object. */
const dnnl_memory_desc_t *dlcc_nn_memory_md(const_dnnl_memory_t mem);
/* "2x64x32x32 f32 nChw8c"-style description of a layout, for messages and logs. */
void dlcc_nn_md_describe(const dnnl_memory_desc_t *md, char *buf, size_t size);

#endif
