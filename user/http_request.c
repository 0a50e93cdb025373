// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * HTTP/1.x request-head parser (RFC 9110, RFC 9112).
 *
 * Two passes. Framing finds where the head ends, or decides it is too long to
 * wait for; only then are the request line and field lines interpreted, each
 * known to be whole. A client sending its head in pieces thus costs a memchr()
 * per piece until the head is complete.
 *
 * The parser is strict wherever leniency could make it disagree with another
 * parser on the path about where a message ends or what it says (obs-fold,
 * whitespace before a colon, a lone CR, Transfer-Encoding next to
 * Content-Length). It is lenient only where nginx is, so that clients which
 * work there work here: bare LF line ends, empty lines before the request.
 */
#include "http_request.h"
#include "http_date.h"
#include "http_target.h"
#include "http_chars.h"

#include <string.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Room on the request line besides the target: method, two spaces, version
 * and CRLF. A longer line without its end is answered 414 before the rest
 * arrives.
 */
#define REQUEST_LINE_SLACK	64
#define REQUEST_LINE_MAX	(HTTP_MAX_URI + REQUEST_LINE_SLACK)

static const char *const method_names[] = {
	[HTTP_GET] = "GET",
	[HTTP_HEAD] = "HEAD",
	[HTTP_POST] = "POST",
	[HTTP_PUT] = "PUT",
	[HTTP_DELETE] = "DELETE",
	[HTTP_OPTIONS] = "OPTIONS",
	[HTTP_PATCH] = "PATCH",
	[HTTP_TRACE] = "TRACE",
	[HTTP_CONNECT] = "CONNECT",
};

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static void trim_ows(const char **s, size_t *n)
{
	while (*n && is_ows((*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_ows((*s)[*n - 1]))
		(*n)--;
}

/* 1*DIGIT, saturating at UINT64_MAX: any such value is too big anyway. */
static bool parse_u64(const char *s, size_t n, uint64_t *v)
{
	size_t i;

	if (n == 0)
		return false;
	*v = 0;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return false;
		if (*v > (UINT64_MAX - d) / 10)
			*v = UINT64_MAX;
		else
			*v = *v * 10 + d;
	}
	return true;
}

/* ---- framing ---- */

struct line {
	const char *p;
	size_t len;		/* without the LF and a CR before it */
};

struct head {
	struct line request_line;
	size_t fields;		/* offset of the first field line */
};

/* The line at *pos, if its LF lies before lim; *pos moves past the LF. */
static bool next_line(const char *buf, size_t lim, size_t *pos,
		      struct line *l)
{
	const char *lf = memchr(buf + *pos, '\n', lim - *pos);

	if (!lf)
		return false;
	l->p = buf + *pos;
	l->len = (size_t)(lf - l->p);
	if (l->len && l->p[l->len - 1] == '\r')
		l->len--;
	*pos = (size_t)(lf - buf) + 1;
	return true;
}

static enum http_parse_status parse_error(int *status, int code)
{
	*status = code;
	return HTTP_PARSE_ERROR;
}

/* The head has not ended within len bytes: wait, unless it is too long. */
static enum http_parse_status need_more(size_t len, int *status)
{
	if (len >= HTTP_MAX_HEAD)
		return parse_error(status, 431);
	return HTTP_PARSE_INCOMPLETE;
}

static bool request_line_has_version(const struct line *l)
{
	const char *sp = memchr(l->p, ' ', l->len);

	return sp && memchr(sp + 1, ' ', l->len - (size_t)(sp + 1 - l->p));
}

/* A byte no method holds comes before the request line's first space:
 * this is no HTTP (a TLS ClientHello starts 0x16), and no end of line is
 * worth waiting for. As nginx, answer it at once. */
static bool method_is_bad(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && p[i] != ' '; i++)
		if (!http_tchar((unsigned char)p[i]))
			return true;
	return false;
}

