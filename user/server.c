// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One io_uring drives everything: a multishot accept, one recv (from a
 * provided-buffer ring) or one send or poll in flight per connection, a
 * one-second tick for timeouts and the HTTP clock, and a read on the cache's
 * inotify fd.
 *
 * A connection answers one request at a time: the next pipelined request is
 * parsed only when the previous response is out, so responses keep request
 * order by construction. Requests the kernel answers never show up here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <systemd/sd-daemon.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "config.h"
#include "cache.h"
#include "files.h"
#include "http_classify.h"
#include "http_date.h"
#include "http_request.h"
#include "http_response.h"
#include "kernel_path.h"
#include "log.h"
#include "metrics.h"
#include "privilege.h"
#include "server.h"

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
/* Files up to this size are cached at start-up. */
#define PRELOAD_MAX	(64 * 1024)
#define METRICS_PATH	"/metrics"
#define INOTIFY_BUF	(64 * 1024)
/* A port still held by a dying server is retried this long. */
#define BIND_RETRY_MS	50
#define BIND_TRIES	60
/* Send buffer of kernel-path sockets: the largest cached response, twice */
#define KERNEL_SNDBUF	(FS_ENTRY_MAX_CHUNKS * FS_CHUNK_SIZE * 2)

/* Listening sockets, by index. */
enum listener { LISTEN_MAIN, LISTEN_METRICS, LISTENERS };

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
};

struct conn {
	bool used;
	bool closing;
	bool in_kernel;		/* in sock_hash: mind the shared counters */
	bool busy;		/* a response is being sent */
	bool close_after;
	bool done_published;	/* the kernel path knows this one is answered */
	bool metrics_only;	/* accepted on the metrics port */
	enum metrics_method method;	/* of the request being answered */
	int status;
	size_t head_bytes;	/* of the response being sent */
	uint64_t resp_bytes;	/* sent of it so far */
	int fd;
	uint32_t id;		/* also the conn_shared slot */
	unsigned inflight;	/* ring operations not yet completed */
	uint64_t cookie;

	char *in;		/* received, not yet answered request bytes */
	size_t in_len;
	uint64_t discard;	/* body bytes of an answered request to skip */

	char *out;		/* header block, and a small body */
	size_t out_len, out_off;
	int file_fd;		/* larger body, sent by sendfile() */
	uint64_t file_left;
	loff_t file_off;

	uint64_t req_bytes;	/* of the request being answered */

	uint64_t last_active;	/* seconds, monotonic */
	uint64_t head_start;	/* first byte of an incomplete head, or 0 */
	uint32_t kernel_activity;
	struct access_entry *log;	/* with --access-log */
};

struct server {
	struct server_config *cfg;	/* SIGHUP may change some of it */
	struct io_uring ring;
	struct io_uring_buf_ring *buf_ring;
	char *bufs;
	int listen_fd[LISTENERS];
	bool accept_armed[LISTENERS];
	int root_fd;
	struct kernel_path kp;
	bool kernel;
	struct cache *cache;
	struct conn *conns;
	bool limit_logged;
	struct user_metrics metrics;
	time_t start_time;
	struct access_log *access_log;
	struct __kernel_timespec tick_ts, wait_ts, retry_ts;
	char inotify_buf[INOTIFY_BUF];
	char date[HTTP_DATE_LEN + 1];
	time_t date_sec;
	bool draining;			/* stopping: no new connections */
	uint64_t drain_deadline;	/* seconds, monotonic */
};

/* SIGTERM or SIGINT: 1 drains, a second one stops at once. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;	/* SIGHUP */

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested++;
}

static uint64_t now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static inline uint64_t tag(enum op op, uint32_t id)
{
	return ((uint64_t)op << 32) | id;
}

static struct io_uring_sqe *get_sqe(struct server *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

	if (!sqe) {
		s->metrics.faults[FAULT_RING_FULL]++;
		io_uring_submit(&s->ring);
		sqe = io_uring_get_sqe(&s->ring);
	}
	return sqe;	/* never NULL right after a submit */
}

static void conn_submit(struct conn *c, struct io_uring_sqe *sqe, enum op op)
{
	io_uring_sqe_set_data64(sqe, tag(op, c->id));
	c->inflight++;
}

/* ---- connections ---------------------------------------------------- */

static void conn_free(struct conn *c)
{
	close(c->fd);
	if (c->file_fd >= 0)
		close(c->file_fd);
	free(c->in);
	free(c->out);
	free(c->log);
	c->used = false;
}

