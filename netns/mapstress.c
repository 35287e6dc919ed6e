// SPDX-License-Identifier: GPL-2.0
/*
 * mapstress: K threads doing M bpf(BPF_MAP_UPDATE_ELEM) calls each on one
 * map, so tests and benchmarks can count and time control-plane updates
 * under concurrency (shardctl bpfstat is the observer).
 *
 *   mapstress [--threads K] [--updates M] [--map array|hash|prog_array]
 *             [--entries N] [--start-file PATH] [-j]
 *
 * --start-file: create the map, then wait until PATH exists before the
 * first update, so an observer can attach to this pid first. Exactly K*M
 * update calls are made after that point; nothing else calls
 * BPF_MAP_UPDATE_ELEM in this process.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

struct worker {
	pthread_t th;
	int map_fd, value_fd;
	unsigned int index, entries;
	unsigned long updates, failed;
	double seconds;
	pthread_barrier_t *go;
	int map_type;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	unsigned long i;
	double t0;

	pthread_barrier_wait(w->go);
	t0 = now_s();
	for (i = 0; i < w->updates; i++) {
		/* Threads share the keys: updates to one slot race, as a remap would. */
		uint32_t key = (uint32_t)((w->index + i) % w->entries);
		uint32_t value = w->map_type == BPF_MAP_TYPE_PROG_ARRAY ? (uint32_t)w->value_fd
									 : (uint32_t)i;

		if (bpf_map_update_elem(w->map_fd, &key, &value, BPF_ANY))
			w->failed++;
	}
	w->seconds = now_s() - t0;
	return NULL;
}

/* A program to store in a PROG_ARRAY: "return 0" as a socket filter. */
static int trivial_prog(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "mapstress", "GPL", insns, 2, NULL);
}

static int parse_map(const char *s)
{
	if (!strcmp(s, "array"))
		return BPF_MAP_TYPE_ARRAY;
	if (!strcmp(s, "hash"))
		return BPF_MAP_TYPE_HASH;
	if (!strcmp(s, "prog_array"))
		return BPF_MAP_TYPE_PROG_ARRAY;
	return -1;
}

static void wait_for(const char *path)
{
	const struct timespec tick = { 0, 5 * 1000 * 1000 };

	while (access(path, F_OK))
		nanosleep(&tick, NULL);
}

static int usage(void)
{
	fprintf(stderr, "usage: mapstress [--threads K] [--updates M] [--map array|hash|prog_array]\n"
			"                 [--entries N] [--start-file PATH] [-j]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "updates", required_argument, NULL, 'u' },
		{ "map", required_argument, NULL, 'm' },
		{ "entries", required_argument, NULL, 'e' },
		{ "start-file", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	};
	unsigned int threads = 8, entries = 64;
	unsigned long updates = 10000, failed = 0;
	const char *start_file = NULL, *map_name = "array";
	int map_type = BPF_MAP_TYPE_ARRAY, map_fd, value_fd = -1, c, rc = 1;
	struct worker *w;
	pthread_barrier_t go;
	bool json = false;
	double t0, elapsed;

	while ((c = getopt_long(argc, argv, "t:u:m:e:s:j", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			threads = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'u':
			updates = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			map_name = optarg;
			map_type = parse_map(optarg);
			break;
		case 'e':
			entries = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 's':
			start_file = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || !threads || threads > 1024 || !entries || map_type < 0)
		return usage();
	map_fd = bpf_map_create(map_type, "mapstress", 4, 4, entries, NULL);
	if (map_fd < 0) {
		fprintf(stderr, "mapstress: create %s map: %s\n", map_name, strerror(errno));
		return 1;
	}
	if (map_type == BPF_MAP_TYPE_PROG_ARRAY && (value_fd = trivial_prog()) < 0) {
		fprintf(stderr, "mapstress: load a program for the prog_array: %s\n", strerror(errno));
		goto out;
	}
	w = calloc(threads, sizeof(*w));
	if (!w || pthread_barrier_init(&go, NULL, threads + 1)) {
		fprintf(stderr, "mapstress: out of memory\n");
		free(w);
		goto out;
	}
	for (unsigned int i = 0; i < threads; i++) {
		w[i] = (struct worker){ .map_fd = map_fd, .value_fd = value_fd, .index = i,
					.entries = entries, .updates = updates, .go = &go,
					.map_type = map_type };
		if (pthread_create(&w[i].th, NULL, work, &w[i])) {
			fprintf(stderr, "mapstress: cannot start thread %u\n", i);
			exit(1);	/* the others wait at the barrier forever */
		}
	}
	if (start_file)
		wait_for(start_file);
	t0 = now_s();
	pthread_barrier_wait(&go);
	for (unsigned int i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		failed += w[i].failed;
	}
	elapsed = now_s() - t0;
	if (json)
		printf("{\"map\":\"%s\",\"threads\":%u,\"updates_per_thread\":%lu,\"updates\":%lu,"
		       "\"failed\":%lu,\"seconds\":%.6f,\"updates_per_second\":%.0f}\n",
		       map_name, threads, updates, threads * updates, failed, elapsed,
		       threads * updates / elapsed);
	else
		printf("%s map: %u threads x %lu updates = %lu (%lu failed) in %.3f s, %.0f/s\n",
		       map_name, threads, updates, threads * updates, failed, elapsed,
		       threads * updates / elapsed);
	pthread_barrier_destroy(&go);
	free(w);
	rc = failed ? 1 : 0;
out:
	if (value_fd >= 0)
		close(value_fd);
	close(map_fd);
	return rc;
}
