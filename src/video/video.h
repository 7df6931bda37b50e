/* Video through FFmpeg's libraries: a frame reader (any format FFmpeg decodes, frames as 8-bit RGB,
 * counted by decoding) and a writer (H.264 in MP4 when libx264 is there, MPEG-4 part 2 otherwise),
 * deterministic: the same frames give the same bytes. */
#ifndef DLCC_VIDEO_VIDEO_H
#define DLCC_VIDEO_VIDEO_H

#include <stdbool.h>
#include <stdint.h>

#include "image/image.h"
#include "util/error.h"

typedef struct dlcc_video_reader dlcc_video_reader;

typedef struct dlcc_video_info {
  int width, height;
  double fps;                 /* average frame rate from the stream */
  long frames_in_metadata;    /* the container's claim, -1 when unknown; never trusted for counting */
  char codec[32];
} dlcc_video_info;

/* Opens path for decoding. */
dlcc_status dlcc_video_reader_open(dlcc_video_reader **r, const char *path, dlcc_video_info *info,
                                   dlcc_error *err);
/* Decodes the next frame into frame (allocated on first use, then reused: same size every call).
 * *done is set at the end of the stream. A decoding error names the file and the last good frame. */
dlcc_status dlcc_video_reader_next(dlcc_video_reader *r, dlcc_image *frame, bool *done, dlcc_error *err);
/* Frames returned so far. */
long dlcc_video_reader_frame_index(const dlcc_video_reader *r);
void dlcc_video_reader_close(dlcc_video_reader *r);

typedef struct dlcc_video_writer dlcc_video_writer;

/* Starts writing path (through a temp file: path appears only after a successful close).
 * width and height must be even. */
dlcc_status dlcc_video_writer_open(dlcc_video_writer **w, const char *path, int width, int height, int fps,
                                   dlcc_error *err);
/* Encodes one RGB frame of the writer's size. */
dlcc_status dlcc_video_writer_add(dlcc_video_writer *w, const dlcc_image *frame, dlcc_error *err);
/* Flushes the encoder, finishes the file and renames it into place; frees w either way. */
dlcc_status dlcc_video_writer_close(dlcc_video_writer *w, dlcc_error *err);
/* Abandons the file (temp removed) and frees w. */
void dlcc_video_writer_abort(dlcc_video_writer *w);

#endif
