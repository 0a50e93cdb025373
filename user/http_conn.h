/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * HTTP on a connection's buffers: takes the next request out of what was
 * received, puts its response (head, and a small body or a file to send)
 * where the worker sends it from, and says what the worker does next. No
 * ring, no socket: the worker carries the steps out.
 */
#ifndef HTTP_CONN_H
#define HTTP_CONN_H

#include <stdbool.h>
#include <time.h>

#include "conn.h"

struct server;
struct cache;
struct open_files;
struct access_log;
struct kernel_path;
struct user_metrics;

/* What a worker's connections are answered with. */
struct http_conn_env {
	const struct server *srv;	/* the root, workers' metrics */
	struct kernel_path *kp;		/* NULL: the kernel path is off */
	struct cache *cache;		/* NULL: nothing to admit */
	struct open_files *open_files;	/* the worker's small files kept open */
	struct access_log *access_log;	/* NULL: no log */
	struct user_metrics *metrics;	/* the worker's */
	bool metrics_on_main;		/* /metrics answered on the main port */
	bool draining;			/* every response closes */
	time_t date;			/* now, for Date and the log */
};

enum http_conn_step {
	HTTP_CONN_IDLE,		/* nothing buffered: receive, or close */
	HTTP_CONN_MORE,		/* a head or body under way: receive */
	HTTP_CONN_RESPOND,	/* c->out and c->file_* hold the response */
	HTTP_CONN_CLOSE,	/* close now: no response can be made */
};

/* The next step for c, which is not busy: on RESPOND it is busy with the
 * response to the request now consumed from c->in. */
enum http_conn_step http_conn_next(const struct http_conn_env *env,
				   struct conn *c);

/* c's response is going out whole: its access log line (with the log
 * on), before the kernel may answer the next request on c. */
void http_conn_log(const struct http_conn_env *env, struct conn *c);

/* c's response is out: counts it, and makes c not busy. */
void http_conn_finish(const struct http_conn_env *env, struct conn *c);

#endif /* HTTP_CONN_H */
