// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * HTTPS with OpenSSL (tls.h): loading and checking the certificate and
 * key, the context's settings, and the steps of TLS on one connection.
 *
 * The settings follow Mozilla's "intermediate" profile, as a static site
 * that browsers reach wants: TLS 1.2 and 1.3, forward-secret AEAD ciphers
 * only for 1.2, no renegotiation, no compression, ALPN http/1.1. Sessions
 * resume from the context's cache (TLS 1.2) or tickets (both versions).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "tls.h"

/* Mozilla's intermediate configuration, version 5.7 */
#define TLS12_CIPHERS							\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"	\
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"		\
	"DHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS	"X25519:prime256v1:secp384r1"
#define SESSION_CONTEXT	"fileserver"

struct tls_server {
	pthread_mutex_t lock;	/* for ctx: workers take it, SIGHUP swaps it */
	SSL_CTX *ctx;
};

/* ---- the certificate and key ---------------------------------------- */

/* OpenSSL's reason for the last failure, for a message. */
static const char *ssl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r ? r : "unknown error";
}

/* t as "Jan  2 15:04:05 2026 GMT", into buf. */
static const char *asn1_time_text(const ASN1_TIME *t, char *buf, size_t size)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm) ||
	    !strftime(buf, size, "%Y-%m-%d %H:%M:%S GMT", &tm))
		snprintf(buf, size, "(unreadable date)");
	return buf;
}

static void *pem_cert(FILE *f)
{
	return PEM_read_X509(f, NULL, NULL, NULL);
}

static void *pem_key(FILE *f)
{
	return PEM_read_PrivateKey(f, NULL, NULL, NULL);
}

/* The first object of path that read() finds, or NULL after a message
 * that names setting's file and says it is not what. */
static void *read_pem(const char *setting, const char *path,
		      void *(*read)(FILE *), const char *what)
{
	FILE *f = fopen(path, "r");
	void *obj;

	if (!f) {
		log_error("%s '%s': %s", setting, path, strerror(errno));
		return NULL;
	}
	obj = read(f);
	fclose(f);
	if (!obj)
		log_error("%s '%s': not a PEM %s (%s)", setting, path, what,
			  ssl_reason());
	return obj;
}

/* Whether the certificate is valid now; a message if not. */
static bool cert_current(const char *path, X509 *x)
{
	char date[64];

	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		log_error("tls-cert '%s': expired on %s", path,
			  asn1_time_text(X509_get0_notAfter(x), date,
					 sizeof(date)));
		return false;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		log_error("tls-cert '%s': not valid before %s", path,
			  asn1_time_text(X509_get0_notBefore(x), date,
					 sizeof(date)));
		return false;
	}
	return true;
}

/* ctx's certificate chain and key, checked; false after a message. */
static bool load_pair(SSL_CTX *ctx, const char *cert, const char *key)
{
	X509 *leaf = read_pem("tls-cert", cert, pem_cert, "certificate");
	EVP_PKEY *pkey = leaf ? read_pem("tls-key", key, pem_key,
					 "private key") : NULL;
	bool ok = false;

	if (!pkey)
		goto out;
	if (!cert_current(cert, leaf))
		goto out;
	/* the file again, for the chain after the leaf */
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_error("tls-cert '%s': %s", cert, ssl_reason());
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_error("tls-key '%s' does not match tls-cert '%s'", key,
			  cert);
		goto out;
	}
	ok = true;
out:
	EVP_PKEY_free(pkey);
	X509_free(leaf);
	ERR_clear_error();
	return ok;
}

bool tls_alpn_choose(const unsigned char *in, unsigned inlen,
		     const unsigned char **out, unsigned char *outlen)
{
	static const char h1[] = "http/1.1";
	unsigned i = 0;

	while (i < inlen) {
		unsigned len = in[i];

		if (len > inlen - i - 1)
			return false;	/* malformed: OpenSSL checks too */
		if (len == sizeof(h1) - 1 && memcmp(in + i + 1, h1, len) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)len;
			return true;
		}
		i += 1 + len;
	}
	return false;
}

/* A client that offers ALPN without http/1.1 is refused, as nginx does:
 * it would speak something we do not. */
