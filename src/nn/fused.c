/* Inference with fused layers: finding the groups once per network (a convolution with its batch
 * norm, activation and residual add; the heads that read one tensor), keeping a private copy of their
 * parameters (batch norm folded in; the heads' weights side by side), and running each group as one
 * oneDNN primitive. Training never comes here: its backward needs every intermediate output. */
#include "nn/fused.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"
#include "nn/network.h"

typedef enum activation { ACT_NONE, ACT_RELU, ACT_RELU6 } activation;

struct dlcc_nn_fused_group {
  /* A convolution group: node indices, bn, add and shortcut -1 when absent. A head group: conv is
   * -1, heads lists its transposed convolutions in node order, last is the last of them. */
  int conv, bn, add, shortcut, last;
  activation act;
  int heads[DLCC_NN_HEADS], n_heads;
  int64_t head_offset[DLCC_NN_HEADS]; /* first channel of each head in the joint output */
  int64_t out_channels;              /* of the primitive: the heads' channels together */
  /* The folded parameters, plain f32, and the parameters' version they were folded from. */
  float *weight, *bias;
  size_t weight_count;
  bool folded;
  uint64_t folded_version;
  dnnl_memory_t weight_plain, bias_mem;
  /* The folded weights in the layout (and data type) of the last plan that ran. */
  dlcc_nn_convert weights;
  dnnl_memory_t weights_mem;
  uint64_t weights_version;
  dlcc_nn_plan_cache plans;
};

typedef struct group_plan {
  dnnl_primitive_desc_t pd;
  dlcc_nn_prim prim;
  dlcc_nn_convert src;
  /* head groups: the joint output, a view of each head's channels, and their copies out */
  dlcc_nn_buffer joint;
  dnnl_memory_t head_views[DLCC_NN_HEADS];
  dlcc_nn_reorder head_out[DLCC_NN_HEADS];
  /* a dilated convolution run as an undilated one over the input's phases (space_to_batch below):
   * dilation d (0: not used), the phases in and out, and the output's layout */
  int dilation;
  int64_t block;
  dlcc_nn_buffer phases_in, phases_out;
  dnnl_memory_desc_t out_md;
} group_plan;

static void destroy_plan(void *opaque) {
  group_plan *plan = opaque;
  if (plan->pd) dnnl_primitive_desc_destroy(plan->pd);
  dlcc_nn_prim_destroy(&plan->prim);
  dlcc_nn_convert_free(&plan->src);
  dlcc_nn_buffer_free(&plan->joint);
  dlcc_nn_buffer_free(&plan->phases_in);
  dlcc_nn_buffer_free(&plan->phases_out);
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    if (plan->head_views[h]) dnnl_memory_destroy(plan->head_views[h]);
    dlcc_nn_reorder_free(&plan->head_out[h]);
  }
  free(plan);
}

/* ---- Finding the groups -------------------------------------------------------------------- */

/* The one node reading node i, or -1 when i has none or several (a head counts as a reader). */
static int single_reader(const dlcc_nn_network *net, int i) {
  if (net->nodes[i].consumers != 1 || dlcc_nn_network_is_head(net, i)) return -1;
  for (int k = i + 1; k < net->n_nodes; k++)
    for (int j = 0; j < net->nodes[k].n_inputs; j++)
      if (net->nodes[k].inputs[j] == i) return k;
  return -1;
}

/* The group starting at convolution c, its add not yet checked against the order of execution. An
 * add that an earlier group took (the two branches of a downsampling block both end in it) stays
 * there. */
