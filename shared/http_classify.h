/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The request classifier shared by the kernel path and userspace.
 *
 * One pass over the head of a request decides two things:
 *  - framing: where the request ends, or that the kernel cannot tell safely
 *    (a body, a bare LF, a head longer than FS_SCAN_MAX), in which case the
 *    whole connection is left to userspace;
 *  - cacheability: whether the answer depends on nothing but the path (and,
 *    for a revalidation, the If-None-Match or If-Modified-Since value the
 *    kernel compares with the cached entry's), so that a cached response is
 *    byte-for-byte what userspace would send.
 *
 * On the way it notes where the access log's fields lie (request line,
 * Referer, User-Agent), for the kernel's log records.
 *
 * It is deliberately conservative: anything unusual is "not cacheable" and
 * goes to userspace, whose parser is the one that knows HTTP. The same code is
 * compiled into the BPF programs (one byte per bpf_loop() step) and into
 * userspace (a plain loop), so tests and fuzzers see what the kernel runs.
 */
#ifndef HTTP_CLASSIFY_H
#define HTTP_CLASSIFY_H

#include "fs_maps.h"
#include "http_chars.h"

enum http_frame {
	HTTP_FRAME_MORE = 0,	/* no end of head yet */
	HTTP_FRAME_DONE = 1,	/* a complete request of head_len bytes */
	HTTP_FRAME_UNSAFE = 2,	/* the kernel must not frame this stream */
};

struct http_class {
	__u32 frame;		/* enum http_frame */
	__u32 head_len;		/* with HTTP_FRAME_DONE */
	__u32 cacheable;	/* the kernel may answer from the cache */
	__u32 head_only;	/* method HEAD */
	__u32 path_off;		/* path: from the leading '/' to before '?' */
	__u32 path_len;
	/* For the access log, as userspace's parser sees them: the request
	 * line without CRLF; the first Referer and User-Agent, without OWS
	 * around them (length 0: none). */
	__u32 line_len;
	__u32 referer_off;
	__u32 referer_len;
	__u32 agent_off;
	__u32 agent_len;
	/* A revalidation the kernel may answer with the entry's 304: the
	 * If-None-Match and If-Modified-Since values (without OWS; length 0:
	 * absent), each at most once. */
	__u32 inm_off;
	__u32 inm_len;
	__u32 ims_off;
	__u32 ims_len;
	/* Accept-Encoding, for files with precompressed variants: the codings
	 * of a list of bare tokens (FS_ENC_* bits; 0 without the field), or
	 * ae_complex if it is more than that (q-values, parameters, a second
	 * field), which only userspace reads. */
	__u32 ae_mask;
	__u32 ae_complex;
};

enum http_scan_state {
	SCAN_METHOD,
	SCAN_TARGET,
	SCAN_PATH,
	SCAN_QUERY,
	SCAN_OTHER_TARGET,
	SCAN_VERSION,
	SCAN_LINE_END,		/* rest of a line we no longer look at */
	SCAN_LINE_START,
	SCAN_HEAD_END,		/* saw CR at the start of a line */
	SCAN_NAME,
	SCAN_VALUE_OWS,
	SCAN_VALUE,
};

/* Header fields that change framing or the answer. */
enum http_field_id {
	FIELD_HOST,
	FIELD_CONTENT_LENGTH,
	FIELD_TRANSFER_ENCODING,
	FIELD_RANGE,
	FIELD_CONNECTION,
	FIELD_EXPECT,
	FIELD_REFERER,		/* logged, not looked at */
	FIELD_USER_AGENT,	/* logged, not looked at */
	FIELD_ACCEPT_ENCODING,	/* reduced to codings for the kernel */
	FIELD_IF_NONE_MATCH,	/* compared by the kernel */
	FIELD_IF_MODIFIED_SINCE,
	FIELD_IF_,		/* a prefix: every conditional header */
	FIELD_COUNT,
};

/* Room for a name; the table is 16 of them, a power of two in all, so that
 * an index into it can be masked into bounds (the verifier loses the bounds
 * of k * HTTP_FIELD_NAME_MAX + pos once the loop over k is unrolled). */
#define HTTP_FIELD_NAME_MAX	32
#define HTTP_FIELD_SLOTS	16
#define HTTP_FIELD_PREFIX	(1u << FIELD_IF_)

static const char http_field_names[HTTP_FIELD_SLOTS][HTTP_FIELD_NAME_MAX] = {
	"host", "content-length", "transfer-encoding", "range",
	"connection", "expect", "referer", "user-agent", "accept-encoding",
	"if-none-match", "if-modified-since", "if-",
};

