/* Tests for common/jobresult.c: the writer keeps the job's result text as it
 * was, the parser reads it back, and garbage, truncation, missing fields and
 * wrong types never crash, leak or reach a status. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/jobresult.h"

#define SHA_A "3b22c7e0d86c8e4a3b22c7e0d86c8e4a3b22c7e0d86c8e4a3b22c7e0d86c8e4a"
#define SHA_B "9f1c00aa9f1c00aa9f1c00aa9f1c00aa9f1c00aa9f1c00aa9f1c00aa9f1c00aa"
/* The writer borrows strings; literals are const under -Wwrite-strings. */
#define S(x) ((char *)(uintptr_t)(x))

/* What `lifeboat backup` prints (docs/job.md), field for field. */
static const char good[] =
    "{\"command\":\"backup\",\"namespace\":\"app\",\"name\":\"nightly\","
    "\"startTime\":\"2026-11-21T02:00:00Z\",\"artifact\":{\"location\":"
    "\"s3://acme/prod/app/nightly/\",\"objects\":[{\"key\":\"db.dump.zst.pgp\",\"size\":1234,"
    "\"sha256\":\"" SHA_A "\"},{\"key\":\"manifest.json\",\"size\":900,\"sha256\":\"" SHA_B
    "\"}],\"size\":1234,\"sha256\":\"" SHA_A
    "\",\"plaintextSize\":5678,\"plaintextSha256\":\"" SHA_B
    "\",\"encrypted\":true,\"format\":\"custom\",\"compression\":\"zstd\",\"createdAt\":"
    "\"2026-11-21T02:00:01Z\"},\"database\":{\"name\":\"app\",\"serverVersion\":\"15.18\","
    "\"dumpVersion\":\"15.18\",\"sizeBytes\":8000000,\"tableCount\":12,\"rowEstimate\":150000,"
    "\"schemaVersion\":\"42\"},\"durationSeconds\":7,\"completionTime\":\"2026-11-21T02:00:08Z\","
    "\"phase\":\"Completed\",\"reason\":\"Succeeded\",\"peakRssKiB\":20480}";

static void parse_ok(struct jobresult *r, const char *text)
{
	int rc = jobresult_parse(r, text, strlen(text));
	if (rc)
		fail_msg("parse failed: %s", err_msg());
}

static void jobresult_parse__reads_a_backup_result(void **state)
{
	(void)state;
	struct jobresult r;
	parse_ok(&r, good);
	assert_string_equal(r.command, "backup");
	assert_string_equal(r.namespace_, "app");
	assert_string_equal(r.name, "nightly");
	assert_string_equal(r.phase, "Completed");
	assert_string_equal(r.reason, "Succeeded");
	assert_null(r.message);
	assert_true(r.start_time.set);
	assert_int_equal(r.start_time.value, 1795226400);
	assert_int_equal(r.completion_time.value, 1795226408);
	assert_true(r.peak_rss_kib.set);
	assert_int_equal(r.peak_rss_kib.value, 20480);
	assert_true(r.duration_seconds.set);
	assert_true(r.duration_seconds.value == 7.0);
	assert_false(r.deleted_objects.set);
	assert_true(r.has_artifact);
	assert_string_equal(r.artifact.location, "s3://acme/prod/app/nightly/");
	assert_int_equal(r.artifact.nobjects, 2);
	assert_string_equal(r.artifact.objects[0].key, "db.dump.zst.pgp");
	assert_int_equal(r.artifact.objects[0].size.value, 1234);
	assert_string_equal(r.artifact.objects[1].sha256, SHA_B);
	assert_int_equal(r.artifact.size.value, 1234);
	assert_string_equal(r.artifact.sha256, SHA_A);
	assert_int_equal(r.artifact.plaintext_size.value, 5678);
	assert_string_equal(r.artifact.plaintext_sha256, SHA_B);
	assert_true(r.artifact.encrypted.set && r.artifact.encrypted.value);
	assert_string_equal(r.artifact.format, "custom");
	assert_string_equal(r.artifact.compression, "zstd");
	assert_int_equal(r.artifact.created_at.value, 1795226401);
	assert_true(r.has_database);
	assert_string_equal(r.database.name, "app");
	assert_string_equal(r.database.server_version, "15.18");
	assert_string_equal(r.database.dump_version, "15.18");
	assert_int_equal(r.database.size_bytes.value, 8000000);
	assert_int_equal(r.database.table_count.value, 12);
	assert_int_equal(r.database.row_estimate.value, 150000);
	assert_string_equal(r.database.schema_version, "42");
	assert_false(r.has_verification);
	assert_false(r.has_restore);
	assert_int_equal(r.ignored, 0);
	assert_true(jobresult_ok(&r));
	assert_true(jobresult_has_artifact(&r));
	jobresult_dispose(&r);
	jobresult_dispose(&r); /* disposed twice is harmless */
	jobresult_dispose(NULL);
}

static void jobresult_parse__reads_failure_verify_restore_and_delete(void **state)
{
	(void)state;
	struct jobresult r;
	parse_ok(&r, "{\"command\":\"backup\",\"phase\":\"Failed\",\"reason\":\"DatabaseError\","
		     "\"message\":\"cannot connect to postgresql://app@db:5432/app: timeout\\n\"}");
	assert_string_equal(r.reason, "DatabaseError");
	assert_string_equal(r.message, "cannot connect to postgresql://app@db:5432/app: timeout\n");
	assert_false(jobresult_ok(&r));
	assert_false(jobresult_has_artifact(&r));
	assert_false(r.has_artifact);
	jobresult_dispose(&r);

	parse_ok(&r, "{\"command\":\"verify\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
		     "\"verification\":{\"verified\":true,\"time\":\"2026-11-21T02:10:00Z\","
		     "\"method\":\"sha256+mdc+pg_restore-list\"}}");
	assert_true(r.has_verification);
	assert_true(r.verification.verified.set && r.verification.verified.value);
	assert_int_equal(r.verification.time.value, 1795227000);
	assert_string_equal(r.verification.method, "sha256+mdc+pg_restore-list");
	assert_null(r.verification.message);
	assert_false(jobresult_has_artifact(&r)); /* ok, but no artifact */
	jobresult_dispose(&r);

	parse_ok(&r,
		 "{\"command\":\"restore\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
		 "\"restore\":{\"target\":\"postgresql://app@db:5432/app\",\"targetServerVersion\":"
		 "\"16.4\",\"clean\":false,\"startTime\":\"2026-11-21T03:00:00Z\","
		 "\"completionTime\":\"2026-11-21T03:01:00Z\"}}");
	assert_true(r.has_restore);
	assert_string_equal(r.restore.target, "postgresql://app@db:5432/app");
	assert_string_equal(r.restore.target_server_version, "16.4");
	assert_true(r.restore.clean.set);
	assert_false(r.restore.clean.value);
	assert_int_equal(r.restore.completion_time.value - r.restore.start_time.value, 60);
	jobresult_dispose(&r);

	parse_ok(&r, "{\"command\":\"delete\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
		     "\"deletedObjects\":3,\"freedBytes\":4096}\n");
	assert_int_equal(r.deleted_objects.value, 3);
	assert_true(r.freed_bytes.set);
	assert_int_equal(r.freed_bytes.value, 4096);
	jobresult_dispose(&r);
}

