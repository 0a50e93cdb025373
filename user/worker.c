// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A worker's io_uring drives its share of everything: a multishot accept on
 * each shared listener, one recv (from a provided-buffer ring) or one send or
 * poll in flight per connection, a one-second tick for timeouts and the HTTP
 * clock, and a read on its wake-up eventfd. Worker 0 also reads the cache's
 * inotify fd and keeps the kernel's clock.
 *
 * What to answer is http_conn.c's business; this file moves the bytes, and
 * keeps userspace's responses in order with the kernel's on the same
 * connection (kernel_path.h's counters). Requests the kernel answers never
 * show up here. HTTPS connections move their bytes through worker_tls.c
 * instead, at the three places that differ: receiving, sending a buffer,
 * and sending a file without kTLS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "cache.h"
#include "clock.h"
#include "conn.h"
#include "http_date.h"
#include "http_conn.h"
#include "kernel_log.h"
#include "kernel_path.h"
#include "log.h"
#include "metrics.h"
#include "recv_bufs.h"
#include "tls.h"
#include "worker.h"

#define RING_ENTRIES	1024
/* At most this much of a file per sendfile(), then round the ring again
 * (a POLLOUT), so that all downloads move together. Measured over veth
 * (docs/design.md, "Large files"): against 256 KiB, 32 KiB gave 1 MiB
 * files 1.1-1.4x the req/s with 16 to 1024 connections (p99 at 1024 under
 * half, hardly a request over 2 s left), and a 64 KiB file with one
 * connection 3x: a single sendfile() that fills the socket's buffer waits
 * for ACKs to free a third of it before POLLOUT. */
#define SENDFILE_MAX	(32 * 1024)
#define INOTIFY_BUF	(64 * 1024)

/* ---- connections ---------------------------------------------------- */

static void conn_free(struct worker *w, struct conn *c)
{
	conn_release(&w->pool, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	conn_table_put(&w->srv->conns, c);
}

void conn_close(struct worker *w, struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	metrics_add(&w->metrics.conns_active, -1);
	if (c->in_kernel)
		kernel_path_del_conn(w->kp, c->id, c->cookie);
	/* its close_notify, while the socket can still send it */
	tls_conn_free(c->tls);
	c->tls = NULL;
	/* wakes whatever the ring still waits for on this socket */
	shutdown(c->fd, SHUT_RDWR);
	if (c->inflight == 0)
		conn_free(w, c);
}

static void arm_recv(struct worker *w, struct conn *c)
{
	struct io_uring_sqe *sqe;
	int flags = 0;

	if (c->tls) {
		worker_tls_read(w, c);
		return;
	}
	if (c->in_kernel) {
		if (kernel_path_overrun(w->kp, c->id)) {
			log_debug("connection %u: over %u request bytes "
				  "unanswered; closed", c->id, FS_USER_OWED_MAX);
			metrics_add(&w->metrics.faults[FAULT_OVERRUN], 1);
			conn_close(w, c);
			return;
		}
		/* A kernel-path socket can poll readable while its bytes sit
		 * with the stream parser, and recv says -EAGAIN. io_uring
		 * would then re-poll and retry inside the kernel, never
		 * coming back (seen under a pipelined flood: the whole server
		 * spun in task work). So: our own poll, linked to a recv that
		 * does not wait, and -EAGAIN handled by on_recv. */
		if (io_uring_sq_space_left(&w->ring) < 2)
			io_uring_submit(&w->ring);
		sqe = get_sqe(w);
		io_uring_prep_poll_add(sqe, c->fd, POLLIN);
		sqe->flags |= IOSQE_IO_LINK;
		conn_submit(c, sqe, OP_POLL_IN);
		flags = MSG_DONTWAIT;
	}
	sqe = get_sqe(w);
	io_uring_prep_recv(sqe, c->fd, NULL, RECV_BUF_SIZE, flags);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RECV_GROUP;
	conn_submit(c, sqe, OP_RECV);
}

static void send_out(struct worker *w, struct conn *c)
{
	struct io_uring_sqe *sqe;
	int flags = MSG_NOSIGNAL;

	if (c->tls) {
		worker_tls_send(w, c);
		return;
	}
	sqe = get_sqe(w);
	/* The last bytes before a close wait in the socket for the FIN,
	 * which then rides on them: one packet fewer each way, as nginx's
	 * tcp_nopush gets (docs/design.md). Not on kernel-path sockets,
	 * whose sends go through the sk_msg program. */
	if (c->close_after && !c->file_left && !c->in_kernel)
		flags |= MSG_MORE;
	io_uring_prep_send(sqe, c->fd, c->out + c->out_off,
			   c->out_len - c->out_off, flags);
	conn_submit(c, sqe, OP_SEND);
}

/* Tells the kernel path the current request is answered once send_bytes
 * more bytes of ours are in the socket, so that it may answer the next
 * one itself. The access log line goes first, after those of the kernel's
 * responses before it: a connection's lines are in request order. */
static void publish_done(struct worker *w, struct conn *c, uint64_t send_bytes)
{
	c->done_published = true;
	if (c->in_kernel && w->kernel_log)
		kernel_log_catch_up(w->kernel_log, c->id, &c->kern_logged);
	http_conn_log(&w->env, c);
	if (c->in_kernel)
		kernel_path_user_done(w->kp, c->id, c->req_bytes, send_bytes);
}

/* Sends the prepared response, unless a kernel response must go first. */
static void respond(struct worker *w, struct conn *c)
{
	if (c->in_kernel && !kernel_path_may_send(w->kp, c->id)) {
		struct io_uring_sqe *sqe = get_sqe(w);

		io_uring_prep_timeout(sqe, &w->wait_ts, 0, 0);
		conn_submit(c, sqe, OP_WAIT_KERNEL);
		return;
	}
	/* A response sent in one piece can be declared done right away: a
	 * client waiting for it sends its next request only after it. */
	if (!c->file_left && !c->done_published)
		publish_done(w, c, c->out_len - c->out_off);
	send_out(w, c);
}

static void refresh_date(struct worker *w)
{
	time_t now = time(NULL);

	if (now == w->date_sec)
		return;
	w->date_sec = now;
	w->env.date = now;
	http_date_format(now, w->date);
	/* one clock for the kernel, or two workers would race to set it */
	if (w->kp && w->index == 0)
		kernel_path_set_clock(w->kp, w->date);
}

/* While draining, a connection with nothing in flight is closed: nothing
 * half-read, no response of ours or of the kernel's on its way. A request
 * already on the wire may meet the close, as with any keep-alive close.
 * Returns whether it was closed. */
static bool drain_idle(struct worker *w, struct conn *c)
{
	if (c->closing || c->busy || c->in_len)
		return false;
	if (c->in_kernel && (!kernel_path_may_send(w->kp, c->id) ||
			     kernel_path_owes(w->kp, c->id)))
		return false;
	conn_close(w, c);
	return true;
}

static void response_done(struct worker *w, struct conn *c)
{
	http_conn_finish(&w->env, c);
	if (!c->done_published)
		publish_done(w, c, 0);
	c->done_published = false;
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	if (c->close_after)
		conn_close(w, c);
	else
		conn_process(w, c);
}

/* Answers the next buffered request, or asks for more bytes. */
void conn_process(struct worker *w, struct conn *c)
{
	if (c->closing || c->busy)
		return;
	refresh_date(w);
	switch (http_conn_next(&w->env, c)) {
	case HTTP_CONN_IDLE:
		conn_bufs_give(&w->pool, c);
		if (w->env.draining && drain_idle(w, c))
			return;
		/* fall through */
	case HTTP_CONN_MORE:
		arm_recv(w, c);
		return;
	case HTTP_CONN_RESPOND:
		respond(w, c);
		return;
	case HTTP_CONN_CLOSE:
		conn_close(w, c);
		return;
	}
}

/* ---- completions ---------------------------------------------------- */

/* Hands c to the kernel path, which then answers what it has cached, at a
 * request boundary: c's first bytes were received by userspace, and are
 * owed before anything the kernel answers. One whose first requests close
 * it stays ours (docs/design.md, "A connection joins the kernel path"). */
static void conn_to_kernel(struct worker *w, struct conn *c)
{
	enum http_keep keep = http_requests_keep(c->in, c->in_len);

	if (keep == HTTP_KEEP_PARTIAL)
		return;		/* decided once more bytes are in */
	c->to_kernel = false;
	if (keep == HTTP_KEEP_CLOSES)
		return;
	if (kernel_path_add_conn(w->kp, c->fd, c->id, c->in_len,
				 config_timeout(&w->cfg->header_timeout),
				 &c->cookie) == 0)
		c->in_kernel = true;
	else
		metrics_add(&w->metrics.faults[FAULT_SOCKHASH_INSERT], 1);
}

static void on_recv(struct worker *w, struct conn *c, struct io_uring_cqe *cqe)
{
	if (cqe->res == -ENOBUFS) {
		/* every buffer is out: they come back within this batch */
		arm_recv(w, c);
		return;
	}
	if (cqe->res == -EAGAIN && c->in_kernel) {
		/* TCP said readable, but the bytes still sit with the stream
		 * parser (a partial head, or data it has not looked at yet:
		 * the recv has made it look): look again shortly instead of
		 * spinning. No kick here: a parser run that finds nothing
		 * new while a passed request is still unread makes the kernel
		 * count that request as read twice (tcp_bpf_strp_read_sock()
		 * resets ingress_bytes), and the next request no longer than
		 * it then never wakes the parser. */
		struct io_uring_sqe *sqe = get_sqe(w);

		io_uring_prep_timeout(sqe, &w->retry_ts, 0, 0);
		conn_submit(c, sqe, OP_RECV_RETRY);
		return;
	}
	if (cqe->res <= 0) {
		conn_close(w, c);
		return;
	}
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		size_t n = cqe->res;

		if (conn_bufs_take(&w->pool, c)) {
			if (n > CONN_IN_CAP - c->in_len)
				n = CONN_IN_CAP - c->in_len;
			memcpy(c->in + c->in_len, recv_bufs_at(&w->recv, bid), n);
			c->in_len += n;
			metrics_add(&w->metrics.rx_bytes, n);
		}
		recv_bufs_recycle(&w->recv, bid);
		if (!c->in) {
			log_error("out of memory for a connection's buffers");
			conn_close(w, c);
			return;
		}
		if (c->to_kernel && !c->busy && !c->discard)
			conn_to_kernel(w, c);
	}
	c->last_active = clock_now_sec();
	conn_process(w, c);
}

/* res more bytes of the response are in the socket. */
static void count_sent(struct worker *w, struct conn *c, int res)
{
	c->last_active = clock_now_sec();
	metrics_add(&w->metrics.tx_bytes, res);
	c->resp_bytes += res;
}

void file_shrank(struct worker *w, struct conn *c)
{
	/* The header promised more: all we can do is close. */
	metrics_add(&w->metrics.faults[FAULT_FILE_SHRANK], 1);
	log_warn("a file shrank while being sent: response cut short, "
		 "connection closed");
	conn_close(w, c);
}

/* As much of the file as the socket takes now: sendfile() hands it page
 * references, as nginx does (no pipe: an unprivileged user's pipes share
 * fs.pipe-user-pages-soft, and 1,000 downloads at once starved on it). The
 * socket is non-blocking: when it is full, wait for room. */
static void send_file(struct worker *w, struct conn *c)
{
	size_t n = c->file_left < SENDFILE_MAX ? c->file_left : SENDFILE_MAX;
	struct io_uring_sqe *sqe;
	ssize_t sent;

	/* Done before the last piece goes, as in respond(): once it is in,
	 * the next request may come before response_done() runs. */
	if (n == c->file_left && !c->done_published)
		publish_done(w, c, n);
	sent = sendfile(c->fd, c->file_fd, &c->file_off, n);
	if (sent == 0) {
		file_shrank(w, c);
		return;
	}
	if (sent < 0 && errno != EAGAIN) {
		conn_close(w, c);
		return;
	}
	if (sent > 0) {
		count_sent(w, c, sent);
		c->file_left -= sent;
		if (!c->file_left) {
			response_done(w, c);
			return;
		}
	}
	/* more next time round the ring, after the other connections */
	sqe = get_sqe(w);
	io_uring_prep_poll_add(sqe, c->fd, POLLOUT);
	conn_submit(c, sqe, OP_POLL_OUT);
}

/* The next step of the response: the rest of the header block, the rest
 * of the file, or nothing. */
void response_next(struct worker *w, struct conn *c)
{
	if (c->out_off < c->out_len)
		send_out(w, c);
	else if (c->file_left && c->tls && !tls_kernel_sends(c->tls))
		worker_tls_send_file(w, c);
	else if (c->file_left)
		send_file(w, c);
	else
		response_done(w, c);
}

static void on_send(struct worker *w, struct conn *c, int res)
{
	if (res <= 0) {
		conn_close(w, c);
		return;
	}
	count_sent(w, c, res);
	c->out_off += res;
	response_next(w, c);
}

/* The connection accepted as fd, or NULL (closed) past the limit. */
static struct conn *conn_new(struct worker *w, int fd, bool metrics_only,
			     bool tls)
{
	struct conn *c = conn_table_take(&w->srv->conns);

	if (!c) {
		metrics_add(&w->metrics.faults[FAULT_CONN_LIMIT], 1);
		if (!w->limit_logged)
			log_warn("connection limit (%u) reached; refusing",
				 w->cfg->max_conns);
		w->limit_logged = true;
		close(fd);
		return NULL;
	}
	w->limit_logged = false;
	*c = (struct conn){ .fd = fd, .id = c->id, .file_fd = -1,
			    .last_active = clock_now_sec(),
			    .metrics_only = metrics_only, .next = w->conns };
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	metrics_add(&w->metrics.conns_opened, 1);
	metrics_add(&w->metrics.conns_active, 1);
	if (w->access_log && !conn_alloc_log(c)) {
		log_error("out of memory for a connection");
		conn_close(w, c);
		return NULL;
	}
	c->to_kernel = w->kp && !metrics_only && !tls;
	if (tls) {
		c->tls = tls_conn_new(w->srv->tls, fd);
		if (!c->tls) {
			conn_close(w, c);
			return NULL;
		}
		/* the handshake has --header-timeout, as in nginx */
		c->head_start = c->last_active;
	}
	return c;
}

static void arm_accept(struct worker *w, unsigned l)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_multishot_accept(sqe, w->listen_fd[l], NULL, NULL,
				       SOCK_CLOEXEC | SOCK_NONBLOCK);
	io_uring_sqe_set_data64(sqe, tag(OP_ACCEPT, l));
	w->accept_armed[l] = true;
}

