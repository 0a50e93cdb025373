// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness for the request classifier the BPF programs run
 * (shared/http_classify.h, compiled for userspace as test_classify.c does).
 *
 * The classifier is not incremental: the kernel re-scans the message from its
 * first byte each time more arrives. So "feeding in pieces" means classifying
 * every prefix, and the prefixes must agree with the whole (once a prefix is
 * decided, more bytes change nothing).
 *
 * Each result is also compared with a reference written line by line from
 * the rules the header and the README state (framing: first CRLF CRLF; bare
 * LF, a CR not before LF, Content-Length, Transfer-Encoding, an empty or
 * version-less request line, a method byte that is no token character, a
 * head over FS_SCAN_MAX are unsafe; cacheable:
 * GET/HEAD, plain path under FS_KEY_MAX bytes, HTTP/1.1 or HTTP/1.0 with a
 * Connection field, one Host of uri-host bytes, token field names, at most
 * 100 field lines, Connection absent or keep-alive, no Range/Expect/If-*
 * but one non-empty If-None-Match and one non-empty If-Modified-Since, no
 * control bytes).
 * Any difference, either way, aborts with the input shown.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http_classify.h"

#include "fuzz_util.h"

/* Outside FUZZ_OWN: the classifier is inlined here and must be covered. */
static struct http_class classify(const uint8_t *d, size_t n)
{
	/* a private copy of exactly n bytes: ASan sees reads past n */
	uint8_t *p = fuzz_copy(d, n);
	struct http_scan s;

	http_classify(&s, p, (__u32)n);
	free(p);
	return s.out;
}

FUZZ_OWN_BEGIN

static const uint8_t *FUZZ_IN;
static size_t FUZZ_LEN;

/* ---- reference ---- */

struct ref {
	__u32 frame;
	__u32 head_len;		/* DONE */
	__u32 cacheable;	/* DONE */
	__u32 head_only;	/* cacheable */
	__u32 path_off;		/* cacheable */
	__u32 path_len;		/* cacheable */
};

/* README, Limits: [A-Za-z0-9-._~!$&'()*+,;=:@/] */
static bool ref_path_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c && strchr("-._~!$&'()*+,;=:@/", c));
}

static bool ref_ctl(uint8_t c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* The request line [0, e) has "method SP target SP ..." with a non-empty
 * target: the byte after the first space is the target's whatever it is. */
static bool ref_has_version(const uint8_t *d, size_t e)
{
	const uint8_t *sp = memchr(d, ' ', e);

	if (!sp)
		return false;
	return (size_t)(sp - d) + 2 <= e &&
	       memchr(sp + 2, ' ', e - (size_t)(sp - d) - 2) != NULL;
}

static bool ref_body_field(const uint8_t *name, size_t n)
{
	return fuzz_ieq(name, n, "content-length") ||
	       fuzz_ieq(name, n, "transfer-encoding");
}

/* RFC 9110 5.6.2 tchar */
static bool ref_token_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void ref_frame(const uint8_t *d, size_t n, struct ref *r)
{
	size_t m = n < FS_SCAN_MAX ? n : FS_SCAN_MAX;
	size_t i, line = 0, ls = 0;
	bool colon = false, method = true;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < m; i++) {
		uint8_t c = d[i];

		if (i > 0 && d[i - 1] == '\r' && c != '\n')
			goto unsafe;			/* lone CR */
		if (c == '\n') {
			if (i == 0 || d[i - 1] != '\r')
				goto unsafe;		/* bare LF */
			if (line >= 1 && i - 1 == ls) {
				r->frame = HTTP_FRAME_DONE;
				r->head_len = (__u32)(i + 1);
				return;
			}
			/* a request line without a version: unsafe at once */
			if (line == 0 && !ref_has_version(d, i - 1))
				goto unsafe;
			line++;
			ls = i + 1;
			colon = false;
			continue;
		}
		if (line == 0 && method) {
			/* a byte no method holds: no HTTP, unsafe at once */
			if (c == ' ')
				method = false;
			else if (c != '\r' && !ref_token_char(c))
				goto unsafe;
		}
		if (c == ':' && line >= 1 && !colon) {
			colon = true;
			if (ref_body_field(d + ls, i - ls))
				goto unsafe;
		}
	}
	r->frame = m >= FS_SCAN_MAX ? HTTP_FRAME_UNSAFE : HTTP_FRAME_MORE;
	return;
unsafe:
	r->frame = HTTP_FRAME_UNSAFE;
}

/* RFC 3986 uri-host [":" port] bytes */
static bool ref_host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c && strchr("-._~%!$&'()*+,;=:[]", c));
}

