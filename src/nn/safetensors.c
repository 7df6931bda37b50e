/* safetensors reading (memory-mapped, every header field checked against the file) and atomic
 * writing. The JSON header goes through cJSON; integers are written as exact decimal text. */
#include "nn/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "util/fileio.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this file assumes a little-endian host"
#endif

#define MAX_HEADER_BYTES (100u << 20) /* the reference implementation's limit */
#define MAX_EXACT_INTEGER 9007199254740992.0 /* 2^53: beyond, a JSON number loses integers */

static size_t dtype_size(const char *dtype) {
  static const struct { const char *name; size_t size; } known[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
    {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(dtype, known[i].name) == 0) return known[i].size;
  return 0;
}

void dlcc_st_shape_string(int ndims, const int64_t *shape, char *buf, size_t size) {
  size_t o = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < ndims && o < size; i++)
    o += (size_t)snprintf(buf + o, size - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (o < size) snprintf(buf + o, size - o, "]");
}

void dlcc_safetensors_close(dlcc_safetensors *st) {
  if (!st) return;
  for (size_t i = 0; i < st->count; i++) free(st->tensors[i].name);
  for (size_t i = 0; i < st->meta_count; i++) {
    free(st->meta_keys[i]);
    free(st->meta_values[i]);
  }
  free(st->tensors);
  free(st->meta_keys);
  free(st->meta_values);
  if (st->map) munmap(st->map, st->map_len);
  free(st->path);
  free(st);
}

/* A JSON number that is a whole number in [0, 2^53). */
static int json_count(const cJSON *item, uint64_t *out) {
  if (!cJSON_IsNumber(item)) return 0;
  double v = item->valuedouble;
  if (!(v >= 0 && v < MAX_EXACT_INTEGER) || v != floor(v)) return 0;
  *out = (uint64_t)v;
  return 1;
}

static dlcc_status parse_metadata(dlcc_safetensors *st, const cJSON *meta, dlcc_error *err) {
  if (!cJSON_IsObject(meta))
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: \"__metadata__\" must be an object of strings", st->path);
  if (st->meta_keys) return dlcc_fail(err, DLCC_ERR_PARSE, "%s: \"__metadata__\" appears twice", st->path);
  size_t n = (size_t)cJSON_GetArraySize(meta);
  st->meta_keys = calloc(n ? n : 1, sizeof *st->meta_keys);
  st->meta_values = calloc(n ? n : 1, sizeof *st->meta_values);
  if (!st->meta_keys || !st->meta_values) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", st->path);
  for (const cJSON *kv = meta->child; kv; kv = kv->next) {
    if (!cJSON_IsString(kv))
      return dlcc_fail(err, DLCC_ERR_PARSE, "%s: metadata \"%s\" is not a string (safetensors metadata "
                       "maps strings to strings)", st->path, kv->string);
    size_t i = st->meta_count++;
    st->meta_keys[i] = strdup(kv->string);
    st->meta_values[i] = strdup(kv->valuestring);
    if (!st->meta_keys[i] || !st->meta_values[i]) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", st->path);
  }
  return DLCC_OK;
}

static dlcc_status parse_shape(const dlcc_safetensors *st, const char *name, const cJSON *shape,
                               dlcc_st_tensor *t, dlcc_error *err) {
  int n = cJSON_IsArray(shape) ? cJSON_GetArraySize(shape) : -1;
  if (n < 0 || n > DLCC_ST_MAX_DIMS)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: tensor '%s' needs \"shape\": an array of at most %d sizes",
                     st->path, name, DLCC_ST_MAX_DIMS);
  t->ndims = n;
  int i = 0;
  for (const cJSON *d = shape->child; d; d = d->next, i++) {
    uint64_t v;
    if (!json_count(d, &v))
      return dlcc_fail(err, DLCC_ERR_PARSE, "%s: tensor '%s' has a shape entry that is not a whole number >= 0",
                       st->path, name);
    t->shape[i] = (int64_t)v;
  }
  return DLCC_OK;
}

/* Bytes the shape needs, or SIZE_MAX when that overflows. */
static size_t shape_bytes(const dlcc_st_tensor *t, size_t elem) {
  size_t bytes = elem;
  for (int i = 0; i < t->ndims; i++) {
    uint64_t d = (uint64_t)t->shape[i];
    if (d != 0 && bytes > SIZE_MAX / d) return SIZE_MAX;
    bytes *= d;
  }
  return bytes;
}

