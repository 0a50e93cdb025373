/*
 * Unit tests for response heads, entity tags, error bodies and media types.
 * Heads are compared byte for byte: the kernel cache replays them verbatim.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "http_response.h"
#include "mime.h"

#define DATE_T		784111777	/* Sun, 06 Nov 1994 08:49:37 GMT */
#define DATE_S		"Sun, 06 Nov 1994 08:49:37 GMT"
#define MTIME_T		1700000000	/* Tue, 14 Nov 2023 22:13:20 GMT */
#define MTIME_S		"Tue, 14 Nov 2023 22:13:20 GMT"
#define ETAG_S		"\"2a-4d2-17979cfe3d85cd15\""

static struct http_etag etag;

static void make_etag(void)
{
	http_etag_make(&etag, 42, 1234, 1700000000123456789LL);
}

/* A typical 200 for a 1234-byte HTML file; tests change what they need. */
static struct http_head head_200(void)
{
	struct http_head h = {
		.status = 200,
		.content_type = "text/html; charset=utf-8",
		.content_length = 1234,
		.last_modified = MTIME_T,
		.etag = &etag,
		.accept_ranges = true,
		.keep_alive = true,
		.date = DATE_T,
	};
	return h;
}

/* Builds h and checks the result is exactly want. */
static void check_head(const struct http_head *h, const char *want)
{
	char buf[1024];
	size_t n = http_head_build(buf, sizeof(buf), h, NULL);

	ck_assert_uint_eq(n, strlen(want));
	ck_assert_mem_eq(buf, want, n);
}

START_TEST(test_head_200)
{
	struct http_head h = head_200();

	check_head(&h,
		   "HTTP/1.1 200 OK\r\n"
		   "Server: fileserver\r\n"
		   "Date: " DATE_S "\r\n"
		   "Content-Type: text/html; charset=utf-8\r\n"
		   "Content-Length: 1234\r\n"
		   "Last-Modified: " MTIME_S "\r\n"
		   "Connection: keep-alive\r\n"
		   "ETag: " ETAG_S "\r\n"
		   "Accept-Ranges: bytes\r\n"
		   "\r\n");
}
END_TEST

START_TEST(test_head_206)
{
	struct http_head h = head_200();

	h.status = 206;
	h.content_length = 100;
	h.has_range = true;
	h.range_first = 0;
	h.range_last = 99;
	h.total_size = 1234;
	check_head(&h,
		   "HTTP/1.1 206 Partial Content\r\n"
		   "Server: fileserver\r\n"
		   "Date: " DATE_S "\r\n"
		   "Content-Type: text/html; charset=utf-8\r\n"
		   "Content-Length: 100\r\n"
		   "Last-Modified: " MTIME_S "\r\n"
		   "Connection: keep-alive\r\n"
		   "ETag: " ETAG_S "\r\n"
		   "Content-Range: bytes 0-99/1234\r\n"
		   "Accept-Ranges: bytes\r\n"
		   "\r\n");
}
END_TEST

START_TEST(test_head_206_large)
{
	struct http_head h = head_200();

	h.status = 206;
	h.content_type = NULL;
	h.content_length = 1;
	h.last_modified = -1;
	h.etag = NULL;
	h.accept_ranges = false;
	h.has_range = true;
	h.range_first = UINT64_MAX - 1;
	h.range_last = UINT64_MAX - 1;
	h.total_size = UINT64_MAX;
	check_head(&h,
		   "HTTP/1.1 206 Partial Content\r\n"
		   "Server: fileserver\r\n"
		   "Date: " DATE_S "\r\n"
		   "Content-Length: 1\r\n"
		   "Connection: keep-alive\r\n"
		   "Content-Range: bytes 18446744073709551614-"
		   "18446744073709551614/18446744073709551615\r\n"
		   "\r\n");
}
END_TEST

START_TEST(test_head_304)
{
	struct http_head h = head_200();

	h.status = 304;
	check_head(&h,
		   "HTTP/1.1 304 Not Modified\r\n"
		   "Server: fileserver\r\n"
		   "Date: " DATE_S "\r\n"
		   "Last-Modified: " MTIME_S "\r\n"
		   "Connection: keep-alive\r\n"
		   "ETag: " ETAG_S "\r\n"
		   "Accept-Ranges: bytes\r\n"
		   "\r\n");
}
END_TEST

