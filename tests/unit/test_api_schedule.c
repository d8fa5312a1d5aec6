/* Tests for operator/api/schedule.c: defaults, every rule with a negative
 * case, the backup template's own rules reported at its path, and a fuzz
 * loop. */
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
#include "operator/api/schedule.h"
#include "tests/unit/api_testlib.h"

static const char good[] =
    "{\"apiVersion\":\"lifeboat.dev/v1alpha1\",\"kind\":\"BackupSchedule\","
    "\"metadata\":{\"name\":\"nightly\",\"namespace\":\"app\",\"uid\":\"u-2\",\"generation\":1},"
    "\"spec\":{\"schedule\":\"0 2 * * *\","
    "\"retention\":{\"keepLast\":7,\"keepWeekly\":4,\"keepMonthly\":6},"
    "\"backupTemplate\":{\"metadata\":{\"labels\":{\"team\":\"db\"},\"annotations\":{\"note\":"
    "\"x\"}},"
    "\"spec\":{\"database\":{\"host\":\"db\",\"user\":\"app\",\"database\":\"app\"},"
    "\"storage\":{\"s3\":{\"bucket\":\"acme\",\"credentialsSecretRef\":{\"name\":\"s3\"}}},"
    "\"deletionPolicy\":\"Delete\"}}}}";

static void api_schedule_parse__applies_the_crd_defaults(void **state)
{
	(void)state;
	struct json_object *o = tl_json(good);
	struct api_schedule *s = NULL;
	if (api_schedule_parse(&s, o))
		fail_msg("%s", err_msg());
	json_object_put(o);
	assert_string_equal(s->spec.schedule, "0 2 * * *");
	assert_string_equal(s->spec.time_zone, "UTC");
	assert_false(s->spec.suspend);
	assert_string_equal(s->spec.concurrency_policy, "Forbid");
	assert_false(s->spec.has_starting_deadline);
	assert_true(s->spec.retention.set);
	assert_true(s->spec.retention.has_keep_last);
	assert_int_equal(s->spec.retention.keep_last, 7);
	assert_false(s->spec.retention.has_keep_daily);
	assert_null(s->spec.retention.max_age);
	assert_int_equal(s->spec.nlabels, 1);
	assert_int_equal(s->spec.nannotations, 1);
	/* The template's own defaults, as in a DatabaseBackup. */
	assert_string_equal(s->spec.backup.compression, "zstd:auto");
	assert_true(s->spec.backup.verify);
	assert_string_equal(s->spec.backup.deletion_policy, "Delete");
	assert_int_equal(s->spec.backup.database.port, 5432);
	api_schedule_free(s);
	api_schedule_free(NULL);
}

static const struct {
	const char *name;
	const char *path, *value, *path2, *value2;
	const char *error;
} cases[] = {
    {"base", NULL, NULL, NULL, NULL, NULL},
    {"macro", "spec.schedule", "\"@daily\"", NULL, NULL, NULL},
    {"time zone", "spec.timeZone", "\"America/Argentina/Buenos_Aires\"", NULL, NULL, NULL},
    {"Etc zone", "spec.timeZone", "\"Etc/GMT+1\"", NULL, NULL, NULL},
    {"maxAge only", "spec.retention", "{\"maxAge\":\"30d\"}", NULL, NULL, NULL},
    {"no retention", "spec.retention", NULL, NULL, NULL, NULL},
    {"deadline", "spec.startingDeadlineSeconds", "3600", NULL, NULL, NULL},
    {"no schedule", "spec.schedule", NULL, NULL, NULL, "spec.schedule: required"},
    {"empty schedule", "spec.schedule", "\"\"", NULL, NULL, "spec.schedule: must not be empty"},
    {"schedule newline", "spec.schedule", "\"0 2 * * *\\n\"", NULL, NULL,
     "spec.schedule: has a control character"},
    {"cron range", "spec.schedule", "\"0 0 32 * *\"", NULL, NULL,
     "spec.schedule: field 3 (day of month): 32 is out of range 1-31"},
    {"cron name", "spec.schedule", "\"0 9 * * mon-fri\"", NULL, NULL, NULL},
    {"cron every", "spec.schedule", "\"@every 1h\"", NULL, NULL,
     "spec.schedule: @every is not supported"},
    {"cron seconds", "spec.schedule", "\"0 0 2 * * *\"", NULL, NULL,
     "spec.schedule: has 6 fields: a seconds field"},
    {"cron never", "spec.schedule", "\"0 0 30 2 *\"", NULL, NULL, "spec.schedule: never runs"},
    {"zone path", "spec.timeZone", "\"../etc/passwd\"", NULL, NULL,
     "spec.timeZone: \"../etc/passwd\" is not an IANA time zone"},
    {"zone slash", "spec.timeZone", "\"Europe/\"", NULL, NULL, "spec.timeZone: \"Europe/\""},
    {"zone depth", "spec.timeZone", "\"a/b/c/d/e\"", NULL, NULL, "spec.timeZone: \"a/b/c/d/e\""},
    {"suspend", "spec.suspend", "1", NULL, NULL, "spec.suspend: must be a boolean"},
    {"policy", "spec.concurrencyPolicy", "\"Queue\"", NULL, NULL,
     "spec.concurrencyPolicy: \"Queue\" is not one of Forbid, Allow, Replace"},
    {"deadline negative", "spec.startingDeadlineSeconds", "-1", NULL, NULL,
     "spec.startingDeadlineSeconds: -1 is out of range"},
    {"retention empty", "spec.retention", "{}", NULL, NULL,
     "spec.retention: set at least one of keepLast, maxAge"},
    {"keepFailed alone", "spec.retention", "{\"keepFailed\":3}", NULL, NULL,
     "spec.retention: set at least one"},
    {"keepLast 0", "spec.retention.keepLast", "0", NULL, NULL,
     "spec.retention.keepLast: 0 is out of range 1 to 10000"},
    {"keepDaily big", "spec.retention.keepDaily", "10001", NULL, NULL,
     "spec.retention.keepDaily: 10001"},
    {"maxAge minutes", "spec.retention.maxAge", "\"6m\"", NULL, NULL,
     "spec.retention.maxAge: \"6m\" is not a number and a unit h, d or w"},
    {"maxAge zero", "spec.retention.maxAge", "\"0d\"", NULL, NULL, "spec.retention.maxAge: \"0d\""},
    {"maxAge long", "spec.retention.maxAge", "\"1234567d\"", NULL, NULL,
     "spec.retention.maxAge: \"1234567d\""},
    {"retention unknown", "spec.retention.keepYearly", "1", NULL, NULL,
     "spec.retention: unknown field \"keepYearly\""},
    {"no template", "spec.backupTemplate", NULL, NULL, NULL, "spec.backupTemplate: required"},
    {"no template spec", "spec.backupTemplate.spec", NULL, NULL, NULL,
     "spec.backupTemplate.spec: required"},
    {"template label lifeboat.dev", "spec.backupTemplate.metadata.labels",
     "{\"lifeboat.dev/schedule\":\"x\"}", NULL, NULL,
     "spec.backupTemplate.metadata.labels: key \"lifeboat.dev/schedule\": keys under lifeboat.dev/ "
     "are set by the operator"},
    {"template annotation key", "spec.backupTemplate.metadata.annotations", "{\"a b\":\"x\"}", NULL,
     NULL, "spec.backupTemplate.metadata.annotations: key \"a b\""},
    {"template metadata unknown", "spec.backupTemplate.metadata.name", "\"x\"", NULL, NULL,
     "spec.backupTemplate.metadata: unknown field \"name\""},
    {"template spec rule", "spec.backupTemplate.spec.storage", "{}", NULL, NULL,
     "spec.backupTemplate.spec.storage: no storage backend set"},
    {"template database rule", "spec.backupTemplate.spec.database.user", NULL, NULL, NULL,
     "spec.backupTemplate.spec.database.user: required"},
    {"unknown", "spec.timezone", "\"UTC\"", NULL, NULL, "spec: unknown field \"timezone\""},
    {"kind", "kind", "\"DatabaseBackup\"", NULL, NULL,
     "kind: \"DatabaseBackup\" is not BackupSchedule"},
    {"no uid", "metadata.uid", NULL, NULL, NULL, "metadata.uid: required"},
};

