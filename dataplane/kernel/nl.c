// SPDX-License-Identifier: GPL-2.0
/*
 * The one netlink layer. One struct sc_nl per command carries a route
 * socket (extack on, acks capped) and, opened on first use, a generic
 * netlink one. Requests the libnl-route objects model (links, veth pairs,
 * addresses, routes, htb/tbf qdiscs and classes) use those objects on the
 * route socket; everything else (tc dumps, the saved qdisc tree that mq
 * replays, group deletes) is a raw message sent with sc_nl_transact() or
 * sc_nl_dump() and parsed with libnl's nla_* functions, so every message in
 * the program goes through one socket type and one parser.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>
#include <linux/sockios.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>

#include "dataplane/kernel/error.h"
#include "dataplane/kernel/nl.h"

/*
 * The netdev genl family (include/uapi/linux/netdev.h, kernel >= 6.8 for
 * queues). Bookworm's uapi headers predate it, so the values are spelled
 * out here; they are ABI.
 */
#define NETDEV_FAMILY_NAME "netdev"
#define NETDEV_CMD_QUEUE_GET 10
#define NETDEV_A_QUEUE_ID 1
#define NETDEV_A_QUEUE_IFINDEX 2
#define NETDEV_A_QUEUE_TYPE 3
#define NETDEV_A_QUEUE_MAX 16
#define NETDEV_QUEUE_TYPE_RX 0
#define NETDEV_QUEUE_TYPE_TX 1

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

struct sc_nl {
	struct nl_sock *route;
	struct nl_sock *genl;	/* opened on first use */
	int netdev_family;	/* genl id; 0 not looked up yet, < 0 the kernel has none */
};

struct nl_sock *sc_nl_route(struct sc_nl *nl)
{
	return nl->route;
}

static int nl_err(int nlerr)
{
	/* libnl returns its own codes; map the ones callers care about. */
	switch (-nlerr) {
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return -ENODEV;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_RANGE:
		return -ERANGE;
	default:
		return -EINVAL;
	}
}

int sc_nl_open(struct sc_nl **out)
{
	struct sc_nl *nl = calloc(1, sizeof(*nl));
	int one = 1, err;

	if (!nl)
		return sc_errf(ENOMEM, "netlink: out of memory");
	nl->route = nl_socket_alloc();
	if (!nl->route) {
		free(nl);
		return sc_errf(ENOMEM, "netlink: out of memory");
	}
	err = nl_connect(nl->route, NETLINK_ROUTE);
	if (err < 0) {
		nl_socket_free(nl->route);
		free(nl);
		return sc_errf(nl_err(err), "rtnetlink: %s", nl_geterror(err));
	}
	/* The kernel's error strings (extack), without an echo of our request. */
	setsockopt(nl_socket_get_fd(nl->route), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->route), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	/* A qdisc tree with thousands of filters dumps in one go. */
	nl_socket_set_buffer_size(nl->route, 1 << 20, 1 << 20);
	*out = nl;
	return 0;
}

void sc_nl_close(struct sc_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->route);
	if (nl->genl)
		nl_socket_free(nl->genl);
	free(nl);
}

/* ---- requests and dumps: the ack, extack and error path for raw messages ---- */

struct nl_reply {
	int error;		/* negative errno from NLMSG_ERROR, 0 on ACK */
	char msg[256];		/* the kernel's extack message, if any */
	int (*valid)(struct nlmsghdr *nlh, void *arg);
	void *arg;
	int cb_error;		/* first error returned by @valid */
};

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	const struct nlmsghdr *nlh = (const void *)((const char *)e - NLMSG_HDRLEN);
	struct nl_reply *r = arg;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*e);

	(void)who;
	r->error = e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (off >= nlh->nlmsg_len - NLMSG_HDRLEN)
		return NL_STOP;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + off),
		      nlh->nlmsg_len - NLMSG_HDRLEN - off, NULL) == 0 &&
	    tb[NLMSGERR_ATTR_MSG])
		snprintf(r->msg, sizeof(r->msg), "%s", nla_get_string(tb[NLMSGERR_ATTR_MSG]));
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	(void)msg;
	((struct nl_reply *)arg)->error = 0;
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct nl_reply *r = arg;
	int err;

	if (!r->valid || r->cb_error)
		return NL_OK;
	err = r->valid(nlmsg_hdr(msg), r->arg);
	if (err)
		r->cb_error = err;
	return NL_OK;
}

