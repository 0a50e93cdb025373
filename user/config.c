// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The settings (config.h), each described once, by a row of settings[]:
 * its name, flag, type, field, default, limits, help and whether SIGHUP
 * takes it on. Reading the config file, the FILESERVER_<NAME> variables and
 * the command line, --help, --check-config and reloading all work from the
 * table, by the setting's type, so a new setting is one new row.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "config_setting.h"
#include "fs_maps.h"
#include "log.h"

#define ENV_PREFIX	"FILESERVER_"
#define LINE_MAX_LEN	4096

/* The largest file whose response still fits one cache entry. */
#define MAX_FILE_LIMIT	(1ULL << 20)

/* The kernel's cache needs room for one whole entry, and counts its chunks
 * in 32 bits. */
#define CACHE_SIZE_MIN	(FS_CHUNK_SIZE * FS_ENTRY_MAX_CHUNKS)
#define CACHE_SIZE_MAX	((UINT32_MAX + 1ULL) * FS_CHUNK_SIZE - 1)

/* The limits of a timeout, a T_COUNT of seconds. */
#define SECONDS		.min = 1, .max = 3600

#define AT(field)	.offset = offsetof(struct server_config, field)

_Static_assert(sizeof(enum kernel_pass) == sizeof(unsigned),
	       "T_ENUM fields are read and written as unsigned");

static const char *const kernel_pass_names[] = {
	[KERNEL_PASS_AUTO] = "auto",
	[KERNEL_PASS_BACKLOG] = "backlog",
	[KERNEL_PASS_DIRECT] = "direct",
	NULL,
};

/* In the order --help and --check-config list them. metrics-port is last:
 * --check-config prints it only when set. */
