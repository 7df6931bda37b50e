/* Video frames in: the first video stream of anything FFmpeg demuxes, decoded with send/receive and
 * converted to 8-bit RGB by swscale. Frames are counted by decoding, never taken from the container.
 * A truncated or damaged file ends in an error naming the file and the last good frame, after every
 * frame still in the decoder has been handed out. */
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

#include "video/video.h"
#include "video/video_ffmpeg.h"

/* Exact rounding and full-resolution chroma: with these, frames come out byte-identical to the PNGs
 * in the flies project's labeled-data (extracted from the same video), which swscale's fast default
 * path misses by one grey level on about half the pixels. */
#define RGB_CONVERSION_FLAGS (SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT)

struct dlcc_video_reader {
  char *path;
  AVFormatContext *format;
  AVCodecContext *decoder;
  struct SwsContext *scaler;
  AVPacket *packet;
  AVFrame *decoded;
  int stream_index;
  int width, height;
  long frames_returned;
  bool flushing;          /* the end-of-stream signal went to the decoder */
  dlcc_status stop;       /* why input ended early; reported once the decoder is drained */
  char stop_reason[512];
};

/* Cover art is stored as a one-picture "video" stream; it is not the video. */
static int first_video_stream(const AVFormatContext *format) {
  for (unsigned i = 0; i < format->nb_streams; i++) {
    const AVStream *st = format->streams[i];
    if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
      return (int)i;
  }
  return -1;
}

static dlcc_status open_container(dlcc_video_reader *r, dlcc_error *err) {
  char why[512];
  char *url = dlcc_video_file_url(r->path);
  if (!url) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening video %s", r->path);
  dlcc_video_forget_ffmpeg_log();
  int ret = avformat_open_input(&r->format, url, NULL, NULL);
  free(url);
  if (ret == AVERROR(ENOENT) || ret == AVERROR(EACCES))
    return dlcc_fail(err, DLCC_ERR_IO, "cannot open video %s: %s", r->path,
                     dlcc_video_describe_error(ret, why, sizeof why));
  if (ret < 0)
    return dlcc_fail(err, DLCC_ERR_PARSE, "cannot open video %s: %s (dlcc reads any video FFmpeg can read; "
                     "the file may be truncated or not a video)",
                     r->path, dlcc_video_describe_error(ret, why, sizeof why));
  ret = avformat_find_stream_info(r->format, NULL);
  if (ret < 0)
    return dlcc_fail(err, DLCC_ERR_PARSE, "cannot read the streams of video %s: %s", r->path,
                     dlcc_video_describe_error(ret, why, sizeof why));
  r->stream_index = first_video_stream(r->format);
  if (r->stream_index < 0)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "%s has no video stream (FFmpeg reads it as %s)", r->path,
                     r->format->iformat->name);
  return DLCC_OK;
}

static dlcc_status open_decoder(dlcc_video_reader *r, dlcc_error *err) {
  char why[512];
  const AVStream *st = r->format->streams[r->stream_index];
  const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "cannot decode video %s: this FFmpeg has no decoder for %s",
                     r->path, avcodec_get_name(st->codecpar->codec_id));
  r->decoder = avcodec_alloc_context3(codec);
  if (!r->decoder) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening video %s", r->path);
  int ret = avcodec_parameters_to_context(r->decoder, st->codecpar);
  if (ret >= 0) {
    r->decoder->pkt_timebase = st->time_base;
    r->decoder->thread_count = 0;   /* as many as there are cores; frame order is unaffected */
    ret = avcodec_open2(r->decoder, codec, NULL);
  }
  if (ret < 0)
    return dlcc_fail(err, DLCC_ERR_PARSE, "cannot start the %s decoder for video %s: %s", codec->name, r->path,
                     dlcc_video_describe_error(ret, why, sizeof why));
  r->width = st->codecpar->width;
  r->height = st->codecpar->height;
  if (r->width <= 0 || r->height <= 0)
    return dlcc_fail(err, DLCC_ERR_PARSE, "video %s does not say its frame size", r->path);
  r->packet = av_packet_alloc();
  r->decoded = av_frame_alloc();
  if (!r->packet || !r->decoded)
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening video %s", r->path);
  return DLCC_OK;
}

static void fill_info(const dlcc_video_reader *r, dlcc_video_info *info) {
  const AVStream *st = r->format->streams[r->stream_index];
  AVRational rate = st->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = st->r_frame_rate;
  info->width = r->width;
  info->height = r->height;
  info->fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
  info->frames_in_metadata = st->nb_frames > 0 ? (long)st->nb_frames : -1;
  snprintf(info->codec, sizeof info->codec, "%s", avcodec_get_name(st->codecpar->codec_id));
}

dlcc_status dlcc_video_reader_open(dlcc_video_reader **out, const char *path, dlcc_video_info *info,
                                   dlcc_error *err) {
  *out = NULL;
  dlcc_video_quiet_ffmpeg();
  dlcc_video_reader *r = calloc(1, sizeof *r);
  if (r) r->path = strdup(path);
  if (!r || !r->path) {
    free(r);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening video %s", path);
  }
  dlcc_status st = open_container(r, err);
  if (!st) st = open_decoder(r, err);
  if (st) {
    dlcc_video_reader_close(r);
    return st;
  }
  if (info) fill_info(r, info);
  *out = r;
  return DLCC_OK;
}

/* ---- decoding ---- */

/* Remembers why input ended early; the frames the decoder still holds are handed out first. */
static void note_stop(dlcc_video_reader *r, dlcc_status status, const char *reason) {
  if (r->stop) return;
  r->stop = status;
  snprintf(r->stop_reason, sizeof r->stop_reason, "%s", reason);
}

