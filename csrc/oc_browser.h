/*
 * oc_browser: opens a URL in the user's browser, the way command-line tools
 * do: each entry of $BROWSER (colon-separated; "%s" stands for the URL,
 * else the URL is the last argument), else xdg-open. No shell is involved,
 * and variables whose names look like secrets (…SECRET…, …TOKEN…,
 * …PASSW…, …API_KEY…) are left out of the browser's environment.
 */
#ifndef OC_BROWSER_H
#define OC_BROWSER_H

/* Starts the first browser command that can be run. Returns 0, or -1 when
   none could be (the caller has printed the URL, so the user can still
   open it by hand). The browser runs detached; it is never waited for. */
int oc_browser_open(const char *url);

#endif
