// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The response cache's policy (cache.h): what is admitted, what is evicted
 * to stay within the chunk budget, what inotify says has changed, and when
 * a dropped entry's memory may be reused. The maps themselves are written
 * through kernel_path.c.
 *
 * Every operation is O(1), or proportional to what it drops: a deploy that
 * rewrites thousands of cached files must not scan the table per inotify
 * event. Free ids are a stack; live entries a list in admission order (the
 * oldest evicted first); dropped ones a list in drop order, reclaimed from
 * its head; entries are hashed by file (several keys may name one file:
 * "/dir/" and "/dir/index.html") and listed by watched directory (a
 * directory renamed or removed drops what lies beneath); watches are
 * hashed by inotify descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "clock.h"
#include "cache_response.h"
#include "files.h"
#include "kernel_path.h"
#include "log.h"
#include "metrics.h"

/* A dropped entry may still be being copied by the sk_msg program, or be
 * named by a response queued on a socket: its id and chunks wait this long. */
#define QUARANTINE_NS (2ULL * 1000000000ULL)

#define HEAD_MAX 1024
/* Every Accept-Encoding mask a file with variants is keyed under */
#define ALL_MASKS ((1u << FS_ENC_MASKS) - 1)
/* ---- index lists ---------------------------------------------------- */

/* The link member at offset off of entry id. */
static struct link *link_of(struct cache *c, uint32_t id, size_t off)
{
	return (struct link *)((char *)&c->entries[id] + off);
}

static void list_push(struct cache *c, struct list *l, uint32_t id, size_t off)
{
	struct link *k = link_of(c, id, off);

	k->prev = l->tail;
	k->next = CACHE_NONE;
	if (l->tail != CACHE_NONE)
		link_of(c, l->tail, off)->next = id;
	else
		l->head = id;
	l->tail = id;
}

static void list_remove(struct cache *c, struct list *l, uint32_t id,
			size_t off)
{
	struct link *k = link_of(c, id, off);

	if (k->prev != CACHE_NONE)
		link_of(c, k->prev, off)->next = k->next;
	else
		l->head = k->next;
	if (k->next != CACHE_NONE)
		link_of(c, k->next, off)->prev = k->prev;
	else
		l->tail = k->prev;
}

#define AGE offsetof(struct entry, age)
#define SAME_HASH offsetof(struct entry, same_hash)
#define SAME_DIR offsetof(struct entry, same_dir)

/* FNV-1a: short paths, no adversary choosing them but the site's owner. */
static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* file as entries hold it: relative to the root, no leading '/' */
static const char *root_relative(const char *file)
{
	return file + strspn(file, "/");
}

static struct list *file_bucket(struct cache *c, const char *file)
{
	return &c->file_buckets[hash_str(file) & (FILE_BUCKETS - 1)];
}

/* ---- the cache ------------------------------------------------------- */

