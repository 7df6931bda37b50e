/* Seeded random initialisation of a parameter buffer, as torchvision initialises ResNet and
 * MobileNetV2 (so a network trained from scratch starts where PyTorch's would), plus Xavier-uniform
 * for the prediction heads, which DeepLabCut's TensorFlow engine initialises with slim's default. */
#ifndef DLCC_NN_INIT_H
#define DLCC_NN_INIT_H

#include <stddef.h>

#include "nn/params.h"
#include "util/rng.h"

/* Fills every parameter of p (allocated) in declaration order, drawing from rng (the caller's, so a
 * seed reproduces the network), then calls dlcc_nn_params_changed:
 *   weights (kind WEIGHT): Kaiming normal, mode fan_out, gain for ReLU (torchvision's
 *     kaiming_normal_(w, mode="fan_out", nonlinearity="relu")): N(0, 2 / fan_out) with fan_out =
 *     dims[0] * (product of dims[2..]), as torch computes it from the [out, in/groups, kh, kw] shape;
 *   biases (kind BIAS): 0, except batch-norm scales (a BIAS called "*.weight") 1;
 *   state: 0, except "*.running_var" 1. */
void dlcc_nn_init_random(dlcc_nn_params *p, dlcc_rng *rng);

/* Re-draws parameter `index` from Xavier (Glorot) uniform: U(-b, b) with
 * b = sqrt(6 / ((dims[0] + dims[1]) * product of dims[2..])), tf.contrib's xavier_initializer
 * (slim.conv2d_transpose's default, DeepLabCut's part_pred / locref / pairwise_pred heads). The bound
 * is symmetric in dims[0] and dims[1], so it is the same for a transposed convolution's
 * [in, out, kh, kw] shape. Calls dlcc_nn_params_changed. */
void dlcc_nn_init_xavier_uniform(dlcc_nn_params *p, size_t index, dlcc_rng *rng);

#endif
