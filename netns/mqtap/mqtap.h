/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqtap: a multi-queue TAP that stands in for a multi-queue NIC in a test
 * namespace, and a traffic tool that writes frames into chosen rx queues and
 * checks that every one comes back byte for byte.
 *
 *   mqtap hold    creates the TAP in a namespace and keeps its queue fds
 *                 open (a TAP has as many active queues as attached fds).
 *   mqtap traffic borrows those same fds from the holder with pidfd_getfd(),
 *                 so frames enter the very queues the holder keeps active.
 *   mqtap queues  attaches or detaches the holder's queues, through fds
 *                 borrowed the same way, to change the active queue count.
 *
 * The holder keeps queue i at fd MQ_QFD_BASE + i: that is the whole contract
 * between the commands, so no side file can go stale. See README.md.
 *
 * One file per command (hold.c, traffic.c, queues.c), the helpers they share
 * in common.c, and borrowing the holder's queue fds in borrow.c.
 */
#ifndef SC_NETNS_MQTAP_H
#define SC_NETNS_MQTAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

struct nl_sock;

#define MQ_QFD_BASE	100
#define MQ_MAX_QUEUES	256	/* tun's MAX_TAP_QUEUES */
#define MQ_RUN_DIR	"/run/shardctl-testbed"
#define MQ_NETNS_DIR	"/var/run/netns"
/*
 * Fallback hand-over of the queue fds (SCM_RIGHTS) for when pidfd_getfd()
 * is refused, e.g. under valgrind 3.19, which does not know pidfd_open.
 * Abstract unix names are per network namespace: one name per testbed.
 */
#define MQ_SOCK_NAME	"shardctl-testbed/mqtap"
#define MQ_FD_CHUNK	128	/* below the kernel's SCM_MAX_FD (253) */

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* common.c: errors and option parsing */

/* "mqtap COMMAND", the prefix of every message. */
extern const char *mq_prog_cmd;

/* Prints "mqtap CMD: MESSAGE" on stderr and returns @code. */
int mq_errf(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mq_parse_ulong(const char *what, const char *s, unsigned long min, unsigned long max,
		   unsigned long *out);
int mq_parse_secs(const char *what, const char *s, double max, double *out);
int mq_parse_list(const char *what, const char *s, bool *set, unsigned int limit);
bool mq_valid_name(const char *s, size_t max);

/* common.c: namespace, pid file */

int mq_enter_netns(const char *ns);
void mq_pidfile_path(char *buf, size_t len, const char *ns);
pid_t mq_pidfile_read(const char *ns);
int mq_pidfile_write(const char *ns, pid_t pid);
void mq_pidfile_remove(const char *ns);

/* common.c: netlink (libnl-route) */

struct mq_link_info {
	uint8_t mac[6];
	unsigned int mtu;
	bool up;
};

struct nl_sock *mq_rtnl_open(void);
int mq_link_query(struct nl_sock *sk, const char *ns, const char *dev, struct mq_link_info *li);
int mq_link_set_up(struct nl_sock *sk, const char *ns, const char *dev, unsigned int mtu);

/* common.c: a tun queue's attach state */

int mq_queue_detached(int fd);
int mq_queue_set(int fd, bool attach);

/* borrow.c: the holder's queue fds */

socklen_t mq_sock_addr(struct sockaddr_un *sun);
int mq_holder_fds(const char *ns, int *fds, unsigned int *nfds, const char **dev, pid_t *pid);

/* the commands */

int mq_cmd_hold(int argc, char **argv);
int mq_cmd_traffic(int argc, char **argv);
int mq_cmd_queues(int argc, char **argv);

#endif