/* Input that is no result at all: *out is untouched. */
static void jobresult_parse__refuses_garbage(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    " ",
	    "garbage",
	    "null",
	    "[]",
	    "42",
	    "\"backup\"",
	    "{}",
	    "{\"phase\":\"Completed\"}",
	    "{\"command\":\"backup\"}",
	    "{\"command\":\"format\",\"phase\":\"Completed\"}",
	    "{\"command\":7,\"phase\":\"Completed\"}",
	    "{\"command\":\"backup\",\"phase\":\"Done\"}",
	    "{\"command\":\"backup\",\"phase\":null}",
	    "{\"command\":\"backup\",\"phase\":\"Completed\"} trailing",
	    "{\"command\":\"backup\",\"phase\":\"Completed\"}{}",
	    "{'command':'backup','phase':'Completed'}",
	    "{\"command\":\"backup\",\"phase\":\"Completed\",}",
	    "2026-11-21T02:00:00Z lifeboat: error: cannot connect\npg_dump: error: ...\n",
	    "{\"command\":\"backup\",\"phase\":\"Completed\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jobresult r;
		memset(&r, 0x5a, sizeof(r));
		int rc = jobresult_parse(&r, bad[i], strlen(bad[i]));
		if (rc != E_INVALID)
			fail_msg("case %zu (%s): rc %d", i, bad[i], rc);
		assert_true(strstr(err_msg(), "job result") != NULL);
		assert_int_equal(((unsigned char *)&r)[0], 0x5a);
	}
}

static void jobresult_parse__refuses_every_truncation(void **state)
{
	(void)state;
	size_t n = strlen(good);
	for (size_t len = 0; len < n; len++) {
		struct jobresult r;
		int rc = jobresult_parse(&r, good, len);
		if (rc == 0) {
			jobresult_dispose(&r);
			fail_msg("a result cut at %zu of %zu bytes was accepted", len, n);
		}
	}
}

static void jobresult_parse__refuses_nul_bad_utf8_and_oversize(void **state)
{
	(void)state;
	struct jobresult r;
	const char nul[] = "{\"command\":\"backup\",\"phase\":\"Completed\"}\0";
	assert_int_equal(jobresult_parse(&r, nul, sizeof(nul)), E_INVALID);
	const char esc_nul[] = "{\"command\":\"backup\\u0000x\",\"phase\":\"Completed\"}";
	assert_int_equal(jobresult_parse(&r, esc_nul, strlen(esc_nul)), E_INVALID);
	const char utf8[] =
	    "{\"command\":\"backup\",\"phase\":\"Completed\",\"message\":\"\xc3\x28\"}";
	assert_int_equal(jobresult_parse(&r, utf8, strlen(utf8)), E_INVALID);

	char *big = malloc(JOBRESULT_MAX_BYTES + 2);
	memset(big, ' ', JOBRESULT_MAX_BYTES + 1);
	big[JOBRESULT_MAX_BYTES + 1] = '\0';
	const char head[] = "{\"command\":\"backup\",\"phase\":\"Completed\"}";
	memcpy(big, head, strlen(head));
	/* Exactly at the cap (the rest white space) is fine; one more is not. */
	assert_int_equal(jobresult_parse(&r, big, JOBRESULT_MAX_BYTES), 0);
	jobresult_dispose(&r);
	assert_int_equal(jobresult_parse(&r, big, JOBRESULT_MAX_BYTES + 1), E_TOOBIG);
	free(big);
}

/* A malformed field is left unset and counted; the rest is read. */
static const struct wrong {
	const char *fragment; /* appended to the good result's opening */
	size_t ignored;
} wrongs[] = {
    {"\"artifact\":{\"size\":\"1234\"}", 1},
    {"\"artifact\":{\"size\":-1}", 1},
    {"\"artifact\":{\"size\":1.5}", 1},
    {"\"artifact\":{\"size\":true}", 1},
    {"\"artifact\":{\"size\":99999999999999999999}", 1},
    {"\"artifact\":{\"size\":1e3}", 1},
    {"\"artifact\":{\"sha256\":"
     "\"3B22C7E0D86C8E4A3B22C7E0D86C8E4A3B22C7E0D86C8E4A3B22C7E0D86C8E4A\"}",
     1},
    {"\"artifact\":{\"sha256\":\"3b22\"}", 1},
    {"\"artifact\":{\"sha256\":\"" SHA_A "0\"}", 1},
    {"\"artifact\":{\"sha256\":[\"" SHA_A "\"]}", 1},
    {"\"artifact\":{\"createdAt\":\"2026-02-31T00:00:00Z\"}", 1},
    {"\"artifact\":{\"createdAt\":\"2026-11-21 02:00:00\"}", 1},
    {"\"artifact\":{\"createdAt\":\"2026-11-21T02:00:00+01:00\"}", 1},
    {"\"artifact\":{\"createdAt\":1795226400}", 1},
    {"\"artifact\":{\"encrypted\":\"true\"}", 1},
    {"\"artifact\":{\"encrypted\":1}", 1},
    {"\"artifact\":{\"format\":\"zip\"}", 1},
    {"\"artifact\":{\"location\":\"s3://a/\\nb\"}", 1},
    {"\"artifact\":{\"objects\":{\"key\":\"a\"}}", 1},
    {"\"artifact\":{\"objects\":[{\"size\":1},\"x\",{\"key\":\"\"},{\"key\":\"ok\"}]}", 3},
    {"\"artifact\":{\"objects\":[{\"key\":\"ok\",\"size\":-5,\"sha256\":\"x\"}]}", 2},
    {"\"artifact\":\"s3://acme\"", 1},
    {"\"artifact\":[]", 1},
    {"\"database\":{\"tableCount\":-1,\"rowEstimate\":-1,\"sizeBytes\":\"big\"}", 2},
    {"\"database\":{\"schemaVersion\":42}", 1},
    {"\"verification\":{\"verified\":\"yes\",\"time\":\"later\",\"method\":false}", 3},
    {"\"restore\":{\"clean\":\"false\",\"target\":{}}", 2},
    {"\"reason\":\"not a reason\"", 1},
    {"\"reason\":\"Bad-Reason\"", 1},
    {"\"reason\":\"Trailing:\"", 1},
    {"\"message\":42", 1},
    {"\"namespace\":[\"app\"]", 1},
    {"\"peakRssKiB\":-1", 1},
    {"\"durationSeconds\":-3", 1},
    {"\"durationSeconds\":\"3\"", 1},
    {"\"startTime\":\"yesterday\"", 1},
    {"\"deletedObjects\":2.5", 1},
};