START_TEST(test_head_416)
{
	struct http_head h = head_200();

	h.status = 416;
	h.content_length = 0;
	h.content_type = NULL;
	h.total_size = 1234;
	check_head(&h,
		   "HTTP/1.1 416 Range Not Satisfiable\r\n"
		   "Server: fileserver\r\n"
		   "Date: " DATE_S "\r\n"
		   "Content-Length: 0\r\n"
		   "Last-Modified: " MTIME_S "\r\n"
		   "Connection: keep-alive\r\n"
		   "ETag: " ETAG_S "\r\n"
		   "Content-Range: bytes */1234\r\n"
		   "Accept-Ranges: bytes\r\n"
		   "\r\n");
}
END_TEST

/* An error response: nothing about a file, just the error body. */
static struct http_head head_error(int status)
{
	struct http_head h = {
		.status = status,
		.content_type = "text/html",
		.content_length = 150,
		.last_modified = -1,
		.date = DATE_T,
	};
	return h;
}

START_TEST(test_head_405_allow)
{
	struct http_head h = head_error(405);

	h.allow = "GET, HEAD";
	check_head(&h,
		   "HTTP/1.1 405 Method Not Allowed\r\n"
		   "Server: fileserver\r\n"
		   "Date: " DATE_S "\r\n"
		   "Content-Type: text/html\r\n"
		   "Content-Length: 150\r\n"
		   "Connection: close\r\n"
		   "Allow: GET, HEAD\r\n"
		   "\r\n");
}
END_TEST

START_TEST(test_head_301_location)
{
	struct http_head h = head_error(301);

	h.keep_alive = true;
	h.location = "/docs/";
	check_head(&h,
		   "HTTP/1.1 301 Moved Permanently\r\n"
		   "Server: fileserver\r\n"
		   "Date: " DATE_S "\r\n"
		   "Content-Type: text/html\r\n"
		   "Content-Length: 150\r\n"
		   "Connection: keep-alive\r\n"
		   "Location: /docs/\r\n"
		   "\r\n");
}
END_TEST

START_TEST(test_head_connection)
{
	struct http_head h = head_error(404);
	char buf[512];
	size_t n;

	h.keep_alive = false;
	n = http_head_build(buf, sizeof(buf), &h, NULL);
	ck_assert_uint_ne(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "\r\nConnection: close\r\n"));
	ck_assert_ptr_null(strstr(buf, "keep-alive"));

	h.keep_alive = true;
	n = http_head_build(buf, sizeof(buf), &h, NULL);
	ck_assert_uint_ne(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "\r\nConnection: keep-alive\r\n"));
	ck_assert_ptr_null(strstr(buf, "close"));
}
END_TEST

START_TEST(test_head_date_off)
{
	struct http_head h = head_200();
	char buf[512];
	size_t off = 0;
	size_t n = http_head_build(buf, sizeof(buf), &h, &off);

	ck_assert_uint_ne(n, 0);
	ck_assert_uint_le(off + HTTP_DATE_LEN, n);
	ck_assert_mem_eq(buf + off, DATE_S, HTTP_DATE_LEN);
	ck_assert_mem_eq(buf + off - 6, "Date: ", 6);
	ck_assert_mem_eq(buf + off + HTTP_DATE_LEN, "\r\n", 2);
}
END_TEST

/* The kernel refreshes a cached head by rewriting the Date value alone: a
 * head built at another time must differ in exactly those bytes. */
START_TEST(test_head_deterministic)
{
	struct http_head h = head_200();
	char a[512], b[512];
	size_t off_a, off_b, na, nb;

	memset(a, 'x', sizeof(a));
	memset(b, 'y', sizeof(b));
	na = http_head_build(a, sizeof(a), &h, &off_a);
	h.date = DATE_T + 86400 * 400 + 3600 + 61;
	nb = http_head_build(b, sizeof(b), &h, &off_b);

	ck_assert_uint_ne(na, 0);
	ck_assert_uint_eq(na, nb);
	ck_assert_uint_eq(off_a, off_b);
	ck_assert_mem_eq(a, b, off_a);
	ck_assert_mem_ne(a + off_a, b + off_b, HTTP_DATE_LEN);
	ck_assert_mem_eq(a + off_a + HTTP_DATE_LEN, b + off_b + HTTP_DATE_LEN,
			 na - off_a - HTTP_DATE_LEN);
}
END_TEST

