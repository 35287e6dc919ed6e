// SPDX-License-Identifier: GPL-2.0
/*
 * mqtap hold: create the multi-queue TAP in the testbed's namespace and keep
 * its queue fds open in a background holder for the testbed's life.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "netns/mqtap/mqtap.h"

struct hold_opts {
	const char *ns, *dev;
	unsigned long queues, active, mtu;
};

static void hold_usage(FILE *f)
{
	fprintf(f, "Usage: mqtap hold --ns NS --dev DEV --queues R [--active A] [--mtu M]\n\n"
		   "Create multi-queue TAP DEV with R queues (1-%d) in network namespace NS,\n"
		   "set it up (IPv6 off), then keep its queue fds open in the background until\n"
		   "SIGTERM. Returns once the TAP is up; the holder's pid is in\n" MQ_RUN_DIR
		   "/NS.pid and queue i is its fd %d+i.\n\n"
		   "--active A leaves only queues 0..A-1 attached (default all R), so the TAP\n"
		   "has A active queues; `mqtap queues` changes that later.\n",
		MQ_MAX_QUEUES, MQ_QFD_BASE);
}

static int hold_parse(int argc, char **argv, struct hold_opts *o)
{
	static const struct option lo[] = {
		{ "ns", required_argument, NULL, 'n' },	 { "dev", required_argument, NULL, 'd' },
		{ "queues", required_argument, NULL, 'q' }, { "mtu", required_argument, NULL, 'm' },
		{ "active", required_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->ns = optarg;
			break;
		case 'd':
			o->dev = optarg;
			break;
		case 'q':
			if (mq_parse_ulong("--queues", optarg, 1, MQ_MAX_QUEUES, &o->queues))
				return EXIT_USAGE;
			break;
		case 'm':
			if (mq_parse_ulong("--mtu", optarg, 68, 65535, &o->mtu))
				return EXIT_USAGE;
			break;
		case 'a':
			if (mq_parse_ulong("--active", optarg, 1, MQ_MAX_QUEUES, &o->active))
				return EXIT_USAGE;
			break;
		case 'h':
			hold_usage(stdout);
			return -1;
		default:
			hold_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !o->ns || !o->dev || !o->queues) {
		hold_usage(stderr);
		return EXIT_USAGE;
	}
	if (!mq_valid_name(o->ns, NAME_MAX - 16))
		return mq_errf(EXIT_USAGE, "--ns: bad namespace name '%s'", o->ns);
	if (!mq_valid_name(o->dev, IFNAMSIZ))
		return mq_errf(EXIT_USAGE, "--dev: bad interface name '%s'", o->dev);
	if (o->active > o->queues)
		return mq_errf(EXIT_USAGE, "--active: %lu is more than --queues %lu", o->active,
			       o->queues);
	if (!o->active)
		o->active = o->queues;
	return 0;
}

/* Opens and attaches queue @i, parked at MQ_QFD_BASE + i for `traffic` to find. */
static int tap_attach(const struct hold_opts *o, unsigned int i)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE };
	int fd, parked = -1;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return mq_errf(-1, "/dev/net/tun: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->dev);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		mq_errf(-1, "%s in %s: TUNSETIFF (queue %u of %lu): %s", o->dev, o->ns, i, o->queues,
			strerror(errno));
		goto out;
	}
	parked = fcntl(fd, F_DUPFD_CLOEXEC, MQ_QFD_BASE + i);
	if (parked != (int)(MQ_QFD_BASE + i)) {
		mq_errf(-1, "queue %u: cannot place its fd at %u: %s", i, MQ_QFD_BASE + i,
			parked < 0 ? strerror(errno) : "fd in use");
		if (parked >= 0)
			close(parked);
		parked = -1;
	}
out:
	close(fd);
	return parked;
}

/*
 * --active: detaches queues R-1 down to A, the last one each time, so tun
 * never moves a queue into a freed index: queue fd i stays rx queue i.
 */
