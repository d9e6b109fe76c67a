/* train_algo.h: what `plantfit train` hands to an algorithm and gets back.
 *
 * The driver (cmd_train.c) owns configuration, data ingestion and the
 * SageMaker outputs; an algorithm gets the parsed hyperparameters and the
 * channel tables, writes its model files under temporary names in the model
 * directory (fs_temp_name + fs_temp_register), and returns their names and
 * its metrics.  The driver renames the files into place only when everything
 * succeeded. */
#ifndef PF_TRAIN_ALGO_H
#define PF_TRAIN_ALGO_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "json/sm_config.h"
#include "ml_status.h"
#include "ml_table.h"

/* The algorithms this build can train, for the `algorithm` hyperparameter. */
#define TRAIN_ALGORITHM_NAMES "profile, gam, iforest"
#define TRAIN_ALGORITHM_DEFAULT "profile"

struct train_file {
    char *rel;                 /* path relative to the channel directory, owned */
    int is_hdf5;
    char sha256[65];           /* of the raw bytes as stored */
    uint64_t bytes;
    uint64_t rows;
    double seconds;
};

struct train_channel {
    char name[SM_NAME_MAX];
    const struct sm_channel *cfg;   /* borrowed from the input config */
    struct train_file *files;       /* owned, nfiles */
    size_t nfiles;
    struct ml_table *table;         /* owned: all files appended in sorted order */
};

struct train_input {
    const struct hp_set *hp;
    const struct train_channel *train;
    const struct train_channel *valid;  /* NULL without a validation channel */
    const char *model_dir;
};

#define TRAIN_MAX_FILES 16

struct train_model_file {
    char name[256];            /* final name inside the model directory */
    char tmp_path[4096];       /* where it was written, registered with fs_temp_register */
    char sha256[65];
    uint64_t bytes;
    int committed;             /* renamed into place by the driver */
};

struct train_result {
    const char *algorithm;                      /* static string */
    struct train_model_file files[TRAIN_MAX_FILES];
    size_t nfiles;
    cJSON *metrics;            /* owned object: "train.rows": 8000, ... (numbers only) */
};

/* The full hyperparameter table: common keys, then each algorithm's. */
const struct hp_spec *train_hp_spec(void);
size_t train_hp_count(void);

/* Run the algorithm named by the `algorithm` hyperparameter. */
enum ml_status train_algo_run(const struct train_input *in, struct train_result *r,
                              struct ml_err *err);

/* Write `len` bytes as model file `name` under a temporary name (registered
 * for removal on stop) and record it in r. */
enum ml_status train_add_model_file(struct train_result *r, const char *model_dir,
                                    const char *name, const void *data, size_t len,
                                    struct ml_err *err);

/* Record a model file another library wrote at tmp_path (a name from
 * fs_temp_name, registered with fs_temp_register); its SHA-256 and size are
 * taken from the file.  On error the file is removed. */
enum ml_status train_add_model_file_path(struct train_result *r, const char *name,
                                         const char *tmp_path, struct ml_err *err);

/* Remove uncommitted temporary files and free r's memory. */
void train_result_free(struct train_result *r);

/* Algorithms. */
enum ml_status algo_profile_run(const struct train_input *in, struct train_result *r,
                                struct ml_err *err);
enum ml_status algo_gam_run(const struct train_input *in, struct train_result *r,
                            struct ml_err *err);
enum ml_status algo_iforest_run(const struct train_input *in, struct train_result *r,
                                struct ml_err *err);

#endif