static const __u8 http_field_lens[FIELD_COUNT] = {
	4, 14, 17, 5, 10, 6, 7, 10, 15, 13, 17, 3
};

/* Field lines userspace takes (its HTTP_MAX_HEADERS): more is a 431 there,
 * so never a cached answer here. */
#define HTTP_MAX_FIELDS		100

#define HTTP_KEEP_ALIVE		"keep-alive"
#define HTTP_KEEP_ALIVE_LEN	10

/* Scan state. In BPF it lives in a map value, not on the stack: the verifier
 * then sees every bpf_loop() step alike instead of tracking each value. */
struct http_scan {
	__u32 len;
	__u32 state;
	__u32 pos;		/* index inside the current token */
	__u32 field_mask;	/* fields the current name may still be */
	__u32 field;		/* the field whose value we are in, or FIELD_COUNT */
	__u32 value_bad;	/* Connection value is not exactly keep-alive */
	__u32 seen_host;
	__u32 version_ok;
	__u32 http10;		/* HTTP/1.0: cacheable only with keep-alive */
	__u32 keep_alive;	/* a Connection: keep-alive field */
	__u32 fields;		/* field lines so far */
	__u32 val_start;	/* the current value without OWS: [start, end) */
	__u32 val_end;
	__u32 logged;		/* bits of the logged fields seen */
	__u32 ae_gap;		/* OWS after an Accept-Encoding token */
	__u64 acc;		/* method or version bytes */
	__u8 prev;
	struct http_class out;
};

/* Bytes a cacheable path may hold: unreserved and sub-delims, ':', '@', '/'.
 * No '%': decoding is userspace's job. */
static __always_inline int http_path_char(__u8 c)
{
	if (http_alnum(c))
		return 1;
	switch (c) {
	case '-': case '.': case '_': case '~': case '!': case '$': case '&':
	case '\'': case '(': case ')': case '*': case '+': case ',': case ';':
	case '=': case ':': case '@': case '/':
		return 1;
	}
	return 0;
}

static __always_inline void http_scan_unsafe(struct http_scan *s)
{
	s->out.frame = HTTP_FRAME_UNSAFE;
	s->out.cacheable = 0;
}

/*
 * Narrow field_mask to the names that have c at position pos. Without a
 * branch: each name's test is arithmetic, so the verifier walks one path
 * per byte instead of two per name (with 11 names, branching on each went
 * past its limit of a million instructions).
 */
static __always_inline void http_match_name(struct http_scan *s, __u8 c)
{
	__u32 pos = s->pos, mask = s->field_mask, lc = http_lower(c);
	__u32 k;

	for (k = 0; k < FIELD_COUNT; k++) {
		__u32 at = (k * HTTP_FIELD_NAME_MAX + pos) &
			   (sizeof(http_field_names) - 1);
		/* pos < the name's length; its byte there is c */
		__u32 in = (pos - http_field_lens[k]) >> 31;
		__u32 eq = ((((const __u8 *)http_field_names)[at] ^ lc) - 1) >>
			   31;
		__u32 prefix = (HTTP_FIELD_PREFIX >> k) & 1;
		/* inside the name: c must match; past it: a prefix name */
		__u32 keep = (in & eq) | ((in ^ 1) & prefix);

		mask &= ~((keep ^ 1) << k);
	}
	s->field_mask = mask;
}

/* The name ended at ':': which field is it? */
static __always_inline __u32 http_field_of(const struct http_scan *s)
{
	__u32 k;

	for (k = 0; k < FIELD_COUNT; k++) {
		__u32 bit = 1u << k;

		if (!(s->field_mask & bit))
			continue;
		if (s->pos == http_field_lens[k] ||
		    ((bit & HTTP_FIELD_PREFIX) && s->pos > http_field_lens[k]))
			return k;
	}
	return FIELD_COUNT;
}

/* A logged field's value ended: the first one of its kind is kept. */
static __always_inline void http_log_value(struct http_scan *s, __u32 field,
					   __u32 *off, __u32 *len)
{
	if (!(s->logged & (1u << field))) {
		*off = s->val_start;
		*len = s->val_end - s->val_start;
	}
	s->logged |= 1u << field;
}

/* "br", "gzip", "zstd" packed as the scan packs a token (big-endian). */
#define HTTP_TOKEN_BR	0x6272ULL
#define HTTP_TOKEN_GZIP	0x677a6970ULL
#define HTTP_TOKEN_ZSTD	0x7a737464ULL