static void api_schedule_parse__enforces_every_rule(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *o = tl_json(good);
		if (cases[i].path)
			tl_set(o, cases[i].path, cases[i].value);
		if (cases[i].path2)
			tl_set(o, cases[i].path2, cases[i].value2);
		struct api_schedule *s = NULL;
		int rc = api_schedule_parse(&s, o);
		json_object_put(o);
		if (!cases[i].error) {
			if (rc)
				fail_msg("%s: %s", cases[i].name, err_msg());
			api_schedule_free(s);
			continue;
		}
		if (!rc) {
			api_schedule_free(s);
			fail_msg("%s: accepted", cases[i].name);
		}
		if (rc != E_INVALID || !strstr(err_msg(), cases[i].error))
			fail_msg("%s: %s\nexpected %s", cases[i].name, err_msg(), cases[i].error);
	}
}

static void api_schedule_parse__max_age_in_seconds_and_run_names_fit_the_storage(void **state)
{
	(void)state;
	struct json_object *o = tl_json(good);
	tl_set(o, "spec.retention.maxAge", "\"2w\"");
	struct api_schedule *s = NULL;
	assert_int_equal(api_schedule_parse(&s, o), 0);
	assert_int_equal(s->spec.retention.max_age_seconds, 14 * 86400);
	api_schedule_free(s);
	json_object_put(o);
	/* Runs add 13 characters to the name: a prefix that fits a backup of
	 * the schedule's name but not its runs' is refused. */
	o = tl_json(good);
	char prefix[1024];
	memset(prefix + 1, 'p', 975);
	prefix[0] = '"';
	prefix[976] = '"';
	prefix[977] = '\0';
	tl_set(o, "spec.backupTemplate.spec.storage.s3.prefix", prefix);
	assert_int_equal(api_schedule_parse(&s, o), E_INVALID);
	assert_non_null(
	    strstr(err_msg(), "spec.backupTemplate.spec.storage.s3.prefix: with namespace app"));
	json_object_put(o);
}

static void api_schedule_parse__survives_random_mutations(void **state)
{
	(void)state;
	const char *env = getenv("FUZZ_ITERATIONS");
	long iterations = env ? atol(env) : 5000;
	unsigned seed = 99;
	for (long it = 0; it < iterations; it++) {
		struct json_object *o = tl_json(good);
		int edits = 1 + rand_r(&seed) % 4;
		for (int e = 0; e < edits; e++)
			tl_mutate(o, &seed);
		struct api_schedule *s = NULL;
		int rc = api_schedule_parse(&s, o);
		if (rc == 0)
			api_schedule_free(s);
		else
			assert_non_null(strchr(err_msg(), ':'));
		json_object_put(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(api_schedule_parse__applies_the_crd_defaults),
	    cmocka_unit_test(api_schedule_parse__enforces_every_rule),
	    cmocka_unit_test(api_schedule_parse__max_age_in_seconds_and_run_names_fit_the_storage),
	    cmocka_unit_test(api_schedule_parse__survives_random_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