static void conn_close(struct server *s, struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	s->metrics.conns_active--;
	if (c->in_kernel)
		kernel_path_del_conn(&s->kp, c->id, c->cookie);
	/* wakes whatever the ring still waits for on this socket */
	shutdown(c->fd, SHUT_RDWR);
	if (c->inflight == 0)
		conn_free(c);
}

static void arm_recv(struct server *s, struct conn *c)
{
	struct io_uring_sqe *sqe;
	int flags = 0;

	if (c->in_kernel) {
		if (kernel_path_overrun(&s->kp, c->id)) {
			log_debug("connection %u: over %u request bytes "
				  "unanswered; closed", c->id, FS_USER_OWED_MAX);
			s->metrics.faults[FAULT_OVERRUN]++;
			conn_close(s, c);
			return;
		}
		/* A kernel-path socket can poll readable while its bytes sit
		 * with the stream parser, and recv says -EAGAIN. io_uring
		 * would then re-poll and retry inside the kernel, never
		 * coming back (seen under a pipelined flood: the whole server
		 * spun in task work). So: our own poll, linked to a recv that
		 * does not wait, and -EAGAIN handled by on_recv. */
		if (io_uring_sq_space_left(&s->ring) < 2)
			io_uring_submit(&s->ring);
		sqe = get_sqe(s);
		io_uring_prep_poll_add(sqe, c->fd, POLLIN);
		sqe->flags |= IOSQE_IO_LINK;
		conn_submit(c, sqe, OP_POLL_IN);
		flags = MSG_DONTWAIT;
	}
	sqe = get_sqe(s);
	io_uring_prep_recv(sqe, c->fd, NULL, RECV_BUF_SIZE, flags);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RECV_GROUP;
	conn_submit(c, sqe, OP_RECV);
}

static void send_out(struct server *s, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	io_uring_prep_send(sqe, c->fd, c->out + c->out_off,
			   c->out_len - c->out_off, MSG_NOSIGNAL);
	conn_submit(c, sqe, OP_SEND);
}

/* Tells the kernel path the current request is answered once send_bytes
 * more bytes of ours are in the socket, so that it may answer the next
 * one itself. */
static void publish_done(struct server *s, struct conn *c, uint64_t send_bytes)
{
	c->done_published = true;
	if (c->in_kernel)
		kernel_path_user_done(&s->kp, c->id, c->req_bytes, send_bytes);
}

/* Sends the prepared response, unless a kernel response must go first. */
static void respond(struct server *s, struct conn *c)
{
	if (c->in_kernel && !kernel_path_may_send(&s->kp, c->id)) {
		struct io_uring_sqe *sqe = get_sqe(s);

		io_uring_prep_timeout(sqe, &s->wait_ts, 0, 0);
		conn_submit(c, sqe, OP_WAIT_KERNEL);
		return;
	}
	/* A response sent in one piece can be declared done right away: a
	 * client waiting for it sends its next request only after it. */
	if (!c->file_left && !c->done_published)
		publish_done(s, c, c->out_len - c->out_off);
	send_out(s, c);
}

static void refresh_date(struct server *s)
{
	time_t now = time(NULL);

	if (now == s->date_sec)
		return;
	s->date_sec = now;
	http_date_format(now, s->date);
	if (s->kernel)
		kernel_path_set_clock(&s->kp, s->date);
}

static void conn_process(struct server *s, struct conn *c);

/* While draining, a connection with nothing in flight is closed: nothing
 * half-read, no response of ours or of the kernel's on its way. A request
 * already on the wire may meet the close, as with any keep-alive close.
 * Returns whether it was closed. */
static bool drain_idle(struct server *s, struct conn *c)
{
	if (c->closing || c->busy || c->in_len)
		return false;
	if (c->in_kernel && (!kernel_path_may_send(&s->kp, c->id) ||
			     kernel_path_owes(&s->kp, c->id)))
		return false;
	conn_close(s, c);
	return true;
}

static void response_done(struct server *s, struct conn *c)
{
	c->busy = false;
	metrics_count_response(&s->metrics, c->method, c->status);
	if (c->log) {
		c->log->status = c->status;
		c->log->body_bytes = c->resp_bytes - c->head_bytes;
		access_log_write(s->access_log, c->log, s->date_sec);
	}
	if (!c->done_published)
		publish_done(s, c, 0);
	c->done_published = false;
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	if (c->close_after)
		conn_close(s, c);
	else
		conn_process(s, c);
}