static void jobresult_parse__leaves_malformed_fields_unset(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(wrongs) / sizeof(wrongs[0]); i++) {
		char text[2048];
		snprintf(
		    text, sizeof(text),
		    "{\"command\":\"backup\",\"phase\":\"Completed\",\"reason\":\"Succeeded\",%s}",
		    wrongs[i].fragment);
		struct jobresult r;
		int rc = jobresult_parse(&r, text, strlen(text));
		if (rc)
			fail_msg("case %zu (%s): rc %d: %s", i, wrongs[i].fragment, rc, err_msg());
		if (r.ignored != wrongs[i].ignored)
			fail_msg("case %zu (%s): %zu ignored, expected %zu", i, wrongs[i].fragment,
				 r.ignored, wrongs[i].ignored);
		/* None of them may count as a complete artifact. */
		assert_false(jobresult_has_artifact(&r));
		assert_false(r.artifact.size.set);
		assert_null(r.artifact.sha256);
		assert_false(r.artifact.created_at.set);
		assert_null(r.artifact.format);
		jobresult_dispose(&r);
	}
}

static void jobresult_parse__treats_null_and_unknown_fields_as_absent(void **state)
{
	(void)state;
	struct jobresult r;
	parse_ok(&r, "{\"command\":\"list\",\"phase\":\"Completed\",\"reason\":null,"
		     "\"artifact\":{\"location\":null,\"sha256\":null,\"future\":{\"x\":1}},"
		     "\"database\":null,\"count\":3,\"somethingNew\":[1,2]}");
	assert_null(r.reason);
	assert_true(r.has_artifact);
	assert_null(r.artifact.location);
	assert_false(r.has_database);
	assert_int_equal(r.ignored, 0);
	assert_false(jobresult_ok(&r));
	jobresult_dispose(&r);
}

static void jobresult_parse__keeps_at_most_64_objects(void **state)
{
	(void)state;
	char text[JOBRESULT_MAX_BYTES];
	size_t n = (size_t)snprintf(text, sizeof(text),
				    "{\"command\":\"backup\",\"phase\":\"Completed\",\"artifact\":"
				    "{\"objects\":[");
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s{\"key\":\"o%d\"}",
				      i ? "," : "", i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "]}}");
	assert_true(n < sizeof(text));
	struct jobresult r;
	parse_ok(&r, text);
	assert_int_equal(r.artifact.nobjects, JOBRESULT_MAX_OBJECTS);
	assert_string_equal(r.artifact.objects[63].key, "o63");
	assert_int_equal(r.ignored, 6);
	jobresult_dispose(&r);
}

static void jobresult_has_artifact__needs_success_sha256_and_size(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int complete;
	} cases[] = {
	    {"{\"command\":\"backup\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
	     "\"artifact\":"
	     "{\"size\":1,\"sha256\":\"" SHA_A "\"}}",
	     1},
	    {"{\"command\":\"backup\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
	     "\"artifact\":"
	     "{\"size\":1}}",
	     0},
	    {"{\"command\":\"backup\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
	     "\"artifact\":"
	     "{\"sha256\":\"" SHA_A "\"}}",
	     0},
	    {"{\"command\":\"backup\",\"phase\":\"Completed\",\"artifact\":"
	     "{\"size\":1,\"sha256\":\"" SHA_A "\"}}",
	     0},
	    {"{\"command\":\"backup\",\"phase\":\"Failed\",\"reason\":\"Succeeded\",\"artifact\":"
	     "{\"size\":1,\"sha256\":\"" SHA_A "\"}}",
	     0},
	    {"{\"command\":\"backup\",\"phase\":\"Completed\",\"reason\":\"StorageError\","
	     "\"artifact\":"
	     "{\"size\":1,\"sha256\":\"" SHA_A "\"}}",
	     0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jobresult r;
		parse_ok(&r, cases[i].text);
		if (jobresult_has_artifact(&r) != cases[i].complete)
			fail_msg("case %zu: has_artifact %d", i, jobresult_has_artifact(&r));
		jobresult_dispose(&r);
	}
}

