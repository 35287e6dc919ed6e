// SPDX-License-Identifier: GPL-2.0
/*
 * Print the calling network namespace's cookie in hex, as shardctl names
 * its bpffs directory (/sys/fs/bpf/shardctl/<cookie>/): tests use it to
 * look only at their own namespace's pins, bpffs being shared by all.
 */
#include <inttypes.h>
#include <stdio.h>

#include "dataplane/kernel/error.h"
#include "dataplane/kernel/nl.h"

int main(void)
{
	uint64_t cookie;

	if (sc_netns_cookie(&cookie)) {
		fprintf(stderr, "nscookie: %s\n", sc_last_error());
		return 1;
	}
	printf("%" PRIx64 "\n", cookie);
	return 0;
}
