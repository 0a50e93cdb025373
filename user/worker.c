// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A worker's io_uring drives its share of everything: a multishot accept on
 * each shared listener, one recv (from a provided-buffer ring) or one send or
 * poll in flight per connection, a one-second tick for timeouts and the HTTP
 * clock, and a read on its wake-up eventfd. Worker 0 also reads the cache's
 * inotify fd and keeps the kernel's clock.
 *
 * A connection answers one request at a time: the next pipelined request is
 * parsed only when the previous response is out, so responses keep request
 * order by construction. Requests the kernel answers never show up here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "cache.h"
#include "clock.h"
#include "conn.h"
#include "files.h"
#include "http_classify.h"
#include "http_date.h"
#include "http_request.h"
#include "http_response.h"
#include "kernel_path.h"
#include "log.h"
#include "metrics.h"
#include "worker.h"

#define RING_ENTRIES	1024
#define RECV_BUFS	512		/* provided buffers, a power of two */
#define RECV_BUF_SIZE	8192
#define RECV_GROUP	0
#define IN_CAP		(HTTP_MAX_HEAD + RECV_BUF_SIZE)
#define OUT_CAP		(2048 + SMALL_BODY_MAX)
/* Bodies up to this size go out in the same send as their header; larger
 * ones go by sendfile() and are never copied into userspace. */
#define SMALL_BODY_MAX	16384
/* At most this much of a file per sendfile(), so that one fast reader does
 * not hold up the ring. */
#define SENDFILE_MAX	(256 * 1024)
#define INOTIFY_BUF	(64 * 1024)
/* Send buffer of kernel-path sockets: the largest cached response, twice */
#define KERNEL_SNDBUF	(FS_ENTRY_MAX_CHUNKS * FS_CHUNK_SIZE * 2)

enum op {
	OP_ACCEPT = 1,
	OP_RECV,
	OP_SEND,
	OP_WAIT_KERNEL,		/* a kernel response is still queued ahead */
	OP_POLL_OUT,		/* room in the socket for more of the file */
	OP_POLL_IN,		/* a kernel-path socket is readable: recv next */
	OP_RECV_RETRY,		/* recv found nothing the kernel path had ready */
	OP_TICK,
	OP_INOTIFY,
	OP_WAKE,		/* srv->stop changed */
};

/* Listening sockets, by index. */
enum listener { LISTEN_MAIN, LISTEN_METRICS, LISTENERS };

struct worker {
	struct server *srv;
	unsigned index;
	/* copied from srv, which does not change while workers run */
	const struct server_config *cfg;
	struct kernel_path *kp;		/* NULL: the kernel path is off */
	struct cache *cache;
	struct access_log *access_log;

	int listen_fd[LISTENERS];	/* srv's: its own main one */
	struct io_uring ring;
	bool ring_ready;
	struct io_uring_buf_ring *buf_ring;
	char *bufs;
	bool accept_armed[LISTENERS];
	struct conn *conns;		/* open ones, listed */
	bool limit_logged;
	struct user_metrics metrics;	/* summed over workers by /metrics */
	struct __kernel_timespec tick_ts, wait_ts, retry_ts;
	int wake_fd;
	uint64_t wake_count;
	char *inotify_buf;		/* worker 0 only */
	char date[HTTP_DATE_LEN + 1];
	time_t date_sec;
	bool draining;			/* stopping: no new connections */
};

/* A timeout setting: SIGHUP's thread may be changing it. */
static unsigned timeout_of(const unsigned *setting)
{
	return __atomic_load_n(setting, __ATOMIC_RELAXED);
}

static inline uint64_t tag(enum op op, uint32_t id)
{
	return ((uint64_t)op << 32) | id;
}

