// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fileserver: settings, then the server. */
#include <malloc.h>
#include <stdio.h>

#include "config.h"
#include "server.h"
#include "tls.h"

/* With --tls-port, the certificate and key, loaded and checked like the
 * other settings: a bad one is a bad setting. Returns false after a
 * message. */
static bool open_tls(const struct server_config *cfg, struct tls_server **tls)
{
	*tls = NULL;
	if (!cfg->tls_port)
		return true;
	*tls = tls_server_open(cfg->tls_cert, cfg->tls_key);
	return *tls != NULL;
}

int main(int argc, char **argv)
{
	struct server_config cfg;
	struct tls_server *tls = NULL;

	switch (config_load(&cfg, argc, argv)) {
	case CONFIG_HELP:
		return 0;
	case CONFIG_ERROR:
		return 2;
	case CONFIG_CHECK:
		if (config_check(&cfg) || !open_tls(&cfg, &tls))
			return 2;
		tls_server_close(tls);
		config_print(&cfg, stdout);
		return 0;
	case CONFIG_RUN:
		if (!open_tls(&cfg, &tls))
			return 2;
		break;
	}
	/* Cache admissions allocate and free up to 1 MiB each: from the heap,
	 * they fragment it between connection buffers and RSS creeps up (seen
	 * in a 10-minute soak). Fixed-threshold mmap returns them at once. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	return server_run(&cfg, tls);
}