static const struct setting settings[] = {
	{ "port", 'p', T_PORT, AT(port), .def = "8080", .arg = "PORT",
	  .help = "TCP port to listen on (default @)", .what = "port" },
	{ "document-root", 'd', T_STRING, AT(docroot), .def = "./www",
	  .arg = "DIR", .help = "directory to serve (default @)",
	  .what = "document root" },
	{ "listen", 0, T_LIST, AT(listen_text), .arg = "ADDR",
	  .help = "listen on ADDR: PORT, *:PORT, IPV4[:PORT] or\n"
		  "[IPV6][:PORT] (repeatable; default: every\n"
		  "address of both families on --port)",
	  .what = "listen address (PORT, *:PORT, IPV4[:PORT] or "
		  "[IPV6][:PORT], at most 8)" },
	{ "interface", 'i', T_INTERFACE, AT(interface), .arg = "IFACE",
	  .help = "listen on the IPv4 and IPv6 addresses of\n"
		  "IFACE only (default: all addresses)",
	  .what = "interface" },
	{ "verbose", 'v', T_SWITCH, AT(verbose),
	  .help = "log start-up details, e.g. cached files",
	  .what = "verbose (true/false)", .live = true },
	{ "no-kernel-cache", 'n', T_NOT_SWITCH, AT(kernel_cache),
	  .help = "serve everything from userspace (eBPF off)",
	  .what = "no-kernel-cache (true/false)" },
	{ "kernel-processing", 0, T_BOOL, AT(kernel_cache), .def = "on",
	  .arg = "BOOL", .help = "answer hot files by eBPF in the kernel\n"
		  "(default @; off is -n)",
	  .what = "kernel processing (true/false)" },
	{ "kernel-pass", 0, T_ENUM, AT(kernel_pass), .def = "auto",
	  .names = kernel_pass_names, .arg = "HOW",
	  .help = "how the kernel path hands userspace the\n"
		  "requests it does not answer: backlog,\n"
		  "direct (SK_PASS) or auto (default: backlog\n"
		  "if the kernel has the fix it needs)",
	  .what = "kernel pass (auto, backlog or direct)" },
	{ "cache-size", 0, T_SIZE, AT(cache_size), .def = "64M",
	  .min = CACHE_SIZE_MIN, .max = CACHE_SIZE_MAX, .arg = "SIZE",
	  .help = "memory for kernel-cached responses\n"
		  "(default @; suffixes K, M, G)",
	  .what = "cache size (at least 1056K)" },
	{ "cache-max-file", 0, T_SIZE, AT(cache_max_file), .def = "1M",
	  .max = MAX_FILE_LIMIT, .arg = "SIZE",
	  .help = "largest file the kernel caches (default @,\n"
		  "at most 1M)",
	  .what = "cache max file (at most 1M)" },
	{ "cache-control", 0, T_LIST, AT(cache_control_text), .arg = "RULE",
	  .help = "Cache-Control of files by path: /PREFIX=VALUE\n"
		  "or *SUFFIX=VALUE (repeatable; the first that\n"
		  "matches; e.g. '*.html=no-cache')",
	  .what = "cache-control rule (/PREFIX=VALUE or *SUFFIX=VALUE, "
		  "at most 16)" },
	{ "precompressed", 0, T_STRING, AT(precompressed), .def = "off",
	  .arg = "LIST",
	  .help = "serve FILE.br, FILE.zst, FILE.gz beside FILE\n"
		  "to clients that accept them, in this order of\n"
		  "preference: codings from br, zstd, gzip (e.g.\n"
		  "br,gzip), or \"off\" (default @)",
	  .what = "precompressed codings (e.g. br,gzip, or off)" },
	{ "error-page", 0, T_LIST, AT(error_page_text), .arg = "RULE",
	  .help = "a file of the root for an error status:\n"
		  "STATUS=/PATH, e.g. 404=/404.html (repeatable)",
	  .what = "error page (STATUS=/PATH, 400-599, at most 16)" },
	{ "fallback", 0, T_OPTIONAL, AT(fallback), .arg = "PATH",
	  .help = "answer a GET or HEAD for a path that names\n"
		  "nothing with this file of the root, as a 200\n"
		  "(a single-page app's /index.html; default none)",
	  .what = "fallback file (a path from the root, e.g. /index.html)" },
	{ "max-connections", 0, T_COUNT, AT(max_conns), .def = "10000",
	  .min = 1, .max = FS_MAX_CONNS, .arg = "N",
	  .help = "concurrent connections (default @)",
	  .what = "connection limit (1-65536)" },
	{ "workers", 0, T_COUNT, AT(workers), .def = "0",
	  .max = WORKERS_MAX, .arg = "N",
	  .help = "userspace worker threads (default @: one per\n"
		  "CPU the process may run on)",
	  .what = "workers (0-" WORKERS_MAX_TEXT ", 0: one per CPU)" },
	{ "header-timeout", 0, T_COUNT, AT(header_timeout), .def = "10",
	  SECONDS, .arg = "SECS",
	  .help = "time to receive a request head (default @)",
	  .what = "header timeout (1-3600 s)", .live = true },
	{ "idle-timeout", 0, T_COUNT, AT(idle_timeout), .def = "75", SECONDS,
	  .arg = "SECS", .help = "keep-alive idle time (default @)",
	  .what = "idle timeout (1-3600 s)", .live = true },
	{ "shutdown-timeout", 0, T_COUNT, AT(shutdown_timeout), .def = "10",
	  SECONDS, .arg = "SECS",
	  .help = "on SIGTERM, time to finish the responses\n"
		  "under way (default @; a second signal\n"
		  "stops at once)",
	  .what = "shutdown timeout (1-3600 s)", .live = true },
	{ "access-log", 0, T_OPTIONAL, AT(access_log), .arg = "FILE",
	  .help = "log every request, nginx combined format\n"
		  "(\"-\": stderr; default off)",
	  .what = "access log", .live = true },
	{ "access-log-buffer", 0, T_SIZE, AT(access_log_buffer), .def = "8M",
	  .min = 4096, .max = 1 << 30, .arg = "SIZE",
	  .help = "kernel ring for the log records of kernel-\n"
		  "answered requests, about 1 KiB each (default\n"
		  "@, rounded down to a power of two); when\n"
		  "full, lines are lost and counted in /metrics",
	  .what = "access log buffer (4K-1G)" },
	{ "user", 0, T_USER, AT(user), .def = "nobody", .arg = "USER",
	  .help = "started as root: run as USER once the port is\n"
		  "bound and BPF attached (default @;\n"
		  "\"root\" keeps root)",
	  .what = "user" },
	{ "tls-port", 0, T_PORT, AT(tls_port), .arg = "PORT",
	  .help = "also serve HTTPS on PORT, on the same\n"
		  "addresses (default off; needs --tls-cert\n"
		  "and --tls-key)",
	  .what = "TLS port" },
	{ "tls-cert", 0, T_OPTIONAL, AT(tls_cert), .arg = "FILE",
	  .help = "the HTTPS certificate, PEM, the chain after\n"
		  "it (SIGHUP reads it again)",
	  .what = "TLS certificate", .live = true },
	{ "tls-key", 0, T_OPTIONAL, AT(tls_key), .arg = "FILE",
	  .help = "its private key, PEM (SIGHUP reads it again)",
	  .what = "TLS key", .live = true },
	{ "metrics-port", 0, T_PORT, AT(metrics_port), .arg = "PORT",
	  .help = "serve Prometheus metrics on PORT instead of\n"
		  "/metrics on the main port",
	  .what = "metrics port" },
};

