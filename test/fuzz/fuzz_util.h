/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shared by the libFuzzer harnesses: failing with the input shown, byte
 * helpers, and prefix lengths to re-run a parser on.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The harnesses' own code goes between FUZZ_OWN_BEGIN and FUZZ_OWN_END: no
 * coverage feedback or comparison tracing there, so that libFuzzer explores
 * the code under test rather than the reference models (and runs faster).
 */
#if defined(__clang__) && __clang_major__ >= 13
#define FUZZ_OWN_BEGIN \
	_Pragma("clang attribute push (__attribute__((no_sanitize(\"coverage\"))), apply_to = function)")
#define FUZZ_OWN_END _Pragma("clang attribute pop")
#else
#define FUZZ_OWN_BEGIN
#define FUZZ_OWN_END
#endif

FUZZ_OWN_BEGIN

/* Shown of a long input: its start and its end (the crash file has all). */
#define FUZZ_DUMP_HEAD	2048
#define FUZZ_DUMP_TAIL	512

/* The input as a C string literal, 64 source bytes a line. */
static inline void fuzz_dump(const uint8_t *d, size_t n)
{
	size_t i, col = 0;

	fprintf(stderr, "input (%zu bytes):\n  \"", n);
	for (i = 0; i < n; i++) {
		uint8_t c = d[i];

		if (i == FUZZ_DUMP_HEAD && n > FUZZ_DUMP_HEAD + FUZZ_DUMP_TAIL) {
			fprintf(stderr, "\"\n  ... %zu bytes not shown ...\n  \"",
				n - FUZZ_DUMP_HEAD - FUZZ_DUMP_TAIL);
			i = n - FUZZ_DUMP_TAIL;
			c = d[i];
			col = 0;
		}
		if (c == '\r')
			fputs("\\r", stderr);
		else if (c == '\n')
			fputs("\\n", stderr);
		else if (c == '\t')
			fputs("\\t", stderr);
		else if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			/* a hex escape swallows hex digits after it: split */
			fprintf(stderr, "\\x%02x\"\"", c);
		else
			fputc(c, stderr);
		if (++col == 64 || c == '\n') {
			fputs("\"\n  \"", stderr);
			col = 0;
		}
	}
	fputs("\"\n", stderr);
}

static inline __attribute__((noreturn, format(printf, 5, 6))) void
fuzz_fail(const uint8_t *d, size_t n, const char *where, const char *cond,
	  const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n==== FUZZ CHECK FAILED at %s: %s\n", where, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fuzz_dump(d, n);
	fflush(stderr);
	abort();
}

#define FUZZ_STR2(x) #x
#define FUZZ_STR(x) FUZZ_STR2(x)
/* CHECK(cond, printf-style message): the input is FUZZ_IN, FUZZ_LEN. */
#define CHECK(cond, ...) do { \
	if (!(cond)) \
		fuzz_fail(FUZZ_IN, FUZZ_LEN, __FILE__ ":" FUZZ_STR(__LINE__), \
			  #cond, __VA_ARGS__); \
} while (0)

static inline uint8_t fuzz_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* The n bytes at s equal lit (lowercase) ignoring ASCII case. */
static inline bool fuzz_ieq(const uint8_t *s, size_t n, const char *lit)
{
	size_t i;

	if (n != strlen(lit))
		return false;
	for (i = 0; i < n; i++)
		if (fuzz_lower(s[i]) != (uint8_t)lit[i])
			return false;
	return true;
}

static inline bool fuzz_has(const uint8_t *s, size_t n, const char *lit)
{
	size_t k = strlen(lit), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(s + i, lit, k) == 0)
			return true;
	return false;
}

/* A private copy of the first n bytes, so ASan sees any read past them. */
static inline uint8_t *fuzz_copy(const uint8_t *d, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		abort();
	memcpy(p, d, n);
	return p;
}

/*
 * Prefix lengths to re-run a parser on: all of them for short inputs,
 * otherwise those around the interesting points given and a few more picked
 * by a hash of the input (so a crash reproduces): fewer the longer the input,
 * to keep the executions per second up. Returns the count.
 */
#define FUZZ_MAX_SPLITS 32

static inline size_t fuzz_splits(const uint8_t *d, size_t n,
				 const size_t *around, size_t naround,
				 size_t *out)
{
	size_t budget = n < 512 ? FUZZ_MAX_SPLITS : n < 2048 ? 16 : 10;
	uint64_t h = 1469598103934665603ULL;
	size_t k = 0, i;

	if (n < FUZZ_MAX_SPLITS) {
		for (i = 0; i <= n; i++)
			out[k++] = i;
		return k;
	}
	for (i = 0; i < naround && k + 3 <= budget - 3; i++) {
		if (around[i] > 0 && around[i] - 1 <= n)
			out[k++] = around[i] - 1;
		if (around[i] <= n)
			out[k++] = around[i];
		if (around[i] + 1 <= n)
			out[k++] = around[i] + 1;
	}
	for (i = 0; i < n; i++)
		h = (h ^ d[i]) * 1099511628211ULL;
	out[k++] = 0;
	out[k++] = n - 1;
	while (k < budget) {
		h = h * 6364136223846793005ULL + 1442695040888963407ULL;
		out[k++] = (size_t)((h >> 33) % (n + 1));
	}
	return k;
}

FUZZ_OWN_END

#endif /* FUZZ_UTIL_H */
