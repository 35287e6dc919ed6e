// SPDX-License-Identifier: GPL-2.0
/*
 * mqtap: a multi-queue TAP that stands in for a multi-queue NIC in a test
 * namespace, and a traffic tool that writes frames into chosen rx queues and
 * checks that every one comes back byte for byte.
 *
 *   mqtap hold    creates the TAP in a namespace and keeps its queue fds
 *                 open (a TAP has as many active queues as attached fds).
 *   mqtap traffic borrows those same fds from the holder with pidfd_getfd(),
 *                 so frames enter the very queues the holder keeps active.
 *
 * The holder keeps queue i at fd MQ_QFD_BASE + i: that is the whole contract
 * between the two commands, so no side file can go stale. See README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>

#include <json-c/json.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "netns/frames.h"

#define MQ_QFD_BASE	100
#define MQ_MAX_QUEUES	256	/* tun's MAX_TAP_QUEUES */
#define MQ_RUN_DIR	"/run/shardctl-testbed"
#define MQ_NETNS_DIR	"/var/run/netns"
#define MQ_MAX_COUNT	10000000UL
#define MQ_MAX_RATE	10000000UL
#define MQ_MAX_DURATION	600
#define MQ_MAX_TIMEOUT	60
#define MQ_MAX_FLOWS	4096
#define MQ_READ_BUF	65536
/*
 * Fallback hand-over of the queue fds (SCM_RIGHTS) for when pidfd_getfd()
 * is refused, e.g. under valgrind 3.19, which does not know pidfd_open.
 * Abstract unix names are per network namespace: one name per testbed.
 */
#define MQ_SOCK_NAME	"shardctl-testbed/mqtap"
#define MQ_FD_CHUNK	128	/* below the kernel's SCM_MAX_FD (253) */

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char *prog_cmd = "mqtap";

static int errf(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int errf(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* ---- option parsing ---------------------------------------------------- */

static int parse_ulong(const char *what, const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		return errf(EXIT_USAGE, "%s: '%s' is not an integer in [%lu, %lu]", what, s, min,
			    max);
	*out = v;
	return 0;
}

static int parse_secs(const char *what, const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > max)
		return errf(EXIT_USAGE, "%s: '%s' is not a number of seconds in [0, %g]", what, s,
			    max);
	*out = v;
	return 0;
}

/* "0,2-5" into @set[0..limit); returns how many were set, or -1 after an error. */
static int parse_list(const char *what, const char *s, bool *set, unsigned int limit)
{
	char *dup = strdup(s), *tok, *save = NULL;
	int n = 0;

	if (!dup)
		return errf(-1, "out of memory");
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long lo, hi;
		char *dash = strchr(tok, '-');

		if (dash)
			*dash = '\0';
		if (parse_ulong(what, tok, 0, limit - 1, &lo) ||
		    parse_ulong(what, dash ? dash + 1 : tok, lo, limit - 1, &hi)) {
			n = -1;
			break;
		}
		for (; lo <= hi; lo++)
			if (!set[lo]) {
				set[lo] = true;
				n++;
			}
	}
	free(dup);
	if (!n)
		return errf(-1, "%s: empty list '%s'", what, s);
	return n;
}

static bool valid_name(const char *s, size_t max)
{
	size_t len = strlen(s);

	return len && len < max && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* ---- namespace, pid file --------------------------------------------- */

static int enter_netns(const char *ns)
{
	char path[PATH_MAX];
	int fd, err = 0;

	snprintf(path, sizeof(path), MQ_NETNS_DIR "/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(-1, "network namespace %s: %s: %s", ns, path, strerror(errno));
	if (setns(fd, CLONE_NEWNET))
		err = errf(-1, "network namespace %s: setns: %s", ns, strerror(errno));
	close(fd);
	return err;
}

static void pidfile_path(char *buf, size_t len, const char *ns)
{
	snprintf(buf, len, MQ_RUN_DIR "/%s.pid", ns);
}

/* The holder's pid, 0 when there is no pid file, -1 after an error. */
static pid_t pidfile_read(const char *ns)
{
	char path[PATH_MAX], line[32] = "";
	unsigned long pid;
	FILE *f;

	pidfile_path(path, sizeof(path), ns);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return errf(-1, "%s: %s", path, strerror(errno));
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (parse_ulong(path, line, 1, INT_MAX, &pid))
		return -1;
	return (pid_t)pid;
}

/* Written to a temporary name and renamed, so readers never see half a pid. */
static int pidfile_write(const char *ns, pid_t pid)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	FILE *f;
	int err = 0;

	if (mkdir(MQ_RUN_DIR, 0755) && errno != EEXIST)
		return errf(-1, "%s: %s", MQ_RUN_DIR, strerror(errno));
	pidfile_path(path, sizeof(path), ns);
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)pid);
	f = fopen(tmp, "we");
	if (!f)
		return errf(-1, "%s: %s", tmp, strerror(errno));
	if (fprintf(f, "%d\n", (int)pid) < 0)
		err = -1;
	if (fclose(f) || err) {
		unlink(tmp);
		return errf(-1, "%s: write failed", tmp);
	}
	if (rename(tmp, path)) {
		err = errf(-1, "%s: %s", path, strerror(errno));
		unlink(tmp);
	}
	return err;
}

/* Only our own pid file: a newer holder may already own the name. */
static void pidfile_remove(const char *ns)
{
	char path[PATH_MAX];

	if (pidfile_read(ns) != getpid())
		return;
	pidfile_path(path, sizeof(path), ns);
	unlink(path);
}

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_getfd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

/* ---- netlink (libnl-route) -------------------------------------------- */