START_TEST(test_head_cap)
{
	struct http_head h = head_200();
	char buf[512];
	size_t off = 7;
	size_t n = http_head_build(buf, sizeof(buf), &h, NULL);
	size_t cap;

	ck_assert_uint_ne(n, 0);
	ck_assert_uint_eq(http_head_build(buf, n, &h, NULL), n);
	for (cap = 0; cap < n; cap++)
		ck_assert_uint_eq(http_head_build(buf, cap, &h, &off), 0);
	ck_assert_uint_eq(off, 7);	/* untouched on failure */
}
END_TEST

START_TEST(test_head_refuses_bad_input)
{
	struct http_head h = head_error(301);
	char buf[512];

	h.location = "/a\r\nSet-Cookie: x=1";
	ck_assert_uint_eq(http_head_build(buf, sizeof(buf), &h, NULL), 0);
	h.location = "/a\nb";
	ck_assert_uint_eq(http_head_build(buf, sizeof(buf), &h, NULL), 0);
	h.location = "/a\tb";	/* HTAB is fine in a field value */
	ck_assert_uint_ne(http_head_build(buf, sizeof(buf), &h, NULL), 0);

	h = head_error(99);
	ck_assert_uint_eq(http_head_build(buf, sizeof(buf), &h, NULL), 0);
	h.status = 1000;
	ck_assert_uint_eq(http_head_build(buf, sizeof(buf), &h, NULL), 0);
}
END_TEST

START_TEST(test_status_reason)
{
	ck_assert_str_eq(http_status_reason(200), "OK");
	ck_assert_str_eq(http_status_reason(206), "Partial Content");
	ck_assert_str_eq(http_status_reason(404), "Not Found");
	ck_assert_str_eq(http_status_reason(413), "Content Too Large");
	ck_assert_str_eq(http_status_reason(416), "Range Not Satisfiable");
	ck_assert_str_eq(http_status_reason(431),
			 "Request Header Fields Too Large");
	ck_assert_str_eq(http_status_reason(505), "HTTP Version Not Supported");
	ck_assert_str_eq(http_status_reason(299), "Unknown");
	ck_assert_str_eq(http_status_reason(-1), "Unknown");
}
END_TEST

#define BODY_404 \
	"<html>\r\n" \
	"<head><title>404 Not Found</title></head>\r\n" \
	"<body>\r\n" \
	"<center><h1>404 Not Found</h1></center>\r\n" \
	"<hr><center>fileserver</center>\r\n" \
	"</body>\r\n" \
	"</html>\r\n"

START_TEST(test_error_body)
{
	char buf[512];
	size_t n = http_error_body(buf, sizeof(buf), 404);

	ck_assert_uint_eq(n, strlen(BODY_404));
	ck_assert_mem_eq(buf, BODY_404, n);

	n = http_error_body(buf, sizeof(buf), 599);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "<h1>599 Unknown</h1>"));
}
END_TEST

START_TEST(test_error_body_cap)
{
	char buf[512];
	size_t len = strlen(BODY_404);

	ck_assert_uint_eq(http_error_body(buf, len, 404), len);
	ck_assert_uint_eq(http_error_body(buf, len - 1, 404), 0);
	ck_assert_uint_eq(http_error_body(buf, 0, 404), 0);
}
END_TEST

START_TEST(test_etag_make)
{
	struct http_etag e;

	make_etag();
	ck_assert_str_eq(etag.text, ETAG_S);
	ck_assert_uint_eq(etag.len, strlen(ETAG_S));

	http_etag_make(&e, 0, 0, 0);
	ck_assert_str_eq(e.text, "\"0-0-0\"");
	ck_assert_uint_eq(e.len, 7);

	/* The longest tag fits, and a negative mtime is still one value. */
	http_etag_make(&e, UINT64_MAX, UINT64_MAX, -1);
	ck_assert_str_eq(e.text, "\"ffffffffffffffff-ffffffffffffffff-"
			 "ffffffffffffffff\"");
	ck_assert_uint_eq(e.len, HTTP_ETAG_MAX);
}
END_TEST