/* Receive until ACK/error/DONE; returns the kernel's -errno (message in r->msg). */
static int nl_wait(struct nl_sock *sk, struct nl_reply *r)
{
	/* nl_socket_get_cb() takes a reference: drop it, or the socket's cb set leaks. */
	struct nl_cb *sock_cb = nl_socket_get_cb(sk);
	struct nl_cb *cb = nl_cb_clone(sock_cb);
	int err;

	nl_cb_put(sock_cb);
	if (!cb)
		return -ENOMEM;
	r->error = 1;
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, r);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, r);
	err = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	if (r->error <= 0)
		return r->error;
	/* Dumps end with NLMSG_DONE: nl_recvmsgs returned 0 without ACK. */
	if (err < 0)
		return -EIO;
	return r->cb_error;
}

int sc_nl_transact(struct sc_nl *nl, struct nl_msg *msg, char *why, size_t why_len)
{
	struct nl_sock *sk = nl->route;
	struct nl_reply r = { 0 };
	int err;

	err = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (err < 0)
		return -EIO;
	err = nl_wait(sk, &r);
	if (why && why_len)
		snprintf(why, why_len, "%s", r.msg[0] ? r.msg : strerror(-err));
	return err;
}

int sc_nl_dump(struct sc_nl *nl, int type, const void *hdr, size_t len, sc_nl_msg_fn fn,
	       void *arg)
{
	struct nl_reply r = { .valid = fn, .arg = arg };
	int err;

	err = nl_send_simple(nl->route, type, NLM_F_DUMP, (void *)hdr, len);
	if (err < 0)
		return -EIO;
	err = nl_wait(nl->route, &r);
	return err == 1 ? 0 : err;
}

/* ---- links ---- */

static void fill_link(struct rtnl_link *l, struct sc_link *out)
{
	const char *s;
	int32_t nsid;

	memset(out, 0, sizeof(*out));
	out->ifindex = rtnl_link_get_ifindex(l);
	out->peer_ifindex = rtnl_link_get_link(l);
	out->link_ifindex = rtnl_link_get_link(l);
	out->link_netnsid = !rtnl_link_get_link_netnsid(l, &nsid);
	out->master_ifindex = rtnl_link_get_master(l);
	snprintf(out->name, sizeof(out->name), "%s", rtnl_link_get_name(l) ?: "");
	s = rtnl_link_get_type(l);
	snprintf(out->kind, sizeof(out->kind), "%s", s ? s : "");
	s = rtnl_link_get_ifalias(l);
	snprintf(out->alias, sizeof(out->alias), "%s", s ? s : "");
	out->flags = rtnl_link_get_flags(l);
	out->group = rtnl_link_get_group(l);
	out->mtu = rtnl_link_get_mtu(l);
	out->num_tx_queues = rtnl_link_get_num_tx_queues(l);
	out->num_rx_queues = rtnl_link_get_num_rx_queues(l);
	out->rx_packets = rtnl_link_get_stat(l, RTNL_LINK_RX_PACKETS);
	out->rx_bytes = rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES);
	out->tx_packets = rtnl_link_get_stat(l, RTNL_LINK_TX_PACKETS);
	out->tx_bytes = rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES);
	out->tx_dropped = rtnl_link_get_stat(l, RTNL_LINK_TX_DROPPED);
	out->rx_dropped = rtnl_link_get_stat(l, RTNL_LINK_RX_DROPPED);
	if (strcmp(out->kind, "veth"))
		out->peer_ifindex = 0;
}

static int link_get(struct sc_nl *nl, int ifindex, const char *name, struct sc_link *out)
{
	struct rtnl_link *l = NULL;
	int err;

	err = rtnl_link_get_kernel(nl->route, ifindex, name, &l);
	if (err < 0) {
		if (name)
			return sc_errf(ENODEV, "%s: no such network device", name);
		return sc_errf(ENODEV, "ifindex %d: no such network device", ifindex);
	}
	fill_link(l, out);
	rtnl_link_put(l);
	return 0;
}

int sc_nl_link_by_name(struct sc_nl *nl, const char *name, struct sc_link *out)
{
	if (!name || !*name || strlen(name) >= IF_NAMESIZE)
		return sc_errf(EINVAL, "'%s': not a valid device name (1 to %d characters)",
			       name ? name : "", IF_NAMESIZE - 1);
	return link_get(nl, 0, name, out);
}

