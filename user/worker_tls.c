// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A worker's HTTPS connections (worker.h): OpenSSL reads and writes the
 * socket itself (tls.h), and the ring only waits for what a step needs,
 * after which the step runs again (OP_TLS_WAIT). What to answer, and the
 * response's bytes, are the same as for plain HTTP: only how they cross
 * the socket differs. A write's count comes back through a NOP, so that a
 * response goes on from the ring and not from ever deeper calls.
 *
 * TLS connections never join the kernel path: it sees only ciphertext.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "tls.h"
#include "worker.h"

/* Waits for what step needs, or closes c when it needs nothing more. */
static void tls_wait(struct worker *w, struct conn *c, enum tls_step step)
{
	struct io_uring_sqe *sqe;

	if (step != TLS_WANT_READ && step != TLS_WANT_WRITE) {
		conn_close(w, c);
		return;
	}
	sqe = get_sqe(w);
	io_uring_prep_poll_add(sqe, c->fd,
			       step == TLS_WANT_READ ? POLLIN : POLLOUT);
	conn_submit(c, sqe, OP_TLS_WAIT);
}

/* Whether c's first byte starts TLS; if it is plain HTTP instead, c
 * becomes a plain connection whose request is answered 400. False also
 * while no byte is in (then waited for). */
static bool tls_check_first(struct worker *w, struct conn *c)
{
	unsigned char first;
	ssize_t n = recv(c->fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN) {
		tls_wait(w, c, TLS_WANT_READ);
		return false;
	}
	if (n <= 0) {
		conn_close(w, c);
		return false;
	}
	c->tls_checked = true;
	if (tls_record_start(first))
		return true;
	metrics_add(&w->metrics.tls_failures[TLS_FAIL_PLAIN_HTTP], 1);
	tls_conn_free(c->tls);
	c->tls = NULL;
	c->plain_on_tls = true;
	conn_process(w, c);
	return false;
}

void worker_tls_start(struct worker *w, struct conn *c)
{
	enum tls_step step;

	if (!c->tls_checked && !tls_check_first(w, c))
		return;
	step = tls_handshake(c->tls);
	if (step == TLS_DONE) {
		c->tls_ready = true;
		c->head_start = 0;
		metrics_add(&w->metrics.tls_handshakes, 1);
		if (tls_kernel_sends(c->tls))
			metrics_add(&w->metrics.tls_kernel_sends, 1);
		conn_process(w, c);
		return;
	}
	if (step == TLS_CLOSED || step == TLS_FAILED)
		metrics_add(&w->metrics.tls_failures[TLS_FAIL_HANDSHAKE], 1);
	tls_wait(w, c, step);
}

/* Bytes OpenSSL already holds never make the socket readable: a NOP then
 * reads them from the ring. */
void worker_tls_read(struct worker *w, struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (!tls_pending(c->tls)) {
		tls_wait(w, c, TLS_WANT_READ);
		return;
	}
	sqe = get_sqe(w);
	io_uring_prep_nop(sqe);
	conn_submit(c, sqe, OP_TLS_WAIT);
}

/* One read: what OpenSSL holds beyond it comes by worker_tls_read()'s
 * NOP, what the socket holds by its poll, so a read that would find
 * nothing (a syscall) is never made. */
static void tls_read_step(struct worker *w, struct conn *c)
{
	enum tls_step step;
	size_t got = 0;

	if (!conn_bufs_take(&w->pool, c)) {
		log_error("out of memory for a connection's buffers");
		conn_close(w, c);
		return;
	}
	if (c->in_len == CONN_IN_CAP) {
		/* never asked for: a head that fills in is refused first */
		conn_close(w, c);
		return;
	}
	step = tls_read(c->tls, c->in + c->in_len, CONN_IN_CAP - c->in_len,
			&got);
	if (step != TLS_DONE) {
		tls_wait(w, c, step);
		return;
	}
	c->in_len += got;
	metrics_add(&w->metrics.rx_bytes, got);
	c->last_active = clock_now_sec();
	conn_process(w, c);
}

void worker_tls_send(struct worker *w, struct conn *c)
{
	enum tls_step step = tls_write(c->tls, c->out + c->out_off,
				       c->out_len - c->out_off, &c->tls_put);
	struct io_uring_sqe *sqe;

	if (step != TLS_DONE) {
		tls_wait(w, c, step);
		return;
	}
	sqe = get_sqe(w);
	io_uring_prep_nop(sqe);
	conn_submit(c, sqe, OP_TLS_SENT);
}

/* Without kTLS, a file is encrypted by OpenSSL: it goes through out, a
 * TLS record's worth at a time. */
#define TLS_FILE_PIECE	16384
_Static_assert(TLS_FILE_PIECE <= CONN_OUT_CAP, "a piece fits out");

void worker_tls_send_file(struct worker *w, struct conn *c)
{
	size_t n = c->file_left < TLS_FILE_PIECE ? c->file_left :
						   TLS_FILE_PIECE;
	ssize_t got = pread(c->file_fd, c->out, n, c->file_off);

	if (got <= 0) {
		file_shrank(w, c);
		return;
	}
	c->file_off += got;
	c->file_left -= got;
	c->out_off = 0;
	c->out_len = got;
	worker_tls_send(w, c);
}

/* What c waited for is there (res < 0: the wait failed): the step again,
 * whichever it was. */
void worker_tls_resume(struct worker *w, struct conn *c, int res)
{
	if (res < 0)
		conn_close(w, c);
	else if (!c->tls_ready)
		worker_tls_start(w, c);
	else if (c->busy)
		response_next(w, c);
	else
		tls_read_step(w, c);
}
