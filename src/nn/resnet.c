/* ResNet-50/101/152 as torchvision builds them (v1.5 Bottleneck: the stride on the 3x3 convolution;
 * torchvision's module names, so its ImageNet weights load as they are), at output stride 16
 * (replace_stride_with_dilation=[False, False, True]: layer4 dilated by 2 instead of strided), with
 * DeepLabCut's heads on layer4 and the intermediate-supervision head on a unit of layer3; the
 * backbone alone for dlcrnet.c. */
#include <stdio.h>
#include <string.h>

#include "nn/network.h"

typedef struct resnet_arch {
  const char *net_type;
  int blocks[4];
} resnet_arch;

/* torchvision's resnet50/101/152 (and tf-slim's resnet_v1_50/101/152) */
static const resnet_arch ARCHS[] = {
  {"resnet_50", {3, 4, 6, 3}},
  {"resnet_101", {3, 4, 23, 3}},
  {"resnet_152", {3, 8, 36, 3}},
};

#define EXPANSION 4 /* a Bottleneck's output has 4 times its width */

/* The builder's state between stages: the running channel count and dilation, as torchvision's
 * ResNet keeps self.inplanes and self.dilation. */
typedef struct resnet_state {
  dlcc_nn_builder *b;
  int64_t inplanes;
  int64_t dilation;
  int last;        /* node holding the running output */
  dlcc_nn_resnet_units *units;
} resnet_state;

static int conv_bn(resnet_state *s, const char *prefix, const char *conv, const char *bn,
                   const dlcc_nn_conv_spec *spec, int input) {
  char name[96];
  snprintf(name, sizeof name, "%s%s", prefix, conv);
  int node = dlcc_nn_build_conv(s->b, name, spec, input);
  snprintf(name, sizeof name, "%s%s", prefix, bn);
  return dlcc_nn_build_batchnorm(s->b, name, spec->out_channels, node);
}

/* torchvision's conv1x1 / conv3x3: no bias, padding = dilation for 3x3. */
static dlcc_nn_conv_spec conv_spec(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation) {
  dlcc_nn_conv_spec spec = dlcc_nn_conv_spec_square(in, out, kernel);
  spec.bias = false;
  spec.stride[0] = spec.stride[1] = stride;
  spec.dilation[0] = spec.dilation[1] = dilation;
  spec.padding[0] = spec.padding[1] = kernel == 3 ? dilation : 0;
  return spec;
}

/* One Bottleneck "layerL.U": relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))) + shortcut), the
 * shortcut being x or downsample (1x1 convolution with the block's stride, then batch norm). */
static int bottleneck(resnet_state *s, const char *prefix, int64_t planes, int64_t stride, int64_t dilation,
                      int input) {
  char name[96];
  int64_t out = planes * EXPANSION;
  dlcc_nn_conv_spec c1 = conv_spec(s->inplanes, planes, 1, 1, 1), c2 = conv_spec(planes, planes, 3, stride, dilation),
                    c3 = conv_spec(planes, out, 1, 1, 1), ds = conv_spec(s->inplanes, out, 1, stride, 1);
  int x = conv_bn(s, prefix, "conv1", "bn1", &c1, input);
  snprintf(name, sizeof name, "%srelu1", prefix);
  x = dlcc_nn_build_eltwise(s->b, name, DLCC_NN_RELU, x);
  x = conv_bn(s, prefix, "conv2", "bn2", &c2, x);
  snprintf(name, sizeof name, "%srelu2", prefix);
  x = dlcc_nn_build_eltwise(s->b, name, DLCC_NN_RELU, x);
  x = conv_bn(s, prefix, "conv3", "bn3", &c3, x);
  int shortcut = input;
  if (stride != 1 || s->inplanes != out) shortcut = conv_bn(s, prefix, "downsample.0", "downsample.1", &ds, input);
  snprintf(name, sizeof name, "%sadd", prefix);
  s->inplanes = out;
  return dlcc_nn_build_add(s->b, name, true, x, shortcut);
}

/* torchvision's _make_layer: the first block strides (or, when dilate, keeps the previous dilation
 * and the stride becomes dilation for the blocks after it). */
static void make_layer(resnet_state *s, int layer, int64_t planes, int blocks, int64_t stride, bool dilate) {
  int64_t previous_dilation = s->dilation;
  if (dilate) {
    s->dilation *= stride;
    stride = 1;
  }
  for (int unit = 0; unit < blocks; unit++) {
    char prefix[32];
    snprintf(prefix, sizeof prefix, "layer%d.%d.", layer, unit);
    s->last = bottleneck(s, prefix, planes, unit == 0 ? stride : 1, unit == 0 ? previous_dilation : s->dilation,
                         s->last);
    s->units->out[layer - 1][unit] = s->last;
  }
  s->units->channels[layer - 1] = s->inplanes;
}

