// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Differential harness: the kernel's classifier (shared/http_classify.h)
 * against the userspace parser (user/http_request.c) on the same bytes.
 *
 * The input is a stream on one connection. Each request in it goes through
 * both sides exactly as the server does: the kernel classifies the first
 * min(len, FS_SCAN_MAX) bytes of the stream from the message's start;
 * userspace parses what it is handed. When both frame the request the
 * stream moves on by head_len (pipelining); otherwise it stops there, as the
 * kernel hands the connection to userspace for good (UNSAFE), waits (MORE)
 * or userspace closes it (ERROR).
 *
 * Agreement, per request (C = classifier, U = parser), checked in the
 * direction that matters; anything else aborts with the input shown:
 *
 *  1. C cacheable (the kernel may answer from its cache, so its answer must
 *     be the 200, or for a revalidation it can judge the 304, userspace
 *     would send):
 *     U = DONE with head_len = C.head_len, method GET or HEAD as
 *     C.head_only says, HTTP/1.1 or 1.0, keep_alive (which for 1.0 takes a
 *     Connection: keep-alive), has_host, no If-Match,
 *     If-Unmodified-Since, If-Range or Range (an If-None-Match where U reads
 *     it, an If-Modified-Since whose bytes mean the date U parsed),
 *     content_length 0, and U's
 *     decoded, normalised path equal to the raw bytes C keys the cache
 *     with (C only accepts paths that need no decoding or normalisation),
 *     with U's target starting where C's path does; and the access log
 *     fields the kernel records where userspace finds them: the request
 *     line up to its CR, the first Referer and User-Agent values without
 *     OWS (C's length 0 where U has none).
 *  2. C DONE, not cacheable (the kernel frames H bytes and passes them
 *     on, then frames the next request from H):
 *     U = DONE with the same head_len and no body (content_length 0), or
 *     U = ERROR (userspace answers and closes). U = INCOMPLETE is a
 *     framing disagreement.
 *  3. C MORE (the kernel holds the bytes and waits): U is not DONE. U =
 *     ERROR is allowed: userspace may refuse a head before its end (a
 *     request line without a version), and the kernel only holds such
 *     bytes until it gives the connection up; it never answers them.
 *  4. C UNSAFE (the connection is userspace's for good: always safe, but it
 *     must have one of the reasons the classifier documents): U = ERROR,
 *     or within the scanned bytes a bare LF, a CR not followed by LF, a
 *     Content-Length or Transfer-Encoding field, an empty line before the
 *     request line, or a request line without a version (U not DONE), or
 *     the head not ending within FS_SCAN_MAX bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "content_coding.h"
#include "http_classify.h"
#include "http_date.h"
#include "http_request.h"

#include "fuzz_util.h"

/* Outside FUZZ_OWN: the classifier is inlined here and must be covered. */
static void classify(struct http_scan *s, const uint8_t *d, size_t n)
{
	http_classify(s, d, (__u32)n);
}

FUZZ_OWN_BEGIN

static const uint8_t *FUZZ_IN;
static size_t FUZZ_LEN;

/* Requests a stream is followed through at most. */
#define MAX_PIPELINED 64

static const char *st_name(enum http_parse_status st)
{
	return st == HTTP_PARSE_DONE ? "DONE" :
	       st == HTTP_PARSE_INCOMPLETE ? "INCOMPLETE" : "ERROR";
}

static const char *frame_name(__u32 f)
{
	return f == HTTP_FRAME_DONE ? "DONE" :
	       f == HTTP_FRAME_MORE ? "MORE" : "UNSAFE";
}

/* A line after the first one, inside [0, m), names a body field. */
static bool body_field_in(const uint8_t *d, size_t m)
{
	size_t ls, i;

	for (ls = 0; ls < m; ls++) {
		if (d[ls] != '\n' || ls + 1 >= m)
			continue;
		for (i = ls + 1; i < m && d[i] != ':' && d[i] != '\n'; i++)
			;
		if (i < m && d[i] == ':' &&
		    (fuzz_ieq(d + ls + 1, i - ls - 1, "content-length") ||
		     fuzz_ieq(d + ls + 1, i - ls - 1, "transfer-encoding")))
			return true;
	}
	return false;
}

/* Why the classifier may have said UNSAFE, or NULL if no documented reason
 * applies. */
static const char *unsafe_reason(const uint8_t *d, size_t m,
				 enum http_parse_status st,
				 const struct http_request *req)
{
	size_t w = m < FS_SCAN_MAX ? m : FS_SCAN_MAX, i;
	const uint8_t *cr;

	if (st == HTTP_PARSE_ERROR)
		return "userspace refuses the request";
	for (i = 0; i < w; i++) {
		if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			return "bare LF";
		if (d[i] == '\r' && i + 1 < w && d[i + 1] != '\n')
			return "CR not followed by LF";
	}
	if (w && (d[0] == '\r' || d[0] == '\n'))
		return "empty line before the request line";
	for (i = 0; i < w && d[i] != ' ' && d[i] != '\r'; i++)
		if (!http_tchar(d[i]))
			return "a byte no method holds (not HTTP)";
	if (body_field_in(d, w))
		return "Content-Length or Transfer-Encoding";
	cr = memchr(d, '\r', w);
	if (cr && st != HTTP_PARSE_DONE) {
		const uint8_t *sp = memchr(d, ' ', (size_t)(cr - d));

		if (!sp || sp + 2 > cr ||
		    !memchr(sp + 2, ' ', (size_t)(cr - sp - 2)))
			return "request line without a version";
	}
	if (m >= FS_SCAN_MAX &&
	    !(st == HTTP_PARSE_DONE && req->head_len <= FS_SCAN_MAX))
		return "head longer than FS_SCAN_MAX";
	return NULL;
}

/* A field the kernel logs: where userspace found it (v, rebased onto d;
 * NULL if absent), the classifier's off and len. */
static void check_logged(const uint8_t *d, const char *name, const char *v,
			 size_t n, __u32 off, __u32 len)
{
	if (!v || n == 0) {
		CHECK(len == 0, "%s: classifier logs %u bytes, userspace none",
		      name, len);
		return;
	}
	CHECK((const uint8_t *)v == d + off && n == len,
	      "%s: classifier logs [%u, +%u), userspace [%td, +%zu)", name,
	      off, len, (const uint8_t *)v - d, n);
}

/* The kernel's reading of Accept-Encoding, a mask of codings (unless it
 * left it to userspace), picks the representation userspace's reading of
 * the field picks: whatever variants there are, in whatever preference. */
static void check_encodings(const struct http_class *c,
			    const struct http_request *q)
{
	static const char *const orders[] = { "br,zstd,gzip", "gzip,br",
					      "zstd,gzip,br", "gzip" };
	struct coding_prefs p;
	unsigned o, sub;

	if (c->ae_complex)
		return;
	for (o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		coding_prefs_parse(&p, orders[o]);
		for (sub = 0; sub < 8; sub++) {
			unsigned have = (sub << 1) | 1;
			enum content_coding u, k;

			u = coding_choose(&p, have, q->accept_encoding,
					  q->accept_encoding_len);
			k = coding_for_mask(&p, have, c->ae_mask);
			CHECK(u == k, "Accept-Encoding \"%.*s\": userspace picks "
			      "%d, the kernel's mask 0x%x %d (variants 0x%x, "
			      "order %s)", (int)q->accept_encoding_len,
			      q->accept_encoding ? q->accept_encoding : "", u,
			      c->ae_mask, k, have, orders[o]);
		}
	}
}

static void check_cacheable(const uint8_t *d, size_t off,
			    const struct http_class *c,
			    enum http_parse_status st, int status,
			    const struct http_request *q)
{
	CHECK(st == HTTP_PARSE_DONE,
	      "request at %zu: kernel answers from cache, userspace says %s "
	      "(status %d)", off, st_name(st),
	      st == HTTP_PARSE_ERROR ? status : 0);
	CHECK(q->method == (c->head_only ? HTTP_HEAD : HTTP_GET),
	      "kernel answers a %s, userspace method is '%.*s'",
	      c->head_only ? "HEAD" : "GET", (int)q->method_len,
	      q->method_token);
	CHECK(q->version_minor == 1 || q->version_minor == 0,
	      "kernel answers as HTTP/1.1, userspace parsed HTTP/1.%d",
	      q->version_minor);
	CHECK(q->keep_alive,
	      "kernel answers keep-alive, userspace would close");
	CHECK(q->has_host, "kernel answers without userspace seeing a Host");
	CHECK(!q->if_range && !q->if_match && q->if_unmodified_since == -1,
	      "kernel answers a request with a precondition");
	CHECK(!q->range.present, "kernel answers 200 to a Range request");
	CHECK(q->content_length == 0,
	      "kernel answers a request with a %llu-byte body",
	      (unsigned long long)q->content_length);
	CHECK(q->path_len == c->path_len &&
	      memcmp(q->path, d + c->path_off, c->path_len) == 0,
	      "cache key \"%.*s\", userspace path \"%s\"", (int)c->path_len,
	      (const char *)d + c->path_off, q->path);
	CHECK((const uint8_t *)q->target == d + c->path_off,
	      "classifier path at %u, userspace target at %td", c->path_off,
	      (const uint8_t *)q->target - d);
	CHECK(d[c->line_len] == '\r' &&
	      !memchr(d, '\r', c->line_len) && !memchr(d, '\n', c->line_len),
	      "request line of %u bytes for the log", c->line_len);
	check_logged(d, "Referer", q->referer, q->referer_len,
		     c->referer_off, c->referer_len);
	check_logged(d, "User-Agent", q->user_agent, q->user_agent_len,
		     c->agent_off, c->agent_len);
	check_encodings(c, q);
	/* a revalidation: the kernel compares what userspace would read */
	check_logged(d, "If-None-Match", q->if_none_match,
		     q->if_none_match_len, c->inm_off, c->inm_len);
	if (c->ims_len) {
		time_t t = http_date_parse((const char *)d + c->ims_off,
					   c->ims_len);

		CHECK(t == -1 || t == q->if_modified_since,
		      "If-Modified-Since at %u: %lld for the kernel's bytes, "
		      "%lld for userspace", c->ims_off, (long long)t,
		      (long long)q->if_modified_since);
	}
}

/* One request at the start of d[0, m). Returns its length if both sides
 * framed it (the stream goes on after it), 0 otherwise. */
static size_t check_request(const uint8_t *d, size_t m, size_t off)
{
	uint8_t *copy = fuzz_copy(d, m);
	struct http_request req;
	enum http_parse_status st;
	struct http_scan s;
	int status = 0;
	size_t next = 0;
	const char *why;

	/* the classifier gets the same private copy: ASan sees overreads */
	classify(&s, copy, m);
	st = http_parse_request((const char *)copy, m, &req, &status);
	/* pointers into copy, rebased onto d for the messages */
	if (req.method_token)
		req.method_token = (const char *)d +
				   (req.method_token - (const char *)copy);
	if (req.target)
		req.target = (const char *)d + (req.target - (const char *)copy);
	if (req.referer)
		req.referer = (const char *)d +
			      (req.referer - (const char *)copy);
	if (req.user_agent)
		req.user_agent = (const char *)d +
				 (req.user_agent - (const char *)copy);
	if (req.if_none_match)
		req.if_none_match = (const char *)d +
				    (req.if_none_match - (const char *)copy);

	switch (s.out.frame) {
	case HTTP_FRAME_DONE:
		CHECK(st != HTTP_PARSE_INCOMPLETE,
		      "request at %zu: kernel frames %u bytes, userspace waits "
		      "for more", off, s.out.head_len);
		if (s.out.cacheable)
			check_cacheable(d, off, &s.out, st, status, &req);
		if (st != HTTP_PARSE_DONE)
			break;
		CHECK(req.head_len == s.out.head_len,
		      "request at %zu: kernel frames %u bytes, userspace %zu",
		      off, s.out.head_len, req.head_len);
		CHECK(req.content_length == 0,
		      "request at %zu: kernel frames a head of %u bytes, "
		      "userspace expects a %llu-byte body after it", off,
		      s.out.head_len, (unsigned long long)req.content_length);
		next = req.head_len;
		break;
	case HTTP_FRAME_MORE:
		CHECK(st != HTTP_PARSE_DONE,
		      "request at %zu: kernel waits for more, userspace says "
		      "%s (status %d, head_len %zu)", off, st_name(st),
		      st == HTTP_PARSE_ERROR ? status : 0,
		      st == HTTP_PARSE_DONE ? req.head_len : 0);
		break;
	case HTTP_FRAME_UNSAFE:
		why = unsafe_reason(d, m, st, &req);
		CHECK(why != NULL,
		      "request at %zu: kernel gives the connection up (UNSAFE) "
		      "for no documented reason; userspace says %s "
		      "(head_len %zu, content_length %llu)", off, st_name(st),
		      st == HTTP_PARSE_DONE ? req.head_len : 0,
		      st == HTTP_PARSE_DONE ?
		      (unsigned long long)req.content_length : 0ULL);
		break;
	default:
		CHECK(0, "classifier frame %s (%u)", frame_name(s.out.frame),
		      s.out.frame);
	}
	free(copy);
	return next;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0, n, i;

	FUZZ_IN = data;
	FUZZ_LEN = size;
	for (i = 0; i < MAX_PIPELINED && off < size; i++) {
		n = check_request(data + off, size - off, off);
		if (!n)
			break;
		off += n;
	}
	return 0;
}

FUZZ_OWN_END
