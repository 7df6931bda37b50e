/* Residual add on oneDNN: y = a + b, optionally followed by a ReLU fused into the same primitive
 * (ResNet's block output relu(bn3 + shortcut)), forward and backward. The gradient of a sum is the
 * same for both inputs, so backward writes it once and the caller hands that one tensor to both
 * branches. The same forward also sums gradients where a network forks. No parameters. */
#ifndef DLCC_NN_ADD_H
#define DLCC_NN_ADD_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/engine.h"
#include "nn/plancache.h"
#include "nn/tensor.h"
#include "util/error.h"

typedef struct dlcc_nn_add_spec {
  bool relu; /* y = max(a + b, 0), the ReLU a post-op of oneDNN's binary add */
} dlcc_nn_add_spec;

typedef struct dlcc_nn_add {
  char *name;  /* "layer1.0.add", for messages */
  dlcc_nn_add_spec spec;
  dlcc_nn_plan_cache plans;
} dlcc_nn_add;

dlcc_status dlcc_nn_add_init(dlcc_nn_add *add, const char *name, const dlcc_nn_add_spec *spec, dlcc_error *err);
void dlcc_nn_add_free(dlcc_nn_add *add);

/* Output dims: the inputs' own, which must be equal (no broadcasting); fails naming the layer and
 * both shapes otherwise. */
dlcc_status dlcc_nn_add_output_dims(const dlcc_nn_add *add, const int64_t a[4], const int64_t b[4], int64_t out[4],
                                    dlcc_error *err);

/* y = a + b (then ReLU when spec.relu). a and b have the same dims and type but may come in
 * different layouts: b is converted to a's, which y takes too. y is distinct from a and b. */
dlcc_status dlcc_nn_add_forward(dlcc_nn_add *add, dlcc_nn_engine *e, const dlcc_nn_tensor *a, const dlcc_nn_tensor *b,
                                dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err);

/* dx = dLoss/da = dLoss/db from dy and the forward's output y: dy where y > 0 with the fused ReLU,
 * else a copy of dy (a caller may as well skip this call and pass dy itself to both branches).
 * dx takes y's layout; pass it to the backward of both inputs' producers. */
dlcc_status dlcc_nn_add_backward(dlcc_nn_add *add, dlcc_nn_engine *e, const dlcc_nn_tensor *y,
                                 const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err);

#endif
