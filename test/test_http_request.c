/*
 * Unit tests for the request-head parser: framing, limits, the request line,
 * field lines, path normalisation and Range.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http_request.h"
#include "guard_page.h"

static struct http_request req;
static int status;
static const char *buf;		/* what req points into */

static enum http_parse_status parse_n(const char *s, size_t n)
{
	status = 0;
	buf = place(s, n);
	return http_parse_request(buf, n, &req, &status);
}

static enum http_parse_status parse(const char *s)
{
	return parse_n(s, strlen(s));
}

/* Macros rather than functions so that a failure names the test's line. */
#define ck_assert_done(s) \
	ck_assert_int_eq(parse(s), HTTP_PARSE_DONE)
#define ck_assert_refused(s, code) do { \
	ck_assert_int_eq(parse(s), HTTP_PARSE_ERROR); \
	ck_assert_int_eq(status, code); \
} while (0)
#define ck_assert_path(target, expect) do { \
	ck_assert_done(GET(target)); \
	ck_assert_str_eq(req.path, expect); \
	ck_assert_uint_eq(req.path_len, strlen(expect)); \
} while (0)
#define ck_assert_value(ptr, len, expect) do { \
	ck_assert_ptr_nonnull(ptr); \
	ck_assert_uint_eq(len, strlen(expect)); \
	ck_assert_mem_eq(ptr, expect, len); \
} while (0)

/* A GET for target with a Host and the given field lines. */
#define GET(target)		"GET " target " HTTP/1.1\r\nHost: h\r\n\r\n"
#define WITH(fields)		"GET / HTTP/1.1\r\nHost: h\r\n" fields "\r\n"

/* A head of n bytes: a GET with one long field, or a long target. */
static char big[ARENA_SIZE];

static const char *long_field(size_t n)
{
	static const char pre[] = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
	size_t fill = n - (sizeof(pre) - 1) - 4;

	memcpy(big, pre, sizeof(pre) - 1);
	memset(big + sizeof(pre) - 1, 'a', fill);
	strcpy(big + sizeof(pre) - 1 + fill, "\r\n\r\n");
	return big;
}

/* "GET " and a target of target_len bytes: start, then 'a's; then rest. */
static const char *long_target(const char *start, size_t target_len,
			       const char *rest)
{
	size_t n = strlen(start);

	memcpy(big, "GET ", 4);
	memcpy(big + 4, start, n);
	memset(big + 4 + n, 'a', target_len - n);
	strcpy(big + 4 + target_len, rest);
	return big;
}

/* ---- request line ---- */

START_TEST(test_simple_get)
{
	const char *s = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";

	ck_assert_done(s);
	ck_assert_int_eq(req.method, HTTP_GET);
	ck_assert_ptr_eq(req.method_token, buf);
	ck_assert_uint_eq(req.method_len, 3);
	ck_assert_int_eq(req.version_minor, 1);
	ck_assert_str_eq(req.path, "/index.html");
	ck_assert_uint_eq(req.path_len, 11);
	ck_assert(!req.path_had_trailing_slash);
	ck_assert_ptr_eq(req.target, buf + 4);
	ck_assert_uint_eq(req.target_len, 11);
	ck_assert(req.keep_alive);
	ck_assert(req.has_host);
	ck_assert_ptr_null(req.if_none_match);
	ck_assert_int_eq(req.if_modified_since, -1);
	ck_assert_ptr_null(req.if_range);
	ck_assert(!req.range.present);
	ck_assert_uint_eq(req.content_length, 0);
	ck_assert_uint_eq(req.head_len, strlen(s));
	ck_assert_ptr_null(req.user_agent);
	ck_assert_ptr_null(req.referer);
	ck_assert_int_eq(status, 0);	/* untouched unless ERROR */
}
END_TEST

