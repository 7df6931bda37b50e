/* Glue shared by the video reader and writer: FFmpeg logs through our callback, which never prints
 * (the library must not) but keeps the last error line so that error messages can quote it. Paths
 * go to FFmpeg as file: URLs. */
#include "video/video_ffmpeg.h"

#include <libavutil/error.h>
#include <libavutil/log.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/fileio.h"

/* Per thread: a message must not quote a line logged by another thread's video. */
static _Thread_local char last_log_line[256];

static void keep_error_line(void *avcl, int level, const char *fmt, va_list args) {
  (void)avcl;
  if (level > AV_LOG_ERROR) return;
  vsnprintf(last_log_line, sizeof last_log_line, fmt, args);
  size_t n = strlen(last_log_line);
  while (n > 0 && (last_log_line[n - 1] == '\n' || last_log_line[n - 1] == ' ')) last_log_line[--n] = '\0';
}

static void install_log_callback(void) {
  av_log_set_level(AV_LOG_ERROR);
  av_log_set_callback(keep_error_line);
}

void dlcc_video_quiet_ffmpeg(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, install_log_callback);
}

void dlcc_video_forget_ffmpeg_log(void) { last_log_line[0] = '\0'; }

const char *dlcc_video_describe_error(int averror, char *buf, size_t size) {
  char text[AV_ERROR_MAX_STRING_SIZE];
  av_strerror(averror, text, sizeof text);
  if (last_log_line[0]) snprintf(buf, size, "%s (FFmpeg: %s)", text, last_log_line);
  else snprintf(buf, size, "%s", text);
  return buf;
}

char *dlcc_video_file_url(const char *path) { return dlcc_strdupf("file:%s", path); }
