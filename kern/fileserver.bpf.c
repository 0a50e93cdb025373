// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The kernel path, in three programs on one sockhash:
 *
 *  fs_parse   (sk_skb stream parser)   frames one request and classifies it;
 *  fs_verdict (sk_skb stream verdict)  redirects it unchanged to the
 *                                      socket's own egress, marked as a hit
 *                                      or as one for userspace;
 *  fs_respond (sk_msg)                 turns a hit into the cached response
 *                                      as it is sent (and, with the access
 *                                      log on, records it in access_ring),
 *                                      and moves the others to the socket's
 *                                      ingress.
 *
 * The request skb is never resized: on this kernel that breaks TCP receive
 * accounting (docs/design.md, "Why the request skb keeps its length"). All
 * ordering between kernel and userspace responses rests on the counters in
 * struct fs_conn_shared (docs/design.md, "Response order on a connection").
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "fs_maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The server's process: its sends (from its own threads or io_uring's
 * workers) are its responses; redirected requests come from kworkers. */
const volatile __u32 server_tgid;
/* Requests for userspace go with SK_PASS, not through the backlog: for
 * kernels whose reads of sk_msg's ingress count copied_seq (pass_to_user). */
const volatile __u32 pass_direct;
/* --access-log is on: each kernel response is recorded in access_ring. */
const volatile __u32 log_requests;

#define SK_DROP 0
#define SK_PASS 1
#define AF_INET 2
#define AF_INET6 10

static __always_inline struct fs_stats *stats_this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline struct fs_conn *conn_of(__u64 cookie)
{
	return bpf_map_lookup_elem(&conn_store, &cookie);
}

/* The shared counters of this connection, if the slot is still its own. */
static __always_inline struct fs_conn_shared *
shared_of(const struct fs_conn *conn, __u64 cookie)
{
	struct fs_conn_shared *sh;
	__u32 slot = conn->slot;

	sh = bpf_map_lookup_elem(&conn_shared, &slot);
	if (!sh || sh->cookie != cookie)
		return NULL;
	return sh;
}

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* An int of strparser's struct strp_msg, kept in skb->cb: off is its field
 * offset (bpf_core_field_offset). */
static __always_inline int strp_msg_field(struct __sk_buff *skb, __u32 off,
					  int *val)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);

	return bpf_probe_read_kernel(val, sizeof(*val), (void *)kskb->cb +
				     bpf_core_field_offset(struct sk_skb_cb,
							   strp) + off);
}

/*
 * strparser hands the parser the skb the message starts in, from that skb's
 * first byte: with pipelined requests, earlier messages' bytes come first.
 * Where ours starts is strparser's own strp_msg.offset, kept in skb->cb:
 * reading it needs no state carried from one call to the next.
 */
static __always_inline int msg_start(struct __sk_buff *skb, __u32 *start)
{
	int off;

	if (strp_msg_field(skb, bpf_core_field_offset(struct strp_msg, offset),
			   &off))
		return -1;
	*start = off;
	return 0;
}

/* In the verdict: the length strparser framed, strp_msg.full_len (skb->len
 * also counts the bytes of the skb around the message). For sockets without
 * kernel state, whose conn->msg_len the parser did not set. */
static __always_inline __u32 framed_len(struct __sk_buff *skb)
{
	__u32 len = skb->len;
	int full;

	if (!strp_msg_field(skb,
			    bpf_core_field_offset(struct strp_msg, full_len),
			    &full))
		len = full;
	return len;
}

/* Counts a message handed to userspace: in user_requests, in its reason's
 * counter, and its len request bytes in user_bytes. */
static __always_inline void count_user(struct fs_stats *st, __u64 *reason,
				       __u32 len)
{
	(*reason)++;
	st->user_requests++;
	st->user_bytes += len;
}

/* A scratch slot of this CPU's that no interrupted run is using; give it
 * back with scratch_put(). */
