/* commands.h: the subcommands of the plantfit binary.  Each takes the
 * arguments after its name (argv[0] is the subcommand name) and returns the
 * process exit status.  Only entrypoint/ prints, parses argv or exits. */
#ifndef PF_COMMANDS_H
#define PF_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_sample_data(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* The plantfit version string and the commit the binary was built from
 * ("unknown" when built outside git). */
const char *pf_version(void);
const char *pf_build_commit(void);

#endif
