// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tls.c without a server: which certificates and keys are refused and why,
 * the ALPN choice, the first-byte check, and the steps of a connection
 * over a socket pair, driven by hand against an OpenSSL client.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

static char dir[] = "/tmp/test_tls.XXXXXX";

static char *path_of(const char *name)
{
	static char paths[8][64];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	ck_assert_ptr_nonnull(k);
	return k;
}

/* A self-signed certificate for key, valid from now + from_days to now +
 * to_days. */
static X509 *new_cert(EVP_PKEY *key, long from_days, long to_days)
{
	X509 *x = X509_new();

	ck_assert_ptr_nonnull(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"localhost", -1, -1,
				   0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
	return x;
}

static void write_cert(const char *name, X509 *x)
{
	FILE *f = fopen(path_of(name), "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_X509(f, x), 1);
	fclose(f);
}

static void write_key(const char *name, EVP_PKEY *k)
{
	FILE *f = fopen(path_of(name), "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL),
			 1);
	fclose(f);
}

static void write_text(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* cert.pem/key.pem: a good pair; other.pem: another key; expired.pem and
 * future.pem: key.pem's, out of date; junk: not PEM. */
static void setup(void)
{
	EVP_PKEY *key = new_key(), *other = new_key();
	X509 *good = new_cert(key, 0, 30), *expired = new_cert(key, -30, -1),
	     *future = new_cert(key, 2, 30);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_cert("cert.pem", good);
	write_key("key.pem", key);
	write_key("other.pem", other);
	write_cert("expired.pem", expired);
	write_cert("future.pem", future);
	write_text("junk", "not a certificate\n");
	X509_free(good);
	X509_free(expired);
	X509_free(future);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

static void teardown(void)
{
	const char *names[] = { "cert.pem", "key.pem", "other.pem",
				"expired.pem", "future.pem", "junk" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path_of(names[i]));
	rmdir(dir);
	strcpy(dir, "/tmp/test_tls.XXXXXX");
}

/* Whether tls_server_open(cert, key) fails, saying what on stderr. */
static bool refused_with(const char *cert, const char *key, const char *what)
{
	char buf[4096] = "";
	FILE *err = tmpfile();
	int saved = dup(STDERR_FILENO);
	struct tls_server *t;
	size_t n;

	fflush(stderr);
	dup2(fileno(err), STDERR_FILENO);
	t = tls_server_open(path_of(cert), path_of(key));
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(err);
	n = fread(buf, 1, sizeof(buf) - 1, err);
	buf[n] = '\0';
	fclose(err);
	tls_server_close(t);
	ck_assert_msg(strstr(buf, what), "expected '%s', got '%s'", what, buf);
	return t == NULL;
}

START_TEST(refused_pairs)
{
	struct tls_server *t = tls_server_open(path_of("cert.pem"),
					       path_of("key.pem"));

	ck_assert_ptr_nonnull(t);
	tls_server_close(t);
	ck_assert(refused_with("missing.pem", "key.pem",
			       "No such file or directory"));
	ck_assert(refused_with("cert.pem", "missing.pem",
			       "No such file or directory"));
	ck_assert(refused_with("junk", "key.pem", "not a PEM certificate"));
	ck_assert(refused_with("cert.pem", "junk", "not a PEM private key"));
	ck_assert(refused_with("cert.pem", "other.pem", "does not match"));
	ck_assert(refused_with("expired.pem", "key.pem", "expired on"));
	ck_assert(refused_with("future.pem", "key.pem", "not valid before"));
}
END_TEST

START_TEST(reload_keeps_the_old_pair)
{
	struct tls_server *t = tls_server_open(path_of("cert.pem"),
					       path_of("key.pem"));

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(tls_server_reload(t, path_of("junk"),
					   path_of("key.pem")), -1);
	ck_assert_int_eq(tls_server_reload(t, path_of("cert.pem"),
					   path_of("key.pem")), 0);
	tls_server_close(t);
}
END_TEST

static const unsigned char *alpn(const char *wire, unsigned len,
				 unsigned char *outlen)
{
	const unsigned char *out = NULL;

	if (!tls_alpn_choose((const unsigned char *)wire, len, &out, outlen))
		return NULL;
	return out;
}

START_TEST(alpn_choice)
{
	unsigned char len = 0;
	const char both[] = "\x02h2\x08http/1.1";
	const char *got = (const char *)alpn(both, sizeof(both) - 1, &len);

	ck_assert_ptr_eq(got, both + 4);
	ck_assert_uint_eq(len, 8);
	ck_assert_ptr_null(alpn("\x02h2", 3, &len));
	ck_assert_ptr_null(alpn("\x08http/1.0", 9, &len));
	ck_assert_ptr_null(alpn("", 0, &len));
	/* a length past the end is not read */
	ck_assert_ptr_null(alpn("\x09http/1.1", 9, &len));
	ck_assert_ptr_null(alpn("\x07http/1.1", 9, &len));
}
END_TEST

START_TEST(first_byte)
{
	ck_assert(tls_record_start(0x16));
	ck_assert(!tls_record_start('G'));
	ck_assert(!tls_record_start(0x80));	/* SSLv2-style hello */
	ck_assert(!tls_record_start(0x17));
}
END_TEST

/* Runs the client's and the server's handshakes, non-blocking, in turn
 * until both are done. */
static void handshake(SSL *client, SSL *server)
{
	bool client_done = false, server_done = false;
	int rounds;

	for (rounds = 0; rounds < 20 && !(client_done && server_done);
	     rounds++) {
		if (!client_done) {
			int r = SSL_do_handshake(client);

			client_done = r == 1;
			ck_assert(r == 1 || SSL_get_error(client, r) ==
					    SSL_ERROR_WANT_READ);
		}
		if (!server_done) {
			enum tls_step step = tls_handshake(server);

			server_done = step == TLS_DONE;
			ck_assert(step == TLS_DONE || step == TLS_WANT_READ);
		}
	}
	ck_assert(client_done && server_done);
}

START_TEST(connection_steps)
{
	struct tls_server *t = tls_server_open(path_of("cert.pem"),
					       path_of("key.pem"));
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	static char big[1 << 20];
	char buf[65536];
	size_t n = 0, got = 0, put;
	int sv[2], small = 16384;
	SSL *client, *server;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	/* so that a megabyte does not fit */
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	client = SSL_new(cctx);
	SSL_set_fd(client, sv[0]);
	SSL_set_connect_state(client);
	server = tls_conn_new(t, sv[1]);
	ck_assert_ptr_nonnull(server);

	/* nothing yet from the client: the server waits to read */
	ck_assert_int_eq(tls_read(server, buf, sizeof(buf), &n),
			 TLS_WANT_READ);
	handshake(client, server);
	ck_assert(!tls_kernel_sends(server));	/* an AF_UNIX pair has no kTLS */

	/* a request in, a response out */
	ck_assert_int_eq(SSL_write(client, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	ck_assert_int_eq(tls_read(server, buf, 4, &n), TLS_DONE);
	ck_assert_uint_eq(n, 4);
	ck_assert(tls_pending(server));	/* the rest waits in OpenSSL */
	ck_assert_int_eq(tls_read(server, buf + 4, sizeof(buf) - 4, &n),
			 TLS_DONE);
	ck_assert_uint_eq(n, 14);
	ck_assert(!tls_pending(server));

	/* more than the socket takes: a partial write, then a wait */
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(tls_write(server, big, sizeof(big), &put), TLS_DONE);
	ck_assert_uint_gt(put, 0);
	ck_assert_uint_lt(put, sizeof(big));
	ck_assert_int_eq(tls_write(server, big + put, sizeof(big) - put, &n),
			 TLS_WANT_WRITE);
	while (SSL_read_ex(client, buf, sizeof(buf), &n) == 1)
		got += n;
	ck_assert_uint_eq(got, put);

	/* the client says goodbye: closed */
	SSL_shutdown(client);
	ck_assert_int_eq(tls_read(server, buf, sizeof(buf), &n), TLS_CLOSED);

	SSL_free(client);
	tls_conn_free(server);
	SSL_CTX_free(cctx);
	tls_server_close(t);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls");
	TCase *files = tcase_create("files"), *steps = tcase_create("steps");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(files, setup, teardown);
	tcase_add_test(files, refused_pairs);
	tcase_add_test(files, reload_keeps_the_old_pair);
	tcase_add_checked_fixture(steps, setup, teardown);
	tcase_add_test(steps, connection_steps);
	tcase_add_test(steps, alpn_choice);
	tcase_add_test(steps, first_byte);
	suite_add_tcase(s, files);
	suite_add_tcase(s, steps);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