static int tap_detach_above(const struct hold_opts *o)
{
	for (unsigned int i = (unsigned int)o->queues; i-- > o->active;)
		if (mq_queue_set(MQ_QFD_BASE + (int)i, false))
			return mq_errf(-1, "%s in %s: detach queue %u (--active %lu): %s", o->dev,
				       o->ns, i, o->active, strerror(errno));
	return 0;
}

static void tap_close(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		close(MQ_QFD_BASE + i);
}

/* Before the link goes up, so no ND/MLD/DAD frame ever lands in a queue. */
static int disable_ipv6(const struct hold_opts *o)
{
	char path[PATH_MAX];
	int fd, err = 0;

	if (access("/proc/sys/net/ipv6", F_OK))
		return 0;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", o->dev);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return mq_errf(-1, "%s in %s: %s: %s", o->dev, o->ns, path, strerror(errno));
	if (write(fd, "1\n", 2) != 2)
		err = mq_errf(-1, "%s in %s: %s: %s", o->dev, o->ns, path, strerror(errno));
	close(fd);
	return err;
}

/* Queue fds sit at MQ_QFD_BASE.. : make sure the soft fd limit reaches them. */
static int fd_limit(unsigned int nq)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return mq_errf(-1, "getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= MQ_QFD_BASE + nq)
		return 0;
	if (rl.rlim_max < MQ_QFD_BASE + nq)
		return mq_errf(-1, "fd limit %llu: %u queues need fds up to %u",
			       (unsigned long long)rl.rlim_max, nq, MQ_QFD_BASE + nq - 1);
	rl.rlim_cur = MQ_QFD_BASE + nq;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return mq_errf(-1, "setrlimit: %s", strerror(errno));
	return 0;
}

static int tap_create(const struct hold_opts *o)
{
	struct rtnl_link *link = NULL;
	struct nl_sock *sk;
	unsigned int n = 0;
	int err = -1;

	if (fd_limit((unsigned int)o->queues))
		return -1;
	sk = mq_rtnl_open();
	if (!sk)
		return -1;
	if (!rtnl_link_get_kernel(sk, 0, o->dev, &link)) {
		rtnl_link_put(link);
		mq_errf(-1, "%s in %s: device already exists", o->dev, o->ns);
		goto out;
	}
	for (; n < o->queues; n++)
		if (tap_attach(o, n) < 0)
			goto out;
	if (tap_detach_above(o))
		goto out;
	if (disable_ipv6(o) || mq_link_set_up(sk, o->ns, o->dev, (unsigned int)o->mtu))
		goto out;
	err = 0;
out:
	if (err)
		tap_close(n);
	nl_socket_free(sk);
	return err;
}

static int hold_check_free(const char *ns)
{
	pid_t pid = mq_pidfile_read(ns);

	if (pid < 0)
		return -1;
	if (pid > 0 && (!kill(pid, 0) || errno == EPERM))
		return mq_errf(-1, "%s: already held by pid %d (" MQ_RUN_DIR "/%s.pid)", ns, (int)pid,
			       ns);
	return 0;
}

static int fd_server_open(const char *ns)
{
	struct sockaddr_un sun;
	const socklen_t len = mq_sock_addr(&sun);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return mq_errf(-1, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, len) || listen(fd, 4)) {
		mq_errf(-1, "%s: unix socket @" MQ_SOCK_NAME ": %s", ns, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The queue fds for one client, in chunks: {first index, total} + SCM_RIGHTS. */
static void fd_serve(int lfd, unsigned int nq)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MQ_FD_CHUNK)];
		struct cmsghdr align;
	} u;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return;
	/* Whoever holds a queue fd can inject frames: root only. */
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || cred.uid != geteuid())
		goto out;
	for (unsigned int first = 0; first < nq; first += MQ_FD_CHUNK) {
		const unsigned int n = nq - first < MQ_FD_CHUNK ? nq - first : MQ_FD_CHUNK;
		uint32_t hdr[2] = { first, nq };
		struct iovec iov = { .iov_base = hdr, .iov_len = sizeof(hdr) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				      .msg_controllen = CMSG_SPACE(sizeof(int) * n) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		int fds[MQ_FD_CHUNK];

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		for (unsigned int i = 0; i < n; i++)
			fds[i] = (int)(MQ_QFD_BASE + first + i);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
		if (sendmsg(c, &msg, MSG_NOSIGNAL) < 0)
			break;
	}
out:
	close(c);
}

