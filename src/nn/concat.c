/* Channel concatenation: shape logic, plans cached per layout of the first input, forward (oneDNN's
 * concat) and backward (a reorder per input from a view of dy's channels) side by side. A view is a
 * oneDNN submemory; blocked layouts allow one only at channel offsets on block boundaries, so
 * otherwise dy is first copied to plain nchw, where every channel range is a view. */
#include "nn/concat.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

/* ---- Spec and shape logic ---------------------------------------------------------------- */

static void destroy_plan(void *plan);

dlcc_status dlcc_nn_concat_init(dlcc_nn_concat *cat, const char *name, const dlcc_nn_concat_spec *spec,
                                dlcc_error *err) {
  memset(cat, 0, sizeof *cat);
  dlcc_nn_plan_cache_init(&cat->plans, destroy_plan);
  if (spec->inputs < 2 || spec->inputs > DLCC_NN_CONCAT_MAX)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: concatenates 2 to %d inputs, not %d", name, DLCC_NN_CONCAT_MAX,
                     spec->inputs);
  for (int i = 0; i < spec->inputs; i++) {
    if (spec->channels[i] <= 0)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: input %d has %lld channels; channels must be positive", name, i,
                       (long long)spec->channels[i]);
    cat->out_channels += spec->channels[i];
  }
  cat->spec = *spec;
  if (!(cat->name = strdup(name))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory creating %s", name);
  return DLCC_OK;
}

void dlcc_nn_concat_free(dlcc_nn_concat *cat) {
  dlcc_nn_plan_cache_free(&cat->plans);
  free(cat->name);
  memset(cat, 0, sizeof *cat);
}

dlcc_status dlcc_nn_concat_output_dims(const dlcc_nn_concat *cat, const int64_t (*in)[4], int64_t out[4],
                                       dlcc_error *err) {
  for (int i = 0; i < cat->spec.inputs; i++) {
    if (in[i][1] != cat->spec.channels[i])
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: input %d has %lld channels, the layer takes %lld", cat->name, i,
                       (long long)in[i][1], (long long)cat->spec.channels[i]);
    if (in[i][0] != in[0][0] || in[i][2] != in[0][2] || in[i][3] != in[0][3])
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: input %d is %lldx%lldx%lldx%lld, input 0 %lldx%lldx%lldx%lld: "
                       "batch, height and width must agree", cat->name, i, (long long)in[i][0], (long long)in[i][1],
                       (long long)in[i][2], (long long)in[i][3], (long long)in[0][0], (long long)in[0][1],
                       (long long)in[0][2], (long long)in[0][3]);
  }
  out[0] = in[0][0];
  out[1] = cat->out_channels;
  out[2] = in[0][2];
  out[3] = in[0][3];
  return DLCC_OK;
}

/* ---- Plans: one per layout of the first input and mode --------------------------------------- */

/* How backward splits dy of one layout: views into dy itself, or into a plain copy of it. */
typedef struct concat_split {
  dnnl_memory_desc_t dy_md;  /* the layout of dy the views were made for (ndims 0: none yet) */
  bool via_plain;            /* views are into plain_dy (dy copied to plain_md), not dy */
  dnnl_memory_desc_t plain_md;
  dlcc_nn_convert plain_dy;
  dnnl_memory_t views[DLCC_NN_CONCAT_MAX];  /* data handle set at each use */
  dlcc_nn_reorder to_dx[DLCC_NN_CONCAT_MAX];
} concat_split;

typedef struct concat_plan {
  dnnl_primitive_desc_t fwd_pd;
  dlcc_nn_prim fwd;
  dnnl_memory_desc_t src[DLCC_NN_CONCAT_MAX];  /* the inputs' layouts the plan was made with */
  dlcc_nn_convert src_for_fwd[DLCC_NN_CONCAT_MAX];
  concat_split split;
  int64_t out_dims[4];
} concat_plan;

static void free_views(concat_split *s) {
  for (int i = 0; i < DLCC_NN_CONCAT_MAX; i++) {
    if (s->views[i]) dnnl_memory_destroy(s->views[i]);
    s->views[i] = NULL;
  }
  memset(&s->dy_md, 0, sizeof s->dy_md);
}

