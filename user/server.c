// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The process: binds the ports, loads the kernel path, drops privileges,
 * then runs one worker thread per CPU (worker.c) and waits for signals.
 * Signals are blocked in every thread and taken here with sigtimedwait(),
 * so that reloads and stops happen in one place, between the workers' work.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "kernel_log.h"
#include "cache.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "privilege.h"
#include "tls.h"
#include "worker.h"

/* Files up to this size are cached at start-up. */
#define PRELOAD_MAX	(64 * 1024)
/* A port still held by a dying server is retried this long. */
#define BIND_RETRY_MS	50
#define BIND_TRIES	60
/* How often the signal loop looks whether the workers are done. */
#define SIGNAL_WAIT_NS	(100 * 1000 * 1000)

struct worker_thread {
	struct server *srv;
	struct worker *worker;
	pthread_t thread;
	bool started;
};

/* A socket bound to a, or -1 (logged). */
static int bind_addr(const struct listen_addr *a, bool reuseport)
{
	int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, v6only = !a->dual_stack;
	char text[LISTEN_ADDR_TEXT];
	unsigned tries = 0;

	listen_addr_format(a, text, sizeof(text));
	if (fd < 0) {
		log_error("socket for %s: %s", text, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* accepted sockets inherit it: no setsockopt per connection */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* "[::]" takes IPv4 too only where we say so, whatever the sysctl */
	if (a->sa.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
		goto fail;
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		goto fail;
	while (bind(fd, (const struct sockaddr *)&a->sa, a->len)) {
		/* A killed server's io_uring is torn down after the process,
		 * and holds its listener a moment longer: wait it out. */
		if (errno != EADDRINUSE || tries++ == BIND_TRIES)
			goto fail;
		if (tries == 1)
			log_warn("%s in use; retrying for %u s", text,
				 BIND_TRIES * BIND_RETRY_MS / 1000);
		usleep(BIND_RETRY_MS * 1000);
	}
	return fd;
fail:
	log_error("binding %s: %s", text, strerror(errno));
	close(fd);
	return -1;
}

/* fd, from bind_addr(), listening; a failed bind's -1 passes through, so
 * that the two compose. Returns -1 on failure, logged. */
static int listen_on(int fd)
{
	if (fd >= 0 && listen(fd, 4096)) {
		log_error("listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* One listener per worker and address, into fds (worker i's at
 * [i * nlisten, (i + 1) * nlisten)), on port, or with 0 on each address's
 * own (--listen's may differ). The port is first bound alone:
 * members of a SO_REUSEPORT group need only share a user, so a second
 * server started by mistake would otherwise join ours and take half its
 * connections. */
static int listen_group(struct server *srv, int *fds, uint16_t port)
{
	const struct server_config *cfg = srv->cfg;
	struct listen_addr addr;
	unsigned a, i;
	int probe;

	for (a = 0; a < cfg->nlisten; a++) {
		addr = port ? listen_addr_with_port(&cfg->listen[a], port) :
			      cfg->listen[a];
		probe = bind_addr(&addr, false);
		if (probe < 0)
			return -1;
		close(probe);
		for (i = 0; i < srv->nworkers; i++) {
			int *fd = &fds[i * cfg->nlisten + a];

			*fd = listen_on(bind_addr(&addr, true));
			if (*fd < 0)
				return -1;
		}
	}
	return 0;
}

/* --metrics-port on every address we listen on. */
static int listen_metrics(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	struct listen_addr a;
	unsigned i;

	for (i = 0; cfg->metrics_port && i < cfg->nlisten; i++) {
		a = listen_addr_with_port(&cfg->listen[i], cfg->metrics_port);
		srv->listen_metrics[i] = listen_on(bind_addr(&a, false));
		if (srv->listen_metrics[i] < 0)
			return -1;
	}
	return 0;
}

/* How many listening sockets a group (main, TLS) has, all workers'. */
static unsigned listen_count(const struct server *srv)
{
	return srv->nworkers * srv->cfg->nlisten;
}

/* A group's sockets, each -1 (none yet), or NULL when out of memory. */
static int *group_new(const struct server *srv)
{
	int *fds = malloc(listen_count(srv) * sizeof(*fds));
	unsigned i;

	for (i = 0; fds && i < listen_count(srv); i++)
		fds[i] = -1;
	return fds;
}

/* Applies f (shutdown or close) to a group's open sockets. */
static void group_each(const struct server *srv, const int *fds,
		       void (*f)(int fd))
{
	unsigned i;

	for (i = 0; fds && i < listen_count(srv); i++)
		if (fds[i] >= 0)
			f(fds[i]);
}

static void shut_fd(int fd)
{
	shutdown(fd, SHUT_RDWR);
}

static void close_fd(int fd)
{
	close(fd);
}

/* Refuses new connections at once. */
static void listeners_shutdown(struct server *srv)
{
	unsigned i;

	group_each(srv, srv->listen_main, shut_fd);
	group_each(srv, srv->listen_tls, shut_fd);
	for (i = 0; i < LISTEN_MAX; i++)
		if (srv->listen_metrics[i] >= 0)
			shutdown(srv->listen_metrics[i], SHUT_RDWR);
}

/* --access-log-buffer, rounded down to a power of two as a BPF ring must
 * be; 0 with the access log off: the kernel records nothing. */
static uint32_t log_ring_size(const struct server_config *cfg)
{
	uint32_t size = 4096;

	if (!cfg->access_log)
		return 0;
	while (size * 2ull <= cfg->access_log_buffer)
		size *= 2;
	return size;
}

static void setup_kernel_path(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	uint64_t chunks = cfg->cache_size / FS_CHUNK_SIZE;

	if (!cfg->kernel_cache) {
		log_info("kernel cache disabled (-n): serving from userspace");
		return;
	}
	if (kernel_path_open(&srv->kp, chunks, cfg->kernel_pass,
			     log_ring_size(cfg)) == 0) {
		srv->kernel = true;
		srv->cache = cache_new(&srv->kp, ".", srv->root_fd,
				       cfg->cache_max_file, &srv->files);
	}
	if (srv->cache && srv->access_log)
		srv->kernel_log = kernel_log_start(&srv->kp, srv->access_log);
	if (!srv->kernel || !srv->cache ||
	    (srv->access_log && !srv->kernel_log)) {
		log_warn("the eBPF kernel path is unavailable (see above); "
			 "serving everything from userspace");
		cache_free(srv->cache);
		srv->cache = NULL;
		if (srv->kernel)
			kernel_path_close(&srv->kp);
		srv->kernel = false;
		return;
	}
	log_info("eBPF kernel path on: %llu MiB cache, files up to %llu KiB, "
		 "requests for userspace passed %s",
		 (unsigned long long)cfg->cache_size >> 20,
		 (unsigned long long)cfg->cache_max_file >> 10,
		 srv->kp.pass == KERNEL_PASS_DIRECT ? "directly" :
		 "through the backlog");
}

/* Caches the small files of the document root that are not yet. */
static void preload(struct server *srv)
{
	const struct server_config *cfg = srv->cfg;

	cache_preload(srv->cache, ".",
		      PRELOAD_MAX < cfg->cache_max_file ? PRELOAD_MAX :
		      cfg->cache_max_file,
		      cfg->metrics_port && cfg->metrics_port != cfg->port ?
		      NULL : METRICS_PATH);
}

/* --workers, or as many as the CPUs we may run on (taskset, cpusets). */
static unsigned worker_count(const struct server_config *cfg)
{
	cpu_set_t cpus;
	int n;

	if (cfg->workers)
		return cfg->workers;
	if (sched_getaffinity(0, sizeof(cpus), &cpus))
		return 1;
	n = CPU_COUNT(&cpus);
	return n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : n;
}

/* SIGHUP: settings, a rotated access log reopened, and the document root
 * scanned again for small files to cache (changes to cached ones are seen
 * by inotify already). Connections are not touched. */
static void reload(struct server *srv)
{
	log_info("reloading: settings, access log, document root scan");
	sd_notify(0, "RELOADING=1");
	if (!config_reload(srv->cfg))
		log_warn("reload: settings unchanged");
	if (srv->access_log)
		access_log_reopen(srv->access_log, srv->cfg->access_log);
	if (srv->tls) {
		privilege_read_all(true);
		tls_server_reload(srv->tls, srv->cfg->tls_cert,
				  srv->cfg->tls_key);
		privilege_read_all(false);
	}
	if (srv->cache)
		preload(srv);
	sd_notify(0, "READY=1");
}

/* A first stop drains: no new connections, and each worker closes its
 * connections as they become idle, until the deadline. A second one, or a
 * worker that failed, stops at once. */
static void stop(struct server *srv, enum stop_level level)
{
	unsigned i;

	if (level == STOP_DRAIN) {
		srv->drain_deadline = clock_now_sec() + srv->cfg->shutdown_timeout;
		sd_notify(0, "STOPPING=1");
		log_info("draining: at most %u s", srv->cfg->shutdown_timeout);
	}
	/* first, so that the accepts the shutdown ends are no news */
	__atomic_store_n(&srv->stop, level, __ATOMIC_RELEASE);
	if (level == STOP_DRAIN)
		listeners_shutdown(srv);
	for (i = 0; i < srv->nworkers; i++)
		worker_wake(srv->workers[i]);
}

static void *worker_main(void *arg)
{
	struct worker_thread *t = arg;

	worker_run(t->worker);
	__atomic_fetch_sub(&t->srv->workers_running, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* "serving 'www' on port 8080 ([::]:8080, IPv4 too) with 2 worker(s)":
 * tests wait for "serving ... on port". */
static void log_serving(const struct server *srv)
{
	const struct server_config *cfg = srv->cfg;
	char where[LISTEN_MAX * (LISTEN_ADDR_TEXT + 2)] = "";
	size_t n = 0;
	unsigned i;

	for (i = 0; i < cfg->nlisten; i++) {
		n += snprintf(where + n, sizeof(where) - n, "%s", i ? ", " : "");
		listen_addr_format(&cfg->listen[i], where + n,
				   sizeof(where) - n);
		n = strlen(where);
	}
	log_info("serving '%s' on port %u (%s%s) with %u worker(s)",
		 cfg->docroot, listen_addr_port(&cfg->listen[0]), where,
		 cfg->listen[0].dual_stack ? ", IPv4 too" : "", srv->nworkers);
	if (srv->tls)
		log_info("HTTPS on port %u, the same addresses", cfg->tls_port);
}

/* Starts the workers, then takes signals until every worker has stopped.
 * Returns whether the workers were started. */
static bool run_workers(struct server *srv, struct worker_thread *threads,
			const sigset_t *signals)
{
	const struct timespec wait = { .tv_nsec = SIGNAL_WAIT_NS };
	unsigned i;
	int err;

	srv->workers_running = srv->nworkers;
	for (i = 0; i < srv->nworkers; i++) {
		threads[i] = (struct worker_thread){ .srv = srv,
						     .worker = srv->workers[i] };
		err = pthread_create(&threads[i].thread, NULL, worker_main,
				     &threads[i]);
		if (err) {
			log_error("starting worker %u: %s", i, strerror(err));
			srv->workers_running -= srv->nworkers - i;
			stop(srv, STOP_NOW);
			return false;
		}
		threads[i].started = true;
	}
	log_serving(srv);
	/* systemd's Type=notify: a no-op without $NOTIFY_SOCKET */
	sd_notify(0, "READY=1");

	while (__atomic_load_n(&srv->workers_running, __ATOMIC_ACQUIRE)) {
		int sig = sigtimedwait(signals, NULL, &wait);
		int level = __atomic_load_n(&srv->stop, __ATOMIC_RELAXED);

		if (sig == SIGHUP && level == STOP_NONE)
			reload(srv);
		else if ((sig == SIGTERM || sig == SIGINT) && level < STOP_NOW)
			stop(srv, level + 1);
		else if (sig < 0 && level == STOP_NONE &&
			 __atomic_load_n(&srv->workers_running,
					 __ATOMIC_ACQUIRE) < srv->nworkers) {
			log_error("a worker stopped on its own; stopping");
			srv->failed = true;
			stop(srv, STOP_NOW);
		}
	}
	return true;
}

static void server_cleanup(struct server *srv, struct worker_thread *threads)
{
	uint64_t cut_short = 0;
	unsigned i;

	/* The rings let go of the listening sockets only after we exit: free
	 * the ports now, so that a restart can bind them at once. */
	listeners_shutdown(srv);
	for (i = 0; threads && i < srv->nworkers; i++)
		if (threads[i].started)
			pthread_join(threads[i].thread, NULL);
	for (i = 0; srv->workers && i < srv->nworkers; i++) {
		if (!srv->workers[i])
			continue;
		cut_short += worker_conns_open(srv->workers[i]);
		/* before the kernel path: it takes connections out of it */
		worker_free(srv->workers[i]);
	}
	if (threads && cut_short)
		log_warn("stopping: %llu connection(s) cut short",
			 (unsigned long long)cut_short);
	else if (threads)
		log_info("stopping");
	free(srv->workers);
	/* the last lines, before the file and the ring go */
	kernel_log_stop(srv->kernel_log);
	cache_free(srv->cache);
	if (srv->kernel)
		kernel_path_close(&srv->kp);
	conn_table_free(&srv->conns);
	if (srv->root_fd >= 0)
		close(srv->root_fd);
	group_each(srv, srv->listen_main, close_fd);
	free(srv->listen_main);
	group_each(srv, srv->listen_tls, close_fd);
	free(srv->listen_tls);
	tls_server_close(srv->tls);
	for (i = 0; i < LISTEN_MAX; i++)
		if (srv->listen_metrics[i] >= 0)
			close(srv->listen_metrics[i]);
	access_log_close(srv->access_log);
}

/* Everything a worker needs, set up before it starts: afterwards only the
 * timeouts change (SIGHUP). */
static int server_setup(struct server *srv)
{
	struct server_config *cfg = srv->cfg;
	unsigned i;

	srv->root_fd = open(cfg->docroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (srv->root_fd < 0) {
		log_error("document root '%s': %s", cfg->docroot,
			  strerror(errno));
		return -1;
	}
	if (conn_table_init(&srv->conns, cfg->max_conns))
		return -1;
	srv->start_time = time(NULL);
	srv->files = (struct files_conf){
		.cache_control = &cfg->cache_control, .codings = &cfg->codings,
		.error_pages = &cfg->error_pages,
		.fallback = cfg->fallback };
	srv->nworkers = worker_count(cfg);
	srv->workers = calloc(srv->nworkers, sizeof(*srv->workers));
	srv->listen_main = group_new(srv);
	if (srv->tls)
		srv->listen_tls = group_new(srv);
	if (!srv->workers || !srv->listen_main ||
	    (srv->tls && !srv->listen_tls)) {
		log_error("workers: out of memory");
		return -1;
	}
	if (listen_group(srv, srv->listen_main, 0) ||
	    (srv->tls && listen_group(srv, srv->listen_tls, cfg->tls_port)))
		return -1;
	if (cfg->metrics_port != cfg->port && listen_metrics(srv))
		return -1;
	if (cfg->access_log) {
		srv->access_log = access_log_open(cfg->access_log);
		if (!srv->access_log)
			return -1;
	}
	/* The cache walks and watches the tree by path: relative to the root,
	 * paths need no search permission on the directories above it, which
	 * the user we drop to may not have. */
	if (fchdir(srv->root_fd)) {
		log_error("document root '%s': %s", cfg->docroot,
			  strerror(errno));
		return -1;
	}
	setup_kernel_path(srv);
	/* rings while still privileged, as kernel.io_uring_disabled may
	 * require */
	for (i = 0; i < srv->nworkers; i++) {
		srv->workers[i] = worker_new(srv, i);
		if (!srv->workers[i])
			return -1;
		srv->worker_metrics[i] = worker_metrics(srv->workers[i]);
	}
	if (privilege_drop(cfg->user, cfg->user_explicit,
			   srv->kernel ? srv->kp.stats_fd : -1, srv->root_fd,
			   cfg->docroot, srv->tls != NULL))
		return -1;
	/* Only now: a file the user we run as cannot read must not be
	 * answered from the cache either. */
	if (srv->cache)
		preload(srv);
	return 0;
}

int server_run(struct server_config *cfg, struct tls_server *tls)
{
	struct server srv = { .cfg = cfg, .root_fd = -1, .tls = tls };
	struct worker_thread *threads = NULL;
	sigset_t signals;
	unsigned i;

	for (i = 0; i < LISTEN_MAX; i++)
		srv.listen_metrics[i] = -1;
	/* blocked here, so in every worker too: taken by run_workers() */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (server_setup(&srv) == 0) {
		threads = calloc(srv.nworkers, sizeof(*threads));
		if (!threads)
			log_error("workers: out of memory");
		else if (!run_workers(&srv, threads, &signals))
			srv.failed = true;
	}
	server_cleanup(&srv, threads);
	free(threads);
	return threads && !srv.failed ? 0 : 1;
}
