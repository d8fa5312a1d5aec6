/* Tests for common/jobenv.c: the table's shape, lookups, the secret marks,
 * and that the job's child processes see exactly the variables it allows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jobenv.h"
#include "job/pipeline/proc.h"

static void jobenv_get__table_is_complete_and_in_enum_order(void **state)
{
	(void)state;
	for (int i = 0; i < JOBENV_COUNT; i++) {
		const struct jobenv *e = jobenv_get((enum jobenv_var)i);
		assert_int_equal(e->var, i);
		assert_non_null(e->name);
		assert_true(strlen(e->name) > 0);
		assert_non_null(e->meaning);
		assert_true(strlen(e->meaning) > 0);
		assert_true(e->commands != 0);
		assert_int_equal(e->commands & ~(unsigned)JOBENV_CMD_ALL, 0);
		assert_string_equal(jobenv_name((enum jobenv_var)i), e->name);
		for (int k = 0; k < i; k++)
			if (strcmp(jobenv_name((enum jobenv_var)k), e->name) == 0)
				fail_msg("%s is in the table twice", e->name);
		/* Only lifeboat's own variables have flags. */
		if (e->flags & JOBENV_FLAG)
			assert_memory_equal(e->name, "LIFEBOAT_", 9);
		/* CHILDREN and COMPOSED qualify a secret. */
		if (e->flags & (JOBENV_CHILDREN | JOBENV_COMPOSED))
			assert_true(e->flags & JOBENV_SECRET);
		/* A composed value may still carry the user's password (a URI
		 * given by hand): children never get it. */
		if (e->flags & JOBENV_COMPOSED)
			assert_false(e->flags & JOBENV_CHILDREN);
	}
}

static void jobenv_lookup__matches_whole_names_only(void **state)
{
	(void)state;
	const char *entry = "LIFEBOAT_DB=postgresql://u:p@h/db";
	const struct jobenv *e = jobenv_lookup(entry, strcspn(entry, "="));
	assert_non_null(e);
	assert_int_equal(e->var, JOBENV_DB);
	assert_null(jobenv_lookup("LIFEBOAT_D", 10));
	assert_null(jobenv_lookup("LIFEBOAT_DBX", 12));
	assert_null(jobenv_lookup("PATH", 4));
	assert_null(jobenv_lookup("", 0));
	assert_int_equal(jobenv_lookup("PGPASSWORD", 10)->var, JOBENV_PGPASSWORD);
}

/* Every secret the table marks, and nothing else. */
static void jobenv_is_secret__marks_exactly_the_credentials(void **state)
{
	(void)state;
	static const char *const secrets[] = {
	    "LIFEBOAT_DB",
	    "LIFEBOAT_PASSPHRASE",
	    "AWS_ACCESS_KEY_ID",
	    "AWS_SECRET_ACCESS_KEY",
	    "AWS_SESSION_TOKEN",
	    "AZURE_STORAGE_KEY",
	    "AZURE_STORAGE_SAS_TOKEN",
	    "AZURE_STORAGE_CONNECTION_STRING",
	    "PGPASSWORD",
	};
	size_t n = sizeof(secrets) / sizeof(secrets[0]), found = 0;
	for (int i = 0; i < JOBENV_COUNT; i++) {
		const char *name = jobenv_name((enum jobenv_var)i);
		int expect = 0;
		for (size_t k = 0; k < n; k++)
			expect |= strcmp(secrets[k], name) == 0;
		if (jobenv_is_secret(name) != expect)
			fail_msg("%s: secret is %d, expected %d", name, jobenv_is_secret(name),
				 expect);
		found += (size_t)expect;
	}
	assert_int_equal(found, n);
	assert_false(jobenv_is_secret("PATH"));
	assert_false(jobenv_is_secret("LIFEBOAT_PASSPHRASE_FILE"));
	assert_false(jobenv_is_secret("AZURE_STORAGE_KEY_FILE"));
}

