#define _GNU_SOURCE
#include "oc_browser.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oc_crypto.h"

enum { MAX_ARGS = 32 };

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

/* Double fork, so the browser is adopted by init and never left a zombie;
   the intermediate child reports through a pipe whether exec worked. */
static int spawn_detached(char **argv)
{
    int pipefd[2], status, child_errno = 0;
    pid_t pid;
    ssize_t n;

    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return -1;
    pid = fork();
    if (pid < 0) {
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
        if (grandchild != 0)
            _exit(grandchild < 0 ? 1 : 0);
        /* The browser's own output (curl prints the page) is not ours to show. */
        devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            if (devnull > 2)
                close(devnull);
        }
        execvp(argv[0], argv);
        child_errno = errno;
        (void)!write(pipefd[1], &child_errno, sizeof child_errno);
        _exit(127);
    }
    close(pipefd[1]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    /* EOF on the pipe (exec closed it) means the command started. */
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
