/* The JSON pieces the assemblies and tracklets files share: their header of names, and a keypoint
 * written as [x, y, score] (null when x or y is missing) and read back with messages naming where. */
#ifndef DLCC_TRACK_TRACK_JSON_H
#define DLCC_TRACK_TRACK_JSON_H

#include "track/assemblies_file.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json_stream.h"

/* "{\n  \"format\": ..., \"scorer\", \"video\", \"individuals\", \"bodyparts\", \"uniquebodyparts\"" with
 * no closing brace: the caller goes on with its own keys. */
void dlcc_track_json_append_header(dlcc_strbuf *sb, const char *format, const dlcc_track_header *h);

void dlcc_track_json_append_keypoint(dlcc_strbuf *sb, const double *kp);

/* Reads the keypoint that starts at first (null: all NaN; a null number inside: NaN). `what` names it
 * in errors ("assemblies[3][0].keypoints[2]"). */
dlcc_status dlcc_track_json_read_keypoint(dlcc_json_reader *r, const dlcc_json_token *first, const char *what,
                                          double out[3], dlcc_error *err);

#endif
