/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One lock per NIC for every shardctl change (setup, teardown, remap, mq):
 * flock on /run/shardctl/<netns cookie>-<ifindex>.lock, so bootstrap scripts
 * and people running commands concurrently never interleave on one device,
 * while different devices proceed in parallel. The file exists only while a
 * command holds it.
 */
#ifndef SC_LOCK_H
#define SC_LOCK_H

#include <stdint.h>
#include <sys/types.h>

#define SC_RUN_DIR "/run/shardctl"

/* Blocks until held; returns the fd to pass to sc_unlock(), or -errno. */
int sc_lock_nic(uint64_t cookie, int ifindex);
/* Remove the lock file and release it; fd < 0 is a no-op. */
void sc_unlock(int fd);

/*
 * A long-lived claim on @name (watch takes "watch-<cookie>-<DEV>"): never
 * blocks. Returns the fd to pass to sc_unclaim(), -EWOULDBLOCK when another
 * process holds it (*holder: its pid), or -errno. Released when the holder
 * exits, also by SIGKILL (the file then stays, unheld, for the next one).
 * Claims take no slot of the few NIC locks one process may hold.
 */
int sc_claim(const char *name, pid_t *holder);
/* Remove @name's claim file and release the claim; fd < 0 is a no-op. */
void sc_unclaim(int fd, const char *name);
/* The pid holding @name's claim: 0 when none, -1 when held by an unknown pid. */
pid_t sc_claim_holder(const char *name);

#endif