static dlcc_status parse_offsets(const dlcc_safetensors *st, const char *name, const cJSON *offsets,
                                 dlcc_st_tensor *t, dlcc_error *err) {
  uint64_t begin, end;
  if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 || !json_count(offsets->child, &begin) ||
      !json_count(offsets->child->next, &end) || begin > end)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: tensor '%s' needs \"data_offsets\": [begin, end] with "
                     "0 <= begin <= end", st->path, name);
  if (end > st->data_len)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: tensor '%s' ends at data byte %" PRIu64 " but the file holds "
                     "only %zu data bytes: the file is truncated", st->path, name, end, st->data_len);
  size_t need = shape_bytes(t, dtype_size(t->dtype));
  if (end - begin != need) {
    char shape[128];
    dlcc_st_shape_string(t->ndims, t->shape, shape, sizeof shape);
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: tensor '%s' spans %" PRIu64 " bytes but shape %s of %s needs %zu",
                     st->path, name, end - begin, shape, t->dtype, need);
  }
  t->offset = (size_t)begin;
  t->nbytes = (size_t)(end - begin);
  return DLCC_OK;
}

static dlcc_status parse_tensor(dlcc_safetensors *st, const cJSON *entry, dlcc_error *err) {
  const char *name = entry->string;
  if (!cJSON_IsObject(entry))
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: tensor '%s' must be an object with dtype, shape and "
                     "data_offsets", st->path, name);
  if (dlcc_safetensors_find(st, name))
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: tensor '%s' appears twice in the header", st->path, name);
  dlcc_st_tensor *t = &st->tensors[st->count];
  memset(t, 0, sizeof *t);
  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
  if (!cJSON_IsString(dtype) || strlen(dtype->valuestring) >= sizeof t->dtype || !dtype_size(dtype->valuestring))
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: tensor '%s' has an unknown or missing dtype (%s)", st->path,
                     name, cJSON_IsString(dtype) ? dtype->valuestring : "none");
  strcpy(t->dtype, dtype->valuestring);
  dlcc_status status = parse_shape(st, name, cJSON_GetObjectItemCaseSensitive(entry, "shape"), t, err);
  if (!status) status = parse_offsets(st, name, cJSON_GetObjectItemCaseSensitive(entry, "data_offsets"), t, err);
  if (status) return status;
  if (!(t->name = strdup(name))) return dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", st->path);
  st->count++;
  return DLCC_OK;
}

static dlcc_status parse_header(dlcc_safetensors *st, const char *json, size_t len, dlcc_error *err) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  if (!root || !cJSON_IsObject(root)) {
    size_t at = root ? 0 : end && end >= json ? (size_t)(end - json) : 0;
    cJSON_Delete(root);
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: the header is not a JSON object (error near header byte %zu)",
                     st->path, at);
  }
  st->tensors = calloc((size_t)cJSON_GetArraySize(root) + 1, sizeof *st->tensors);
  dlcc_status status = st->tensors ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "%s: out of memory", st->path);
  for (const cJSON *entry = root->child; entry && !status; entry = entry->next)
    status = strcmp(entry->string, "__metadata__") == 0 ? parse_metadata(st, entry, err)
                                                        : parse_tensor(st, entry, err);
  cJSON_Delete(root);
  return status;
}

