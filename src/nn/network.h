/* A network: a list of nodes (one layer each, with the indices of the nodes it reads), built from a
 * description of DeepLabCut's pose networks (backbone, heads, joints), run forward in order and
 * backward in reverse. Images enter as plain NCHW f32 RGB 0..255 and are centred by mean_pixel;
 * the heads (part_pred, locref, pairwise_pred, intermediate part_pred) leave as plain NCHW f32,
 * and their gradients come back the same way. All parameters live in one dlcc_nn_params. */
#ifndef DLCC_NN_NETWORK_H
#define DLCC_NN_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/add.h"
#include "nn/batchnorm.h"
#include "nn/concat.h"
#include "nn/conv.h"
#include "nn/deconv.h"
#include "nn/eltwise.h"
#include "nn/engine.h"
#include "nn/fused.h"
#include "nn/params.h"
#include "nn/plancache.h"
#include "nn/pool.h"
#include "nn/tensor.h"
#include "nn/upsample.h"
#include "project/posecfg.h"
#include "util/error.h"
#include "util/rng.h"

/* ---- Description ------------------------------------------------------------------------- */

typedef enum dlcc_nn_head {
  DLCC_NN_HEAD_PART = 0,     /* part_pred: num_joints + num_idchannel score-map logits */
  DLCC_NN_HEAD_LOCREF,       /* locref: 2 * num_joints offsets (x, y per joint) */
  DLCC_NN_HEAD_PAIRWISE,     /* pairwise_pred: 2 * num_limbs part affinity fields */
  DLCC_NN_HEAD_PART_INTERM,  /* intermediate supervision: part_pred's channels from a middle layer */
  DLCC_NN_HEADS
} dlcc_nn_head;

/* "part_pred", "locref", "pairwise_pred", "intermediate_part_pred": also the heads' parameter
 * prefixes ("part_pred.weight"); NULL outside the enum. */
const char *dlcc_nn_head_name(dlcc_nn_head head);

/* What to build. net_type is DeepLabCut's: "resnet_50", "resnet_101", "resnet_152",
 * "mobilenet_v2_1.0", "mobilenet_v2_0.75", "mobilenet_v2_0.5", "mobilenet_v2_0.35", and the
 * multi-scale fusion, multi-stage networks of maDLC "dlcrnet_ms5" (ResNet-50), "dlcr101_ms5",
 * "dlcr152_ms5" (dlcrnet.c). */
typedef struct dlcc_nn_net_desc {
  char net_type[32];
  int num_joints;            /* >= 1 */
  int num_idchannel;         /* extra part_pred channels (maDLC identity), >= 0 */
  bool location_refinement;  /* locref head */
  int num_limbs;             /* pairwise_pred head with 2 * num_limbs channels when > 0 (dlcrnet: >= 1) */
  bool intermediate_supervision;
  /* ResNet: unit of block 3 (layer3), counted from 1 as slim's block3/unit_N; MobileNetV2: slim's
   * layer_N, 1 to 19, i.e. torchvision's features.(N - 1) */
  int intermediate_supervision_layer;
  /* FROZEN as DeepLabCut's TensorFlow engine trains ResNets; BATCH as it trains MobileNetV2. The
   * backbone's: dlcrnet's decoder always normalizes with batch statistics (dlcrnet.c). */
  dlcc_nn_bn_stats bn_stats;
  double bn_momentum;        /* running statistics' update in BATCH mode (0: PyTorch's 0.1) */
  dlcc_nn_dtype dtype;       /* of the activations (parameters stay f32) */
  double mean_pixel[3];      /* subtracted from the RGB input */
  /* Reduced sizes for tests (0: the net_type's own): ResNet's base width (64: the stem's output
   * and layer1's bottleneck width; layer2..4 take 2, 4, 8 times it, expansion 4) and blocks per
   * stage ([3, 4, 6, 3] for resnet_50). */
  int width;
  int blocks[4];
  /* MobileNetV2 for tests (0: the net_type's own): width multiplier and channels of the last 1x1
   * convolution (1280). */
  double width_multiplier;
  int last_channels;
} dlcc_nn_net_desc;

