/*
 * oc_log: the Verbosity/Logfile log. Every line passes through oc_redact, so
 * no level shows a secret. Levels:
 *   1 requests (method, URL without query, status, time) and OAuth events
 *   2 + request and response headers
 *   3 + request and response bodies, cut at 64 KiB
 *   4 + libcurl's own notes (connections, TLS)
 *   5 + bodies in full
 */
#ifndef OC_LOG_H
#define OC_LOG_H

#include <stddef.h>
#include <stdio.h>

#include "oc_error.h"
#include "oc_redact.h"

typedef struct oc_log oc_log;

/* path "-" logs to stderr; a file is opened for appending, created 0600. */
oc_code oc_log_open(const char *path, int level, oc_log **out, oc_error *err);
void oc_log_close(oc_log *log);
int oc_log_level(const oc_log *log);
/* Registers a value that must never appear in the log. */
void oc_log_secret(oc_log *log, const char *value);
/* Keeps the values registered so far for the log's whole life. */
void oc_log_pin_secrets(oc_log *log);
/* The public value (the client id) shown whole though a secret shares
   pieces with it (see oc_secrets_set_open). */
void oc_log_open_value(oc_log *log, const char *value);

/* One line at a level (no-op when log is NULL or the level is above it). */
void oc_logf(oc_log *log, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* A header line or a body, redacted; prefix says what it is ("> ", "< "). */
void oc_log_header(oc_log *log, int level, const char *prefix, const char *line, size_t len);
void oc_log_body(oc_log *log, int level, const char *prefix, const char *body, size_t len);

#endif