static void on_accept(struct worker *w, struct io_uring_cqe *cqe)
{
	unsigned l = (uint32_t)cqe->user_data;
	struct conn *c;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		w->accept_armed[l] = false;
	if (cqe->res < 0) {
		/* a drain shuts the listeners down: no news */
		if (cqe->res != -ECANCELED &&
		    !__atomic_load_n(&w->srv->stop, __ATOMIC_ACQUIRE))
			log_warn("accept: %s", strerror(-cqe->res));
		return;
	}
	c = conn_new(w, cqe->res, w->listen_metrics[l], w->listen_tls[l]);
	if (c && c->tls)
		worker_tls_start(w, c);
	else if (c)
		conn_process(w, c);
}

static void arm_tick(struct worker *w)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_timeout(sqe, &w->tick_ts, 0, 0);
	io_uring_sqe_set_data64(sqe, tag(OP_TICK, 0));
}

/* Once a second: the clock, timeouts, and for worker 0 the cache's
 * quarantine and the access log. */
static void on_tick(struct worker *w)
{
	uint64_t now = clock_now_sec();
	struct conn *c, *next;

	refresh_date(w);
	open_files_expire(&w->open_files);
	if (w->index == 0 && w->cache)
		cache_tick(w->cache);
	if (w->index == 0 && w->access_log)
		access_log_flush(w->access_log);
	for (c = w->conns; c; c = next) {
		next = c->next;	/* c may be freed */
		if (c->closing)
			continue;
		if (c->in_kernel && c->kernel_activity !=
		    kernel_path_activity(w->kp, c->id)) {
			c->kernel_activity = kernel_path_activity(w->kp, c->id);
			c->last_active = now;
		}
		if (conn_expired(c, now, w->cfg->send_timeout,
				 config_timeout(&w->cfg->header_timeout),
				 config_timeout(&w->cfg->idle_timeout))) {
			if (c->tls && !c->tls_ready)
				metrics_add(&w->metrics.tls_failures
					    [TLS_FAIL_TIMEOUT], 1);
			conn_close(w, c);
		}
		else if (w->env.draining)
			drain_idle(w, c);
	}
	arm_tick(w);
}