/* A header line [ls, le): does it keep the request cacheable? Counts the
 * Host and the (keep-alive) Connection fields, and revalidation ones in
 * reval[0] (If-None-Match) and reval[1] (If-Modified-Since). */
static bool ref_field_ok(const uint8_t *d, size_t ls, size_t le,
			 unsigned *hosts, unsigned *connections,
			 unsigned reval[2])
{
	size_t i, nl;
	const uint8_t *name = d + ls, *v;
	size_t vn;

	if (le == ls || d[ls] == ' ' || d[ls] == '\t' || d[ls] == ':')
		return false;
	for (i = ls; i < le && d[i] != ':'; i++)
		if (!ref_token_char(d[i]))
			return false;		/* userspace: 400 */
	if (i == le)
		return false;			/* no colon */
	nl = i - ls;
	v = d + i + 1;
	vn = le - i - 1;
	if (fuzz_ieq(name, nl, "host")) {
		(*hosts)++;
		while (vn && (v[0] == ' ' || v[0] == '\t')) {
			v++;
			vn--;
		}
		for (i = 0; i < vn; i++)	/* trailing OWS too: rare */
			if (!ref_host_char(v[i]))
				return false;
		return true;
	}
	if (fuzz_ieq(name, nl, "if-none-match") ||
	    fuzz_ieq(name, nl, "if-modified-since")) {
		unsigned *n = &reval[nl == 13 ? 0 : 1];

		while (vn && (v[0] == ' ' || v[0] == '\t')) {
			v++;
			vn--;
		}
		while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		return vn > 0 && ++*n == 1;
	}
	if (fuzz_ieq(name, nl, "range") || fuzz_ieq(name, nl, "expect") ||
	    (nl >= 3 && fuzz_ieq(name, 3, "if-")))
		return false;
	if (fuzz_ieq(name, nl, "connection")) {
		while (vn && (v[0] == ' ' || v[0] == '\t')) {
			v++;
			vn--;
		}
		while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		(*connections)++;
		return fuzz_ieq(v, vn, "keep-alive");
	}
	return true;
}

/* Cacheability of a head r->head_len bytes long that ref_frame framed. */
static void ref_cacheable(const uint8_t *d, struct ref *r)
{
	size_t h = r->head_len, e0, s1, p0, pe, q, i, ls;
	unsigned hosts = 0, connections = 0, reval[2] = { 0, 0 };
	bool http10;
	const uint8_t *sp;

	r->cacheable = 0;
	for (i = 0; i < h; i++)
		if (d[i] != '\r' && d[i] != '\n' && ref_ctl(d[i]))
			return;
	e0 = (size_t)((const uint8_t *)memchr(d, '\r', h) - d);
	sp = memchr(d, ' ', e0);
	s1 = (size_t)(sp - d);
	if (s1 == 3 && memcmp(d, "GET", 3) == 0)
		r->head_only = 0;
	else if (s1 == 4 && memcmp(d, "HEAD", 4) == 0)
		r->head_only = 1;
	else
		return;
	p0 = s1 + 1;
	if (d[p0] != '/')
		return;
	for (pe = p0; pe < e0 && d[pe] != ' ' && d[pe] != '?'; pe++)
		if (!ref_path_char(d[pe]))
			return;
	if (pe == e0 || pe - p0 >= FS_KEY_MAX)
		return;
	if (fuzz_has(d + p0, pe - p0, "//") || fuzz_has(d + p0, pe - p0, "/."))
		return;
	q = pe;
	if (d[pe] == '?') {
		for (q = pe + 1; q < e0 && d[q] != ' '; q++)
			if (d[q] >= 0x80 || d[q] == '\t')
				return;
		if (q == e0)
			return;
	}
	if (e0 - q - 1 != 8 || (memcmp(d + q + 1, "HTTP/1.1", 8) != 0 &&
				memcmp(d + q + 1, "HTTP/1.0", 8) != 0))
		return;
	http10 = d[q + 8] == '0';
	for (ls = e0 + 2, i = 0; ls < h - 2; i++) {
		size_t le = (size_t)((const uint8_t *)memchr(d + ls, '\r',
							     h - ls) - d);

		/* over 100 field lines: userspace answers 431 */
		if (i == 100 ||
		    !ref_field_ok(d, ls, le, &hosts, &connections, reval))
			return;
		ls = le + 2;
	}
	if (hosts != 1 || (http10 && connections == 0))
		return;
	r->cacheable = 1;
	r->path_off = (__u32)p0;
	r->path_len = (__u32)(pe - p0);
}

