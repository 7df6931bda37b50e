/* Images in and out: picks PNG (libpng) or JPEG (libjpeg-turbo) by the file's signature and always
 * hands back 8-bit interleaved RGB. Both libraries report errors by longjmp from our handlers, so a
 * corrupt file becomes a dlcc_error naming it instead of a message on stderr or an exit. */
#include "image/image.h"

#include <errno.h>
#include <limits.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "util/fileio.h"

#define SUPPORTED_FORMATS "dlcc reads PNG and JPEG images"

dlcc_status dlcc_image_alloc(dlcc_image *img, int width, int height, dlcc_error *err) {
  *img = (dlcc_image){0};
  if (width <= 0 || height <= 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "invalid image size %dx%d: both sides must be positive", width,
                     height);
  /* Keeps every byte offset within an int, so callers may index with plain ints. */
  if ((size_t)width * (size_t)height > (size_t)INT_MAX / 3)
    return dlcc_fail(err, DLCC_ERR_INVALID, "image size %dx%d is too large (at most %d pixels)", width, height,
                     INT_MAX / 3);
  img->rgb = calloc((size_t)width * (size_t)height, 3);
  if (!img->rgb) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for a %dx%d image", width, height);
  img->width = width;
  img->height = height;
  return DLCC_OK;
}

void dlcc_image_free(dlcc_image *img) {
  if (!img) return;
  free(img->rgb);
  *img = (dlcc_image){0};
}

/* ---- file type ---- */

typedef enum image_format { FORMAT_UNKNOWN, FORMAT_PNG, FORMAT_JPEG } image_format;

/* Opens path and identifies it by its first bytes; the stream is rewound to the start. */
static dlcc_status open_image(const char *path, FILE **fp, image_format *format, dlcc_error *err) {
  static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  *format = FORMAT_UNKNOWN;
  *fp = fopen(path, "rb");
  if (!*fp) return dlcc_fail(err, DLCC_ERR_IO, "cannot open image %s: %s", path, strerror(errno));
  unsigned char head[8] = {0};
  size_t got = fread(head, 1, sizeof head, *fp);
  if (got == 8 && memcmp(head, png_sig, 8) == 0) *format = FORMAT_PNG;
  else if (got >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) *format = FORMAT_JPEG;
  if (*format == FORMAT_UNKNOWN || fseek(*fp, 0, SEEK_SET) != 0) {
    fclose(*fp);
    *fp = NULL;
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "%s is not a PNG or JPEG image (%s)", path, SUPPORTED_FORMATS);
  }
  return DLCC_OK;
}

/* ---- PNG ---- */

/* Everything the setjmp function changes lives here, in the caller's frame, so that nothing is
 * left indeterminate by the longjmp. */
typedef struct png_session {
  png_structp png;
  png_infop info;
  png_bytep *rows;
  dlcc_image image;
  char message[256];
} png_session;

static void on_png_error(png_structp png, png_const_charp msg) {
  png_session *s = png_get_error_ptr(png);
  snprintf(s->message, sizeof s->message, "%s", msg);
  png_longjmp(png, 1);
}

/* Warnings (odd ancillary chunks, sRGB profile quirks) do not change the pixels; the library must
 * not print them. */
static void on_png_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

/* Asks libpng for 8-bit RGB whatever the stored kind: palette and low-bit gray expanded, 16-bit cut to
 * the high byte, alpha (including tRNS) dropped, gray copied to three channels, passes merged. */
static void request_rgb8(png_session *s) {
  png_set_expand(s->png);
  png_set_strip_16(s->png);
  png_set_strip_alpha(s->png);
  png_set_gray_to_rgb(s->png);
  png_set_interlace_handling(s->png);
  png_read_update_info(s->png, s->info);
}

static dlcc_status png_decode(png_session *s, FILE *fp, const char *path, bool header_only, dlcc_error *err) {
  if (setjmp(png_jmpbuf(s->png)))
    return dlcc_fail(err, DLCC_ERR_PARSE, "cannot decode PNG %s: %s (the file is truncated or corrupt)", path,
                     s->message);
  png_init_io(s->png, fp);
  png_read_info(s->png, s->info);
  int width = (int)png_get_image_width(s->png, s->info), height = (int)png_get_image_height(s->png, s->info);
  if (header_only) {
    s->image.width = width;
    s->image.height = height;
    return DLCC_OK;
  }
  request_rgb8(s);
  if (png_get_channels(s->png, s->info) != 3 || png_get_bit_depth(s->png, s->info) != 8)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "cannot convert PNG %s to 8-bit RGB", path);
  dlcc_status st = dlcc_image_alloc(&s->image, width, height, err);
  if (st) return st;
  s->rows = malloc((size_t)height * sizeof *s->rows);
  if (!s->rows) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory decoding %s", path);
  for (int y = 0; y < height; y++) s->rows[y] = s->image.rgb + (size_t)y * (size_t)width * 3;
  png_read_image(s->png, s->rows);
  png_read_end(s->png, NULL);
  return DLCC_OK;
}

