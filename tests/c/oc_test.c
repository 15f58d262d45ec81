#define _XOPEN_SOURCE 700
#include "oc_test.h"

#include <curl/curl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_CASES = 256 };

static struct {
    const char *name;
    void (*fn)(void);
} cases[MAX_CASES];
static int ncases, failures;
static char tmpdir[256];

void oc_test_register(const char *name, void (*fn)(void))
{
    if (ncases < MAX_CASES) {
        cases[ncases].name = name;
        cases[ncases].fn = fn;
        ncases++;
    }
}

const char *oc_test_header(const struct curl_slist *list, const char *prefix)
{
    for (; list; list = list->next)
        if (strncmp(list->data, prefix, strlen(prefix)) == 0)
            return list->data;
    return NULL;
}

void oc_test_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    failures++;
}

const char *oc_test_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/oc_test.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return tmpdir;
}

void oc_test_skip(const char *why)
{
    fprintf(stderr, "skipped: %s\n", why);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        exit(1);
    }
    exit(77);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    if (tmpdir[0])
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv)
{
    int i, ran = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    atexit(cleanup);
    for (i = 0; i < ncases; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
            continue;
        cases[i].fn();
        ran++;
    }
    curl_global_cleanup();
    if (ran == 0) {
        fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "(any)");
        return 2;
    }
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