static dlcc_status report_stop(const dlcc_video_reader *r, dlcc_error *err) {
  if (r->frames_returned == 0)
    return dlcc_fail(err, r->stop, "cannot decode any frame of video %s: %s", r->path, r->stop_reason);
  return dlcc_fail(err, r->stop,
                   "video %s is truncated or corrupt after frame %ld (the last good frame, counting from 0): %s",
                   r->path, r->frames_returned - 1, r->stop_reason);
}

/* A container index that places frames beyond the end of the file means the file was cut short,
 * even when the demuxer itself just reports a clean end. */
static bool index_points_past_end(const dlcc_video_reader *r) {
  int64_t size = r->format->pb ? avio_size(r->format->pb) : -1;
  if (size <= 0) return false;
  AVStream *st = r->format->streams[r->stream_index];
  int entries = avformat_index_get_entries_count(st);
  for (int i = 0; i < entries; i++) {
    const AVIndexEntry *e = avformat_index_get_entry(st, i);
    if (e && e->pos + e->size > size) return true;
  }
  return false;
}

static dlcc_status start_flush(dlcc_video_reader *r, dlcc_error *err) {
  char why[512];
  if (r->flushing)   /* the decoder asked for input after being told the input had ended */
    return dlcc_fail(err, DLCC_ERR_PARSE, "decoder of video %s stalled after frame %ld", r->path,
                     r->frames_returned - 1);
  r->flushing = true;
  int ret = avcodec_send_packet(r->decoder, NULL);
  if (ret < 0 && ret != AVERROR_EOF)
    return dlcc_fail(err, DLCC_ERR_PARSE, "cannot finish decoding video %s: %s", r->path,
                     dlcc_video_describe_error(ret, why, sizeof why));
  return DLCC_OK;
}

static void note_end_of_input(dlcc_video_reader *r, int ret) {
  char why[512];
  if (ret != AVERROR_EOF)
    note_stop(r, DLCC_ERR_PARSE, dlcc_video_describe_error(ret, why, sizeof why));
  else if (index_points_past_end(r))
    note_stop(r, DLCC_ERR_PARSE, "the file ends before the frames its index lists");
}

/* Sends the next packet of our stream to the decoder, or the end-of-stream signal. */
static dlcc_status feed_decoder(dlcc_video_reader *r, dlcc_error *err) {
  char why[512];
  for (;;) {
    dlcc_video_forget_ffmpeg_log();
    int ret = av_read_frame(r->format, r->packet);
    if (ret < 0) {
      note_end_of_input(r, ret);
      return start_flush(r, err);
    }
    if (r->packet->stream_index != r->stream_index) {
      av_packet_unref(r->packet);
      continue;
    }
    bool cut_short = r->packet->flags & AV_PKT_FLAG_CORRUPT;
    ret = cut_short ? 0 : avcodec_send_packet(r->decoder, r->packet);
    av_packet_unref(r->packet);
    if (cut_short) note_stop(r, DLCC_ERR_PARSE, "the data of the next frame is cut short");
    else if (ret < 0) note_stop(r, DLCC_ERR_PARSE, dlcc_video_describe_error(ret, why, sizeof why));
    else return DLCC_OK;
    return start_flush(r, err);
  }
}

static dlcc_status convert_frame(dlcc_video_reader *r, dlcc_image *frame, dlcc_error *err) {
  const AVFrame *d = r->decoded;
  if (d->width != r->width || d->height != r->height)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "frame %ld of video %s is %dx%d but the video started at %dx%d",
                     r->frames_returned, r->path, d->width, d->height, r->width, r->height);
  if (!frame->rgb || frame->width != r->width || frame->height != r->height) {
    dlcc_image_free(frame);
    dlcc_status st = dlcc_image_alloc(frame, r->width, r->height, err);
    if (st) return st;
  }
  r->scaler = sws_getCachedContext(r->scaler, d->width, d->height, d->format, r->width, r->height,
                                   AV_PIX_FMT_RGB24, RGB_CONVERSION_FLAGS, NULL, NULL, NULL);
  if (!r->scaler)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "cannot convert the %s frames of video %s to RGB",
                     av_get_pix_fmt_name(d->format) ? av_get_pix_fmt_name(d->format) : "unknown", r->path);
  uint8_t *planes[4] = {frame->rgb, NULL, NULL, NULL};
  int strides[4] = {r->width * 3, 0, 0, 0};
  sws_scale(r->scaler, (const uint8_t *const *)d->data, d->linesize, 0, d->height, planes, strides);
  r->frames_returned++;
  return DLCC_OK;
}

dlcc_status dlcc_video_reader_next(dlcc_video_reader *r, dlcc_image *frame, bool *done, dlcc_error *err) {
  char why[512];
  *done = false;
  for (;;) {
    int ret = avcodec_receive_frame(r->decoder, r->decoded);
    if (ret == 0) {
      dlcc_status st = convert_frame(r, frame, err);
      av_frame_unref(r->decoded);
      return st;
    }
    if (ret == AVERROR_EOF) {
      if (r->stop) return report_stop(r, err);
      *done = true;
      return DLCC_OK;
    }
    if (ret != AVERROR(EAGAIN)) {
      note_stop(r, DLCC_ERR_PARSE, dlcc_video_describe_error(ret, why, sizeof why));
      return report_stop(r, err);
    }
    dlcc_status st = feed_decoder(r, err);
    if (st) return st;
  }
}

long dlcc_video_reader_frame_index(const dlcc_video_reader *r) { return r->frames_returned; }

void dlcc_video_reader_close(dlcc_video_reader *r) {
  if (!r) return;
  sws_freeContext(r->scaler);
  av_frame_free(&r->decoded);
  av_packet_free(&r->packet);
  avcodec_free_context(&r->decoder);
  avformat_close_input(&r->format);
  free(r->path);
  free(r);
}
