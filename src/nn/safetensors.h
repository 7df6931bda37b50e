/* safetensors files (the format of Hugging Face and of PyTorch weight exports): an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype, shape and byte range, then
 * the raw little-endian data. dlcc reads F32, BF16 and F16 tensors as f32 and writes F32. */
#ifndef DLCC_NN_SAFETENSORS_H
#define DLCC_NN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define DLCC_ST_MAX_DIMS 8

/* One tensor as the header describes it. dtype is the file's spelling ("F32", "I64", ...): files
 * may hold tensors of any type; only reading one as f32 requires F32, BF16 or F16. */
typedef struct dlcc_st_tensor {
  char *name;
  char dtype[8];
  int ndims;                       /* 0 for a scalar */
  int64_t shape[DLCC_ST_MAX_DIMS];
  size_t offset, nbytes;           /* byte range within the data section */
} dlcc_st_tensor;

typedef struct dlcc_safetensors {
  char *path;
  dlcc_st_tensor *tensors;
  size_t count;
  char **meta_keys, **meta_values; /* the "__metadata__" string map */
  size_t meta_count;
  const unsigned char *data;       /* the data section (inside the mapped file) */
  size_t data_len;
  void *map;
  size_t map_len;
} dlcc_safetensors;

/* Opens and validates path: header bounds, JSON, every tensor's dtype, shape and byte range within
 * the file. Errors name the file and, when one is at fault, the tensor. Close with
 * dlcc_safetensors_close. */
dlcc_status dlcc_safetensors_open(const char *path, dlcc_safetensors **out, dlcc_error *err);
void dlcc_safetensors_close(dlcc_safetensors *st);

/* The tensor called name, or NULL. */
const dlcc_st_tensor *dlcc_safetensors_find(const dlcc_safetensors *st, const char *name);
/* The metadata value of key, or NULL. */
const char *dlcc_safetensors_meta(const dlcc_safetensors *st, const char *key);

/* Copies tensor name into dst (as many floats as shape holds), converting BF16 and F16 to f32.
 * Fails naming the file and the tensor when it is missing, when its shape differs from
 * shape[0..ndims) or when its dtype is not a float type dlcc reads. */
dlcc_status dlcc_safetensors_read_f32(const dlcc_safetensors *st, const char *name, int ndims,
                                      const int64_t *shape, float *dst, dlcc_error *err);

/* "[64, 3, 7, 7]" into buf, for messages. */
void dlcc_st_shape_string(int ndims, const int64_t *shape, char *buf, size_t size);

/* A tensor to write: F32, shape[0..ndims), data holds their product of floats. */
typedef struct dlcc_st_out {
  const char *name;
  int ndims;
  int64_t shape[DLCC_ST_MAX_DIMS];
  const float *data;
} dlcc_st_out;

/* Writes tensors (in this order) and metadata (meta[2i] = key, meta[2i+1] = value, meta_pairs
 * pairs) to path atomically: the file appears complete or not at all. Names must be unique. */
dlcc_status dlcc_safetensors_write(const char *path, const dlcc_st_out *tensors, size_t count,
                                   const char *const *meta, size_t meta_pairs, dlcc_error *err);

#endif
