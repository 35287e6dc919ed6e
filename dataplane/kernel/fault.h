/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Named fault points inside setup and teardown, for tests that must prove
 * rollback and crash consistency without racing a sleep:
 *
 *   SHARDCTL_FAIL_AT=NAME   the point returns an injected error (-EIO)
 *   SHARDCTL_PAUSE_AT=NAME  the process prints "paused at NAME" on stderr and
 *                           stops itself (SIGSTOP), so a test can kill -9 it
 *                           exactly there
 *
 * Both are ignored unless the variable is set; the cost is one getenv().
 */
#ifndef SC_FAULT_H
#define SC_FAULT_H

int sc_fault(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
