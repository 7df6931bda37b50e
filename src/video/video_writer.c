/* Video frames out: RGB frames to yuv420p, H.264 through libx264 (MPEG-4 part 2 when this FFmpeg lacks
 * it), muxed as MP4 with the index first (faststart). One encoder thread and the bitexact flags make
 * the bytes a function of the frames alone. The muxer writes into a dlcc_atomic_file, so the video
 * appears under its name only once it is complete. */
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"
#include "video/video.h"
#include "video/video_ffmpeg.h"

#if LIBAVFORMAT_VERSION_MAJOR >= 61
typedef const uint8_t avio_write_byte;
#else
typedef uint8_t avio_write_byte;
#endif

enum { AVIO_BUFFER_SIZE = 1 << 16 };
/* libx264's constant rate factor: 18 is visually lossless, enough for pixel checks after a round trip. */
static const char X264_CRF[] = "18";
/* MPEG-4 part 2 quantiser when libx264 is missing (2 = near the best quality). */
enum { MPEG4_QSCALE = 2 };

struct dlcc_video_writer {
  char *path;
  dlcc_atomic_file file;
  AVIOContext *io;
  AVFormatContext *format;
  AVCodecContext *encoder;
  AVStream *stream;
  struct SwsContext *scaler;
  AVFrame *frame;
  AVPacket *packet;
  int width, height;
  int64_t next_pts;
};

/* ---- output through the atomic file ---- */

static int write_to_file(void *opaque, avio_write_byte *buf, int size) {
  FILE *fp = opaque;
  return fwrite(buf, 1, (size_t)size, fp) == (size_t)size ? size : AVERROR(EIO);
}

static int64_t seek_in_file(void *opaque, int64_t offset, int whence) {
  FILE *fp = opaque;
  if (whence & AVSEEK_SIZE) {
    off_t here = ftello(fp);
    if (fseeko(fp, 0, SEEK_END) != 0) return AVERROR(errno);
    off_t end = ftello(fp);
    return fseeko(fp, here, SEEK_SET) == 0 ? (int64_t)end : AVERROR(errno);
  }
  if (fseeko(fp, (off_t)offset, whence & ~AVSEEK_FORCE) != 0) return AVERROR(errno);
  return (int64_t)ftello(fp);
}

/* faststart re-reads the temp file by name to move the index to the front, so nothing may wait in
 * the FILE's buffer: AVIO does the buffering. */
static dlcc_status open_output(dlcc_video_writer *w, dlcc_error *err) {
  dlcc_status st = dlcc_atomic_open(&w->file, w->path, err);
  if (st) return st;
  setvbuf(w->file.fp, NULL, _IONBF, 0);
  unsigned char *buffer = av_malloc(AVIO_BUFFER_SIZE);
  if (buffer)
    w->io = avio_alloc_context(buffer, AVIO_BUFFER_SIZE, 1, w->file.fp, NULL, write_to_file, seek_in_file);
  if (!w->io) {
    av_free(buffer);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening video %s", w->path);
  }
  return DLCC_OK;
}

/* ---- encoder and muxer ---- */

static const AVCodec *choose_encoder(void) {
  const AVCodec *x264 = avcodec_find_encoder_by_name("libx264");
  return x264 ? x264 : avcodec_find_encoder(AV_CODEC_ID_MPEG4);
}

static void set_encoder_params(AVCodecContext *enc, int width, int height, int fps, bool global_header) {
  enc->width = width;
  enc->height = height;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->time_base = (AVRational){1, fps};
  enc->framerate = (AVRational){fps, 1};
  /* swscale converts RGB with BT.601 limited-range coefficients; say so in the stream. */
  enc->color_range = AVCOL_RANGE_MPEG;
  enc->colorspace = AVCOL_SPC_SMPTE170M;
  enc->thread_count = 1;   /* several threads would make the bytes depend on timing */
  enc->flags |= AV_CODEC_FLAG_BITEXACT;
  if (global_header) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (enc->codec_id == AV_CODEC_ID_MPEG4) {
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * MPEG4_QSCALE;
  }
}