static dlcc_nn_fused_group find_group(const dlcc_nn_network *net, int c, const int *group_of) {
  dlcc_nn_fused_group g = {.conv = c, .bn = -1, .add = -1, .shortcut = -1, .last = c,
                           .out_channels = net->nodes[c].layer.conv.spec.out_channels};
  int next = single_reader(net, c);
  /* only a batch norm with fixed statistics at inference folds into weights */
  if (next >= 0 && net->nodes[next].kind == DLCC_NN_NODE_BATCHNORM &&
      net->nodes[next].layer.bn.spec.stats != DLCC_NN_BN_BATCH_ALWAYS) {
    g.bn = g.last = next;
    next = single_reader(net, next);
  }
  if (next < 0) return g;
  const dlcc_nn_node *n = &net->nodes[next];
  if (n->kind == DLCC_NN_NODE_ELTWISE && n->layer.eltwise.spec.kind != DLCC_NN_SIGMOID) {
    g.act = n->layer.eltwise.spec.kind == DLCC_NN_RELU ? ACT_RELU : ACT_RELU6;
    g.last = next;
  } else if (n->kind == DLCC_NN_NODE_ADD && n->n_inputs == 2 && group_of[next] < 0) {
    int other = n->inputs[0] == g.last ? n->inputs[1] : n->inputs[0];
    if (other != g.last && other != DLCC_NN_IMAGE && !dlcc_nn_network_is_head(net, other)) {
      g.add = g.last = next;
      g.shortcut = other;
      g.act = n->layer.add.spec.relu ? ACT_RELU : ACT_NONE;
    }
  }
  return g;
}

/* Where node i runs: at its group's last node, or at itself. */
static int runs_at(const dlcc_nn_fused *f, const int *group_of, int i) {
  return group_of[i] >= 0 ? f->groups[group_of[i]].last : i;
}

/* A group's add may overwrite the shortcut only if every other reader of the shortcut has run by
 * then; otherwise the group stops before the add, which then runs as its own node. */
static void check_adds(dlcc_nn_fused *f, const dlcc_nn_network *net, const int *group_of) {
  for (int g = 0; g < f->n_groups; g++) {
    dlcc_nn_fused_group *grp = &f->groups[g];
    if (grp->add < 0) continue;
    bool safe = true;
    for (int k = 0; k < net->n_nodes && safe; k++) {
      if (k == grp->add) continue;
      for (int j = 0; j < net->nodes[k].n_inputs; j++)
        if (net->nodes[k].inputs[j] == grp->shortcut && runs_at(f, group_of, k) >= grp->add) safe = false;
    }
    if (safe) continue;
    grp->last = grp->bn >= 0 ? grp->bn : grp->conv;
    grp->add = grp->shortcut = -1;
    grp->act = ACT_NONE;
  }
}

/* Field by field: a whole-struct memcmp would also compare the padding after `bias`, which holds
 * whatever the stack held where each spec was made. */
static bool same_geometry(const dlcc_nn_deconv_spec *a, const dlcc_nn_deconv_spec *b) {
  bool same = a->in_channels == b->in_channels;
  for (int i = 0; i < 2; i++)
    same = same && a->kernel[i] == b->kernel[i] && a->stride[i] == b->stride[i] && a->padding[i] == b->padding[i] &&
           a->output_padding[i] == b->output_padding[i] && a->dilation[i] == b->dilation[i];
  return same;
}

/* Heads reading the same tensor with the same geometry become one transposed convolution: DeepLabCut's
 * part_pred, locref and pairwise_pred have few channels each, and reading their common input (2048
 * channels on ResNet) once instead of two or three times is most of their cost. */
static void add_head_groups(dlcc_nn_fused *f, const dlcc_nn_network *net) {
  bool taken[DLCC_NN_HEADS] = {false};
  for (int a = 0; a < DLCC_NN_HEADS; a++) {
    int na = net->heads[a];
    if (na < 0 || taken[a] || net->nodes[na].kind != DLCC_NN_NODE_DECONV) continue;
    dlcc_nn_fused_group g = {.conv = -1, .bn = -1, .add = -1, .shortcut = -1, .last = na};
    for (int b = a; b < DLCC_NN_HEADS; b++) {
      int nb = net->heads[b];
      if (nb < 0 || taken[b] || net->nodes[nb].kind != DLCC_NN_NODE_DECONV ||
          net->nodes[nb].inputs[0] != net->nodes[na].inputs[0] ||
          !same_geometry(&net->nodes[na].layer.deconv.spec, &net->nodes[nb].layer.deconv.spec))
        continue;
      taken[b] = true;
      int k = g.n_heads++;
      while (k > 0 && g.heads[k - 1] > nb) { /* node order: the output channels follow it */
        g.heads[k] = g.heads[k - 1];
        k--;
      }
      g.heads[k] = nb;
      if (nb > g.last) g.last = nb;
    }
    if (g.n_heads < 2) continue;
    /* The joint output is plain nchw: oneDNN's GEMM-based kernel for it beat the blocked direct one
     * (MobileNetV2-0.35 bf16: 140 against 106 images/s with each head padded to a channel block). */
    g.out_channels = 0;
    for (int h = 0; h < g.n_heads; h++) {
      g.head_offset[h] = g.out_channels;
      g.out_channels += net->nodes[g.heads[h]].layer.deconv.spec.out_channels;
    }
    dlcc_nn_plan_cache_init(&g.plans, destroy_plan);
    dlcc_nn_convert_init(&g.weights);
    f->groups[f->n_groups++] = g;
  }
}

