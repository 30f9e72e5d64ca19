#include <errno.h>

#include "common/libjson.h"

/* jansson's syntax errors carry a line and a column: keep them. */
int
pgimg_error_from_json (pgimg_error_t *err, const char *path, const json_error_t *je)
{
        return pgimg_make_error (err, EINVAL, "`%s`: line %d, column %d: %s", path, je->line,
                                 je->column, je->text);
}
