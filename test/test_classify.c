// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The request classifier the BPF parser runs, compiled for userspace. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_classify.h"

static struct http_class classify_n(const char *req, size_t len)
{
	struct http_scan s;

	http_classify(&s, (const __u8 *)req, len);
	return s.out;
}

static struct http_class classify(const char *req)
{
	return classify_n(req, strlen(req));
}

static void assert_cacheable(const char *req, const char *path, int head_only)
{
	struct http_class c = classify(req);

	ck_assert_uint_eq(c.frame, HTTP_FRAME_DONE);
	ck_assert_uint_eq(c.head_len, strlen(req));
	ck_assert_msg(c.cacheable, "not cacheable: %s", req);
	ck_assert_uint_eq(c.head_only, head_only);
	ck_assert_uint_eq(c.path_len, strlen(path));
	ck_assert(memcmp(req + c.path_off, path, c.path_len) == 0);
}

static void assert_framed_not_cacheable(const char *req)
{
	struct http_class c = classify(req);

	ck_assert_uint_eq(c.frame, HTTP_FRAME_DONE);
	ck_assert_uint_eq(c.head_len, strlen(req));
	ck_assert_msg(!c.cacheable, "cacheable: %s", req);
}

START_TEST(plain_get_and_head)
{
	assert_cacheable("GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
			 "/index.html", 0);
	assert_cacheable("HEAD /a/b.css HTTP/1.1\r\nHost: a\r\n"
			 "User-Agent: x\r\nAccept: */*\r\n\r\n", "/a/b.css", 1);
	assert_cacheable("GET / HTTP/1.1\r\nhost:a\r\n\r\n", "/", 0);
	assert_cacheable("GET /dir/ HTTP/1.1\r\nHost: a\r\n\r\n", "/dir/", 0);
}
END_TEST

START_TEST(query_is_not_part_of_the_key)
{
	assert_cacheable("GET /a.txt?v=1&x=%20 HTTP/1.1\r\nHost: a\r\n\r\n",
			 "/a.txt", 0);
}
END_TEST

START_TEST(connection_keep_alive_only)
{
	assert_cacheable("GET /a HTTP/1.1\r\nHost: a\r\n"
			 "Connection: Keep-Alive\r\n\r\n", "/a", 0);
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\n"
				    "Connection: close\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\n"
				    "Connection: keep-alive, Upgrade\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\n"
				    "Connection: keep\r\n\r\n");
}
END_TEST

/* What ab -k sends: userspace answers it with the HTTP/1.1 keep-alive
 * response, byte for byte. */
START_TEST(http10_keep_alive_is_cacheable)
{
	assert_cacheable("GET /static.html HTTP/1.0\r\nConnection: Keep-Alive"
			 "\r\nHost: localhost:8080\r\nUser-Agent: "
			 "ApacheBench/2.3\r\nAccept: */*\r\n\r\n",
			 "/static.html", 0);
	assert_cacheable("HEAD /a HTTP/1.0\r\nHost: a\r\n"
			 "connection: keep-alive\r\n\r\n", "/a", 1);
}
END_TEST

START_TEST(methods_and_versions)
{
	assert_framed_not_cacheable("POST /a HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_framed_not_cacheable("get /a HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_framed_not_cacheable("GETX /a HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_framed_not_cacheable("HEADER /a HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.0\r\nHost: a\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.0\r\nHost: a\r\n"
				    "Connection: close\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.0\r\n"
				    "Connection: keep-alive\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.2\r\nHost: a\r\n"
				    "Connection: keep-alive\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.10\r\nHost: a\r\n\r\n");
	/* HTTP/0.9-style line: userspace answers 400 */
	ck_assert_uint_eq(classify("GET /a\r\nHost: a\r\n\r\n").frame,
			  HTTP_FRAME_UNSAFE);
	assert_framed_not_cacheable("GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n");
}
END_TEST

/* Bytes no method holds (TLS's first byte, a NUL, a control) mean the
 * stream is no HTTP: passed at once, not waited on for an end of head
 * that never comes. Any other method byte leaves that to the head's end. */
START_TEST(not_http_is_not_waited_for)
{
	static const char tls_record[] = "\x16\x03\x01\x02\x00\x01";

	ck_assert_uint_eq(classify_n(tls_record, sizeof(tls_record) - 1).frame,
			  HTTP_FRAME_UNSAFE);
	ck_assert_uint_eq(classify_n("G\0T /a", 6).frame, HTTP_FRAME_UNSAFE);
	ck_assert_uint_eq(classify("GE\x7f").frame, HTTP_FRAME_UNSAFE);
	ck_assert_uint_eq(classify("GE\"").frame, HTTP_FRAME_UNSAFE);
	ck_assert_uint_eq(classify("M-SEARCH * HTTP/1.1").frame,
			  HTTP_FRAME_MORE);
	assert_framed_not_cacheable("PROPFIND /a HTTP/1.1\r\nHost: a\r\n\r\n");
}
END_TEST

START_TEST(paths_userspace_normalises)
{
	assert_framed_not_cacheable("GET /a%20b HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_framed_not_cacheable("GET //a HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_framed_not_cacheable("GET /a/../b HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_framed_not_cacheable("GET /./b HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_framed_not_cacheable("GET /.env HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_framed_not_cacheable("GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_framed_not_cacheable("GET /a\x80 HTTP/1.1\r\nHost: a\r\n\r\n");
}
END_TEST

START_TEST(long_path_not_cacheable)
{
	char req[512], path[200];

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[FS_KEY_MAX] = '\0';	/* exactly FS_KEY_MAX bytes: too long */
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path);
	assert_framed_not_cacheable(req);
	path[FS_KEY_MAX - 1] = '\0';
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path);
	assert_cacheable(req, path, 0);
}
END_TEST

