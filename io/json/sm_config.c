/* sm_config.c: the three SageMaker training configuration files read through
 * cJSON (anchors.md section 1.1-1.2): hp_parse for hyperparameters.json,
 * sm_input_config_parse for inputdataconfig.json and sm_resource_config_parse
 * for resourceconfig.json.
 *
 * Every text first goes through js_check, a strict RFC 8259 syntax check of
 * our own, and only then through cJSON, which builds the tree.  Two reasons:
 * cJSON accepts things json.loads refuses ("01", "+1", ".5", raw control
 * characters), and the toolkit's decode rule for hyperparameter values is
 * "json.loads, else keep the string", so the check must be as strict as
 * Python's to give the same answer; and once the syntax is known to be good a
 * NULL from cJSON can only mean it ran out of memory, so that is reported as
 * ML_ENOMEM rather than as a parse error.  The check also reports what is wrong
 * and where (line, column, excerpt), and caps nesting at SM_JSON_MAX_DEPTH so
 * cJSON's recursion stays shallow.
 *
 * Known differences from json.loads, all on inputs no SageMaker client sends:
 * NaN/Infinity are not JSON here (they stay strings, and a float
 * hyperparameter must be finite anyway); numbers longer than 63 characters are
 * refused (cJSON's own limit); lone UTF-16 surrogates in \u escapes, \u0000
 * (a C string would end there) and invalid UTF-8 are refused.
 *
 * All memory comes from cJSON_malloc/cJSON_free so that a test can make the
 * Nth allocation fail through cJSON_InitHooks (CU "torture"), ours and
 * cJSON's alike.  Numbers are parsed with strtod/strtoll; the program never
 * calls setlocale(LC_NUMERIC), so the decimal point is '.' (checked: a number
 * strtod does not consume entirely is ML_EINTERNAL).
 *
 * Not thread-safe against concurrent cJSON_InitHooks; cJSON itself writes a
 * process-wide error pointer on failed parses, which we never read. */
#include "sm_config.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Config files nest at most 4 levels (resourceconfig.json instance_groups[].hosts[]);
 * 32 leaves room for fields SageMaker may add and stays far below cJSON's
 * CJSON_NESTING_LIMIT (1000), past which cJSON fails without saying why. */
#define SM_JSON_MAX_DEPTH 32

/* cJSON's parse_number copies at most 63 characters before calling strtod. */
#define SM_JSON_MAX_NUMBER 63

/* Longest excerpt of outside text quoted in an error message, in characters. */
#define SM_EXCERPT_CHARS 40

static const char *path_or(const char *path)
{
    return path ? path : "<config>";
}

static void *cfg_alloc(size_t n)
{
    return cJSON_malloc(n ? n : 1);
}

static char *cfg_strndup(const char *s, size_t n)
{
    char *d = cfg_alloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ------------------------------------------------------------------------ */
/* Message excerpts                                                          */

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0.
 * Overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len, k;
    unsigned cp;

    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3Fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

/* Number of characters (UTF-8 code points; a stray byte counts as one) in s. */
static size_t utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, count = 0;

    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        i += k ? k : 1;
        count++;
    }
    return count;
}

/* Copy at most `max` characters of s[0..n) into dst for quoting in a message:
 * printable ASCII and valid UTF-8 stay, '"' and '\' are escaped, control
 * characters become \t, \n, \r or \xNN, and "..." marks a cut.  A message
 * must stay one readable line whatever the input holds. */
static void excerpt(char *dst, size_t cap, const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, used = 0, chars = 0;

    if (cap == 0)
        return;
    dst[0] = '\0';
    while (i < n) {
        char tmp[8];
        size_t k = utf8_seq(p + i, n - i), tl;

        if (chars == max || used + 4 + 3 >= cap) {
            if (used + 3 < cap)
                memcpy(dst + used, "...", 4);
            return;
        }
        if (k > 1) {
            memcpy(tmp, p + i, k);
            tl = k;
        } else if (p[i] == '"' || p[i] == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)p[i];
            tl = 2;
            k = 1;
        } else if (p[i] >= 0x20 && p[i] < 0x7F) {
            tmp[0] = (char)p[i];
            tl = 1;
            k = 1;
        } else {
            const char *esc = p[i] == '\t' ? "\\t" : p[i] == '\n' ? "\\n" : p[i] == '\r' ? "\\r"
                                                                                      : NULL;
            if (esc)
                tl = (size_t)snprintf(tmp, sizeof tmp, "%s", esc);
            else
                tl = (size_t)snprintf(tmp, sizeof tmp, "\\x%02X", p[i]);
            k = 1;
        }
        if (used + tl + 4 >= cap) {
            if (used + 3 < cap)
                memcpy(dst + used, "...", 4);
            return;
        }
        memcpy(dst + used, tmp, tl);
        used += tl;
        dst[used] = '\0';
        i += k;
        chars++;
    }
}

static void excerpt_str(char *dst, size_t cap, const char *s)
{
    excerpt(dst, cap, s, strlen(s), SM_EXCERPT_CHARS);
}

/* ------------------------------------------------------------------------ */
/* Strict JSON syntax check                                                  */

enum jkind { JK_NONE, JK_OBJECT, JK_ARRAY, JK_STRING, JK_NUMBER, JK_TRUE, JK_FALSE, JK_NULL };

struct jscan {
    const unsigned char *s;    /* text, not necessarily NUL-terminated */
    size_t n;                  /* its length in bytes */
    size_t i;                  /* read position; on failure, where the fault is */
    int depth;                 /* current array/object nesting */
    const char *why;           /* out: what is wrong, on failure */
    int too_deep;              /* out: 1 if the failure is the nesting cap */
    size_t top_start, top_end; /* out: byte span of the top-level value */
};

static int js_fail(struct jscan *j, size_t at, const char *why)
{
    j->i = at;
    j->why = why;
    return 0;
}