static struct nl_sock *rtnl_open(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk) {
		errf(-1, "netlink: out of memory");
		return NULL;
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err < 0) {
		errf(-1, "netlink: connect: %s", nl_geterror(err));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

struct link_info {
	uint8_t mac[6];
	unsigned int mtu;
	bool up;
};

static int link_query(struct nl_sock *sk, const char *ns, const char *dev, struct link_info *li)
{
	struct rtnl_link *link = NULL;
	struct nl_addr *addr;
	int err;

	err = rtnl_link_get_kernel(sk, 0, dev, &link);
	if (err < 0)
		return errf(-1, "%s in %s: %s", dev, ns, nl_geterror(err));
	addr = rtnl_link_get_addr(link);
	if (!addr || nl_addr_get_len(addr) != 6) {
		rtnl_link_put(link);
		return errf(-1, "%s in %s: no Ethernet address", dev, ns);
	}
	memcpy(li->mac, nl_addr_get_binary_addr(addr), 6);
	li->mtu = rtnl_link_get_mtu(link);
	li->up = rtnl_link_get_flags(link) & IFF_UP;
	rtnl_link_put(link);
	return 0;
}

static int link_set_up(struct nl_sock *sk, const char *ns, const char *dev, unsigned int mtu)
{
	struct rtnl_link *link = NULL, *change = NULL;
	struct link_info li;
	int err;

	err = rtnl_link_get_kernel(sk, 0, dev, &link);
	if (err < 0)
		return errf(-1, "%s in %s: %s", dev, ns, nl_geterror(err));
	change = rtnl_link_alloc();
	if (!change) {
		err = errf(-1, "netlink: out of memory");
		goto out;
	}
	rtnl_link_set_flags(change, IFF_UP);
	if (mtu)
		rtnl_link_set_mtu(change, mtu);
	err = rtnl_link_change(sk, link, change, 0);
	if (err < 0) {
		if (mtu)
			err = errf(-1, "%s in %s: set up with mtu %u: %s", dev, ns, mtu,
				   nl_geterror(err));
		else
			err = errf(-1, "%s in %s: set up: %s", dev, ns, nl_geterror(err));
		goto out;
	}
	/* The ack says the request was taken; check the state is what we asked for. */
	err = link_query(sk, ns, dev, &li);
	if (!err && (!li.up || (mtu && li.mtu != mtu)))
		err = errf(-1, "%s in %s: still %s, mtu %u after the change", dev, ns,
			   li.up ? "up" : "down", li.mtu);
out:
	rtnl_link_put(change);
	rtnl_link_put(link);
	return err;
}

/* ---- hold -------------------------------------------------------------- */

struct hold_opts {
	const char *ns, *dev;
	unsigned long queues, mtu;
};

static void hold_usage(FILE *f)
{
	fprintf(f, "Usage: mqtap hold --ns NS --dev DEV --queues R [--mtu M]\n\n"
		   "Create multi-queue TAP DEV with R queues (1-%d) in network namespace NS,\n"
		   "set it up (IPv6 off), then keep its queue fds open in the background until\n"
		   "SIGTERM. Returns once the TAP is up; the holder's pid is in\n" MQ_RUN_DIR
		   "/NS.pid and queue i is its fd %d+i.\n",
		MQ_MAX_QUEUES, MQ_QFD_BASE);
}

static int hold_parse(int argc, char **argv, struct hold_opts *o)
{
	static const struct option lo[] = {
		{ "ns", required_argument, NULL, 'n' },	 { "dev", required_argument, NULL, 'd' },
		{ "queues", required_argument, NULL, 'q' }, { "mtu", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },	 { 0 },
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
			if (parse_ulong("--queues", optarg, 1, MQ_MAX_QUEUES, &o->queues))
				return EXIT_USAGE;
			break;
		case 'm':
			if (parse_ulong("--mtu", optarg, 68, 65535, &o->mtu))
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
	if (!valid_name(o->ns, NAME_MAX - 16))
		return errf(EXIT_USAGE, "--ns: bad namespace name '%s'", o->ns);
	if (!valid_name(o->dev, IFNAMSIZ))
		return errf(EXIT_USAGE, "--dev: bad interface name '%s'", o->dev);
	return 0;
}

/* Opens and attaches queue @i, parked at MQ_QFD_BASE + i for `traffic` to find. */
static int tap_attach(const struct hold_opts *o, unsigned int i)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE };
	int fd, parked = -1;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errf(-1, "/dev/net/tun: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->dev);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		errf(-1, "%s in %s: TUNSETIFF (queue %u of %lu): %s", o->dev, o->ns, i, o->queues,
		     strerror(errno));
		goto out;
	}
	parked = fcntl(fd, F_DUPFD_CLOEXEC, MQ_QFD_BASE + i);
	if (parked != (int)(MQ_QFD_BASE + i)) {
		errf(-1, "queue %u: cannot place its fd at %u: %s", i, MQ_QFD_BASE + i,
		     parked < 0 ? strerror(errno) : "fd in use");
		if (parked >= 0)
			close(parked);
		parked = -1;
	}
out:
	close(fd);
	return parked;
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
		return errf(-1, "%s in %s: %s: %s", o->dev, o->ns, path, strerror(errno));
	if (write(fd, "1\n", 2) != 2)
		err = errf(-1, "%s in %s: %s: %s", o->dev, o->ns, path, strerror(errno));
	close(fd);
	return err;
}

/* Queue fds sit at MQ_QFD_BASE.. : make sure the soft fd limit reaches them. */
static int fd_limit(unsigned int nq)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return errf(-1, "getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= MQ_QFD_BASE + nq)
		return 0;
	if (rl.rlim_max < MQ_QFD_BASE + nq)
		return errf(-1, "fd limit %llu: %u queues need fds up to %u",
			    (unsigned long long)rl.rlim_max, nq, MQ_QFD_BASE + nq - 1);
	rl.rlim_cur = MQ_QFD_BASE + nq;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return errf(-1, "setrlimit: %s", strerror(errno));
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
	sk = rtnl_open();
	if (!sk)
		return -1;
	if (!rtnl_link_get_kernel(sk, 0, o->dev, &link)) {
		rtnl_link_put(link);
		errf(-1, "%s in %s: device already exists", o->dev, o->ns);
		goto out;
	}
	for (; n < o->queues; n++)
		if (tap_attach(o, n) < 0)
			goto out;
	if (disable_ipv6(o) || link_set_up(sk, o->ns, o->dev, (unsigned int)o->mtu))
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
	pid_t pid = pidfile_read(ns);

	if (pid < 0)
		return -1;
	if (pid > 0 && (!kill(pid, 0) || errno == EPERM))
		return errf(-1, "%s: already held by pid %d (" MQ_RUN_DIR "/%s.pid)", ns, (int)pid,
			    ns);
	return 0;
}

static socklen_t mq_sock_addr(struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + 1, MQ_SOCK_NAME, strlen(MQ_SOCK_NAME));
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(MQ_SOCK_NAME));
}