dlcc_status dlcc_nn_fused_create(dlcc_nn_fused **out, const dlcc_nn_network *net, dlcc_error *err) {
  *out = NULL;
  dlcc_nn_fused *f = calloc(1, sizeof *f);
  int *group_of = calloc((size_t)net->n_nodes + 1, sizeof *group_of);
  if (f) f->role = calloc((size_t)net->n_nodes + 1, sizeof *f->role);
  if (f && f->role) f->groups = calloc((size_t)net->n_nodes + 1, sizeof *f->groups);
  if (!f || !group_of || !f->role || !f->groups) {
    free(group_of);
    dlcc_nn_fused_free(f);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory preparing %s for inference", net->desc.net_type);
  }
  for (int i = 0; i < net->n_nodes; i++) group_of[i] = -1;
  for (int i = 0; i < net->n_nodes; i++) {
    if (net->nodes[i].kind != DLCC_NN_NODE_CONV || group_of[i] >= 0) continue;
    dlcc_nn_fused_group g = find_group(net, i, group_of);
    int members[3] = {g.bn, g.last, g.add};
    group_of[i] = f->n_groups;
    for (int m = 0; m < 3; m++)
      if (members[m] >= 0) group_of[members[m]] = f->n_groups;
    dlcc_nn_plan_cache_init(&g.plans, destroy_plan);
    dlcc_nn_convert_init(&g.weights);
    f->groups[f->n_groups++] = g;
  }
  check_adds(f, net, group_of);
  add_head_groups(f, net);
  for (int i = 0; i < net->n_nodes; i++) f->role[i] = DLCC_NN_FUSED_SINGLE;
  for (int g = 0; g < f->n_groups; g++) {
    const dlcc_nn_fused_group *grp = &f->groups[g];
    int members[3 + DLCC_NN_HEADS] = {grp->conv, grp->bn, grp->last};
    for (int h = 0; h < grp->n_heads; h++) members[3 + h] = grp->heads[h];
    for (int m = 0; m < 3 + grp->n_heads; m++)
      if (members[m] >= 0) f->role[members[m]] = DLCC_NN_FUSED_MEMBER;
    f->role[grp->last] = g;
  }
  free(group_of);
  *out = f;
  return DLCC_OK;
}

void dlcc_nn_fused_free(dlcc_nn_fused *f) {
  if (!f) return;
  for (int g = 0; g < f->n_groups; g++) {
    dlcc_nn_fused_group *grp = &f->groups[g];
    dlcc_nn_plan_cache_free(&grp->plans);
    dlcc_nn_convert_free(&grp->weights);
    if (grp->weight_plain) dnnl_memory_destroy(grp->weight_plain);
    if (grp->bias_mem) dnnl_memory_destroy(grp->bias_mem);
    free(grp->weight);
    free(grp->bias);
  }
  free(f->groups);
  free(f->role);
  free(f);
}

/* ---- Folding the batch norm ----------------------------------------------------------------- */

/* W' = W * s and b' = beta + (b - mean) * s per output channel, s = gamma / sqrt(var + eps): the
 * batch norm of inference (running statistics) applied to the convolution's output. */
