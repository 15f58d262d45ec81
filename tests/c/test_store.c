/* The settings file and the in-process store. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_settings.h"
#include "oc_store.h"
#include "oc_test.h"
#include "oc_time.h"
#include "store_contract.h"

static char *path_in_tmp(const char *rel)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", oc_test_tmpdir(), rel);
    return buf;
}

/* The text s holds (a static buffer), or NULL when nothing is stored;
   *rc the load's code. */
static const char *load_text(oc_store *s, oc_code *rc, oc_error *err)
{
    static char copy[8192];
    oc_buf text;
    int found = 0;
    *rc = oc_store_load(s, &text, &found, err);
    if (*rc != OC_OK || !found) {
        oc_buf_free(&text);
        return NULL;
    }
    snprintf(copy, sizeof copy, "%.*s", (int)text.len, text.data ? text.data : "");
    oc_buf_free(&text);
    return copy;
}

/* Saves text over whatever s holds now. */
static oc_code save_over(oc_store *s, const char *text, oc_error *err)
{
    oc_buf cur;
    int found = 0;
    oc_code rc = oc_store_load(s, &cur, &found, err);
    if (rc == OC_OK)
        rc = oc_store_save(s, text, strlen(text), found ? cur.data : NULL, found ? cur.len : 0, found, err);
    oc_buf_free(&cur);
    return rc;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

OC_TEST(file_round_trip_private_and_nested_dirs)
{
    oc_store *s;
    oc_error err;
    oc_code rc;
    struct stat st;
    char dir[600];
    const char *path = path_in_tmp("a/b/settings.json");
    CHECK_INT(oc_store_file_new(path, &s, &err), OC_OK);
    CHECK(load_text(s, &rc, &err) == NULL);
    CHECK_INT(rc, OC_OK);
    CHECK_INT(save_over(s, "{\"access_token\":\"AT1\"}", &err), OC_OK);
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    snprintf(dir, sizeof dir, "%s/a/b", oc_test_tmpdir());
    CHECK_INT(stat(dir, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0700);
    CHECK_STR(load_text(s, &rc, &err), "{\"access_token\":\"AT1\"}");
    oc_store_release(s);
}

OC_TEST(file_store_keeps_the_contract)
{
    oc_store *a, *b;
    oc_error err;
    CHECK_INT(oc_store_file_new(path_in_tmp("contract/s.json"), &a, &err), OC_OK);
    CHECK_INT(oc_store_file_new(path_in_tmp("contract/s.json"), &b, &err), OC_OK);
    store_contract(a, b);
    oc_store_release(a);
    oc_store_release(b);
}

OC_TEST(memory_store_keeps_the_contract)
{
    oc_store *a, *b;
    oc_error err;
    CHECK_INT(oc_store_memory_open("contract", &a, &err), OC_OK);
    CHECK_INT(oc_store_memory_open("contract", &b, &err), OC_OK);
    store_contract(a, b);
    oc_store_release(a);
    oc_store_release(b);
}

OC_TEST(save_replaces_atomically_leaving_no_temp_files)
{
    oc_store *s;
    oc_error err;
    DIR *d;
    struct dirent *e;
    int entries = 0, i;
    CHECK_INT(oc_store_file_new(path_in_tmp("atomic/s.json"), &s, &err), OC_OK);
    for (i = 0; i < 20; i++)
        CHECK_INT(save_over(s, i % 2 ? "{\"n\":\"odd\"}" : "{\"n\":\"even\"}", &err), OC_OK);
    d = opendir(path_in_tmp("atomic"));
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && strcmp(e->d_name, "s.json.lock") != 0) /* the lock stays */
        {
            entries++;
            CHECK_STR(e->d_name, "s.json");
        }
    closedir(d);
    CHECK_INT(entries, 1);
    oc_store_release(s);
}

/* A writer killed between its temporary file and the rename leaves the
   file behind; the next process to take the lock clears it. */
OC_TEST(stale_temporary_files_are_cleared_by_the_next_lock)
{
    oc_store *s;
    oc_error err;
    FILE *f;
    CHECK_INT(oc_store_file_new(path_in_tmp("stale/s.json"), &s, &err), OC_OK);
    CHECK_INT(oc_store_lock_wait(s, 1000, &err), OC_OK); /* makes the directory */
    oc_store_unlock(s);
    f = fopen(path_in_tmp("stale/s.json.tmp.AbC123"), "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    CHECK_INT(oc_store_lock_wait(s, 1000, &err), OC_OK);
    CHECK(access(path_in_tmp("stale/s.json.tmp.AbC123"), F_OK) != 0);
    oc_store_unlock(s);
    oc_store_release(s);
}

OC_TEST(corrupt_file_is_an_error_naming_it)
{
    oc_store *s;
    oc_settings doc;
    oc_error err;
    oc_code rc;
    const char *text, *path = path_in_tmp("corrupt.json");
    write_file(path, "{\"access_token\": \"AT\", ", 0600);
    CHECK_INT(oc_store_file_new(path, &s, &err), OC_OK);
    /* the store hands the text over; reading it is the settings module's */
    text = load_text(s, &rc, &err);
    CHECK_INT(rc, OC_OK);
    oc_settings_init(&doc);
    CHECK_INT(oc_settings_parse(text, strlen(text), oc_store_where(s), &doc, &err), OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, path);
    CHECK_CONTAINS(err.message, "corrupt");
    CHECK(!doc.has_token);
    oc_store_release(s);
}

OC_TEST(refuses_symlink_and_loose_permissions)
{
    oc_store *s;
    oc_error err;
    oc_code rc;
    char target[600], dir[600];
    const char *link = path_in_tmp("link.json");
    snprintf(target, sizeof target, "%s/real.json", oc_test_tmpdir());
    write_file(target, "{\"access_token\":\"AT\"}", 0600);
    CHECK_INT(symlink(target, link), 0);
    CHECK_INT(oc_store_file_new(link, &s, &err), OC_OK);
    load_text(s, &rc, &err);
    CHECK_INT(rc, OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, "symbolic link");
    oc_store_release(s);

    write_file(path_in_tmp("loose.json"), "{\"access_token\":\"AT\"}", 0644);
    CHECK_INT(oc_store_file_new(path_in_tmp("loose.json"), &s, &err), OC_OK);
    load_text(s, &rc, &err);
    CHECK_INT(rc, OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, "mode 0644");
    oc_store_release(s);

    snprintf(dir, sizeof dir, "%s/groupw", oc_test_tmpdir());
    mkdir(dir, 0770);
    chmod(dir, 0770);
    CHECK_INT(oc_store_file_new(path_in_tmp("groupw/s.json"), &s, &err), OC_OK);
    CHECK_INT(oc_store_save(s, "{}", 2, NULL, 0, 0, &err), OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, "writable by group or others");
    oc_store_release(s);
}

/* A lock file that is a symbolic link is refused as one, as the settings
   file is, whoever planted it: in a sticky directory (/tmp), a link another
   user made makes open() fail with EACCES, not ELOOP, even with O_NOFOLLOW
   (the kernel's protection of sticky directories), which was reported as
   "Permission denied". */
OC_TEST(refuses_a_lock_file_that_is_a_symlink)
{
    static const char *const targets[] = { "/etc/shadow", "/nonexistent/x" };
    char dir[600], path[700], lock[720], want[800];
    size_t i;
    snprintf(dir, sizeof dir, "%s/sticky", oc_test_tmpdir());
    CHECK_INT(chmod(oc_test_tmpdir(), 0711), 0); /* nobody may pass through, not list */
    CHECK_INT(mkdir(dir, 0700), 0);
    CHECK_INT(chmod(dir, 01777), 0);
    snprintf(path, sizeof path, "%s/s.json", dir);
    snprintf(lock, sizeof lock, "%s.lock", path);
    snprintf(want, sizeof want, "refusing the lock file %s: it is a symbolic link", lock);
    for (i = 0; i < 2 * (sizeof targets / sizeof *targets); i++) {
        const char *target = targets[i % 2];
        int by_other = i >= 2 && geteuid() == 0; /* planted by nobody (root only can be) */
        oc_store *s;
        oc_error err;
        pid_t pid;
        int status = 0;
        unlink(lock);
        if (by_other) {
            if ((pid = fork()) == 0)
                _exit(setgid(65534) == 0 && setuid(65534) == 0 && symlink(target, lock) == 0 ? 0 : 1);
            CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        } else {
            CHECK_INT(symlink(target, lock), 0);
        }
        CHECK_INT(oc_store_file_new(path, &s, &err), OC_OK);
        oc_error_clear(&err);
        CHECK_INT(oc_store_try_lock(s, &err), OC_E_SETTINGS);
        CHECK_CONTAINS(err.message, want);
        CHECK_NOT_CONTAINS(err.message, "Permission denied");
        oc_store_release(s);
    }
    unlink(lock);
}

OC_TEST(lock_excludes_other_holders_and_processes)
{
    oc_store *a, *b;
    oc_error err;
    pid_t pid;
    int status;
    const char *path = path_in_tmp("locked.json");
    CHECK_INT(oc_store_file_new(path, &a, &err), OC_OK);
    CHECK_INT(oc_store_file_new(path, &b, &err), OC_OK);
    CHECK_INT(oc_store_lock_wait(a, 100, &err), OC_OK);
    CHECK_INT(oc_store_lock_wait(b, 50, &err), OC_E_LOCK);
    CHECK_CONTAINS(err.message, "timed out");
    pid = fork();
    if (pid == 0) {
        oc_store *c;
        oc_error e;
        oc_store_file_new(path, &c, &e);
        _exit(oc_store_lock_wait(c, 50, &e) == OC_E_LOCK ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    oc_store_unlock(a);
    CHECK_INT(oc_store_lock_wait(b, 100, &err), OC_OK);
    oc_store_unlock(b);
    oc_store_release(a);
    oc_store_release(b);
}

/* memory://NAME from another thread (another Lua state, in a host that runs
   several) must find the same store. */
static void *open_shared(void *out)
{
    oc_error err;
    if (oc_store_memory_open("process-wide", (oc_store **)out, &err) != OC_OK)
        *(oc_store **)out = NULL;
    return NULL;
}

OC_TEST(memory_open_is_one_store_per_name_for_the_process)
{
    oc_store *a, *b, *other, *from_thread = NULL;
    oc_error err;
    oc_code rc;
    pthread_t th;
    CHECK_INT(oc_store_memory_open("process-wide", &a, &err), OC_OK);
    CHECK_INT(oc_store_memory_open("process-wide", &b, &err), OC_OK);
    CHECK_INT(oc_store_memory_open("another", &other, &err), OC_OK);
    CHECK(a == b);
    CHECK(a != other);
    CHECK_STR(oc_store_where(a), "memory://process-wide");
    CHECK_INT(pthread_create(&th, NULL, open_shared, &from_thread), 0);
    CHECK_INT(pthread_join(th, NULL), 0);
    CHECK(from_thread == a);
    /* the lock is the same lock whoever opened it */
    CHECK_INT(oc_store_try_lock(a, &err), OC_OK);
    CHECK_INT(oc_store_try_lock(from_thread, &err), OC_E_LOCK);
    oc_store_unlock(a);
    CHECK_INT(save_over(b, "AT-shared", &err), OC_OK);
    /* with every client gone the tokens stay for the next one */
    oc_store_release(a);
    oc_store_release(b);
    oc_store_release(from_thread);
    oc_store_release(other);
    CHECK_INT(oc_store_memory_open("process-wide", &a, &err), OC_OK);
    CHECK_STR(load_text(a, &rc, &err), "AT-shared");
    CHECK_INT(oc_store_memory_open("another", &other, &err), OC_OK);
    CHECK(load_text(other, &rc, &err) == NULL);
    oc_store_release(other);
    oc_store_release(a);
}

OC_TEST(home_expansion)
{
    char *p;
    setenv("HOME", "/home/u", 1);
    p = oc_expand_home("~/x/y.json");
    CHECK_STR(p, "/home/u/x/y.json");
    free(p);
    p = oc_expand_home("~other/x");
    CHECK_STR(p, "~other/x");
    free(p);
}

/*
 * The two promises of the settings file that only a race shows, each tested
 * so that breaking it fails on the first run, not by chance. Saving and
 * loading go through save_set()/load_set() alone, so a change of the store
 * interface touches these two functions, not the tests.
 */

/* Saves set number i over what is stored: len bytes, all the letter of i,
   then "|RT-i". */
static oc_code save_set(oc_store *s, int i, size_t len, oc_error *err)
{
    oc_buf text;
    char rt[32];
    oc_code rc;
    oc_buf_init(&text, 0);
    if (!oc_buf_extend(&text, len))
        return OC_E_NOMEM;
    memset(text.data, 'a' + i % 26, len);
    snprintf(rt, sizeof rt, "|RT-%d", i % 26);
    oc_buf_puts(&text, rt);
    rc = save_over(s, text.data, err);
    oc_buf_free(&text);
    return rc;
}

/* Loads the stored set: the number of the save_set it is whole from
   (modulo 26), or -1 when it is torn or unreadable (err says why when it is
   a load error). */
static int load_set(oc_store *s, size_t len, oc_error *err)
{
    oc_buf text;
    int found = 0, whole = 0, which = -1;
    size_t i;
    err->message[0] = '\0';
    if (oc_store_load(s, &text, &found, err) == OC_OK && found && text.len > len && text.data[len] == '|') {
        char rt[32];
        snprintf(rt, sizeof rt, "RT-%d", text.data[0] - 'a');
        whole = strcmp(rt, text.data + len + 1) == 0;
        for (i = 0; whole && i < len; i++)
            whole = text.data[i] == text.data[0];
        if (whole)
            which = text.data[0] - 'a';
    }
    oc_buf_free(&text);
    return which;
}

/* Shared between the processes of one test (MAP_SHARED). */
struct race {
    volatile int ready, inside, most_inside, entered, loads, torn, saves, stop;
    char first_error[sizeof(((oc_error *)0)->message)];
};

static struct race *shared_race(void)
{
    void *p = mmap(NULL, sizeof(struct race), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    memset(p, 0, sizeof(struct race));
    return p;
}

/*
 * Single flight rests on this lock: PROCS processes leave a barrier at once
 * and each holds the lock for 30 ms. With the lock, one holder at a time;
 * without it (a flock that does nothing) all of them are inside together,
 * on every run.
 */
OC_TEST(lock_admits_one_process_at_a_time_across_a_barrier)
{
    enum { PROCS = 6 };
    struct race *r = shared_race();
    const char *path = path_in_tmp("single/s.json");
    int gate[2], i, status, ok = 1;
    pid_t pids[PROCS];
    CHECK_INT(pipe(gate), 0);
    for (i = 0; i < PROCS; i++) {
        if ((pids[i] = fork()) == 0) {
            oc_store *s;
            oc_error e;
            char c;
            int now;
            close(gate[1]);
            if (oc_store_file_new(path, &s, &e) != OC_OK)
                _exit(1);
            __sync_add_and_fetch(&r->ready, 1);
            if (read(gate[0], &c, 1) != 0) /* the barrier: EOF when the parent closes it */
                _exit(3);
            if (oc_store_lock_wait(s, 20000, &e) != OC_OK) {
                fprintf(stderr, "lock: %s\n", e.message);
                _exit(1);
            }
            now = __sync_add_and_fetch(&r->inside, 1);
            while (now > r->most_inside)
                __sync_bool_compare_and_swap(&r->most_inside, r->most_inside, now);
            usleep(30 * 1000);
            __sync_sub_and_fetch(&r->inside, 1);
            __sync_add_and_fetch(&r->entered, 1);
            oc_store_unlock(s);
            oc_store_release(s);
            _exit(0);
        }
    }
    close(gate[0]);
    for (i = 0; i < 2000 && r->ready < PROCS; i++) /* every child at the barrier (10 s at most) */
        usleep(5 * 1000);
    usleep(20 * 1000); /* and blocked in its read */
    close(gate[1]);
    for (i = 0; i < PROCS; i++) {
        waitpid(pids[i], &status, 0);
        ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    CHECK(ok);
    CHECK_INT(r->entered, PROCS);
    CHECK_INT(r->most_inside, 1);
    munmap(r, sizeof *r);
}

/*
 * A reader never sees a torn settings file: one process loads the file in
 * a loop while another replaces it with large sets. Each load must be one
 * whole set, and the last load the last set saved. Written in place (truncate, then write) instead of a temporary
 * file renamed over it, the reader meets an empty or half-written file
 * within the first saves. The writer goes on until both sides did enough
 * (slow under valgrind, fast natively), at most 30 s.
 */
OC_TEST(readers_see_whole_sets_while_a_writer_replaces_them)
{
    enum { LEN = 60 * 1024, MIN_SAVES = 60, MIN_LOADS = 20 };
    struct race *r = shared_race();
    const char *path = path_in_tmp("torn/s.json");
    oc_store *w;
    oc_error err;
    pid_t reader;
    int status, i;
    int64_t started = oc_monotonic_ms(), deadline = started + 30000;
    CHECK_INT(oc_store_file_new(path, &w, &err), OC_OK);
    CHECK_INT(save_set(w, 0, LEN, &err), OC_OK);
    if ((reader = fork()) == 0) {
        oc_store *s;
        oc_error e;
        if (oc_store_file_new(path, &s, &e) != OC_OK)
            _exit(1);
        while (!r->stop) {
            if (load_set(s, LEN, &e) < 0 && __sync_add_and_fetch(&r->torn, 1) == 1)
                snprintf(r->first_error, sizeof r->first_error, "%s",
                         e.message[0] ? e.message : "a set that is not whole");
            __sync_add_and_fetch(&r->loads, 1);
        }
        oc_store_release(s);
        _exit(0);
    }
    for (i = 1; (i <= MIN_SAVES || r->loads < MIN_LOADS) && oc_monotonic_ms() < deadline; i++) {
        CHECK_INT(save_set(w, i, LEN, &err), OC_OK);
        r->saves = i;
        if (r->torn)
            break;
    }
    r->stop = 1;
    waitpid(reader, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (r->torn)
        fprintf(stderr, "torn loads: %d of %d (first: %s)\n", r->torn, r->loads, r->first_error);
    if (r->loads < MIN_LOADS || r->saves < MIN_SAVES)
        fprintf(stderr, "%d loads and %d saves in %lld ms\n", r->loads, r->saves,
                (long long)(oc_monotonic_ms() - started));
    CHECK_INT(r->torn, 0);
    CHECK(r->saves >= MIN_SAVES);
    CHECK(r->loads >= MIN_LOADS);
    /* and the file holds the last set saved */
    CHECK_INT(load_set(w, LEN, &err), r->saves % 26);
    oc_store_release(w);
    munmap(r, sizeof *r);
}
