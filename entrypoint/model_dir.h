/* model_dir.h: load and validate a model directory (what `plantfit train`
 * writes to <base>/model, and SageMaker packs into model.tar.gz) for the
 * commands that use a trained model: predict, compare (and inspect, serve).
 *
 * A model directory holds gam.h5 (a GAM), iforest.h5 (an Isolation Forest)
 * or both, and normally manifest.json.  Before any model is loaded:
 *   - if manifest.json exists it must be a JSON object whose
 *     "manifest_format_version" (a string holding a positive integer, "1"
 *     today; a JSON number is accepted too) is at most
 *     MODEL_DIR_FORMAT_SUPPORTED: a newer one is an error saying to upgrade
 *     plantfit, never a guess at what the new format means;
 *   - every entry {name, sha256, bytes} of its "model_files" must name a
 *     file of the directory whose size and SHA-256 match ("manifest does not
 *     match gam.h5: ..."), and each model file present (gam.h5, iforest.h5)
 *     must be listed: a swapped, edited or truncated file is caught here,
 *     before HDF5 sees it;
 *   - a directory without manifest.json (a model copied by hand, unit-test
 *     fixtures) is loaded without these checks, and says so in `note`.
 * Then each model file is read (gam_h5_read / iforest_h5_read check the
 * HDF5 structure, so a truncated or corrupted file without a manifest is
 * still a clear error naming it). */
#ifndef PF_MODEL_DIR_H
#define PF_MODEL_DIR_H

#include <cJSON.h>

#include "../algorithms/gam/gam.h"
#include "../algorithms/iforest/iforest.h"
#include "ml_status.h"

#define MODEL_DIR_GAM "gam.h5"
#define MODEL_DIR_IFOREST "iforest.h5"
#define MODEL_DIR_MANIFEST "manifest.json"
/* The newest manifest_format_version this build reads. */
#define MODEL_DIR_FORMAT_SUPPORTED 1
/* manifest.json larger than this is not a manifest. */
#define MODEL_DIR_MANIFEST_MAX ((size_t)64 << 20)

struct model_dir {
    char path[4096];
    struct gam_model *gam;      /* owned; NULL without gam.h5 */
    struct iforest *forest;     /* owned; NULL without iforest.h5 */
    cJSON *manifest;            /* owned; NULL without manifest.json */
    const char *label;          /* the forest's label column from the manifest's
                                   hyperparameters ("label"), or NULL; points into
                                   manifest */
    char note[256];             /* "" or why the checks above were skipped */
    char tmpdir[4096];          /* model_dir_open of an archive: where it was extracted
                                   (removed by model_dir_free), else "" */
};

/* Load DIR.  On error *md is empty (nothing to free) and the message names
 * DIR and the file at fault.  Errors: ML_EIO (DIR or a file unreadable or
 * absent), ML_EINVAL (not a directory; no model in it), ML_EFORMAT
 * (manifest malformed, newer format, hash or size mismatch, bad HDF5). */
enum ml_status model_dir_load(const char *dir, struct model_dir *md, struct ml_err *err);
void model_dir_free(struct model_dir *md);

/* The manifest checks of model_dir_load on a parsed manifest `man` of the
 * directory `dir` (mpath names the manifest in messages): a JSON object with
 * a supported manifest_format_version, every model_files and artifacts
 * entry a plain name of an existing file of that size and SHA-256, every
 * model file present listed.  ML_EFORMAT with the file named otherwise. */
enum ml_status model_dir_check_manifest(const char *dir, const cJSON *man, const char *mpath,
                                        struct ml_err *err);

/* model_dir_load of a directory, or of a model artifact: a (gzip'd) tar
 * archive such as SageMaker's model.tar.gz (io/source/tar_read.h: no links,
 * no absolute or ".." names, size limits), extracted into a fresh
 * directory under $TMPDIR (default /tmp) that model_dir_free removes.  The
 * model directory is the archive's root, or its only top-level directory
 * when the root holds no model. */
enum ml_status model_dir_open(const char *path, struct model_dir *md, struct ml_err *err);

#endif