static void fold(dlcc_nn_fused_group *grp, const dlcc_nn_network *net) {
  const dlcc_nn_params *p = &net->params;
  const dlcc_nn_conv *conv = &net->nodes[grp->conv].layer.conv;
  int64_t out = conv->spec.out_channels;
  size_t per_channel = grp->weight_count / (size_t)out;
  const float *w = dlcc_nn_param_values(p, conv->weight), *b = conv->spec.bias ? dlcc_nn_param_values(p, conv->bias) : NULL;
  const dlcc_nn_batchnorm *bn = grp->bn >= 0 ? &net->nodes[grp->bn].layer.bn : NULL;
  for (int64_t o = 0; o < out; o++) {
    double scale = 1, shift = b ? b[o] : 0;
    if (bn) {
      double gamma = bn->spec.shift_only ? 1.0 : dlcc_nn_param_values(p, bn->weight)[o];
      scale = gamma / sqrt((double)dlcc_nn_param_values(p, bn->running_var)[o] + bn->spec.eps);
      shift = dlcc_nn_param_values(p, bn->bias)[o] + (shift - dlcc_nn_param_values(p, bn->running_mean)[o]) * scale;
    }
    for (size_t k = 0; k < per_channel; k++)
      grp->weight[(size_t)o * per_channel + k] = (float)(w[(size_t)o * per_channel + k] * scale);
    grp->bias[o] = (float)shift;
  }
  grp->folded = true;
  grp->folded_version = p->version;
}

/* The heads' weights side by side: PyTorch's [in, out, kh, kw] with the heads' out ranges in a row,
 * biases likewise (zero for a head without one). */
static void join_heads(dlcc_nn_fused_group *grp, const dlcc_nn_network *net) {
  const dlcc_nn_params *p = &net->params;
  const dlcc_nn_deconv_spec *geo = &net->nodes[grp->heads[0]].layer.deconv.spec;
  size_t taps = (size_t)(geo->kernel[0] * geo->kernel[1]);
  memset(grp->bias, 0, (size_t)grp->out_channels * sizeof *grp->bias);
  for (int h = 0; h < grp->n_heads; h++) {
    const dlcc_nn_deconv *d = &net->nodes[grp->heads[h]].layer.deconv;
    size_t out = (size_t)d->spec.out_channels, offset = (size_t)grp->head_offset[h];
    const float *w = dlcc_nn_param_values(p, d->weight), *b = d->spec.bias ? dlcc_nn_param_values(p, d->bias) : NULL;
    for (int64_t i = 0; i < geo->in_channels; i++)
      memcpy(grp->weight + ((size_t)i * (size_t)grp->out_channels + offset) * taps, w + (size_t)i * out * taps,
             out * taps * sizeof *w);
    for (size_t o = 0; b && o < out; o++) grp->bias[offset + o] = b[o];
  }
  grp->folded = true;
  grp->folded_version = p->version;
}

static const char *group_name(const dlcc_nn_fused_group *grp, const dlcc_nn_network *net) {
  return grp->conv >= 0 ? net->nodes[grp->conv].layer.conv.name : "heads";
}

/* The plain memories over the private copies (made once), folded again when the parameters moved.
 * weight_md: the plain layout of the copy, as the group's primitive describes it. */
static dlcc_status ensure_folded(dlcc_nn_fused_group *grp, const dlcc_nn_network *net, dlcc_nn_engine *e,
                                 const dnnl_memory_desc_t *weight_md, dlcc_error *err) {
  if (grp->folded && grp->folded_version == net->params.version) return DLCC_OK;
  const char *name = group_name(grp, net);
  if (!grp->weight_plain) {
    dnnl_memory_desc_t bmd;
    dnnl_dims_t bias_dims = {grp->out_channels};
    dlcc_status st = dlcc_nn_check(dnnl_memory_desc_init_by_tag(&bmd, 1, bias_dims, dnnl_f32, dnnl_x), err, name);
    if (st) return st;
    grp->weight_count = dnnl_memory_desc_get_size(weight_md) / sizeof(float);
    grp->weight = malloc(grp->weight_count * sizeof *grp->weight);
    grp->bias = malloc((size_t)grp->out_channels * sizeof *grp->bias);
    if (!grp->weight || !grp->bias) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", name);
    st = dlcc_nn_check(dnnl_memory_create(&grp->bias_mem, &bmd, e->cpu, grp->bias), err, name);
    if (!st) st = dlcc_nn_check(dnnl_memory_create(&grp->weight_plain, weight_md, e->cpu, grp->weight), err, name);
    if (st) return st;
  }
  if (grp->conv >= 0) fold(grp, net);
  else join_heads(grp, net);
  return DLCC_OK;
}

