/* Networks as lists of nodes: the description (and how pose_cfg gives it), building, the centring of
 * the input, forward in node order and backward in reverse with a small pool of gradient tensors
 * that are shared where a gradient fans out and summed where a tensor fed several nodes. */
#include "nn/network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/init.h"

/* ---- Description ------------------------------------------------------------------------- */

#define NET_TYPES "resnet_50, resnet_101, resnet_152, mobilenet_v2_1.0, mobilenet_v2_0.75, mobilenet_v2_0.5, " \
                  "mobilenet_v2_0.35, dlcrnet_ms5, dlcr101_ms5 or dlcr152_ms5"

static const char *const HEAD_NAMES[DLCC_NN_HEADS] = {"part_pred", "locref", "pairwise_pred",
                                                      "intermediate_part_pred"};

const char *dlcc_nn_head_name(dlcc_nn_head head) {
  return (unsigned)head < DLCC_NN_HEADS ? HEAD_NAMES[head] : NULL;
}

dlcc_nn_net_desc dlcc_nn_net_desc_default(const char *net_type, int num_joints) {
  dlcc_nn_net_desc d = {
    .num_joints = num_joints, .location_refinement = true, .bn_stats = DLCC_NN_BN_FROZEN, .dtype = DLCC_NN_F32,
    .mean_pixel = {123.68, 116.779, 103.939},  /* pose_cfg's mean_pixel default */
  };
  snprintf(d.net_type, sizeof d.net_type, "%s", net_type);
  if (strncmp(net_type, "mobilenet_v2_", 13) == 0) { /* slim's training_scope: is_training, decay 0.997 */
    d.bn_stats = DLCC_NN_BN_BATCH;
    d.bn_momentum = 0.003;
  }
  return d;
}

static bool is_dlcrnet(const char *net_type) {
  return strcmp(net_type, "dlcrnet_ms5") == 0 || strcmp(net_type, "dlcr101_ms5") == 0 ||
         strcmp(net_type, "dlcr152_ms5") == 0;
}

/* DeepLabCut's create_multianimaltraining_dataset writes dlcrnet_ms5 (dlcr101_ms5, dlcr152_ms5) into
 * pose_cfg as resnet_50 (101, 152) with multi_stage: true, and PoseMultiNet keeps multi_stage for
 * ResNets only. */
static const char *multi_stage_net_type(const char *resnet) {
  if (strcmp(resnet, "resnet_50") == 0) return "dlcrnet_ms5";
  if (strcmp(resnet, "resnet_101") == 0) return "dlcr101_ms5";
  if (strcmp(resnet, "resnet_152") == 0) return "dlcr152_ms5";
  return NULL;
}

dlcc_status dlcc_nn_net_desc_from_cfg(const dlcc_pose_cfg *cfg, dlcc_nn_net_desc *desc, dlcc_error *err) {
  const char *where = cfg->source_path ? cfg->source_path : "pose_cfg";
  const char *net_type = cfg->net_type ? cfg->net_type : "";
  if (cfg->multi_stage && multi_stage_net_type(net_type)) net_type = multi_stage_net_type(net_type);
  bool known = strncmp(net_type, "resnet_", 7) == 0 || strncmp(net_type, "mobilenet_v2_", 13) == 0 ||
               is_dlcrnet(net_type);
  if (!known || strlen(net_type) >= sizeof desc->net_type)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "%s: net_type '%s' is not a network dlcc builds; use " NET_TYPES,
                     where, net_type);
  bool multi = cfg->dataset_type && strstr(cfg->dataset_type, "multi-animal");
  /* PoseMultiNet's multi-stage decoder makes part_pred only with part-affinity fields */
  if (is_dlcrnet(net_type) && !(multi && cfg->partaffinityfield_predict && cfg->num_limbs > 0))
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: %s refines part-affinity fields stage by stage; it needs a "
                     "multi-animal dataset_type with partaffinityfield_predict: true and num_limbs > 0 (use "
                     "resnet_50 otherwise)", where, net_type);
  *desc = dlcc_nn_net_desc_default(net_type, cfg->num_joints);
  desc->num_idchannel = cfg->num_idchannel;
  desc->location_refinement = cfg->location_refinement;
  /* DeepLabCut's prediction_layers: PAFs on multi-animal datasets, DeeperCut's pairwise offsets
   * (every ordered pair of joints) otherwise. */
  if (multi && cfg->partaffinityfield_predict) desc->num_limbs = cfg->num_limbs;
  if (!multi && cfg->pairwise_predict) desc->num_limbs = cfg->num_joints * (cfg->num_joints - 1);
  desc->intermediate_supervision = cfg->intermediate_supervision;
  desc->intermediate_supervision_layer = cfg->intermediate_supervision_layer;
  memcpy(desc->mean_pixel, cfg->mean_pixel, sizeof desc->mean_pixel);
  return DLCC_OK;
}

static dlcc_status check_desc(const dlcc_nn_net_desc *d, dlcc_error *err) {
  if (d->num_joints < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: num_joints is %d; a network needs at least one joint", d->net_type,
                     d->num_joints);
  if (d->num_idchannel < 0 || d->num_limbs < 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: num_idchannel (%d) and num_limbs (%d) cannot be negative",
                     d->net_type, d->num_idchannel, d->num_limbs);
  if (d->dtype != DLCC_NN_F32 && d->dtype != DLCC_NN_BF16)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: unknown data type %d", d->net_type, (int)d->dtype);
  if (d->bn_stats != DLCC_NN_BN_FROZEN && d->bn_stats != DLCC_NN_BN_BATCH)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: unknown batch-norm mode %d", d->net_type, (int)d->bn_stats);
  if (d->width < 0 || d->blocks[0] < 0 || d->blocks[1] < 0 || d->blocks[2] < 0 || d->blocks[3] < 0 ||
      d->width_multiplier < 0 || d->last_channels < 0 || d->bn_momentum < 0 || d->bn_momentum > 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: width, blocks, width_multiplier and last_channels cannot be "
                     "negative, bn_momentum is in [0, 1]", d->net_type);
  return DLCC_OK;
}

