/*
 * A minimal test harness: OC_TEST(name) { ... } defines a case that
 * registers itself; `test_x name` runs one case (ctest runs each separately,
 * see CMakeLists.txt), `test_x` runs all of them.
 */
#ifndef OC_TEST_H
#define OC_TEST_H

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

void oc_test_register(const char *name, void (*fn)(void));
void oc_test_fail(const char *file, int line, const char *what);
/* The first line of a header list that starts with prefix, or NULL. */
const char *oc_test_header(const struct curl_slist *list, const char *prefix);
/* A fresh private directory for the running case (removed at exit). */
const char *oc_test_tmpdir(void);
/* Ends the running case as skipped (exit status 77, ctest's SKIP_RETURN_CODE),
   saying why: for what this machine lacks, never for a check that failed.
   Checks that failed before it still fail the case. */
void oc_test_skip(const char *why);

#define OC_TEST(name)                                                              \
    static void test_##name(void);                                                 \
    __attribute__((constructor)) static void register_##name(void)                \
    {                                                                              \
        oc_test_register(#name, test_##name);                                      \
    }                                                                              \
    static void test_##name(void)

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond))                                                               \
            oc_test_fail(__FILE__, __LINE__, #cond);                               \
    } while (0)

#define CHECK_INT(a, b)                                                            \
    do {                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                        \
        if (a_ != b_) {                                                            \
            char m_[256];                                                          \
            snprintf(m_, sizeof m_, "%s == %s (%lld != %lld)", #a, #b, a_, b_);    \
            oc_test_fail(__FILE__, __LINE__, m_);                                  \
        }                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                            \
    do {                                                                           \
        const char *a_ = (a), *b_ = (b);                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                   \
            char m_[2048];                                                         \
            snprintf(m_, sizeof m_, "%s == %s (\"%s\" != \"%s\")", #a, #b,         \
                     a_ ? a_ : "(null)", b_ ? b_ : "(null)");                      \
            oc_test_fail(__FILE__, __LINE__, m_);                                  \
        }                                                                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                \
    do {                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                    \
        if (!h_ || !strstr(h_, n_)) {                                              \
            char m_[2048];                                                         \
            snprintf(m_, sizeof m_, "\"%s\" contains \"%s\"", h_ ? h_ : "(null)", n_); \
            oc_test_fail(__FILE__, __LINE__, m_);                                  \
        }                                                                          \
    } while (0)

#define CHECK_NOT_CONTAINS(hay, needle)                                            \
    do {                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                    \
        if (h_ && strstr(h_, n_)) {                                                \
            char m_[2048];                                                         \
            snprintf(m_, sizeof m_, "\"%s\" does not contain \"%s\"", h_, n_);     \
            oc_test_fail(__FILE__, __LINE__, m_);                                  \
        }                                                                          \
    } while (0)

#endif
