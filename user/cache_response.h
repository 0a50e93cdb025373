/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What a kernel cache entry is (cache.c): a key the kernel looks up, and
 * bytes: a representation's header block, built by the same code as
 * userspace's own answers, and what a revalidation of it is compared with
 * and answered by.
 */
#ifndef CACHE_RESPONSE_H
#define CACHE_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "content_coding.h"
#include "fs_maps.h"

struct cache_control;

/* Only a path the kernel's classifier would look up is worth a key. */
bool cache_key_cacheable(const char *key);

/*
 * The 200 header block of the file at path (from the root; st its stat,
 * or its variant's in coding, vary: it has variants) in head (cap bytes),
 * with Cache-Control by cc (or NULL). Fills me's lengths (resp_len,
 * head_len, date_off) and its revalidation: the ETag, Last-Modified and
 * 304 block (left empty, which nothing matches, if they do not fit).
 * Returns the head's length, 0 if it does not fit.
 */
size_t cache_response_head(char *head, size_t cap, struct fs_cache_entry *me,
			   const char *path, const struct stat *st,
			   enum content_coding coding, bool vary,
			   const struct cache_control *cc);

#endif /* CACHE_RESPONSE_H */