/* ---- Building ------------------------------------------------------------------------------ */

static dlcc_nn_node *new_node(dlcc_nn_builder *b, dlcc_nn_node_kind kind, const int *inputs, int n_inputs) {
  dlcc_nn_network *net = b->net;
  for (int i = 0; i < n_inputs; i++)
    if (inputs[i] < DLCC_NN_IMAGE || inputs[i] >= net->n_nodes) {
      b->status = dlcc_fail(b->err, DLCC_ERR_INVALID, "building %s: node %d reads node %d, which does not exist "
                            "yet", net->desc.net_type, net->n_nodes, inputs[i]);
      return NULL;
    }
  if (net->n_nodes == net->cap) {
    int cap = net->cap ? 2 * net->cap : 64;
    dlcc_nn_node *grown = realloc(net->nodes, (size_t)cap * sizeof *grown);
    if (!grown) {
      b->status = dlcc_fail(b->err, DLCC_ERR_NOMEM, "out of memory building %s", net->desc.net_type);
      return NULL;
    }
    net->nodes = grown;
    net->cap = cap;
  }
  dlcc_nn_node *node = &net->nodes[net->n_nodes];
  memset(node, 0, sizeof *node);
  node->kind = kind;
  node->n_inputs = n_inputs;
  memcpy(node->inputs, inputs, (size_t)n_inputs * sizeof *inputs);
  node->grad = -1;
  dlcc_nn_tensor_init(&node->y);
  return node;
}

static void free_layer(dlcc_nn_node *node) {
  switch (node->kind) {
  case DLCC_NN_NODE_CONV: dlcc_nn_conv_free(&node->layer.conv); break;
  case DLCC_NN_NODE_DECONV: dlcc_nn_deconv_free(&node->layer.deconv); break;
  case DLCC_NN_NODE_BATCHNORM: dlcc_nn_batchnorm_free(&node->layer.bn); break;
  case DLCC_NN_NODE_ELTWISE: dlcc_nn_eltwise_free(&node->layer.eltwise); break;
  case DLCC_NN_NODE_ADD: dlcc_nn_add_free(&node->layer.add); break;
  case DLCC_NN_NODE_POOL: dlcc_nn_pool_free(&node->layer.pool); break;
  case DLCC_NN_NODE_CONCAT: dlcc_nn_concat_free(&node->layer.concat); break;
  case DLCC_NN_NODE_UPSAMPLE: dlcc_nn_upsample_free(&node->layer.upsample); break;
  }
}

/* Keeps the node whose layer initialised (st == DLCC_OK), else frees what its init acquired. */
static int commit_node(dlcc_nn_builder *b, dlcc_nn_node *node, dlcc_status st) {
  if (st) {
    free_layer(node);
    b->status = st;
    return -1;
  }
  return b->net->n_nodes++;
}

int dlcc_nn_build_conv(dlcc_nn_builder *b, const char *name, const dlcc_nn_conv_spec *spec, int input) {
  dlcc_nn_node *node = b->status ? NULL : new_node(b, DLCC_NN_NODE_CONV, &input, 1);
  if (!node) return -1;
  return commit_node(b, node, dlcc_nn_conv_init(&node->layer.conv, name, spec, &b->net->params, b->err));
}

int dlcc_nn_build_deconv(dlcc_nn_builder *b, const char *name, const dlcc_nn_deconv_spec *spec, int input) {
  dlcc_nn_node *node = b->status ? NULL : new_node(b, DLCC_NN_NODE_DECONV, &input, 1);
  if (!node) return -1;
  return commit_node(b, node, dlcc_nn_deconv_init(&node->layer.deconv, name, spec, &b->net->params, b->err));
}

int dlcc_nn_build_batchnorm(dlcc_nn_builder *b, const char *name, int64_t channels, int input) {
  dlcc_nn_batchnorm_spec spec = dlcc_nn_batchnorm_spec_default(channels, b->net->desc.bn_stats);
  if (b->net->desc.bn_momentum > 0) spec.momentum = (float)b->net->desc.bn_momentum;
  return dlcc_nn_build_batchnorm_spec(b, name, &spec, input);
}

int dlcc_nn_build_batchnorm_spec(dlcc_nn_builder *b, const char *name, const dlcc_nn_batchnorm_spec *spec, int input) {
  dlcc_nn_node *node = b->status ? NULL : new_node(b, DLCC_NN_NODE_BATCHNORM, &input, 1);
  if (!node) return -1;
  return commit_node(b, node, dlcc_nn_batchnorm_init(&node->layer.bn, name, spec, &b->net->params, b->err));
}

int dlcc_nn_build_eltwise(dlcc_nn_builder *b, const char *name, dlcc_nn_eltwise_kind kind, int input) {
  dlcc_nn_node *node = b->status ? NULL : new_node(b, DLCC_NN_NODE_ELTWISE, &input, 1);
  if (!node) return -1;
  dlcc_nn_eltwise_spec spec = {.kind = kind};
  return commit_node(b, node, dlcc_nn_eltwise_init(&node->layer.eltwise, name, &spec, b->err));
}

int dlcc_nn_build_add(dlcc_nn_builder *b, const char *name, bool relu, int input_a, int input_b) {
  int inputs[2] = {input_a, input_b};
  dlcc_nn_node *node = b->status ? NULL : new_node(b, DLCC_NN_NODE_ADD, inputs, 2);
  if (!node) return -1;
  dlcc_nn_add_spec spec = {.relu = relu};
  return commit_node(b, node, dlcc_nn_add_init(&node->layer.add, name, &spec, b->err));
}

int dlcc_nn_build_pool(dlcc_nn_builder *b, const char *name, const dlcc_nn_pool_spec *spec, int input) {
  dlcc_nn_node *node = b->status ? NULL : new_node(b, DLCC_NN_NODE_POOL, &input, 1);
  if (!node) return -1;
  return commit_node(b, node, dlcc_nn_pool_init(&node->layer.pool, name, spec, b->err));
}

