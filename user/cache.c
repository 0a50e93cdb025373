// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cache.h"
#include "files.h"
#include "http_classify.h"
#include "kernel_path.h"
#include "log.h"
#include "metrics.h"

/*
 * A dropped entry may still be in the middle of being copied by the sk_msg
 * program, or be named by a response queued on some socket: its id and
 * chunks are reused only after this long.
 */
#define QUARANTINE_NS (2ULL * 1000000000ULL)

#define HEAD_MAX 1024

#define WATCH_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | \
		    IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | \
		    IN_MOVE_SELF | IN_ONLYDIR)

enum entry_state { ENTRY_FREE, ENTRY_LIVE, ENTRY_QUARANTINE };

struct entry {
	enum entry_state state;
	uint32_t gen;
	struct fs_cache_key key;
	char *file;			/* relative to the root, no leading '/' */
	uint32_t nchunks;
	uint32_t *chunks;
	uint64_t order;			/* admission order: oldest goes first */
	uint64_t dropped_ns;
};

struct watch {
	int wd;
	char *dir;			/* relative to the root, "" for the root */
};

/* Shared by the workers: every entry point holds lock. */
struct cache {
	pthread_mutex_t lock;
	struct kernel_path *kp;
	char *root_path;
	int root_fd;
	uint64_t max_file;
	int inotify_fd;

	struct entry entries[FS_CACHE_ENTRIES];
	uint32_t *free_chunks;
	uint32_t nfree_chunks;
	uint32_t nquarantined_chunks;	/* free once their quarantine ends */
	uint64_t next_order;

	struct watch *watches;
	size_t nwatches;

	uint64_t admissions, evictions, invalidations, full;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct cache *cache_new(struct kernel_path *kp, const char *root_path,
			int root_fd, uint64_t max_file)
{
	struct cache *c = calloc(1, sizeof(*c));
	uint32_t i;

	if (!c)
		goto nomem;
	pthread_mutex_init(&c->lock, NULL);
	c->kp = kp;
	c->root_fd = root_fd;
	c->max_file = max_file;
	c->root_path = strdup(root_path);
	c->free_chunks = calloc(kp->chunk_count, sizeof(*c->free_chunks));
	if (!c->root_path || !c->free_chunks)
		goto nomem;
	for (i = 0; i < kp->chunk_count; i++)
		c->free_chunks[i] = kp->chunk_count - 1 - i;
	c->nfree_chunks = kp->chunk_count;
	c->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->inotify_fd < 0) {
		log_error("inotify_init1: %s", strerror(errno));
		cache_free(c);
		return NULL;
	}
	return c;
nomem:
	log_error("cache: out of memory");
	cache_free(c);
	return NULL;
}

void cache_free(struct cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < FS_CACHE_ENTRIES; i++) {
		free(c->entries[i].file);
		free(c->entries[i].chunks);
	}
	for (i = 0; i < c->nwatches; i++)
		free(c->watches[i].dir);
	free(c->watches);
	if (c->inotify_fd > 0)
		close(c->inotify_fd);
	free(c->free_chunks);
	free(c->root_path);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int cache_event_fd(const struct cache *c)
{
	return c->inotify_fd;
}

/* Stops the kernel from answering with entry e: responses already queued
 * see a new generation and fall back to userspace.
 *
 * Only the generation may change. The sk_msg stage reads the entry field by
 * field while this update copies the whole value: had lengths or chunk ids
 * changed too, a copy already past the generation check could mix old and
 * new fields (seen: Date stamped over the status line). Rewriting every
 * other byte unchanged, the entry stays whole until its quarantine ends. */
static void entry_drop(struct cache *c, uint32_t id)
{
	struct entry *e = &c->entries[id];
	struct fs_cache_entry retired;

	if (e->state != ENTRY_LIVE)
		return;
	if (bpf_map_delete_elem(c->kp->file_cache_fd, &e->key) && errno != ENOENT)
		log_warn("cache: dropping '%s': %s", e->file, strerror(errno));
	if (bpf_map_lookup_elem(c->kp->cache_entries_fd, &id, &retired) == 0) {
		retired.gen = ++e->gen;
		if (bpf_map_update_elem(c->kp->cache_entries_fd, &id, &retired,
					BPF_ANY))
			log_warn("cache: retiring entry %u: %s", id,
				 strerror(errno));
	} else {
		log_warn("cache: reading entry %u: %s", id, strerror(errno));
	}
	log_debug("Dropped '%s' from the kernel cache", e->file);
	c->nquarantined_chunks += e->nchunks;
	e->state = ENTRY_QUARANTINE;
	e->dropped_ns = now_ns();
}

