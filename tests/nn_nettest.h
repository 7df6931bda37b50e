/* Helpers shared by the network tests (tests/test_nn_network.c, test_nn_resnet*.c): running a
 * network on plain arrays, reading its heads, a linear loss over all heads, and fixture tensors of
 * any rank. Header-only (static inline) like nn_layertest.h. */
#ifndef DLCC_TESTS_NN_NETTEST_H
#define DLCC_TESTS_NN_NETTEST_H

#include <math.h>
#include <stdlib.h>

#include "nn/network.h"
#include "nn_layertest.h"

static inline dlcc_nn_network *nt_create(const dlcc_nn_net_desc *desc) {
  dlcc_nn_network *net = NULL;
  dlcc_error err;
  if (dlcc_nn_network_create(&net, desc, &err)) fail_msg("%s", err.message);
  return net;
}

static inline void nt_forward(dlcc_nn_network *net, dlcc_nn_engine *e, const float *images, const int64_t dims[4],
                              dlcc_nn_mode mode) {
  dlcc_error err;
  if (dlcc_nn_network_forward(net, e, images, dims, mode, &err)) fail_msg("%s", err.message);
}

/* The head's output of the last forward (caller frees); *count receives its size. */
static inline float *nt_head(dlcc_nn_network *net, dlcc_nn_engine *e, dlcc_nn_head head, size_t *count) {
  int64_t out[4];
  dlcc_error err;
  if (dlcc_nn_network_output_dims(net, head, net->in_dims, out, &err)) fail_msg("%s", err.message);
  *count = lt_count4(out);
  float *v = malloc(*count * sizeof *v);
  if (dlcc_nn_network_head_export(net, e, head, v, &err)) fail_msg("%s", err.message);
  return v;
}

/* A gradient for every head the network has (NULL for the others): g[h] of the head's size, normal
 * with deviation 1. Free with nt_free_heads. */
static inline void nt_random_head_grads(dlcc_nn_network *net, const int64_t in[4], dlcc_rng *rng,
                                        float *g[DLCC_NN_HEADS], size_t n[DLCC_NN_HEADS]) {
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    g[h] = NULL;
    n[h] = 0;
    if (!dlcc_nn_network_has_head(net, (dlcc_nn_head)h)) continue;
    int64_t out[4];
    dlcc_error err;
    if (dlcc_nn_network_output_dims(net, (dlcc_nn_head)h, in, out, &err)) fail_msg("%s", err.message);
    n[h] = lt_count4(out);
    g[h] = malloc(n[h] * sizeof *g[h]);
    lt_fill_normal(rng, g[h], n[h], 1.0);
  }
}

static inline void nt_free_heads(float *g[DLCC_NN_HEADS]) {
  for (int h = 0; h < DLCC_NN_HEADS; h++) free(g[h]);
}

/* sum over heads of sum(head * g[h]), in double, after a forward: the loss whose gradient with
 * respect to each head is g[h]. */
static inline double nt_linear_loss(dlcc_nn_network *net, dlcc_nn_engine *e, float *const g[DLCC_NN_HEADS]) {
  double loss = 0;
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    if (!g[h]) continue;
    size_t n;
    float *y = nt_head(net, e, (dlcc_nn_head)h, &n);
    for (size_t i = 0; i < n; i++) loss += (double)y[i] * g[h][i];
    free(y);
  }
  return loss;
}

static inline void nt_backward(dlcc_nn_network *net, dlcc_nn_engine *e, float *const g[DLCC_NN_HEADS]) {
  const float *grads[DLCC_NN_HEADS];
  for (int h = 0; h < DLCC_NN_HEADS; h++) grads[h] = g[h];
  dlcc_error err;
  if (dlcc_nn_network_backward(net, e, grads, &err)) fail_msg("%s", err.message);
}

/* A fixture tensor of any rank (caller frees); *count receives its size. */
static inline float *nt_read(const dlcc_safetensors *st, const char *name, size_t *count) {
  const dlcc_st_tensor *t = dlcc_safetensors_find(st, name);
  if (!t) fail_msg("%s: no tensor %s", st->path, name);
  *count = t->nbytes / 4;
  float *v = malloc(t->nbytes + 1);
  dlcc_error err;
  if (dlcc_safetensors_read_f32(st, name, t->ndims, t->shape, v, &err)) fail_msg("%s", err.message);
  return v;
}

static inline long nt_param(const dlcc_nn_network *net, const char *name) {
  long i = dlcc_nn_params_find(&net->params, name);
  if (i < 0) fail_msg("the network has no parameter %s", name);
  return i;
}

#endif
