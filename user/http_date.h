/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * HTTP-date (RFC 9110 5.6.7): the IMF-fixdate we send, and the three forms a
 * recipient must accept in If-Modified-Since and similar fields.
 */
#ifndef HTTP_DATE_H
#define HTTP_DATE_H

#include <stddef.h>
#include <time.h>

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define HTTP_DATE_LEN 29

/*
 * Writes t as an IMF-fixdate plus a NUL. Times outside 1970..9999 are clamped
 * to that range: the format has a four-digit year, and a file time outside
 * it is bogus anyway.
 */
void http_date_format(time_t t, char out[HTTP_DATE_LEN + 1]);

/*
 * Parses the len bytes at s (no NUL needed) as an IMF-fixdate, an RFC 850
 * date or an asctime() date. Returns -1 for anything else, including dates
 * before 1970, since -1 is also the error value.
 */
time_t http_date_parse(const char *s, size_t len);

#endif /* HTTP_DATE_H */
