// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * HTTP on a connection's buffers (http_conn.h). One request at a time: the
 * next pipelined request is parsed only when the previous response is out,
 * so responses keep request order by construction. What to answer is
 * static_file.c's decision, or /metrics; this file puts the answer into the
 * connection's output buffer and keeps the request's accounting.
 */
#include <string.h>
#include <unistd.h>

#include "access_log.h"
#include "cache.h"
#include "clock.h"
#include "http_classify.h"
#include "http_conn.h"
#include "http_response.h"
#include "kernel_path.h"
#include "metrics.h"
#include "server.h"
#include "static_file.h"

/* Starts the response with head h, dated now, keeping the connection open
 * unless it is to close. */
static bool put_head(const struct http_conn_env *env, struct conn *c,
		     struct http_head *h)
{
	h->date = env->date;
	h->keep_alive = !c->close_after;
	c->status = h->status;
	c->resp_bytes = 0;
	c->out_len = c->head_bytes = http_head_build(c->out, CONN_OUT_CAP, h,
						     NULL);
	c->out_off = 0;
	return c->out_len > 0;
}

/* Appends len bytes to the header block: a small body goes out with it. */
static bool put_inline(struct conn *c, const char *body, size_t len)
{
	if (c->out_len + len > CONN_OUT_CAP)
		return false;
	memcpy(c->out + c->out_len, body, len);
	c->out_len += len;
	return true;
}

/* Sets up a file body: copied into out when small, else sent from the
 * file. Takes fd, closing it on failure or once copied, unless the
 * open-file table keeps it (kept): then the file is copied now, or sent
 * from an fd of its own, for the table may close its fd at any time. */
static bool put_file(struct conn *c, int fd, bool kept, uint64_t off,
		     uint64_t len)
{
	size_t done = 0;

	if (len > CONN_SMALL_BODY || c->out_len + len > CONN_OUT_CAP) {
		if (kept && (fd = dup(fd)) < 0)
			return false;
		c->file_fd = fd;
		c->file_off = off;
		c->file_left = len;
		return true;
	}
	while (done < len) {
		ssize_t n = pread(fd, c->out + c->out_len + done, len - done,
				  off + done);

		if (n <= 0)
			break;	/* truncated meanwhile */
		done += n;
	}
	if (!kept)
		close(fd);
	c->out_len += done;
	return done == len;
}

/* Puts what the plan says. */
static enum http_conn_step put_plan(const struct http_conn_env *env,
				    struct conn *c, struct static_file_plan *p)
{
	bool ok;

	c->close_after |= p->close_after;
	ok = put_head(env, c, &p->head);
	if (p->body == STATIC_BODY_INLINE)
		ok = ok && put_inline(c, p->inline_body, p->inline_len);
	else if (p->body == STATIC_BODY_FILE && ok)
		ok = put_file(c, p->fd, p->fd_kept, p->file_off, p->file_len);
	else if (p->body == STATIC_BODY_FILE && !p->fd_kept)
		close(p->fd);
	return ok ? HTTP_CONN_RESPOND : HTTP_CONN_CLOSE;
}

static enum http_conn_step put_error(const struct http_conn_env *env,
				     struct conn *c, int status,
				     bool head_only)
{
	struct static_file_plan p;

	static_file_error(&p, status, head_only, NULL);
	return put_plan(env, c, &p);
}

/* A whole 200 of a file for a request the kernel's classifier would take:
 * admit it, so that the next one is answered without waking us. Not for
 * HTTPS, which the kernel never answers: an HTTPS-only site would fill
 * the cache for nobody, and pay for it on every request. */
static void maybe_admit(const struct http_conn_env *env, const struct conn *c,
			const struct http_request *req,
			const struct static_file_plan *p)
{
	char key[FS_KEY_MAX];
	struct http_scan scan;

	if (!env->cache || !p->cacheable || c->tls)
		return;
	http_classify(&scan, (const __u8 *)c->in, req->head_len);
	if (scan.out.frame != HTTP_FRAME_DONE || !scan.out.cacheable)
		return;
	memcpy(key, c->in + scan.out.path_off, scan.out.path_len);
	key[scan.out.path_len] = '\0';
	cache_admit(env->cache, key, p->file);
}

static bool is_metrics_request(const struct http_conn_env *env,
			       const struct conn *c,
			       const struct http_request *req)
{
	if (c->metrics_only)
		return true;
	return env->metrics_on_main &&
	       req->path_len == strlen(METRICS_PATH) &&
	       memcmp(req->path, METRICS_PATH, req->path_len) == 0;
}

/* Prometheus text exposition: never cached, always fresh. Rendered into
 * the second half of out, then moved up behind the head. */
static enum http_conn_step put_metrics(const struct http_conn_env *env,
				       struct conn *c, bool head_only)
{
	struct http_head h = {
		.status = 200,
		.content_type = "text/plain; version=0.0.4; charset=utf-8",
		.last_modified = -1,
	};
	const struct server *srv = env->srv;
	struct fs_stats kstats;
	struct cache_stats cstats;
	bool kernel = env->kp && kernel_path_read_stats(env->kp, &kstats) == 0;
	char *body = c->out + CONN_OUT_CAP / 2;
	size_t len;

