/* Each layer's cache of plans: what it built for one input layout (primitive descriptors,
 * primitives, conversions), keyed by the input's memory descriptor and the mode, dropping the least
 * recently used beyond DLCC_NN_PLAN_SLOTS. Few slots: inference and a training step's forward and
 * backward reuse one plan, while scale jitter gives nearly every batch a new shape that no cache size
 * would see again, so more slots only hold memory (openfield, mobilenet_v2_0.35, batch 8: peak 4.7 GB
 * with 32 slots, 3.6 GB with 4, at the same speed). */
#ifndef DLCC_NN_PLANCACHE_H
#define DLCC_NN_PLANCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <dnnl.h>

#include "nn/engine.h"
#include "util/error.h"

#define DLCC_NN_PLAN_SLOTS 4

typedef struct dlcc_nn_plan_cache {
  void *plans[DLCC_NN_PLAN_SLOTS]; /* NULL: free slot */
  dnnl_memory_desc_t keys[DLCC_NN_PLAN_SLOTS];
  dlcc_nn_mode modes[DLCC_NN_PLAN_SLOTS];
  uint64_t last_used[DLCC_NN_PLAN_SLOTS];
  uint64_t clock;
  size_t built;                    /* plans stored so far: tests read it to see reuse */
  void (*destroy)(void *plan);     /* frees one plan */
} dlcc_nn_plan_cache;

void dlcc_nn_plan_cache_init(dlcc_nn_plan_cache *c, void (*destroy)(void *plan));
/* The plan stored for (input layout, mode), or NULL. */
void *dlcc_nn_plan_cache_find(dlcc_nn_plan_cache *c, const dnnl_memory_desc_t *input, dlcc_nn_mode mode);
/* Stores plan (the cache owns it from now on), destroying the least recently used one when full. */
void dlcc_nn_plan_cache_put(dlcc_nn_plan_cache *c, const dnnl_memory_desc_t *input, dlcc_nn_mode mode, void *plan);
/* Ends the build of a new plan whose last step returned st: stores the plan as _put does when st is
 * DLCC_OK, else destroys it. Returns st. */
dlcc_status dlcc_nn_plan_cache_keep(dlcc_nn_plan_cache *c, const dnnl_memory_desc_t *input, dlcc_nn_mode mode,
                                    void *plan, dlcc_status st);
/* Number of plans held. */
size_t dlcc_nn_plan_cache_size(const dlcc_nn_plan_cache *c);
void dlcc_nn_plan_cache_free(dlcc_nn_plan_cache *c);

#endif
