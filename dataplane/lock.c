// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "dataplane/error.h"
#include "dataplane/lock.h"

static void lock_path(char *buf, size_t len, uint64_t cookie, int ifindex)
{
	snprintf(buf, len, SC_RUN_DIR "/%llx-%d.lock", (unsigned long long)cookie, ifindex);
}

/*
 * Serialise every change to one NIC (bootstrap scripts run setups
 * concurrently). Teardown unlinks the file while holding it, so after
 * flock() the path must still name the file we locked; else retry on the
 * new one.
 */
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
			return fd;
		close(fd);
	}
}

/* After a teardown: nothing left to serialise; remove the file before letting go. */
void sc_unlock_remove(int fd, uint64_t cookie, int ifindex)
{
	char path[PATH_MAX];

	lock_path(path, sizeof(path), cookie, ifindex);
	unlink(path);
	sc_unlock(fd);
}


void sc_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