static struct io_uring_sqe *get_sqe(struct worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	if (!sqe) {
		metrics_add(&w->metrics.faults[FAULT_RING_FULL], 1);
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	return sqe;	/* never NULL right after a submit */
}

static void conn_submit(struct conn *c, struct io_uring_sqe *sqe, enum op op)
{
	io_uring_sqe_set_data64(sqe, tag(op, c->id));
	c->inflight++;
}

/* ---- connections ---------------------------------------------------- */

static void conn_free(struct worker *w, struct conn *c)
{
	close(c->fd);
	if (c->file_fd >= 0)
		close(c->file_fd);
	free(c->in);
	free(c->out);
	free(c->log);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->used = false;
	conn_table_put(&w->srv->conns, c);
}

static void conn_close(struct worker *w, struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	metrics_add(&w->metrics.conns_active, -1);
	if (c->in_kernel)
		kernel_path_del_conn(w->kp, c->id, c->cookie);
	/* wakes whatever the ring still waits for on this socket */
	shutdown(c->fd, SHUT_RDWR);
	if (c->inflight == 0)
		conn_free(w, c);
}

static void arm_recv(struct worker *w, struct conn *c)
{
	struct io_uring_sqe *sqe;
	int flags = 0;

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
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_send(sqe, c->fd, c->out + c->out_off,
			   c->out_len - c->out_off, MSG_NOSIGNAL);
	conn_submit(c, sqe, OP_SEND);
}

/* Tells the kernel path the current request is answered once send_bytes
 * more bytes of ours are in the socket, so that it may answer the next
 * one itself. */
static void publish_done(struct worker *w, struct conn *c, uint64_t send_bytes)
{
	c->done_published = true;
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
	http_date_format(now, w->date);
	/* one clock for the kernel, or two workers would race to set it */
	if (w->kp && w->index == 0)
		kernel_path_set_clock(w->kp, w->date);
}

static void conn_process(struct worker *w, struct conn *c);

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
	c->busy = false;
	metrics_count_response(&w->metrics, c->method, c->status);
	if (c->log) {
		c->log->status = c->status;
		c->log->body_bytes = c->resp_bytes - c->head_bytes;
		access_log_write(w->access_log, c->log, w->date_sec);
	}
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

/* ---- building responses --------------------------------------------- */

/* Starts a response whose header block is h, with body either the error
 * page (for error statuses) or nothing (the caller adds a file). */
static bool put_head(struct worker *w, struct conn *c, struct http_head *h)
{
	refresh_date(w);
	h->date = w->date_sec;
	h->keep_alive = !c->close_after;
	c->status = h->status;
	c->resp_bytes = 0;
	c->out_len = c->head_bytes = http_head_build(c->out, OUT_CAP, h, NULL);
	c->out_off = 0;
	return c->out_len > 0;
}

static void respond_error(struct worker *w, struct conn *c, int status,
			  bool head_only, const char *allow)
{
	char body[512];
	struct http_head h = {
		.status = status,
		.content_type = "text/html; charset=utf-8",
		.last_modified = -1,
		.allow = allow,
	};
	size_t body_len = http_error_body(body, sizeof(body), status);

	if (status >= 500 || status == 400 || status == 413 || status == 414 ||
	    status == 431 || status == 417)
		c->close_after = true;
	h.content_length = body_len;
	if (!put_head(w, c, &h)) {
		conn_close(w, c);
		return;
	}
	if (!head_only && c->out_len + body_len <= OUT_CAP) {
		memcpy(c->out + c->out_len, body, body_len);
		c->out_len += body_len;
	}
	respond(w, c);
}

static void respond_redirect(struct worker *w, struct conn *c,
			     const struct http_request *req)
{
	char location[HTTP_PATH_MAX + 2], body[512];
	struct http_head h = {
		.status = 301,
		.content_type = "text/html; charset=utf-8",
		.last_modified = -1,
		.location = location,
	};
	size_t body_len = http_error_body(body, sizeof(body), 301);
	const char *path = req->target;
	size_t len = 0;

	/* target is not NUL-terminated: it points into the request */
	while (len < req->target_len && path[len] != '?' && path[len] != '#')
		len++;
	/* the raw target is already percent-encoded, the decoded path not */
	if (path[0] != '/' || len >= sizeof(location) - 1) {
		path = req->path;
		len = req->path_len;
	}
	memcpy(location, path, len);
	location[len] = '/';
	location[len + 1] = '\0';
	h.content_length = body_len;
	if (!put_head(w, c, &h)) {
		conn_close(w, c);
		return;
	}
	if (req->method != HTTP_HEAD && c->out_len + body_len <= OUT_CAP) {
		memcpy(c->out + c->out_len, body, body_len);
		c->out_len += body_len;
	}
	respond(w, c);
}

/* RFC 9110 13.2.2 steps 1 and 2: the version the client expects is not
 * the one we have. */
static bool precondition_failed(const struct http_request *req,
				const struct http_etag *etag,
				const struct stat *st)
{
	if (req->if_match)
		return !http_etag_matches(etag, req->if_match,
					  req->if_match_len, true);
	return req->if_unmodified_since >= 0 &&
	       st->st_mtim.tv_sec > req->if_unmodified_since;
}

static bool not_modified(const struct http_request *req,
			 const struct http_etag *etag, const struct stat *st)
{
	if (req->if_none_match)
		return http_etag_matches(etag, req->if_none_match,
					 req->if_none_match_len, false);
	return req->if_modified_since >= 0 &&
	       st->st_mtim.tv_sec <= req->if_modified_since;
}

/* If-Range: the range applies only to the version the client holds. */
static bool range_applies(const struct http_request *req,
			  const struct http_etag *etag, const struct stat *st)
{
	char date[HTTP_DATE_LEN + 1];

	if (!req->range.present)
		return false;
	if (!req->if_range)
		return true;
	if (req->if_range[0] == '"')
		return req->if_range_len == etag->len &&
		       memcmp(req->if_range, etag->text, etag->len) == 0;
	http_date_format(st->st_mtim.tv_sec, date);
	return req->if_range_len == HTTP_DATE_LEN &&
	       memcmp(req->if_range, date, HTTP_DATE_LEN) == 0;
}

/* Resolves a single byte range against size; false if unsatisfiable. */
static bool range_resolve(const struct http_range *r, uint64_t size,
			  uint64_t *first, uint64_t *last)
{
	if (size == 0)
		return false;
	if (r->suffix) {
		if (r->first == 0)
			return false;
		*first = r->first < size ? size - r->first : 0;
		*last = size - 1;
		return true;
	}
	if (r->first >= size)
		return false;
	*first = r->first;
	*last = r->last < size - 1 ? r->last : size - 1;
	return true;
}

/* Sets up the body: copied into out when small, else sent from the file. */
static bool attach_body(struct conn *c, int fd, uint64_t off, uint64_t len)
{
	if (len <= SMALL_BODY_MAX && c->out_len + len <= OUT_CAP) {
		size_t done = 0;

		while (done < len) {
			ssize_t n = pread(fd, c->out + c->out_len + done,
					  len - done, off + done);
			if (n <= 0)
				return false;	/* truncated meanwhile */
			done += n;
		}
		c->out_len += len;
		close(fd);
		return true;
	}
	c->file_fd = fd;
	c->file_off = off;
	c->file_left = len;
	return true;
}

/* Opens what path names: a file, or a directory's index.html. */
static int open_target(struct worker *w, const struct http_request *req,
		       struct stat *st, bool *is_index, int *status)
{
	int fd = files_open(w->srv->root_fd, req->path, false);

	*is_index = false;
	if (fd >= 0 && fstat(fd, st) == 0 && S_ISDIR(st->st_mode)) {
		int dir = fd;

		if (!req->path_had_trailing_slash) {
			close(dir);
			*status = 301;
			return -1;
		}
		fd = files_open(dir, "index.html", false);
		close(dir);
		*is_index = true;
		if (fd == -ENOENT) {
			*status = 403;	/* no index, and no listings */
			return -1;
		}
	}
	if (fd < 0) {
		*status = files_error_status(fd);
		return -1;
	}
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		*status = 403;
		return -1;
	}
	return fd;
}