static void entry_reclaim(struct cache *c, struct entry *e)
{
	uint32_t i;

	if (e->state == ENTRY_QUARANTINE)
		c->nquarantined_chunks -= e->nchunks;
	for (i = 0; i < e->nchunks; i++)
		c->free_chunks[c->nfree_chunks++] = e->chunks[i];
	free(e->chunks);
	free(e->file);
	e->chunks = NULL;
	e->file = NULL;
	e->nchunks = 0;
	e->state = ENTRY_FREE;
}

void cache_tick(struct cache *c)
{
	uint64_t now = now_ns();
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < FS_CACHE_ENTRIES; i++) {
		struct entry *e = &c->entries[i];

		if (e->state == ENTRY_QUARANTINE &&
		    now - e->dropped_ns >= QUARANTINE_NS)
			entry_reclaim(c, e);
	}
	pthread_mutex_unlock(&c->lock);
}

/* Drops the oldest live entry. Returns false if there is none. */
static bool evict_oldest(struct cache *c)
{
	uint64_t best = UINT64_MAX;
	uint32_t i, victim = 0;

	for (i = 0; i < FS_CACHE_ENTRIES; i++)
		if (c->entries[i].state == ENTRY_LIVE &&
		    c->entries[i].order < best) {
			best = c->entries[i].order;
			victim = i;
		}
	if (best == UINT64_MAX)
		return false;
	entry_drop(c, victim);
	c->evictions++;
	return true;
}

/* A free entry id, evicting if needed; -1 if every id is in quarantine. */
static int entry_alloc(struct cache *c)
{
	uint32_t i;

	for (;;) {
		for (i = 0; i < FS_CACHE_ENTRIES; i++)
			if (c->entries[i].state == ENTRY_FREE)
				return i;
		if (!evict_oldest(c))
			return -1;
	}
}

/* Evicted chunks come back only after their quarantine: evict just enough
 * for them to cover n, and admit now only if n chunks are free already. */
static bool chunks_reserve(struct cache *c, uint32_t n)
{
	while (c->nfree_chunks + c->nquarantined_chunks < n)
		if (!evict_oldest(c))
			return false;
	return c->nfree_chunks >= n;
}

/* Watches every directory from the root down to dir, so that a rename or
 * removal anywhere on the way is seen. */
static bool watch_dirs(struct cache *c, const char *file)
{
	char rel[PATH_MAX], abs[PATH_MAX * 2];
	const char *slash = file;
	size_t i;

	for (;;) {
		size_t len = slash == file ? 0 : (size_t)(slash - file);
		struct watch *w;
		int wd;

		if (len >= sizeof(rel))
			return false;
		memcpy(rel, file, len);
		rel[len] = '\0';
		snprintf(abs, sizeof(abs), "%s/%s", c->root_path, rel);
		wd = inotify_add_watch(c->inotify_fd, abs, WATCH_MASK);
		if (wd < 0) {
			log_warn("cache: watching '%s': %s", abs, strerror(errno));
			return false;
		}
		for (i = 0; i < c->nwatches && c->watches[i].wd != wd; i++)
			;
		if (i == c->nwatches) {
			w = realloc(c->watches, (c->nwatches + 1) * sizeof(*w));
			if (!w)
				return false;
			c->watches = w;
			w[i].wd = wd;
			w[i].dir = strdup(rel);
			if (!w[i].dir)
				return false;
			c->nwatches++;
		}
		slash = strchr(slash == file ? file : slash + 1, '/');
		if (!slash)
			return true;
	}
}

/* Reads the whole file into buf at off; false if it changed meanwhile. */
static bool read_body(int fd, const struct stat *before, char *buf, size_t len)
{
	struct stat after;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, done);

		if (n <= 0)
			return false;
		done += n;
	}
	if (fstat(fd, &after))
		return false;
	return after.st_size == before->st_size &&
	       after.st_mtim.tv_sec == before->st_mtim.tv_sec &&
	       after.st_mtim.tv_nsec == before->st_mtim.tv_nsec;
}

