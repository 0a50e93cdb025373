/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The io_uring server: accepts, reads requests, and answers what the kernel
 * path does not. */
#ifndef SERVER_H
#define SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel_path.h"

#define WORKERS_MAX		64
#define WORKERS_MAX_TEXT	"64"

struct server_config {
	const char *docroot;
	const char *interface;		/* NULL: all addresses */
	struct in_addr bind_addr;	/* of interface */
	bool verbose;
	uint16_t port;
	bool kernel_cache;
	enum kernel_pass kernel_pass;	/* AUTO: as the kernel allows */
	uint64_t cache_size;		/* bytes of responses the kernel holds */
	uint64_t cache_max_file;	/* larger files are never cached */
	unsigned max_conns;
	unsigned workers;		/* 0: one per CPU we may run on */
	unsigned header_timeout;	/* seconds to receive a whole head */
	unsigned idle_timeout;		/* seconds a keep-alive conn may idle */
	unsigned send_timeout;		/* seconds without send progress */
	unsigned shutdown_timeout;	/* seconds to drain on SIGTERM */
	uint16_t metrics_port;		/* 0: /metrics on the main port */
	const char *access_log;		/* NULL: off; "-": stderr */
	const char *user;		/* to run as once set up, if root */
	bool user_explicit;		/* asked for, not the default */
	int argc;			/* the command line, read again on */
	char **argv;			/* SIGHUP */
};

/* Runs until SIGTERM or SIGINT, then drains for up to shutdown_timeout
 * seconds (a second signal: at once). Returns the process exit status. */
int server_run(struct server_config *cfg);

#endif /* SERVER_H */
