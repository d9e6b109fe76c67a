/* sm_config.h: the SageMaker training configuration files under
 * <base>/input/config: hyperparameters.json, inputdataconfig.json and
 * resourceconfig.json (anchors.md section 1).
 *
 * Hyperparameters.  SageMaker passes a flat JSON object whose values are all
 * strings; like the AWS training toolkit we decode each value as JSON and fall
 * back to the raw string when that fails ("0.1" -> 0.1, "true" -> true,
 * "[1,2]" -> list, "abc" -> "abc", "True" -> the string "True").  Non-string
 * values (as a hand-written local file may hold) are taken as they are.  At
 * most HP_MAX_KEYS keys; a key or a string value longer than HP_MAX_LEN
 * characters is refused.  Keys starting with "sagemaker_" and
 * "_tuning_objective_metric" are ignored (kept in `ignored`).  Every other key
 * must appear in the spec table; an unknown key fails with the list of valid
 * ones; a value of the wrong type or out of range names the key, the value
 * and what was expected. */
#ifndef PF_SM_CONFIG_H
#define PF_SM_CONFIG_H

#include <stddef.h>

#include "ml_status.h"

#define HP_MAX_KEYS 100
#define HP_MAX_LEN 256

enum hp_type {
    HP_INT,          /* integer within [min, max] */
    HP_FLOAT,        /* finite number within [min, max] */
    HP_BOOL,         /* true/false (JSON), or those words as strings in any case */
    HP_STRING,       /* any string; if choices is non-NULL, one of them */
    HP_STRING_LIST,  /* JSON list of strings, or one comma-separated string */
    HP_CHAR          /* a single character, e.g. a delimiter; "\t" and "tab" mean TAB;
                        also "comma", "semicolon", "pipe", "space" */
};

struct hp_spec {
    const char *name;
    enum hp_type type;
    const char *def;               /* default as the string SageMaker would pass; NULL = unset */
    double min, max;               /* HP_INT / HP_FLOAT bounds (inclusive) */
    const char *const *choices;    /* HP_STRING: NULL-terminated list, or NULL for any */
    const char *help;              /* one line for README and error messages */
};

struct hp_value {
    const struct hp_spec *spec;    /* borrowed from the spec table */
    int set;                       /* 1 if given by the user, 0 if default or unset */
    int has_value;                 /* 1 if given or defaulted */
    long long i;                   /* HP_INT */
    double f;                      /* HP_FLOAT (also set for HP_INT) */
    int b;                         /* HP_BOOL */
    char c;                        /* HP_CHAR */
    char *s;                       /* HP_STRING: owned; HP_* others: canonical text, owned */
    char **list;                   /* HP_STRING_LIST: owned strings */
    size_t nlist;
};

struct hp_set {
    size_t n;                      /* == nspec */
    struct hp_value *v;            /* owned, one per spec entry, same order */
    size_t nignored;
    char **ignored;                /* owned: names of the ignored sagemaker_* keys */
};

/* Parse and validate hyperparameters.json text (len bytes, need not be
 * NUL-terminated).  `path` names the file in messages.  Codes: ML_EFORMAT
 * (not JSON, not an object, duplicate key), ML_ELIMIT (key count or length
 * caps, nesting deeper than 32), ML_EINVAL (unknown key, bad value),
 * ML_EINTERNAL (bad spec table or default), ML_ENOMEM.  HP_BOOL also accepts
 * the strings "true"/"false" in any case ("True" is what the Python SDK
 * sends).  For HP_STRING, HP_CHAR and HP_STRING_LIST a value that decodes to
 * something other than a JSON string is taken verbatim ("0123" stays "0123").
 * *out is NULL on error, else freed with hp_set_free.  Memory comes from
 * cJSON_malloc. */
enum ml_status hp_parse(const char *text, size_t len, const char *path,
                        const struct hp_spec *spec, size_t nspec, struct hp_set **out,
                        struct ml_err *err);
void hp_set_free(struct hp_set *h);
/* The value for `name` (must be in the spec; NULL if not). */
const struct hp_value *hp_get(const struct hp_set *h, const char *name);

enum sm_input_mode { SM_MODE_FILE = 0, SM_MODE_FASTFILE = 1, SM_MODE_PIPE = 2 };
enum sm_content { SM_CONTENT_CSV = 0, SM_CONTENT_HDF5 = 1 };

#define SM_NAME_MAX 65 /* SageMaker allows 64-character channel names, plus the NUL */
/* CreateTrainingJob accepts at most 20 InputDataConfig channels. */
#define SM_MAX_CHANNELS 20
/* Cap on resourceconfig.json "hosts" (far above any real cluster) so a
 * malformed file cannot make us allocate without bound. */
#define SM_MAX_HOSTS 4096

struct sm_channel {
    char name[SM_NAME_MAX];        /* channel name as given ("train", "validation", ...) */
    enum sm_content content;       /* from ContentType; default text/csv */
    char content_type[128];        /* ContentType as given, or "" */
    int header;                    /* text/csv header=present (1) / absent (0); -1 not given */
    long label_size;               /* text/csv label_size=N; -1 not given */
    enum sm_input_mode mode;       /* TrainingInputMode, default File */
    char distribution[32];         /* S3DistributionType, default "FullyReplicated" */
    char compression[16];          /* CompressionType, default "None" */
    char record_wrapper[16];       /* RecordWrapperType, default "None" */
};

struct sm_input_config {
    size_t n;
    struct sm_channel *ch;         /* owned array of n channels */
};

/* Parse inputdataconfig.json.  Unknown content types fail naming the channel
 * and the value; so do an unknown TrainingInputMode, RecordIO wrapping, and
 * malformed ContentType parameters.  `{}` gives zero channels.  Channel names
 * are 1..SM_NAME_MAX-1 characters of [A-Za-z0-9._-]; at most SM_MAX_CHANNELS.
 * Unknown fields inside a channel are ignored.  On error *out is empty; on
 * success free it with sm_input_config_free. */
enum ml_status sm_input_config_parse(const char *text, size_t len, const char *path,
                                     struct sm_input_config *out, struct ml_err *err);
void sm_input_config_free(struct sm_input_config *c);
/* The channel named `name`, or NULL. */
const struct sm_channel *sm_input_config_find(const struct sm_input_config *c,
                                              const char *name);

struct sm_resource_config {
    char current_host[SM_NAME_MAX];
    size_t nhosts;
    char (*hosts)[SM_NAME_MAX];    /* owned array of nhosts names in file order (SageMaker
                                      writes them sorted); index = host rank */
    char network_interface_name[SM_NAME_MAX];
    char current_instance_type[SM_NAME_MAX];
    char current_group_name[SM_NAME_MAX];
};

/* Parse resourceconfig.json: current_host must be one of hosts; hosts
 * non-empty (at most SM_MAX_HOSTS) and unique; names shorter than
 * SM_NAME_MAX.  The optional string fields are "" when absent or null; other
 * keys (instance_groups, ...) are ignored.  On error *out is zeroed; on
 * success free it with sm_resource_config_free. */
enum ml_status sm_resource_config_parse(const char *text, size_t len, const char *path,
                                        struct sm_resource_config *out, struct ml_err *err);
void sm_resource_config_free(struct sm_resource_config *c);

#endif