static void arm_wake(struct worker *w)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_read(sqe, w->wake_fd, &w->wake_count,
			   sizeof(w->wake_count), 0);
	io_uring_sqe_set_data64(sqe, tag(OP_WAKE, 0));
}

void worker_wake(struct worker *w)
{
	if (eventfd_write(w->wake_fd, 1))
		log_warn("waking worker %u: %s", w->index, strerror(errno));
}

static void arm_inotify(struct worker *w)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_read(sqe, cache_event_fd(w->cache), w->inotify_buf,
			   INOTIFY_BUF, 0);
	io_uring_sqe_set_data64(sqe, tag(OP_INOTIFY, 0));
}

static void on_completion(struct worker *w, struct io_uring_cqe *cqe)
{
	enum op op = cqe->user_data >> 32;
	struct conn *c;

	switch (op) {
	case OP_ACCEPT:
		on_accept(w, cqe);
		return;
	case OP_TICK:
		on_tick(w);
		return;
	case OP_INOTIFY:
		if (cqe->res > 0)
			cache_handle_events(w->cache, w->inotify_buf, cqe->res);
		arm_inotify(w);
		return;
	case OP_WAKE:
		arm_wake(w);
		return;
	default:
		break;
	}
	c = conn_table_at(&w->srv->conns, (uint32_t)cqe->user_data);
	c->inflight--;
	if (c->closing) {
		if (op == OP_RECV && cqe->flags & IORING_CQE_F_BUFFER)
			recv_bufs_recycle(&w->recv,
					  cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		if (c->inflight == 0)
			conn_free(w, c);
		return;
	}
	switch (op) {
	case OP_RECV:
		on_recv(w, c, cqe);
		break;
	case OP_SEND:
		on_send(w, c, cqe->res);
		break;
	case OP_WAIT_KERNEL:
		respond(w, c);
		break;
	case OP_POLL_OUT:
		send_file(w, c);
		break;
	case OP_RECV_RETRY:
		arm_recv(w, c);
		break;
	case OP_TLS_WAIT:
		worker_tls_resume(w, c, cqe->res);
		break;
	case OP_TLS_SENT:
		on_send(w, c, c->tls_put);
		break;
	case OP_POLL_IN:	/* its linked recv completes next */
	default:
		break;
	}
}

/* ---- shutting down ------------------------------------------------- */

/* Stops accepting, closes what is idle now; the rest is closed as it
 * becomes idle (its last response says Connection: close), or at the
 * deadline. */
static void drain_start(struct worker *w)
{
	struct conn *c, *next;

	w->env.draining = true;
	for (c = w->conns; c; c = next) {
		next = c->next;	/* c may be freed */
		drain_idle(w, c);
	}
	if (w->metrics.conns_active)
		log_info("worker %u draining: %llu connection(s) busy", w->index,
			 (unsigned long long)w->metrics.conns_active);
}

/* ---- the worker ------------------------------------------------------ */

/* This worker's main listeners, one per address, and the shared metrics
 * ones. */
static void take_listeners(struct worker *w)
{
	const struct server *srv = w->srv;
	unsigned n = srv->cfg->nlisten, i;

	for (i = 0; i < n; i++) {
		w->listen_fd[i] = srv->listen_main[w->index * n + i];
		w->listen_fd[n + i] = srv->listen_metrics[i];
		w->listen_metrics[n + i] = true;
	}
	for (i = 2 * n; i < LISTENERS; i++)
		w->listen_fd[i] = -1;
	for (i = 0; srv->listen_tls && i < n; i++) {
		w->listen_fd[2 * n + i] = srv->listen_tls[w->index * n + i];
		w->listen_tls[2 * n + i] = true;
	}
}

struct worker *worker_new(struct server *srv, unsigned index)
{
	struct worker *w = calloc(1, sizeof(*w));
	int err;

	if (!w) {
		log_error("worker %u: out of memory", index);
		return NULL;
	}
	*w = (struct worker){
		.srv = srv, .index = index, .cfg = srv->cfg,
		.kp = srv->kernel ? &srv->kp : NULL, .cache = srv->cache,
		.access_log = srv->access_log, .kernel_log = srv->kernel_log,
		.wake_fd = -1,
		.tick_ts = { .tv_sec = 1 },
		.wait_ts = { .tv_nsec = 20000 },
		.retry_ts = { .tv_nsec = 1000000 },
	};
	w->env = (struct http_conn_env){
		.srv = srv, .kp = w->kp, .cache = w->cache,
		.access_log = w->access_log, .metrics = &w->metrics,
		.metrics_on_main = srv->listen_metrics[0] < 0,
		.open_files = &w->open_files,
	};
	open_files_init(&w->open_files);
	take_listeners(w);
	/* Completions are run only when this worker waits for them, never
	 * by interrupting it (no task-work IPI, each a VM exit on a VM):
	 * -n's req/s went up about 5 %. The ring is made here, while still
	 * privileged, and enabled by its one submitter, the worker's thread.
	 * Kernels before 6.1 have no DEFER_TASKRUN: a plain ring then. */
	err = io_uring_queue_init(RING_ENTRIES, &w->ring,
				  IORING_SETUP_SINGLE_ISSUER |
				  IORING_SETUP_DEFER_TASKRUN |
				  IORING_SETUP_R_DISABLED);
	w->ring_disabled = err == 0;
	if (err == -EINVAL)
		err = io_uring_queue_init(RING_ENTRIES, &w->ring, 0);
	if (err) {
		log_error("worker %u: io_uring set-up: %s", index,
			  strerror(-err));
		goto fail;
	}
	w->ring_ready = true;
	w->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (w->wake_fd < 0) {
		log_error("worker %u: eventfd: %s", index, strerror(errno));
		goto fail;
	}
	if (index == 0 && w->cache) {
		w->inotify_buf = malloc(INOTIFY_BUF);
		if (!w->inotify_buf) {
			log_error("worker 0: out of memory");
			goto fail;
		}
	}
	if (recv_bufs_setup(&w->recv, &w->ring))
		goto fail;
	return w;
fail:
	worker_free(w);
	return NULL;
}

static bool worker_done(const struct worker *w)
{
	int stop = __atomic_load_n(&w->srv->stop, __ATOMIC_ACQUIRE);

	return stop == STOP_NOW ||
	       (stop == STOP_DRAIN && (w->metrics.conns_active == 0 ||
				       clock_now_sec() >= w->srv->drain_deadline));
}

void worker_run(struct worker *w)
{
	const struct server *srv = w->srv;
	unsigned i;
	int err;

	/* liburing 2.3 declares io_uring_enable_rings() but does not export it */
	if (w->ring_disabled &&
	    syscall(__NR_io_uring_register, w->ring.ring_fd,
		    IORING_REGISTER_ENABLE_RINGS, NULL, 0)) {
		log_error("worker %u: io_uring: %s", w->index, strerror(errno));
		return;
	}
	refresh_date(w);
	for (i = 0; i < LISTENERS; i++)
		if (w->listen_fd[i] >= 0)
			arm_accept(w, i);
	arm_tick(w);
	arm_wake(w);
	if (w->inotify_buf)
		arm_inotify(w);

	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, count = 0;

		if (__atomic_load_n(&srv->stop, __ATOMIC_ACQUIRE) &&
		    !w->env.draining)
			drain_start(w);
		if (worker_done(w))
			break;

		err = io_uring_submit_and_wait(&w->ring, 1);
		if (err < 0 && err != -EINTR && err != -ETIME) {
			log_error("worker %u: io_uring: %s", w->index,
				  strerror(-err));
			break;
		}
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			on_completion(w, cqe);
			count++;
		}
		io_uring_cq_advance(&w->ring, count);
		for (i = 0; i < LISTENERS; i++)
			if (!w->env.draining && w->listen_fd[i] >= 0 &&
			    !w->accept_armed[i])
				arm_accept(w, i);
	}
}

const struct user_metrics *worker_metrics(const struct worker *w)
{
	return &w->metrics;
}

uint64_t worker_conns_open(const struct worker *w)
{
	return w->metrics.conns_active;
}

void worker_free(struct worker *w)
{
	struct conn *c, *next;

	if (!w)
		return;
	for (c = w->conns; c; c = next) {
		next = c->next;
		if (c->in_kernel)
			kernel_path_del_conn(w->kp, c->id, c->cookie);
		conn_free(w, c);
	}
	open_files_clear(&w->open_files);
	if (w->ring_ready)
		io_uring_queue_exit(&w->ring);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	conn_pool_free(&w->pool);
	free(w->inotify_buf);
	recv_bufs_free(&w->recv);
	free(w);
}
