/* ml_status.c: error recording for the ml_status convention (see ml_status.h). */
#include "ml_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ml_status ml_fail(struct ml_err *err, enum ml_status code, const char *file, int line,
                       const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        err->file = file;
        err->line = line;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void ml_err_prefix(struct ml_err *err, const char *fmt, ...)
{
    char head[ML_ERR_MSG_MAX];
    char old[ML_ERR_MSG_MAX];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s%s", head, old);
}

void ml_err_clear(struct ml_err *err)
{
    if (!err)
        return;
    err->code = ML_OK;
    err->file = NULL;
    err->line = 0;
    err->msg[0] = '\0';
}

const char *ml_status_str(enum ml_status code)
{
    switch (code) {
    case ML_OK: return "ok";
    case ML_EINVAL: return "invalid argument";
    case ML_ENOMEM: return "out of memory";
    case ML_EIO: return "input/output error";
    case ML_EFORMAT: return "malformed input";
    case ML_EDOM: return "data outside the model's domain";
    case ML_ESING: return "singular matrix";
    case ML_EMAXITER: return "iteration limit reached";
    case ML_ELIMIT: return "size limit exceeded";
    case ML_EINTERNAL: return "internal error";
    case ML_ESTOPPED: return "stopped";
    }
    return "unknown status";
}

void ml_assert_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}
