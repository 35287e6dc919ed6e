/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test frames for mqtap: build one frame from (kind, queue, seq) and find
 * the (queue, seq) tag in a frame read back. The builder is a pure function
 * of its inputs, so the reader verifies a returned frame by rebuilding it
 * and comparing every byte: "bytes out == bytes in" for every kind without
 * keeping copies of what was sent.
 *
 * The code is in frames.c, which the Makefile puts in $(O)/netns/libnetns.a
 * for every netns tool to link. Addresses stay in the benchmarking ranges
 * (198.18.0.0/15, 2001:2::/48).
 */
#ifndef SC_NETNS_FRAMES_H
#define SC_NETNS_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mq_kind { MQ_UDP4, MQ_UDP6, MQ_VLAN, MQ_ARP, MQ_FRAG, MQ_JUMBO, MQ_NKINDS };

#define MQ_MAGIC	0x6d717461u	/* "mqta" */
#define MQ_TAG_LEN	16
#define MQ_MAX_PAYLOAD	9000
#define MQ_MAX_FRAME	(14 + 4 + 40 + 8 + MQ_MAX_PAYLOAD)
#define MQ_MIN_PAYLOAD	MQ_TAG_LEN
/* Both fragments must have room for a tag after the UDP header. */
#define MQ_MIN_FRAG_PAYLOAD 48
#define MQ_VLAN_ID	100
#define MQ_UDP_DPORT	9	/* discard */

/* The --kind names, indexed by enum mq_kind. */
extern const char *const mq_kind_names[MQ_NKINDS];

struct mq_frame_cfg {
	enum mq_kind kind;
	uint8_t dmac[6];	/* the TAP's MAC: frames look addressed to it */
	uint32_t nonce;		/* per run, so a previous run's stragglers are foreign */
	uint32_t size;		/* UDP payload bytes (for frag: of the whole datagram) */
	uint32_t flows;		/* distinct UDP source ports per queue */
};

/* Writes the frame for (q, seq) into @buf (MQ_MAX_FRAME bytes); returns its length. */
size_t mq_build(const struct mq_frame_cfg *c, unsigned int q, uint32_t seq, uint8_t *buf);

/* Where the tag sits in a frame of this run's kind, or 0 if it cannot be ours. */
size_t mq_tag_offset(const struct mq_frame_cfg *c, const uint8_t *f, size_t len);

/*
 * Returns true and the tag's queue and seq when @f carries this run's tag.
 * Whether the rest of the frame is intact is for the caller to check.
 */
bool mq_parse_tag(const struct mq_frame_cfg *c, const uint8_t *f, size_t len,
		  unsigned int *q, uint32_t *seq);

#endif
