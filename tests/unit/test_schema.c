/* Tests for job/model/schema.c: the policy's spelling, the comparison's table, and
 * which outcomes RequireMatch refuses (with a message naming both sides). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "job/model/schema.h"

static void schema_policy_parse__accepts_the_three_and_defaults_to_warn(void **state)
{
	(void)state;
	enum schema_policy p = SCHEMA_POLICY_IGNORE;
	assert_int_equal(schema_policy_parse(&p, NULL, "--schema-policy"), 0);
	assert_int_equal(p, SCHEMA_POLICY_WARN);
	p = SCHEMA_POLICY_IGNORE;
	assert_int_equal(schema_policy_parse(&p, "", "--schema-policy"), 0);
	assert_int_equal(p, SCHEMA_POLICY_WARN);
	assert_int_equal(schema_policy_parse(&p, "Ignore", "--schema-policy"), 0);
	assert_int_equal(p, SCHEMA_POLICY_IGNORE);
	assert_int_equal(schema_policy_parse(&p, "Warn", "--schema-policy"), 0);
	assert_int_equal(p, SCHEMA_POLICY_WARN);
	assert_int_equal(schema_policy_parse(&p, "RequireMatch", "--schema-policy"), 0);
	assert_int_equal(p, SCHEMA_POLICY_REQUIRE_MATCH);
	for (int i = 0; i < 3; i++) {
		enum schema_policy back;
		assert_int_equal(
		    schema_policy_parse(&back, schema_policy_name((enum schema_policy)i), "x"), 0);
		assert_int_equal(back, i);
	}
}

static void schema_policy_parse__refuses_other_spellings_naming_the_field(void **state)
{
	(void)state;
	static const char *const bad[] = {"warn",	   "WARN",  "requirematch", "Require Match",
					  "RequireMatch ", " Warn", "Match",	    "Strict",
					  "Ignore\n",	   "Skip"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum schema_policy p = SCHEMA_POLICY_IGNORE;
		if (schema_policy_parse(&p, bad[i], "--schema-policy") != E_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(p, SCHEMA_POLICY_IGNORE); /* untouched */
		assert_non_null(strstr(err_msg(), "--schema-policy"));
		assert_non_null(strstr(err_msg(), "use Ignore, Warn or RequireMatch"));
	}
}

static void schema_names__are_the_documented_words(void **state)
{
	(void)state;
	assert_string_equal(schema_policy_name(SCHEMA_POLICY_IGNORE), "Ignore");
	assert_string_equal(schema_policy_name(SCHEMA_POLICY_WARN), "Warn");
	assert_string_equal(schema_policy_name(SCHEMA_POLICY_REQUIRE_MATCH), "RequireMatch");
	assert_string_equal(schema_result_name(SCHEMA_MATCH), "Match");
	assert_string_equal(schema_result_name(SCHEMA_MISMATCH), "Mismatch");
	assert_string_equal(schema_result_name(SCHEMA_SKIPPED), "Skipped");
	assert_string_equal(schema_result_name(SCHEMA_TARGET_UNKNOWN), "TargetUnknown");
}

