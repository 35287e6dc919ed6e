/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Error reporting for the dataplane library.
 *
 * Every failing call returns a negative errno AND leaves a sentence that
 * names the object at fault ("eth0: no such device"). The CLI prints that
 * sentence; tests assert on it. One buffer per thread, overwritten by the
 * next failure.
 */
#ifndef SC_ERROR_H
#define SC_ERROR_H

#include <errno.h>

/* Record a message and return -|err| (so callers can `return sc_errf(...)`). */
int sc_errf(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the current message with more context: "setup eth0: <old>". */
int sc_err_wrap(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sc_last_error(void);
void sc_clear_error(void);

#endif