START_TEST(headers_that_change_the_answer)
{
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n");
	/* preconditions other than a revalidation's */
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nIf-Match: \"x\"\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nIf-Unmodified-Since: x\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nIf-Range: \"x\"\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nIf-None-Matches: x\r\n\r\n");
	/* a revalidation's field twice, or empty: userspace's */
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\n"
				    "If-None-Match: \"y\"\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: \r\n\r\n");
	/* names that merely start like one of those are harmless */
	assert_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nRanges: x\r\nHosts: y\r\n\r\n",
			 "/a", 0);
}
END_TEST

/* If-None-Match and If-Modified-Since: cacheable, the kernel compares
 * their values (without OWS) with the cached entry's. */
START_TEST(revalidations_are_located)
{
	const char *req = "GET /a HTTP/1.1\r\nHost: a\r\n"
			  "If-None-Match:  W/\"abc\" \r\n"
			  "if-modified-since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
	struct http_class c = classify(req);

	ck_assert(c.cacheable);
	ck_assert_uint_eq(c.inm_len, 7);
	ck_assert_mem_eq(req + c.inm_off, "W/\"abc\"", 7);
	ck_assert_uint_eq(c.ims_len, 29);
	ck_assert_mem_eq(req + c.ims_off, "Sun, 06 Nov 1994", 16);
	c = classify("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
	ck_assert_uint_eq(c.inm_len, 0);
	ck_assert_uint_eq(c.ims_len, 0);
}
END_TEST

/* Accept-Encoding: a list of bare tokens becomes the codings of variants
 * it names; anything more is for userspace (ae_complex). */
static void assert_ae(const char *value, __u32 mask, __u32 complex)
{
	char req[256];
	struct http_class c;

	snprintf(req, sizeof(req), "GET /a HTTP/1.1\r\nHost: a\r\n"
		 "Accept-Encoding:%s\r\n\r\n", value);
	c = classify(req);
	ck_assert_msg(c.cacheable, "not cacheable: %s", value);
	ck_assert_msg(c.ae_complex == complex, "complex %u: %s", c.ae_complex,
		      value);
	if (!complex)
		ck_assert_msg(c.ae_mask == mask, "mask %u: %s", c.ae_mask,
			      value);
}

START_TEST(accept_encoding_codings)
{
	assert_ae(" gzip, deflate, br, zstd", FS_ENC_GZIP | FS_ENC_BR |
		  FS_ENC_ZSTD, 0);
	assert_ae(" GZip ,BR", FS_ENC_GZIP | FS_ENC_BR, 0);
	assert_ae(" deflate, identity", 0, 0);
	assert_ae("", 0, 0);
	assert_ae(" *", FS_ENC_GZIP | FS_ENC_BR | FS_ENC_ZSTD, 0);
	assert_ae(" ,, gzip,", FS_ENC_GZIP, 0);
	assert_ae(" gzipx, brr, x-gzip", 0, 0);
	assert_ae(" gzip;q=0.5", 0, 1);
	assert_ae(" gzip br", 0, 1);
	assert_ae(" \"gzip\"", 0, 1);
	/* a second field: userspace reads the first */
	ck_assert(classify("GET /a HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip"
			   "\r\nAccept-Encoding: br\r\n\r\n").ae_complex);
	ck_assert_uint_eq(classify("GET /a HTTP/1.1\r\nHost: a\r\n\r\n").ae_mask,
			  0);
}
END_TEST

START_TEST(host_required_once)
{
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
}
END_TEST

START_TEST(malformed_headers)
{
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\n: y\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n");
}
END_TEST

/* What userspace refuses with a 400 or 431 is never a cached 200. */
START_TEST(what_userspace_refuses)
{
	char req[4096];
	int i, n;

	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nX[A]: b\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nX/Y: b\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a\r\nX-\xc3\xa9: b\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a/b\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: a b\r\n\r\n");
	assert_framed_not_cacheable("GET /a HTTP/1.1\r\nHost: u@h\r\n\r\n");
	assert_cacheable("GET /a HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", "/a", 0);

	/* 100 field lines pass, 101 do not */
	for (i = 100; i <= 101; i++) {
		int f;

		n = snprintf(req, sizeof(req), "GET /a HTTP/1.1\r\nHost: h\r\n");
		for (f = 1; f < i; f++)
			n += snprintf(req + n, sizeof(req) - n, "X-%d: v\r\n", f);
		snprintf(req + n, sizeof(req) - n, "\r\n");
		if (i == 100)
			assert_cacheable(req, "/a", 0);
		else
			assert_framed_not_cacheable(req);
	}
}
END_TEST

START_TEST(request_line_without_version_is_unsafe)
{
	/* userspace answers 400 at once; waiting for a blank line would
	 * hold the client until the header timeout */
	ck_assert_uint_eq(classify("GET /a.txt\r\n").frame, HTTP_FRAME_UNSAFE);
	ck_assert_uint_eq(classify("GET /a?q\r\nHost: h\r\n").frame,
			  HTTP_FRAME_UNSAFE);
	ck_assert_uint_eq(classify("GET\r\n").frame, HTTP_FRAME_UNSAFE);
}
END_TEST

START_TEST(bodies_and_bare_lf_are_unsafe)
{
	ck_assert_uint_eq(classify("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc").frame,
			  HTTP_FRAME_UNSAFE);
	ck_assert_uint_eq(classify("GET /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").frame,
			  HTTP_FRAME_UNSAFE);
	ck_assert_uint_eq(classify("GET /a HTTP/1.1\nHost: a\n\n").frame,
			  HTTP_FRAME_UNSAFE);
	ck_assert_uint_eq(classify("GET /a HTTP/1.1\rHost: a\r\n\r\n").frame,
			  HTTP_FRAME_UNSAFE);
	ck_assert_uint_eq(classify("\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\n").frame,
			  HTTP_FRAME_UNSAFE);
}
END_TEST

START_TEST(incomplete_at_every_split)
{
	const char *req = "GET /x.html HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
	size_t len = strlen(req), i;
	struct http_scan s;

	for (i = 0; i < len; i++) {
		http_classify(&s, (const __u8 *)req, i);
		ck_assert_msg(s.out.frame == HTTP_FRAME_MORE, "split %zu", i);
		ck_assert(!s.out.cacheable);
	}
}
END_TEST

START_TEST(pipelined_frames_first_only)
{
	const char *first = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
	char two[128];
	struct http_class c;

	snprintf(two, sizeof(two), "%sGET /b HTTP/1.1\r\nHost: a\r\n\r\n", first);
	c = classify(two);
	ck_assert_uint_eq(c.frame, HTTP_FRAME_DONE);
	ck_assert_uint_eq(c.head_len, strlen(first));
	ck_assert(c.cacheable);
}
END_TEST

START_TEST(head_too_long_is_unsafe)
{
	size_t len = FS_SCAN_MAX + 100;
	char *req = malloc(len + 1);
	struct http_scan s;

	ck_assert_ptr_nonnull(req);
	memset(req, 'a', len);
	memcpy(req, "GET /a HTTP/1.1\r\nX: ", 20);
	req[len] = '\0';
	http_classify(&s, (const __u8 *)req, len);
	ck_assert_uint_eq(s.out.frame, HTTP_FRAME_UNSAFE);
	free(req);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("classify");
	TCase *tc = tcase_create("classify");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, plain_get_and_head);
	tcase_add_test(tc, query_is_not_part_of_the_key);
	tcase_add_test(tc, connection_keep_alive_only);
	tcase_add_test(tc, http10_keep_alive_is_cacheable);
	tcase_add_test(tc, methods_and_versions);
	tcase_add_test(tc, not_http_is_not_waited_for);
	tcase_add_test(tc, paths_userspace_normalises);
	tcase_add_test(tc, long_path_not_cacheable);
	tcase_add_test(tc, headers_that_change_the_answer);
	tcase_add_test(tc, host_required_once);
	tcase_add_test(tc, revalidations_are_located);
	tcase_add_test(tc, accept_encoding_codings);
	tcase_add_test(tc, malformed_headers);
	tcase_add_test(tc, what_userspace_refuses);
	tcase_add_test(tc, request_line_without_version_is_unsafe);
	tcase_add_test(tc, bodies_and_bare_lf_are_unsafe);
	tcase_add_test(tc, incomplete_at_every_split);
	tcase_add_test(tc, pipelined_frames_first_only);
	tcase_add_test(tc, head_too_long_is_unsafe);
	suite_add_tcase(suite, tc);
	sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
