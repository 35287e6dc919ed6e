// SPDX-License-Identifier: GPL-2.0
/*
 * What mqtap's commands share: messages, option parsing, the testbed's
 * namespace and pid file, the TAP's link over rtnetlink, and a tun queue's
 * attach state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "netns/mqtap/mqtap.h"

const char *mq_prog_cmd = "mqtap";

int mq_errf(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", mq_prog_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* ---- option parsing ---------------------------------------------------- */

int mq_parse_ulong(const char *what, const char *s, unsigned long min, unsigned long max,
		   unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		return mq_errf(EXIT_USAGE, "%s: '%s' is not an integer in [%lu, %lu]", what, s, min,
			       max);
	*out = v;
	return 0;
}

int mq_parse_secs(const char *what, const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > max)
		return mq_errf(EXIT_USAGE, "%s: '%s' is not a number of seconds in [0, %g]", what, s,
			       max);
	*out = v;
	return 0;
}

/* "0,2-5" into @set[0..limit); returns how many were set, or -1 after an error. */
int mq_parse_list(const char *what, const char *s, bool *set, unsigned int limit)
{
	char *dup = strdup(s), *tok, *save = NULL;
	int n = 0;

	if (!dup)
		return mq_errf(-1, "out of memory");
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long lo, hi;
		char *dash = strchr(tok, '-');

		if (dash)
			*dash = '\0';
		if (mq_parse_ulong(what, tok, 0, limit - 1, &lo) ||
		    mq_parse_ulong(what, dash ? dash + 1 : tok, lo, limit - 1, &hi)) {
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
		return mq_errf(-1, "%s: empty list '%s'", what, s);
	return n;
}

bool mq_valid_name(const char *s, size_t max)
{
	size_t len = strlen(s);

	return len && len < max && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* ---- namespace, pid file --------------------------------------------- */

int mq_enter_netns(const char *ns)
{
	char path[PATH_MAX];
	int fd, err = 0;

	snprintf(path, sizeof(path), MQ_NETNS_DIR "/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mq_errf(-1, "network namespace %s: %s: %s", ns, path, strerror(errno));
	if (setns(fd, CLONE_NEWNET))
		err = mq_errf(-1, "network namespace %s: setns: %s", ns, strerror(errno));
	close(fd);
	return err;
}

void mq_pidfile_path(char *buf, size_t len, const char *ns)
{
	snprintf(buf, len, MQ_RUN_DIR "/%s.pid", ns);
}

/* The holder's pid, 0 when there is no pid file, -1 after an error. */
pid_t mq_pidfile_read(const char *ns)
{
	char path[PATH_MAX], line[32] = "";
	unsigned long pid;
	FILE *f;

	mq_pidfile_path(path, sizeof(path), ns);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return mq_errf(-1, "%s: %s", path, strerror(errno));
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (mq_parse_ulong(path, line, 1, INT_MAX, &pid))
		return -1;
	return (pid_t)pid;
}

/* Written to a temporary name and renamed, so readers never see half a pid. */
int mq_pidfile_write(const char *ns, pid_t pid)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	FILE *f;
	int err = 0;

	if (mkdir(MQ_RUN_DIR, 0755) && errno != EEXIST)
		return mq_errf(-1, "%s: %s", MQ_RUN_DIR, strerror(errno));
	mq_pidfile_path(path, sizeof(path), ns);
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)pid);
	f = fopen(tmp, "we");
	if (!f)
		return mq_errf(-1, "%s: %s", tmp, strerror(errno));
	if (fprintf(f, "%d\n", (int)pid) < 0)
		err = -1;
	if (fclose(f) || err) {
		unlink(tmp);
		return mq_errf(-1, "%s: write failed", tmp);
	}
	if (rename(tmp, path)) {
		err = mq_errf(-1, "%s: %s", path, strerror(errno));
		unlink(tmp);
	}
	return err;
}

/* Only our own pid file: a newer holder may already own the name. */
void mq_pidfile_remove(const char *ns)
{
	char path[PATH_MAX];

	if (mq_pidfile_read(ns) != getpid())
		return;
	mq_pidfile_path(path, sizeof(path), ns);
	unlink(path);
}

