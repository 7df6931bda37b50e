/* Images in and out: PNG (8/16-bit, gray, gray+alpha, RGB, RGBA, palette) through libpng and JPEG
 * through libjpeg-turbo, always delivered as 8-bit interleaved RGB. A truncated or corrupt file is an
 * error naming it. */
#ifndef DLCC_IMAGE_IMAGE_H
#define DLCC_IMAGE_IMAGE_H

#include <stdint.h>

#include "util/error.h"

typedef struct dlcc_image {
  int width;
  int height;
  uint8_t *rgb;   /* width * height * 3 bytes, row-major, owned */
} dlcc_image;

/* Allocates a black image. */
dlcc_status dlcc_image_alloc(dlcc_image *img, int width, int height, dlcc_error *err);
/* Decodes a PNG or JPEG (chosen by the file's signature, not its name). */
dlcc_status dlcc_image_load(const char *path, dlcc_image *img, dlcc_error *err);
/* Reads only the header: width and height. */
dlcc_status dlcc_image_read_size(const char *path, int *width, int *height, dlcc_error *err);
/* Encodes 8-bit RGB PNG atomically; the bytes depend only on the pixels. */
dlcc_status dlcc_image_save_png(const char *path, const dlcc_image *img, dlcc_error *err);
/* Encodes JPEG (quality 1..100) atomically. */
dlcc_status dlcc_image_save_jpeg(const char *path, const dlcc_image *img, int quality, dlcc_error *err);
void dlcc_image_free(dlcc_image *img);

#endif
