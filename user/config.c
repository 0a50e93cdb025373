// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "fs_maps.h"
#include "log.h"

#define ENV_PREFIX	"FILESERVER_"
#define LINE_MAX_LEN	4096

/* The largest file whose response still fits one cache entry. */
#define MAX_FILE_LIMIT	(1ULL << 20)

static bool parse_uint(const char *s, unsigned long long max,
		       unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && *out <= max;
}

/* "64M", "512K", "1048576" */
static bool parse_size(const char *s, uint64_t *out)
{
	unsigned long long v, mult = 1;
	char num[32];
	size_t len = strlen(s);

	if (len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 'k': case 'K': mult = 1ULL << 10; break;
	case 'm': case 'M': mult = 1ULL << 20; break;
	case 'g': case 'G': mult = 1ULL << 30; break;
	}
	if (mult != 1)
		num[len - 1] = '\0';
	if (!parse_uint(num, ULLONG_MAX / mult, &v))
		return false;
	*out = v * mult;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool parse_port(const char *s, uint16_t *out)
{
	unsigned long long v;

	if (!parse_uint(s, 65535, &v) || v == 0)
		return false;
	*out = v;
	return true;
}

static bool parse_seconds(const char *s, unsigned *out)
{
	unsigned long long v;

	if (!parse_uint(s, 3600, &v) || v == 0)
		return false;
	*out = v;
	return true;
}

/* ---- the settings ---- */

static bool set_port(struct server_config *c, const char *v)
{
	return parse_port(v, &c->port);
}

static bool set_docroot(struct server_config *c, const char *v)
{
	c->docroot = v;
	return *v != '\0';
}

static bool set_interface(struct server_config *c, const char *v)
{
	c->interface = *v ? v : NULL;
	return true;
}

static bool set_verbose(struct server_config *c, const char *v)
{
	return parse_bool(v, &c->verbose);
}

static bool set_no_kernel_cache(struct server_config *c, const char *v)
{
	bool off;

	if (!parse_bool(v, &off))
		return false;
	c->kernel_cache = !off;
	return true;
}

static bool set_kernel_processing(struct server_config *c, const char *v)
{
	return parse_bool(v, &c->kernel_cache);
}

static const char *const kernel_pass_names[] = {
	[KERNEL_PASS_AUTO] = "auto",
	[KERNEL_PASS_BACKLOG] = "backlog",
	[KERNEL_PASS_DIRECT] = "direct",
};

static bool set_kernel_pass(struct server_config *c, const char *v)
{
	size_t i;

	for (i = 0; i < sizeof(kernel_pass_names) / sizeof(*kernel_pass_names);
	     i++)
		if (strcmp(v, kernel_pass_names[i]) == 0) {
			c->kernel_pass = i;
			return true;
		}
	return false;
}

static bool set_cache_size(struct server_config *c, const char *v)
{
	return parse_size(v, &c->cache_size) &&
	       c->cache_size >= FS_CHUNK_SIZE * FS_ENTRY_MAX_CHUNKS &&
	       c->cache_size / FS_CHUNK_SIZE <= UINT32_MAX;
}

static bool set_cache_max_file(struct server_config *c, const char *v)
{
	return parse_size(v, &c->cache_max_file) &&
	       c->cache_max_file <= MAX_FILE_LIMIT;
}

static bool set_max_connections(struct server_config *c, const char *v)
{
	unsigned long long n;

	if (!parse_uint(v, FS_MAX_CONNS, &n) || n == 0)
		return false;
	c->max_conns = n;
	return true;
}

static bool set_workers(struct server_config *c, const char *v)
{
	unsigned long long n;

	if (!parse_uint(v, WORKERS_MAX, &n))
		return false;
	c->workers = n;
	return true;
}

static bool set_header_timeout(struct server_config *c, const char *v)
{
	return parse_seconds(v, &c->header_timeout);
}

static bool set_idle_timeout(struct server_config *c, const char *v)
{
	return parse_seconds(v, &c->idle_timeout);
}

static bool set_shutdown_timeout(struct server_config *c, const char *v)
{
	return parse_seconds(v, &c->shutdown_timeout);
}

static bool set_metrics_port(struct server_config *c, const char *v)
{
	return parse_port(v, &c->metrics_port);
}

static bool set_access_log(struct server_config *c, const char *v)
{
	c->access_log = *v ? v : NULL;
	return true;
}

static bool set_user(struct server_config *c, const char *v)
{
	c->user = v;
	c->user_explicit = true;
	return *v != '\0';
}

struct setting {
	const char *name;	/* flag, config key, FILESERVER_<NAME> */
	int short_flag;		/* 0: none */
	bool is_switch;		/* a flag without value; true/false elsewhere */
	const char *what;	/* for messages: "invalid <what> '<value>'" */
	bool (*set)(struct server_config *c, const char *value);
};

/* Option values for settings without a short flag start here. */
#define LONG_ONLY	256

static const struct setting settings[] = {
	{ "port", 'p', false, "port", set_port },
	{ "document-root", 'd', false, "document root", set_docroot },
	{ "interface", 'i', false, "interface", set_interface },
	{ "verbose", 'v', true, "verbose (true/false)", set_verbose },
	{ "no-kernel-cache", 'n', true, "no-kernel-cache (true/false)",
	  set_no_kernel_cache },
	{ "kernel-processing", 0, false, "kernel processing (true/false)",
	  set_kernel_processing },
	{ "kernel-pass", 0, false, "kernel pass (auto, backlog or direct)",
	  set_kernel_pass },
	{ "cache-size", 0, false, "cache size (at least 1056K)",
	  set_cache_size },
	{ "cache-max-file", 0, false, "cache max file (at most 1M)",
	  set_cache_max_file },
	{ "max-connections", 0, false, "connection limit (1-65536)",
	  set_max_connections },
	{ "workers", 0, false, "workers (0-" WORKERS_MAX_TEXT ", 0: one per CPU)",
	  set_workers },
	{ "header-timeout", 0, false, "header timeout (1-3600 s)",
	  set_header_timeout },
	{ "idle-timeout", 0, false, "idle timeout (1-3600 s)",
	  set_idle_timeout },
	{ "shutdown-timeout", 0, false, "shutdown timeout (1-3600 s)",
	  set_shutdown_timeout },
	{ "metrics-port", 0, false, "metrics port", set_metrics_port },
	{ "access-log", 0, false, "access log", set_access_log },
	{ "user", 0, false, "user", set_user },
};

#define NSETTINGS	(sizeof(settings) / sizeof(settings[0]))

/* Older names of environment variables, still read. */
static const struct {
	const char *env;
	const char *setting;
} env_aliases[] = {
	{ ENV_PREFIX "DOCROOT", "document-root" },
};

static const struct setting *setting_named(const char *name)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

static bool apply(struct server_config *c, const struct setting *s,
		  const char *value, const char *where)
{
	if (s->set(c, value))
		return true;
	fprintf(stderr, "fileserver: %sinvalid %s '%s'\n", where, s->what,
		value);
	return false;
}

static void usage(FILE *out)
{
	fprintf(out,
"Usage: fileserver [OPTION]...\n"
"Static HTTP/1.1 file server; hot files are answered by eBPF in the kernel.\n"
"\n"
"  -p, --port PORT            TCP port to listen on (default 8080)\n"
"  -d, --document-root DIR    directory to serve (default ./www)\n"
"  -i, --interface IFACE      listen on the IPv4 address of IFACE only\n"
"                             (default: all addresses)\n"
"  -n, --no-kernel-cache      serve everything from userspace (eBPF off)\n"
"      --kernel-pass HOW      how the kernel path hands userspace the\n"
"                             requests it does not answer: backlog,\n"
"                             direct (SK_PASS) or auto (default: backlog\n"
"                             if the kernel has the fix it needs)\n"
"      --cache-size SIZE      memory for kernel-cached responses\n"
"                             (default 64M; suffixes K, M, G)\n"
"      --cache-max-file SIZE  largest file the kernel caches (default 1M,\n"
"                             at most 1M)\n"
"      --max-connections N    concurrent connections (default 10000)\n"
"      --workers N            userspace worker threads (default 0: one per\n"
"                             CPU the process may run on)\n"
"      --header-timeout SECS  time to receive a request head (default 10)\n"
"      --idle-timeout SECS    keep-alive idle time (default 75)\n"
"      --shutdown-timeout SECS  on SIGTERM, time to finish the responses\n"
"                             under way (default 10; a second signal\n"
"                             stops at once)\n"
"      --metrics-port PORT    serve Prometheus metrics on PORT instead of\n"
"                             /metrics on the main port\n"
"      --access-log FILE      log requests userspace answers, nginx combined\n"
"                             format (\"-\": stderr; default off)\n"
"      --user USER            started as root: run as USER once the port is\n"
"                             bound and BPF attached (default nobody;\n"
"                             \"root\" keeps root)\n"
"  -c, --config FILE          read settings from FILE first\n"
"      --check-config         check the settings, print them and exit\n"
"  -v, --verbose              log start-up details, e.g. cached files\n"
"  -h, --help                 show this help and exit\n"
"\n"
"Every setting can also come from a config file, one \"name = value\" per\n"
"line (# starts a comment; switches take true/false), and from the\n"
"environment as FILESERVER_<NAME> (FILESERVER_CONFIG names the file;\n"
"FILESERVER_KERNEL_PROCESSING=off is -n). The command line wins over the\n"
"environment, which wins over the file.\n");
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
			fprintf(stderr, "fileserver: %sexpected 'name = value'\n",
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
		ok = value && apply(c, s, value, where);
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
			   where))
			return false;
	}
	for (i = 0; i < NSETTINGS; i++) {
		size_t n = snprintf(var, sizeof(var), ENV_PREFIX "%s",
				    settings[i].name);

		for (k = sizeof(ENV_PREFIX) - 1; k < n; k++)
			var[k] = var[k] == '-' ? '_' : toupper((unsigned char)var[k]);
		value = getenv(var);
		snprintf(where, sizeof(where), "%s: ", var);
		if (value && *value && !apply(c, &settings[i], value, where))
			return false;
	}
	return true;
}

