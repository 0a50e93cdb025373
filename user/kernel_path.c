// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The kernel path from userspace (kernel_path.h): what the running kernel
 * can do, loading and attaching the programs, and every map operation:
 * connections in and out of the sockhash, the clock, the stats, and the
 * response cache's maps on behalf of cache.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fileserver.skel.h"
#include "http_date.h"
#include "kernel_path.h"
#include "log.h"

static int attach(int prog_fd, int map_fd, enum bpf_attach_type type,
		  const char *what)
{
	if (bpf_prog_attach(prog_fd, map_fd, type, 0)) {
		int err = -errno;

		log_error("attaching the %s to sock_hash: %s", what,
			  strerror(errno));
		return err;
	}
	return 0;
}

static void log_map_id(int fd, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		log_debug("BPF map %s id %u", name, info.id);
}

/*
 * What this kernel can do, told by functions in its BTF:
 *  - bpf_cast_to_kern_ctx (6.2): the stream parser finds where its request
 *    starts through this kfunc; without it libbpf's error would be an
 *    unresolved extern;
 *  - tcp_bpf_strp_read_sock ("bpf: Fix wrong copied_seq calculation", 6.14,
 *    6.12.y, 6.6.80): before it, every request passed to userspace was
 *    counted read twice and connections stalled;
 *  - __sk_msg_recvmsg ("bpf, sockmap: Fix incorrect copied_seq
 *    calculation", Jan 2026, Debian 6.12.85): before it, reading what
 *    the sk_msg stage redirected to ingress also counts it twice, so
 *    requests for userspace must be passed directly.
 * Chooses *pass for AUTO. Returns 0, or -EOPNOTSUPP with the reason logged.
 */
static int check_kernel(enum kernel_pass *pass)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool kfunc, strp_fix, ingress_fix;
	struct utsname uts;

	if (!vmlinux) {
		log_error("the kernel path needs the kernel's BTF "
			  "(/sys/kernel/btf/vmlinux): %s", strerror(errno));
		return -EOPNOTSUPP;
	}
	kfunc = btf__find_by_name_kind(vmlinux, "bpf_cast_to_kern_ctx",
				       BTF_KIND_FUNC) >= 0;
	strp_fix = btf__find_by_name_kind(vmlinux, "tcp_bpf_strp_read_sock",
					  BTF_KIND_FUNC) >= 0;
	ingress_fix = btf__find_by_name_kind(vmlinux, "__sk_msg_recvmsg",
					     BTF_KIND_FUNC) >= 0;
	btf__free(vmlinux);
	uname(&uts);
	if (!kfunc) {
		log_error("the kernel path needs Linux 6.2 or later (kfunc "
			  "bpf_cast_to_kern_ctx); this is %s", uts.release);
		return -EOPNOTSUPP;
	}
	if (!strp_fix) {
		log_error("the kernel path needs the stream parser's copied_seq "
			  "fix (tcp_bpf_strp_read_sock: Linux 6.14, 6.12.y, "
			  "6.6.80); this is %s", uts.release);
		return -EOPNOTSUPP;
	}
	if (*pass == KERNEL_PASS_AUTO)
		*pass = ingress_fix ? KERNEL_PASS_BACKLOG : KERNEL_PASS_DIRECT;
	if (*pass == KERNEL_PASS_DIRECT)
		log_warn("requests for userspace are passed directly (SK_PASS): "
			 "now and then a connection's next request will stall "
			 "(see the README)%s", ingress_fix ? "" :
			 "; this kernel lacks \"bpf, sockmap: Fix incorrect "
			 "copied_seq calculation\" (__sk_msg_recvmsg), which "
			 "passing through the backlog needs");
	else if (!ingress_fix)
		log_warn("--kernel-pass backlog on a kernel without \"bpf, "
			 "sockmap: Fix incorrect copied_seq calculation\" "
			 "(__sk_msg_recvmsg): each request userspace answers "
			 "will be counted read twice");
	return 0;
}

int kernel_path_open(struct kernel_path *kp, uint32_t chunk_count,
		     enum kernel_pass pass, uint32_t log_ring)
{
	struct fileserver_bpf *skel;
	int err;