struct cache *cache_new(struct kernel_path *kp, const char *root_path,
			int root_fd, uint64_t max_file,
			const struct files_conf *fc)
{
	struct cache *c = calloc(1, sizeof(*c));
	uint32_t i;

	if (!c)
		goto nomem;
	pthread_mutex_init(&c->lock, NULL);
	c->kp = kp;
	c->root_fd = root_fd;
	c->max_file = max_file;
	c->fc = fc;
	c->inotify_fd = -1;
	c->live = c->quarantine = EMPTY_LIST;
	memset(c->file_buckets, 0xff, sizeof(c->file_buckets));
	memset(c->watch_buckets, 0xff, sizeof(c->watch_buckets));
	c->free_watch = CACHE_NONE;
	for (i = 0; i < FS_CACHE_ENTRIES; i++)
		c->free_ids[i] = FS_CACHE_ENTRIES - 1 - i;
	c->nfree_ids = FS_CACHE_ENTRIES;
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
	if (c->inotify_fd >= 0)
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

/* Publishes id as me under each of its keys (me NULL: unpublishes them,
 * and gives it its generation). Returns 0 or the first -errno. */
static int entry_keys(struct cache *c, uint32_t id,
		      const struct fs_cache_entry *me)
{
	struct entry *e = &c->entries[id];
	struct fs_cache_key k = e->key;
	int err = 0, r;

	for (k.enc = 0; k.enc <= FS_ENC_ANY; k.enc++) {
		if (!(e->encs & (1u << k.enc)))
			continue;
		r = me ? kernel_path_cache_publish(c->kp, &k, id, me) :
			 kernel_path_cache_retire(c->kp, &k, id, e->gen);
		if (r && !err)
			err = r;
	}
	return err;
}

/* Stops the kernel from answering with live entry id: responses already
 * queued see a new generation and fall back to userspace. */
static void entry_drop(struct cache *c, uint32_t id)
{
	struct entry *e = &c->entries[id];
	int err;

	e->gen++;
	err = entry_keys(c, id, NULL);

	if (err)
		log_warn("cache: dropping '%s': %s", e->file, strerror(-err));
	log_debug("Dropped '%s' from the kernel cache", e->file);
	list_remove(c, &c->live, id, AGE);
	list_remove(c, file_bucket(c, e->file), id, SAME_HASH);
	list_remove(c, &c->watches[e->watch].entries, id, SAME_DIR);
	c->live_entries--;
	c->live_chunks -= e->nchunks;
	c->nquarantined_chunks += e->nchunks;
	e->state = ENTRY_QUARANTINE;
	e->dropped_ns = clock_now_ns();
	list_push(c, &c->quarantine, id, AGE);
}

/* Gives id and its chunks back: an entry never published, or one whose
 * quarantine is over. */
static void entry_reclaim(struct cache *c, uint32_t id)
{
	struct entry *e = &c->entries[id];
	uint32_t i;

	if (e->state == ENTRY_QUARANTINE) {
		c->nquarantined_chunks -= e->nchunks;
		list_remove(c, &c->quarantine, id, AGE);
	}
	for (i = 0; i < e->nchunks; i++)
		c->free_chunks[c->nfree_chunks++] = e->chunks[i];
	free(e->chunks);
	free(e->file);
	e->chunks = NULL;
	e->file = NULL;
	e->nchunks = 0;
	e->state = ENTRY_FREE;
	c->free_ids[c->nfree_ids++] = id;
}

void cache_tick(struct cache *c)
{
	uint64_t now = clock_now_ns();
	uint32_t id;

	pthread_mutex_lock(&c->lock);
	while ((id = c->quarantine.head) != CACHE_NONE &&
	       now - c->entries[id].dropped_ns >= QUARANTINE_NS)
		entry_reclaim(c, id);
	pthread_mutex_unlock(&c->lock);
}

/* Drops the oldest live entry. Returns false if there is none. */
static bool evict_oldest(struct cache *c)
{
	if (c->live.head == CACHE_NONE)
		return false;
	entry_drop(c, c->live.head);
	c->evictions++;
	return true;
}

/* A free entry id, evicting if needed; -1 if every id is in quarantine. */
static int entry_alloc(struct cache *c)
{
	if (!c->nfree_ids)
		evict_oldest(c);	/* its id is free only after quarantine */
	if (!c->nfree_ids)
		return -1;
	return c->free_ids[--c->nfree_ids];
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

/* ---- admission ------------------------------------------------------- */

/* Writes the response (me: its lengths) and its entry, then publishes the
 * key. */
static bool entry_publish(struct cache *c, uint32_t id, const char *resp,
			  struct fs_cache_entry *me)
{
	struct entry *e = &c->entries[id];
	int err = kernel_path_cache_write(c->kp, e->chunks, e->nchunks, resp);

	me->gen = ++e->gen;
	me->nchunks = e->nchunks;
	memcpy(me->chunk, e->chunks, e->nchunks * sizeof(*e->chunks));
	if (!err)
		err = entry_keys(c, id, me);
	if (err)
		log_warn("cache: publishing '%s': %s", e->file, strerror(-err));
	return !err;
}

/* Builds the response of the file open as fd, in chunks of its own: the
 * file itself, or its variant in coding (vary: it has variants). */
static bool entry_fill(struct cache *c, uint32_t id, int fd,
		       const struct stat *st, enum content_coding coding,
		       bool vary)
{
	struct entry *e = &c->entries[id];
	struct fs_cache_entry me;
	char head[HEAD_MAX], *resp;
	size_t head_len;
	bool ok = false;
	uint32_t n;

	head_len = cache_response_head(head, sizeof(head), &me, e->file, st,
				       coding, vary, c->fc->cache_control);
	n = (me.resp_len + FS_CHUNK_SIZE - 1) / FS_CHUNK_SIZE;
	if (head_len == 0 || me.date_off + FS_DATE_LEN > FS_CHUNK_SIZE ||
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
	if (!files_read_all(fd, st, resp + head_len, st->st_size))
		goto out;
	/* only now can entry_reclaim() give the chunks back */
	for (e->nchunks = 0; e->nchunks < n; e->nchunks++)
		e->chunks[e->nchunks] = c->free_chunks[--c->nfree_chunks];
	ok = entry_publish(c, id, resp, &me);
out:
	free(resp);
	return ok;
}

/* The live entry for file, now in the lists that find it again. */
static void entry_link(struct cache *c, uint32_t id, uint32_t watch)
{
	struct entry *e = &c->entries[id];

	e->state = ENTRY_LIVE;
	e->watch = watch;
	list_push(c, &c->live, id, AGE);
	list_push(c, file_bucket(c, e->file), id, SAME_HASH);
	list_push(c, &c->watches[watch].entries, id, SAME_DIR);
	c->live_entries++;
	c->live_chunks += e->nchunks;
	c->admissions++;
}

/* Admits one representation of file, read from fd (st), as the answer
 * for k.path with each encoding of encs. */
static bool admit_rep(struct cache *c, const struct fs_cache_key *k,
		      uint16_t encs, const char *file, int fd,
		      const struct stat *st, enum content_coding coding)
{
	struct entry *e;
	uint32_t watch;
	int id;

	if ((uint64_t)st->st_size > c->max_file)
		return false;
	id = entry_alloc(c);
	if (id < 0) {
		c->full++;
		return false;
	}
	e = &c->entries[id];
	e->key = *k;
	e->encs = encs;
	e->file = strdup(root_relative(file));
	/* The watch must exist before the bytes are read, or a change made
	 * in between would go unseen. */
	watch = e->file ? cache_watch_dirs(c, e->file) : CACHE_NONE;
	if (watch == CACHE_NONE ||
	    !entry_fill(c, id, fd, st, coding, encs != 1u << FS_ENC_ANY)) {
		entry_reclaim(c, id);
		return false;
	}
	entry_link(c, id, watch);
	return true;
}

/*
 * A file with precompressed variants (have: their mask, fds and sts theirs,
 * the file itself as CODING_IDENTITY): each representation is admitted
 * under the encodings for which userspace would choose it, those not in
 * cached yet. Closes the fds. Returns whether all that was not cached is.
 */
static bool admit_group(struct cache *c, struct fs_cache_key *k,
			const char *file, unsigned have, unsigned cached,
			int *fds, struct stat *sts)
{
	unsigned free_encs = ~cached & ALL_MASKS, m;
	enum content_coding cd;
	bool ok = free_encs != 0;

	for (cd = CODING_IDENTITY; cd < CODING_COUNT; cd++) {
		unsigned encs = 0;

		if (!(have & (1u << cd)))
			continue;
		for (m = 0; m < FS_ENC_MASKS; m++)
			if (coding_for_mask(c->fc->codings, have, m) == cd)
				encs |= 1u << m;
		encs &= free_encs;
		if (encs && ok)
			ok = admit_rep(c, k, encs, file, fds[cd], &sts[cd], cd);
		close(fds[cd]);
	}
	return ok;
}

/* The encodings key (of file) is cached under, from our own index: the
 * question every answer from userspace asks, so no bpf() call. */
static unsigned cached_encs(struct cache *c, const char *key,
			    const char *file)
{
	uint32_t id = file_bucket(c, root_relative(file))->head;
	unsigned encs = 0;

	for (; id != CACHE_NONE; id = c->entries[id].same_hash.next)
		if (strcmp(c->entries[id].key.path, key) == 0)
			encs |= c->entries[id].encs;
	return encs;
}

static bool admit(struct cache *c, const char *key, const char *file)
{
	struct fs_cache_key k = { .enc = FS_ENC_ANY };
	struct stat sts[CODING_COUNT];
	int fds[CODING_COUNT];
	unsigned have, cached;
	bool ok;
	int fd;

	if (strlen(key) >= FS_KEY_MAX || !cache_key_cacheable(key))
		return false;
	strncpy(k.path, key, sizeof(k.path) - 1);
	cached = cached_encs(c, key, file);
	if (cached & (1u << FS_ENC_ANY) || (cached & ALL_MASKS) == ALL_MASKS)
		return false;	/* already there, whole */

	fd = files_open(c->root_fd, file, true);
	if (fd < 0)
		return false;
	if (fstat(fd, &sts[CODING_IDENTITY]) ||
	    !S_ISREG(sts[CODING_IDENTITY].st_mode)) {
		close(fd);
		return false;
	}
	have = files_variants(c->root_fd, file, &sts[CODING_IDENTITY],
			      c->fc->codings, fds, sts);
	if (have) {
		fds[CODING_IDENTITY] = fd;
		return admit_group(c, &k, file, have | 1u, cached, fds, sts);
	}
	ok = admit_rep(c, &k, 1u << FS_ENC_ANY, file, fd,
		       &sts[CODING_IDENTITY], CODING_IDENTITY);
	close(fd);
	if (ok)
		log_debug("Cached file '%s' in kernel", key);
	return ok;
}

bool cache_admit(struct cache *c, const char *key, const char *file)
{
	bool admitted;

	pthread_mutex_lock(&c->lock);
	admitted = admit(c, key, file);
	pthread_mutex_unlock(&c->lock);
	return admitted;
}

/* ---- invalidation ---------------------------------------------------- */

static bool path_within(const char *file, const char *path)
{
	size_t len = strlen(path);

	if (len == 0)
		return true;
	return strncmp(file, path, len) == 0 &&
	       (file[len] == '\0' || file[len] == '/');
}

static void invalidate_entry(struct cache *c, uint32_t id)
{
	entry_drop(c, id);
	c->invalidations++;
}

/* Drops the entries of file (relative to the root). */
static void invalidate_file(struct cache *c, const char *file)
{
	uint32_t id = file_bucket(c, file)->head;

	while (id != CACHE_NONE) {
		uint32_t next = c->entries[id].same_hash.next;

		if (strcmp(c->entries[id].file, file) == 0)
			invalidate_entry(c, id);
		id = next;
	}
}

/*
 * Drops every entry beneath directory dir ("" for all), and with forget
 * also the watches of the directories there, whose paths are now stale.
 * Proportional to the watched directories, and only on directory events.
 */
static void invalidate_dir(struct cache *c, const char *dir, bool forget)
{
	uint32_t i;

	for (i = 0; i < c->nwatches; i++) {
		struct watch *w = &c->watches[i];

		if (w->wd < 0 || !path_within(w->dir, dir))
			continue;
		while (w->entries.head != CACHE_NONE)
			invalidate_entry(c, w->entries.head);
		if (forget && *dir)
			cache_watch_remove(c, i);
	}
}

static void handle_event(struct cache *c, const struct inotify_event *ev)
{
	char path[PATH_MAX * 2];
	uint32_t i;

	if (ev->mask & IN_Q_OVERFLOW) {
		log_warn("cache: inotify queue overflowed, dropping everything");
		while (c->live.head != CACHE_NONE)
			invalidate_entry(c, c->live.head);
		return;
	}
	i = cache_watch_of(c, ev->wd);
	if (i == CACHE_NONE)
		return;
	/* a copy: forgetting the watch frees its dir */
	snprintf(path, sizeof(path), "%s%s%s", c->watches[i].dir,
		 ev->len && *c->watches[i].dir ? "/" : "",
		 ev->len ? ev->name : "");
	if (ev->len == 0) {
		/* the directory itself went away or moved */
		invalidate_dir(c, path, true);
		return;
	}
	invalidate_file(c, path);
	/* a variant came, went or changed: its file's answer did too */
	if (coding_strip_suffix(path) != CODING_IDENTITY)
		invalidate_file(c, path);
	if (ev->mask & IN_ISDIR)
		invalidate_dir(c, path, ev->mask & (IN_MOVED_FROM |
						    IN_MOVED_TO | IN_DELETE));
}

void cache_handle_events(struct cache *c, const char *buf, size_t len)
{
	struct timespec t0, t1;
	size_t off = 0;

	pthread_mutex_lock(&c->lock);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	while (off + sizeof(struct inotify_event) <= len) {
		const struct inotify_event *ev = (const void *)(buf + off);

		handle_event(c, ev);
		off += sizeof(*ev) + ev->len;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	c->invalidation_ns += (t1.tv_sec - t0.tv_sec) * 1000000000LL +
			      (t1.tv_nsec - t0.tv_nsec);
	pthread_mutex_unlock(&c->lock);
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = (struct cache_stats){
		.entries = c->live_entries,
		.bytes = c->live_chunks * FS_CHUNK_SIZE,
		.admissions = c->admissions,
		.evictions = c->evictions,
		.invalidations = c->invalidations,
		.full = c->full,
		.invalidation_ns = c->invalidation_ns,
	};
	pthread_mutex_unlock(&c->lock);
}
