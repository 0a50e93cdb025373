/*
 * Unit tests for the open-file table (user/open_files.c): when a kept fd
 * may answer, which fd is handed out, what is closed when, and that the
 * static-file plans use it without closing what the table owns.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "open_files.h"
#include "static_file.h"

static char root[] = "/tmp/test_open_files.XXXXXX";
static int root_fd = -1;
static struct open_files of;

static void write_at(const char *rel, size_t len)
{
	int fd = openat(root_fd, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char buf[512];
	size_t done = 0;

	ck_assert_int_ge(fd, 0);
	memset(buf, 'x', sizeof(buf));
	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);

		ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	close(fd);
}

/* Opens rel as the server would, and offers it to the table. */
static int open_put(const char *path, bool *kept)
{
	int fd = openat(root_fd, path + 1, O_RDONLY);
	struct stat st;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	*kept = open_files_put(&of, path, fd, &st, false);
	return fd;
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(root));
	root_fd = open(root, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(root_fd, 0);
	open_files_init(&of);
}

static void teardown(void)
{
	char cmd[128];

	open_files_clear(&of);
	close(root_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(root, "/tmp/test_open_files.XXXXXX");
}

START_TEST(fresh_only_while_the_path_names_the_same_unchanged_file)
{
	struct open_file f = { .dev = 8, .ino = 1234,
			       .ctime = { 1700000000, 5 } };
	struct stat now = { .st_mode = S_IFREG | 0644, .st_nlink = 1,
			    .st_size = 100, .st_dev = 8, .st_ino = 1234,
			    .st_ctim = { 1700000000, 5 } };

	ck_assert(open_files_fresh(&f, &now));
	now.st_ino = 1235;			/* renamed over, or swapped */
	ck_assert(!open_files_fresh(&f, &now));
	now.st_ino = 1234;
	now.st_dev = 9;				/* another filesystem */
	ck_assert(!open_files_fresh(&f, &now));
	now.st_dev = 8;
	now.st_ctim.tv_nsec = 6;		/* rewritten, chmod, chown */
	ck_assert(!open_files_fresh(&f, &now));
	now.st_ctim = f.ctime;
	now.st_size = OPEN_FILES_SIZE_MAX + 1;	/* grew past what is kept */
	ck_assert(!open_files_fresh(&f, &now));
	now.st_size = OPEN_FILES_SIZE_MAX;
	ck_assert(open_files_fresh(&f, &now));
	now.st_mode = S_IFDIR | 0755;
	ck_assert(!open_files_fresh(&f, &now));
}
END_TEST

START_TEST(kept_fd_is_handed_out_with_its_stat_now)
{
	struct stat st;
	bool kept, is_index = true;
	int fd;

	write_at("a.txt", 10);
	fd = open_put("/a.txt", &kept);
	ck_assert(kept);
	ck_assert_int_eq(open_files_get(&of, root_fd, "/a.txt", &st, &is_index), fd);
	ck_assert_int_eq(st.st_size, 10);
	ck_assert(!is_index);
	/* the same inode rewritten in place: its new size, from the same fd
	 * (or, if the rewrite moved st_ctime, none: opened again) */
	write_at("a.txt", 20);
	fd = open_files_get(&of, root_fd, "/a.txt", &st, &is_index);
	ck_assert(fd == -1 || st.st_size == 20);
	ck_assert_int_eq(open_files_get(&of, root_fd, "/b.txt", &st, &is_index), -1);
}
END_TEST

START_TEST(unlinked_file_is_closed_and_not_served)
{
	struct stat st;
	bool kept, is_index;
	int fd;

	write_at("gone.txt", 10);
	fd = open_put("/gone.txt", &kept);
	ck_assert(kept);
	ck_assert_int_eq(unlinkat(root_fd, "gone.txt", 0), 0);
	ck_assert_int_eq(open_files_get(&of, root_fd, "/gone.txt", &st, &is_index), -1);
	ck_assert(!is_open(fd));
}
END_TEST

START_TEST(file_grown_past_the_limit_is_closed)
{
	struct stat st;
	bool kept, is_index;
	int fd;

	write_at("grow.txt", 10);
	fd = open_put("/grow.txt", &kept);
	ck_assert(kept);
	write_at("grow.txt", OPEN_FILES_SIZE_MAX + 1);
	ck_assert_int_eq(open_files_get(&of, root_fd, "/grow.txt", &st, &is_index), -1);
	ck_assert(!is_open(fd));
}
END_TEST

START_TEST(large_files_and_long_paths_stay_the_callers)
{
	char path[OPEN_FILES_PATH_MAX + 8] = "/";
	bool kept;
	int fd;

	write_at("big.bin", OPEN_FILES_SIZE_MAX + 1);
	fd = open_put("/big.bin", &kept);
	ck_assert(!kept);
	ck_assert(is_open(fd));
	close(fd);

	/* a directory and a file name, each under NAME_MAX */
	memset(path + 1, 'p', OPEN_FILES_PATH_MAX);
	path[OPEN_FILES_PATH_MAX / 2] = '\0';
	ck_assert_int_eq(mkdirat(root_fd, path + 1, 0755), 0);
	path[OPEN_FILES_PATH_MAX / 2] = '/';
	path[OPEN_FILES_PATH_MAX + 1] = '\0';
	write_at(path + 1, 1);
	fd = open_put(path, &kept);
	ck_assert(!kept);
	ck_assert(is_open(fd));
	close(fd);
}
END_TEST

/* Full: the file used least recently is closed for a new one. */
START_TEST(least_recently_used_goes_first)
{
	int fds[OPEN_FILES_MAX + 1], i;
	char path[32];
	struct stat st;
	bool kept, is_index;

	for (i = 0; i <= OPEN_FILES_MAX; i++) {
		snprintf(path, sizeof(path), "f%d", i);
		write_at(path, 1);
	}
	for (i = 0; i < OPEN_FILES_MAX; i++) {
		snprintf(path, sizeof(path), "/f%d", i);
		fds[i] = open_put(path, &kept);
		ck_assert(kept);
	}
	/* f0 used again: f1 is now the least recently used */
	ck_assert_int_eq(open_files_get(&of, root_fd, "/f0", &st, &is_index), fds[0]);
	snprintf(path, sizeof(path), "/f%d", OPEN_FILES_MAX);
	fds[OPEN_FILES_MAX] = open_put(path, &kept);
	ck_assert(kept);
	ck_assert(!is_open(fds[1]));
	ck_assert_int_eq(open_files_get(&of, root_fd, "/f1", &st, &is_index), -1);
	ck_assert_int_eq(open_files_get(&of, root_fd, "/f0", &st, &is_index), fds[0]);
	ck_assert_int_eq(open_files_get(&of, root_fd, "/f2", &st, &is_index), fds[2]);
	ck_assert_int_eq(open_files_get(&of, root_fd, path, &st, &is_index),
			 fds[OPEN_FILES_MAX]);
}
END_TEST

START_TEST(idle_files_are_closed_by_the_tick)
{
	struct stat st;
	bool kept, is_index;
	int fd;

	write_at("old.txt", 1);
	fd = open_put("/old.txt", &kept);
	ck_assert(kept);
	open_files_expire(&of);
	ck_assert(is_open(fd));
	/* as if nobody had asked for it since OPEN_FILES_INACTIVE_MS */
	of.slot[of.oldest].used_ms -= OPEN_FILES_INACTIVE_MS;
	open_files_expire(&of);
	ck_assert(!is_open(fd));
	ck_assert_int_eq(open_files_get(&of, root_fd, "/old.txt", &st,
					&is_index), -1);
}
END_TEST

/* The path now names another file, the kept one living on elsewhere: a
 * directory above it moved, or a symlink swapped. */
START_TEST(path_naming_another_file_is_opened_again)
{
	struct stat st;
	bool kept, is_index;
	int fd;

	ck_assert_int_eq(mkdirat(root_fd, "v1", 0755), 0);
	ck_assert_int_eq(mkdirat(root_fd, "v2", 0755), 0);
	write_at("v1/x.txt", 1);
	write_at("v2/x.txt", 2);
	ck_assert_int_eq(symlinkat("v1", root_fd, "cur"), 0);
	fd = open_put("/cur/x.txt", &kept);
	ck_assert(kept);
	ck_assert_int_eq(open_files_get(&of, root_fd, "/cur/x.txt", &st,
					&is_index), fd);
	ck_assert_int_eq(unlinkat(root_fd, "cur", 0), 0);
	ck_assert_int_eq(symlinkat("v2", root_fd, "cur"), 0);
	ck_assert_int_eq(open_files_get(&of, root_fd, "/cur/x.txt", &st,
					&is_index), -1);
	ck_assert(!is_open(fd));

	fd = open_put("/v1/x.txt", &kept);
	ck_assert(kept);
	ck_assert_int_eq(renameat(root_fd, "v1", root_fd, "v0"), 0);
	ck_assert_int_eq(open_files_get(&of, root_fd, "/v1/x.txt", &st,
					&is_index), -1);
	ck_assert(!is_open(fd));
}
END_TEST

/* A plan: the second GET of a small file uses the kept fd, and neither a
 * GET nor a HEAD closes it; a directory's index is kept under its path. */
START_TEST(plans_use_kept_files_without_closing_them)
{
	static char head[256];
	struct static_file_plan plan;
	struct http_request req;
	int status, n, first;

	write_at("s.txt", 7);
	ck_assert_int_eq(mkdirat(root_fd, "d", 0755), 0);
	write_at("d/index.html", 3);
	n = snprintf(head, sizeof(head), "GET /s.txt HTTP/1.1\r\nHost: t\r\n\r\n");
	ck_assert_int_eq(http_parse_request(head, n, &req, &status),
			 HTTP_PARSE_DONE);
	static_file_plan(&plan, root_fd, &of, &req, NULL);
	ck_assert_int_eq(plan.body, STATIC_BODY_FILE);
	ck_assert(plan.fd_kept);
	first = plan.fd;
	static_file_plan(&plan, root_fd, &of, &req, NULL);
	ck_assert(plan.fd_kept);
	ck_assert_int_eq(plan.fd, first);
	ck_assert_int_eq(plan.file_len, 7);

	n = snprintf(head, sizeof(head), "HEAD /s.txt HTTP/1.1\r\nHost: t\r\n\r\n");
	ck_assert_int_eq(http_parse_request(head, n, &req, &status),
			 HTTP_PARSE_DONE);
	static_file_plan(&plan, root_fd, &of, &req, NULL);
	ck_assert_int_eq(plan.body, STATIC_BODY_NONE);
	ck_assert(is_open(first));

	n = snprintf(head, sizeof(head), "GET /d/ HTTP/1.1\r\nHost: t\r\n\r\n");
	ck_assert_int_eq(http_parse_request(head, n, &req, &status),
			 HTTP_PARSE_DONE);
	static_file_plan(&plan, root_fd, &of, &req, NULL);
	ck_assert_int_eq(plan.file_len, 3);
	static_file_plan(&plan, root_fd, &of, &req, NULL);
	ck_assert(plan.fd_kept);
	ck_assert_int_eq(plan.file_len, 3);
	ck_assert_str_eq(plan.file, "/d/index.html");
	/* without the slash: still the redirect, not the index kept */
	n = snprintf(head, sizeof(head), "GET /d HTTP/1.1\r\nHost: t\r\n\r\n");
	ck_assert_int_eq(http_parse_request(head, n, &req, &status),
			 HTTP_PARSE_DONE);
	static_file_plan(&plan, root_fd, &of, &req, NULL);
	ck_assert_int_eq(plan.head.status, 301);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("open_files");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fresh_only_while_the_path_names_the_same_unchanged_file);
	tcase_add_test(tc, kept_fd_is_handed_out_with_its_stat_now);
	tcase_add_test(tc, unlinked_file_is_closed_and_not_served);
	tcase_add_test(tc, file_grown_past_the_limit_is_closed);
	tcase_add_test(tc, large_files_and_long_paths_stay_the_callers);
	tcase_add_test(tc, least_recently_used_goes_first);
	tcase_add_test(tc, idle_files_are_closed_by_the_tick);
	tcase_add_test(tc, path_naming_another_file_is_opened_again);
	tcase_add_test(tc, plans_use_kept_files_without_closing_them);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
