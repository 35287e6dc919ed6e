// SPDX-License-Identifier: GPL-2.0
/*
 * mqtap traffic: write numbered frames into chosen rx queues of the TAP
 * that `hold` keeps, read back everything the kernel sends out of the TAP
 * on all its queue fds, and check every frame byte for byte (frames.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>

#include <json-c/json.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "netns/frames.h"
#include "netns/mqtap/mqtap.h"

#define MQ_MAX_COUNT	10000000UL
#define MQ_MAX_RATE	10000000UL
#define MQ_MAX_DURATION	600
#define MQ_MAX_TIMEOUT	60
#define MQ_MAX_FLOWS	4096
#define MQ_READ_BUF	65536

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
		"  --queues LIST        rx queues to write, e.g. 0,2-3 (default: all attached;\n"
		"                       naming a detached one is a usage error)\n"
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
	return mq_errf(EXIT_USAGE, "--kind: unknown kind '%s'", s);
}

static int traffic_opt(struct traffic_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'n':
		o->ns = arg;
		return 0;
	case 'q':
		o->have_queues = true;
		return mq_parse_list("--queues", arg, o->queues_set, MQ_MAX_QUEUES) < 0 ? EXIT_USAGE : 0;
	case 'c':
		return mq_parse_ulong("--count", arg, 1, MQ_MAX_COUNT, &o->count);
	case 'r':
		return mq_parse_ulong("--rate", arg, 0, MQ_MAX_RATE, &o->rate);
	case 's':
		o->size_set = true;
		return mq_parse_ulong("--size", arg, MQ_MIN_PAYLOAD, MQ_MAX_PAYLOAD, &o->size);
	case 'f':
		return mq_parse_ulong("--flows", arg, 1, MQ_MAX_FLOWS, &o->flows);
	case 'k':
		return parse_kind(arg, &o->kind);
	case 't':
		return mq_parse_secs("--timeout", arg, MQ_MAX_TIMEOUT, &o->timeout);
	case 'D':
		if (mq_parse_secs("--duration", arg, MQ_MAX_DURATION, &o->duration))
			return EXIT_USAGE;
		return o->duration > 0 ? 0 : mq_errf(EXIT_USAGE, "--duration: must be > 0");
	case 'T':
		o->ncpus = mq_parse_list("--threads-cpus", arg, o->cpus, CPU_SETSIZE);
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
		return o->have_dmac ? 0 : mq_errf(EXIT_USAGE, "--dmac: bad MAC '%s'", arg);
	case 'S':
		return mq_parse_ulong("--streams", arg, 1, MQ_MAX_QUEUES, &o->streams);
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
	if (!mq_valid_name(o->ns, NAME_MAX - 16))
		return mq_errf(EXIT_USAGE, "--ns: bad namespace name '%s'", o->ns);
	if (o->packet_dev && !mq_valid_name(o->packet_dev, IFNAMSIZ - 1))
		return mq_errf(EXIT_USAGE, "--packet: bad interface name '%s'", o->packet_dev);
	if (o->streams > 1 && !o->packet_dev)
		return mq_errf(EXIT_USAGE, "--streams: only with --packet");
	if (o->have_queues && o->packet_dev)
		return mq_errf(EXIT_USAGE, "--queues: not with --packet (tun picks the queue)");
	if (o->ncpus > 0 && o->packet_dev)
		return mq_errf(EXIT_USAGE, "--threads-cpus: not with --packet");
	if (!o->streams)
		o->streams = 1;
	if (!o->size_set)
		o->size = o->kind == MQ_JUMBO ? 8000 : 64;
	if (o->kind == MQ_FRAG && o->size < MQ_MIN_FRAG_PAYLOAD)
		return mq_errf(EXIT_USAGE, "--size: frag needs at least %d bytes", MQ_MIN_FRAG_PAYLOAD);
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
	unsigned int nheld;		/* queue fds the holder keeps, detached ones too */
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

/*
 * Only attached queues are the TAP's active queues. A write into a detached
 * queue's fd still reaches the stack, recorded as the rx queue it had when
 * it was detached, beyond the device's rx queue count: so traffic keeps only
 * the attached fds, which `hold --active` and `queues` keep at 0..A-1.
 */
static int holder_active(struct run *r)
{
	unsigned int a = 0;

	r->nheld = r->nfds;
	for (unsigned int i = 0; i < r->nfds; i++) {
		int d = mq_queue_detached(r->fds[i]);

		if (d < 0)
			return mq_errf(-1, "%s in %s: queue %u: TUNGETIFF: %s", r->dev, r->o->ns, i,
				       strerror(errno));
		if (d)
			continue;
		if (i != a)
			return mq_errf(-1, "%s in %s: queue %u is attached but queue %u is not, so fd "
				       "and rx queue numbers differ (mqtap queues --ns %s renumbers)",
				       r->dev, r->o->ns, i, a, r->o->ns);
		a++;
	}
	if (!a)
		return mq_errf(-1, "%s in %s: no queue attached (mqtap queues --ns %s --active N)",
			       r->dev, r->o->ns, r->o->ns);
	for (unsigned int i = a; i < r->nfds; i++)
		close(r->fds[i]);
	r->nfds = a;
	return 0;
}