/* The folded weights in layout want, converted again when the layout or the parameters changed. */
static dlcc_status weights_in_layout(dlcc_nn_fused_group *grp, dlcc_nn_engine *e, const dnnl_memory_desc_t *want,
                                     dnnl_memory_t *out, dlcc_error *err) {
  if (dnnl_memory_desc_equal(want, dlcc_nn_memory_md(grp->weight_plain))) {
    *out = grp->weight_plain;
    return DLCC_OK;
  }
  if (!grp->weights_mem || grp->weights_version != grp->folded_version ||
      !dnnl_memory_desc_equal(want, dlcc_nn_memory_md(grp->weights_mem))) {
    grp->weights_mem = NULL;
    dlcc_status st = dlcc_nn_convert_run(&grp->weights, e, grp->weight_plain, want, &grp->weights_mem, err);
    if (st) {
      grp->weights_mem = NULL;
      return st;
    }
    grp->weights_version = grp->folded_version;
  }
  *out = grp->weights_mem;
  return DLCC_OK;
}

/* ---- Running a group ------------------------------------------------------------------------ */

static dlcc_nn_tensor *value_tensor(dlcc_nn_network *net, int node) {
  return node == DLCC_NN_IMAGE ? &net->image : &net->nodes[net->value_at[node]].y;
}

/* Post-ops in oneDNN's order: the sum (residual add) before the activation. */
static dlcc_status group_attr(const dlcc_nn_fused_group *grp, dlcc_nn_engine *e, dnnl_primitive_attr_t *attr,
                              const char *what, dlcc_error *err) {
  dnnl_post_ops_t ops = NULL;
  dlcc_status st = dlcc_nn_check(dnnl_primitive_attr_clone(attr, e->attr), err, what);
  if (!st) st = dlcc_nn_check(dnnl_post_ops_create(&ops), err, what);
  if (!st && grp->add >= 0) st = dlcc_nn_check(dnnl_post_ops_append_sum(ops, 1.0f), err, what);
  if (!st && grp->act == ACT_RELU)
    st = dlcc_nn_check(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), err, what);
  if (!st && grp->act == ACT_RELU6)
    st = dlcc_nn_check(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_clip_v2, 0.0f, 6.0f), err, what);
  if (!st) st = dlcc_nn_check(dnnl_primitive_attr_set_post_ops(*attr, ops), err, what);
  if (ops) dnnl_post_ops_destroy(ops);
  return st;
}

/* The private copy's plain layout: PyTorch's weight layout of the convolution, or of the heads'
 * transposed convolutions with all their output channels. */
static dlcc_status plain_weights_md(const dlcc_nn_fused_group *grp, const dlcc_nn_network *net,
                                    dnnl_memory_desc_t *md, dlcc_error *err) {
  if (grp->conv >= 0) return dlcc_nn_conv_plain_weights_md(&net->nodes[grp->conv].layer.conv, md, err);
  const dlcc_nn_deconv_spec *s = &net->nodes[grp->heads[0]].layer.deconv.spec;
  dnnl_dims_t dims = {grp->out_channels, s->in_channels, s->kernel[0], s->kernel[1]};
  return dlcc_nn_check(dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, dnnl_iohw), err, "heads");
}

/* Each head's channels of the joint output, viewed in place. */
static dlcc_status make_head_views(group_plan *plan, const dlcc_nn_fused_group *grp, const dlcc_nn_network *net,
                                   dlcc_nn_engine *e, const char *what, dlcc_error *err) {
  const dnnl_memory_desc_t *joint = dlcc_nn_pd_md(plan->pd, dnnl_query_dst_md);
  dlcc_status st = dlcc_nn_buffer_set(&plan->joint, e, joint, err);
  for (int h = 0; !st && h < grp->n_heads; h++) {
    int64_t channels = net->nodes[grp->heads[h]].layer.deconv.spec.out_channels;
    dnnl_dims_t dims = {joint->dims[0], channels, joint->dims[2], joint->dims[3]};
    dnnl_dims_t offsets = {0, grp->head_offset[h], 0, 0};
    dnnl_memory_desc_t view;
    st = dlcc_nn_check(dnnl_memory_desc_init_submemory(&view, joint, dims, offsets), err, what);
    if (!st) st = dlcc_nn_check(dnnl_memory_create(&plan->head_views[h], &view, e->cpu, plan->joint.data), err, what);
  }
  return st;
}

