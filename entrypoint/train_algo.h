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
    /* For the model package (manifest, metrics.json); all optional. */
    cJSON *features;           /* owned array of the input column names the model reads */
    char *target;              /* owned: the target (GAM response, forest label), or NULL */
    cJSON *quality;            /* owned: {"regression_metrics": ...} or
                                  {"binary_classification_metrics": ...} (metrics/quality.h)
                                  of the validation channel when there is one, else train */
    const char *quality_channel; /* "validation" or "train" (static), with quality */
    size_t quality_rows;       /* rows the quality statistics were computed from */
    /* Seconds of the estimation alone (the model fit, without the metrics
     * and model file around it), or 0: recorded as the timing "fit:
     * estimation", the figure comparable with a reference library's fit. */
    double estimation_seconds;
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

/* The quality statistics of one channel, preferring validation: replaces
 * r->quality unless it already holds the validation channel's.  Takes `q`
 * (NULL: nothing to record). */
void train_set_quality(struct train_result *r, cJSON *q, const char *channel, size_t rows);

/* The `seed` hyperparameter (default 1). */
uint64_t train_seed(const struct hp_set *hp);

/* Remove uncommitted temporary files and free r's memory. */
void train_result_free(struct train_result *r);

/* ---- the model package (train_package.c) ---- */

/* The manifest's description of column `name` of t: name, type, count,
 * missing, and min/max/mean/sd (numeric; null when undefined) or nlevels and
 * up to 1000 levels (categorical).  NULL if t has no such column. */
cJSON *train_column_json(const struct ml_table *t, const char *name);
/* train_column_json for each name in the array `names` (unknown ones skipped). */
cJSON *train_features_json(const struct ml_table *t, const cJSON *names);
/* metrics.json: SageMaker's model-quality statistics shape ("version",
 * "dataset", "regression_metrics" | "binary_classification_metrics") when r
 * has quality statistics, plus "algorithm" and the flat "metrics". */
cJSON *train_metrics_doc(const struct train_result *r, uint64_t seed);

struct train_package_info {
    const char *algorithm;
    const char *commit_id;        /* NULL or "" when unknown: never invented */
    const char *commit_source;
    const char *job_name;         /* TRAINING_JOB_NAME or NULL */
    const char *repository;       /* GIT_URL or NULL */
    const char *branch;           /* GIT_BRANCH or NULL */
    const char *fingerprint;      /* data fingerprint, 64 hex */
    const char *formula;          /* GAM formula or NULL */
    const char *target;           /* or NULL */
    const char *quality_channel;  /* or NULL */
    const char *metrics_sha256;   /* of metrics.json when it holds quality statistics, else NULL */
    uint64_t seed;
};

/* output/data/model-package.json: ModelPackageDescription, MetadataProperties,
 * CustomerMetadataProperties and ModelMetrics as CreateModelPackage takes
 * them, and MlflowTags (README, "model-package.json"). */
cJSON *train_model_package_json(const struct train_package_info *in);

/* Algorithms. */
enum ml_status algo_profile_run(const struct train_input *in, struct train_result *r,
                                struct ml_err *err);
enum ml_status algo_gam_run(const struct train_input *in, struct train_result *r,
                            struct ml_err *err);
enum ml_status algo_iforest_run(const struct train_input *in, struct train_result *r,
                                struct ml_err *err);

#endif
