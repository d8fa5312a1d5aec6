/* Tests for job/cmd/result.c: a manifest as the result's artifact and database
 * sections, read back by the operator's own parser (common/jobresult.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/model/manifest.h"
#include "job/cmd/result.h"

static const char sha_a[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char sha_b[] = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
static const char sha_c[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static void fill(struct manifest *m)
{
	manifest_init(m);
	m->namespace_ = xstrdup("team-a");
	m->name = xstrdup("nightly");
	m->format = xstrdup("custom");
	m->compression = xstrdup("zstd");
	m->created_at = 1763683200;
	m->plaintext_size = 1000;
	memcpy(m->plaintext_sha256, sha_c, 65);
	m->encrypted = 1;
	m->server_version = xstrdup("15.18");
	m->dump_version = xstrdup("15.18");
	m->database = xstrdup("app");
	m->database_size = 123456;
	m->table_count = 7;
	m->row_estimate = 99;
}

/* result_add_manifest, rendered and parsed as the operator parses it. */
static void parsed(struct jobresult *r, const struct manifest *m)
{
	struct json_object *o = json_object_new_object();
	result_add_str(o, JOBRESULT_COMMAND, "backup");
	result_add_str(o, JOBRESULT_PHASE, "Completed");
	result_add_manifest(o, m, "file:///backups/team-a/nightly/");
	const char *text = jobresult_render(o);
	assert_int_equal(jobresult_parse(r, text, strlen(text)), 0);
	json_object_put(o);
}

static void result_add_manifest__one_object_is_the_artifact(void **state)
{
	(void)state;
	struct manifest m;
	fill(&m);
	assert_int_equal(manifest_add_object(&m, "db-0a1b2c3d.dump.zst.pgp", 4242, sha_a), 0);
	struct jobresult r;
	parsed(&r, &m);
	assert_true(r.has_artifact);
	assert_string_equal(r.artifact.location, "file:///backups/team-a/nightly/");
	assert_int_equal(r.artifact.size.value, 4242);
	assert_string_equal(r.artifact.sha256, sha_a);
	assert_int_equal(r.artifact.nobjects, 1);
	assert_string_equal(r.artifact.objects[0].key, "db-0a1b2c3d.dump.zst.pgp");
	assert_int_equal(r.artifact.plaintext_size.value, 1000);
	assert_true(r.artifact.encrypted.value);
	assert_true(r.has_database);
	assert_string_equal(r.database.name, "app");
	assert_int_equal(r.database.size_bytes.value, 123456);
	assert_null(r.database.schema_version);
	jobresult_dispose(&r);
	manifest_dispose(&m);
}

static void result_add_manifest__several_objects_are_one_stream(void **state)
{
	(void)state;
	struct manifest m;
	fill(&m);
	assert_int_equal(manifest_add_object(&m, "db-1.dump.zst.pgp", 8, sha_a), 0);
	assert_int_equal(manifest_add_object(&m, "db-1.dump.zst.pgp.0002", 8, sha_b), 0);
	assert_int_equal(manifest_add_object(&m, "db-1.dump.zst.pgp.0003", 3, sha_a), 0);
	memcpy(m.stream_sha256, sha_c, 65);
	struct jobresult r;
	parsed(&r, &m);
	/* artifact.size and sha256 are the stored stream's, not the first
	 * object's: what `cat` of the objects gives. */
	assert_int_equal(r.artifact.size.value, 19);
	assert_string_equal(r.artifact.sha256, sha_c);
	assert_int_equal(r.artifact.nobjects, 3);
	assert_string_equal(r.artifact.objects[2].key, "db-1.dump.zst.pgp.0003");
	assert_int_equal(r.artifact.objects[1].size.value, 8);
	jobresult_dispose(&r);
	manifest_dispose(&m);
}

static void result_add_manifest__files_archive_and_schema_version(void **state)
{
	(void)state;
	struct manifest m;
	fill(&m);
	assert_int_equal(manifest_add_object(&m, "db-2.dump", 10, sha_a), 0);
	m.files.key = xstrdup("files-2.tar");
	m.files.size = 77;
	memcpy(m.files.sha256, sha_b, 65);
	m.files.count = 3;
	m.schema_version = xstrdup("20261121");
	struct jobresult r;
	parsed(&r, &m);
	assert_string_equal(r.artifact.files.object, "files-2.tar");
	assert_int_equal(r.artifact.files.size.value, 77);
	assert_int_equal(r.artifact.files.count.value, 3);
	assert_string_equal(r.database.schema_version, "20261121");
	jobresult_dispose(&r);
	manifest_dispose(&m);
}

static void result_emit__writes_the_file_and_names_a_bad_path(void **state)
{
	(void)state;
	char path[] = "/tmp/lifeboat-test-result-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct json_object *o = json_object_new_object();
	result_add_str(o, JOBRESULT_COMMAND, "verify");
	result_add_str(o, JOBRESULT_PHASE, "Completed");
	result_add_time(o, "completionTime", 1763683200);
	assert_int_equal(result_emit(o, 0, path), 0);
	FILE *f = fopen(path, "r");
	char text[4097] = "";
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	unlink(path);
	struct jobresult r;
	assert_int_equal(jobresult_parse(&r, text, n), 0);
	assert_string_equal(r.command, "verify");
	assert_true(r.completion_time.set);
	assert_int_equal(r.completion_time.value, 1763683200);
	jobresult_dispose(&r);
	assert_int_equal(result_emit(o, 0, "/nonexistent-folder/result.json"), E_IO);
	assert_non_null(
	    strstr(err_msg(), "cannot write the result to /nonexistent-folder/result.json"));
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(result_add_manifest__one_object_is_the_artifact),
	    cmocka_unit_test(result_add_manifest__several_objects_are_one_stream),
	    cmocka_unit_test(result_add_manifest__files_archive_and_schema_version),
	    cmocka_unit_test(result_emit__writes_the_file_and_names_a_bad_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