int dlcc_nn_build_concat(dlcc_nn_builder *b, const char *name, const dlcc_nn_concat_spec *spec, const int *inputs) {
  if (!b->status && (spec->inputs < 2 || spec->inputs > DLCC_NN_CONCAT_MAX))
    b->status = dlcc_fail(b->err, DLCC_ERR_INVALID, "%s: concatenates 2 to %d inputs, not %d", name,
                          DLCC_NN_CONCAT_MAX, spec->inputs);
  dlcc_nn_node *node = b->status ? NULL : new_node(b, DLCC_NN_NODE_CONCAT, inputs, spec->inputs);
  if (!node) return -1;
  return commit_node(b, node, dlcc_nn_concat_init(&node->layer.concat, name, spec, b->err));
}

int dlcc_nn_build_upsample(dlcc_nn_builder *b, const char *name, const dlcc_nn_upsample_spec *spec, int input) {
  dlcc_nn_node *node = b->status ? NULL : new_node(b, DLCC_NN_NODE_UPSAMPLE, &input, 1);
  if (!node) return -1;
  return commit_node(b, node, dlcc_nn_upsample_init(&node->layer.upsample, name, spec, b->err));
}

int dlcc_nn_build_head(dlcc_nn_builder *b, dlcc_nn_head head, int64_t in_channels, int64_t out_channels, int input) {
  if (b->status) return -1;
  if ((unsigned)head >= DLCC_NN_HEADS || b->net->heads[head] >= 0) {
    b->status = dlcc_fail(b->err, DLCC_ERR_INVALID, "building %s: head %d is unknown or built twice",
                          b->net->desc.net_type, (int)head);
    return -1;
  }
  dlcc_nn_deconv_spec spec = dlcc_nn_deconv_spec_tf_same(in_channels, out_channels, 3, 2);
  return dlcc_nn_build_set_head(b, head, dlcc_nn_build_deconv(b, dlcc_nn_head_name(head), &spec, input));
}

int dlcc_nn_build_set_head(dlcc_nn_builder *b, dlcc_nn_head head, int node) {
  if (b->status || node < 0) return -1;
  if ((unsigned)head >= DLCC_NN_HEADS || b->net->heads[head] >= 0 || node >= b->net->n_nodes) {
    b->status = dlcc_fail(b->err, DLCC_ERR_INVALID, "building %s: head %d is unknown or built twice",
                          b->net->desc.net_type, (int)head);
    return -1;
  }
  b->net->heads[head] = node;
  b->net->nodes[node].pose_layer = true;
  return node;
}

void dlcc_nn_build_mark_pose_layer(dlcc_nn_builder *b, int node) {
  if (node >= 0 && node < b->net->n_nodes) b->net->nodes[node].pose_layer = true;
}

/* ---- Life cycle ---------------------------------------------------------------------------- */

static dlcc_status build_backbone(dlcc_nn_builder *b, void *unused) {
  (void)unused;
  if (strncmp(b->net->desc.net_type, "resnet_", 7) == 0) return dlcc_nn_build_resnet(b);
  if (strncmp(b->net->desc.net_type, "mobilenet_v2_", 13) == 0) return dlcc_nn_build_mobilenet_v2(b);
  if (is_dlcrnet(b->net->desc.net_type)) return dlcc_nn_build_dlcrnet(b);
  return dlcc_fail(b->err, DLCC_ERR_UNSUPPORTED, "net_type '%s' is not a network dlcc builds; use " NET_TYPES,
                   b->net->desc.net_type);
}

/* Counts each node's readers, gives a gradient sum to nodes read more than once, allocates the
 * parameters and the gradient pool. */
static dlcc_status finish(dlcc_nn_network *net, dlcc_error *err) {
  for (int i = 0; i < net->n_nodes; i++)
    for (int k = 0; k < net->nodes[i].n_inputs; k++)
      if (net->nodes[i].inputs[k] != DLCC_NN_IMAGE) net->nodes[net->nodes[i].inputs[k]].consumers++;
  for (int h = 0; h < DLCC_NN_HEADS; h++)
    if (net->heads[h] >= 0) net->nodes[net->heads[h]].consumers++;
  for (int i = 0; i < net->n_nodes; i++) {
    dlcc_nn_node *node = &net->nodes[i];
    if (node->consumers < 2) continue;
    if (!(node->grad_sum = calloc(1, sizeof *node->grad_sum)))
      return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory building %s", net->desc.net_type);
    dlcc_nn_add_spec spec = {.relu = false};
    dlcc_status st = dlcc_nn_add_init(node->grad_sum, "gradient sum", &spec, err);
    if (st) return st;
  }
  if (!(net->value_at = calloc((size_t)net->n_nodes + 1, sizeof *net->value_at)))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory building %s", net->desc.net_type);
  net->n_slots = net->n_nodes + DLCC_NN_HEADS + DLCC_NN_NODE_INPUTS + 2;
  if (!(net->slots = calloc((size_t)net->n_slots, sizeof *net->slots)))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory building %s", net->desc.net_type);
  for (int i = 0; i < net->n_slots; i++) dlcc_nn_tensor_init(&net->slots[i].t);
  return dlcc_nn_params_allocate(&net->params, err);
}

static void destroy_centre_plan(void *plan);

dlcc_status dlcc_nn_network_create(dlcc_nn_network **out, const dlcc_nn_net_desc *desc, dlcc_error *err) {
  return dlcc_nn_network_create_with(out, desc, build_backbone, NULL, err);
}

dlcc_status dlcc_nn_network_create_with(dlcc_nn_network **out, const dlcc_nn_net_desc *desc, dlcc_nn_build_fn build,
                                        void *user, dlcc_error *err) {
  *out = NULL;
  dlcc_status st = check_desc(desc, err);
  if (st) return st;
  dlcc_nn_network *net = calloc(1, sizeof *net);
  if (!net) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory building %s", desc->net_type);
  net->desc = *desc;
  net->desc.net_type[sizeof net->desc.net_type - 1] = '\0';
  dlcc_nn_params_init(&net->params);
  dlcc_nn_tensor_init(&net->image);
  dlcc_nn_plan_cache_init(&net->centre_plans, destroy_centre_plan);
  for (int h = 0; h < DLCC_NN_HEADS; h++) net->heads[h] = -1;
  for (int c = 0; c < 3; c++) net->mean[c] = (float)desc->mean_pixel[c];
  dlcc_nn_builder b = {.net = net, .err = err};
  st = build(&b, user);
  if (!st) st = b.status;
  if (!st) st = finish(net, err);
  if (st) {
    dlcc_nn_network_free(net);
    return st;
  }
  *out = net;
  return DLCC_OK;
}