/* An Accept-Encoding token of pos bytes (packed in acc) ended: the codings
 * it names ("*": all). Others (deflate, identity, ...) name none that a
 * variant has: userspace chooses as if they were not there. */
static __always_inline void http_ae_token(struct http_scan *s)
{
	if (s->pos == 2 && s->acc == HTTP_TOKEN_BR)
		s->out.ae_mask |= FS_ENC_BR;
	else if (s->pos == 4 && s->acc == HTTP_TOKEN_GZIP)
		s->out.ae_mask |= FS_ENC_GZIP;
	else if (s->pos == 4 && s->acc == HTTP_TOKEN_ZSTD)
		s->out.ae_mask |= FS_ENC_ZSTD;
	else if (s->pos == 1 && s->acc == '*')
		s->out.ae_mask |= FS_ENC_BR | FS_ENC_GZIP | FS_ENC_ZSTD;
	s->acc = 0;
	s->pos = 0;
	s->ae_gap = 0;
}

/* One byte of an Accept-Encoding value, past its leading OWS: a list of
 * bare tokens is reduced to codings; a parameter (q-value), a quoted
 * string or two tokens without a comma is for userspace. */
static __always_inline void http_ae_byte(struct http_scan *s, __u8 c)
{
	if (c == ',') {
		http_ae_token(s);
	} else if (c == ' ' || c == '\t') {
		s->ae_gap = s->pos != 0;
	} else if (!http_tchar(c) || s->ae_gap) {
		s->out.ae_complex = 1;
	} else {
		if (s->pos < 8)
			s->acc = (s->acc << 8) | http_lower(c);
		s->pos++;
	}
}

/* A header line ended: apply what its field means. */
static __always_inline void http_end_field(struct http_scan *s)
{
	switch (s->field) {
	case FIELD_HOST:
		if (s->seen_host)
			s->out.cacheable = 0;
		s->seen_host = 1;
		break;
	case FIELD_CONNECTION:
		if (s->value_bad || s->pos != HTTP_KEEP_ALIVE_LEN)
			s->out.cacheable = 0;
		else
			s->keep_alive = 1;
		break;
	case FIELD_REFERER:
		http_log_value(s, FIELD_REFERER, &s->out.referer_off,
			       &s->out.referer_len);
		break;
	case FIELD_USER_AGENT:
		http_log_value(s, FIELD_USER_AGENT, &s->out.agent_off,
			       &s->out.agent_len);
		break;
	case FIELD_ACCEPT_ENCODING:
		http_ae_token(s);
		if (s->logged & (1u << FIELD_ACCEPT_ENCODING))
			s->out.ae_complex = 1;	/* userspace reads the first */
		s->logged |= 1u << FIELD_ACCEPT_ENCODING;
		break;
	/* twice, or empty: userspace's to make sense of */
	case FIELD_IF_NONE_MATCH:
		if (s->out.inm_len || s->val_end == s->val_start)
			s->out.cacheable = 0;
		s->out.inm_off = s->val_start;
		s->out.inm_len = s->val_end - s->val_start;
		break;
	case FIELD_IF_MODIFIED_SINCE:
		if (s->out.ims_len || s->val_end == s->val_start)
			s->out.cacheable = 0;
		s->out.ims_off = s->val_start;
		s->out.ims_len = s->val_end - s->val_start;
		break;
	case FIELD_COUNT:
		break;
	default:		/* Range, Expect, other If-*: the answer depends
				 * on them */
		s->out.cacheable = 0;
		break;
	}
	s->field = FIELD_COUNT;
}

static __always_inline void http_end_method(struct http_scan *s)
{
	if (s->pos == 3 && s->acc == (('G' << 16) | ('E' << 8) | 'T')) {
		s->out.head_only = 0;
	} else if (s->pos == 4 &&
		   s->acc == (('H' << 24) | ('E' << 16) | ('A' << 8) | 'D')) {
		s->out.head_only = 1;
	} else {
		s->out.cacheable = 0;
	}
}

/* "HTTP/1.1" and "HTTP/1.0" packed big-endian into a u64. */
#define HTTP_VERSION_11 0x485454502f312e31ULL
#define HTTP_VERSION_10 0x485454502f312e30ULL

/* The version ended (pos counts its CR). HTTP/1.0 is answered from the
 * cache only with Connection: keep-alive (what ab -k sends): userspace then
 * sends the same bytes as to HTTP/1.1, keep-alive response and all. */
