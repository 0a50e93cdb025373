// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The kernel responses' access log lines (kernel_log.h): a thread drains
 * access_ring every DRAIN_INTERVAL_MS, or sooner when fs_respond finds the
 * ring a quarter full, and says in the error log when records were lost.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <bpf/libbpf.h>

#include "access_log.h"
#include "fileserver.skel.h"
#include "kernel_log.h"
#include "kernel_path.h"
#include "log.h"

#define DRAIN_INTERVAL_MS	100
/* Drains between two looks at the loss counter: about a second. */
#define LOST_CHECK_EVERY	10

struct kernel_log {
	struct kernel_path *kp;
	struct access_log *log;
	struct ring_buffer *ring;
	/* One consumer of the ring at a time: the thread, or a worker
	 * catching up. Held while a drain writes its lines. */
	pthread_mutex_t lock;
	struct timespec real, mono;	/* the clocks of the drain under way */
	bool unflushed;			/* lines written since the last flush */
	pthread_t thread;
	bool stop;			/* atomic */
	uint64_t lost_said;		/* of log_lost, already warned about */
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct kernel_log *kl = ctx;
	struct access_entry e;
	time_t when;

	if (size < sizeof(struct fs_log_record))
		return 0;
	access_entry_of_record(&e, data, &kl->real, &kl->mono, &when);
	access_log_write(kl->log, &e, when);
	__atomic_store_n(&kl->unflushed, true, __ATOMIC_RELAXED);
	return 0;
}

static void drain(struct kernel_log *kl)
{
	int n;

	pthread_mutex_lock(&kl->lock);
	clock_gettime(CLOCK_REALTIME, &kl->real);
	clock_gettime(CLOCK_MONOTONIC, &kl->mono);
	n = ring_buffer__consume(kl->ring);
	pthread_mutex_unlock(&kl->lock);
	if (n < 0)
		log_warn("access log: reading the kernel's records: %s",
			 strerror(-n));
}

void kernel_log_catch_up(struct kernel_log *kl, uint32_t slot,
			 uint32_t *seen)
{
	uint32_t done = kernel_path_kern_done(kl->kp, slot);

	if (done == *seen)
		return;
	*seen = done;
	drain(kl);
}

/* Loss is never silent: counted in /metrics, and said here. */
static void say_lost(struct kernel_log *kl)
{
	struct fs_stats st;

	if (kernel_path_read_stats(kl->kp, &st) || st.log_lost == kl->lost_said)
		return;
	log_warn("access log: %llu kernel-answered request(s) have no line: "
		 "the kernel's ring was full (--access-log-buffer)",
		 (unsigned long long)(st.log_lost - kl->lost_said));
	kl->lost_said = st.log_lost;
}

static void *drain_main(void *arg)
{
	struct kernel_log *kl = arg;
	int efd = ring_buffer__epoll_fd(kl->ring);
	struct epoll_event ev;
	unsigned rounds = 0;

	while (!__atomic_load_n(&kl->stop, __ATOMIC_ACQUIRE)) {
		/* woken early by a filling ring; a timeout is the usual end */
		epoll_wait(efd, &ev, 1, DRAIN_INTERVAL_MS);
		drain(kl);
		if (__atomic_exchange_n(&kl->unflushed, false,
					__ATOMIC_RELAXED))
			access_log_flush(kl->log);
		if (++rounds % LOST_CHECK_EVERY == 0)
			say_lost(kl);
	}
	return NULL;
}

struct kernel_log *kernel_log_start(struct kernel_path *kp,
				    struct access_log *log)
{
	struct kernel_log *kl = calloc(1, sizeof(*kl));
	int err;

	if (!kl) {
		log_error("access log: out of memory");
		return NULL;
	}
	kl->kp = kp;
	kl->log = log;
	pthread_mutex_init(&kl->lock, NULL);
	kl->ring = ring_buffer__new(bpf_map__fd(kp->skel->maps.access_ring),
				    on_record, kl, NULL);
	if (!kl->ring) {
		log_error("access log: opening the kernel's ring: %s",
			  strerror(errno));
		goto fail;
	}
	err = pthread_create(&kl->thread, NULL, drain_main, kl);
	if (err) {
		log_error("access log: starting its thread: %s",
			  strerror(err));
		ring_buffer__free(kl->ring);
		goto fail;
	}
	return kl;
fail:
	pthread_mutex_destroy(&kl->lock);
	free(kl);
	return NULL;
}

void kernel_log_stop(struct kernel_log *kl)
{
	if (!kl)
		return;
	__atomic_store_n(&kl->stop, true, __ATOMIC_RELEASE);
	pthread_join(kl->thread, NULL);
	drain(kl);
	say_lost(kl);
	access_log_flush(kl->log);
	ring_buffer__free(kl->ring);
	pthread_mutex_destroy(&kl->lock);
	free(kl);
}
