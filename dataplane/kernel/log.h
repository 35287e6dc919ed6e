/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libbpf talks on stderr by default, in its own words ("libbpf: prog
 * 'x': failed to load: -13"), which would sit beside the one sentence the
 * tool prints for every failure. Its output goes through here instead:
 * silent by default, warnings with -v, debug output and verifier logs with
 * -vv (as bcc's libbpf-tools and xdp-tools do).
 */
#ifndef SC_LOG_H
#define SC_LOG_H

void sc_log_set_verbosity(int level);

#endif
