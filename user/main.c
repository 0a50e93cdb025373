// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fileserver: command line, environment, then the server. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs_maps.h"
#include "log.h"
#include "server.h"

enum {
	OPT_CACHE_SIZE = 256,
	OPT_CACHE_MAX_FILE,
	OPT_MAX_CONNS,
	OPT_HEADER_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_METRICS_PORT,
	OPT_ACCESS_LOG,
	OPT_USER,
};

static const struct option long_options[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "document-root", required_argument, NULL, 'd' },
	{ "interface", required_argument, NULL, 'i' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "no-kernel-cache", no_argument, NULL, 'n' },
	{ "cache-size", required_argument, NULL, OPT_CACHE_SIZE },
	{ "cache-max-file", required_argument, NULL, OPT_CACHE_MAX_FILE },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNS },
	{ "header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "metrics-port", required_argument, NULL, OPT_METRICS_PORT },
	{ "access-log", required_argument, NULL, OPT_ACCESS_LOG },
	{ "user", required_argument, NULL, OPT_USER },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

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
"      --cache-size SIZE      memory for kernel-cached responses\n"
"                             (default 64M; suffixes K, M, G)\n"
"      --cache-max-file SIZE  largest file the kernel caches (default 1M,\n"
"                             at most 1M)\n"
"      --max-connections N    concurrent connections (default 10000)\n"
"      --header-timeout SECS  time to receive a request head (default 10)\n"
"      --idle-timeout SECS    keep-alive idle time (default 75)\n"
"      --metrics-port PORT    serve Prometheus metrics on PORT instead of\n"
"                             /metrics on the main port\n"
"      --access-log FILE      log requests userspace answers, nginx combined\n"
"                             format (\"-\": stderr; default off)\n"
"      --user USER            started as root: run as USER once the port is\n"
"                             bound and BPF attached (default nobody;\n"
"                             \"root\" keeps root)\n"
"  -v, --verbose              log start-up details, e.g. cached files\n"
"  -h, --help                 show this help and exit\n"
"\n"
"Environment (the flags win): FILESERVER_DOCROOT, FILESERVER_INTERFACE,\n"
"FILESERVER_KERNEL_PROCESSING (1/0, true/false, yes/no, on/off),\n"
"FILESERVER_USER.\n");
}

static int bad_value(const char *what, const char *value)
{
	fprintf(stderr, "fileserver: invalid %s '%s'\n"
			"Try 'fileserver --help'.\n", what, value);
	return 2;
}

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

static bool parse_seconds(const char *s, unsigned *out)
{
	unsigned long long v;

	if (!parse_uint(s, 3600, &v) || v == 0)
		return false;
	*out = v;
	return true;
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

int main(int argc, char **argv)
{
	struct server_config cfg = {
		.docroot = "./www",
		.bind_addr = { .s_addr = htonl(INADDR_ANY) },
		.port = 8080,
		.kernel_cache = true,
		.cache_size = 64ULL << 20,
		.cache_max_file = 1ULL << 20,
		.max_conns = 10000,
		.header_timeout = 10,
		.idle_timeout = 75,
		.send_timeout = 60,
		.user = "nobody",
	};
	const char *iface = getenv("FILESERVER_INTERFACE");
	const char *env = getenv("FILESERVER_DOCROOT");
	/* the largest file whose response still fits one cache entry */
	const uint64_t max_file_limit = 1ULL << 20;
	unsigned long long v;
	int opt;

	if (env && *env)
		cfg.docroot = env;
	env = getenv("FILESERVER_USER");
	if (env && *env) {
		cfg.user = env;
		cfg.user_explicit = true;
	}
	env = getenv("FILESERVER_KERNEL_PROCESSING");
	if (env && *env && !parse_bool(env, &cfg.kernel_cache))
		return bad_value("FILESERVER_KERNEL_PROCESSING", env);

	while ((opt = getopt_long(argc, argv, "p:d:i:vnh", long_options,
				  NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (!parse_uint(optarg, 65535, &v) || v == 0)
				return bad_value("port", optarg);
			cfg.port = v;
			break;
		case 'd':
			cfg.docroot = optarg;
			break;
		case 'i':
			iface = optarg;
			break;
		case 'v':
			log_verbose = true;
			break;
		case 'n':
			cfg.kernel_cache = false;
			break;
		case OPT_CACHE_SIZE:
			if (!parse_size(optarg, &cfg.cache_size) ||
			    cfg.cache_size < FS_CHUNK_SIZE * FS_ENTRY_MAX_CHUNKS ||
			    cfg.cache_size / FS_CHUNK_SIZE > UINT32_MAX)
				return bad_value("cache size (at least 1056K)",
						 optarg);
			break;
		case OPT_CACHE_MAX_FILE:
			if (!parse_size(optarg, &cfg.cache_max_file) ||
			    cfg.cache_max_file > max_file_limit)
				return bad_value("cache max file (at most 1M)",
						 optarg);
			break;
		case OPT_MAX_CONNS:
			if (!parse_uint(optarg, FS_MAX_CONNS, &v) || v == 0)
				return bad_value("connection limit (1-65536)",
						 optarg);
			cfg.max_conns = v;
			break;
		case OPT_HEADER_TIMEOUT:
			if (!parse_seconds(optarg, &cfg.header_timeout))
				return bad_value("header timeout (1-3600 s)",
						 optarg);
			break;
		case OPT_IDLE_TIMEOUT:
			if (!parse_seconds(optarg, &cfg.idle_timeout))
				return bad_value("idle timeout (1-3600 s)", optarg);
			break;
		case OPT_METRICS_PORT:
			if (!parse_uint(optarg, 65535, &v) || v == 0)
				return bad_value("metrics port", optarg);
			cfg.metrics_port = v;
			break;
		case OPT_ACCESS_LOG:
			cfg.access_log = optarg;
			break;
		case OPT_USER:
			if (!*optarg)
				return bad_value("user", optarg);
			cfg.user = optarg;
			cfg.user_explicit = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'fileserver --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fileserver: unexpected argument '%s'\n"
				"Try 'fileserver --help'.\n", argv[optind]);
		return 2;
	}
	if (iface && *iface && !interface_addr(iface, &cfg.bind_addr)) {
		fprintf(stderr, "fileserver: interface '%s' has no IPv4 address\n",
			iface);
		return 2;
	}
	/* Cache admissions allocate and free up to 1 MiB each: from the heap,
	 * they fragment it between connection buffers and RSS creeps up (seen
	 * in a 10-minute soak). Fixed-threshold mmap returns them at once. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	return server_run(&cfg);
}