#define NSETTINGS	(sizeof(settings) / sizeof(settings[0]))

/* Older names of environment variables, still read. */
static const struct {
	const char *env;
	const char *setting;
} env_aliases[] = {
	{ ENV_PREFIX "DOCROOT", "document-root" },
};

/* ---- where values come from ---- */

static const struct setting *setting_named(const char *name)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

static bool apply(struct server_config *c, const struct setting *s,
		  const char *value, enum source src, const char *where)
{
	if (setting_parse(c, s, value, src))
		return true;
	fprintf(stderr, "fileserver: %sinvalid %s '%s'\n", where, s->what,
		value);
	return false;
}

/* Where --help starts the descriptions. */
#define HELP_COLUMN	29

static void usage(FILE *out)
{
	const char *p;
	size_t i;
	int n;

	fputs("Usage: fileserver [OPTION]...\n"
	      "Static HTTP/1.1 file server; hot files are answered by eBPF in "
	      "the kernel.\n\n", out);
	for (i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];

		if (s->short_flag)
			n = fprintf(out, "  -%c, --%s", s->short_flag, s->name);
		else
			n = fprintf(out, "      --%s", s->name);
		if (s->arg)
			n += fprintf(out, " %s", s->arg);
		fprintf(out, "%*s", n + 2 > HELP_COLUMN ? 2 : HELP_COLUMN - n,
			"");
		for (p = s->help; *p; p++) {
			if (*p == '\n')
				fprintf(out, "\n%*s", HELP_COLUMN, "");
			else if (*p == '@')
				fputs(s->def, out);
			else
				fputc(*p, out);
		}
		fputc('\n', out);
	}
	fputs(
"  -c, --config FILE          read settings from FILE first\n"
"      --check-config         check the settings, print them and exit\n"
"  -h, --help                 show this help and exit\n"
"  -V, --version              print the version (" FILESERVER_VERSION ") and exit\n"
"\n"
"Every setting can also come from a config file, one \"name = value\" per\n"
"line (# starts a comment; switches take true/false), and from the\n"
"environment as FILESERVER_<NAME> (FILESERVER_CONFIG names the file;\n"
"FILESERVER_KERNEL_PROCESSING=off is -n). The command line wins over the\n"
"environment, which wins over the file.\n", out);
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* The file's values are kept for the life of the process: the config
 * points into them. */
static bool load_file(struct server_config *c, const char *path)
{
	char line[LINE_MAX_LEN], where[PATH_MAX + 32];
	unsigned lineno = 0;
	bool ok = true;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "fileserver: config file '%s': %s\n", path,
			strerror(errno));
		return false;
	}
	while (ok && fgets(line, sizeof(line), f)) {
		const struct setting *s;
		char *key, *value, *eq;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u: ", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(stderr, "fileserver: %sline too long\n", where);
			ok = false;
			break;
		}
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			fprintf(stderr,
				"fileserver: %sexpected 'name = value'\n",
				where);
			ok = false;
			break;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		s = setting_named(key);
		if (!s) {
			fprintf(stderr, "fileserver: %sunknown setting '%s'\n",
				where, key);
			ok = false;
			break;
		}
		value = strdup(value);
		ok = value && apply(c, s, value, SRC_FILE, where);
	}
	if (ok && ferror(f)) {
		fprintf(stderr, "fileserver: reading '%s': %s\n", path,
			strerror(errno));
		ok = false;
	}
	fclose(f);
	return ok;
}

static bool load_env(struct server_config *c)
{
	char var[64], where[80];
	const char *value;
	size_t i, k;

	for (i = 0; i < sizeof(env_aliases) / sizeof(env_aliases[0]); i++) {
		value = getenv(env_aliases[i].env);
		snprintf(where, sizeof(where), "%s: ", env_aliases[i].env);
		if (value && *value &&
		    !apply(c, setting_named(env_aliases[i].setting), value,
			   SRC_ENV, where))
			return false;
	}
	for (i = 0; i < NSETTINGS; i++) {
		size_t n = snprintf(var, sizeof(var), ENV_PREFIX "%s",
				    settings[i].name);

		for (k = sizeof(ENV_PREFIX) - 1; k < n; k++)
			var[k] = var[k] == '-' ? '_' :
				 toupper((unsigned char)var[k]);
		value = getenv(var);
		snprintf(where, sizeof(where), "%s: ", var);
		if (value && *value &&
		    !apply(c, &settings[i], value, SRC_ENV, where))
			return false;
	}
	return true;
}

