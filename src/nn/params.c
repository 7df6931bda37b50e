/* The parameter and gradient buffers of a network: declaration, region layout, lookup by name, and
 * loading/saving through safetensors with one message listing every tensor that does not fit. */
#include "nn/params.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nn/safetensors.h"
#include "util/fileio.h"

#define ALIGN_FLOATS 16 /* 64 bytes: a cache line, an AVX-512 register */
#define LISTED_PER_PROBLEM 8

void dlcc_nn_params_init(dlcc_nn_params *p) {
  memset(p, 0, sizeof *p);
}

void dlcc_nn_params_free(dlcc_nn_params *p) {
  for (size_t i = 0; i < p->count; i++) free(p->items[i].name);
  free(p->items);
  free(p->values);
  free(p->grads);
  dlcc_nn_params_init(p);
}

long dlcc_nn_params_find(const dlcc_nn_params *p, const char *name) {
  for (size_t i = 0; i < p->count; i++)
    if (strcmp(p->items[i].name, name) == 0) return (long)i;
  return -1;
}

dlcc_status dlcc_nn_params_add(dlcc_nn_params *p, const char *name, dlcc_nn_param_kind kind, int ndims,
                               const int64_t *dims, size_t *index, dlcc_error *err) {
  if (p->values) return dlcc_fail(err, DLCC_ERR_INVALID, "parameter %s declared after allocation", name);
  if (dlcc_nn_params_find(p, name) >= 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "parameter %s is declared twice", name);
  if (ndims < 1 || ndims > 4) return dlcc_fail(err, DLCC_ERR_INVALID, "parameter %s has %d dims (1 to 4)", name, ndims);
  dlcc_nn_param param = {.kind = kind, .ndims = ndims, .count = 1};
  for (int d = 0; d < ndims; d++) {
    if (dims[d] <= 0) return dlcc_fail(err, DLCC_ERR_INVALID, "parameter %s has a size <= 0", name);
    param.dims[d] = dims[d];
    param.count *= (size_t)dims[d];
  }
  if (p->count == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    dlcc_nn_param *bigger = realloc(p->items, cap * sizeof *bigger);
    if (!bigger) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory declaring %s", name);
    p->items = bigger;
    p->cap = cap;
  }
  if (!(param.name = strdup(name))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory declaring %s", name);
  p->items[p->count] = param;
  if (index) *index = p->count;
  p->count++;
  return DLCC_OK;
}

static size_t align_up(size_t n) {
  return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

/* Places the parameters of one kind from offset `at`; returns the end of the region. */
static size_t place_region(dlcc_nn_params *p, dlcc_nn_param_kind kind, size_t at) {
  for (size_t i = 0; i < p->count; i++) {
    if (p->items[i].kind != kind) continue;
    p->items[i].offset = at;
    at = align_up(at + p->items[i].count);
  }
  return at;
}

static float *zeroed_floats(size_t n) {
  size_t bytes = (n ? n : 1) * sizeof(float);
  float *f = aligned_alloc(64, align_up(bytes));
  if (f) memset(f, 0, bytes);
  return f;
}

dlcc_status dlcc_nn_params_allocate(dlcc_nn_params *p, dlcc_error *err) {
  if (p->values) return dlcc_fail(err, DLCC_ERR_INVALID, "parameters are already allocated");
  p->decayed = place_region(p, DLCC_NN_PARAM_WEIGHT, 0);
  p->trained = place_region(p, DLCC_NN_PARAM_BIAS, p->decayed);
  p->total = place_region(p, DLCC_NN_PARAM_STATE, p->trained);
  p->values = zeroed_floats(p->total);
  p->grads = zeroed_floats(p->trained);
  if (!p->values || !p->grads) {
    free(p->values);
    free(p->grads);
    p->values = p->grads = NULL;
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for %zu parameters", p->total);
  }
  p->version++;
  return DLCC_OK;
}

float *dlcc_nn_param_values(const dlcc_nn_params *p, size_t index) {
  return p->values + p->items[index].offset;
}

float *dlcc_nn_param_grads(const dlcc_nn_params *p, size_t index) {
  if (p->items[index].kind == DLCC_NN_PARAM_STATE) return NULL;
  return p->grads + p->items[index].offset;
}

void dlcc_nn_params_changed(dlcc_nn_params *p) {
  p->version++;
}

static bool is_optional(const char *name, const char *const *prefixes, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return true;
  return false;
}

/* One category of problems ("missing", "mis-shaped", ...) collected for the load message. */
typedef struct problem_list {
  dlcc_strbuf text;
  size_t count;
} problem_list;

static void problem_add(problem_list *list, const char *item) {
  if (list->count++ < LISTED_PER_PROBLEM) {
    if (list->count > 1) dlcc_strbuf_append(&list->text, ", ");
    dlcc_strbuf_append(&list->text, item);
  }
}

static void problem_flush(problem_list *list, const char *title, dlcc_strbuf *out) {
  if (!list->count) return;
  dlcc_strbuf_printf(out, "; %s: %s", title, list->text.data);
  if (list->count > LISTED_PER_PROBLEM) dlcc_strbuf_printf(out, " and %zu more", list->count - LISTED_PER_PROBLEM);
  dlcc_strbuf_free(&list->text);
}

/* Checks every parameter against the file; fills *message (caller frees) when any does not fit. */
static size_t check_against_file(const dlcc_nn_params *p, const dlcc_safetensors *st, const char *const *optional,
                                 size_t n_optional, size_t *present, dlcc_strbuf *message) {
  problem_list missing = {0}, shaped = {0}, typed = {0};
  *present = 0;
  for (size_t i = 0; i < p->count; i++) {
    const dlcc_nn_param *param = &p->items[i];
    const dlcc_st_tensor *t = dlcc_safetensors_find(st, param->name);
    if (!t) {
      if (!is_optional(param->name, optional, n_optional)) problem_add(&missing, param->name);
      continue;
    }
    (*present)++;
    bool same = t->ndims == param->ndims;
    for (int d = 0; same && d < param->ndims; d++) same = t->shape[d] == param->dims[d];
    char item[512], have[128], want[128];
    if (!same) {
      dlcc_st_shape_string(t->ndims, t->shape, have, sizeof have);
      dlcc_st_shape_string(param->ndims, param->dims, want, sizeof want);
      snprintf(item, sizeof item, "%s (file %s, network %s)", param->name, have, want);
      problem_add(&shaped, item);
    } else if (strcmp(t->dtype, "F32") && strcmp(t->dtype, "BF16") && strcmp(t->dtype, "F16")) {
      snprintf(item, sizeof item, "%s (%s)", param->name, t->dtype);
      problem_add(&typed, item);
    }
  }
  size_t problems = missing.count + shaped.count + typed.count;
  problem_flush(&missing, "missing", message);
  problem_flush(&shaped, "mis-shaped", message);
  problem_flush(&typed, "not F32, BF16 or F16", message);
  return problems;
}

dlcc_status dlcc_nn_params_load(dlcc_nn_params *p, const char *path, const char *const *optional_prefixes,
                                size_t n_optional, size_t *loaded, dlcc_error *err) {
  if (loaded) *loaded = 0;
  if (!p->values) return dlcc_fail(err, DLCC_ERR_INVALID, "loading %s before the parameters are allocated", path);
  dlcc_safetensors *st = NULL;
  dlcc_status status = dlcc_safetensors_open(path, &st, err);
  if (status) return status;
  dlcc_strbuf problems = {0};
  size_t present = 0, bad = check_against_file(p, st, optional_prefixes, n_optional, &present, &problems);
  if (bad) {
    status = dlcc_fail(err, DLCC_ERR_INVALID, "%s: %zu of the network's %zu parameters do not fit%s", path, bad,
                       p->count, problems.data ? problems.data : "");
  }
  for (size_t i = 0; !status && i < p->count; i++) {
    const dlcc_nn_param *param = &p->items[i];
    if (!dlcc_safetensors_find(st, param->name)) continue;
    status = dlcc_safetensors_read_f32(st, param->name, param->ndims, param->dims, dlcc_nn_param_values(p, i), err);
  }
  dlcc_strbuf_free(&problems);
  dlcc_safetensors_close(st);
  if (status) return status;
  dlcc_nn_params_changed(p);
  if (loaded) *loaded = present;
  return DLCC_OK;
}

dlcc_status dlcc_nn_params_save(const dlcc_nn_params *p, const char *path, const char *const *meta,
                                size_t meta_pairs, dlcc_error *err) {
  if (!p->values) return dlcc_fail(err, DLCC_ERR_INVALID, "saving %s before the parameters are allocated", path);
  dlcc_st_out *out = calloc(p->count ? p->count : 1, sizeof *out);
  if (!out) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  for (size_t i = 0; i < p->count; i++) {
    out[i].name = p->items[i].name;
    out[i].ndims = p->items[i].ndims;
    memcpy(out[i].shape, p->items[i].dims, sizeof p->items[i].dims);
    out[i].data = dlcc_nn_param_values(p, i);
  }
  dlcc_status status = dlcc_safetensors_write(path, out, p->count, meta, meta_pairs, err);
  free(out);
  return status;
}
