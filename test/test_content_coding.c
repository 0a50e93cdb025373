// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --precompressed lists, and the coding an Accept-Encoding value gets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "content_coding.h"

#define ALL ((1u << CODING_BR) | (1u << CODING_ZSTD) | (1u << CODING_GZIP))

static enum content_coding choose(const char *prefs, unsigned have,
				  const char *ae)
{
	struct coding_prefs p;

	ck_assert(coding_prefs_parse(&p, prefs));
	return coding_choose(&p, have, ae, ae ? strlen(ae) : 0);
}

START_TEST(prefs_lists)
{
	const char *bad[] = { "", "gz", "br,br", "br,", ",br", "br gzip",
			      "identity", "off,br" };
	struct coding_prefs p;
	size_t i;

	ck_assert(coding_prefs_parse(&p, "zstd,br,gzip"));
	ck_assert_uint_eq(p.n, 3);
	ck_assert_int_eq(p.order[0], CODING_ZSTD);
	ck_assert(coding_prefs_parse(&p, "off"));
	ck_assert_uint_eq(p.n, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!coding_prefs_parse(&p, bad[i]), "took '%s'",
			      bad[i]);
}
END_TEST

START_TEST(accept_encoding)
{
	/* what browsers and curl send */
	ck_assert_int_eq(choose("br,gzip", ALL, "gzip, deflate, br, zstd"),
			 CODING_BR);
	ck_assert_int_eq(choose("gzip,br", ALL, "gzip, deflate, br"),
			 CODING_GZIP);
	ck_assert_int_eq(choose("br,gzip", 1u << CODING_GZIP, "gzip, br"),
			 CODING_GZIP);
	ck_assert_int_eq(choose("br,gzip", ALL, NULL), CODING_IDENTITY);
	ck_assert_int_eq(choose("br,gzip", ALL, ""), CODING_IDENTITY);
	ck_assert_int_eq(choose("br,gzip", ALL, "deflate"), CODING_IDENTITY);
	/* q-values: the highest wins, ties to the preferred; q=0 refuses */
	ck_assert_int_eq(choose("br,gzip", ALL, "br;q=0.5, gzip;q=0.8"),
			 CODING_GZIP);
	ck_assert_int_eq(choose("br,gzip", ALL, "br;q=0, gzip;q=0.001"),
			 CODING_GZIP);
	ck_assert_int_eq(choose("br,gzip", ALL, "BR ; Q=1.000 ,GZIP"),
			 CODING_BR);
	ck_assert_int_eq(choose("br,gzip", ALL, "gzip;q=0"), CODING_IDENTITY);
	/* "*" stands for codings not named */
	ck_assert_int_eq(choose("br,gzip", ALL, "*"), CODING_BR);
	ck_assert_int_eq(choose("br,gzip", ALL, "br;q=0, *"), CODING_GZIP);
	ck_assert_int_eq(choose("br,gzip", ALL, "*;q=0"), CODING_IDENTITY);
	/* identity named above the best variant */
	ck_assert_int_eq(choose("br,gzip", ALL, "identity, gzip;q=0.5"),
			 CODING_IDENTITY);
	ck_assert_int_eq(choose("br,gzip", ALL, "identity;q=0.5, gzip"),
			 CODING_GZIP);
	/* a malformed element counts as absent; the others still count */
	ck_assert_int_eq(choose("br,gzip", ALL, "br;q=2, gzip"), CODING_GZIP);
	ck_assert_int_eq(choose("br,gzip", ALL, "br;q=0.5x"), CODING_IDENTITY);
	ck_assert_int_eq(choose("br,gzip", ALL, "br;level=1"),
			 CODING_IDENTITY);
	ck_assert_int_eq(choose("br,gzip", ALL, ",,, gzip ,"), CODING_GZIP);
	/* codings not in the list are never looked for */
	ck_assert_int_eq(choose("gzip", ALL, "zstd"), CODING_IDENTITY);
	ck_assert_int_eq(choose("off", ALL, "gzip"), CODING_IDENTITY);
}
END_TEST

START_TEST(strip_suffix)
{
	char a[] = "/dir/a.css.gz", b[] = "/x.br", c[] = ".gz", d[] = "/a.css";

	ck_assert_int_eq(coding_strip_suffix(a), CODING_GZIP);
	ck_assert_str_eq(a, "/dir/a.css");
	ck_assert_int_eq(coding_strip_suffix(b), CODING_BR);
	ck_assert_str_eq(b, "/x");
	ck_assert_int_eq(coding_strip_suffix(c), CODING_IDENTITY);
	ck_assert_int_eq(coding_strip_suffix(d), CODING_IDENTITY);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("content_coding");
	TCase *tc = tcase_create("codings");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, prefs_lists);
	tcase_add_test(tc, accept_encoding);
	tcase_add_test(tc, strip_suffix);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
