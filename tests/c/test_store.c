/* The settings file and the in-process store. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "oc_crypto.h"
#include "oc_store.h"
#include "oc_test.h"
#include "oc_time.h"

static char *path_in_tmp(const char *rel)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", oc_test_tmpdir(), rel);
    return buf;
}

static void sample(oc_token *t, const char *access)
{
    oc_token_init(t);
    t->access_token = oc_strdup(access);
    t->refresh_token = oc_strdup("RT");
    t->expires_in = 60;
    t->obtained_ms = 1000;
    t->expires_at_ms = 61000;
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
    oc_token t, back;
    oc_token_meta meta, got;
    oc_error err;
    struct stat st;
    char dir[600];
    int found = 0;
    const char *path = path_in_tmp("a/b/settings.json");
    CHECK_INT(oc_store_file_new(path, &s, &err), OC_OK);
    CHECK_INT(oc_store_load(s, &back, NULL, &found, &err), OC_OK);
    CHECK_INT(found, 0);
    sample(&t, "AT1");
    memset(&meta, 0, sizeof meta);
    memset(&got, 0, sizeof got);
    meta.provider = "jumpseller";
    meta.api_url = "https://api/v1";
    meta.seed = "seed1";
    CHECK_INT(oc_store_save(s, &t, &meta, NULL, &err), OC_OK);
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    snprintf(dir, sizeof dir, "%s/a/b", oc_test_tmpdir());
    CHECK_INT(stat(dir, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0700);
    oc_token_init(&back);
    CHECK_INT(oc_store_load(s, &back, &got, &found, &err), OC_OK);
    CHECK_INT(found, 1);
    CHECK_STR(back.access_token, "AT1");
    CHECK_STR(back.refresh_token, "RT");
    CHECK_STR(got.seed, "seed1");
    CHECK_STR(got.provider, "jumpseller");
    CHECK_STR(got.api_url, "https://api/v1");
    CHECK(got.token_url == NULL);
    oc_token_meta_clear(&got);
    oc_token_clear(&back);
    oc_token_clear(&t);
    oc_store_release(s);
}

OC_TEST(save_replaces_atomically_leaving_no_temp_files)
{
    oc_store *s;
    oc_token t;
    oc_error err;
    DIR *d;
    struct dirent *e;
    int entries = 0, i;
    CHECK_INT(oc_store_file_new(path_in_tmp("atomic/s.json"), &s, &err), OC_OK);
    for (i = 0; i < 20; i++) {
        sample(&t, i % 2 ? "odd" : "even");
        CHECK_INT(oc_store_save(s, &t, NULL, NULL, &err), OC_OK);
        oc_token_clear(&t);
    }
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
    CHECK_INT(oc_store_lock(s, 1000, &err), OC_OK); /* makes the directory */
    oc_store_unlock(s);
    f = fopen(path_in_tmp("stale/s.json.tmp.AbC123"), "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    CHECK_INT(oc_store_lock(s, 1000, &err), OC_OK);
    CHECK(access(path_in_tmp("stale/s.json.tmp.AbC123"), F_OK) != 0);
    oc_store_unlock(s);
    oc_store_release(s);
}

OC_TEST(corrupt_file_is_an_error_naming_it)
{
    oc_store *s;
    oc_token t;
    oc_error err;
    int found = 0;
    const char *path = path_in_tmp("corrupt.json");
    write_file(path, "{\"access_token\": \"AT\", ", 0600);
    CHECK_INT(oc_store_file_new(path, &s, &err), OC_OK);
    oc_token_init(&t);
    CHECK_INT(oc_store_load(s, &t, NULL, &found, &err), OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, path);
    CHECK_CONTAINS(err.message, "corrupt");
    CHECK_INT(found, 0);
    oc_store_release(s);
}

