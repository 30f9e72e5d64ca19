/* ext_side.h - two or more versions of one extension in one image, side
 * by side (docs/extension-recipes.md): the layer of each version installs
 * its modules as NAME-VERSION.so (NAME.so a link to it, so that the upper
 * layer, the newest version, answers to the plain name), its control file
 * becomes a secondary control file of its version that names that module,
 * and its SQL scripts say MODULE_PATHNAME where they named the module, so
 * that each version's SQL runs its own code.  An update script leading to
 * the layer's version moves every C function of the extension to its
 * module, since an update redefines only what changed.
 *
 * Only a layer made for an image with several versions of its recipe goes
 * through this: a single version keeps upstream's file names.
 */
#ifndef PGIMG_EXT_SIDE_H
#define PGIMG_EXT_SIDE_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

/* The key input of a layer made for versions side by side: changed
 * (say, " 2" appended) whenever ext_side_by_side changes what it makes. */
#define EXT_SIDE_KEY "versioned modules"

/* The value of `key` in control file text (`key = 'value'` or `key =
 * value`, # comments) into out (NUL-terminated, at most size - 1 bytes):
 * 1 when found, 0 when not, -1 when it is longer than out. */
int ext_side_control_value (const char *text, size_t len, const char *key, char *out, size_t size);

/* Control file text with its `directory` and, when drop_default is set,
 * `default_version` lines left out, and `module_pathname = 'module'`
 * appended when module is not NULL (a later setting wins), into out.
 * -1 (errno ENOMEM) when out cannot grow. */
int ext_side_control_rewrite (const char *text, size_t len, const char *module, int drop_default,
                              struct buf *out);

/* A script of extension ext whose module is mod: '$libdir/mod', and 'mod'
 * after AS, become 'MODULE_PATHNAME'; when repoint is set, the statement
 * that moves every C function of ext to MODULE_PATHNAME is appended.  The
 * result into out; the number of replacements, or -1 (ENOMEM, or EINVAL
 * when ext or mod has a character outside [A-Za-z0-9._+-]). */
int ext_side_script_rewrite (const char *text, size_t len, const char *ext, const char *mod, int repoint,
                             struct buf *out);

/* Do all of this to the files of one layer, the tree root (its
 * usr/lib/postgresql/<major>/{lib,share/extension}), for the recipe
 * version `version`.  Libraries named in preload (the recipe's
 * shared_preload_libraries: one copy per server) and layers whose
 * libraries are versioned already (timescaledb-2.17.2.so) are left as
 * they are.  Errors name the file. */
int ext_side_by_side (const char *root, const char *major, const char *version, char *const *preload,
                      pgimg_error_t *err);

#endif