static __always_inline void http_end_version(struct http_scan *s)
{
	if (s->pos == 9 && s->acc == HTTP_VERSION_10)
		s->http10 = 1;
	else if (s->pos != 9 || s->acc != HTTP_VERSION_11)
		s->out.cacheable = 0;
	s->version_ok = 1;
}

/* One byte of the head. Returns 1 to stop the scan. */
static __always_inline long http_scan_byte(__u32 i, __u8 c, struct http_scan *s)
{
	__u8 prev = s->prev;

	s->prev = c;
	if (prev == '\r' && c != '\n') {	/* a CR must end a line */
		http_scan_unsafe(s);
		return 1;
	}
	if (c == '\n') {
		if (prev != '\r') {		/* bare LF: userspace frames those */
			http_scan_unsafe(s);
			return 1;
		}
		switch (s->state) {
		case SCAN_HEAD_END:
			s->out.frame = HTTP_FRAME_DONE;
			s->out.head_len = i + 1;
			if (!s->seen_host || (s->http10 && !s->keep_alive))
				s->out.cacheable = 0;
			return 1;
		case SCAN_VERSION:
			http_end_version(s);
			break;
		case SCAN_VALUE_OWS:
		case SCAN_VALUE:
			http_end_field(s);
			break;
		case SCAN_LINE_END:
			break;
		case SCAN_METHOD:
		case SCAN_TARGET:
		case SCAN_PATH:
		case SCAN_QUERY:
		case SCAN_OTHER_TARGET:
			/* a request line without a version: userspace answers
			 * it with a 400 at once, no blank line needed */
			http_scan_unsafe(s);
			return 1;
		default:			/* a field line without ':' */
			s->out.cacheable = 0;
			break;
		}
		s->state = SCAN_LINE_START;
		s->pos = 0;
		return 0;
	}
	if (c == '\r') {
		if (s->state == SCAN_LINE_START) {
			/* An empty first line is legal but rare: leave it to
			 * userspace rather than teach the kernel about it. */
			if (!s->version_ok) {
				http_scan_unsafe(s);
				return 1;
			}
			s->state = SCAN_HEAD_END;
		} else if (s->state == SCAN_VERSION) {
			s->out.line_len = i;
			s->pos++;
		}
		return 0;
	}
	if (http_ctl(c) && c != '\t')
		s->out.cacheable = 0;

	switch (s->state) {
	case SCAN_METHOD:
		if (c == ' ') {
			http_end_method(s);
			s->state = SCAN_TARGET;
		} else if (c >= 'A' && c <= 'Z' && s->pos < 4) {
			s->acc = (s->acc << 8) | c;
			s->pos++;
		} else if (!http_tchar(c)) {
			/* No method holds it: not HTTP (a TLS ClientHello
			 * starts 0x16), so no end of head is worth waiting
			 * for. Userspace answers it at once, with a 400. */
			http_scan_unsafe(s);
			return 1;
		} else {
			s->out.cacheable = 0;
			s->pos = 5;
		}
		break;
	case SCAN_TARGET:
		if (c == '/') {
			s->out.path_off = i;
			s->state = SCAN_PATH;
		} else {
			s->out.cacheable = 0;
			s->state = SCAN_OTHER_TARGET;
		}
		break;
	case SCAN_PATH:
		if (c == ' ' || c == '?') {
			s->out.path_len = i - s->out.path_off;
			if (s->out.path_len >= FS_KEY_MAX)
				s->out.cacheable = 0;
			s->state = c == ' ' ? SCAN_VERSION : SCAN_QUERY;
			s->acc = 0;
			s->pos = 0;
		} else if (!http_path_char(c) ||
			   (prev == '/' && (c == '/' || c == '.'))) {
			/* "//", "/." and "%": paths userspace normalises */
			s->out.cacheable = 0;
		}
		break;
	case SCAN_QUERY:
	case SCAN_OTHER_TARGET:
		if (c == ' ') {
			s->state = SCAN_VERSION;
			s->acc = 0;
			s->pos = 0;
		} else if (c >= 0x80 || c == '\t') {
			/* a control byte in a target is a 400 in userspace */
			s->out.cacheable = 0;
		}
		break;
	case SCAN_VERSION:
		/* pos counts the CR too, so "HTTP/1.1\r" is 9 */
		if (s->pos < 8)
			s->acc = (s->acc << 8) | c;
		else
			s->out.cacheable = 0;
		s->pos++;
		break;
	case SCAN_LINE_END:
		break;
	case SCAN_LINE_START:
		if (c == ' ' || c == '\t' || c == ':') {
			s->out.cacheable = 0;	/* obs-fold or empty name */
			s->state = SCAN_LINE_END;
			break;
		}
		s->state = SCAN_NAME;
		s->field_mask = (1u << FIELD_COUNT) - 1;
		s->pos = 0;
		if (++s->fields > HTTP_MAX_FIELDS)
			s->out.cacheable = 0;
		/* fall through */
	case SCAN_NAME:
		if (c == ':') {
			s->field = http_field_of(s);
			if (s->field == FIELD_CONTENT_LENGTH ||
			    s->field == FIELD_TRANSFER_ENCODING) {
				/* a body: userspace frames it */
				http_scan_unsafe(s);
				return 1;
			}
			s->state = SCAN_VALUE_OWS;
			s->value_bad = 0;
			s->pos = 0;
			s->acc = 0;	/* an Accept-Encoding token's bytes */
			s->val_start = s->val_end = i + 1;
		} else if (!http_tchar(c)) {
			/* userspace refuses the request: 400 */
			s->out.cacheable = 0;
			s->state = SCAN_LINE_END;
		} else {
			http_match_name(s, c);
			s->pos++;
		}
		break;
	case SCAN_VALUE_OWS:
		if (c == ' ' || c == '\t')
			break;
		s->state = SCAN_VALUE;
		s->val_start = i;
		/* fall through */
	case SCAN_VALUE:
		if (c != ' ' && c != '\t')
			s->val_end = i + 1;
		/* a 400 in userspace (and trailing OWS, rare, left to it) */
		if (s->field == FIELD_HOST && !http_host_char(c))
			s->out.cacheable = 0;
		if (s->field == FIELD_ACCEPT_ENCODING)
			http_ae_byte(s, c);
		if (s->field != FIELD_CONNECTION)
			break;
		if (s->pos < HTTP_KEEP_ALIVE_LEN) {
			if (http_lower(c) != (__u8)HTTP_KEEP_ALIVE[s->pos & 15])
				s->value_bad = 1;
			s->pos++;
		} else if (c != ' ' && c != '\t') {
			s->value_bad = 1;
		}
		break;
	}
	return 0;
}