/* ---- building responses --------------------------------------------- */

/* Starts a response whose header block is h, with body either the error
 * page (for error statuses) or nothing (the caller adds a file). */
static bool put_head(struct server *s, struct conn *c, struct http_head *h)
{
	refresh_date(s);
	h->date = s->date_sec;
	h->keep_alive = !c->close_after;
	c->status = h->status;
	c->resp_bytes = 0;
	c->out_len = c->head_bytes = http_head_build(c->out, OUT_CAP, h, NULL);
	c->out_off = 0;
	return c->out_len > 0;
}

static void respond_error(struct server *s, struct conn *c, int status,
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
	if (!put_head(s, c, &h)) {
		conn_close(s, c);
		return;
	}
	if (!head_only && c->out_len + body_len <= OUT_CAP) {
		memcpy(c->out + c->out_len, body, body_len);
		c->out_len += body_len;
	}
	respond(s, c);
}

static void respond_redirect(struct server *s, struct conn *c,
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
	if (!put_head(s, c, &h)) {
		conn_close(s, c);
		return;
	}
	if (req->method != HTTP_HEAD && c->out_len + body_len <= OUT_CAP) {
		memcpy(c->out + c->out_len, body, body_len);
		c->out_len += body_len;
	}
	respond(s, c);
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
static int open_target(struct server *s, const struct http_request *req,
		       struct stat *st, bool *is_index, int *status)
{
	int fd = files_open(s->root_fd, req->path, false);

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
static void maybe_admit(struct server *s, const struct conn *c,
			const struct http_request *req, bool is_index)
{
	char key[FS_KEY_MAX], file[HTTP_PATH_MAX + 16];
	struct http_scan scan;

	if (!s->cache)
		return;
	http_classify(&scan, (const __u8 *)c->in, req->head_len);
	if (scan.out.frame != HTTP_FRAME_DONE || !scan.out.cacheable)
		return;
	memcpy(key, c->in + scan.out.path_off, scan.out.path_len);
	key[scan.out.path_len] = '\0';
	snprintf(file, sizeof(file), "%s%s", req->path,
		 is_index ? "index.html" : "");
	cache_admit(s->cache, key, file);
}

static void respond_file(struct server *s, struct conn *c,
			 const struct http_request *req)
{
	bool head_only = req->method == HTTP_HEAD, is_index;
	uint64_t first = 0, last = 0, size;
	struct http_etag etag;
	struct http_head h;
	struct stat st;
	int status = 0;
	int fd = open_target(s, req, &st, &is_index, &status);

	if (fd < 0) {
		if (status == 301)
			respond_redirect(s, c, req);
		else
			respond_error(s, c, status, head_only, NULL);
		return;
	}
	files_head_init(&h, &etag, &st, is_index ? "index.html" : req->path,
			!c->close_after);
	size = st.st_size;
	if (precondition_failed(req, &etag, &st)) {
		close(fd);
		respond_error(s, c, 412, head_only, NULL);
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
			if (put_head(s, c, &h))
				respond(s, c);
			else
				conn_close(s, c);
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
			maybe_admit(s, c, req, is_index);
	}
	if (!put_head(s, c, &h)) {
		close(fd);
		conn_close(s, c);
		return;
	}
	if (head_only || h.content_length == 0) {
		close(fd);
	} else if (!attach_body(c, fd, first, h.content_length)) {
		close(fd);
		conn_close(s, c);
		return;
	}
	respond(s, c);
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

static bool is_metrics_request(const struct server *s, const struct conn *c,
			       const struct http_request *req)
{
	if (c->metrics_only)
		return true;
	return s->listen_fd[LISTEN_METRICS] < 0 &&
	       req->path_len == strlen(METRICS_PATH) &&
	       memcmp(req->path, METRICS_PATH, req->path_len) == 0;
}

/* Prometheus text exposition: never cached, always fresh. */
static void respond_metrics(struct server *s, struct conn *c, bool head_only)
{
	struct http_head h = {
		.status = 200,
		.content_type = "text/plain; version=0.0.4; charset=utf-8",
		.last_modified = -1,
	};
	struct fs_stats kstats;
	struct cache_stats cstats;
	bool kernel = s->kernel && kernel_path_read_stats(&s->kp, &kstats) == 0;
	char *body = c->out + OUT_CAP / 2;
	size_t len;

	if (s->cache)
		cache_get_stats(s->cache, &cstats);
	len = metrics_render(body, OUT_CAP / 2, &s->metrics,
			     kernel ? &kstats : NULL, s->cache ? &cstats : NULL,
			     s->start_time);
	if (len == 0) {
		respond_error(s, c, 500, head_only, NULL);
		return;
	}
	h.content_length = len;
	if (!put_head(s, c, &h) || c->out_len > OUT_CAP / 2) {
		conn_close(s, c);
		return;
	}
	if (!head_only) {
		memmove(c->out + c->out_len, body, len);
		c->out_len += len;
	}
	respond(s, c);
}

static void handle_request(struct server *s, struct conn *c,
			   const struct http_request *req)
{
	bool head_only = req->method == HTTP_HEAD;

	c->close_after = !req->keep_alive || s->draining;
	c->method = req->method == HTTP_GET ? METRICS_GET :
		    head_only ? METRICS_HEAD : METRICS_OTHER;
	if (c->log)
		note_request(c, req);
	switch (req->method) {
	case HTTP_GET:
	case HTTP_HEAD:
		if (is_metrics_request(s, c, req))
			respond_metrics(s, c, head_only);
		else
			respond_file(s, c, req);
		break;
	case HTTP_OTHER:
		respond_error(s, c, 501, false, NULL);
		break;
	default:
		respond_error(s, c, 405, head_only, "GET, HEAD");
		break;
	}
}

/* Parses and answers the next buffered request, or asks for more bytes. */
static void conn_process(struct server *s, struct conn *c)
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
			arm_recv(s, c);
			return;
		}
	}
	if (c->in_len == 0) {
		c->head_start = 0;
		if (s->draining && drain_idle(s, c))
			return;
		arm_recv(s, c);
		return;
	}
	switch (http_parse_request(c->in, c->in_len, &req, &status)) {
	case HTTP_PARSE_INCOMPLETE:
		if (!c->head_start)
			c->head_start = now_sec();
		arm_recv(s, c);
		return;
	case HTTP_PARSE_ERROR:
		c->method = METRICS_OTHER;
		if (c->log)
			note_request(c, NULL);
		c->busy = true;
		c->req_bytes = c->in_len;
		c->in_len = 0;
		c->close_after = true;
		respond_error(s, c, status, false, NULL);
		return;
	case HTTP_PARSE_DONE:
		break;
	}
	c->busy = true;
	c->head_start = 0;
	c->req_bytes = req.head_len + req.content_length;
	handle_request(s, c, &req);
	/* req points into in: consume the head only once it is answered
	 * (handle_request has copied what it needs into out) */
	memmove(c->in, c->in + req.head_len, c->in_len - req.head_len);
	c->in_len -= req.head_len;
	c->discard = req.content_length;
}