static dlcc_status open_encoder(dlcc_video_writer *w, int fps, dlcc_error *err) {
  char why[512];
  const AVCodec *codec = choose_encoder();
  if (!codec)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "cannot write video %s: this FFmpeg has neither libx264 nor an "
                     "MPEG-4 encoder", w->path);
  w->encoder = avcodec_alloc_context3(codec);
  if (!w->encoder) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening video %s", w->path);
  set_encoder_params(w->encoder, w->width, w->height, fps, w->format->oformat->flags & AVFMT_GLOBALHEADER);
  AVDictionary *options = NULL;
  if (codec->id == AV_CODEC_ID_H264) av_dict_set(&options, "crf", X264_CRF, 0);
  int ret = avcodec_open2(w->encoder, codec, &options);
  av_dict_free(&options);
  if (ret < 0)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "cannot start the %s encoder for video %s: %s", codec->name,
                     w->path, dlcc_video_describe_error(ret, why, sizeof why));
  return DLCC_OK;
}

static dlcc_status open_muxer(dlcc_video_writer *w, int fps, dlcc_error *err) {
  /* The format is named because the temp file's name does not end in .mp4. */
  char *url = dlcc_video_file_url(w->file.temp_path);
  int ret = url ? avformat_alloc_output_context2(&w->format, NULL, "mp4", url) : AVERROR(ENOMEM);
  free(url);
  if (ret < 0 || !w->format) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening video %s", w->path);
  w->format->pb = w->io;
  w->format->flags |= AVFMT_FLAG_BITEXACT;
  dlcc_status st = open_encoder(w, fps, err);
  if (st) return st;
  w->stream = avformat_new_stream(w->format, NULL);
  if (!w->stream) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening video %s", w->path);
  w->stream->time_base = w->encoder->time_base;
  w->stream->avg_frame_rate = w->encoder->framerate;
  ret = avcodec_parameters_from_context(w->stream->codecpar, w->encoder);
  AVDictionary *options = NULL;
  av_dict_set(&options, "movflags", "+faststart", 0);
  if (ret >= 0) ret = avformat_write_header(w->format, &options);
  av_dict_free(&options);
  char why[512];
  if (ret < 0)
    return dlcc_fail(err, DLCC_ERR_IO, "cannot start writing video %s: %s", w->path,
                     dlcc_video_describe_error(ret, why, sizeof why));
  return DLCC_OK;
}

static dlcc_status alloc_frame(dlcc_video_writer *w, dlcc_error *err) {
  w->packet = av_packet_alloc();
  w->frame = av_frame_alloc();
  if (w->frame) {
    w->frame->format = AV_PIX_FMT_YUV420P;
    w->frame->width = w->width;
    w->frame->height = w->height;
  }
  w->scaler = sws_getContext(w->width, w->height, AV_PIX_FMT_RGB24, w->width, w->height, AV_PIX_FMT_YUV420P,
                             SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
  if (!w->packet || !w->frame || !w->scaler || av_frame_get_buffer(w->frame, 0) < 0)
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening video %s", w->path);
  return DLCC_OK;
}

/* Releases the FFmpeg side; the atomic file is committed or aborted by the caller. */
static void free_writer(dlcc_video_writer *w) {
  sws_freeContext(w->scaler);
  av_frame_free(&w->frame);
  av_packet_free(&w->packet);
  avcodec_free_context(&w->encoder);
  avformat_free_context(w->format);
  if (w->io) av_freep(&w->io->buffer);
  avio_context_free(&w->io);
  free(w->path);
  free(w);
}

static dlcc_status check_writer_args(const char *path, int width, int height, int fps, dlcc_error *err) {
  if (width <= 0 || height <= 0 || width % 2 || height % 2)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write video %s of %dx%d: width and height must be even and "
                     "positive (yuv420p halves both for colour)", path, width, height);
  if (fps <= 0 || fps > 1000)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot write video %s at %d frames per second: use 1 to 1000",
                     path, fps);
  return DLCC_OK;
}

