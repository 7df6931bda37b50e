/* Tensors and layouts: owned buffers behind oneDNN memories, import/export at the engine's edges,
 * and cached reorders that bring data into the layout a primitive chose. */
#include "nn/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dnnl_data_type_t dlcc_nn_dtype_onednn(dlcc_nn_dtype dtype) {
  return dtype == DLCC_NN_BF16 ? dnnl_bf16 : dnnl_f32;
}

const char *dlcc_nn_dtype_name(dlcc_nn_dtype dtype) {
  return dtype == DLCC_NN_BF16 ? "bf16" : "f32";
}

static const char *const PRECISION_NAMES[] = {"f32", "bf16", "auto"};

dlcc_status dlcc_nn_precision_parse(const char *text, dlcc_nn_precision *out, dlcc_error *err) {
  for (int p = 0; p < 3; p++)
    if (strcmp(text, PRECISION_NAMES[p]) == 0) {
      *out = (dlcc_nn_precision)p;
      return DLCC_OK;
    }
  return dlcc_fail(err, DLCC_ERR_INVALID, "precision '%s': choose f32, bf16 or auto", text);
}

const char *dlcc_nn_precision_name(dlcc_nn_precision p) {
  return (unsigned)p < 3 ? PRECISION_NAMES[p] : "?";
}

dlcc_status dlcc_nn_precision_resolve(dlcc_nn_precision p, dlcc_nn_dtype *dtype, dlcc_error *err) {
  dlcc_nn_cpu_info cpu = dlcc_nn_cpu_info_get(NULL);
  if (p == DLCC_NN_PRECISION_BF16 && !cpu.bf16_available)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "bf16 needs a CPU with AVX-512 (oneDNN dispatches to %s here): use "
                     "--precision f32", cpu.isa);
  *dtype = p == DLCC_NN_PRECISION_BF16 || (p == DLCC_NN_PRECISION_AUTO && cpu.bf16_fast) ? DLCC_NN_BF16 : DLCC_NN_F32;
  return DLCC_OK;
}

const dnnl_memory_desc_t *dlcc_nn_memory_md(const_dnnl_memory_t mem) {
  const dnnl_memory_desc_t *md = NULL;
  if (mem && dnnl_memory_get_memory_desc(mem, &md) != dnnl_success) return NULL;
  return md;
}

static int compare_stride_desc(const int64_t *strides, int a, int b) {
  return strides[a] != strides[b] ? strides[a] > strides[b] : a < b;
}

/* Writes oneDNN's name of a blocked layout: dims outermost first, upper case when blocked, then the
 * inner blocks ("abcd" is nchw, "aBcd8b" is nChw8c). */
static void describe_blocking(const dnnl_memory_desc_t *md, char *buf, size_t size) {
  const dnnl_blocking_desc_t *bd = &md->format_desc.blocking;
  int order[DNNL_MAX_NDIMS], n = md->ndims;
  for (int i = 0; i < n; i++) order[i] = i;
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && !compare_stride_desc(bd->strides, order[j - 1], order[j]); j--) {
      int tmp = order[j];
      order[j] = order[j - 1];
      order[j - 1] = tmp;
    }
  size_t o = 0;
  for (int i = 0; i < n && o + 1 < size; i++) {
    int blocked = 0;
    for (int k = 0; k < bd->inner_nblks; k++) blocked |= bd->inner_idxs[k] == order[i];
    buf[o++] = (char)((blocked ? 'A' : 'a') + order[i]);
  }
  buf[o < size ? o : size - 1] = '\0';
  for (int k = 0; k < bd->inner_nblks && o + 1 < size; k++)
    o += (size_t)snprintf(buf + o, size - o, "%lld%c", (long long)bd->inner_blks[k], 'a' + (int)bd->inner_idxs[k]);
}

void dlcc_nn_md_describe(const dnnl_memory_desc_t *md, char *buf, size_t size) {
  if (!md || md->ndims == 0) {
    snprintf(buf, size, "empty");
    return;
  }
  size_t o = 0;
  for (int i = 0; i < md->ndims && o < size; i++)
    o += (size_t)snprintf(buf + o, size - o, "%s%lld", i ? "x" : "", (long long)md->dims[i]);
  const char *type = md->data_type == dnnl_bf16 ? "bf16" : md->data_type == dnnl_f32 ? "f32" : "other";
  if (o < size) o += (size_t)snprintf(buf + o, size - o, " %s ", type);
  if (o >= size) return;
  if (md->format_kind == dnnl_blocked) describe_blocking(md, buf + o, size - o);
  else snprintf(buf + o, size - o, "%s", md->format_kind == dnnl_format_kind_any ? "any" : "opaque");
}