void dlcc_nn_network_free(dlcc_nn_network *net) {
  if (!net) return;
  for (int i = 0; i < net->n_nodes; i++) {
    free_layer(&net->nodes[i]);
    dlcc_nn_tensor_free(&net->nodes[i].y);
    if (net->nodes[i].grad_sum) dlcc_nn_add_free(net->nodes[i].grad_sum);
    free(net->nodes[i].grad_sum);
  }
  free(net->nodes);
  for (int i = 0; i < net->n_slots; i++) dlcc_nn_tensor_free(&net->slots[i].t);
  free(net->slots);
  free(net->value_at);
  dlcc_nn_fused_free(net->fused);
  dlcc_nn_plan_cache_free(&net->centre_plans);
  if (net->mean_mem) dnnl_memory_destroy(net->mean_mem);
  dlcc_nn_tensor_free(&net->image);
  dlcc_nn_params_free(&net->params);
  free(net);
}

/* The name of a node's layer, the prefix of its parameters; NULL for kinds without parameters. */
static const char *param_layer_name(const dlcc_nn_node *node) {
  switch (node->kind) {
  case DLCC_NN_NODE_CONV: return node->layer.conv.name;
  case DLCC_NN_NODE_DECONV: return node->layer.deconv.name;
  case DLCC_NN_NODE_BATCHNORM: return node->layer.bn.name;
  default: return NULL;
  }
}

void dlcc_nn_network_init_random(dlcc_nn_network *net, dlcc_rng *rng) {
  dlcc_nn_init_random(&net->params, rng);
  /* in node order: the same seed gives the same network */
  for (int i = 0; i < net->n_nodes; i++) {
    const dlcc_nn_node *node = &net->nodes[i];
    if (!node->pose_layer) continue;
    if (node->kind == DLCC_NN_NODE_CONV) dlcc_nn_init_xavier_uniform(&net->params, node->layer.conv.weight, rng);
    if (node->kind == DLCC_NN_NODE_DECONV) dlcc_nn_init_xavier_uniform(&net->params, node->layer.deconv.weight, rng);
  }
}

dlcc_status dlcc_nn_network_load_init_weights(dlcc_nn_network *net, const char *path, size_t *loaded,
                                              dlcc_error *err) {
  /* "<layer>." for each of DeepLabCut's own layers with parameters */
  size_t n = 0;
  for (int i = 0; i < net->n_nodes; i++) n += net->nodes[i].pose_layer && param_layer_name(&net->nodes[i]);
  const char **optional = calloc(n + 1, sizeof *optional);
  char **prefixes = calloc(n + 1, sizeof *prefixes);
  dlcc_status st = optional && prefixes ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  size_t k = 0;
  for (int i = 0; !st && i < net->n_nodes; i++) {
    const char *name = net->nodes[i].pose_layer ? param_layer_name(&net->nodes[i]) : NULL;
    if (!name) continue;
    size_t len = strlen(name);
    if (!(prefixes[k] = malloc(len + 2))) {
      st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
      break;
    }
    memcpy(prefixes[k], name, len);
    memcpy(prefixes[k] + len, ".", 2);
    optional[k] = prefixes[k];
    k++;
  }
  if (!st) st = dlcc_nn_params_load(&net->params, path, optional, k, loaded, err);
  if (st) dlcc_error_prefix(err, "init_weights for %s", net->desc.net_type);
  for (size_t i = 0; prefixes && i < k; i++) free(prefixes[i]);
  free(prefixes);
  free(optional);
  return st;
}

/* ---- Shapes -------------------------------------------------------------------------------- */

bool dlcc_nn_network_has_head(const dlcc_nn_network *net, dlcc_nn_head head) {
  return (unsigned)head < DLCC_NN_HEADS && net->heads[head] >= 0;
}

static const int64_t *input_dims(const int64_t (*dims)[4], const int64_t image[4], int input) {
  return input == DLCC_NN_IMAGE ? image : dims[input];
}

static dlcc_status node_output_dims(const dlcc_nn_node *node, const int64_t (*dims)[4], const int64_t image[4],
                                    int64_t out[4], dlcc_error *err) {
  const int64_t *x = input_dims(dims, image, node->inputs[0]);
  switch (node->kind) {
  case DLCC_NN_NODE_CONV: return dlcc_nn_conv_output_dims(&node->layer.conv, x, out, err);
  case DLCC_NN_NODE_DECONV: return dlcc_nn_deconv_output_dims(&node->layer.deconv, x, out, err);
  case DLCC_NN_NODE_BATCHNORM:
    if (x[1] != node->layer.bn.spec.channels)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input has %lld channels, the layer takes %lld",
                       node->layer.bn.name, (long long)x[1], (long long)node->layer.bn.spec.channels);
    memcpy(out, x, 4 * sizeof *out);
    return DLCC_OK;
  case DLCC_NN_NODE_ELTWISE: return dlcc_nn_eltwise_output_dims(&node->layer.eltwise, x, out, err);
  case DLCC_NN_NODE_ADD:
    return dlcc_nn_add_output_dims(&node->layer.add, x, input_dims(dims, image, node->inputs[1]), out, err);
  case DLCC_NN_NODE_POOL: return dlcc_nn_pool_output_dims(&node->layer.pool, x, out, err);
  case DLCC_NN_NODE_CONCAT: {
    int64_t in[DLCC_NN_CONCAT_MAX][4];
    for (int k = 0; k < node->n_inputs; k++) memcpy(in[k], input_dims(dims, image, node->inputs[k]), sizeof in[k]);
    return dlcc_nn_concat_output_dims(&node->layer.concat, (const int64_t(*)[4])in, out, err);
  }
  case DLCC_NN_NODE_UPSAMPLE: return dlcc_nn_upsample_output_dims(&node->layer.upsample, x, out, err);
  }
  return dlcc_fail(err, DLCC_ERR_INVALID, "unknown node kind %d", (int)node->kind);
}