static __always_inline void http_scan_init(struct http_scan *s, __u32 len)
{
	__builtin_memset(s, 0, sizeof(*s));
	s->len = len;
	s->state = SCAN_METHOD;
	s->field = FIELD_COUNT;
	s->out.cacheable = 1;
	s->out.frame = HTTP_FRAME_MORE;
}

/* Turn the raw scan into the final answer for a head of len bytes. */
static __always_inline void http_scan_finish(struct http_scan *s)
{
	if (s->out.frame == HTTP_FRAME_MORE) {
		s->out.cacheable = 0;
		if (s->len >= FS_SCAN_MAX)	/* head too long for us */
			s->out.frame = HTTP_FRAME_UNSAFE;
	}
	if (s->out.path_len == 0)
		s->out.cacheable = 0;
}

#ifdef __BPF__
struct http_scan_ref {
	const __u8 *buf;	/* a map value of FS_SCAN_MAX bytes */
	struct http_scan *s;	/* a map value too */
};

static long http_scan_step(__u64 i, void *ctx)
{
	struct http_scan_ref *ref = ctx;

	return http_scan_byte(i, ref->buf[i & (FS_SCAN_MAX - 1)], ref->s);
}

/* Classify the first len (<= FS_SCAN_MAX) bytes of buf, using s as scratch. */
static __always_inline void http_classify(struct http_scan *s, const __u8 *buf,
					  __u32 len)
{
	struct http_scan_ref ref = { .buf = buf, .s = s };

	http_scan_init(s, len);
	bpf_loop(len, http_scan_step, &ref, 0);
	http_scan_finish(s);
}
#else
/* Classify the first len bytes of buf, cut at FS_SCAN_MAX as the kernel does. */
static inline void http_classify(struct http_scan *s, const __u8 *buf, __u32 len)
{
	__u32 i;

	if (len > FS_SCAN_MAX)
		len = FS_SCAN_MAX;
	http_scan_init(s, len);
	for (i = 0; i < len; i++)
		if (http_scan_byte(i, buf[i], s))
			break;
	http_scan_finish(s);
}
#endif

#endif /* HTTP_CLASSIFY_H */
