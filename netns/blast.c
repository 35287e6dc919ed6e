// SPDX-License-Identifier: GPL-2.0
/*
 * blast: UDP load for contention tests. One thread per listed CPU, pinned,
 * each with its own socket and source port (its own flow, so its own tx
 * queue on a multi-queue device), sending with sendmmsg() for a bounded
 * time. Destinations must be in 198.18.0.0/15, the benchmarking range.
 *
 *   blast --dst 198.18.0.2 [--cpus 0,1] [--duration S] [--size B] [--port P] [-j]
 *
 * Reports, per thread, datagrams sent and the CPU time the thread got: a
 * benchmark on a shared machine should discard runs where a sender did not
 * get its CPU (platform.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define BATCH 64
#define MAX_PAYLOAD 1472

struct sender {
	pthread_t tid;
	int cpu;
	uint16_t sport;
	uint64_t sent, errors;
	double cpu_s, wall_s;
	int err;
};

static struct {
	struct sockaddr_in dst;
	double duration;
	size_t size;
	uint16_t sport_base;
} cfg = { .duration = 5, .size = 64, .sport_base = 40000 };

static double now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_socket(const struct sender *s)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(s->sport) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
	    connect(fd, (struct sockaddr *)&cfg.dst, sizeof(cfg.dst))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void *run(void *arg)
{
	static const char payload[MAX_PAYLOAD];
	struct sender *s = arg;
	struct mmsghdr msgs[BATCH];
	struct iovec iov = { .iov_base = (void *)payload, .iov_len = cfg.size };
	double start, end;
	cpu_set_t set;
	int fd;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		s->err = -EINVAL;
		return NULL;
	}
	fd = open_socket(s);
	if (fd < 0) {
		s->err = fd;
		return NULL;
	}
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	start = now_s(CLOCK_MONOTONIC);
	end = start + cfg.duration;
	for (unsigned int round = 0;; round++) {
		int n;

		/* The clock every 16 batches: cheap, and at most ~1000 datagrams late. */
		if (!(round & 15) && now_s(CLOCK_MONOTONIC) >= end)
			break;
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			s->sent += n;
		else if (n < 0 && errno != EINTR)
			s->errors++;
	}
	s->wall_s = now_s(CLOCK_MONOTONIC) - start;
	s->cpu_s = now_s(CLOCK_THREAD_CPUTIME_ID);
	close(fd);
	return NULL;
}

static int parse_cpus(const char *list, struct sender *s, int *n)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int err = 0;

	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long cpu = strtol(tok, &end, 10);

		if (*end || cpu < 0 || cpu >= CPU_SETSIZE || *n >= MAX_THREADS)
			err = -EINVAL;
		else
			s[(*n)++].cpu = (int)cpu;
	}
	free(copy);
	return err || !*n ? -EINVAL : 0;
}

static bool benchmark_range(struct in_addr a)
{
	/* 198.18.0.0/15 (RFC 2544). */
	return (ntohl(a.s_addr) & 0xfffe0000u) == 0xc6120000u;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: blast --dst ADDR [--cpus LIST] [--duration S] [--size B] [--port P]\n"
		   "             [--sport-base P] [-j]\n\n"
		   "UDP datagrams to ADDR (198.18.0.0/15 only) from one pinned thread per CPU in\n"
		   "LIST (default 0), each its own socket and source port, for S seconds\n"
		   "(default 5, max 600). Payload B bytes (default 64).\n");
}

static void report(const struct sender *s, int n, bool json)
{
	uint64_t total = 0;
	double wall = 0;

	for (int i = 0; i < n; i++) {
		total += s[i].sent;
		wall = s[i].wall_s > wall ? s[i].wall_s : wall;
	}
	if (json) {
		printf("{\"duration_s\":%.3f,\"sent\":%llu,\"pps\":%.0f,\"threads\":[", wall,
		       (unsigned long long)total, wall > 0 ? total / wall : 0);
		for (int i = 0; i < n; i++)
			printf("%s{\"cpu\":%d,\"sport\":%u,\"sent\":%llu,\"errors\":%llu,"
			       "\"cpu_pct\":%.1f}", i ? "," : "", s[i].cpu, s[i].sport,
			       (unsigned long long)s[i].sent, (unsigned long long)s[i].errors,
			       s[i].wall_s > 0 ? 100 * s[i].cpu_s / s[i].wall_s : 0);
		printf("]}\n");
		return;
	}
	for (int i = 0; i < n; i++)
		printf("cpu %d: %llu datagrams, %llu errors, got %.1f%% of its CPU\n", s[i].cpu,
		       (unsigned long long)s[i].sent, (unsigned long long)s[i].errors,
		       s[i].wall_s > 0 ? 100 * s[i].cpu_s / s[i].wall_s : 0);
	printf("total: %llu datagrams in %.2f s, %.0f per second\n", (unsigned long long)total, wall,
	       wall > 0 ? total / wall : 0);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dst", required_argument, NULL, 'a' },   { "cpus", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' }, { "size", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },  { "sport-base", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },        { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sender s[MAX_THREADS] = { 0 };
	bool json = false, have_dst = false;
	int n = 1, c, rc = 0;
	char *end;

	cfg.dst.sin_family = AF_INET;
	cfg.dst.sin_port = htons(9);	/* discard */
	while ((c = getopt_long(argc, argv, "j", lo, NULL)) != -1) {
		long v;

		switch (c) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &cfg.dst.sin_addr) != 1 ||
			    !benchmark_range(cfg.dst.sin_addr)) {
				fprintf(stderr, "blast: --dst %s: need an IPv4 address in 198.18.0.0/15\n",
					optarg);
				return 2;
			}
			have_dst = true;
			break;
		case 'c':
			if (parse_cpus(optarg, s, &n)) {
				fprintf(stderr, "blast: --cpus %s: expected a list like 0,1\n", optarg);
				return 2;
			}
			break;
		case 'd':
			cfg.duration = strtod(optarg, &end);
			if (*end || !(cfg.duration > 0 && cfg.duration <= 600)) {
				fprintf(stderr, "blast: --duration %s: expected 0 < S <= 600\n", optarg);
				return 2;
			}
			break;
		case 's':
		case 'p':
		case 'b':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > (c == 's' ? MAX_PAYLOAD : 65535 - MAX_THREADS)) {
				fprintf(stderr, "blast: invalid value '%s'\n", optarg);
				return 2;
			}
			if (c == 's')
				cfg.size = v;
			else if (c == 'p')
				cfg.dst.sin_port = htons((uint16_t)v);
			else
				cfg.sport_base = (uint16_t)v;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!have_dst || optind != argc) {
		usage(stderr);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		s[i].sport = cfg.sport_base + i;
		if (pthread_create(&s[i].tid, NULL, run, &s[i])) {
			fprintf(stderr, "blast: cannot start thread %d\n", i);
			n = i;
			rc = 1;
			break;
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(s[i].tid, NULL);
	for (int i = 0; i < n; i++) {
		if (s[i].err) {
			fprintf(stderr, "blast: cpu %d: %s\n", s[i].cpu, strerror(-s[i].err));
			rc = 1;
		}
	}
	if (!rc)
		report(s, n, json);
	return rc;
}