static dlcc_status check_image_dims(const dlcc_nn_network *net, const int64_t dims[4], dlcc_error *err) {
  if (dims[0] < 1 || dims[1] != 3 || dims[2] < 1 || dims[3] < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input is %lldx%lldx%lldx%lld; the network takes N x 3 x H x W "
                     "RGB images", net->desc.net_type, (long long)dims[0], (long long)dims[1], (long long)dims[2],
                     (long long)dims[3]);
  return DLCC_OK;
}

/* The rule DeepLabCut's stride-8 networks follow (output stride 16, then a stride-2 head). */
static int64_t head_size(int64_t input) {
  return 2 * ((input + 15) / 16);
}

dlcc_status dlcc_nn_network_output_dims(const dlcc_nn_network *net, dlcc_nn_head head, const int64_t in[4],
                                        int64_t out[4], dlcc_error *err) {
  if (!dlcc_nn_network_has_head(net, head))
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s has no %s head", net->desc.net_type,
                     dlcc_nn_head_name(head) ? dlcc_nn_head_name(head) : "such");
  dlcc_status st = check_image_dims(net, in, err);
  if (st) return st;
  int64_t(*dims)[4] = malloc((size_t)net->n_nodes * sizeof *dims);
  if (!dims) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (int i = 0; !st && i <= net->heads[head]; i++)
    st = node_output_dims(&net->nodes[i], (const int64_t(*)[4])dims, in, dims[i], err);
  if (!st) memcpy(out, dims[net->heads[head]], 4 * sizeof *out);
  free(dims);
  if (!st && (out[2] != head_size(in[2]) || out[3] != head_size(in[3])))
    st = dlcc_fail(err, DLCC_ERR_INVALID, "%s: internal error: %s is %lldx%lld for a %lldx%lld input, not "
                   "2 * ceil(size / 16)", net->desc.net_type, dlcc_nn_head_name(head), (long long)out[2],
                   (long long)out[3], (long long)in[2], (long long)in[3]);
  return st;
}

/* ---- Centring the input: y = x - mean_pixel (oneDNN binary subtract, mean broadcast) -------- */

/* The subtraction runs in f32: oneDNN 2.6 has no fast kernel for a binary op from f32 into bf16 (its
 * reference one took 49 ms on a 640x480 image); a bf16 network's input is then converted by a
 * reorder. */
typedef struct centre_plan {
  dnnl_primitive_desc_t pd;
  dlcc_nn_prim prim;
  dnnl_memory_t src;         /* over the caller's images, pointer set at each run */
  dlcc_nn_buffer centred;    /* the f32 result when the network runs in bf16 */
  dlcc_nn_reorder to_bf16;
} centre_plan;

static void destroy_centre_plan(void *opaque) {
  centre_plan *plan = opaque;
  if (plan->pd) dnnl_primitive_desc_destroy(plan->pd);
  dlcc_nn_prim_destroy(&plan->prim);
  if (plan->src) dnnl_memory_destroy(plan->src);
  dlcc_nn_buffer_free(&plan->centred);
  dlcc_nn_reorder_free(&plan->to_bf16);
  free(plan);
}

static dlcc_status make_mean(dlcc_nn_network *net, dlcc_nn_engine *e, const char *what, dlcc_error *err) {
  if (net->mean_mem) return DLCC_OK;
  dnnl_memory_desc_t md;
  dnnl_dims_t dims = {1, 3, 1, 1};
  dlcc_status st = dlcc_nn_check(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nchw), err, what);
  if (!st) st = dlcc_nn_check(dnnl_memory_create(&net->mean_mem, &md, e->cpu, net->mean), err, what);
  return st;
}

static dlcc_status create_centre(dlcc_nn_network *net, dlcc_nn_engine *e, const dnnl_memory_desc_t *src,
                                 centre_plan *plan, dlcc_error *err) {
  char what[160];
  snprintf(what, sizeof what, "%s: centring the input by mean_pixel", net->desc.net_type);
  dnnl_memory_desc_t mean_md, dst_md;
  dnnl_dims_t mean_dims = {1, 3, 1, 1};
  dnnl_binary_desc_t d;
  dlcc_status st = dlcc_nn_check(dnnl_memory_desc_init_by_tag(&mean_md, 4, mean_dims, dnnl_f32, dnnl_nchw), err, what);
  if (!st) st = dlcc_nn_check(dnnl_memory_desc_init_by_tag(&dst_md, 4, src->dims, dnnl_f32, dnnl_nchw), err, what);
  if (!st) st = dlcc_nn_check(dnnl_binary_desc_init(&d, dnnl_binary_sub, src, &mean_md, &dst_md), err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_desc_create(&plan->pd, &d, e->attr, e->cpu, NULL), err, what);
  if (!st) st = dlcc_nn_prim_create(&plan->prim, e, plan->pd, what, err);
  if (!st) st = dlcc_nn_check(dnnl_memory_create(&plan->src, src, e->cpu, DNNL_MEMORY_NONE), err, what);
  if (!st && net->desc.dtype == DLCC_NN_BF16) st = dlcc_nn_buffer_set(&plan->centred, e, &dst_md, err);
  return st ? st : make_mean(net, e, what, err);
}

