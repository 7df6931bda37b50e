/* Per-layer plan cache: linear search over a few dozen slots (cheap next to any convolution),
 * least recently used eviction. */
#include "nn/plancache.h"

#include <string.h>

void dlcc_nn_plan_cache_init(dlcc_nn_plan_cache *c, void (*destroy)(void *plan)) {
  memset(c, 0, sizeof *c);
  c->destroy = destroy;
}

void *dlcc_nn_plan_cache_find(dlcc_nn_plan_cache *c, const dnnl_memory_desc_t *input, dlcc_nn_mode mode) {
  for (int i = 0; i < DLCC_NN_PLAN_SLOTS; i++) {
    if (c->plans[i] && c->modes[i] == mode && dnnl_memory_desc_equal(&c->keys[i], input)) {
      c->last_used[i] = ++c->clock;
      return c->plans[i];
    }
  }
  return NULL;
}

void dlcc_nn_plan_cache_put(dlcc_nn_plan_cache *c, const dnnl_memory_desc_t *input, dlcc_nn_mode mode, void *plan) {
  int slot = 0;
  for (int i = 0; i < DLCC_NN_PLAN_SLOTS; i++) {
    if (!c->plans[i]) {
      slot = i;
      break;
    }
    if (c->last_used[i] < c->last_used[slot]) slot = i;
  }
  if (c->plans[slot]) c->destroy(c->plans[slot]);
  c->plans[slot] = plan;
  c->keys[slot] = *input;
  c->modes[slot] = mode;
  c->last_used[slot] = ++c->clock;
  c->built++;
}

dlcc_status dlcc_nn_plan_cache_keep(dlcc_nn_plan_cache *c, const dnnl_memory_desc_t *input, dlcc_nn_mode mode,
                                    void *plan, dlcc_status st) {
  if (st)
    c->destroy(plan);
  else
    dlcc_nn_plan_cache_put(c, input, mode, plan);
  return st;
}

size_t dlcc_nn_plan_cache_size(const dlcc_nn_plan_cache *c) {
  size_t n = 0;
  for (int i = 0; i < DLCC_NN_PLAN_SLOTS; i++) n += c->plans[i] != NULL;
  return n;
}

void dlcc_nn_plan_cache_free(dlcc_nn_plan_cache *c) {
  for (int i = 0; i < DLCC_NN_PLAN_SLOTS; i++)
    if (c->plans[i]) c->destroy(c->plans[i]);
  dlcc_nn_plan_cache_init(c, c->destroy);
}
