/* MobileNetV2 (width 1.0, 0.75, 0.5, 0.35) with torchvision's structure and names (features.N...,
 * ReLU6, so its ImageNet weights load as they are), at output stride 16 as DeepLabCut's TensorFlow
 * MobileNetV2 has it: the first 160-channel block (features.14) takes stride 1 instead of 2, without
 * dilation; DeepLabCut's heads on the last 1x1 convolution. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/network.h"

typedef struct mobilenet_arch {
  const char *net_type;
  double width;
} mobilenet_arch;

static const mobilenet_arch ARCHS[] = {
  {"mobilenet_v2_1.0", 1.0}, {"mobilenet_v2_0.75", 0.75}, {"mobilenet_v2_0.5", 0.5}, {"mobilenet_v2_0.35", 0.35},
};

/* The inverted residual stages (expansion t, channels c, blocks n, stride s), torchvision's and
 * slim's V2_DEF. */
static const struct { int t, c, n, s; } STAGES[] = {
  {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
};
#define N_STAGES ((int)(sizeof STAGES / sizeof STAGES[0]))
#define FEATURES 19   /* features.0 (stem), 17 blocks, features.18 (last 1x1 convolution) */
#define DLC_STRIDE_ONE_BLOCK 14 /* DeepLabCut's "we changed this stride" in its V2_DEF */

/* torchvision's _make_divisible (slim's depth multiplier rounding): the nearest multiple of 8, at
 * least 8, and not below 90% of v. */
static int64_t make_divisible(double v) {
  int64_t d = (int64_t)floor((v + 4.0) / 8.0) * 8;
  if (d < 8) d = 8;
  if ((double)d < 0.9 * v) d += 8;
  return d;
}

/* Convolution, batch norm and (when relu6) ReLU6, named prefix + "0", "1", "2" as torchvision's
 * Conv2dNormActivation. */
static int conv_bn_act(dlcc_nn_builder *b, const char *prefix, int64_t in, int64_t out, int64_t kernel,
                       int64_t stride, int64_t groups, bool relu6, int input) {
  char name[96];
  dlcc_nn_conv_spec spec = dlcc_nn_conv_spec_square(in, out, kernel);
  spec.bias = false;
  spec.stride[0] = spec.stride[1] = stride;
  spec.padding[0] = spec.padding[1] = (kernel - 1) / 2;
  spec.groups = groups;
  snprintf(name, sizeof name, "%s0", prefix);
  int x = dlcc_nn_build_conv(b, name, &spec, input);
  snprintf(name, sizeof name, "%s1", prefix);
  x = dlcc_nn_build_batchnorm(b, name, out, x);
  if (!relu6) return x;
  snprintf(name, sizeof name, "%s2", prefix);
  return dlcc_nn_build_eltwise(b, name, DLCC_NN_RELU6, x);
}

/* torchvision's InvertedResidual "features.<index>": 1x1 expansion (unless t is 1), 3x3 depthwise,
 * 1x1 linear projection, and the input added back when the shape is unchanged. */
static int inverted_residual(dlcc_nn_builder *b, int index, int64_t in, int64_t out, int64_t stride, int t,
                             int input) {
  char prefix[64];
  int64_t hidden = in * t;
  int x = input, k = 0;
  if (t != 1) {
    snprintf(prefix, sizeof prefix, "features.%d.conv.%d.", index, k++);
    x = conv_bn_act(b, prefix, in, hidden, 1, 1, 1, true, x);
  }
  snprintf(prefix, sizeof prefix, "features.%d.conv.%d.", index, k++);
  x = conv_bn_act(b, prefix, hidden, hidden, 3, stride, hidden, true, x);
  char name[96];
  dlcc_nn_conv_spec project = dlcc_nn_conv_spec_square(hidden, out, 1);
  project.bias = false;
  snprintf(name, sizeof name, "features.%d.conv.%d", index, k);
  x = dlcc_nn_build_conv(b, name, &project, x);
  snprintf(name, sizeof name, "features.%d.conv.%d", index, k + 1);
  x = dlcc_nn_build_batchnorm(b, name, out, x);
  if (stride != 1 || in != out) return x;
  snprintf(name, sizeof name, "features.%d.add", index);
  return dlcc_nn_build_add(b, name, false, x, input);
}

static const mobilenet_arch *find_arch(const char *net_type) {
  for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
    if (strcmp(ARCHS[i].net_type, net_type) == 0) return &ARCHS[i];
  return NULL;
}

static void build_heads(dlcc_nn_builder *b, int top, int64_t top_channels, int interm, int64_t interm_channels) {
  const dlcc_nn_net_desc *d = &b->net->desc;
  int64_t joints = d->num_joints;
  dlcc_nn_build_head(b, DLCC_NN_HEAD_PART, top_channels, joints + d->num_idchannel, top);
  if (d->location_refinement) dlcc_nn_build_head(b, DLCC_NN_HEAD_LOCREF, top_channels, 2 * joints, top);
  if (d->num_limbs > 0) dlcc_nn_build_head(b, DLCC_NN_HEAD_PAIRWISE, top_channels, 2 * (int64_t)d->num_limbs, top);
  if (d->intermediate_supervision)
    dlcc_nn_build_head(b, DLCC_NN_HEAD_PART_INTERM, interm_channels, joints + d->num_idchannel, interm);
}

dlcc_status dlcc_nn_build_mobilenet_v2(dlcc_nn_builder *b) {
  const dlcc_nn_net_desc *d = &b->net->desc;
  const mobilenet_arch *arch = find_arch(d->net_type);
  if (!arch)
    return dlcc_fail(b->err, DLCC_ERR_UNSUPPORTED, "net_type '%s' is not a MobileNetV2 dlcc builds; use "
                     "mobilenet_v2_1.0, mobilenet_v2_0.75, mobilenet_v2_0.5 or mobilenet_v2_0.35", d->net_type);
  if (d->intermediate_supervision && (d->intermediate_supervision_layer < 1 ||
                                      d->intermediate_supervision_layer > FEATURES))
    return dlcc_fail(b->err, DLCC_ERR_INVALID, "intermediate_supervision_layer is %d, but %s has layers 1 to %d; "
                     "set intermediate_supervision_layer in that range or intermediate_supervision to false",
                     d->intermediate_supervision_layer, d->net_type, FEATURES);
  double width = d->width_multiplier > 0 ? d->width_multiplier : arch->width;
  /* slim's finegrain_classification_mode and torchvision alike: the last layer never narrows */
  int64_t in = make_divisible(32 * width);
  int64_t last = d->last_channels ? d->last_channels : make_divisible(1280 * fmax(1.0, width));
  int interm_unit = d->intermediate_supervision ? d->intermediate_supervision_layer - 1 : -1;
  int interm = -1, index = 0;
  int64_t interm_channels = 0;
  int x = conv_bn_act(b, "features.0.", 3, in, 3, 2, 1, true, DLCC_NN_IMAGE);
  if (index == interm_unit) interm = x, interm_channels = in;
  for (int s = 0; s < N_STAGES; s++) {
    int64_t out = make_divisible(STAGES[s].c * width);
    for (int i = 0; i < STAGES[s].n; i++) {
      int64_t stride = i == 0 ? STAGES[s].s : 1;
      if (++index == DLC_STRIDE_ONE_BLOCK) stride = 1;
      x = inverted_residual(b, index, in, out, stride, STAGES[s].t, x);
      in = out;
      if (index == interm_unit) interm = x, interm_channels = out;
    }
  }
  x = conv_bn_act(b, "features.18.", in, last, 1, 1, 1, true, x);
  if (FEATURES - 1 == interm_unit) interm = x, interm_channels = last;
  build_heads(b, x, last, interm, interm_channels);
  return b->status;
}