static int alpn_select(SSL *ssl, const unsigned char **out,
		       unsigned char *outlen, const unsigned char *in,
		       unsigned inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	return tls_alpn_choose(in, inlen, out, outlen) ? SSL_TLSEXT_ERR_OK :
		SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* A context with our settings and the pair; NULL after a message. */
static SSL_CTX *context_new(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		log_error("TLS: %s", ssl_reason());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_NO_COMPRESSION | SSL_OP_ENABLE_KTLS |
			    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* partial writes: a full socket takes what it can, as send() does;
	 * released buffers: an idle connection holds none */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)SESSION_CONTEXT,
				       sizeof(SESSION_CONTEXT) - 1);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	SSL_CTX_set_dh_auto(ctx, 1);
	/* as much as the socket has in one read, not a record's header and
	 * then its body (as nginx sets it); kTLS ignores it */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		log_error("TLS settings: %s", ssl_reason());
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (!load_pair(ctx, cert, key)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct tls_server *tls_server_open(const char *cert, const char *key)
{
	struct tls_server *t = calloc(1, sizeof(*t));

	if (!t) {
		log_error("TLS: out of memory");
		return NULL;
	}
	t->ctx = context_new(cert, key);
	if (!t->ctx) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

int tls_server_reload(struct tls_server *t, const char *cert,
		      const char *key)
{
	SSL_CTX *ctx = context_new(cert, key), *old;

	if (!ctx) {
		log_warn("reload: the TLS certificate in use stays");
		return -1;
	}
	pthread_mutex_lock(&t->lock);
	old = t->ctx;
	t->ctx = ctx;
	pthread_mutex_unlock(&t->lock);
	/* connections made with it hold their own reference */
	SSL_CTX_free(old);
	log_info("reload: TLS certificate '%s' read again", cert);
	return 0;
}

void tls_server_close(struct tls_server *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* ---- a connection ----------------------------------------------------- */

SSL *tls_conn_new(struct tls_server *t, int fd)
{
	SSL *ssl;

	pthread_mutex_lock(&t->lock);
	ssl = SSL_new(t->ctx);
	pthread_mutex_unlock(&t->lock);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		log_error("TLS for a connection: %s", ssl_reason());
		ERR_clear_error();
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

void tls_conn_free(SSL *ssl)
{
	if (!ssl)
		return;
	/* one try, never waiting: the socket is closed next either way */
	if (SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
}

/* What the failure of an OpenSSL call that returned r means. The error
 * queue is emptied, as the next call on this thread needs it. */
static enum tls_step step_of(SSL *ssl, int r)
{
	int err = SSL_get_error(ssl, r);

	ERR_clear_error();
	switch (err) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_CLOSED;
	case SSL_ERROR_SYSCALL:
		/* EOF (IGNORE_UNEXPECTED_EOF makes a bare one ZERO_RETURN),
		 * or a reset */
		return TLS_CLOSED;
	default:
		return TLS_FAILED;
	}
}

enum tls_step tls_handshake(SSL *ssl)
{
	int r = SSL_do_handshake(ssl);

	return r == 1 ? TLS_DONE : step_of(ssl, r);
}

enum tls_step tls_read(SSL *ssl, char *buf, size_t cap, size_t *got)
{
	int r = SSL_read_ex(ssl, buf, cap, got);

	return r == 1 ? TLS_DONE : step_of(ssl, r);
}

enum tls_step tls_write(SSL *ssl, const char *buf, size_t len, size_t *put)
{
	size_t n;
	int r;

	*put = 0;
	while (*put < len) {
		r = SSL_write_ex(ssl, buf + *put, len - *put, &n);
		if (r != 1) {
			enum tls_step step = step_of(ssl, r);

			/* what went in counts; the rest waits for room */
			return *put && step == TLS_WANT_WRITE ? TLS_DONE : step;
		}
		*put += n;
	}
	return TLS_DONE;
}

bool tls_pending(SSL *ssl)
{
	return SSL_has_pending(ssl);
}

bool tls_kernel_sends(SSL *ssl)
{
	return BIO_get_ktls_send(SSL_get_wbio(ssl));
}