dlcc_status dlcc_video_writer_open(dlcc_video_writer **out, const char *path, int width, int height, int fps,
                                   dlcc_error *err) {
  *out = NULL;
  dlcc_status st = check_writer_args(path, width, height, fps, err);
  if (st) return st;
  dlcc_video_quiet_ffmpeg();
  dlcc_video_forget_ffmpeg_log();
  dlcc_video_writer *w = calloc(1, sizeof *w);
  if (w) w->path = strdup(path);
  if (!w || !w->path) {
    free(w);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory opening video %s", path);
  }
  w->width = width;
  w->height = height;
  st = open_output(w, err);
  if (!st) st = open_muxer(w, fps, err);
  if (!st) st = alloc_frame(w, err);
  if (st) {
    dlcc_video_writer_abort(w);
    return st;
  }
  *out = w;
  return DLCC_OK;
}

/* ---- frames ---- */

/* Sends frame (NULL: end of stream) and writes every packet the encoder has ready. */
static dlcc_status encode(dlcc_video_writer *w, const AVFrame *frame, dlcc_error *err) {
  char why[512];
  int ret = avcodec_send_frame(w->encoder, frame);
  while (ret >= 0) {
    ret = avcodec_receive_packet(w->encoder, w->packet);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return DLCC_OK;
    if (ret < 0) break;
    av_packet_rescale_ts(w->packet, w->encoder->time_base, w->stream->time_base);
    w->packet->stream_index = w->stream->index;
    ret = av_interleaved_write_frame(w->format, w->packet);
  }
  return dlcc_fail(err, DLCC_ERR_IO, "cannot encode frame %ld of video %s: %s", (long)w->next_pts - 1, w->path,
                   dlcc_video_describe_error(ret, why, sizeof why));
}

dlcc_status dlcc_video_writer_add(dlcc_video_writer *w, const dlcc_image *frame, dlcc_error *err) {
  if (!frame->rgb || frame->width != w->width || frame->height != w->height)
    return dlcc_fail(err, DLCC_ERR_INVALID, "frame %ld for video %s is %dx%d, the video is %dx%d",
                     (long)w->next_pts, w->path, frame->width, frame->height, w->width, w->height);
  dlcc_video_forget_ffmpeg_log();
  /* The encoder may still hold the previous picture. */
  if (av_frame_make_writable(w->frame) < 0)
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing video %s", w->path);
  const uint8_t *planes[4] = {frame->rgb, NULL, NULL, NULL};
  int strides[4] = {frame->width * 3, 0, 0, 0};
  sws_scale(w->scaler, planes, strides, 0, frame->height, w->frame->data, w->frame->linesize);
  w->frame->pts = w->next_pts++;
  return encode(w, w->frame, err);
}

static dlcc_status finish_stream(dlcc_video_writer *w, dlcc_error *err) {
  char why[512];
  if (w->next_pts == 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "video %s has no frames; nothing was written", w->path);
  dlcc_video_forget_ffmpeg_log();
  dlcc_status st = encode(w, NULL, err);
  if (st) return st;
  int ret = av_write_trailer(w->format);
  if (ret >= 0) {
    avio_flush(w->io);
    ret = w->io->error;
  }
  if (ret < 0)
    return dlcc_fail(err, DLCC_ERR_IO, "cannot finish video %s: %s", w->path,
                     dlcc_video_describe_error(ret, why, sizeof why));
  return DLCC_OK;
}

dlcc_status dlcc_video_writer_close(dlcc_video_writer *w, dlcc_error *err) {
  if (!w) return dlcc_fail(err, DLCC_ERR_INVALID, "no video writer to close (its open failed)");
  dlcc_status st = finish_stream(w, err);
  dlcc_atomic_file file = w->file;
  w->file = (dlcc_atomic_file){0};
  free_writer(w);
  if (st) {
    dlcc_atomic_abort(&file);
    return st;
  }
  return dlcc_atomic_commit(&file, err);
}

void dlcc_video_writer_abort(dlcc_video_writer *w) {
  if (!w) return;
  dlcc_atomic_file file = w->file;
  free_writer(w);
  dlcc_atomic_abort(&file);
}
