/* test_main.c: runs the self-registered unit tests (see test.h).
 * Usage: test_runner [filter]; exit status 1 if any case failed. */
#include "test.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TESTS 1024

static struct test_case cases[MAX_TESTS];
static size_t ncases;
static int current_failed;
static char tmp_root[256];
static unsigned tmp_count;

void test_register(const char *suite, const char *name, void (*fn)(void))
{
    if (ncases == MAX_TESTS) {
        fprintf(stderr, "too many tests: raise MAX_TESTS\n");
        abort();
    }
    cases[ncases].suite = suite;
    cases[ncases].name = name;
    cases[ncases].fn = fn;
    ncases++;
}

void test_check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stdout, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    current_failed = 1;
}

const char *test_dir(void)
{
    const char *d = getenv("PF_TEST_DIR");
    return d ? d : "tests";
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    chmod(path, 0700);
    return remove(path);
}

static void tmp_cleanup(void)
{
    if (tmp_root[0] && !getenv("PF_KEEP_TMP"))
        nftw(tmp_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_tmpdir(void)
{
    static char path[512];

    if (!tmp_root[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmp_root, sizeof tmp_root, "%s/plantfit-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmp_root)) {
            perror("mkdtemp");
            abort();
        }
        atexit(tmp_cleanup);
    }
    snprintf(path, sizeof path, "%s/t%u", tmp_root, tmp_count++);
    if (mkdir(path, 0755) != 0) {
        perror(path);
        abort();
    }
    return path;
}

const char *test_shared_datasets(void)
{
    static char path[512];
    const char *d = getenv("PF_SHARED_DATASETS");
    struct stat sb;

    snprintf(path, sizeof path, "%s", d ? d : "../shared/datasets");
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return path;
    return NULL;
}

static int skipped;

void test_skip(const char *why)
{
    printf("    SKIPPED: %s\n", why);
    skipped = 1;
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    size_t i, passed = 0, failed = 0, nskipped = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (i = 0; i < ncases; i++) {
        char full[256];
        snprintf(full, sizeof full, "%s.%s", cases[i].suite, cases[i].name);
        if (filter && !strstr(full, filter))
            continue;
        current_failed = 0;
        skipped = 0;
        cases[i].fn();
        if (current_failed) {
            printf("FAIL %s\n", full);
            failed++;
        } else if (skipped) {
            printf("skip %s\n", full);
            nskipped++;
        } else {
            printf("ok   %s\n", full);
            passed++;
        }
    }
    printf("unit: %zu passed, %zu failed, %zu skipped\n", passed, failed, nskipped);
    return failed ? 1 : 0;
}
