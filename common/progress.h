/* progress.h - what pgimg tells a person while it works, on stderr.
 *
 * Notes are one line each and are dropped with --quiet.  Updates redraw
 * one line and appear only when stderr is a terminal.  Library code
 * reports through here and never writes to stdout.
 */
#ifndef PGIMG_PROGRESS_H
#define PGIMG_PROGRESS_H

void progress_set_quiet (int quiet);
int progress_quiet (void);
void progress_note (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void progress_update (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
/* Clear a line left by progress_update. */
void progress_done (void);

#endif
