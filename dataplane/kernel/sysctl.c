// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/kernel/error.h"
#include "dataplane/kernel/sysctl.h"

int sc_sysctl_read_int(const char *name, long long *out)
{
	char path[256], buf[64], *end;
	size_t i, len;
	FILE *f;

	len = (size_t)snprintf(path, sizeof(path), "/proc/sys/%s", name);
	if (len >= sizeof(path))
		return sc_errf(ENAMETOOLONG, "sysctl %s: name too long", name);
	for (i = strlen("/proc/sys/"); i < len; i++)
		if (path[i] == '.')
			path[i] = '/';
	f = fopen(path, "r");
	if (!f)
		return sc_errf(errno, "sysctl %s: %s", name, strerror(errno));
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return sc_errf(EIO, "sysctl %s: empty", name);
	}
	fclose(f);
	errno = 0;
	*out = strtoll(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return sc_errf(EINVAL, "sysctl %s: not an integer: '%s'", name, buf);
	return 0;
}

static int read_netcore(struct sc_netcore *nc)
{
	int err;

	err = sc_sysctl_read_int("net.core.netdev_budget", &nc->netdev_budget);
	if (err)
		return err;
	err = sc_sysctl_read_int("net.core.netdev_budget_usecs", &nc->netdev_budget_usecs);
	if (err)
		return err;
	err = sc_sysctl_read_int("net.core.netdev_max_backlog", &nc->netdev_max_backlog);
	if (err)
		return err;
	return sc_sysctl_read_int("net.core.dev_weight", &nc->dev_weight);
}

struct init_ns_read {
	struct sc_netcore nc;
	int err;
};

/*
 * /proc/sys/net resolves against the opening thread's network namespace,
 * and setns() moves only the calling thread: a short-lived thread reads
 * the global knobs from PID 1's namespace and the caller stays put.
 */
static void *init_ns_thread(void *arg)
{
	struct init_ns_read *r = arg;
	int fd = open("/proc/1/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		r->err = -errno;
		return NULL;
	}
	if (setns(fd, CLONE_NEWNET)) {
		r->err = -errno;
		close(fd);
		return NULL;
	}
	close(fd);
	r->err = read_netcore(&r->nc);
	return NULL;
}

int sc_netcore_read(struct sc_netcore *out)
{
	struct init_ns_read r = { 0 };
	pthread_t th;
	int err;

	memset(out, 0, sizeof(*out));
	err = read_netcore(out);
	if (!err) {
		out->known = true;
		return 0;
	}
	if (err != -ENOENT)
		return err;
	if (pthread_create(&th, NULL, init_ns_thread, &r))
		return sc_errf(EAGAIN, "net.core sysctls: cannot start a reader thread");
	pthread_join(th, NULL);
	if (r.err) {
		/* Not fatal: the counters still tell their story. */
		memset(out, 0, sizeof(*out));
		return 0;
	}
	*out = r.nc;
	out->known = out->from_init_netns = true;
	return 0;
}