/* Until SIGTERM/SIGINT, handing out the queue fds to whoever asks over @lfd. */
static void hold_forever(const char *ns, int sfd, int lfd, unsigned int nq)
{
	struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = lfd, .events = POLLIN } };

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN)
			fd_serve(lfd, nq);
	}
	mq_pidfile_remove(ns);
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static void close_between(unsigned int lo, unsigned int hi)
{
	if (lo <= hi)
		close_range(lo, hi, 0);
}

/*
 * Whatever else the holder inherited (a caller's pipe, say) would stay open
 * for the testbed's life and keep that caller waiting for EOF. Keeps the
 * queues and @keep.
 */
static void close_inherited(int keep, unsigned int nq)
{
	const unsigned int k = (unsigned int)keep, qlo = MQ_QFD_BASE, qhi = MQ_QFD_BASE + nq;
	unsigned int from = STDERR_FILENO + 1;

	if (k < qlo) {
		close_between(from, k - 1);
		from = k + 1;
	}
	close_between(from, qlo - 1);
	from = qhi;
	if (k >= qhi) {
		close_between(from, k - 1);
		from = k + 1;
	}
	close_between(from, ~0U);
}

/*
 * The child owns the queues for the testbed's life. It reports readiness
 * over a pipe only after its pid file is in place, so when `hold` returns
 * the TAP is up and `traffic` can find the holder.
 */
static void hold_child(const struct hold_opts *o, const sigset_t *stop, int ready)
{
	const unsigned int nq = (unsigned int)o->queues;
	int sfd, lfd;

	close_inherited(ready, nq);
	if (setsid() < 0 || chdir("/") || mq_pidfile_write(o->ns, getpid()))
		exit(EXIT_FAIL);
	sfd = signalfd(-1, stop, SFD_CLOEXEC);
	lfd = fd_server_open(o->ns);
	if (sfd < 0 || lfd < 0) {
		if (sfd < 0)
			mq_errf(-1, "signalfd: %s", strerror(errno));
		mq_pidfile_remove(o->ns);
		exit(EXIT_FAIL);
	}
	detach_stdio();
	if (write(ready, "R", 1) != 1)
		exit(EXIT_FAIL);
	close(ready);
	hold_forever(o->ns, sfd, lfd, nq);
	close(lfd);
	close(sfd);
	tap_close(nq);
	exit(EXIT_OK);
}

static int hold_daemonize(const struct hold_opts *o, const sigset_t *stop)
{
	int pfd[2];
	char ok = 0;
	pid_t pid;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC))
		return mq_errf(-1, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return mq_errf(-1, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(pfd[0]);
		hold_child(o, stop, pfd[1]);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], &ok, 1);
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n != 1)
		return mq_errf(-1, "%s: holder (pid %d) failed before it was ready", o->ns, (int)pid);
	return 0;
}

int mq_cmd_hold(int argc, char **argv)
{
	struct hold_opts o = { 0 };
	sigset_t stop;
	int err;

	mq_prog_cmd = "mqtap hold";
	err = hold_parse(argc, argv, &o);
	if (err)
		return err < 0 ? EXIT_OK : err;
	/* Blocked before the fork so a SIGTERM sent right after we return is not lost. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	if (hold_check_free(o.ns) || mq_enter_netns(o.ns) || tap_create(&o))
		return EXIT_FAIL;
	err = hold_daemonize(&o, &stop);
	tap_close((unsigned int)o.queues);
	return err ? EXIT_FAIL : EXIT_OK;
}
