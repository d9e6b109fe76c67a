/* ml_temp.c: registry of temporary files for stop-signal cleanup (see
 * ml_temp.h).  Updates block SIGTERM and SIGINT so the handler never sees a
 * half-updated slot; the handler only reads slots and calls unlink(2). */
#include "ml_temp.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ML_TEMP_PATH_MAX 4096

static char temps[ML_TEMP_MAX][ML_TEMP_PATH_MAX];
static volatile sig_atomic_t used[ML_TEMP_MAX];

static void block(sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

void ml_temp_register(const char *path)
{
    sigset_t old;
    int k;

    block(&old);
    for (k = 0; k < ML_TEMP_MAX; k++)
        if (!used[k]) {
            snprintf(temps[k], sizeof temps[k], "%s", path);
            used[k] = 1;
            break;
        }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void ml_temp_unregister(const char *path)
{
    sigset_t old;
    int k;

    block(&old);
    for (k = 0; k < ML_TEMP_MAX; k++)
        if (used[k] && strcmp(temps[k], path) == 0)
            used[k] = 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void ml_temp_remove_all_signal_safe(void)
{
    int k;

    for (k = 0; k < ML_TEMP_MAX; k++)
        if (used[k])
            unlink(temps[k]);
}