/* ---- completions ---------------------------------------------------- */

static void on_recv(struct server *s, struct conn *c, struct io_uring_cqe *cqe)
{
	if (cqe->res == -ENOBUFS) {
		/* every buffer is out: they come back within this batch */
		arm_recv(s, c);
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
		struct io_uring_sqe *sqe = get_sqe(s);

		io_uring_prep_timeout(sqe, &s->retry_ts, 0, 0);
		conn_submit(c, sqe, OP_RECV_RETRY);
		return;
	}
	if (cqe->res <= 0) {
		conn_close(s, c);
		return;
	}
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		char *buf = s->bufs + (size_t)bid * RECV_BUF_SIZE;
		size_t n = cqe->res;

		if (n > IN_CAP - c->in_len)
			n = IN_CAP - c->in_len;
		memcpy(c->in + c->in_len, buf, n);
		c->in_len += n;
		s->metrics.rx_bytes += n;
		io_uring_buf_ring_add(s->buf_ring, buf, RECV_BUF_SIZE, bid,
				      io_uring_buf_ring_mask(RECV_BUFS), 0);
		io_uring_buf_ring_advance(s->buf_ring, 1);
	}
	c->last_active = now_sec();
	conn_process(s, c);
}

/* res more bytes of the response are in the socket. */
static void count_sent(struct server *s, struct conn *c, int res)
{
	c->last_active = now_sec();
	s->metrics.tx_bytes += res;
	c->resp_bytes += res;
}

/* As much of the file as the socket takes now: sendfile() hands it page
 * references, as nginx does (no pipe: an unprivileged user's pipes share
 * fs.pipe-user-pages-soft, and 1,000 downloads at once starved on it). The
 * socket is non-blocking: when it is full, wait for room. */