static bool inm(const char *value)
{
	return http_etag_matches(&etag, value, strlen(value), false);
}

/* If-Match's strong comparison */
static bool im(const char *value)
{
	return http_etag_matches(&etag, value, strlen(value), true);
}

START_TEST(test_etag_matches)
{
	make_etag();
	ck_assert(inm(ETAG_S));
	ck_assert(inm(" \t" ETAG_S "\t "));
	ck_assert(inm("W/" ETAG_S));
	ck_assert(inm("\"a\", " ETAG_S ", \"b\""));
	ck_assert(inm("\"a\",W/" ETAG_S));
	ck_assert(inm(", ," ETAG_S " ,,"));	/* empty list elements */
	ck_assert(inm("*"));
	ck_assert(inm("  *\t"));
}
END_TEST

START_TEST(test_etag_no_match)
{
	make_etag();
	ck_assert(!inm(""));
	ck_assert(!inm("   "));
	ck_assert(!inm(","));
	ck_assert(!inm("\"2a-4d2-17979cfe3d85cd16\""));
	ck_assert(!inm("\"a\", \"b\", W/\"c\""));
	ck_assert(!inm("\"2a-4d2-17979cfe3d85cd1\""));	/* a prefix */
	ck_assert(!inm("\"2a-4d2-17979cfe3d85cd15x\""));

	/* Only the first len bytes count. */
	ck_assert(!http_etag_matches(&etag, ETAG_S, strlen(ETAG_S) - 1,
				     false));
}
END_TEST

START_TEST(test_etag_strong)
{
	make_etag();
	ck_assert(im(ETAG_S));
	ck_assert(im("\"a\", " ETAG_S));
	ck_assert(im("*"));
	ck_assert(!im("W/" ETAG_S));		/* weak never matches strongly */
	ck_assert(!im("\"a\",W/" ETAG_S));
	ck_assert(!im("\"a\""));
	ck_assert(!im("garbage"));
}
END_TEST

START_TEST(test_etag_malformed)
{
	static const char *const bad[] = {
		"2a-4d2-17979cfe3d85cd15",		/* no quotes */
		"\"2a-4d2-17979cfe3d85cd15",		/* unterminated */
		ETAG_S "x",				/* junk after */
		ETAG_S " \"a\"",			/* no comma */
		"w/" ETAG_S,				/* W/ is case-sensitive */
		"W/ " ETAG_S,
		"W/",
		"*, " ETAG_S,				/* "*" is alone or absent */
		ETAG_S ", *",
		"**",
		ETAG_S ", \"a b\"",			/* SP is no etagc */
		ETAG_S ", \"a\x01\"",
		ETAG_S ", garbage",
	};
	size_t i;

	make_etag();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!inm(bad[i]), "matched: %s", bad[i]);
}
END_TEST

static const char *mime(const char *path)
{
	return mime_type_for(path, strlen(path));
}