START_TEST(test_head)
{
	ck_assert_done("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
	ck_assert_int_eq(req.method, HTTP_HEAD);
	ck_assert_str_eq(req.path, "/");
	ck_assert(req.path_had_trailing_slash);
}
END_TEST

START_TEST(test_methods)
{
	static const struct {
		const char *line;
		enum http_method m;
	} cases[] = {
		{ "POST / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_POST },
		{ "PUT / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PUT },
		{ "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_DELETE },
		{ "OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_OPTIONS },
		{ "PATCH / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PATCH },
		{ "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_TRACE },
		{ "CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_CONNECT },
		{ "GETS / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_OTHER },
		{ "GE / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_OTHER },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_done(cases[i].line);
		ck_assert_int_eq(req.method, cases[i].m);
	}
}
END_TEST

START_TEST(test_lowercase_method)
{
	ck_assert_done("get / HTTP/1.1\r\nHost: h\r\n\r\n");
	ck_assert_int_eq(req.method, HTTP_OTHER);
	ck_assert_uint_eq(req.method_len, 3);
	ck_assert_mem_eq(req.method_token, "get", 3);
}
END_TEST

START_TEST(test_unknown_method)
{
	/* the server, not the parser, chooses between 405 and 501 */
	ck_assert_done("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n");
	ck_assert_int_eq(req.method, HTTP_OTHER);
	ck_assert_value(req.method_token, req.method_len, "BREW");
	ck_assert_str_eq(req.path, "/pot");
}
END_TEST

START_TEST(test_bad_request_line)
{
	ck_assert_refused("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET a HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET host:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}
END_TEST

START_TEST(test_http09_line)
{
	ck_assert_refused("GET /\r\n\r\n", 400);
	ck_assert_refused("GET /\n\n", 400);
	/* refused as soon as the line is in: no blank line will fix it */
	ck_assert_refused("GET /a.txt\r\n", 400);
	ck_assert_refused("GET\r\nHost: h\r\n", 400);
}
END_TEST

/* Not HTTP at all (a TLS ClientHello to the plain port): a 400 at the
 * first byte no method holds, without waiting for an end of line, as
 * nginx answers; a method still coming in is waited for. */
START_TEST(test_not_http_refused_at_once)
{
	static const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01";

	ck_assert_int_eq(parse_n(hello, 1), HTTP_PARSE_ERROR);
	ck_assert_int_eq(status, 400);
	ck_assert_int_eq(parse_n(hello, sizeof(hello) - 1), HTTP_PARSE_ERROR);
	ck_assert_int_eq(parse_n("GE\0", 3), HTTP_PARSE_ERROR);
	ck_assert_int_eq(parse("G:"), HTTP_PARSE_ERROR);
	ck_assert_int_eq(parse("M-SEARCH"), HTTP_PARSE_INCOMPLETE);
	ck_assert_int_eq(parse("GET /a\x16"), HTTP_PARSE_INCOMPLETE);
	ck_assert_int_eq(parse("\r\nGE"), HTTP_PARSE_INCOMPLETE);
}
END_TEST

/* A method longer than any request line: 414 once the line limit is
 * reached, whatever bytes follow, so that the answer does not depend on
 * how the stream was cut (the fuzzer found a 414 prefix of a 400 input). */
START_TEST(test_long_method_then_not_http)
{
	size_t n = HTTP_MAX_URI + 1000;

	memset(big, 'A', n);
	big[n] = '\x16';
	ck_assert_int_eq(parse_n(big, n), HTTP_PARSE_ERROR);
	ck_assert_int_eq(status, 414);
	ck_assert_int_eq(parse_n(big, n + 1), HTTP_PARSE_ERROR);
	ck_assert_int_eq(status, 414);
}
END_TEST

START_TEST(test_version)
{
	ck_assert_refused("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
	/* a later 1.x is answered as 1.1 (RFC 9110 2.5) */
	ck_assert_done("GET / HTTP/1.2\r\nHost: h\r\n\r\n");
	ck_assert_int_eq(req.version_minor, 1);
	ck_assert(req.keep_alive);
	ck_assert_done("GET / HTTP/1.9\r\nHost: h\r\n\r\n");
	ck_assert_int_eq(req.version_minor, 1);
	ck_assert_refused("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505);
	ck_assert_refused("GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET / http/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET / HTTP/11\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400);
}
END_TEST

START_TEST(test_http10_close_by_default)
{
	ck_assert_done("GET / HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(req.version_minor, 0);
	ck_assert(!req.keep_alive);
	ck_assert(!req.has_host);	/* and that is fine in 1.0 */
}
END_TEST

START_TEST(test_http10_keep_alive)
{
	ck_assert_done("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	ck_assert(req.keep_alive);
	ck_assert_done("GET / HTTP/1.0\r\nConnection: foo, keep-alive\r\n\r\n");
	ck_assert(req.keep_alive);
	ck_assert_done("GET / HTTP/1.0\r\n"
		       "Connection: keep-alive\r\nConnection: close\r\n\r\n");
	ck_assert(!req.keep_alive);
}
END_TEST

START_TEST(test_http11_keep_alive_by_default)
{
	ck_assert_done(WITH(""));
	ck_assert(req.keep_alive);
	ck_assert_done(WITH("Connection: Upgrade\r\n"));
	ck_assert(req.keep_alive);
	ck_assert_done(WITH("Connection: keep-alive\r\n"));
	ck_assert(req.keep_alive);
}
END_TEST

START_TEST(test_http11_close)
{
	ck_assert_done(WITH("Connection: close\r\n"));
	ck_assert(!req.keep_alive);
	ck_assert_done(WITH("Connection: Upgrade ,\tCLOSE \r\n"));
	ck_assert(!req.keep_alive);
	ck_assert_done(WITH("Connection: closed\r\n"));
	ck_assert(req.keep_alive);
}
END_TEST

/* ---- framing ---- */

START_TEST(test_pipelined)
{
	const char *first = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
	const char *both = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
			   "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t n = strlen(both);

	ck_assert_done(both);
	ck_assert_uint_eq(req.head_len, strlen(first));
	ck_assert_str_eq(req.path, "/a");
	ck_assert_int_eq(parse_n(both + req.head_len, n - req.head_len),
			 HTTP_PARSE_DONE);
	ck_assert_int_eq(req.method, HTTP_HEAD);
	ck_assert_str_eq(req.path, "/b");
	ck_assert_uint_eq(req.head_len, n - strlen(first));
}
END_TEST

START_TEST(test_body_not_in_head)
{
	const char *s = "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
			"\r\nhello";

	ck_assert_done(s);
	ck_assert_uint_eq(req.content_length, 5);
	ck_assert_uint_eq(req.head_len, strlen(s) - 5);
}
END_TEST

START_TEST(test_incomplete_everywhere)
{
	static const char *const heads[] = {
		("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n"
		 "User-Agent: test\r\nRange: bytes=0-9\r\n\r\n"),
		"GET / HTTP/1.0\n\n",
		"\r\n\r\nGET / HTTP/1.1\nHost: h\n\r\n",
	};
	size_t i, k, n;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		n = strlen(heads[i]);
		for (k = 0; k < n; k++)
			ck_assert_msg(parse_n(heads[i], k) ==
				      HTTP_PARSE_INCOMPLETE,
				      "head %zu cut at %zu", i, k);
		ck_assert_int_eq(parse_n(heads[i], n), HTTP_PARSE_DONE);
		ck_assert_uint_eq(req.head_len, n);
	}
}
END_TEST

START_TEST(test_bare_lf)
{
	const char *s = "GET /x HTTP/1.1\nHost: h\nAccept: */*\r\n\n";

	ck_assert_done(s);
	ck_assert_str_eq(req.path, "/x");
	ck_assert_uint_eq(req.head_len, strlen(s));
}
END_TEST

START_TEST(test_lone_cr)
{
	ck_assert_refused("GET / HTTP/1.1\rHost: h\r\n\r\n", 400);
	ck_assert_refused("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400);
	ck_assert_refused("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n", 400);
	ck_assert_refused("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}
END_TEST

START_TEST(test_leading_empty_lines)
{
	const char *s = "\r\n\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n";

	ck_assert_done(s);
	ck_assert_str_eq(req.path, "/x");
	ck_assert_ptr_eq(req.method_token, buf + 3);
	ck_assert_uint_eq(req.head_len, strlen(s));
}
END_TEST

#define REST	" HTTP/1.1\r\nHost: h\r\n\r\n"

START_TEST(test_long_uri)
{
	/* mostly query, so that the path fits */
	ck_assert_done(long_target("/x?", HTTP_MAX_URI, REST));
	ck_assert_uint_eq(req.target_len, HTTP_MAX_URI);
	ck_assert_str_eq(req.path, "/x");
	ck_assert_refused(long_target("/x?", HTTP_MAX_URI + 1, REST), 414);
}
END_TEST

START_TEST(test_long_uri_early)
{
	/* no line end yet, but already longer than any line we accept */
	ck_assert_refused(long_target("/", HTTP_MAX_URI + 100, ""), 414);
	ck_assert_int_eq(parse(long_target("/", HTTP_MAX_URI, "")),
			 HTTP_PARSE_INCOMPLETE);
}
END_TEST

START_TEST(test_long_decoded_path)
{
	/* fits as a target, but the decoded path has no room */
	ck_assert_refused(long_target("/", HTTP_PATH_MAX, REST), 414);
	ck_assert_done(long_target("/", HTTP_PATH_MAX - 1, REST));
	ck_assert_uint_eq(req.path_len, HTTP_PATH_MAX - 1);
	/* what counts is the length after normalisation */
	ck_assert_done(long_target("/x/../", HTTP_PATH_MAX + 2, REST));
	ck_assert_uint_eq(req.path_len, HTTP_PATH_MAX - 3);
}
END_TEST

START_TEST(test_big_head)
{
	const char *s;

	ck_assert_done(long_field(HTTP_MAX_HEAD));
	ck_assert_uint_eq(req.head_len, HTTP_MAX_HEAD);
	ck_assert_refused(long_field(HTTP_MAX_HEAD + 1), 431);

	/* without its end, the head is refused once it reaches the limit */
	s = long_field(HTTP_MAX_HEAD + 100);
	ck_assert_int_eq(parse_n(s, HTTP_MAX_HEAD - 1), HTTP_PARSE_INCOMPLETE);
	ck_assert_int_eq(parse_n(s, HTTP_MAX_HEAD), HTTP_PARSE_ERROR);
	ck_assert_int_eq(status, 431);
}
END_TEST

START_TEST(test_endless_empty_lines)
{
	/* a few are skipped; more are refused at once, however they arrive
	 * (a limit reached later would give 414 or 431 by segmentation) */
	memset(big, '\n', HTTP_MAX_HEAD);
	ck_assert_int_eq(parse_n(big, 16), HTTP_PARSE_INCOMPLETE);
	ck_assert_int_eq(parse_n(big, 17), HTTP_PARSE_ERROR);
	ck_assert_int_eq(status, 400);
	ck_assert_int_eq(parse_n(big, HTTP_MAX_HEAD), HTTP_PARSE_ERROR);
	ck_assert_int_eq(status, 400);
}
END_TEST

static const char *many_fields(int count)
{
	char *p = big;
	int i;

	p += sprintf(p, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (i = 1; i < count; i++)
		p += sprintf(p, "X-%d: v\r\n", i);
	strcpy(p, "\r\n");
	return big;
}

/* What a new connection opened with: whole keep-alive requests, or not. */
START_TEST(test_requests_keep)
{
	static const char one[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char two[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
				  "POST /f HTTP/1.1\r\nHost: a\r\n"
				  "Content-Length: 3\r\n\r\nabc";
	static const char ab_k[] = "GET / HTTP/1.0\r\nConnection: Keep-Alive"
				   "\r\nHost: a\r\n\r\n";
	static const char closes[] = "GET / HTTP/1.1\r\nHost: a\r\n"
				     "Connection: close\r\n\r\n";
	static const char then_closes[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
					  "GET / HTTP/1.0\r\nHost: a\r\n\r\n";

	ck_assert_int_eq(http_requests_keep("", 0), HTTP_KEEP_WHOLE);
	ck_assert_int_eq(http_requests_keep(one, sizeof(one) - 1),
			 HTTP_KEEP_WHOLE);
	ck_assert_int_eq(http_requests_keep(two, sizeof(two) - 1),
			 HTTP_KEEP_WHOLE);
	ck_assert_int_eq(http_requests_keep(ab_k, sizeof(ab_k) - 1),
			 HTTP_KEEP_WHOLE);
	/* a head or a body cut short */
	ck_assert_int_eq(http_requests_keep(one, sizeof(one) - 3),
			 HTTP_KEEP_PARTIAL);
	ck_assert_int_eq(http_requests_keep(two, 40), HTTP_KEEP_PARTIAL);
	ck_assert_int_eq(http_requests_keep(two, sizeof(two) - 2),
			 HTTP_KEEP_PARTIAL);
	/* one that closes, first or last; HTTP/1.0 by default */
	ck_assert_int_eq(http_requests_keep(closes, sizeof(closes) - 1),
			 HTTP_KEEP_CLOSES);
	ck_assert_int_eq(http_requests_keep(then_closes,
					    sizeof(then_closes) - 1),
			 HTTP_KEEP_CLOSES);
	/* one that does not parse */
	ck_assert_int_eq(http_requests_keep("GET /\r\n\r\n", 9),
			 HTTP_KEEP_CLOSES);
}
END_TEST

START_TEST(test_too_many_headers)
{
	ck_assert_done(many_fields(HTTP_MAX_HEADERS));
	ck_assert_refused(many_fields(HTTP_MAX_HEADERS + 1), 431);
}
END_TEST

/* ---- field lines ---- */

START_TEST(test_obs_fold)
{
	ck_assert_refused(WITH("X-A: a\r\n b\r\n"), 400);
	ck_assert_refused(WITH("X-A: a\r\n\tb\r\n"), 400);
	ck_assert_refused("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400);
}
END_TEST

START_TEST(test_bad_field_name)
{
	ck_assert_refused(WITH("X-A : a\r\n"), 400);
	ck_assert_refused(WITH("X-A\t: a\r\n"), 400);
	ck_assert_refused(WITH("X-A a\r\n"), 400);
	ck_assert_refused(WITH(": a\r\n"), 400);
	ck_assert_refused(WITH("X(A): a\r\n"), 400);
	ck_assert_refused(WITH("X-A\r\n"), 400);
}
END_TEST

START_TEST(test_control_in_value)
{
	ck_assert_refused(WITH("X-A: a\x01" "b\r\n"), 400);
	ck_assert_refused(WITH("X-A: a\x7f\r\n"), 400);
	/* HTAB and bytes above 0x7f are fine */
	ck_assert_done(WITH("X-A: a\tb\xe2\x82\xac\r\n"));
}
END_TEST

START_TEST(test_value_trimmed)
{
	ck_assert_done(WITH("User-Agent: \t curl/8.0 x \t\r\n"
			    "Referer:http://r/\r\n"));
	ck_assert_value(req.user_agent, req.user_agent_len, "curl/8.0 x");
	ck_assert_value(req.referer, req.referer_len, "http://r/");
}
END_TEST

START_TEST(test_names_ignore_case)
{
	ck_assert_done("GET / HTTP/1.1\r\nhOST: h\r\nCONTENT-length: 3\r\n"
		       "if-none-MATCH: \"x\"\r\n\r\n");
	ck_assert(req.has_host);
	ck_assert_uint_eq(req.content_length, 3);
	ck_assert_value(req.if_none_match, req.if_none_match_len, "\"x\"");
}
END_TEST

START_TEST(test_missing_host)
{
	ck_assert_refused("GET / HTTP/1.1\r\n\r\n", 400);
	ck_assert_refused("GET / HTTP/1.1\r\nX-Host: h\r\n\r\n", 400);
	/* an empty Host is allowed when the target has no authority */
	ck_assert_done("GET / HTTP/1.1\r\nHost:\r\n\r\n");
}
END_TEST

START_TEST(test_duplicate_host)
{
	ck_assert_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	ck_assert_refused("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400);
	ck_assert_refused("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400);
}
END_TEST

START_TEST(test_content_length)
{
	ck_assert_done(WITH("Content-Length: 1048576\r\n"));
	ck_assert_uint_eq(req.content_length, HTTP_MAX_BODY);
	ck_assert_done(WITH("Content-Length: 7\r\nContent-Length: 007\r\n"));
	ck_assert_uint_eq(req.content_length, 7);
	ck_assert_refused(WITH("Content-Length: 7\r\nContent-Length: 8\r\n"),
			  400);
	ck_assert_refused(WITH("Content-Length: 7a\r\n"), 400);
	ck_assert_refused(WITH("Content-Length: -1\r\n"), 400);
	ck_assert_refused(WITH("Content-Length: +1\r\n"), 400);
	ck_assert_refused(WITH("Content-Length:\r\n"), 400);
	ck_assert_refused(WITH("Content-Length: 1 2\r\n"), 400);
	ck_assert_refused(WITH("Content-Length: 7, 7\r\n"), 400);
}
END_TEST

START_TEST(test_content_length_too_big)
{
	ck_assert_refused(WITH("Content-Length: 1048577\r\n"), 413);
	ck_assert_refused(WITH("Content-Length: 99999999999999999999999\r\n"),
			  413);
}
END_TEST

/* RFC 9112 6.1: a chunked body is taken (read and dropped by the caller);
 * chunked not last, or twice, is a 400; codings not understood a 501. */
START_TEST(test_transfer_encoding)
{
	ck_assert_done(WITH("Transfer-Encoding: chunked\r\n"));
	ck_assert(req.chunked);
	ck_assert_uint_eq(req.content_length, 0);
	ck_assert(req.keep_alive);
	ck_assert_done(WITH("Transfer-Encoding:  Chunked \r\n"));
	ck_assert(req.chunked);
	ck_assert_done(GET("/"));
	ck_assert(!req.chunked);
	ck_assert_refused(WITH("Transfer-Encoding: identity\r\n"), 501);
	ck_assert_refused(WITH("Transfer-Encoding:\r\n"), 501);
	ck_assert_refused(WITH("Transfer-Encoding: gzip, chunked\r\n"), 501);
	ck_assert_refused(WITH("Transfer-Encoding: chunked, gzip\r\n"), 400);
	ck_assert_refused(WITH("Transfer-Encoding: chunked, chunked\r\n"),
			  400);
	ck_assert_refused(WITH("Transfer-Encoding: chunked\r\n"
			       "Transfer-Encoding: chunked\r\n"), 400);
	/* from HTTP/1.0, faulty framing */
	ck_assert_refused("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
			  "\r\n", 400);
}
END_TEST

START_TEST(test_transfer_encoding_with_length)
{
	ck_assert_refused(WITH("Transfer-Encoding: chunked\r\n"
			       "Content-Length: 5\r\n"), 400);
	ck_assert_refused(WITH("Content-Length: 5\r\n"
			       "Transfer-Encoding: chunked\r\n"), 400);
}
END_TEST

START_TEST(test_expect)
{
	ck_assert_done(WITH("Expect: 100-continue\r\n"));
	ck_assert_done(WITH("Expect: 100-Continue\r\n"));
	ck_assert_refused(WITH("Expect: 200-ok\r\n"), 417);
	ck_assert_refused(WITH("Expect: 100-continue, x\r\n"), 417);
}
END_TEST

START_TEST(test_conditionals)
{
	const char *s = WITH("If-None-Match: W/\"a\", \"b\"\r\n"
			     "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
			     "If-Range: \"b\"\r\n");

	ck_assert_done(s);
	ck_assert_value(req.if_none_match, req.if_none_match_len,
			"W/\"a\", \"b\"");
	/* a pointer into the buffer, not a copy */
	ck_assert_ptr_eq(req.if_none_match, buf + (strstr(s, "W/") - s));
	ck_assert_int_eq(req.if_modified_since, 784111777);
	ck_assert_value(req.if_range, req.if_range_len, "\"b\"");
}
END_TEST

START_TEST(test_if_match_and_unmodified_since)
{
	ck_assert_done(WITH("If-Match: \"a\", \"b\"\r\n"
			    "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
			    "If-Unmodified-Since: garbage\r\n"));
	ck_assert_value(req.if_match, req.if_match_len, "\"a\", \"b\"");
	ck_assert_int_eq(req.if_unmodified_since, 784111777);
	ck_assert_done(WITH(""));
	ck_assert_ptr_null(req.if_match);
	ck_assert_int_eq(req.if_unmodified_since, -1);
}
END_TEST

START_TEST(test_host_syntax)
{
	ck_assert_done(WITH(""));
	ck_assert_done("GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
	ck_assert_done("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
	ck_assert_done("GET / HTTP/1.1\r\nHost: xn--bcher-kva.example\r\n\r\n");
	ck_assert_done("GET / HTTP/1.1\r\nHost:\r\n\r\n");	/* empty */
	ck_assert_refused("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
	ck_assert_refused("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
	ck_assert_refused("GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", 400);
	ck_assert_refused("GET / HTTP/1.1\r\nHost: h\"\r\n\r\n", 400);
}
END_TEST

START_TEST(test_if_modified_since_invalid)
{
	ck_assert_done(WITH("If-Modified-Since: yesterday\r\n"));
	ck_assert_int_eq(req.if_modified_since, -1);
	ck_assert_done(WITH("If-Modified-Since: Sunday, 06-Nov-94 08:49:37 GMT\r\n"
			    "If-Modified-Since: Mon, 07 Nov 1994 08:49:37 GMT\r\n"));
	ck_assert_int_eq(req.if_modified_since, 784111777);
}
END_TEST

START_TEST(test_repeated_values_keep_first)
{
	ck_assert_done(WITH("User-Agent: a\r\nUser-Agent: b\r\n"
			    "If-None-Match: \"1\"\r\nIf-None-Match: \"2\"\r\n"));
	ck_assert_value(req.user_agent, req.user_agent_len, "a");
	ck_assert_value(req.if_none_match, req.if_none_match_len, "\"1\"");
}
END_TEST

/* ---- path ---- */

START_TEST(test_percent_decoding)
{
	ck_assert_path("/a%20b/%41%62%c3%A9", "/a b/Ab\xc3\xa9");
	ck_assert_path("/100%25", "/100%");
	ck_assert_path("/a%3Fb", "/a?b");
	ck_assert_path("/caf\xc3\xa9", "/caf\xc3\xa9");
}
END_TEST

START_TEST(test_bad_percent)
{
	ck_assert_refused(GET("/a%00b"), 400);
	ck_assert_refused(GET("/a%0ab"), 400);
	ck_assert_refused(GET("/a%zz"), 400);
	ck_assert_refused(GET("/a%4"), 400);
	ck_assert_refused(GET("/a%"), 400);
	ck_assert_refused(GET("/a%4?x"), 400);
	ck_assert_refused(GET("/%%41"), 400);
}
END_TEST

START_TEST(test_dot_segments)
{
	ck_assert_path("/a/../b", "/b");
	ck_assert_path("/a/./b", "/a/b");
	ck_assert_path("/a/b/../../c", "/c");
	ck_assert_path("/a/b/..", "/a/");
	ck_assert_path("/a/.", "/a/");
	ck_assert_path("/a/..", "/");
	ck_assert_path("/.", "/");
	ck_assert_path("/a/.b/..c/...", "/a/.b/..c/...");
	ck_assert_path("/a/%2e/b/%2E%2e/c", "/a/c");
}
END_TEST

START_TEST(test_dot_segments_above_root)
{
	ck_assert_refused(GET("/.."), 400);
	ck_assert_refused(GET("/../x"), 400);
	ck_assert_refused(GET("/%2e%2e/x"), 400);
	ck_assert_refused(GET("/a/../../x"), 400);
	ck_assert_refused(GET("/a/%2E%2E/%2e%2E/x"), 400);
	ck_assert_refused(GET("/a/..%2f..%2Fetc/passwd"), 400);
	ck_assert_refused(GET("//../x"), 400);
}
END_TEST

START_TEST(test_slashes_merged)
{
	ck_assert_path("//a///b", "/a/b");
	ck_assert_path("/a//", "/a/");
	ck_assert_path("///", "/");
}
END_TEST

START_TEST(test_encoded_slash)
{
	/* %2F is a separator once decoded, like a literal '/' */
	ck_assert_path("/a%2Fb", "/a/b");
	ck_assert_path("/a%2f%2f", "/a/");
	ck_assert_path("/a/b%2F..%2Fc", "/a/c");
}
END_TEST

START_TEST(test_trailing_slash)
{
	ck_assert_done(GET("/dir/"));
	ck_assert(req.path_had_trailing_slash);
	ck_assert_done(GET("/dir"));
	ck_assert(!req.path_had_trailing_slash);
	ck_assert_done(GET("/dir/?x=/"));
	ck_assert(req.path_had_trailing_slash);
	ck_assert_done(GET("/dir?x=/"));
	ck_assert(!req.path_had_trailing_slash);
}
END_TEST

START_TEST(test_query_stripped)
{
	ck_assert_done(GET("/a/b?x=1&y=%00#frag"));
	ck_assert_str_eq(req.path, "/a/b");
	ck_assert_value(req.target, req.target_len, "/a/b?x=1&y=%00#frag");
	ck_assert_path("/a#frag", "/a");
	ck_assert_path("/?", "/");
}
END_TEST

START_TEST(test_absolute_form)
{
	/* Host is required all the same (RFC 9112 3.2) */
	ck_assert_refused("GET http://example.com/x HTTP/1.1\r\n\r\n", 400);
	ck_assert_done("GET http://example.com/x/../y?z HTTP/1.1\r\n"
		       "Host: h\r\n\r\n");
	ck_assert(req.has_host);
	ck_assert_str_eq(req.path, "/y");
	ck_assert_value(req.target, req.target_len,
			"http://example.com/x/../y?z");
	ck_assert_path("HTTPS://example.com:8443", "/");
	ck_assert_path("http://h?q", "/");
}
END_TEST

START_TEST(test_absolute_form_bad)
{
	ck_assert_refused("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET http://u@h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET http:/h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("GET http://h/../x HTTP/1.1\r\n\r\n", 400);
}
END_TEST

START_TEST(test_asterisk_form)
{
	ck_assert_done("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
	ck_assert_int_eq(req.method, HTTP_OPTIONS);
	ck_assert_str_eq(req.path, "*");
	ck_assert_uint_eq(req.path_len, 1);
	ck_assert(!req.path_had_trailing_slash);
	ck_assert_refused("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	ck_assert_refused("OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}
END_TEST

/* ---- Range ---- */

START_TEST(test_range_closed)
{
	ck_assert_done(WITH("Range: bytes=0-99\r\n"));
	ck_assert(req.range.present);
	ck_assert(!req.range.suffix);
	ck_assert(!req.range.unsatisfiable_syntax);
	ck_assert_uint_eq(req.range.first, 0);
	ck_assert_uint_eq(req.range.last, 99);
	ck_assert_done(WITH("Range: Bytes=7-7\r\n"));
	ck_assert(req.range.present);
	ck_assert_uint_eq(req.range.first, 7);
	ck_assert_uint_eq(req.range.last, 7);
}
END_TEST

START_TEST(test_range_open)
{
	ck_assert_done(WITH("Range: bytes=100-\r\n"));
	ck_assert(req.range.present);
	ck_assert(!req.range.suffix);
	ck_assert_uint_eq(req.range.first, 100);
	ck_assert_uint_eq(req.range.last, UINT64_MAX);
}
END_TEST

START_TEST(test_range_suffix)
{
	ck_assert_done(WITH("Range: bytes=-50\r\n"));
	ck_assert(req.range.present);
	ck_assert(req.range.suffix);
	ck_assert(!req.range.unsatisfiable_syntax);
	ck_assert_uint_eq(req.range.first, 50);
}
END_TEST

START_TEST(test_range_unsatisfiable)
{
	ck_assert_done(WITH("Range: bytes=-0\r\n"));
	ck_assert(req.range.present);
	ck_assert(req.range.unsatisfiable_syntax);
	ck_assert_done(WITH("Range: bytes=99999999999999999999999-\r\n"));
	ck_assert(req.range.present);
	ck_assert(req.range.unsatisfiable_syntax);
	/* a huge suffix is the whole file, a huge last an open end */
	ck_assert_done(WITH("Range: bytes=-99999999999999999999999\r\n"));
	ck_assert(req.range.present);
	ck_assert(!req.range.unsatisfiable_syntax);
	ck_assert_uint_eq(req.range.first, UINT64_MAX);
	ck_assert_done(WITH("Range: bytes=5-99999999999999999999999\r\n"));
	ck_assert(req.range.present);
	ck_assert(!req.range.unsatisfiable_syntax);
	ck_assert_uint_eq(req.range.last, UINT64_MAX);
}
END_TEST

START_TEST(test_range_ignored)
{
	static const char *const fields[] = {
		WITH("Range: bytes=0-1,5-6\r\n"),
		WITH("Range: bytes=0-1, 5-6\r\n"),
		WITH("Range: items=0-1\r\n"),
		WITH("Range: bytes=5-2\r\n"),
		WITH("Range: bytes=\r\n"),
		WITH("Range: bytes=-\r\n"),
		WITH("Range: bytes=a-b\r\n"),
		WITH("Range: bytes=1-2x\r\n"),
		WITH("Range: bytes= 1-2\r\n"),
		WITH("Range: bytes=1 -2\r\n"),
		WITH("Range: bytes=--5\r\n"),
		WITH("Range: bytes=-5-6\r\n"),
		WITH("Range: 0-1\r\n"),
		WITH("Range: bytes=1-2\r\nRange: bytes=1-2\r\n"),
		WITH("Range: bytes=1-2\r\nRange: x\r\nRange: bytes=3-4\r\n"),
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		ck_assert_int_eq(parse(fields[i]), HTTP_PARSE_DONE);
		ck_assert_msg(!req.range.present, "case %zu", i);
	}
}
END_TEST

static Suite *request_suite(void)
{
	Suite *s = suite_create("http_request");
	TCase *line = tcase_create("request_line");
	TCase *frame = tcase_create("framing");
	TCase *fields = tcase_create("fields");
	TCase *path = tcase_create("path");
	TCase *range = tcase_create("range");

	tcase_add_test(line, test_simple_get);
	tcase_add_test(line, test_head);
	tcase_add_test(line, test_methods);
	tcase_add_test(line, test_lowercase_method);
	tcase_add_test(line, test_unknown_method);
	tcase_add_test(line, test_bad_request_line);
	tcase_add_test(line, test_http09_line);
	tcase_add_test(line, test_not_http_refused_at_once);
	tcase_add_test(line, test_long_method_then_not_http);
	tcase_add_test(line, test_version);
	tcase_add_test(line, test_http10_close_by_default);
	tcase_add_test(line, test_http10_keep_alive);
	tcase_add_test(line, test_http11_keep_alive_by_default);
	tcase_add_test(line, test_http11_close);
	suite_add_tcase(s, line);

	tcase_add_test(frame, test_pipelined);
	tcase_add_test(frame, test_body_not_in_head);
	tcase_add_test(frame, test_incomplete_everywhere);
	tcase_add_test(frame, test_bare_lf);
	tcase_add_test(frame, test_lone_cr);
	tcase_add_test(frame, test_leading_empty_lines);
	tcase_add_test(frame, test_long_uri);
	tcase_add_test(frame, test_long_uri_early);
	tcase_add_test(frame, test_long_decoded_path);
	tcase_add_test(frame, test_big_head);
	tcase_add_test(frame, test_endless_empty_lines);
	tcase_add_test(frame, test_too_many_headers);
	tcase_add_test(frame, test_requests_keep);
	suite_add_tcase(s, frame);

	tcase_add_test(fields, test_obs_fold);
	tcase_add_test(fields, test_bad_field_name);
	tcase_add_test(fields, test_control_in_value);
	tcase_add_test(fields, test_value_trimmed);
	tcase_add_test(fields, test_names_ignore_case);
	tcase_add_test(fields, test_missing_host);
	tcase_add_test(fields, test_duplicate_host);
	tcase_add_test(fields, test_content_length);
	tcase_add_test(fields, test_content_length_too_big);
	tcase_add_test(fields, test_transfer_encoding);
	tcase_add_test(fields, test_transfer_encoding_with_length);
	tcase_add_test(fields, test_expect);
	tcase_add_test(fields, test_conditionals);
	tcase_add_test(fields, test_if_modified_since_invalid);
	tcase_add_test(fields, test_if_match_and_unmodified_since);
	tcase_add_test(fields, test_host_syntax);
	tcase_add_test(fields, test_repeated_values_keep_first);
	suite_add_tcase(s, fields);

	tcase_add_test(path, test_percent_decoding);
	tcase_add_test(path, test_bad_percent);
	tcase_add_test(path, test_dot_segments);
	tcase_add_test(path, test_dot_segments_above_root);
	tcase_add_test(path, test_slashes_merged);
	tcase_add_test(path, test_encoded_slash);
	tcase_add_test(path, test_trailing_slash);
	tcase_add_test(path, test_query_stripped);
	tcase_add_test(path, test_absolute_form);
	tcase_add_test(path, test_absolute_form_bad);
	tcase_add_test(path, test_asterisk_form);
	suite_add_tcase(s, path);

	tcase_add_test(range, test_range_closed);
	tcase_add_test(range, test_range_open);
	tcase_add_test(range, test_range_suffix);
	tcase_add_test(range, test_range_unsatisfiable);
	tcase_add_test(range, test_range_ignored);
	suite_add_tcase(s, range);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(request_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
