/*
 * Unit tests for the settings (user/config.c), through config_load() as
 * main() calls it: command lines, FILESERVER_* variables and config files,
 * --help, the --check-config output read back, and a SIGHUP reload.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* Every setting, as --help, the config file and FILESERVER_<NAME> say it. */
static const char *const names[] = {
	"port", "document-root", "listen", "interface", "verbose",
	"no-kernel-cache",
	"kernel-processing", "kernel-pass", "cache-size", "cache-max-file",
	"cache-control",
	"max-connections", "workers", "header-timeout", "idle-timeout",
	"shutdown-timeout", "access-log", "user", "metrics-port",
};

#define NNAMES	(sizeof(names) / sizeof(names[0]))

static struct server_config cfg;

static const char *addr_text(const struct listen_addr *a)
{
	static char text[LISTEN_ADDR_TEXT];

	listen_addr_format(a, text, sizeof(text));
	return text;
}

/* The command line stays in the config (reloads read it again), so it
 * lives as long as the test: the caller's compound literal. */
static enum config_action load_argv(char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return config_load(&cfg, argc, argv);
}

#define LOAD(...)	load_argv((char *[]){ "fileserver", __VA_ARGS__, NULL })
#define LOAD_NONE()	load_argv((char *[]){ "fileserver", NULL })

/* The environment of the test run must not leak into the settings. */
static void clear_env(void)
{
	char var[64];
	size_t i, k;

	unsetenv("FILESERVER_CONFIG");
	unsetenv("FILESERVER_DOCROOT");
	for (i = 0; i < NNAMES; i++) {
		snprintf(var, sizeof(var), "FILESERVER_%s", names[i]);
		for (k = 0; var[k]; k++)
			var[k] = var[k] == '-' ? '_' : var[k] & ~0x20;
		unsetenv(var);
	}
}

static char temp_paths[8][32];
static unsigned ntemp;

