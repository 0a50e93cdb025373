/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Layouts of the BPF maps that the kernel path (kern/) and the server (user/)
 * both read and write. Everything here is plain fixed-size data: it is the
 * contract between the two sides, so change it on both at once.
 */
#ifndef FS_MAPS_H
#define FS_MAPS_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/* A cached response is stored as a list of fixed-size chunks. */
#define FS_CHUNK_SIZE		4096
/* Longest request path (before any '?') that the kernel can look up. */
#define FS_KEY_MAX		128
/* 1 MiB of body plus its header block. */
#define FS_ENTRY_MAX_CHUNKS	264
/* Request head bytes the kernel scans; a longer head goes to userspace. */
#define FS_SCAN_MAX		4096
/* Connections the kernel path tracks at once. */
#define FS_MAX_CONNS		65536
/* Responses the cache holds at most (entries of cache_entries). */
#define FS_CACHE_ENTRIES	16384
/* Kernel responses that may be queued on one connection at once. */
#define FS_PENDING_MAX		8
/* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define FS_DATE_LEN		29
/* Longest ETag a cached response may have, quotes included; and room for
 * its 304 header block. */
#define FS_ETAG_MAX		64
#define FS_NM_MAX		512
/* Bytes the access log keeps of a request line, and of a Referer or
 * User-Agent, with the NUL: the same cut for either path's lines. */
#define FS_LOG_LINE_MAX		512
#define FS_LOG_FIELD_MAX	256

/* Codings of precompressed variants a request accepts (Accept-Encoding),
 * as bits; an encoding of a key is such a mask, or FS_ENC_ANY. */
#define FS_ENC_BR		1
#define FS_ENC_ZSTD		2
#define FS_ENC_GZIP		4
#define FS_ENC_MASKS		8	/* the masks: 0 to 7 */
#define FS_ENC_ANY		8	/* a file without variants */
#define FS_ENC_NONE		9	/* a request only userspace can place */

/*
 * file_cache: request path and encoding -> entry. The path is zero-padded.
 * A file without precompressed variants has one key, FS_ENC_ANY: its answer
 * depends on no Accept-Encoding. One with variants has a key per mask of
 * accepted codings, each naming the representation userspace would choose
 * for a list of exactly those (content_coding.c).
 */
struct fs_cache_key {
	char path[FS_KEY_MAX];
	__u32 enc;
};

struct fs_cache_ref {
	__u32 entry;		/* index into cache_entries */
	__u32 gen;		/* must equal the entry's gen when sent */
};

/* cache_entries[entry]: where a response lives and how long it is, and
 * what a revalidation of it is compared with and answered by. */
struct fs_cache_entry {
	__u32 gen;		/* bumped by userspace whenever the slot is reused */
	__u32 resp_len;		/* header block + body */
	__u32 head_len;		/* header block only: the HEAD response */
	__u32 date_off;		/* offset of the Date value in the header block */
	__u32 nchunks;
	__u32 chunk[FS_ENTRY_MAX_CHUNKS];	/* indices into cache_chunks */
	/* If-None-Match matches this ETag (weakly: W/ too), or "*" */
	__u32 etag_len;
	char etag[FS_ETAG_MAX];
	/* If-Modified-Since, without If-None-Match, names exactly this */
	char last_modified[FS_DATE_LEN + 3];
	/* then the answer is this 304 header block */
	__u32 nm_len;
	__u32 nm_date_off;
	char not_modified[FS_NM_MAX];
};

struct fs_chunk {
	__u8 data[FS_CHUNK_SIZE];
};

/* http_clock[0]: the current HTTP date, refreshed by userspace every second. */
struct fs_clock {
	char date[32];
};

/*
 * Request bytes userspace may owe answers for on one connection. Userspace
 * reads no further while it answers, but the stream parser keeps taking
 * requests off TCP, so nothing pushes back on the client; and each request
 * passed holds a clone of its whole skb in the socket's receive memory.
 * Under a pipelined flood that ended in stalled connections: past this
 * the kernel drops the rest of the stream, and userspace closes the
 * connection once it has answered what it was given.
 */
#define FS_USER_OWED_MAX	(64 * 1024)

/*
 * conn_shared[slot]: per-connection counters shared with userspace through
 * mmap, so that handing a connection back and forth costs no syscall.
 * Kernel-written: user_rx, user_sent, kern_queued, kern_sent, overrun.
 * Userspace-written: cookie, user_done, user_send_target.
 *
 * Responses keep request order because
 *  - the kernel answers a request only while user_rx == user_done
 *    (userspace owes no response), checked when the request is framed and
 *    again when its response is built, then also only once user_sent >=
 *    user_send_target (userspace's last response is in the socket);
 *    otherwise the request is handed to userspace;
 *  - userspace sends only while kern_queued == kern_sent (no kernel
 *    response is waiting to go out).
 * Userspace may declare a response done as it submits its last send: the
 * send target makes that safe.
 */
struct fs_conn_shared {
	__u64 cookie;		/* socket cookie of the slot's owner; 0 = free */
	__u64 user_rx;		/* request bytes the kernel passed to userspace */
	__u64 user_done;	/* of those, bytes userspace has answered */
	__u64 user_sent;	/* bytes userspace's own sends put in the socket */
	__u64 user_send_target;	/* user_sent once its last response is out */
	__u32 kern_queued;	/* requests redirected for a kernel response */
	__u32 kern_sent;	/* of those, turned into responses (or handed back) */
	__u32 overrun;		/* past FS_USER_OWED_MAX: the rest is dropped */
	/* Of kern_sent, those fs_respond has finished with: a kernel
	 * response's access log record is in the ring by then. */
	__u32 kern_done;
	__u8 pad[8];
};

