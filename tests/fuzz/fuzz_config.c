/* fuzz_config.c: libFuzzer target for io/json/sm_config.c.
 *
 * Input layout: byte 0 selects the parser by its low two bits: 0
 * hyperparameters.json (with a built-in spec table holding every hp_type),
 * 1 inputdataconfig.json, 2 resourceconfig.json, 3 all three on the same
 * text.  If bit 0x40 of byte 0 is set, byte 1 is an allocation budget: the
 * allocation after that many succeeds fails (through cJSON_InitHooks), so the
 * ML_ENOMEM paths get fuzzed too.  The rest is the file text.  Seeds use '0',
 * '1', '2', '3' (and '@', 'A', 'B' plus a budget byte).
 *
 * Besides crashes, leaks and UB, the target aborts when a parser returns
 * ML_OK with a result that breaks the header's promises (value out of range,
 * current_host not among hosts, ...) or fails without a message. */
#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/sm_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const choices[] = {"identity", "logit", "log", NULL};

static const struct hp_spec SPEC[] = {
    {"n_trees", HP_INT, "100", 1, 100000, NULL, "number of trees"},
    {"seed", HP_INT, "0", -INFINITY, INFINITY, NULL, "random seed"},
    {"lambda", HP_FLOAT, "1", 0, 1e12, NULL, "smoothing"},
    {"tol", HP_FLOAT, NULL, -INFINITY, INFINITY, NULL, "tolerance"},
    {"verbose", HP_BOOL, "false", 0, 0, NULL, "print progress"},
    {"link", HP_STRING, "identity", 0, 0, choices, "link function"},
    {"commit_id", HP_STRING, NULL, 0, 0, NULL, "commit"},
    {"columns", HP_STRING_LIST, "a,b", 0, 0, NULL, "columns"},
    {"delimiter", HP_CHAR, ",", 0, 0, NULL, "delimiter"},
    {"sagemaker_container_log_level", HP_INT, NULL, 0, 50, NULL, "log level"},
};
#define NSPEC (sizeof SPEC / sizeof SPEC[0])

static long budget = -1; /* allocations that may still succeed; <0 = unlimited */

static void *fuzz_malloc(size_t n)
{
    if (budget == 0)
        return NULL;
    if (budget > 0)
        budget--;
    return malloc(n);
}

static void fuzz_free(void *p)
{
    free(p);
}

#define REQUIRE(cond)                                                                  \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

static void check_err(enum ml_status st, const struct ml_err *err)
{
    if (st == ML_OK)
        return;
    REQUIRE(err->code == st);
    REQUIRE(memchr(err->msg, '\0', sizeof err->msg) != NULL);
    REQUIRE(err->msg[0] != '\0');
    REQUIRE(st != ML_EINTERNAL); /* our spec table and defaults are good */
}

static void check_hp(const struct hp_set *h)
{
    size_t k, j;

    REQUIRE(h->n == NSPEC);
    for (k = 0; k < h->n; k++) {
        const struct hp_value *v = &h->v[k];
        const struct hp_spec *sp = v->spec;
        REQUIRE(sp == &SPEC[k]);
        REQUIRE(hp_get(h, sp->name) == v);
        if (!v->has_value) {
            REQUIRE(!v->set && !sp->def && v->s == NULL);
            continue;
        }
        REQUIRE(v->s != NULL);
        switch (sp->type) {
        case HP_INT:
            REQUIRE((double)v->i >= sp->min && (double)v->i <= sp->max);
            break;
        case HP_FLOAT:
            REQUIRE(isfinite(v->f) && v->f >= sp->min && v->f <= sp->max);
            break;
        case HP_BOOL:
            REQUIRE(v->b == 0 || v->b == 1);
            break;
        case HP_STRING:
            if (sp->choices) {
                for (j = 0; sp->choices[j] && strcmp(sp->choices[j], v->s) != 0; j++)
                    ;
                REQUIRE(sp->choices[j] != NULL);
            }
            break;
        case HP_STRING_LIST:
            REQUIRE(v->nlist == 0 || v->list != NULL);
            for (j = 0; j < v->nlist; j++)
                REQUIRE(v->list[j] && v->list[j][0] != '\0');
            break;
        case HP_CHAR:
            REQUIRE(v->c == '\t' || (v->c >= 0x20 && v->c < 0x7F));
            REQUIRE(v->s[0] == v->c && v->s[1] == '\0');
            break;
        }
    }
    for (k = 0; k < h->nignored; k++)
        REQUIRE(strncmp(h->ignored[k], "sagemaker_", 10) == 0 ||
                strncmp(h->ignored[k], "_tuning_objective_metric", 24) == 0);
}