static void destroy_plan(void *opaque) {
  concat_plan *plan = opaque;
  if (plan->fwd_pd) dnnl_primitive_desc_destroy(plan->fwd_pd);
  dlcc_nn_prim_destroy(&plan->fwd);
  for (int i = 0; i < DLCC_NN_CONCAT_MAX; i++) {
    dlcc_nn_convert_free(&plan->src_for_fwd[i]);
    dlcc_nn_reorder_free(&plan->split.to_dx[i]);
  }
  free_views(&plan->split);
  dlcc_nn_convert_free(&plan->split.plain_dy);
  free(plan);
}

static void describe_input(const dlcc_nn_concat *cat, const dnnl_memory_desc_t *x, const char *what, char *buf,
                           size_t size) {
  char layout[128];
  dlcc_nn_md_describe(x, layout, sizeof layout);
  snprintf(buf, size, "%s: %s for input 0 %s", cat->name, what, layout);
}

/* Sources in the inputs' own layouts, the output's layout left to oneDNN. */
static dlcc_status create_forward(dlcc_nn_concat *cat, dlcc_nn_engine *e, const dlcc_nn_tensor *const *x,
                                  concat_plan *plan, dlcc_error *err) {
  char what[384];
  describe_input(cat, dlcc_nn_tensor_md(x[0]), "forward", what, sizeof what);
  for (int i = 0; i < cat->spec.inputs; i++) plan->src[i] = *dlcc_nn_tensor_md(x[i]);
  dnnl_memory_desc_t dst;
  dnnl_dims_t dims = {plan->out_dims[0], plan->out_dims[1], plan->out_dims[2], plan->out_dims[3]};
  dlcc_status st = dlcc_nn_check(dnnl_memory_desc_init_by_tag(&dst, 4, dims, plan->src[0].data_type,
                                                              dnnl_format_tag_any),
                                 err, what);
  if (!st) st = dlcc_nn_check(dnnl_concat_primitive_desc_create(&plan->fwd_pd, &dst, cat->spec.inputs, 1, plan->src,
                                                                e->attr, e->cpu),
                              err, what);
  if (!st) st = dlcc_nn_prim_create(&plan->fwd, e, plan->fwd_pd, what, err);
  return st;
}

static dlcc_status check_inputs(const dlcc_nn_concat *cat, const dlcc_nn_tensor *const *x, int64_t out[4],
                                dlcc_error *err) {
  int64_t dims[DLCC_NN_CONCAT_MAX][4];
  for (int i = 0; i < cat->spec.inputs; i++) {
    if (!x[i]->buf.mem) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: input %d is empty", cat->name, i);
    if (x[i]->dtype != x[0]->dtype)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: input %d is %s, input 0 %s", cat->name, i,
                       dlcc_nn_dtype_name(x[i]->dtype), dlcc_nn_dtype_name(x[0]->dtype));
    memcpy(dims[i], x[i]->dims, sizeof dims[i]);
  }
  return dlcc_nn_concat_output_dims(cat, (const int64_t(*)[4])dims, out, err);
}

/* The plan for inputs x in mode: from the cache (by x[0]'s layout), or built and cached. */
static dlcc_status plan_for(dlcc_nn_concat *cat, dlcc_nn_engine *e, const dlcc_nn_tensor *const *x, dlcc_nn_mode mode,
                            concat_plan **out, dlcc_error *err) {
  *out = NULL;
  int64_t out_dims[4];
  dlcc_status st = check_inputs(cat, x, out_dims, err);
  if (st) return st;
  const dnnl_memory_desc_t *x_md = dlcc_nn_tensor_md(x[0]);
  if ((*out = dlcc_nn_plan_cache_find(&cat->plans, x_md, mode))) return DLCC_OK;
  concat_plan *plan = calloc(1, sizeof *plan);
  if (!plan) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", cat->name);
  memcpy(plan->out_dims, out_dims, sizeof out_dims);
  st = create_forward(cat, e, x, plan, err);
  st = dlcc_nn_plan_cache_keep(&cat->plans, x_md, mode, plan, st);
  if (!st) *out = plan;
  return st;
}

/* ---- Forward ------------------------------------------------------------------------------ */

