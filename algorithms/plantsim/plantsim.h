/* plantsim.h: deterministic synthetic data shaped like the plant.
 *
 * plantsim_generate simulates a two-stage catalytic air-oxidation reactor
 * train followed by a vacuum evaporator that concentrates the product, run in
 * campaigns on two lines ("A" and "B"), and returns one row per sample
 * period: the measured inputs (flows, temperatures, pressures, feed purity),
 * the four outputs the models predict (oxidation1, oxidation2, concentration,
 * yield) and a 0/1 label `abnormal` for rows inside an abnormal episode
 * (sensor fault, process upset or run outside the operating envelope).  The
 * process model, every column and the episode kinds are described in
 * plantsim.c and datasets/README.md.
 *
 * Values are rounded to each sensor's precision (plantsim_columns gives the
 * number of decimals), and a few sensors have short gaps (NaN = missing).
 *
 * Determinism: the table is a pure function of the options.  Only the
 * seeded ml_rng streams, IEEE arithmetic (+ - * / sqrt, round) and glibc's
 * exp/log/sin/fmod are used, so the same options give bit-identical tables
 * on every platform with the same libm.  The random draws of the normal
 * process do not depend on abnormal_fraction or missing_fraction.
 *
 * Pure library: no I/O, no printing; thread-safe (no global state). */
#ifndef ML_PLANTSIM_H
#define ML_PLANTSIM_H

#include <stddef.h>
#include <stdint.h>

#include "ml_status.h"
#include "ml_table.h"

/* Upper limit of `rows`: 1e8 rows are about 15 GB of doubles. */
#define PLANTSIM_MAX_ROWS ((size_t)100000000)
/* Specification limit of the `concentration` output (by-product in the
 * concentrated product, wt%): the optimizer keeps predictions below it. */
#define PLANTSIM_CONCENTRATION_LIMIT 3.0

struct plantsim_options {
    size_t rows;              /* samples to generate, 1..PLANTSIM_MAX_ROWS; default 10000 */
    uint64_t seed;            /* any value; default 1 */
    double abnormal_fraction; /* share of rows inside abnormal episodes, [0, 0.5]; default 0.03 */
    double sample_period;     /* seconds between rows, [1, 3600]; default 60 */
    double missing_fraction;  /* share of missing cells in each gappy sensor
                                 (air_flow, feed_purity, reactor2_pressure,
                                 coolant_temp), [0, 0.05]; default 0.002 */
};

/* Fill *o with the defaults listed above. */
void plantsim_options_default(struct plantsim_options *o);

enum plantsim_role {
    PLANTSIM_ROLE_INDEX = 0,  /* time, line: bookkeeping, not a process measurement */
    PLANTSIM_ROLE_INPUT = 1,  /* measured process input (model feature) */
    PLANTSIM_ROLE_OUTPUT = 2, /* model target */
    PLANTSIM_ROLE_LABEL = 3   /* the abnormal label */
};

struct plantsim_column {
    const char *name;         /* column name in the table (static string) */
    const char *unit;         /* unit ("-" when dimensionless; static string) */
    int decimals;             /* values are rounded to this many decimals */
    enum plantsim_role role;
    const char *meaning;      /* one-line description (static string) */
};

/* The columns plantsim_generate produces, in table order; *ncol is set to
 * their number.  Static storage: do not free. */
const struct plantsim_column *plantsim_columns(size_t *ncol);

/* Generate the table.  On success *out is a new table (free with
 * ml_table_free) with the columns of plantsim_columns(); `line` is
 * categorical with levels "A" (code 0) and "B" (code 1), every other column
 * numeric.  Errors: ML_EINVAL for an option outside its range (the message
 * names it and the value), ML_ELIMIT for rows > PLANTSIM_MAX_ROWS, ML_ENOMEM.
 * *out is NULL on failure. */
enum ml_status plantsim_generate(const struct plantsim_options *o, struct ml_table **out,
                                 struct ml_err *err);

#endif