int sc_nl_link_by_index(struct sc_nl *nl, int ifindex, struct sc_link *out)
{
	return link_get(nl, ifindex, NULL, out);
}

int sc_nl_links(struct sc_nl *nl, struct sc_link **out, int *n)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	struct sc_link *v;
	int err, i = 0;

	err = rtnl_link_alloc_cache(nl->route, AF_UNSPEC, &cache);
	if (err < 0)
		return sc_errf(nl_err(err), "listing links: %s", nl_geterror(err));
	v = calloc(nl_cache_nitems(cache) + 1, sizeof(*v));
	if (!v) {
		nl_cache_free(cache);
		return sc_errf(ENOMEM, "listing links: out of memory");
	}
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o))
		fill_link((struct rtnl_link *)o, &v[i++]);
	nl_cache_free(cache);
	*out = v;
	*n = i;
	return 0;
}

struct queue_count {
	int ifindex;
	unsigned int rx, tx;
};

static int queue_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[NETDEV_A_QUEUE_MAX + 1];
	struct queue_count *qc = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, NETDEV_A_QUEUE_MAX, NULL) < 0)
		return NL_SKIP;
	if (!tb[NETDEV_A_QUEUE_IFINDEX] || !tb[NETDEV_A_QUEUE_TYPE] ||
	    (int)nla_get_u32(tb[NETDEV_A_QUEUE_IFINDEX]) != qc->ifindex)
		return NL_SKIP;
	if (nla_get_u32(tb[NETDEV_A_QUEUE_TYPE]) == NETDEV_QUEUE_TYPE_RX)
		qc->rx++;
	else if (nla_get_u32(tb[NETDEV_A_QUEUE_TYPE]) == NETDEV_QUEUE_TYPE_TX)
		qc->tx++;
	return NL_OK;
}

static int queues_genl(struct sc_nl *nl, struct queue_count *qc)
{
	struct nl_msg *msg;
	int family, err;

	if (!nl->genl) {
		nl->genl = nl_socket_alloc();
		if (!nl->genl)
			return -ENOMEM;
		err = genl_connect(nl->genl);
		if (err < 0) {
			nl_socket_free(nl->genl);
			nl->genl = NULL;
			return nl_err(err);
		}
	}
	/* Resolved once per handle: watch asks every second, and the answer is a few KB. */
	if (!nl->netdev_family)
		nl->netdev_family = genl_ctrl_resolve(nl->genl, NETDEV_FAMILY_NAME);
	family = nl->netdev_family;
	if (family < 0)
		return -EOPNOTSUPP;
	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	/* The kernel filters a QUEUE_GET dump by ifindex (net/core/netdev-genl.c). */
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP,
			 NETDEV_CMD_QUEUE_GET, 1) ||
	    nla_put_u32(msg, NETDEV_A_QUEUE_IFINDEX, qc->ifindex) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_socket_modify_cb(nl->genl, NL_CB_VALID, NL_CB_CUSTOM, queue_cb, qc);
	err = nl_send_auto(nl->genl, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_recvmsgs_default(nl->genl);
	return err < 0 ? nl_err(err) : 0;
}

static int ethtool_ioctl(int ifindex, void *cmd)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	if (!if_indextoname(ifindex, ifr.ifr_name))
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ifr.ifr_data = cmd;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int queues_ethtool(int ifindex, struct queue_count *qc)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	int err = ethtool_ioctl(ifindex, &ch);

	if (err)
		return err;
	qc->rx = ch.rx_count + ch.combined_count;
	qc->tx = ch.tx_count + ch.combined_count;
	return 0;
}

