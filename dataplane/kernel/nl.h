/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one netlink layer (libnl core, libnl-route, libnl-genl): the device
 * facts shardctl needs, the link changes it makes, and the raw request,
 * ack/extack and dump path every other module's messages take. A command
 * opens one struct sc_nl and passes it down. Everything works in the
 * calling thread's network namespace.
 */
#ifndef SC_NL_H
#define SC_NL_H

#include <net/if.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

struct sc_nl;
struct nl_sock;
struct nl_msg;
struct nlmsghdr;

struct sc_link {
	int ifindex;
	int peer_ifindex;	/* veth: the other end (IFLA_LINK); 0 otherwise */
	int link_ifindex;	/* IFLA_LINK of any kind (a vlan's lower), 0 when none */
	bool link_netnsid;	/* IFLA_LINK names a device in another namespace */
	int master_ifindex;	/* IFLA_MASTER (bond, bridge), 0 when none */
	char name[IF_NAMESIZE];
	char kind[16];		/* "veth", "tun", ... ("" when none) */
	char alias[256];
	unsigned int flags;	/* IFF_* */
	uint32_t group;
	uint32_t mtu;
	uint32_t num_tx_queues;	/* allocated, not active (platform.md) */
	uint32_t num_rx_queues;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, tx_dropped, rx_dropped;
};

int sc_nl_open(struct sc_nl **out);
void sc_nl_close(struct sc_nl *nl);

/* The route socket, for the libnl-route object calls (rtnl_qdisc_add(), link caches). */
struct nl_sock *sc_nl_route(struct sc_nl *nl);
/*
 * Send @msg (consumed; NLM_F_REQUEST|NLM_F_ACK are added) and wait for the
 * kernel's answer. Returns its -errno; @why, when given, gets the kernel's
 * extack message, else strerror().
 */
int sc_nl_transact(struct sc_nl *nl, struct nl_msg *msg, char *why, size_t why_len);
/*
 * Dump @type with the fixed header @hdr (@len bytes), calling @fn for every
 * message until NLMSG_DONE; @fn's first non-zero return ends the dump and
 * is returned. The kernel's -errno otherwise.
 */
typedef int (*sc_nl_msg_fn)(struct nlmsghdr *nlh, void *arg);
int sc_nl_dump(struct sc_nl *nl, int type, const void *hdr, size_t len, sc_nl_msg_fn fn,
	       void *arg);

/* -ENODEV (with a message naming @name) when there is no such device. */
int sc_nl_link_by_name(struct sc_nl *nl, const char *name, struct sc_link *out);
int sc_nl_link_by_index(struct sc_nl *nl, int ifindex, struct sc_link *out);
/* All links of the namespace; free(*out). */
int sc_nl_links(struct sc_nl *nl, struct sc_link **out, int *n);

/*
 * Active (real_num_*) queue counts, from the netdev genl family's
 * QUEUE_GET dump; falls back to the ethtool channels query. Both zero when
 * the device is down (the kernel lists no queues then).
 */
int sc_nl_active_queues(struct sc_nl *nl, int ifindex, unsigned int *rx, unsigned int *tx);
/*
 * An ethtool feature by its string ("tx-lockless"), through the ioctl
 * (ETHTOOL_GSSET_INFO, GSTRINGS, GFEATURES); -ENOENT when the kernel has no
 * such string (tx-lockless left the strings in 6.12).
 */
int sc_ethtool_feature(int ifindex, const char *name, bool *on);

/* A veth pair, both ends with @queues tx and rx queues and link group @group, down. */
int sc_nl_veth_create(struct sc_nl *nl, const char *name, const char *peer, unsigned int queues,
		      uint32_t group);
/*
 * While down: set the ifalias, the link group, the MTU and IPv6 addrgenmode
 * none (no link-local address, so the device never sends ND/MLD of its own).
 */
int sc_nl_link_prepare(struct sc_nl *nl, int ifindex, const char *alias, uint32_t group,
		       uint32_t mtu);
int sc_nl_link_set_up(struct sc_nl *nl, int ifindex);
int sc_nl_link_delete(struct sc_nl *nl, int ifindex);
/* One RTM_DELLINK for every device in @group (`ip link del group G`). */
int sc_nl_group_delete(struct sc_nl *nl, uint32_t group);

/* Addresses on @ifindex other than IPv6 link-local ones. */
int sc_nl_addr_count(struct sc_nl *nl, int ifindex, int *count);
/* Whether a default route (v4 or v6, any table) leaves through @ifindex. */
int sc_nl_default_route_via(struct sc_nl *nl, int ifindex, bool *yes);

/*
 * Notifications for watch: link changes (RTNLGRP_LINK) and, where the
 * kernel has ethtool netlink (5.6), channel changes (ETHTOOL_MSG_CHANNELS_NTF).
 * Not every change is announced (a TAP's queue count is not): watchers
 * check periodically as well.
 */
struct sc_nl_events;
struct sc_nl_event {
	int ifindex;
	char name[IF_NAMESIZE];
	uint32_t group;		/* links */
};
int sc_nl_events_open(struct sc_nl_events **out);
/* The sockets to poll for POLLIN (1 or 2); they are non-blocking. */
int sc_nl_events_fds(const struct sc_nl_events *ev, int fds[2]);
/*
 * Hand every pending notification to @fn. -ENOBUFS when the kernel dropped
 * some (socket overrun): the caller must check everything again.
 */
int sc_nl_events_read(struct sc_nl_events *ev, void (*fn)(const struct sc_nl_event *, void *),
		      void *arg);
void sc_nl_events_close(struct sc_nl_events *ev);

/* The network namespace's cookie: unique for the boot, never reused (unlike inode numbers). */
int sc_netns_cookie(uint64_t *cookie);

#endif
