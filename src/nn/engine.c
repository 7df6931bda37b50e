/* The oneDNN CPU engine: creation with a thread count, ISA report, error glue and primitives that
 * share one user-managed scratchpad (so that execution never allocates). */
#include "nn/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dnnl_debug.h>
#ifdef DLCC_HAVE_OPENMP
#include <omp.h>
#endif

static const char *isa_name(dnnl_cpu_isa_t isa);

dlcc_status dlcc_nn_check(dnnl_status_t status, dlcc_error *err, const char *what) {
  switch (status) {
    case dnnl_success: return DLCC_OK;
    case dnnl_out_of_memory:
      return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: oneDNN ran out of memory", what);
    case dnnl_unimplemented:
      return dlcc_fail(err, DLCC_ERR_UNSUPPORTED,
                       "%s: oneDNN has no implementation for this shape and data type on this CPU (ISA %s)",
                       what, isa_name(dnnl_get_effective_cpu_isa()));
    default:
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: oneDNN reports %s", what,
                       dnnl_status2str(status));
  }
}

static int apply_threads(int threads) {
#ifdef DLCC_HAVE_OPENMP
  if (threads > 0) omp_set_num_threads(threads);
  return omp_get_max_threads();
#else
  (void)threads; /* without OpenMP headers, OMP_NUM_THREADS still reaches oneDNN's libgomp */
  return 0;
#endif
}

dlcc_status dlcc_nn_engine_create(dlcc_nn_engine **out, int threads, dlcc_error *err) {
  *out = NULL;
  if (threads < 0) return dlcc_fail(err, DLCC_ERR_INVALID, "--threads must be >= 0, got %d", threads);
  dlcc_nn_engine *e = calloc(1, sizeof *e);
  if (!e) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating the compute engine");
  e->threads = apply_threads(threads);
  dlcc_status st = dlcc_nn_check(dnnl_engine_create(&e->cpu, dnnl_cpu, 0), err, "creating the CPU engine");
  if (!st) st = dlcc_nn_check(dnnl_stream_create(&e->stream, e->cpu, dnnl_stream_default_flags), err,
                              "creating the CPU stream");
  if (!st) st = dlcc_nn_check(dnnl_primitive_attr_create(&e->attr), err, "creating primitive attributes");
  if (!st) st = dlcc_nn_check(dnnl_primitive_attr_set_scratchpad_mode(e->attr, dnnl_scratchpad_mode_user),
                              err, "selecting user-managed scratchpads");
  if (st) {
    dlcc_nn_engine_free(e);
    return st;
  }
  *out = e;
  return DLCC_OK;
}

void dlcc_nn_engine_free(dlcc_nn_engine *e) {
  if (!e) return;
  if (e->attr) dnnl_primitive_attr_destroy(e->attr);
  if (e->stream) dnnl_stream_destroy(e->stream);
  if (e->cpu) dnnl_engine_destroy(e->cpu);
  free(e->scratch);
  free(e);
}

static const char *isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "generic";
  }
}

/* The ISA values are bit sets: each level contains the bits of the levels it extends. */
static bool isa_has(dnnl_cpu_isa_t isa, dnnl_cpu_isa_t level) {
  return ((unsigned)isa & (unsigned)level) == (unsigned)level;
}

dlcc_nn_cpu_info dlcc_nn_cpu_info_get(const dlcc_nn_engine *e) {
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  const dnnl_version_t *v = dnnl_version();
  dlcc_nn_cpu_info info = {
    .isa = isa_name(isa),
    .bf16_available = isa_has(isa, dnnl_cpu_isa_avx512_core),
    .bf16_fast = isa_has(isa, dnnl_cpu_isa_avx512_core_bf16),
    .channel_block = isa_has(isa, dnnl_cpu_isa_avx512_core) ? 16 : 8,
    .threads = e ? e->threads : 0,
    .onednn_major = v->major,
    .onednn_minor = v->minor,
    .onednn_patch = v->patch,
  };
  return info;
}

void dlcc_nn_engine_describe(const dlcc_nn_engine *e, char *buf, size_t size) {
  dlcc_nn_cpu_info info = dlcc_nn_cpu_info_get(e);
  const char *bf16 = info.bf16_fast ? "bf16 native" : info.bf16_available ? "bf16 emulated" : "bf16 unavailable";
  char threads[32] = "threads from OMP_NUM_THREADS";
  if (info.threads > 0) snprintf(threads, sizeof threads, "%d thread%s", info.threads, info.threads == 1 ? "" : "s");
  snprintf(buf, size, "oneDNN %d.%d.%d, ISA %s, %s, %s", info.onednn_major, info.onednn_minor,
           info.onednn_patch, info.isa, threads, bf16);
}

const dnnl_memory_desc_t *dlcc_nn_pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
  return dnnl_primitive_desc_query_md(pd, what, 0);
}

static dlcc_status grow_scratch(dlcc_nn_engine *e, size_t size, dlcc_error *err) {
  if (size <= e->scratch_size) return DLCC_OK;
  size_t rounded = (size + 63) / 64 * 64;
  void *bigger = aligned_alloc(64, rounded);
  if (!bigger) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for a %zu-byte scratchpad", size);
  free(e->scratch); /* contents are scratch: nothing to keep */
  e->scratch = bigger;
  e->scratch_size = rounded;
  return DLCC_OK;
}

dlcc_status dlcc_nn_prim_create(dlcc_nn_prim *p, dlcc_nn_engine *e, const_dnnl_primitive_desc_t pd,
                                const char *what, dlcc_error *err) {
  memset(p, 0, sizeof *p);
  const dnnl_memory_desc_t *scratch_md = dlcc_nn_pd_md(pd, dnnl_query_scratchpad_md);
  size_t need = scratch_md ? dnnl_memory_desc_get_size(scratch_md) : 0;
  dlcc_status st = grow_scratch(e, need, err);
  if (!st && need > 0)
    st = dlcc_nn_check(dnnl_memory_create(&p->scratch, scratch_md, e->cpu, DNNL_MEMORY_NONE), err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_create(&p->prim, pd), err, what);
  if (st) dlcc_nn_prim_destroy(p);
  return st;
}

dlcc_status dlcc_nn_prim_run(dlcc_nn_prim *p, dlcc_nn_engine *e, int nargs, dnnl_exec_arg_t *args,
                             const char *what, dlcc_error *err) {
  if (p->scratch) {
    /* The shared buffer may have moved since p was created (a later primitive needed more). */
    dlcc_status st = dlcc_nn_check(dnnl_memory_set_data_handle(p->scratch, e->scratch), err, what);
    if (st) return st;
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, p->scratch};
  }
  dlcc_status st = dlcc_nn_check(dnnl_primitive_execute(p->prim, e->stream, nargs, args), err, what);
  if (!st) st = dlcc_nn_check(dnnl_stream_wait(e->stream), err, what);
  return st;
}

void dlcc_nn_prim_destroy(dlcc_nn_prim *p) {
  if (p->prim) dnnl_primitive_destroy(p->prim);
  if (p->scratch) dnnl_memory_destroy(p->scratch);
  p->prim = NULL;
  p->scratch = NULL;
}
