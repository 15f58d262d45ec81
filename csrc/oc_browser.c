#define _GNU_SOURCE
#include "oc_browser.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oc_crypto.h"
#include "oc_mem.h"

/* A $BROWSER entry that exits with an error within this time did not open
   the page, and the next entry is tried; one still running then (a browser
   that stays in the foreground) or done with 0 (xdg-open) did. */
enum { MAX_ARGS = 32, SETTLE_MS = 1500 };

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe: used after fork */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the intermediate child: waits up to SETTLE_MS for the browser command
   and reports a failed exit through the pipe. */
static void report_quick_failure(pid_t browser, int fd)
{
    long long deadline = now_ms() + SETTLE_MS;
    struct timespec pause = { 0, 20 * 1000000L };
    int status, failed = -1;
    while (now_ms() < deadline) {
        pid_t r = waitpid(browser, &status, WNOHANG);
        if (r == browser) {
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                (void)!write(fd, &failed, sizeof failed);
            return;
        }
        if (r < 0 && errno != EINTR)
            return;
        nanosleep(&pause, NULL);
    }
}

/* Splits one $BROWSER entry on blanks into argv, substituting url for "%s". */
static int split_command(char *entry, const char *url, char **argv)
{
    int argc = 0, had_url = 0;
    char *save = NULL, *word;
    for (word = strtok_r(entry, " \t", &save); word && argc < MAX_ARGS - 2;
         word = strtok_r(NULL, " \t", &save)) {
        if (strcmp(word, "%s") == 0) {
            argv[argc++] = (char *)url;
            had_url = 1;
        } else {
            argv[argc++] = word;
        }
    }
    if (argc == 0)
        return 0;
    if (!had_url)
        argv[argc++] = (char *)url;
    argv[argc] = NULL;
    return argc;
}

extern char **environ;

/* Whether text holds one of words, in any case. */
static int holds_word(const char *text, size_t n, const char *const *words)
{
    size_t i, w;
    for (w = 0; words[w]; w++) {
        size_t wl = strlen(words[w]);
        for (i = 0; i + wl <= n; i++)
            if (strncasecmp(text + i, words[w], wl) == 0)
                return 1;
    }
    return 0;
}

/* Variables a browser has no business reading: a script's own client
   secret or token passed in through the environment, by a name that says
   so, or inside a value such as a connection string
   (OAUTHCONNECT_KEAP="...;OAuthClientSecret=...") or a URL with a password. */
static int looks_secret(const char *entry)
{
    static const char *const names[] = { "SECRET", "TOKEN", "PASSW", "APIKEY", "API_KEY",
                                         "CREDENTIAL", "PRIVATE", "OAUTHCONNECT", NULL };
    static const char *const values[] = { "SECRET", "TOKEN", "PASSWORD", "APIKEY", "VERIFIER", NULL };
    size_t n = strcspn(entry, "=");
    const char *value = entry[n] ? entry + n + 1 : "";
    const char *scheme = strstr(value, "://");
    return holds_word(entry, n, names) || holds_word(value, strlen(value), values) ||
           (scheme && strchr(scheme + 3, '@') &&
            strchr(scheme + 3, '@') < scheme + 3 + strcspn(scheme + 3, "/"));
}

/* The environment minus secret-looking variables; the array is malloc'd,
   its strings are environ's. */
static char **browser_environment(void)
{
    size_t n = 0, k = 0, i;
    char **env;
    while (environ && environ[n])
        n++;
    if (!(env = malloc((n + 1) * sizeof *env)))
        return NULL;
    for (i = 0; i < n; i++)
        if (!looks_secret(environ[i]))
            env[k++] = environ[i];
    env[k] = NULL;
    return env;
}

/* Double fork, so the browser is adopted by init and never left a zombie;
   the intermediate child reports through a pipe whether exec worked, and
   whether the command failed at once (see SETTLE_MS). */
static int spawn_detached(char **argv)
{
    int pipefd[2], status, child_errno = 0;
    pid_t pid;
    ssize_t n;

    char **env = browser_environment();
    if (!env)
        return -1;
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        free(env);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        free(env);
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        pid_t grandchild;
        int devnull;
        close(pipefd[0]);
        setsid();
        grandchild = fork();
        if (grandchild < 0)
            _exit(1);
        if (grandchild > 0) {
            report_quick_failure(grandchild, pipefd[1]);
            _exit(0);
        }
        /* Nothing of this process's open files (libcurl's connections, the
           settings lock) goes to the browser; the pipe closes at exec. */
        {
            int fd, max = (int)sysconf(_SC_OPEN_MAX);
            for (fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
                if (fd != pipefd[1])
                    close(fd);
        }
        /* The browser's own output (curl prints the page) is not ours to show. */
        devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            if (devnull > 2)
                close(devnull);
        }
        execvpe(argv[0], argv, env);
        child_errno = errno;
        (void)!write(pipefd[1], &child_errno, sizeof child_errno);
        _exit(127);
    }
    free(env);
    close(pipefd[1]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    /* EOF with nothing written: exec worked and the command did not fail at once. */
    do
        n = read(pipefd[0], &child_errno, sizeof child_errno);
    while (n < 0 && errno == EINTR);
    close(pipefd[0]);
    return n == (ssize_t)sizeof child_errno ? -1 : 0;
}

int oc_browser_open(const char *url)
{
    const char *env = getenv("BROWSER");
    char *argv[MAX_ARGS];
    if (env && *env) {
        char *list = oc_strdup(env), *save = NULL, *entry;
        if (!list)
            return -1;
        for (entry = strtok_r(list, ":", &save); entry; entry = strtok_r(NULL, ":", &save)) {
            char *copy = oc_strdup(entry);
            int started = copy && split_command(copy, url, argv) > 0 && spawn_detached(argv) == 0;
            free(copy);
            if (started) {
                free(list);
                return 0;
            }
        }
        free(list);
        return -1;
    }
    {
        char cmd[] = "xdg-open";
        argv[0] = cmd;
        argv[1] = (char *)url;
        argv[2] = NULL;
        return spawn_detached(argv);
    }
}
