// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * HTTP-date formatting and parsing.
 *
 * Done by hand rather than with strftime() and strptime(): those use the
 * locale's day and month names, while HTTP dates are always English and GMT.
 */
#define _DEFAULT_SOURCE		/* timegm(), gmtime_r() */

#include "http_date.h"

#include <stdbool.h>
#include <string.h>

/* 9999-12-31 23:59:59, the last second with a four-digit year */
#define DATE_MAX	((time_t)253402300799LL)

static const char *const day_short[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};

static const char *const day_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday",
};

static const char *const month_short[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static char *put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

void http_date_format(time_t t, char out[HTTP_DATE_LEN + 1])
{
	struct tm tm;
	char *p = out;

	/* Clamping also means gmtime_r() cannot fail. */
	if (t < 0)
		t = 0;
	else if (t > DATE_MAX)
		t = DATE_MAX;
	gmtime_r(&t, &tm);

	p = put_str(p, day_short[tm.tm_wday]);
	p = put_str(p, ", ");
	p = put2(p, tm.tm_mday);
	*p++ = ' ';
	p = put_str(p, month_short[tm.tm_mon]);
	*p++ = ' ';
	p = put2(p, (tm.tm_year + 1900) / 100);
	p = put2(p, (tm.tm_year + 1900) % 100);
	*p++ = ' ';
	p = put2(p, tm.tm_hour);
	*p++ = ':';
	p = put2(p, tm.tm_min);
	*p++ = ':';
	p = put2(p, tm.tm_sec);
	memcpy(p, " GMT", sizeof(" GMT"));
}

/* Reading position in the caller's bytes; nothing reads at or past end. */
struct cursor {
	const char *p;
	const char *end;
};

static bool take_str(struct cursor *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* Exactly n digits. */
static bool take_digits(struct cursor *c, int n, int *v)
{
	int i;

	if (c->end - c->p < n)
		return false;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (c->p[i] < '0' || c->p[i] > '9')
			return false;
		*v = *v * 10 + (c->p[i] - '0');
	}
	c->p += n;
	return true;
}

/*
 * One of count names, case-sensitively: RFC 9110 spells them with %s"...".
 * No name in a table is a prefix of another, so the first match is the one.
 */
static bool take_name(struct cursor *c, const char *const *names, int count,
		      int *index)
{
	int i;

	for (i = 0; i < count; i++) {
		if (take_str(c, names[i])) {
			*index = i;
			return true;
		}
	}
	return false;
}

/* "08:49:37" */
static bool take_time(struct cursor *c, struct tm *tm)
{
	return take_digits(c, 2, &tm->tm_hour) && take_str(c, ":") &&
	       take_digits(c, 2, &tm->tm_min) && take_str(c, ":") &&
	       take_digits(c, 2, &tm->tm_sec);
}

/*
 * The day name is checked but not compared with the date: the date alone
 * says which second is meant, and a client that got the weekday wrong still
 * means that second.
 */

/* "Sun, 06 Nov 1994 08:49:37 GMT"; tm_year gets the full year. */
static bool parse_imf_fixdate(struct cursor c, struct tm *tm)
{
	return take_name(&c, day_short, 7, &tm->tm_wday) &&
	       take_str(&c, ", ") && take_digits(&c, 2, &tm->tm_mday) &&
	       take_str(&c, " ") &&
	       take_name(&c, month_short, 12, &tm->tm_mon) &&
	       take_str(&c, " ") && take_digits(&c, 4, &tm->tm_year) &&
	       take_str(&c, " ") && take_time(&c, tm) &&
	       take_str(&c, " GMT") && c.p == c.end;
}

/* "Sunday, 06-Nov-94 08:49:37 GMT" */
static bool parse_rfc850(struct cursor c, struct tm *tm)
{
	if (!(take_name(&c, day_long, 7, &tm->tm_wday) &&
	      take_str(&c, ", ") && take_digits(&c, 2, &tm->tm_mday) &&
	      take_str(&c, "-") &&
	      take_name(&c, month_short, 12, &tm->tm_mon) &&
	      take_str(&c, "-") && take_digits(&c, 2, &tm->tm_year) &&
	      take_str(&c, " ") && take_time(&c, tm) &&
	      take_str(&c, " GMT") && c.p == c.end))
		return false;
	/* Our epoch starts in 1970, so 70..99 can only mean the 1900s. */
	tm->tm_year += tm->tm_year < 70 ? 2000 : 1900;
	return true;
}

/* "Sun Nov  6 08:49:37 1994": the day is space-padded, not zero-padded. */
static bool parse_asctime(struct cursor c, struct tm *tm)
{
	if (!(take_name(&c, day_short, 7, &tm->tm_wday) &&
	      take_str(&c, " ") &&
	      take_name(&c, month_short, 12, &tm->tm_mon) &&
	      take_str(&c, " ")))
		return false;
	if (!(take_str(&c, " ") ? take_digits(&c, 1, &tm->tm_mday) :
				  take_digits(&c, 2, &tm->tm_mday)))
		return false;
	return take_str(&c, " ") && take_time(&c, tm) && take_str(&c, " ") &&
	       take_digits(&c, 4, &tm->tm_year) && c.p == c.end;
}

static bool leap_year(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/*
 * timegm() would quietly turn Feb 30 into Mar 2; a date that does not exist
 * is a client bug, and the caller ignores the field instead of guessing.
 * Second 60 is allowed for a leap second, as RFC 9110 does.
 */
static bool valid_tm(const struct tm *tm)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};
	int days = mdays[tm->tm_mon];

	if (tm->tm_mon == 1 && leap_year(tm->tm_year))
		days = 29;
	return tm->tm_year >= 1970 && tm->tm_mday >= 1 &&
	       tm->tm_mday <= days && tm->tm_hour <= 23 && tm->tm_min <= 59 &&
	       tm->tm_sec <= 60;
}

time_t http_date_parse(const char *s, size_t len)
{
	struct cursor c = { s, s + len };
	struct tm tm = { 0 };

	if (!parse_imf_fixdate(c, &tm) && !parse_rfc850(c, &tm) &&
	    !parse_asctime(c, &tm))
		return -1;
	if (!valid_tm(&tm))
		return -1;
	tm.tm_year -= 1900;
	return timegm(&tm);
}