static void send_file(struct server *s, struct conn *c)
{
	size_t n = c->file_left < SENDFILE_MAX ? c->file_left : SENDFILE_MAX;
	ssize_t sent = sendfile(c->fd, c->file_fd, &c->file_off, n);
	struct io_uring_sqe *sqe;

	if (sent == 0) {
		/* The header promised more: all we can do is close. */
		s->metrics.faults[FAULT_FILE_SHRANK]++;
		log_warn("a file shrank while being sent: response cut "
			 "short, connection closed");
		conn_close(s, c);
		return;
	}
	if (sent < 0 && errno != EAGAIN) {
		conn_close(s, c);
		return;
	}
	if (sent > 0) {
		count_sent(s, c, sent);
		c->file_left -= sent;
		if (!c->file_left) {
			response_done(s, c);
			return;
		}
	}
	/* more next time round the ring, after the other connections */
	sqe = get_sqe(s);
	io_uring_prep_poll_add(sqe, c->fd, POLLOUT);
	conn_submit(c, sqe, OP_POLL_OUT);
}

/* The next step of the response: the rest of the header block, the rest
 * of the file, or nothing. */
static void response_next(struct server *s, struct conn *c)
{
	if (c->out_off < c->out_len)
		send_out(s, c);
	else if (c->file_left)
		send_file(s, c);
	else
		response_done(s, c);
}

static void on_send(struct server *s, struct conn *c, int res)
{
	if (res <= 0) {
		conn_close(s, c);
		return;
	}
	count_sent(s, c, res);
	c->out_off += res;
	response_next(s, c);
}

static struct conn *conn_new(struct server *s, int fd, bool metrics_only)
{
	struct conn *c = NULL;
	unsigned i;
	int one = 1, sndbuf = KERNEL_SNDBUF;
	struct timeval head_timeout = { .tv_sec = s->cfg->header_timeout };

	for (i = 0; i < s->cfg->max_conns; i++)
		if (!s->conns[i].used) {
			c = &s->conns[i];
			break;
		}
	if (!c) {
		s->metrics.faults[FAULT_CONN_LIMIT]++;
		if (!s->limit_logged)
			log_warn("connection limit (%u) reached; refusing",
				 s->cfg->max_conns);
		s->limit_logged = true;
		close(fd);
		return NULL;
	}
	s->limit_logged = false;
	*c = (struct conn){ .used = true, .fd = fd, .id = i, .file_fd = -1,
			    .last_active = now_sec(),
			    .metrics_only = metrics_only };
	s->metrics.conns_opened++;
	s->metrics.conns_active++;
	c->in = malloc(IN_CAP);
	c->out = malloc(OUT_CAP);
	if (s->access_log)
		c->log = calloc(1, sizeof(*c->log));
	if (!c->in || !c->out || (s->access_log && !c->log)) {
		log_error("out of memory for a connection");
		conn_close(s, c);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->log) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);

		if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
			c->log->peer = peer.sin_addr;
	}
	if (!s->kernel || metrics_only)
		return c;

	/* A cached response is pushed in one go or not at all: give it room
	 * (memory is charged only for what is really queued). Plain
	 * SO_SNDBUF would be capped by net.core.wmem_max, below autotuning. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	/* A partial head waits inside the kernel's stream parser, unseen by
	 * us; the parser gives up on it after the socket's receive timeout. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &head_timeout,
		   sizeof(head_timeout));
	if (kernel_path_add_conn(&s->kp, fd, c->id, &c->cookie) == 0) {
		c->in_kernel = true;
	} else {
		s->metrics.faults[FAULT_SOCKHASH_INSERT]++;
	}
	return c;
}

static void arm_accept(struct server *s, enum listener l)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	io_uring_prep_multishot_accept(sqe, s->listen_fd[l], NULL, NULL,
				       SOCK_CLOEXEC | SOCK_NONBLOCK);
	io_uring_sqe_set_data64(sqe, tag(OP_ACCEPT, l));
	s->accept_armed[l] = true;
}

static void on_accept(struct server *s, struct io_uring_cqe *cqe)
{
	enum listener l = (uint32_t)cqe->user_data;
	struct conn *c;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		s->accept_armed[l] = false;
	if (cqe->res < 0) {
		/* a drain shuts the listeners down: no news */
		if (cqe->res != -ECANCELED && !s->draining)
			log_warn("accept: %s", strerror(-cqe->res));
		return;
	}
	c = conn_new(s, cqe->res, l == LISTEN_METRICS);
	if (c)
		conn_process(s, c);
}