static void schema_compare__follows_the_table(void **state)
{
	(void)state;
	static const struct {
		enum schema_policy policy;
		int has_query;
		const char *backup, *target, *error;
		enum schema_result want;
	} cases[] = {
	    {SCHEMA_POLICY_WARN, 1, "42", "42", NULL, SCHEMA_MATCH},
	    {SCHEMA_POLICY_REQUIRE_MATCH, 1, "42", "42", NULL, SCHEMA_MATCH},
	    {SCHEMA_POLICY_WARN, 1, "42", "43", NULL, SCHEMA_MISMATCH},
	    {SCHEMA_POLICY_REQUIRE_MATCH, 1, "42", "43", NULL, SCHEMA_MISMATCH},
	    /* byte for byte: no trimming, no case folding */
	    {SCHEMA_POLICY_WARN, 1, "42", "42 ", NULL, SCHEMA_MISMATCH},
	    {SCHEMA_POLICY_WARN, 1, "v1.2", "V1.2", NULL, SCHEMA_MISMATCH},
	    {SCHEMA_POLICY_WARN, 1, "", "", NULL, SCHEMA_MATCH},
	    {SCHEMA_POLICY_WARN, 1, "42", NULL, "ERROR:  relation does not exist",
	     SCHEMA_TARGET_UNKNOWN},
	    {SCHEMA_POLICY_WARN, 1, "42", NULL, NULL, SCHEMA_TARGET_UNKNOWN},
	    {SCHEMA_POLICY_REQUIRE_MATCH, 1, "42", NULL, "returned NULL", SCHEMA_TARGET_UNKNOWN},
	    /* Skipped: Ignore, no query, or no recorded version */
	    {SCHEMA_POLICY_IGNORE, 1, "42", "43", NULL, SCHEMA_SKIPPED},
	    {SCHEMA_POLICY_IGNORE, 0, "42", NULL, NULL, SCHEMA_SKIPPED},
	    {SCHEMA_POLICY_WARN, 0, "42", NULL, NULL, SCHEMA_SKIPPED},
	    {SCHEMA_POLICY_WARN, 1, NULL, "43", NULL, SCHEMA_SKIPPED},
	    {SCHEMA_POLICY_REQUIRE_MATCH, 1, NULL, "43", NULL, SCHEMA_SKIPPED},
	    {SCHEMA_POLICY_REQUIRE_MATCH, 1, NULL, NULL, "ERROR: x", SCHEMA_SKIPPED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct schema_check c = {.policy = cases[i].policy,
					 .result = SCHEMA_MATCH,
					 .backup_version = cases[i].backup,
					 .target_version = cases[i].target,
					 .target_error = cases[i].error};
		if (cases[i].want == SCHEMA_MATCH)
			c.result = SCHEMA_SKIPPED; /* the call must set it */
		schema_compare(&c, cases[i].has_query);
		if (c.result != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i, schema_result_name(c.result),
				 schema_result_name(cases[i].want));
		/* The versions are only read. */
		assert_ptr_equal(c.backup_version, cases[i].backup);
		assert_ptr_equal(c.target_version, cases[i].target);
	}
}

static void schema_enforce__refuses_only_require_match_on_mismatch_or_unknown(void **state)
{
	(void)state;
	static const enum schema_result results[] = {SCHEMA_MATCH, SCHEMA_MISMATCH, SCHEMA_SKIPPED,
						     SCHEMA_TARGET_UNKNOWN};
	for (int p = 0; p < 3; p++)
		for (size_t r = 0; r < 4; r++) {
			struct schema_check c = {
			    .policy = (enum schema_policy)p,
			    .result = results[r],
			    .backup_version = "42",
			    .target_version = results[r] == SCHEMA_TARGET_UNKNOWN ? NULL : "43",
			    .target_error = "ERROR:  boom"};
			err_clear();
			int rc = schema_enforce(&c, "app/nightly", "postgresql://u@h:5432/db");
			int refuse =
			    p == SCHEMA_POLICY_REQUIRE_MATCH &&
			    (results[r] == SCHEMA_MISMATCH || results[r] == SCHEMA_TARGET_UNKNOWN);
			if (rc != (refuse ? E_SCHEMA : 0))
				fail_msg("policy %s, result %s: rc %d",
					 schema_policy_name(c.policy), schema_result_name(c.result),
					 rc);
			if (!refuse)
				assert_string_equal(err_msg(), "");
		}
}

static void schema_enforce__messages_name_both_sides_and_what_to_do(void **state)
{
	(void)state;
	struct schema_check c = {.policy = SCHEMA_POLICY_REQUIRE_MATCH,
				 .result = SCHEMA_MISMATCH,
				 .backup_version = "20261121000000",
				 .target_version = "20261201000000"};
	assert_int_equal(schema_enforce(&c, "app/nightly", "postgresql://u@h:5432/db"), E_SCHEMA);
	const char *m = err_msg();
	assert_non_null(strstr(m, "backup app/nightly has schema version \"20261121000000\" but "
				  "postgresql://u@h:5432/db has \"20261201000000\""));
	assert_non_null(strstr(m, "nothing was changed"));
	assert_non_null(strstr(m, "--schema-policy Warn (DatabaseRestore spec.schemaPolicy)"));

	c.result = SCHEMA_TARGET_UNKNOWN;
	c.target_version = NULL;
	c.target_error = "ERROR:  relation \"schema_migrations\" does not exist";
	assert_int_equal(schema_enforce(&c, "app/nightly", "postgresql://u@h:5432/db"), E_SCHEMA);
	m = err_msg();
	assert_non_null(strstr(m, "gave no version on postgresql://u@h:5432/db (ERROR:  relation "
				  "\"schema_migrations\" does not exist)"));
	assert_non_null(strstr(m, "an empty or new database has no version to compare"));
	c.target_error = NULL;
	assert_int_equal(schema_enforce(&c, "a/b", "t"), E_SCHEMA);
	assert_non_null(strstr(err_msg(), "(no value)"));
	/* The reason the operator and docs know. */
	assert_string_equal(err_reason(E_SCHEMA), "SchemaMismatch");
	assert_int_equal(err_exit_status(E_SCHEMA), 13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(schema_policy_parse__accepts_the_three_and_defaults_to_warn),
	    cmocka_unit_test(schema_policy_parse__refuses_other_spellings_naming_the_field),
	    cmocka_unit_test(schema_names__are_the_documented_words),
	    cmocka_unit_test(schema_compare__follows_the_table),
	    cmocka_unit_test(schema_enforce__refuses_only_require_match_on_mismatch_or_unknown),
	    cmocka_unit_test(schema_enforce__messages_name_both_sides_and_what_to_do),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