static int fd_server_open(const char *ns)
{
	struct sockaddr_un sun;
	const socklen_t len = mq_sock_addr(&sun);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errf(-1, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, len) || listen(fd, 4)) {
		errf(-1, "%s: unix socket @" MQ_SOCK_NAME ": %s", ns, strerror(errno));
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
	pidfile_remove(ns);
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
	if (setsid() < 0 || chdir("/") || pidfile_write(o->ns, getpid()))
		exit(EXIT_FAIL);
	sfd = signalfd(-1, stop, SFD_CLOEXEC);
	lfd = fd_server_open(o->ns);
	if (sfd < 0 || lfd < 0) {
		if (sfd < 0)
			errf(-1, "signalfd: %s", strerror(errno));
		pidfile_remove(o->ns);
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
		return errf(-1, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return errf(-1, "fork: %s", strerror(errno));
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
		return errf(-1, "%s: holder (pid %d) failed before it was ready", o->ns, (int)pid);
	return 0;
}

static int cmd_hold(int argc, char **argv)
{
	struct hold_opts o = { 0 };
	sigset_t stop;
	int err;

	prog_cmd = "mqtap hold";
	err = hold_parse(argc, argv, &o);
	if (err)
		return err < 0 ? EXIT_OK : err;
	/* Blocked before the fork so a SIGTERM sent right after we return is not lost. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	if (hold_check_free(o.ns) || enter_netns(o.ns) || tap_create(&o))
		return EXIT_FAIL;
	err = hold_daemonize(&o, &stop);
	tap_close((unsigned int)o.queues);
	return err ? EXIT_FAIL : EXIT_OK;
}

/* ---- traffic: options -------------------------------------------------- */

struct traffic_opts {
	const char *ns;
	bool queues_set[MQ_MAX_QUEUES];
	bool have_queues;
	bool cpus[CPU_SETSIZE];
	int ncpus;
	unsigned long count, rate, size, flows;
	double timeout, duration;
	enum mq_kind kind;
	bool no_read, json, size_set;
	/*
	 * --packet DEV: the TAP's queues are held by someone else (QEMU, for
	 * the VM harness), so frames are sent and read through one AF_PACKET
	 * socket on DEV; tun then picks the queue by flow hash, as it does for
	 * any frame the kernel transmits on it.
	 */
	const char *packet_dev;
	bool have_dmac;
	uint8_t dmac[6];
	unsigned long streams;
};

static void traffic_usage(FILE *f)
{
	fprintf(f,
		"Usage: mqtap traffic --ns NS [OPTIONS]\n\n"
		"Write test frames into the rx queues of the TAP held for NS and check that\n"
		"every frame the kernel sends back out of the TAP is byte-identical.\n\n"
		"Options:\n"
		"  --ns NS              testbed namespace (holder from " MQ_RUN_DIR "/NS.pid)\n"
		"  --queues LIST        rx queues to write, e.g. 0,2-3 (default: all)\n"
		"  --count N            frames per queue (default 100, max %lu)\n"
		"  --rate PPS           total send rate, 0 = as fast as possible (default 10000)\n"
		"  --size BYTES         UDP payload (default 64; jumbo 8000; %d-%d)\n"
		"  --flows K            UDP source ports per queue (default 1, max %d)\n"
		"  --kind KIND          udp4|udp6|vlan|arp|frag|jumbo (default udp4)\n"
		"  --timeout S          wait this long after sending for returns (default 2;\n"
		"                       ends early once every frame is back)\n"
		"  --duration S         send for S seconds instead of --count (max %d)\n"
		"  --threads-cpus LIST  one sender thread pinned per CPU, queues split between them\n"
		"  --no-read            only send (for send-rate measurements)\n"
		"  --packet DEV         send and read through an AF_PACKET socket on DEV instead\n"
		"                       of a holder's queues (a TAP that QEMU holds); tun then\n"
		"                       chooses the queue by flow hash\n"
		"  --dmac MAC           destination MAC (default: DEV's own; a guest NIC's with\n"
		"                       --packet)\n"
		"  --streams N          with --packet: tagged streams of --flows flows (default 1)\n"
		"  -j, --json           JSON report\n\n"
		"Exit status: 0 every frame came back intact, 1 frames lost, corrupted or\n"
		"duplicated (or a run-time error), 2 usage error.\n",
		MQ_MAX_COUNT, MQ_MIN_PAYLOAD, MQ_MAX_PAYLOAD, MQ_MAX_FLOWS, MQ_MAX_DURATION);
}

static int parse_kind(const char *s, enum mq_kind *k)
{
	for (int i = 0; i < MQ_NKINDS; i++)
		if (!strcmp(s, mq_kind_names[i])) {
			*k = (enum mq_kind)i;
			return 0;
		}
	return errf(EXIT_USAGE, "--kind: unknown kind '%s'", s);
}

static int traffic_opt(struct traffic_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'n':
		o->ns = arg;
		return 0;
	case 'q':
		o->have_queues = true;
		return parse_list("--queues", arg, o->queues_set, MQ_MAX_QUEUES) < 0 ? EXIT_USAGE : 0;
	case 'c':
		return parse_ulong("--count", arg, 1, MQ_MAX_COUNT, &o->count);
	case 'r':
		return parse_ulong("--rate", arg, 0, MQ_MAX_RATE, &o->rate);
	case 's':
		o->size_set = true;
		return parse_ulong("--size", arg, MQ_MIN_PAYLOAD, MQ_MAX_PAYLOAD, &o->size);
	case 'f':
		return parse_ulong("--flows", arg, 1, MQ_MAX_FLOWS, &o->flows);
	case 'k':
		return parse_kind(arg, &o->kind);
	case 't':
		return parse_secs("--timeout", arg, MQ_MAX_TIMEOUT, &o->timeout);
	case 'D':
		if (parse_secs("--duration", arg, MQ_MAX_DURATION, &o->duration))
			return EXIT_USAGE;
		return o->duration > 0 ? 0 : errf(EXIT_USAGE, "--duration: must be > 0");
	case 'T':
		o->ncpus = parse_list("--threads-cpus", arg, o->cpus, CPU_SETSIZE);
		return o->ncpus < 0 ? EXIT_USAGE : 0;
	case 'R':
		o->no_read = true;
		return 0;
	case 'j':
		o->json = true;
		return 0;
	case 'P':
		o->packet_dev = arg;
		return 0;
	case 'M':
		o->have_dmac = sscanf(arg, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx", &o->dmac[0],
				      &o->dmac[1], &o->dmac[2], &o->dmac[3], &o->dmac[4],
				      &o->dmac[5]) == 6;
		return o->have_dmac ? 0 : errf(EXIT_USAGE, "--dmac: bad MAC '%s'", arg);
	case 'S':
		return parse_ulong("--streams", arg, 1, MQ_MAX_QUEUES, &o->streams);
	default:
		traffic_usage(stderr);
		return EXIT_USAGE;
	}
}

static int traffic_parse(int argc, char **argv, struct traffic_opts *o)
{
	static const struct option lo[] = {
		{ "ns", required_argument, NULL, 'n' },
		{ "queues", required_argument, NULL, 'q' },
		{ "count", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "flows", required_argument, NULL, 'f' },
		{ "kind", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'D' },
		{ "threads-cpus", required_argument, NULL, 'T' },
		{ "no-read", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "packet", required_argument, NULL, 'P' },
		{ "dmac", required_argument, NULL, 'M' },
		{ "streams", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, err;

	while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
		if (c == 'h') {
			traffic_usage(stdout);
			return -1;
		}
		err = traffic_opt(o, c, optarg);
		if (err)
			return EXIT_USAGE;
	}
	if (optind != argc || !o->ns) {
		traffic_usage(stderr);
		return EXIT_USAGE;
	}
	if (!valid_name(o->ns, NAME_MAX - 16))
		return errf(EXIT_USAGE, "--ns: bad namespace name '%s'", o->ns);
	if (o->packet_dev && !valid_name(o->packet_dev, IFNAMSIZ - 1))
		return errf(EXIT_USAGE, "--packet: bad interface name '%s'", o->packet_dev);
	if (o->streams > 1 && !o->packet_dev)
		return errf(EXIT_USAGE, "--streams: only with --packet");
	if (o->have_queues && o->packet_dev)
		return errf(EXIT_USAGE, "--queues: not with --packet (tun picks the queue)");
	if (o->ncpus > 0 && o->packet_dev)
		return errf(EXIT_USAGE, "--threads-cpus: not with --packet");
	if (!o->streams)
		o->streams = 1;
	if (!o->size_set)
		o->size = o->kind == MQ_JUMBO ? 8000 : 64;
	if (o->kind == MQ_FRAG && o->size < MQ_MIN_FRAG_PAYLOAD)
		return errf(EXIT_USAGE, "--size: frag needs at least %d bytes", MQ_MIN_FRAG_PAYLOAD);
	/* Fragments travel in pairs: a datagram is never half sent. */
	if (o->kind == MQ_FRAG && (o->count & 1))
		o->count++;
	return 0;
}

/* ---- traffic: run state ------------------------------------------------ */

/* One rx queue we write to. Sender fields belong to one sender thread, reader fields to the reader. */
struct txq {
	unsigned int q;		/* TAP queue index */
	int fd;
	uint64_t sent, send_errors;
	int last_errno;
	/* reader side */
	uint8_t *seen;		/* bitmap of seqs received */
	uint64_t seen_bits;
	uint64_t received, dup, corrupt;
	uint64_t *out;		/* frames per TAP queue fd they came out of */
	/* filled at report time */
	uint64_t got, max_lost_run;
};

struct sender {
	struct run *run;
	pthread_t tid;
	int cpu;		/* -1: not pinned */
	struct txq **q;
	unsigned int nq;
	uint64_t sent;
	double wall, cpu_time;
	bool started;
};

struct run {
	struct traffic_opts *o;
	const char *dev;
	unsigned int mtu;
	int fds[MQ_MAX_QUEUES];
	unsigned int nfds;
	struct mq_frame_cfg fc;
	struct txq *txq;
	unsigned int ntxq, nstreams;
	int qmap[MQ_MAX_QUEUES];	/* TAP queue -> index in txq, or -1 */
	uint64_t seq_cap;		/* seqs at or above this cannot be ours */
	struct sender *snd;
	unsigned int nsnd;
	/* sender -> reader hand-off */
	atomic_bool send_done;
	uint64_t total_sent;
	struct timespec deadline;
	/* reader */
	uint64_t unique, foreign, bad_tag, read_errors;
	struct timespec t0, t1;	/* first and last send */
};

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static double ts_sec(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

/* @s >= 0; truncation instead of floor() because the build does not link libm. */
static struct timespec ts_add(struct timespec t, double s)
{
	const time_t whole = (time_t)s;

	t.tv_sec += whole;
	t.tv_nsec += (long)((s - (double)whole) * 1e9);
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static struct timespec now_mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

/* ---- traffic: finding the holder's queues ------------------------------ */

/* Queue i is fd MQ_QFD_BASE + i in the holder; the first EBADF ends the list. */
static int fds_by_pidfd(struct run *r, pid_t pid)
{
	int pidfd = sys_pidfd_open(pid), fd, err = 0;

	if (pidfd < 0)
		return -errno;
	for (r->nfds = 0; r->nfds < MQ_MAX_QUEUES; r->nfds++) {
		fd = sys_pidfd_getfd(pidfd, MQ_QFD_BASE + (int)r->nfds);
		if (fd < 0) {
			if (errno != EBADF)
				err = -errno;
			break;
		}
		r->fds[r->nfds] = fd;
	}
	close(pidfd);
	return err;
}

static int fds_recv_chunk(struct run *r, int s, uint32_t *total)
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
	/* Keep what arrived even if it is wrong, so run_free() closes it. */
	if (r->nfds + n > MQ_MAX_QUEUES)
		n = MQ_MAX_QUEUES - r->nfds;
	memcpy(r->fds + r->nfds, CMSG_DATA(cm), n * sizeof(int));
	r->nfds += (unsigned int)n;
	*total = hdr[1];
	return hdr[0] + n == r->nfds ? 0 : -EPROTO;
}

/* Same open files as pidfd_getfd() would give, handed over by the holder. */
static int fds_by_socket(struct run *r)
{
	struct sockaddr_un sun;
	const socklen_t len = mq_sock_addr(&sun);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), err = 0;
	uint32_t total = 1;

	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sun, len))
		err = -errno;
	for (r->nfds = 0; !err && r->nfds < total && r->nfds < MQ_MAX_QUEUES;)
		err = fds_recv_chunk(r, s, &total);
	close(s);
	return err;
}

static int fds_check(struct run *r, pid_t pid)
{
	static char dev[IFNAMSIZ];

	for (unsigned int i = 0; i < r->nfds; i++) {
		struct ifreq ifr = { 0 };

		if (ioctl(r->fds[i], TUNGETIFF, &ifr) ||
		    (ifr.ifr_flags & (IFF_TAP | IFF_MULTI_QUEUE)) != (IFF_TAP | IFF_MULTI_QUEUE) ||
		    (i && strcmp(dev, ifr.ifr_name)))
			return errf(-1, "%s: holder pid %d: fd %u is not a queue of a multi-queue TAP",
				    r->o->ns, (int)pid, MQ_QFD_BASE + i);
		snprintf(dev, sizeof(dev), "%s", ifr.ifr_name);
	}
	if (!r->nfds)
		return errf(-1, "%s: holder pid %d holds no TAP queues (not an mqtap holder?)",
			    r->o->ns, (int)pid);
	r->dev = dev;
	return 0;
}

/* Runs inside the testbed's netns: the fallback socket's name is per netns. */
static int holder_fds(struct run *r)
{
	pid_t pid = pidfile_read(r->o->ns);
	int err;

	if (pid <= 0)
		return pid ? -1 : errf(-1, "%s: no testbed holder (" MQ_RUN_DIR "/%s.pid missing)",
				       r->o->ns, r->o->ns);
	if (kill(pid, 0) && errno == ESRCH)
		return errf(-1, "%s: holder pid %d is gone (stale " MQ_RUN_DIR "/%s.pid)", r->o->ns,
			    (int)pid, r->o->ns);
	/* MQTAP_NO_PIDFD=1 exercises the fallback where pidfd_getfd() works. */
	err = getenv("MQTAP_NO_PIDFD") ? -ENOSYS : fds_by_pidfd(r, pid);
	if (err == -ENOSYS) {
		err = fds_by_socket(r);
		if (err)
			return errf(-1, "%s: pidfd_open unsupported and holder socket @" MQ_SOCK_NAME
				    ": %s", r->o->ns, strerror(-err));
	} else if (err) {
		return errf(-1, "%s: holder pid %d: pidfd_getfd: %s", r->o->ns, (int)pid,
			    strerror(-err));
	}
	return fds_check(r, pid);
}

/*
 * One socket sends and reads: PACKET_IGNORE_OUTGOING (4.20) keeps our own
 * frames out of the read side, and a large receive buffer keeps a burst of
 * returns from being dropped before the reader gets to it.
 */
static int packet_open(struct run *r)
{
	const char *dev = r->o->packet_dev;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int s, one = 1, rcvbuf = 32 << 20;

	sll.sll_ifindex = (int)if_nametoindex(dev);
	if (!sll.sll_ifindex)
		return errf(-1, "%s in %s: %s", dev, r->o->ns, strerror(errno));
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (s < 0)
		return errf(-1, "AF_PACKET socket: %s", strerror(errno));
	r->fds[0] = s;
	r->nfds = 1;
	if (setsockopt(s, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)))
		return errf(-1, "%s: PACKET_IGNORE_OUTGOING: %s", dev, strerror(errno));
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)))
		return errf(-1, "%s: bind: %s", dev, strerror(errno));
	r->dev = dev;
	return 0;
}

