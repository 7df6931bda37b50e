/* Snapshots as safetensors: parameters and optimizer moments as tensors, everything else (iteration,
 * optimizer step, RNG state, the network's fingerprint) as exact strings in __metadata__. Loading
 * checks the whole file before it writes anything. */
#include "nn/snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/safetensors.h"
#include "util/fileio.h"

#define SNAPSHOT_FORMAT "dlcc-snapshot"
#define SNAPSHOT_VERSION "1"

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
  const unsigned char *b = data;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
  return h;
}

uint64_t dlcc_nn_network_fingerprint(const char *net_type, const dlcc_nn_params *p) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv1a(h, net_type, strlen(net_type) + 1); /* the NUL separates the fields */
  for (size_t i = 0; i < p->count; i++) {
    const dlcc_nn_param *param = &p->items[i];
    char shape[160];
    int n = snprintf(shape, sizeof shape, "%d:%d", (int)param->kind, param->ndims);
    for (int d = 0; d < param->ndims; d++)
      n += snprintf(shape + n, sizeof shape - (size_t)n, ",%" PRId64, param->dims[d]);
    h = fnv1a(h, param->name, strlen(param->name) + 1);
    h = fnv1a(h, shape, (size_t)n + 1);
  }
  return h;
}

/* "optimizer.m.conv1.weight"; NULL when out of memory. */
static char *moment_name(char moment, const char *param) {
  return dlcc_strdupf("optimizer.%c.%s", moment, param);
}

static dlcc_st_out param_output(const dlcc_nn_param *param, const char *name, const float *data) {
  dlcc_st_out out = {.name = name, .ndims = param->ndims, .data = data};
  memcpy(out.shape, param->dims, sizeof param->dims);
  return out;
}

/* Appends one moment tensor per trained parameter; names are allocated into names[]. */
static bool add_moments(const dlcc_nn_params *p, char moment, const float *buffer, dlcc_st_out *out, char **names,
                        size_t *count) {
  for (size_t i = 0; i < p->count; i++) {
    const dlcc_nn_param *param = &p->items[i];
    if (param->kind == DLCC_NN_PARAM_STATE) continue;
    if (!(names[*count] = moment_name(moment, param->name))) return false;
    out[*count] = param_output(param, names[*count], buffer + param->offset);
    (*count)++;
  }
  return true;
}

static dlcc_status write_snapshot(const char *path, const dlcc_nn_params *p, const dlcc_nn_optimizer *opt,
                                  const char *const *meta, size_t meta_pairs, dlcc_error *err) {
  size_t cap = p->count * 3;
  dlcc_st_out *out = calloc(cap ? cap : 1, sizeof *out);
  char **names = calloc(cap ? cap : 1, sizeof *names);
  size_t count = 0;
  bool ok = out && names;
  for (size_t i = 0; ok && i < p->count; i++, count++)
    out[count] = param_output(&p->items[i], p->items[i].name, dlcc_nn_param_values(p, i));
  if (ok && opt) ok = add_moments(p, 'm', opt->m, out, names, &count);
  if (ok && opt && opt->kind == DLCC_NN_OPT_ADAM) ok = add_moments(p, 'v', opt->v, out, names, &count);
  dlcc_status status = ok ? dlcc_safetensors_write(path, out, count, meta, meta_pairs, err)
                          : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing snapshot %s", path);
  for (size_t i = 0; names && i < count; i++) free(names[i]);
  free(names);
  free(out);
  return status;
}

dlcc_status dlcc_nn_snapshot_save(const char *path, const char *net_type, const dlcc_nn_params *p,
                                  const dlcc_nn_optimizer *opt, long iteration, const dlcc_rng *rng, dlcc_error *err) {
  if (!p->values) return dlcc_fail(err, DLCC_ERR_INVALID, "saving snapshot %s before the parameters are allocated", path);
  if (iteration < 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "saving snapshot %s: iteration %ld is negative", path, iteration);
  if (opt && opt->size != p->trained)
    return dlcc_fail(err, DLCC_ERR_INVALID, "saving snapshot %s: the optimizer was made for another network", path);
  char fingerprint[17], n_params[24], iter[24], step[24], decay[32], state[17], inc[17];
  snprintf(fingerprint, sizeof fingerprint, "%016" PRIx64, dlcc_nn_network_fingerprint(net_type, p));
  snprintf(n_params, sizeof n_params, "%zu", p->count);
  snprintf(iter, sizeof iter, "%ld", iteration);
  snprintf(step, sizeof step, "%ld", opt ? opt->step : 0L);
  snprintf(decay, sizeof decay, "%.17g", opt ? opt->weight_decay : 0.0);
  const char *meta[2 * 11] = {"format", SNAPSHOT_FORMAT, "format_version", SNAPSHOT_VERSION, "net_type", net_type,
                              "fingerprint", fingerprint, "parameters", n_params, "iteration", iter,
                              "optimizer", opt ? dlcc_nn_optimizer_name(opt->kind) : "none", "optimizer_step", step,
                              "weight_decay", decay};
  size_t pairs = 9;
  if (rng) {
    snprintf(state, sizeof state, "%016" PRIx64, rng->state);
    snprintf(inc, sizeof inc, "%016" PRIx64, rng->inc);
    const char *rng_meta[4] = {"rng_state", state, "rng_inc", inc};
    memcpy(meta + 2 * pairs, rng_meta, sizeof rng_meta);
    pairs += 2;
  }
  return write_snapshot(path, p, opt, meta, pairs, err);
}

