/* The Redis store against a real redis-server started here (skipped, exit 77,
   when none is installed). */
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_store.h"
#include "oc_test.h"
#include "store_contract.h"
#include "oc_time.h"

static pid_t server;
static char location[200];

static unsigned free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void stop_server(void)
{
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
        server = 0;
    }
}

/* Starts redis-server with a password; returns 0, or exits 77 (skip). */
static void start_server(void)
{
    char port[16];
    unsigned p = free_port();
    if (system("command -v redis-server >/dev/null 2>&1") != 0)
        oc_test_skip("redis-server is not installed (apt-get install redis-server)");
    snprintf(port, sizeof port, "%u", p);
    server = fork();
    if (server == 0) {
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--dir",
               oc_test_tmpdir(), "--save", "", "--appendonly", "no", "--requirepass", "s3cret-pw",
               "--loglevel", "warning", (char *)NULL);
        _exit(127);
    }
    atexit(stop_server);
    snprintf(location, sizeof location, "redis://:s3cret-pw@127.0.0.1:%u/3/oauthconnect:test", p);
    {
        int i;
        for (i = 0; i < 100; i++) { /* wait until it answers */
            oc_store *s;
            oc_error err;
            oc_buf t;
            int found;
            if (oc_store_redis_new(location, NULL, NULL, 1000, &s, &err) == OC_OK) {
                oc_code rc = oc_store_load(s, &t, &found, &err);
                oc_buf_free(&t);
                oc_store_release(s);
                if (rc == OC_OK)
                    return;
            }
            oc_sleep_ms(50);
        }
    }
    fprintf(stderr, "redis-server did not start\n");
    exit(1);
}

OC_TEST(keeps_the_store_contract)
{
    oc_store *a, *b;
    oc_error err;
    start_server();
    CHECK_INT(oc_store_redis_new(location, NULL, NULL, 2000, &a, &err), OC_OK);
    CHECK_INT(oc_store_redis_new(location, NULL, NULL, 2000, &b, &err), OC_OK);
    CHECK_CONTAINS(oc_store_where(a), "Redis store redis://127.0.0.1:");
    CHECK_NOT_CONTAINS(oc_store_where(a), "s3cret-pw");
    CHECK(a->strict);
    store_contract(a, b);
    oc_store_release(a);
    oc_store_release(b);
}

OC_TEST(lock_is_exclusive_and_released_by_its_owner)
{
    oc_store *a, *b;
    oc_error err;
    start_server();
    CHECK_INT(oc_store_redis_new(location, NULL, NULL, 2000, &a, &err), OC_OK);
    CHECK_INT(oc_store_redis_new(location, NULL, NULL, 2000, &b, &err), OC_OK);
    CHECK_INT(oc_store_lock_wait(a, 1000, &err), OC_OK);
    CHECK_INT(oc_store_lock_wait(b, 200, &err), OC_E_LOCK);
    CHECK_CONTAINS(err.message, "another process");
    oc_store_unlock(a);
    CHECK_INT(oc_store_lock_wait(b, 1000, &err), OC_OK);
    oc_store_unlock(b);
    oc_store_release(a);
    oc_store_release(b);
}

OC_TEST(lease_is_renewed_while_held)
{
    oc_store *a, *b;
    oc_error err;
    start_server();
    CHECK_INT(oc_store_redis_new(location, NULL, NULL, 2000, &a, &err), OC_OK);
    CHECK_INT(oc_store_redis_new(location, NULL, NULL, 2000, &b, &err), OC_OK);
    CHECK_INT(oc_store_lock_wait(a, 1000, &err), OC_OK);
    /* the lease is 10 s; held for 12 s, the renewer keeps it */
    CHECK_INT(oc_store_lock_wait(b, 12000, &err), OC_E_LOCK);
    oc_store_unlock(a);
    oc_store_release(a);
    oc_store_release(b);
}

OC_TEST(unreachable_or_refused_is_a_clear_error_without_the_password)
{
    oc_store *s;
    oc_error err;
    oc_buf t;
    int found;
    char wrong[220];
    start_server();
    snprintf(wrong, sizeof wrong, "%s", location);
    memcpy(strstr(wrong, "s3cret-pw"), "wrong-pw!", 9);
    CHECK_INT(oc_store_redis_new(wrong, NULL, NULL, 2000, &s, &err), OC_OK);
    CHECK(oc_store_load(s, &t, &found, &err) != OC_OK);
    oc_buf_free(&t);
    CHECK_CONTAINS(err.message, "refused the credentials");
    CHECK_NOT_CONTAINS(err.message, "wrong-pw");
    oc_store_release(s);
    /* a port nothing listens on (not 1: a test's login listener may hold it) */
    snprintf(wrong, sizeof wrong, "redis://127.0.0.1:%u/0/k", free_port());
    CHECK_INT(oc_store_redis_new(wrong, NULL, NULL, 500, &s, &err), OC_OK);
    CHECK_INT(oc_store_load(s, &t, &found, &err), OC_E_NETWORK);
    oc_buf_free(&t);
    CHECK_CONTAINS(err.message, "cannot connect");
    CHECK_CONTAINS(err.message, wrong + strlen("redis://"));
    oc_store_release(s);
    CHECK_INT(oc_store_redis_new("redis://127.0.0.1/", NULL, NULL, 500, &s, &err), OC_E_BAD_VALUE);
}

/* A server that answers every command with one error reply, as a Redis
   still loading its data after a restart does; returns its port. */
static unsigned start_answering(pid_t *pid, const char *reply)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), conn;
    char buf[4096];
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 8) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *pid = fork();
    CHECK(*pid >= 0);
    if (*pid == 0) {
        while ((conn = accept(fd, NULL, NULL)) >= 0) {
            while (read(conn, buf, sizeof buf) > 0)
                if (write(conn, reply, strlen(reply)) < 0)
                    break;
            close(conn);
        }
        _exit(0);
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* A Redis that is not ready (LOADING after a restart, BUSY with a script)
   is a passing network condition, said as such: not a settings error
   blaming the user's permissions. */
OC_TEST(a_redis_not_ready_yet_is_a_network_error)
{
    static const char *replies[] = { "-LOADING Redis is loading the dataset in memory\r\n",
                                     "-BUSY Redis is busy running a script.\r\n" };
    size_t i;
    for (i = 0; i < sizeof replies / sizeof *replies; i++) {
        pid_t pid;
        char where[80];
        oc_store *s;
        oc_error err;
        oc_buf t;
        int found;
        snprintf(where, sizeof where, "redis://127.0.0.1:%u/0/k", start_answering(&pid, replies[i]));
        CHECK_INT(oc_store_redis_new(where, NULL, NULL, 2000, &s, &err), OC_OK);
        CHECK_INT(oc_store_load(s, &t, &found, &err), OC_E_NETWORK);
        oc_buf_free(&t);
        CHECK_CONTAINS(err.message, "not ready");
        CHECK_NOT_CONTAINS(err.message, "must be allowed");
        oc_store_release(s);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}
