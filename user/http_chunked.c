// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Chunked request bodies, read and dropped (http_chunked.h). Strict where
 * framing is at stake (hex sizes, CRLF everywhere, no bare LF), lenient
 * about what is thrown away (chunk extensions and trailer fields are only
 * checked for control bytes).
 */
#include "http_chars.h"
#include "http_chunked.h"

/* A chunk-size of more hex digits than this overflows 64 bits. */
#define SIZE_DIGITS_MAX	15

void http_chunked_init(struct http_chunked *ch)
{
	*ch = (struct http_chunked){ .state = CHUNK_SIZE };
}

/* The size line ended: data follows, or (size 0) the trailer. */
static int size_done(struct http_chunked *ch, uint64_t max)
{
	if (ch->size > max - ch->data)
		return 413;
	ch->chunk_left = ch->size;
	ch->state = ch->size ? CHUNK_DATA : CHUNK_TRAILER;
	return 0;
}

/* One byte of framing. Returns 0 to go on, 1 at the body's end, or a
 * status. */
static int framing_byte(struct http_chunked *ch, unsigned char c,
			uint64_t max)
{
	int v;

	if (c == '\n' && ch->state != CHUNK_SIZE_LF &&
	    ch->state != CHUNK_DATA_LF && ch->state != CHUNK_TRAILER_LF &&
	    ch->state != CHUNK_END_LF)
		return 400;			/* a bare LF */
	switch (ch->state) {
	case CHUNK_SIZE:
		v = http_hex_value(c);
		if (v >= 0) {
			if (++ch->digits > SIZE_DIGITS_MAX)
				return 413;
			ch->size = ch->size * 16 + v;
			return 0;
		}
		if (ch->digits == 0)
			return 400;
		ch->state = CHUNK_EXT;
		/* fall through */
	case CHUNK_EXT:
		if (c == '\r')
			ch->state = CHUNK_SIZE_LF;
		else if (http_ctl(c) && c != '\t')
			return 400;
		return 0;
	case CHUNK_SIZE_LF:
		return c == '\n' ? size_done(ch, max) : 400;
	case CHUNK_DATA_CR:
		ch->state = CHUNK_DATA_LF;
		return c == '\r' ? 0 : 400;
	case CHUNK_DATA_LF:
		if (c != '\n')
			return 400;
		ch->state = CHUNK_SIZE;
		ch->size = 0;
		ch->digits = 0;
		return 0;
	case CHUNK_TRAILER:
		ch->state = c == '\r' ? CHUNK_END_LF : CHUNK_TRAILER_LINE;
		return c == '\r' || !http_ctl(c) ? 0 : 400;
	case CHUNK_TRAILER_LINE:
		if (c == '\r')
			ch->state = CHUNK_TRAILER_LF;
		else if (http_ctl(c) && c != '\t')
			return 400;
		return 0;
	case CHUNK_TRAILER_LF:
		ch->state = CHUNK_TRAILER;
		return c == '\n' ? 0 : 400;
	case CHUNK_END_LF:
		return c == '\n' ? 1 : 400;
	case CHUNK_DATA:
		break;
	}
	return 400;
}

int http_chunked_read(struct http_chunked *ch, const char *buf, size_t len,
		      uint64_t max, size_t *used)
{
	size_t i = 0;
	int r;

	while (i < len) {
		if (ch->state == CHUNK_DATA) {
			size_t n = len - i < ch->chunk_left ? len - i :
							      ch->chunk_left;

			i += n;
			ch->chunk_left -= n;
			ch->data += n;
			ch->wire += n;
			if (!ch->chunk_left)
				ch->state = CHUNK_DATA_CR;
			continue;
		}
		r = framing_byte(ch, (unsigned char)buf[i++], max);
		ch->wire++;
		if (r == 1) {
			*used = i;
			return 0;
		}
		if (r)
			return r;
		if (ch->wire - ch->data > HTTP_CHUNKED_FRAMING_MAX)
			return 413;
	}
	*used = i;
	return HTTP_CHUNKED_MORE;
}
