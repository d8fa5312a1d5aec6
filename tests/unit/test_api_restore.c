/* Tests for operator/api/restore.c: defaults, every rule with a negative
 * case, and a fuzz loop. */
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
#include "operator/api/restore.h"
#include "tests/unit/api_testlib.h"

static const char by_ref[] =
    "{\"apiVersion\":\"lifeboat.dev/v1alpha1\",\"kind\":\"DatabaseRestore\","
    "\"metadata\":{\"name\":\"undo\",\"namespace\":\"app\",\"uid\":\"u-3\"},"
    "\"spec\":{\"backupRef\":{\"name\":\"nightly-202611210200\"},\"confirm\":\"app\"}}";

static const char from_source[] =
    "{\"metadata\":{\"name\":\"dr\",\"namespace\":\"app\",\"uid\":\"u-4\"},"
    "\"spec\":{\"source\":{\"storage\":{\"s3\":{\"bucket\":\"acme\",\"prefix\":\"prod\","
    "\"credentialsSecretRef\":{\"name\":\"s3\"}}},\"path\":\"app/nightly-202611210200/\","
    "\"encryption\":{\"passphraseSecretRef\":{\"name\":\"p\",\"key\":\"k\"}}},"
    "\"target\":{\"host\":\"db\",\"user\":\"postgres\",\"database\":\"app\"},"
    "\"confirm\":\"app\",\"ownership\":{\"mode\":\"NoOwner\",\"role\":\"app_owner\"},"
    "\"privileges\":\"Skip\",\"safetyBackup\":{\"enabled\":false}}}";

static void api_restore_parse__applies_the_crd_defaults(void **state)
{
	(void)state;
	struct json_object *o = tl_json(by_ref);
	struct api_restore *r = NULL;
	if (api_restore_parse(&r, o))
		fail_msg("%s", err_msg());
	json_object_put(o);
	assert_string_equal(r->spec.backup_ref, "nightly-202611210200");
	assert_false(r->spec.has_source);
	assert_false(r->spec.has_target);
	assert_string_equal(r->spec.confirm, "app");
	assert_true(r->spec.safety_enabled);
	assert_false(r->spec.has_safety_storage);
	assert_true(r->spec.clean);
	assert_string_equal(r->spec.schema_policy, "Warn");
	assert_string_equal(r->spec.ownership_mode, "Keep");
	assert_null(r->spec.ownership_role);
	assert_string_equal(r->spec.privileges, "Keep");
	assert_int_equal(r->spec.job_template.backoff_limit, 1);
	api_restore_free(r);

	o = tl_json(from_source);
	if (api_restore_parse(&r, o))
		fail_msg("%s", err_msg());
	json_object_put(o);
	assert_true(r->spec.has_source);
	assert_string_equal(r->spec.source_namespace, "app");
	assert_string_equal(r->spec.source_name, "nightly-202611210200");
	assert_int_equal(r->spec.source_storage.kind, API_STORAGE_S3);
	assert_non_null(r->spec.source_encryption.passphrase.name);
	assert_true(r->spec.has_target);
	assert_false(r->spec.safety_enabled);
	assert_string_equal(r->spec.ownership_mode, "NoOwner");
	assert_string_equal(r->spec.ownership_role, "app_owner");
	assert_string_equal(r->spec.privileges, "Skip");
	api_restore_free(r);
	api_restore_free(NULL);
}