static dlcc_status load_png(FILE *fp, const char *path, bool header_only, dlcc_image *img, dlcc_error *err) {
  png_session s = {0};
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_png_error, on_png_warning);
  if (s.png) s.info = png_create_info_struct(s.png);
  dlcc_status st = s.info ? png_decode(&s, fp, path, header_only, err)
                          : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory decoding %s", path);
  png_destroy_read_struct(&s.png, &s.info, NULL);
  free(s.rows);
  if (st) dlcc_image_free(&s.image);
  *img = s.image;
  return st;
}

/* ---- JPEG ---- */

typedef struct jpeg_session {
  struct jpeg_error_mgr errors;   /* first, so the library's err pointer is also ours */
  jmp_buf jump;
  struct jpeg_decompress_struct cinfo;
  dlcc_image image;
  char message[JMSG_LENGTH_MAX];
} jpeg_session;

static void on_jpeg_error(j_common_ptr cinfo) {
  jpeg_session *s = (jpeg_session *)cinfo->err;
  cinfo->err->format_message(cinfo, s->message);
  longjmp(s->jump, 1);
}

/* libjpeg reports damaged data ("Premature end of JPEG file", "Corrupt JPEG data") as warnings and
 * carries on with grey filler; those pixels would be wrong, so a warning is an error here. Trace
 * messages (level >= 0) are dropped. */
static void on_jpeg_message(j_common_ptr cinfo, int level) {
  if (level < 0) on_jpeg_error(cinfo);
}

static void silence_jpeg_output(j_common_ptr cinfo) { (void)cinfo; }

static void route_jpeg_errors(jpeg_session *s) {
  jpeg_std_error(&s->errors);
  s->errors.error_exit = on_jpeg_error;
  s->errors.emit_message = on_jpeg_message;
  s->errors.output_message = silence_jpeg_output;
}

static dlcc_status jpeg_decode(jpeg_session *s, FILE *fp, const char *path, bool header_only, dlcc_error *err) {
  if (setjmp(s->jump))
    return dlcc_fail(err, DLCC_ERR_PARSE, "cannot decode JPEG %s: %s (the file is truncated or corrupt)", path,
                     s->message);
  jpeg_create_decompress(&s->cinfo);
  jpeg_stdio_src(&s->cinfo, fp);
  jpeg_read_header(&s->cinfo, TRUE);
  int width = (int)s->cinfo.image_width, height = (int)s->cinfo.image_height;
  if (header_only) {
    s->image.width = width;
    s->image.height = height;
    return DLCC_OK;
  }
  if (s->cinfo.jpeg_color_space == JCS_CMYK || s->cinfo.jpeg_color_space == JCS_YCCK)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "JPEG %s is CMYK; save it as an RGB or grayscale JPEG or PNG",
                     path);
  s->cinfo.out_color_space = JCS_RGB;
  dlcc_status st = dlcc_image_alloc(&s->image, width, height, err);
  if (st) return st;
  jpeg_start_decompress(&s->cinfo);
  while (s->cinfo.output_scanline < s->cinfo.output_height) {
    JSAMPROW row = s->image.rgb + (size_t)s->cinfo.output_scanline * (size_t)width * 3;
    jpeg_read_scanlines(&s->cinfo, &row, 1);
  }
  jpeg_finish_decompress(&s->cinfo);
  return DLCC_OK;
}

static dlcc_status load_jpeg(FILE *fp, const char *path, bool header_only, dlcc_image *img, dlcc_error *err) {
  jpeg_session s;
  memset(&s, 0, sizeof s);
  s.cinfo.err = &s.errors;
  route_jpeg_errors(&s);
  dlcc_status st = jpeg_decode(&s, fp, path, header_only, err);
  jpeg_destroy_decompress(&s.cinfo);
  if (st) dlcc_image_free(&s.image);
  *img = s.image;
  return st;
}

/* ---- public readers ---- */

static dlcc_status read_image(const char *path, bool header_only, dlcc_image *img, dlcc_error *err) {
  *img = (dlcc_image){0};
  FILE *fp;
  image_format format;
  dlcc_status st = open_image(path, &fp, &format, err);
  if (st) return st;
  if (format == FORMAT_PNG) st = load_png(fp, path, header_only, img, err);
  else st = load_jpeg(fp, path, header_only, img, err);
  fclose(fp);
  return st;
}

