// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Files beneath the document root, opened so that nothing outside it can
 * be reached, and the headers that describe them (files.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "mime.h"

int files_open(int root_fd, const char *path, bool no_symlinks)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		/* RESOLVE_BENEATH refuses "..", absolute symlinks and any
		 * symlink that would leave the root, whatever the path says. */
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
			   (no_symlinks ? RESOLVE_NO_SYMLINKS : 0),
	};
	const char *rel = path + strspn(path, "/");
	long fd;

	if (*rel == '\0')
		rel = ".";
	fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int files_error_status(int err)
{
	switch (err) {
	case -EACCES:
	case -EPERM:
		return 403;
	case -ENOENT:
	case -ENOTDIR:
	case -ENAMETOOLONG:
	case -EXDEV:		/* would leave the root: say nothing about it */
	case -ELOOP:
		return 404;
	default:
		return 500;
	}
}

void files_head_init(struct http_head *h, struct http_etag *etag,
		     const struct stat *st, const char *path,
		     const struct cache_control *cc)
{
	int64_t mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
			   st->st_mtim.tv_nsec;

	http_etag_make(etag, st->st_ino, st->st_size, mtime_ns);
	*h = (struct http_head){
		.status = 200,
		.content_type = mime_type_for(path, strlen(path)),
		.content_length = st->st_size,
		.last_modified = st->st_mtim.tv_sec,
		.etag = etag,
		.accept_ranges = true,
		.cache_control = cc ? cache_control_for(cc, path) : NULL,
		.keep_alive = true,
		.date = time(NULL),
	};
}

bool files_read_all(int fd, const struct stat *before, char *buf,
		    size_t len)
{
	struct stat after;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, done);

		if (n <= 0)
			return false;
		done += n;
	}
	if (fstat(fd, &after))
		return false;
	return after.st_size == before->st_size &&
	       after.st_mtim.tv_sec == before->st_mtim.tv_sec &&
	       after.st_mtim.tv_nsec == before->st_mtim.tv_nsec;
}

/* a was changed before b */
static bool older(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec < b->st_mtim.tv_sec ||
	       (a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
		a->st_mtim.tv_nsec < b->st_mtim.tv_nsec);
}

unsigned files_variants(int root_fd, const char *path, const struct stat *st,
			const struct coding_prefs *codings,
			int fds[CODING_COUNT], struct stat sts[CODING_COUNT])
{
	char name[PATH_MAX];
	unsigned mask = 0, i;

	for (i = 0; codings && i < codings->n; i++) {
		enum content_coding c = codings->order[i];
		struct stat vst;
		int fd, n;

		n = snprintf(name, sizeof(name), "%s%s", path, coding_suffix(c));
		if (n < 0 || (size_t)n >= sizeof(name))
			continue;
		fd = files_open(root_fd, name, false);
		if (fd < 0)
			continue;
		if (fstat(fd, &vst) || !S_ISREG(vst.st_mode) ||
		    older(&vst, st)) {
			close(fd);
			continue;
		}
		mask |= 1u << c;
		if (fds) {
			fds[c] = fd;
			sts[c] = vst;
		} else {
			close(fd);
		}
	}
	return mask;
}
