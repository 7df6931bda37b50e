/* Tests of src/image: every PNG kind written here with libpng and decoded to exact RGB, JPEG round
 * trips, the real project frames, and the errors for truncated, garbage and oversized files. */
#include <png.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "image/image.h"
#include "testutil.h"
#include "util/fileio.h"

/* ---- helpers ---- */

typedef struct png_spec {
  int width, height, color_type, bit_depth, interlace;
  const png_color *palette;
  int palette_size;
  const png_byte *trans;   /* palette alpha entries */
  int trans_size;
} png_spec;

static png_spec plain_spec(int width, int height, int color_type, int bit_depth) {
  return (png_spec){.width = width, .height = height, .color_type = color_type, .bit_depth = bit_depth,
                    .interlace = PNG_INTERLACE_NONE};
}

/* Writes a PNG straight through libpng; rows is packed rows of the stored format (16-bit big-endian). */
static void write_png(const char *path, png_spec spec, const png_byte *rows, size_t row_bytes) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  assert_non_null(info);
  png_init_io(png, fp);
  png_set_IHDR(png, info, (png_uint_32)spec.width, (png_uint_32)spec.height, spec.bit_depth,
               spec.color_type, spec.interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (spec.palette) png_set_PLTE(png, info, spec.palette, spec.palette_size);
  if (spec.trans) png_set_tRNS(png, info, spec.trans, spec.trans_size, NULL);
  png_write_info(png, info);
  if (rows) {
    png_bytep *row_ptrs = malloc((size_t)spec.height * sizeof *row_ptrs);
    for (int y = 0; y < spec.height; y++) row_ptrs[y] = (png_bytep)rows + (size_t)y * row_bytes;
    png_write_image(png, row_ptrs);
    png_write_end(png, NULL);
    free(row_ptrs);
  } else {
    /* Just enough for a reader to get past the header: one (bogus) IDAT chunk. */
    static const png_byte junk[4] = {0};
    png_write_chunk(png, (png_const_bytep) "IDAT", junk, sizeof junk);
  }
  png_destroy_write_struct(&png, &info);
  fclose(fp);
}

/* Writes a grayscale JPEG with libjpeg (dlcc only writes colour). */
static void write_gray_jpeg(const char *path, const uint8_t *gray, int width, int height) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, fp);
  cinfo.image_width = (JDIMENSION)width;
  cinfo.image_height = (JDIMENSION)height;
  cinfo.input_components = 1;
  cinfo.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 95, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  for (int y = 0; y < height; y++) {
    JSAMPROW row = (JSAMPROW)(gray + (size_t)y * (size_t)width);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  fclose(fp);
}

static void assert_pixel(const dlcc_image *img, int x, int y, int r, int g, int b) {
  const uint8_t *p = img->rgb + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
  if (p[0] != r || p[1] != g || p[2] != b)
    fail_msg("pixel (%d,%d) is (%d,%d,%d), expected (%d,%d,%d)", x, y, p[0], p[1], p[2], r, g, b);
}

/* Loads path, which must succeed, and checks its size. */
static void load_ok(const char *path, dlcc_image *img, int width, int height) {
  dlcc_error err;
  dlcc_status st = dlcc_image_load(path, img, &err);
  if (st) fail_msg("%s", err.message);
  assert_int_equal(img->width, width);
  assert_int_equal(img->height, height);
}

/* Copies the first half of from's bytes into to. */
static void write_first_half(const char *from, const char *to) {
  size_t len;
  char *data = test_read_file(from, &len);
  FILE *fp = fopen(to, "wb");
  assert_non_null(fp);
  fwrite(data, 1, len / 2, fp);
  fclose(fp);
  free(data);
}

static bool contains_bytes(const char *data, size_t len, const char *word) {
  size_t n = strlen(word);
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(data + i, word, n) == 0) return true;
  return false;
}

static uint64_t pixel_sum(const dlcc_image *img) {
  uint64_t sum = 0;
  for (size_t i = 0; i < (size_t)img->width * (size_t)img->height * 3; i++) sum += img->rgb[i];
  return sum;
}

/* A smooth colour gradient, easy on JPEG. */
static void fill_gradient(dlcc_image *img) {
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++) {
      uint8_t *p = img->rgb + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
      p[0] = (uint8_t)(40 + 2 * x);
      p[1] = (uint8_t)(30 + 3 * y);
      p[2] = (uint8_t)(200 - x - y);
    }
}