static void arm_tick(struct server *s)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	io_uring_prep_timeout(sqe, &s->tick_ts, 0, 0);
	io_uring_sqe_set_data64(sqe, tag(OP_TICK, 0));
}

/* Once a second: the clock, the cache's quarantine, and timeouts. */
static void on_tick(struct server *s)
{
	uint64_t now = now_sec();
	unsigned i;

	refresh_date(s);
	if (s->cache)
		cache_tick(s->cache);
	if (s->access_log)
		access_log_flush(s->access_log);
	for (i = 0; i < s->cfg->max_conns; i++) {
		struct conn *c = &s->conns[i];

		if (!c->used || c->closing)
			continue;
		if (c->in_kernel) {
			uint32_t act = kernel_path_activity(&s->kp, c->id);

			if (act != c->kernel_activity) {
				c->kernel_activity = act;
				c->last_active = now;
			}
		}
		if (c->busy ? now - c->last_active > s->cfg->send_timeout :
		    c->head_start ? now - c->head_start > s->cfg->header_timeout :
		    now - c->last_active > s->cfg->idle_timeout)
			conn_close(s, c);
		else if (s->draining)
			drain_idle(s, c);
	}
	arm_tick(s);
}

static void arm_inotify(struct server *s)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	io_uring_prep_read(sqe, cache_event_fd(s->cache), s->inotify_buf,
			   sizeof(s->inotify_buf), 0);
	io_uring_sqe_set_data64(sqe, tag(OP_INOTIFY, 0));
}

static void on_completion(struct server *s, struct io_uring_cqe *cqe)
{
	enum op op = cqe->user_data >> 32;
	struct conn *c;

	switch (op) {
	case OP_ACCEPT:
		on_accept(s, cqe);
		return;
	case OP_TICK:
		on_tick(s);
		return;
	case OP_INOTIFY:
		if (cqe->res > 0)
			cache_handle_events(s->cache, s->inotify_buf, cqe->res);
		arm_inotify(s);
		return;
	default:
		break;
	}
	c = &s->conns[(uint32_t)cqe->user_data];
	c->inflight--;
	if (c->closing) {
		if (op == OP_RECV && cqe->flags & IORING_CQE_F_BUFFER) {
			unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

			io_uring_buf_ring_add(s->buf_ring,
					      s->bufs + (size_t)bid * RECV_BUF_SIZE,
					      RECV_BUF_SIZE, bid,
					      io_uring_buf_ring_mask(RECV_BUFS), 0);
			io_uring_buf_ring_advance(s->buf_ring, 1);
		}
		if (c->inflight == 0)
			conn_free(c);
		return;
	}
	switch (op) {
	case OP_RECV:
		on_recv(s, c, cqe);
		break;
	case OP_SEND:
		on_send(s, c, cqe->res);
		break;
	case OP_WAIT_KERNEL:
		respond(s, c);
		break;
	case OP_POLL_OUT:
		send_file(s, c);
		break;
	case OP_RECV_RETRY:
		arm_recv(s, c);
		break;
	case OP_POLL_IN:	/* its linked recv completes next */
	default:
		break;
	}
}

/* Caches the small files of the document root that are not yet. */
static void preload(struct server *s)
{
	const struct server_config *cfg = s->cfg;

	cache_preload(s->cache, PRELOAD_MAX,
		      cfg->metrics_port && cfg->metrics_port != cfg->port ?
		      NULL : METRICS_PATH);
}

/* SIGHUP: a rotated access log is reopened, and the document root is
 * scanned again for small files to cache (changes to cached ones are seen
 * by inotify already). Connections are not touched. */
static void reload(struct server *s)
{
	log_info("reloading: settings, access log, document root scan");
	sd_notify(0, "RELOADING=1");
	if (!config_reload(s->cfg))
		log_warn("reload: settings unchanged");
	if (s->access_log)
		access_log_reopen(s->access_log, s->cfg->access_log);
	if (s->cache)
		preload(s);
	sd_notify(0, "READY=1");
}

/* ---- shutting down ------------------------------------------------- */

/* Stops accepting, closes what is idle now; the rest is closed as it
 * becomes idle (its last response says Connection: close), or at the
 * deadline. */
