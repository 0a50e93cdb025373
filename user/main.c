// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fileserver: settings, then the server. */
#include <malloc.h>
#include <stdio.h>

#include "config.h"
#include "server.h"

int main(int argc, char **argv)
{
	struct server_config cfg;

	switch (config_load(&cfg, argc, argv)) {
	case CONFIG_HELP:
		return 0;
	case CONFIG_ERROR:
		return 2;
	case CONFIG_CHECK:
		if (config_check(&cfg))
			return 2;
		config_print(&cfg, stdout);
		return 0;
	case CONFIG_RUN:
		break;
	}
	/* Cache admissions allocate and free up to 1 MiB each: from the heap,
	 * they fragment it between connection buffers and RSS creeps up (seen
	 * in a 10-minute soak). Fixed-threshold mmap returns them at once. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	return server_run(&cfg);
}