static __always_inline struct fs_scratch *scratch_get(__u32 **depth)
{
	__u32 zero = 0, level;

	*depth = bpf_map_lookup_elem(&scratch_depth, &zero);
	if (!*depth)
		return NULL;
	level = __sync_fetch_and_add(*depth, 1);
	if (level < FS_SCRATCH_NEST)
		return bpf_map_lookup_elem(&scratch, &level);
	__sync_fetch_and_add(*depth, -1);
	return NULL;
}

static __always_inline void scratch_put(__u32 *depth)
{
	__sync_fetch_and_add(depth, -1);
}

/*
 * n, known to be in [1, max] with max a power of two, in a form the verifier
 * sees is never zero: before 6.18 it does not carry "n > 0" through the
 * compiler's (n - 1) < max rewrite of the range check, and refuses
 * bpf_skb_load_bytes() a length that might be zero.
 */
#define NONZERO_LEN(n, max)	((((n) - 1) & ((max) - 1)) + 1)

/* Classifies the head that starts at start. Returns 0, or -1 if it could
 * not be read. */
static __always_inline int classify_head(struct __sk_buff *skb, __u32 start,
					 __u32 avail, struct http_class *cls)
{
	struct fs_scratch *scr;
	__u32 *depth, n;
	int err = -1;

	scr = scratch_get(&depth);
	if (!scr)
		return -1;
	n = avail < FS_SCAN_MAX ? avail : FS_SCAN_MAX;
	if (n > 0 && !bpf_skb_load_bytes(skb, start, scr->head,
					 NONZERO_LEN(n, FS_SCAN_MAX))) {
		http_classify(&scr->scan, scr->head, n);
		*cls = scr->scan.out;
		err = 0;
	}
	scratch_put(depth);
	return err;
}

SEC("sk_skb/stream_parser")
int fs_parse(struct __sk_buff *skb)
{
	__u32 len = skb->len, start = 0, avail, msg_len;
	struct fs_conn *conn = conn_of(bpf_get_socket_cookie(skb));
	struct http_class cls = {};

	if (!conn)
		return len;
	if (msg_start(skb, &start) || start >= len) {
		start = 0;
		conn->user_only = 1;	/* cannot tell: stop framing */
	}
	avail = len - start;

	if (!conn->user_only && classify_head(skb, start, avail, &cls))
		conn->user_only = 1;
	if (conn->user_only) {
		msg_len = avail;
		cls = (struct http_class){};
	} else if (cls.frame == HTTP_FRAME_MORE) {
		return 0;
	} else if (cls.frame == HTTP_FRAME_UNSAFE) {
		conn->user_only = 1;
		msg_len = avail;
	} else {
		msg_len = cls.head_len;
	}
	conn->msg_len = msg_len;
	conn->cacheable = cls.cacheable;
	conn->head_only = cls.head_only;
	conn->path_off = start + cls.path_off;
	conn->path_len = cls.path_len;
	conn->inm_off = start + cls.inm_off;
	conn->inm_len = cls.inm_len;
	conn->ims_off = start + cls.ims_off;
	conn->ims_len = cls.ims_len;
	conn->ae_enc = cls.ae_complex ? FS_ENC_NONE : cls.ae_mask;
	conn->log.line_len = cls.line_len;
	conn->log.referer_off = cls.referer_off;
	conn->log.referer_len = cls.referer_len;
	conn->log.agent_off = cls.agent_off;
	conn->log.agent_len = cls.agent_len;
	return msg_len;
}

/* Look the request up in file_cache: its path, for a file without
 * variants; else its path and accepted codings, for the representation
 * userspace would choose (none if only userspace can read what it accepts). */