static void drain_start(struct server *s)
{
	unsigned i;

	s->draining = true;
	s->drain_deadline = now_sec() + s->cfg->shutdown_timeout;
	sd_notify(0, "STOPPING=1");
	for (i = 0; i < LISTENERS; i++)
		if (s->listen_fd[i] >= 0)
			shutdown(s->listen_fd[i], SHUT_RDWR);
	for (i = 0; i < s->cfg->max_conns; i++)
		if (s->conns[i].used)
			drain_idle(s, &s->conns[i]);
	log_info("draining: %llu connection(s) busy (at most %u s)",
		 (unsigned long long)s->metrics.conns_active,
		 s->cfg->shutdown_timeout);
}

/* ---- set-up --------------------------------------------------------- */

static int listen_on(const struct server_config *cfg, uint16_t port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr = cfg->bind_addr,
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	unsigned tries = 0;

	if (fd < 0) {
		log_error("socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	while (bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		/* A killed server's io_uring is torn down after the process,
		 * and holds its listener a moment longer: wait it out. */
		if (errno != EADDRINUSE || tries++ == BIND_TRIES)
			goto fail;
		if (tries == 1)
			log_warn("port %u in use; retrying for %u s", port,
				 BIND_TRIES * BIND_RETRY_MS / 1000);
		usleep(BIND_RETRY_MS * 1000);
	}
	if (listen(fd, 4096))
		goto fail;
	return fd;
fail:
	log_error("listening on port %u: %s", port, strerror(errno));
	close(fd);
	return -1;
}

static int setup_buffers(struct server *s)
{
	size_t ring_size = RECV_BUFS * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg = { .ring_entries = RECV_BUFS,
					.bgid = RECV_GROUP };
	int err, i;

	s->buf_ring = mmap(NULL, ring_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s->bufs = malloc((size_t)RECV_BUFS * RECV_BUF_SIZE);
	if (s->buf_ring == MAP_FAILED || !s->bufs) {
		log_error("allocating receive buffers: %s", strerror(errno));
		return -1;
	}
	reg.ring_addr = (unsigned long)s->buf_ring;
	err = io_uring_register_buf_ring(&s->ring, &reg, 0);
	if (err) {
		log_error("registering receive buffers: %s", strerror(-err));
		return -1;
	}
	io_uring_buf_ring_init(s->buf_ring);
	for (i = 0; i < RECV_BUFS; i++)
		io_uring_buf_ring_add(s->buf_ring, s->bufs + (size_t)i * RECV_BUF_SIZE,
				      RECV_BUF_SIZE, i,
				      io_uring_buf_ring_mask(RECV_BUFS), i);
	io_uring_buf_ring_advance(s->buf_ring, RECV_BUFS);
	return 0;
}

static void setup_kernel_path(struct server *s)
{
	const struct server_config *cfg = s->cfg;
	uint64_t chunks = cfg->cache_size / FS_CHUNK_SIZE;

	if (!cfg->kernel_cache) {
		log_info("kernel cache disabled (-n): serving from userspace");
		return;
	}
	if (kernel_path_open(&s->kp, chunks) == 0) {
		s->kernel = true;
		s->cache = cache_new(&s->kp, ".", s->root_fd,
				     cfg->cache_max_file);
	}
	if (!s->kernel || !s->cache) {
		log_warn("the eBPF kernel path is unavailable (see above); "
			 "serving everything from userspace");
		if (s->kernel)
			kernel_path_close(&s->kp);
		s->kernel = false;
		return;
	}
	log_info("eBPF kernel path on: %llu MiB cache, files up to %llu KiB",
		 (unsigned long long)cfg->cache_size >> 20,
		 (unsigned long long)cfg->cache_max_file >> 10);
}

static void server_cleanup(struct server *s)
{
	unsigned i;

	/* The ring lets go of the listening socket only after we exit: free
	 * the port now, so that a restart can bind it at once. */
	for (i = 0; i < LISTENERS; i++)
		if (s->listen_fd[i] >= 0)
			shutdown(s->listen_fd[i], SHUT_RDWR);

	for (i = 0; i < s->cfg->max_conns; i++)
		if (s->conns[i].used) {
			if (s->conns[i].in_kernel)
				kernel_path_del_conn(&s->kp, i,
						     s->conns[i].cookie);
			s->conns[i].inflight = 0;
			conn_free(&s->conns[i]);
		}
	io_uring_queue_exit(&s->ring);
	cache_free(s->cache);
	if (s->kernel)
		kernel_path_close(&s->kp);
	free(s->conns);
	free(s->bufs);
	if (s->buf_ring && s->buf_ring != MAP_FAILED)
		munmap(s->buf_ring, RECV_BUFS * sizeof(struct io_uring_buf));
	if (s->root_fd >= 0)
		close(s->root_fd);
	for (i = 0; i < LISTENERS; i++)
		if (s->listen_fd[i] >= 0)
			close(s->listen_fd[i]);
	access_log_close(s->access_log);
}

int server_run(struct server_config *cfg)
{
	struct server s = { .cfg = cfg, .listen_fd = { -1, -1 }, .root_fd = -1,
			    .tick_ts = { .tv_sec = 1 },
			    .wait_ts = { .tv_nsec = 20000 },
			    .retry_ts = { .tv_nsec = 1000000 } };
	struct sigaction sa = { .sa_handler = on_signal };
	int err, status = 1;
	enum listener i;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	s.root_fd = open(cfg->docroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.root_fd < 0) {
		log_error("document root '%s': %s", cfg->docroot,
			  strerror(errno));
		return 1;
	}
	s.conns = calloc(cfg->max_conns, sizeof(*s.conns));
	err = io_uring_queue_init(RING_ENTRIES, &s.ring, 0);
	if (!s.conns || err) {
		log_error("io_uring set-up: %s", err ? strerror(-err) :
			  "out of memory");
		free(s.conns);
		close(s.root_fd);
		return 1;
	}
	s.start_time = time(NULL);
	s.listen_fd[LISTEN_MAIN] = listen_on(cfg, cfg->port);
	if (s.listen_fd[LISTEN_MAIN] < 0 || setup_buffers(&s))
		goto out;
	if (cfg->metrics_port && cfg->metrics_port != cfg->port) {
		s.listen_fd[LISTEN_METRICS] = listen_on(cfg, cfg->metrics_port);
		if (s.listen_fd[LISTEN_METRICS] < 0)
			goto out;
	}
	if (cfg->access_log) {
		s.access_log = access_log_open(cfg->access_log);
		if (!s.access_log)
			goto out;
	}
	/* The cache walks and watches the tree by path: relative to the root,
	 * paths need no search permission on the directories above it, which
	 * the user we drop to may not have. */
	if (fchdir(s.root_fd)) {
		log_error("document root '%s': %s", cfg->docroot,
			  strerror(errno));
		goto out;
	}
	setup_kernel_path(&s);
	if (privilege_drop(cfg->user, cfg->user_explicit,
			   s.kernel ? s.kp.stats_fd : -1, s.root_fd,
			   cfg->docroot))
		goto out;
	/* Only now: a file the user we run as cannot read must not be
	 * answered from the cache either. */
	if (s.cache)
		preload(&s);
	refresh_date(&s);

	for (i = 0; i < LISTENERS; i++)
		if (s.listen_fd[i] >= 0)
			arm_accept(&s, i);
	arm_tick(&s);
	if (s.cache)
		arm_inotify(&s);
	log_info("serving '%s' on port %u", cfg->docroot, cfg->port);
	/* systemd's Type=notify: a no-op without $NOTIFY_SOCKET */
	sd_notify(0, "READY=1");

	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, count = 0;

		if (reload_requested) {
			reload_requested = 0;
			reload(&s);
		}
		if (stop_requested && !s.draining)
			drain_start(&s);
		if (s.draining && (stop_requested > 1 ||
				   s.metrics.conns_active == 0 ||
				   now_sec() >= s.drain_deadline))
			break;

		err = io_uring_submit_and_wait(&s.ring, 1);
		if (err < 0 && err != -EINTR && err != -ETIME) {
			log_error("io_uring: %s", strerror(-err));
			goto out;
		}
		io_uring_for_each_cqe(&s.ring, head, cqe) {
			on_completion(&s, cqe);
			count++;
		}
		io_uring_cq_advance(&s.ring, count);
		for (i = 0; i < LISTENERS; i++)
			if (!s.draining && s.listen_fd[i] >= 0 &&
			    !s.accept_armed[i])
				arm_accept(&s, i);
	}
	if (s.metrics.conns_active)
		log_warn("stopping: %llu connection(s) cut short",
			 (unsigned long long)s.metrics.conns_active);
	else
		log_info("stopping");
	status = 0;
out:
	server_cleanup(&s);
	return status;
}
