/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Byte classes of HTTP syntax, shared by the kernel's classifier and the
 * userspace parser, so that both accept the same bytes.
 */
#ifndef HTTP_CHARS_H
#define HTTP_CHARS_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* ASCII only, unlike tolower(), whose answer depends on the locale. */
static __always_inline unsigned char http_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* RFC 5234 CTL: control bytes, which no token, path or field value holds. */
static __always_inline int http_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* The n bytes at s equal lit, a NUL-terminated lowercase literal, ignoring
 * ASCII case. */
static __always_inline int http_ieq(const char *s, unsigned long n,
				    const char *lit)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		if (!lit[i] || http_lower(s[i]) != (unsigned char)lit[i])
			return 0;
	return !lit[n];
}

static __always_inline int http_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A hex digit's value, or -1. */
static __always_inline int http_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = http_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static __always_inline int http_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* RFC 9110 5.6.2: the bytes of methods and field names. */
static __always_inline int http_tchar(unsigned char c)
{
	if (http_alnum(c))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '-': case '.': case '^': case '_': case '`': case '|':
	case '~':
		return 1;
	}
	return 0;
}

/* RFC 3986 3.2.2 and 3.2.3: the bytes of uri-host [":" port] (reg-name,
 * IPv4 or IP-literal: unreserved, pct-encoded, sub-delims, ':', '[', ']'). */
static __always_inline int http_host_char(unsigned char c)
{
	if (http_alnum(c))
		return 1;
	switch (c) {
	case '-': case '.': case '_': case '~': case '%': case '!': case '$':
	case '&': case '\'': case '(': case ')': case '*': case '+': case ',':
	case ';': case '=': case ':': case '[': case ']':
		return 1;
	}
	return 0;
}

#endif /* HTTP_CHARS_H */