static bool write_chunks(struct cache *c, struct entry *e, const char *resp)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = e->nchunks;

	if (bpf_map_update_batch(c->kp->cache_chunks_fd, e->chunks, resp,
				 &count, &opts)) {
		log_warn("cache: writing '%s': %s", e->file, strerror(errno));
		return false;
	}
	return true;
}

/* Builds the response, writes it into the maps and publishes the key. */
static bool entry_fill(struct cache *c, uint32_t id, int fd,
		       const struct stat *st)
{
	struct entry *e = &c->entries[id];
	struct fs_cache_entry me = {};
	struct fs_cache_ref ref;
	struct http_etag etag;
	struct http_head h;
	size_t head_len, date_off, resp_len;
	char head[HEAD_MAX], *resp;
	bool ok = false;
	uint32_t n;

	files_head_init(&h, &etag, st, e->file, true);
	head_len = http_head_build(head, sizeof(head), &h, &date_off);
	resp_len = head_len + st->st_size;
	n = (resp_len + FS_CHUNK_SIZE - 1) / FS_CHUNK_SIZE;
	if (head_len == 0 || date_off + FS_DATE_LEN > FS_CHUNK_SIZE ||
	    n > FS_ENTRY_MAX_CHUNKS)
		return false;
	if (!chunks_reserve(c, n)) {
		c->full++;
		return false;
	}
	resp = calloc(n, FS_CHUNK_SIZE);
	e->chunks = calloc(n, sizeof(*e->chunks));
	if (!resp || !e->chunks)
		goto out;
	memcpy(resp, head, head_len);
	if (!read_body(fd, st, resp + head_len, st->st_size))
		goto out;
	/* only now can entry_reclaim() give the chunks back */
	for (e->nchunks = 0; e->nchunks < n; e->nchunks++)
		e->chunks[e->nchunks] = c->free_chunks[--c->nfree_chunks];
	if (!write_chunks(c, e, resp))
		goto out;

	me.gen = ++e->gen;
	me.resp_len = resp_len;
	me.head_len = head_len;
	me.date_off = date_off;
	me.nchunks = e->nchunks;
	memcpy(me.chunk, e->chunks, e->nchunks * sizeof(*e->chunks));
	ref.entry = id;
	ref.gen = me.gen;
	if (bpf_map_update_elem(c->kp->cache_entries_fd, &id, &me, BPF_ANY) ||
	    bpf_map_update_elem(c->kp->file_cache_fd, &e->key, &ref, BPF_ANY)) {
		log_warn("cache: publishing '%s': %s", e->file, strerror(errno));
		goto out;
	}
	ok = true;
out:
	free(resp);
	return ok;
}

/* Only keys the kernel's classifier would look up are worth caching. */
static bool key_is_cacheable(const char *key)
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

static bool admit(struct cache *c, const char *key, const char *file)
{
	struct fs_cache_ref ref;
	struct fs_cache_key k = {};
	struct stat st;
	struct entry *e;
	int id, fd;
	bool ok;

	if (strlen(key) >= FS_KEY_MAX || !key_is_cacheable(key))
		return false;
	strncpy(k.path, key, sizeof(k.path) - 1);
	if (!bpf_map_lookup_elem(c->kp->file_cache_fd, &k, &ref))
		return false;	/* already there */

	fd = files_open(c->root_fd, file, true);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > c->max_file) {
		close(fd);
		return false;
	}
	id = entry_alloc(c);
	if (id < 0) {
		c->full++;
		close(fd);
		return false;
	}
	e = &c->entries[id];
	e->key = k;
	e->file = strdup(file + strspn(file, "/"));
	/* The watch must exist before the bytes are read, or a change made
	 * in between would go unseen. */
	ok = e->file && watch_dirs(c, e->file) && entry_fill(c, id, fd, &st);
	close(fd);
	if (!ok) {
		entry_reclaim(c, e);
		return false;
	}
	e->state = ENTRY_LIVE;
	e->order = c->next_order++;
	c->admissions++;
	log_debug("Cached file '%s' in kernel", key);
	return true;
}

bool cache_admit(struct cache *c, const char *key, const char *file)
{
	bool admitted;

	pthread_mutex_lock(&c->lock);
	admitted = admit(c, key, file);
	pthread_mutex_unlock(&c->lock);
	return admitted;
}

/* nftw() passes no context: these are it, under the lock. */
static struct cache *preload_cache;
static uint64_t preload_max;
static const char *preload_reserved;
static dev_t preload_dev;		/* the root's filesystem */