static void jobresult_time_parse__accepts_only_canonical_utc(void **state)
{
	(void)state;
	time_t t;
	assert_int_equal(jobresult_time_parse(&t, "1970-01-01T00:00:00Z"), 0);
	assert_int_equal(t, 0);
	assert_int_equal(jobresult_time_parse(&t, "2024-02-29T23:59:59Z"), 0);
	char s[32];
	jobresult_time_format(s, t);
	assert_string_equal(s, "2024-02-29T23:59:59Z");
	static const char *const bad[] = {
	    "2023-02-29T00:00:00Z",
	    "2026-13-01T00:00:00Z",
	    "2026-01-01T24:00:00Z",
	    "2026-01-01T00:60:00Z",
	    "2026-01-01T00:00:60Z",
	    "2026-01-01T00:00:00",
	    "2026-01-01T00:00:00.5Z",
	    "2026-1-01T00:00:00Z",
	    " 2026-01-01T00:00:00Z",
	    "2026-01-01t00:00:00z",
	    "",
	    "+026-01-01T00:00:00Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (jobresult_time_parse(&t, bad[i]) != E_INVALID)
			fail_msg("\"%s\" was accepted", bad[i]);
}

/* The exact text the job wrote before the writer moved here. */
static void jobresult_add_artifact__writes_the_jobs_historical_text(void **state)
{
	(void)state;
	struct jobresult_object objs[] = {
	    {S("db.dump.zst.pgp"), {1234, 1}, S(SHA_A)},
	    {S("manifest.json"), {900, 1}, S(SHA_B)},
	};
	struct jobresult_artifact a = {
	    .location = S("s3://acme/prod/app/nightly/"),
	    .objects = objs,
	    .nobjects = 2,
	    .size = {1234, 1},
	    .sha256 = S(SHA_A),
	    .plaintext_size = {5678, 1},
	    .plaintext_sha256 = S(SHA_B),
	    .encrypted = {1, 1},
	    .format = S("custom"),
	    .compression = S("zstd"),
	    .created_at = {1795226401, 1},
	};
	struct jobresult_database d = {
	    .name = S("app"),
	    .server_version = S("15.18"),
	    .dump_version = S("15.18"),
	    .size_bytes = {8000000, 1},
	    .table_count = {12, 1},
	    .row_estimate = {150000, 1},
	    .schema_version = S("42"),
	};
	struct json_object *o = json_object_new_object();
	jobresult_add_artifact(o, &a);
	jobresult_add_database(o, &d);
	const char *want =
	    "{\"artifact\":{\"location\":\"s3://acme/prod/app/nightly/\",\"objects\":[{\"key\":"
	    "\"db.dump.zst.pgp\",\"size\":1234,\"sha256\":\"" SHA_A
	    "\"},{\"key\":\"manifest.json\","
	    "\"size\":900,\"sha256\":\"" SHA_B "\"}],\"size\":1234,\"sha256\":\"" SHA_A
	    "\",\"plaintextSize\":5678,\"plaintextSha256\":\"" SHA_B "\",\"encrypted\":true,"
	    "\"format\":\"custom\",\"compression\":\"zstd\",\"createdAt\":\"2026-11-21T02:00:01Z\"}"
	    ","
	    "\"database\":{\"name\":\"app\",\"serverVersion\":\"15.18\",\"dumpVersion\":\"15.18\","
	    "\"sizeBytes\":8000000,\"tableCount\":12,\"rowEstimate\":150000,\"schemaVersion\":"
	    "\"42\"}}";
	assert_string_equal(jobresult_render(o), want);
	json_object_put(o);

	/* A listing entry: no objects, no location (null), no schema version. */
	struct jobresult_artifact empty = {.plaintext_sha256 = S(SHA_B),
					   .format = S("plain"),
					   .compression = S("none"),
					   .encrypted = {0, 1},
					   .plaintext_size = {0, 1},
					   .created_at = {0, 1}};
	struct jobresult_database nod = {.name = S("app"), .size_bytes = {0, 1}};
	o = json_object_new_object();
	jobresult_add_artifact(o, &empty);
	jobresult_add_database(o, &nod);
	assert_string_equal(
	    jobresult_render(o),
	    "{\"artifact\":{\"location\":null,\"objects\":[],\"plaintextSize\":0,"
	    "\"plaintextSha256\":\"" SHA_B
	    "\",\"encrypted\":false,\"format\":\"plain\",\"compression\":\"none\",\"createdAt\":"
	    "\"1970-01-01T00:00:00Z\"},\"database\":{\"name\":\"app\",\"serverVersion\":null,"
	    "\"dumpVersion\":null,\"sizeBytes\":0}}");
	json_object_put(o);

	struct jobresult_verification v = {
	    .verified = {1, 1}, .time = {1795227000, 1}, .method = S("sha256+mdc+pg_restore-list")};
	struct jobresult_restore rs = {.target = S("postgresql://app@db:5432/app"),
				       .clean = {1, 1},
				       .start_time = {0, 1},
				       .completion_time = {60, 1}};
	o = json_object_new_object();
	jobresult_add_verification(o, &v);
	jobresult_add_restore(o, &rs);
	assert_string_equal(
	    jobresult_render(o),
	    "{\"verification\":{\"verified\":true,\"time\":\"2026-11-21T02:10:00Z\",\"method\":"
	    "\"sha256+mdc+pg_restore-list\"},\"restore\":{\"target\":\"postgresql://app@db:5432/"
	    "app\","
	    "\"targetServerVersion\":null,\"clean\":true,\"startTime\":\"1970-01-01T00:00:00Z\","
	    "\"completionTime\":\"1970-01-01T00:01:00Z\"}}");
	json_object_put(o);
}

static void jobresult_render__fits_a_termination_message(void **state)
{
	(void)state;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, JOBRESULT_COMMAND, json_object_new_string("backup"));
	json_object_object_add(o, JOBRESULT_PHASE, json_object_new_string("Failed"));
	char *msg = malloc(6001);
	memset(msg, 'm', 6000);
	msg[6000] = '\0';
	json_object_object_add(o, JOBRESULT_MESSAGE, json_object_new_string(msg));
	free(msg);
	struct jobresult_object objs[64];
	for (int i = 0; i < 64; i++)
		objs[i] = (struct jobresult_object){
		    S("files-archive-object-with-a-long-name.tar.zst.pgp"), {1, 1}, S(SHA_A)};
	struct jobresult_artifact a = {.objects = objs, .nobjects = 64};
	jobresult_add_artifact(o, &a);
	const char *text = jobresult_render(o);
	assert_true(strlen(text) <= JOBRESULT_MAX_BYTES);
	struct jobresult r;
	assert_int_equal(jobresult_parse(&r, text, strlen(text)), 0);
	/* 1000 bytes, the marker included */
	assert_int_equal(strlen(r.message), 1000);
	assert_string_equal(r.message + 1000 - strlen(" [truncated]"), " [truncated]");
	assert_int_equal(strspn(r.message, "m"), 1000 - strlen(" [truncated]"));
	assert_int_equal(r.artifact.nobjects, 0);
	jobresult_dispose(&r);
	json_object_put(o);
}

/* --- the 4 KiB bound --- */

/* n bytes of pattern repeated (whole repetitions only, so multi-byte
 * characters stay whole), padded with 'x'; the caller frees. */
static char *text_of(size_t n, const char *pattern)
{
	char *s = malloc(n + 1);
	size_t k = strlen(pattern), i = 0;
	assert_non_null(s);
	for (; i + k <= n; i += k)
		memcpy(s + i, pattern, k);
	memset(s + i, 'x', n - i);
	s[n] = '\0';
	return s;
}

/* Text that grows most when escaped (a control character becomes six bytes),
 * with quotes, backslashes, slashes and 2-, 3- and 4-byte characters. */
#define NASTY "\x01\"\\/\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n"

/* What the operator reads must survive any shrinking: the structure, the
 * reason, the dump's sha256 and size, verified, targetUnchanged. */
struct must {
	const char *command, *phase, *reason;
	const char *sha256;
	int64_t size;		    /* -1: no artifact */
	int verified;		    /* -1: no verification */
	int unchanged;		    /* -1: not set */
	const char *message_prefix; /* NULL: no message */
};

static void check_bounded(struct json_object *o, const struct must *m)
{
	const char *text = jobresult_render(o);
	size_t len = strlen(text);
	if (len > JOBRESULT_MAX_BYTES)
		fail_msg("%zu bytes: more than a termination message holds", len);
	struct jobresult r;
	int rc = jobresult_parse(&r, text, len);
	if (rc)
		fail_msg("the rendered result does not parse (%s): %.200s", err_msg(), text);
	assert_string_equal(r.command, m->command);
	assert_string_equal(r.phase, m->phase);
	assert_non_null(r.reason);
	assert_string_equal(r.reason, m->reason);
	assert_true(r.completion_time.set);
	if (m->size >= 0) {
		assert_non_null(r.artifact.sha256);
		assert_string_equal(r.artifact.sha256, m->sha256);
		assert_true(r.artifact.size.set);
		assert_int_equal(r.artifact.size.value, m->size);
	}
	if (m->verified >= 0) {
		assert_true(r.verification.verified.set);
		assert_int_equal(r.verification.verified.value, m->verified);
	}
	if (m->unchanged >= 0) {
		assert_true(r.target_unchanged.set);
		assert_int_equal(r.target_unchanged.value, m->unchanged);
	}
	if (m->message_prefix) {
		/* Cut, never dropped, and marked as cut when it was. */
		assert_non_null(r.message);
		size_t k = strlen(r.message);
		if (strncmp(r.message, m->message_prefix, k < 16 ? k : 16) != 0)
			fail_msg("message does not start as it did: %.60s", r.message);
		assert_true(k >= 16);
	}
	jobresult_dispose(&r);
}