static const resnet_arch *find_arch(const char *net_type) {
  for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
    if (strcmp(ARCHS[i].net_type, net_type) == 0) return &ARCHS[i];
  return NULL;
}

static dlcc_status check_interm(const dlcc_nn_net_desc *d, const int blocks[4], dlcc_error *err) {
  if (!d->intermediate_supervision) return DLCC_OK;
  if (d->intermediate_supervision_layer < 1 || d->intermediate_supervision_layer > blocks[2])
    return dlcc_fail(err, DLCC_ERR_INVALID, "intermediate_supervision_layer is %d, but block 3 of %s (layer3) has "
                     "units 1 to %d; set intermediate_supervision_layer in that range or intermediate_supervision "
                     "to false", d->intermediate_supervision_layer, d->net_type, blocks[2]);
  return DLCC_OK;
}

dlcc_status dlcc_nn_build_resnet_backbone(dlcc_nn_builder *b, const char *resnet_type, dlcc_nn_resnet_units *units) {
  const dlcc_nn_net_desc *d = &b->net->desc;
  const resnet_arch *arch = find_arch(resnet_type);
  if (!arch)
    return dlcc_fail(b->err, DLCC_ERR_UNSUPPORTED, "net_type '%s' is not a ResNet dlcc builds; use resnet_50, "
                     "resnet_101 or resnet_152", resnet_type);
  bool custom = d->blocks[0] && d->blocks[1] && d->blocks[2] && d->blocks[3];
  memcpy(units->blocks, custom ? d->blocks : arch->blocks, sizeof units->blocks);
  for (int i = 0; i < 4; i++)
    if (units->blocks[i] > DLCC_NN_RESNET_MAX_UNITS)
      return dlcc_fail(b->err, DLCC_ERR_INVALID, "%s: stage %d has %d blocks; dlcc builds at most %d", d->net_type,
                       i + 1, units->blocks[i], DLCC_NN_RESNET_MAX_UNITS);
  int64_t width = d->width ? d->width : 64;
  dlcc_status st = check_interm(d, units->blocks, b->err);
  if (st) return st;
  resnet_state s = {.b = b, .inplanes = width, .dilation = 1, .units = units};
  dlcc_nn_conv_spec stem = conv_spec(3, width, 7, 2, 1);
  stem.padding[0] = stem.padding[1] = 3;
  int x = conv_bn(&s, "", "conv1", "bn1", &stem, DLCC_NN_IMAGE);
  x = dlcc_nn_build_eltwise(b, "relu", DLCC_NN_RELU, x);
  dlcc_nn_pool_spec pool = dlcc_nn_pool_spec_square(3, 2, 1);
  s.last = dlcc_nn_build_pool(b, "maxpool", &pool, x);
  make_layer(&s, 1, width, units->blocks[0], 1, false);
  make_layer(&s, 2, 2 * width, units->blocks[1], 2, false);
  make_layer(&s, 3, 4 * width, units->blocks[2], 2, false);
  make_layer(&s, 4, 8 * width, units->blocks[3], 2, true);
  return b->status;
}

dlcc_status dlcc_nn_build_resnet(dlcc_nn_builder *b) {
  const dlcc_nn_net_desc *d = &b->net->desc;
  dlcc_nn_resnet_units u;
  dlcc_status st = dlcc_nn_build_resnet_backbone(b, d->net_type, &u);
  if (st) return st;
  int64_t features = u.channels[3], joints = d->num_joints;
  int top = u.out[3][u.blocks[3] - 1];
  dlcc_nn_build_head(b, DLCC_NN_HEAD_PART, features, joints + d->num_idchannel, top);
  if (d->location_refinement) dlcc_nn_build_head(b, DLCC_NN_HEAD_LOCREF, features, 2 * joints, top);
  if (d->num_limbs > 0) dlcc_nn_build_head(b, DLCC_NN_HEAD_PAIRWISE, features, 2 * (int64_t)d->num_limbs, top);
  /* slim names layer3's units block3/unit_1.. : DeepLabCut's intermediate_supervision_layer */
  if (d->intermediate_supervision)
    dlcc_nn_build_head(b, DLCC_NN_HEAD_PART_INTERM, u.channels[2], joints + d->num_idchannel,
                       u.out[2][d->intermediate_supervision_layer - 1]);
  return b->status;
}
