// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What a kernel cache entry holds (cache_response.h): the answers
 * userspace would give, as bytes. */
#include <stdio.h>
#include <string.h>

#include "cache_response.h"
#include "files.h"
#include "http_classify.h"
#include "http_date.h"

bool cache_key_cacheable(const char *key)
{
	char req[FS_KEY_MAX + 64];
	struct http_scan scan;
	int n;

	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: k\r\n\r\n", key);
	if (n < 0 || (size_t)n >= sizeof(req))
		return false;
	http_classify(&scan, (const __u8 *)req, n);
	return scan.out.frame == HTTP_FRAME_DONE && scan.out.cacheable &&
	       scan.out.path_len == strlen(key);
}

/* What the kernel compares a revalidation with, and the 304 it answers
 * then: the head of userspace's own 304 (static_file_decide()). Left
 * empty, which nothing matches, if the ETag or the head does not fit. */
static void revalidation(struct fs_cache_entry *me, const struct http_head *h)
{
	struct http_head nm = *h;
	size_t date_off = 0;

	nm.status = 304;
	me->nm_len = http_head_build(me->not_modified, sizeof(me->not_modified),
				     &nm, &date_off);
	me->nm_date_off = date_off;
	if (!me->nm_len || h->etag->len > sizeof(me->etag)) {
		me->nm_len = 0;
		return;
	}
	me->etag_len = h->etag->len;
	memcpy(me->etag, h->etag->text, h->etag->len);
	http_date_format(h->last_modified, me->last_modified);
}

size_t cache_response_head(char *head, size_t cap, struct fs_cache_entry *me,
			   const char *path, const struct stat *st,
			   enum content_coding coding, bool vary,
			   const struct cache_control *cc)
{
	struct http_etag etag;
	struct http_head h;
	size_t len, date_off = 0;

	files_head_init(&h, &etag, st, path, cc);
	h.content_encoding = coding_name(coding);
	h.vary_accept_encoding = vary;
	len = http_head_build(head, cap, &h, &date_off);
	memset(me, 0, sizeof(*me));
	me->head_len = len;
	me->resp_len = len + st->st_size;
	me->date_off = date_off;
	revalidation(me, &h);
	return len;
}