/* The variables proc.c withheld before the table existed stay withheld. */
static void jobenv_withheld__keeps_every_previously_withheld_secret(void **state)
{
	(void)state;
	static const char *const before[] = {
	    "LIFEBOAT_PASSPHRASE=x",
	    "AWS_SECRET_ACCESS_KEY=x",
	    "AWS_SESSION_TOKEN=x",
	    "AWS_ACCESS_KEY_ID=x",
	    "AZURE_STORAGE_KEY=x",
	    "AZURE_STORAGE_SAS_TOKEN=x",
	    "AZURE_STORAGE_CONNECTION_STRING=x",
	};
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++)
		if (!jobenv_withheld(before[i]))
			fail_msg("%s is no longer withheld", before[i]);
	assert_true(jobenv_withheld("LIFEBOAT_DB=postgresql://u:p@h/db"));
	/* libpq in pg_dump and psql reads these. */
	assert_false(jobenv_withheld("PGPASSWORD=x"));
	assert_false(jobenv_withheld("PGSSLROOTCERT=/etc/ca.crt"));
	assert_false(jobenv_withheld("PATH=/usr/bin"));
	assert_false(jobenv_withheld("AWS_ACCESS_KEY_IDX=x"));
	assert_false(jobenv_withheld("LIFEBOAT_PASSPHRASE_FILE=/etc/p"));
	assert_false(jobenv_withheld("=x"));
	assert_false(jobenv_withheld(""));
}

static void jobenv_get__file_variants_name_their_secret(void **state)
{
	(void)state;
	static const enum jobenv_var pairs[][2] = {
	    {JOBENV_AZURE_STORAGE_KEY, JOBENV_AZURE_STORAGE_KEY_FILE},
	    {JOBENV_AZURE_STORAGE_SAS_TOKEN, JOBENV_AZURE_STORAGE_SAS_TOKEN_FILE},
	    {JOBENV_AZURE_STORAGE_CONNECTION_STRING, JOBENV_AZURE_STORAGE_CONNECTION_STRING_FILE},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char want[128];
		snprintf(want, sizeof(want), "%s_FILE", jobenv_name(pairs[i][0]));
		assert_string_equal(jobenv_name(pairs[i][1]), want);
		assert_false(jobenv_get(pairs[i][1])->flags & JOBENV_SECRET);
	}
}

static void jobenv_get__commands_match_docs_job_md(void **state)
{
	(void)state;
	assert_int_equal(jobenv_get(JOBENV_DB)->commands, JOBENV_CMD_BACKUP | JOBENV_CMD_RESTORE);
	assert_int_equal(jobenv_get(JOBENV_STORAGE)->commands, JOBENV_CMD_ALL);
	assert_int_equal(jobenv_get(JOBENV_NAME)->commands,
			 JOBENV_CMD_ALL & ~(unsigned)(JOBENV_CMD_LIST | JOBENV_CMD_AUDIT));
	assert_int_equal(jobenv_get(JOBENV_PASSPHRASE_FILE)->commands,
			 JOBENV_CMD_BACKUP | JOBENV_CMD_RESTORE | JOBENV_CMD_VERIFY |
			     JOBENV_CMD_DOWNLOAD);
	assert_int_equal(jobenv_get(JOBENV_PASSPHRASE)->commands,
			 JOBENV_CMD_BACKUP | JOBENV_CMD_RESTORE | JOBENV_CMD_VERIFY |
			     JOBENV_CMD_DOWNLOAD);
	static const enum jobenv_var download_only[] = {JOBENV_OUT, JOBENV_FILES_OUT, JOBENV_RAW,
							JOBENV_FORCE};
	for (size_t i = 0; i < sizeof(download_only) / sizeof(download_only[0]); i++) {
		const struct jobenv *e = jobenv_get(download_only[i]);
		assert_int_equal(e->commands, JOBENV_CMD_DOWNLOAD);
		assert_true(e->flags & JOBENV_FLAG);
		assert_false(e->flags & JOBENV_SECRET);
	}
	/* download reads the storage, never a database. */
	assert_true(jobenv_get(JOBENV_STORAGE)->commands & JOBENV_CMD_DOWNLOAD);
	assert_false(jobenv_get(JOBENV_DB)->commands & JOBENV_CMD_DOWNLOAD);
	assert_int_equal(jobenv_get(JOBENV_FORMAT)->commands, JOBENV_CMD_BACKUP);
	assert_int_equal(jobenv_get(JOBENV_CONFIRM)->commands, JOBENV_CMD_RESTORE);
	assert_int_equal(jobenv_get(JOBENV_OUTPUT)->commands,
			 JOBENV_CMD_LIST | JOBENV_CMD_AUDIT | JOBENV_CMD_SHOW);
	assert_int_equal(jobenv_get(JOBENV_RESTORE_NAME)->commands,
			 JOBENV_CMD_RESTORE | JOBENV_CMD_SHOW);
	assert_int_equal(jobenv_get(JOBENV_SCHEMA_VERSION_QUERY)->commands,
			 JOBENV_CMD_BACKUP | JOBENV_CMD_RESTORE);
	static const enum jobenv_var restore_only[] = {
	    JOBENV_SCHEMA_POLICY,	 JOBENV_NO_OWNER,
	    JOBENV_NO_PRIVILEGES,	 JOBENV_ROLE,
	    JOBENV_RESTORE_NAMESPACE,	 JOBENV_REQUESTED_BY,
	    JOBENV_SAFETY_BACKUP_NAME,	 JOBENV_SAFETY_BACKUP_LOCATION,
	    JOBENV_SAFETY_BACKUP_SHA256, JOBENV_NO_SAFETY_BACKUP,
	};
	for (size_t i = 0; i < sizeof(restore_only) / sizeof(restore_only[0]); i++) {
		const struct jobenv *e = jobenv_get(restore_only[i]);
		assert_int_equal(e->commands, JOBENV_CMD_RESTORE);
		assert_true(e->flags & JOBENV_FLAG);
		assert_false(e->flags & JOBENV_SECRET);
	}
	/* The audit verb reads the storage and nothing of a database. */
	assert_true(jobenv_get(JOBENV_STORAGE)->commands & JOBENV_CMD_AUDIT);
	assert_true(jobenv_get(JOBENV_AWS_SECRET_ACCESS_KEY)->commands & JOBENV_CMD_AUDIT);
	assert_false(jobenv_get(JOBENV_DB)->commands & JOBENV_CMD_AUDIT);
	assert_false(jobenv_get(JOBENV_PASSPHRASE)->commands & JOBENV_CMD_AUDIT);
	assert_int_equal(jobenv_get(JOBENV_AWS_SECRET_ACCESS_KEY)->commands, JOBENV_CMD_ALL);
	assert_int_equal(jobenv_get(JOBENV_PGPASSWORD)->commands,
			 JOBENV_CMD_BACKUP | JOBENV_CMD_RESTORE);
}