/* A cacheable request for a file the kernel can serve: admit it, so that
 * the next one is answered without waking us. */
static void maybe_admit(struct worker *w, const struct conn *c,
			const struct http_request *req, bool is_index)
{
	char key[FS_KEY_MAX], file[HTTP_PATH_MAX + 16];
	struct http_scan scan;

	if (!w->cache)
		return;
	http_classify(&scan, (const __u8 *)c->in, req->head_len);
	if (scan.out.frame != HTTP_FRAME_DONE || !scan.out.cacheable)
		return;
	memcpy(key, c->in + scan.out.path_off, scan.out.path_len);
	key[scan.out.path_len] = '\0';
	snprintf(file, sizeof(file), "%s%s", req->path,
		 is_index ? "index.html" : "");
	cache_admit(w->cache, key, file);
}

static void respond_file(struct worker *w, struct conn *c,
			 const struct http_request *req)
{
	bool head_only = req->method == HTTP_HEAD, is_index;
	uint64_t first = 0, last = 0, size;
	struct http_etag etag;
	struct http_head h;
	struct stat st;
	int status = 0;
	int fd = open_target(w, req, &st, &is_index, &status);

	if (fd < 0) {
		if (status == 301)
			respond_redirect(w, c, req);
		else
			respond_error(w, c, status, head_only, NULL);
		return;
	}
	files_head_init(&h, &etag, &st, is_index ? "index.html" : req->path,
			!c->close_after);
	size = st.st_size;
	if (precondition_failed(req, &etag, &st)) {
		close(fd);
		respond_error(w, c, 412, head_only, NULL);
		return;
	}
	if (not_modified(req, &etag, &st)) {
		h.status = 304;
		head_only = true;
	} else if (range_applies(req, &etag, &st)) {
		if (!range_resolve(&req->range, size, &first, &last)) {
			close(fd);
			h.status = 416;
			h.total_size = size;
			h.content_length = 0;
			h.content_type = NULL;
			if (put_head(w, c, &h))
				respond(w, c);
			else
				conn_close(w, c);
			return;
		}
		h.status = 206;
		h.has_range = true;
		h.range_first = first;
		h.range_last = last;
		h.total_size = size;
		h.content_length = last - first + 1;
	} else {
		last = size ? size - 1 : 0;
		if (req->method == HTTP_GET || req->method == HTTP_HEAD)
			maybe_admit(w, c, req, is_index);
	}
	if (!put_head(w, c, &h)) {
		close(fd);
		conn_close(w, c);
		return;
	}
	if (head_only || h.content_length == 0) {
		close(fd);
	} else if (!attach_body(c, fd, first, h.content_length)) {
		close(fd);
		conn_close(w, c);
		return;
	}
	respond(w, c);
}

