/* Tests for job/model/audit.c: the record's key (the UTC month of the start), its
 * JSON (every documented field, nulls, escaping, no surprises), and the
 * summary `lifeboat audit` reads back, which survives garbage. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "common/buf.h"
#include "common/err.h"
#include "job/model/audit.h"
#include "job/model/schema.h"

#define SHA_A "3b22c7e0d86c8e4a3b22c7e0d86c8e4a3b22c7e0d86c8e4a3b22c7e0d86c8e4a"
#define SHA_B "9f1c00aa9f1c00aa9f1c00aa9f1c00aa9f1c00aa9f1c00aa9f1c00aa9f1c00aa"

/* 2026-12-31T23:59:59Z and one second later. */
#define LAST_SECOND_2026 ((time_t)1798761599)

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	if (!o)
		fail_msg("not JSON: %s", text);
	return o;
}

static struct json_object *at(struct json_object *o, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok(buf, "."); k; k = strtok(NULL, ".")) {
		struct json_object *v = NULL;
		if (!json_object_object_get_ex(o, k, &v))
			fail_msg("no %s (at %s)", path, k);
		o = v;
	}
	return o;
}

static const char *str_at(struct json_object *o, const char *path)
{
	struct json_object *v = at(o, path);
	if (!json_object_is_type(v, json_type_string))
		fail_msg("%s is not a string", path);
	return json_object_get_string(v);
}

static int has(struct json_object *o, const char *k)
{
	return json_object_object_get_ex(o, k, NULL);
}

static void audit_key__uses_the_utc_month_of_the_start(void **state)
{
	(void)state;
	/* A zone far east: local time would already be the next month. */
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	setenv("TZ", "Pacific/Kiritimati", 1);
	tzset();
	char *k = audit_key("app", "undo-migration", LAST_SECOND_2026);
	assert_string_equal(k, "app/_restores/2026/12/undo-migration.json");
	free(k);
	k = audit_key("app", "r1", LAST_SECOND_2026 + 1);
	assert_string_equal(k, "app/_restores/2027/01/r1.json");
	free(k);
	k = audit_key("default", "r", 0);
	assert_string_equal(k, "default/_restores/1970/01/r.json");
	assert_true(audit_is_key(k));
	free(k);
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
}