/* ---- loading: every check first, then the reads ---- */

static const char *meta_or_empty(const dlcc_safetensors *st, const char *key) {
  const char *v = dlcc_safetensors_meta(st, key);
  return v ? v : "";
}

static dlcc_status check_format(const dlcc_safetensors *st, dlcc_error *err) {
  const char *format = dlcc_safetensors_meta(st, "format"), *version = dlcc_safetensors_meta(st, "format_version");
  if (!format || strcmp(format, SNAPSHOT_FORMAT) != 0)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s is not a dlcc snapshot (its metadata has no format \"%s\"); to start from plain weights "
                     "give the file as init_weights instead",
                     st->path, SNAPSHOT_FORMAT);
  if (!version || strcmp(version, SNAPSHOT_VERSION) != 0)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "%s: snapshot format version %s; this dlcc reads version %s",
                     st->path, version ? version : "(none)", SNAPSHOT_VERSION);
  return DLCC_OK;
}

/* "; first difference: ..." for the first parameter of p that the file lacks or shapes otherwise,
 * or "" when each of p's parameters is in the file with its shape. */
static void first_difference(const dlcc_safetensors *st, const dlcc_nn_params *p, char *buf, size_t size) {
  buf[0] = '\0';
  for (size_t i = 0; i < p->count; i++) {
    const dlcc_nn_param *param = &p->items[i];
    const dlcc_st_tensor *t = dlcc_safetensors_find(st, param->name);
    char have[128], want[128];
    dlcc_st_shape_string(param->ndims, param->dims, want, sizeof want);
    if (!t) {
      snprintf(buf, size, "; first difference: %s %s is not in the snapshot", param->name, want);
      return;
    }
    bool same = t->ndims == param->ndims;
    for (int d = 0; same && d < param->ndims; d++) same = t->shape[d] == param->dims[d];
    if (!same) {
      dlcc_st_shape_string(t->ndims, t->shape, have, sizeof have);
      snprintf(buf, size, "; first difference: %s is %s in the snapshot, %s in this network", param->name, have, want);
      return;
    }
  }
}

static dlcc_status check_fingerprint(const dlcc_safetensors *st, const char *net_type, const dlcc_nn_params *p,
                                     dlcc_error *err) {
  char ours[17], detail[512];
  snprintf(ours, sizeof ours, "%016" PRIx64, dlcc_nn_network_fingerprint(net_type, p));
  if (strcmp(meta_or_empty(st, "fingerprint"), ours) == 0) return DLCC_OK;
  first_difference(st, p, detail, sizeof detail);
  return dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s is a snapshot of network %s (%s parameters, fingerprint %s), but this network is %s (%zu "
                   "parameters, fingerprint %s)%s; load it with the pose_cfg.yaml it was trained with",
                   st->path, meta_or_empty(st, "net_type"), meta_or_empty(st, "parameters"),
                   meta_or_empty(st, "fingerprint"), net_type, p->count, ours, detail);
}

static dlcc_status check_optimizer(const dlcc_safetensors *st, const dlcc_nn_optimizer *opt, const dlcc_nn_params *p,
                                   dlcc_error *err) {
  if (!opt) return DLCC_OK;
  const char *kind = meta_or_empty(st, "optimizer"), *wanted = dlcc_nn_optimizer_name(opt->kind);
  if (opt->size != p->trained)
    return dlcc_fail(err, DLCC_ERR_INVALID, "loading %s: the optimizer was made for another network", st->path);
  if (strcmp(kind, "none") == 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s holds no optimizer state, so training cannot resume from it",
                     st->path);
  if (strcmp(kind, wanted) != 0)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s was trained with optimizer %s but this run uses %s; resume with optimizer: %s in "
                     "pose_cfg.yaml",
                     st->path, kind, wanted, kind);
  return DLCC_OK;
}

static bool parse_long(const char *text, long *out) {
  if (!text || !*text) return false;
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || *end || v < 0 || v > LONG_MAX) return false;
  *out = (long)v;
  return true;
}

static bool parse_hex64(const char *text, uint64_t *out) {
  if (!text || strlen(text) != 16) return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 16);
  if (errno || *end) return false;
  *out = (uint64_t)v;
  return true;
}