dlcc_status dlcc_nn_buffer_set(dlcc_nn_buffer *b, dlcc_nn_engine *e, const dnnl_memory_desc_t *md,
                               dlcc_error *err) {
  const dnnl_memory_desc_t *current = dlcc_nn_memory_md(b->mem);
  if (current && dnnl_memory_desc_equal(current, md)) return DLCC_OK;
  size_t need = dnnl_memory_desc_get_size(md);
  if (need > b->capacity) {
    size_t rounded = (need + 63) / 64 * 64;
    void *bigger = aligned_alloc(64, rounded);
    if (!bigger) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for a %zu-byte tensor", need);
    free(b->data);
    b->data = bigger;
    b->capacity = rounded;
  }
  if (b->mem) dnnl_memory_destroy(b->mem);
  b->mem = NULL;
  return dlcc_nn_check(dnnl_memory_create(&b->mem, md, e->cpu, b->data), err, "creating a tensor's memory");
}

void dlcc_nn_buffer_free(dlcc_nn_buffer *b) {
  if (b->mem) dnnl_memory_destroy(b->mem);
  free(b->data);
  memset(b, 0, sizeof *b);
}

void dlcc_nn_tensor_init(dlcc_nn_tensor *t) {
  memset(t, 0, sizeof *t);
}

void dlcc_nn_tensor_free(dlcc_nn_tensor *t) {
  if (t->edges) {
    dlcc_nn_reorder_free(&t->edges->import);
    dlcc_nn_reorder_free(&t->edges->export_);
    if (t->edges->plain) dnnl_memory_destroy(t->edges->plain);
    free(t->edges);
  }
  dlcc_nn_buffer_free(&t->buf);
  dlcc_nn_tensor_init(t);
}

const dnnl_memory_desc_t *dlcc_nn_tensor_md(const dlcc_nn_tensor *t) {
  return dlcc_nn_memory_md(t->buf.mem);
}

size_t dlcc_nn_tensor_count(const dlcc_nn_tensor *t) {
  if (!t->buf.mem) return 0;
  return (size_t)(t->dims[0] * t->dims[1] * t->dims[2] * t->dims[3]);
}

dlcc_status dlcc_nn_tensor_set_layout(dlcc_nn_tensor *t, dlcc_nn_engine *e, const dnnl_memory_desc_t *md,
                                      dlcc_error *err) {
  if (md->ndims != 4 || (md->data_type != dnnl_f32 && md->data_type != dnnl_bf16))
    return dlcc_fail(err, DLCC_ERR_INVALID, "a tensor is 4-D (N, C, H, W) in f32 or bf16");
  dlcc_status st = dlcc_nn_buffer_set(&t->buf, e, md, err);
  if (st) return st;
  memcpy(t->dims, md->dims, sizeof t->dims);
  t->dtype = md->data_type == dnnl_bf16 ? DLCC_NN_BF16 : DLCC_NN_F32;
  return DLCC_OK;
}

dlcc_status dlcc_nn_tensor_set_shape(dlcc_nn_tensor *t, dlcc_nn_engine *e, const int64_t dims[4],
                                     dlcc_nn_dtype dtype, dnnl_format_tag_t tag, dlcc_error *err) {
  for (int i = 0; i < 4; i++)
    if (dims[i] <= 0)
      return dlcc_fail(err, DLCC_ERR_INVALID, "tensor dims must be positive, got %lldx%lldx%lldx%lld",
                       (long long)dims[0], (long long)dims[1], (long long)dims[2], (long long)dims[3]);
  dnnl_memory_desc_t md;
  dnnl_dims_t full = {dims[0], dims[1], dims[2], dims[3]}; /* oneDNN reads DNNL_MAX_NDIMS entries */
  dlcc_status st = dlcc_nn_check(dnnl_memory_desc_init_by_tag(&md, 4, full, dlcc_nn_dtype_onednn(dtype), tag),
                                 err, "describing a tensor");
  return st ? st : dlcc_nn_tensor_set_layout(t, e, &md, err);
}

