/* libinfo.c: library versions for the manifest (see libinfo.h). */
#include "libinfo.h"

#include <cblas.h>
#include <csv.h>
#include <hdf5.h>
#include <lapacke.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <zlib.h>

cJSON *libinfo_json(void)
{
    cJSON *o = cJSON_CreateObject(), *blas;
    char buf[64];
    unsigned maj, min, rel;
    lapack_int lmaj, lmin, lpatch;

    if (!o)
        return NULL;
    blas = cJSON_AddObjectToObject(o, "openblas");
    if (blas) {
        cJSON_AddStringToObject(blas, "config", openblas_get_config());
        cJSON_AddStringToObject(blas, "core", openblas_get_corename());
        cJSON_AddNumberToObject(blas, "threads", openblas_get_num_threads());
        cJSON_AddNumberToObject(blas, "parallel", openblas_get_parallel());
    }
    LAPACKE_ilaver(&lmaj, &lmin, &lpatch);
    snprintf(buf, sizeof buf, "%d.%d.%d", (int)lmaj, (int)lmin, (int)lpatch);
    cJSON_AddStringToObject(o, "lapack", buf);
    H5get_libversion(&maj, &min, &rel);
    snprintf(buf, sizeof buf, "%u.%u.%u", maj, min, rel);
    cJSON_AddStringToObject(o, "hdf5", buf);
    cJSON_AddStringToObject(o, "cjson", cJSON_Version());
    snprintf(buf, sizeof buf, "%d.%d.%d", CSV_MAJOR, CSV_MINOR, CSV_RELEASE);
    cJSON_AddStringToObject(o, "libcsv", buf);
    cJSON_AddStringToObject(o, "zlib", zlibVersion());
    cJSON_AddStringToObject(o, "openssl", OpenSSL_version(OPENSSL_VERSION));
    return o;
}