static dlcc_status map_file(dlcc_safetensors *st, dlcc_error *err) {
  int fd = open(st->path, O_RDONLY);
  if (fd < 0) return dlcc_fail(err, DLCC_ERR_IO, "cannot open %s: %s", st->path, strerror(errno));
  struct stat info;
  dlcc_status status = DLCC_OK;
  if (fstat(fd, &info) != 0) {
    status = dlcc_fail(err, DLCC_ERR_IO, "cannot read %s: %s", st->path, strerror(errno));
  } else if (info.st_size < 8) {
    status = dlcc_fail(err, DLCC_ERR_PARSE, "%s: %lld bytes is too short for a safetensors file (it starts "
                       "with an 8-byte header length)", st->path, (long long)info.st_size);
  } else {
    st->map_len = (size_t)info.st_size;
    st->map = mmap(NULL, st->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (st->map == MAP_FAILED) {
      st->map = NULL;
      status = dlcc_fail(err, DLCC_ERR_IO, "cannot map %s: %s", st->path, strerror(errno));
    }
  }
  close(fd);
  return status;
}

dlcc_status dlcc_safetensors_open(const char *path, dlcc_safetensors **out, dlcc_error *err) {
  *out = NULL;
  dlcc_safetensors *st = calloc(1, sizeof *st);
  if (!st || !(st->path = strdup(path))) {
    free(st);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening %s", path);
  }
  dlcc_status status = map_file(st, err);
  if (!status) {
    const unsigned char *bytes = st->map;
    uint64_t header_len;
    memcpy(&header_len, bytes, 8);
    if (header_len > st->map_len - 8 || header_len > MAX_HEADER_BYTES) {
      status = dlcc_fail(err, DLCC_ERR_PARSE, "%s: the header length %" PRIu64 " runs past the end of the "
                         "file (%zu bytes): the file is truncated or not safetensors", path, header_len, st->map_len);
    } else {
      st->data = bytes + 8 + header_len;
      st->data_len = st->map_len - 8 - (size_t)header_len;
      status = parse_header(st, (const char *)bytes + 8, (size_t)header_len, err);
    }
  }
  if (status) {
    dlcc_safetensors_close(st);
    return status;
  }
  *out = st;
  return DLCC_OK;
}

const dlcc_st_tensor *dlcc_safetensors_find(const dlcc_safetensors *st, const char *name) {
  for (size_t i = 0; i < st->count; i++)
    if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
  return NULL;
}

const char *dlcc_safetensors_meta(const dlcc_safetensors *st, const char *key) {
  for (size_t i = 0; i < st->meta_count; i++)
    if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
  return NULL;
}

/* IEEE half to single, subnormals, infinities and NaN included. */
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float magnitude;
  if (exp == 0) magnitude = ldexpf((float)mant, -24);
  else if (exp == 31) magnitude = mant ? NAN : INFINITY;
  else magnitude = ldexpf((float)(mant | 0x400), (int)exp - 25);
  uint32_t bits;
  memcpy(&bits, &magnitude, 4);
  bits |= sign;
  float out;
  memcpy(&out, &bits, 4);
  return out;
}

static void convert_to_f32(const dlcc_st_tensor *t, const unsigned char *src, float *dst, size_t n) {
  if (strcmp(t->dtype, "F32") == 0) {
    memcpy(dst, src, n * 4);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    uint16_t v;
    memcpy(&v, src + 2 * i, 2);
    if (strcmp(t->dtype, "BF16") == 0) {
      uint32_t bits = (uint32_t)v << 16; /* bf16 is the upper half of an f32 */
      memcpy(&dst[i], &bits, 4);
    } else {
      dst[i] = half_to_float(v);
    }
  }
}

dlcc_status dlcc_safetensors_read_f32(const dlcc_safetensors *st, const char *name, int ndims,
                                      const int64_t *shape, float *dst, dlcc_error *err) {
  const dlcc_st_tensor *t = dlcc_safetensors_find(st, name);
  if (!t) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: tensor '%s' is missing", st->path, name);
  int same = t->ndims == ndims;
  for (int i = 0; same && i < ndims; i++) same = t->shape[i] == shape[i];
  if (!same) {
    char have[128], want[128];
    dlcc_st_shape_string(t->ndims, t->shape, have, sizeof have);
    dlcc_st_shape_string(ndims, shape, want, sizeof want);
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: tensor '%s' has shape %s but %s is expected", st->path,
                     name, have, want);
  }
  if (strcmp(t->dtype, "F32") != 0 && strcmp(t->dtype, "BF16") != 0 && strcmp(t->dtype, "F16") != 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: tensor '%s' has dtype %s; dlcc reads F32, BF16 or F16",
                     st->path, name, t->dtype);
  convert_to_f32(t, st->data + t->offset, dst, t->nbytes / dtype_size(t->dtype));
  return DLCC_OK;
}

static cJSON *json_integer(uint64_t v) {
  char text[32];
  snprintf(text, sizeof text, "%" PRIu64, v);
  return cJSON_CreateRaw(text); /* exact digits: cJSON's numbers are doubles printed with %g */
}

