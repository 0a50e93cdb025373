/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Access log lines of the responses the kernel path built: with
 * --access-log, fs_respond records each one in the access_ring map, and
 * this drains it in batches (a thread of its own, woken by a timer or a
 * filling ring) into the same combined-format lines userspace writes for
 * its own responses.
 *
 * Lines of one connection stay in request order: a worker catches up on
 * the ring before it logs a response that follows kernel ones
 * (kernel_log_catch_up()), and logs its own before the kernel may answer
 * the next request.
 */
#ifndef KERNEL_LOG_H
#define KERNEL_LOG_H

#include <stdint.h>

struct access_log;
struct kernel_log;
struct kernel_path;

/* Starts draining kp's ring into log. Returns NULL with the reason logged. */
struct kernel_log *kernel_log_start(struct kernel_path *kp,
				    struct access_log *log);
/* Stops the thread, and writes what is left in the ring. */
void kernel_log_stop(struct kernel_log *kl);

/* Writes the lines of the kernel responses on connection slot so far,
 * if there are any since *seen (the kern_done count last caught up to). */
void kernel_log_catch_up(struct kernel_log *kl, uint32_t slot,
			 uint32_t *seen);

#endif /* KERNEL_LOG_H */