int sc_ethtool_feature(int ifindex, const char *name, bool *on)
{
	struct ethtool_sset_info *info;
	struct ethtool_gstrings *strings = NULL;
	struct ethtool_gfeatures *features = NULL;
	uint32_t count, blocks, i;
	int err;

	info = calloc(1, sizeof(*info) + sizeof(uint32_t));
	if (!info)
		return -ENOMEM;
	info->cmd = ETHTOOL_GSSET_INFO;
	info->sset_mask = 1ULL << ETH_SS_FEATURES;
	err = ethtool_ioctl(ifindex, info);
	if (err)
		goto out;
	if (!(info->sset_mask & (1ULL << ETH_SS_FEATURES))) {
		err = -EOPNOTSUPP;
		goto out;
	}
	count = info->data[0];
	blocks = (count + 31) / 32;
	strings = calloc(1, sizeof(*strings) + (size_t)count * ETH_GSTRING_LEN);
	features = calloc(1, sizeof(*features) + blocks * sizeof(features->features[0]));
	if (!strings || !features) {
		err = -ENOMEM;
		goto out;
	}
	strings->cmd = ETHTOOL_GSTRINGS;
	strings->string_set = ETH_SS_FEATURES;
	strings->len = count;
	features->cmd = ETHTOOL_GFEATURES;
	features->size = blocks;
	err = ethtool_ioctl(ifindex, strings);
	if (err)
		goto out;
	err = ethtool_ioctl(ifindex, features);
	if (err)
		goto out;
	for (i = 0; i < count; i++)
		if (!strncmp((const char *)strings->data + i * ETH_GSTRING_LEN, name, ETH_GSTRING_LEN))
			break;
	if (i == count) {
		err = -ENOENT;
		goto out;
	}
	*on = features->features[i / 32].active & (1u << (i % 32));
out:
	free(features);
	free(strings);
	free(info);
	return err;
}

int sc_nl_active_queues(struct sc_nl *nl, int ifindex, unsigned int *rx, unsigned int *tx)
{
	struct queue_count qc = { .ifindex = ifindex };
	int err;

	err = queues_genl(nl, &qc);
	if (err) {
		/* Kernels before the netdev family's queue API: real NICs answer ethtool. */
		qc.rx = qc.tx = 0;
		err = queues_ethtool(ifindex, &qc);
		if (err)
			return sc_errf(err, "ifindex %d: cannot read the active queue counts "
					    "(netdev genl QUEUE_GET and ethtool channels both failed)",
				       ifindex);
	}
	*rx = qc.rx;
	*tx = qc.tx;
	return 0;
}

int sc_nl_veth_create(struct sc_nl *nl, const char *name, const char *peer_name,
		      unsigned int queues, uint32_t group)
{
	struct rtnl_link *l, *peer;
	int err;

	l = rtnl_link_veth_alloc();
	if (!l)
		return sc_errf(ENOMEM, "%s: out of memory", name);
	peer = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(l, name);
	rtnl_link_set_name(peer, peer_name);
	/*
	 * Both ends get their queue counts explicitly: the peer's attributes
	 * travel in VETH_INFO_PEER and do not default to the first end's
	 * (drivers/net/veth.c, veth_newlink()). The group marks the pair as
	 * ours from the first moment; libnl sends it for the first end only,
	 * the peer gets it in sc_nl_link_prepare().
	 */
	rtnl_link_set_num_tx_queues(l, queues);
	rtnl_link_set_num_rx_queues(l, queues);
	rtnl_link_set_num_tx_queues(peer, queues);
	rtnl_link_set_num_rx_queues(peer, queues);
	rtnl_link_set_group(l, group);
	err = rtnl_link_add(nl->route, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(peer);
	rtnl_link_put(l);
	if (err < 0)
		return sc_errf(nl_err(err), "creating veth pair %s/%s: %s", name, peer_name,
			       nl_geterror(err));
	return 0;
}

static int link_change(struct sc_nl *nl, int ifindex, struct rtnl_link *change, const char *what)
{
	struct rtnl_link *orig = rtnl_link_alloc();
	int err;

	if (!orig)
		return sc_errf(ENOMEM, "out of memory");
	rtnl_link_set_ifindex(orig, ifindex);
	err = rtnl_link_change(nl->route, orig, change, 0);
	rtnl_link_put(orig);
	if (err < 0)
		return sc_errf(nl_err(err), "ifindex %d: %s: %s", ifindex, what, nl_geterror(err));
	return 0;
}

int sc_nl_link_prepare(struct sc_nl *nl, int ifindex, const char *alias, uint32_t group,
		       uint32_t mtu)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int err;

	if (!change)
		return sc_errf(ENOMEM, "out of memory");
	rtnl_link_set_ifindex(change, ifindex);
	rtnl_link_set_ifalias(change, alias);
	rtnl_link_set_group(change, group);
	rtnl_link_set_mtu(change, mtu);
	err = rtnl_link_inet6_set_addr_gen_mode(change,
						rtnl_link_inet6_str2addrgenmode("none"));
	if (err >= 0)
		err = link_change(nl, ifindex, change, "setting alias and addrgenmode");
	else
		err = sc_errf(EINVAL, "ifindex %d: libnl cannot set addrgenmode", ifindex);
	rtnl_link_put(change);
	return err;
}

