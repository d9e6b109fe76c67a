/* libinfo.h: versions and configuration of the libraries plantfit runs on,
 * recorded in every manifest so a result can be traced to its numerics. */
#ifndef PF_LIBINFO_H
#define PF_LIBINFO_H

#include <cJSON.h>

/* A new JSON object {"openblas": {...}, "lapack": "3.11.0", "hdf5": ...};
 * NULL on allocation failure.  Caller frees with cJSON_Delete. */
cJSON *libinfo_json(void);

#endif
