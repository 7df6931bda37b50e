/* Image rescaling through libswscale. Packed RGB is split into planar GBR first: swscale scales packed
 * RGB by way of YUV, which would shift colours, whereas planar RGB in and out is scaled plane by plane.
 * SWS_BITEXACT makes the bytes the same on every CPU, so a seed reproduces a batch anywhere. */
#include "augment/resize.h"

#include <math.h>
#include <string.h>

#include <libavutil/mem.h>
#include <libswscale/swscale.h>

#define SCALER_FLAGS \
  (SWS_BICUBIC | SWS_ACCURATE_RND | SWS_BITEXACT | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP)
/* Row alignment of the planar copies (what swscale's SIMD paths like) and slack past the end. */
#define PLANE_ALIGN 64
#define PLANE_SLACK 64

int dlcc_aug_scaled_length(int length, double factor) {
  double exact = (double)length * factor;
  int rounded = (int)ceil(exact - 1e-9 * exact);
  return rounded < 1 ? 1 : rounded;
}

double dlcc_aug_resize_coord(double v, int src_length, int dst_length) {
  return (v + 0.5) * dst_length / src_length - 0.5;
}

static int aligned_stride(int width) { return (width + PLANE_ALIGN - 1) / PLANE_ALIGN * PLANE_ALIGN; }

/* Grows the planar scratch to hold 3 source and 3 destination planes. */
static dlcc_status reserve_planes(dlcc_aug_resizer *r, size_t needed, dlcc_error *err) {
  if (needed <= r->planes_size) return DLCC_OK;
  av_free(r->planes);
  r->planes = av_malloc(needed);
  r->planes_size = r->planes ? needed : 0;
  if (!r->planes) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory resizing an image (%zu bytes)", needed);
  return DLCC_OK;
}

/* GBR plane order, as AV_PIX_FMT_GBRP stores it. */
static const int plane_channel[3] = {1, 2, 0};

static void split_planes(const dlcc_image *img, uint8_t *planes[3], int stride) {
  for (int p = 0; p < 3; p++) {
    int c = plane_channel[p];
    for (int y = 0; y < img->height; y++) {
      const uint8_t *in = img->rgb + (size_t)y * img->width * 3 + c;
      uint8_t *out = planes[p] + (size_t)y * stride;
      for (int x = 0; x < img->width; x++) out[x] = in[3 * x];
    }
  }
}

static void join_planes(uint8_t *const planes[3], int stride, dlcc_image *img) {
  for (int p = 0; p < 3; p++) {
    int c = plane_channel[p];
    for (int y = 0; y < img->height; y++) {
      const uint8_t *in = planes[p] + (size_t)y * stride;
      uint8_t *out = img->rgb + (size_t)y * img->width * 3 + c;
      for (int x = 0; x < img->width; x++) out[3 * x] = in[x];
    }
  }
}

dlcc_status dlcc_aug_resize(dlcc_aug_resizer *r, const dlcc_image *src, dlcc_image *dst, dlcc_error *err) {
  if (src->width == dst->width && src->height == dst->height) {
    memcpy(dst->rgb, src->rgb, (size_t)src->width * src->height * 3);
    return DLCC_OK;
  }
  r->sws = sws_getCachedContext(r->sws, src->width, src->height, AV_PIX_FMT_GBRP, dst->width, dst->height,
                                AV_PIX_FMT_GBRP, SCALER_FLAGS, NULL, NULL, NULL);
  if (!r->sws)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot resize a %dx%d image to %dx%d (swscale refused the sizes)",
                     src->width, src->height, dst->width, dst->height);
  int src_stride = aligned_stride(src->width), dst_stride = aligned_stride(dst->width);
  size_t src_plane = (size_t)src_stride * src->height, dst_plane = (size_t)dst_stride * dst->height;
  dlcc_status st = reserve_planes(r, 3 * (src_plane + dst_plane) + PLANE_SLACK, err);
  if (st != DLCC_OK) return st;
  uint8_t *src_planes[3], *dst_planes[3];
  for (int p = 0; p < 3; p++) {
    src_planes[p] = r->planes + p * src_plane;
    dst_planes[p] = r->planes + 3 * src_plane + p * dst_plane;
  }
  split_planes(src, src_planes, src_stride);
  const int src_strides[3] = {src_stride, src_stride, src_stride};
  const int dst_strides[3] = {dst_stride, dst_stride, dst_stride};
  sws_scale(r->sws, (const uint8_t *const *)src_planes, src_strides, 0, src->height, dst_planes, dst_strides);
  join_planes(dst_planes, dst_stride, dst);
  return DLCC_OK;
}

void dlcc_aug_resizer_free(dlcc_aug_resizer *r) {
  if (!r) return;
  sws_freeContext(r->sws);
  av_free(r->planes);
  *r = (dlcc_aug_resizer){0};
}
