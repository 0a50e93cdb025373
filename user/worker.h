/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The server's workers: one thread per CPU, each with its own io_uring, all
 * accepting on its own listening socket of a SO_REUSEPORT group (the
 * kernel spreads connections over them) and on the metrics one. What they
 * share is struct server (server.h).
 *
 * A worker is worker.c (the ring, connections, plain HTTP and the kernel
 * path's ordering) and worker_tls.c (HTTPS connections' steps); what the
 * two share is below the public functions.
 */
#ifndef WORKER_H
#define WORKER_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "conn.h"
#include "http_conn.h"
#include "http_date.h"
#include "metrics.h"
#include "open_files.h"
#include "recv_bufs.h"
#include "server.h"

struct worker;
struct user_metrics;

/* Worker index of srv, with its ring and buffers ready. NULL: logged. */
struct worker *worker_new(struct server *srv, unsigned index);
/* Serves until the stop has drained this worker's connections, or its
 * ring fails (logged). */
void worker_run(struct worker *w);
/* Makes the worker look at srv->stop now, not at its next tick. */
void worker_wake(struct worker *w);
/* Its counters, which /metrics sums over the workers. */
const struct user_metrics *worker_metrics(const struct worker *w);
/* Connections still open when it stopped (cut short). */
uint64_t worker_conns_open(const struct worker *w);
void worker_free(struct worker *w);

/* ---- inside a worker: worker.c and worker_tls.c ---------------------- */

/* What a ring operation was for: the high half of its user_data. */
enum op {
	OP_ACCEPT = 1,
	OP_RECV,
	OP_SEND,
	OP_WAIT_KERNEL,		/* a kernel response is still queued ahead */
	OP_POLL_OUT,		/* room in the socket for more of the file */
	OP_POLL_IN,		/* a kernel-path socket is readable: recv next */
	OP_RECV_RETRY,		/* recv found nothing the kernel path had ready */
	OP_TLS_WAIT,		/* what a TLS step waits for: then again */
	OP_TLS_SENT,		/* a TLS write took c->tls_put bytes */
	OP_TICK,
	OP_INOTIFY,
	OP_WAKE,		/* srv->stop changed */
};

/* Listening sockets: the main ones, one per address, then --metrics-port's,
 * then --tls-port's */
#define LISTENERS	(3 * LISTEN_MAX)

struct worker {
	struct server *srv;
	unsigned index;
	/* copied from srv, which does not change while workers run */
	const struct server_config *cfg;
	struct kernel_path *kp;		/* NULL: the kernel path is off */
	struct cache *cache;
	struct access_log *access_log;
	struct kernel_log *kernel_log;	/* kernel responses' lines */

	int listen_fd[LISTENERS];	/* srv's: its own main ones, -1: none */
	bool listen_metrics[LISTENERS];	/* for /metrics only */
	bool listen_tls[LISTENERS];	/* HTTPS */
	struct io_uring ring;
	bool ring_ready;
	bool ring_disabled;		/* until worker_run() enables it */
	struct recv_bufs recv;
	bool accept_armed[LISTENERS];
	struct conn *conns;		/* open ones, listed */
	struct conn_pool pool;		/* their idle buffers */
	bool limit_logged;
	struct user_metrics metrics;	/* summed over workers by /metrics */
	struct __kernel_timespec tick_ts, wait_ts, retry_ts;
	int wake_fd;
	uint64_t wake_count;
	char *inotify_buf;		/* worker 0 only */
	char date[HTTP_DATE_LEN + 1];
	time_t date_sec;
	struct http_conn_env env;	/* .draining: no new connections */
	struct open_files open_files;	/* small files kept open */
};

static inline uint64_t tag(enum op op, uint32_t id)
{
	return ((uint64_t)op << 32) | id;
}

static inline struct io_uring_sqe *get_sqe(struct worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	if (!sqe) {
		metrics_add(&w->metrics.faults[FAULT_RING_FULL], 1);
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	return sqe;	/* never NULL right after a submit */
}

static inline void conn_submit(struct conn *c, struct io_uring_sqe *sqe, enum op op)
{
	io_uring_sqe_set_data64(sqe, tag(op, c->id));
	c->inflight++;
}

/* worker.c's steps of a connection, which HTTPS ones take too */
/* Closes c (its ring operations complete first). */
void conn_close(struct worker *w, struct conn *c);
/* Answers c's next buffered request, or asks for more bytes. */
void conn_process(struct worker *w, struct conn *c);
/* The next step of c's response: the rest of out, of the file, or done. */
void response_next(struct worker *w, struct conn *c);
/* c's file ended before the length its header promised: counted, logged,
 * and c closed. */
void file_shrank(struct worker *w, struct conn *c);

/* worker_tls.c: an HTTPS connection's steps. Each carries c on, or waits
 * on the ring (OP_TLS_WAIT) for what OpenSSL needs and then goes on from
 * worker_tls_resume(). */
/* Just accepted: the handshake. */
void worker_tls_start(struct worker *w, struct conn *c);
/* Wants request bytes. */
void worker_tls_read(struct worker *w, struct conn *c);
/* out[out_off, out_len) to send: OP_TLS_SENT says how much went. */
void worker_tls_send(struct worker *w, struct conn *c);
/* The rest of the file, without kTLS. */
void worker_tls_send_file(struct worker *w, struct conn *c);
/* OP_TLS_WAIT completed with res. */
void worker_tls_resume(struct worker *w, struct conn *c, int res);

#endif /* WORKER_H */
