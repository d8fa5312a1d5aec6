/* Tests for job/pipeline/files.c's files_measure: the length it predicts, without
 * reading a file, is exactly what files_archive then writes (headers, pax
 * records for long names, contents, padding, the end), for every size
 * around a tar block. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "job/pipeline/files.h"
#include "job/pipeline/stage.h"

static void write_file(const char *path, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	char block[4096];
	memset(block, 'x', sizeof(block));
	for (size_t left = n; left > 0;) {
		size_t k = left < sizeof(block) ? left : sizeof(block);
		assert_int_equal(write(fd, block, k), (ssize_t)k);
		left -= k;
	}
	close(fd);
}

static void files_measure__is_what_files_archive_writes(void **state)
{
	(void)state;
	char dir[] = "/tmp/lifeboat-test-files.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[512];
	const size_t sizes[] = {0, 1, 511, 512, 513, 100000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(path, sizeof(path), "%s/f%zu", dir, i);
		write_file(path, sizes[i]);
	}
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	/* A name past ustar's 100 bytes: a pax header. */
	char longname[200];
	memset(longname, 'n', 150);
	longname[150] = '\0';
	snprintf(path, sizeof(path), "%s/sub/%s", dir, longname);
	write_file(path, 3000);
	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("f1", path), 0);

	uint64_t bytes = 0, count = 0, written_count = 0;
	assert_int_equal(files_measure(&bytes, &count, dir), 0);
	struct stage *hash = stage_hash_new(stage_null_new());
	assert_int_equal(files_archive(&written_count, dir, hash), 0);
	assert_int_equal(stage_finish(hash), 0);
	assert_int_equal(bytes, stage_hash_size(hash));
	assert_int_equal(count, written_count);
	assert_int_equal(count, 9); /* 6 files, sub, its file, the link */
	stage_free_chain(hash);

	/* Errors are files_archive's. */
	snprintf(path, sizeof(path), "%s/absent", dir);
	assert_int_equal(files_measure(&bytes, &count, path), E_IO);
	assert_non_null(strstr(err_msg(), "cannot open"));
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(files_measure__is_what_files_archive_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