/* ---- PNG kinds ---- */

static void test_png_gray8_is_copied_to_three_channels(void **state) {
  (void)state;
  char *dir = test_tempdir("img"), *path = dlcc_path_join(dir, "g8.png");
  const png_byte px[] = {0, 17, 255, 128, 1, 254};
  write_png(path, plain_spec(3, 2, PNG_COLOR_TYPE_GRAY, 8), px, 3);
  dlcc_image img;
  load_ok(path, &img, 3, 2);
  assert_pixel(&img, 0, 0, 0, 0, 0);
  assert_pixel(&img, 1, 0, 17, 17, 17);
  assert_pixel(&img, 2, 0, 255, 255, 255);
  assert_pixel(&img, 0, 1, 128, 128, 128);
  assert_pixel(&img, 2, 1, 254, 254, 254);
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_png_gray16_keeps_the_high_byte(void **state) {
  (void)state;
  char *dir = test_tempdir("img"), *path = dlcc_path_join(dir, "g16.png");
  /* 0x12FF would round to 0x13 if scaled; taking the high byte gives 0x12. */
  const png_byte px[] = {0x12, 0xFF, 0xAB, 0x01, 0xFF, 0xFF, 0x00, 0x80};
  write_png(path, plain_spec(2, 2, PNG_COLOR_TYPE_GRAY, 16), px, 4);
  dlcc_image img;
  load_ok(path, &img, 2, 2);
  assert_pixel(&img, 0, 0, 0x12, 0x12, 0x12);
  assert_pixel(&img, 1, 0, 0xAB, 0xAB, 0xAB);
  assert_pixel(&img, 0, 1, 0xFF, 0xFF, 0xFF);
  assert_pixel(&img, 1, 1, 0x00, 0x00, 0x00);
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_png_gray_alpha_drops_alpha_without_blending(void **state) {
  (void)state;
  char *dir = test_tempdir("img"), *path = dlcc_path_join(dir, "ga.png");
  const png_byte px[] = {200, 0, 50, 255, 7, 128};   /* gray, alpha pairs */
  write_png(path, plain_spec(3, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8), px, 6);
  dlcc_image img;
  load_ok(path, &img, 3, 1);
  assert_pixel(&img, 0, 0, 200, 200, 200);
  assert_pixel(&img, 1, 0, 50, 50, 50);
  assert_pixel(&img, 2, 0, 7, 7, 7);
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_png_rgb16_keeps_the_high_byte_per_channel(void **state) {
  (void)state;
  char *dir = test_tempdir("img"), *path = dlcc_path_join(dir, "rgb16.png");
  const png_byte px[] = {0x01, 0xFF, 0x80, 0x00, 0xFE, 0x7F,   /* (0x01FF, 0x8000, 0xFE7F) */
                         0xFF, 0x00, 0x00, 0xFF, 0x33, 0x44};
  write_png(path, plain_spec(2, 1, PNG_COLOR_TYPE_RGB, 16), px, 12);
  dlcc_image img;
  load_ok(path, &img, 2, 1);
  assert_pixel(&img, 0, 0, 0x01, 0x80, 0xFE);
  assert_pixel(&img, 1, 0, 0xFF, 0x00, 0x33);
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_png_rgba_drops_alpha_without_blending(void **state) {
  (void)state;
  char *dir = test_tempdir("img"), *path = dlcc_path_join(dir, "rgba.png");
  const png_byte px[] = {10, 20, 30, 0, 40, 50, 60, 255, 70, 80, 90, 99, 250, 251, 252, 1};
  write_png(path, plain_spec(2, 2, PNG_COLOR_TYPE_RGBA, 8), px, 8);
  dlcc_image img;
  load_ok(path, &img, 2, 2);
  assert_pixel(&img, 0, 0, 10, 20, 30);
  assert_pixel(&img, 1, 0, 40, 50, 60);
  assert_pixel(&img, 0, 1, 70, 80, 90);
  assert_pixel(&img, 1, 1, 250, 251, 252);
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_png_palette_with_transparency_gives_palette_colours(void **state) {
  (void)state;
  char *dir = test_tempdir("img"), *path = dlcc_path_join(dir, "pal.png");
  const png_color palette[3] = {{255, 0, 0}, {0, 128, 0}, {12, 34, 56}};
  const png_byte trans[2] = {0, 128};   /* red fully transparent, green half */
  /* 2-bit indices packed four to a byte: row 0 = 0 1 2 1, row 1 = 2 2 0 0. */
  const png_byte px[] = {0x19, 0xA0};
  png_spec spec = {.width = 4, .height = 2, .color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 2,
                   .palette = palette, .palette_size = 3, .trans = trans, .trans_size = 2};
  write_png(path, spec, px, 1);
  dlcc_image img;
  load_ok(path, &img, 4, 2);
  assert_pixel(&img, 0, 0, 255, 0, 0);
  assert_pixel(&img, 1, 0, 0, 128, 0);
  assert_pixel(&img, 2, 0, 12, 34, 56);
  assert_pixel(&img, 3, 0, 0, 128, 0);
  assert_pixel(&img, 0, 1, 12, 34, 56);
  assert_pixel(&img, 1, 1, 12, 34, 56);
  assert_pixel(&img, 2, 1, 255, 0, 0);
  assert_pixel(&img, 3, 1, 255, 0, 0);
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_png_interlaced_rgb_merges_all_passes(void **state) {
  (void)state;
  char *dir = test_tempdir("img"), *path = dlcc_path_join(dir, "adam7.png");
  enum { W = 11, H = 9 };
  png_byte px[W * H * 3];
  for (int i = 0; i < W * H; i++) {
    px[3 * i] = (png_byte)i;
    px[3 * i + 1] = (png_byte)(255 - i);
    px[3 * i + 2] = (png_byte)(i * 7);
  }
  png_spec spec = plain_spec(W, H, PNG_COLOR_TYPE_RGB, 8);
  spec.interlace = PNG_INTERLACE_ADAM7;
  write_png(path, spec, px, W * 3);
  dlcc_image img;
  load_ok(path, &img, W, H);
  assert_memory_equal(img.rgb, px, sizeof px);
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

/* ---- writing ---- */

static void test_png_save_round_trips_and_bytes_depend_only_on_pixels(void **state) {
  (void)state;
  char *dir = test_tempdir("img");
  char *a = dlcc_path_join(dir, "a.png"), *b = dlcc_path_join(dir, "b.png");
  dlcc_image img, back;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&img, 37, 21, &err), DLCC_OK);
  fill_gradient(&img);
  assert_int_equal(dlcc_image_save_png(a, &img, &err), DLCC_OK);
  assert_int_equal(dlcc_image_save_png(b, &img, &err), DLCC_OK);
  load_ok(a, &back, 37, 21);
  assert_memory_equal(back.rgb, img.rgb, 37 * 21 * 3);
  size_t la, lb;
  char *da = test_read_file(a, &la), *db = test_read_file(b, &lb);
  assert_int_equal(la, lb);
  assert_memory_equal(da, db, la);
  assert_false(contains_bytes(da, la, "tIME"));
  free(da);
  free(db);
  dlcc_image_free(&back);
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(a);
  free(b);
  free(dir);
}

static void test_save_into_missing_folder_names_the_path(void **state) {
  (void)state;
  char *dir = test_tempdir("img"), *path = dlcc_strdupf("%s/no-such-folder/x.png", dir);
  dlcc_image img;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&img, 2, 2, &err), DLCC_OK);
  assert_int_equal(dlcc_image_save_png(path, &img, &err), DLCC_ERR_IO);
  assert_contains(err.message, "no-such-folder");
  assert_int_equal(dlcc_image_save_jpeg(path, &img, 90, &err), DLCC_ERR_IO);
  assert_contains(err.message, "no-such-folder");
  assert_int_equal(dlcc_image_save_jpeg(path, &img, 0, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "quality 0 is outside 1..100");
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

/* ---- JPEG ---- */

static void test_jpeg_round_trip_of_smooth_image_is_close(void **state) {
  (void)state;
  char *dir = test_tempdir("img"), *path = dlcc_path_join(dir, "grad.jpg");
  dlcc_image img, back;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&img, 64, 48, &err), DLCC_OK);
  fill_gradient(&img);
  assert_int_equal(dlcc_image_save_jpeg(path, &img, 95, &err), DLCC_OK);
  load_ok(path, &back, 64, 48);
  int worst = 0;
  long total = 0;
  for (int i = 0; i < 64 * 48 * 3; i++) {
    int d = abs(back.rgb[i] - img.rgb[i]);
    worst = d > worst ? d : worst;
    total += d;
  }
  assert_true(worst <= 8);
  assert_true((double)total / (64 * 48 * 3) < 1.5);
  assert_true(total > 0);   /* it really went through lossy JPEG */
  dlcc_image_free(&back);
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_jpeg_grayscale_decodes_to_equal_channels(void **state) {
  (void)state;
  char *dir = test_tempdir("img"), *path = dlcc_path_join(dir, "gray.jpg");
  enum { W = 40, H = 24 };
  uint8_t gray[W * H];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) gray[y * W + x] = (uint8_t)(60 + 3 * x + 2 * y);
  write_gray_jpeg(path, gray, W, H);
  dlcc_image img;
  load_ok(path, &img, W, H);
  for (int i = 0; i < W * H; i++) {
    const uint8_t *p = img.rgb + 3 * i;
    assert_int_equal(p[0], p[1]);
    assert_int_equal(p[0], p[2]);
    assert_true(abs(p[0] - gray[i]) <= 4);
  }
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

/* ---- real frames ---- */

static void test_openfield_frame_decodes_to_known_pixels(void **state) {
  (void)state;
  char *root = test_shared_data("openfield-Pranav-2018-10-30");
  char *path = dlcc_path_join(root, "labeled-data/m4s1/img0000.png");
  dlcc_image img;
  load_ok(path, &img, 640, 480);
  /* Reference values from an independent zlib-based decode of the file. */
  assert_pixel(&img, 0, 0, 230, 230, 230);
  assert_pixel(&img, 320, 240, 210, 210, 210);
  assert_pixel(&img, 100, 50, 89, 89, 89);
  assert_pixel(&img, 639, 479, 48, 48, 48);
  assert_int_equal(pixel_sum(&img), 159883434);
  int w, h;
  dlcc_error err;
  assert_int_equal(dlcc_image_read_size(path, &w, &h, &err), DLCC_OK);
  assert_int_equal(w, 640);
  assert_int_equal(h, 480);
  dlcc_image_free(&img);
  free(path);
  free(root);
}

static void test_flies_gray_frame_decodes_to_known_pixels(void **state) {
  (void)state;
  char *root = test_shared_data("flies-clip-madlc");
  char *path = dlcc_path_join(root, "labeled-data/clip/img00075.png");
  dlcc_image img;
  load_ok(path, &img, 1024, 1024);
  assert_pixel(&img, 0, 0, 12, 12, 12);
  assert_pixel(&img, 512, 300, 7, 7, 7);
  assert_pixel(&img, 1023, 1023, 26, 26, 26);
  assert_int_equal(pixel_sum(&img), 3ull * 16027672);
  dlcc_image_free(&img);
  free(path);
  free(root);
}

/* ---- errors ---- */

static void test_truncated_png_names_the_file(void **state) {
  (void)state;
  char *root = test_shared_data("openfield-Pranav-2018-10-30");
  char *src = dlcc_path_join(root, "labeled-data/m4s1/img0000.png");
  char *dir = test_tempdir("img"), *path = dlcc_path_join(dir, "cut.png");
  write_first_half(src, path);
  dlcc_image img;
  dlcc_error err;
  assert_int_equal(dlcc_image_load(path, &img, &err), DLCC_ERR_PARSE);
  assert_contains(err.message, path);
  assert_contains(err.message, "truncated or corrupt");
  assert_null(img.rgb);
  /* The header survives the cut, so the size is still readable. */
  int w, h;
  assert_int_equal(dlcc_image_read_size(path, &w, &h, &err), DLCC_OK);
  assert_int_equal(w, 640);
  test_rmtree(dir);
  free(path);
  free(dir);
  free(src);
  free(root);
}

static void test_truncated_jpeg_is_an_error_naming_the_file(void **state) {
  (void)state;
  char *dir = test_tempdir("img");
  char *full = dlcc_path_join(dir, "full.jpg"), *cut = dlcc_path_join(dir, "cut.jpg");
  dlcc_image img;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&img, 256, 192, &err), DLCC_OK);
  fill_gradient(&img);
  assert_int_equal(dlcc_image_save_jpeg(full, &img, 90, &err), DLCC_OK);
  dlcc_image_free(&img);
  /* Large enough that half the bytes end inside the entropy-coded scan, past all the headers. */
  write_first_half(full, cut);
  assert_int_equal(dlcc_image_load(cut, &img, &err), DLCC_ERR_PARSE);
  assert_contains(err.message, cut);
  assert_contains(err.message, "Premature end of JPEG file");
  assert_null(img.rgb);
  test_rmtree(dir);
  free(full);
  free(cut);
  free(dir);
}

static void test_garbage_file_names_it_and_the_supported_formats(void **state) {
  (void)state;
  char *dir = test_tempdir("img");
  char *path = test_write_file(dir, "notes.png", "this is not an image\n");
  char *empty = test_write_file(dir, "empty.jpg", "");
  dlcc_image img;
  dlcc_error err;
  int w, h;
  assert_int_equal(dlcc_image_load(path, &img, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, path);
  assert_contains(err.message, "PNG and JPEG");
  assert_int_equal(dlcc_image_read_size(empty, &w, &h, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, empty);
  char *missing = dlcc_path_join(dir, "missing.png");
  assert_int_equal(dlcc_image_load(missing, &img, &err), DLCC_ERR_IO);
  assert_contains(err.message, missing);
  assert_contains(err.message, "No such file");
  test_rmtree(dir);
  free(missing);
  free(empty);
  free(path);
  free(dir);
}

static void test_png_header_of_absurd_size_is_refused(void **state) {
  (void)state;
  char *dir = test_tempdir("img"), *path = dlcc_path_join(dir, "huge.png");
  write_png(path, plain_spec(100000, 100000, PNG_COLOR_TYPE_RGB, 8), NULL, 0);
  dlcc_image img;
  dlcc_error err;
  assert_int_equal(dlcc_image_load(path, &img, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "100000x100000 is too large");
  assert_null(img.rgb);
  assert_int_equal(dlcc_image_alloc(&img, 0, 5, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "0x5");
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_read_size_matches_load_for_png_and_jpeg(void **state) {
  (void)state;
  char *dir = test_tempdir("img");
  char *png = dlcc_path_join(dir, "x.png"), *jpg = dlcc_path_join(dir, "x.jpg");
  dlcc_image img, back;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&img, 33, 17, &err), DLCC_OK);
  fill_gradient(&img);
  assert_int_equal(dlcc_image_save_png(png, &img, &err), DLCC_OK);
  assert_int_equal(dlcc_image_save_jpeg(jpg, &img, 80, &err), DLCC_OK);
  const char *paths[] = {png, jpg};
  for (int i = 0; i < 2; i++) {
    int w = 0, h = 0;
    assert_int_equal(dlcc_image_read_size(paths[i], &w, &h, &err), DLCC_OK);
    load_ok(paths[i], &back, w, h);
    assert_int_equal(w, 33);
    assert_int_equal(h, 17);
    dlcc_image_free(&back);
  }
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(png);
  free(jpg);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_png_gray8_is_copied_to_three_channels),
      cmocka_unit_test(test_png_gray16_keeps_the_high_byte),
      cmocka_unit_test(test_png_gray_alpha_drops_alpha_without_blending),
      cmocka_unit_test(test_png_rgb16_keeps_the_high_byte_per_channel),
      cmocka_unit_test(test_png_rgba_drops_alpha_without_blending),
      cmocka_unit_test(test_png_palette_with_transparency_gives_palette_colours),
      cmocka_unit_test(test_png_interlaced_rgb_merges_all_passes),
      cmocka_unit_test(test_png_save_round_trips_and_bytes_depend_only_on_pixels),
      cmocka_unit_test(test_save_into_missing_folder_names_the_path),
      cmocka_unit_test(test_jpeg_round_trip_of_smooth_image_is_close),
      cmocka_unit_test(test_jpeg_grayscale_decodes_to_equal_channels),
      cmocka_unit_test(test_openfield_frame_decodes_to_known_pixels),
      cmocka_unit_test(test_flies_gray_frame_decodes_to_known_pixels),
      cmocka_unit_test(test_truncated_png_names_the_file),
      cmocka_unit_test(test_truncated_jpeg_is_an_error_naming_the_file),
      cmocka_unit_test(test_garbage_file_names_it_and_the_supported_formats),
      cmocka_unit_test(test_png_header_of_absurd_size_is_refused),
      cmocka_unit_test(test_read_size_matches_load_for_png_and_jpeg),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