int sc_nl_link_set_up(struct sc_nl *nl, int ifindex)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int err;

	if (!change)
		return sc_errf(ENOMEM, "out of memory");
	rtnl_link_set_ifindex(change, ifindex);
	rtnl_link_set_flags(change, IFF_UP);
	err = link_change(nl, ifindex, change, "setting up");
	rtnl_link_put(change);
	return err;
}

int sc_nl_link_delete(struct sc_nl *nl, int ifindex)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int err;

	if (!l)
		return sc_errf(ENOMEM, "out of memory");
	rtnl_link_set_ifindex(l, ifindex);
	err = rtnl_link_delete(nl->route, l);
	rtnl_link_put(l);
	if (err < 0 && nl_err(err) != -ENODEV)
		return sc_errf(nl_err(err), "ifindex %d: delete: %s", ifindex, nl_geterror(err));
	return 0;
}

int sc_nl_group_delete(struct sc_nl *nl, uint32_t group)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_msg *msg;
	char why[256];
	int err;

	/*
	 * libnl's delete request needs an ifindex or a name; deleting by group
	 * is an ifinfomsg with index 0 plus IFLA_GROUP (net/core/rtnetlink.c,
	 * rtnl_group_dellink()): one request, one RCU grace period for all.
	 */
	msg = nlmsg_alloc_simple(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);
	if (!msg)
		return sc_errf(ENOMEM, "out of memory");
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, IFLA_GROUP, group) < 0) {
		nlmsg_free(msg);
		return sc_errf(ENOMEM, "out of memory");
	}
	err = sc_nl_transact(nl, msg, why, sizeof(why));
	if (err)
		return sc_errf(err, "deleting link group %u: %s", group, why);
	return 0;
}

int sc_nl_addr_count(struct sc_nl *nl, int ifindex, int *count)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int err;

	err = rtnl_addr_alloc_cache(nl->route, &cache);
	if (err < 0)
		return sc_errf(nl_err(err), "listing addresses: %s", nl_geterror(err));
	*count = 0;
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;

		if (rtnl_addr_get_ifindex(a) != ifindex)
			continue;
		/* fe80::/64 appears on every IPv6 device by itself; it is not configuration. */
		if (rtnl_addr_get_family(a) == AF_INET6 && rtnl_addr_get_scope(a) == RT_SCOPE_LINK)
			continue;
		(*count)++;
	}
	nl_cache_free(cache);
	return 0;
}

int sc_nl_default_route_via(struct sc_nl *nl, int ifindex, bool *yes)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int err;

	err = rtnl_route_alloc_cache(nl->route, AF_UNSPEC, 0, &cache);
	if (err < 0)
		return sc_errf(nl_err(err), "listing routes: %s", nl_geterror(err));
	*yes = false;
	for (o = nl_cache_get_first(cache); o && !*yes; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);

		if (dst && nl_addr_get_prefixlen(dst) != 0)
			continue;
		for (int i = 0; i < rtnl_route_get_nnexthops(r); i++)
			if (rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(r, i)) == ifindex)
				*yes = true;
	}
	nl_cache_free(cache);
	return 0;
}

int sc_netns_cookie(uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd, err = 0;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sc_errf(errno, "socket: %s", strerror(errno));
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len) < 0)
		err = sc_errf(errno, "reading the network namespace cookie (SO_NETNS_COOKIE, "
				     "Linux >= 5.14): %s", strerror(errno));
	close(fd);
	return err;
}

/* ---- notifications: link changes and ethtool channel changes, for watch ---- */

struct sc_nl_events {
	struct nl_sock *link;
	struct nl_sock *ethtool;	/* NULL before ethtool netlink (5.6) */
	void (*fn)(const struct sc_nl_event *, void *);
	void *arg;
};

static int link_event(struct nl_msg *msg, void *arg)
{
	struct sc_nl_events *ev = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1];
	struct sc_nl_event e = { 0 };
	struct ifinfomsg *ifi;

	if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) ||
	    nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return NL_SKIP;
	ifi = nlmsg_data(nlh);
	e.ifindex = ifi->ifi_index;
	if (tb[IFLA_IFNAME])
		snprintf(e.name, sizeof(e.name), "%s", nla_get_string(tb[IFLA_IFNAME]));
	if (tb[IFLA_GROUP])
		e.group = nla_get_u32(tb[IFLA_GROUP]);
	ev->fn(&e, ev->arg);
	return NL_OK;
}