dlcc_status dlcc_nn_concat_forward(dlcc_nn_concat *cat, dlcc_nn_engine *e, const dlcc_nn_tensor *const *x,
                                   dlcc_nn_tensor *y, dlcc_nn_mode mode, dlcc_error *err) {
  concat_plan *plan;
  dlcc_status st = plan_for(cat, e, x, mode, &plan, err);
  if (st) return st;
  dnnl_exec_arg_t args[DLCC_NN_CONCAT_MAX + 2];
  int n = cat->spec.inputs;
  for (int i = 0; i < n && !st; i++) {
    args[i].arg = DNNL_ARG_MULTIPLE_SRC + i;
    st = dlcc_nn_convert_run(&plan->src_for_fwd[i], e, x[i]->buf.mem, &plan->src[i], &args[i].memory, err);
  }
  if (!st) st = dlcc_nn_tensor_set_layout(y, e, dlcc_nn_pd_md(plan->fwd_pd, dnnl_query_dst_md), err);
  if (st) return st;
  args[n] = (dnnl_exec_arg_t){DNNL_ARG_DST, y->buf.mem};
  return dlcc_nn_prim_run(&plan->fwd, e, n + 1, args, cat->name, err);
}

/* ---- Backward ----------------------------------------------------------------------------- */

/* Views of each input's channels inside a tensor of layout whole; fails (leaving none) when the
 * layout cannot be cut there (a block boundary inside an input's channel range). */
static dnnl_status_t make_views(const dlcc_nn_concat *cat, dlcc_nn_engine *e, const dnnl_memory_desc_t *whole,
                                concat_split *s) {
  dnnl_status_t r = dnnl_success;
  int64_t offset = 0;
  for (int i = 0; i < cat->spec.inputs && r == dnnl_success; i++) {
    dnnl_dims_t dims = {whole->dims[0], cat->spec.channels[i], whole->dims[2], whole->dims[3]};
    dnnl_dims_t offsets = {0, offset, 0, 0};
    dnnl_memory_desc_t md;
    r = dnnl_memory_desc_init_submemory(&md, whole, dims, offsets);
    if (r == dnnl_success) r = dnnl_memory_create(&s->views[i], &md, e->cpu, DNNL_MEMORY_NONE);
    offset += cat->spec.channels[i];
  }
  if (r != dnnl_success) free_views(s);
  return r;
}

/* Views for dy's layout: into dy itself when its layout can be cut at the inputs' boundaries, else
 * into a plain nchw copy. Made once per layout of dy. */
static dlcc_status prepare_split(const dlcc_nn_concat *cat, dlcc_nn_engine *e, const dnnl_memory_desc_t *dy_md,
                                 concat_split *s, dlcc_error *err) {
  if (s->dy_md.ndims && dnnl_memory_desc_equal(&s->dy_md, dy_md)) return DLCC_OK;
  free_views(s);
  s->via_plain = make_views(cat, e, dy_md, s) != dnnl_success;
  if (s->via_plain) {
    dlcc_status st = dlcc_nn_check(dnnl_memory_desc_init_by_tag(&s->plain_md, 4, dy_md->dims, dy_md->data_type,
                                                                dnnl_nchw),
                                   err, cat->name);
    if (!st) st = dlcc_nn_check(make_views(cat, e, &s->plain_md, s), err, cat->name);
    if (st) return st;
  }
  s->dy_md = *dy_md;
  return DLCC_OK;
}

dlcc_status dlcc_nn_concat_backward(dlcc_nn_concat *cat, dlcc_nn_engine *e, const dlcc_nn_tensor *const *x,
                                    const dlcc_nn_tensor *dy, dlcc_nn_tensor *const *dx, dlcc_error *err) {
  concat_plan *plan;
  dlcc_status st = plan_for(cat, e, x, DLCC_NN_TRAINING, &plan, err);
  if (!st) st = dlcc_nn_check_grad_output(cat->name, dy, plan->out_dims, x[0]->dtype, err);
  if (!st) st = prepare_split(cat, e, dlcc_nn_tensor_md(dy), &plan->split, err);
  if (st) return st;
  concat_split *s = &plan->split;
  dnnl_memory_t whole = dy->buf.mem;
  if (s->via_plain) st = dlcc_nn_convert_run(&s->plain_dy, e, dy->buf.mem, &s->plain_md, &whole, err);
  void *base = NULL;
  if (!st) st = dlcc_nn_check(dnnl_memory_get_data_handle(whole, &base), err, cat->name);
  for (int i = 0; i < cat->spec.inputs && !st; i++) {
    if (!dx[i]) continue;
    st = dlcc_nn_check(dnnl_memory_set_data_handle(s->views[i], base), err, cat->name);
    if (!st) st = dlcc_nn_tensor_set_layout(dx[i], e, &plan->src[i], err);
    if (!st) st = dlcc_nn_reorder_run(&s->to_dx[i], e, s->views[i], dx[i]->buf.mem, err);
  }
  return st;
}
