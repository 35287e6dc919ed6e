// SPDX-License-Identifier: GPL-2.0
/*
 * Test frames for mqtap (see frames.h). Everything here is a pure function
 * of the run's config and (queue, seq): the reader rebuilds a frame from
 * the tag it carries and compares every byte.
 */
#include <string.h>

#include "netns/frames.h"

const char *const mq_kind_names[MQ_NKINDS] = {
	[MQ_UDP4] = "udp4", [MQ_UDP6] = "udp6", [MQ_VLAN] = "vlan",
	[MQ_ARP] = "arp",   [MQ_FRAG] = "frag", [MQ_JUMBO] = "jumbo",
};

static const uint8_t mq_smac[6] = { 0x02, 0x53, 0x43, 0x00, 0x00, 0x01 };
static const uint8_t mq_ip4_src[4] = { 198, 18, 0, 1 };
static const uint8_t mq_ip4_dst[4] = { 198, 19, 0, 1 };
static const uint8_t mq_arp_tpa[4] = { 198, 18, 0, 2 };
static const uint8_t mq_ip6_src[16] = { 0x20, 0x01, 0x00, 0x02, [15] = 1 };
static const uint8_t mq_ip6_dst[16] = { 0x20, 0x01, 0x00, 0x02, [15] = 2 };

static void mq_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void mq_put32(uint8_t *p, uint32_t v)
{
	mq_put16(p, v >> 16);
	mq_put16(p + 2, v & 0xffff);
}

static uint16_t mq_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t mq_get32(const uint8_t *p)
{
	return (uint32_t)mq_get16(p) << 16 | mq_get16(p + 2);
}

/* Ones' complement sum over big-endian 16-bit words, not yet folded. */
static uint32_t mq_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += mq_get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t mq_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* 0 means "no checksum" in UDP, so a computed 0 is sent as 0xffff. */
static uint16_t mq_udp_csum(uint32_t pseudo, const uint8_t *udp, size_t len)
{
	uint16_t c = mq_csum_fold(mq_csum_add(pseudo, udp, len));

	return c ? c : 0xffff;
}

static void mq_put_tag(uint8_t *p, const struct mq_frame_cfg *c, unsigned int q,
		       uint32_t seq)
{
	mq_put32(p, MQ_MAGIC);
	mq_put32(p + 4, c->nonce);
	mq_put16(p + 8, (uint16_t)q);
	p[10] = (uint8_t)c->kind;
	p[11] = 0;
	mq_put32(p + 12, seq);
}

/* Filler that differs per queue, seq and offset, so shifted or swapped bytes show. */
static void mq_fill(uint8_t *p, size_t len, unsigned int q, uint32_t seq)
{
	uint8_t v = (uint8_t)(0x5a + q * 13 + seq * 7);
	size_t i;

	for (i = 0; i < len; i++, v += 31)
		p[i] = v;
}

static uint16_t mq_sport(const struct mq_frame_cfg *c, unsigned int q, uint32_t seq)
{
	return (uint16_t)(1024 + (q * c->flows + seq % c->flows) % 60000);
}

static uint8_t *mq_put_eth(uint8_t *p, const uint8_t *dmac, uint16_t type)
{
	memcpy(p, dmac, 6);
	memcpy(p + 6, mq_smac, 6);
	mq_put16(p + 12, type);
	return p + 14;
}

/* IPv4 header with its checksum; @frag is the flags+offset field. */
static uint8_t *mq_put_ip4(uint8_t *p, size_t tot_len, uint16_t id, uint16_t frag)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	mq_put16(p + 2, (uint16_t)tot_len);
	mq_put16(p + 4, id);
	mq_put16(p + 6, frag);
	p[8] = 64;
	p[9] = 17;
	memcpy(p + 12, mq_ip4_src, 4);
	memcpy(p + 16, mq_ip4_dst, 4);
	mq_put16(p + 10, mq_csum_fold(mq_csum_add(0, p, 20)));
	return p + 20;
}

static uint32_t mq_pseudo4(size_t udp_len)
{
	uint32_t sum = mq_csum_add(0, mq_ip4_src, 4);

	sum = mq_csum_add(sum, mq_ip4_dst, 4);
	return sum + 17 + (uint32_t)udp_len;
}

static uint32_t mq_pseudo6(size_t udp_len)
{
	uint32_t sum = mq_csum_add(0, mq_ip6_src, 16);

	sum = mq_csum_add(sum, mq_ip6_dst, 16);
	return sum + 17 + (uint32_t)udp_len;
}

/* UDP header + tagged, filled payload at @p; checksum left for the caller. */
static size_t mq_put_udp(uint8_t *p, const struct mq_frame_cfg *c, unsigned int q,
			 uint32_t seq, uint32_t tagseq)
{
	size_t len = 8 + c->size;

	mq_put16(p, mq_sport(c, q, seq));
	mq_put16(p + 2, MQ_UDP_DPORT);
	mq_put16(p + 4, (uint16_t)len);
	mq_put16(p + 6, 0);
	mq_fill(p + 8, c->size, q, seq);
	mq_put_tag(p + 8, c, q, tagseq);
	return len;
}

