// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the small parsers of outside words: --lookup and --attach
 * values, the ifalias that marks our devices (anyone with CAP_NET_ADMIN can
 * write any alias), and the shard device names derived from a NIC's name.
 */
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/shard/shard.h"
#include "dataplane/shard/shard_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), name[IF_NAMESIZE], peer[IF_NAMESIZE], alias[128];
	enum sc_lookup lookup;
	unsigned int shard;
	int attach, nic;
	bool ret;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (!sc_lookup_parse(s, &lookup) && strcmp(sc_lookup_name(lookup), s))
		abort();
	if (!sc_attach_parse(s, &attach) && strcmp(sc_attach_name(attach), s))
		abort();
	if (sc_alias_parse(s, &nic, &shard, &ret)) {
		if (shard >= SC_MAX_RXQ)
			abort();
		/* What we write, we read back the same. */
		sc_alias_make(alias, sizeof(alias), nic, shard, ret);
		int nic2;
		unsigned int shard2;
		bool ret2;

		if (!sc_alias_parse(alias, &nic2, &shard2, &ret2) || nic2 != nic || shard2 != shard ||
		    ret2 != ret)
			abort();
	}
	if (size < IF_NAMESIZE && *s) {
		/* Shard names fit IFNAMSIZ and the two ends never collide. */
		sc_shard_names(s, (unsigned int)size * 17 % SC_MAX_RXQ, name, peer);
		if (strlen(name) >= IF_NAMESIZE || strlen(peer) >= IF_NAMESIZE || !strcmp(name, peer))
			abort();
	}
	free(s);
	return 0;
}