static void audit_is_key__accepts_only_the_layout(void **state)
{
	(void)state;
	static const struct {
		const char *key;
		int ok;
	} cases[] = {
	    {"app/_restores/2026/12/r1.json", 1},
	    {"a/_restores/0001/99/x.y.json", 1},
	    {"app/_restores/2026/12/.json", 0},
	    {"app/_restores/2026/12/r1.json.partial", 0},
	    {"app/_restores/2026/12/r1.JSON", 0},
	    {"app/_restores/2026/12/sub/r1.json", 0},
	    {"app/_restores/2026/1/r1.json", 0},
	    {"app/_restores/26/12/r1.json", 0},
	    {"app/_restores/20x6/12/r1.json", 0},
	    {"app/_restores/r1.json", 0},
	    {"app/_restores/stray.json", 0},
	    {"app/restores/2026/12/r1.json", 0},
	    {"app/_restoresX/2026/12/r1.json", 0},
	    {"app/nightly/manifest.json", 0},
	    {"/_restores/2026/12/r1.json", 0},
	    {"_restores/2026/12/r1.json", 0},
	    {"", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (audit_is_key(cases[i].key) != cases[i].ok)
			fail_msg("%s: want %d", cases[i].key, cases[i].ok);
}

static struct audit_record full_record(const struct schema_check *sc)
{
	struct audit_record a = {
	    .namespace_ = "app",
	    .name = "undo-migration",
	    .requested_by = "alice (groups: ops)",
	    .start_time = LAST_SECOND_2026 - 120,
	    .completion_time = LAST_SECOND_2026 - 60,
	    .has_source = 1,
	    .source_namespace = "app",
	    .source_name = "nightly-202612310200",
	    .source_location = "s3://acme/prod/app/nightly-202612310200/",
	    .source_sha256 = SHA_A,
	    .source_created_at = LAST_SECOND_2026 - 80000,
	    .source_schema_version = "20261121000000",
	    .target_host = "app-db-rw.app.svc",
	    .target_port = "5432",
	    .target_database = "app",
	    .target_user = "postgres",
	    .safety = AUDIT_SAFETY_TAKEN,
	    .safety_name = "undo-migration-safety",
	    .safety_location = "s3://acme/prod/app/undo-migration-safety/",
	    .safety_sha256 = SHA_B,
	    .schema = sc,
	    .clean = 1,
	    .tool_version = "0.1.0",
	};
	return a;
}

static void audit_to_json__writes_every_documented_field(void **state)
{
	(void)state;
	struct schema_check sc = {SCHEMA_POLICY_WARN, SCHEMA_MATCH, "20261121000000",
				  "20261121000000", NULL};
	struct audit_record a = full_record(&sc);
	struct buf b;
	buf_init(&b, AUDIT_MAX_BYTES);
	assert_int_equal(audit_to_json(&a, &b), 0);
	assert_true(b.len > 0 && b.ptr[b.len - 1] == '\n');
	struct json_object *o = parse(b.ptr);
	static const char *const top[] = {
	    "apiVersion", "kind",	    "restore",	   "requestedBy",
	    "startTime",  "completionTime", "outcome",	   "source",
	    "target",	  "safetyBackup",   "schemaCheck", "clean",
	    "ownership",  "privileges",	    "files",	   "lifeboatVersion"};
	assert_int_equal(json_object_object_length(o), sizeof(top) / sizeof(top[0]));
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		if (!has(o, top[i]))
			fail_msg("no %s", top[i]);
	assert_string_equal(str_at(o, "apiVersion"), "lifeboat.dev/v1alpha1");
	assert_string_equal(str_at(o, "kind"), "RestoreAudit");
	assert_string_equal(str_at(o, "restore.namespace"), "app");
	assert_string_equal(str_at(o, "restore.name"), "undo-migration");
	assert_string_equal(str_at(o, "requestedBy"), "alice (groups: ops)");
	assert_string_equal(str_at(o, "startTime"), "2026-12-31T23:57:59Z");
	assert_string_equal(str_at(o, "completionTime"), "2026-12-31T23:58:59Z");
	assert_string_equal(str_at(o, "outcome"), "Completed");
	assert_false(has(o, "error"));
	assert_false(has(o, "targetUnchanged"));
	assert_string_equal(str_at(o, "source.namespace"), "app");
	assert_string_equal(str_at(o, "source.name"), "nightly-202612310200");
	assert_string_equal(str_at(o, "source.location"),
			    "s3://acme/prod/app/nightly-202612310200/");
	assert_string_equal(str_at(o, "source.sha256"), SHA_A);
	assert_string_equal(str_at(o, "source.createdAt"), "2026-12-31T01:46:39Z");
	assert_string_equal(str_at(o, "source.schemaVersion"), "20261121000000");
	assert_string_equal(str_at(o, "target.host"), "app-db-rw.app.svc");
	assert_true(json_object_is_type(at(o, "target.port"), json_type_int));
	assert_int_equal(json_object_get_int(at(o, "target.port")), 5432);
	assert_string_equal(str_at(o, "target.database"), "app");
	assert_string_equal(str_at(o, "target.user"), "postgres");
	assert_int_equal(json_object_object_length(at(o, "target")), 4);
	assert_true(json_object_get_boolean(at(o, "safetyBackup.enabled")));
	assert_string_equal(str_at(o, "safetyBackup.name"), "undo-migration-safety");
	assert_string_equal(str_at(o, "safetyBackup.location"),
			    "s3://acme/prod/app/undo-migration-safety/");
	assert_string_equal(str_at(o, "safetyBackup.sha256"), SHA_B);
	assert_string_equal(str_at(o, "schemaCheck.policy"), "Warn");
	assert_string_equal(str_at(o, "schemaCheck.result"), "Match");
	assert_string_equal(str_at(o, "schemaCheck.backupVersion"), "20261121000000");
	assert_string_equal(str_at(o, "schemaCheck.targetVersion"), "20261121000000");
	assert_false(has(at(o, "schemaCheck"), "targetError"));
	assert_true(json_object_get_boolean(at(o, "clean")));
	assert_string_equal(str_at(o, "ownership.mode"), "Keep");
	assert_null(at(o, "ownership.role"));
	assert_string_equal(str_at(o, "privileges"), "Keep");
	assert_null(at(o, "files"));
	assert_string_equal(str_at(o, "lifeboatVersion"), "0.1.0");
	json_object_put(o);
	buf_dispose(&b);
}

static void audit_to_json__a_failed_restore_has_error_and_target_unchanged(void **state)
{
	(void)state;
	struct schema_check sc = {SCHEMA_POLICY_REQUIRE_MATCH, SCHEMA_TARGET_UNKNOWN, "42", NULL,
				  "ERROR:  relation \"schema_migrations\" does not exist"};
	struct audit_record a = full_record(&sc);
	a.failed = 1;
	a.error_reason = "SchemaMismatch";
	a.error_message = "schema check refused the restore: \"42\" vs nothing\nsecond line";
	a.target_unchanged = 1;
	a.no_owner = 1;
	a.no_privileges = 1;
	a.role = "app_owner";
	a.files = "/files/media";
	a.safety = AUDIT_SAFETY_DISABLED;
	struct buf b;
	buf_init(&b, AUDIT_MAX_BYTES);
	assert_int_equal(audit_to_json(&a, &b), 0);
	struct json_object *o = parse(b.ptr);
	assert_string_equal(str_at(o, "outcome"), "Failed");
	assert_string_equal(str_at(o, "error.reason"), "SchemaMismatch");
	assert_string_equal(str_at(o, "error.message"), a.error_message);
	assert_true(json_object_get_boolean(at(o, "targetUnchanged")));
	assert_int_equal(json_object_object_length(at(o, "safetyBackup")), 1);
	assert_false(json_object_get_boolean(at(o, "safetyBackup.enabled")));
	assert_string_equal(str_at(o, "schemaCheck.result"), "TargetUnknown");
	assert_null(at(o, "schemaCheck.targetVersion"));
	assert_string_equal(str_at(o, "schemaCheck.targetError"),
			    "ERROR:  relation \"schema_migrations\" does not exist");
	assert_string_equal(str_at(o, "ownership.mode"), "NoOwner");
	assert_string_equal(str_at(o, "ownership.role"), "app_owner");
	assert_string_equal(str_at(o, "privileges"), "Skip");
	assert_string_equal(str_at(o, "files"), "/files/media");
	json_object_put(o);

	/* Failed after COMMIT: the target changed. */
	a.target_unchanged = 0;
	buf_dispose(&b);
	buf_init(&b, AUDIT_MAX_BYTES);
	assert_int_equal(audit_to_json(&a, &b), 0);
	o = parse(b.ptr);
	assert_false(json_object_get_boolean(at(o, "targetUnchanged")));
	json_object_put(o);
	buf_dispose(&b);
}

static void audit_to_json__a_zero_record_is_valid_with_nulls(void **state)
{
	(void)state;
	struct audit_record a;
	memset(&a, 0, sizeof(a));
	struct buf b;
	buf_init(&b, AUDIT_MAX_BYTES);
	assert_int_equal(audit_to_json(&a, &b), 0);
	struct json_object *o = parse(b.ptr);
	assert_string_equal(str_at(o, "kind"), "RestoreAudit");
	assert_null(at(o, "restore.name"));
	assert_null(at(o, "requestedBy"));
	assert_null(at(o, "source"));
	assert_null(at(o, "safetyBackup")); /* unstated: null */
	assert_null(at(o, "schemaCheck"));  /* did not run */
	assert_null(at(o, "target.port"));
	assert_string_equal(str_at(o, "outcome"), "Completed");
	assert_string_equal(str_at(o, "startTime"), "1970-01-01T00:00:00Z");
	json_object_put(o);
	buf_dispose(&b);
}

static void audit_to_json__escapes_free_text_and_keeps_odd_ports_as_text(void **state)
{
	(void)state;
	struct audit_record a;
	memset(&a, 0, sizeof(a));
	a.requested_by = "mallory\", \"outcome\": \"Completed\n\t\\ \xc3\xa9 </script>";
	a.target_port = "5432,5433";
	a.target_host = "/var/run/postgresql";
	struct buf b;
	buf_init(&b, AUDIT_MAX_BYTES);
	assert_int_equal(audit_to_json(&a, &b), 0);
	struct json_object *o = parse(b.ptr);
	assert_string_equal(str_at(o, "requestedBy"), a.requested_by);
	assert_string_equal(str_at(o, "target.port"), "5432,5433");
	assert_string_equal(str_at(o, "target.host"), "/var/run/postgresql");
	/* NOSLASHESCAPE: paths stay readable with cat. */
	assert_non_null(strstr(b.ptr, "\"/var/run/postgresql\""));
	json_object_put(o);
	static const char *const odd[] = {"0", "65536", "-1", "x", " 5432"};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		b.len = 0;
		a.target_port = odd[i];
		assert_int_equal(audit_to_json(&a, &b), 0);
		o = parse(b.ptr);
		assert_string_equal(str_at(o, "target.port"), odd[i]);
		json_object_put(o);
	}
	buf_dispose(&b);
}

static void audit_to_json__too_big_is_an_error(void **state)
{
	(void)state;
	struct audit_record a;
	memset(&a, 0, sizeof(a));
	struct buf b;
	buf_init(&b, 64);
	assert_int_equal(audit_to_json(&a, &b), E_TOOBIG);
	assert_non_null(strstr(err_msg(), "larger than 64 bytes"));
	buf_dispose(&b);
}

static void audit_summary_parse__reads_what_audit_to_json_writes(void **state)
{
	(void)state;
	struct schema_check sc = {SCHEMA_POLICY_WARN, SCHEMA_MATCH, "1", "1", NULL};
	struct audit_record a = full_record(&sc);
	a.failed = 1;
	struct buf b;
	buf_init(&b, AUDIT_MAX_BYTES);
	assert_int_equal(audit_to_json(&a, &b), 0);
	struct audit_summary s;
	struct json_object *o = NULL;
	assert_int_equal(audit_summary_parse(&s, &o, b.ptr, b.len), 0);
	assert_non_null(o);
	assert_string_equal(s.namespace_, "app");
	assert_string_equal(s.name, "undo-migration");
	assert_string_equal(s.outcome, "Failed");
	assert_string_equal(s.backup, "app/nightly-202612310200");
	assert_string_equal(s.database, "app");
	assert_string_equal(s.requested_by, "alice (groups: ops)");
	assert_int_equal(s.start_time, a.start_time);
	assert_string_equal(str_at(o, "source.sha256"), SHA_A);
	json_object_put(o);
	audit_summary_dispose(&s);
	audit_summary_dispose(&s); /* twice is harmless */
	audit_summary_dispose(NULL);
	/* Without the JSON out. */
	assert_int_equal(audit_summary_parse(&s, NULL, b.ptr, b.len), 0);
	audit_summary_dispose(&s);
	buf_dispose(&b);
}

static void audit_summary_parse__refuses_what_is_no_record(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "not json {",
	    "[]",
	    "\"RestoreAudit\"",
	    "{}",
	    "{\"kind\": \"DatabaseBackup\"}",
	    "{\"kind\": 7}",
	    "{\"kind\": \"RestoreAudit\"} trailing",
	    "{\"kind\": \"RestoreAudit\"",
	    "{\"kind\": \"RestoreAudit\"}{}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct audit_summary s = {.name = NULL};
		struct json_object *o = NULL;
		if (audit_summary_parse(&s, &o, bad[i], strlen(bad[i])) != E_INTEGRITY)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_null(o);
		assert_null(s.name);
		assert_non_null(strstr(err_msg(), "audit record: "));
	}
	/* A NUL inside, and more than the cap. */
	const char nul[] = "{\"kind\": \"RestoreAudit\"}\0 ";
	struct audit_summary s;
	assert_int_equal(audit_summary_parse(&s, NULL, nul, sizeof(nul) - 1), E_INTEGRITY);
	char *big = malloc(AUDIT_MAX_BYTES + 2);
	memset(big, ' ', AUDIT_MAX_BYTES + 1);
	memcpy(big, "{\"kind\": \"RestoreAudit\"}", 24);
	big[AUDIT_MAX_BYTES + 1] = '\0';
	assert_int_equal(audit_summary_parse(&s, NULL, big, AUDIT_MAX_BYTES + 1), E_INTEGRITY);
	assert_int_equal(audit_summary_parse(&s, NULL, big, AUDIT_MAX_BYTES), 0);
	audit_summary_dispose(&s);
	free(big);
}

