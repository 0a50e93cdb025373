/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * HTTP/1.x request-head parser for the userspace server.
 *
 * Parsing copies nothing but the path: every other string is a pointer into
 * the caller's buffer, valid for as long as that buffer is.
 */
#ifndef HTTP_REQUEST_H
#define HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum http_method {
	HTTP_OTHER,		/* a valid token we do not know; see method_token */
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_DELETE,
	HTTP_OPTIONS,
	HTTP_PATCH,
	HTTP_TRACE,
	HTTP_CONNECT,
};

enum http_parse_status {
	HTTP_PARSE_DONE,
	HTTP_PARSE_INCOMPLETE,
	HTTP_PARSE_ERROR,
};

#define HTTP_MAX_URI		8192		/* request-target longer -> 414 */
#define HTTP_MAX_HEAD		16384		/* whole head longer -> 431 */
#define HTTP_MAX_HEADERS	100		/* more field lines -> 431 */
#define HTTP_MAX_BODY		(1024 * 1024)	/* Content-Length above -> 413 */
#define HTTP_PATH_MAX		4096		/* decoded path, NUL included */

/*
 * A single byte range. Range is ignored (present is false, a 200 follows, as
 * nginx does) when it is absent, repeated, not in bytes, holds more than one
 * range or is malformed, "bytes=5-2" included.
 */
struct http_range {
	bool present;
	bool suffix;		/* "bytes=-N": the last N bytes, first = N */
	uint64_t first;
	uint64_t last;		/* UINT64_MAX for an open end, "bytes=A-" */
	/*
	 * Well-formed, but no file can satisfy it: "bytes=-0", or a first
	 * position of 2^64 - 1 or more. The answer is 416 whatever the size.
	 */
	bool unsatisfiable_syntax;
};

struct http_request {
	enum http_method method;
	const char *method_token;	/* points into buf; case-sensitive */
	size_t method_len;
	int version_minor;		/* HTTP/1.0 or HTTP/1.1 */
	/*
	 * Percent-decoded and normalised, NUL-terminated, always starting
	 * with '/' except for "OPTIONS *", where it is "*".
	 */
	char path[HTTP_PATH_MAX];
	size_t path_len;
	bool path_had_trailing_slash;	/* path ends in '/'; "/" does */
	const char *target;		/* raw request-target, query included */
	size_t target_len;
	bool keep_alive;		/* version default, then Connection */
	bool has_host;			/* a Host field */
	const char *if_none_match;	/* raw value, NULL if absent */
	size_t if_none_match_len;
	time_t if_modified_since;	/* -1 if absent or invalid */
	const char *if_match;		/* raw value, NULL if absent */
	size_t if_match_len;
	time_t if_unmodified_since;	/* -1 if absent or invalid */
	const char *if_range;		/* raw value, NULL if absent */
	size_t if_range_len;
	struct http_range range;
	uint64_t content_length;	/* 0 if absent */
	bool chunked;			/* a body in chunked coding follows */
	size_t head_len;		/* through the blank line ending the head */
	const char *user_agent;		/* NULL if absent */
	size_t user_agent_len;
	const char *referer;		/* NULL if absent */
	size_t referer_len;
	const char *accept_encoding;	/* the first one; NULL if absent */
	size_t accept_encoding_len;
};

/*
 * Parses the head at the start of the len bytes at buf, reading none beyond.
 * Bytes after head_len (a body, a pipelined request) are left alone.
 *
 * DONE: req is filled in. INCOMPLETE: the head has not ended yet and is not
 * too long yet; call again with more bytes. ERROR: *status is the response
 * to send before closing (400, 413, 414, 417, 431, 501 or 505); it is not
 * written otherwise. String values of repeated fields are the first copy's.
 */
enum http_parse_status http_parse_request(const char *buf, size_t len,
					  struct http_request *req,
					  int *status);

/* What the len bytes at buf hold, read from a request's first byte on. */
enum http_keep {
	HTTP_KEEP_WHOLE,	/* whole requests (bodies too), none closing */
	HTTP_KEEP_PARTIAL,	/* such requests, then the start of another */
	HTTP_KEEP_CLOSES,	/* one closes the connection, is refused, or
				 * has a chunked body: it stays userspace's */
};

enum http_keep http_requests_keep(const char *buf, size_t len);

#endif /* HTTP_REQUEST_H */
