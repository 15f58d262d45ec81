/*
 * oc_redact: takes secrets out of text before it is logged. Three nets, each
 * catching what the others may miss:
 *   - header lines whose name carries credentials keep only their name;
 *   - form and JSON bodies lose the values of credential fields;
 *   - every known secret value (client secret, tokens, passwords, keys, in
 *     plain and percent-encoded form) is replaced wherever it appears.
 */
#ifndef OC_REDACT_H
#define OC_REDACT_H

#include <stddef.h>

#include "oc_buf.h"
#include "oc_error.h"

#define OC_REDACTED "[REDACTED]"

/* Known secret values; copies are kept (and wiped when freed). */
typedef struct oc_secrets {
    char **value;
    size_t n, cap;
    size_t pinned; /* the first `pinned` values are never evicted */
    char *open;    /* a public value (the client id): never taken for a piece of a secret */
} oc_secrets;

/* A secret's pieces this long or longer are redacted wherever they appear
   (a server quoting part of a token); shorter secrets go only whole. */
#define OC_SECRET_PIECE 8

void oc_secrets_add(oc_secrets *s, const char *value);
/* Names the public value (the client id) that may share pieces with a
   secret (a client secret made from it), so that it is shown whole. */
void oc_secrets_set_open(oc_secrets *s, const char *value);
/* Pins every value added so far (the properties' secrets). */
void oc_secrets_pin(oc_secrets *s);
void oc_secrets_free(oc_secrets *s);

/* Whether a header (name, any case) carries credentials. */
int oc_header_is_secret(const char *name, size_t len);
/* Whether a form field or JSON member name holds a credential. */
int oc_field_is_secret(const char *name, size_t len);

/* Appends text to out with every known secret replaced, and every run of
   OC_SECRET_PIECE or more characters found inside one. */
void oc_redact_literals(oc_buf *out, const char *text, size_t len, const oc_secrets *s);
/*
 * The one way a text from outside (a server's words, a header's value, a
 * URL it sent, a reply) enters a message: copied into dst (max bytes with
 * the NUL) with every secret of s replaced over the whole text first, then
 * control characters shown as '?', then cut where oc_text_cut says, ending
 * in "...". Redacting before cutting: a cut secret no longer matches
 * whole. s may be NULL (the cut still never splits a word, so a secret
 * stays whole for a later redaction, or goes).
 */
void oc_redact_copy(char *dst, size_t max, const char *text, size_t len, const oc_secrets *s);
/* Appends one "Name: value" header line, redacted. */
void oc_redact_header(oc_buf *out, const char *line, size_t len, const oc_secrets *s);
/* Appends a body, redacted: JSON and form bodies field by field, then literals. */
void oc_redact_body(oc_buf *out, const char *body, size_t len, const oc_secrets *s);

#endif
