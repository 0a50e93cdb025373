/*
 * Unit tests for the cache's policy: what the kernel would answer after
 * admissions, evictions (oldest first, within the chunk budget), the 2 s
 * quarantine of dropped memory, and invalidation by real inotify events in
 * a temporary document root. The maps are fake_kernel_path.c's.
 */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "files.h"
#include "fake_kernel_path.h"
#include "metrics.h"

static char root[] = "/tmp/test_cache.XXXXXX";
static int root_fd = -1;
static struct kernel_path kp;
static struct cache *cache;
/* --precompressed gzip */
static const struct coding_prefs codings = { { CODING_GZIP }, 1 };
static const struct files_conf files = { .codings = &codings };

static void put_file(const char *rel, const char *body)
{
	int fd = openat(root_fd, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
}

static void start(uint32_t chunks)
{
	memset(&fake, 0, sizeof(fake));
	ck_assert_ptr_nonnull(mkdtemp(root));
	root_fd = open(root, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(root_fd, 0);
	kp = (struct kernel_path){ .chunk_count = chunks };
	cache = cache_new(&kp, root, root_fd, 1 << 20, &files);
	ck_assert_ptr_nonnull(cache);
}

static void setup(void)
{
	start(FAKE_CHUNKS);
}

static void teardown(void)
{
	char cmd[128];

	cache_free(cache);
	close(root_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(root, "/tmp/test_cache.XXXXXX");
}

/* Hands the cache what inotify has queued. */
static void deliver_events(void)
{
	char buf[64 * 1024] __attribute__((aligned(8)));
	ssize_t n;

	while ((n = read(cache_event_fd(cache), buf, sizeof(buf))) > 0)
		cache_handle_events(cache, buf, n);
}

static struct cache_stats stats(void)
{
	struct cache_stats s;

	cache_get_stats(cache, &s);
	return s;
}

static bool cached(const char *key)
{
	uint32_t len;

	return fake_response(key, &len) != NULL;
}

START_TEST(test_admit_publishes_whole_response)
{
	const char *resp;
	uint32_t len;

	put_file("a.txt", "hello, kernel");
	ck_assert(cache_admit(cache, "/a.txt", "/a.txt"));
	resp = fake_response("/a.txt", &len);
	ck_assert_ptr_nonnull(resp);
	ck_assert_int_eq(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17), 0);
	ck_assert_ptr_nonnull(memmem(resp, len, "Content-Length: 13\r\n", 20));
	ck_assert_uint_gt(len, 13);
	ck_assert_mem_eq(resp + len - 13, "hello, kernel", 13);
	ck_assert_uint_eq(fake.entries[fake.refs[0].entry].head_len, len - 13);
	ck_assert_uint_eq(stats().entries, 1);
	ck_assert_uint_eq(stats().bytes, FS_CHUNK_SIZE);
	ck_assert_uint_eq(stats().admissions, 1);
	/* once is enough */
	ck_assert(!cache_admit(cache, "/a.txt", "/a.txt"));
	ck_assert_uint_eq(stats().admissions, 1);
}
END_TEST

/* The body of the kernel's answer to path for a request accepting the
 * codings enc, NUL-terminated, or NULL. */
static const char *body_for(const char *path, uint32_t enc)
{
	const char *resp;
	uint32_t len;
	char *end;

	resp = fake_response_enc(path, enc, &len);
	if (!resp)
		return NULL;
	end = strstr(resp, "\r\n\r\n");
	ck_assert_ptr_nonnull(end);
	((char *)resp)[len] = '\0';
	return end + 4;
}

/* A file with a precompressed variant is cached as a group: a key per mask
 * of accepted codings, each the representation userspace would choose;
 * none without an encoding. A variant appearing beside a cached file, or
 * the file changing, drops them all. */
START_TEST(test_files_with_variants)
{
	const char *resp;
	uint32_t len, m;

	put_file("a.css", "a{}");
	put_file("a.css.gz", "GZ");
	ck_assert(cache_admit(cache, "/a.css", "/a.css"));
	ck_assert(!cached("/a.css"));		/* no FS_ENC_ANY key */
	for (m = 0; m < FS_ENC_MASKS; m++)
		ck_assert_str_eq(body_for("/a.css", m),
				 m & FS_ENC_GZIP ? "GZ" : "a{}");
	resp = fake_response_enc("/a.css", FS_ENC_GZIP, &len);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Encoding: gzip\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "\r\nVary: Accept-Encoding\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "Content-Type: text/css"));
	resp = fake_response_enc("/a.css", FS_ENC_BR, &len);
	ck_assert_ptr_null(strstr(resp, "Content-Encoding"));
	ck_assert_ptr_nonnull(strstr(resp, "\r\nVary: Accept-Encoding\r\n"));
	ck_assert_uint_eq(stats().entries, 2);
	/* again: nothing new */
	ck_assert(!cache_admit(cache, "/a.css", "/a.css"));
	ck_assert_uint_eq(stats().entries, 2);
	/* the file changes: both go */
	put_file("a.css", "a{color:red}");
	deliver_events();
	for (m = 0; m < FS_ENC_MASKS; m++)
		ck_assert_ptr_null(body_for("/a.css", m));
	ck_assert_uint_eq(stats().entries, 0);
	/* a variant appears beside a cached file: its answer goes */
	put_file("b.css", "b{}");
	ck_assert(cache_admit(cache, "/b.css", "/b.css"));
	ck_assert(cached("/b.css"));
	put_file("b.css.gz", "GZ");
	deliver_events();
	ck_assert(!cached("/b.css"));
	/* .br is not looked for here: c.css has no variants */
	put_file("c.css", "c{}");
	put_file("c.css.br", "BR");
	ck_assert(cache_admit(cache, "/c.css", "/c.css"));
	ck_assert(cached("/c.css"));
}
END_TEST

START_TEST(test_admit_refuses)
{
	ck_assert_int_eq(symlinkat("a.txt", root_fd, "link.txt"), 0);
	put_file("a.txt", "x");
	ck_assert(!cache_admit(cache, "/missing", "/missing"));
	ck_assert(!cache_admit(cache, "/link.txt", "/link.txt"));
	ck_assert(!cache_admit(cache, "/a%20.txt", "/a.txt"));	/* not a key */
	fake.refuse = true;
	ck_assert(!cache_admit(cache, "/a.txt", "/a.txt"));
	fake.refuse = false;
	ck_assert_uint_eq(stats().entries, 0);
	/* nothing leaked by the refusals: the whole budget is still there */
	ck_assert(cache_admit(cache, "/a.txt", "/a.txt"));
	ck_assert_uint_eq(stats().entries, 1);
}
END_TEST

START_TEST(test_eviction_oldest_first_and_quarantine)
{
	uint32_t old_entry;

	teardown();
	start(3);		/* room for three one-chunk responses */
	put_file("1", "one");
	put_file("2", "two");
	put_file("3", "three");
	put_file("4", "four");
	ck_assert(cache_admit(cache, "/1", "/1"));
	ck_assert(cache_admit(cache, "/2", "/2"));
	ck_assert(cache_admit(cache, "/3", "/3"));
	old_entry = fake.refs[fake_key_index("/1")].entry;
	/* "/1" is evicted, but its chunk stays in quarantine: refused now */
	ck_assert(!cache_admit(cache, "/4", "/4"));
	ck_assert(!cached("/1"));
	ck_assert(cached("/2") && cached("/3"));
	ck_assert_uint_eq(stats().evictions, 1);
	ck_assert_uint_eq(stats().full, 1);
	ck_assert_uint_eq(stats().entries, 2);
	cache_tick(cache);	/* too early: nothing comes back */
	ck_assert(!cache_admit(cache, "/4", "/4"));
	ck_assert_uint_eq(stats().evictions, 1);
	sleep(2);
	usleep(100 * 1000);
	cache_tick(cache);
	ck_assert(cache_admit(cache, "/4", "/4"));
	ck_assert(cached("/2") && cached("/3") && cached("/4"));
	/* the id came back too, with a new generation */
	ck_assert_uint_eq(fake.refs[fake_key_index("/4")].entry, old_entry);
	ck_assert_uint_eq(stats().evictions, 1);
	/* next eviction: "/2", the oldest now */
	ck_assert(!cache_admit(cache, "/1", "/1"));
	ck_assert(!cached("/2"));
	ck_assert(cached("/3") && cached("/4"));
}
END_TEST

START_TEST(test_invalidate_on_write_and_delete)
{
	put_file("a.txt", "a");
	put_file("b.txt", "b");
	ck_assert(cache_admit(cache, "/a.txt", "/a.txt"));
	ck_assert(cache_admit(cache, "/b.txt", "/b.txt"));
	put_file("a.txt", "changed");
	deliver_events();
	ck_assert(!cached("/a.txt"));
	ck_assert(cached("/b.txt"));
	ck_assert_uint_eq(stats().invalidations, 1);
	ck_assert_uint_gt(stats().invalidation_ns, 0);
	ck_assert_int_eq(unlinkat(root_fd, "b.txt", 0), 0);
	deliver_events();
	ck_assert(!cached("/b.txt"));
	ck_assert_uint_eq(stats().invalidations, 2);
	ck_assert_uint_eq(stats().entries, 0);
	/* the new version can come in */
	ck_assert(cache_admit(cache, "/a.txt", "/a.txt"));
}
END_TEST

START_TEST(test_invalidate_every_key_of_a_file)
{
	ck_assert_int_eq(mkdirat(root_fd, "d", 0755), 0);
	put_file("d/index.html", "<p>");
	ck_assert(cache_admit(cache, "/d/", "d/index.html"));
	ck_assert(cache_admit(cache, "/d/index.html", "d/index.html"));
	put_file("d/index.html", "<p>new");
	deliver_events();
	ck_assert(!cached("/d/"));
	ck_assert(!cached("/d/index.html"));
	ck_assert_uint_eq(stats().invalidations, 2);
}
END_TEST

START_TEST(test_invalidate_renamed_directory)
{
	ck_assert_int_eq(mkdirat(root_fd, "d", 0755), 0);
	ck_assert_int_eq(mkdirat(root_fd, "d/sub", 0755), 0);
	put_file("d/x.txt", "x");
	put_file("d/sub/y.txt", "y");
	put_file("z.txt", "z");
	ck_assert(cache_admit(cache, "/d/x.txt", "d/x.txt"));
	ck_assert(cache_admit(cache, "/d/sub/y.txt", "d/sub/y.txt"));
	ck_assert(cache_admit(cache, "/z.txt", "z.txt"));
	ck_assert_int_eq(renameat(root_fd, "d", root_fd, "e"), 0);
	deliver_events();
	ck_assert(!cached("/d/x.txt"));
	ck_assert(!cached("/d/sub/y.txt"));
	ck_assert(cached("/z.txt"));
	/* a new d is watched anew */
	ck_assert_int_eq(mkdirat(root_fd, "d", 0755), 0);
	put_file("d/x.txt", "new x");
	ck_assert(cache_admit(cache, "/d/x.txt", "d/x.txt"));
	put_file("d/x.txt", "newer x");
	deliver_events();
	ck_assert(!cached("/d/x.txt"));
}
END_TEST

START_TEST(test_overflow_drops_everything)
{
	struct inotify_event ev = { .wd = -1, .mask = IN_Q_OVERFLOW };

	put_file("a", "a");
	put_file("b", "b");
	ck_assert(cache_admit(cache, "/a", "a"));
	ck_assert(cache_admit(cache, "/b", "b"));
	cache_handle_events(cache, (const char *)&ev, sizeof(ev));
	ck_assert(!cached("/a") && !cached("/b"));
	ck_assert_uint_eq(stats().entries, 0);
	ck_assert_uint_eq(stats().bytes, 0);
	ck_assert_uint_eq(stats().invalidations, 2);
}
END_TEST

START_TEST(test_many_files)
{
	char name[32], key[40];
	int i;

	/* all made before the first admission watches the root */
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		put_file(name, name);
	}
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		snprintf(key, sizeof(key), "/%s", name);
		ck_assert(cache_admit(cache, key, name));
	}
	for (i = 0; i < 300; i += 2) {
		snprintf(name, sizeof(name), "f%d", i);
		put_file(name, "rewritten");
	}
	deliver_events();
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "/f%d", i);
		ck_assert_msg(cached(key) == (i % 2 == 1), "%s", key);
	}
	ck_assert_uint_eq(stats().entries, 150);
	ck_assert_uint_eq(stats().invalidations, 150);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *t = tcase_create("policy");

	tcase_set_timeout(t, 20);
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_admit_publishes_whole_response);
	tcase_add_test(t, test_admit_refuses);
	tcase_add_test(t, test_eviction_oldest_first_and_quarantine);
	tcase_add_test(t, test_invalidate_on_write_and_delete);
	tcase_add_test(t, test_invalidate_every_key_of_a_file);
	tcase_add_test(t, test_invalidate_renamed_directory);
	tcase_add_test(t, test_overflow_drops_everything);
	tcase_add_test(t, test_many_files);
	tcase_add_test(t, test_files_with_variants);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