/* End to end through proc.c: a child sees PGPASSWORD and no other secret. */
static void proc_capture__child_environment_follows_the_secret_marks(void **state)
{
	(void)state;
	setenv("LIFEBOAT_PASSPHRASE", "pass-value-1", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "aws-value-2", 1);
	setenv("AZURE_STORAGE_SAS_TOKEN", "sas-value-3", 1);
	setenv("LIFEBOAT_DB", "postgresql://u:db-value-4@h/db", 1);
	setenv("PGPASSWORD", "pg-value-5", 1);
	setenv("LIFEBOAT_TEST_PLAIN", "plain-value-6", 1);
	const char *const argv[] = {"env", NULL};
	char *out = NULL;
	assert_int_equal(proc_capture(&out, argv, 1 << 20), 0);
	assert_null(strstr(out, "pass-value-1"));
	assert_null(strstr(out, "aws-value-2"));
	assert_null(strstr(out, "sas-value-3"));
	assert_null(strstr(out, "db-value-4"));
	assert_non_null(strstr(out, "PGPASSWORD=pg-value-5"));
	assert_non_null(strstr(out, "LIFEBOAT_TEST_PLAIN=plain-value-6"));
	free(out);
	unsetenv("LIFEBOAT_PASSPHRASE");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AZURE_STORAGE_SAS_TOKEN");
	unsetenv("LIFEBOAT_DB");
	unsetenv("PGPASSWORD");
	unsetenv("LIFEBOAT_TEST_PLAIN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(jobenv_get__table_is_complete_and_in_enum_order),
	    cmocka_unit_test(jobenv_lookup__matches_whole_names_only),
	    cmocka_unit_test(jobenv_is_secret__marks_exactly_the_credentials),
	    cmocka_unit_test(jobenv_withheld__keeps_every_previously_withheld_secret),
	    cmocka_unit_test(jobenv_get__file_variants_name_their_secret),
	    cmocka_unit_test(jobenv_get__commands_match_docs_job_md),
	    cmocka_unit_test(proc_capture__child_environment_follows_the_secret_marks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