/* Bytes of empty lines skipped before a request line: a few are a client's
 * habit, thousands are not a request. */
#define LEADING_EMPTY_MAX	16

/*
 * Finds the request line and the blank line ending the head, so that the
 * passes after this one only ever see whole lines.
 */
static enum http_parse_status frame_head(const char *buf, size_t len,
					 struct head *h, size_t *head_len,
					 int *status)
{
	size_t lim = min_size(len, HTTP_MAX_HEAD);
	size_t pos, start;
	struct line l;

	/*
	 * RFC 9112 2.2: a server should skip empty lines before the request
	 * line; some clients send a CRLF after a body. A CR must still be
	 * followed by LF.
	 */
	for (pos = 0; pos < lim && (buf[pos] == '\r' || buf[pos] == '\n');
	     pos++)
		if ((buf[pos] == '\r' && pos + 1 < len && buf[pos + 1] != '\n') ||
		    pos >= LEADING_EMPTY_MAX)
			return parse_error(status, 400);

	start = pos;
	if (!next_line(buf, min_size(len, start + REQUEST_LINE_MAX), &pos,
		       &h->request_line)) {
		/* only as far as a line may reach: past it the answer is 414,
		 * whatever comes later */
		if (method_is_bad(buf + start,
				  min_size(len - start, REQUEST_LINE_MAX)))
			return parse_error(status, 400);
		if (len - start >= REQUEST_LINE_MAX)
			return parse_error(status, 414);
		return need_more(len, status);
	}
	/* the same answer as while the line was still coming in */
	if (method_is_bad(h->request_line.p, h->request_line.len))
		return parse_error(status, 400);
	if (pos > lim)
		return parse_error(status, 431);
	/* No second space: HTTP/0.9, or garbage. No field line can make it
	 * valid, so do not wait for the end of a head. */
	if (!request_line_has_version(&h->request_line))
		return parse_error(status, 400);

	h->fields = pos;
	do {
		if (!next_line(buf, lim, &pos, &l))
			return need_more(len, status);
	} while (l.len != 0);
	*head_len = pos;
	return HTTP_PARSE_DONE;
}

/* ---- request line and target ---- */

static enum http_method method_of(const char *s, size_t n)
{
	size_t m;

	/* Methods are case-sensitive (RFC 9110 9.1): "get" is not GET. */
	for (m = HTTP_GET; m < ARRAY_SIZE(method_names); m++)
		if (strlen(method_names[m]) == n &&
		    memcmp(method_names[m], s, n) == 0)
			return (enum http_method)m;
	return HTTP_OTHER;
}

/* "HTTP/1.x"; another well-formed major version is 505. A later 1.x is
 * answered as 1.1, the highest we speak (RFC 9110 2.5). */
static int parse_version(const char *s, size_t n, int *minor)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 ||
	    s[5] < '0' || s[5] > '9' || s[6] != '.' || s[7] < '0' || s[7] > '9')
		return 400;
	if (s[5] != '1')
		return 505;
	*minor = s[7] > '1' ? 1 : s[7] - '0';
	return 0;
}

/* method SP request-target SP HTTP-version, single spaces only */
static int parse_request_line(struct http_request *req, const struct line *l)
{
	const char *end = l->p + l->len;
	const char *sp;
	int err;

	/* its bytes are tokens: frame_head() refused the line otherwise */
	sp = memchr(l->p, ' ', l->len);
	if (!sp || sp == l->p)
		return 400;
	req->method_token = l->p;
	req->method_len = (size_t)(sp - l->p);
	req->method = method_of(req->method_token, req->method_len);

	req->target = sp + 1;
	sp = memchr(req->target, ' ', (size_t)(end - req->target));
	/* A line without a version is HTTP/0.9, which we do not speak. */
	if (!sp || sp == req->target)
		return 400;
	req->target_len = (size_t)(sp - req->target);

	err = parse_version(sp + 1, (size_t)(end - sp - 1),
			    &req->version_minor);
	if (err)
		return err;
	if (req->target_len > HTTP_MAX_URI)
		return 414;
	return http_parse_target(req);
}