/* ---- Dilated convolutions as undilated ones (space to batch) ------------------------------- */

/* A 3x3 convolution dilated by d reads, for output pixel (h, w), input pixels (h + d k, w + d l): only
 * those of h's and w's phase (h mod d, w mod d). Cut into its d x d phases (each a batch entry, padded
 * by zeros to ceil(H / d) x ceil(W / d)), the input meets an undilated 3x3 convolution with padding
 * p / d, which oneDNN runs with Winograd's algorithm: ResNet's layer4 at output stride 16 (dilation 2,
 * 512 channels, 30x40 at 640x480) went from 23 ms to about 10 ms per image. Activations are in the
 * channel-blocked layout (nChw<B>c), so a pixel's channel block is B contiguous floats. */
/* Copies x's phases into phases, or with back the other way (padding cells are not copied back). */
static void space_to_batch(float *x, float *phases, const int64_t dims[4], int d, int64_t block, bool back) {
  int64_t n = dims[0], cb = (dims[1] + block - 1) / block, h = dims[2], w = dims[3];
  int64_t hs = (h + d - 1) / d, ws = (w + d - 1) / d;
  size_t bytes = (size_t)block * sizeof(float);
  for (int p = 0; p < d; p++)
    for (int q = 0; q < d; q++)
      for (int64_t b = 0; b < n; b++)
        for (int64_t c = 0; c < cb; c++)
          for (int64_t i = 0; i < hs; i++)
            for (int64_t j = 0; j < ws; j++) {
              int64_t row = d * i + p, col = d * j + q;
              float *ph = phases + (((((int64_t)(p * d + q) * n + b) * cb + c) * hs + i) * ws + j) * block;
              bool inside = row < h && col < w;
              float *px = x + (((b * cb + c) * h + row) * w + col) * block;
              if (back && inside) memcpy(px, ph, bytes);
              else if (!back && inside) memcpy(ph, px, bytes);
              else if (!back) memset(ph, 0, bytes);
            }
}

/* The plan of a dilated group as the undilated convolution of its phases, when the layout is the
 * blocked f32 one and oneDNN has Winograd for it; otherwise plan stays unchanged (the dilated
 * convolution runs directly). */
static void try_space_to_batch(group_plan *plan, const dlcc_nn_fused_group *grp, const dlcc_nn_network *net,
                               dlcc_nn_engine *e, const dnnl_memory_desc_t *x_md, const_dnnl_primitive_attr_t attr,
                               const char *what) {
  dlcc_nn_conv sub = net->nodes[grp->conv].layer.conv;
  const dlcc_nn_conv_spec *s = &sub.spec;
  int d = (int)s->dilation[0];
  int64_t block = dlcc_nn_cpu_info_get(e).channel_block;
  dnnl_memory_desc_t blocked, phases_md;
  if (grp->add >= 0 || d < 2 || s->dilation[1] != d || s->kernel[0] != 3 || s->kernel[1] != 3 || s->stride[0] != 1 ||
      s->stride[1] != 1 || s->groups != 1 || s->padding[0] != d || s->padding[1] != d || x_md->data_type != dnnl_f32 ||
      x_md->ndims != 4)
    return;
  dnnl_format_tag_t tag = block == 16 ? dnnl_nChw16c : dnnl_nChw8c;
  dnnl_dims_t pdims = {(int64_t)d * d * x_md->dims[0], x_md->dims[1], (x_md->dims[2] + d - 1) / d,
                       (x_md->dims[3] + d - 1) / d};
  if (dnnl_memory_desc_init_by_tag(&blocked, 4, x_md->dims, dnnl_f32, tag) != dnnl_success ||
      !dnnl_memory_desc_equal(&blocked, x_md) ||
      dnnl_memory_desc_init_by_tag(&phases_md, 4, pdims, dnnl_f32, tag) != dnnl_success)
    return;
  sub.spec.dilation[0] = sub.spec.dilation[1] = 1;
  sub.spec.padding[0] = sub.spec.padding[1] = 1;
  dnnl_primitive_desc_t pd = NULL;
  const char *impl = NULL;
  if (dlcc_nn_conv_inference_pd(&sub, e, &phases_md, attr, NULL, &pd, what, NULL) ||
      dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !strstr(impl, "wino")) {
    if (pd) dnnl_primitive_desc_destroy(pd);
    return;
  }
  dnnl_dims_t out_dims = {x_md->dims[0], s->out_channels, x_md->dims[2], x_md->dims[3]};
  if (dnnl_memory_desc_init_by_tag(&plan->out_md, 4, out_dims, dnnl_f32, tag) != dnnl_success) {
    dnnl_primitive_desc_destroy(pd);
    return;
  }
  plan->pd = pd;
  plan->dilation = d;
  plan->block = block;
}

