/* cmd_inspect.c: placeholder until `plantfit inspect` lands (issue 5). */
#include <stdio.h>

#include "commands.h"

int cmd_inspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "plantfit inspect: not built yet\n");
    return 2;
}