static __always_inline struct fs_cache_ref *
cache_lookup(struct __sk_buff *skb, const struct fs_conn *conn)
{
	__u32 plen = conn->path_len, *depth;
	struct fs_cache_ref *ref = NULL;
	struct fs_scratch *scr;

	if (plen == 0 || plen >= FS_KEY_MAX)
		return NULL;
	scr = scratch_get(&depth);
	if (!scr)
		return NULL;
	__builtin_memset(&scr->key, 0, sizeof(scr->key));
	if (!bpf_skb_load_bytes(skb, conn->path_off, scr->key.path,
				NONZERO_LEN(plen, FS_KEY_MAX))) {
		scr->key.enc = FS_ENC_ANY;
		ref = bpf_map_lookup_elem(&file_cache, &scr->key);
		if (!ref && conn->ae_enc < FS_ENC_MASKS) {
			scr->key.enc = conn->ae_enc;
			ref = bpf_map_lookup_elem(&file_cache, &scr->key);
		}
	}
	scratch_put(depth);
	return ref;
}

/* The len bytes of the request at off equal s[0, len); len is at most
 * FS_ETAG_MAX. */
static __always_inline bool skb_equals(struct __sk_buff *skb, __u32 off,
				       __u32 len, const char *s)
{
	struct fs_scratch *scr;
	bool same = false;
	__u32 *depth, i;

	if (len == 0 || len > FS_ETAG_MAX)
		return false;
	scr = scratch_get(&depth);
	if (!scr)
		return false;
	if (!bpf_skb_load_bytes(skb, off, scr->cond,
				NONZERO_LEN(len, FS_ETAG_MAX))) {
		same = true;
		for (i = 0; i < FS_ETAG_MAX && i < len; i++)
			if (scr->cond[i] != (__u8)s[i])
				same = false;
	}
	scratch_put(depth);
	return same;
}

/*
 * A revalidation (the classifier lets only If-None-Match and
 * If-Modified-Since through, once each): 1 if the cached entry's 304
 * answers it, as userspace's would; 0 if it is no revalidation, so the 200;
 * -1 if the kernel cannot tell with certainty (a list, another ETag, a date
 * other than the Last-Modified), for userspace. If-None-Match wins over
 * If-Modified-Since (RFC 9110 13.2.2).
 */
static __always_inline int revalidation(struct __sk_buff *skb,
					const struct fs_conn *conn,
					const struct fs_cache_ref *ref)
{
	__u32 id = ref->entry, n = conn->inm_len, elen;
	struct fs_cache_entry *e;
	char star = '*';

	if (!n && !conn->ims_len)
		return 0;
	e = bpf_map_lookup_elem(&cache_entries, &id);
	if (!e || e->gen != ref->gen || !e->nm_len)
		return -1;
	elen = e->etag_len;
	if (!n)
		return conn->ims_len == FS_DATE_LEN &&
		       skb_equals(skb, conn->ims_off, FS_DATE_LEN,
				  e->last_modified) ? 1 : -1;
	if (n == 1)
		return skb_equals(skb, conn->inm_off, 1, &star) ? 1 : -1;
	/* W/"x" matches "x": weak comparison */
	if (n == elen + 2 && skb_equals(skb, conn->inm_off, 2, "W/"))
		return skb_equals(skb, conn->inm_off + 2, elen, e->etag) ?
		       1 : -1;
	return n == elen && skb_equals(skb, conn->inm_off, elen, e->etag) ?
	       1 : -1;
}

/*
 * Hands the framed message to userspace. Not with SK_PASS, which would put
 * it on the receive queue now, while TCP counts it unread until userspace
 * reads it: on 6.12 and 6.18 a later stream-parser run that finds nothing new
 * (strparser's worker, queued while the socket was busy) counts it read
 * there and then, userspace's read counts it again, and the connection's
 * next request, if no longer than it, never wakes the parser. Redirected,
 * it is counted read at once, like a hit, and reaches userspace through
 * the backlog, in line with the kernel responses queued before it:
 * fs_respond moves it to the socket's ingress.
 */
static __always_inline int pass_to_user(struct __sk_buff *skb,
					struct fs_conn *conn,
					struct fs_conn_shared *sh, __u64 cookie,
					struct fs_stats *st, __u64 *reason)
{
	__u32 len = conn->msg_len;