static void audit_summary_parse__tolerates_missing_and_mistyped_fields(void **state)
{
	(void)state;
	struct audit_summary s;
	const char *t = "{\"kind\": \"RestoreAudit\", \"restore\": [1], \"outcome\": 3, "
			"\"startTime\": \"yesterday\", \"source\": {\"name\": \"b\"}, "
			"\"target\": null, \"requestedBy\": \"x\\u0000y\", \"future\": {}}";
	assert_int_equal(audit_summary_parse(&s, NULL, t, strlen(t)), 0);
	assert_null(s.namespace_);
	assert_null(s.name);
	assert_null(s.outcome);
	assert_null(s.database);
	assert_null(s.requested_by); /* a NUL would cut it short: dropped */
	assert_string_equal(s.backup, "b");
	assert_int_equal(s.start_time, 0);
	audit_summary_dispose(&s);
}

static void audit_summary_cmp__newest_first_then_namespace_and_name(void **state)
{
	(void)state;
	struct audit_summary v[5];
	memset(v, 0, sizeof(v));
	char names[][2] = {"b", "a", "c", "d", "e"};
	char nss[][2] = {"x", "x", "w", "x", "x"};
	time_t times[] = {100, 100, 100, 300, 0};
	for (int i = 0; i < 5; i++) {
		v[i].name = names[i];
		v[i].namespace_ = nss[i];
		v[i].start_time = times[i];
	}
	qsort(v, 5, sizeof(v[0]), audit_summary_cmp);
	const char *want[] = {"d", "c", "a", "b", "e"};
	for (int i = 0; i < 5; i++)
		assert_string_equal(v[i].name, want[i]);
	/* NULL names sort as empty, never crash. */
	struct audit_summary x = {.start_time = 1}, y = {.start_time = 1, .name = names[0]};
	assert_true(audit_summary_cmp(&x, &y) < 0);
	assert_int_equal(audit_summary_cmp(&x, &x), 0);
}

