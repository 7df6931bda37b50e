/* maDLC's dlcrnet_ms5 (dlcr101_ms5, dlcr152_ms5) as DeepLabCut's TensorFlow multi.py builds it, on
 * dlcc's torchvision ResNet: two middle feature maps taken to stride 16 beside layer4, then score maps
 * and part-affinity fields refined in stages (docs/nn.md maps each layer to DeepLabCut's graph). */
#include <stdio.h>
#include <string.h>

#include "nn/network.h"

typedef struct dlcrnet_arch {
  const char *net_type;
  const char *backbone;
} dlcrnet_arch;

/* DeepLabCut's names (dlcr<depth>_ms5; dlcrnet_ms5 is ResNet-50) */
static const dlcrnet_arch ARCHS[] = {
  {"dlcrnet_ms5", "resnet_50"},
  {"dlcr101_ms5", "resnet_101"},
  {"dlcr152_ms5", "resnet_152"},
};

/* The decoder's widths in ResNet's base width (64): multi.py's 512, 128, 256, 128 and the stages'
 * 128 features (cfg "bank3"); a reduced base width (tests) scales them alike. */
#define BANK2_S16_WIDTH 8   /* decoder_parallel_1: 512 */
#define BANK_OUT_WIDTH 2    /* decoder_parallel_2 and _5: 128 */
#define BANK1_WIDTH 4       /* decoder_parallel_3 and _4: 256 */
#define STAGE_FEATURES 2    /* the stages' shared features: 128 */

/* Refinement stages after the first (pairwise_pred_s2..s4, part_pred_s2..s4), before the last. */
#define MIDDLE_STAGES 3

static const dlcrnet_arch *find_arch(const char *net_type) {
  for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
    if (strcmp(ARCHS[i].net_type, net_type) == 0) return &ARCHS[i];
  return NULL;
}

/* slim.conv2d(padding 'SAME', normalizer_fn=slim.batch_norm, activation relu) in multi.py's
 * decoder_filters scope: no bias; slim's batch_norm defaults, i.e. no scale, eps 1e-3, and
 * is_training=True, so batch statistics in inference too; then ReLU. Layers "<name>.conv",
 * "<name>.bn", "<name>.relu". */
static int decoder_conv(dlcc_nn_builder *b, const char *name, int64_t in, int64_t out, int64_t kernel,
                        int64_t stride, int input) {
  char layer[64];
  dlcc_nn_conv_spec conv = dlcc_nn_conv_spec_tf_same(in, out, kernel, stride);
  conv.bias = false;
  snprintf(layer, sizeof layer, "%s.conv", name);
  int x = dlcc_nn_build_conv(b, layer, &conv, input);
  dlcc_nn_build_mark_pose_layer(b, x);
  dlcc_nn_batchnorm_spec bn = dlcc_nn_batchnorm_spec_default(out, DLCC_NN_BN_BATCH_ALWAYS);
  bn.eps = 1e-3f;
  bn.shift_only = true;
  snprintf(layer, sizeof layer, "%s.bn", name);
  x = dlcc_nn_build_batchnorm_spec(b, layer, &bn, x);
  dlcc_nn_build_mark_pose_layer(b, x);
  snprintf(layer, sizeof layer, "%s.relu", name);
  return dlcc_nn_build_eltwise(b, layer, DLCC_NN_RELU, x);
}

/* multi.py's prediction_layer: slim.conv2d_transpose(3x3, stride 2, 'SAME'), bias, no activation. */
static int stage_deconv(dlcc_nn_builder *b, const char *name, int64_t in, int64_t out, int input) {
  dlcc_nn_deconv_spec spec = dlcc_nn_deconv_spec_tf_same(in, out, 3, 2);
  int x = dlcc_nn_build_deconv(b, name, &spec, input);
  dlcc_nn_build_mark_pose_layer(b, x);
  return x;
}

/* layers.py's prediction_layer_stage: slim.conv2d(3x3, stride 1, 'SAME'), bias, no activation. */
static int stage_conv(dlcc_nn_builder *b, const char *name, int64_t in, int64_t out, int input) {
  dlcc_nn_conv_spec spec = dlcc_nn_conv_spec_tf_same(in, out, 3, 1);
  int x = dlcc_nn_build_conv(b, name, &spec, input);
  dlcc_nn_build_mark_pose_layer(b, x);
  return x;
}

/* The next stage's input: score maps, part-affinity fields and the shared features, in that order. */
static int stage_input(dlcc_nn_builder *b, int stage, int64_t parts, int64_t pafs, int64_t features, int hm, int paf,
                       int feature) {
  char name[32];
  snprintf(name, sizeof name, "stage%d_in", stage);
  dlcc_nn_concat_spec spec = {.inputs = 3, .channels = {parts, pafs, features}};
  return dlcc_nn_build_concat(b, name, &spec, (const int[]){hm, paf, feature});
}

/* The fusion: layer1's output and layer2's third unit resized to DeepLabCut's sizes (4 and 2 times
 * ceil(input / 16)), each taken to stride 16 by strided convolutions, concatenated with layer4.
 * Returns the concatenation; *channels receives its width. */
