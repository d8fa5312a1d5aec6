/* Tests for job/cmd/restore_plan.c: what a restore decides from its options and
 * the backup's manifest, before anything is changed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "job/cmd/job.h"
#include "job/cmd/restore_plan.h"

static char pass[] = "correct horse";

static struct job_opts opts(void)
{
	struct job_opts o;
	memset(&o, 0, sizeof(o));
	o.db = "postgresql://app@db:5432/shop";
	o.name = "nightly";
	o.namespace_ = "team-a";
	return o;
}

static struct manifest backup(const char *format, int encrypted, const char *files_key)
{
	struct manifest m;
	manifest_init(&m);
	m.format = (char *)(uintptr_t)format;
	m.encrypted = encrypted;
	m.files.key = (char *)(uintptr_t)files_key;
	return m;
}

static void restore_plan__decisions_from_options_and_manifest(void **state)
{
	(void)state;
	static struct {
		const char *what, *format;
		int encrypted;
		const char *files_key, *files, *query, *role;
		enum schema_policy policy;
		int no_owner, no_privileges, clean;
		int custom, ask_schema, want_files, files_left;
	} const cases[] = {
	    {"custom, defaults", "custom", 0, NULL, NULL, NULL, NULL, SCHEMA_POLICY_WARN, 0, 0, 0,
	     1, 0, 0, 0},
	    {"plain: no pg_restore", "plain", 0, NULL, NULL, NULL, NULL, SCHEMA_POLICY_WARN, 0, 0,
	     1, 0, 0, 0, 0},
	    {"custom: ownership and grants left out", "custom", 1, NULL, NULL, NULL, "app",
	     SCHEMA_POLICY_WARN, 1, 1, 1, 1, 0, 0, 0},
	    {"a query asks the target's schema version", "custom", 0, NULL, NULL, "SELECT 1", NULL,
	     SCHEMA_POLICY_REQUIRE_MATCH, 0, 0, 0, 1, 1, 0, 0},
	    {"Ignore never asks", "plain", 0, NULL, NULL, "SELECT 1", NULL, SCHEMA_POLICY_IGNORE, 0,
	     0, 0, 0, 0, 0, 0},
	    {"an empty query is none", "custom", 0, NULL, NULL, "", NULL, SCHEMA_POLICY_WARN, 0, 0,
	     0, 1, 0, 0, 0},
	    {"--files with an archive", "custom", 0, "files.tar.zst", "/srv/up", NULL, NULL,
	     SCHEMA_POLICY_WARN, 0, 0, 0, 1, 0, 1, 0},
	    {"an archive left as it is", "plain", 0, "files.tar", NULL, NULL, NULL,
	     SCHEMA_POLICY_WARN, 0, 0, 0, 0, 0, 0, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct job_opts o = opts();
		struct manifest m = backup(cases[i].format, cases[i].encrypted, cases[i].files_key);
		struct restore_plan p;
		o.passphrase = pass;
		o.passlen = strlen(pass);
		o.files = cases[i].files;
		o.schema_query = cases[i].query;
		o.role = cases[i].role;
		o.no_owner = cases[i].no_owner;
		o.no_privileges = cases[i].no_privileges;
		o.clean = cases[i].clean;
		memset(&p, 0xff, sizeof(p));
		int rc = restore_plan(&p, &o, cases[i].policy, &m);
		if (rc || p.custom != cases[i].custom || p.ask_schema != cases[i].ask_schema ||
		    p.files != cases[i].want_files || p.files_left != cases[i].files_left ||
		    p.no_owner != cases[i].no_owner || p.no_privileges != cases[i].no_privileges ||
		    p.clean != cases[i].clean || p.role != cases[i].role)
			fail_msg("%s: rc %d custom %d ask_schema %d files %d files_left %d",
				 cases[i].what, rc, p.custom, p.ask_schema, p.files, p.files_left);
	}
}

/* What the manifest refuses, named; the plan is left as it was. */
static void restore_plan__refuses_what_the_backup_cannot_do(void **state)
{
	(void)state;
	static struct {
		const char *what, *format;
		int encrypted, has_pass, no_owner, no_privileges;
		const char *files;
		int want_rc;
		const char *want;
	} const cases[] = {
	    {"encrypted, no passphrase", "custom", 1, 0, 0, 0, NULL, E_INVALID,
	     "backup team-a/nightly is encrypted: give --passphrase-file or LIFEBOAT_PASSPHRASE"},
	    {"the passphrase first", "plain", 1, 0, 1, 0, "/srv", E_INVALID, "is encrypted"},
	    {"plain --no-owner", "plain", 0, 0, 1, 1, NULL, E_UNSUPPORTED,
	     "--no-owner: backup team-a/nightly is a plain-format SQL script"},
	    {"plain --no-privileges", "plain", 1, 1, 0, 1, NULL, E_UNSUPPORTED,
	     "--no-privileges: backup team-a/nightly is a plain-format SQL script"},
	    {"--files without an archive", "custom", 0, 0, 0, 0, "/srv/up", E_INVALID,
	     "--files /srv/up: backup team-a/nightly has no files archive"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct job_opts o = opts();
		struct manifest m = backup(cases[i].format, cases[i].encrypted, NULL);
		struct restore_plan p, before;
		o.passphrase = cases[i].has_pass ? pass : NULL;
		o.no_owner = cases[i].no_owner;
		o.no_privileges = cases[i].no_privileges;
		o.files = cases[i].files;
		memset(&p, 0x5a, sizeof(p));
		before = p;
		err_clear();
		int rc = restore_plan(&p, &o, SCHEMA_POLICY_WARN, &m);
		if (rc != cases[i].want_rc || !strstr(err_msg(), cases[i].want) ||
		    memcmp(&p, &before, sizeof(p)) != 0)
			fail_msg("%s: rc %d, \"%s\"", cases[i].what, rc, err_msg());
	}
}

/* --clean's drops by server version, SET ROLE only for a plain script. */
static void restore_plan_sql__clean_and_role(void **state)
{
	(void)state;
	static struct {
		const char *what;
		int custom, clean;
		const char *role;
		int version;
		const char *want_in, *want_out; /* NULL want_in: no SQL at all */
	} const cases[] = {
	    {"custom, nothing", 1, 0, NULL, 160000, NULL, NULL},
	    {"custom: pg_restore sets the role", 1, 0, "app", 160000, NULL, NULL},
	    {"plain, nothing", 0, 0, NULL, 160000, NULL, NULL},
	    {"plain: SET ROLE, quoted", 0, 0, "Ops Team", 160000, "SET ROLE \"Ops Team\";\n",
	     "DROP SCHEMA"},
	    {"clean on 14+: pg_database_owner", 1, 1, "app", 140000,
	     "CREATE SCHEMA public AUTHORIZATION pg_database_owner;", "SET ROLE"},
	    {"clean before 14: GRANT ALL", 1, 1, NULL, 130011,
	     "GRANT ALL ON SCHEMA public TO PUBLIC;", "pg_database_owner"},
	    {"plain clean then SET ROLE", 0, 1, "app", 150000, "';\nSET ROLE \"app\";\n", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct restore_plan p = {
		    .custom = cases[i].custom, .clean = cases[i].clean, .role = cases[i].role};
		char *sql = restore_plan_sql(&p, cases[i].version);
		int ok = cases[i].want_in ? sql && strstr(sql, cases[i].want_in) : sql == NULL;
		if (ok && sql && cases[i].want_out && strstr(sql, cases[i].want_out))
			ok = 0;
		if (ok && sql && cases[i].clean && strncmp(sql, "DO $lifeboat$", 13) != 0)
			ok = 0;
		if (!ok)
			fail_msg("%s: %s", cases[i].what, sql ? sql : "(none)");
		free(sql);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(restore_plan__decisions_from_options_and_manifest),
	    cmocka_unit_test(restore_plan__refuses_what_the_backup_cannot_do),
	    cmocka_unit_test(restore_plan_sql__clean_and_role),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
