#include "oc_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "oc_buf.h"
#include "oc_crypto.h"
#include "oc_mem.h"

enum { BODY_CUT = 64 * 1024 };

struct oc_log {
    FILE *f;
    int own;   /* f is ours to close */
    int level;
    oc_secrets secrets;
};

oc_code oc_log_open(const char *path, int level, oc_log **out, oc_error *err)
{
    oc_log *log = calloc(1, sizeof *log);
    *out = NULL;
    if (!log)
        return oc_fail_nomem(err);
    log->level = level;
    if (strcmp(path, "-") == 0) {
        log->f = stderr;
    } else {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || !(log->f = fdopen(fd, "a"))) {
            oc_code rc = oc_fail_property(err, OC_E_IO, "Logfile", "Logfile: cannot open %s: %s",
                                          path, strerror(errno));
            if (fd >= 0)
                close(fd);
            free(log);
            return rc;
        }
        log->own = 1;
    }
    *out = log;
    return OC_OK;
}

void oc_log_close(oc_log *log)
{
    if (!log)
        return;
    if (log->own)
        fclose(log->f);
    oc_secrets_free(&log->secrets);
    free(log);
}

int oc_log_level(const oc_log *log)
{
    return log ? log->level : 0;
}

void oc_log_secret(oc_log *log, const char *value)
{
    if (log)
        oc_secrets_add(&log->secrets, value);
}

void oc_log_open_value(oc_log *log, const char *value)
{
    if (log)
        oc_secrets_set_open(&log->secrets, value);
}

void oc_log_pin_secrets(oc_log *log)
{
    if (log)
        oc_secrets_pin(&log->secrets);
}

/* Writes "2026-11-23T15:04:05.123Z [n] " + text + "\n" in one call, so lines
   from several processes sharing a Logfile do not interleave. */
static void emit(oc_log *log, int level, const oc_buf *text)
{
    struct timeval tv;
    struct tm tm;
    char stamp[40];
    oc_buf line;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    oc_buf_init(&line, 0);
    oc_buf_printf(&line, "%s.%03dZ [%d] ", stamp, (int)(tv.tv_usec / 1000), level);
    oc_buf_append(&line, text->data ? text->data : "", text->len);
    oc_buf_append(&line, "\n", 1);
    if (line.data) {
        fwrite(line.data, 1, line.len, log->f);
        fflush(log->f);
    }
    oc_buf_free(&line);
}

void oc_logf(oc_log *log, int level, const char *fmt, ...)
{
    oc_buf clean;
    va_list ap;
    char *raw;
    int n;
    if (!log || level > log->level)
        return;
    /* Format in full before redacting: a cut could split a secret. */
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(raw = malloc((size_t)n + 1)))
        return;
    va_start(ap, fmt);
    vsnprintf(raw, (size_t)n + 1, fmt, ap);
    va_end(ap);
    oc_buf_init(&clean, 0);
    oc_redact_literals(&clean, raw, (size_t)n, &log->secrets);
    emit(log, level, &clean);
    oc_free_secret(raw);
    oc_buf_free(&clean);
}

void oc_log_header(oc_log *log, int level, const char *prefix, const char *line, size_t len)
{
    oc_buf clean;
    if (!log || level > log->level)
        return;
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (!len)
        return;
    oc_buf_init(&clean, 0);
    oc_buf_puts(&clean, prefix);
    oc_redact_header(&clean, line, len, &log->secrets);
    emit(log, level, &clean);
    oc_buf_free(&clean);
}

void oc_log_body(oc_log *log, int level, const char *prefix, const char *body, size_t len)
{
    oc_buf clean;
    size_t shown = len;
    if (!log || level > log->level || !len)
        return;
    /* Redact the whole body first (a cut could split a secret), then cut. */
    oc_buf_init(&clean, 0);
    oc_buf_puts(&clean, prefix);
    oc_redact_body(&clean, body, len, &log->secrets);
    if (log->level < 5 && clean.len > BODY_CUT + strlen(prefix)) {
        shown = clean.len;
        clean.len = strlen(prefix) + oc_text_cut(clean.data + strlen(prefix), clean.len - strlen(prefix),
                                                 BODY_CUT);
        clean.data[clean.len] = '\0';
        oc_buf_printf(&clean, " ... (%zu bytes in all)", shown - strlen(prefix));
    }
    emit(log, level, &clean);
    oc_buf_free(&clean);
}