	if (env->cache)
		cache_get_stats(env->cache, &cstats);
	len = metrics_render(body, CONN_OUT_CAP / 2, srv->worker_metrics,
			     srv->nworkers,
			     kernel ? &kstats : NULL,
			     env->cache ? &cstats : NULL, srv->start_time);
	if (len == 0)
		return put_error(env, c, 500, head_only);
	h.content_length = len;
	if (!put_head(env, c, &h) || c->out_len > CONN_OUT_CAP / 2)
		return HTTP_CONN_CLOSE;
	if (!head_only) {
		memmove(c->out + c->out_len, body, len);
		c->out_len += len;
	}
	return HTTP_CONN_RESPOND;
}

static enum http_conn_step answer(const struct http_conn_env *env,
				  struct conn *c,
				  const struct http_request *req)
{
	struct static_file_plan plan;

	c->close_after = !req->keep_alive || env->draining;
	c->method = req->method == HTTP_GET ? METRICS_GET :
		    req->method == HTTP_HEAD ? METRICS_HEAD : METRICS_OTHER;
	if (c->log)
		access_entry_note(c->log, c->in, req->head_len, req);
	if ((req->method == HTTP_GET || req->method == HTTP_HEAD) &&
	    is_metrics_request(env, c, req))
		return put_metrics(env, c, req->method == HTTP_HEAD);
	static_file_plan(&plan, env->srv->root_fd, env->open_files, req,
			 &env->srv->files);
	maybe_admit(env, c, req, &plan);
	return put_plan(env, c, &plan);
}

/* Skips what is left of an answered request's body. Returns whether all
 * of it is gone. */
static bool discard_body(struct conn *c)
{
	size_t n = c->discard < c->in_len ? c->discard : c->in_len;

	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
	c->discard -= n;
	return c->discard == 0;
}

/*
 * A chunked body is read before the request is answered, so that a bad or
 * oversized one is refused with its status: its bytes are dropped from
 * after the head, which stays in place to be parsed again as more come.
 * Returns 0 once it has ended, HTTP_CHUNKED_MORE, or the refusing status.
 */
static int drop_chunked(struct conn *c, size_t head_len)
{
	size_t used = 0;
	int r;

	if (!c->chunked) {
		http_chunked_init(&c->chunks);
		c->chunked = true;
	}
	r = http_chunked_read(&c->chunks, c->in + head_len,
			      c->in_len - head_len, HTTP_MAX_BODY, &used);
	memmove(c->in + head_len, c->in + head_len + used,
		c->in_len - head_len - used);
	c->in_len -= used;
	if (r != HTTP_CHUNKED_MORE)
		c->chunked = false;
	return r;
}

/* A head that did not parse: answered with status, then closed. */
static enum http_conn_step refuse(const struct http_conn_env *env,
				  struct conn *c, int status)
{
	c->method = METRICS_OTHER;
	if (c->log)
		access_entry_note(c->log, c->in, c->in_len, NULL);
	c->busy = true;
	c->req_bytes = c->in_len;
	c->in_len = 0;
	c->close_after = true;
	return put_error(env, c, status, false);
}

enum http_conn_step http_conn_next(const struct http_conn_env *env,
				   struct conn *c)
{
	enum http_conn_step step;
	struct http_request req;
	int status = 400;

	if (c->discard && !discard_body(c))
		return HTTP_CONN_MORE;
	if (c->in_len == 0) {
		c->head_start = 0;
		return HTTP_CONN_IDLE;
	}
	switch (http_parse_request(c->in, c->in_len, &req, &status)) {
	case HTTP_PARSE_INCOMPLETE:
		if (!c->head_start)
			c->head_start = clock_now_sec();
		return HTTP_CONN_MORE;
	case HTTP_PARSE_ERROR:
		return refuse(env, c, status);
	case HTTP_PARSE_DONE:
		break;
	}
	/* as nginx does: a 400, so that the client sees what went wrong */
	if (c->plain_on_tls)
		return refuse(env, c, 400);
	if (req.chunked) {
		int r = drop_chunked(c, req.head_len);

		if (r == HTTP_CHUNKED_MORE) {
			/* the header timeout covers the body too */
			if (!c->head_start)
				c->head_start = clock_now_sec();
			return HTTP_CONN_MORE;
		}
		if (r)
			return refuse(env, c, r);
	}
	c->busy = true;
	c->head_start = 0;
	c->req_bytes = req.head_len + (req.chunked ? c->chunks.wire :
						     req.content_length);
	step = answer(env, c, &req);
	/* req points into in: consume the head only once it is answered
	 * (answer() has copied what it needs into out) */
	memmove(c->in, c->in + req.head_len, c->in_len - req.head_len);
	c->in_len -= req.head_len;
	c->discard = req.content_length;
	return step;
}

void http_conn_log(const struct http_conn_env *env, struct conn *c)
{
	if (!c->log)
		return;
	c->log->status = c->status;
	/* what is sent, and what is still to go */
	c->log->body_bytes = c->resp_bytes + (c->out_len - c->out_off) +
			     c->file_left - c->head_bytes;
	access_log_write(env->access_log, c->log, env->date);
}

void http_conn_finish(const struct http_conn_env *env, struct conn *c)
{
	c->busy = false;
	metrics_count_response(env->metrics, c->method, c->status);
}