	__sync_fetch_and_add(&sh->user_rx, len);
	count_user(st, reason, len);
	if (pass_direct) {
		/* only hits are ever queued: userspace waits for them */
		st->user_direct++;
		return SK_PASS;
	}
	/* No bpf_skb_pull_data() as for a hit: sent in pieces, it still
	 * reaches userspace whole, and pulling a request out of a large skb
	 * of pipelined ones copies all of it, once per request. */
	if (bpf_sk_redirect_hash(skb, &sock_hash, &cookie, 0) == SK_PASS) {
		conn->user_queued += len;
		return SK_PASS;
	}
	if (sh->kern_queued != sh->kern_sent ||
	    conn->user_queued != conn->user_moved) {
		/* it would overtake the queue: end the stream here */
		sh->overrun = 1;
		st->drop_overrun++;
		return SK_DROP;
	}
	st->user_direct++;
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int fs_verdict(struct __sk_buff *skb)
{
	struct fs_stats *st = stats_this_cpu();
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct fs_conn *conn = conn_of(cookie);
	struct fs_conn_shared *sh;
	struct fs_cache_ref *ref;
	struct fs_pending *p;
	__u32 idx;
	int nm;

	if (!st)
		return SK_PASS;
	sh = conn ? shared_of(conn, cookie) : NULL;
	if (!sh) {
		/* Userspace drops a socket's state just before it shuts the
		 * socket down, so this is a closing connection, whose bytes
		 * nobody reads: not counted in user_direct, which is about
		 * requests userspace still answers. */
		count_user(st, &st->pass_no_conn, framed_len(skb));
		return SK_PASS;
	}
	if (!conn->user_only &&
	    (sh->overrun || sh->user_rx - sh->user_done > FS_USER_OWED_MAX)) {
		sh->overrun = 1;
		st->drop_overrun++;
		return SK_DROP;
	}
	if (conn->user_only)
		return pass_to_user(skb, conn, sh, cookie, st,
				    &st->pass_unframed);
	if (!conn->cacheable)
		return pass_to_user(skb, conn, sh, cookie, st,
				    &st->pass_not_cacheable);
	if (sh->user_rx != sh->user_done)
		return pass_to_user(skb, conn, sh, cookie, st,
				    &st->pass_conn_busy);
	if (sh->kern_queued - sh->kern_sent >= FS_PENDING_MAX)
		return pass_to_user(skb, conn, sh, cookie, st,
				    &st->pass_queue_full);
	ref = cache_lookup(skb, conn);
	if (!ref)
		return pass_to_user(skb, conn, sh, cookie, st,
				    &st->pass_cache_miss);
	nm = revalidation(skb, conn, ref);
	if (nm < 0)
		return pass_to_user(skb, conn, sh, cookie, st,
				    &st->pass_conditional);
	idx = sh->kern_queued & (FS_PENDING_MAX - 1);
	p = &conn->pending[idx];
	p->entry = ref->entry;
	p->gen = ref->gen;
	p->head_only = conn->head_only;
	p->not_modified = nm;
	p->req_len = conn->msg_len;
	p->user_before = conn->user_queued;
	p->log = conn->log;
	/* A paged skb would be sent as several sendmsg calls, and the sk_msg
	 * program would see pieces of the request instead of all of it. */
	if (bpf_skb_pull_data(skb, skb->len))
		return pass_to_user(skb, conn, sh, cookie, st,
				    &st->fallback_resize);
	if (bpf_sk_redirect_hash(skb, &sock_hash, &cookie, 0) != SK_PASS)
		return pass_to_user(skb, conn, sh, cookie, st,
				    &st->pass_no_conn);
	__sync_fetch_and_add(&sh->kern_queued, 1);
	return SK_PASS;
}

/* Bytes copied per bounds check: divides FS_CHUNK_SIZE. */
#define FS_COPY_BLOCK	64

/* State for copying one response into the message, chunk by chunk. */
struct copy_ctx {
	struct sk_msg_md *msg;
	struct fs_cache_entry *entry;
	struct fs_clock *clock;
	__u32 len;			/* of the response */
	__u32 not_modified;		/* the entry's 304, not its chunks */
	int err;
};

/* The cached header block has a placeholder Date: stamp the current one. */
static __always_inline int stamp_date(struct sk_msg_md *msg, __u32 date_off,
				      const struct fs_clock *clock)
{
	void *data = (void *)(long)msg->data;
	void *data_end = (void *)(long)msg->data_end;
	__u32 i;

	if (date_off > FS_CHUNK_SIZE - FS_DATE_LEN)
		return -1;
	if (data + date_off + FS_DATE_LEN > data_end)
		return -1;
	for (i = 0; i < FS_DATE_LEN; i++)
		*(char *)(data + date_off + i) = clock->date[i];
	return 0;
}

/* Copies chunk i, or of the last chunk what the response uses of it: the
 * message was grown to whole chunks, and the padding after the response is
 * cut off once all are copied. */
static long copy_step(__u64 i, void *arg)
{
	struct copy_ctx *c = arg;
	struct fs_cache_entry *e = c->entry;
	__u32 off = i * FS_CHUNK_SIZE, id, used;
	struct fs_chunk *chunk;
	void *data, *data_end;

	if (i >= FS_ENTRY_MAX_CHUNKS || off >= c->len)
		goto fail;
	used = c->len - off;
	id = e->chunk[i];
	chunk = bpf_map_lookup_elem(&cache_chunks, &id);
	if (!chunk)
		goto fail;
	/* the pushed area is one allocation: this only moves the window */
	if (bpf_msg_pull_data(c->msg, off, off + FS_CHUNK_SIZE, 0))
		goto fail;
	data = (void *)(long)c->msg->data;
	data_end = (void *)(long)c->msg->data_end;
	/* Helpers may not write packet memory: 8-byte stores, a block of them
	 * per bounds check. The last block may run past the response into the
	 * padding, never past the chunk. */
	for (off = 0; off < FS_CHUNK_SIZE && off < used; off += FS_COPY_BLOCK) {
		__u64 *dst = data + off;
		const __u64 *src = (const __u64 *)&chunk->data[off];
		int k;

		if ((void *)(dst + FS_COPY_BLOCK / 8) > data_end)
			goto fail;
#pragma unroll
		for (k = 0; k < FS_COPY_BLOCK / 8; k++)
			dst[k] = src[k];
	}
	if (i == 0 && stamp_date(c->msg, e->date_off, c->clock))
		goto fail;
	return 0;
fail:
	c->err = 1;
	return 1;
}

/* The entry's 304 header block, into the one chunk grow_msg() made. */
static __always_inline void copy_not_modified(struct copy_ctx *c)
{
	struct fs_cache_entry *e = c->entry;
	void *data, *data_end;
	__u32 off;

	if (c->len > FS_NM_MAX ||
	    bpf_msg_pull_data(c->msg, 0, FS_CHUNK_SIZE, 0)) {
		c->err = 1;
		return;
	}
	data = (void *)(long)c->msg->data;
	data_end = (void *)(long)c->msg->data_end;
	for (off = 0; off < FS_NM_MAX && off < c->len; off += FS_COPY_BLOCK) {
		__u64 *dst = data + off;
		const __u64 *src = (const __u64 *)&e->not_modified[off];
		int k;

		if ((void *)(dst + FS_COPY_BLOCK / 8) > data_end) {
			c->err = 1;
			return;
		}
#pragma unroll
		for (k = 0; k < FS_COPY_BLOCK / 8; k++)
			dst[k] = src[k];
	}
	if (stamp_date(c->msg, e->nm_date_off, c->clock))
		c->err = 1;
}

/* Room in the send buffer: the push of a kernel response cannot wait for
 * more, so a response that does not fit now is left to userspace. */
static __always_inline int fits_sndbuf(const struct tcp_sock *tp, __u32 len)
{
	int room = tp->inet_conn.icsk_inet.sk.sk_sndbuf -
		   tp->inet_conn.icsk_inet.sk.sk_wmem_queued;

	return room > 0 && len <= (__u32)room;
}

/* sk_msg programs may not call bpf_get_socket_cookie(); the cookie exists
 * since userspace asked for SO_COOKIE, so read it directly. */
static __always_inline __u64 sock_cookie(const struct tcp_sock *tp)
{
	return tp->inet_conn.icsk_inet.sk.__sk_common.skc_cookie.counter;
}

static __always_inline int to_ingress(struct sk_msg_md *msg, __u64 cookie)
{
	return bpf_msg_redirect_hash(msg, &sock_hash, &cookie, BPF_F_INGRESS);
}

/*
 * Where a redirected message stands in the backlog: the request of the next
 * queued kernel response, returned; or request bytes for userspace (NULL),
 * counted so by the verdict, which are accounted as moved here: the rest of
 * a request that came in pieces, or a part of the stream of requests queued
 * for userspace between the kernel responses.
 */
static __always_inline struct fs_pending *
pending_of(struct fs_conn *conn, const struct fs_conn_shared *sh, __u32 size)
{
	__u32 seq = sh->kern_sent;
	struct fs_pending *p = &conn->pending[seq & (FS_PENDING_MAX - 1)];

	if (conn->piece_left) {
		/* the rest of one that came in pieces, handed back by
		 * take_hit() */
		conn->piece_left -= size < conn->piece_left ? size :
							       conn->piece_left;
		return NULL;
	}
	if (seq == sh->kern_queued ||
	    (__s64)(p->user_before - conn->user_moved) > 0) {
		conn->user_moved += size;
		return NULL;
	}
	return p;
}

/*
 * Takes the queued response p off the queue and finds what it is built
 * from: the cache entry, still of the generation the verdict saw, its
 * length, and the clock. Returns NULL, or the reason userspace must answer
 * the request instead; *size is then the request's length.
 */
static __always_inline __u64 *take_hit(struct fs_pending *p,
				       struct fs_conn *conn,
				       struct fs_conn_shared *sh,
				       struct fs_stats *st, __u32 *size,
				       __u32 *head_only,
				       struct fs_log_fields *fields,
				       struct copy_ctx *c)
{
	/* read first: the slot may be reused once kern_sent has moved on */
	__u32 entry = p->entry, gen = p->gen, req_len = p->req_len, zero = 0;
	struct fs_cache_entry *e;