static dlcc_status check_outputs(const char *path, const dlcc_st_out *tensors, size_t count, dlcc_error *err) {
  for (size_t i = 0; i < count; i++) {
    const dlcc_st_out *t = &tensors[i];
    if (!t->name || !t->name[0] || strcmp(t->name, "__metadata__") == 0)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: tensor %zu needs a name other than \"\" and __metadata__", path, i);
    if (t->ndims < 0 || t->ndims > DLCC_ST_MAX_DIMS)
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: tensor '%s' has %d dims (0 to %d allowed)", path, t->name,
                       t->ndims, DLCC_ST_MAX_DIMS);
    for (int d = 0; d < t->ndims; d++)
      if (t->shape[d] < 0) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: tensor '%s' has a negative size", path, t->name);
    for (size_t j = 0; j < i; j++)
      if (strcmp(tensors[j].name, t->name) == 0)
        return dlcc_fail(err, DLCC_ERR_INVALID, "%s: tensor '%s' is given twice", path, t->name);
  }
  return DLCC_OK;
}

static size_t out_bytes(const dlcc_st_out *t) {
  size_t n = 4;
  for (int d = 0; d < t->ndims; d++) n *= (size_t)t->shape[d];
  return n;
}

static int add_tensor_entry(cJSON *root, const dlcc_st_out *t, size_t *offset) {
  cJSON *entry = cJSON_AddObjectToObject(root, t->name);
  cJSON *shape = cJSON_AddArrayToObject(entry, "shape");
  if (!cJSON_AddStringToObject(entry, "dtype", "F32") || !shape) return 0;
  for (int d = 0; d < t->ndims; d++)
    if (!cJSON_AddItemToArray(shape, json_integer((uint64_t)t->shape[d]))) return 0;
  cJSON *offsets = cJSON_AddArrayToObject(entry, "data_offsets");
  if (!offsets || !cJSON_AddItemToArray(offsets, json_integer(*offset))) return 0;
  *offset += out_bytes(t);
  return cJSON_AddItemToArray(offsets, json_integer(*offset));
}

/* The header JSON, padded with spaces to a multiple of 8 bytes so the data starts aligned. NULL
 * when out of memory. */
static char *build_header(const dlcc_st_out *tensors, size_t count, const char *const *meta, size_t meta_pairs,
                          size_t *len) {
  cJSON *root = cJSON_CreateObject();
  int ok = root != NULL;
  if (ok && meta_pairs) {
    cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
    for (size_t i = 0; i < meta_pairs && (ok = m != NULL); i++)
      ok = cJSON_AddStringToObject(m, meta[2 * i], meta[2 * i + 1]) != NULL;
  }
  size_t offset = 0;
  for (size_t i = 0; ok && i < count; i++) ok = add_tensor_entry(root, &tensors[i], &offset);
  char *json = ok ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  if (!json) return NULL;
  size_t n = strlen(json), padded = (n + 7) / 8 * 8;
  char *out = malloc(padded + 1);
  if (out) {
    memcpy(out, json, n);
    memset(out + n, ' ', padded - n);
    out[padded] = '\0';
    *len = padded;
  }
  free(json);
  return out;
}

dlcc_status dlcc_safetensors_write(const char *path, const dlcc_st_out *tensors, size_t count,
                                   const char *const *meta, size_t meta_pairs, dlcc_error *err) {
  dlcc_status status = check_outputs(path, tensors, count, err);
  if (status) return status;
  size_t header_len = 0;
  char *header = build_header(tensors, count, meta, meta_pairs, &header_len);
  if (!header) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  dlcc_atomic_file f;
  status = dlcc_atomic_open(&f, path, err);
  if (status) {
    free(header);
    return status;
  }
  uint64_t len64 = header_len;
  int ok = fwrite(&len64, 8, 1, f.fp) == 1 && fwrite(header, 1, header_len, f.fp) == header_len;
  for (size_t i = 0; ok && i < count; i++) {
    size_t bytes = out_bytes(&tensors[i]);
    ok = bytes == 0 || fwrite(tensors[i].data, 1, bytes, f.fp) == bytes;
  }
  free(header);
  if (!ok) {
    dlcc_atomic_abort(&f);
    return dlcc_fail(err, DLCC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
  }
  return dlcc_atomic_commit(&f, err);
}