/* ---- field lines ---- */

/* What the field lines said that is decided only once all are read. */
struct fields {
	struct http_request *req;
	unsigned int hosts;
	unsigned int ranges;
	bool has_content_length;
	unsigned te_codings;		/* in Transfer-Encoding fields */
	bool te_chunked_last;		/* chunked is the last of them */
	bool te_chunked_before;		/* and came before another one */
	bool bad_expect;
	bool conn_close;
	bool conn_keep_alive;
	bool seen_if_modified_since;
	bool seen_if_unmodified_since;
};

/* A repeated singleton field is a client bug; keep the first, as nginx. */
static void capture(const char **dst, size_t *dst_len, const char *v,
		    size_t n)
{
	if (*dst)
		return;
	*dst = v;
	*dst_len = n;
}

static int field_host(struct fields *f, const char *v, size_t n)
{
	size_t i;

	/* RFC 9112 3.2: more than one Host is a 400, equal or not, and so
	 * is one that is not uri-host [":" port] */
	for (i = 0; i < n; i++)
		if (!http_host_char((unsigned char)v[i]))
			return 400;
	return f->hosts++ ? 400 : 0;
}

static int field_content_length(struct fields *f, const char *v, size_t n)
{
	uint64_t cl;

	if (!parse_u64(v, n, &cl))
		return 400;
	/*
	 * Equal repeats are harmless. Differing ones would let us and another
	 * parser on the path disagree about where the body ends.
	 */
	if (f->has_content_length && cl != f->req->content_length)
		return 400;
	f->has_content_length = true;
	f->req->content_length = cl;
	return 0;
}

/* A list of transfer codings, over however many fields: only where chunked
 * stands in it matters (RFC 9112 6.1). */
static int field_transfer_encoding(struct fields *f, const char *v, size_t n)
{
	const char *end = v + n;

	while (v <= end) {
		const char *comma = memchr(v, ',', (size_t)(end - v));
		const char *tok = v;
		size_t len = (size_t)((comma ? comma : end) - v);

		trim_ows(&tok, &len);
		if (len) {
			if (f->te_chunked_last)
				f->te_chunked_before = true;
			f->te_chunked_last = http_ieq(tok, len, "chunked");
			f->te_codings++;
		}
		if (!comma)
			break;
		v = comma + 1;
	}
	/* a field with no coding at all still says there is a body */
	if (!f->te_codings)
		f->te_codings = 1;
	return 0;
}

/* A comma-separated list of tokens: only close and keep-alive matter. */
static int field_connection(struct fields *f, const char *v, size_t n)
{
	const char *end = v + n;

	while (v < end) {
		const char *comma = memchr(v, ',', (size_t)(end - v));
		const char *tok = v;
		size_t len = (size_t)((comma ? comma : end) - v);

		trim_ows(&tok, &len);
		if (http_ieq(tok, len, "close"))
			f->conn_close = true;
		else if (http_ieq(tok, len, "keep-alive"))
			f->conn_keep_alive = true;
		v = comma ? comma + 1 : end;
	}
	return 0;
}

/* RFC 9110 10.1.1: 100-continue is the only expectation there is. */
static int field_expect(struct fields *f, const char *v, size_t n)
{
	if (!http_ieq(v, n, "100-continue"))
		f->bad_expect = true;
	return 0;
}

