/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Precompressed variants (--precompressed): FILE.br, FILE.zst and FILE.gz
 * beside FILE, as nginx's gzip_static and Caddy's precompressed serve them.
 * Which codings are looked for, in which order of preference, and which one
 * a request's Accept-Encoding (RFC 9110 12.5.3) gets.
 */
#ifndef CONTENT_CODING_H
#define CONTENT_CODING_H

#include <stdbool.h>
#include <stddef.h>

enum content_coding {
	CODING_IDENTITY,	/* the file itself */
	CODING_BR,
	CODING_ZSTD,
	CODING_GZIP,
	CODING_COUNT,
};

/* The codings looked for, most preferred first; n == 0: none ("off"). */
struct coding_prefs {
	enum content_coding order[CODING_COUNT - 1];
	unsigned n;
};

/* "br,gzip" (names from br, zstd, gzip; each once) or "off". Returns
 * whether text is such a list. */
bool coding_prefs_parse(struct coding_prefs *p, const char *text);

/* "br", "zstd", "gzip"; NULL for identity. */
const char *coding_name(enum content_coding c);
/* ".br", ".zst", ".gz"; "" for identity. */
const char *coding_suffix(enum content_coding c);

/* If path names a variant (ends in a coding's suffix), cuts the suffix off,
 * leaving the file's path, and returns that coding; else CODING_IDENTITY. */
enum content_coding coding_strip_suffix(char *path);

/*
 * The coding to answer with, given the variants at hand (available: a mask
 * of 1 << coding) and the request's Accept-Encoding value (ae, ae_len; NULL:
 * no such field). The variant the client accepts with the highest q wins,
 * ties going to the preferred one; "*" stands for codings not named; q=0
 * refuses. The file itself answers when no variant is acceptable, or when
 * "identity" is named with a higher q than the best variant's.
 */
enum content_coding coding_choose(const struct coding_prefs *p,
				  unsigned available, const char *ae,
				  size_t ae_len);

/*
 * The coding for a request whose Accept-Encoding lists exactly the codings
 * of enc_mask (FS_ENC_* bits) as bare tokens, or none (mask 0): what
 * coding_choose() picks for it. The kernel's cache keeps one key per mask
 * for a file with variants, naming this choice (cache.c).
 */
enum content_coding coding_for_mask(const struct coding_prefs *p,
				    unsigned available, unsigned enc_mask);

#endif /* CONTENT_CODING_H */