static size_t mq_build_udp4(const struct mq_frame_cfg *c, unsigned int q, uint32_t seq,
			    uint8_t *buf, bool vlan)
{
	uint8_t *p = buf, *udp;
	size_t ulen;

	if (vlan) {
		p = mq_put_eth(p, c->dmac, 0x8100);
		mq_put16(p, MQ_VLAN_ID);
		mq_put16(p + 2, 0x0800);
		p += 4;
	} else {
		p = mq_put_eth(p, c->dmac, 0x0800);
	}
	udp = p + 20;
	ulen = mq_put_udp(udp, c, q, seq, seq);
	mq_put16(udp + 6, mq_udp_csum(mq_pseudo4(ulen), udp, ulen));
	mq_put_ip4(p, 20 + ulen, (uint16_t)seq, 0x4000 /* DF */);
	return (size_t)(udp - buf) + ulen;
}

static size_t mq_build_udp6(const struct mq_frame_cfg *c, unsigned int q, uint32_t seq,
			    uint8_t *buf)
{
	uint8_t *ip = mq_put_eth(buf, c->dmac, 0x86dd), *udp = ip + 40;
	size_t ulen = mq_put_udp(udp, c, q, seq, seq);

	mq_put16(udp + 6, mq_udp_csum(mq_pseudo6(ulen), udp, ulen));
	memset(ip, 0, 8);
	ip[0] = 0x60;
	mq_put16(ip + 4, (uint16_t)ulen);
	ip[6] = 17;
	ip[7] = 64;
	memcpy(ip + 8, mq_ip6_src, 16);
	memcpy(ip + 24, mq_ip6_dst, 16);
	return 14 + 40 + ulen;
}

/* Tagged trailer after the 28-byte ARP body; Ethernet padding would be there anyway. */
static size_t mq_build_arp(const struct mq_frame_cfg *c, unsigned int q, uint32_t seq,
			   uint8_t *buf)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *p = mq_put_eth(buf, bcast, 0x0806);

	mq_put16(p, 1);
	mq_put16(p + 2, 0x0800);
	p[4] = 6;
	p[5] = 4;
	mq_put16(p + 6, 1);
	memcpy(p + 8, mq_smac, 6);
	memcpy(p + 14, mq_ip4_src, 4);
	memset(p + 18, 0, 6);
	memcpy(p + 24, mq_arp_tpa, 4);
	mq_put_tag(p + 28, c, q, seq);
	memset(p + 28 + MQ_TAG_LEN, 0, 2);
	return 14 + 28 + MQ_TAG_LEN + 2;
}

/* Bytes of UDP datagram (header included) carried by the first fragment. */
static size_t mq_frag_split(const struct mq_frame_cfg *c)
{
	return ((8 + c->size) / 2) & ~(size_t)7;
}

/*
 * One datagram is two frames: seq 2d is the first fragment (MF, offset 0),
 * seq 2d+1 the second (offset split/8). Each fragment carries its own tag
 * at the start of its data so either can be matched alone.
 */
static size_t mq_build_frag(const struct mq_frame_cfg *c, unsigned int q, uint32_t seq,
			    uint8_t *buf)
{
	uint8_t dgram[8 + MQ_MAX_PAYLOAD];
	const uint32_t d = seq / 2;
	const size_t split = mq_frag_split(c), ulen = 8 + c->size;
	const uint16_t id = (uint16_t)((q << 12) ^ d);
	uint8_t *p = mq_put_eth(buf, c->dmac, 0x0800);
	size_t off, len;

	mq_put_udp(dgram, c, q, d, 2 * d);
	mq_put_tag(dgram + split, c, q, 2 * d + 1);
	mq_put16(dgram + 6, mq_udp_csum(mq_pseudo4(ulen), dgram, ulen));
	off = seq & 1 ? split : 0;
	len = seq & 1 ? ulen - split : split;
	p = mq_put_ip4(p, 20 + len, id, seq & 1 ? (uint16_t)(split / 8) : 0x2000 /* MF */);
	memcpy(p, dgram + off, len);
	return 14 + 20 + len;
}

size_t mq_build(const struct mq_frame_cfg *c, unsigned int q, uint32_t seq, uint8_t *buf)
{
	switch (c->kind) {
	case MQ_UDP6:
		return mq_build_udp6(c, q, seq, buf);
	case MQ_VLAN:
		return mq_build_udp4(c, q, seq, buf, true);
	case MQ_ARP:
		return mq_build_arp(c, q, seq, buf);
	case MQ_FRAG:
		return mq_build_frag(c, q, seq, buf);
	default:
		return mq_build_udp4(c, q, seq, buf, false);
	}
}

size_t mq_tag_offset(const struct mq_frame_cfg *c, const uint8_t *f, size_t len)
{
	size_t off;

	if (len < 14)
		return 0;
	switch (c->kind) {
	case MQ_UDP6:
		off = 14 + 40 + 8;
		break;
	case MQ_VLAN:
		off = 18 + 20 + 8;
		break;
	case MQ_ARP:
		off = 14 + 28;
		break;
	case MQ_FRAG:
		if (len < 14 + 20)
			return 0;
		/* A non-zero fragment offset means the second fragment: no UDP header. */
		off = mq_get16(f + 20) & 0x1fff ? 14 + 20 : 14 + 20 + 8;
		break;
	default:
		off = 14 + 20 + 8;
		break;
	}
	return off + MQ_TAG_LEN <= len ? off : 0;
}

bool mq_parse_tag(const struct mq_frame_cfg *c, const uint8_t *f, size_t len,
		  unsigned int *q, uint32_t *seq)
{
	const size_t off = mq_tag_offset(c, f, len);

	if (!off || mq_get32(f + off) != MQ_MAGIC || mq_get32(f + off + 4) != c->nonce)
		return false;
	*q = mq_get16(f + off + 8);
	*seq = mq_get32(f + off + 12);
	return true;
}