	*head_only = p->head_only;
	*fields = p->log;
	c->not_modified = p->not_modified;
	__sync_fetch_and_add(&sh->kern_sent, 1);
	if (*size != req_len) {
		/* skb_send_sock() sent it in pieces (the send buffer ran
		 * short): userspace gets this one and the rest */
		st->split_requests++;
		conn->piece_left = *size < req_len ? req_len - *size : 0;
		*size = req_len;
		return &st->fallback_resize;
	}
	if (sh->user_rx != sh->user_done ||
	    sh->user_sent < sh->user_send_target) {
		/* Userspace owes an earlier answer (an earlier request of
		 * this pipeline may have been handed back here after the
		 * verdict saw the connection idle), or its last response is
		 * not all in the socket yet: ours would overtake it. */
		return &st->fallback_busy;
	}
	e = bpf_map_lookup_elem(&cache_entries, &entry);
	if (!e || e->gen != gen)
		return &st->fallback_stale;
	c->entry = e;
	c->len = c->not_modified ? e->nm_len :
		 *head_only ? e->head_len : e->resp_len;
	c->clock = bpf_map_lookup_elem(&http_clock, &zero);
	if (!c->clock)
		return &st->fallback_resize;
	return NULL;
}

/*
 * Makes room for a response of len bytes in front of the request, in one
 * allocation of whole chunks, so that every chunk is copied with a single
 * helper call. Returns 0 with their number in *nchunks, or -1 if the message
 * cannot take it now; the request is then still intact.
 */
static __always_inline int grow_msg(struct sk_msg_md *msg,
				    const struct tcp_sock *tp, __u32 len,
				    __u32 *nchunks)
{
	if (len == 0 || len > FS_ENTRY_MAX_CHUNKS * FS_CHUNK_SIZE ||
	    !fits_sndbuf(tp, len))
		return -1;
	*nchunks = (len + FS_CHUNK_SIZE - 1) / FS_CHUNK_SIZE;
	return bpf_msg_push_data(msg, 0, *nchunks * FS_CHUNK_SIZE, 0) ? -1 : 0;
}

/*
 * Copies the response (c->len bytes, the Date stamped) into the nchunks
 * chunks grow_msg() made room for, then cuts off the padding after it and
 * the request's req_len bytes. Returns 0, or -1 if it failed part way: the
 * request is gone by then, so the message can only be dropped.
 */
static __always_inline int fill_msg(struct copy_ctx *c, __u32 nchunks,
				    __u32 req_len)
{
	if (c->not_modified)
		copy_not_modified(c);
	else
		bpf_loop(nchunks, copy_step, c, 0);
	if (c->err ||
	    bpf_msg_pop_data(c->msg, c->len,
			     nchunks * FS_CHUNK_SIZE - c->len + req_len, 0))
		return -1;
	return 0;
}

/* The request is still intact: deliver it to userspace instead. */
static __always_inline int hand_back(struct sk_msg_md *msg, __u64 cookie,
				     struct fs_conn_shared *sh,
				     struct fs_stats *st, __u64 *reason,
				     __u32 size)
{
	__sync_fetch_and_add(&sh->user_rx, size);
	count_user(st, reason, size);
	return to_ingress(msg, cookie);
}

/*
 * Copies len bytes at off of the request in msg (size bytes, in one piece)
 * to dst, of cap bytes (a power of two), cut at cap - 1 as userspace cuts
 * its copies. Returns the bytes copied. The bytes are read with
 * bpf_probe_read_kernel(): a copy loop over packet memory of this length
 * is more than the verifier takes.
 */
static __always_inline __u16 log_copy(char *dst, __u32 cap,
				      struct sk_msg_md *msg, __u32 off,
				      __u32 len, __u32 size)
{
	void *data = (void *)(long)msg->data;
	void *data_end = (void *)(long)msg->data_end;

	if (off > size || len > size - off)
		return 0;
	if (len > cap - 1)
		len = cap - 1;
	len &= cap - 1;
	off &= FS_SCAN_MAX - 1;
	if (data + off + len > data_end ||
	    bpf_probe_read_kernel(dst, len, data + off))
		return 0;
	return len;
}

/*
 * The access log record of a kernel response, begun before the response
 * replaces the request in msg (size bytes, its log fields at f): request
 * line, Referer and User-Agent cut as userspace cuts them. NULL if the log
 * is off, or (counted in log_lost) if the ring is full.
 */
static __always_inline struct fs_log_record *
log_begin(struct sk_msg_md *msg, const struct tcp_sock *tp, __u64 cookie,
	  const struct fs_log_fields *f, __u32 size, struct fs_stats *st)
{
	const struct sock_common *skc = &tp->inet_conn.icsk_inet.sk.__sk_common;
	struct fs_log_record *r;

	if (!log_requests)
		return NULL;
	r = bpf_ringbuf_reserve(&access_ring, sizeof(*r), 0);
	if (!r) {
		st->log_lost++;
		return NULL;
	}
	/* the request in one piece, for the copies from it */
	if ((void *)(long)msg->data + size > (void *)(long)msg->data_end &&
	    bpf_msg_pull_data(msg, 0, size, 0)) {
		bpf_ringbuf_discard(r, 0);
		st->log_lost++;
		return NULL;
	}
	r->time_ns = bpf_ktime_get_ns();
	r->cookie = cookie;
	r->family = skc->skc_family;
	r->port = bpf_ntohs(skc->skc_dport);
	if (r->family == AF_INET6) {
		__builtin_memcpy(r->addr, &skc->skc_v6_daddr, sizeof(r->addr));
	} else {
		__builtin_memset(r->addr, 0, sizeof(r->addr));
		__builtin_memcpy(r->addr, &skc->skc_daddr, 4);
	}
	r->line_len = log_copy(r->line, FS_LOG_LINE_MAX, msg, 0, f->line_len,
			       size);
	r->referer_len = log_copy(r->referer, FS_LOG_FIELD_MAX, msg,
				  f->referer_off, f->referer_len, size);
	r->agent_len = log_copy(r->agent, FS_LOG_FIELD_MAX, msg, f->agent_off,
				f->agent_len, size);
	return r;
}
/* The response went out: the record goes to userspace. The drain reads
 * the ring on a timer; it is woken early only once the ring is a quarter
 * full, so that lines are written in batches. */
static __always_inline void log_end(struct fs_log_record *r, __u16 status,
				    __u32 body)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (!r)
		return;
	r->status = status;
	r->body_bytes = body;
	if (bpf_ringbuf_query(&access_ring, BPF_RB_AVAIL_DATA) >
	    bpf_ringbuf_query(&access_ring, BPF_RB_RING_SIZE) / 4)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(r, flags);
}

