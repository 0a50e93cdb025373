// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Response header blocks, entity tags and error bodies (http_response.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "http_date.h"
#include "http_response.h"
#include "http_chars.h"

/*
 * An append-only cursor over the caller's buffer. The first failure (no room,
 * or a value we refuse) clears p and turns every later append into a no-op,
 * so a builder checks once at the end instead of after each piece.
 */
struct out {
	char *p;
	char *end;
};

static void out_mem(struct out *o, const char *s, size_t n)
{
	if (o->p == NULL)
		return;
	if ((size_t)(o->end - o->p) < n) {
		o->p = NULL;
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

static void out_u64(struct out *o, uint64_t v)
{
	char digits[20];	/* UINT64_MAX has 20 */
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	out_mem(o, digits + i, sizeof(digits) - i);
}

/* "404 Not Found": shared by the status line and the error body. */
static void out_status(struct out *o, int status)
{
	out_u64(o, (uint64_t)status);
	out_str(o, " ");
	out_str(o, http_status_reason(status));
}

static void out_date(struct out *o, time_t t)
{
	char date[HTTP_DATE_LEN + 1];

	http_date_format(t, date);
	out_mem(o, date, HTTP_DATE_LEN);
}

/* Field values come from callers who may have built them from a request:
 * a CR or LF would let that request write headers of its own. */
static bool field_value_ok(const char *v)
{
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (http_ctl(c) && c != '\t')
			return false;
	}
	return true;
}

/* "Name: value\r\n", or nothing when value is NULL. */
static void out_field(struct out *o, const char *name, const char *value)
{
	if (value == NULL)
		return;
	if (!field_value_ok(value)) {
		o->p = NULL;
		return;
	}
	out_str(o, name);
	out_str(o, ": ");
	out_str(o, value);
	out_str(o, "\r\n");
}

static void out_content_range(struct out *o, const struct http_head *h)
{
	if (h->has_range) {
		out_str(o, "Content-Range: bytes ");
		out_u64(o, h->range_first);
		out_str(o, "-");
		out_u64(o, h->range_last);
	} else if (h->status == 416) {
		/* RFC 9110 14.4: an unsatisfied range still tells the size. */
		out_str(o, "Content-Range: bytes *");
	} else {
		return;
	}
	out_str(o, "/");
	out_u64(o, h->total_size);
	out_str(o, "\r\n");
}

size_t http_head_build(char *buf, size_t cap, const struct http_head *h,
		       size_t *date_off)
{
	struct out o = { buf, buf + cap };
	bool has_body = h->status != 304;
	size_t date_at;

	if (h->status < 100 || h->status > 999)
		return 0;

	out_str(&o, "HTTP/1.1 ");
	out_status(&o, h->status);
	out_str(&o, "\r\nServer: fileserver\r\nDate: ");
	date_at = o.p != NULL ? (size_t)(o.p - buf) : 0;
	out_date(&o, h->date);
	out_str(&o, "\r\n");

	if (has_body) {
		out_field(&o, "Content-Type", h->content_type);
		out_str(&o, "Content-Length: ");
		out_u64(&o, h->content_length);
		out_str(&o, "\r\n");
	}
	if (h->last_modified != (time_t)-1) {
		out_str(&o, "Last-Modified: ");
		out_date(&o, h->last_modified);
		out_str(&o, "\r\n");
	}
	out_field(&o, "Connection", h->keep_alive ? "keep-alive" : "close");
	if (h->vary_accept_encoding)
		out_field(&o, "Vary", "Accept-Encoding");
	if (h->etag != NULL)
		out_field(&o, "ETag", h->etag->text);
	if (has_body)
		out_field(&o, "Content-Encoding", h->content_encoding);
	out_field(&o, "Cache-Control", h->cache_control);
	out_content_range(&o, h);
	out_field(&o, "Location", h->location);
	out_field(&o, "Allow", h->allow);
	if (h->accept_ranges)
		out_field(&o, "Accept-Ranges", "bytes");
	out_str(&o, "\r\n");

	if (o.p == NULL)
		return 0;
	if (date_off != NULL)
		*date_off = date_at;
	return (size_t)(o.p - buf);
}

const char *http_status_reason(int status)
{
	/* The RFC 9110 reason phrases. */
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 412: return "Precondition Failed";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

size_t http_error_body(char *buf, size_t cap, int status)
{
	struct out o = { buf, buf + cap };

	out_str(&o, "<html>\r\n<head><title>");
	out_status(&o, status);
	out_str(&o, "</title></head>\r\n<body>\r\n<center><h1>");
	out_status(&o, status);
	out_str(&o, "</h1></center>\r\n<hr><center>fileserver</center>\r\n"
		"</body>\r\n</html>\r\n");
	if (o.p == NULL)
		return 0;
	return (size_t)(o.p - buf);
}

void http_etag_make(struct http_etag *out, uint64_t ino, uint64_t size,
		    int64_t mtime_ns)
{
	/* A pre-1970 mtime prints as its two's complement: still one value
	 * per instant, which is all a validator needs. */
	int n = snprintf(out->text, sizeof(out->text),
			 "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"",
			 ino, size, (uint64_t)mtime_ns);

	out->len = (size_t)n;
}

static const char *skip_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* etagc of RFC 9110 8.8.3: visible ASCII but '"', and obs-text. */
static bool etag_char(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/*
 * One entity-tag at *p. On success *tag and *tag_len hold its opaque-tag,
 * quotes included, *weak its marker, and *p is moved past it.
 */
static bool etag_parse(const char **p, const char *end, const char **tag,
		       size_t *tag_len, bool *weak)
{
	const char *s = *p;
	const char *q;

	*weak = end - s >= 2 && s[0] == 'W' && s[1] == '/';
	if (*weak)
		s += 2;
	if (s == end || *s != '"')
		return false;
	for (q = s + 1; q < end && *q != '"'; q++) {
		if (!etag_char((unsigned char)*q))
			return false;
	}
	if (q == end)
		return false;
	*tag = s;
	*tag_len = (size_t)(q + 1 - s);
	*p = q + 1;
	return true;
}

bool http_etag_matches(const struct http_etag *etag, const char *value,
		       size_t len, bool strong)
{
	const char *end = value + len;
	const char *p = skip_ows(value, end);
	bool match = false;

	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	/* "*" stands for any current representation, and we have one. */
	if (end - p == 1 && *p == '*')
		return true;

	/* Parse the whole list even after a match: a value malformed
	 * anywhere is ignored as a whole. */
	while (p < end) {
		const char *tag;
		size_t tag_len;
		bool weak;

		if (*p == ',') {	/* empty elements are allowed */
			p = skip_ows(p + 1, end);
			continue;
		}
		if (!etag_parse(&p, end, &tag, &tag_len, &weak))
			return false;
		if (tag_len == etag->len && memcmp(tag, etag->text, tag_len) == 0 &&
		    !(strong && weak))
			match = true;
		p = skip_ows(p, end);
		if (p < end && *p != ',')
			return false;
	}
	return match;
}
