// SPDX-License-Identifier: GPL-2.0
/*
 * Finding the holder's queues: `traffic` and `queues` borrow the very open
 * files the holder keeps at fd MQ_QFD_BASE + i, so what they write enters,
 * and what they attach or detach is, the holder's queue i.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include "netns/mqtap/mqtap.h"

socklen_t mq_sock_addr(struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + 1, MQ_SOCK_NAME, strlen(MQ_SOCK_NAME));
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(MQ_SOCK_NAME));
}

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_getfd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

/* Queue i is fd MQ_QFD_BASE + i in the holder; the first EBADF ends the list. */
static int fds_by_pidfd(int *fds, unsigned int *nfds, pid_t pid)
{
	int pidfd = sys_pidfd_open(pid), fd, err = 0;

	if (pidfd < 0)
		return -errno;
	for (*nfds = 0; *nfds < MQ_MAX_QUEUES; (*nfds)++) {
		fd = sys_pidfd_getfd(pidfd, MQ_QFD_BASE + (int)*nfds);
		if (fd < 0) {
			if (errno != EBADF)
				err = -errno;
			break;
		}
		fds[*nfds] = fd;
	}
	close(pidfd);
	return err;
}

static int fds_recv_chunk(int *fds, unsigned int *nfds, int s, uint32_t *total)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MQ_FD_CHUNK)];
		struct cmsghdr align;
	} u;
	uint32_t hdr[2];
	struct iovec iov = { .iov_base = hdr, .iov_len = sizeof(hdr) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	size_t n;

	if (recvmsg(s, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(hdr))
		return -EPROTO;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS || (msg.msg_flags & MSG_CTRUNC))
		return -EPROTO;
	n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	/* Keep what arrived even if it is wrong, so the caller closes it. */
	if (*nfds + n > MQ_MAX_QUEUES)
		n = MQ_MAX_QUEUES - *nfds;
	memcpy(fds + *nfds, CMSG_DATA(cm), n * sizeof(int));
	*nfds += (unsigned int)n;
	*total = hdr[1];
	return hdr[0] + n == *nfds ? 0 : -EPROTO;
}

/* Same open files as pidfd_getfd() would give, handed over by the holder. */
static int fds_by_socket(int *fds, unsigned int *nfds)
{
	struct sockaddr_un sun;
	const socklen_t len = mq_sock_addr(&sun);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), err = 0;
	uint32_t total = 1;

	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sun, len))
		err = -errno;
	for (*nfds = 0; !err && *nfds < total && *nfds < MQ_MAX_QUEUES;)
		err = fds_recv_chunk(fds, nfds, s, &total);
	close(s);
	return err;
}

static int fds_check(const char *ns, const int *fds, unsigned int nfds, const char **devp,
		     pid_t pid)
{
	static char dev[IFNAMSIZ];

	for (unsigned int i = 0; i < nfds; i++) {
		struct ifreq ifr = { 0 };

		if (ioctl(fds[i], TUNGETIFF, &ifr) ||
		    (ifr.ifr_flags & (IFF_TAP | IFF_MULTI_QUEUE)) != (IFF_TAP | IFF_MULTI_QUEUE) ||
		    (i && strcmp(dev, ifr.ifr_name)))
			return mq_errf(-1, "%s: holder pid %d: fd %u is not a queue of a multi-queue TAP",
				       ns, (int)pid, MQ_QFD_BASE + i);
		snprintf(dev, sizeof(dev), "%s", ifr.ifr_name);
	}
	if (!nfds)
		return mq_errf(-1, "%s: holder pid %d holds no TAP queues (not an mqtap holder?)",
			       ns, (int)pid);
	*devp = dev;
	return 0;
}

/*
 * The holder's queue fds into @fds (MQ_MAX_QUEUES of them), attached or
 * not, and the TAP's name. Runs inside the testbed's netns: the fallback
 * socket's name is per netns. After an error @fds[0..*nfds) may still hold
 * fds, for the caller to close.
 */
int mq_holder_fds(const char *ns, int *fds, unsigned int *nfds, const char **dev, pid_t *pidp)
{
	pid_t pid = mq_pidfile_read(ns);
	int err;

	*nfds = 0;
	if (pid <= 0)
		return pid ? -1 : mq_errf(-1, "%s: no testbed holder (" MQ_RUN_DIR "/%s.pid missing)",
					  ns, ns);
	if (kill(pid, 0) && errno == ESRCH)
		return mq_errf(-1, "%s: holder pid %d is gone (stale " MQ_RUN_DIR "/%s.pid)", ns,
			       (int)pid, ns);
	if (pidp)
		*pidp = pid;
	/* MQTAP_NO_PIDFD=1 exercises the fallback where pidfd_getfd() works. */
	err = getenv("MQTAP_NO_PIDFD") ? -ENOSYS : fds_by_pidfd(fds, nfds, pid);
	if (err == -ENOSYS) {
		err = fds_by_socket(fds, nfds);
		if (err)
			return mq_errf(-1, "%s: pidfd_open unsupported and holder socket @" MQ_SOCK_NAME
				       ": %s", ns, strerror(-err));
	} else if (err) {
		return mq_errf(-1, "%s: holder pid %d: pidfd_getfd: %s", ns, (int)pid, strerror(-err));
	}
	return fds_check(ns, fds, *nfds, dev, pid);
}
