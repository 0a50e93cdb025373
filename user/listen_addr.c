// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Listening addresses of either family (listen_addr.h). */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen_addr.h"

static void set_port(struct listen_addr *a, uint16_t port)
{
	if (a->sa.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->sa)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&a->sa)->sin_port = htons(port);
}

uint16_t listen_addr_port(const struct listen_addr *a)
{
	if (a->sa.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
}

struct listen_addr listen_addr_with_port(const struct listen_addr *a,
					 uint16_t port)
{
	struct listen_addr b = *a;

	set_port(&b, port);
	return b;
}

static void set_ipv4(struct listen_addr *a, struct in_addr addr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;

	*a = (struct listen_addr){ .len = sizeof(*sin) };
	sin->sin_family = AF_INET;
	sin->sin_addr = addr;
}

static void set_ipv6(struct listen_addr *a, const struct in6_addr *addr,
		     uint32_t scope)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;

	*a = (struct listen_addr){ .len = sizeof(*sin6) };
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = *addr;
	sin6->sin6_scope_id = scope;
}

/* 1-65535 in decimal, all of s */
static bool parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* "ADDR%SCOPE": the scope of a link-local address, by interface name */
static bool parse_ipv6(char *s, struct listen_addr *out)
{
	char *pct = strchr(s, '%');
	struct in6_addr addr;
	unsigned scope = 0;

	if (pct) {
		*pct = '\0';
		scope = if_nametoindex(pct + 1);
		if (!scope)
			return false;
	}
	if (inet_pton(AF_INET6, s, &addr) != 1)
		return false;
	set_ipv6(out, &addr, scope);
	return true;
}

bool listen_addr_parse(const char *text, uint16_t port,
		       struct listen_addr *out)
{
	char buf[LISTEN_ADDR_TEXT], *host = buf, *colon;
	struct in_addr v4;

	if (strlen(text) >= sizeof(buf) || !*text)
		return false;
	strcpy(buf, text);
	if (*host == '[') {
		char *close = strchr(host, ']');

		if (!close || (close[1] && close[1] != ':'))
			return false;
		*close = '\0';
		if (close[1] && !parse_port(close + 2, &port))
			return false;
		if (!parse_ipv6(host + 1, out))
			return false;
		set_port(out, port);
		return true;
	}
	colon = strchr(host, ':');
	if (colon) {
		*colon = '\0';
		if (!parse_port(colon + 1, &port))
			return false;
	} else if (parse_port(host, &port)) {
		host = "*";
	}
	if (strcmp(host, "*") == 0)
		v4.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &v4) != 1)
		return false;
	set_ipv4(out, v4);
	set_port(out, port);
	return true;
}

void listen_addr_any(uint16_t port, struct listen_addr *out)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {	/* no IPv6 here (ipv6.disable=1) */
		set_ipv4(out, (struct in_addr){ htonl(INADDR_ANY) });
	} else {
		close(fd);
		set_ipv6(out, &in6addr_any, 0);
		out->dual_stack = true;
	}
	set_port(out, port);
}

int listen_addr_of_interface(const char *iface, uint16_t port,
			     struct listen_addr *out, int max)
{
	struct ifaddrs *list, *ifa;
	int n = 0;

	if (getifaddrs(&list))
		return -1;
	for (ifa = list; ifa && n < max; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || strcmp(ifa->ifa_name, iface) != 0)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			set_ipv4(&out[n], ((struct sockaddr_in *)
					   ifa->ifa_addr)->sin_addr);
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 =
				(struct sockaddr_in6 *)ifa->ifa_addr;

			set_ipv6(&out[n], &sin6->sin6_addr,
				 sin6->sin6_scope_id);
		} else {
			continue;
		}
		set_port(&out[n++], port);
	}
	freeifaddrs(list);
	return n;
}

void listen_addr_format(const struct listen_addr *a, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN], scope[IF_NAMESIZE + 1] = "";

	if (a->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
			(const struct sockaddr_in6 *)&a->sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		if (sin6->sin6_scope_id &&
		    if_indextoname(sin6->sin6_scope_id, scope + 1))
			scope[0] = '%';
		snprintf(buf, size, "[%s%s]:%u", host, scope,
			 listen_addr_port(a));
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->sa)->sin_addr,
			  host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, listen_addr_port(a));
	}
}