static int build_fusion(dlcc_nn_builder *b, const dlcc_nn_resnet_units *u, int64_t width, int64_t *channels) {
  int bank1 = u->out[0][u->blocks[0] - 1], bank2 = u->out[1][2], features = u->out[3][u->blocks[3] - 1];
  /* 2 * ceil(H / 16) is layer2's ceil(H / 8) rounded up to even, 4 * ceil(H / 16) layer1's
   * ceil(H / 4) rounded up to a multiple of 4 */
  dlcc_nn_upsample_spec even = dlcc_nn_upsample_spec_multiple(2), four = dlcc_nn_upsample_spec_multiple(4);
  int bank2_s8 = dlcc_nn_build_upsample(b, "bank_2_s8", &even, bank2);
  int bank1_s4 = dlcc_nn_build_upsample(b, "bank_1_s4", &four, bank1);
  int64_t bank2_width = BANK2_S16_WIDTH * width, out_width = BANK_OUT_WIDTH * width, bank1_width = BANK1_WIDTH * width;
  int bank2_s16 = decoder_conv(b, "decoder_parallel_1", u->channels[1], bank2_width, 3, 2, bank2_s8);
  bank2_s16 = decoder_conv(b, "decoder_parallel_2", bank2_width, out_width, 1, 1, bank2_s16);
  int bank1_s8 = decoder_conv(b, "decoder_parallel_3", u->channels[0], bank1_width, 3, 2, bank1_s4);
  int bank1_s16 = decoder_conv(b, "decoder_parallel_4", bank1_width, bank1_width, 3, 2, bank1_s8);
  bank1_s16 = decoder_conv(b, "decoder_parallel_5", bank1_width, out_width, 1, 1, bank1_s16);
  *channels = 2 * out_width + u->channels[3];
  dlcc_nn_concat_spec cat = {.inputs = 3, .channels = {out_width, out_width, u->channels[3]}};
  return dlcc_nn_build_concat(b, "concat_3_s16", &cat, (const int[]){bank1_s16, bank2_s16, features});
}

/* The multi-stage decoder of multi.py (stride 8): stage 1 upsamples the fusion (score maps,
 * part-affinity fields, ReLU features, and locref), stages 2-4 and the last refine both maps at
 * stride 8 from the previous ones and the features; score maps from stage 3 on add the previous
 * stage's. */
static void build_stages(dlcc_nn_builder *b, int fused, int64_t fused_channels, int64_t width) {
  const dlcc_nn_net_desc *d = &b->net->desc;
  int64_t parts = d->num_joints + d->num_idchannel, pafs = 2 * (int64_t)d->num_limbs;
  int64_t features = STAGE_FEATURES * width, stage_channels = parts + pafs + features;
  int hm = stage_deconv(b, "part_pred_s1", fused_channels, parts, fused);
  if (d->location_refinement)
    dlcc_nn_build_head(b, DLCC_NN_HEAD_LOCREF, fused_channels, 2 * (int64_t)d->num_joints, fused);
  int feature = stage_deconv(b, "stage_features", fused_channels, features, fused);
  feature = dlcc_nn_build_eltwise(b, "stage_features.relu", DLCC_NN_RELU, feature);
  int paf = stage_deconv(b, "pairwise_pred_s1", fused_channels, pafs, fused);
  int in = stage_input(b, 2, parts, pafs, features, hm, paf, feature);
  for (int stage = 2; stage < 2 + MIDDLE_STAGES; stage++) {
    char name[32];
    snprintf(name, sizeof name, "pairwise_pred_s%d", stage);
    paf = stage_conv(b, name, stage_channels, pafs, in);
    snprintf(name, sizeof name, "part_pred_s%d", stage);
    int refined = stage_conv(b, name, stage_channels, parts, in);
    if (stage > 2) {
      snprintf(name, sizeof name, "part_pred_s%d.add", stage);
      refined = dlcc_nn_build_add(b, name, false, refined, hm);
    }
    hm = refined;
    in = stage_input(b, stage + 1, parts, pafs, features, hm, paf, feature);
  }
  dlcc_nn_build_set_head(b, DLCC_NN_HEAD_PART, stage_conv(b, "part_pred", stage_channels, parts, in));
  dlcc_nn_build_set_head(b, DLCC_NN_HEAD_PAIRWISE, stage_conv(b, "pairwise_pred", stage_channels, pafs, in));
}

dlcc_status dlcc_nn_build_dlcrnet(dlcc_nn_builder *b) {
  const dlcc_nn_net_desc *d = &b->net->desc;
  const dlcrnet_arch *arch = find_arch(d->net_type);
  if (!arch)
    return dlcc_fail(b->err, DLCC_ERR_UNSUPPORTED, "net_type '%s' is not a dlcrnet dlcc builds; use dlcrnet_ms5, "
                     "dlcr101_ms5 or dlcr152_ms5", d->net_type);
  if (d->num_limbs < 1)
    return dlcc_fail(b->err, DLCC_ERR_INVALID, "%s refines part-affinity fields stage by stage: num_limbs must be at "
                     "least 1 (DeepLabCut builds it only with partaffinityfield_predict)", d->net_type);
  dlcc_nn_resnet_units u;
  dlcc_status st = dlcc_nn_build_resnet_backbone(b, arch->backbone, &u);
  if (st) return st;
  if (u.blocks[1] < 3)
    return dlcc_fail(b->err, DLCC_ERR_INVALID, "%s reads the third unit of layer2 (slim's block2/unit_3), but layer2 "
                     "has %d", d->net_type, u.blocks[1]);
  int64_t width = d->width ? d->width : 64, fused_channels;
  int fused = build_fusion(b, &u, width, &fused_channels);
  build_stages(b, fused, fused_channels, width);
  /* as resnet.c: slim's block3/unit_N, DeepLabCut's intermediate_supervision_layer */
  if (d->intermediate_supervision)
    dlcc_nn_build_head(b, DLCC_NN_HEAD_PART_INTERM, u.channels[2], d->num_joints + d->num_idchannel,
                       u.out[2][d->intermediate_supervision_layer - 1]);
  return b->status;
}