/* Runs the undilated convolution over x's phases into y. */
static dlcc_status run_space_to_batch(group_plan *plan, dlcc_nn_fused_group *grp, dlcc_nn_engine *e,
                                      const dlcc_nn_tensor *x, dlcc_nn_tensor *y, dnnl_memory_t weights,
                                      const char *name, dlcc_error *err) {
  dlcc_status st = dlcc_nn_buffer_set(&plan->phases_in, e, dlcc_nn_pd_md(plan->pd, dnnl_query_src_md), err);
  if (!st) st = dlcc_nn_buffer_set(&plan->phases_out, e, dlcc_nn_pd_md(plan->pd, dnnl_query_dst_md), err);
  if (!st) st = dlcc_nn_tensor_set_layout(y, e, &plan->out_md, err);
  if (st) return st;
  space_to_batch(x->buf.data, plan->phases_in.data, x->dims, plan->dilation, plan->block, false);
  dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, plan->phases_in.mem}, {DNNL_ARG_WEIGHTS, weights},
                             {DNNL_ARG_BIAS, grp->bias_mem}, {DNNL_ARG_DST, plan->phases_out.mem}};
  st = dlcc_nn_prim_run(&plan->prim, e, 4, args, name, err);
  if (!st) space_to_batch(y->buf.data, plan->phases_out.data, y->dims, plan->dilation, plan->block, true);
  return st;
}

static dlcc_status plan_for(dlcc_nn_fused_group *grp, dlcc_nn_network *net, dlcc_nn_engine *e,
                            const dlcc_nn_tensor *x, const dnnl_memory_desc_t *dst, group_plan **out,
                            dlcc_error *err) {
  const dnnl_memory_desc_t *x_md = dlcc_nn_tensor_md(x);
  if ((*out = dlcc_nn_plan_cache_find(&grp->plans, x_md, DLCC_NN_INFERENCE))) return DLCC_OK;
  const char *name = group_name(grp, net);
  char what[384];
  dlcc_nn_describe_op(what, sizeof what, name, "fused inference forward", x_md);
  group_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", name);
  dlcc_nn_convert_init(&plan->src);
  dnnl_primitive_attr_t attr = NULL;
  dlcc_status st = DLCC_OK;
  if (grp->conv >= 0) {
    st = group_attr(grp, e, &attr, what, err);
    if (!st) try_space_to_batch(plan, grp, net, e, x_md, attr, what);
    if (!st && !plan->pd)
      st = dlcc_nn_conv_inference_pd(&net->nodes[grp->conv].layer.conv, e, x_md, attr, dst, &plan->pd, what, err);
  } else {
    st = dlcc_nn_deconv_joint_inference_pd(&net->nodes[grp->heads[0]].layer.deconv, e, x_md, grp->out_channels,
                                           &plan->pd, what, err);
  }
  if (!st) st = dlcc_nn_prim_create(&plan->prim, e, plan->pd, what, err);
  if (!st && grp->conv < 0) st = make_head_views(plan, grp, net, e, what, err);
  if (attr) dnnl_primitive_attr_destroy(attr);
  st = dlcc_nn_plan_cache_keep(&grp->plans, x_md, DLCC_NN_INFERENCE, plan, st);
  if (!st) *out = plan;
  return st;
}