static void add_top(struct json_object *o, const char *command, const char *phase,
		    const char *reason, const char *ns, const char *name)
{
	json_object_object_add(o, JOBRESULT_COMMAND, json_object_new_string(command));
	json_object_object_add(o, JOBRESULT_NAMESPACE, json_object_new_string(ns));
	json_object_object_add(o, JOBRESULT_NAME, json_object_new_string(name));
	json_object_object_add(o, JOBRESULT_START_TIME,
			       json_object_new_string("2026-11-21T02:00:00Z"));
	json_object_object_add(o, JOBRESULT_COMPLETION_TIME,
			       json_object_new_string("2026-11-21T02:00:08Z"));
	json_object_object_add(o, JOBRESULT_PHASE, json_object_new_string(phase));
	json_object_object_add(o, JOBRESULT_REASON, json_object_new_string(reason));
	json_object_object_add(o, JOBRESULT_PEAK_RSS_KIB, json_object_new_int64(INT64_MAX));
}

/* A backup with every field at its largest: 64 objects with long keys, a
 * long storage location, the longest names Kubernetes allows, a files
 * archive and a long schema version. */
static void jobresult_render__worst_case_backup_keeps_sha256_and_size(void **state)
{
	(void)state;
	char *ns = text_of(63, "n"), *name = text_of(253, "b"),
	     *loc = text_of(2048, "s3://acme/p/");
	char *key = text_of(200, "db.dump.zst.pgp-"), *schema = text_of(1024, NASTY);
	struct json_object *o = json_object_new_object();
	add_top(o, "backup", "Completed", "Succeeded", ns, name);
	json_object_object_add(o, JOBRESULT_DURATION_SECONDS, json_object_new_double(1e300));
	struct jobresult_object objs[JOBRESULT_MAX_OBJECTS];
	for (int i = 0; i < JOBRESULT_MAX_OBJECTS; i++)
		objs[i] = (struct jobresult_object){key, {INT64_MAX, 1}, S(SHA_B)};
	objs[0].sha256 = S(SHA_A);
	objs[0].size = (struct jobresult_int){123456789, 1};
	struct jobresult_artifact a = {
	    .location = loc,
	    .objects = objs,
	    .nobjects = JOBRESULT_MAX_OBJECTS,
	    .size = {123456789, 1},
	    .sha256 = S(SHA_A),
	    .plaintext_size = {INT64_MAX, 1},
	    .plaintext_sha256 = S(SHA_B),
	    .encrypted = {1, 1},
	    .format = S("custom"),
	    .compression = key,
	    .created_at = {1795226401, 1},
	    .files = {key, {INT64_MAX, 1}, S(SHA_B), {INT64_MAX, 1}},
	};
	jobresult_add_artifact(o, &a);
	struct jobresult_database d = {name,	       key,   key, {INT64_MAX, 1}, {INT64_MAX, 1},
				       {INT64_MIN, 1}, schema};
	jobresult_add_database(o, &d);
	struct must m = {"backup", "Completed", "Succeeded", SHA_A, 123456789, -1, -1, NULL};
	check_bounded(o, &m);
	json_object_put(o);
	free(ns);
	free(name);
	free(loc);
	free(key);
	free(schema);
}

/* A failed restore with a 4 KiB error message (escapes and multi-byte
 * characters throughout), long locations and versions, and 4 KiB of
 * auditError and targetError. */
static void
jobresult_render__worst_case_failed_restore_keeps_reason_and_target_unchanged(void **state)
{
	(void)state;
	char *ns = text_of(63, "n"), *name = text_of(253, "r"), *loc = text_of(2048, "gs://b/p/");
	char *msg = text_of(4096, NASTY), *err = text_of(4096, NASTY), *ver = text_of(1024, NASTY);
	struct json_object *o = json_object_new_object();
	add_top(o, "restore", "Failed", "SchemaMismatch", ns, name);
	json_object_object_add(o, JOBRESULT_MESSAGE, json_object_new_string(msg));
	struct jobresult_restored_backup b = {ns, name, loc, S(SHA_B), {1795226401, 1}, ver};
	jobresult_add_restored_backup(o, &b);
	struct jobresult_schema_check c = {S("RequireMatch"), S("TargetUnknown"), ver, ver, err};
	jobresult_add_schema_check(o, &c);
	struct jobresult_restore res = {loc,	ver,	      {1, 1}, {1, 1},
					{2, 1}, S("NoOwner"), name,   S("Skip")};
	jobresult_add_restore(o, &res);
	json_object_object_add(o, JOBRESULT_TARGET_UNCHANGED, json_object_new_boolean(1));
	json_object_object_add(o, JOBRESULT_AUDIT_RECORD, json_object_new_string(loc));
	json_object_object_add(o, JOBRESULT_AUDIT_ERROR, json_object_new_string(err));
	struct must m = {"restore", "Failed", "SchemaMismatch", NULL, -1, -1, 1, msg};
	check_bounded(o, &m);
	json_object_put(o);
	free(ns);
	free(name);
	free(loc);
	free(msg);
	free(err);
	free(ver);
}

/* An invalid --name lands in the result and again in the message; a verify
 * result's verdict survives beside them. */
static void jobresult_render__oversized_names_and_verify_verdict(void **state)
{
	(void)state;
	char *name = text_of(4096, NASTY), *msg = text_of(8192, "\x01");
	struct json_object *o = json_object_new_object();
	add_top(o, "verify", "Failed", "InvalidInput", name, name);
	json_object_object_add(o, JOBRESULT_MESSAGE, json_object_new_string(msg));
	struct jobresult_verification v = {{1, 1}, {1795226401, 1}, name, msg};
	jobresult_add_verification(o, &v);
	struct must m = {"verify", "Failed", "InvalidInput", NULL, -1, 1, -1, msg};
	check_bounded(o, &m);
	json_object_put(o);
	free(name);
	free(msg);
}

/* JSON is UTF-8: a message with bytes that are not (a server's error in
 * another encoding) must not make the whole result unreadable. */
static void jobresult_render__repairs_invalid_utf8(void **state)
{
	(void)state;
#define FFFD "\xef\xbf\xbd"
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"caf\xe9 au lait", "caf" FFFD " au lait"},		  /* Latin-1 */
	    {"cut \xe2\x82", "cut " FFFD FFFD},			  /* a truncated sequence */
	    {"over \xc0\xaf long", "over " FFFD FFFD " long"},	  /* an overlong '/' */
	    {"sur \xed\xa0\x80", "sur " FFFD FFFD FFFD},	  /* a UTF-16 surrogate */
	    {"big \xf4\x90\x80\x80", "big " FFFD FFFD FFFD FFFD}, /* past U+10FFFF */
	    {"\xff\xfe", FFFD FFFD},
	    {"ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
	     "ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"},
	};