static __always_inline void log_cancel(struct fs_log_record *r)
{
	if (r)
		bpf_ringbuf_discard(r, 0);
}

/* Answers the request at the head of the queue, p, from the cache, or
 * hands it back to userspace. */
static __always_inline int answer(struct sk_msg_md *msg,
				  const struct tcp_sock *tp, __u64 cookie,
				  struct fs_pending *p, struct fs_conn *conn,
				  struct fs_conn_shared *sh,
				  struct fs_stats *st, __u32 size)
{
	struct copy_ctx c = { .msg = msg };
	struct fs_log_record *rec;
	struct fs_log_fields fields;
	__u32 head_only, nchunks;
	__u64 *reason;

	reason = take_hit(p, conn, sh, st, &size, &head_only, &fields, &c);
	if (reason)
		return hand_back(msg, cookie, sh, st, reason, size);
	rec = log_begin(msg, tp, cookie, &fields, size, st);
	if (grow_msg(msg, tp, c.len, &nchunks)) {
		log_cancel(rec);
		return hand_back(msg, cookie, sh, st, &st->fallback_resize,
				 size);
	}
	if (fill_msg(&c, nchunks, size)) {
		log_cancel(rec);
		return SK_DROP;
	}
	log_end(rec, c.not_modified ? 304 : 200,
		head_only || c.not_modified ? 0 : c.len - c.entry->head_len);
	st->kernel_hits++;
	st->kernel_bytes += c.len;
	st->kernel_head_hits += head_only;
	st->kernel_not_modified += c.not_modified;
	st->kernel_head_not_modified += c.not_modified & head_only;
	st->kernel_rx_bytes += size;
	return SK_PASS;
}

