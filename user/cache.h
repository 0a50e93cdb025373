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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif /* CACHE_H */