static void audit_cut_text__cuts_long_text_on_a_character_boundary(void **state)
{
	(void)state;
	char *c = audit_cut_text("short", 16);
	assert_string_equal(c, "short");
	free(c);
	c = audit_cut_text("0123456789abcdef", 16); /* exactly max: kept */
	assert_string_equal(c, "0123456789abcdef");
	free(c);
	c = audit_cut_text("0123456789abcdefg", 16);
	assert_string_equal(c, "0123456789abc...");
	assert_int_equal(strlen(c), 16);
	free(c);
	/* "é" is two bytes: kept whole when it fits (bytes 11-12) ... */
	c = audit_cut_text("0123456789a\xc3\xa9"
			   "bcdefgh",
			   16);
	assert_string_equal(c, "0123456789a\xc3\xa9...");
	free(c);
	/* ... and never split (bytes 12-13). */
	c = audit_cut_text("0123456789ab\xc3\xa9"
			   "cdefgh",
			   16);
	assert_string_equal(c, "0123456789ab...");
	free(c);
	/* A four-byte character across the cut. */
	c = audit_cut_text("0123456789\xf0\x9f\x9a\xa3xxxxx", 16);
	assert_string_equal(c, "0123456789...");
	free(c);
}

/* Random mutations of a good record never crash or leak (ASan, valgrind). */
static void audit_summary_parse__survives_random_mutations(void **state)
{
	(void)state;
	struct schema_check sc = {SCHEMA_POLICY_WARN, SCHEMA_MISMATCH, "1", "2", NULL};
	struct audit_record a = full_record(&sc);
	struct buf b;
	buf_init(&b, AUDIT_MAX_BYTES);
	assert_int_equal(audit_to_json(&a, &b), 0);
	unsigned seed = 4242;
	long accepted = 0;
	char *m = malloc(b.len + 1);
	for (int it = 0; it < 5000; it++) {
		memcpy(m, b.ptr, b.len + 1);
		size_t len = b.len;
		for (int e = 0; e < 1 + (int)(rand_r(&seed) % 6) && len > 0; e++) {
			size_t pos = (size_t)rand_r(&seed) % len;
			if (rand_r(&seed) % 3 == 0)
				len = pos;
			else
				m[pos] = (char)(rand_r(&seed) & 0xff);
		}
		struct audit_summary s;
		struct json_object *o = NULL;
		if (audit_summary_parse(&s, &o, m, len) == 0) {
			accepted++;
			json_object_put(o);
			audit_summary_dispose(&s);
		}
	}
	assert_true(accepted > 0);
	free(m);
	buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(audit_key__uses_the_utc_month_of_the_start),
	    cmocka_unit_test(audit_is_key__accepts_only_the_layout),
	    cmocka_unit_test(audit_to_json__writes_every_documented_field),
	    cmocka_unit_test(audit_to_json__a_failed_restore_has_error_and_target_unchanged),
	    cmocka_unit_test(audit_to_json__a_zero_record_is_valid_with_nulls),
	    cmocka_unit_test(audit_to_json__escapes_free_text_and_keeps_odd_ports_as_text),
	    cmocka_unit_test(audit_to_json__too_big_is_an_error),
	    cmocka_unit_test(audit_summary_parse__reads_what_audit_to_json_writes),
	    cmocka_unit_test(audit_summary_parse__refuses_what_is_no_record),
	    cmocka_unit_test(audit_summary_parse__tolerates_missing_and_mistyped_fields),
	    cmocka_unit_test(audit_summary_cmp__newest_first_then_namespace_and_name),
	    cmocka_unit_test(audit_cut_text__cuts_long_text_on_a_character_boundary),
	    cmocka_unit_test(audit_summary_parse__survives_random_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
