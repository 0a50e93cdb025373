// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A worker's provided receive buffers (recv_bufs.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "recv_bufs.h"

#define RING_BYTES	(RECV_BUFS * sizeof(struct io_uring_buf))

void recv_bufs_recycle(struct recv_bufs *rb, unsigned bid)
{
	io_uring_buf_ring_add(rb->ring, recv_bufs_at(rb, bid), RECV_BUF_SIZE,
			      bid, io_uring_buf_ring_mask(RECV_BUFS), 0);
	io_uring_buf_ring_advance(rb->ring, 1);
}

int recv_bufs_setup(struct recv_bufs *rb, struct io_uring *ring)
{
	struct io_uring_buf_reg reg = { .ring_entries = RECV_BUFS,
					.bgid = RECV_GROUP };
	int err, i;

	rb->ring = mmap(NULL, RING_BYTES, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rb->bufs = malloc((size_t)RECV_BUFS * RECV_BUF_SIZE);
	if (rb->ring == MAP_FAILED || !rb->bufs) {
		log_error("allocating receive buffers: %s", strerror(errno));
		return -1;
	}
	reg.ring_addr = (unsigned long)rb->ring;
	err = io_uring_register_buf_ring(ring, &reg, 0);
	if (err) {
		log_error("registering receive buffers: %s", strerror(-err));
		return -1;
	}
	io_uring_buf_ring_init(rb->ring);
	for (i = 0; i < RECV_BUFS; i++)
		recv_bufs_recycle(rb, i);
	return 0;
}

void recv_bufs_free(struct recv_bufs *rb)
{
	free(rb->bufs);
	if (rb->ring && rb->ring != MAP_FAILED)
		munmap(rb->ring, RING_BYTES);
}
