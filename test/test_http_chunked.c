// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Chunked request bodies read to be dropped: where they end, in any
 * pieces, and which are refused with which status. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "http_chunked.h"

#define MAX	1000

/* Reads s whole; returns the result and the bytes used. */
static int read_all(const char *s, size_t *used, struct http_chunked *ch)
{
	http_chunked_init(ch);
	return http_chunked_read(ch, s, strlen(s), MAX, used);
}

/* The body in s ends where end says (s goes on after it), read whole and
 * one byte at a time alike. */
static void assert_ends(const char *s, size_t end, uint64_t data)
{
	struct http_chunked ch;
	size_t used = 0, i;
	int r = HTTP_CHUNKED_MORE;

	ck_assert_int_eq(read_all(s, &used, &ch), 0);
	ck_assert_uint_eq(used, end);
	ck_assert_uint_eq(ch.data, data);
	ck_assert_uint_eq(ch.wire, end);
	http_chunked_init(&ch);
	for (i = 0; i < strlen(s) && r == HTTP_CHUNKED_MORE; i++) {
		r = http_chunked_read(&ch, s + i, 1, MAX, &used);
		ck_assert_uint_eq(used, 1);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(i, end);
}

static void assert_refused(const char *s, int status)
{
	struct http_chunked ch;
	size_t used;

	ck_assert_int_eq(read_all(s, &used, &ch), status);
}

START_TEST(bodies_that_end)
{
	assert_ends("0\r\n\r\n", 5, 0);
	assert_ends("5\r\nhello\r\n0\r\n\r\nGET /", 15, 5);
	assert_ends("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 26, 11);
	assert_ends("A\r\n0123456789\r\n0\r\n\r\n", 20, 10);
	assert_ends("a;ext=1;q=\"x\"\r\n0123456789\r\n0 ; last\r\n\r\n", 39,
		    10);
	/* trailer fields are dropped with the rest */
	assert_ends("1\r\nx\r\n0\r\nX-Sum: 1\r\nX-More: 2\r\n\r\nnext", 32, 1);
	assert_ends("000\r\n\r\n", 7, 0);
}
END_TEST

START_TEST(bodies_not_ended)
{
	struct http_chunked ch;
	size_t used;

	ck_assert_int_eq(read_all("5\r\nhel", &used, &ch), HTTP_CHUNKED_MORE);
	ck_assert_uint_eq(used, 6);
	ck_assert_int_eq(read_all("0\r\n\r", &used, &ch), HTTP_CHUNKED_MORE);
	ck_assert_int_eq(read_all("", &used, &ch), HTTP_CHUNKED_MORE);
	ck_assert_uint_eq(used, 0);
}
END_TEST

START_TEST(malformed_bodies)
{
	assert_refused("\r\n", 400);			/* no size */
	assert_refused("x\r\n", 400);
	assert_refused(" 5\r\nhello\r\n0\r\n\r\n", 400);
	assert_refused("-1\r\n", 400);
	assert_refused("5\nhello\r\n0\r\n\r\n", 400);	/* bare LF */
	assert_refused("5\r\nhelloX\r\n", 400);	/* data longer than said */
	assert_refused("5\r\nhello\r\r", 400);
	assert_refused("0\r\n\n", 400);
	assert_refused("0\r\nX-T: a\nb\r\n\r\n", 400);
	assert_refused("1;a\x01\r\nx\r\n", 400);	/* a control byte */
}
END_TEST

START_TEST(bodies_too_big)
{
	char framing[HTTP_CHUNKED_FRAMING_MAX + 16];

	assert_refused("3E9\r\n", 413);			/* 1001 > MAX */
	assert_refused("1f4\r\n" "x", HTTP_CHUNKED_MORE);	/* 500: fine */
	assert_refused("ffffffffffffffffff\r\n", 413);	/* past 64 bits */
	/* an extension that never ends */
	framing[0] = '1';
	framing[1] = ';';
	memset(framing + 2, 'e', sizeof(framing) - 3);
	framing[sizeof(framing) - 1] = '\0';
	assert_refused(framing, 413);
}
END_TEST

START_TEST(limit_counts_all_chunks)
{
	struct http_chunked ch;
	char body[2100], *p = body;
	size_t used;
	int i;

	/* three chunks of 400: the third crosses MAX */
	for (i = 0; i < 3; i++) {
		memcpy(p, "190\r\n", 5);
		memset(p + 5, 'd', 400);
		memcpy(p + 405, "\r\n", 2);
		p += 407;
	}
	strcpy(p, "0\r\n\r\n");
	http_chunked_init(&ch);
	ck_assert_int_eq(http_chunked_read(&ch, body, strlen(body), MAX, &used),
			 413);
	http_chunked_init(&ch);
	ck_assert_int_eq(http_chunked_read(&ch, body, strlen(body), 1200, &used),
			 0);
	ck_assert_uint_eq(ch.data, 1200);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_chunked");
	TCase *tc = tcase_create("chunked");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, bodies_that_end);
	tcase_add_test(tc, bodies_not_ended);
	tcase_add_test(tc, malformed_bodies);
	tcase_add_test(tc, bodies_too_big);
	tcase_add_test(tc, limit_counts_all_chunks);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