/* A file with text in it, removed after the test (remove_temp_files). */
static char *temp_file(const char *text)
{
	char *path;
	int fd;

	ck_assert_uint_lt(ntemp, 8);
	path = temp_paths[ntemp++];
	strcpy(path, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void remove_temp_files(void)
{
	while (ntemp)
		unlink(temp_paths[--ntemp]);
}

static void rewrite(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* config_print()'s output, in buf. */
static void print_to(char *buf, size_t size)
{
	FILE *f = tmpfile();
	size_t n;

	ck_assert_ptr_nonnull(f);
	config_print(&cfg, f);
	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(LOAD_NONE(), CONFIG_RUN);
	ck_assert_uint_eq(cfg.port, 8080);
	ck_assert_str_eq(cfg.docroot, "./www");
	ck_assert_ptr_null(cfg.interface);
	/* both families on one socket, or IPv4 alone on a host without v6 */
	ck_assert_uint_eq(cfg.nlisten, 1);
	ck_assert_str_eq(addr_text(&cfg.listen[0]),
			 cfg.listen[0].sa.ss_family == AF_INET6 ?
			 "[::]:8080" : "0.0.0.0:8080");
	ck_assert(cfg.listen[0].dual_stack ==
		  (cfg.listen[0].sa.ss_family == AF_INET6));
	ck_assert(!cfg.verbose);
	ck_assert(cfg.kernel_cache);
	ck_assert_int_eq(cfg.kernel_pass, KERNEL_PASS_AUTO);
	ck_assert_uint_eq(cfg.cache_size, 64ULL << 20);
	ck_assert_uint_eq(cfg.cache_max_file, 1ULL << 20);
	ck_assert_uint_eq(cfg.max_conns, 10000);
	ck_assert_uint_eq(cfg.workers, 0);
	ck_assert_uint_eq(cfg.header_timeout, 10);
	ck_assert_uint_eq(cfg.idle_timeout, 75);
	ck_assert_uint_eq(cfg.send_timeout, 60);
	ck_assert_uint_eq(cfg.shutdown_timeout, 10);
	ck_assert_uint_eq(cfg.metrics_port, 0);
	ck_assert_ptr_null(cfg.access_log);
	ck_assert_str_eq(cfg.user, "nobody");
	ck_assert(!cfg.user_explicit);
	ck_assert_int_eq(LOAD("--check-config"), CONFIG_CHECK);
}
END_TEST

START_TEST(test_port_string_user)
{
	ck_assert_int_eq(LOAD("-p", "1", "--metrics-port", "65535"),
			 CONFIG_RUN);
	ck_assert_uint_eq(cfg.port, 1);
	ck_assert_uint_eq(cfg.metrics_port, 65535);
	ck_assert_int_eq(LOAD("-p", "0"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--port", "65536"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--port", "80x"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--metrics-port", "0"), CONFIG_ERROR);

	ck_assert_int_eq(LOAD("-d", "/srv", "--access-log", "-"), CONFIG_RUN);
	ck_assert_str_eq(cfg.docroot, "/srv");
	ck_assert_str_eq(cfg.access_log, "-");
	ck_assert_int_eq(LOAD("--document-root", ""), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--access-log", ""), CONFIG_RUN);
	ck_assert_ptr_null(cfg.access_log);

	ck_assert_int_eq(LOAD("--user", "root"), CONFIG_RUN);
	ck_assert_str_eq(cfg.user, "root");
	ck_assert(cfg.user_explicit);
	ck_assert_int_eq(LOAD("--user", ""), CONFIG_ERROR);
}
END_TEST

/* Whether cfg listens on text ("127.0.0.1:8080"). */
static bool listens_on(const char *text)
{
	unsigned i;

	for (i = 0; i < cfg.nlisten; i++)
		if (strcmp(addr_text(&cfg.listen[i]), text) == 0)
			return true;
	return false;
}

/* -i takes every address of the interface, of both families. */
START_TEST(test_interface)
{
	int v6 = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 lo6 = { .sin6_family = AF_INET6,
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool has_lo6 = v6 >= 0 && bind(v6, (struct sockaddr *)&lo6,
				       sizeof(lo6)) == 0;

	if (v6 >= 0)
		close(v6);
	ck_assert_int_eq(LOAD("-i", "lo", "-p", "81"), CONFIG_RUN);
	ck_assert_str_eq(cfg.interface, "lo");
	ck_assert(listens_on("127.0.0.1:81"));
	ck_assert(listens_on("[::1]:81") == has_lo6);
	ck_assert_uint_eq(cfg.nlisten, has_lo6 ? 2 : 1);
	ck_assert_int_eq(LOAD("--interface", "no-such-if0"), CONFIG_ERROR);
}
END_TEST

/* Every form --listen takes, and what it refuses. */
START_TEST(test_listen_forms)
{
	static const char *const good[][2] = {
		{ "127.0.0.1", "127.0.0.1:8080" },
		{ "127.0.0.1:81", "127.0.0.1:81" },
		{ "81", "0.0.0.0:81" },
		{ "*:81", "0.0.0.0:81" },
		{ "*", "0.0.0.0:8080" },
		{ "[::1]", "[::1]:8080" },
		{ "[::1]:81", "[::1]:81" },
		{ "[::]:81", "[::]:81" },
		{ "[::ffff:10.0.0.1]:81", "[::ffff:10.0.0.1]:81" },
	};
	static const char *const bad[] = {
		"", "::1", "[::1", "[::1]x", "[::1]:", "[::1]:0", "1.2.3.4:",
		"1.2.3.4:65536", "localhost:80", "1.2.3", "[1.2.3.4]:80",
		"0", "[fe80::1%no-such-if0]:80", "*:x",
	};
	struct listen_addr a;
	char text[LISTEN_ADDR_TEXT];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(listen_addr_parse(good[i][0], 8080, &a),
			      "refused '%s'", good[i][0]);
		listen_addr_format(&a, text, sizeof(text));
		ck_assert_str_eq(text, good[i][1]);
		/* only the default takes both families on one socket */
		ck_assert(!a.dual_stack);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!listen_addr_parse(bad[i], 8080, &a),
			      "took '%s'", bad[i]);
}
END_TEST

/* --listen adds up within a source; a later source replaces the list. */
START_TEST(test_listen_sources)
{
	char *file = temp_file("listen = 127.0.0.1:81\nlisten = [::1]:82\n");

	ck_assert_int_eq(LOAD("--listen", "127.0.0.1", "--listen", "[::1]:82",
			      "-p", "90"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.nlisten, 2);
	ck_assert(listens_on("127.0.0.1:90") && listens_on("[::1]:82"));

	ck_assert_int_eq(LOAD("-c", file), CONFIG_RUN);
	ck_assert_uint_eq(cfg.nlisten, 2);
	ck_assert(listens_on("127.0.0.1:81") && listens_on("[::1]:82"));

	setenv("FILESERVER_LISTEN", "127.0.0.2:83, [::1]:84", 1);
	ck_assert_int_eq(LOAD("-c", file), CONFIG_RUN);
	ck_assert_uint_eq(cfg.nlisten, 2);
	ck_assert(listens_on("127.0.0.2:83") && listens_on("[::1]:84"));

	ck_assert_int_eq(LOAD("-c", file, "--listen", "85"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.nlisten, 1);
	ck_assert(listens_on("0.0.0.0:85"));
	unsetenv("FILESERVER_LISTEN");

	ck_assert_int_eq(LOAD("--listen", "::1"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--listen", "127.0.0.1", "-i", "lo"),
			 CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--listen", "1 2 3 4 5 6 7 8 9"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--listen", "1 2 3 4 5 6 7 8"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.nlisten, 8);
}
END_TEST

START_TEST(test_switches_enum)
{
	ck_assert_int_eq(LOAD("-v", "-n"), CONFIG_RUN);
	ck_assert(cfg.verbose);
	ck_assert(!cfg.kernel_cache);
	ck_assert_int_eq(LOAD("--verbose", "--no-kernel-cache"), CONFIG_RUN);
	ck_assert(cfg.verbose);
	ck_assert(!cfg.kernel_cache);
	ck_assert_int_eq(LOAD("--kernel-processing", "off"), CONFIG_RUN);
	ck_assert(!cfg.kernel_cache);
	ck_assert_int_eq(LOAD("--kernel-processing", "maybe"), CONFIG_ERROR);
	/* a switch takes no value on the command line */
	ck_assert_int_eq(LOAD("-v", "true"), CONFIG_ERROR);

	ck_assert_int_eq(LOAD("--kernel-pass", "backlog"), CONFIG_RUN);
	ck_assert_int_eq(cfg.kernel_pass, KERNEL_PASS_BACKLOG);
	ck_assert_int_eq(LOAD("--kernel-pass", "direct"), CONFIG_RUN);
	ck_assert_int_eq(cfg.kernel_pass, KERNEL_PASS_DIRECT);
	ck_assert_int_eq(LOAD("--kernel-pass", "auto"), CONFIG_RUN);
	ck_assert_int_eq(cfg.kernel_pass, KERNEL_PASS_AUTO);
	ck_assert_int_eq(LOAD("--kernel-pass", "Direct"), CONFIG_ERROR);
}
END_TEST

START_TEST(test_sizes)
{
	ck_assert_int_eq(LOAD("--cache-size", "2M", "--cache-max-file", "4k"),
			 CONFIG_RUN);
	ck_assert_uint_eq(cfg.cache_size, 2ULL << 20);
	ck_assert_uint_eq(cfg.cache_max_file, 4096);
	/* one whole entry: 264 chunks of 4K */
	ck_assert_int_eq(LOAD("--cache-size", "1056K"), CONFIG_RUN);
	ck_assert_int_eq(LOAD("--cache-size", "1081343"), CONFIG_ERROR);
	/* chunks are counted in 32 bits */
	ck_assert_int_eq(LOAD("--cache-size", "17592186040319"), CONFIG_RUN);
	ck_assert_int_eq(LOAD("--cache-size", "16384G"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--cache-size", "64T"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--cache-size", "M"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--cache-max-file", "0"), CONFIG_RUN);
	ck_assert_int_eq(LOAD("--cache-max-file", "1M"), CONFIG_RUN);
	ck_assert_int_eq(LOAD("--cache-max-file", "1025K"), CONFIG_ERROR);
}
END_TEST

START_TEST(test_counts_seconds)
{
	static const char *const timeouts[] = {
		"--header-timeout", "--idle-timeout", "--shutdown-timeout",
	};
	size_t i;

	ck_assert_int_eq(LOAD("--max-connections", "65536", "--workers", "64"),
			 CONFIG_RUN);
	ck_assert_uint_eq(cfg.max_conns, 65536);
	ck_assert_uint_eq(cfg.workers, 64);
	ck_assert_int_eq(LOAD("--max-connections", "1"), CONFIG_RUN);
	ck_assert_int_eq(LOAD("--max-connections", "0"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--max-connections", "65537"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--workers", "65"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--workers", "-1"), CONFIG_ERROR);

	for (i = 0; i < 3; i++) {
		char *flag = (char *)timeouts[i];

		ck_assert_int_eq(LOAD(flag, "1"), CONFIG_RUN);
		ck_assert_int_eq(LOAD(flag, "3600"), CONFIG_RUN);
		ck_assert_int_eq(LOAD(flag, "0"), CONFIG_ERROR);
		ck_assert_int_eq(LOAD(flag, "3601"), CONFIG_ERROR);
	}
	ck_assert_int_eq(LOAD("--header-timeout", "5", "--idle-timeout", "6",
			      "--shutdown-timeout", "7"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.header_timeout, 5);
	ck_assert_uint_eq(cfg.idle_timeout, 6);
	ck_assert_uint_eq(cfg.shutdown_timeout, 7);
}
END_TEST

START_TEST(test_command_line_errors)
{
	ck_assert_int_eq(LOAD("--bogus"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("extra"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("-c", "/nonexistent/fileserver.conf"),
			 CONFIG_ERROR);
	ck_assert_int_eq(LOAD("-c", temp_file("bogus = 1\n")), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("-c", temp_file("port\n")), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("-c", temp_file("port = 0\n")), CONFIG_ERROR);
}
END_TEST

START_TEST(test_precedence)
{
	char *file = temp_file("# comment\n\n  port = 1 \nidle-timeout = 5\n"
			       "workers = 2\nverbose = yes\n");

	ck_assert_int_eq(LOAD("-c", file), CONFIG_RUN);
	ck_assert_uint_eq(cfg.port, 1);
	ck_assert_uint_eq(cfg.idle_timeout, 5);
	ck_assert_uint_eq(cfg.workers, 2);
	ck_assert(cfg.verbose);

	setenv("FILESERVER_CONFIG", file, 1);
	setenv("FILESERVER_PORT", "2", 1);
	setenv("FILESERVER_IDLE_TIMEOUT", "6", 1);
	ck_assert_int_eq(LOAD_NONE(), CONFIG_RUN);
	ck_assert_uint_eq(cfg.port, 2);
	ck_assert_uint_eq(cfg.idle_timeout, 6);
	ck_assert_uint_eq(cfg.workers, 2);

	ck_assert_int_eq(LOAD("-p", "3"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.port, 3);
	ck_assert_uint_eq(cfg.idle_timeout, 6);

	setenv("FILESERVER_PORT", "x", 1);
	ck_assert_int_eq(LOAD("-p", "3"), CONFIG_ERROR);
	unsetenv("FILESERVER_PORT");

	/* the old name, and the new one over it */
	setenv("FILESERVER_DOCROOT", "/old", 1);
	ck_assert_int_eq(LOAD_NONE(), CONFIG_RUN);
	ck_assert_str_eq(cfg.docroot, "/old");
	setenv("FILESERVER_DOCUMENT_ROOT", "/new", 1);
	ck_assert_int_eq(LOAD_NONE(), CONFIG_RUN);
	ck_assert_str_eq(cfg.docroot, "/new");
}
END_TEST

START_TEST(test_kernel_processing)
{
	char *off = temp_file("kernel-processing = off\n");
	char *on = temp_file("kernel-processing = on\n");

	ck_assert_int_eq(LOAD("-c", off), CONFIG_RUN);
	ck_assert(!cfg.kernel_cache);
	ck_assert_int_eq(LOAD("-c", on, "-n"), CONFIG_RUN);
	ck_assert(!cfg.kernel_cache);
	ck_assert_int_eq(LOAD("-c", temp_file("no-kernel-cache = true\n")),
			 CONFIG_RUN);
	ck_assert(!cfg.kernel_cache);
	/* the command line in order */
	ck_assert_int_eq(LOAD("-n", "--kernel-processing", "on"), CONFIG_RUN);
	ck_assert(cfg.kernel_cache);

	setenv("FILESERVER_KERNEL_PROCESSING", "off", 1);
	ck_assert_int_eq(LOAD("-c", on), CONFIG_RUN);
	ck_assert(!cfg.kernel_cache);
	unsetenv("FILESERVER_KERNEL_PROCESSING");
	setenv("FILESERVER_NO_KERNEL_CACHE", "true", 1);
	ck_assert_int_eq(LOAD_NONE(), CONFIG_RUN);
	ck_assert(!cfg.kernel_cache);
	setenv("FILESERVER_NO_KERNEL_CACHE", "bad", 1);
	ck_assert_int_eq(LOAD_NONE(), CONFIG_ERROR);
}
END_TEST

/* What --check-config prints is a config file that says the same. */
static void check_round_trip(void)
{
	char first[4096], second[4096];

	print_to(first, sizeof(first));
	ck_assert_int_eq(LOAD("-c", temp_file(first)), CONFIG_RUN);
	print_to(second, sizeof(second));
	ck_assert_str_eq(first, second);
}

START_TEST(test_print_round_trip)
{
	char out[4096];

	ck_assert_int_eq(LOAD_NONE(), CONFIG_RUN);
	print_to(out, sizeof(out));
	ck_assert_str_eq(out,
		"port = 8080\n"
		"document-root = ./www\n"
		"interface = \n"
		"verbose = false\n"
		"kernel-processing = on\n"
		"kernel-pass = auto\n"
		"cache-size = 67108864\n"
		"cache-max-file = 1048576\n"
		"precompressed = off\n"
		"fallback = \n"
		"max-connections = 10000\n"
		"workers = 0\n"
		"header-timeout = 10\n"
		"idle-timeout = 75\n"
		"shutdown-timeout = 10\n"
		"access-log = \n"
		"access-log-buffer = 8388608\n"
		"user = nobody\n"
		"tls-cert = \n"
		"tls-key = \n");
	check_round_trip();

	ck_assert_int_eq(LOAD("-n", "-v", "-i", "lo", "--metrics-port", "9100",
			      "--access-log", "-", "--kernel-pass", "direct",
			      "--cache-size", "2M", "--user", "root",
			      "--workers", "3", "--idle-timeout", "9"),
			 CONFIG_RUN);
	print_to(out, sizeof(out));
	ck_assert_ptr_nonnull(strstr(out, "\nkernel-processing = off\n"));
	ck_assert_ptr_nonnull(strstr(out, "\ninterface = lo\n"));
	ck_assert_ptr_nonnull(strstr(out,
				     "\nuser = root\ntls-cert = \ntls-key = \n"
				     "metrics-port = 9100\n"));
	check_round_trip();
	ck_assert(!cfg.kernel_cache);
	ck_assert_uint_eq(cfg.metrics_port, 9100);
	ck_assert(listens_on("127.0.0.1:8080"));
}
END_TEST

/* --cache-control rules: parsed when loaded, printed a line each. */
START_TEST(test_cache_control_rules)
{
	char out[4096];

	ck_assert_int_eq(LOAD("--cache-control", "/assets/=public, immutable",
			      "--cache-control", "*.html=no-cache"),
			 CONFIG_RUN);
	ck_assert_uint_eq(cfg.cache_control.n, 2);
	ck_assert_str_eq(cache_control_for(&cfg.cache_control,
					   "/assets/a.js"), "public, immutable");
	ck_assert_str_eq(cache_control_for(&cfg.cache_control,
					   "/assets/a.html"), "public, immutable");
	ck_assert_str_eq(cache_control_for(&cfg.cache_control, "/a.html"),
			 "no-cache");
	ck_assert_ptr_null(cache_control_for(&cfg.cache_control, "/a.js"));
	print_to(out, sizeof(out));
	ck_assert_ptr_nonnull(strstr(out,
		"\ncache-control = /assets/=public, immutable\n"
		"cache-control = *.html=no-cache\n"));
	check_round_trip();
	ck_assert_uint_eq(cfg.cache_control.n, 2);
	ck_assert_int_eq(LOAD("--cache-control", "assets=x"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD_NONE(), CONFIG_RUN);
	ck_assert_uint_eq(cfg.cache_control.n, 0);
}
END_TEST

START_TEST(test_print_listen)
{
	char out[4096];

	ck_assert_int_eq(LOAD("--listen", "127.0.0.1:81", "--listen",
			      "[::1]:82"), CONFIG_RUN);
	print_to(out, sizeof(out));
	ck_assert_ptr_nonnull(strstr(out, "\nlisten = 127.0.0.1:81\n"
					  "listen = [::1]:82\n"));
	check_round_trip();
	ck_assert(listens_on("127.0.0.1:81") && listens_on("[::1]:82"));
}
END_TEST

START_TEST(test_reload)
{
	char *file = temp_file("idle-timeout = 20\naccess-log = /tmp/a\n");

	ck_assert_int_eq(LOAD("-c", file), CONFIG_RUN);
	ck_assert_uint_eq(cfg.idle_timeout, 20);

	rewrite(file, "idle-timeout = 30\naccess-log = /tmp/b\nverbose = on\n");
	ck_assert(config_reload(&cfg));
	ck_assert_uint_eq(config_timeout(&cfg.idle_timeout), 30);
	ck_assert_str_eq(cfg.access_log, "/tmp/b");
	ck_assert(cfg.verbose);

	/* a new port waits for a restart; the timeout is still taken on */
	rewrite(file, "idle-timeout = 40\nport = 9999\naccess-log = /tmp/b\n");
	ck_assert(config_reload(&cfg));
	ck_assert_uint_eq(cfg.port, 8080);
	ck_assert_uint_eq(config_timeout(&cfg.idle_timeout), 40);
	ck_assert(!cfg.verbose);

	/* turning the access log off needs a restart too */
	rewrite(file, "idle-timeout = 40\n");
	ck_assert(config_reload(&cfg));
	ck_assert_str_eq(cfg.access_log, "/tmp/b");

	/* so does a new address */
	rewrite(file, "idle-timeout = 45\nlisten = 127.0.0.1:81\n"
		      "access-log = /tmp/b\n");
	ck_assert(config_reload(&cfg));
	ck_assert_uint_eq(config_timeout(&cfg.idle_timeout), 45);
	ck_assert(!listens_on("127.0.0.1:81"));
	ck_assert_uint_eq(cfg.nlisten, 1);

	/* invalid: nothing changes */
	rewrite(file, "idle-timeout = 0\n");
	ck_assert(!config_reload(&cfg));
	ck_assert_uint_eq(config_timeout(&cfg.idle_timeout), 45);
}
END_TEST

/* --tls-port needs its certificate and key, and a port of its own; the
 * files' paths follow a reload, as SIGHUP reads them again. */
START_TEST(test_tls_settings)
{
	char *file;

	ck_assert_int_eq(LOAD("--tls-port", "8443"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--tls-port", "8443", "--tls-cert", "/c"),
			 CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--tls-port", "8080", "--tls-cert", "/c",
			      "--tls-key", "/k"), CONFIG_ERROR);
	ck_assert_int_eq(LOAD("--tls-port", "9100", "--metrics-port", "9100",
			      "--tls-cert", "/c", "--tls-key", "/k"),
			 CONFIG_ERROR);
	/* the files are checked at start-up, not here */
	ck_assert_int_eq(LOAD("--tls-cert", "/c"), CONFIG_RUN);
	ck_assert_uint_eq(cfg.tls_port, 0);

	file = temp_file("tls-port = 8443\ntls-cert = /c\ntls-key = /k\n");
	ck_assert_int_eq(LOAD("-c", file), CONFIG_RUN);
	ck_assert_uint_eq(cfg.tls_port, 8443);
	ck_assert_str_eq(cfg.tls_cert, "/c");
	ck_assert_str_eq(cfg.tls_key, "/k");

	rewrite(file, "tls-port = 8443\ntls-cert = /c2\ntls-key = /k2\n");
	ck_assert(config_reload(&cfg));
	ck_assert_str_eq(cfg.tls_cert, "/c2");
	ck_assert_str_eq(cfg.tls_key, "/k2");
	check_round_trip();

	setenv("FILESERVER_TLS_PORT", "8444", 1);
	ck_assert_int_eq(LOAD("-c", file), CONFIG_RUN);
	unsetenv("FILESERVER_TLS_PORT");
	ck_assert_uint_eq(cfg.tls_port, 8444);
}
END_TEST

/* What loading argv printed to stdout, in out; returns what it said to do. */
static enum config_action load_printing(char *out, size_t cap, char **argv)
{
	FILE *f = tmpfile();
	int saved = dup(STDOUT_FILENO);
	enum config_action action;
	size_t n;

	ck_assert_ptr_nonnull(f);
	fflush(stdout);
	dup2(fileno(f), STDOUT_FILENO);
	action = load_argv(argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
	return action;
}

START_TEST(test_help)
{
	char out[8192], flag[64];
	size_t i;

	ck_assert_int_eq(load_printing(out, sizeof(out), (char *[]){
		"fileserver", "--port", "1", "-h", NULL }), CONFIG_HELP);
	ck_assert_ptr_nonnull(strstr(out, "Usage: fileserver [OPTION]..."));
	for (i = 0; i < NNAMES; i++) {
		snprintf(flag, sizeof(flag), "--%s", names[i]);
		ck_assert_msg(strstr(out, flag), "--help lacks %s", flag);
	}
	ck_assert_ptr_nonnull(strstr(out, "  -p, --port PORT "));
	ck_assert_ptr_nonnull(strstr(out, "  -n, --no-kernel-cache "));
	ck_assert_ptr_nonnull(strstr(out, "(default 8080)"));
	ck_assert_ptr_nonnull(strstr(out, "(default 64M;"));
	ck_assert_ptr_nonnull(strstr(out, "--check-config"));
	ck_assert_ptr_nonnull(strstr(out, "--config FILE"));
	ck_assert_ptr_nonnull(strstr(out, "-V, --version"));
	ck_assert_ptr_nonnull(strstr(out, "the version (" FILESERVER_VERSION
					  ") and exit"));
}
END_TEST

/* --version wins over anything else on the line, even a bad value, as
 * --help does: it is what a user runs to report a problem. */
START_TEST(test_version)
{
	char out[256];

	ck_assert_int_eq(load_printing(out, sizeof(out), (char *[]){
		"fileserver", "--port", "0", "--version", NULL }), CONFIG_HELP);
	ck_assert_str_eq(out, "fileserver " FILESERVER_VERSION "\n");
	ck_assert_int_eq(load_printing(out, sizeof(out), (char *[]){
		"fileserver", "-V", NULL }), CONFIG_HELP);
	ck_assert_str_eq(out, "fileserver " FILESERVER_VERSION "\n");
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *types = tcase_create("types");
	TCase *sources = tcase_create("sources");
	TCase *output = tcase_create("output");

	tcase_add_checked_fixture(types, clear_env, remove_temp_files);
	tcase_add_test(types, test_defaults);
	tcase_add_test(types, test_port_string_user);
	tcase_add_test(types, test_interface);
	tcase_add_test(types, test_listen_forms);
	tcase_add_test(types, test_switches_enum);
	tcase_add_test(types, test_sizes);
	tcase_add_test(types, test_counts_seconds);
	tcase_add_test(types, test_command_line_errors);
	suite_add_tcase(s, types);

	tcase_add_checked_fixture(sources, clear_env, remove_temp_files);
	tcase_add_test(sources, test_precedence);
	tcase_add_test(sources, test_kernel_processing);
	tcase_add_test(sources, test_listen_sources);
	tcase_add_test(sources, test_reload);
	tcase_add_test(sources, test_tls_settings);
	suite_add_tcase(s, sources);

	tcase_add_checked_fixture(output, clear_env, remove_temp_files);
	tcase_add_test(output, test_print_round_trip);
	tcase_add_test(output, test_print_listen);
	tcase_add_test(output, test_cache_control_rules);
	tcase_add_test(output, test_help);
	tcase_add_test(output, test_version);
	suite_add_tcase(s, output);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
