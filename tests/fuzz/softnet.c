// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: /proc/net/softnet_stat text (sc_softnet_parse) and the delta of two snapshots. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/kernel/softnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_softnet a, b, d;
	size_t half = size / 2;
	char *text = malloc(size + 2);

	if (!text)
		return 0;
	/* Two snapshots from one input: the first half and the whole. */
	memcpy(text, data, size);
	text[size] = '\0';
	if (!sc_softnet_parse(text, &b)) {
		for (unsigned int i = 1; i < b.nr_cpus; i++)
			if (b.cpus[i - 1].cpu > b.cpus[i].cpu)
				abort();	/* documented: sorted by cpu */
		memcpy(text, data, half);
		text[half] = '\0';
		if (!sc_softnet_parse(text, &a)) {
			if (!sc_softnet_delta(&a, &b, &d))
				sc_softnet_free(&d);
			sc_softnet_free(&a);
		}
		sc_softnet_free(&b);
	}
	free(text);
	return 0;
}
