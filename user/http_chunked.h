/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A request body in chunked transfer coding (RFC 9112 7.1), read to be
 * thrown away: a static file server uses no request content, but must find
 * where it ends to answer the request after it. Incremental: bytes may come
 * in any pieces.
 */
#ifndef HTTP_CHUNKED_H
#define HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

/* http_chunked_read(): the body has not ended within the bytes given */
#define HTTP_CHUNKED_MORE	(-1)
/* Bytes of framing (sizes, extensions, trailer fields) a body may have */
#define HTTP_CHUNKED_FRAMING_MAX	(64 * 1024)

enum http_chunked_state {
	CHUNK_SIZE,		/* hex digits of a chunk-size */
	CHUNK_EXT,		/* after them: a chunk-ext, up to CR */
	CHUNK_SIZE_LF,		/* CR seen after the size line */
	CHUNK_DATA,		/* chunk_left bytes of data */
	CHUNK_DATA_CR,		/* the CRLF after the data */
	CHUNK_DATA_LF,
	CHUNK_TRAILER,		/* start of a trailer line, or the final CRLF */
	CHUNK_TRAILER_LINE,	/* inside a trailer field line */
	CHUNK_TRAILER_LF,	/* CR seen after a trailer line */
	CHUNK_END_LF,		/* CR of the final empty line seen */
};

struct http_chunked {
	enum http_chunked_state state;
	unsigned digits;	/* of the chunk-size being read */
	uint64_t size;		/* the chunk-size being read */
	uint64_t chunk_left;	/* data bytes of the current chunk to come */
	uint64_t data;		/* data bytes so far */
	uint64_t wire;		/* bytes read so far, framing included */
};

void http_chunked_init(struct http_chunked *ch);

/*
 * Reads on from the len bytes at buf. Returns 0 when the body has ended,
 * with *used the bytes of buf that belonged to it; HTTP_CHUNKED_MORE with
 * all of buf used; or the status refusing it: 400 malformed (a bare LF
 * included), 413 more than max data bytes (or HTTP_CHUNKED_FRAMING_MAX of
 * framing).
 */
int http_chunked_read(struct http_chunked *ch, const char *buf, size_t len,
		      uint64_t max, size_t *used);

#endif /* HTTP_CHUNKED_H */
