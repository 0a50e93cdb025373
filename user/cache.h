/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The response cache the kernel answers from. Userspace decides what goes in
 * (a file's whole 200 response, header block and body), fills the BPF maps,
 * evicts to stay within the memory budget, and drops an entry as soon as
 * inotify says its file changed. Every function but cache_new and
 * cache_free may be called from any worker thread.
 */
#ifndef CACHE_H
#define CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>

#include "fs_maps.h"

struct kernel_path;
struct cache;
struct cache_stats;
struct files_conf;

/* root_path and root_fd name the document root (a relative root_path needs
 * no search permission above the root); fc the Cache-Control of the
 * responses, as userspace's get it, and the precompressed variants looked
 * for. Returns NULL on failure, with the reason logged. */
struct cache *cache_new(struct kernel_path *kp, const char *root_path,
			int root_fd, uint64_t max_file,
			const struct files_conf *fc);
void cache_free(struct cache *c);

/* Caches the 200 response for file (a normalised path beneath the root)
 * under key, the request path the kernel will see; for a file with
 * precompressed variants, each representation under the Accept-Encoding
 * masks userspace would answer with it. Files reached through a symlink,
 * too large, or changing while read are not cached. */
bool cache_admit(struct cache *c, const char *key, const char *file);

/* Caches the files of the document root (root_path, as cache_new() got it)
 * up to max_size bytes, as a start; a file whose key is reserved (answered
 * by the server itself) is skipped. In cache_preload.c. */
void cache_preload(struct cache *c, const char *root_path, uint64_t max_size,
		   const char *reserved);

/* The fd to read inotify events from, and what to do with them. */
int cache_event_fd(const struct cache *c);
void cache_handle_events(struct cache *c, const char *buf, size_t len);

/* Once a second: chunks of dropped entries become reusable. */
void cache_tick(struct cache *c);

void cache_get_stats(struct cache *c, struct cache_stats *out);

/* ---- inside the cache: cache.c and cache_watch.c -------------------- */

#define CACHE_NONE UINT32_MAX			/* the end of an index list */
#define FILE_BUCKETS FS_CACHE_ENTRIES	/* a power of two */
#define WATCH_BUCKETS 1024		/* a power of two */

#define WATCH_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | \
		    IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | \
		    IN_MOVE_SELF | IN_ONLYDIR)

enum entry_state { ENTRY_FREE, ENTRY_LIVE, ENTRY_QUARANTINE };

/* Two-way links of an index list; CACHE_NONE at either end. */
struct link {
	uint32_t prev, next;
};

struct entry {
	enum entry_state state;
	uint32_t gen;
	struct fs_cache_key key;	/* key.enc aside: */
	uint16_t encs;			/* the key.enc values naming it */
	char *file;			/* relative to the root, no leading '/';
					 * of a variant, the file it is of */
	uint32_t nchunks;
	uint32_t *chunks;
	uint64_t dropped_ns;
	struct link age;		/* live list, or the quarantine */
	struct link same_hash;		/* entries of one file bucket */
	struct link same_dir;		/* entries of one watch */
	uint32_t watch;			/* of the directory the file is in */
};

/* A list of entries through one of their links. */
struct list {
	uint32_t head, tail;
};

struct watch {
	int wd;				/* -1: a free slot */
	char *dir;			/* relative to the root, "" for the root */
	uint32_t next_by_wd;		/* in its bucket */
	struct list entries;		/* through same_dir */
};

/* Shared by the workers: every entry point holds lock. */
struct cache {
	pthread_mutex_t lock;
	struct kernel_path *kp;
	char *root_path;
	int root_fd;
	uint64_t max_file;
	const struct files_conf *fc;
	int inotify_fd;

	struct entry entries[FS_CACHE_ENTRIES];
	uint32_t free_ids[FS_CACHE_ENTRIES];
	uint32_t nfree_ids;
	struct list live;		/* oldest first */
	struct list quarantine;		/* first dropped first */
	struct list file_buckets[FILE_BUCKETS];
	uint32_t *free_chunks;
	uint32_t nfree_chunks;
	uint32_t nquarantined_chunks;	/* free once their quarantine ends */

	struct watch *watches;
	uint32_t nwatches, watch_cap;	/* slots in use or free, allocated */
	uint32_t free_watch;		/* free slots, through next_by_wd */
	uint32_t watch_buckets[WATCH_BUCKETS];

	uint64_t live_entries, live_chunks;
	uint64_t admissions, evictions, invalidations, full;
	uint64_t invalidation_ns;	/* CPU time on inotify events */
};

/* An empty index list */
#define EMPTY_LIST ((struct list){ CACHE_NONE, CACHE_NONE })

/* cache_watch.c: the directories inotify watches for the entries, hashed
 * by watch descriptor. c->lock is held. */
/* The slot of watch wd, or CACHE_NONE. */
uint32_t cache_watch_of(struct cache *c, int wd);
/* Watches every directory from the root down to file's, so that a rename
 * or removal anywhere on the way is seen. Returns the slot of file's
 * directory, or CACHE_NONE. */
uint32_t cache_watch_dirs(struct cache *c, const char *file);
/* Ends slot i's watch and frees the slot. */
void cache_watch_remove(struct cache *c, uint32_t i);

#endif /* CACHE_H */
