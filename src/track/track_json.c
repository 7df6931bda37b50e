/* JSON pieces shared by assemblies_file.c and tracklets_file.c: the header of names and the keypoint
 * [x, y, score] / null, written and read. */
#include "track/track_json.h"

#include <math.h>

void dlcc_track_json_append_header(dlcc_strbuf *sb, const char *format, const dlcc_track_header *h) {
  dlcc_strbuf_append(sb, "{\n  \"format\": ");
  dlcc_json_append_string(sb, format);
  dlcc_strbuf_append(sb, ",\n  \"scorer\": ");
  dlcc_json_append_string(sb, h->scorer);
  dlcc_strbuf_append(sb, ",\n  \"video\": ");
  dlcc_json_append_string(sb, h->video ? h->video : "");
  dlcc_strbuf_append(sb, ",\n  \"individuals\": ");
  dlcc_json_append_strings(sb, h->individuals, h->n_individuals);
  dlcc_strbuf_append(sb, ",\n  \"bodyparts\": ");
  dlcc_json_append_strings(sb, h->bodyparts, h->n_bodyparts);
  dlcc_strbuf_append(sb, ",\n  \"uniquebodyparts\": ");
  dlcc_json_append_strings(sb, h->uniquebodyparts, h->n_unique);
}

void dlcc_track_json_append_keypoint(dlcc_strbuf *sb, const double *kp) {
  if (!isfinite(kp[0]) || !isfinite(kp[1])) {
    dlcc_strbuf_append(sb, "null");
    return;
  }
  dlcc_strbuf_append(sb, "[");
  dlcc_json_append_number(sb, kp[0]);
  dlcc_strbuf_append(sb, ", ");
  dlcc_json_append_number(sb, kp[1]);
  dlcc_strbuf_append(sb, ", ");
  dlcc_json_append_number(sb, kp[2]);
  dlcc_strbuf_append(sb, "]");
}

dlcc_status dlcc_track_json_read_keypoint(dlcc_json_reader *r, const dlcc_json_token *first, const char *what,
                                          double out[3], dlcc_error *err) {
  if (first->kind == DLCC_JSON_NULL) {
    out[0] = out[1] = out[2] = NAN;
    return DLCC_OK;
  }
  if (first->kind != DLCC_JSON_BEGIN_ARRAY)
    return dlcc_json_error_at(r, first, err, DLCC_ERR_PARSE, "%s should be [x, y, score] or null, not %s", what,
                              dlcc_json_kind_name(first->kind));
  int n = 0;
  for (;;) {
    dlcc_json_token tok;
    dlcc_status st = dlcc_json_next(r, &tok, err);
    if (st) return st;
    if (tok.kind == DLCC_JSON_END_ARRAY) break;
    if (tok.kind != DLCC_JSON_NUMBER && tok.kind != DLCC_JSON_NULL)
      return dlcc_json_error_at(r, &tok, err, DLCC_ERR_PARSE, "%s[%d] should be a number or null, not %s", what, n,
                                dlcc_json_kind_name(tok.kind));
    if (n < 3) out[n] = tok.kind == DLCC_JSON_NULL ? NAN : tok.number;
    n++;
  }
  if (n != 3)
    return dlcc_json_error_at(r, first, err, DLCC_ERR_PARSE, "%s has %d number%s; a keypoint is [x, y, score]", what,
                              n, n == 1 ? "" : "s");
  return DLCC_OK;
}