#undef FFFD
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *o = json_object_new_object();
		add_top(o, "backup", "Failed", "DatabaseError", "app", "nightly");
		json_object_object_add(o, JOBRESULT_MESSAGE, json_object_new_string(cases[i].in));
		struct jobresult r;
		parse_ok(&r, jobresult_render(o));
		assert_string_equal(r.message, cases[i].out);
		jobresult_dispose(&r);
		json_object_put(o);
	}
}

/* Random sizes and contents for every field: always valid, always bounded. */
static void jobresult_render__bounded_for_random_field_sizes(void **state)
{
	(void)state;
	static const char *const patterns[] = {"a", NASTY, "\xe2\x82\xac", "\\\"", "s3://b/"};
	static const size_t sizes[] = {0,   1,	  63,	200,  511,  512, 513,
				       999, 1000, 1001, 2047, 4096, 6000};
	unsigned seed = 4242;
	for (int it = 0; it < 300; it++) {
#define PICK()                                                                                     \
	text_of(sizes[(size_t)rand_r(&seed) % (sizeof(sizes) / sizeof(sizes[0]))],                 \
		patterns[(size_t)rand_r(&seed) % (sizeof(patterns) / sizeof(patterns[0]))])
		char *f[8] = {0};
		for (int i = 0; i < 8; i++)
			f[i] = PICK();
#undef PICK
		int failed = rand_r(&seed) % 2;
		struct json_object *o = json_object_new_object();
		add_top(o, "backup", failed ? "Failed" : "Completed",
			failed ? "StorageError" : "Succeeded", f[0], f[1]);
		if (failed)
			json_object_object_add(o, JOBRESULT_MESSAGE, json_object_new_string(f[2]));
		struct jobresult_object objs[JOBRESULT_MAX_OBJECTS];
		size_t nobj = (size_t)rand_r(&seed) % (JOBRESULT_MAX_OBJECTS + 1);
		for (size_t i = 0; i < nobj; i++)
			objs[i] = (struct jobresult_object){f[3], {(int64_t)i, 1}, S(SHA_B)};
		struct jobresult_artifact a = {.location = f[4],
					       .objects = objs,
					       .nobjects = nobj,
					       .size = {42, 1},
					       .sha256 = S(SHA_A),
					       .format = S("plain"),
					       .compression = f[5]};
		jobresult_add_artifact(o, &a);
		struct jobresult_database d = {.name = f[6], .schema_version = f[7]};
		jobresult_add_database(o, &d);
		json_object_object_add(o, JOBRESULT_AUDIT_ERROR, json_object_new_string(f[7]));
		struct must m = {"backup",
				 failed ? "Failed" : "Completed",
				 failed ? "StorageError" : "Succeeded",
				 SHA_A,
				 42,
				 -1,
				 -1,
				 failed && strlen(f[2]) >= 16 ? f[2] : NULL};
		check_bounded(o, &m);
		json_object_put(o);
		for (int i = 0; i < 8; i++)
			free(f[i]);
	}
}

/* Round trip: what the writers produce, the parser reads back unchanged. */
static void jobresult_parse__reads_back_what_the_writers_write(void **state)
{
	(void)state;
	struct jobresult r;
	parse_ok(&r, good);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, JOBRESULT_COMMAND, json_object_new_string(r.command));
	json_object_object_add(o, JOBRESULT_PHASE, json_object_new_string(r.phase));
	json_object_object_add(o, JOBRESULT_REASON, json_object_new_string(r.reason));
	jobresult_add_artifact(o, &r.artifact);
	jobresult_add_database(o, &r.database);
	const char *text = jobresult_render(o);
	struct jobresult back;
	parse_ok(&back, text);
	assert_int_equal(back.artifact.nobjects, r.artifact.nobjects);
	assert_string_equal(back.artifact.objects[1].key, r.artifact.objects[1].key);
	assert_string_equal(back.artifact.sha256, r.artifact.sha256);
	assert_int_equal(back.artifact.created_at.value, r.artifact.created_at.value);
	assert_string_equal(back.database.schema_version, r.database.schema_version);
	assert_int_equal(back.database.row_estimate.value, r.database.row_estimate.value);
	assert_true(jobresult_has_artifact(&back));
	jobresult_dispose(&back);
	jobresult_dispose(&r);
	json_object_put(o);
}

/* artifact.files: written after the historical fields, only when there is
 * an archive, and read back; a malformed one never reaches a status. */
static void jobresult_artifact_files__written_and_read_back(void **state)
{
	(void)state;
	struct jobresult_artifact a = {
	    .size = {1234, 1},
	    .sha256 = S(SHA_A),
	    .files = {S("files.tar.zst.pgp"), {777, 1}, S(SHA_B), {3017, 1}},
	};
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, JOBRESULT_COMMAND, json_object_new_string("backup"));
	json_object_object_add(o, JOBRESULT_PHASE, json_object_new_string("Completed"));
	jobresult_add_artifact(o, &a);
	const char *text = jobresult_render(o);
	assert_null(strstr(text, "\"createdAt\""));
	assert_non_null(strstr(text, ",\"files\":{\"object\":\"files.tar.zst.pgp\",\"size\":777,"
				     "\"sha256\":\"" SHA_B "\",\"count\":3017}}"));
	struct jobresult r;
	parse_ok(&r, text);
	assert_string_equal(r.artifact.files.object, "files.tar.zst.pgp");
	assert_int_equal(r.artifact.files.size.value, 777);
	assert_string_equal(r.artifact.files.sha256, SHA_B);
	assert_int_equal(r.artifact.files.count.value, 3017);
	assert_int_equal(r.ignored, 0);
	jobresult_dispose(&r);
	json_object_put(o);

	static const struct {
		const char *files;
		int has_object;
		size_t ignored;
	} cases[] = {
	    {"[]", 0, 1},
	    {"\"files.tar\"", 0, 1},
	    {"{\"size\":1,\"count\":2}", 0, 1},
	    {"{\"object\":\"\",\"count\":2}", 0, 1},
	    {"{\"object\":\"f.tar\",\"sha256\":\"XYZ\",\"count\":-2}", 1, 2},
	    {"{\"object\":\"f.tar\",\"unknown\":1}", 1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[512];
		snprintf(
		    buf, sizeof(buf),
		    "{\"command\":\"backup\",\"phase\":\"Completed\",\"artifact\":{\"files\":%s}}",
		    cases[i].files);
		parse_ok(&r, buf);
		assert_int_equal(r.artifact.files.object != NULL, cases[i].has_object);
		assert_int_equal(r.ignored, cases[i].ignored);
		assert_null(r.artifact.files.sha256);
		assert_false(r.artifact.files.count.set);
		jobresult_dispose(&r);
	}
}

/* What `lifeboat restore` prints since the schema check and the audit
 * record (docs/job.md), field for field. */