/* Where the access log's fields lie in a request, from its first byte
 * (a head is at most FS_SCAN_MAX long). */
struct fs_log_fields {
	__u16 line_len;		/* the request line, without CRLF */
	__u16 referer_off;
	__u16 referer_len;	/* 0: none, or empty */
	__u16 agent_off;	/* User-Agent */
	__u16 agent_len;
	__u16 pad;
};

/* One kernel response waiting in the socket's backlog. */
struct fs_pending {
	__u64 user_before;	/* fs_conn.user_queued when it was queued */
	__u32 entry;
	__u32 gen;
	__u32 head_only;	/* HEAD: send the header block only */
	__u32 req_len;		/* request bytes redirected */
	struct fs_log_fields log;
	__u32 not_modified;	/* a revalidation that matched: the 304 */
};

/* conn_store (socket storage): kernel-private per-connection state. */
struct fs_conn {
	__u32 slot;		/* index into conn_shared */
	__u32 user_only;	/* the kernel could not frame this stream */
	/* What the parser learned about the message just framed. */
	__u32 msg_len;
	__u32 cacheable;
	__u32 head_only;
	__u32 path_off;		/* relative to the skb, not the message */
	__u32 path_len;
	__u32 inm_off;		/* If-None-Match value, as path_off */
	__u32 inm_len;		/* 0: none */
	__u32 ims_off;		/* If-Modified-Since value, as path_off */
	__u32 ims_len;
	__u32 ae_enc;		/* accepted codings, or FS_ENC_NONE */
	__u32 pad0;
	struct fs_log_fields log;	/* relative to the message */
	/* Requests for userspace travel the backlog as a byte stream between
	 * the kernel responses: the verdict counts what it queues, fs_respond
	 * what it has moved to ingress; a queued response knows its place. */
	__u64 user_queued;
	__u64 user_moved;
	/* Bytes still to come of a request that reached fs_respond in
	 * pieces: they go to userspace too. */
	__u32 piece_left;
	__u32 pad;
	struct fs_pending pending[FS_PENDING_MAX];
};

/* stats: per-CPU counters, summed by readers. */
struct fs_stats {
	__u64 kernel_hits;		/* responses built in the kernel */
	__u64 kernel_bytes;		/* response bytes built in the kernel */
	__u64 kernel_head_hits;		/* of kernel_hits, HEAD requests */
	__u64 kernel_not_modified;	/* of kernel_hits, 304s */
	__u64 kernel_head_not_modified;	/* of those, to HEAD requests */
	__u64 kernel_rx_bytes;		/* request bytes of kernel_hits */
	__u64 user_requests;		/* messages passed to userspace */
	__u64 user_bytes;		/* request bytes passed to userspace */
	/* Why a message went to userspace (user_requests, by reason). */
	__u64 pass_not_cacheable;	/* method, version, headers or path */
	__u64 pass_cache_miss;		/* cacheable but not in file_cache */
	__u64 pass_conn_busy;		/* userspace still owes a response */
	__u64 pass_unframed;		/* stream the kernel cannot frame */
	__u64 pass_queue_full;		/* FS_PENDING_MAX responses queued */
	__u64 pass_conditional;		/* a revalidation the kernel cannot
					 * answer with certainty */
	__u64 pass_no_conn;		/* socket without kernel state */
	__u64 fallback_stale;		/* entry replaced before sk_msg ran */
	__u64 fallback_resize;		/* could not size the message */
	__u64 fallback_busy;		/* userspace's response still going out */
	/* A redirected request reached sk_msg in a piece of another size:
	 * counted to find out whether skb_send_sock() ever splits one. */
	__u64 split_requests;
	/* Requests dropped on connections past FS_USER_OWED_MAX, which
	 * userspace then closes. */
	__u64 drop_overrun;
	/* Messages passed straight to the receive queue (SK_PASS) instead of
	 * through the backlog: all of them with pass_direct, else only those
	 * the backlog refused. Not those of pass_no_conn (closing sockets). */
	__u64 user_direct;
	/* Kernel responses whose access log record found the ring full. */
	__u64 log_lost;
};

/*
 * access_ring: one record per kernel response, with --access-log only.
 * Userspace writes the same combined-format line from it that it writes
 * for its own responses (user/kernel_log.c).
 */
struct fs_log_record {
	__u64 time_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 cookie;		/* the connection's socket cookie */
	__u8 addr[16];		/* the peer's: IPv6, or IPv4 in the first 4 */
	__u16 family;		/* AF_INET or AF_INET6 (IPv4-mapped too) */
	__u16 port;		/* the peer's, host order */
	__u16 status;
	__u16 line_len;		/* bytes in line, cut at FS_LOG_LINE_MAX - 1 */
	__u16 referer_len;
	__u16 agent_len;
	__u32 body_bytes;
	char line[FS_LOG_LINE_MAX];
	char referer[FS_LOG_FIELD_MAX];
	char agent[FS_LOG_FIELD_MAX];
};

#endif /* FS_MAPS_H */
