/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The maps of the kernel path. Names are what `bpftool map show` prints. */
#ifndef FS_MAPS_BPF_H
#define FS_MAPS_BPF_H

#include "fs_maps.h"
#include "http_classify.h"

/* Accepted sockets, keyed by socket cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, FS_MAX_CONNS);
	__type(key, __u64);
	__type(value, __u64);
} sock_hash SEC(".maps");

/* Request path -> cached response. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FS_CACHE_ENTRIES);
	__type(key, struct fs_cache_key);
	__type(value, struct fs_cache_ref);
} file_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FS_CACHE_ENTRIES);
	__type(key, __u32);
	__type(value, struct fs_cache_entry);
} cache_entries SEC(".maps");

/* Response bytes; max_entries is set from --cache-size at load time. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct fs_chunk);
} cache_chunks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fs_clock);
} http_clock SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, FS_MAX_CONNS);
	__type(key, __u32);
	__type(value, struct fs_conn_shared);
} conn_shared SEC(".maps");

/* Kernel-private connection state, keyed by socket cookie; userspace creates
 * it before the socket joins sock_hash and deletes it on close. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FS_MAX_CONNS);
	__type(key, __u64);
	__type(value, struct fs_conn);
} conn_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fs_stats);
} stats SEC(".maps");

/* struct fs_log_record of each kernel response, with --access-log only;
 * max_entries (bytes) is set from --access-log-buffer at load time. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} access_ring SEC(".maps");

/* Per-CPU scratch: the head being classified and the lookup key. A run in
 * process context (the stream parser's kworker) can be interrupted by a
 * softirq's run on the same CPU, so each nesting level has its own slot. */
#define FS_SCRATCH_NEST 3

struct fs_scratch {
	__u8 head[FS_SCAN_MAX];
	struct http_scan scan;
	struct fs_cache_key key;
	__u8 cond[FS_ETAG_MAX];		/* a revalidation's value */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FS_SCRATCH_NEST);
	__type(key, __u32);
	__type(value, struct fs_scratch);
} scratch SEC(".maps");

/* How many runs on this CPU hold a scratch slot right now. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} scratch_depth SEC(".maps");

#endif /* FS_MAPS_BPF_H */