static void check_input(const struct sm_input_config *c)
{
    size_t k, j;

    REQUIRE(c->n <= SM_MAX_CHANNELS);
    for (k = 0; k < c->n; k++) {
        const struct sm_channel *ch = &c->ch[k];
        size_t n = strlen(ch->name);
        REQUIRE(n > 0 && n < SM_NAME_MAX);
        REQUIRE(strspn(ch->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789._-") == n);
        REQUIRE(sm_input_config_find(c, ch->name) == ch);
        for (j = 0; j < k; j++)
            REQUIRE(strcmp(c->ch[j].name, ch->name) != 0);
        REQUIRE(ch->content == SM_CONTENT_CSV || ch->content == SM_CONTENT_HDF5);
        REQUIRE(ch->mode == SM_MODE_FILE || ch->mode == SM_MODE_FASTFILE ||
                ch->mode == SM_MODE_PIPE);
        REQUIRE(ch->header >= -1 && ch->header <= 1);
        REQUIRE(ch->label_size >= -1);
        REQUIRE(strcmp(ch->record_wrapper, "None") == 0);
    }
}

static void check_resource(const struct sm_resource_config *r)
{
    size_t k, j, found = 0;

    REQUIRE(r->nhosts >= 1 && r->nhosts <= SM_MAX_HOSTS);
    for (k = 0; k < r->nhosts; k++) {
        REQUIRE(r->hosts[k][0] != '\0');
        found += strcmp(r->hosts[k], r->current_host) == 0;
        for (j = 0; j < k; j++)
            REQUIRE(strcmp(r->hosts[j], r->hosts[k]) != 0);
    }
    REQUIRE(found == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int hooked;
    struct ml_err err;
    enum ml_status st;
    const char *text;
    size_t len;
    int sel;

    if (size < 1)
        return 0;
    if (!hooked) {
        cJSON_Hooks hooks = {fuzz_malloc, fuzz_free};
        cJSON_InitHooks(&hooks);
        hooked = 1;
    }
    sel = data[0] & 3;
    budget = -1;
    text = (const char *)data + 1;
    len = size - 1;
    if (data[0] & 0x40) {
        if (size < 2)
            return 0;
        budget = data[1];
        text++;
        len--;
    }

    if (sel == 0 || sel == 3) {
        struct hp_set *h = NULL;
        memset(&err, 0, sizeof err);
        st = hp_parse(text, len, "hyperparameters.json", SPEC, NSPEC, &h, &err);
        check_err(st, &err);
        REQUIRE((st == ML_OK) == (h != NULL));
        if (h)
            check_hp(h);
        hp_set_free(h);
    }
    if (sel == 1 || sel == 3) {
        struct sm_input_config c;
        memset(&err, 0, sizeof err);
        st = sm_input_config_parse(text, len, "inputdataconfig.json", &c, &err);
        check_err(st, &err);
        if (st == ML_OK)
            check_input(&c);
        else
            REQUIRE(c.n == 0 && c.ch == NULL);
        sm_input_config_free(&c);
    }
    if (sel == 2 || sel == 3) {
        struct sm_resource_config r;
        memset(&err, 0, sizeof err);
        st = sm_resource_config_parse(text, len, "resourceconfig.json", &r, &err);
        check_err(st, &err);
        if (st == ML_OK)
            check_resource(&r);
        else
            REQUIRE(r.nhosts == 0 && r.hosts == NULL);
        sm_resource_config_free(&r);
    }
    budget = -1;
    return 0;
}