/* The counters and RNG state a load asks for, parsed from the metadata. */
typedef struct counters {
  long iteration, step;
  dlcc_rng rng;
} counters;

static dlcc_status parse_counters(const dlcc_safetensors *st, bool want_step, bool want_rng, counters *c,
                                  dlcc_error *err) {
  const char *bad = NULL;
  if (!parse_long(dlcc_safetensors_meta(st, "iteration"), &c->iteration)) bad = "iteration";
  else if (want_step && !parse_long(dlcc_safetensors_meta(st, "optimizer_step"), &c->step)) bad = "optimizer_step";
  if (bad)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: metadata \"%s\" is missing or not a whole number >= 0; the snapshot is "
                     "damaged", st->path, bad);
  if (want_rng && (!parse_hex64(dlcc_safetensors_meta(st, "rng_state"), &c->rng.state) ||
                   !parse_hex64(dlcc_safetensors_meta(st, "rng_inc"), &c->rng.inc)))
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s holds no random generator state (rng_state, rng_inc: 16 hex digits "
                     "each), so training cannot resume from it exactly", st->path);
  return DLCC_OK;
}

/* Checks that tensor `name` is F32 with param's shape (what dlcc_nn_snapshot_save wrote). */
static dlcc_status check_tensor(const dlcc_safetensors *st, const char *name, const dlcc_nn_param *param,
                                dlcc_error *err) {
  const dlcc_st_tensor *t = dlcc_safetensors_find(st, name);
  if (!t) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: tensor '%s' is missing; the snapshot is damaged", st->path, name);
  bool same = t->ndims == param->ndims && strcmp(t->dtype, "F32") == 0;
  for (int d = 0; same && d < param->ndims; d++) same = t->shape[d] == param->dims[d];
  if (same) return DLCC_OK;
  char have[128], want[128];
  dlcc_st_shape_string(t->ndims, t->shape, have, sizeof have);
  dlcc_st_shape_string(param->ndims, param->dims, want, sizeof want);
  return dlcc_fail(err, DLCC_ERR_INVALID, "%s: tensor '%s' is %s %s, the network needs F32 %s; the snapshot is damaged",
                   st->path, name, t->dtype, have, want);
}

/* Checks (dst NULL) or reads (dst given) one tensor per parameter: the values, or a moment's
 * tensors for the trained ones. */
static dlcc_status visit_tensors(const dlcc_safetensors *st, const dlcc_nn_params *p, char moment, float *dst,
                                 dlcc_error *err) {
  dlcc_status status = DLCC_OK;
  for (size_t i = 0; !status && i < p->count; i++) {
    const dlcc_nn_param *param = &p->items[i];
    if (moment && param->kind == DLCC_NN_PARAM_STATE) continue;
    char *owned = moment ? moment_name(moment, param->name) : NULL;
    if (moment && !owned) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory reading %s", st->path);
    const char *name = moment ? owned : param->name;
    status = dst ? dlcc_safetensors_read_f32(st, name, param->ndims, param->dims, dst + param->offset, err)
                 : check_tensor(st, name, param, err);
    free(owned);
  }
  return status;
}

static dlcc_status visit_all(const dlcc_safetensors *st, dlcc_nn_params *p, dlcc_nn_optimizer *opt, bool read,
                             dlcc_error *err) {
  dlcc_status status = visit_tensors(st, p, 0, read ? p->values : NULL, err);
  if (!status && opt) status = visit_tensors(st, p, 'm', read ? opt->m : NULL, err);
  if (!status && opt && opt->kind == DLCC_NN_OPT_ADAM) status = visit_tensors(st, p, 'v', read ? opt->v : NULL, err);
  return status;
}

dlcc_status dlcc_nn_snapshot_load(const char *path, const char *net_type, dlcc_nn_params *p, dlcc_nn_optimizer *opt,
                                  long *iteration, dlcc_rng *rng, dlcc_error *err) {
  if (!p->values) return dlcc_fail(err, DLCC_ERR_INVALID, "loading snapshot %s before the parameters are allocated", path);
  dlcc_safetensors *st = NULL;
  dlcc_status status = dlcc_safetensors_open(path, &st, err);
  if (status) return status;
  counters c = {0};
  status = check_format(st, err);
  if (!status) status = check_fingerprint(st, net_type, p, err);
  if (!status) status = check_optimizer(st, opt, p, err);
  if (!status) status = parse_counters(st, opt != NULL, rng != NULL, &c, err);
  if (!status) status = visit_all(st, p, opt, false, err);
  if (!status) status = visit_all(st, p, opt, true, err); /* cannot fail now: every tensor was checked */
  dlcc_safetensors_close(st);
  if (status) return status;
  if (opt) opt->step = c.step;
  if (iteration) *iteration = c.iteration;
  if (rng) *rng = c.rng;
  dlcc_nn_params_changed(p);
  return DLCC_OK;
}
