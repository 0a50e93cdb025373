/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The kernel path on kTLS sockets, tried rather than read about
 * (docs/ktls-kernel-path.md). The server's own BPF programs and cache
 * (kernel_path.c, cache.c) hold one file; loopback TCP pairs whose ends are
 * switched to kTLS with fixed keys (TLS 1.2, AES-GCM-128: the kernel needs
 * no handshake, only keys) carry a request for it, and the test records
 * what the kernel does with it:
 *
 *   order     a socket that already has kTLS cannot join sock_hash;
 *   plain     control: the same request on a plain socket is answered by
 *             the kernel, with no read by the server (else nothing below
 *             means anything);
 *   rx+tx     a socket that joined first, then got kTLS both ways, as
 *             TLS 1.2 with OpenSSL does: the request is not answered
 *             without a server read (the stream parser never runs on
 *             kTLS records), and the read gets it back wrapped in bytes
 *             that are not the client's;
 *   tx        kTLS on sends only, as OpenSSL 3.0 sets up TLS 1.3: the
 *             parser sees ciphertext and passes it on, the kernel answers
 *             nothing, the passed record never reaches the server's read,
 *             and userspace's own sends still reach the client intact;
 *   delete    a kTLS socket taken out of sock_hash while it has parser and
 *             verdict programs: what the server sends next goes out in
 *             plaintext (a kernel bug; the server never deletes).
 *
 * Every finding is printed, and each is a check: the test fails when a
 * kernel behaves otherwise, and docs/ktls-kernel-path.md, which these
 * findings back, is then to be revisited.
 * Exits 77 (SKIP) where the kernel has no kTLS or the kernel path does not
 * start; tools/vmtest runs it on Debian's kernels, which have both.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cache.h"
#include "files.h"
#include "http_date.h"
#include "kernel_path.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define SKIP 77
#define BODY "hello over kTLS\n"
#define REQUEST "GET /f.txt HTTP/1.1\r\nHost: test\r\n\r\n"
/* How long "the kernel did not answer" is waited for. */
#define ANSWER_WAIT_MS 1000

static int failures;

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		failures++;
}