dlcc_status dlcc_image_load(const char *path, dlcc_image *img, dlcc_error *err) {
  return read_image(path, false, img, err);
}

dlcc_status dlcc_image_read_size(const char *path, int *width, int *height, dlcc_error *err) {
  dlcc_image header;
  dlcc_status st = read_image(path, true, &header, err);
  *width = st ? 0 : header.width;
  *height = st ? 0 : header.height;
  return st;
}

/* ---- writers ---- */

static dlcc_status check_savable(const char *path, const dlcc_image *img, dlcc_error *err) {
  if (!img->rgb || img->width <= 0 || img->height <= 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot save %s: the image is empty (%dx%d)", path, img->width,
                     img->height);
  return DLCC_OK;
}

/* No tIME or text chunks are written, so the bytes depend only on the pixels. */
static dlcc_status png_encode(png_session *s, FILE *fp, const char *path, const dlcc_image *img,
                              dlcc_error *err) {
  if (setjmp(png_jmpbuf(s->png)))
    return dlcc_fail(err, DLCC_ERR_IO, "cannot write PNG %s: %s", path, s->message);
  png_init_io(s->png, fp);
  png_set_IHDR(s->png, s->info, (png_uint_32)img->width, (png_uint_32)img->height, 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(s->png, s->info);
  for (int y = 0; y < img->height; y++) png_write_row(s->png, img->rgb + (size_t)y * (size_t)img->width * 3);
  png_write_end(s->png, NULL);
  return DLCC_OK;
}

dlcc_status dlcc_image_save_png(const char *path, const dlcc_image *img, dlcc_error *err) {
  dlcc_status st = check_savable(path, img, err);
  if (st) return st;
  dlcc_atomic_file f;
  st = dlcc_atomic_open(&f, path, err);
  if (st) return st;
  png_session s = {0};
  s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, on_png_error, on_png_warning);
  if (s.png) s.info = png_create_info_struct(s.png);
  st = s.info ? png_encode(&s, f.fp, path, img, err)
              : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  png_destroy_write_struct(&s.png, &s.info);
  if (st) {
    dlcc_atomic_abort(&f);
    return st;
  }
  return dlcc_atomic_commit(&f, err);
}

typedef struct jpeg_writer {
  struct jpeg_error_mgr errors;   /* first, so the library's err pointer is also ours */
  jmp_buf jump;
  struct jpeg_compress_struct cinfo;
  char message[JMSG_LENGTH_MAX];
} jpeg_writer;

static void on_jpeg_write_error(j_common_ptr cinfo) {
  jpeg_writer *w = (jpeg_writer *)cinfo->err;
  cinfo->err->format_message(cinfo, w->message);
  longjmp(w->jump, 1);
}

static dlcc_status jpeg_encode(jpeg_writer *w, FILE *fp, const char *path, const dlcc_image *img, int quality,
                               dlcc_error *err) {
  if (setjmp(w->jump)) return dlcc_fail(err, DLCC_ERR_IO, "cannot write JPEG %s: %s", path, w->message);
  jpeg_create_compress(&w->cinfo);
  jpeg_stdio_dest(&w->cinfo, fp);
  w->cinfo.image_width = (JDIMENSION)img->width;
  w->cinfo.image_height = (JDIMENSION)img->height;
  w->cinfo.input_components = 3;
  w->cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&w->cinfo);
  jpeg_set_quality(&w->cinfo, quality, TRUE);
  jpeg_start_compress(&w->cinfo, TRUE);
  while (w->cinfo.next_scanline < w->cinfo.image_height) {
    JSAMPROW row = img->rgb + (size_t)w->cinfo.next_scanline * (size_t)img->width * 3;
    jpeg_write_scanlines(&w->cinfo, &row, 1);
  }
  jpeg_finish_compress(&w->cinfo);
  return DLCC_OK;
}

dlcc_status dlcc_image_save_jpeg(const char *path, const dlcc_image *img, int quality, dlcc_error *err) {
  dlcc_status st = check_savable(path, img, err);
  if (st) return st;
  if (quality < 1 || quality > 100)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot save %s: JPEG quality %d is outside 1..100", path, quality);
  dlcc_atomic_file f;
  st = dlcc_atomic_open(&f, path, err);
  if (st) return st;
  jpeg_writer w;
  memset(&w, 0, sizeof w);
  w.cinfo.err = jpeg_std_error(&w.errors);
  w.errors.error_exit = on_jpeg_write_error;
  w.errors.output_message = silence_jpeg_output;
  st = jpeg_encode(&w, f.fp, path, img, quality, err);
  jpeg_destroy_compress(&w.cinfo);
  if (st) {
    dlcc_atomic_abort(&f);
    return st;
  }
  return dlcc_atomic_commit(&f, err);
}