dlcc_status dlcc_nn_reorder_run(dlcc_nn_reorder *r, dlcc_nn_engine *e, dnnl_memory_t from, dnnl_memory_t to,
                                dlcc_error *err) {
  const dnnl_memory_desc_t *from_md = dlcc_nn_memory_md(from), *to_md = dlcc_nn_memory_md(to);
  if (!r->prim.prim || !dnnl_memory_desc_equal(&r->from, from_md) || !dnnl_memory_desc_equal(&r->to, to_md)) {
    dlcc_nn_prim_destroy(&r->prim);
    dnnl_primitive_desc_t pd = NULL;
    dlcc_status st = dlcc_nn_check(dnnl_reorder_primitive_desc_create(&pd, from_md, e->cpu, to_md, e->cpu, e->attr),
                                   err, "creating a reorder");
    if (!st) st = dlcc_nn_prim_create(&r->prim, e, pd, "creating a reorder", err);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (st) return st;
    r->from = *from_md;
    r->to = *to_md;
  }
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  return dlcc_nn_prim_run(&r->prim, e, 2, args, "reordering a tensor", err);
}

void dlcc_nn_reorder_free(dlcc_nn_reorder *r) {
  dlcc_nn_prim_destroy(&r->prim);
  memset(r, 0, sizeof *r);
}

static dlcc_status prepare_edges(dlcc_nn_tensor *t, dlcc_nn_engine *e, dlcc_error *err) {
  if (!t->edges && !(t->edges = calloc(1, sizeof *t->edges)))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory importing a tensor");
  dlcc_nn_tensor_edges *ed = t->edges;
  dnnl_memory_desc_t plain_md;
  dnnl_dims_t dims = {t->dims[0], t->dims[1], t->dims[2], t->dims[3]};
  dlcc_status st = dlcc_nn_check(dnnl_memory_desc_init_by_tag(&plain_md, 4, dims, dnnl_f32, dnnl_nchw), err,
                                 "describing plain NCHW data");
  if (st) return st;
  if (ed->plain && dnnl_memory_desc_equal(&ed->plain_md, &plain_md)) return DLCC_OK;
  if (ed->plain) dnnl_memory_destroy(ed->plain);
  ed->plain = NULL;
  ed->plain_md = plain_md;
  return dlcc_nn_check(dnnl_memory_create(&ed->plain, &plain_md, e->cpu, DNNL_MEMORY_NONE), err,
                       "wrapping plain NCHW data");
}

dlcc_status dlcc_nn_tensor_import_nchw(dlcc_nn_tensor *t, dlcc_nn_engine *e, const float *src,
                                       const int64_t dims[4], dlcc_nn_dtype dtype, dlcc_error *err) {
  dlcc_status st = DLCC_OK;
  if (!t->buf.mem || memcmp(t->dims, dims, sizeof t->dims) != 0 || t->dtype != dtype)
    st = dlcc_nn_tensor_set_shape(t, e, dims, dtype, dnnl_nchw, err);
  if (!st) st = prepare_edges(t, e, err);
  /* oneDNN reads through a non-const handle; the reorder never writes its source. */
  if (!st) st = dlcc_nn_check(dnnl_memory_set_data_handle(t->edges->plain, (void *)(uintptr_t)src), err,
                              "wrapping plain NCHW data");
  if (!st) st = dlcc_nn_reorder_run(&t->edges->import, e, t->edges->plain, t->buf.mem, err);
  return st;
}

dlcc_status dlcc_nn_tensor_export_nchw(dlcc_nn_tensor *t, dlcc_nn_engine *e, float *dst, dlcc_error *err) {
  if (!t->buf.mem) return dlcc_fail(err, DLCC_ERR_INVALID, "exporting an empty tensor");
  dlcc_status st = prepare_edges(t, e, err);
  if (!st) st = dlcc_nn_check(dnnl_memory_set_data_handle(t->edges->plain, dst), err, "wrapping plain NCHW data");
  if (!st) st = dlcc_nn_reorder_run(&t->edges->export_, e, t->buf.mem, t->edges->plain, err);
  return st;
}

void dlcc_nn_convert_init(dlcc_nn_convert *c) {
  memset(c, 0, sizeof *c);
}

dlcc_status dlcc_nn_convert_run(dlcc_nn_convert *c, dlcc_nn_engine *e, dnnl_memory_t src,
                                const dnnl_memory_desc_t *want, dnnl_memory_t *result, dlcc_error *err) {
  *result = NULL;
  if (dnnl_memory_desc_equal(dlcc_nn_memory_md(src), want)) {
    *result = src;
    return DLCC_OK;
  }
  dlcc_status st = dlcc_nn_buffer_set(&c->out, e, want, err);
  if (!st) st = dlcc_nn_reorder_run(&c->reorder, e, src, c->out.mem, err);
  if (!st) *result = c->out.mem;
  return st;
}

void dlcc_nn_convert_free(dlcc_nn_convert *c) {
  dlcc_nn_reorder_free(&c->reorder);
  dlcc_nn_buffer_free(&c->out);
}