static const struct {
	const char *name;
	const char *base;
	const char *path, *value, *path2, *value2;
	const char *error;
} cases[] = {
    {"ref", by_ref, NULL, NULL, NULL, NULL, NULL},
    {"source", from_source, NULL, NULL, NULL, NULL, NULL},
    {"ref with matching target", by_ref, "spec.target",
     "{\"host\":\"db\",\"user\":\"u\",\"database\":\"app\"}", NULL, NULL, NULL},
    {"safety storage", by_ref, "spec.safetyBackup",
     "{\"storage\":{\"volume\":{\"claimName\":\"v\"}}}", NULL, NULL, NULL},
    {"both", from_source, "spec.backupRef", "{\"name\":\"x\"}", NULL, NULL,
     "spec: set exactly one of backupRef and source, not both"},
    {"neither", by_ref, "spec.backupRef", NULL, NULL, NULL,
     "spec: set exactly one of backupRef (a DatabaseBackup in this namespace) and source"},
    {"ref name", by_ref, "spec.backupRef.name", "\"Bad\"", NULL, NULL,
     "spec.backupRef.name: not a valid DatabaseBackup name"},
    {"ref without name", by_ref, "spec.backupRef", "{}", NULL, NULL,
     "spec.backupRef.name: required"},
    {"ref unknown", by_ref, "spec.backupRef.namespace", "\"x\"", NULL, NULL,
     "spec.backupRef: unknown field \"namespace\""},
    {"source without target", from_source, "spec.target", NULL, NULL, NULL,
     "spec.target: required: target is required with source"},
    {"source without storage", from_source, "spec.source.storage", NULL, NULL, NULL,
     "spec.source.storage: required"},
    {"source storage rule", from_source, "spec.source.storage", "{}", NULL, NULL,
     "spec.source.storage: no storage backend set"},
    {"source without path", from_source, "spec.source.path", NULL, NULL, NULL,
     "spec.source.path: required"},
    {"source path one part", from_source, "spec.source.path", "\"nightly\"", NULL, NULL,
     "spec.source.path: \"nightly\" is not <namespace>/<name>"},
    {"source path dots", from_source, "spec.source.path", "\"app/a..b\"", NULL, NULL,
     "spec.source.path: \"app/a..b\""},
    {"source path namespace", from_source, "spec.source.path", "\"a.b/c\"", NULL, NULL,
     "spec.source.path: \"a.b/c\""},
    {"source path deep", from_source, "spec.source.path", "\"a/b/c\"", NULL, NULL,
     "spec.source.path: \"a/b/c\""},
    {"source encryption empty", from_source, "spec.source.encryption", "{}", NULL, NULL,
     "spec.source.encryption.passphraseSecretRef: required"},
    {"no confirm", by_ref, "spec.confirm", NULL, NULL, NULL, "spec.confirm: required"},
    {"confirm too long", by_ref, "spec.confirm",
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", NULL, NULL,
     "spec.confirm: must be 1 to 63 characters, not 64"},
    {"confirm mismatch", from_source, "spec.confirm", "\"app2\"", NULL, NULL,
     "spec.confirm: confirm must equal the target database name: confirm is \"app2\", "
     "target.database is \"app\""},
    {"target rule", from_source, "spec.target.user", NULL, NULL, NULL,
     "spec.target.user: required: user is required with host"},
    {"safety storage but disabled", from_source, "spec.safetyBackup.storage",
     "{\"volume\":{\"claimName\":\"v\"}}", NULL, NULL,
     "spec.safetyBackup: storage is set but enabled is false"},
    {"safety storage rule", by_ref, "spec.safetyBackup.storage", "{\"s3\":{}}", NULL, NULL,
     "spec.safetyBackup.storage.s3.bucket: required"},
    {"clean", by_ref, "spec.clean", "\"yes\"", NULL, NULL, "spec.clean: must be a boolean"},
    {"schema policy", by_ref, "spec.schemaPolicy", "\"Strict\"", NULL, NULL,
     "spec.schemaPolicy: \"Strict\" is not one of Ignore, Warn, RequireMatch"},
    {"ownership mode", by_ref, "spec.ownership", "{\"mode\":\"Drop\"}", NULL, NULL,
     "spec.ownership.mode: \"Drop\" is not one of Keep, NoOwner"},
    {"ownership role control", by_ref, "spec.ownership", "{\"role\":\"a\\tb\"}", NULL, NULL,
     "spec.ownership.role: has a control character"},
    {"ownership unknown", by_ref, "spec.ownership", "{\"user\":\"x\"}", NULL, NULL,
     "spec.ownership: unknown field \"user\""},
    {"privileges", by_ref, "spec.privileges", "\"None\"", NULL, NULL,
     "spec.privileges: \"None\" is not one of Keep, Skip"},
    {"files", by_ref, "spec.files", "{\"path\":\"x\"}", NULL, NULL,
     "spec.files.claimName: required"},
    {"jobTemplate", by_ref, "spec.jobTemplate.backoffLimit", "-1", NULL, NULL,
     "spec.jobTemplate.backoffLimit: -1 is out of range"},
    {"unknown", by_ref, "spec.target2", "{}", NULL, NULL, "spec: unknown field \"target2\""},
    {"kind", by_ref, "kind", "\"DatabaseBackup\"", NULL, NULL,
     "kind: \"DatabaseBackup\" is not DatabaseRestore"},
};

static void api_restore_parse__enforces_every_rule(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *o = tl_json(cases[i].base);
		if (cases[i].path)
			tl_set(o, cases[i].path, cases[i].value);
		if (cases[i].path2)
			tl_set(o, cases[i].path2, cases[i].value2);
		struct api_restore *r = NULL;
		int rc = api_restore_parse(&r, o);
		json_object_put(o);
		if (!cases[i].error) {
			if (rc)
				fail_msg("%s: %s", cases[i].name, err_msg());
			api_restore_free(r);
			continue;
		}
		if (!rc) {
			api_restore_free(r);
			fail_msg("%s: accepted", cases[i].name);
		}
		if (rc != E_INVALID || !strstr(err_msg(), cases[i].error))
			fail_msg("%s: %s\nexpected %s", cases[i].name, err_msg(), cases[i].error);
	}
}

static void api_restore_parse__survives_random_mutations(void **state)
{
	(void)state;
	const char *env = getenv("FUZZ_ITERATIONS");
	long iterations = env ? atol(env) : 5000;
	unsigned seed = 31337;
	for (long it = 0; it < iterations; it++) {
		struct json_object *o = tl_json(it % 2 ? by_ref : from_source);
		int edits = 1 + rand_r(&seed) % 4;
		for (int e = 0; e < edits; e++)
			tl_mutate(o, &seed);
		struct api_restore *r = NULL;
		int rc = api_restore_parse(&r, o);
		if (rc == 0)
			api_restore_free(r);
		else
			assert_non_null(strchr(err_msg(), ':'));
		json_object_put(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(api_restore_parse__applies_the_crd_defaults),
	    cmocka_unit_test(api_restore_parse__enforces_every_rule),
	    cmocka_unit_test(api_restore_parse__survives_random_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