/* ---- netlink (libnl-route) -------------------------------------------- */

struct nl_sock *mq_rtnl_open(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk) {
		mq_errf(-1, "netlink: out of memory");
		return NULL;
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err < 0) {
		mq_errf(-1, "netlink: connect: %s", nl_geterror(err));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

int mq_link_query(struct nl_sock *sk, const char *ns, const char *dev, struct mq_link_info *li)
{
	struct rtnl_link *link = NULL;
	struct nl_addr *addr;
	int err;

	err = rtnl_link_get_kernel(sk, 0, dev, &link);
	if (err < 0)
		return mq_errf(-1, "%s in %s: %s", dev, ns, nl_geterror(err));
	addr = rtnl_link_get_addr(link);
	if (!addr || nl_addr_get_len(addr) != 6) {
		rtnl_link_put(link);
		return mq_errf(-1, "%s in %s: no Ethernet address", dev, ns);
	}
	memcpy(li->mac, nl_addr_get_binary_addr(addr), 6);
	li->mtu = rtnl_link_get_mtu(link);
	li->up = rtnl_link_get_flags(link) & IFF_UP;
	rtnl_link_put(link);
	return 0;
}

int mq_link_set_up(struct nl_sock *sk, const char *ns, const char *dev, unsigned int mtu)
{
	struct rtnl_link *link = NULL, *change = NULL;
	struct mq_link_info li;
	int err;

	err = rtnl_link_get_kernel(sk, 0, dev, &link);
	if (err < 0)
		return mq_errf(-1, "%s in %s: %s", dev, ns, nl_geterror(err));
	change = rtnl_link_alloc();
	if (!change) {
		err = mq_errf(-1, "netlink: out of memory");
		goto out;
	}
	rtnl_link_set_flags(change, IFF_UP);
	if (mtu)
		rtnl_link_set_mtu(change, mtu);
	err = rtnl_link_change(sk, link, change, 0);
	if (err < 0) {
		if (mtu)
			err = mq_errf(-1, "%s in %s: set up with mtu %u: %s", dev, ns, mtu,
				      nl_geterror(err));
		else
			err = mq_errf(-1, "%s in %s: set up: %s", dev, ns, nl_geterror(err));
		goto out;
	}
	/* The ack says the request was taken; check the state is what we asked for. */
	err = mq_link_query(sk, ns, dev, &li);
	if (!err && (!li.up || (mtu && li.mtu != mtu)))
		err = mq_errf(-1, "%s in %s: still %s, mtu %u after the change", dev, ns,
			      li.up ? "up" : "down", li.mtu);
out:
	rtnl_link_put(change);
	rtnl_link_put(link);
	return err;
}

/* ---- a tun queue's attach state --------------------------------------- */

/*
 * 1 when the queue is detached, 0 when attached, -1 (errno set) when @fd is
 * no tun queue. tun adds IFF_DETACH_QUEUE to TUNGETIFF's flags for a
 * detached queue: the only way to ask without changing it.
 */
int mq_queue_detached(int fd)
{
	struct ifreq ifr = { 0 };

	if (ioctl(fd, TUNGETIFF, &ifr))
		return -1;
	return !!(ifr.ifr_flags & IFF_DETACH_QUEUE);
}

/*
 * Attaches or detaches the queue behind @fd: on a dup, a pidfd_getfd() copy
 * or an SCM_RIGHTS copy of the holder's fd it is the holder's queue that
 * changes, since they share one open file. tun gives an attached queue the
 * next index (its rx queue number) and moves its last queue into the index
 * a detached one leaves: queue fd i stays rx queue i only while queues are
 * detached from above the ones kept and attached in ascending order.
 * Attaching an attached queue, or detaching a detached one, is EINVAL.
 */
int mq_queue_set(int fd, bool attach)
{
	struct ifreq ifr = { .ifr_flags = attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE };

	return ioctl(fd, TUNSETQUEUE, &ifr) ? -1 : 0;
}