/* A description with DeepLabCut's defaults for net_type: location refinement on, no pairwise or
 * intermediate head, f32, mean_pixel [123.68, 116.779, 103.939], batch norm as DeepLabCut's
 * TensorFlow engine trains the backbone: frozen for ResNets, batch statistics with momentum 0.003
 * (slim's decay 0.997) for MobileNetV2. */
dlcc_nn_net_desc dlcc_nn_net_desc_default(const char *net_type, int num_joints);

/* The description pose_cfg asks for, as DeepLabCut's PoseNet builds its heads: part_pred with
 * num_joints + num_idchannel channels; locref when location_refinement; pairwise_pred with
 * 2 * num_limbs channels when partaffinityfield_predict on a multi-animal dataset_type, or
 * num_joints * (num_joints - 1) * 2 when pairwise_predict on a single-animal one; the intermediate
 * head when intermediate_supervision. A ResNet with multi_stage (how DeepLabCut writes dlcrnet_ms5
 * into pose_cfg) becomes dlcrnet_ms5 / dlcr101_ms5 / dlcr152_ms5, which needs part-affinity fields.
 * Fails naming the key when net_type is not one dlcc builds. */
dlcc_status dlcc_nn_net_desc_from_cfg(const dlcc_pose_cfg *cfg, dlcc_nn_net_desc *desc, dlcc_error *err);

/* ---- Nodes --------------------------------------------------------------------------------- */

typedef enum dlcc_nn_node_kind {
  DLCC_NN_NODE_CONV,
  DLCC_NN_NODE_DECONV,
  DLCC_NN_NODE_BATCHNORM,
  DLCC_NN_NODE_ELTWISE,
  DLCC_NN_NODE_ADD,
  DLCC_NN_NODE_POOL,
  DLCC_NN_NODE_CONCAT,
  DLCC_NN_NODE_UPSAMPLE
} dlcc_nn_node_kind;

/* An input index meaning the centred image rather than a node. */
#define DLCC_NN_IMAGE (-1)
#define DLCC_NN_NODE_INPUTS DLCC_NN_CONCAT_MAX

typedef struct dlcc_nn_node {
  dlcc_nn_node_kind kind;
  union {
    dlcc_nn_conv conv;
    dlcc_nn_deconv deconv;
    dlcc_nn_batchnorm bn;
    dlcc_nn_eltwise eltwise;
    dlcc_nn_add add;
    dlcc_nn_pool pool;
    dlcc_nn_concat concat;
    dlcc_nn_upsample upsample;
  } layer;
  int inputs[DLCC_NN_NODE_INPUTS]; /* node indices, each below this node's, or DLCC_NN_IMAGE */
  int n_inputs;
  int consumers;          /* how many inputs of later nodes read this one (+1 for a head) */
  dlcc_nn_tensor y;       /* output of the last forward, kept for backward */
  /* A layer DeepLabCut adds to the backbone (heads, dlcrnet's decoder and stages): initialised as
   * slim's defaults (Xavier uniform weights, zero biases), optional in init_weights. */
  bool pose_layer;
  int grad;               /* during backward: slot of the gradient pool holding dLoss/dy, or -1 */
  dlcc_nn_add *grad_sum;  /* sums the gradients of a node read more than once */
} dlcc_nn_node;

/* A gradient tensor shared by the nodes that received it (a residual add hands one gradient to
 * both its inputs): freed for reuse when no node holds it any more. */
typedef struct dlcc_nn_grad_slot {
  dlcc_nn_tensor t;
  int refs;
} dlcc_nn_grad_slot;

typedef struct dlcc_nn_network {
  dlcc_nn_net_desc desc;
  dlcc_nn_params params;
  dlcc_nn_node *nodes;
  int n_nodes, cap;
  int heads[DLCC_NN_HEADS];  /* node index of each head, -1 when absent */
  /* the centring of the input (oneDNN binary subtract of mean_pixel), a plan per input shape */
  dlcc_nn_tensor image;      /* the centred input, in the network's data type */
  float mean[3];
  dnnl_memory_t mean_mem, image_src;
  dlcc_nn_plan_cache centre_plans;
  int64_t in_dims[4];        /* of the last forward (0 before the first) */
  bool trained;              /* the last forward was a training one: backward may follow */
  dlcc_nn_grad_slot *slots;  /* gradient pool, as many slots as nodes + heads */
  int n_slots;
  /* Which node's y holds each node's output: itself, except after an inference forward where a
   * fused residual add wrote its result over the shortcut's tensor. */
  int *value_at;
  struct dlcc_nn_fused *fused; /* the inference path's groups, found at the first inference */
} dlcc_nn_network;