static const char restore_good[] =
    "{\"command\":\"restore\",\"namespace\":\"app\",\"name\":\"nightly\",\"startTime\":"
    "\"2026-11-21T03:00:00Z\",\"restore\":{\"target\":\"postgresql://app@db:5432/app\","
    "\"targetServerVersion\":\"15.18\",\"clean\":true,\"startTime\":\"2026-11-21T03:00:00Z\","
    "\"completionTime\":\"2026-11-21T03:01:00Z\",\"ownership\":\"NoOwner\",\"role\":\"app_owner\","
    "\"privileges\":\"Skip\"},\"restoredBackup\":{\"namespace\":\"app\",\"name\":\"nightly\","
    "\"location\":\"s3://acme/prod/app/nightly/\",\"sha256\":\"" SHA_A "\",\"createdAt\":"
    "\"2026-11-21T02:00:01Z\",\"schemaVersion\":\"42\"},\"schemaCheck\":{\"policy\":\"Warn\","
    "\"result\":\"Mismatch\",\"backupVersion\":\"42\",\"targetVersion\":\"43\"},\"auditRecord\":"
    "\"s3://acme/prod/app/_restores/2026/11/undo.json\",\"completionTime\":"
    "\"2026-11-21T03:01:00Z\",\"phase\":\"Completed\",\"reason\":\"Succeeded\",\"peakRssKiB\":"
    "9000}";

static void jobresult_parse__reads_a_restore_result_with_schema_check_and_audit(void **state)
{
	(void)state;
	struct jobresult r;
	parse_ok(&r, restore_good);
	assert_true(jobresult_ok(&r));
	assert_true(r.has_restore);
	assert_string_equal(r.restore.ownership, "NoOwner");
	assert_string_equal(r.restore.role, "app_owner");
	assert_string_equal(r.restore.privileges, "Skip");
	assert_true(r.has_restored_backup);
	assert_string_equal(r.restored_backup.namespace_, "app");
	assert_string_equal(r.restored_backup.name, "nightly");
	assert_string_equal(r.restored_backup.location, "s3://acme/prod/app/nightly/");
	assert_string_equal(r.restored_backup.sha256, SHA_A);
	assert_int_equal(r.restored_backup.created_at.value, 1795226401);
	assert_string_equal(r.restored_backup.schema_version, "42");
	assert_true(r.has_schema_check);
	assert_string_equal(r.schema_check.policy, "Warn");
	assert_string_equal(r.schema_check.result, "Mismatch");
	assert_string_equal(r.schema_check.backup_version, "42");
	assert_string_equal(r.schema_check.target_version, "43");
	assert_null(r.schema_check.target_error);
	assert_string_equal(r.audit_record, "s3://acme/prod/app/_restores/2026/11/undo.json");
	assert_null(r.audit_error);
	assert_false(r.target_unchanged.set);
	assert_int_equal(r.ignored, 0);
	jobresult_dispose(&r);

	parse_ok(&r, "{\"command\":\"restore\",\"phase\":\"Failed\",\"reason\":\"MissingRole\","
		     "\"message\":\"role \\\"x\\\" does not exist\",\"targetUnchanged\":true,"
		     "\"schemaCheck\":{\"policy\":\"RequireMatch\",\"result\":\"TargetUnknown\","
		     "\"backupVersion\":\"42\",\"targetVersion\":null,\"targetError\":\"ERROR:  "
		     "relation \\\"schema_migrations\\\" does not exist\\n\"},\"auditError\":"
		     "\"cannot create folder /b/app/_restores: Not a directory\\n\"}");
	assert_false(jobresult_ok(&r));
	assert_string_equal(r.reason, "MissingRole");
	assert_true(r.target_unchanged.set && r.target_unchanged.value);
	assert_string_equal(r.schema_check.result, "TargetUnknown");
	assert_null(r.schema_check.target_version);
	assert_string_equal(r.schema_check.target_error,
			    "ERROR:  relation \"schema_migrations\" does not exist\n");
	assert_string_equal(r.audit_error,
			    "cannot create folder /b/app/_restores: Not a directory\n");
	assert_false(r.has_restored_backup);
	assert_int_equal(r.ignored, 0);
	jobresult_dispose(&r);

	parse_ok(&r, "{\"command\":\"audit\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
		     "\"count\":12}");
	assert_string_equal(r.command, "audit");
	assert_int_equal(r.count.value, 12);
	jobresult_dispose(&r);
}

/* Values the CRD's enumerations and patterns would refuse never reach a status. */
static void jobresult_parse__leaves_restore_values_outside_their_enumerations_unset(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		size_t ignored;
	} cases[] = {
	    {"\"schemaCheck\":{\"policy\":\"warn\",\"result\":\"Unknown\"}", 2},
	    {"\"schemaCheck\":{\"policy\":\"Warn \",\"result\":\"match\"}", 2},
	    {"\"schemaCheck\":{\"policy\":7,\"result\":[]}", 2},
	    {"\"schemaCheck\":\"Match\"", 1},
	    {"\"restore\":{\"ownership\":\"None\",\"privileges\":\"Drop\"}", 2},
	    {"\"restore\":{\"ownership\":\"Keep\\n\",\"privileges\":true}", 2},
	    {"\"restoredBackup\":{\"sha256\":\"XYZ\",\"createdAt\":\"yesterday\"}", 2},
	    {"\"targetUnchanged\":\"yes\"", 1},
	    {"\"auditRecord\":\"s3://b/k\\u0001\"", 1},
	    {"\"auditRecord\":42,\"count\":-1", 2},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[512];
		snprintf(buf, sizeof(buf), "{\"command\":\"restore\",\"phase\":\"Failed\",%s}",
			 cases[i].json);
		struct jobresult r;
		parse_ok(&r, buf);
		if (r.ignored != cases[i].ignored)
			fail_msg("case %zu: ignored %zu, want %zu", i, r.ignored, cases[i].ignored);
		assert_null(r.schema_check.policy);
		assert_null(r.schema_check.result);
		assert_null(r.restore.ownership);
		assert_null(r.restore.privileges);
		assert_null(r.restored_backup.sha256);
		assert_false(r.restored_backup.created_at.set);
		assert_false(r.target_unchanged.set);
		assert_null(r.audit_record);
		assert_false(r.count.set);
		jobresult_dispose(&r);
	}
	/* Every value of each enumeration is taken. */
	static const char *const results[] = {"Match", "Mismatch", "Skipped", "TargetUnknown"};
	static const char *const policies[] = {"Ignore", "Warn", "RequireMatch"};
	for (size_t i = 0; i < 4; i++) {
		char buf[256];
		snprintf(buf, sizeof(buf),
			 "{\"command\":\"restore\",\"phase\":\"Completed\",\"schemaCheck\":{"
			 "\"policy\":\"%s\",\"result\":\"%s\"},\"restore\":{\"ownership\":\"%s\","
			 "\"privileges\":\"%s\"}}",
			 policies[i % 3], results[i], i % 2 ? "NoOwner" : "Keep",
			 i % 2 ? "Skip" : "Keep");
		struct jobresult r;
		parse_ok(&r, buf);
		assert_string_equal(r.schema_check.result, results[i]);
		assert_string_equal(r.schema_check.policy, policies[i % 3]);
		assert_string_equal(r.restore.ownership, i % 2 ? "NoOwner" : "Keep");
		assert_int_equal(r.ignored, 0);
		jobresult_dispose(&r);
	}
}