	memset(kp, 0, sizeof(*kp));
	err = check_kernel(&pass);
	if (err)
		return err;
	skel = fileserver_bpf__open();
	if (!skel) {
		err = -errno;
		log_error("opening the BPF object: %s", strerror(errno));
		return err;
	}
	kp->skel = skel;
	skel->rodata->server_tgid = getpid();
	skel->rodata->pass_direct = pass == KERNEL_PASS_DIRECT;
	skel->rodata->log_requests = log_ring != 0;
	kp->pass = pass;
	kp->log_requests = log_ring != 0;
	err = bpf_map__set_max_entries(skel->maps.cache_chunks, chunk_count);
	if (!err && log_ring)
		err = bpf_map__set_max_entries(skel->maps.access_ring,
					       log_ring);
	if (!err)
		err = fileserver_bpf__load(skel);
	if (err) {
		log_error("loading the BPF programs: %s", strerror(-err));
		goto fail;
	}
	kp->chunk_count = chunk_count;
	kp->sock_hash_fd = bpf_map__fd(skel->maps.sock_hash);
	kp->conn_store_fd = bpf_map__fd(skel->maps.conn_store);
	kp->file_cache_fd = bpf_map__fd(skel->maps.file_cache);
	kp->cache_entries_fd = bpf_map__fd(skel->maps.cache_entries);
	kp->cache_chunks_fd = bpf_map__fd(skel->maps.cache_chunks);
	kp->http_clock_fd = bpf_map__fd(skel->maps.http_clock);
	kp->stats_fd = bpf_map__fd(skel->maps.stats);

	kp->shared_size = FS_MAX_CONNS * sizeof(struct fs_conn_shared);
	kp->shared = mmap(NULL, kp->shared_size, PROT_READ | PROT_WRITE,
			  MAP_SHARED, bpf_map__fd(skel->maps.conn_shared), 0);
	if (kp->shared == MAP_FAILED) {
		err = -errno;
		kp->shared = NULL;
		log_error("mapping conn_shared: %s", strerror(errno));
		goto fail;
	}

	err = attach(bpf_program__fd(skel->progs.fs_parse), kp->sock_hash_fd,
		     BPF_SK_SKB_STREAM_PARSER, "stream parser");
	if (!err)
		err = attach(bpf_program__fd(skel->progs.fs_verdict),
			     kp->sock_hash_fd, BPF_SK_SKB_STREAM_VERDICT,
			     "stream verdict");
	if (!err)
		err = attach(bpf_program__fd(skel->progs.fs_respond),
			     kp->sock_hash_fd, BPF_SK_MSG_VERDICT,
			     "sk_msg program");
	if (err)
		goto fail;
	log_map_id(kp->stats_fd, "stats");
	log_map_id(kp->file_cache_fd, "file_cache");
	return 0;
fail:
	kernel_path_close(kp);
	return err;
}

/* The programs stay attached to sock_hash and go away with it: closing the
 * skeleton frees everything, even when the process is killed. */
void kernel_path_close(struct kernel_path *kp)
{
	if (kp->shared)
		munmap(kp->shared, kp->shared_size);
	fileserver_bpf__destroy(kp->skel);
	memset(kp, 0, sizeof(*kp));
}

/* Send buffer of kernel-path sockets: the largest cached response, twice */
#define KERNEL_SNDBUF	(FS_ENTRY_MAX_CHUNKS * FS_CHUNK_SIZE * 2)