START_TEST(test_mime_table)
{
	static const char *const table[][2] = {
		{ "a.html", "text/html; charset=utf-8" },
		{ "a.htm", "text/html; charset=utf-8" },
		{ "a.css", "text/css; charset=utf-8" },
		{ "a.js", "text/javascript; charset=utf-8" },
		{ "a.mjs", "text/javascript; charset=utf-8" },
		{ "a.json", "application/json" },
		{ "a.txt", "text/plain; charset=utf-8" },
		{ "a.xml", "application/xml" },
		{ "a.svg", "image/svg+xml" },
		{ "a.png", "image/png" },
		{ "a.jpg", "image/jpeg" },
		{ "a.jpeg", "image/jpeg" },
		{ "a.gif", "image/gif" },
		{ "a.webp", "image/webp" },
		{ "a.ico", "image/x-icon" },
		{ "a.avif", "image/avif" },
		{ "a.woff", "font/woff" },
		{ "a.woff2", "font/woff2" },
		{ "a.ttf", "font/ttf" },
		{ "a.otf", "font/otf" },
		{ "a.pdf", "application/pdf" },
		{ "a.wasm", "application/wasm" },
		{ "a.mp4", "video/mp4" },
		{ "a.webm", "video/webm" },
		{ "a.mp3", "audio/mpeg" },
		{ "a.ogg", "audio/ogg" },
		{ "a.wav", "audio/wav" },
		{ "a.csv", "text/csv; charset=utf-8" },
		{ "a.md", "text/markdown; charset=utf-8" },
		{ "a.zip", "application/zip" },
		{ "a.gz", "application/gzip" },
		{ "a.tar", "application/x-tar" },
		{ "a.map", "application/json" },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		ck_assert_str_eq(mime(table[i][0]), table[i][1]);
}
END_TEST

START_TEST(test_mime_case)
{
	ck_assert_str_eq(mime("/INDEX.HTML"), "text/html; charset=utf-8");
	ck_assert_str_eq(mime("/a/Photo.JpEg"), "image/jpeg");
	ck_assert_str_eq(mime("/f.WOFF2"), "font/woff2");
}
END_TEST

START_TEST(test_mime_default)
{
	const char *def = "application/octet-stream";

	ck_assert_str_eq(mime(""), def);
	ck_assert_str_eq(mime("/"), def);
	ck_assert_str_eq(mime("/README"), def);
	ck_assert_str_eq(mime("Makefile"), def);
	ck_assert_str_eq(mime("/a.exe"), def);
	ck_assert_str_eq(mime("/a."), def);
	ck_assert_str_eq(mime("/a.htmlx"), def);
	ck_assert_str_eq(mime("/a.h"), def);
	ck_assert_str_eq(mime("/a.woff22"), def);
	ck_assert_str_eq(mime("/a.verylongextension"), def);
}
END_TEST

START_TEST(test_mime_segments)
{
	/* Only the last segment has the extension. */
	ck_assert_str_eq(mime("/v1.2/README"), "application/octet-stream");
	ck_assert_str_eq(mime("/site.html/"), "application/octet-stream");
	ck_assert_str_eq(mime("/v1.2/app.js"),
			 "text/javascript; charset=utf-8");
	ck_assert_str_eq(mime("/a/b.tar.gz"), "application/gzip");
	ck_assert_str_eq(mime("/a/.hidden"), "application/octet-stream");

	/* The path is len bytes, not up to a NUL. */
	ck_assert_str_eq(mime_type_for("/a.css?x.png", 6),
			 "text/css; charset=utf-8");
	ck_assert_str_eq(mime_type_for("/a.css", 5),
			 "application/octet-stream");
}
END_TEST

static Suite *response_suite(void)
{
	Suite *s = suite_create("http_response");
	TCase *head = tcase_create("head");
	TCase *body = tcase_create("error_body");
	TCase *tag = tcase_create("etag");
	TCase *mt = tcase_create("mime");

	tcase_add_checked_fixture(head, make_etag, NULL);
	tcase_add_test(head, test_head_200);
	tcase_add_test(head, test_head_206);
	tcase_add_test(head, test_head_206_large);
	tcase_add_test(head, test_head_304);
	tcase_add_test(head, test_head_416);
	tcase_add_test(head, test_head_405_allow);
	tcase_add_test(head, test_head_301_location);
	tcase_add_test(head, test_head_connection);
	tcase_add_test(head, test_head_date_off);
	tcase_add_test(head, test_head_deterministic);
	tcase_add_test(head, test_head_cap);
	tcase_add_test(head, test_head_refuses_bad_input);
	tcase_add_test(head, test_status_reason);
	suite_add_tcase(s, head);

	tcase_add_test(body, test_error_body);
	tcase_add_test(body, test_error_body_cap);
	suite_add_tcase(s, body);

	tcase_add_test(tag, test_etag_make);
	tcase_add_test(tag, test_etag_matches);
	tcase_add_test(tag, test_etag_no_match);
	tcase_add_test(tag, test_etag_strong);
	tcase_add_test(tag, test_etag_malformed);
	suite_add_tcase(s, tag);

	tcase_add_test(mt, test_mime_table);
	tcase_add_test(mt, test_mime_case);
	tcase_add_test(mt, test_mime_default);
	tcase_add_test(mt, test_mime_segments);
	suite_add_tcase(s, mt);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(response_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
