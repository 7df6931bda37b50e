/* Glue shared by the video reader and writer (internal, not part of video.h): FFmpeg's logging kept
 * off stderr, and FFmpeg error codes turned into words for dlcc_error messages. */
#ifndef DLCC_VIDEO_VIDEO_FFMPEG_H
#define DLCC_VIDEO_VIDEO_FFMPEG_H

#include <stddef.h>

/* Routes FFmpeg's log away from stderr (once per process); the last error-level line logged on the
 * calling thread is kept for the next message. */
void dlcc_video_quiet_ffmpeg(void);

/* Forgets the kept log line, so that a later message only quotes what FFmpeg said since. */
void dlcc_video_forget_ffmpeg_log(void);

/* Writes "<av_strerror text>" or "<text> (FFmpeg: <last log line>)" into buf. */
const char *dlcc_video_describe_error(int averror, char *buf, size_t size);

/* "file:<path>", so that a name like "cam:1.mp4" is not taken for a URL scheme (caller frees). */
char *dlcc_video_file_url(const char *path);

#endif