static bool interface_addr(const char *iface, struct in_addr *out)
{
	struct ifaddrs *list, *ifa;
	bool found = false;

	if (getifaddrs(&list))
		return false;
	for (ifa = list; ifa && !found; ifa = ifa->ifa_next)
		if (ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_INET &&
		    strcmp(ifa->ifa_name, iface) == 0) {
			*out = ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
			found = true;
		}
	freeifaddrs(list);
	return found;
}

enum {
	OPT_CONFIG = 'c',
	OPT_HELP = 'h',
	OPT_CHECK = LONG_ONLY + NSETTINGS,
};

/* The command line, in getopt's terms, built from the settings. */
static void build_options(struct option *longs, char *shorts)
{
	size_t i, n = 0;

	for (i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];

		longs[i] = (struct option){
			s->name, s->is_switch ? no_argument : required_argument,
			NULL, s->short_flag ? s->short_flag : (int)(LONG_ONLY + i)
		};
		if (s->short_flag) {
			shorts[n++] = (char)s->short_flag;
			if (!s->is_switch)
				shorts[n++] = ':';
		}
	}
	longs[i++] = (struct option){ "config", required_argument, NULL,
				      OPT_CONFIG };
	longs[i++] = (struct option){ "check-config", no_argument, NULL,
				      OPT_CHECK };
	longs[i++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	longs[i] = (struct option){ NULL, 0, NULL, 0 };
	memcpy(shorts + n, "c:h", 4);
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

enum config_action config_load(struct server_config *cfg, int argc,
			       char **argv)
{
	struct option longs[NSETTINGS + 4];
	char shorts[2 * NSETTINGS + 4];
	const char *file = getenv(ENV_PREFIX "CONFIG");
	bool check = false;
	int opt;

	*cfg = (struct server_config){
		.docroot = "./www",
		.bind_addr = { .s_addr = htonl(INADDR_ANY) },
		.port = 8080,
		.kernel_cache = true,
		.cache_size = 64ULL << 20,
		.cache_max_file = MAX_FILE_LIMIT,
		.max_conns = 10000,
		.header_timeout = 10,
		.idle_timeout = 75,
		.send_timeout = 60,
		.shutdown_timeout = 10,
		.user = "nobody",
		.argc = argc,
		.argv = argv,
	};
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
			if (!apply(cfg, s, s->is_switch ? "true" : optarg, ""))
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
	if (cfg->interface && !interface_addr(cfg->interface, &cfg->bind_addr)) {
		fprintf(stderr, "fileserver: interface '%s' has no IPv4 address\n",
			cfg->interface);
		goto bad;
	}
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
	fprintf(out,
		"port = %u\n"
		"document-root = %s\n"
		"interface = %s\n"
		"verbose = %s\n"
		"kernel-processing = %s\n"
		"kernel-pass = %s\n"
		"cache-size = %llu\n"
		"cache-max-file = %llu\n"
		"max-connections = %u\n"
		"workers = %u\n"
		"header-timeout = %u\n"
		"idle-timeout = %u\n"
		"shutdown-timeout = %u\n"
		"access-log = %s\n"
		"user = %s\n",
		c->port, c->docroot, c->interface ? c->interface : "",
		c->verbose ? "true" : "false",
		c->kernel_cache ? "on" : "off",
		kernel_pass_names[c->kernel_pass],
		(unsigned long long)c->cache_size,
		(unsigned long long)c->cache_max_file, c->max_conns, c->workers,
		c->header_timeout, c->idle_timeout, c->shutdown_timeout,
		c->access_log ? c->access_log : "", c->user);
	if (c->metrics_port)
		fprintf(out, "metrics-port = %u\n", c->metrics_port);
}

/* Settings a running server takes on at once; the rest need a restart. */
bool config_reload(struct server_config *cfg)
{
	struct server_config next;
	bool same;

	if (config_load(&next, cfg->argc, cfg->argv) != CONFIG_RUN)
		return false;
	same = next.port == cfg->port &&
	       strcmp(next.docroot, cfg->docroot) == 0 &&
	       next.bind_addr.s_addr == cfg->bind_addr.s_addr &&
	       next.kernel_cache == cfg->kernel_cache &&
	       next.kernel_pass == cfg->kernel_pass &&
	       next.cache_size == cfg->cache_size &&
	       next.cache_max_file == cfg->cache_max_file &&
	       next.max_conns == cfg->max_conns &&
	       next.workers == cfg->workers &&
	       next.metrics_port == cfg->metrics_port &&
	       !next.access_log == !cfg->access_log &&
	       strcmp(next.user, cfg->user) == 0;
	if (!same)
		log_warn("reload: changes other than timeouts, verbose and the "
			 "access log's path need a restart; not applied");
	/* the workers read these while this thread writes them */
	cfg->verbose = next.verbose;
	__atomic_store_n(&log_verbose, next.verbose, __ATOMIC_RELAXED);
	__atomic_store_n(&cfg->header_timeout, next.header_timeout,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&cfg->idle_timeout, next.idle_timeout,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&cfg->shutdown_timeout, next.shutdown_timeout,
			 __ATOMIC_RELAXED);
	if (cfg->access_log && next.access_log)
		cfg->access_log = next.access_log;
	return true;
}
