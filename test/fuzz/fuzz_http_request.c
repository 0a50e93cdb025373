// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness for the userspace request parser, http_parse_request()
 * (user/http_request.c).
 *
 * The input is handed over in a buffer of exactly its length, so ASan flags
 * any read past len. Checked on every input:
 *  - the result is DONE, INCOMPLETE or ERROR; ERROR sets a status in
 *    {400, 413, 414, 417, 431, 501, 505}, the others leave it alone;
 *    INCOMPLETE only while the input is under HTTP_MAX_HEAD;
 *  - DONE: 0 < head_len <= min(len, HTTP_MAX_HEAD) and the head ends in an
 *    empty line; every pointer lies inside the head; the path is
 *    NUL-terminated, path_len long, starts with '/' (or is "*" for
 *    OPTIONS *), has no empty, "." or ".." segment and no control byte, and
 *    equals what a straightforward decode + RFC 3986 5.2.4 reference makes of
 *    the target; Host, Connection, Transfer-Encoding and Expect as the
 *    field lines say; Range well-formed;
 *  - prefixes: a prefix of the input is INCOMPLETE or gives exactly the
 *    whole input's answer (a server calls the parser again as bytes arrive).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http_request.h"

#include "fuzz_util.h"

FUZZ_OWN_BEGIN

static const uint8_t *FUZZ_IN;
static size_t FUZZ_LEN;

struct result {
	enum http_parse_status st;
	int status;
	struct http_request req;
};

/* Parse a private copy of the first n bytes; pointers are rebased onto d. */
static void parse(const uint8_t *d, size_t n, struct result *r)
{
	uint8_t *p = fuzz_copy(d, n);
	const char *b = (const char *)p;

	r->status = -12345;
	r->st = http_parse_request(b, n, &r->req, &r->status);
#define REBASE(f) if (r->req.f) \
		r->req.f = (const char *)d + (r->req.f - b)
	REBASE(method_token);
	REBASE(target);
	REBASE(if_none_match);
	REBASE(if_range);
	REBASE(user_agent);
	REBASE(referer);
#undef REBASE
	free(p);
}