/* The heads' channels copied out of the joint output into each head's own tensor (plain nchw). */
static dlcc_status split_heads(group_plan *plan, const dlcc_nn_fused_group *grp, dlcc_nn_network *net,
                               dlcc_nn_engine *e, dlcc_error *err) {
  dlcc_status st = DLCC_OK;
  for (int h = 0; !st && h < grp->n_heads; h++) {
    dlcc_nn_tensor *y = &net->nodes[grp->heads[h]].y;
    const dnnl_memory_desc_t *view = dlcc_nn_memory_md(plan->head_views[h]);
    st = dlcc_nn_tensor_set_shape(y, e, view->dims, y->dtype, dnnl_nchw, err);
    if (!st) st = dlcc_nn_reorder_run(&plan->head_out[h], e, plan->head_views[h], y->buf.mem, err);
  }
  return st;
}

dlcc_status dlcc_nn_fused_run(dlcc_nn_fused *f, dlcc_nn_network *net, dlcc_nn_engine *e, int g, dlcc_error *err) {
  dlcc_nn_fused_group *grp = &f->groups[g];
  const char *name = group_name(grp, net);
  const dlcc_nn_tensor *x = value_tensor(net, net->nodes[grp->conv >= 0 ? grp->conv : grp->heads[0]].inputs[0]);
  if (!dlcc_nn_tensor_md(x)) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the input tensor is empty", name);
  /* With a residual add the result overwrites the shortcut, which must already be in the
   * convolution's output layout. */
  dlcc_nn_tensor *y = grp->add >= 0 ? value_tensor(net, grp->shortcut) : &net->nodes[grp->last].y;
  const dnnl_memory_desc_t *dst = grp->add >= 0 ? dlcc_nn_tensor_md(y) : NULL;
  group_plan *plan;
  dnnl_memory_desc_t weight_md;
  dlcc_status st = plain_weights_md(grp, net, &weight_md, err);
  if (!st) st = ensure_folded(grp, net, e, &weight_md, err);
  if (!st) st = plan_for(grp, net, e, x, dst, &plan, err);
  if (st) return st;
  const dnnl_memory_desc_t *dst_md = dlcc_nn_pd_md(plan->pd, dnnl_query_dst_md);
  if (dst && !dnnl_memory_desc_equal(dst, dst_md)) {
    char have[96], want[96];
    dlcc_nn_md_describe(dst, have, sizeof have);
    dlcc_nn_md_describe(dst_md, want, sizeof want);
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: internal error: the residual input is %s, the fused convolution "
                     "writes %s", name, have, want);
  }
  dnnl_memory_t src, weights, out = grp->conv >= 0 ? NULL : plan->joint.mem;
  if (plan->dilation) {
    st = weights_in_layout(grp, e, dlcc_nn_pd_md(plan->pd, dnnl_query_weights_md), &weights, err);
    return st ? st : run_space_to_batch(plan, grp, e, x, y, weights, name, err);
  }
  st = dlcc_nn_convert_run(&plan->src, e, x->buf.mem, dlcc_nn_pd_md(plan->pd, dnnl_query_src_md), &src, err);
  if (!st) st = weights_in_layout(grp, e, dlcc_nn_pd_md(plan->pd, dnnl_query_weights_md), &weights, err);
  if (!st && !out && !dst) st = dlcc_nn_tensor_set_layout(y, e, dst_md, err);
  if (st) return st;
  if (!out) out = y->buf.mem;
  dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, grp->bias_mem},
                             {DNNL_ARG_DST, out}};
  st = dlcc_nn_prim_run(&plan->prim, e, 4, args, name, err);
  if (!st && grp->add >= 0) net->value_at[grp->last] = net->value_at[grp->shortcut];
  if (!st && grp->conv < 0) st = split_heads(plan, grp, net, e, err);
  return st;
}
