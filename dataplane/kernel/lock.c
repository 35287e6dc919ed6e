// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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

/*
 * Claims are OFD locks (fcntl F_OFD_SETLK), not flock: F_OFD_GETLK lets
 * another process ask whether a claim is held without taking it, which
 * flock cannot. The file holds the claimant's pid, for the messages.
 */
static void claim_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, SC_RUN_DIR "/%s.lock", name);
}

static pid_t read_pid(int fd)
{
	char buf[32] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	return n > 0 ? (pid_t)strtol(buf, NULL, 10) : 0;
}

int sc_claim(const char *name, pid_t *holder)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX], pid[32];
	struct stat a, b;
	int fd, len;

	*holder = 0;
	if (mkdir(SC_RUN_DIR, 0700) && errno != EEXIST)
		return sc_errf(errno, "%s: %s", SC_RUN_DIR, strerror(errno));
	claim_path(path, sizeof(path), name);
	for (;;) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return sc_errf(errno, "%s: %s", path, strerror(errno));
		if (fcntl(fd, F_OFD_SETLK, &fl)) {
			int err = errno;

			*holder = read_pid(fd);
			close(fd);
			if (err == EAGAIN || err == EACCES)
				return -EWOULDBLOCK;
			return sc_errf(err, "%s: lock: %s", path, strerror(err));
		}
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			break;
		close(fd);
	}
	len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, len, 0) != len) {
		int err = errno;

		unlink(path);
		close(fd);
		return sc_errf(err, "%s: %s", path, strerror(err));
	}
	/* Not in held[]: one watch claims up to SC_WATCH_MAX_DEVS devices. */
	return fd;
}

void sc_unclaim(int fd, const char *name)
{
	char path[PATH_MAX];

	if (fd < 0)
		return;
	claim_path(path, sizeof(path), name);
	unlink(path);
	close(fd);
}

pid_t sc_claim_holder(const char *name)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX];
	pid_t pid = 0;
	int fd;

	claim_path(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (!fcntl(fd, F_OFD_GETLK, &fl) && fl.l_type != F_UNLCK)
		pid = read_pid(fd) ?: -1;
	close(fd);
	return pid;
}
