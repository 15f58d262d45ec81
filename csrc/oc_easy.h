/*
 * oc_easy: the blocking driver, for scripts. It runs engine calls
 * (oc_call.h) to their end with libcurl for HTTP, the client's C store
 * (file, memory://, Redis), sleeps for waits and the desktop login, and
 * implements the blocking functions of oc_client.h on top. It is the layer
 * above the engine: the engine never calls it.
 */
#ifndef OC_EASY_H
#define OC_EASY_H

#include <stdio.h>

#include "oc_buf.h"
#include "oc_call.h"
#include "oc_store.h"

/* Runs call to its end and returns its result. */
oc_code oc_easy_run(oc_client *c, oc_call *call, oc_error *err);

/* Runs n calls of one client together (their HTTP steps in parallel
   transfers); each call's result is then its own. */
void oc_easy_run_many(oc_client *c, oc_call **calls, size_t n);

/* Performs one store step on a C store: LOAD fills text (a secret buffer
   the caller initialised) and *found. The outcome is what
   oc_call_feed_store takes. */
oc_code oc_easy_store_step(oc_store *s, const oc_step *step, oc_buf *text, int *found, oc_error *err);

/* Performs one HTTP step with the client's libcurl handle. */
oc_code oc_easy_http_step(oc_client *c, const oc_step *step, int *sent, oc_error *err);

/* Shows the device login's prompt (where to go, the code) on out. */
void oc_easy_show_prompt(FILE *out, const oc_prompt *p);

/* Performs the login step: the desktop login (oc_login.h), fed to call. */
void oc_easy_login_step(oc_call *call, const oc_step *step);

#endif
