// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The cache's start (cache.h, cache_preload()): a walk of the document root
 * that admits its small files, at start-up and on SIGHUP, so that the first
 * request for a hot file is already the kernel's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"
#include "fs_maps.h"
#include "log.h"

/* nftw() passes no context: these are it, one walk at a time. */
static pthread_mutex_t preload_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache *preload_cache;
static size_t preload_root_len;
static uint64_t preload_max;
static const char *preload_reserved;
static dev_t preload_dev;		/* the root's filesystem */

static int preload_one(const char *path, const struct stat *st, int type,
		       struct FTW *ftw)
{
	char key[FS_KEY_MAX + 1];
	const char *rel = path + preload_root_len;
	size_t len;

	if (type == FTW_D) {
		if (ftw->level == 0)
			preload_dev = st->st_dev;
		/* Not into filesystems mounted below the root. Files are not
		 * checked: on an overlayfs over layers of different
		 * filesystems (without xino) they report their layer's. */
		return st->st_dev == preload_dev ? FTW_CONTINUE :
						   FTW_SKIP_SUBTREE;
	}
	if (type != FTW_F || !S_ISREG(st->st_mode) ||
	    (uint64_t)st->st_size > preload_max ||
	    (preload_reserved && strcmp(rel, preload_reserved) == 0))
		return FTW_CONTINUE;
	cache_admit(preload_cache, rel, rel);
	/* A directory's index is also what "/dir/" answers with. */
	len = strlen(rel);
	if (len >= 10 && strcmp(rel + len - 10, "index.html") == 0 &&
	    len - 10 < sizeof(key)) {
		memcpy(key, rel, len - 10);
		key[len - 10] = '\0';
		cache_admit(preload_cache, key, rel);
	}
	return FTW_CONTINUE;
}

void cache_preload(struct cache *c, const char *root_path, uint64_t max_size,
		   const char *reserved)
{
	pthread_mutex_lock(&preload_lock);
	preload_cache = c;
	preload_root_len = strlen(root_path);
	preload_reserved = reserved;
	preload_max = max_size;
	if (nftw(root_path, preload_one, 16, FTW_PHYS | FTW_ACTIONRETVAL))
		log_warn("cache: scanning '%s': %s", root_path,
			 strerror(errno));
	preload_cache = NULL;
	pthread_mutex_unlock(&preload_lock);
}