static int ethtool_event(struct nl_msg *msg, void *arg)
{
	struct sc_nl_events *ev = arg;
	struct nlattr *tb[ETHTOOL_A_CHANNELS_MAX + 1], *hdr[ETHTOOL_A_HEADER_MAX + 1];
	struct genlmsghdr *g = nlmsg_data(nlmsg_hdr(msg));
	struct sc_nl_event e = { 0 };

	if (g->cmd != ETHTOOL_MSG_CHANNELS_NTF ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, ETHTOOL_A_CHANNELS_MAX, NULL) < 0 ||
	    !tb[ETHTOOL_A_CHANNELS_HEADER] ||
	    nla_parse_nested(hdr, ETHTOOL_A_HEADER_MAX, tb[ETHTOOL_A_CHANNELS_HEADER], NULL) < 0)
		return NL_SKIP;
	if (hdr[ETHTOOL_A_HEADER_DEV_INDEX])
		e.ifindex = (int)nla_get_u32(hdr[ETHTOOL_A_HEADER_DEV_INDEX]);
	if (hdr[ETHTOOL_A_HEADER_DEV_NAME])
		snprintf(e.name, sizeof(e.name), "%s", nla_get_string(hdr[ETHTOOL_A_HEADER_DEV_NAME]));
	ev->fn(&e, ev->arg);
	return NL_OK;
}

static int events_sock(struct nl_sock **out, int protocol, nl_recvmsg_msg_cb_t cb,
		       struct sc_nl_events *ev)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk)
		return -ENOMEM;
	/* Notifications carry the sender's sequence numbers, not ours. */
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, cb, ev);
	err = protocol == NETLINK_GENERIC ? genl_connect(sk) : nl_connect(sk, protocol);
	if (err < 0)
		goto fail;
	err = nl_socket_set_nonblocking(sk);
	if (err < 0)
		goto fail;
	*out = sk;
	return 0;
fail:
	nl_socket_free(sk);
	return nl_err(err);
}

int sc_nl_events_open(struct sc_nl_events **out)
{
	struct sc_nl_events *ev = calloc(1, sizeof(*ev));
	int err, grp;

	if (!ev)
		return sc_errf(ENOMEM, "out of memory");
	err = events_sock(&ev->link, NETLINK_ROUTE, link_event, ev);
	if (err)
		goto fail;
	grp = nl_socket_add_membership(ev->link, RTNLGRP_LINK);
	if (grp < 0)
		err = nl_err(grp);
	if (err)
		goto fail;
	/* Channel changes are announced by ethtool netlink only; without it the periodic check sees them. */
	if (!events_sock(&ev->ethtool, NETLINK_GENERIC, ethtool_event, ev)) {
		grp = genl_ctrl_resolve_grp(ev->ethtool, ETHTOOL_GENL_NAME, ETHTOOL_MCGRP_MONITOR_NAME);
		if (grp < 0 || nl_socket_add_membership(ev->ethtool, grp) < 0) {
			nl_socket_free(ev->ethtool);
			ev->ethtool = NULL;
		}
	}
	*out = ev;
	return 0;
fail:
	sc_nl_events_close(ev);
	return sc_errf(err, "rtnetlink: subscribing to link notifications: %s", strerror(-err));
}

int sc_nl_events_fds(const struct sc_nl_events *ev, int fds[2])
{
	int n = 0;

	fds[n++] = nl_socket_get_fd(ev->link);
	if (ev->ethtool)
		fds[n++] = nl_socket_get_fd(ev->ethtool);
	return n;
}

static int drain(struct nl_sock *sk)
{
	int err;

	for (;;) {
		err = nl_recvmsgs_default(sk);
		if (err == -NLE_AGAIN)
			return 0;
		/* An overrun (ENOBUFS) or any other failure: events were lost. */
		if (err < 0)
			return -ENOBUFS;
	}
}

int sc_nl_events_read(struct sc_nl_events *ev, void (*fn)(const struct sc_nl_event *, void *),
		      void *arg)
{
	int err, err2 = 0;

	ev->fn = fn;
	ev->arg = arg;
	err = drain(ev->link);
	if (ev->ethtool)
		err2 = drain(ev->ethtool);
	return err ? err : err2;
}

void sc_nl_events_close(struct sc_nl_events *ev)
{
	if (!ev)
		return;
	if (ev->link)
		nl_socket_free(ev->link);
	if (ev->ethtool)
		nl_socket_free(ev->ethtool);
	free(ev);
}