static void reference(const uint8_t *d, size_t n, struct ref *r)
{
	ref_frame(d, n, r);
	if (r->frame == HTTP_FRAME_DONE)
		ref_cacheable(d, r);
}

/* ---- checks ---- */

static void check_one(const uint8_t *d, size_t n, const struct http_class *c)
{
	size_t m = n < FS_SCAN_MAX ? n : FS_SCAN_MAX;
	struct ref r;

	CHECK(c->frame <= HTTP_FRAME_UNSAFE, "frame %u (prefix %zu)",
	      c->frame, n);
	CHECK(c->cacheable <= 1 && c->head_only <= 1,
	      "cacheable %u head_only %u", c->cacheable, c->head_only);
	CHECK(!c->cacheable || c->frame == HTTP_FRAME_DONE,
	      "cacheable without a frame (frame %u, prefix %zu)", c->frame, n);
	if (c->frame == HTTP_FRAME_DONE) {
		CHECK(c->head_len >= 4 && c->head_len <= m,
		      "head_len %u of %zu scanned bytes", c->head_len, m);
		CHECK(memcmp(d + c->head_len - 4, "\r\n\r\n", 4) == 0,
		      "head of %u bytes does not end in CRLF CRLF",
		      c->head_len);
	}
	if (c->path_len) {
		size_t lim = c->frame == HTTP_FRAME_DONE ? c->head_len : m;

		CHECK((size_t)c->path_off + c->path_len < lim,
		      "path [%u, +%u) not inside the %zu bytes looked at",
		      c->path_off, c->path_len, lim);
		CHECK(d[c->path_off] == '/', "path starts with 0x%02x",
		      d[c->path_off]);
		CHECK(d[c->path_off + c->path_len] == ' ' ||
		      d[c->path_off + c->path_len] == '?',
		      "path ends before 0x%02x",
		      d[c->path_off + c->path_len]);
	}
	if (c->cacheable)
		CHECK(c->path_len > 0 && c->path_len < FS_KEY_MAX,
		      "cacheable with path_len %u", c->path_len);

	reference(d, n, &r);
	CHECK(c->frame == r.frame,
	      "prefix %zu: classifier frame %u, reference %u", n, c->frame,
	      r.frame);
	if (r.frame != HTTP_FRAME_DONE)
		return;
	CHECK(c->head_len == r.head_len,
	      "classifier head_len %u, reference %u", c->head_len, r.head_len);
	CHECK(!c->cacheable || r.cacheable,
	      "UNSAFE DIRECTION: classifier says cacheable, the stated rules "
	      "do not (prefix %zu)", n);
	CHECK(c->cacheable || !r.cacheable,
	      "classifier refuses a request its stated rules accept "
	      "(prefix %zu)", n);
	if (c->cacheable) {
		CHECK(c->head_only == r.head_only, "head_only %u, method says %u",
		      c->head_only, r.head_only);
		CHECK(c->path_off == r.path_off && c->path_len == r.path_len,
		      "path [%u, +%u), reference [%u, +%u)", c->path_off,
		      c->path_len, r.path_off, r.path_len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t splits[FUZZ_MAX_SPLITS], around[2], ns, i;
	struct http_class full, part;

	if (size > 2 * FS_SCAN_MAX)
		return -1;		/* nothing past FS_SCAN_MAX is read */
	FUZZ_IN = data;
	FUZZ_LEN = size;

	full = classify(data, size);
	check_one(data, size, &full);

	/* Prefixes (the kernel re-scans as bytes arrive; all of them for a
	 * short input, see fuzz_splits()): undecided, or already exactly what
	 * the whole input gives. */
	around[0] = full.frame == HTTP_FRAME_DONE ? full.head_len : 0;
	around[1] = FS_SCAN_MAX;
	ns = fuzz_splits(data, size, around, 2, splits);
	for (i = 0; i < ns; i++) {
		size_t k = splits[i];

		part = classify(data, k);
		check_one(data, k, &part);
		CHECK(part.frame == HTTP_FRAME_MORE ||
		      memcmp(&part, &full, sizeof(full)) == 0,
		      "prefix of %zu bytes: frame %u head_len %u cacheable %u "
		      "path [%u, +%u); whole input: frame %u head_len %u "
		      "cacheable %u path [%u, +%u)", k, part.frame,
		      part.head_len, part.cacheable, part.path_off,
		      part.path_len, full.frame, full.head_len,
		      full.cacheable, full.path_off, full.path_len);
	}
	return 0;
}

FUZZ_OWN_END
