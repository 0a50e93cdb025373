/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* For parser tests: input that ends right at an unreadable page. */
#ifndef GUARD_PAGE_H
#define GUARD_PAGE_H

#include <check.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Bytes placed by place() end right before a page that cannot be read, so a
 * parser reading past len crashes the test instead of passing by luck.
 */
#define ARENA_SIZE	(64 * 1024)
static char *arena;

static inline const char *place(const char *s, size_t n)
{
	if (!arena) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		char *m = mmap(NULL, ARENA_SIZE + page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ck_assert_ptr_ne(m, MAP_FAILED);
		ck_assert_int_eq(mprotect(m + ARENA_SIZE, page, PROT_NONE), 0);
		arena = m;
	}
	ck_assert_uint_le(n, ARENA_SIZE);
	return memcpy(arena + ARENA_SIZE - n, s, n);
}

#endif /* GUARD_PAGE_H */
