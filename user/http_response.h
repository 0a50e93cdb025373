/*
 * Response header blocks, entity tags and error bodies.
 *
 * A header block built here is sent from userspace and also stored in the
 * kernel's response cache, where the kernel later rewrites only the Date
 * value in place. Building is therefore deterministic: the same inputs give
 * the same bytes, and the caller learns where the Date value sits.
 */
#ifndef HTTP_RESPONSE_H
#define HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http_date.h"


/* Longest entity tag, quotes included: three 64-bit hex numbers and two '-'. */
#define HTTP_ETAG_MAX (2 + 3 * 16 + 2)

struct http_etag {
	char text[HTTP_ETAG_MAX + 1];	/* NUL-terminated */
	size_t len;			/* including the double quotes */
};

/*
 * A strong validator from what identifies a version of a file: any write
 * changes the mtime or the size, a replaced file has another inode.
 * Format: "\"<hex ino>-<hex size>-<hex mtime_ns>\"".
 */
void http_etag_make(struct http_etag *out, uint64_t ino, uint64_t size,
		    int64_t mtime_ns);

/*
 * Whether a list of entity tags ("*", or tags weak or not) matches etag:
 * by the weak comparison (If-None-Match, RFC 9110 13.1.2), or the strong
 * one, where a weak tag matches nothing (If-Match, 13.1.1). A malformed
 * value never matches.
 */
bool http_etag_matches(const struct http_etag *etag, const char *value,
		       size_t len, bool strong);

struct http_head {
	int status;			/* three digits, 100 to 999 */
	const char *content_type;	/* NULL: no Content-Type */
	uint64_t content_length;
	time_t last_modified;		/* -1: no Last-Modified */
	const struct http_etag *etag;	/* NULL: no ETag */
	bool accept_ranges;		/* "Accept-Ranges: bytes" */
	bool has_range;			/* "Content-Range: bytes first-last/total" */
	uint64_t range_first;
	uint64_t range_last;
	uint64_t total_size;		/* the "/total" of Content-Range */
	const char *location;		/* NULL: no Location */
	const char *allow;		/* NULL: no Allow */
	const char *cache_control;	/* NULL: no Cache-Control */
	const char *content_encoding;	/* NULL: no Content-Encoding */
	bool vary_accept_encoding;	/* "Vary: Accept-Encoding" */
	bool keep_alive;		/* Connection: keep-alive, else close */
	time_t date;
};

/*
 * Writes the status line, the header fields and the empty line ending the
 * head into buf, in this fixed order, each field only when it applies:
 *
 *   HTTP/1.1 <status> <reason>
 *   Server: fileserver
 *   Date: <IMF-fixdate>
 *   Content-Type          (not for 304)
 *   Content-Length        (not for 304)
 *   Last-Modified
 *   Connection
 *   Vary                  (vary_accept_encoding)
 *   ETag
 *   Content-Encoding      (not for 304)
 *   Cache-Control
 *   Content-Range         (has_range, or a 416 refusing the range)
 *   Location
 *   Allow
 *   Accept-Ranges
 *
 * A 304 leaves out Content-Type, Content-Length and Content-Encoding
 * because they would describe the body it does not have (RFC 9110 15.4.5:
 * no representation metadata but what guides cache updates).
 *
 * Returns the length of the head, or 0 if it does not fit in cap, the status
 * is not three digits or a string value holds a control character (a CR or
 * LF there would split the response).
 * On success *date_off, if date_off is not NULL, is the offset in buf of the
 * HTTP_DATE_LEN bytes of the Date value.
 */
size_t http_head_build(char *buf, size_t cap, const struct http_head *h,
		       size_t *date_off);

/* "OK", "Not Found", ...; "Unknown" for a status we never send. */
const char *http_status_reason(int status);

/*
 * A small HTML body naming the status, as nginx sends with its errors.
 * Returns its length, or 0 if it does not fit in cap. No NUL is written.
 */
size_t http_error_body(char *buf, size_t cap, int status);

#endif /* HTTP_RESPONSE_H */
