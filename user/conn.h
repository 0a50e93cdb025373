/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A client connection as a worker holds it, and the table of connection
 * slots all workers take them from. A slot's index is also the connection's
 * entry in the kernel path's conn_shared map, so the table is as large as
 * --max-connections and shared: the limit counts every worker together.
 */
#ifndef CONN_H
#define CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http_chunked.h"
#include "http_request.h"
#include "metrics.h"

/* One receive buffer of the worker's provided-buffer ring */
#define CONN_RECV_BUF		8192
/* Received bytes a connection holds: a whole head, and one buffer more */
#define CONN_IN_CAP		(HTTP_MAX_HEAD + CONN_RECV_BUF)
/* Bodies up to this size go out in the same send as their header; larger
 * ones go by sendfile() and are never copied into userspace. */
#define CONN_SMALL_BODY		16384
#define CONN_OUT_CAP		(2048 + CONN_SMALL_BODY)
/* Free buffer blocks a worker keeps for its next connections */
#define CONN_POOL_KEEP		256

struct access_entry;
struct ssl_st;

struct conn {
	bool closing;
	bool in_kernel;		/* in sock_hash: mind the shared counters */
	bool to_kernel;		/* to join it when its requests allow */
	bool busy;		/* a response is being sent */
	bool close_after;
	bool done_published;	/* the kernel path knows this one is answered */
	bool metrics_only;	/* accepted on the metrics port */
	/* HTTPS: TLS over the socket, its handshake done or not; plain
	 * HTTP that came to the HTTPS port instead (answered 400) */
	struct ssl_st *tls;
	bool tls_checked;	/* its first byte was a TLS record's */
	bool tls_ready;
	bool plain_on_tls;
	size_t tls_put;		/* bytes the last TLS write took */
	enum metrics_method method;	/* of the request being answered */
	int status;
	size_t head_bytes;	/* of the response being sent */
	uint64_t resp_bytes;	/* sent of it so far */
	int fd;
	uint32_t id;		/* also the conn_shared slot */
	unsigned inflight;	/* ring operations not yet completed */
	uint64_t cookie;

	/* in and out are one block, held only while c has a request: an
	 * idle connection gives it back to its worker's conn_pool */
	char *in;		/* received, not yet answered request bytes */
	size_t in_len;
	uint64_t discard;	/* body bytes of an answered request to skip */
	bool chunked;		/* a chunked body is being read, in chunks */
	struct http_chunked chunks;

	char *out;		/* header block, and a small body */
	size_t out_len, out_off;
	int file_fd;		/* larger body, sent by sendfile() */
	uint64_t file_left;
	loff_t file_off;

	uint64_t req_bytes;	/* of the request being answered */

	uint64_t last_active;	/* seconds, monotonic */
	uint64_t head_start;	/* first byte of an incomplete head, or 0 */
	uint32_t kernel_activity;
	uint32_t kern_logged;	/* kern_done when the log last caught up */
	struct access_entry *log;	/* with --access-log */
	struct conn *prev, *next;	/* the worker's open connections */
};

struct conn_table {
	struct conn *slots;		/* size of them, by id */
	uint32_t size;
	pthread_mutex_t lock;		/* for the free stack */
	uint32_t *free_ids;
	uint32_t nfree;
};

/* A table of size slots, all free. Returns 0, or -1 logged. */
int conn_table_init(struct conn_table *t, uint32_t size);
void conn_table_free(struct conn_table *t);

/* A free slot, lowest id first on a fresh table; NULL if all are taken. */
struct conn *conn_table_take(struct conn_table *t);
/* Gives c's slot back. */
void conn_table_put(struct conn_table *t, struct conn *c);

/*
 * A worker's free buffer blocks (a connection's in and out). Connections
 * take one when bytes arrive and give it back when they are idle again:
 * a new connection reuses memory already faulted in instead of growing the
 * heap and trimming it at close (a new connection per request spent an
 * eighth of the server's time in malloc, page faults and madvise), and
 * 10,000 idle connections hold no buffers.
 */
struct conn_pool {
	char *free[CONN_POOL_KEEP];
	unsigned count;
};

/* Gives c a buffer block unless it has one. Returns false when out of
 * memory. */
bool conn_bufs_take(struct conn_pool *pool, struct conn *c);
/* c is idle: its block, if any, goes back to the pool (or is freed when
 * the pool is full). */
void conn_bufs_give(struct conn_pool *pool, struct conn *c);
/* Frees every block of the pool. */
void conn_pool_free(struct conn_pool *pool);

/* c's access-log entry, with the peer's address. Returns false when out
 * of memory. */
bool conn_alloc_log(struct conn *c);
/* Closes c's sockets and files and gives its memory back; the slot stays
 * taken. */
void conn_release(struct conn_pool *pool, struct conn *c);

/* Whether c has waited too long, at now (seconds, monotonic): for send
 * progress while it answers, for the rest of a head it has begun, or for
 * a next request while idle. */
static inline bool conn_expired(const struct conn *c, uint64_t now,
				unsigned send_timeout, unsigned header_timeout,
				unsigned idle_timeout)
{
	if (c->busy)
		return now - c->last_active > send_timeout;
	if (c->head_start)
		return now - c->head_start > header_timeout;
	return now - c->last_active > idle_timeout;
}

/* The slot of id, taken or not. */
static inline struct conn *conn_table_at(struct conn_table *t, uint32_t id)
{
	return &t->slots[id];
}

#endif /* CONN_H */
