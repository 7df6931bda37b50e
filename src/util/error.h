/* Errors as a status plus a message the user can act on.
 * Every library function that can fail returns DLCC_OK (0) or a dlcc_status and fills a dlcc_error
 * with a sentence naming the file/line/key and what to change. The library never prints or exits. */
#ifndef DLCC_UTIL_ERROR_H
#define DLCC_UTIL_ERROR_H

typedef enum dlcc_status {
  DLCC_OK = 0,
  DLCC_ERR_IO,          /* a file could not be read or written */
  DLCC_ERR_PARSE,       /* a file is malformed (YAML, CSV, PNG...) */
  DLCC_ERR_INVALID,     /* a value is out of range or inconsistent with the rest of the project */
  DLCC_ERR_NOMEM,       /* an allocation failed */
  DLCC_ERR_UNSUPPORTED, /* a feature or format dlcc does not handle */
  DLCC_ERR_INTERRUPTED  /* the user asked to stop (Ctrl-C) */
} dlcc_status;

typedef struct dlcc_error {
  dlcc_status status;
  char message[2048];
} dlcc_error;

/* Records `status` and a printf-style message in err (err may be NULL); returns status so that
 * callers can write `return dlcc_fail(err, DLCC_ERR_IO, "...")`. */
dlcc_status dlcc_fail(dlcc_error *err, dlcc_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with printf-style context ("reading X: <old message>"). */
void dlcc_error_prefix(dlcc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err to DLCC_OK with an empty message. */
void dlcc_error_clear(dlcc_error *err);

/* A short name for a status ("I/O error", "parse error", ...). */
const char *dlcc_status_name(dlcc_status status);

#endif