static bool is_ctl(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

static bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* ---- reference path normalisation ---- */

static int hexval(uint8_t c)
{
	c = fuzz_lower(c);
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Percent-decode [s, s+n), then split at '/' (decoded ones too), drop empty
 * and "." segments, let ".." drop the segment before it (an error with none
 * left), and end in '/' when the last segment was "", "." or "..".
 * Returns false when the path is refused.
 */
static bool ref_normalise(const uint8_t *s, size_t n, char *out, size_t cap,
			  size_t *out_len)
{
	uint8_t *dec = malloc(n + 1);
	size_t *seg = malloc((n + 1) * sizeof(*seg));	/* starts in out */
	size_t dn = 0, i, nseg = 0, o = 1, a;
	bool ok = false;

	if (!dec || !seg)
		abort();
	for (i = 0; i < n; i++) {
		int c = s[i];

		if (c == '%') {
			if (i + 2 >= n)
				goto out;
			if (hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				goto out;
			c = hexval(s[i + 1]) << 4 | hexval(s[i + 2]);
			i += 2;
		}
		if (c != '/' && is_ctl((uint8_t)c))
			goto out;
		dec[dn++] = (uint8_t)c;
	}
	out[0] = '/';
	for (a = 0; a <= dn;) {
		size_t b = a;
		size_t len;

		while (b < dn && dec[b] != '/')
			b++;
		len = b - a;
		if (len == 0 || (len == 1 && dec[a] == '.')) {
			/* nothing */
		} else if (len == 2 && dec[a] == '.' && dec[a + 1] == '.') {
			if (!nseg)
				goto out;
			o = seg[--nseg];
		} else {
			if (o + len + 1 >= cap)
				goto out;
			seg[nseg++] = o;
			memcpy(out + o, dec + a, len);
			o += len;
			out[o++] = '/';
		}
		if (b == dn) {
			/* the last segment: keep its '/' only if it was a
			 * directory reference ("", "." or "..") */
			bool dir = len == 0 || (len == 1 && dec[a] == '.') ||
				   (len == 2 && dec[a] == '.' &&
				    dec[a + 1] == '.');

			if (!dir && o > 1)
				o--;
			break;
		}
		a = b + 1;
	}
	out[o] = '\0';
	*out_len = o;
	ok = true;
out:
	free(dec);
	free(seg);
	return ok;
}

/* The raw path of the target, as the parser documents it. */
static bool ref_raw_path(const struct http_request *q, const uint8_t **p,
			 size_t *n)
{
	const uint8_t *s = (const uint8_t *)q->target;
	const uint8_t *end = s + q->target_len, *a, *e;

	if (s[0] != '/') {
		if (q->target_len >= 7 && fuzz_ieq(s, 7, "http://"))
			s += 7;
		else if (q->target_len >= 8 && fuzz_ieq(s, 8, "https://"))
			s += 8;
		else
			return false;
		for (a = s; a < end && *a != '/' && *a != '?' && *a != '#'; a++)
			;
		s = a;
	}
	for (e = s; e < end && *e != '?' && *e != '#'; e++)
		;
	*p = s;
	*n = (size_t)(e - s);
	return true;
}

/* ---- field lines of a framed head, as the parser should read them ---- */

struct seen {
	unsigned hosts;
	unsigned te;
	bool bad_expect;
	bool conn_close;
	bool conn_keep_alive;
};

static void ref_fields(const uint8_t *d, size_t head_len, struct seen *sn)
{
	size_t pos = 0, line = 0;

	memset(sn, 0, sizeof(*sn));
	while (pos < head_len && (d[pos] == '\r' || d[pos] == '\n'))
		pos++;
	while (pos < head_len) {
		const uint8_t *l = d + pos, *lf, *colon, *v;
		size_t len, vn;

		lf = memchr(l, '\n', head_len - pos);
		len = (size_t)(lf - l);
		pos += len + 1;
		if (len && l[len - 1] == '\r')
			len--;
		if (line++ == 0)
			continue;
		if (len == 0)
			break;
		colon = memchr(l, ':', len);
		if (!colon)
			continue;	/* the parser would have said 400 */
		v = colon + 1;
		vn = len - (size_t)(v - l);
		while (vn && is_ows(v[0])) {
			v++;
			vn--;
		}
		while (vn && is_ows(v[vn - 1]))
			vn--;
		if (fuzz_ieq(l, (size_t)(colon - l), "host")) {
			sn->hosts++;
		} else if (fuzz_ieq(l, (size_t)(colon - l),
				    "transfer-encoding")) {
			sn->te++;
		} else if (fuzz_ieq(l, (size_t)(colon - l), "expect")) {
			if (!fuzz_ieq(v, vn, "100-continue"))
				sn->bad_expect = true;
		} else if (fuzz_ieq(l, (size_t)(colon - l), "connection")) {
			const uint8_t *t = v, *end = v + vn;

			while (t <= end) {
				const uint8_t *c = memchr(t, ',',
							  (size_t)(end - t));
				const uint8_t *te = c ? c : end, *ts = t;
				size_t tn;

				while (ts < te && is_ows(*ts))
					ts++;
				tn = (size_t)(te - ts);
				while (tn && is_ows(ts[tn - 1]))
					tn--;
				if (fuzz_ieq(ts, tn, "close"))
					sn->conn_close = true;
				else if (fuzz_ieq(ts, tn, "keep-alive"))
					sn->conn_keep_alive = true;
				if (!c)
					break;
				t = c + 1;
			}
		}
	}
}

/* ---- checks ---- */

static bool inside(const uint8_t *d, size_t head_len, const char *p,
		   size_t n)
{
	const uint8_t *u = (const uint8_t *)p;

	return u >= d && u <= d + head_len && n <= (size_t)(d + head_len - u);
}

static void check_done(const uint8_t *d, size_t n, const struct result *r)
{
	const struct http_request *q = &r->req;
	size_t h = q->head_len, i, raw_n, ref_n;
	const uint8_t *raw;
	static char ref[HTTP_MAX_URI + 16];	/* holds any target */
	struct seen sn;

	CHECK(h > 0 && h <= n && h <= HTTP_MAX_HEAD,
	      "DONE with head_len %zu of %zu bytes", h, n);
	CHECK(d[h - 1] == '\n' &&
	      (h >= 2 && (d[h - 2] == '\n' ||
			  (h >= 3 && d[h - 2] == '\r' && d[h - 3] == '\n'))),
	      "head of %zu bytes does not end in an empty line", h);

	CHECK(q->method_token && inside(d, h, q->method_token, q->method_len) &&
	      q->method_len > 0, "method token outside the head");
	CHECK((q->method == HTTP_GET) ==
	      (q->method_len == 3 && !memcmp(q->method_token, "GET", 3)),
	      "method %d for token '%.*s'", q->method, (int)q->method_len,
	      q->method_token);
	CHECK((q->method == HTTP_HEAD) ==
	      (q->method_len == 4 && !memcmp(q->method_token, "HEAD", 4)),
	      "method %d for token '%.*s'", q->method, (int)q->method_len,
	      q->method_token);
	CHECK(q->version_minor == 0 || q->version_minor == 1,
	      "version 1.%d", q->version_minor);
	CHECK(q->target && inside(d, h, q->target, q->target_len) &&
	      q->target_len > 0 && q->target_len <= HTTP_MAX_URI,
	      "target [%p, +%zu) outside the head", (const void *)q->target,
	      q->target_len);
	for (i = 0; i < q->target_len; i++)
		CHECK(!is_ctl((uint8_t)q->target[i]),
		      "control byte 0x%02x in the target",
		      (uint8_t)q->target[i]);
	CHECK(!q->if_none_match ||
	      inside(d, h, q->if_none_match, q->if_none_match_len),
	      "If-None-Match value outside the head");
	CHECK(!q->if_range || inside(d, h, q->if_range, q->if_range_len),
	      "If-Range value outside the head");
	CHECK(!q->user_agent || inside(d, h, q->user_agent, q->user_agent_len),
	      "User-Agent value outside the head");
	CHECK(!q->referer || inside(d, h, q->referer, q->referer_len),
	      "Referer value outside the head");
	CHECK(q->if_modified_since >= -1, "if_modified_since %lld",
	      (long long)q->if_modified_since);
	CHECK(q->content_length <= HTTP_MAX_BODY,
	      "content_length %llu accepted",
	      (unsigned long long)q->content_length);

	/* Range */
	if (q->range.present) {
		CHECK(q->range.suffix ? q->range.last == UINT64_MAX
				      : q->range.first <= q->range.last,
		      "range suffix %d first %llu last %llu", q->range.suffix,
		      (unsigned long long)q->range.first,
		      (unsigned long long)q->range.last);
	} else {
		CHECK(!q->range.suffix && !q->range.unsatisfiable_syntax,
		      "absent range with suffix %d unsatisfiable %d",
		      q->range.suffix, q->range.unsatisfiable_syntax);
	}

	/* path */
	CHECK(q->path_len > 0 && q->path_len < HTTP_PATH_MAX &&
	      strnlen(q->path, HTTP_PATH_MAX) == q->path_len,
	      "path_len %zu, strnlen %zu", q->path_len,
	      strnlen(q->path, HTTP_PATH_MAX));
	if (q->path[0] == '*') {
		CHECK(q->path_len == 1 && q->method == HTTP_OPTIONS &&
		      q->target_len == 1 && q->target[0] == '*',
		      "path \"%s\" for method %d", q->path, q->method);
		return;
	}
	CHECK(q->path[0] == '/', "path \"%s\" does not start with '/'",
	      q->path);
	CHECK(!strstr(q->path, "//") && !strstr(q->path, "/./") &&
	      !strstr(q->path, "/../"),
	      "path \"%s\" has an empty or dot segment", q->path);
	CHECK(!(q->path_len >= 2 && !strcmp(q->path + q->path_len - 2, "/.")) &&
	      !(q->path_len >= 3 &&
		!strcmp(q->path + q->path_len - 3, "/..")),
	      "path \"%s\" ends in a dot segment", q->path);
	for (i = 0; i < q->path_len; i++)
		CHECK(!is_ctl((uint8_t)q->path[i]),
		      "control byte 0x%02x in the path", (uint8_t)q->path[i]);
	CHECK(q->path_had_trailing_slash == (q->path[q->path_len - 1] == '/'),
	      "path_had_trailing_slash %d for \"%s\"",
	      q->path_had_trailing_slash, q->path);
	CHECK(ref_raw_path(q, &raw, &raw_n),
	      "DONE for a target that is neither origin- nor absolute-form");
	CHECK(ref_normalise(raw, raw_n, ref, sizeof(ref), &ref_n),
	      "DONE with path \"%s\" for a raw path the reference refuses",
	      q->path);
	CHECK(ref_n == q->path_len && memcmp(ref, q->path, ref_n) == 0,
	      "path \"%s\", reference \"%s\"", q->path, ref);

	/* fields */
	ref_fields(d, h, &sn);
	CHECK(sn.hosts <= 1, "DONE with %u Host fields", sn.hosts);
	CHECK(!sn.hosts || q->has_host, "Host field but has_host false");
	CHECK(q->version_minor == 0 || q->has_host,
	      "HTTP/1.1 request without a host accepted");
	CHECK(!sn.te == !q->chunked,
	      "DONE with %u Transfer-Encoding field(s), chunked %d", sn.te,
	      q->chunked);
	CHECK(!q->chunked || (q->version_minor == 1 && !q->content_length),
	      "a chunked body with HTTP/1.%d or a Content-Length",
	      q->version_minor);
	CHECK(!sn.bad_expect, "DONE with an Expect other than 100-continue");
	CHECK(q->keep_alive == (!sn.conn_close &&
				(q->version_minor == 1 || sn.conn_keep_alive)),
	      "keep_alive %d (close %d, keep-alive %d, HTTP/1.%d)",
	      q->keep_alive, sn.conn_close, sn.conn_keep_alive,
	      q->version_minor);
}

static void check_one(const uint8_t *d, size_t n, const struct result *r)
{
	switch (r->st) {
	case HTTP_PARSE_DONE:
		CHECK(r->status == -12345, "DONE wrote status %d", r->status);
		check_done(d, n, r);
		break;
	case HTTP_PARSE_INCOMPLETE:
		CHECK(r->status == -12345, "INCOMPLETE wrote status %d",
		      r->status);
		CHECK(n < HTTP_MAX_HEAD,
		      "INCOMPLETE with %zu bytes, HTTP_MAX_HEAD is %d", n,
		      HTTP_MAX_HEAD);
		break;
	case HTTP_PARSE_ERROR:
		CHECK(r->status == 400 || r->status == 413 ||
		      r->status == 414 || r->status == 417 ||
		      r->status == 431 || r->status == 501 ||
		      r->status == 505, "ERROR with status %d", r->status);
		break;
	default:
		CHECK(0, "parse status %d", (int)r->st);
	}
}

/* Same answer: status, and for DONE everything the server uses. */
static bool same(const struct result *a, const struct result *b)
{
	const struct http_request *p = &a->req, *q = &b->req;

	if (a->st != b->st)
		return false;
	if (a->st == HTTP_PARSE_ERROR)
		return a->status == b->status;
	if (a->st != HTTP_PARSE_DONE)
		return true;
	return p->head_len == q->head_len && p->method == q->method &&
	       p->method_token == q->method_token &&
	       p->method_len == q->method_len &&
	       p->version_minor == q->version_minor &&
	       p->path_len == q->path_len && !strcmp(p->path, q->path) &&
	       p->target == q->target && p->target_len == q->target_len &&
	       p->keep_alive == q->keep_alive && p->has_host == q->has_host &&
	       p->if_none_match == q->if_none_match &&
	       p->if_modified_since == q->if_modified_since &&
	       p->if_range == q->if_range &&
	       !memcmp(&p->range, &q->range, sizeof(p->range)) &&
	       p->content_length == q->content_length &&
	       p->user_agent == q->user_agent && p->referer == q->referer;
}

static const char *st_name(enum http_parse_status st)
{
	return st == HTTP_PARSE_DONE ? "DONE" :
	       st == HTTP_PARSE_INCOMPLETE ? "INCOMPLETE" : "ERROR";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct result full, part;
	size_t splits[FUZZ_MAX_SPLITS], around[3], ns, i;

	FUZZ_IN = data;
	FUZZ_LEN = size;

	parse(data, size, &full);
	check_one(data, size, &full);

	around[0] = full.st == HTTP_PARSE_DONE ? full.req.head_len : 0;
	around[1] = HTTP_MAX_HEAD;
	around[2] = HTTP_MAX_URI;
	ns = fuzz_splits(data, size, around, 3, splits);
	for (i = 0; i < ns; i++) {
		size_t k = splits[i];

		parse(data, k, &part);
		check_one(data, k, &part);
		CHECK(part.st == HTTP_PARSE_INCOMPLETE || same(&part, &full),
		      "prefix of %zu bytes: %s (status %d, head_len %zu); "
		      "whole input: %s (status %d, head_len %zu)", k,
		      st_name(part.st), part.status,
		      part.st == HTTP_PARSE_DONE ? part.req.head_len : 0,
		      st_name(full.st), full.status,
		      full.st == HTTP_PARSE_DONE ? full.req.head_len : 0);
	}
	return 0;
}

FUZZ_OWN_END
