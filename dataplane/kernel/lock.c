// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "dataplane/kernel/error.h"
#include "dataplane/kernel/lock.h"

static void lock_path(char *buf, size_t len, uint64_t cookie, int ifindex)
{
	snprintf(buf, len, SC_RUN_DIR "/%llx-%d.lock", (unsigned long long)cookie, ifindex);
}

/*
 * Each lock file lives exactly as long as a command holds it: nothing is
 * left in /run/shardctl between commands. Whoever holds the lock unlinks the
 * file before letting go; a waiter that opened the old file wins flock() on
 * an unlinked inode, sees that the path no longer names it, and retries on
 * a fresh file, so two holders never coexist.
 */
#define SC_MAX_HELD 8

static struct {
	int fd;
	char path[PATH_MAX];
} held[SC_MAX_HELD];

static int remember(int fd, const char *path)
{
	for (int i = 0; i < SC_MAX_HELD; i++)
		if (!held[i].path[0]) {
			held[i].fd = fd;
			snprintf(held[i].path, sizeof(held[i].path), "%s", path);
			return fd;
		}
	close(fd);
	return sc_errf(EMFILE, "%s: too many NIC locks held at once", path);
}

int sc_lock_nic(uint64_t cookie, int ifindex)
{
	char path[PATH_MAX];
	struct stat a, b;
	int fd;

	if (mkdir(SC_RUN_DIR, 0700) && errno != EEXIST)
		return sc_errf(errno, "%s: %s", SC_RUN_DIR, strerror(errno));
	lock_path(path, sizeof(path), cookie, ifindex);
	for (;;) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return sc_errf(errno, "%s: %s", path, strerror(errno));
		if (flock(fd, LOCK_EX)) {
			close(fd);
			return sc_errf(errno, "%s: lock: %s", path, strerror(errno));
		}
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return remember(fd, path);
		close(fd);
	}
}

void sc_unlock(int fd)
{
	if (fd < 0)
		return;
	for (int i = 0; i < SC_MAX_HELD; i++)
		if (held[i].path[0] && held[i].fd == fd) {
			unlink(held[i].path);
			held[i].path[0] = '\0';
		}
	close(fd);
}