SEC("sk_msg")
int fs_respond(struct sk_msg_md *msg)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(msg->sk);
	__u32 size = msg->size;
	struct fs_conn_shared *sh;
	struct fs_pending *p;
	struct fs_conn *conn;
	struct fs_stats *st;
	__u64 cookie;
	int verdict;

	if (!tp)
		return SK_PASS;
	cookie = sock_cookie(tp);
	conn = conn_of(cookie);
	sh = conn ? shared_of(conn, cookie) : NULL;
	if ((bpf_get_current_pid_tgid() >> 32) == server_tgid) {
		if (sh)
			__sync_fetch_and_add(&sh->user_sent, size);
		return SK_PASS;
	}
	/* Any other send is a request the verdict redirected: none may reach
	 * the client as it is, not even once userspace has forgotten the
	 * connection to close it. */
	st = stats_this_cpu();
	if (!sh || !st)
		return SK_DROP;
	p = pending_of(conn, sh, size);
	if (!p)
		return to_ingress(msg, cookie);
	verdict = answer(msg, tp, cookie, p, conn, sh, st, size);
	/* after the log record: userspace waits for this before it logs
	 * the connection's next response (kernel_path_may_send()) */
	__sync_fetch_and_add(&sh->kern_done, 1);
	return verdict;
}