/* Length of the first line of buf (not NUL-terminated). */
static size_t line_len(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && buf[i] != '\r' && buf[i] != '\n')
		i++;
	return i;
}

/* What the access log keeps of a request; the request itself is gone by
 * the time its response is. req is NULL for a request that did not parse. */
static void note_request(struct conn *c, const struct http_request *req)
{
	size_t head = req ? req->head_len : c->in_len;

	access_copy(c->log->request, sizeof(c->log->request), c->in,
		    line_len(c->in, head));
	access_copy(c->log->referer, sizeof(c->log->referer),
		    req && req->referer ? req->referer : "",
		    req && req->referer ? req->referer_len : 0);
	access_copy(c->log->user_agent, sizeof(c->log->user_agent),
		    req && req->user_agent ? req->user_agent : "",
		    req && req->user_agent ? req->user_agent_len : 0);
}

static bool is_metrics_request(const struct worker *w, const struct conn *c,
			       const struct http_request *req)
{
	if (c->metrics_only)
		return true;
	return w->listen_fd[LISTEN_METRICS] < 0 &&
	       req->path_len == strlen(METRICS_PATH) &&
	       memcmp(req->path, METRICS_PATH, req->path_len) == 0;
}

/* Prometheus text exposition: never cached, always fresh. */
static void respond_metrics(struct worker *w, struct conn *c, bool head_only)
{
	struct http_head h = {
		.status = 200,
		.content_type = "text/plain; version=0.0.4; charset=utf-8",
		.last_modified = -1,
	};
	const struct server *srv = w->srv;
	const struct user_metrics *workers[WORKERS_MAX];
	struct fs_stats kstats;
	struct cache_stats cstats;
	bool kernel = w->kp && kernel_path_read_stats(w->kp, &kstats) == 0;
	char *body = c->out + OUT_CAP / 2;
	unsigned i;
	size_t len;

	for (i = 0; i < srv->nworkers; i++)
		workers[i] = &srv->workers[i]->metrics;
	if (w->cache)
		cache_get_stats(w->cache, &cstats);
	len = metrics_render(body, OUT_CAP / 2, workers, srv->nworkers,
			     kernel ? &kstats : NULL, w->cache ? &cstats : NULL,
			     srv->start_time);
	if (len == 0) {
		respond_error(w, c, 500, head_only, NULL);
		return;
	}
	h.content_length = len;
	if (!put_head(w, c, &h) || c->out_len > OUT_CAP / 2) {
		conn_close(w, c);
		return;
	}
	if (!head_only) {
		memmove(c->out + c->out_len, body, len);
		c->out_len += len;
	}
	respond(w, c);
}

