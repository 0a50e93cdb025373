/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Settings, from three places: a config file (--config FILE or
 * FILESERVER_CONFIG), environment variables (FILESERVER_<NAME>), and the
 * command line, each overriding the one before. Every setting has one name:
 * the long flag, the config-file key, and the variable's suffix.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "server.h"

enum config_action {
	CONFIG_RUN,		/* serve with the settings */
	CONFIG_CHECK,		/* --check-config: they are valid, print them */
	CONFIG_HELP,		/* --help: usage is printed */
	CONFIG_ERROR,		/* a message is printed; exit with 2 */
};

enum config_action config_load(struct server_config *cfg, int argc,
			       char **argv);

/* Checks what only the running system can tell (the document root is a
 * directory). Returns 0, or 2 with a message. */
int config_check(const struct server_config *cfg);

/* SIGHUP: reads the settings again from where config_load() found them
 * and takes on the timeouts, verbose and the access log's path; a change
 * to anything else is reported and left for a restart. Returns false,
 * with a message, if the settings are now invalid (nothing is changed). */
bool config_reload(struct server_config *cfg);

/* The settings in config-file syntax. */
void config_print(const struct server_config *cfg, FILE *out);

#endif /* CONFIG_H */
