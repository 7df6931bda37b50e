/* The compute engine every layer runs on: oneDNN's CPU engine and stream, its thread count, the one
 * scratch buffer all primitives share, and what the CPU offers (ISA, whether bf16 is fast).
 * Also the small glue every layer uses: oneDNN errors as dlcc errors, and primitives run with the
 * shared scratchpad so that executing one never allocates. */
#ifndef DLCC_NN_ENGINE_H
#define DLCC_NN_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include <dnnl.h>

#include "util/error.h"

/* Whether a forward pass will be followed by a backward pass (oneDNN's forward_training keeps what
 * backward needs; forward_inference may pick faster kernels). */
typedef enum dlcc_nn_mode {
  DLCC_NN_INFERENCE = 0,
  DLCC_NN_TRAINING = 1
} dlcc_nn_mode;

typedef struct dlcc_nn_engine {
  dnnl_engine_t cpu;
  dnnl_stream_t stream;
  dnnl_primitive_attr_t attr; /* user-managed scratchpad: every primitive is created with it */
  int threads;                /* OpenMP threads oneDNN will use (0 when unknown: no OpenMP linked) */
  void *scratch;              /* shared scratchpad, grown when a primitive needing more is created */
  size_t scratch_size;
} dlcc_nn_engine;

/* Creates the engine. threads > 0 sets the OpenMP thread count (like --threads); threads == 0
 * keeps OpenMP's default (OMP_NUM_THREADS, else one per core). OpenMP's setting belongs to the
 * calling thread: run the network from the thread that created the engine. Free with
 * dlcc_nn_engine_free. */
dlcc_status dlcc_nn_engine_create(dlcc_nn_engine **out, int threads, dlcc_error *err);
void dlcc_nn_engine_free(dlcc_nn_engine *e);

/* What oneDNN will dispatch to on this machine. */
typedef struct dlcc_nn_cpu_info {
  const char *isa;      /* "avx2", "avx512_core", "avx512_core_amx", ... */
  bool bf16_available;  /* oneDNN has bf16 kernels here (AVX-512 and up; emulated below BF16) */
  bool bf16_fast;       /* native bf16 arithmetic: AVX512-BF16 or AMX */
  int channel_block;    /* channels per block of oneDNN's blocked layouts here: 16 (AVX-512) or 8 */
  int threads;
  int onednn_major, onednn_minor, onednn_patch;
} dlcc_nn_cpu_info;

dlcc_nn_cpu_info dlcc_nn_cpu_info_get(const dlcc_nn_engine *e);

/* One line for logs: "oneDNN 2.6.3, ISA avx2, 2 threads, bf16 unavailable". */
void dlcc_nn_engine_describe(const dlcc_nn_engine *e, char *buf, size_t size);

/* Turns a failed oneDNN call into a dlcc error: "<what>: oneDNN <status>". Returns DLCC_OK when
 * status is dnnl_success. dnnl_unimplemented becomes DLCC_ERR_UNSUPPORTED (no kernel for this
 * shape/type on this CPU), out of memory DLCC_ERR_NOMEM, anything else DLCC_ERR_INVALID. */
dlcc_status dlcc_nn_check(dnnl_status_t status, dlcc_error *err, const char *what);

/* A primitive with its view of the engine's scratch buffer. */
typedef struct dlcc_nn_prim {
  dnnl_primitive_t prim;
  dnnl_memory_t scratch; /* NULL when the primitive needs no scratchpad */
} dlcc_nn_prim;

/* Creates the primitive of pd (made with e->attr) and grows the engine's scratch buffer to what it
 * needs. On failure p is left empty. `what` names the primitive in error messages. */
dlcc_status dlcc_nn_prim_create(dlcc_nn_prim *p, dlcc_nn_engine *e, const_dnnl_primitive_desc_t pd,
                                const char *what, dlcc_error *err);
/* Executes p with args plus its scratchpad; args must have room for one more entry after nargs.
 * Waits for the stream. Does not allocate. */
dlcc_status dlcc_nn_prim_run(dlcc_nn_prim *p, dlcc_nn_engine *e, int nargs, dnnl_exec_arg_t *args,
                             const char *what, dlcc_error *err);
void dlcc_nn_prim_destroy(dlcc_nn_prim *p);

/* A primitive descriptor's memory descriptor for `what` (dnnl_query_src_md, ...). */
const dnnl_memory_desc_t *dlcc_nn_pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what);

#endif