static dlcc_status centre_input(dlcc_nn_network *net, dlcc_nn_engine *e, const float *images, const int64_t dims[4],
                                dlcc_error *err) {
  dnnl_memory_desc_t src;
  dnnl_dims_t full = {dims[0], dims[1], dims[2], dims[3]};
  dlcc_status st = dlcc_nn_check(dnnl_memory_desc_init_by_tag(&src, 4, full, dnnl_f32, dnnl_nchw), err,
                                 "describing the input images");
  if (st) return st;
  centre_plan *plan = dlcc_nn_plan_cache_find(&net->centre_plans, &src, DLCC_NN_INFERENCE);
  if (!plan) {
    if (!(plan = calloc(1, sizeof *plan))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    st = create_centre(net, e, &src, plan, err);
    if (st) {
      destroy_centre_plan(plan);
      return st;
    }
    dlcc_nn_plan_cache_put(&net->centre_plans, &src, DLCC_NN_INFERENCE, plan);
  }
  /* oneDNN reads the images through a non-const handle; the subtraction never writes its source. */
  st = dlcc_nn_check(dnnl_memory_set_data_handle(plan->src, (void *)(uintptr_t)images), err, "wrapping the images");
  if (!st) st = dlcc_nn_tensor_set_shape(&net->image, e, dims, net->desc.dtype, dnnl_nchw, err);
  if (st) return st;
  dnnl_memory_t centred = plan->centred.mem ? plan->centred.mem : net->image.buf.mem;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC_0, plan->src}, {DNNL_ARG_SRC_1, net->mean_mem}, {DNNL_ARG_DST, centred}};
  st = dlcc_nn_prim_run(&plan->prim, e, 3, args, "centring the input", err);
  if (!st && plan->centred.mem) st = dlcc_nn_reorder_run(&plan->to_bf16, e, centred, net->image.buf.mem, err);
  return st;
}

/* ---- Forward ------------------------------------------------------------------------------- */

static dlcc_nn_tensor *input_tensor(dlcc_nn_network *net, int input) {
  return input == DLCC_NN_IMAGE ? &net->image : &net->nodes[net->value_at[input]].y;
}

bool dlcc_nn_network_is_head(const dlcc_nn_network *net, int node) {
  for (int h = 0; h < DLCC_NN_HEADS; h++)
    if (net->heads[h] == node) return true;
  return false;
}

/* ReLU/ReLU6/sigmoid and residual adds write over their (first) input when nothing else reads it and
 * its own backward does not need it: batch norm and convolution go back from their input, while an
 * activation or an add with ReLU goes back from its output (as PyTorch's inplace ReLU saves memory:
 * ResNet-50 training keeps a third fewer tensors). Returns that input, or -1. */
static int overwritable_input(const dlcc_nn_network *net, const dlcc_nn_node *node) {
  if (node->kind != DLCC_NN_NODE_ELTWISE && node->kind != DLCC_NN_NODE_ADD) return -1;
  int j = node->inputs[0];
  if (j == DLCC_NN_IMAGE || net->nodes[j].consumers != 1 || dlcc_nn_network_is_head(net, j)) return -1;
  if (node->kind == DLCC_NN_NODE_ADD && node->inputs[1] == j) return -1;
  const dlcc_nn_node *in = &net->nodes[j];
  if (in->kind == DLCC_NN_NODE_ELTWISE || (in->kind == DLCC_NN_NODE_ADD && in->layer.add.spec.relu)) return -1;
  return j;
}

static dlcc_status forward_node(dlcc_nn_network *net, dlcc_nn_engine *e, dlcc_nn_node *node, dlcc_nn_mode mode,
                                dlcc_error *err) {
  const dlcc_nn_tensor *x = input_tensor(net, node->inputs[0]);
  dlcc_nn_tensor *y = &node->y;
  int over = overwritable_input(net, node);
  /* oneDNN 2.6.3's binary add in place leaves the output unchanged when the channels do not fill the
   * last block (8 channels in nChw16c): no in-place add there */
  const dnnl_memory_desc_t *md = over >= 0 ? dlcc_nn_tensor_md(x) : NULL;
  if (node->kind == DLCC_NN_NODE_ADD && md && md->padded_dims[1] != md->dims[1]) over = -1;
  if (over >= 0) {
    net->value_at[node - net->nodes] = net->value_at[over];
    y = &net->nodes[net->value_at[over]].y;
  }
  switch (node->kind) {
  case DLCC_NN_NODE_CONV: return dlcc_nn_conv_forward(&node->layer.conv, e, x, y, mode, err);
  case DLCC_NN_NODE_DECONV: return dlcc_nn_deconv_forward(&node->layer.deconv, e, x, y, mode, err);
  case DLCC_NN_NODE_BATCHNORM: return dlcc_nn_batchnorm_forward(&node->layer.bn, e, x, y, mode, err);
  case DLCC_NN_NODE_ELTWISE: return dlcc_nn_eltwise_forward(&node->layer.eltwise, e, x, y, mode, err);
  case DLCC_NN_NODE_ADD:
    return dlcc_nn_add_forward(&node->layer.add, e, x, input_tensor(net, node->inputs[1]), y, mode, err);
  case DLCC_NN_NODE_POOL: return dlcc_nn_pool_forward(&node->layer.pool, e, x, y, mode, err);
  case DLCC_NN_NODE_CONCAT: {
    const dlcc_nn_tensor *xs[DLCC_NN_CONCAT_MAX];
    for (int k = 0; k < node->n_inputs; k++) xs[k] = input_tensor(net, node->inputs[k]);
    return dlcc_nn_concat_forward(&node->layer.concat, e, xs, y, mode, err);
  }
  case DLCC_NN_NODE_UPSAMPLE: return dlcc_nn_upsample_forward(&node->layer.upsample, e, x, y, mode, err);
  }
  return dlcc_fail(err, DLCC_ERR_INVALID, "unknown node kind %d", (int)node->kind);
}

/* Every head must come out at 2 * ceil(input / 16): the score-map size DeepLabCut's targets use. */
static dlcc_status check_head_sizes(const dlcc_nn_network *net, const int64_t dims[4], dlcc_error *err) {
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    if (net->heads[h] < 0) continue;
    const int64_t *y = net->nodes[net->heads[h]].y.dims;
    if (y[0] != dims[0] || y[2] != head_size(dims[2]) || y[3] != head_size(dims[3]))
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: internal error: %s is %lldx%lld for a %lldx%lld input, not "
                       "2 * ceil(size / 16)", net->desc.net_type, HEAD_NAMES[h], (long long)y[2], (long long)y[3],
                       (long long)dims[2], (long long)dims[3]);
  }
  return DLCC_OK;
}

