// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Dropping root once the port is bound and BPF attached: to --user, keeping
 * only the capabilities the kernel path still needs (privilege.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"
#include "privilege.h"

/*
 * CAP_NET_ADMIN: SO_SNDBUFFORCE gives kernel-path sockets room for a whole
 * cached response, above net.core.wmem_max.
 * CAP_BPF: before Linux 6.5 every bpf() call, map updates included, needs it
 * while kernel.unprivileged_bpf_disabled is set (Debian's default).
 */
/*
 * CAP_DAC_READ_SEARCH, with HTTPS, permitted but not in effect: a SIGHUP
 * reads the certificate's key again, which is usually readable by root
 * alone (nginx's master process stays root for it). It is in effect only
 * while privilege_read_all() says so, in that thread.
 */
static const cap_value_t read_all = CAP_DAC_READ_SEARCH;
static bool keep_read_all;

static int set_caps(const cap_value_t *list, int n, int n_effective)
{
	cap_t caps = cap_init();
	int err;

	if (!caps)
		return -1;
	err = (n && cap_set_flag(caps, CAP_PERMITTED, n, list, CAP_SET)) ||
	      (n_effective && cap_set_flag(caps, CAP_EFFECTIVE, n_effective,
					   list, CAP_SET)) ||
	      (keep_read_all &&
	       cap_set_flag(caps, CAP_PERMITTED, 1, &read_all, CAP_SET)) ||
	      cap_set_proc(caps);
	cap_free(caps);
	return err ? -1 : 0;
}

static bool permitted_now(cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (caps) {
		cap_get_flag(caps, cap, CAP_PERMITTED, &v);
		cap_free(caps);
	}
	return v == CAP_SET;
}

void privilege_read_all(bool on)
{
	cap_t caps;

	if (!keep_read_all)
		return;
	caps = cap_get_proc();
	if (!caps || cap_set_flag(caps, CAP_EFFECTIVE, 1, &read_all,
				  on ? CAP_SET : CAP_CLEAR) ||
	    cap_set_proc(caps))
		log_warn("CAP_DAC_READ_SEARCH: %s", strerror(errno));
	cap_free(caps);
}

/* Whether map operations work without CAP_BPF in the effective set. */
static bool maps_need_cap_bpf(int map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(map_fd, &info, &len) == -EPERM;
}

static int keep_caps(bool kernel_path, int probe_map_fd)
{
	/* CAP_NET_ADMIN first: with n_effective 1 it is the one in effect */
	static const cap_value_t kept[] = { CAP_NET_ADMIN, CAP_BPF };

	if (!kernel_path)
		return set_caps(kept, 0, 0);
	if (set_caps(kept, 2, 1))
		return -1;
	if (maps_need_cap_bpf(probe_map_fd)) {
		log_info("this kernel needs CAP_BPF for map updates: kept");
		return set_caps(kept, 2, 2);
	}
	return set_caps(kept, 1, 1);
}

int privilege_drop(const char *user, bool explicit_user, int probe_map_fd,
		   int root_fd, const char *root_path, bool keep_read)
{
	struct passwd *pw;

	/* root (--user root) reads everything anyway */
	keep_read_all = keep_read && strcmp(user, "root") != 0 &&
			permitted_now(read_all);
	if (geteuid() != 0) {
		if (explicit_user)
			log_warn("not started as root: --user %s ignored",
				 user);
		/* Started with capabilities instead (a systemd unit's
		 * AmbientCapabilities): those for loading go all the same. */
		if (keep_caps(probe_map_fd >= 0, probe_map_fd) ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
			log_error("dropping capabilities: %s", strerror(errno));
			return -1;
		}
	} else if (strcmp(user, "root") == 0) {
		log_warn("running as root (--user root)");
	} else {
		errno = 0;
		pw = getpwnam(user);
		if (!pw) {
			log_error("user '%s': %s", user,
				  errno ? strerror(errno) : "no such user");
			return -1;
		}
		if (prctl(PR_SET_KEEPCAPS, 1) ||
		    initgroups(pw->pw_name, pw->pw_gid) ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) ||
		    prctl(PR_SET_KEEPCAPS, 0) ||
		    keep_caps(probe_map_fd >= 0, probe_map_fd) ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
			log_error("switching to user '%s': %s", user,
				  strerror(errno));
			return -1;
		}
		log_debug("running as user '%s' (uid %u)", user,
			  (unsigned)pw->pw_uid);
	}
	if (faccessat(root_fd, ".", R_OK | X_OK, AT_EACCESS)) {
		log_error("document root '%s' is not readable by uid %u: %s",
			  root_path, (unsigned)geteuid(), strerror(errno));
		return -1;
	}
	return 0;
}
