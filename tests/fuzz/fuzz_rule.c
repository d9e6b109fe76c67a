/* fuzz_rule.c: libFuzzer target for the champion/challenger rule parser
 * (metrics/rule.c): the input is the rule text.  Besides crashes, leaks and
 * UB, a rule that parses must evaluate (every metric available, value 1 for
 * the new model and 2 for the baseline) without error, give one reason per
 * clause, and say pass = 1 exactly when every reason ends in "holds".
 * Corpus: tests/fuzz/corpus/fuzz_rule/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lookup(void *ctx, int side, const char *metric, double *out)
{
    (void)ctx;
    (void)metric;
    *out = side ? 2.0 : 1.0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct rule *r = NULL;
    struct ml_err err;
    char **reasons = NULL;
    size_t n = 0, i;
    int pass = -1, all = 1;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (rule_parse(text, &r, &err) == ML_OK) {
        /* Division by zero and overflow can make a side infinite or NaN: the
         * evaluator must then report, not crash. */
        if (rule_eval(r, lookup, NULL, &pass, &reasons, &n, &err) == ML_OK) {
            if (n == 0 || (pass != 0 && pass != 1))
                abort();
            for (i = 0; i < n; i++) {
                size_t l = reasons[i] ? strlen(reasons[i]) : 0;
                if (!reasons[i] || l < 5)
                    abort();
                all &= strcmp(reasons[i] + l - 5, "holds") == 0;
                free(reasons[i]);
            }
            free(reasons);
            if (all != pass)
                abort();
        }
        rule_free(r);
    }
    free(text);
    return 0;
}
