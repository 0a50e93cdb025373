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
#include <stdint.h>
#include <stdio.h>

#include "kernel_path.h"
#include "cache_control.h"
#include "content_coding.h"
#include "error_pages.h"
#include "listen_addr.h"

#define WORKERS_MAX		64
#define WORKERS_MAX_TEXT	"64"
#define CONFIG_LIST_MAX		16

/* A repeatable setting's values as given, all of one source (the file, the
 * environment or the command line: a later one replaces them all). */
struct config_list {
	const char *v[CONFIG_LIST_MAX];
	unsigned n;
	int source;
};

struct server_config {
	const char *docroot;
	const char *interface;		/* NULL: all addresses */
	struct config_list listen_text;	/* --listen */
	/* where to listen, from --listen, -i or the default */
	struct listen_addr listen[LISTEN_MAX];
	unsigned nlisten;
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
	uint16_t tls_port;		/* 0: no HTTPS */
	const char *tls_cert;		/* PEM chain, with tls_port */
	const char *tls_key;
	struct config_list cache_control_text;	/* --cache-control */
	struct cache_control cache_control;	/* its rules */
	const char *precompressed;		/* --precompressed */
	struct coding_prefs codings;		/* its list */
	struct config_list error_page_text;	/* --error-page */
	struct error_pages error_pages;		/* its rules */
	const char *fallback;			/* NULL: none */
	const char *access_log;		/* NULL: off; "-": stderr */
	uint64_t access_log_buffer;	/* the kernel's ring for its lines */
	const char *user;		/* to run as once set up, if root */
	bool user_explicit;		/* asked for, not the default */
	int argc;			/* the command line, read again on */
	char **argv;			/* SIGHUP */
};


enum config_action {
	CONFIG_RUN,		/* serve with the settings */
	CONFIG_CHECK,		/* --check-config: they are valid, print them */
	CONFIG_HELP,		/* --help or --version: it is printed */
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

/* A timeout setting, which config_reload() may be changing meanwhile. */
static inline unsigned config_timeout(const unsigned *setting)
{
	return __atomic_load_n(setting, __ATOMIC_RELAXED);
}

#endif /* CONFIG_H */