dlcc_status dlcc_nn_network_forward(dlcc_nn_network *net, dlcc_nn_engine *e, const float *images,
                                    const int64_t dims[4], dlcc_nn_mode mode, dlcc_error *err) {
  net->trained = false;
  memset(net->in_dims, 0, sizeof net->in_dims);
  for (int i = 0; i < net->n_nodes; i++) net->value_at[i] = i;
  dlcc_status st = check_image_dims(net, dims, err);
  if (!st && mode == DLCC_NN_INFERENCE && !net->fused) st = dlcc_nn_fused_create(&net->fused, net, err);
  if (!st) st = centre_input(net, e, images, dims, err);
  for (int i = 0; !st && i < net->n_nodes; i++) {
    int role = mode == DLCC_NN_INFERENCE ? net->fused->role[i] : DLCC_NN_FUSED_SINGLE;
    if (role >= 0) st = dlcc_nn_fused_run(net->fused, net, e, role, err);
    else if (role == DLCC_NN_FUSED_SINGLE) st = forward_node(net, e, &net->nodes[i], mode, err);
  }
  if (!st) st = check_head_sizes(net, dims, err);
  if (st) return st;
  memcpy(net->in_dims, dims, sizeof net->in_dims);
  net->trained = mode == DLCC_NN_TRAINING;
  return DLCC_OK;
}

dlcc_status dlcc_nn_network_head_export(dlcc_nn_network *net, dlcc_nn_engine *e, dlcc_nn_head head, float *dst,
                                        dlcc_error *err) {
  if (!dlcc_nn_network_has_head(net, head))
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s has no %s head", net->desc.net_type,
                     dlcc_nn_head_name(head) ? dlcc_nn_head_name(head) : "such");
  if (!net->in_dims[0])
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: reading %s before a forward pass", net->desc.net_type,
                     HEAD_NAMES[head]);
  return dlcc_nn_tensor_export_nchw(&net->nodes[net->heads[head]].y, e, dst, err);
}

/* ---- Backward: the gradient pool ----------------------------------------------------------- */

/* A free slot, held once by the caller; -1 when all are taken (cannot happen: there are more
 * slots than nodes can hold at once). */
static int acquire_slot(dlcc_nn_network *net) {
  for (int i = 0; i < net->n_slots; i++)
    if (net->slots[i].refs == 0) {
      net->slots[i].refs = 1;
      return i;
    }
  return -1;
}

static void release_slot(dlcc_nn_network *net, int slot) {
  if (slot >= 0) net->slots[slot].refs--;
}

static dlcc_status acquire_or_fail(dlcc_nn_network *net, int *slot, dlcc_error *err) {
  *slot = acquire_slot(net);
  if (*slot < 0) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: internal error: no free gradient slot",
                                  net->desc.net_type);
  return DLCC_OK;
}

/* Adds the gradient in slot to what node input has received: the node shares the slot when it is
 * the first, else the two are summed into a new slot. */
static dlcc_status deliver(dlcc_nn_network *net, dlcc_nn_engine *e, int input, int slot, dlcc_error *err) {
  if (input == DLCC_NN_IMAGE) return DLCC_OK;
  dlcc_nn_node *node = &net->nodes[input];
  if (node->grad < 0) {
    node->grad = slot;
    net->slots[slot].refs++;
    return DLCC_OK;
  }
  if (!node->grad_sum)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: internal error: node %d received two gradients",
                     net->desc.net_type, input);
  int sum;
  dlcc_status st = acquire_or_fail(net, &sum, err);
  if (!st) st = dlcc_nn_add_forward(node->grad_sum, e, &net->slots[node->grad].t, &net->slots[slot].t,
                                    &net->slots[sum].t, DLCC_NN_INFERENCE, err);
  if (st) {
    release_slot(net, sum);
    return st;
  }
  release_slot(net, node->grad);
  node->grad = sum;
  return DLCC_OK;
}

/* Parameters of a node that received no gradient (a head left out of the loss) get zeros, since
 * backward overwrites rather than accumulates. */
static void zero_param_grads(dlcc_nn_network *net, const dlcc_nn_node *node) {
  size_t idx[2];
  int n = 0;
  if (node->kind == DLCC_NN_NODE_CONV) {
    idx[n++] = node->layer.conv.weight;
    if (node->layer.conv.spec.bias) idx[n++] = node->layer.conv.bias;
  } else if (node->kind == DLCC_NN_NODE_DECONV) {
    idx[n++] = node->layer.deconv.weight;
    if (node->layer.deconv.spec.bias) idx[n++] = node->layer.deconv.bias;
  } else if (node->kind == DLCC_NN_NODE_BATCHNORM) {
    if (!node->layer.bn.spec.shift_only) idx[n++] = node->layer.bn.weight;
    idx[n++] = node->layer.bn.bias;
  }
  for (int k = 0; k < n; k++)
    memset(dlcc_nn_param_grads(&net->params, idx[k]), 0, net->params.items[idx[k]].count * sizeof(float));
}

/* ---- Backward: one node ------------------------------------------------------------------- */

/* Where node's output of the last forward is (its own y, or the input it overwrote). */
static const dlcc_nn_tensor *output_tensor(const dlcc_nn_network *net, const dlcc_nn_node *node) {
  return &net->nodes[net->value_at[node - net->nodes]].y;
}

/* Layers with one input and a backward of the form f(layer, x or y, dy, dx). */
static dlcc_status backward_single(dlcc_nn_network *net, dlcc_nn_engine *e, dlcc_nn_node *node,
                                   const dlcc_nn_tensor *dy, dlcc_nn_tensor *dx, dlcc_error *err) {
  const dlcc_nn_tensor *x = input_tensor(net, node->inputs[0]);
  switch (node->kind) {
  case DLCC_NN_NODE_CONV: return dlcc_nn_conv_backward(&node->layer.conv, e, x, dy, dx, err);
  case DLCC_NN_NODE_DECONV: return dlcc_nn_deconv_backward(&node->layer.deconv, e, x, dy, dx, err);
  case DLCC_NN_NODE_BATCHNORM: return dlcc_nn_batchnorm_backward(&node->layer.bn, e, x, dy, dx, err);
  case DLCC_NN_NODE_ELTWISE:
    return dlcc_nn_eltwise_backward(&node->layer.eltwise, e, output_tensor(net, node), dy, dx, err);
  case DLCC_NN_NODE_POOL: return dlcc_nn_pool_backward(&node->layer.pool, e, x, dy, dx, err);
  case DLCC_NN_NODE_UPSAMPLE: return dlcc_nn_upsample_backward(&node->layer.upsample, e, x, dy, dx, err);
  default: return dlcc_fail(err, DLCC_ERR_INVALID, "internal error: node kind %d has several inputs", (int)node->kind);
  }
}