int kernel_path_add_conn(struct kernel_path *kp, int fd, uint32_t slot,
			 uint64_t owed, time_t head_timeout, uint64_t *cookie)
{
	struct fs_conn_shared *sh = &kp->shared[slot];
	struct fs_conn conn = { .slot = slot };
	struct timeval rcvtimeo = { .tv_sec = head_timeout };
	socklen_t len = sizeof(*cookie);
	int sndbuf = KERNEL_SNDBUF;
	__u64 sock = fd;
	int err;

	/* A cached response is pushed in one go or not at all: give it room
	 * (memory is charged only for what is really queued). Plain
	 * SO_SNDBUF would be capped by net.core.wmem_max, below autotuning. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	/* A partial head waits inside the kernel's stream parser, unseen by
	 * us; the parser gives up on it after the socket's receive timeout. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcvtimeo, sizeof(rcvtimeo));
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len))
		return -errno;
	sh->user_rx = owed;
	sh->user_done = 0;
	sh->user_sent = 0;
	sh->user_send_target = 0;
	sh->kern_queued = 0;
	sh->kern_sent = 0;
	sh->kern_done = 0;
	sh->overrun = 0;
	/* the kernel trusts the counters once the cookie names the socket */
	__atomic_store_n(&sh->cookie, *cookie, __ATOMIC_RELEASE);
	if (bpf_map_update_elem(kp->conn_store_fd, cookie, &conn, BPF_ANY))
		goto fail;
	if (bpf_map_update_elem(kp->sock_hash_fd, cookie, &sock, BPF_NOEXIST)) {
		err = -errno;
		bpf_map_delete_elem(kp->conn_store_fd, cookie);
		errno = -err;
		goto fail;
	}
	return 0;
fail:
	err = -errno;
	__atomic_store_n(&sh->cookie, 0, __ATOMIC_RELEASE);
	return err;
}

void kernel_path_del_conn(struct kernel_path *kp, uint32_t slot,
			  uint64_t cookie)
{
	/* Closing the socket removes it from sock_hash by itself. */
	bpf_map_delete_elem(kp->conn_store_fd, &cookie);
	__atomic_store_n(&kp->shared[slot].cookie, 0, __ATOMIC_RELEASE);
}

/* The kernel stamps the Date value userspace formats. */
_Static_assert(FS_DATE_LEN == HTTP_DATE_LEN, "one length of an HTTP-date");

void kernel_path_set_clock(struct kernel_path *kp, const char *date)
{
	struct fs_clock clock = {};
	__u32 zero = 0;

	memcpy(clock.date, date, FS_DATE_LEN);
	bpf_map_update_elem(kp->http_clock_fd, &zero, &clock, BPF_ANY);
}

int kernel_path_read_stats(const struct kernel_path *kp, struct fs_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *sum = (__u64 *)out;
	struct fs_stats *percpu;
	__u32 zero = 0;
	size_t i, f;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(kp->stats_fd, &zero, percpu))
		err = -errno;
	for (i = 0; !err && i < (size_t)ncpu; i++)
		for (f = 0; f < sizeof(*out) / sizeof(__u64); f++)
			sum[f] += ((__u64 *)&percpu[i])[f];
	free(percpu);
	return err;
}

int kernel_path_cache_write(struct kernel_path *kp, const uint32_t *chunks,
			    uint32_t nchunks, const void *bytes)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = nchunks;

	return bpf_map_update_batch(kp->cache_chunks_fd, chunks, bytes, &count,
				    &opts) ? -errno : 0;
}

int kernel_path_cache_publish(struct kernel_path *kp,
			      const struct fs_cache_key *key, uint32_t id,
			      const struct fs_cache_entry *entry)
{
	struct fs_cache_ref ref = { .entry = id, .gen = entry->gen };

	if (bpf_map_update_elem(kp->cache_entries_fd, &id, entry, BPF_ANY) ||
	    bpf_map_update_elem(kp->file_cache_fd, key, &ref, BPF_ANY))
		return -errno;
	return 0;
}

int kernel_path_cache_retire(struct kernel_path *kp,
			     const struct fs_cache_key *key, uint32_t id,
			     uint32_t gen)
{
	struct fs_cache_entry retired;
	int err = 0;

	/* the entry is retired even if the key would not go */
	if (bpf_map_delete_elem(kp->file_cache_fd, key) && errno != ENOENT)
		err = -errno;
	if (bpf_map_lookup_elem(kp->cache_entries_fd, &id, &retired))
		return -errno;
	retired.gen = gen;
	if (bpf_map_update_elem(kp->cache_entries_fd, &id, &retired, BPF_ANY))
		return -errno;
	return err;
}
