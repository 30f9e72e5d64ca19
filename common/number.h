/* number.h - whole numbers from text, with range checks.
 *
 * strtol and atoi accept "4x" as 4, " 4" and "" as 0 without a word:
 * every number pgimg reads from a command line, the environment or a
 * file it wrote goes through here instead.
 */
#ifndef PGIMG_NUMBER_H
#define PGIMG_NUMBER_H

/* s as a decimal number from min to max into *out: optional '-', then
 * digits only (no blanks, no '+', no trailing text).  Returns 0, or
 * -EINVAL (not a number) or -ERANGE (outside min..max) with *out
 * untouched. */
int number_parse_long (const char *s, long min, long max, long *out);

#endif