static int preload_one(const char *path, const struct stat *st, int type,
		       struct FTW *ftw)
{
	char key[FS_KEY_MAX + 1];
	const char *rel = path + strlen(preload_cache->root_path);
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
	admit(preload_cache, rel, rel);
	/* A directory's index is also what "/dir/" answers with. */
	len = strlen(rel);
	if (len >= 10 && strcmp(rel + len - 10, "index.html") == 0 &&
	    len - 10 < sizeof(key)) {
		memcpy(key, rel, len - 10);
		key[len - 10] = '\0';
		admit(preload_cache, key, rel);
	}
	return FTW_CONTINUE;
}

void cache_preload(struct cache *c, uint64_t max_size, const char *reserved)
{
	pthread_mutex_lock(&c->lock);
	preload_cache = c;
	preload_reserved = reserved;
	preload_max = max_size < c->max_file ? max_size : c->max_file;
	if (nftw(c->root_path, preload_one, 16, FTW_PHYS | FTW_ACTIONRETVAL))
		log_warn("cache: scanning '%s': %s", c->root_path,
			 strerror(errno));
	preload_cache = NULL;
	pthread_mutex_unlock(&c->lock);
}

static struct watch *watch_of(struct cache *c, int wd)
{
	size_t i;

	for (i = 0; i < c->nwatches; i++)
		if (c->watches[i].wd == wd)
			return &c->watches[i];
	return NULL;
}

static bool path_within(const char *file, const char *path)
{
	size_t len = strlen(path);

	if (len == 0)
		return true;
	return strncmp(file, path, len) == 0 &&
	       (file[len] == '\0' || file[len] == '/');
}

/* Drops every entry whose file is path or lies beneath it. */
static void invalidate(struct cache *c, const char *path)
{
	uint32_t i;

	for (i = 0; i < FS_CACHE_ENTRIES; i++)
		if (c->entries[i].state == ENTRY_LIVE &&
		    path_within(c->entries[i].file, path)) {
			entry_drop(c, i);
			c->invalidations++;
		}
}

/* Watches of directories that were renamed or removed name stale paths. */
static void forget_watches(struct cache *c, const char *path)
{
	size_t i = 0;

	while (i < c->nwatches) {
		struct watch *w = &c->watches[i];

		if (*path && path_within(w->dir, path)) {
			inotify_rm_watch(c->inotify_fd, w->wd);
			free(w->dir);
			*w = c->watches[--c->nwatches];
		} else {
			i++;
		}
	}
}

static void handle_event(struct cache *c, const struct inotify_event *ev)
{
	char path[PATH_MAX * 2];
	struct watch *w;

	if (ev->mask & IN_Q_OVERFLOW) {
		log_warn("cache: inotify queue overflowed, dropping everything");
		invalidate(c, "");
		return;
	}
	w = watch_of(c, ev->wd);
	if (!w)
		return;
	if (ev->len == 0) {
		/* the directory itself went away or moved */
		invalidate(c, w->dir);
		forget_watches(c, w->dir);
		return;
	}
	snprintf(path, sizeof(path), "%s%s%s", w->dir, *w->dir ? "/" : "",
		 ev->name);
	invalidate(c, path);
	if (ev->mask & IN_ISDIR &&
	    ev->mask & (IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE))
		forget_watches(c, path);
}

void cache_handle_events(struct cache *c, const char *buf, size_t len)
{
	size_t off = 0;

	pthread_mutex_lock(&c->lock);
	while (off + sizeof(struct inotify_event) <= len) {
		const struct inotify_event *ev = (const void *)(buf + off);

		handle_event(c, ev);
		off += sizeof(*ev) + ev->len;
	}
	pthread_mutex_unlock(&c->lock);
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
	size_t i;

	pthread_mutex_lock(&c->lock);
	*out = (struct cache_stats){
		.admissions = c->admissions,
		.evictions = c->evictions,
		.invalidations = c->invalidations,
		.full = c->full,
	};
	for (i = 0; i < FS_CACHE_ENTRIES; i++)
		if (c->entries[i].state == ENTRY_LIVE) {
			out->entries++;
			out->bytes += (uint64_t)c->entries[i].nchunks *
				      FS_CHUNK_SIZE;
		}
	pthread_mutex_unlock(&c->lock);
}
