/* main.c: dispatch to a subcommand.  Invoked as `train` (the name SageMaker
 * runs: `docker run IMAGE train`) it is `plantfit train`. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
};

static const struct command commands[] = {
    {"train", cmd_train, "train a model following the SageMaker training contract"},
    {"convert", cmd_convert, "convert IN.csv OUT.h5 (or back) between CSV and HDF5"},
    {"predict", cmd_predict, "score rows with every model in --model DIR (CSV or JSON Lines)"},
    {"inspect", cmd_inspect, "summarise a model directory: --model DIR [--json]"},
    {"compare", cmd_compare, "champion/challenger: --model NEW --baseline OLD --data FILE"},
    {"sample-data", cmd_sample_data, "write synthetic plant data: --rows N --seed S --out DIR"},
    {"version", cmd_version, "print the version and build commit"},
};

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: plantfit COMMAND [ARGS]\n\ncommands:\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`plantfit COMMAND --help` describes each; invoked as `train`, runs train.\n");
}

int main(int argc, char **argv)
{
    const char *self = strrchr(argv[0], '/');
    size_t i;

    self = self ? self + 1 : argv[0];
    if (strcmp(self, "train") == 0)
        return cmd_train(argc, argv);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "plantfit: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