/* Says that setting name refused value; returns false. */
static bool refused(const char *name, const char *value)
{
	fprintf(stderr, "fileserver: invalid %s '%s'\n",
		setting_named(name)->what, value);
	return false;
}

/* Where to listen, from --listen, -i or neither; false after a message. */
static bool resolve_listen(struct server_config *c)
{
	char buf[LISTEN_MAX * LISTEN_ADDR_TEXT], *tok, *save;
	unsigned i;
	int n;

	if (c->listen_text.n && c->interface) {
		fprintf(stderr, "fileserver: --listen and --interface both "
			"say where to listen: give one\n");
		return false;
	}
	c->nlisten = 0;
	/* a few may come in one value, apart by spaces or commas
	 * (FILESERVER_LISTEN="[::1]:80 127.0.0.1:80") */
	for (i = 0; i < c->listen_text.n; i++) {
		snprintf(buf, sizeof(buf), "%s", c->listen_text.v[i]);
		for (tok = strtok_r(buf, " \t,", &save); tok;
		     tok = strtok_r(NULL, " \t,", &save)) {
			if (c->nlisten == LISTEN_MAX ||
			    !listen_addr_parse(tok, c->port,
					       &c->listen[c->nlisten++]))
				return refused("listen", tok);
		}
	}
	if (c->interface) {
		n = listen_addr_of_interface(c->interface, c->port, c->listen,
					     LISTEN_MAX);
		if (n <= 0) {
			fprintf(stderr, "fileserver: interface '%s': %s\n",
				c->interface, n < 0 ? strerror(errno) :
				"no IPv4 or IPv6 address");
			return false;
		}
		c->nlisten = n;
	}
	if (!c->nlisten) {
		listen_addr_any(c->port, &c->listen[0]);
		c->nlisten = 1;
	}
	return true;
}

/* The --cache-control rules; false after a message. */
static bool resolve_cache_control(struct server_config *c)
{
	unsigned i;

	c->cache_control.n = 0;
	for (i = 0; i < c->cache_control_text.n; i++)
		if (!cache_control_add(&c->cache_control,
				       c->cache_control_text.v[i]))
			return refused("cache-control",
				       c->cache_control_text.v[i]);
	return true;
}

/* --error-page and --fallback; false after a message. */
static bool resolve_pages(struct server_config *c)
{
	unsigned i;

	c->error_pages.n = 0;
	for (i = 0; i < c->error_page_text.n; i++)
		if (!error_pages_add(&c->error_pages,
				     c->error_page_text.v[i]))
			return refused("error-page", c->error_page_text.v[i]);
	if (c->fallback && !error_page_path_ok(c->fallback))
		return refused("fallback", c->fallback);
	return true;
}

/* --precompressed; false after a message. */
static bool resolve_precompressed(struct server_config *c)
{
	return coding_prefs_parse(&c->codings, c->precompressed) ||
	       refused("precompressed", c->precompressed);
}

/* --tls-port's companions; false after a message. */
static bool resolve_tls(const struct server_config *c)
{
	if (!c->tls_port)
		return true;
	if (c->tls_port == c->port || c->tls_port == c->metrics_port) {
		fprintf(stderr, "fileserver: --tls-port must differ from "
			"--port and --metrics-port\n");
		return false;
	}
	if (c->tls_cert && c->tls_key)
		return true;
	fprintf(stderr, "fileserver: --tls-port needs --tls-cert and "
		"--tls-key\n");
	return false;
}

/* Option values for settings without a short flag start here. */
#define LONG_ONLY	256

enum {
	OPT_CONFIG = 'c',
	OPT_HELP = 'h',
	OPT_CHECK = LONG_ONLY + NSETTINGS,
	OPT_VERSION = 'V',
};

/* The command line, in getopt's terms, built from the settings. */
static void build_options(struct option *longs, char *shorts)
{
	size_t i, n = 0;

	for (i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];

		longs[i] = (struct option){
			s->name, s->arg ? required_argument : no_argument,
			NULL, s->short_flag ? s->short_flag : LONG_ONLY + (int)i
		};
		if (s->short_flag) {
			shorts[n++] = (char)s->short_flag;
			if (s->arg)
				shorts[n++] = ':';
		}
	}
	longs[i++] = (struct option){ "config", required_argument, NULL,
				      OPT_CONFIG };
	longs[i++] = (struct option){ "check-config", no_argument, NULL,
				      OPT_CHECK };
	longs[i++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	longs[i++] = (struct option){ "version", no_argument, NULL,
				      OPT_VERSION };
	longs[i] = (struct option){ NULL, 0, NULL, 0 };
	memcpy(shorts + n, "c:hV", 5);
}

