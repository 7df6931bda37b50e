/* Tests of src/video: a written test pattern read back frame by frame, deterministic bytes, atomic
 * output, the real project videos (the flies frames match their labeled PNGs byte for byte), and
 * truncated or non-video files ending in errors that name the file and the last good frame. */
#include <dirent.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "util/fileio.h"
#include "video/video.h"

enum { PATTERN_W = 64, PATTERN_H = 48, PATTERN_FRAMES = 30, PATTERN_FPS = 30 };

/* ---- helpers ---- */

static int square_centre_x(int t) { return 8 + t; }

/* Grey ramp with a bright 11x11 square moving right one pixel per frame. */
static void draw_pattern(dlcc_image *img, int t) {
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++) {
      int inside = abs(x - square_centre_x(t)) < 6 && abs(y - 24) < 6;
      uint8_t *p = img->rgb + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
      p[0] = p[1] = p[2] = (uint8_t)(inside ? 230 : 40 + x + y);
    }
}

/* Deterministic noise: every frame costs about the same bytes, so a cut lands mid-video. */
static void draw_noise(dlcc_image *img, uint32_t *seed) {
  for (size_t i = 0; i < (size_t)img->width * (size_t)img->height * 3; i++) {
    *seed = *seed * 1103515245u + 12345u;
    img->rgb[i] = (uint8_t)(*seed >> 24);
  }
}

typedef void (*frame_painter)(dlcc_image *img, int t, uint32_t *seed);

static void paint_pattern(dlcc_image *img, int t, uint32_t *seed) {
  (void)seed;
  draw_pattern(img, t);
}

static void paint_noise(dlcc_image *img, int t, uint32_t *seed) {
  (void)t;
  draw_noise(img, seed);
}

static void write_video(const char *path, frame_painter paint) {
  dlcc_video_writer *w;
  dlcc_image img;
  dlcc_error err;
  uint32_t seed = 1;
  assert_int_equal(dlcc_image_alloc(&img, PATTERN_W, PATTERN_H, &err), DLCC_OK);
  if (dlcc_video_writer_open(&w, path, PATTERN_W, PATTERN_H, PATTERN_FPS, &err)) fail_msg("%s", err.message);
  for (int t = 0; t < PATTERN_FRAMES; t++) {
    paint(&img, t, &seed);
    if (dlcc_video_writer_add(w, &img, &err)) fail_msg("%s", err.message);
  }
  if (dlcc_video_writer_close(w, &err)) fail_msg("%s", err.message);
  dlcc_image_free(&img);
}

static const uint8_t *pixel(const dlcc_image *img, int x, int y) {
  return img->rgb + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
}