static int tap_info(struct run *r)
{
	struct nl_sock *sk;
	struct link_info li;
	int err;

	sk = rtnl_open();
	if (!sk)
		return -1;
	err = link_query(sk, r->o->ns, r->dev, &li);
	nl_socket_free(sk);
	if (err)
		return err;
	if (!li.up)
		return errf(-1, "%s in %s: link is down", r->dev, r->o->ns);
	memcpy(r->fc.dmac, r->o->have_dmac ? r->o->dmac : li.mac, 6);
	r->mtu = li.mtu;
	return 0;
}

/* Stale frames from earlier runs would otherwise be read as this run's. */
static int drain(struct run *r)
{
	static uint8_t buf[MQ_READ_BUF];

	for (unsigned int i = 0; i < r->nfds; i++) {
		int fl = fcntl(r->fds[i], F_GETFL);

		/* Shared open file: the holder's copy turns non-blocking too; it never reads. */
		if (fl < 0 || fcntl(r->fds[i], F_SETFL, fl | O_NONBLOCK))
			return errf(-1, "%s queue %u: fcntl: %s", r->dev, i, strerror(errno));
		for (int n = 0; n < 1000000 && read(r->fds[i], buf, sizeof(buf)) >= 0; n++)
			;
	}
	return 0;
}