static bool has_params(const dlcc_nn_node *node) {
  return node->kind == DLCC_NN_NODE_CONV || node->kind == DLCC_NN_NODE_DECONV || node->kind == DLCC_NN_NODE_BATCHNORM;
}

static dlcc_status backward_one_input(dlcc_nn_network *net, dlcc_nn_engine *e, dlcc_nn_node *node, dlcc_error *err) {
  int input = node->inputs[0], dx = -1;
  if (input == DLCC_NN_IMAGE && !has_params(node)) return DLCC_OK;
  /* the image needs no gradient: the first convolution computes its parameters' only */
  dlcc_status st = input == DLCC_NN_IMAGE ? DLCC_OK : acquire_or_fail(net, &dx, err);
  if (!st) st = backward_single(net, e, node, &net->slots[node->grad].t, dx >= 0 ? &net->slots[dx].t : NULL, err);
  if (!st && dx >= 0) st = deliver(net, e, input, dx, err);
  release_slot(net, dx);
  return st;
}

/* Residual add: one gradient for both inputs (dy itself when no ReLU is fused). */
static dlcc_status backward_add(dlcc_nn_network *net, dlcc_nn_engine *e, dlcc_nn_node *node, dlcc_error *err) {
  int g = node->grad;
  dlcc_status st = DLCC_OK;
  if (node->layer.add.spec.relu) {
    st = acquire_or_fail(net, &g, err);
    if (!st)
      st = dlcc_nn_add_backward(&node->layer.add, e, output_tensor(net, node), &net->slots[node->grad].t,
                                &net->slots[g].t, err);
  } else {
    net->slots[g].refs++;
  }
  for (int k = 0; !st && k < 2; k++) st = deliver(net, e, node->inputs[k], g, err);
  release_slot(net, g);
  return st;
}

static dlcc_status backward_concat(dlcc_nn_network *net, dlcc_nn_engine *e, dlcc_nn_node *node, dlcc_error *err) {
  const dlcc_nn_tensor *xs[DLCC_NN_CONCAT_MAX];
  dlcc_nn_tensor *dxs[DLCC_NN_CONCAT_MAX];
  int slots[DLCC_NN_CONCAT_MAX];
  dlcc_status st = DLCC_OK;
  for (int k = 0; k < node->n_inputs; k++) {
    xs[k] = input_tensor(net, node->inputs[k]);
    slots[k] = -1;
    dxs[k] = NULL;
    if (!st && node->inputs[k] != DLCC_NN_IMAGE) {
      st = acquire_or_fail(net, &slots[k], err);
      if (!st) dxs[k] = &net->slots[slots[k]].t;
    }
  }
  if (!st) st = dlcc_nn_concat_backward(&node->layer.concat, e, xs, &net->slots[node->grad].t, dxs, err);
  for (int k = 0; !st && k < node->n_inputs; k++)
    if (slots[k] >= 0) st = deliver(net, e, node->inputs[k], slots[k], err);
  for (int k = 0; k < node->n_inputs; k++) release_slot(net, slots[k]);
  return st;
}

static dlcc_status backward_node(dlcc_nn_network *net, dlcc_nn_engine *e, dlcc_nn_node *node, dlcc_error *err) {
  if (node->kind == DLCC_NN_NODE_ADD) return backward_add(net, e, node, err);
  if (node->kind == DLCC_NN_NODE_CONCAT) return backward_concat(net, e, node, err);
  return backward_one_input(net, e, node, err);
}

/* ---- Backward ------------------------------------------------------------------------------ */

static void reset_grads(dlcc_nn_network *net) {
  for (int i = 0; i < net->n_nodes; i++) net->nodes[i].grad = -1;
  for (int i = 0; i < net->n_slots; i++) net->slots[i].refs = 0;
}

/* Brings the heads' plain gradients in, each into a slot its head node holds. */
static dlcc_status import_head_grads(dlcc_nn_network *net, dlcc_nn_engine *e, const float *const *head_grads,
                                     dlcc_error *err) {
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    if (net->heads[h] < 0 || !head_grads[h]) continue;
    dlcc_nn_node *node = &net->nodes[net->heads[h]];
    int slot;
    dlcc_status st = acquire_or_fail(net, &slot, err);
    if (!st) st = dlcc_nn_tensor_import_nchw(&net->slots[slot].t, e, head_grads[h], node->y.dims, net->desc.dtype, err);
    if (!st) st = deliver(net, e, net->heads[h], slot, err);
    release_slot(net, slot);
    if (st) return st;
  }
  return DLCC_OK;
}

dlcc_status dlcc_nn_network_backward(dlcc_nn_network *net, dlcc_nn_engine *e, const float *const *head_grads,
                                     dlcc_error *err) {
  if (!net->trained)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: backward needs a training forward pass first (the last forward "
                     "was %s)", net->desc.net_type, net->in_dims[0] ? "an inference one" : "missing or failed");
  reset_grads(net);
  dlcc_status st = import_head_grads(net, e, head_grads, err);
  for (int i = net->n_nodes - 1; !st && i >= 0; i--) {
    dlcc_nn_node *node = &net->nodes[i];
    if (node->grad < 0) {
      zero_param_grads(net, node);
      continue;
    }
    st = backward_node(net, e, node, err);
    release_slot(net, node->grad);
    node->grad = -1;
  }
  reset_grads(net);
  return st;
}
