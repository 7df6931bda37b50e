/* The inference path of a network: each convolution runs as one oneDNN primitive together with the
 * batch norm after it (folded into its weights and bias, running statistics), the ReLU/ReLU6 after
 * that, and the residual add it feeds (oneDNN's sum post-op, written in place over the shortcut). */
#ifndef DLCC_NN_FUSED_H
#define DLCC_NN_FUSED_H

#include "nn/engine.h"
#include "util/error.h"

struct dlcc_nn_network;
typedef struct dlcc_nn_fused_group dlcc_nn_fused_group;

/* What an inference forward runs at node i: role[i] == DLCC_NN_FUSED_SINGLE runs the node's own
 * layer, DLCC_NN_FUSED_MEMBER nothing (its group runs later), g >= 0 group g (i is its last node). */
#define DLCC_NN_FUSED_SINGLE (-1)
#define DLCC_NN_FUSED_MEMBER (-2)

typedef struct dlcc_nn_fused {
  int *role;
  dlcc_nn_fused_group *groups;
  int n_groups;
} dlcc_nn_fused;

/* Finds the groups of net: a convolution, the batch norm reading it (unless that one normalizes by
 * batch statistics at inference too), then a ReLU/ReLU6, or a residual add whose other input
 * nothing reads later (so the result may overwrite it). Every node
 * inside a group except the last must have a single reader. */
dlcc_status dlcc_nn_fused_create(dlcc_nn_fused **out, const struct dlcc_nn_network *net, dlcc_error *err);
void dlcc_nn_fused_free(dlcc_nn_fused *f);

/* Runs group g of net: reads its input through net->value_at, writes its output into the last
 * node's y (or, with a residual add, over the shortcut's tensor, and records that in value_at).
 * Folds the batch norm again when the parameters changed since the last run. */
dlcc_status dlcc_nn_fused_run(dlcc_nn_fused *f, struct dlcc_nn_network *net, dlcc_nn_engine *e, int g,
                              dlcc_error *err);

#endif