/* "bytes=A-B", "bytes=A-" or "bytes=-N"; anything else leaves r alone. */
static void parse_range(struct http_range *r, const char *v, size_t n)
{
	const char *end = v + n, *dash;
	uint64_t first, last = UINT64_MAX;

	if (n < 6 || !http_ieq(v, 6, "bytes="))
		return;
	v += 6;
	dash = memchr(v, '-', (size_t)(end - v));
	if (!dash)
		return;
	if (dash == v) {
		if (!parse_u64(dash + 1, (size_t)(end - dash - 1), &first))
			return;
		r->suffix = true;
		/* RFC 9110 14.1.1: an empty suffix selects nothing */
		r->unsatisfiable_syntax = first == 0;
	} else {
		/* A ',' fails these: a list of ranges is ignored. */
		if (!parse_u64(v, (size_t)(dash - v), &first))
			return;
		if (dash + 1 < end &&
		    !parse_u64(dash + 1, (size_t)(end - dash - 1), &last))
			return;
		/* RFC 9110 14.1.1: last < first makes the range invalid */
		if (last < first)
			return;
		/* parse_u64() saturates; no file reaches this offset */
		r->unsatisfiable_syntax = first == UINT64_MAX;
	}
	r->first = first;
	r->last = last;
	r->present = true;
}

static int field_range(struct fields *f, const char *v, size_t n)
{
	/* Two Range fields are two opinions: serve the whole file. */
	if (f->ranges++) {
		f->req->range = (struct http_range){ .present = false };
		return 0;
	}
	parse_range(&f->req->range, v, n);
	return 0;
}

static int field_if_modified_since(struct fields *f, const char *v, size_t n)
{
	if (!f->seen_if_modified_since)
		f->req->if_modified_since = http_date_parse(v, n);
	f->seen_if_modified_since = true;
	return 0;
}

static int field_if_unmodified_since(struct fields *f, const char *v,
				     size_t n)
{
	if (!f->seen_if_unmodified_since)
		f->req->if_unmodified_since = http_date_parse(v, n);
	f->seen_if_unmodified_since = true;
	return 0;
}

static int field_if_match(struct fields *f, const char *v, size_t n)
{
	capture(&f->req->if_match, &f->req->if_match_len, v, n);
	return 0;
}

static int field_if_none_match(struct fields *f, const char *v, size_t n)
{
	capture(&f->req->if_none_match, &f->req->if_none_match_len, v, n);
	return 0;
}

static int field_if_range(struct fields *f, const char *v, size_t n)
{
	capture(&f->req->if_range, &f->req->if_range_len, v, n);
	return 0;
}

static int field_user_agent(struct fields *f, const char *v, size_t n)
{
	capture(&f->req->user_agent, &f->req->user_agent_len, v, n);
	return 0;
}

static int field_referer(struct fields *f, const char *v, size_t n)
{
	capture(&f->req->referer, &f->req->referer_len, v, n);
	return 0;
}

static int field_accept_encoding(struct fields *f, const char *v, size_t n)
{
	capture(&f->req->accept_encoding, &f->req->accept_encoding_len, v, n);
	return 0;
}

/* Handlers return 0 or the status that refuses the request. */
static const struct {
	const char *name;	/* lowercase */
	int (*fn)(struct fields *f, const char *v, size_t n);
} field_handlers[] = {
	{ "host", field_host },
	{ "content-length", field_content_length },
	{ "transfer-encoding", field_transfer_encoding },
	{ "connection", field_connection },
	{ "expect", field_expect },
	{ "range", field_range },
	{ "if-modified-since", field_if_modified_since },
	{ "if-none-match", field_if_none_match },
	{ "if-match", field_if_match },
	{ "if-unmodified-since", field_if_unmodified_since },
	{ "if-range", field_if_range },
	{ "user-agent", field_user_agent },
	{ "referer", field_referer },
	{ "accept-encoding", field_accept_encoding },
};

