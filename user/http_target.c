// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Request-target to path (RFC 9112 3.2, RFC 3986 5.2.4): the one place where
 * what the client named becomes what the server opens, so the one place that
 * must never let a path climb above the document root.
 */
#include "http_target.h"
#include "http_chars.h"

/* The next path byte, percent-decoded; -1 for a broken escape. */
static int decode_byte(const char **s, const char *end)
{
	const char *p = *s;
	int hi, lo;

	if (*p != '%') {
		*s = p + 1;
		return (unsigned char)*p;
	}
	if (end - p < 3)
		return -1;
	hi = http_hex_value(p[1]);
	lo = http_hex_value(p[2]);
	if (hi < 0 || lo < 0)
		return -1;
	*s = p + 3;
	return hi << 4 | lo;
}

/*
 * The segment out[seg..o) has ended: apply RFC 3986 5.2.4 to it. Returns the
 * new length, which is o for a kept (or empty) segment and just past a '/'
 * for a dropped one, or 0 when ".." would climb above the root.
 */
static size_t end_segment(const char *out, size_t seg, size_t o)
{
	size_t n = o - seg;

	if (n == 1 && out[seg] == '.')
		return seg;
	if (n == 2 && out[seg] == '.' && out[seg + 1] == '.') {
		if (seg == 1)
			return 0;
		/* drop the parent too: back to just after the '/' before it */
		o = seg - 1;
		while (out[o - 1] != '/')
			o--;
		return o;
	}
	return o;
}

/*
 * Decodes and normalises the path [s, end) into req->path in one pass.
 *
 * %2F decodes to '/' and then separates segments like a literal one. The
 * path names a file, and no file name can hold a '/', so keeping it inside a
 * segment would name nothing; what matters is that dot segments are removed
 * after decoding, so neither "%2e%2e" nor "..%2F" gets above the root.
 * Empty segments are dropped, which merges runs of '/'.
 */
static int normalise_path(struct http_request *req, const char *s,
			  const char *end)
{
	char *out = req->path;
	size_t o = 1, seg = 1;	/* out[seg..o) is the current segment */
	int c;

	out[0] = '/';
	while (s < end) {
		c = decode_byte(&s, end);
		if (c < 0)
			return 400;
		if (c == '/') {
			o = end_segment(out, seg, o);
			if (!o)
				return 400;
			if (o > seg) {
				if (o >= HTTP_PATH_MAX - 1)
					return 414;
				out[o++] = '/';
			}
			seg = o;
			continue;
		}
		/*
		 * No file worth serving has a control byte in its name, and a
		 * decoded CR or LF could reach a Location field or a log line.
		 */
		if (http_ctl((unsigned char)c))
			return 400;
		if (o >= HTTP_PATH_MAX - 1)
			return 414;
		out[o++] = (char)c;
	}
	o = end_segment(out, seg, o);
	if (!o)
		return 400;
	out[o] = '\0';
	req->path_len = o;
	req->path_had_trailing_slash = out[o - 1] == '/';
	return 0;
}

/* The query and a fragment (which clients should not send) are no path. */
static const char *path_end(const char *s, const char *end)
{
	while (s < end && *s != '?' && *s != '#')
		s++;
	return s;
}

/* RFC 9112 3.2.4: "*" is the server as a whole, which only OPTIONS asks. */
static int asterisk_form(struct http_request *req)
{
	if (req->method != HTTP_OPTIONS)
		return 400;
	req->path[0] = '*';
	req->path[1] = '\0';
	req->path_len = 1;
	return 0;
}

/*
 * RFC 9112 3.2.2: clients send absolute-form to proxies, but a server must
 * accept it too. Host is still required (3.2), and the target's authority
 * wins over it.
 */
static int absolute_form(struct http_request *req, const char *s,
			 const char *end)
{
	size_t n = (size_t)(end - s);
	const char *auth, *a;

	if (n >= 7 && http_ieq(s, 7, "http://"))
		auth = s + 7;
	else if (n >= 8 && http_ieq(s, 8, "https://"))
		auth = s + 8;
	else
		return 400;
	for (a = auth; a < end && *a != '/' && *a != '?' && *a != '#'; a++)
		/* RFC 9110 4.2.4: treat userinfo as an error */
		if (*a == '@')
			return 400;
	/* RFC 9110 4.2.1: an http URI with an empty host is invalid */
	if (a == auth)
		return 400;
	return normalise_path(req, a, path_end(a, end));
}

/*
 * Origin-form, asterisk-form or absolute-form. The authority-form of CONNECT
 * is a 400 like any other target: this server tunnels nothing.
 */
int http_parse_target(struct http_request *req)
{
	const char *s = req->target, *end = s + req->target_len;
	const char *p;

	/* Bytes >= 0x80 pass: clients do send raw UTF-8 paths. */
	for (p = s; p < end; p++)
		if (http_ctl((unsigned char)*p))
			return 400;
	if (*s == '/')
		return normalise_path(req, s, path_end(s, end));
	if (req->target_len == 1 && *s == '*')
		return asterisk_form(req);
	return absolute_form(req, s, end);
}

