/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Giving up root once the port is bound and the BPF programs are attached,
 * as nginx's workers do: what is left to do (reading files, updating maps
 * through descriptors we already hold) needs no privilege, except for the
 * capabilities listed in privilege.c.
 */
#ifndef PRIVILEGE_H
#define PRIVILEGE_H

#include <stdbool.h>

/*
 * Becomes user (its uid, gid and groups) if we run as root, keeping only
 * the capabilities the kernel path still uses: CAP_NET_ADMIN always, and
 * CAP_BPF only where the kernel wants it for every bpf() call, which
 * probe_map_fd (any map we hold, -1 without the kernel path) finds out.
 * Not root: the same capabilities are kept of those the process was
 * given, and a warning if user was asked for explicitly. Then checks that
 * the document root is readable.
 * With keep_read (HTTPS), CAP_DAC_READ_SEARCH stays permitted, not in
 * effect, for privilege_read_all().
 * Returns 0, or -1 with the reason logged.
 */
int privilege_drop(const char *user, bool explicit_user, int probe_map_fd,
		   int root_fd, const char *root_path, bool keep_read);

/* Puts CAP_DAC_READ_SEARCH in effect (on) or out of it again, in the
 * calling thread only, if privilege_drop() kept it: around reading the
 * TLS key again. */
void privilege_read_all(bool on);

#endif /* PRIVILEGE_H */