/* ---- traffic: senders ------------------------------------------------- */

static int send_one(struct run *r, struct txq *t, uint8_t *buf)
{
	const size_t len = mq_build(&r->fc, t->q, (uint32_t)t->sent, buf);
	ssize_t n;

	/* tun does not normally push back; if it does, retry a while, not forever. */
	for (int tries = 0; tries < 100000; tries++) {
		n = write(t->fd, buf, len);
		if (n == (ssize_t)len) {
			t->sent++;
			return 0;
		}
		if (n >= 0 || (errno != EAGAIN && errno != ENOBUFS && errno != EINTR) || stop_flag)
			break;
		sched_yield();
	}
	if (stop_flag)
		return -1;
	t->send_errors++;
	t->last_errno = n < 0 ? errno : EMSGSIZE;
	return -1;
}

static void pace(const struct timespec *start, double rate, uint64_t n)
{
	struct timespec due = ts_add(*start, (double)n / rate), now = now_mono();

	while (ts_before(&now, &due) && !stop_flag) {
		struct timespec chunk = ts_add(now, 0.01);

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ts_before(&due, &chunk) ? &due : &chunk,
				NULL);
		now = now_mono();
	}
}

static bool sender_done(const struct sender *s, const struct timespec *end)
{
	const struct run *r = s->run;

	if (stop_flag)
		return true;
	if (r->o->duration > 0) {
		struct timespec now = now_mono();

		if (!ts_before(&now, end))
			return true;
	}
	for (unsigned int i = 0; i < s->nq; i++)
		if (s->q[i]->sent < r->seq_cap && !s->q[i]->send_errors)
			return false;
	return true;
}

/* Round robin over this thread's queues, one frame each per round. */
static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct run *r = s->run;
	const double rate = r->o->rate ? (double)r->o->rate * s->nq / r->ntxq : 0;
	uint8_t *buf = malloc(MQ_MAX_FRAME);
	struct timespec start = now_mono(), end = ts_add(start, r->o->duration), c0, c1;

	if (!buf)
		errf(-1, "sender thread: out of memory");
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	while (buf && !sender_done(s, &end)) {
		for (unsigned int i = 0; i < s->nq; i++) {
			struct txq *t = s->q[i];

			if (t->sent >= r->seq_cap || t->send_errors)
				continue;
			if (send_one(r, t, buf))
				continue;
			s->sent++;
			if (rate > 0)
				pace(&start, rate, s->sent);
		}
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	s->cpu_time = ts_sec(&c1) - ts_sec(&c0);
	c1 = now_mono();
	s->wall = ts_sec(&c1) - ts_sec(&start);
	free(buf);
	return NULL;
}

