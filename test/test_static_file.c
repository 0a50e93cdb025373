/*
 * Unit tests for the static-file decisions: which status, headers and body
 * plan answer a request, without a socket. Requests go through the real
 * parser; files live in a temporary document root made per test.
 */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_date.h"
#include "static_file.h"

#define BODY		"0123456789abcdefghij"	/* 20 bytes */
#define MTIME_T		1700000000		/* a second in 2023 */

static char root[] = "/tmp/test_static_file.XXXXXX";
static int root_fd = -1;
static char head_buf[4096];	/* the parsed request points into it */
static struct http_request req;
static struct static_file_plan plan;
static struct cache_control cc;		/* --cache-control: none but in one */
static struct coding_prefs codings;	/* --precompressed br,gzip */
static struct error_pages pages;	/* --error-page */
static struct files_conf fc = { .cache_control = &cc, .codings = &codings,
				.error_pages = &pages };

static void put_file_at(const char *rel, const char *body, time_t mtime)
{
	struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };
	int fd = openat(root_fd, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	ck_assert_int_eq(futimens(fd, times), 0);
	close(fd);
}

static void put_file(const char *rel, const char *body)
{
	put_file_at(rel, body, MTIME_T);
}

static void setup(void)
{
	ck_assert(coding_prefs_parse(&codings, "br,gzip"));
	pages.n = 0;
	fc.fallback = NULL;
	ck_assert_ptr_nonnull(mkdtemp(root));
	root_fd = open(root, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(root_fd, 0);
	put_file("file.txt", BODY);
	put_file("empty.txt", "");
	ck_assert_int_eq(mkdirat(root_fd, "dir", 0755), 0);
	put_file("dir/index.html", "<p>index</p>");
	ck_assert_int_eq(mkdirat(root_fd, "noindex", 0755), 0);
}

static void teardown(void)
{
	char cmd[128];

	close(root_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(root, "/tmp/test_static_file.XXXXXX");
}

/* Parses "METHOD target HTTP/1.1", the extra fields, and plans it. */
static void ask(const char *method, const char *target, const char *fields)
{
	int status = 0;
	int n = snprintf(head_buf, sizeof(head_buf),
			 "%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n", method, target,
			 fields);

	ck_assert_int_eq(http_parse_request(head_buf, n, &req, &status),
			 HTTP_PARSE_DONE);
	static_file_plan(&plan, root_fd, NULL, &req, &fc);
}

/* The body of a file plan, read from its fd. */
static void assert_file_body(const char *want)
{
	char got[64] = "";
	size_t len = strlen(want);

	ck_assert_int_eq(plan.body, STATIC_BODY_FILE);
	ck_assert_int_eq(plan.file_len, len);
	ck_assert_int_eq(pread(plan.fd, got, len, plan.file_off),
			 (ssize_t)len);
	ck_assert_mem_eq(got, want, len);
	close(plan.fd);
}

/* The head as it would be sent, for checks on fields. */
static const char *head_text(void)
{
	static char out[2048];
	size_t n = http_head_build(out, sizeof(out) - 1, &plan.head, NULL);

	ck_assert_uint_gt(n, 0);
	out[n] = '\0';
	return out;
}

static void etag_of_file(char *out, size_t cap)
{
	const char *h, *end;

	ask("GET", "/file.txt", "");
	close(plan.fd);
	h = strstr(head_text(), "ETag: ");
	ck_assert_ptr_nonnull(h);
	h += 6;
	end = strstr(h, "\r\n");
	ck_assert_uint_lt((size_t)(end - h), cap);
	memcpy(out, h, end - h);
	out[end - h] = '\0';
}

START_TEST(test_200_get)
{
	ask("GET", "/file.txt", "");
	ck_assert_int_eq(plan.head.status, 200);
	ck_assert_uint_eq(plan.head.content_length, 20);
	ck_assert_str_eq(plan.head.content_type, "text/plain; charset=utf-8");
	ck_assert_int_eq(plan.head.last_modified, MTIME_T);
	ck_assert(plan.head.accept_ranges);
	ck_assert(!plan.close_after);
	ck_assert(plan.cacheable);
	ck_assert_str_eq(plan.file, "/file.txt");
	assert_file_body(BODY);
}
END_TEST

START_TEST(test_200_head_has_no_body)
{
	ask("HEAD", "/file.txt", "");
	ck_assert_int_eq(plan.head.status, 200);
	ck_assert_uint_eq(plan.head.content_length, 20);
	ck_assert_int_eq(plan.body, STATIC_BODY_NONE);
	ck_assert_int_eq(plan.fd, -1);
	ck_assert(plan.cacheable);
}
END_TEST

START_TEST(test_200_empty_file)
{
	ask("GET", "/empty.txt", "");
	ck_assert_int_eq(plan.head.status, 200);
	ck_assert_uint_eq(plan.head.content_length, 0);
	ck_assert_int_eq(plan.body, STATIC_BODY_NONE);
	ck_assert_int_eq(plan.fd, -1);
}
END_TEST

START_TEST(test_200_directory_index)
{
	ask("GET", "/dir/", "");
	ck_assert_int_eq(plan.head.status, 200);
	ck_assert_str_eq(plan.head.content_type, "text/html; charset=utf-8");
	ck_assert_str_eq(plan.file, "/dir/index.html");
	assert_file_body("<p>index</p>");
}
END_TEST

START_TEST(test_301_directory_without_slash)
{
	ask("GET", "/dir?x=1", "");
	ck_assert_int_eq(plan.head.status, 301);
	ck_assert_str_eq(plan.head.location, "/dir/");
	ck_assert_int_eq(plan.body, STATIC_BODY_INLINE);
	ck_assert_uint_eq(plan.head.content_length, plan.inline_len);
	ck_assert_ptr_nonnull(strstr(plan.inline_body, "301"));
	ck_assert(!plan.close_after);
	ck_assert(!plan.cacheable);
	ask("HEAD", "/dir", "");
	ck_assert_int_eq(plan.head.status, 301);
	ck_assert_int_eq(plan.body, STATIC_BODY_NONE);
}
END_TEST

START_TEST(test_403_directory_without_index)
{
	ask("GET", "/noindex/", "");
	ck_assert_int_eq(plan.head.status, 403);
	ck_assert_int_eq(plan.body, STATIC_BODY_INLINE);
	ck_assert(!plan.close_after);
}
END_TEST

START_TEST(test_403_not_a_regular_file)
{
	/* Permissions would not do as root: a FIFO is refused by anyone */
	ck_assert_int_eq(mkfifoat(root_fd, "fifo", 0644), 0);
	ask("GET", "/fifo", "");
	ck_assert_int_eq(plan.head.status, 403);
	ck_assert_int_eq(plan.fd, -1);
}
END_TEST

START_TEST(test_404)
{
	ask("GET", "/missing.txt", "");
	ck_assert_int_eq(plan.head.status, 404);
	ck_assert_int_eq(plan.body, STATIC_BODY_INLINE);
	ck_assert_ptr_nonnull(strstr(plan.inline_body, "404 Not Found"));
	ask("GET", "/file.txt/below", "");
	ck_assert_int_eq(plan.head.status, 404);
	ask("HEAD", "/missing.txt", "");
	ck_assert_int_eq(plan.head.status, 404);
	ck_assert_int_eq(plan.body, STATIC_BODY_NONE);
}
END_TEST

START_TEST(test_404_outside_root)
{
	ck_assert_int_eq(symlinkat("/etc/passwd", root_fd, "out"), 0);
	ask("GET", "/out", "");
	ck_assert_int_eq(plan.head.status, 404);
	ck_assert_int_eq(plan.fd, -1);
}
END_TEST

START_TEST(test_304_if_none_match)
{
	char etag[128], field[256];

	etag_of_file(etag, sizeof(etag));
	snprintf(field, sizeof(field), "If-None-Match: \"x\", W/%s\r\n", etag);
	ask("GET", "/file.txt", field);
	ck_assert_int_eq(plan.head.status, 304);
	ck_assert_int_eq(plan.body, STATIC_BODY_NONE);
	ck_assert_ptr_null(strstr(head_text(), "Content-Length"));
	ck_assert_ptr_nonnull(strstr(head_text(), etag));
	ck_assert(!plan.cacheable);
	ask("GET", "/file.txt", "If-None-Match: \"other\"\r\n");
	ck_assert_int_eq(plan.head.status, 200);
	close(plan.fd);
}
END_TEST

START_TEST(test_304_if_modified_since)
{
	char date[HTTP_DATE_LEN + 1], field[128];

	http_date_format(MTIME_T, date);
	snprintf(field, sizeof(field), "If-Modified-Since: %s\r\n", date);
	ask("GET", "/file.txt", field);
	ck_assert_int_eq(plan.head.status, 304);
	http_date_format(MTIME_T - 1, date);
	snprintf(field, sizeof(field), "If-Modified-Since: %s\r\n", date);
	ask("GET", "/file.txt", field);
	ck_assert_int_eq(plan.head.status, 200);
	close(plan.fd);
	/* If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2) */
	http_date_format(MTIME_T, date);
	snprintf(field, sizeof(field), "If-None-Match: \"other\"\r\n"
		 "If-Modified-Since: %s\r\n", date);
	ask("GET", "/file.txt", field);
	ck_assert_int_eq(plan.head.status, 200);
	close(plan.fd);
}
END_TEST

START_TEST(test_412)
{
	char date[HTTP_DATE_LEN + 1], field[128];

	ask("GET", "/file.txt", "If-Match: \"other\"\r\n");
	ck_assert_int_eq(plan.head.status, 412);
	ck_assert_int_eq(plan.body, STATIC_BODY_INLINE);
	ck_assert_int_eq(plan.fd, -1);
	ck_assert(!plan.close_after);
	http_date_format(MTIME_T - 1, date);
	snprintf(field, sizeof(field), "If-Unmodified-Since: %s\r\n", date);
	ask("GET", "/file.txt", field);
	ck_assert_int_eq(plan.head.status, 412);
	ask("GET", "/file.txt", "If-Match: *\r\n");
	ck_assert_int_eq(plan.head.status, 200);
	close(plan.fd);
}
END_TEST

START_TEST(test_206)
{
	ask("GET", "/file.txt", "Range: bytes=5-9\r\n");
	ck_assert_int_eq(plan.head.status, 206);
	ck_assert(plan.head.has_range);
	ck_assert_uint_eq(plan.head.total_size, 20);
	ck_assert_ptr_nonnull(strstr(head_text(), "Content-Range: bytes 5-9/20"));
	ck_assert(!plan.cacheable);
	assert_file_body("56789");
	ask("GET", "/file.txt", "Range: bytes=-3\r\n");
	ck_assert_int_eq(plan.head.status, 206);
	assert_file_body("hij");
	ask("GET", "/file.txt", "Range: bytes=15-\r\n");
	assert_file_body("fghij");
	ask("GET", "/file.txt", "Range: bytes=-100\r\n");
	assert_file_body(BODY);
}
END_TEST

START_TEST(test_206_if_range)
{
	char etag[128], field[256];

	etag_of_file(etag, sizeof(etag));
	snprintf(field, sizeof(field), "Range: bytes=0-1\r\nIf-Range: %s\r\n",
		 etag);
	ask("GET", "/file.txt", field);
	ck_assert_int_eq(plan.head.status, 206);
	close(plan.fd);
	ask("GET", "/file.txt", "Range: bytes=0-1\r\nIf-Range: \"old\"\r\n");
	ck_assert_int_eq(plan.head.status, 200);
	ck_assert_uint_eq(plan.file_len, 20);
	close(plan.fd);
}
END_TEST

START_TEST(test_416)
{
	ask("GET", "/file.txt", "Range: bytes=20-30\r\n");
	ck_assert_int_eq(plan.head.status, 416);
	ck_assert_int_eq(plan.body, STATIC_BODY_NONE);
	ck_assert_int_eq(plan.fd, -1);
	ck_assert_ptr_nonnull(strstr(head_text(), "Content-Range: bytes */20"));
	ck_assert(!plan.close_after);
	ask("GET", "/file.txt", "Range: bytes=-0\r\n");
	ck_assert_int_eq(plan.head.status, 416);
	ask("GET", "/empty.txt", "Range: bytes=0-\r\n");
	ck_assert_int_eq(plan.head.status, 416);
}
END_TEST

START_TEST(test_methods)
{
	ask("POST", "/file.txt", "");
	ck_assert_int_eq(plan.head.status, 405);
	ck_assert_str_eq(plan.head.allow, "GET, HEAD");
	ck_assert(!plan.close_after);
	ask("BREW", "/file.txt", "");
	ck_assert_int_eq(plan.head.status, 501);
	ck_assert(plan.close_after);
}
END_TEST

START_TEST(test_decide_without_files)
{
	struct stat st = { .st_size = 100, .st_ino = 7,
			   .st_mtim = { MTIME_T, 5 } };

	struct static_file_rep rep = { .path = "/x.css", .st = &st };

	ask("GET", "/x.css", "Range: bytes=10-19\r\n");
	static_file_decide(&plan, &req, &rep, &cc);
	ck_assert_int_eq(plan.head.status, 206);
	ck_assert_uint_eq(plan.file_off, 10);
	ck_assert_uint_eq(plan.file_len, 10);
	ck_assert_str_eq(plan.head.content_type, "text/css; charset=utf-8");
	ck_assert_int_eq(plan.fd, -1);
}
END_TEST

/* Precompressed variants: FILE.gz and FILE.br beside FILE answer a client
 * that accepts them, with FILE's type, their own ETag, Content-Encoding and
 * Vary. */
START_TEST(test_variant_chosen)
{
	struct http_etag plain;

	put_file("file.txt.gz", "GZ");
	put_file("file.txt.br", "BROTLI");
	ask("GET", "/file.txt", "");
	plain = plan.etag;
	close(plan.fd);
	ask("GET", "/file.txt", "Accept-Encoding: gzip, deflate\r\n");
	ck_assert_int_eq(plan.head.status, 200);
	ck_assert_str_eq(plan.head.content_encoding, "gzip");
	ck_assert(plan.head.vary_accept_encoding);
	ck_assert_str_eq(plan.head.content_type, "text/plain; charset=utf-8");
	ck_assert_str_ne(plan.etag.text, plain.text);
	ck_assert(plan.cacheable);	/* as a group, cache.c */
	assert_file_body("GZ");
	ck_assert_ptr_nonnull(strstr(head_text(), "\r\nVary: Accept-Encoding\r\n"));
	/* preferred when both are accepted alike; q-values first */
	ask("GET", "/file.txt", "Accept-Encoding: gzip, deflate, br, zstd\r\n");
	ck_assert_str_eq(plan.head.content_encoding, "br");
	assert_file_body("BROTLI");
	ask("GET", "/file.txt", "Accept-Encoding: br;q=0.5, gzip\r\n");
	ck_assert_str_eq(plan.head.content_encoding, "gzip");
	close(plan.fd);
	ask("HEAD", "/file.txt", "Accept-Encoding: br\r\n");
	ck_assert_str_eq(plan.head.content_encoding, "br");
	ck_assert_uint_eq(plan.head.content_length, 6);
	ck_assert_int_eq(plan.body, STATIC_BODY_NONE);
	/* a directory's index.html has its variants too */
	put_file("dir/index.html.gz", "IGZ");
	ask("GET", "/dir/", "Accept-Encoding: gzip\r\n");
	ck_assert_str_eq(plan.head.content_type, "text/html; charset=utf-8");
	assert_file_body("IGZ");
}
END_TEST

START_TEST(test_variant_identity_varies)
{
	put_file("file.txt.gz", "GZ");
	ask("GET", "/file.txt", "");
	ck_assert_ptr_null(plan.head.content_encoding);
	ck_assert(plan.head.vary_accept_encoding);
	ck_assert(plan.cacheable);
	assert_file_body(BODY);
	ask("GET", "/file.txt", "Accept-Encoding: gzip;q=0, br\r\n");
	ck_assert_ptr_null(plan.head.content_encoding);
	assert_file_body(BODY);
	ask("GET", "/file.txt", "Accept-Encoding: identity, gzip;q=0.5\r\n");
	ck_assert_ptr_null(plan.head.content_encoding);
	assert_file_body(BODY);
	/* a file without variants: no Vary, and the kernel may cache it */
	ask("GET", "/empty.txt", "Accept-Encoding: gzip\r\n");
	ck_assert(!plan.head.vary_accept_encoding);
	ck_assert_ptr_null(strstr(head_text(), "Vary"));
	ck_assert(plan.cacheable);
}
END_TEST

START_TEST(test_variant_conditionals_and_range)
{
	char inm[128];

	put_file("file.txt.gz", "0123456789GZ");
	ask("GET", "/file.txt", "Accept-Encoding: gzip\r\n");
	snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n"
		 "Accept-Encoding: gzip\r\n", plan.etag.text);
	close(plan.fd);
	ask("GET", "/file.txt", inm);
	ck_assert_int_eq(plan.head.status, 304);
	ck_assert(plan.head.vary_accept_encoding);
	ck_assert_ptr_null(strstr(head_text(), "Content-Encoding"));
	ck_assert_ptr_nonnull(strstr(head_text(), "Vary: Accept-Encoding"));
	/* the variant's ETag is not the file's */
	snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", plan.etag.text);
	ask("GET", "/file.txt", inm);
	ck_assert_int_eq(plan.head.status, 200);
	assert_file_body(BODY);
	ask("GET", "/file.txt", "Range: bytes=10-\r\nAccept-Encoding: gzip\r\n");
	ck_assert_int_eq(plan.head.status, 206);
	ck_assert_uint_eq(plan.head.total_size, 12);
	assert_file_body("GZ");
}
END_TEST

START_TEST(test_variant_stale_or_off)
{
	/* older than its file: never served, as if it were not there */
	put_file_at("file.txt.gz", "OLD", MTIME_T - 1);
	ask("GET", "/file.txt", "Accept-Encoding: gzip\r\n");
	ck_assert_ptr_null(plan.head.content_encoding);
	ck_assert(!plan.head.vary_accept_encoding);
	ck_assert(plan.cacheable);
	assert_file_body(BODY);
	put_file("file.txt.gz", "NEW");
	ck_assert(coding_prefs_parse(&codings, "off"));
	ask("GET", "/file.txt", "Accept-Encoding: gzip\r\n");
	ck_assert_ptr_null(plan.head.content_encoding);
	ck_assert(!plan.head.vary_accept_encoding);
	assert_file_body(BODY);
	ck_assert(coding_prefs_parse(&codings, "gzip"));
	ask("GET", "/file.txt", "Accept-Encoding: gzip\r\n");
	assert_file_body("NEW");
}
END_TEST

/* --error-page: the file answers with the error's status, without the
 * validators of a file's answer; a page that is not there, the built-in. */
START_TEST(test_error_pages)
{
	const char *bad[] = { "404", "404=", "404=x.html", "4O4=/x", "399=/x",
			      "600=/x", "404=/../x", "404=/a/./x", "404=/a//x",
			      "404=/dir/", "1404=/x" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!error_pages_add(&pages, bad[i]), "took '%s'",
			      bad[i]);
	put_file("404.html", "<p>gone</p>");
	ck_assert(error_pages_add(&pages, "404=/404.html"));
	ck_assert(error_pages_add(&pages, "405=/missing.html"));
	ck_assert(error_pages_add(&pages, "403=/dir/index.html"));
	ask("GET", "/nothing", "");
	ck_assert_int_eq(plan.head.status, 404);
	ck_assert_str_eq(plan.head.content_type, "text/html; charset=utf-8");
	ck_assert_ptr_null(plan.head.etag);
	ck_assert_int_eq(plan.head.last_modified, -1);
	ck_assert(!plan.cacheable && !plan.close_after);
	assert_file_body("<p>gone</p>");
	ask("HEAD", "/nothing", "");
	ck_assert_int_eq(plan.head.status, 404);
	ck_assert_uint_eq(plan.head.content_length, 11);
	ck_assert_int_eq(plan.body, STATIC_BODY_NONE);
	ask("GET", "/noindex/", "");
	ck_assert_int_eq(plan.head.status, 403);
	assert_file_body("<p>index</p>");
	/* the page is missing: the built-in one, Allow and all */
	ask("POST", "/file.txt", "");
	ck_assert_int_eq(plan.head.status, 405);
	ck_assert_str_eq(plan.head.allow, "GET, HEAD");
	ck_assert_int_eq(plan.body, STATIC_BODY_INLINE);
	/* a status given again replaces the page */
	ck_assert(error_pages_add(&pages, "404=/file.txt"));
	ck_assert_uint_eq(pages.n, 3);
	ask("GET", "/nothing", "");
	assert_file_body(BODY);
}
END_TEST

/* --fallback: a path that names nothing gets the file, as a 200 with its
 * validators (so revalidation works), never into the kernel cache; an
 * existing file, a directory without index.html, other methods: as ever. */
START_TEST(test_fallback)
{
	char inm[128];

	fc.fallback = "/dir/index.html";
	ask("GET", "/app/route/42", "");
	ck_assert_int_eq(plan.head.status, 200);
	ck_assert_str_eq(plan.head.content_type, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(plan.head.etag);
	ck_assert(!plan.cacheable);
	snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", plan.etag.text);
	assert_file_body("<p>index</p>");
	ask("GET", "/app/route/43", inm);
	ck_assert_int_eq(plan.head.status, 304);
	ask("GET", "/file.txt", "");
	ck_assert(plan.cacheable);
	assert_file_body(BODY);
	ask("GET", "/noindex/", "");
	ck_assert_int_eq(plan.head.status, 403);
	ask("POST", "/app/route", "");
	ck_assert_int_eq(plan.head.status, 405);
	/* a fallback that is not there: the path's 404 */
	fc.fallback = "/missing.html";
	ask("GET", "/app/route/42", "");
	ck_assert_int_eq(plan.head.status, 404);
}
END_TEST

/* --cache-control: the first rule that matches the file's path, on its 200,
 * 206 and 304 (as nginx's add_header), never on an error. */
START_TEST(test_cache_control)
{
	static const char *const bad[] = {
		"assets=x", "/a=", "/a=  ", "*=x", "=x", "/a=x\r\ny", "/a",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!cache_control_add(&cc, bad[i]), "took '%s'",
			      bad[i]);
	ck_assert_uint_eq(cc.n, 0);
	ck_assert(cache_control_add(&cc, "/dir/=public, max-age=60"));
	ck_assert(cache_control_add(&cc, "*.html= no-cache"));
	ck_assert(cache_control_add(&cc, "*.txt=max-age=5"));

	ask("GET", "/dir/", "");
	ck_assert_int_eq(plan.head.status, 200);
	ck_assert_str_eq(plan.head.cache_control, "public, max-age=60");
	ck_assert_ptr_nonnull(strstr(head_text(), "\r\nETag: ") );
	ck_assert_ptr_nonnull(strstr(head_text(),
				     "\r\nCache-Control: public, max-age=60\r\n"));
	ck_assert_str_eq(cache_control_for(&cc, "/x/index.html"), "no-cache");
	ask("GET", "/file.txt", "Range: bytes=0-1\r\n");
	ck_assert_int_eq(plan.head.status, 206);
	ck_assert_str_eq(plan.head.cache_control, "max-age=5");
	ask("GET", "/file.txt", "If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT\r\n");
	ck_assert_int_eq(plan.head.status, 304);
	ck_assert_ptr_nonnull(strstr(head_text(), "Cache-Control: max-age=5"));
	ck_assert_ptr_null(cache_control_for(&cc, "/a.css"));
	ck_assert_str_eq(cache_control_for(&cc, "dir/a.css"),
			 "public, max-age=60");	/* the cache's form */
	for (i = 0; i < 3; i++) {
		static const char *const errors[][2] = {
			{ "/missing.txt", "" },
			{ "/file.txt", "Range: bytes=20-30\r\n" },
			{ "/file.txt", "If-Match: \"nope\"\r\n" },
		};

		ask("GET", errors[i][0], errors[i][1]);
		ck_assert_int_ge(plan.head.status, 400);
		ck_assert_ptr_null(strstr(head_text(), "Cache-Control"));
	}
	while (cc.n < CACHE_CONTROL_MAX)
		ck_assert(cache_control_add(&cc, "/more=x"));
	ck_assert(!cache_control_add(&cc, "/one-too-many=x"));
	cc.n = 0;
}
END_TEST

START_TEST(test_closing_statuses)
{
	static const int closes[] = { 400, 413, 414, 417, 431, 500, 501, 505 };
	static const int stays[] = { 200, 206, 301, 304, 403, 404, 405, 412,
				     416 };
	size_t i;

	for (i = 0; i < sizeof(closes) / sizeof(*closes); i++)
		ck_assert_msg(static_file_status_closes(closes[i]), "%d",
			      closes[i]);
	for (i = 0; i < sizeof(stays) / sizeof(*stays); i++)
		ck_assert_msg(!static_file_status_closes(stays[i]), "%d",
			      stays[i]);
}
END_TEST

static Suite *static_file_suite(void)
{
	Suite *s = suite_create("static_file");
	TCase *t = tcase_create("plan");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_200_get);
	tcase_add_test(t, test_200_head_has_no_body);
	tcase_add_test(t, test_200_empty_file);
	tcase_add_test(t, test_200_directory_index);
	tcase_add_test(t, test_301_directory_without_slash);
	tcase_add_test(t, test_403_directory_without_index);
	tcase_add_test(t, test_403_not_a_regular_file);
	tcase_add_test(t, test_404);
	tcase_add_test(t, test_404_outside_root);
	tcase_add_test(t, test_304_if_none_match);
	tcase_add_test(t, test_304_if_modified_since);
	tcase_add_test(t, test_412);
	tcase_add_test(t, test_206);
	tcase_add_test(t, test_206_if_range);
	tcase_add_test(t, test_416);
	tcase_add_test(t, test_methods);
	tcase_add_test(t, test_decide_without_files);
	tcase_add_test(t, test_cache_control);
	tcase_add_test(t, test_closing_statuses);
	tcase_add_test(t, test_variant_chosen);
	tcase_add_test(t, test_variant_identity_varies);
	tcase_add_test(t, test_variant_conditionals_and_range);
	tcase_add_test(t, test_variant_stale_or_off);
	tcase_add_test(t, test_error_pages);
	tcase_add_test(t, test_fallback);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(static_file_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