static int parse_field_line(struct fields *f, const struct line *l)
{
	const char *end = l->p + l->len;
	const char *v, *p;
	size_t name_len = 0, i;
	size_t n;

	/*
	 * obs-fold: RFC 9112 5.2 lets a server reject it, and unfolding would
	 * mean rewriting the caller's buffer.
	 */
	if (is_ows(l->p[0]))
		return 400;
	while (name_len < l->len && http_tchar((unsigned char)l->p[name_len]))
		name_len++;
	/* Also whitespace before the colon, a 400 by RFC 9112 5.1. */
	if (name_len == 0 || name_len == l->len || l->p[name_len] != ':')
		return 400;

	v = l->p + name_len + 1;
	for (p = v; p < end; p++)
		if (http_ctl((unsigned char)*p) && *p != '\t')
			return 400;
	n = (size_t)(end - v);
	trim_ows(&v, &n);

	for (i = 0; i < ARRAY_SIZE(field_handlers); i++)
		if (http_ieq(l->p, name_len, field_handlers[i].name))
			return field_handlers[i].fn(f, v, n);
	return 0;
}

static int parse_fields(struct fields *f, const char *buf, size_t pos,
			size_t head_len)
{
	unsigned int count = 0;
	struct line l;
	int err;

	while (next_line(buf, head_len, &pos, &l) && l.len != 0) {
		if (++count > HTTP_MAX_HEADERS)
			return 431;
		err = parse_field_line(f, &l);
		if (err)
			return err;
	}
	return 0;
}

/* The checks that need every field line seen. */
static int check_request(struct http_request *req, const struct fields *f)
{
	if (f->hosts)
		req->has_host = true;
	/* RFC 9112 3.2: an HTTP/1.1 request without Host is a 400 */
	if (req->version_minor == 1 && !req->has_host)
		return 400;
	/*
	 * RFC 9112 6.1: Transfer-Encoding with Content-Length is how requests
	 * get smuggled, and from an HTTP/1.0 client it is faulty framing: 400
	 * (then close). A body in chunked coding alone is read and dropped;
	 * chunked not last, or applied twice, leaves its end unknown: 400.
	 * Other codings (gzip, ...) are not understood: 501, as nginx.
	 */
	if (f->te_codings) {
		if (f->has_content_length || req->version_minor == 0 ||
		    f->te_chunked_before)
			return 400;
		if (!f->te_chunked_last || f->te_codings > 1)
			return 501;
		req->chunked = true;
	}
	if (req->content_length > HTTP_MAX_BODY)
		return 413;
	if (f->bad_expect)
		return 417;
	/* close wins over keep-alive: either side may end the connection */
	req->keep_alive = !f->conn_close &&
			  (req->version_minor == 1 || f->conn_keep_alive);
	return 0;
}

enum http_parse_status http_parse_request(const char *buf, size_t len,
					  struct http_request *req,
					  int *status)
{
	struct fields f = { .req = req };
	enum http_parse_status st;
	struct head h;
	int err;

	*req = (struct http_request){ .if_modified_since = -1,
				      .if_unmodified_since = -1 };
	st = frame_head(buf, len, &h, &req->head_len, status);
	if (st != HTTP_PARSE_DONE)
		return st;

	err = parse_request_line(req, &h.request_line);
	if (!err)
		err = parse_fields(&f, buf, h.fields, req->head_len);
	if (!err)
		err = check_request(req, &f);
	if (err)
		return parse_error(status, err);
	return HTTP_PARSE_DONE;
}

enum http_keep http_requests_keep(const char *buf, size_t len)
{
	struct http_request req;
	size_t off = 0;
	int status;

	while (off < len) {
		switch (http_parse_request(buf + off, len - off, &req,
					   &status)) {
		case HTTP_PARSE_INCOMPLETE:
			return HTTP_KEEP_PARTIAL;
		case HTTP_PARSE_ERROR:
			return HTTP_KEEP_CLOSES;
		case HTTP_PARSE_DONE:
			break;
		}
		/* a chunked body's end is found only by reading it: such a
		 * connection stays with userspace */
		if (!req.keep_alive || req.chunked)
			return HTTP_KEEP_CLOSES;
		if (req.content_length > len - off - req.head_len)
			return HTTP_KEEP_PARTIAL;
		off += req.head_len + req.content_length;
	}
	return HTTP_KEEP_WHOLE;
}