static int sender_pin(struct sender *s, pthread_attr_t *attr)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	if (pthread_attr_setaffinity_np(attr, sizeof(set), &set))
		return errf(-1, "cpu %d: cannot pin a sender there", s->cpu);
	return 0;
}

static int senders_start(struct run *r)
{
	unsigned int i;
	int err;

	for (i = 0; i < r->nsnd; i++) {
		struct sender *s = &r->snd[i];
		pthread_attr_t attr;

		pthread_attr_init(&attr);
		err = s->cpu >= 0 ? sender_pin(s, &attr) : 0;
		if (!err) {
			err = pthread_create(&s->tid, &attr, sender_main, s);
			if (err)
				err = errf(-1, "sender thread on cpu %d: %s", s->cpu, strerror(err));
		}
		pthread_attr_destroy(&attr);
		if (err)
			return err;
		s->started = true;
	}
	return 0;
}

static void senders_join(struct run *r)
{
	for (unsigned int i = 0; i < r->nsnd; i++)
		if (r->snd[i].started)
			pthread_join(r->snd[i].tid, NULL);
}

/* ---- traffic: reader -------------------------------------------------- */

/* Sets bit @seq; returns true if it was already set. Grows the map on demand. */
static int seen_test_set(struct txq *t, uint64_t seq, bool *was)
{
	if (seq >= t->seen_bits) {
		uint64_t bits = t->seen_bits ? t->seen_bits : 4096;
		uint8_t *p;

		while (bits <= seq)
			bits *= 2;
		p = realloc(t->seen, bits / 8);
		if (!p)
			return -1;
		memset(p + t->seen_bits / 8, 0, (bits - t->seen_bits) / 8);
		t->seen = p;
		t->seen_bits = bits;
	}
	*was = t->seen[seq / 8] & (1u << (seq % 8));
	t->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	return 0;
}

static void reader_frame(struct run *r, const uint8_t *f, size_t len, unsigned int fdi,
			 uint8_t *scratch)
{
	unsigned int q;
	uint32_t seq;
	struct txq *t;
	bool was;

	if (!mq_parse_tag(&r->fc, f, len, &q, &seq)) {
		r->foreign++;
		return;
	}
	if (q >= MQ_MAX_QUEUES || r->qmap[q] < 0 || seq >= r->seq_cap) {
		r->bad_tag++;
		return;
	}
	t = &r->txq[r->qmap[q]];
	t->out[fdi]++;
	if (len != mq_build(&r->fc, q, seq, scratch) || memcmp(f, scratch, len))
		t->corrupt++;
	if (seen_test_set(t, seq, &was)) {
		r->read_errors++;
		return;
	}
	if (was) {
		t->dup++;
	} else {
		t->received++;
		r->unique++;
	}
}

static bool reader_finished(struct run *r)
{
	struct timespec now;

	if (!atomic_load_explicit(&r->send_done, memory_order_acquire))
		return false;
	if (r->unique >= r->total_sent)
		return true;
	now = now_mono();
	return !ts_before(&now, &r->deadline);
}

static void reader_poll(struct run *r, struct pollfd *pfd, uint8_t *buf, uint8_t *scratch)
{
	if (poll(pfd, r->nfds, 5) <= 0)
		return;
	for (unsigned int i = 0; i < r->nfds; i++) {
		if (!(pfd[i].revents & POLLIN))
			continue;
		/* Bounded per fd per round, so one busy queue cannot starve the others. */
		for (int k = 0; k < 64; k++) {
			ssize_t n = read(pfd[i].fd, buf, MQ_READ_BUF);

			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					r->read_errors++;
				break;
			}
			reader_frame(r, buf, (size_t)n, i, scratch);
		}
	}
}

static void *reader_main(void *arg)
{
	struct run *r = arg;
	struct pollfd *pfd = calloc(r->nfds, sizeof(*pfd));
	uint8_t *buf = malloc(MQ_READ_BUF), *scratch = malloc(MQ_MAX_FRAME);

	if (!pfd || !buf || !scratch) {
		r->read_errors++;
		goto out;
	}
	for (unsigned int i = 0; i < r->nfds; i++)
		pfd[i] = (struct pollfd){ .fd = r->fds[i], .events = POLLIN };
	while (!reader_finished(r))
		reader_poll(r, pfd, buf, scratch);
out:
	free(scratch);
	free(buf);
	free(pfd);
	return NULL;
}

/* ---- traffic: setup ---------------------------------------------------- */

static int run_queues(struct run *r)
{
	struct traffic_opts *o = r->o;
	unsigned int q;

	for (q = 0; q < MQ_MAX_QUEUES; q++) {
		r->qmap[q] = -1;
		if (o->have_queues && o->queues_set[q] && q >= r->nfds)
			return errf(-1, "--queues: queue %u: %s in %s has only %u queues", q, r->dev,
				    o->ns, r->nfds);
	}
	/* With --packet, the "queues" are tagged streams written to one socket. */
	r->nstreams = o->packet_dev ? (unsigned int)o->streams : r->nfds;
	r->txq = calloc(r->nstreams, sizeof(*r->txq));
	if (!r->txq)
		return errf(-1, "out of memory");
	for (q = 0; q < r->nstreams; q++) {
		struct txq *t = &r->txq[r->ntxq];

		if (o->have_queues && !o->queues_set[q])
			continue;
		t->q = q;
		t->fd = r->fds[o->packet_dev ? 0 : q];
		t->out = calloc(r->nfds, sizeof(*t->out));
		if (!t->out)
			return errf(-1, "out of memory");
		r->qmap[q] = (int)r->ntxq++;
	}
	return 0;
}

static int run_senders(struct run *r)
{
	struct traffic_opts *o = r->o;
	unsigned int i, cpu = 0;

	r->nsnd = o->ncpus > 0 ? (unsigned int)o->ncpus : 1;
	if (r->nsnd > r->ntxq)
		return errf(-1, "--threads-cpus: %u threads for %u queues", r->nsnd, r->ntxq);
	r->snd = calloc(r->nsnd, sizeof(*r->snd));
	if (!r->snd)
		return errf(-1, "out of memory");
	for (i = 0; i < r->nsnd; i++) {
		struct sender *s = &r->snd[i];

		s->run = r;
		s->cpu = -1;
		if (o->ncpus > 0) {
			while (!o->cpus[cpu])
				cpu++;
			s->cpu = (int)cpu++;
		}
		s->q = calloc(r->ntxq, sizeof(*s->q));
		if (!s->q)
			return errf(-1, "out of memory");
	}
	/* Interleaved, so each thread gets a spread of queue numbers. */
	for (i = 0; i < r->ntxq; i++) {
		struct sender *s = &r->snd[i % r->nsnd];

		s->q[s->nq++] = &r->txq[i];
	}
	return 0;
}

