// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Content codings of precompressed variants (content_coding.h): the
 * preference list, and Accept-Encoding read with its q-values.
 */
#include <stdio.h>
#include <string.h>

#include "content_coding.h"
#include "fs_maps.h"
#include "http_chars.h"

_Static_assert(FS_ENC_BR == 1 << (CODING_BR - 1) &&
	       FS_ENC_ZSTD == 1 << (CODING_ZSTD - 1) &&
	       FS_ENC_GZIP == 1 << (CODING_GZIP - 1),
	       "FS_ENC_* bits follow enum content_coding");

static const char *const names[CODING_COUNT] = {
	[CODING_BR] = "br", [CODING_ZSTD] = "zstd", [CODING_GZIP] = "gzip",
};
static const char *const suffixes[CODING_COUNT] = {
	[CODING_IDENTITY] = "", [CODING_BR] = ".br", [CODING_ZSTD] = ".zst",
	[CODING_GZIP] = ".gz",
};

/* q-values in thousandths; NOT_NAMED: the element is absent */
#define Q_MAX		1000
#define NOT_NAMED	(-1)

const char *coding_name(enum content_coding c)
{
	return c < CODING_COUNT ? names[c] : NULL;
}

const char *coding_suffix(enum content_coding c)
{
	return c < CODING_COUNT ? suffixes[c] : "";
}

enum content_coding coding_strip_suffix(char *path)
{
	size_t n = strlen(path), k;
	enum content_coding c;

	for (c = CODING_BR; c < CODING_COUNT; c++) {
		k = strlen(suffixes[c]);
		if (n > k && strcmp(path + n - k, suffixes[c]) == 0) {
			path[n - k] = '\0';
			return c;
		}
	}
	return CODING_IDENTITY;
}

/* A variant's coding as the kernel's FS_ENC_* bit. */
static unsigned coding_enc_bit(enum content_coding c)
{
	return c > CODING_IDENTITY && c < CODING_COUNT ? 1u << (c - 1) : 0;
}

enum content_coding coding_for_mask(const struct coding_prefs *p,
				    unsigned available, unsigned enc_mask)
{
	char ae[32] = "";
	enum content_coding c;
	size_t n = 0;

	for (c = CODING_BR; c < CODING_COUNT; c++)
		if (enc_mask & coding_enc_bit(c))
			n += snprintf(ae + n, sizeof(ae) - n, "%s%s",
				      n ? ", " : "", names[c]);
	return coding_choose(p, available, ae, n);
}

/* The coding named by the n bytes at s (any case); CODING_COUNT: none. */
static enum content_coding coding_of(const char *s, size_t n)
{
	enum content_coding c;

	for (c = CODING_BR; c < CODING_COUNT; c++)
		if (http_ieq(s, n, names[c]))
			return c;
	return CODING_COUNT;
}

bool coding_prefs_parse(struct coding_prefs *p, const char *text)
{
	unsigned seen = 0;

	p->n = 0;
	if (strcmp(text, "off") == 0)
		return true;
	while (*text) {
		size_t n = strcspn(text, ",");
		enum content_coding c = coding_of(text, n);

		if (c == CODING_COUNT || (seen & (1u << c)))
			return false;
		seen |= 1u << c;
		p->order[p->n++] = c;
		text += n;
		if (*text == ',' && !*++text)
			return false;	/* a trailing comma */
	}
	return p->n > 0;
}

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

/* A qvalue (RFC 9110 12.4.2): "0", "0.5", "1.000"; -1 if malformed. */
static int parse_q(const char *s, size_t n)
{
	int q, scale = 100;
	size_t i;

	if (n == 0 || (s[0] != '0' && s[0] != '1') || n > 5 ||
	    (n > 1 && s[1] != '.'))
		return -1;
	q = (s[0] - '0') * Q_MAX;
	for (i = 2; i < n; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9' || (s[0] == '1' && s[i] != '0'))
			return -1;
		q += (s[i] - '0') * scale;
	}
	return q;
}

/*
 * One element of the list, "token[ OWS ; OWS q=qvalue]", trimmed: its
 * token in *tok, *tok_len and its q. Returns false if malformed (then it
 * counts as not there).
 */
static bool parse_element(const char *s, size_t n, const char **tok,
			  size_t *tok_len, int *q)
{
	size_t i = 0, k;

	while (i < n && http_tchar((unsigned char)s[i]))
		i++;
	if (i == 0)
		return false;
	*tok = s;
	*tok_len = i;
	*q = Q_MAX;
	while (i < n && ows(s[i]))
		i++;
	if (i == n)
		return true;
	if (s[i++] != ';')
		return false;
	while (i < n && ows(s[i]))
		i++;
	if (i + 2 > n || (s[i] != 'q' && s[i] != 'Q') || s[i + 1] != '=')
		return false;
	i += 2;
	for (k = n; k > i && ows(s[k - 1]); k--)
		;
	*q = parse_q(s + i, k - i);
	return *q >= 0;
}

/* Each coding's q as the list names it (q[CODING_IDENTITY] included), and
 * that of "*" in *star; NOT_NAMED where absent. */
static void read_list(const char *ae, size_t len, int q[CODING_COUNT],
		      int *star)
{
	size_t i = 0;
	int k;

	for (k = 0; k < CODING_COUNT; k++)
		q[k] = NOT_NAMED;
	*star = NOT_NAMED;
	while (i < len) {
		size_t end = i, tok_len;
		const char *tok;
		int qv;

		while (end < len && ae[end] != ',')
			end++;
		while (i < end && ows(ae[i]))
			i++;
		if (parse_element(ae + i, end - i, &tok, &tok_len, &qv)) {
			enum content_coding c = coding_of(tok, tok_len);

			if (c != CODING_COUNT && q[c] == NOT_NAMED)
				q[c] = qv;
			else if (http_ieq(tok, tok_len, "identity") &&
				 q[CODING_IDENTITY] == NOT_NAMED)
				q[CODING_IDENTITY] = qv;
			else if (tok_len == 1 && tok[0] == '*' &&
				 *star == NOT_NAMED)
				*star = qv;
		}
		i = end + 1;
	}
}

enum content_coding coding_choose(const struct coding_prefs *p,
				  unsigned available, const char *ae,
				  size_t ae_len)
{
	enum content_coding best = CODING_IDENTITY;
	int q[CODING_COUNT], star, best_q = 0;
	unsigned i;

	if (!ae || !(available & ~1u))
		return CODING_IDENTITY;
	read_list(ae, ae_len, q, &star);
	for (i = 0; i < p->n; i++) {
		enum content_coding c = p->order[i];
		int qc = q[c] != NOT_NAMED ? q[c] : star != NOT_NAMED ? star : 0;

		if ((available & (1u << c)) && qc > best_q) {
			best = c;
			best_q = qc;
		}
	}
	if (best != CODING_IDENTITY && q[CODING_IDENTITY] > best_q)
		return CODING_IDENTITY;
	return best;
}