static void handle_request(struct worker *w, struct conn *c,
			   const struct http_request *req)
{
	bool head_only = req->method == HTTP_HEAD;

	c->close_after = !req->keep_alive || w->draining;
	c->method = req->method == HTTP_GET ? METRICS_GET :
		    head_only ? METRICS_HEAD : METRICS_OTHER;
	if (c->log)
		note_request(c, req);
	switch (req->method) {
	case HTTP_GET:
	case HTTP_HEAD:
		if (is_metrics_request(w, c, req))
			respond_metrics(w, c, head_only);
		else
			respond_file(w, c, req);
		break;
	case HTTP_OTHER:
		respond_error(w, c, 501, false, NULL);
		break;
	default:
		respond_error(w, c, 405, head_only, "GET, HEAD");
		break;
	}
}

/* Parses and answers the next buffered request, or asks for more bytes. */
static void conn_process(struct worker *w, struct conn *c)
{
	struct http_request req;
	int status = 400;

	if (c->closing || c->busy)
		return;
	if (c->discard) {
		size_t n = c->discard < c->in_len ? c->discard : c->in_len;

		memmove(c->in, c->in + n, c->in_len - n);
		c->in_len -= n;
		c->discard -= n;
		if (c->discard) {
			arm_recv(w, c);
			return;
		}
	}
	if (c->in_len == 0) {
		c->head_start = 0;
		if (w->draining && drain_idle(w, c))
			return;
		arm_recv(w, c);
		return;
	}
	switch (http_parse_request(c->in, c->in_len, &req, &status)) {
	case HTTP_PARSE_INCOMPLETE:
		if (!c->head_start)
			c->head_start = clock_now_sec();
		arm_recv(w, c);
		return;
	case HTTP_PARSE_ERROR:
		c->method = METRICS_OTHER;
		if (c->log)
			note_request(c, NULL);
		c->busy = true;
		c->req_bytes = c->in_len;
		c->in_len = 0;
		c->close_after = true;
		respond_error(w, c, status, false, NULL);
		return;
	case HTTP_PARSE_DONE:
		break;
	}
	c->busy = true;
	c->head_start = 0;
	c->req_bytes = req.head_len + req.content_length;
	handle_request(w, c, &req);
	/* req points into in: consume the head only once it is answered
	 * (handle_request has copied what it needs into out) */
	memmove(c->in, c->in + req.head_len, c->in_len - req.head_len);
	c->in_len -= req.head_len;
	c->discard = req.content_length;
}