static uint32_t run_nonce(void)
{
	struct timespec t = now_mono();

	return (uint32_t)((uint64_t)t.tv_nsec ^ (uint64_t)t.tv_sec * 2654435761u ^
			  (uint64_t)getpid() << 16);
}

static size_t frame_len(const struct run *r)
{
	uint8_t *buf = malloc(MQ_MAX_FRAME);
	size_t len = 0;

	if (buf) {
		len = mq_build(&r->fc, 0, 0, buf);
		free(buf);
	}
	return len;
}

static int run_setup(struct run *r)
{
	struct traffic_opts *o = r->o;
	size_t flen;

	r->fc = (struct mq_frame_cfg){ .kind = o->kind, .nonce = run_nonce(),
				       .size = (uint32_t)o->size, .flows = (uint32_t)o->flows };
	if (enter_netns(o->ns) || (o->packet_dev ? packet_open(r) : holder_fds(r)) ||
	    tap_info(r) || run_queues(r) ||
	    run_senders(r))
		return -1;
	/* Seqs are 32 bits on the wire: a queue stops before its seq would wrap. */
	r->seq_cap = 1ULL << 32;
	if (o->duration <= 0)
		r->seq_cap = o->count;
	else if (o->rate && o->rate * o->duration + 1024 < (double)r->seq_cap)
		r->seq_cap = (uint64_t)(o->rate * o->duration) + 1024;
	/* The IP layer would not accept it, but the hairpin may not care: say so. */
	flen = frame_len(r) - 14 - (o->kind == MQ_VLAN ? 4 : 0);
	if (o->kind != MQ_ARP && flen > r->mtu && !o->json)
		fprintf(stderr, "%s: note: %zu-byte packets exceed %s's MTU %u\n", prog_cmd, flen,
			r->dev, r->mtu);
	return drain(r);
}

static void run_free(struct run *r)
{
	for (unsigned int i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	for (unsigned int i = 0; r->txq && i < r->nstreams; i++) {
		free(r->txq[i].out);
		free(r->txq[i].seen);
	}
	for (unsigned int i = 0; r->snd && i < r->nsnd; i++)
		free(r->snd[i].q);
	free(r->txq);
	free(r->snd);
}

/* ---- traffic: report --------------------------------------------------- */

struct totals {
	uint64_t sent, received, lost, dup, corrupt, send_errors;
	double secs, pps;
	bool ok;
};

static bool seen_bit(const struct txq *t, uint64_t seq)
{
	return seq < t->seen_bits && (t->seen[seq / 8] & (1u << (seq % 8)));
}

/* Counts what came back of what was sent, and the longest gap of lost seqs. */
static void txq_tally(struct txq *t)
{
	uint64_t run = 0;

	t->got = 0;
	t->max_lost_run = 0;
	for (uint64_t s = 0; s < t->sent; s++) {
		if (seen_bit(t, s)) {
			t->got++;
			run = 0;
		} else if (++run > t->max_lost_run) {
			t->max_lost_run = run;
		}
	}
}

static void run_tally(struct run *r, struct totals *tt)
{
	memset(tt, 0, sizeof(*tt));
	for (unsigned int i = 0; i < r->ntxq; i++) {
		struct txq *t = &r->txq[i];

		txq_tally(t);
		tt->sent += t->sent;
		tt->received += t->got;
		tt->dup += t->dup;
		/* A seq beyond what was sent can only be a damaged tag. */
		tt->corrupt += t->corrupt + (t->received - t->got);
		tt->send_errors += t->send_errors;
	}
	tt->corrupt += r->bad_tag;
	tt->lost = tt->sent - tt->received;
	tt->secs = ts_sec(&r->t1) - ts_sec(&r->t0);
	tt->pps = tt->secs > 0 ? (double)tt->sent / tt->secs : 0;
	tt->ok = !tt->send_errors && tt->sent &&
		 (r->o->no_read || (!tt->lost && !tt->corrupt && !tt->dup && !r->read_errors));
}

static json_object *json_u64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* Counts that --no-read cannot know are null, not a reassuring 0. */
static json_object *json_checked(const struct run *r, uint64_t v)
{
	return r->o->no_read ? NULL : json_u64(v);
}

static json_object *json_queue(const struct run *r, const struct txq *t)
{
	json_object *q = json_object_new_object(), *out = json_object_new_array();

	json_object_object_add(q, "rxq", json_object_new_int((int)t->q));
	json_object_object_add(q, "sent", json_u64(t->sent));
	json_object_object_add(q, "received", json_checked(r, t->got));
	json_object_object_add(q, "lost", json_checked(r, t->sent - t->got));
	json_object_object_add(q, "duplicated", json_checked(r, t->dup));
	json_object_object_add(q, "corrupted", json_checked(r, t->corrupt));
	json_object_object_add(q, "max_lost_run", json_checked(r, t->max_lost_run));
	json_object_object_add(q, "send_errors", json_u64(t->send_errors));
	for (unsigned int j = 0; j < r->nfds; j++)
		json_object_array_add(out, json_u64(t->out[j]));
	json_object_object_add(q, "out_queues", out);
	return q;
}

static json_object *json_threads(const struct run *r)
{
	json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < r->nsnd; i++) {
		const struct sender *s = &r->snd[i];
		json_object *t = json_object_new_object(), *qs = json_object_new_array();

		json_object_object_add(t, "cpu", s->cpu < 0 ? NULL : json_object_new_int(s->cpu));
		for (unsigned int j = 0; j < s->nq; j++)
			json_object_array_add(qs, json_object_new_int((int)s->q[j]->q));
		json_object_object_add(t, "queues", qs);
		json_object_object_add(t, "sent", json_u64(s->sent));
		json_object_object_add(t, "pps", json_object_new_double(
							 s->wall > 0 ? (double)s->sent / s->wall : 0));
		json_object_object_add(t, "cpu_util", json_object_new_double(
							      s->wall > 0 ? s->cpu_time / s->wall : 0));
		json_object_array_add(a, t);
	}
	return a;
}

