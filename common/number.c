#include <errno.h>
#include <stdlib.h>

#include "common/number.h"

int
number_parse_long (const char *s, long min, long max, long *out)
{
        const char *digits = s && *s == '-' ? s + 1 : s;
        char *end;
        long v;

        /* strtol would skip leading blanks and take a sign of its own */
        if (digits == NULL || *digits < '0' || *digits > '9')
                return -EINVAL;
        errno = 0;
        v = strtol (s, &end, 10);
        if (*end != '\0')
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *out = v;
        return 0;
}