/* The writers of the new sections and the parser agree; absent strings are
 * left out where the schema says so. */
static void jobresult_restore_sections__written_and_read_back(void **state)
{
	(void)state;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, JOBRESULT_COMMAND, json_object_new_string("restore"));
	json_object_object_add(o, JOBRESULT_PHASE, json_object_new_string("Failed"));
	struct jobresult_restored_backup b = {.namespace_ = S("app"),
					      .name = S("nightly"),
					      .location = S("file:///b/app/nightly/"),
					      .sha256 = S(SHA_B),
					      .created_at = {1795226401, 1}};
	struct jobresult_schema_check c = {.policy = S("RequireMatch"),
					   .result = S("TargetUnknown"),
					   .backup_version = S("42"),
					   .target_error = S("returned NULL")};
	struct jobresult_restore res = {.target = S("postgresql://u@h:1/d"), .clean = {0, 1}};
	jobresult_add_restored_backup(o, &b);
	jobresult_add_schema_check(o, &c);
	jobresult_add_restore(o, &res);
	json_object_object_add(o, JOBRESULT_TARGET_UNCHANGED, json_object_new_boolean(1));
	const char *text = jobresult_render(o);
	assert_non_null(strstr(text,
			       "\"restoredBackup\":{\"namespace\":\"app\",\"name\":\"nightly\","
			       "\"location\":\"file:///b/app/nightly/\",\"sha256\":\"" SHA_B
			       "\",\"createdAt\":\"2026-11-21T02:00:01Z\"}"));
	assert_non_null(strstr(text, "\"schemaCheck\":{\"policy\":\"RequireMatch\",\"result\":"
				     "\"TargetUnknown\",\"backupVersion\":\"42\",\"targetVersion\":"
				     "null,\"targetError\":\"returned NULL\"}"));
	/* The restore section keeps its old text when the new fields are unset. */
	assert_non_null(strstr(text, "\"restore\":{\"target\":\"postgresql://u@h:1/d\","
				     "\"targetServerVersion\":null,\"clean\":false}"));
	struct jobresult r;
	parse_ok(&r, text);
	assert_string_equal(r.restored_backup.sha256, SHA_B);
	assert_null(r.restored_backup.schema_version);
	assert_string_equal(r.schema_check.target_error, "returned NULL");
	assert_null(r.schema_check.target_version);
	assert_true(r.target_unchanged.value);
	assert_int_equal(r.ignored, 0);
	jobresult_dispose(&r);
	json_object_put(o);
}

/* Random byte mutations of a good result never crash or leak (the ASan and
 * valgrind runs of this file check the second half). */
static void jobresult_parse__survives_random_mutations(void **state)
{
	(void)state;
	const char *env = getenv("FUZZ_ITERATIONS");
	long iterations = env ? atol(env) : 20000;
	size_t n = strlen(good);
	char *buf = malloc(n + 1);
	unsigned seed = 12345;
	long accepted = 0;
	static const char alphabet[] = "{}[]\",:0123456789-.eE truefalsn\\u\x01\xff";
	for (long it = 0; it < iterations; it++) {
		memcpy(buf, good, n + 1);
		size_t len = n;
		int edits = 1 + (int)(rand_r(&seed) % 8);
		for (int e = 0; e < edits && len > 0; e++) {
			size_t pos = (size_t)rand_r(&seed) % len;
			switch (rand_r(&seed) % 4) {
			case 0: /* replace */
				buf[pos] = alphabet[(size_t)rand_r(&seed) % (sizeof(alphabet) - 1)];
				break;
			case 1: /* delete */
				memmove(buf + pos, buf + pos + 1, len - pos);
				len--;
				break;
			case 2: /* truncate */
				len = pos;
				break;
			default: /* random byte */
				buf[pos] = (char)(rand_r(&seed) & 0xff);
				break;
			}
		}
		struct jobresult r;
		if (jobresult_parse(&r, buf, len) == 0) {
			accepted++;
			/* Whatever was accepted keeps the promises. */
			assert_non_null(r.command);
			assert_non_null(r.phase);
			if (r.artifact.sha256)
				assert_int_equal(strlen(r.artifact.sha256), 64);
			assert_true(r.artifact.nobjects <= JOBRESULT_MAX_OBJECTS);
			jobresult_dispose(&r);
		}
	}
	/* Some mutations only touch values: the loop exercised the field paths. */
	assert_true(iterations < 100 || accepted > 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(jobresult_parse__reads_a_backup_result),
	    cmocka_unit_test(jobresult_parse__reads_failure_verify_restore_and_delete),
	    cmocka_unit_test(jobresult_parse__refuses_garbage),
	    cmocka_unit_test(jobresult_parse__refuses_every_truncation),
	    cmocka_unit_test(jobresult_parse__refuses_nul_bad_utf8_and_oversize),
	    cmocka_unit_test(jobresult_parse__leaves_malformed_fields_unset),
	    cmocka_unit_test(jobresult_parse__treats_null_and_unknown_fields_as_absent),
	    cmocka_unit_test(jobresult_parse__keeps_at_most_64_objects),
	    cmocka_unit_test(jobresult_has_artifact__needs_success_sha256_and_size),
	    cmocka_unit_test(jobresult_time_parse__accepts_only_canonical_utc),
	    cmocka_unit_test(jobresult_add_artifact__writes_the_jobs_historical_text),
	    cmocka_unit_test(jobresult_render__fits_a_termination_message),
	    cmocka_unit_test(jobresult_render__worst_case_backup_keeps_sha256_and_size),
	    cmocka_unit_test(
		jobresult_render__worst_case_failed_restore_keeps_reason_and_target_unchanged),
	    cmocka_unit_test(jobresult_render__oversized_names_and_verify_verdict),
	    cmocka_unit_test(jobresult_render__repairs_invalid_utf8),
	    cmocka_unit_test(jobresult_render__bounded_for_random_field_sizes),
	    cmocka_unit_test(jobresult_parse__reads_back_what_the_writers_write),
	    cmocka_unit_test(jobresult_artifact_files__written_and_read_back),
	    cmocka_unit_test(jobresult_parse__reads_a_restore_result_with_schema_check_and_audit),
	    cmocka_unit_test(
		jobresult_parse__leaves_restore_values_outside_their_enumerations_unset),
	    cmocka_unit_test(jobresult_restore_sections__written_and_read_back),
	    cmocka_unit_test(jobresult_parse__survives_random_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