static void report_json(const struct run *r, const struct totals *tt)
{
	json_object *o = json_object_new_object(), *qs = json_object_new_array();

	json_object_object_add(o, "ns", json_object_new_string(r->o->ns));
	json_object_object_add(o, "dev", json_object_new_string(r->dev));
	json_object_object_add(o, "mtu", json_object_new_int((int)r->mtu));
	json_object_object_add(o, "tap_queues", json_object_new_int((int)r->nfds));
	json_object_object_add(o, "kind", json_object_new_string(mq_kind_names[r->fc.kind]));
	json_object_object_add(o, "size", json_object_new_int((int)r->fc.size));
	json_object_object_add(o, "flows", json_object_new_int((int)r->fc.flows));
	json_object_object_add(o, "verified", json_object_new_boolean(!r->o->no_read));
	json_object_object_add(o, "sent", json_u64(tt->sent));
	json_object_object_add(o, "received", json_checked(r, tt->received));
	json_object_object_add(o, "lost", json_checked(r, tt->lost));
	json_object_object_add(o, "corrupted", json_checked(r, tt->corrupt));
	json_object_object_add(o, "duplicated", json_checked(r, tt->dup));
	json_object_object_add(o, "foreign", json_checked(r, r->foreign));
	json_object_object_add(o, "send_errors", json_u64(tt->send_errors));
	json_object_object_add(o, "read_errors", json_u64(r->read_errors));
	json_object_object_add(o, "seconds", json_object_new_double(tt->secs));
	json_object_object_add(o, "pps", json_object_new_double(tt->pps));
	json_object_object_add(o, "ok", json_object_new_boolean(tt->ok));
	for (unsigned int i = 0; i < r->ntxq; i++)
		json_object_array_add(qs, json_queue(r, &r->txq[i]));
	json_object_object_add(o, "queues", qs);
	json_object_object_add(o, "threads", json_threads(r));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static void report_text(const struct run *r, const struct totals *tt)
{
	const bool v = !r->o->no_read;

	printf("%s in %s: mtu %u, %u queues; kind %s, payload %u, %u flow%s per queue\n", r->dev,
	       r->o->ns, r->mtu, r->nfds, mq_kind_names[r->fc.kind], r->fc.size, r->fc.flows,
	       r->fc.flows == 1 ? "" : "s");
	printf("%-5s %10s %10s %10s %6s %8s %9s  %s\n", "rxq", "sent", "received", "lost", "dup",
	       "corrupt", "lost_run", "out of tap queue fd 0..n");
	for (unsigned int i = 0; i < r->ntxq; i++) {
		const struct txq *t = &r->txq[i];

		if (v)
			printf("%-5u %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %6" PRIu64 " %8" PRIu64
			       " %9" PRIu64 " ",
			       t->q, t->sent, t->got, t->sent - t->got, t->dup, t->corrupt,
			       t->max_lost_run);
		else
			printf("%-5u %10" PRIu64 " %10s %10s %6s %8s %9s ", t->q, t->sent, "-", "-",
			       "-", "-", "-");
		for (unsigned int j = 0; j < r->nfds; j++)
			printf(" %" PRIu64, t->out[j]);
		putchar('\n');
	}
	if (v)
		printf("total %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %6" PRIu64 " %8" PRIu64
		       "   foreign %" PRIu64 "\n",
		       tt->sent, tt->received, tt->lost, tt->dup, tt->corrupt, r->foreign);
	else
		printf("total %10" PRIu64 "   (not read back: --no-read)\n", tt->sent);
	printf("sent %" PRIu64 " frames in %.3f s: %.0f pps", tt->sent, tt->secs, tt->pps);
	for (unsigned int i = 0; i < r->nsnd; i++)
		if (r->snd[i].cpu >= 0)
			printf("%s cpu%d %.0f%% busy", i ? "," : ";", r->snd[i].cpu,
			       r->snd[i].wall > 0 ? 100 * r->snd[i].cpu_time / r->snd[i].wall : 0);
	putchar('\n');
	for (unsigned int i = 0; i < r->ntxq; i++)
		if (r->txq[i].send_errors)
			printf("rxq %u: %" PRIu64 " writes failed: %s\n", r->txq[i].q,
			       r->txq[i].send_errors, strerror(r->txq[i].last_errno));
	if (r->read_errors)
		printf("%" PRIu64 " read errors\n", r->read_errors);
	if (v)
		puts(tt->ok ? "OK: every frame came back intact" : "FAIL: frames lost, corrupted or duplicated");
}

/* ---- traffic: main ----------------------------------------------------- */

static void install_stop_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int traffic_exchange(struct run *r)
{
	pthread_t reader;
	bool reading = !r->o->no_read;
	int err;

	if (reading) {
		err = pthread_create(&reader, NULL, reader_main, r);
		if (err)
			return errf(-1, "reader thread: %s", strerror(err));
	}
	r->t0 = now_mono();
	err = senders_start(r);
	if (err)
		stop_flag = 1;
	senders_join(r);
	r->t1 = now_mono();
	for (unsigned int i = 0; i < r->ntxq; i++)
		r->total_sent += r->txq[i].sent;
	r->deadline = ts_add(r->t1, r->o->timeout);
	atomic_store_explicit(&r->send_done, true, memory_order_release);
	if (reading)
		pthread_join(reader, NULL);
	return err;
}

static int cmd_traffic(int argc, char **argv)
{
	struct traffic_opts o = { .count = 100, .rate = 10000, .flows = 1, .timeout = 2,
				  .kind = MQ_UDP4 };
	struct run r = { .o = &o };
	struct totals tt;
	int err;

	prog_cmd = "mqtap traffic";
	err = traffic_parse(argc, argv, &o);
	if (err)
		return err < 0 ? EXIT_OK : err;
	atomic_init(&r.send_done, false);
	if (run_setup(&r)) {
		run_free(&r);
		return EXIT_FAIL;
	}
	install_stop_handlers();
	err = traffic_exchange(&r);
	run_tally(&r, &tt);
	if (o.json)
		report_json(&r, &tt);
	else
		report_text(&r, &tt);
	run_free(&r);
	return !err && tt.ok ? EXIT_OK : EXIT_FAIL;
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "Usage: mqtap hold --ns NS --dev DEV --queues R [--mtu M]\n"
		   "       mqtap traffic --ns NS [OPTIONS]\n"
		   "       mqtap COMMAND --help\n\n"
		   "A multi-queue TAP testbed: `hold` creates the TAP and keeps its queues\n"
		   "open, `traffic` writes frames into its rx queues and checks what comes back.\n");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "hold"))
		return cmd_hold(argc - 1, argv + 1);
	if (!strcmp(cmd, "traffic"))
		return cmd_traffic(argc - 1, argv + 1);
	usage(stderr);
	return errf(EXIT_USAGE, "unknown command '%s'", cmd);
}
