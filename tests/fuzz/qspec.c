// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the --shard-qdisc grammar (sc_qspec_parse). Whatever parses
 * must format within the buffer, and the canonical text, when it parses
 * again, must mean the same qdisc (setup compares re-runs by that text).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/shard/qspec.h"

/*
 * Fill the stack below us with 0xff (a NaN as a double) so that a variable
 * read before it is written shows up under UBSan (float-cast-overflow)
 * every time, not only when earlier runs happened to leave garbage there.
 */
static __attribute__((noinline)) void poison_stack(void)
{
	volatile char pad[16384];

	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = (char)0xff;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_qspec q, again;
	char *spec = malloc(size + 1), text[128];

	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	poison_stack();
	if (!sc_qspec_parse(spec, &q)) {
		if (q.kind < SC_QSPEC_HTB || q.kind > SC_QSPEC_BFIFO)
			abort();
		sc_qspec_format(&q, text, sizeof(text));
		if (!memchr(text, '\0', sizeof(text)))
			abort();
		/* Defaults format as 0, which the grammar refuses: only compare what parses. */
		if (!sc_qspec_parse(text, &again) && memcmp(&q, &again, sizeof(q)))
			abort();
	}
	free(spec);
	return 0;
}