static const struct setting *setting_of_opt(int opt)
{
	size_t i;

	if (opt >= LONG_ONLY && opt < (int)(LONG_ONLY + NSETTINGS))
		return &settings[opt - LONG_ONLY];
	for (i = 0; i < NSETTINGS; i++)
		if (settings[i].short_flag == opt)
			return &settings[i];
	return NULL;
}

static void set_defaults(struct server_config *cfg)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];

		/* as given: parsing a T_USER would make it explicit */
		if (s->type == T_STRING || s->type == T_USER)
			*FIELD(cfg, s, const char *) = s->def;
		else if (s->def)
			setting_parse(cfg, s, s->def, SRC_DEFAULT);
	}
}

enum config_action config_load(struct server_config *cfg, int argc,
			       char **argv)
{
	struct option longs[NSETTINGS + 5];
	char shorts[2 * NSETTINGS + 5];
	const char *file = getenv(ENV_PREFIX "CONFIG");
	bool check = false;
	int opt;

	*cfg = (struct server_config){
		.send_timeout = 60,
		.argc = argc,
		.argv = argv,
	};
	set_defaults(cfg);
	build_options(longs, shorts);

	/* First pass: only where the file is, and whether to help. */
	opterr = 0;
	optind = 0;	/* GNU: start over, state included (a reload) */
	while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (opt == OPT_CONFIG)
			file = optarg;
		else if (opt == OPT_HELP) {
			usage(stdout);
			return CONFIG_HELP;
		} else if (opt == OPT_VERSION) {
			printf("fileserver %s\n", FILESERVER_VERSION);
			return CONFIG_HELP;
		}
	}
	if (file && *file && !load_file(cfg, file))
		return CONFIG_ERROR;
	if (!load_env(cfg))
		return CONFIG_ERROR;

	opterr = 1;
	optind = 0;
	while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct setting *s = setting_of_opt(opt);

		if (s) {
			if (!apply(cfg, s, s->arg ? optarg : "true", SRC_ARGV,
				   ""))
				goto bad;
		} else if (opt == OPT_CHECK) {
			check = true;
		} else if (opt != OPT_CONFIG) {
			goto bad;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fileserver: unexpected argument '%s'\n",
			argv[optind]);
		goto bad;
	}
	if (!resolve_listen(cfg) || !resolve_cache_control(cfg) ||
	    !resolve_precompressed(cfg) || !resolve_pages(cfg) ||
	    !resolve_tls(cfg))
		goto bad;
	log_verbose = cfg->verbose;
	return check ? CONFIG_CHECK : CONFIG_RUN;
bad:
	fprintf(stderr, "Try 'fileserver --help'.\n");
	return CONFIG_ERROR;
}

int config_check(const struct server_config *cfg)
{
	int fd = open(cfg->docroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "fileserver: document root '%s': %s\n",
			cfg->docroot, strerror(errno));
		return 2;
	}
	close(fd);
	return 0;
}

void config_print(const struct server_config *c, FILE *out)
{
	char buf[32];
	const char *value;
	size_t i, k;

	for (i = 0; i < NSETTINGS; i++) {
		value = setting_text(c, &settings[i], buf, sizeof(buf));
		if (value)
			fprintf(out, "%s = %s\n", settings[i].name, value);
		else if (settings[i].type == T_LIST)
			for (k = 0; k < CFIELD(c, &settings[i],
					       struct config_list)->n; k++)
				fprintf(out, "%s = %s\n", settings[i].name,
					CFIELD(c, &settings[i],
					       struct config_list)->v[k]);
	}
}

/* Settings a running server takes on at once; the rest need a restart. */
bool config_reload(struct server_config *cfg)
{
	struct server_config next;
	bool restart = false;
	size_t i;

	if (config_load(&next, cfg->argc, cfg->argv) != CONFIG_RUN)
		return false;
	for (i = 0; i < NSETTINGS; i++)
		restart |= setting_reload(cfg, &next, &settings[i]);
	if (restart)
		log_warn("reload: changes other than timeouts, verbose and the "
			 "access log's path need a restart; not applied");
	__atomic_store_n(&log_verbose, cfg->verbose, __ATOMIC_RELAXED);
	return true;
}