static int holder_fds(struct run *r)
{
	if (mq_holder_fds(r->o->ns, r->fds, &r->nfds, &r->dev, NULL))
		return -1;
	return holder_active(r);
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
		return mq_errf(-1, "%s in %s: %s", dev, r->o->ns, strerror(errno));
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (s < 0)
		return mq_errf(-1, "AF_PACKET socket: %s", strerror(errno));
	r->fds[0] = s;
	r->nfds = 1;
	if (setsockopt(s, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)))
		return mq_errf(-1, "%s: PACKET_IGNORE_OUTGOING: %s", dev, strerror(errno));
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)))
		return mq_errf(-1, "%s: bind: %s", dev, strerror(errno));
	r->dev = dev;
	return 0;
}

static int tap_info(struct run *r)
{
	struct nl_sock *sk;
	struct mq_link_info li;
	int err;

	sk = mq_rtnl_open();
	if (!sk)
		return -1;
	err = mq_link_query(sk, r->o->ns, r->dev, &li);
	nl_socket_free(sk);
	if (err)
		return err;
	if (!li.up)
		return mq_errf(-1, "%s in %s: link is down", r->dev, r->o->ns);
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
			return mq_errf(-1, "%s queue %u: fcntl: %s", r->dev, i, strerror(errno));
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
		mq_errf(-1, "sender thread: out of memory");
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
		return mq_errf(-1, "cpu %d: cannot pin a sender there", s->cpu);
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
				err = mq_errf(-1, "sender thread on cpu %d: %s", s->cpu, strerror(err));
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
		if (!o->have_queues || !o->queues_set[q] || q < r->nfds)
			continue;
		if (q < r->nheld)
			return mq_errf(EXIT_USAGE, "--queues: queue %u of %s in %s is detached (%u of "
				       "%u queues attached: mqtap queues --active)", q, r->dev, o->ns,
				       r->nfds, r->nheld);
		return mq_errf(-1, "--queues: queue %u: %s in %s has only %u queues", q, r->dev,
			       o->ns, r->nheld);
	}
	/* With --packet, the "queues" are tagged streams written to one socket. */
	r->nstreams = o->packet_dev ? (unsigned int)o->streams : r->nfds;
	r->txq = calloc(r->nstreams, sizeof(*r->txq));
	if (!r->txq)
		return mq_errf(-1, "out of memory");
	for (q = 0; q < r->nstreams; q++) {
		struct txq *t = &r->txq[r->ntxq];

		if (o->have_queues && !o->queues_set[q])
			continue;
		t->q = q;
		t->fd = r->fds[o->packet_dev ? 0 : q];
		t->out = calloc(r->nfds, sizeof(*t->out));
		if (!t->out)
			return mq_errf(-1, "out of memory");
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
		return mq_errf(-1, "--threads-cpus: %u threads for %u queues", r->nsnd, r->ntxq);
	r->snd = calloc(r->nsnd, sizeof(*r->snd));
	if (!r->snd)
		return mq_errf(-1, "out of memory");
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
			return mq_errf(-1, "out of memory");
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

/* 0, EXIT_USAGE when --queues names a detached queue, else -1. */
static int run_setup(struct run *r)
{
	struct traffic_opts *o = r->o;
	size_t flen;
	int err;

	r->fc = (struct mq_frame_cfg){ .kind = o->kind, .nonce = run_nonce(),
				       .size = (uint32_t)o->size, .flows = (uint32_t)o->flows };
	if (mq_enter_netns(o->ns) || (o->packet_dev ? packet_open(r) : holder_fds(r)) ||
	    tap_info(r))
		return -1;
	err = run_queues(r);
	if (err)
		return err;
	if (run_senders(r))
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
		fprintf(stderr, "%s: note: %zu-byte packets exceed %s's MTU %u\n", mq_prog_cmd, flen,
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

	printf("%s in %s: mtu %u, %u queues", r->dev, r->o->ns, r->mtu, r->nfds);
	if (r->nheld > r->nfds)
		printf(" (%u detached)", r->nheld - r->nfds);
	printf("; kind %s, payload %u, %u flow%s per queue\n", mq_kind_names[r->fc.kind],
	       r->fc.size, r->fc.flows, r->fc.flows == 1 ? "" : "s");
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
			return mq_errf(-1, "reader thread: %s", strerror(err));
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

int mq_cmd_traffic(int argc, char **argv)
{
	struct traffic_opts o = { .count = 100, .rate = 10000, .flows = 1, .timeout = 2,
				  .kind = MQ_UDP4 };
	struct run r = { .o = &o };
	struct totals tt;
	int err;

	mq_prog_cmd = "mqtap traffic";
	err = traffic_parse(argc, argv, &o);
	if (err)
		return err < 0 ? EXIT_OK : err;
	atomic_init(&r.send_done, false);
	err = run_setup(&r);
	if (err) {
		run_free(&r);
		return err == EXIT_USAGE ? EXIT_USAGE : EXIT_FAIL;
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
