// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: /proc/kallsyms text (sc_ksyms_parse), then look-ups on what it built. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/kernel/kallsyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_ksyms ks;
	char *text = malloc(size + 1), buf[256];
	uint64_t start, end;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!sc_ksyms_parse(text, &ks)) {
		for (size_t i = 1; i < ks.nr; i++)
			if (ks.syms[i - 1].addr > ks.syms[i].addr)
				abort();	/* documented: sorted by addr */
		for (size_t i = 0; i < ks.nr && i < 8; i++) {
			uint64_t a = ks.syms[i].addr;

			sc_ksyms_format(&ks, a, buf, sizeof(buf));
			sc_ksyms_format(&ks, a + 1, buf, sizeof(buf));
			sc_ksyms_format(&ks, a - 1, buf, sizeof(buf));
			if (sc_ksyms_find(&ks, a) == NULL)
				abort();	/* a symbol's own address is covered */
			sc_ksyms_range(&ks, ks.syms[i].name, &start, &end);
		}
		sc_ksyms_format(&ks, UINT64_MAX, buf, sizeof(buf));
		sc_ksyms_by_name(&ks, "");
		sc_ksyms_free(&ks);
	}
	free(text);
	return 0;
}
