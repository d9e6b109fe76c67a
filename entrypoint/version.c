/* version.c: version strings (PF_BUILD_COMMIT comes from the Makefile). */
#include <stdio.h>

#include "commands.h"

#ifndef PF_BUILD_COMMIT
#define PF_BUILD_COMMIT ""
#endif

const char *pf_version(void)
{
    return "0.1.0";
}

const char *pf_build_commit(void)
{
    return PF_BUILD_COMMIT[0] ? PF_BUILD_COMMIT : "unknown";
}

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("plantfit %s (built from commit %s)\n", pf_version(), pf_build_commit());
    return 0;
}