static void note(const char *fmt, ...)
{
	va_list ap;

	printf("note: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void die(const char *what)
{
	printf("FAIL: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- sockets -------------------------------------------------------- */

struct pair {
	int client, server;
};

static struct pair pair_open(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct pair p;
	int lfd, one = 1;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&a, &len))
		die("listening on loopback");
	p.client = socket(AF_INET, SOCK_STREAM, 0);
	if (p.client < 0 ||
	    connect(p.client, (struct sockaddr *)&a, sizeof(a)))
		die("connecting");
	p.server = accept(lfd, NULL, NULL);
	if (p.server < 0)
		die("accepting");
	close(lfd);
	setsockopt(p.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(p.server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return p;
}

static void pair_close(struct pair *p)
{
	close(p->client);
	close(p->server);
}

/* Keys of the two directions: anything, as long as both ends agree. */
static struct tls12_crypto_info_aes_gcm_128 key_of(unsigned char seed)
{
	struct tls12_crypto_info_aes_gcm_128 k = {
		.info = { .version = TLS_1_2_VERSION,
			  .cipher_type = TLS_CIPHER_AES_GCM_128 },
	};

	memset(k.key, seed, sizeof(k.key));
	memset(k.iv, seed + 1, sizeof(k.iv));
	memset(k.salt, seed + 2, sizeof(k.salt));
	return k;
}

static struct tls12_crypto_info_aes_gcm_128 to_server, to_client;

/* The TLS ULP on fd, and kTLS in the directions asked for. 0 or -errno. */
static int ktls_on(int fd, const struct tls12_crypto_info_aes_gcm_128 *tx,
		   const struct tls12_crypto_info_aes_gcm_128 *rx)
{
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		return -errno;
	if (tx && setsockopt(fd, SOL_TLS, TLS_TX, tx, sizeof(*tx)))
		return -errno;
	if (rx && setsockopt(fd, SOL_TLS, TLS_RX, rx, sizeof(*rx)))
		return -errno;
	return 0;
}

/* The client's kTLS: it writes what the server reads, and back. */
static void client_ktls(int fd, bool tx, bool rx)
{
	int err = ktls_on(fd, tx ? &to_server : NULL, rx ? &to_client : NULL);

	if (err) {
		errno = -err;
		die("kTLS on the client");
	}
}

/* Reads what arrives on fd within ms milliseconds (more only while more
 * keeps coming). Returns the byte count; *err is the read's -errno if one
 * failed (e.g. -EBADMSG: a record kTLS could not decrypt). */
static size_t read_for(int fd, char *buf, size_t cap, int ms, int *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	*err = 0;
	while (got < cap && poll(&pfd, 1, got ? 100 : ms) == 1) {
		n = recv(fd, buf + got, cap - got, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0) {
			*err = n < 0 ? -errno : 0;
			break;
		}
		got += n;
	}
	return got;
}

static void send_all(int fd, const void *buf, size_t len)
{
	if (send(fd, buf, len, 0) != (ssize_t)len)
		die("sending");
}

/* Prints the bytes before and after the request in buf[0, n). */
static void note_around(const char *what, const char *buf, size_t n)
{
	const char *req = memmem(buf, n, REQUEST, sizeof(REQUEST) - 1);
	size_t before, i;

	if (!req)
		return;
	before = req - buf;
	printf("note: %s: %zu bytes before the request:", what, before);
	for (i = 0; i < before; i++)
		printf(" %02x", (unsigned char)buf[i]);
	printf("; %zu after:", n - before - (sizeof(REQUEST) - 1));
	for (i = before + sizeof(REQUEST) - 1; i < n; i++)
		printf(" %02x", (unsigned char)buf[i]);
	putchar('\n');
}

/* ---- the kernel path ------------------------------------------------ */

static struct kernel_path kp;
static uint32_t next_slot;

static int join(int fd, uint64_t *cookie)
{
	return kernel_path_add_conn(&kp, fd, next_slot++, 0, 5, cookie);
}

static struct fs_stats stats(void)
{
	struct fs_stats st;

	if (kernel_path_read_stats(&kp, &st))
		die("reading the kernel path's stats");
	return st;
}

static uint64_t kernel_hits(void)
{
	return stats().kernel_hits;
}

/* Where the programs say the requests since `before` went. */
static void note_stats(const char *what, const struct fs_stats *before)
{
	struct fs_stats now = stats();

	note("%s: kernel path counters: kernel_hits +%llu, passed to "
	     "userspace +%llu (unframed +%llu, not cacheable +%llu, "
	     "straight to the queue +%llu)", what,
	     (unsigned long long)(now.kernel_hits - before->kernel_hits),
	     (unsigned long long)(now.user_requests - before->user_requests),
	     (unsigned long long)(now.pass_unframed - before->pass_unframed),
	     (unsigned long long)(now.pass_not_cacheable -
				  before->pass_not_cacheable),
	     (unsigned long long)(now.user_direct - before->user_direct));
}

/* The response is a 200 carrying the file. */
static bool is_the_response(const char *buf, size_t len)
{
	static const char status[] = "HTTP/1.1 200 OK\r\n";

	return len > sizeof(BODY) &&
	       memcmp(buf, status, sizeof(status) - 1) == 0 &&
	       memcmp(buf + len - (sizeof(BODY) - 1), BODY,
		      sizeof(BODY) - 1) == 0;
}

static void setup(void)
{
	static struct files_conf fc;
	char dir[] = "/tmp/ktls-kernel-path.XXXXXX", date[HTTP_DATE_LEN + 1];
	struct cache *cache;
	int fd, root;

	if (!mkdtemp(dir) || chdir(dir))
		die("making the document root");
	fd = open("f.txt", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, BODY, sizeof(BODY) - 1) != sizeof(BODY) - 1)
		die("writing f.txt");
	close(fd);
	root = open(".", O_PATH | O_DIRECTORY);
	if (root < 0)
		die("opening the document root");
	if (kernel_path_open(&kp, 64, KERNEL_PASS_AUTO, 0)) {
		printf("SKIP: the kernel path does not start on this kernel "
		       "(above): HTTPS is answered by userspace like every "
		       "request\n");
		exit(SKIP);
	}
	http_date_format(time(NULL), date);
	kernel_path_set_clock(&kp, date);
	cache = cache_new(&kp, ".", root, 1 << 20, &fc);
	if (!cache || !cache_admit(cache, "/f.txt", "/f.txt"))
		die("caching /f.txt");
	/* The files are in the maps now: the directory can go. */
	unlink("f.txt");
	if (chdir("/") || rmdir(dir))
		die("removing the document root");
	to_server = key_of(0x10);
	to_client = key_of(0x40);
}

/* ---- the experiments ------------------------------------------------ */

static void order(void)
{
	struct pair p = pair_open();
	uint64_t cookie;
	int err;

	err = ktls_on(p.server, &to_client, &to_server);
	if (err == -ENOENT) {
		printf("SKIP: this kernel has no kTLS (CONFIG_TLS; the tls "
		       "module): HTTPS is answered by userspace with OpenSSL "
		       "doing the records\n");
		exit(SKIP);
	}
	if (err) {
		errno = -err;
		die("kTLS on the server");
	}
	err = join(p.server, &cookie);
	check(err == -EINVAL, "order: a kTLS socket cannot join sock_hash "
	      "(%s), so a connection must join before its handshake ends",
	      strerror(-err));
	pair_close(&p);
}

static void plain(void)
{
	struct pair p = pair_open();
	uint64_t cookie, hits = kernel_hits();
	char buf[4096];
	size_t n;
	int err;

	if (join(p.server, &cookie))
		die("plain: joining sock_hash");
	send_all(p.client, REQUEST, sizeof(REQUEST) - 1);
	n = read_for(p.client, buf, sizeof(buf), ANSWER_WAIT_MS, &err);
	check(is_the_response(buf, n) && kernel_hits() == hits + 1,
	      "plain: the kernel answers a plain socket's request "
	      "(%zu bytes, no read by the server)", n);
	pair_close(&p);
}

/* Joins p's server end to sock_hash, then switches it to kTLS, receiving
 * too if rx, and the client to kTLS both ways, and sends the request: the
 * kernel must not answer it without a read by the server. False if the
 * server end could not get kTLS. */
static bool request_over_ktls(const char *what, struct pair *p, bool rx)
{
	uint64_t cookie, hits = kernel_hits();
	char buf[4096];
	size_t n;
	int err;

	if (join(p->server, &cookie))
		die("joining sock_hash");
	err = ktls_on(p->server, &to_client, rx ? &to_server : NULL);
	check(err == 0, "%s: kTLS %s on a socket in sock_hash (%s)", what,
	      rx ? "both ways" : "on sends", strerror(-err));
	if (err)
		return false;
	client_ktls(p->client, true, true);
	send_all(p->client, REQUEST, sizeof(REQUEST) - 1);
	n = read_for(p->client, buf, sizeof(buf), ANSWER_WAIT_MS, &err);
	check(n == 0 && kernel_hits() == hits,
	      "%s: no answer without a read by the server (%zu bytes in %d "
	      "ms)", what, n, ANSWER_WAIT_MS);
	return true;
}

/* The stream parser does not run on kTLS records: the verdict runs inside
 * the server's read, on the decrypted record, and finds no request framed
 * (userspace's, then, by the backlog). */
static void rx_tx(void)
{
	struct pair p = pair_open();
	struct fs_stats before = stats();
	char buf[4096];
	ssize_t got;
	size_t n;
	int err;

	if (!request_over_ktls("rx+tx", &p, true)) {
		pair_close(&p);
		return;
	}
	got = recv(p.server, buf, sizeof(buf), MSG_DONTWAIT);
	check(got < 0 && errno == EAGAIN,
	      "rx+tx: the server's first read returns nothing (%zd, %s): the "
	      "verdict, run inside it, sent the record round by the backlog",
	      got, got < 0 ? strerror(errno) : "bytes");
	n = read_for(p.server, buf, sizeof(buf), ANSWER_WAIT_MS, &err);
	note_around("rx+tx", buf, n);
	note_stats("rx+tx", &before);
	/* TLS 1.2 AES-GCM: 5 bytes of header and 8 of explicit IV before
	 * the plaintext, 16 of tag after it */
	check(n == sizeof(REQUEST) - 1 + 29 &&
	      memmem(buf, n, REQUEST, sizeof(REQUEST) - 1) == buf + 13,
	      "rx+tx: a later read gets the request inside the whole record "
	      "buffer (%zu bytes): 13 bytes before it, 16 after, not "
	      "plaintext (unset memory), which OpenSSL would take for "
	      "the client's", n);
	n = read_for(p.client, buf, sizeof(buf), ANSWER_WAIT_MS, &err);
	check(n == 0 && kernel_hits() == before.kernel_hits,
	      "rx+tx: and the kernel answers nothing (%zu bytes to the client)",
	      n);
	pair_close(&p);
}

/* kTLS on sends only: the request arrives encrypted, which the parser
 * passes on as no HTTP. */
static void tx_only(void)
{
	static const char reply[] = "HTTP/1.1 204 No Content\r\n\r\n";
	struct pair p = pair_open();
	struct fs_stats before = stats();
	char buf[4096];
	size_t n;
	int err;

	if (!request_over_ktls("tx", &p, false)) {
		pair_close(&p);
		return;
	}
	n = read_for(p.server, buf, sizeof(buf), ANSWER_WAIT_MS, &err);
	note_stats("tx", &before);
	check(n == 0 && stats().pass_unframed == before.pass_unframed + 1,
	      "tx: the record, not HTTP, is passed to userspace by the "
	      "backlog, and never reaches the server's read (%zu bytes in "
	      "%d ms): the connection would stall", n, ANSWER_WAIT_MS);
	send_all(p.server, reply, sizeof(reply) - 1);
	n = read_for(p.client, buf, sizeof(buf), ANSWER_WAIT_MS, &err);
	check(n == sizeof(reply) - 1 && !memcmp(buf, reply, n),
	      "tx: the server's own send reaches the client intact, through "
	      "the sk_msg program and kTLS (%zu bytes%s%s)", n,
	      err ? ", read error: " : "", err ? strerror(-err) : "");
	pair_close(&p);
}

static void delete(void)
{
	static const char secret[] = "plaintext-if-tls-was-stripped";
	struct pair p = pair_open();
	uint64_t cookie;
	char buf[4096];
	size_t n;
	int err;

	if (join(p.server, &cookie))
		die("delete: joining sock_hash");
	if (ktls_on(p.server, &to_client, &to_server))
		die("delete: kTLS on the server");
	if (bpf_map_delete_elem(kp.sock_hash_fd, &cookie))
		die("delete: taking the socket out of sock_hash");
	send_all(p.server, secret, sizeof(secret) - 1);
	n = read_for(p.client, buf, sizeof(buf), ANSWER_WAIT_MS, &err);
	check(n == sizeof(secret) - 1 && !memcmp(buf, secret, n),
	      "delete: after leaving sock_hash, a send of %zu bytes reaches "
	      "the wire as %zu bytes, %s", sizeof(secret) - 1, n,
	      memmem(buf, n, secret, sizeof(secret) - 1) ?
	      "in plaintext: kTLS is stripped (a kernel bug: never delete a "
	      "kTLS socket from sock_hash)" : "encrypted: the kernel has "
	      "fixed it");
	pair_close(&p);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	setup();
	order();
	plain();
	rx_tx();
	tx_only();
	delete();
	kernel_path_close(&kp);
	printf("%s\n", failures ? "FAILED" : "all findings as documented");
	return failures ? 1 : 0;
}