/* ---- completions ---------------------------------------------------- */

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
		char *buf = w->bufs + (size_t)bid * RECV_BUF_SIZE;
		size_t n = cqe->res;

		if (n > IN_CAP - c->in_len)
			n = IN_CAP - c->in_len;
		memcpy(c->in + c->in_len, buf, n);
		c->in_len += n;
		metrics_add(&w->metrics.rx_bytes, n);
		io_uring_buf_ring_add(w->buf_ring, buf, RECV_BUF_SIZE, bid,
				      io_uring_buf_ring_mask(RECV_BUFS), 0);
		io_uring_buf_ring_advance(w->buf_ring, 1);
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

/* As much of the file as the socket takes now: sendfile() hands it page
 * references, as nginx does (no pipe: an unprivileged user's pipes share
 * fs.pipe-user-pages-soft, and 1,000 downloads at once starved on it). The
 * socket is non-blocking: when it is full, wait for room. */
static void send_file(struct worker *w, struct conn *c)
{
	size_t n = c->file_left < SENDFILE_MAX ? c->file_left : SENDFILE_MAX;
	ssize_t sent = sendfile(c->fd, c->file_fd, &c->file_off, n);
	struct io_uring_sqe *sqe;

	if (sent == 0) {
		/* The header promised more: all we can do is close. */
		metrics_add(&w->metrics.faults[FAULT_FILE_SHRANK], 1);
		log_warn("a file shrank while being sent: response cut "
			 "short, connection closed");
		conn_close(w, c);
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
static void response_next(struct worker *w, struct conn *c)
{
	if (c->out_off < c->out_len)
		send_out(w, c);
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

static struct conn *conn_new(struct worker *w, int fd, bool metrics_only)
{
	struct conn *c = conn_table_take(&w->srv->conns);
	int one = 1, sndbuf = KERNEL_SNDBUF;
	struct timeval head_timeout = {
		.tv_sec = timeout_of(&w->cfg->header_timeout)
	};

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
	*c = (struct conn){ .used = true, .fd = fd, .id = c->id, .file_fd = -1,
			    .last_active = clock_now_sec(),
			    .metrics_only = metrics_only, .next = w->conns };
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	metrics_add(&w->metrics.conns_opened, 1);
	metrics_add(&w->metrics.conns_active, 1);
	c->in = malloc(IN_CAP);
	c->out = malloc(OUT_CAP);
	if (w->access_log)
		c->log = calloc(1, sizeof(*c->log));
	if (!c->in || !c->out || (w->access_log && !c->log)) {
		log_error("out of memory for a connection");
		conn_close(w, c);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->log) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);

		if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
			c->log->peer = peer.sin_addr;
	}
	if (!w->kp || metrics_only)
		return c;

	/* A cached response is pushed in one go or not at all: give it room
	 * (memory is charged only for what is really queued). Plain
	 * SO_SNDBUF would be capped by net.core.wmem_max, below autotuning. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	/* A partial head waits inside the kernel's stream parser, unseen by
	 * us; the parser gives up on it after the socket's receive timeout. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &head_timeout,
		   sizeof(head_timeout));
	if (kernel_path_add_conn(w->kp, fd, c->id, &c->cookie) == 0) {
		c->in_kernel = true;
	} else {
		metrics_add(&w->metrics.faults[FAULT_SOCKHASH_INSERT], 1);
	}
	return c;
}

static void arm_accept(struct worker *w, enum listener l)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_multishot_accept(sqe, w->listen_fd[l], NULL, NULL,
				       SOCK_CLOEXEC | SOCK_NONBLOCK);
	io_uring_sqe_set_data64(sqe, tag(OP_ACCEPT, l));
	w->accept_armed[l] = true;
}

static void on_accept(struct worker *w, struct io_uring_cqe *cqe)
{
	enum listener l = (uint32_t)cqe->user_data;
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
	c = conn_new(w, cqe->res, l == LISTEN_METRICS);
	if (c)
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
	if (w->index == 0 && w->cache)
		cache_tick(w->cache);
	if (w->index == 0 && w->access_log)
		access_log_flush(w->access_log);
	for (c = w->conns; c; c = next) {
		next = c->next;	/* c may be freed */
		if (c->closing)
			continue;
		if (c->in_kernel) {
			uint32_t act = kernel_path_activity(w->kp, c->id);

			if (act != c->kernel_activity) {
				c->kernel_activity = act;
				c->last_active = now;
			}
		}
		if (c->busy ? now - c->last_active > w->cfg->send_timeout :
		    c->head_start ?
		    now - c->head_start > timeout_of(&w->cfg->header_timeout) :
		    now - c->last_active > timeout_of(&w->cfg->idle_timeout))
			conn_close(w, c);
		else if (w->draining)
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
		if (op == OP_RECV && cqe->flags & IORING_CQE_F_BUFFER) {
			unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

			io_uring_buf_ring_add(w->buf_ring,
					      w->bufs + (size_t)bid * RECV_BUF_SIZE,
					      RECV_BUF_SIZE, bid,
					      io_uring_buf_ring_mask(RECV_BUFS), 0);
			io_uring_buf_ring_advance(w->buf_ring, 1);
		}
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

	w->draining = true;
	for (c = w->conns; c; c = next) {
		next = c->next;	/* c may be freed */
		drain_idle(w, c);
	}
	if (w->metrics.conns_active)
		log_info("worker %u draining: %llu connection(s) busy", w->index,
			 (unsigned long long)w->metrics.conns_active);
}

/* ---- the worker ------------------------------------------------------ */

static int setup_buffers(struct worker *w)
{
	size_t ring_size = RECV_BUFS * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg = { .ring_entries = RECV_BUFS,
					.bgid = RECV_GROUP };
	int err, i;

	w->buf_ring = mmap(NULL, ring_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w->bufs = malloc((size_t)RECV_BUFS * RECV_BUF_SIZE);
	if (w->buf_ring == MAP_FAILED || !w->bufs) {
		log_error("allocating receive buffers: %s", strerror(errno));
		return -1;
	}
	reg.ring_addr = (unsigned long)w->buf_ring;
	err = io_uring_register_buf_ring(&w->ring, &reg, 0);
	if (err) {
		log_error("registering receive buffers: %s", strerror(-err));
		return -1;
	}
	io_uring_buf_ring_init(w->buf_ring);
	for (i = 0; i < RECV_BUFS; i++)
		io_uring_buf_ring_add(w->buf_ring, w->bufs + (size_t)i * RECV_BUF_SIZE,
				      RECV_BUF_SIZE, i,
				      io_uring_buf_ring_mask(RECV_BUFS), i);
	io_uring_buf_ring_advance(w->buf_ring, RECV_BUFS);
	return 0;
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
		.access_log = srv->access_log, .wake_fd = -1,
		.listen_fd = { srv->listen_main[index], srv->listen_metrics },
		.tick_ts = { .tv_sec = 1 },
		.wait_ts = { .tv_nsec = 20000 },
		.retry_ts = { .tv_nsec = 1000000 },
	};
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
	if (setup_buffers(w))
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
	enum listener i;
	int err;

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
		    !w->draining)
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
			if (!w->draining && w->listen_fd[i] >= 0 &&
			    !w->accept_armed[i])
				arm_accept(w, i);
	}
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
	if (w->ring_ready)
		io_uring_queue_exit(&w->ring);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	free(w->inotify_buf);
	free(w->bufs);
	if (w->buf_ring && w->buf_ring != MAP_FAILED)
		munmap(w->buf_ring, RECV_BUFS * sizeof(struct io_uring_buf));
	free(w);
}
