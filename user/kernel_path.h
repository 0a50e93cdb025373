/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The kernel path as userspace sees it: loading and attaching the BPF
 * programs, putting connections into the sockhash, and the per-connection
 * counters that keep kernel and userspace responses in request order.
 */
#ifndef KERNEL_PATH_H
#define KERNEL_PATH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "fs_maps.h"

struct fileserver_bpf;

/* How the kernel path hands userspace the requests it does not answer. */
enum kernel_pass {
	KERNEL_PASS_AUTO,	/* backlog if the kernel reads it right */
	KERNEL_PASS_BACKLOG,	/* redirected, like hits, then to ingress */
	KERNEL_PASS_DIRECT,	/* SK_PASS: stalls now and then (README) */
};

struct kernel_path {
	struct fileserver_bpf *skel;
	struct fs_conn_shared *shared;	/* conn_shared, mmapped */
	size_t shared_size;
	int sock_hash_fd;
	int conn_store_fd;
	int file_cache_fd;
	int cache_entries_fd;
	int cache_chunks_fd;
	int http_clock_fd;
	int stats_fd;
	uint32_t chunk_count;		/* entries of cache_chunks */
	enum kernel_pass pass;		/* BACKLOG or DIRECT, once open */
	bool log_requests;		/* responses recorded in access_ring */
};

/* Loads and attaches the programs, with room for chunk_count cache chunks,
 * passing requests to userspace as pass says (AUTO: as this kernel allows),
 * recording each kernel response for the access log in a ring of
 * log_ring bytes (a power of two, at least a page; 0: no records).
 * Returns 0, or -errno with the reason already logged. */
int kernel_path_open(struct kernel_path *kp, uint32_t chunk_count,
		     enum kernel_pass pass, uint32_t log_ring);
void kernel_path_close(struct kernel_path *kp);

/* Hands connection fd, which owns conn_shared slot, to the kernel path;
 * userspace already holds owed request bytes of it, unanswered, so the
 * kernel answers none before those are. A partial head is given up on
 * after head_timeout seconds. Returns 0 or -errno (e.g. -EOPNOTSUPP: the
 * peer already closed). */
int kernel_path_add_conn(struct kernel_path *kp, int fd, uint32_t slot,
			 uint64_t owed, time_t head_timeout, uint64_t *cookie);
/* Forgets the connection; call before closing fd. */
void kernel_path_del_conn(struct kernel_path *kp, uint32_t slot,
			  uint64_t cookie);

/* Kernel responses on the connection fs_respond is done with: with the
 * access log on, their records are in the ring. */
static inline uint32_t kernel_path_kern_done(const struct kernel_path *kp,
					     uint32_t slot)
{
	return __atomic_load_n(&kp->shared[slot].kern_done, __ATOMIC_ACQUIRE);
}

/* Userspace may send on the connection: no kernel response is queued ahead
 * (and, with the access log on, the records of those before are in the
 * ring, for the lines to keep request order). */
static inline bool kernel_path_may_send(const struct kernel_path *kp,
					uint32_t slot)
{
	const struct fs_conn_shared *sh = &kp->shared[slot];
	uint32_t queued = __atomic_load_n(&sh->kern_queued, __ATOMIC_ACQUIRE);

	if (kp->log_requests)
		return queued == kernel_path_kern_done(kp, slot);
	return queued == __atomic_load_n(&sh->kern_sent, __ATOMIC_ACQUIRE);
}

/* The kernel has passed userspace requests it has not answered yet. */
static inline bool kernel_path_owes(const struct kernel_path *kp,
				    uint32_t slot)
{
	const struct fs_conn_shared *sh = &kp->shared[slot];

	return __atomic_load_n(&sh->user_rx, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&sh->user_done, __ATOMIC_ACQUIRE);
}

/* Userspace has answered done more request bytes; its response is in the
 * socket once send_bytes more of its own bytes are. */
static inline void kernel_path_user_done(struct kernel_path *kp, uint32_t slot,
					 uint64_t done, uint64_t send_bytes)
{
	struct fs_conn_shared *sh = &kp->shared[slot];

	__atomic_store_n(&sh->user_send_target,
			 __atomic_load_n(&sh->user_sent, __ATOMIC_ACQUIRE) +
			 send_bytes, __ATOMIC_RELEASE);
	__atomic_fetch_add(&sh->user_done, done, __ATOMIC_RELEASE);
}

/* The kernel is dropping the rest of the stream (FS_USER_OWED_MAX): the
 * connection is to be closed. Requests passed before may still be on
 * their way, but need not be waited for: they would not all come (seen:
 * the socket's backlog stalling with them under the same flood). */
static inline bool kernel_path_overrun(const struct kernel_path *kp,
				       uint32_t slot)
{
	return __atomic_load_n(&kp->shared[slot].overrun, __ATOMIC_ACQUIRE);
}

/* Responses the kernel has queued on the connection so far: a change means
 * the connection is in use even though userspace saw nothing. */
static inline uint32_t kernel_path_activity(const struct kernel_path *kp,
					    uint32_t slot)
{
	return __atomic_load_n(&kp->shared[slot].kern_queued, __ATOMIC_RELAXED);
}

void kernel_path_set_clock(struct kernel_path *kp, const char *date);

/*
 * The response cache's maps, for cache.c. Each returns 0 or -errno.
 * Entry id's chunks are written first, then its entry, and only then is
 * key published: the kernel never finds a key whose entry is not whole.
 */
int kernel_path_cache_write(struct kernel_path *kp, const uint32_t *chunks,
			    uint32_t nchunks, const void *bytes);
int kernel_path_cache_publish(struct kernel_path *kp,
			      const struct fs_cache_key *key, uint32_t id,
			      const struct fs_cache_entry *entry);
/* Unpublishes key and gives entry id generation gen, so that responses
 * queued for it fall back to userspace. Only gen changes: the sk_msg stage
 * reads the entry field by field while this update copies the whole value,
 * and had lengths or chunk ids changed too, a copy already past the
 * generation check could mix old and new fields (seen: Date stamped over
 * the status line). */
int kernel_path_cache_retire(struct kernel_path *kp,
			     const struct fs_cache_key *key, uint32_t id,
			     uint32_t gen);

/* Sums the per-CPU stats map. Returns 0 or -errno. */
int kernel_path_read_stats(const struct kernel_path *kp, struct fs_stats *out);

#endif /* KERNEL_PATH_H */
