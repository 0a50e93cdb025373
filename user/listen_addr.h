/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where the server listens: addresses of either family, as --listen, -i and
 * the default give them. Parsing and formatting only; server.c binds.
 */
#ifndef LISTEN_ADDR_H
#define LISTEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define LISTEN_MAX		8	/* addresses, all settings together */
/* "[" IPv6 "%" scope "]:" port, NUL included */
#define LISTEN_ADDR_TEXT	80

struct listen_addr {
	struct sockaddr_storage sa;	/* its port is the one to bind */
	socklen_t len;
	/* [::] taking IPv4 too (IPV6_V6ONLY off): the default only; an
	 * explicit "[::]" is IPv6 only, as with nginx */
	bool dual_stack;
};

/*
 * One --listen value: "PORT", "*:PORT" or "*" (every IPv4 address),
 * "IPV4[:PORT]" or "[IPV6][:PORT]"; no host names. A missing port is port.
 * Returns whether text is one of these.
 */
bool listen_addr_parse(const char *text, uint16_t port,
		       struct listen_addr *out);

/* Every address of either family, on port: "[::]" taking IPv4 too, or
 * "0.0.0.0" on a host without IPv6. */
void listen_addr_any(uint16_t port, struct listen_addr *out);

/*
 * The IPv4 and IPv6 addresses of interface iface, on port, at most max.
 * Returns how many, 0 if it has none (or does not exist), -1 if the
 * interfaces cannot be listed (errno says why).
 */
int listen_addr_of_interface(const char *iface, uint16_t port,
			     struct listen_addr *out, int max);

/* The same address on another port. */
struct listen_addr listen_addr_with_port(const struct listen_addr *a,
					 uint16_t port);

uint16_t listen_addr_port(const struct listen_addr *a);

/* "127.0.0.1:8080", "[::1]:8080", "[fe80::1%eth0]:8080" */
void listen_addr_format(const struct listen_addr *a, char *buf, size_t size);

#endif /* LISTEN_ADDR_H */
