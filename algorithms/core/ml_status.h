/* ml_status.h: the error vocabulary shared by every plantfit module.
 *
 * Every fallible function returns enum ml_status and takes `struct ml_err *err`
 * last; on failure it fills err->msg with a sentence that names the thing at
 * fault (file, row, column, key, value) and what was expected.  Library code
 * never prints or exits: only entrypoint/ turns an error into a message and an
 * exit status.  Pattern: GSL err/gsl_errno.h codes + sqlite3_errmsg-style text. */
#ifndef ML_STATUS_H
#define ML_STATUS_H

#include <stdarg.h>

enum ml_status {      /* append only: values appear in logs and files */
    ML_OK = 0,
    ML_EINVAL = 1,    /* bad argument or option value */
    ML_ENOMEM = 2,    /* allocation failed */
    ML_EIO = 3,       /* open/read/write/close failed */
    ML_EFORMAT = 4,   /* malformed CSV/JSON/HDF5 input */
    ML_EDOM = 5,      /* data outside the model's domain (NaN, wrong columns) */
    ML_ESING = 6,     /* matrix singular or not positive definite */
    ML_EMAXITER = 7,  /* iteration limit reached before tolerance */
    ML_ELIMIT = 8,    /* input exceeded a configured size cap */
    ML_EINTERNAL = 9, /* "cannot happen" condition caught and survived */
    ML_ESTOPPED = 10  /* interrupted on request (SIGTERM) */
};

#define ML_ERR_MSG_MAX 1024

struct ml_err {
    enum ml_status code;
    const char *file;          /* source file that raised it (static string) */
    int line;                  /* source line that raised it */
    char msg[ML_ERR_MSG_MAX];  /* human-readable reason, most useful part first */
};

#if defined(__GNUC__)
#define ML_ATTR_FORMAT(i, j) __attribute__((format(printf, i, j)))
#else
#define ML_ATTR_FORMAT(i, j)
#endif

/* Record an error in *err (if err is non-NULL) and return `code`. */
enum ml_status ml_fail(struct ml_err *err, enum ml_status code, const char *file, int line,
                       const char *fmt, ...) ML_ATTR_FORMAT(5, 6);

/* Prepend context to an existing message: "reading x.csv: " + old message. */
void ml_err_prefix(struct ml_err *err, const char *fmt, ...) ML_ATTR_FORMAT(2, 3);

/* Reset *err to ML_OK with an empty message. */
void ml_err_clear(struct ml_err *err);

const char *ml_status_str(enum ml_status code);

#define ML_FAIL(err, code, ...) return ml_fail((err), (code), __FILE__, __LINE__, __VA_ARGS__)

/* For conditions only a programmer can break; reports and aborts. */
#define ML_ASSERT(cond)                                                              \
    do {                                                                             \
        if (!(cond))                                                                 \
            ml_assert_fail(__FILE__, __LINE__, #cond);                               \
    } while (0)
_Noreturn void ml_assert_fail(const char *file, int line, const char *expr);

#endif
