/*
 * Unit tests for HTTP-date formatting and parsing.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http_date.h"
#include "guard_page.h"

#define DATE_T		784111777	/* Sun, 06 Nov 1994 08:49:37 GMT */

static time_t parse(const char *s)
{
	size_t n = strlen(s);

	return http_date_parse(place(s, n), n);
}

START_TEST(test_format_known)
{
	char out[HTTP_DATE_LEN + 1];

	http_date_format(DATE_T, out);
	ck_assert_str_eq(out, "Sun, 06 Nov 1994 08:49:37 GMT");
	http_date_format(0, out);
	ck_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_date_format(951782400, out);
	ck_assert_str_eq(out, "Tue, 29 Feb 2000 00:00:00 GMT");
	http_date_format(1700000000, out);
	ck_assert_str_eq(out, "Tue, 14 Nov 2023 22:13:20 GMT");
}
END_TEST

START_TEST(test_format_clamps)
{
	char out[HTTP_DATE_LEN + 1];

	http_date_format(-12345, out);
	ck_assert_str_eq(out, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_date_format((time_t)253402300800LL, out);
	ck_assert_str_eq(out, "Fri, 31 Dec 9999 23:59:59 GMT");
	ck_assert_uint_eq(strlen(out), HTTP_DATE_LEN);
}
END_TEST

START_TEST(test_round_trip)
{
	char out[HTTP_DATE_LEN + 1];
	time_t t;

	/* A prime step visits every hour, weekday and month over the years. */
	for (t = 0; t < (time_t)4200000000LL; t += 7919 * 97) {
		http_date_format(t, out);
		ck_assert_uint_eq(strlen(out), HTTP_DATE_LEN);
		ck_assert_int_eq(parse(out), t);
	}
	http_date_format((time_t)253402300799LL, out);
	ck_assert_int_eq(parse(out), (time_t)253402300799LL);
}
END_TEST

START_TEST(test_parse_imf_fixdate)
{
	ck_assert_int_eq(parse("Sun, 06 Nov 1994 08:49:37 GMT"), DATE_T);
	ck_assert_int_eq(parse("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
	ck_assert_int_eq(parse("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
}
END_TEST

START_TEST(test_parse_rfc850)
{
	ck_assert_int_eq(parse("Sunday, 06-Nov-94 08:49:37 GMT"), DATE_T);
	ck_assert_int_eq(parse("Thursday, 01-Jan-70 00:00:00 GMT"), 0);
	/* below 70 is this century */
	ck_assert_int_eq(parse("Saturday, 01-Jan-00 00:00:00 GMT"), 946684800);
	ck_assert_int_eq(parse("Tuesday, 14-Nov-23 22:13:20 GMT"), 1700000000);
	ck_assert_int_eq(parse("Tuesday, 01-Jan-69 00:00:00 GMT"), 3124224000LL);
}
END_TEST

START_TEST(test_parse_asctime)
{
	ck_assert_int_eq(parse("Sun Nov  6 08:49:37 1994"), DATE_T);
	ck_assert_int_eq(parse("Tue Nov 14 22:13:20 2023"), 1700000000);
	/* 2DIGIT is in the grammar too */
	ck_assert_int_eq(parse("Sun Nov 06 08:49:37 1994"), DATE_T);
}
END_TEST

START_TEST(test_parse_bad_names)
{
	ck_assert_int_eq(parse("Sux, 06 Nov 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 06 Noe 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("sun, 06 Nov 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 06 nov 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 06 Nov 1994 08:49:37 UTC"), -1);
	ck_assert_int_eq(parse("Sun, 06 Nov 1994 08:49:37 gmt"), -1);
	/* a long day name belongs to RFC 850 only, a short one never there */
	ck_assert_int_eq(parse("Sunday, 06 Nov 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 06-Nov-94 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sunday Nov  6 08:49:37 1994"), -1);
}
END_TEST

START_TEST(test_parse_out_of_range)
{
	ck_assert_int_eq(parse("Sun, 06 Nov 1994 24:00:00 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 06 Nov 1994 08:60:00 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 06 Nov 1994 08:49:61 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 00 Nov 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 31 Nov 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 32 Dec 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 30 Feb 2000 00:00:00 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 29 Feb 1900 00:00:00 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 29 Feb 2023 00:00:00 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 31 Dec 1969 23:59:59 GMT"), -1);
	ck_assert_int_eq(parse("Sun Nov 32 08:49:37 1994"), -1);
	ck_assert_int_eq(parse("Sunday, 31-Apr-94 08:49:37 GMT"), -1);
	/* a leap second is a real second */
	ck_assert_int_eq(parse("Sat, 31 Dec 2016 23:59:60 GMT"), 1483228800);
}
END_TEST

START_TEST(test_parse_garbage)
{
	ck_assert_int_eq(parse(""), -1);
	ck_assert_int_eq(parse("Sun, 06 Nov 1994 08:49:37 GMT "), -1);
	ck_assert_int_eq(parse(" Sun, 06 Nov 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 06 Nov 1994 08:49:37 GMTx"), -1);
	ck_assert_int_eq(parse("Sun, 6 Nov 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 06 Nov 94 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 06 Nov 1994 8:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 06 Nov 1994 08.49.37 GMT"), -1);
	ck_assert_int_eq(parse("Sun,  06 Nov 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun, 0x Nov 1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sunday, 06-Nov-1994 08:49:37 GMT"), -1);
	ck_assert_int_eq(parse("Sun Nov  6 08:49:37 1994 GMT"), -1);
	ck_assert_int_eq(parse("Sun Nov 6 08:49:37 1994"), -1);
	ck_assert_int_eq(parse("Sun Nov  6 08:49:37 94"), -1);
	ck_assert_int_eq(parse("1994-11-06T08:49:37Z"), -1);
	ck_assert_int_eq(parse("784111777"), -1);
}
END_TEST

START_TEST(test_parse_embedded_nul)
{
	static const char s[] = "Sun, 06 Nov 1994 08:49:37 GMT\0";

	/* len, not a NUL, ends the input: a NUL inside it is a bad byte */
	ck_assert_int_eq(http_date_parse(place(s, sizeof(s) - 1),
					 sizeof(s) - 1), -1);
}
END_TEST

/* Every proper prefix of a valid date is invalid and read only up to len. */
static void check_prefixes(const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(http_date_parse(place(s, i), i), -1);
	ck_assert_int_ne(http_date_parse(place(s, n), n), -1);
}

START_TEST(test_parse_stays_within_len)
{
	check_prefixes("Sun, 06 Nov 1994 08:49:37 GMT");
	check_prefixes("Sunday, 06-Nov-94 08:49:37 GMT");
	check_prefixes("Sun Nov  6 08:49:37 1994");
	/* a longer buffer is cut at len */
	ck_assert_int_eq(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT!!", 29),
			 DATE_T);
}
END_TEST

static Suite *date_suite(void)
{
	Suite *s = suite_create("http_date");
	TCase *fmt = tcase_create("format");
	TCase *prs = tcase_create("parse");

	tcase_add_test(fmt, test_format_known);
	tcase_add_test(fmt, test_format_clamps);
	tcase_add_test(fmt, test_round_trip);
	suite_add_tcase(s, fmt);

	tcase_add_test(prs, test_parse_imf_fixdate);
	tcase_add_test(prs, test_parse_rfc850);
	tcase_add_test(prs, test_parse_asctime);
	tcase_add_test(prs, test_parse_bad_names);
	tcase_add_test(prs, test_parse_out_of_range);
	tcase_add_test(prs, test_parse_garbage);
	tcase_add_test(prs, test_parse_embedded_nul);
	tcase_add_test(prs, test_parse_stays_within_len);
	suite_add_tcase(s, prs);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(date_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