OC_TEST(refuses_symlink_and_loose_permissions)
{
    oc_store *s;
    oc_token t;
    oc_error err;
    int found;
    char target[600], dir[600];
    const char *link = path_in_tmp("link.json");
    snprintf(target, sizeof target, "%s/real.json", oc_test_tmpdir());
    write_file(target, "{\"access_token\":\"AT\"}", 0600);
    CHECK_INT(symlink(target, link), 0);
    oc_token_init(&t);
    CHECK_INT(oc_store_file_new(link, &s, &err), OC_OK);
    CHECK_INT(oc_store_load(s, &t, NULL, &found, &err), OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, "symbolic link");
    oc_store_release(s);

    write_file(path_in_tmp("loose.json"), "{\"access_token\":\"AT\"}", 0644);
    CHECK_INT(oc_store_file_new(path_in_tmp("loose.json"), &s, &err), OC_OK);
    CHECK_INT(oc_store_load(s, &t, NULL, &found, &err), OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, "mode 0644");
    oc_store_release(s);

    snprintf(dir, sizeof dir, "%s/groupw", oc_test_tmpdir());
    mkdir(dir, 0770);
    chmod(dir, 0770);
    CHECK_INT(oc_store_file_new(path_in_tmp("groupw/s.json"), &s, &err), OC_OK);
    sample(&t, "AT");
    CHECK_INT(oc_store_save(s, &t, NULL, NULL, &err), OC_E_SETTINGS);
    CHECK_CONTAINS(err.message, "writable by group or others");
    oc_token_clear(&t);
    oc_store_release(s);
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
    CHECK_INT(oc_store_lock(a, 100, &err), OC_OK);
    CHECK_INT(oc_store_lock(b, 50, &err), OC_E_LOCK);
    CHECK_CONTAINS(err.message, "timed out");
    pid = fork();
    if (pid == 0) {
        oc_store *c;
        oc_error e;
        oc_store_file_new(path, &c, &e);
        _exit(oc_store_lock(c, 50, &e) == OC_E_LOCK ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    oc_store_unlock(a);
    CHECK_INT(oc_store_lock(b, 100, &err), OC_OK);
    oc_store_unlock(b);
    oc_store_release(a);
    oc_store_release(b);
}

OC_TEST(memory_store_shares_and_locks)
{
    oc_store *m;
    oc_token t, back;
    oc_error err;
    int found;
    CHECK_INT(oc_store_memory_new("x", &m, &err), OC_OK);
    CHECK_STR(oc_store_where(m), "memory://x");
    oc_token_init(&back);
    CHECK_INT(oc_store_load(m, &back, NULL, &found, &err), OC_OK);
    CHECK_INT(found, 0);
    sample(&t, "AT");
    CHECK_INT(oc_store_save(m, &t, NULL, NULL, &err), OC_OK);
    CHECK_INT(oc_store_load(m, &back, NULL, &found, &err), OC_OK);
    CHECK_INT(found, 1);
    CHECK_STR(back.access_token, "AT");
    CHECK_INT(oc_store_lock(m, 10, &err), OC_OK);
    CHECK_INT(oc_store_lock(m, 10, &err), OC_E_LOCK);
    oc_store_unlock(m);
    CHECK_INT(oc_store_remove(m, &err), OC_OK);
    CHECK_INT(oc_store_load(m, &back, NULL, &found, &err), OC_OK);
    CHECK_INT(found, 0);
    oc_token_clear(&t);
    oc_token_clear(&back);
    oc_store_release(m);
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
    oc_token t, back;
    oc_error err;
    pthread_t th;
    int found;
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
    CHECK_INT(oc_store_lock(a, 0, &err), OC_OK);
    CHECK_INT(oc_store_lock(from_thread, 0, &err), OC_E_LOCK);
    oc_store_unlock(a);
    sample(&t, "AT-shared");
    CHECK_INT(oc_store_save(b, &t, NULL, NULL, &err), OC_OK);
    oc_token_clear(&t);
    /* with every client gone the tokens stay for the next one */
    oc_store_release(a);
    oc_store_release(b);
    oc_store_release(from_thread);
    oc_store_release(other);
    CHECK_INT(oc_store_memory_open("process-wide", &a, &err), OC_OK);
    oc_token_init(&back);
    CHECK_INT(oc_store_load(a, &back, NULL, &found, &err), OC_OK);
    CHECK_INT(found, 1);
    CHECK_STR(back.access_token, "AT-shared");
    oc_token_clear(&back);
    CHECK_INT(oc_store_memory_open("another", &other, &err), OC_OK);
    CHECK_INT(oc_store_load(other, &back, NULL, &found, &err), OC_OK);
    CHECK_INT(found, 0);
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

OC_TEST(memory_store_compare_and_set)
{
    oc_store *m;
    oc_token t;
    oc_error err;
    CHECK_INT(oc_store_memory_new("cas", &m, &err), OC_OK);
    sample(&t, "AT");
    CHECK_INT(oc_store_save(m, &t, NULL, NULL, &err), OC_OK); /* holds refresh token "RT" */
    CHECK_INT(oc_store_save(m, &t, NULL, "OTHER", &err), OC_E_CONFLICT);
    CHECK_CONTAINS(err.message, "newer token set");
    CHECK_INT(oc_store_save(m, &t, NULL, "RT", &err), OC_OK);
    oc_token_clear(&t);
    oc_store_release(m);
}

/*
 * The two promises of the settings file that only a race shows, each tested
 * so that breaking it fails on the first run, not by chance. Saving and
 * loading go through save_set()/load_set() alone, so a change of the store
 * interface touches these two functions, not the tests.
 */

/* Saves set number i: an access token of len bytes, all the letter of i,
   and a refresh token naming i. */
static oc_code save_set(oc_store *s, int i, size_t len, oc_error *err)
{
    oc_token t;
    oc_code rc;
    char rt[32];
    oc_token_init(&t);
    if (!(t.access_token = malloc(len + 1)))
        return OC_E_NOMEM;
    memset(t.access_token, 'a' + i % 26, len);
    t.access_token[len] = '\0';
    snprintf(rt, sizeof rt, "RT-%d", i % 26);
    t.refresh_token = oc_strdup(rt);
    t.expires_in = 60;
    rc = oc_store_save(s, &t, NULL, NULL, err);
    oc_token_clear(&t);
    return rc;
}

/* Loads the stored set: the number of the save_set it is whole from
   (modulo 26), or -1 when it is torn or unreadable (err says why when it is
   a load error). */
static int load_set(oc_store *s, size_t len, oc_error *err)
{
    oc_token t;
    int found = 0, whole = 0, which = -1;
    size_t i;
    oc_token_init(&t);
    err->message[0] = '\0';
    if (oc_store_load(s, &t, NULL, &found, err) == OC_OK && found && t.access_token &&
        t.refresh_token && strlen(t.access_token) == len) {
        char rt[32];
        snprintf(rt, sizeof rt, "RT-%d", t.access_token[0] - 'a');
        whole = strcmp(rt, t.refresh_token) == 0;
        for (i = 0; whole && i < len; i++)
            whole = t.access_token[i] == t.access_token[0];
        if (whole)
            which = t.access_token[0] - 'a';
    }
    oc_token_clear(&t);
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
            if (oc_store_lock(s, 20000, &e) != OC_OK) {
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