/* ---- Building (used by resnet.c and the other backbones) ----------------------------------- */

/* Adding nodes with a sticky error: once one call fails, later calls do nothing and return -1,
 * so a backbone reads as a list of layers with one check at the end. */
typedef struct dlcc_nn_builder {
  dlcc_nn_network *net;
  dlcc_error *err;
  dlcc_status status;
} dlcc_nn_builder;

/* Each returns the new node's index, or -1 after a failure (now or earlier). input is a node index
 * or DLCC_NN_IMAGE. Layer names become parameter prefixes ("layer1.0.conv1" -> ".weight"). */
int dlcc_nn_build_conv(dlcc_nn_builder *b, const char *name, const dlcc_nn_conv_spec *spec, int input);
int dlcc_nn_build_deconv(dlcc_nn_builder *b, const char *name, const dlcc_nn_deconv_spec *spec, int input);
int dlcc_nn_build_batchnorm(dlcc_nn_builder *b, const char *name, int64_t channels, int input);
/* A batch norm of its own spec rather than the description's bn_stats and bn_momentum. */
int dlcc_nn_build_batchnorm_spec(dlcc_nn_builder *b, const char *name, const dlcc_nn_batchnorm_spec *spec, int input);
int dlcc_nn_build_eltwise(dlcc_nn_builder *b, const char *name, dlcc_nn_eltwise_kind kind, int input);
int dlcc_nn_build_add(dlcc_nn_builder *b, const char *name, bool relu, int input_a, int input_b);
int dlcc_nn_build_pool(dlcc_nn_builder *b, const char *name, const dlcc_nn_pool_spec *spec, int input);
int dlcc_nn_build_concat(dlcc_nn_builder *b, const char *name, const dlcc_nn_concat_spec *spec, const int *inputs);
int dlcc_nn_build_upsample(dlcc_nn_builder *b, const char *name, const dlcc_nn_upsample_spec *spec, int input);
/* DeepLabCut's head: a 3x3 transposed convolution, stride 2, TensorFlow 'SAME' padding, with
 * bias, named dlcc_nn_head_name(head), reading node input of in_channels channels. */
int dlcc_nn_build_head(dlcc_nn_builder *b, dlcc_nn_head head, int64_t in_channels, int64_t out_channels, int input);
/* Makes node (built before, any kind with parameters) the output head: dlcrnet's heads are
 * convolutions. Fails when the head exists already. */
int dlcc_nn_build_set_head(dlcc_nn_builder *b, dlcc_nn_head head, int node);
/* Marks node as one of DeepLabCut's own layers (dlcc_nn_node.pose_layer); no-op for node < 0. */
void dlcc_nn_build_mark_pose_layer(dlcc_nn_builder *b, int node);

/* The output node of every unit (Bottleneck) of a ResNet backbone, stage by stage, and the stages'
 * output channels. */
#define DLCC_NN_RESNET_MAX_UNITS 64
typedef struct dlcc_nn_resnet_units {
  int blocks[4];
  int64_t channels[4];
  int out[4][DLCC_NN_RESNET_MAX_UNITS];
} dlcc_nn_resnet_units;

/* torchvision's ResNet resnet_type ("resnet_50", "resnet_101", "resnet_152"; b->net->desc's width
 * and blocks when set) at output stride 16, without heads; checks the description's
 * intermediate_supervision_layer against layer3 (resnet.c). */
dlcc_status dlcc_nn_build_resnet_backbone(dlcc_nn_builder *b, const char *resnet_type, dlcc_nn_resnet_units *units);

/* Backbones: add their nodes and heads to b->net per b->net->desc (resnet.c, mobilenet.c,
 * dlcrnet.c). */
dlcc_status dlcc_nn_build_resnet(dlcc_nn_builder *b);
dlcc_status dlcc_nn_build_mobilenet_v2(dlcc_nn_builder *b);
dlcc_status dlcc_nn_build_dlcrnet(dlcc_nn_builder *b);

/* ---- Life cycle ---------------------------------------------------------------------------- */