static int entries_in(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

static void copy_prefix(const char *from, const char *to, size_t bytes) {
  size_t len;
  char *data = test_read_file(from, &len);
  assert_true(bytes <= len);
  FILE *fp = fopen(to, "wb");
  assert_non_null(fp);
  fwrite(data, 1, bytes, fp);
  fclose(fp);
  free(data);
}

static void copy_first_bytes(const char *from, const char *to, double fraction) {
  size_t len;
  free(test_read_file(from, &len));
  copy_prefix(from, to, (size_t)(len * fraction));
}

/* Where sample `index` (in decoding order) of the first stream ends, read from the MP4's index. */
static size_t end_of_sample(const char *path, int index) {
  AVFormatContext *format = NULL;
  assert_int_equal(avformat_open_input(&format, path, NULL, NULL), 0);
  assert_true(avformat_index_get_entries_count(format->streams[0]) > index);
  const AVIndexEntry *e = avformat_index_get_entry(format->streams[0], index);
  size_t end = (size_t)(e->pos + e->size);
  avformat_close_input(&format);
  return end;
}

/* Reads frames until the end or an error; returns the status and leaves the count in *frames. */
static dlcc_status read_all(const char *path, long *frames, dlcc_error *err) {
  dlcc_video_reader *r;
  dlcc_video_info info;
  dlcc_image frame = {0};
  *frames = 0;
  dlcc_status st = dlcc_video_reader_open(&r, path, &info, err);
  if (st) return st;
  bool done = false;
  while (!st && !done) st = dlcc_video_reader_next(r, &frame, &done, err);
  *frames = dlcc_video_reader_frame_index(r);
  dlcc_video_reader_close(r);
  dlcc_image_free(&frame);
  return st;
}

/* ---- writer and reader together ---- */

static void test_written_pattern_reads_back_frame_by_frame(void **state) {
  (void)state;
  char *dir = test_tempdir("video"), *path = dlcc_path_join(dir, "pattern.mp4");
  write_video(path, paint_pattern);
  dlcc_video_reader *r;
  dlcc_video_info info;
  dlcc_error err;
  if (dlcc_video_reader_open(&r, path, &info, &err)) fail_msg("%s", err.message);
  assert_int_equal(info.width, PATTERN_W);
  assert_int_equal(info.height, PATTERN_H);
  assert_true(fabs(info.fps - PATTERN_FPS) < 1e-6);
  assert_int_equal(info.frames_in_metadata, PATTERN_FRAMES);
  assert_string_equal(info.codec, avcodec_find_encoder_by_name("libx264") ? "h264" : "mpeg4");
  dlcc_image got = {0}, want;
  assert_int_equal(dlcc_image_alloc(&want, PATTERN_W, PATTERN_H, &err), DLCC_OK);
  bool done = false;
  double abs_error = 0;
  for (int t = 0;; t++) {
    if (dlcc_video_reader_next(r, &got, &done, &err)) fail_msg("%s", err.message);
    if (done) break;
    assert_true(t < PATTERN_FRAMES);
    assert_int_equal(dlcc_video_reader_frame_index(r), t + 1);
    draw_pattern(&want, t);
    for (int i = 0; i < PATTERN_W * PATTERN_H * 3; i++) abs_error += abs(got.rgb[i] - want.rgb[i]);
    /* The square is where frame t put it, and the background beside it is back to the ramp. */
    int cx = square_centre_x(t);
    assert_true(abs(pixel(&got, cx, 24)[1] - 230) <= 6);
    assert_true(abs(pixel(&got, cx + 10, 24)[1] - (40 + cx + 10 + 24)) <= 6);
  }
  assert_int_equal(dlcc_video_reader_frame_index(r), PATTERN_FRAMES);
  double mean = abs_error / ((double)PATTERN_FRAMES * PATTERN_W * PATTERN_H * 3);
  assert_true(mean < 1.5);
  dlcc_video_reader_close(r);
  dlcc_image_free(&got);
  dlcc_image_free(&want);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_same_frames_give_identical_bytes(void **state) {
  (void)state;
  char *dir = test_tempdir("video");
  char *a = dlcc_path_join(dir, "a.mp4"), *b = dlcc_path_join(dir, "b.mp4");
  write_video(a, paint_pattern);
  write_video(b, paint_pattern);
  size_t la, lb;
  char *da = test_read_file(a, &la), *db = test_read_file(b, &lb);
  assert_true(la > 1000);
  assert_int_equal(la, lb);
  assert_memory_equal(da, db, la);
  free(da);
  free(db);
  test_rmtree(dir);
  free(a);
  free(b);
  free(dir);
}

static void test_video_appears_only_when_closed(void **state) {
  (void)state;
  char *dir = test_tempdir("video"), *path = dlcc_path_join(dir, "out.mp4");
  dlcc_video_writer *w;
  dlcc_image img;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&img, PATTERN_W, PATTERN_H, &err), DLCC_OK);
  draw_pattern(&img, 0);
  assert_int_equal(dlcc_video_writer_open(&w, path, PATTERN_W, PATTERN_H, PATTERN_FPS, &err), DLCC_OK);
  assert_int_equal(dlcc_video_writer_add(w, &img, &err), DLCC_OK);
  assert_false(dlcc_path_is_file(path));
  assert_int_equal(dlcc_video_writer_close(w, &err), DLCC_OK);
  assert_true(dlcc_path_is_file(path));
  assert_int_equal(entries_in(dir), 1);   /* no temp file left beside it */
  long frames;
  assert_int_equal(read_all(path, &frames, &err), DLCC_OK);
  assert_int_equal(frames, 1);
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_abort_removes_temp_and_keeps_earlier_file(void **state) {
  (void)state;
  char *dir = test_tempdir("video");
  char *path = test_write_file(dir, "out.mp4", "earlier contents");
  dlcc_video_writer *w;
  dlcc_image img;
  dlcc_error err;
  assert_int_equal(dlcc_image_alloc(&img, PATTERN_W, PATTERN_H, &err), DLCC_OK);
  assert_int_equal(dlcc_video_writer_open(&w, path, PATTERN_W, PATTERN_H, PATTERN_FPS, &err), DLCC_OK);
  for (int t = 0; t < 5; t++) {
    draw_pattern(&img, t);
    assert_int_equal(dlcc_video_writer_add(w, &img, &err), DLCC_OK);
  }
  assert_int_equal(entries_in(dir), 2);   /* the final name and the temp beside it */
  dlcc_video_writer_abort(w);
  assert_int_equal(entries_in(dir), 1);
  char *text = test_read_file(path, NULL);
  assert_string_equal(text, "earlier contents");
  free(text);
  dlcc_image_free(&img);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_writer_rejects_odd_sizes_and_mismatched_frames(void **state) {
  (void)state;
  char *dir = test_tempdir("video"), *path = dlcc_path_join(dir, "out.mp4");
  dlcc_video_writer *w;
  dlcc_image small;
  dlcc_error err;
  assert_int_equal(dlcc_video_writer_open(&w, path, 63, 48, 30, &err), DLCC_ERR_INVALID);
  assert_null(w);
  assert_contains(err.message, "63x48");
  assert_contains(err.message, "must be even");
  assert_int_equal(dlcc_video_writer_open(&w, path, 64, 48, 0, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "0 frames per second");
  assert_int_equal(dlcc_video_writer_open(&w, path, 64, 48, 30, &err), DLCC_OK);
  assert_int_equal(dlcc_image_alloc(&small, 32, 32, &err), DLCC_OK);
  assert_int_equal(dlcc_video_writer_add(w, &small, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "frame 0 for video");
  assert_contains(err.message, "is 32x32, the video is 64x48");
  /* Closing with no frame written is refused and leaves nothing behind. */
  assert_int_equal(dlcc_video_writer_close(w, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "has no frames");
  assert_int_equal(entries_in(dir), 0);
  char *missing = dlcc_path_join(dir, "no-such-folder/out.mp4");
  assert_int_equal(dlcc_video_writer_open(&w, missing, 64, 48, 30, &err), DLCC_ERR_IO);
  assert_contains(err.message, "no-such-folder");
  free(missing);
  dlcc_image_free(&small);
  test_rmtree(dir);
  free(path);
  free(dir);
}

static void test_relative_name_with_a_colon_is_a_file_not_a_url(void **state) {
  (void)state;
  char *dir = test_tempdir("video"), *cwd = getcwd(NULL, 0);
  assert_int_equal(chdir(dir), 0);
  write_video("cam:1.mp4", paint_pattern);
  long frames;
  dlcc_error err;
  dlcc_status st = read_all("cam:1.mp4", &frames, &err);
  assert_int_equal(chdir(cwd), 0);
  if (st) fail_msg("%s", err.message);
  assert_int_equal(frames, PATTERN_FRAMES);
  assert_int_equal(entries_in(dir), 1);
  test_rmtree(dir);
  free(cwd);
  free(dir);
}

/* ---- real videos ---- */

static void test_openfield_video_info_and_first_frames(void **state) {
  (void)state;
  char *root = test_shared_data("openfield-Pranav-2018-10-30");
  char *path = dlcc_path_join(root, "videos/m3v1mp4.mp4");
  dlcc_video_reader *r;
  dlcc_video_info info;
  dlcc_error err;
  if (dlcc_video_reader_open(&r, path, &info, &err)) fail_msg("%s", err.message);
  assert_int_equal(info.width, 640);
  assert_int_equal(info.height, 480);
  assert_true(fabs(info.fps - 30.0) < 0.01);
  assert_int_equal(info.frames_in_metadata, 2330);
  assert_string_equal(info.codec, "h264");
  dlcc_image frame = {0};
  bool done = false;
  uint8_t first_row[640 * 3];
  bool some_frame_differs = false;
  for (int t = 0; t < 50; t++) {
    if (dlcc_video_reader_next(r, &frame, &done, &err)) fail_msg("%s", err.message);
    assert_false(done);
    assert_int_equal(frame.width, 640);
    assert_int_equal(frame.height, 480);
    if (t == 0) memcpy(first_row, frame.rgb + 240 * 640 * 3, sizeof first_row);
    else some_frame_differs |= memcmp(first_row, frame.rgb + 240 * 640 * 3, sizeof first_row) != 0;
  }
  assert_int_equal(dlcc_video_reader_frame_index(r), 50);
  assert_true(some_frame_differs);
  dlcc_video_reader_close(r);
  dlcc_image_free(&frame);
  free(path);
  free(root);
}

/* The flies project's labeled PNGs were extracted from this video; decoding must reproduce them. */
static void test_flies_video_frames_match_their_labeled_pngs(void **state) {
  (void)state;
  char *root = test_shared_data("flies-clip-madlc");
  char *path = dlcc_path_join(root, "videos/clip.mp4");
  dlcc_video_reader *r;
  dlcc_video_info info;
  dlcc_error err;
  if (dlcc_video_reader_open(&r, path, &info, &err)) fail_msg("%s", err.message);
  assert_int_equal(info.width, 1024);
  assert_int_equal(info.height, 1024);
  assert_true(fabs(info.fps - 25.0) < 1e-9);
  dlcc_image frame = {0}, png;
  bool done;
  for (long t = 0; t <= 15; t++) {
    if (dlcc_video_reader_next(r, &frame, &done, &err)) fail_msg("%s", err.message);
    if (t != 0 && t != 15) continue;
    char *png_path = dlcc_strdupf("%s/labeled-data/clip/img%05ld.png", root, t);
    if (dlcc_image_load(png_path, &png, &err)) fail_msg("%s", err.message);
    assert_memory_equal(frame.rgb, png.rgb, (size_t)1024 * 1024 * 3);
    dlcc_image_free(&png);
    free(png_path);
  }
  dlcc_video_reader_close(r);
  dlcc_image_free(&frame);
  free(path);
  free(root);
}

/* ---- damaged and wrong files ---- */

static void test_truncated_video_reports_the_last_good_frame(void **state) {
  (void)state;
  char *dir = test_tempdir("video");
  char *full = dlcc_path_join(dir, "noise.mp4"), *cut = dlcc_path_join(dir, "cut.mp4");
  write_video(full, paint_noise);
  long frames;
  dlcc_error err;
  assert_int_equal(read_all(full, &frames, &err), DLCC_OK);
  assert_int_equal(frames, PATTERN_FRAMES);
  copy_first_bytes(full, cut, 0.6);
  assert_int_equal(read_all(cut, &frames, &err), DLCC_ERR_PARSE);
  assert_true(frames > 5 && frames < PATTERN_FRAMES);
  assert_contains(err.message, cut);
  char *last_good = dlcc_strdupf("truncated or corrupt after frame %ld (the last good frame", frames - 1);
  assert_contains(err.message, last_good);
  free(last_good);
  test_rmtree(dir);
  free(full);
  free(cut);
  free(dir);
}

/* No partial frame for the demuxer to flag: only the index shows that frames are missing. */
static void test_video_cut_between_frames_is_still_reported_truncated(void **state) {
  (void)state;
  char *dir = test_tempdir("video");
  char *full = dlcc_path_join(dir, "noise.mp4"), *cut = dlcc_path_join(dir, "cut.mp4");
  write_video(full, paint_noise);
  copy_prefix(full, cut, end_of_sample(full, 20));
  long frames;
  dlcc_error err;
  assert_int_equal(read_all(cut, &frames, &err), DLCC_ERR_PARSE);
  assert_int_equal(frames, 21);   /* samples 0..20 are whole, and each needs only earlier ones */
  assert_contains(err.message, cut);
  assert_contains(err.message, "after frame 20 (the last good frame");
  assert_contains(err.message, "the file ends before the frames its index lists");
  test_rmtree(dir);
  free(full);
  free(cut);
  free(dir);
}

/* This file keeps its index at the end, so a cut copy cannot even be opened. */
static void test_truncated_openfield_video_fails_to_open_naming_it(void **state) {
  (void)state;
  char *root = test_shared_data("openfield-Pranav-2018-10-30");
  char *src = dlcc_path_join(root, "videos/m3v1mp4.mp4");
  char *dir = test_tempdir("video"), *cut = dlcc_path_join(dir, "m3v1mp4.mp4");
  copy_first_bytes(src, cut, 0.6);
  dlcc_video_reader *r;
  dlcc_video_info info;
  dlcc_error err;
  assert_int_equal(dlcc_video_reader_open(&r, cut, &info, &err), DLCC_ERR_PARSE);
  assert_null(r);
  assert_contains(err.message, cut);
  assert_contains(err.message, "moov atom not found");
  test_rmtree(dir);
  free(cut);
  free(dir);
  free(src);
  free(root);
}

static void test_non_video_file_is_an_error_naming_it(void **state) {
  (void)state;
  char *dir = test_tempdir("video");
  char *notes = test_write_file(dir, "notes.csv", "scorer,Pranav\nbodyparts,snout\n");
  char *missing = dlcc_path_join(dir, "missing.mp4");
  dlcc_video_reader *r;
  dlcc_video_info info;
  dlcc_error err;
  assert_int_equal(dlcc_video_reader_open(&r, notes, &info, &err), DLCC_ERR_PARSE);
  assert_null(r);
  assert_contains(err.message, notes);
  assert_contains(err.message, "not a video");
  assert_int_equal(dlcc_video_reader_open(&r, missing, &info, &err), DLCC_ERR_IO);
  assert_contains(err.message, missing);
  assert_contains(err.message, "No such file");
  free(notes);
  free(missing);
  test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_written_pattern_reads_back_frame_by_frame),
      cmocka_unit_test(test_same_frames_give_identical_bytes),
      cmocka_unit_test(test_video_appears_only_when_closed),
      cmocka_unit_test(test_abort_removes_temp_and_keeps_earlier_file),
      cmocka_unit_test(test_writer_rejects_odd_sizes_and_mismatched_frames),
      cmocka_unit_test(test_relative_name_with_a_colon_is_a_file_not_a_url),
      cmocka_unit_test(test_openfield_video_info_and_first_frames),
      cmocka_unit_test(test_flies_video_frames_match_their_labeled_pngs),
      cmocka_unit_test(test_truncated_video_reports_the_last_good_frame),
      cmocka_unit_test(test_video_cut_between_frames_is_still_reported_truncated),
      cmocka_unit_test(test_truncated_openfield_video_fails_to_open_naming_it),
      cmocka_unit_test(test_non_video_file_is_an_error_naming_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
