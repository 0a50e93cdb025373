/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * HTTPS: the certificate and key (one OpenSSL context, replaced whole on
 * SIGHUP), and TLS on a connection's socket. OpenSSL reads and writes the
 * non-blocking socket itself, as in nginx; each step says what it waits
 * for, and the worker waits for that on its ring. With kTLS (Linux's
 * CONFIG_TLS, SSL_OP_ENABLE_KTLS) the kernel encrypts what is written to
 * the socket, so large files still go out by sendfile().
 */
#ifndef TLS_H
#define TLS_H

#include <stdbool.h>
#include <stddef.h>

struct ssl_st;
struct tls_server;

/* Loads the certificate chain (PEM, leaf first) and key (PEM), and checks
 * that they belong together and that the certificate is valid now. NULL
 * after a message that names the file and what is wrong with it. */
struct tls_server *tls_server_open(const char *cert, const char *key);

/* SIGHUP: the files again, for connections from now on; on failure the
 * old ones stay (logged). Returns 0 or -1. */
int tls_server_reload(struct tls_server *t, const char *cert,
		      const char *key);

void tls_server_close(struct tls_server *t);

/* What a TLS step on a connection needs next. */
enum tls_step {
	TLS_DONE,		/* done: the handshake, or bytes moved */
	TLS_WANT_READ,		/* the socket readable, then the step again */
	TLS_WANT_WRITE,		/* the socket writable, then the step again */
	TLS_CLOSED,		/* the peer closed (close_notify or EOF) */
	TLS_FAILED,		/* a protocol error: close */
};

/* TLS as the server on fd; NULL when out of memory (logged). */
struct ssl_st *tls_conn_new(struct tls_server *t, int fd);
/* A close_notify when the handshake was done, then frees ssl. */
void tls_conn_free(struct ssl_st *ssl);

enum tls_step tls_handshake(struct ssl_st *ssl);
/* Up to cap decrypted bytes into buf: *got of them on TLS_DONE. */
enum tls_step tls_read(struct ssl_st *ssl, char *buf, size_t cap,
		       size_t *got);
/* As much of buf as the socket takes: *put bytes on TLS_DONE (> 0). */
enum tls_step tls_write(struct ssl_st *ssl, const char *buf, size_t len,
			size_t *put);
/* Whether ssl holds received bytes not yet read: the socket will not
 * poll readable for them. */
bool tls_pending(struct ssl_st *ssl);
/* Whether the kernel encrypts ssl's sends (kTLS): sendfile() works. */
bool tls_kernel_sends(struct ssl_st *ssl);

/* Whether a connection's first byte starts a TLS handshake record: if
 * not, it is most likely plain HTTP sent to the HTTPS port. */
static inline bool tls_record_start(unsigned char first)
{
	return first == 0x16;
}

/* ALPN: whether the client's protocol list (wire format: length-prefixed
 * names) offers http/1.1; *out, *outlen then name it within in. */
bool tls_alpn_choose(const unsigned char *in, unsigned inlen,
		     const unsigned char **out, unsigned char *outlen);

#endif /* TLS_H */