/* Builds the network desc describes and allocates its parameters (all zero: call
 * dlcc_nn_network_init_random and/or dlcc_nn_network_load_init_weights). Fails naming what is wrong
 * in desc (unknown net_type, no joints, an intermediate_supervision_layer the backbone lacks).
 * Free with dlcc_nn_network_free. */
dlcc_status dlcc_nn_network_create(dlcc_nn_network **out, const dlcc_nn_net_desc *desc, dlcc_error *err);
void dlcc_nn_network_free(dlcc_nn_network *net);

/* The same with nodes added by build (a network of one's own, e.g. in tests) instead of the
 * backbone of desc->net_type; build returns b->status or its own error. Its heads must come out at
 * 2 * ceil(size / 16) like DeepLabCut's (forward checks it). */
typedef dlcc_status (*dlcc_nn_build_fn)(dlcc_nn_builder *b, void *user);
dlcc_status dlcc_nn_network_create_with(dlcc_nn_network **out, const dlcc_nn_net_desc *desc, dlcc_nn_build_fn build,
                                        void *user, dlcc_error *err);

/* Seeded initialisation: torchvision's for the backbone (Kaiming normal fan_out for convolution
 * weights, batch norm identity) and slim's defaults for DeepLabCut's own layers (pose_layer: the
 * heads, dlcrnet's decoder; Xavier uniform weights, zero biases). */
void dlcc_nn_network_init_random(dlcc_nn_network *net, dlcc_rng *rng);

/* init_weights: loads a safetensors file with torchvision's names (ImageNet weights) into the
 * network; DeepLabCut's own layers (pose_layer) may be absent (they keep their values). All or nothing; the message lists every
 * missing and mis-shaped tensor. *loaded (may be NULL) receives the number of tensors read. */
dlcc_status dlcc_nn_network_load_init_weights(dlcc_nn_network *net, const char *path, size_t *loaded,
                                              dlcc_error *err);

/* ---- Running ------------------------------------------------------------------------------- */

/* Whether the network has head (per its description). */
bool dlcc_nn_network_has_head(const dlcc_nn_network *net, dlcc_nn_head head);
/* Whether node is one of the heads (its output leaves the network). */
bool dlcc_nn_network_is_head(const dlcc_nn_network *net, int node);

/* Output dims of head for an input of dims (N, 3, H, W): (N, channels, 2 * ceil(H / 16),
 * 2 * ceil(W / 16)) for DeepLabCut's stride-8 networks. Fails when the head is absent or the input
 * does not fit (not 3 channels, too small). */
dlcc_status dlcc_nn_network_output_dims(const dlcc_nn_network *net, dlcc_nn_head head, const int64_t in[4],
                                        int64_t out[4], dlcc_error *err);

/* Runs every node on images (plain NCHW f32, RGB 0..255, dims (N, 3, H, W)), which the network
 * centres by mean_pixel first. In training mode each node's output is kept for
 * dlcc_nn_network_backward. Inference runs the fused path (fused.h): each convolution with its batch
 * norm folded in and its activation and residual add as post-ops, so only the outputs of the
 * groups' last nodes and of the heads exist afterwards. The heads' outputs are then read with
 * dlcc_nn_network_head_export. */
dlcc_status dlcc_nn_network_forward(dlcc_nn_network *net, dlcc_nn_engine *e, const float *images,
                                    const int64_t dims[4], dlcc_nn_mode mode, dlcc_error *err);

/* Copies head's output of the last forward into dst as plain NCHW f32 (dims from
 * dlcc_nn_network_output_dims). */
dlcc_status dlcc_nn_network_head_export(dlcc_nn_network *net, dlcc_nn_engine *e, dlcc_nn_head head, float *dst,
                                        dlcc_error *err);

/* From the heads' gradients dLoss/dhead (plain NCHW f32 of the heads' dims, indexed by
 * dlcc_nn_head; NULL where a head takes no part in the loss: its parameters get zero gradients),
 * writes (overwrites) the gradient of every trained parameter into net->params.grads. Follows a
 * training forward; fails otherwise. */
dlcc_status dlcc_nn_network_backward(dlcc_nn_network *net, dlcc_nn_engine *e, const float *const *head_grads,
                                     dlcc_error *err);

#endif