static void js_ws(struct jscan *j)
{
    while (j->i < j->n &&
           (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static int js_hex4(struct jscan *j, unsigned *out)
{
    unsigned v = 0;
    size_t k;

    for (k = 0; k < 4; k++) {
        int c = j->i < j->n ? j->s[j->i] : -1;
        if (c >= '0' && c <= '9')
            v = v * 16 + (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v = v * 16 + (unsigned)(c - 'A' + 10);
        else
            return js_fail(j, j->i, "\\u must be followed by 4 hex digits");
        j->i++;
    }
    *out = v;
    return 1;
}

static int js_string(struct jscan *j)
{
    size_t start = j->i;

    j->i++; /* opening quote */
    for (;;) {
        size_t k;
        unsigned char c;

        if (j->i >= j->n)
            return js_fail(j, start, "unterminated string");
        c = j->s[j->i];
        if (c == '"') {
            j->i++;
            return 1;
        }
        if (c < 0x20)
            return js_fail(j, j->i, "control character in a string (write it as an escape)");
        if (c == '\\') {
            size_t esc = j->i;
            unsigned u, lo;

            if (++j->i >= j->n)
                return js_fail(j, start, "unterminated string");
            switch (j->s[j->i]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                j->i++;
                break;
            case 'u':
                j->i++;
                if (!js_hex4(j, &u))
                    return 0;
                /* A C string would silently end at the NUL. */
                if (u == 0)
                    return js_fail(j, esc, "\\u0000 (NUL) is not allowed in a string");
                /* cJSON refuses unpaired surrogates, so we do too. */
                if (u >= 0xDC00 && u <= 0xDFFF)
                    return js_fail(j, esc, "unpaired UTF-16 surrogate in a \\u escape");
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (j->i + 1 >= j->n || j->s[j->i] != '\\' || j->s[j->i + 1] != 'u')
                        return js_fail(j, esc, "unpaired UTF-16 surrogate in a \\u escape");
                    j->i += 2;
                    if (!js_hex4(j, &lo))
                        return 0;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return js_fail(j, esc, "unpaired UTF-16 surrogate in a \\u escape");
                }
                break;
            default:
                return js_fail(j, esc, "invalid escape in a string");
            }
            continue;
        }
        k = utf8_seq(j->s + j->i, j->n - j->i);
        if (k == 0)
            return js_fail(j, j->i, "invalid UTF-8 in a string");
        j->i += k;
    }
}

static int js_digits(struct jscan *j)
{
    size_t start = j->i;
    while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
        j->i++;
    return j->i > start;
}

static int js_number(struct jscan *j)
{
    size_t start = j->i;

    if (j->s[j->i] == '-')
        j->i++;
    if (j->i < j->n && j->s[j->i] == '0') {
        j->i++;
    } else if (!js_digits(j)) {
        return js_fail(j, start, "invalid number");
    }
    if (j->i < j->n && j->s[j->i] == '.') {
        j->i++;
        if (!js_digits(j))
            return js_fail(j, start, "invalid number (digits must follow '.')");
    }
    if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
        j->i++;
        if (j->i < j->n && (j->s[j->i] == '+' || j->s[j->i] == '-'))
            j->i++;
        if (!js_digits(j))
            return js_fail(j, start, "invalid number (digits must follow the exponent)");
    }
    if (j->i - start > SM_JSON_MAX_NUMBER)
        return js_fail(j, start, "number longer than 63 characters");
    return 1;
}

static int js_literal(struct jscan *j, const char *lit)
{
    size_t n = strlen(lit);
    if (j->n - j->i < n || memcmp(j->s + j->i, lit, n) != 0)
        return js_fail(j, j->i, "unexpected character");
    j->i += n;
    return 1;
}

static int js_value(struct jscan *j, enum jkind *kind);

static int js_container(struct jscan *j, int is_object)
{
    char close = is_object ? '}' : ']';
    enum jkind k;

    if (++j->depth > SM_JSON_MAX_DEPTH) {
        j->too_deep = 1;
        return js_fail(j, j->i, "nested too deeply");
    }
    j->i++;
    js_ws(j);
    if (j->i < j->n && j->s[j->i] == close) {
        j->i++;
        j->depth--;
        return 1;
    }
    for (;;) {
        js_ws(j);
        if (is_object) {
            if (j->i >= j->n || j->s[j->i] != '"')
                return js_fail(j, j->i, "expected a string in double quotes as object key");
            if (!js_string(j))
                return 0;
            js_ws(j);
            if (j->i >= j->n || j->s[j->i] != ':')
                return js_fail(j, j->i, "expected ':' after an object key");
            j->i++;
            js_ws(j);
        }
        if (!js_value(j, &k))
            return 0;
        js_ws(j);
        if (j->i < j->n && j->s[j->i] == ',') {
            j->i++;
            continue;
        }
        if (j->i < j->n && j->s[j->i] == close) {
            j->i++;
            j->depth--;
            return 1;
        }
        return js_fail(j, j->i, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int js_value(struct jscan *j, enum jkind *kind)
{
    int c = j->i < j->n ? j->s[j->i] : -1;

    switch (c) {
    case -1:
        return js_fail(j, j->i, "unexpected end of input (expected a value)");
    case '{':
        *kind = JK_OBJECT;
        return js_container(j, 1);
    case '[':
        *kind = JK_ARRAY;
        return js_container(j, 0);
    case '"':
        *kind = JK_STRING;
        return js_string(j);
    case 't':
        *kind = JK_TRUE;
        return js_literal(j, "true");
    case 'f':
        *kind = JK_FALSE;
        return js_literal(j, "false");
    case 'n':
        *kind = JK_NULL;
        return js_literal(j, "null");
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            *kind = JK_NUMBER;
            return js_number(j);
        }
        return js_fail(j, j->i, "unexpected character (expected a value)");
    }
}

/* Check that s[0..n) is exactly one JSON value with optional surrounding
 * whitespace (and, if allow_bom, a leading UTF-8 byte-order mark, which
 * Windows editors write and cJSON skips).  Returns its kind, or JK_NONE with
 * j->why and j->i describing the fault. */
static enum jkind js_check(struct jscan *j, const char *s, size_t n, int allow_bom)
{
    enum jkind kind = JK_NONE;

    memset(j, 0, sizeof *j);
    j->s = (const unsigned char *)s;
    j->n = n;
    if (allow_bom && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        j->i = 3;
    js_ws(j);
    j->top_start = j->i;
    if (!js_value(j, &kind))
        return JK_NONE;
    j->top_end = j->i;
    js_ws(j);
    if (j->i < j->n) {
        js_fail(j, j->i, "unexpected text after the JSON value");
        return JK_NONE;
    }
    return kind;
}

/* Fill err with a syntax error at byte j->i of the text, as line and column
 * (1-based, columns in bytes) plus an excerpt of what follows. */
static enum ml_status js_error(const struct jscan *j, const char *path, struct ml_err *err)
{
    size_t line = 1, col = 1, k, end;
    char near[128];

    for (k = 0; k < j->i && k < j->n; k++) {
        if (j->s[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    if (j->too_deep)
        ML_FAIL(err, ML_ELIMIT, "%s: JSON nested deeper than %d levels at line %zu, column %zu",
                path, SM_JSON_MAX_DEPTH, line, col);
    if (j->i >= j->n)
        ML_FAIL(err, ML_EFORMAT, "%s: invalid JSON at line %zu, column %zu (end of input): %s",
                path, line, col, j->why);
    for (end = j->i; end < j->n && j->s[end] != '\n' && end - j->i < 20; end++)
        ;
    excerpt(near, sizeof near, (const char *)j->s + j->i, end - j->i, 20);
    ML_FAIL(err, ML_EFORMAT, "%s: invalid JSON at line %zu, column %zu near \"%s\": %s", path,
            line, col, near, j->why);
}

/* Parse a whole config file that must hold one JSON object.  *out is freed
 * with cJSON_Delete. */
static enum ml_status json_parse_object(const char *text, size_t len, const char *path,
                                        cJSON **out, struct ml_err *err)
{
    struct jscan j;
    enum jkind kind;
    char *buf;
    cJSON *root;
    const char *nul;
    size_t k;

    *out = NULL;
    if (!text && len)
        ML_FAIL(err, ML_EINVAL, "%s: text is NULL", path);
    nul = len ? memchr(text, '\0', len) : NULL;
    if (nul) {
        /* cJSON would stop at the NUL and we would misreport what follows it. */
        size_t line = 1;
        for (k = 0; k < (size_t)(nul - text); k++)
            line += text[k] == '\n';
        ML_FAIL(err, ML_EFORMAT, "%s: NUL byte at offset %zu (line %zu); not a JSON text", path,
                (size_t)(nul - text), line);
    }
    for (k = 0; k < len && strchr(" \t\r\n", text[k]); k++)
        ;
    if (k == len)
        ML_FAIL(err, ML_EFORMAT, "%s: empty file; expected a JSON object", path);
    kind = js_check(&j, text, len, 1);
    if (kind == JK_NONE)
        return js_error(&j, path, err);
    if (kind != JK_OBJECT) {
        static const char *const names[] = {"", "an object", "an array", "a string", "a number",
                                            "true", "false", "null"};
        ML_FAIL(err, ML_EFORMAT, "%s: not a JSON object (found %s)", path, names[kind]);
    }
    buf = cfg_strndup(text, len);
    if (!buf)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory reading %zu bytes", path, len);
    root = cJSON_ParseWithLengthOpts(buf, len + 1, NULL, 1);
    cJSON_free(buf);
    /* The syntax is known to be good, so cJSON failing means malloc failed. */
    if (!root)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory parsing JSON", path);
    *out = root;
    return ML_OK;
}

/* Type of a cJSON node in words, for messages. */
static const char *json_type_name(const cJSON *item)
{
    if (cJSON_IsString(item))
        return "a string";
    if (cJSON_IsNumber(item))
        return "a number";
    if (cJSON_IsBool(item))
        return "a boolean";
    if (cJSON_IsNull(item))
        return "null";
    if (cJSON_IsArray(item))
        return "an array";
    return "an object";
}

/* ------------------------------------------------------------------------ */
/* Hyperparameters                                                           */

/* One value to coerce, after the toolkit's decode step. */
struct hp_in {
    enum jkind kind;       /* JK_NONE: not JSON, keep raw as a string */
    const char *raw;       /* the value as given when it was a JSON string, else NULL */
    const char *num;       /* JK_NUMBER from raw: start of the number text, else NULL */
    size_t num_len;        /* its length */
    double d;              /* JK_NUMBER: the value */
    const char *str;       /* JK_STRING: decoded contents (borrowed from node) */
    const cJSON *node;     /* JK_ARRAY, or a non-string file value: the node */
    cJSON *owned;          /* tree parsed from raw, freed by hp_in_free */
};

static void hp_in_free(struct hp_in *in)
{
    cJSON_Delete(in->owned);
    in->owned = NULL;
}

static int is_ignored_key(const char *k)
{
    static const char p1[] = "sagemaker_", p2[] = "_tuning_objective_metric";
    return strncmp(k, p1, sizeof p1 - 1) == 0 || strncmp(k, p2, sizeof p2 - 1) == 0;
}

/* json.loads(raw), else raw: the toolkit's rule (anchors.md 1.2). */
static enum ml_status hp_decode(const char *raw, struct hp_in *in, struct ml_err *err)
{
    struct jscan j;
    size_t n = strlen(raw);

    memset(in, 0, sizeof *in);
    in->raw = raw;
    in->kind = js_check(&j, raw, n, 0);
    switch (in->kind) {
    case JK_NUMBER: {
        char *end;
        in->num = raw + j.top_start;
        in->num_len = j.top_end - j.top_start;
        in->d = strtod(in->num, &end);
        if (end != in->num + in->num_len)
            ML_FAIL(err, ML_EINTERNAL,
                    "strtod did not read the number \"%.*s\" (is LC_NUMERIC not \"C\"?)",
                    (int)in->num_len, in->num);
        break;
    }
    case JK_STRING:
    case JK_ARRAY:
        in->owned = cJSON_ParseWithLengthOpts(raw, n + 1, NULL, 1);
        if (!in->owned)
            ML_FAIL(err, ML_ENOMEM, "out of memory decoding a hyperparameter value");
        in->node = in->owned;
        if (in->kind == JK_STRING)
            in->str = in->owned->valuestring;
        break;
    default:
        break;
    }
    return ML_OK;
}

/* A value written without quotes in a hand-made file: taken as if decoded. */
static void hp_from_node(const cJSON *item, struct hp_in *in)
{
    memset(in, 0, sizeof *in);
    in->node = item;
    if (cJSON_IsNumber(item)) {
        in->kind = JK_NUMBER;
        in->d = item->valuedouble;
    } else if (cJSON_IsTrue(item)) {
        in->kind = JK_TRUE;
    } else if (cJSON_IsFalse(item)) {
        in->kind = JK_FALSE;
    } else if (cJSON_IsNull(item)) {
        in->kind = JK_NULL;
    } else if (cJSON_IsArray(item)) {
        in->kind = JK_ARRAY;
    } else {
        in->kind = JK_OBJECT;
    }
}

/* A double in a message: integers without a fraction, others briefly. */
static void fmt_num(char *buf, size_t cap, double x)
{
    if (x == floor(x) && fabs(x) < 1e15)
        snprintf(buf, cap, "%.0f", x);
    else
        snprintf(buf, cap, "%.15g", x);
}

/* The shortest of %.15g, %.16g, %.17g that reads back as x: "0.1", not
 * "0.10000000000000001", yet always exact (%.17g suffices for a double). */
static void fmt_roundtrip(char *buf, size_t cap, double x)
{
    int prec;

    for (prec = 15; prec < 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
    snprintf(buf, cap, "%.17g", x);
}

/* " in [a, b]", " >= a", " <= b" or "" for the bounds of a numeric spec. */
static void fmt_range(char *buf, size_t cap, const struct hp_spec *sp)
{
    char lo[40], hi[40];
    int has_lo = isfinite(sp->min), has_hi = isfinite(sp->max);

    fmt_num(lo, sizeof lo, sp->min);
    fmt_num(hi, sizeof hi, sp->max);
    if (has_lo && has_hi)
        snprintf(buf, cap, " in [%s, %s]", lo, hi);
    else if (has_lo)
        snprintf(buf, cap, " >= %s", lo);
    else if (has_hi)
        snprintf(buf, cap, " <= %s", hi);
    else
        buf[0] = '\0';
}

/* What a parameter of this spec accepts, for messages ("an integer in [1, 10]"). */
static void hp_expect(char *buf, size_t cap, const struct hp_spec *sp)
{
    char range[100];
    size_t used, k;

    switch (sp->type) {
    case HP_INT:
        fmt_range(range, sizeof range, sp);
        snprintf(buf, cap, "an integer%s", range);
        return;
    case HP_FLOAT:
        fmt_range(range, sizeof range, sp);
        snprintf(buf, cap, "a finite number%s", range);
        return;
    case HP_BOOL:
        snprintf(buf, cap, "true or false");
        return;
    case HP_STRING:
        if (!sp->choices) {
            snprintf(buf, cap, "a string");
            return;
        }
        used = (size_t)snprintf(buf, cap, "one of");
        for (k = 0; sp->choices[k] && used < cap; k++)
            used += (size_t)snprintf(buf + used, cap - used, "%s \"%s\"", k ? "," : ":",
                                     sp->choices[k]);
        return;
    case HP_STRING_LIST:
        snprintf(buf, cap, "a JSON list of strings or a comma-separated string");
        return;
    case HP_CHAR:
        snprintf(buf, cap, "a single character, \"\\t\", \"tab\", \"comma\", \"semicolon\", "
                           "\"pipe\" or \"space\"");
        return;
    }
    snprintf(buf, cap, "(unknown type %d)", (int)sp->type);
}

/* The error for a value that does not fit its spec.  `what` is "hyperparameter"
 * or "built-in default of hyperparameter"; `detail` may add a reason. */
static enum ml_status hp_bad_value(const char *path, const char *what, const struct hp_spec *sp,
                                   const struct hp_in *in, const char *detail,
                                   struct ml_err *err)
{
    char val[200], shown[210], expect[400], name[200];

    excerpt_str(name, sizeof name, sp->name);
    if (in->raw) {
        excerpt_str(val, sizeof val, in->raw);
        snprintf(shown, sizeof shown, "\"%s\"", val);
    } else {
        switch (in->kind) {
        case JK_NUMBER:
            fmt_num(shown, sizeof shown, in->d);
            break;
        case JK_TRUE:
            snprintf(shown, sizeof shown, "true");
            break;
        case JK_FALSE:
            snprintf(shown, sizeof shown, "false");
            break;
        case JK_NULL:
            snprintf(shown, sizeof shown, "null");
            break;
        case JK_ARRAY:
            snprintf(shown, sizeof shown, "[...]");
            break;
        default:
            snprintf(shown, sizeof shown, "{...}");
            break;
        }
    }
    hp_expect(expect, sizeof expect, sp);
    ML_FAIL(err, ML_EINVAL, "%s: %s \"%s\" = %s: expected %s%s%s", path, what, name, shown,
            expect, detail ? "; " : "", detail ? detail : "");
}

/* Text of a value for the text-typed parameters.  A decoded JSON string gives
 * its contents; anything else that arrived as a string is taken back verbatim,
 * since decoding is only how the toolkit guesses types: commit_id
 * "0123456789" must not turn into 123456789, nor formula "1" into 1.  A
 * number or boolean written unquoted in a hand-made file is printed back
 * (integers exactly up to 2^53; the original spelling is not kept by cJSON).
 * NULL for null, arrays and objects given unquoted. */
static const char *hp_text(const struct hp_in *in, char *tmp, size_t cap)
{
    if (in->kind == JK_STRING)
        return in->str;
    if (in->raw)
        return in->raw;
    switch (in->kind) {
    case JK_NUMBER:
        if (in->d == floor(in->d) && fabs(in->d) <= 9007199254740992.0)
            snprintf(tmp, cap, "%.0f", in->d);
        else
            snprintf(tmp, cap, "%.17g", in->d);
        return tmp;
    case JK_TRUE:
        return "true";
    case JK_FALSE:
        return "false";
    default:
        return NULL;
    }
}

/* Integer value of a number, exactly when its text is an integer literal
 * (doubles lose digits past 2^53), else from the double when that is integral
 * ("1e3", "12.0").  0 if not an integer or outside long long. */
static int hp_integer(const struct hp_in *in, long long *out)
{
    size_t k;
    int literal = in->num != NULL;

    for (k = 0; literal && k < in->num_len; k++)
        if (!(isdigit((unsigned char)in->num[k]) || (k == 0 && in->num[k] == '-')))
            literal = 0;
    if (literal) {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(in->num, &end, 10);
        if (errno == ERANGE)
            return 0;
        *out = v;
        return 1;
    }
    if (!isfinite(in->d) || in->d != floor(in->d))
        return 0;
    /* -2^63 is exact as a double; 2^63 is the first value past LLONG_MAX. */
    if (in->d < -9223372036854775808.0 || in->d >= 9223372036854775808.0)
        return 0;
    *out = (long long)in->d;
    return 1;
}

static int is_list_space(char c)
{
    return c == ' ' || c == '\t';
}

static void hp_value_clear(struct hp_value *v)
{
    size_t k;

    cJSON_free(v->s);
    for (k = 0; k < v->nlist; k++)
        cJSON_free(v->list[k]);
    cJSON_free(v->list);
    v->s = NULL;
    v->list = NULL;
    v->nlist = 0;
}

/* Fill v->list from a decoded JSON array of strings. */
static enum ml_status hp_list_from_array(const char *path, const char *what,
                                         const struct hp_spec *sp, const struct hp_in *in,
                                         struct hp_value *v, struct ml_err *err)
{
    const cJSON *e;
    size_t n = (size_t)cJSON_GetArraySize(in->node), k = 0;
    char detail[100];

    /* A 256-character value cannot hold more; a hand-made file gets the same cap. */
    if (n > HP_MAX_LEN) {
        snprintf(detail, sizeof detail, "%zu items, at most %d", n, HP_MAX_LEN);
        return hp_bad_value(path, what, sp, in, detail, err);
    }
    cJSON_ArrayForEach(e, in->node) {
        k++;
        if (!cJSON_IsString(e)) {
            snprintf(detail, sizeof detail, "item %zu is %s", k, json_type_name(e));
            return hp_bad_value(path, what, sp, in, detail, err);
        }
        if (e->valuestring[0] == '\0') {
            snprintf(detail, sizeof detail, "item %zu is empty", k);
            return hp_bad_value(path, what, sp, in, detail, err);
        }
        if (utf8_chars(e->valuestring) > HP_MAX_LEN) {
            snprintf(detail, sizeof detail, "item %zu is longer than %d characters", k,
                     HP_MAX_LEN);
            return hp_bad_value(path, what, sp, in, detail, err);
        }
    }
    v->list = cfg_alloc(n * sizeof *v->list);
    if (!v->list)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory", path);
    cJSON_ArrayForEach(e, in->node) {
        v->list[v->nlist] = cfg_strndup(e->valuestring, strlen(e->valuestring));
        if (!v->list[v->nlist])
            ML_FAIL(err, ML_ENOMEM, "%s: out of memory", path);
        v->nlist++;
    }
    return ML_OK;
}

/* Fill v->list from "a, b,c": items trimmed of spaces and tabs; a blank text is
 * the empty list (so a default list can be cleared); an empty item is an error. */
static enum ml_status hp_list_from_text(const char *path, const char *what,
                                        const struct hp_spec *sp, const struct hp_in *in,
                                        const char *t, struct hp_value *v, struct ml_err *err)
{
    size_t n = 1, k;
    const char *p;
    char detail[64];

    for (p = t; *p && is_list_space(*p); p++)
        ;
    if (*p == '\0')
        return ML_OK;
    for (p = t; *p; p++)
        n += *p == ',';
    v->list = cfg_alloc(n * sizeof *v->list);
    if (!v->list)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory", path);
    p = t;
    for (k = 0; k < n; k++) {
        const char *b = p, *e;
        while (*p && *p != ',')
            p++;
        e = p;
        if (*p == ',')
            p++;
        while (b < e && is_list_space(*b))
            b++;
        while (e > b && is_list_space(e[-1]))
            e--;
        if (b == e) {
            snprintf(detail, sizeof detail, "item %zu is empty", k + 1);
            return hp_bad_value(path, what, sp, in, detail, err);
        }
        v->list[k] = cfg_strndup(b, (size_t)(e - b));
        if (!v->list[k])
            ML_FAIL(err, ML_ENOMEM, "%s: out of memory", path);
        v->nlist++;
    }
    return ML_OK;
}

/* Canonical text of a list: items joined by ','. */
static enum ml_status hp_list_join(const char *path, struct hp_value *v, struct ml_err *err)
{
    size_t k, n = 1, used = 0;

    for (k = 0; k < v->nlist; k++)
        n += strlen(v->list[k]) + 1;
    v->s = cfg_alloc(n);
    if (!v->s)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory", path);
    v->s[0] = '\0';
    for (k = 0; k < v->nlist; k++) {
        size_t l = strlen(v->list[k]);
        if (k)
            v->s[used++] = ',';
        memcpy(v->s + used, v->list[k], l);
        used += l;
        v->s[used] = '\0';
    }
    return ML_OK;
}

/* HP_CHAR: one printable ASCII character or TAB, or a name for one.  Other
 * control characters and non-ASCII bytes are refused: as delimiters they are
 * mistakes, and half a UTF-8 sequence is no character. */
static int hp_char_of(const char *t, char *c)
{
    static const struct {
        const char *name;
        char c;
    } names[] = {{"tab", '\t'}, {"comma", ','}, {"semicolon", ';'}, {"pipe", '|'}, {"space", ' '}};
    size_t k;

    if (t[0] && !t[1]) {
        unsigned char u = (unsigned char)t[0];
        if ((u >= 0x20 && u < 0x7F) || u == '\t') {
            *c = t[0];
            return 1;
        }
        return 0;
    }
    /* "\t" typed as two characters: what a shell or console user writes. */
    if (strcmp(t, "\\t") == 0) {
        *c = '\t';
        return 1;
    }
    for (k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (strcasecmp(t, names[k].name) == 0) {
            *c = names[k].c;
            return 1;
        }
    }
    return 0;
}

/* Coerce one decoded value to sp's type into v (cleared first).  On error v
 * holds nothing. */
static enum ml_status hp_coerce(const char *path, const char *what, const struct hp_spec *sp,
                                const struct hp_in *in, struct hp_value *v, struct ml_err *err)
{
    enum ml_status st = ML_OK;
    char tmp[64], detail[64];
    const char *t;
    long long iv;
    size_t k;

    hp_value_clear(v);
    switch (sp->type) {
    case HP_INT:
        if (in->kind != JK_NUMBER || !hp_integer(in, &iv) || (double)iv < sp->min ||
            (double)iv > sp->max)
            return hp_bad_value(path, what, sp, in, NULL, err);
        v->i = iv;
        v->f = (double)iv;
        snprintf(tmp, sizeof tmp, "%lld", iv);
        break;
    case HP_FLOAT:
        if (in->kind != JK_NUMBER || !isfinite(in->d) || in->d < sp->min || in->d > sp->max)
            return hp_bad_value(path, what, sp, in, NULL, err);
        v->f = in->d;
        fmt_roundtrip(tmp, sizeof tmp, in->d);
        break;
    case HP_BOOL:
        /* JSON true/false, and the strings "true"/"false" in any case: the
         * SageMaker Python SDK turns a Python bool into str(True) = "True",
         * which json.loads leaves as a string; the intent is plain.  Other
         * spellings (1, yes, on) are refused rather than guessed. */
        if (in->kind == JK_TRUE || in->kind == JK_FALSE) {
            v->b = in->kind == JK_TRUE;
        } else {
            t = in->kind == JK_STRING ? in->str : in->kind == JK_NONE ? in->raw : NULL;
            if (t && strcasecmp(t, "true") == 0)
                v->b = 1;
            else if (t && strcasecmp(t, "false") == 0)
                v->b = 0;
            else
                return hp_bad_value(path, what, sp, in, NULL, err);
        }
        snprintf(tmp, sizeof tmp, "%s", v->b ? "true" : "false");
        break;
    case HP_STRING:
        t = hp_text(in, tmp, sizeof tmp);
        if (!t)
            return hp_bad_value(path, what, sp, in, NULL, err);
        if (sp->choices) {
            for (k = 0; sp->choices[k] && strcmp(sp->choices[k], t) != 0; k++)
                ;
            if (!sp->choices[k])
                return hp_bad_value(path, what, sp, in, NULL, err);
        }
        v->s = cfg_strndup(t, strlen(t));
        if (!v->s)
            ML_FAIL(err, ML_ENOMEM, "%s: out of memory", path);
        return ML_OK;
    case HP_STRING_LIST:
        if (in->kind == JK_ARRAY) {
            st = hp_list_from_array(path, what, sp, in, v, err);
        } else {
            t = in->kind == JK_OBJECT ? NULL : hp_text(in, tmp, sizeof tmp);
            if (!t) {
                snprintf(detail, sizeof detail, "got %s",
                         in->kind == JK_OBJECT ? "an object" : "null");
                return hp_bad_value(path, what, sp, in, detail, err);
            }
            st = hp_list_from_text(path, what, sp, in, t, v, err);
        }
        if (st == ML_OK)
            st = hp_list_join(path, v, err);
        if (st != ML_OK)
            hp_value_clear(v);
        return st;
    case HP_CHAR:
        t = hp_text(in, tmp, sizeof tmp);
        if (!t || !hp_char_of(t, &v->c))
            return hp_bad_value(path, what, sp, in, NULL, err);
        tmp[0] = v->c;
        tmp[1] = '\0';
        break;
    default:
        ML_FAIL(err, ML_EINTERNAL, "%s: hyperparameter \"%s\" has unknown type %d", path,
                sp->name, (int)sp->type);
    }
    v->s = cfg_strndup(tmp, strlen(tmp));
    if (!v->s)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory", path);
    return ML_OK;
}

/* The unknown-key error, listing the valid names sorted.  Selection by
 * "smallest name greater than the previous" needs no allocation, and spec
 * tables are a few dozen entries. */
static enum ml_status hp_unknown(const char *path, const char *key, const struct hp_spec *spec,
                                 size_t nspec, struct ml_err *err)
{
    char list[ML_ERR_MSG_MAX], name[200];
    const char *prev = NULL;
    size_t used = 0, k, round;

    list[0] = '\0';
    for (round = 0; round < nspec && used < sizeof list; round++) {
        const char *best = NULL;
        for (k = 0; k < nspec; k++) {
            const char *s = spec[k].name;
            if ((!prev || strcmp(s, prev) > 0) && (!best || strcmp(s, best) < 0))
                best = s;
        }
        if (!best)
            break;
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", round ? ", " : "",
                                 best);
        prev = best;
    }
    excerpt_str(name, sizeof name, key);
    ML_FAIL(err, ML_EINVAL, "%s: unknown hyperparameter \"%s\"; valid hyperparameters: %s", path,
            name, nspec ? list : "(none)");
}

static enum ml_status hp_check_spec(const struct hp_spec *spec, size_t nspec, struct ml_err *err)
{
    size_t a, b;

    for (a = 0; a < nspec; a++) {
        if (!spec[a].name || !spec[a].name[0])
            ML_FAIL(err, ML_EINTERNAL, "hyperparameter spec entry %zu has no name", a);
        if ((unsigned)spec[a].type > (unsigned)HP_CHAR)
            ML_FAIL(err, ML_EINTERNAL, "hyperparameter \"%s\" has unknown type %d",
                    spec[a].name, (int)spec[a].type);
        for (b = 0; b < a; b++)
            if (strcmp(spec[a].name, spec[b].name) == 0)
                ML_FAIL(err, ML_EINTERNAL, "hyperparameter \"%s\" appears twice in the spec",
                        spec[a].name);
    }
    return ML_OK;
}

/* Decode and coerce one file entry (or default) into v. */
static enum ml_status hp_set_value(const char *path, const char *what, const struct hp_spec *sp,
                                   const cJSON *item, const char *raw, struct hp_value *v,
                                   struct ml_err *err)
{
    struct hp_in in;
    enum ml_status st;

    if (raw) {
        st = hp_decode(raw, &in, err);
    } else {
        hp_from_node(item, &in);
        st = ML_OK;
    }
    if (st == ML_OK)
        st = hp_coerce(path, what, sp, &in, v, err);
    hp_in_free(&in);
    return st;
}

/* Checks on one key/value pair that hold for every key, known or not. */
static enum ml_status hp_check_entry(const char *path, const cJSON *e, const cJSON *first,
                                     struct ml_err *err)
{
    char name[200], val[200];
    const cJSON *o;
    size_t n;

    excerpt_str(name, sizeof name, e->string);
    n = utf8_chars(e->string);
    if (n > HP_MAX_LEN)
        ML_FAIL(err, ML_ELIMIT,
                "%s: hyperparameter name \"%s\" is %zu characters long; at most %d are allowed",
                path, name, n, HP_MAX_LEN);
    if (cJSON_IsString(e)) {
        n = utf8_chars(e->valuestring);
        if (n > HP_MAX_LEN) {
            excerpt_str(val, sizeof val, e->valuestring);
            ML_FAIL(err, ML_ELIMIT,
                    "%s: hyperparameter \"%s\" = \"%s\": value is %zu characters long; at most "
                    "%d are allowed",
                    path, name, val, n, HP_MAX_LEN);
        }
    }
    /* A Python dict keeps the last of duplicate keys, cJSON keeps both: refuse
     * rather than pick one silently. */
    for (o = first; o != e; o = o->next)
        if (strcmp(o->string, e->string) == 0)
            ML_FAIL(err, ML_EFORMAT, "%s: hyperparameter \"%s\" is given twice", path, name);
    return ML_OK;
}

enum ml_status hp_parse(const char *text, size_t len, const char *path,
                        const struct hp_spec *spec, size_t nspec, struct hp_set **out,
                        struct ml_err *err)
{
    enum ml_status st;
    cJSON *root = NULL;
    const cJSON *e;
    struct hp_set *h = NULL;
    size_t nkeys, k;

    path = path_or(path);
    if (!out)
        ML_FAIL(err, ML_EINVAL, "%s: hp_parse: out is NULL", path);
    *out = NULL;
    if (!spec && nspec)
        ML_FAIL(err, ML_EINVAL, "%s: hp_parse: spec is NULL", path);
    st = hp_check_spec(spec, nspec, err);
    if (st != ML_OK)
        return st;
    st = json_parse_object(text, len, path, &root, err);
    if (st != ML_OK)
        return st;

    nkeys = (size_t)cJSON_GetArraySize(root);
    if (nkeys > HP_MAX_KEYS) {
        st = ml_fail(err, ML_ELIMIT, __FILE__, __LINE__,
                     "%s: %zu hyperparameters; at most %d are allowed", path, nkeys,
                     HP_MAX_KEYS);
        goto cleanup;
    }
    h = cfg_alloc(sizeof *h);
    if (!h) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory", path);
        goto cleanup;
    }
    memset(h, 0, sizeof *h);
    h->v = cfg_alloc(nspec * sizeof *h->v);
    h->ignored = cfg_alloc(nkeys * sizeof *h->ignored);
    if (!h->v || !h->ignored) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory", path);
        goto cleanup;
    }
    memset(h->v, 0, nspec * sizeof *h->v);
    h->n = nspec;
    for (k = 0; k < nspec; k++)
        h->v[k].spec = &spec[k];

    cJSON_ArrayForEach(e, root) {
        st = hp_check_entry(path, e, root->child, err);
        if (st != ML_OK)
            goto cleanup;
        /* The spec wins over the reserved prefixes, so a table may claim
         * e.g. sagemaker_container_log_level. */
        for (k = 0; k < nspec && strcmp(spec[k].name, e->string) != 0; k++)
            ;
        if (k < nspec) {
            st = hp_set_value(path, "hyperparameter", &spec[k], e,
                              cJSON_IsString(e) ? e->valuestring : NULL, &h->v[k], err);
            if (st != ML_OK)
                goto cleanup;
            h->v[k].set = 1;
            h->v[k].has_value = 1;
        } else if (is_ignored_key(e->string)) {
            h->ignored[h->nignored] = cfg_strndup(e->string, strlen(e->string));
            if (!h->ignored[h->nignored]) {
                st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory", path);
                goto cleanup;
            }
            h->nignored++;
        } else {
            st = hp_unknown(path, e->string, spec, nspec, err);
            goto cleanup;
        }
    }

    for (k = 0; k < nspec; k++) {
        if (h->v[k].set || !spec[k].def)
            continue;
        st = hp_set_value(path, "built-in default of hyperparameter", &spec[k], NULL,
                          spec[k].def, &h->v[k], err);
        if (st == ML_EINVAL) { /* our table is wrong, not the user's file */
            char msg[ML_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
            st = ml_fail(err, ML_EINTERNAL, __FILE__, __LINE__, "%s", msg);
        }
        if (st != ML_OK)
            goto cleanup;
        h->v[k].has_value = 1;
    }
    *out = h;
    h = NULL;
    st = ML_OK;

cleanup:
    cJSON_Delete(root);
    hp_set_free(h);
    return st;
}

void hp_set_free(struct hp_set *h)
{
    size_t k;

    if (!h)
        return;
    if (h->v)
        for (k = 0; k < h->n; k++)
            hp_value_clear(&h->v[k]);
    if (h->ignored)
        for (k = 0; k < h->nignored; k++)
            cJSON_free(h->ignored[k]);
    cJSON_free(h->v);
    cJSON_free(h->ignored);
    cJSON_free(h);
}

const struct hp_value *hp_get(const struct hp_set *h, const char *name)
{
    size_t k;

    if (!h || !name)
        return NULL;
    for (k = 0; k < h->n; k++)
        if (strcmp(h->v[k].spec->name, name) == 0)
            return &h->v[k];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* inputdataconfig.json                                                      */

/* Byte span of a string, for ContentType parsing without copies. */
struct span {
    const char *p;
    size_t n;
};

static struct span span_trim(struct span s)
{
    while (s.n && is_list_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_list_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

static int span_ieq(struct span s, const char *lit)
{
    return strlen(lit) == s.n && strncasecmp(s.p, lit, s.n) == 0;
}

/* Channel names: SageMaker allows [A-Za-z0-9\.\-_]+ (up to 64 characters; we
 * hold SM_NAME_MAX - 1).  They become directory names under input/data, so
 * the check also keeps "/" and ".." out of paths ("." and ".." themselves are
 * refused explicitly). */
static enum ml_status sm_check_channel_name(const char *path, const char *name,
                                            struct ml_err *err)
{
    char shown[200];
    size_t n = strlen(name), k;

    excerpt_str(shown, sizeof shown, name);
    if (n == 0)
        ML_FAIL(err, ML_EINVAL, "%s: empty channel name", path);
    if (n >= SM_NAME_MAX)
        ML_FAIL(err, ML_ELIMIT, "%s: channel name \"%s\" is %zu characters long; at most %d",
                path, shown, n, SM_NAME_MAX - 1);
    for (k = 0; k < n; k++) {
        unsigned char c = (unsigned char)name[k];
        if (c >= 0x80 || !(isalnum(c) || c == '.' || c == '_' || c == '-'))
            ML_FAIL(err, ML_EINVAL,
                    "%s: channel name \"%s\": character %zu is not one of A-Z a-z 0-9 . _ -",
                    path, shown, k + 1);
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        ML_FAIL(err, ML_EINVAL, "%s: channel name \"%s\" is not allowed", path, shown);
    return ML_OK;
}

/* ContentType: a media type, then ';'-separated name=value parameters
 * (RFC 9110 8.3.1: names and the media type are case-insensitive, whitespace
 * around ';' and '=' is tolerated, a value may be quoted). */
static enum ml_status sm_content_parse(const char *path, const char *chname, const char *ct,
                                       struct sm_channel *ch, struct ml_err *err)
{
    const char *semi = strchr(ct, ';');
    struct span media = {ct, semi ? (size_t)(semi - ct) : strlen(ct)};
    const char *p = semi;
    char shown[200], pname[200], pval[200];
    int seen_header = 0, seen_label = 0, seen_charset = 0;

    excerpt_str(shown, sizeof shown, ct);
    if (strlen(ct) >= sizeof ch->content_type)
        ML_FAIL(err, ML_ELIMIT, "%s: channel \"%s\": ContentType \"%s\" is longer than %zu bytes",
                path, chname, shown, sizeof ch->content_type - 1);
    snprintf(ch->content_type, sizeof ch->content_type, "%s", ct);
    media = span_trim(media);
    if (span_ieq(media, "text/csv") || span_ieq(media, "csv")) {
        ch->content = SM_CONTENT_CSV;
    } else if (span_ieq(media, "application/x-hdf5") || span_ieq(media, "application/x-hdf")) {
        ch->content = SM_CONTENT_HDF5;
    } else {
        ML_FAIL(err, ML_EINVAL,
                "%s: channel \"%s\": unsupported ContentType \"%s\"; supported: text/csv (or "
                "csv, with optional header=present|absent and label_size=N), "
                "application/x-hdf5 (or application/x-hdf)",
                path, chname, shown);
    }
    while (p) {
        struct span seg, name, val;
        const char *eq, *next;

        p++; /* past ';' */
        next = strchr(p, ';');
        seg.p = p;
        seg.n = next ? (size_t)(next - p) : strlen(p);
        p = next;
        seg = span_trim(seg);
        if (seg.n == 0) /* "text/csv;" or ";;": nothing to read */
            continue;
        eq = memchr(seg.p, '=', seg.n);
        excerpt(pname, sizeof pname, seg.p, seg.n, SM_EXCERPT_CHARS);
        if (!eq)
            ML_FAIL(err, ML_EINVAL,
                    "%s: channel \"%s\": ContentType \"%s\": parameter \"%s\" has no '=value'",
                    path, chname, shown, pname);
        name.p = seg.p;
        name.n = (size_t)(eq - seg.p);
        name = span_trim(name);
        val.p = eq + 1;
        val.n = (size_t)(seg.p + seg.n - val.p);
        val = span_trim(val);
        if (val.n >= 2 && val.p[0] == '"' && val.p[val.n - 1] == '"') {
            val.p++;
            val.n -= 2;
        }
        excerpt(pname, sizeof pname, name.p, name.n, SM_EXCERPT_CHARS);
        excerpt(pval, sizeof pval, val.p, val.n, SM_EXCERPT_CHARS);
        if (span_ieq(name, "charset")) {
            /* Only UTF-8 text is read; saying so is harmless. */
            if (seen_charset++)
                ML_FAIL(err, ML_EINVAL,
                        "%s: channel \"%s\": ContentType \"%s\": charset given twice", path,
                        chname, shown);
            if (!span_ieq(val, "utf-8") && !span_ieq(val, "utf8"))
                ML_FAIL(err, ML_EINVAL,
                        "%s: channel \"%s\": ContentType \"%s\": charset \"%s\" is not supported; "
                        "use utf-8",
                        path, chname, shown, pval);
            continue;
        }
        if (ch->content != SM_CONTENT_CSV)
            ML_FAIL(err, ML_EINVAL,
                    "%s: channel \"%s\": ContentType \"%s\": parameter \"%s\" only applies to "
                    "text/csv",
                    path, chname, shown, pname);
        if (span_ieq(name, "header")) {
            if (seen_header++)
                ML_FAIL(err, ML_EINVAL,
                        "%s: channel \"%s\": ContentType \"%s\": header given twice", path,
                        chname, shown);
            if (span_ieq(val, "present"))
                ch->header = 1;
            else if (span_ieq(val, "absent"))
                ch->header = 0;
            else
                ML_FAIL(err, ML_EINVAL,
                        "%s: channel \"%s\": ContentType \"%s\": header=\"%s\"; expected present "
                        "or absent",
                        path, chname, shown, pval);
        } else if (span_ieq(name, "label_size")) {
            long v = 0;
            size_t k;
            if (seen_label++)
                ML_FAIL(err, ML_EINVAL,
                        "%s: channel \"%s\": ContentType \"%s\": label_size given twice", path,
                        chname, shown);
            /* Digits only, and few enough that v cannot overflow: no sane CSV
             * has a billion label columns. */
            for (k = 0; k < val.n && isdigit((unsigned char)val.p[k]) && k < 9; k++)
                v = v * 10 + (val.p[k] - '0');
            if (val.n == 0 || k != val.n)
                ML_FAIL(err, ML_EINVAL,
                        "%s: channel \"%s\": ContentType \"%s\": label_size=\"%s\"; expected a "
                        "non-negative integer below 1000000000",
                        path, chname, shown, pval);
            ch->label_size = v;
        } else {
            ML_FAIL(err, ML_EINVAL,
                    "%s: channel \"%s\": ContentType \"%s\": unknown parameter \"%s\"; known: "
                    "header, label_size, charset",
                    path, chname, shown, pname);
        }
    }
    return ML_OK;
}

/* Match a string field against its allowed values; the index or -1. */
static int sm_pick(const char *v, const char *const *allowed)
{
    int k;
    for (k = 0; allowed[k]; k++)
        if (strcmp(v, allowed[k]) == 0)
            return k;
    return -1;
}

static enum ml_status sm_bad_choice(const char *path, const char *chname, const char *key,
                                    const char *v, const char *const *allowed, struct ml_err *err)
{
    char shown[200], list[200];
    size_t used = 0, k;

    excerpt_str(shown, sizeof shown, v);
    list[0] = '\0';
    for (k = 0; allowed[k] && used < sizeof list; k++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                 allowed[k]);
    ML_FAIL(err, ML_EINVAL, "%s: channel \"%s\": %s \"%s\" is not supported; expected one of: %s",
            path, chname, key, shown, list);
}

static enum ml_status sm_channel_parse(const char *path, const cJSON *obj, struct sm_channel *ch,
                                       struct ml_err *err)
{
    static const char *const modes[] = {"File", "FastFile", "Pipe", NULL};
    static const char *const dists[] = {"FullyReplicated", "ShardedByS3Key", NULL};
    static const char *const comps[] = {"None", "Gzip", NULL};
    static const char *const wraps[] = {"None", "RecordIO", NULL};
    static const char *const keys[] = {"ContentType", "TrainingInputMode", "S3DistributionType",
                                       "CompressionType", "RecordWrapperType"};
    const cJSON *f, *o;
    const char *chname = ch->name;
    enum ml_status st;
    int k;

    ch->content = SM_CONTENT_CSV;
    ch->content_type[0] = '\0';
    ch->header = -1;
    ch->label_size = -1;
    ch->mode = SM_MODE_FILE;
    snprintf(ch->distribution, sizeof ch->distribution, "FullyReplicated");
    snprintf(ch->compression, sizeof ch->compression, "None");
    snprintf(ch->record_wrapper, sizeof ch->record_wrapper, "None");
    if (!cJSON_IsObject(obj))
        ML_FAIL(err, ML_EFORMAT, "%s: channel \"%s\" is %s; expected an object", path, chname,
                json_type_name(obj));

    cJSON_ArrayForEach(f, obj) {
        int which = -1;
        for (k = 0; k < (int)(sizeof keys / sizeof keys[0]); k++)
            if (strcmp(f->string, keys[k]) == 0)
                which = k;
        /* SageMaker may add fields; only the ones we read are checked. */
        if (which < 0)
            continue;
        for (o = obj->child; o != f; o = o->next)
            if (strcmp(o->string, f->string) == 0)
                ML_FAIL(err, ML_EFORMAT, "%s: channel \"%s\": %s is given twice", path, chname,
                        f->string);
        if (cJSON_IsNull(f))
            continue;
        if (!cJSON_IsString(f))
            ML_FAIL(err, ML_EFORMAT, "%s: channel \"%s\": %s is %s; expected a string", path,
                    chname, f->string, json_type_name(f));
        switch (which) {
        case 0:
            /* "" is how an absent ContentType round-trips through some tools. */
            if (f->valuestring[0] == '\0')
                break;
            /* The baseline channel holds the deployed model (a model
             * directory or model.tar.gz), not data: its ContentType (e.g.
             * application/x-tar) is only recorded. */
            if (strcmp(chname, "baseline") == 0) {
                snprintf(ch->content_type, sizeof ch->content_type, "%.127s", f->valuestring);
                break;
            }
            st = sm_content_parse(path, chname, f->valuestring, ch, err);
            if (st != ML_OK)
                return st;
            break;
        case 1:
            k = sm_pick(f->valuestring, modes);
            if (k < 0)
                return sm_bad_choice(path, chname, f->string, f->valuestring, modes, err);
            ch->mode = k == 0 ? SM_MODE_FILE : k == 1 ? SM_MODE_FASTFILE : SM_MODE_PIPE;
            break;
        case 2:
            k = sm_pick(f->valuestring, dists);
            if (k < 0)
                return sm_bad_choice(path, chname, f->string, f->valuestring, dists, err);
            snprintf(ch->distribution, sizeof ch->distribution, "%s", dists[k]);
            break;
        case 3:
            k = sm_pick(f->valuestring, comps);
            if (k < 0)
                return sm_bad_choice(path, chname, f->string, f->valuestring, comps, err);
            snprintf(ch->compression, sizeof ch->compression, "%s", comps[k]);
            break;
        default:
            k = sm_pick(f->valuestring, wraps);
            if (k < 0)
                return sm_bad_choice(path, chname, f->string, f->valuestring, wraps, err);
            if (k == 1)
                ML_FAIL(err, ML_EINVAL,
                        "%s: channel \"%s\": RecordWrapperType RecordIO is not supported; use None",
                        path, chname);
            snprintf(ch->record_wrapper, sizeof ch->record_wrapper, "%s", wraps[k]);
            break;
        }
    }
    return ML_OK;
}

enum ml_status sm_input_config_parse(const char *text, size_t len, const char *path,
                                     struct sm_input_config *out, struct ml_err *err)
{
    enum ml_status st;
    cJSON *root = NULL;
    const cJSON *e, *o;
    struct sm_channel *ch = NULL;
    size_t n, k = 0;

    path = path_or(path);
    if (!out)
        ML_FAIL(err, ML_EINVAL, "%s: sm_input_config_parse: out is NULL", path);
    out->n = 0;
    out->ch = NULL;
    st = json_parse_object(text, len, path, &root, err);
    if (st != ML_OK)
        return st;
    n = (size_t)cJSON_GetArraySize(root);
    if (n > SM_MAX_CHANNELS) {
        st = ml_fail(err, ML_ELIMIT, __FILE__, __LINE__,
                     "%s: %zu channels; SageMaker allows at most %d", path, n, SM_MAX_CHANNELS);
        goto cleanup;
    }
    if (n) {
        ch = cfg_alloc(n * sizeof *ch);
        if (!ch) {
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory", path);
            goto cleanup;
        }
        memset(ch, 0, n * sizeof *ch);
    }
    cJSON_ArrayForEach(e, root) {
        st = sm_check_channel_name(path, e->string, err);
        if (st != ML_OK)
            goto cleanup;
        for (o = root->child; o != e; o = o->next) {
            if (strcmp(o->string, e->string) == 0) {
                st = ml_fail(err, ML_EFORMAT, __FILE__, __LINE__,
                             "%s: channel \"%s\" is given twice", path, e->string);
                goto cleanup;
            }
        }
        snprintf(ch[k].name, sizeof ch[k].name, "%s", e->string);
        st = sm_channel_parse(path, e, &ch[k], err);
        if (st != ML_OK)
            goto cleanup;
        k++;
    }
    out->n = n;
    out->ch = ch;
    ch = NULL;
    st = ML_OK;

cleanup:
    cJSON_free(ch);
    cJSON_Delete(root);
    return st;
}

void sm_input_config_free(struct sm_input_config *c)
{
    if (!c)
        return;
    cJSON_free(c->ch);
    c->ch = NULL;
    c->n = 0;
}

const struct sm_channel *sm_input_config_find(const struct sm_input_config *c, const char *name)
{
    size_t k;

    if (!c || !name)
        return NULL;
    for (k = 0; k < c->n; k++)
        if (strcmp(c->ch[k].name, name) == 0)
            return &c->ch[k];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* resourceconfig.json                                                       */

/* Copy a host-like name into a SM_NAME_MAX buffer: non-empty, no control
 * characters (it ends up in logs and file names), short enough. */
static enum ml_status sm_copy_name(const char *path, const char *key, const char *v, char *dst,
                                   struct ml_err *err)
{
    char shown[200];
    size_t n = strlen(v), k;

    excerpt_str(shown, sizeof shown, v);
    if (n == 0)
        ML_FAIL(err, ML_EINVAL, "%s: %s is empty", path, key);
    if (n >= SM_NAME_MAX)
        ML_FAIL(err, ML_ELIMIT, "%s: %s \"%s\" is %zu bytes long; at most %d", path, key, shown,
                n, SM_NAME_MAX - 1);
    for (k = 0; k < n; k++)
        if ((unsigned char)v[k] < 0x20 || v[k] == 0x7F)
            ML_FAIL(err, ML_EINVAL, "%s: %s \"%s\" contains a control character", path, key,
                    shown);
    memcpy(dst, v, n + 1);
    return ML_OK;
}

static int cmp_host(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static enum ml_status sm_hosts_parse(const char *path, const cJSON *arr,
                                     struct sm_resource_config *out, struct ml_err *err)
{
    char key[32], (*sorted)[SM_NAME_MAX] = NULL;
    const cJSON *e;
    size_t n, k = 0;
    enum ml_status st = ML_OK;

    if (!cJSON_IsArray(arr))
        ML_FAIL(err, ML_EFORMAT, "%s: \"hosts\" is %s; expected an array of host names", path,
                json_type_name(arr));
    n = (size_t)cJSON_GetArraySize(arr);
    if (n == 0)
        ML_FAIL(err, ML_EINVAL, "%s: \"hosts\" is empty; expected at least one host", path);
    if (n > SM_MAX_HOSTS)
        ML_FAIL(err, ML_ELIMIT, "%s: \"hosts\" lists %zu hosts; at most %d", path, n,
                SM_MAX_HOSTS);
    out->hosts = cfg_alloc(n * sizeof *out->hosts);
    sorted = cfg_alloc(n * sizeof *sorted);
    if (!out->hosts || !sorted) {
        cJSON_free(sorted);
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory", path);
    }
    cJSON_ArrayForEach(e, arr) {
        snprintf(key, sizeof key, "hosts[%zu]", k);
        if (!cJSON_IsString(e)) {
            st = ml_fail(err, ML_EFORMAT, __FILE__, __LINE__, "%s: %s is %s; expected a string",
                         path, key, json_type_name(e));
            goto done;
        }
        st = sm_copy_name(path, key, e->valuestring, out->hosts[k], err);
        if (st != ML_OK)
            goto done;
        k++;
    }
    out->nhosts = n;
    /* Host order matters (rank = index, SageMaker sorts them), so uniqueness
     * is checked on a sorted copy and the original order is kept. */
    memcpy(sorted, out->hosts, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_host);
    for (k = 1; k < n; k++) {
        if (strcmp(sorted[k - 1], sorted[k]) == 0) {
            char shown[200];
            excerpt_str(shown, sizeof shown, sorted[k]);
            st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                         "%s: host \"%s\" is listed twice in \"hosts\"", path, shown);
            goto done;
        }
    }
done:
    cJSON_free(sorted);
    return st;
}

enum ml_status sm_resource_config_parse(const char *text, size_t len, const char *path,
                                        struct sm_resource_config *out, struct ml_err *err)
{
    static const char *const keys[] = {"current_host", "hosts", "network_interface_name",
                                       "current_instance_type", "current_group_name"};
    const cJSON *found[5] = {NULL, NULL, NULL, NULL, NULL};
    char *dst[5];
    enum ml_status st;
    cJSON *root = NULL;
    const cJSON *e;
    size_t k;

    path = path_or(path);
    if (!out)
        ML_FAIL(err, ML_EINVAL, "%s: sm_resource_config_parse: out is NULL", path);
    memset(out, 0, sizeof *out);
    dst[0] = out->current_host;
    dst[1] = NULL;
    dst[2] = out->network_interface_name;
    dst[3] = out->current_instance_type;
    dst[4] = out->current_group_name;
    st = json_parse_object(text, len, path, &root, err);
    if (st != ML_OK)
        return st;

    /* instance_groups, topology and whatever comes next are not ours to read. */
    cJSON_ArrayForEach(e, root) {
        for (k = 0; k < 5; k++) {
            if (strcmp(e->string, keys[k]) != 0)
                continue;
            if (found[k]) {
                st = ml_fail(err, ML_EFORMAT, __FILE__, __LINE__, "%s: \"%s\" is given twice",
                             path, keys[k]);
                goto cleanup;
            }
            found[k] = e;
        }
    }
    for (k = 0; k < 2; k++) {
        if (!found[k]) {
            st = ml_fail(err, ML_EFORMAT, __FILE__, __LINE__, "%s: \"%s\" is missing", path,
                         keys[k]);
            goto cleanup;
        }
    }
    for (k = 0; k < 5; k++) {
        char key[40];
        if (k == 1 || !found[k] || (k >= 2 && cJSON_IsNull(found[k])))
            continue;
        if (!cJSON_IsString(found[k])) {
            st = ml_fail(err, ML_EFORMAT, __FILE__, __LINE__, "%s: \"%s\" is %s; expected a string",
                         path, keys[k], json_type_name(found[k]));
            goto cleanup;
        }
        snprintf(key, sizeof key, "\"%s\"", keys[k]);
        st = sm_copy_name(path, key, found[k]->valuestring, dst[k], err);
        if (st != ML_OK)
            goto cleanup;
    }
    st = sm_hosts_parse(path, found[1], out, err);
    if (st != ML_OK)
        goto cleanup;
    for (k = 0; k < out->nhosts && strcmp(out->hosts[k], out->current_host) != 0; k++)
        ;
    if (k == out->nhosts) {
        char shown[200];
        excerpt_str(shown, sizeof shown, out->current_host);
        st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                     "%s: current_host \"%s\" is not among the %zu entries of \"hosts\"", path,
                     shown, out->nhosts);
        goto cleanup;
    }
    st = ML_OK;

cleanup:
    cJSON_Delete(root);
    if (st != ML_OK) {
        sm_resource_config_free(out);
        memset(out, 0, sizeof *out);
    }
    return st;
}

void sm_resource_config_free(struct sm_resource_config *c)
{
    if (!c)
        return;
    cJSON_free(c->hosts);
    c->hosts = NULL;
    c->nhosts = 0;
}
