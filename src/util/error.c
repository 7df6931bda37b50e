/* Error records: formatting and prefixing of the messages that travel with a dlcc_status. */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

dlcc_status dlcc_fail(dlcc_error *err, dlcc_status status, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->status = status;
  }
  return status;
}

void dlcc_error_prefix(dlcc_error *err, const char *fmt, ...) {
  if (!err) return;
  char prefix[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  size_t cap = sizeof err->message, lp = strlen(prefix);
  if (lp + 2 >= cap) lp = cap - 3;
  size_t lo = strnlen(err->message, cap - 1);
  if (lp + 2 + lo >= cap) lo = cap - 1 - lp - 2;
  memmove(err->message + lp + 2, err->message, lo);
  memcpy(err->message, prefix, lp);
  memcpy(err->message + lp, ": ", 2);
  err->message[lp + 2 + lo] = '\0';
}

void dlcc_error_clear(dlcc_error *err) {
  if (!err) return;
  err->status = DLCC_OK;
  err->message[0] = '\0';
}

const char *dlcc_status_name(dlcc_status status) {
  switch (status) {
    case DLCC_OK: return "ok";
    case DLCC_ERR_IO: return "I/O error";
    case DLCC_ERR_PARSE: return "parse error";
    case DLCC_ERR_INVALID: return "invalid value";
    case DLCC_ERR_NOMEM: return "out of memory";
    case DLCC_ERR_UNSUPPORTED: return "unsupported";
    case DLCC_ERR_INTERRUPTED: return "interrupted";
  }
  return "error";
}
