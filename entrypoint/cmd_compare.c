/* cmd_compare.c: placeholder until `plantfit compare` lands (issue 5). */
#include <stdio.h>

#include "commands.h"

int cmd_compare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "plantfit compare: not built yet\n");
    return 2;
}
