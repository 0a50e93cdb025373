// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The cache's inotify watches (cache.h): one slot per watched directory,
 * from the root down to each cached file's, found by watch descriptor
 * through a hash of chained slots; freed slots are reused first. Each
 * slot lists the entries beneath it (cache.c), which a rename or removal
 * of the directory drops.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "cache.h"
#include "log.h"

static uint32_t *watch_bucket(struct cache *c, int wd)
{
	return &c->watch_buckets[(uint32_t)wd & (WATCH_BUCKETS - 1)];
}

uint32_t cache_watch_of(struct cache *c, int wd)
{
	uint32_t i = *watch_bucket(c, wd);

	while (i != CACHE_NONE && c->watches[i].wd != wd)
		i = c->watches[i].next_by_wd;
	return i;
}

/* A slot for watch wd on rel; CACHE_NONE when out of memory. */
static uint32_t watch_add(struct cache *c, int wd, const char *rel)
{
	char *dir = strdup(rel);
	uint32_t i = c->free_watch;

	if (!dir)
		return CACHE_NONE;
	if (i != CACHE_NONE) {
		c->free_watch = c->watches[i].next_by_wd;
	} else {
		if (c->nwatches == c->watch_cap) {
			uint32_t cap = c->watch_cap ? 2 * c->watch_cap : 64;
			struct watch *w = realloc(c->watches, cap * sizeof(*w));

			if (!w) {
				free(dir);
				return CACHE_NONE;
			}
			c->watches = w;
			c->watch_cap = cap;
		}
		i = c->nwatches++;
	}
	c->watches[i] = (struct watch){ .wd = wd, .dir = dir,
					.next_by_wd = *watch_bucket(c, wd),
					.entries = EMPTY_LIST };
	*watch_bucket(c, wd) = i;
	return i;
}

void cache_watch_remove(struct cache *c, uint32_t i)
{
	struct watch *w = &c->watches[i];
	uint32_t *p = watch_bucket(c, w->wd);

	while (*p != i)
		p = &c->watches[*p].next_by_wd;
	*p = w->next_by_wd;
	inotify_rm_watch(c->inotify_fd, w->wd);
	free(w->dir);
	*w = (struct watch){ .wd = -1, .next_by_wd = c->free_watch };
	c->free_watch = i;
}

uint32_t cache_watch_dirs(struct cache *c, const char *file)
{
	char rel[PATH_MAX], abs[PATH_MAX * 2];
	const char *slash = file;

	for (;;) {
		size_t len = slash == file ? 0 : (size_t)(slash - file);
		uint32_t i;
		int wd;

		if (len >= sizeof(rel))
			return CACHE_NONE;
		memcpy(rel, file, len);
		rel[len] = '\0';
		snprintf(abs, sizeof(abs), "%s/%s", c->root_path, rel);
		wd = inotify_add_watch(c->inotify_fd, abs, WATCH_MASK);
		if (wd < 0) {
			log_warn("cache: watching '%s': %s", abs, strerror(errno));
			return CACHE_NONE;
		}
		i = cache_watch_of(c, wd);
		if (i == CACHE_NONE)
			i = watch_add(c, wd, rel);
		if (i == CACHE_NONE)
			return CACHE_NONE;
		slash = strchr(slash == file ? file : slash + 1, '/');
		if (!slash)
			return i;
	}
}
