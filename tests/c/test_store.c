/* The settings file and the in-process store. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "oc_crypto.h"
#include "oc_mem.h"
#include "oc_settings.h"
#include "oc_store.h"
#include "oc_test.h"
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
    oc_code rc;
    const char *cur = load_text(s, &rc, err);
    char expected[8192];
    if (rc != OC_OK)
        return rc;
    snprintf(expected, sizeof expected, "%s", cur ? cur : "");
    return oc_store_save(s, text, strlen(text), cur ? expected : NULL, cur ? strlen(expected) : 0,
                         cur != NULL, err);
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
