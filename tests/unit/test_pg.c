/* Tests for the pure parts of job/db/pg.c: version texts and rules, connection
 * targets, tool paths. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/db/pg.h"

static void pg_version_parse__reads_tool_and_server_versions(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int want;
	} cases[] = {
	    {"pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", 150018},
	    {"pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n", 150018},
	    {"psql (PostgreSQL) 9.6.24", 90624},
	    {"16.4", 160004},
	    {"16.4 (Ubuntu 16.4-1.pgdg22.04+1)", 160004},
	    {"pg_restore (PostgreSQL) 10.23", 100023},
	    {"pg_dump (PostgreSQL) 17.0", 170000},
	    {"9.6", 90600},
	    {"x86_64 build 13.2", 130002},
	    /* Pre-releases count as MAJOR.0, like PostgreSQL's own
	     * server_version_num (17beta1 is 170000): a beta pg_dump may dump
	     * servers of its major version and older. */
	    {"pg_dump (PostgreSQL) 17beta1", 170000},
	    {"pg_dump (PostgreSQL) 18rc1", 180000},
	    {"pg_dump (PostgreSQL) 19devel", 190000},
	    {"psql (PostgreSQL) 9.6beta2", 90600},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int num = -1;
		if (pg_version_parse(&num, cases[i].text) != 0)
			fail_msg("rejected \"%s\": %s", cases[i].text, err_msg());
		if (num != cases[i].want)
			fail_msg("\"%s\" gave %d, want %d", cases[i].text, num, cases[i].want);
	}
}

static void pg_version_parse__rejects_text_without_a_version(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "pg_dump",
	    "pg_dump (PostgreSQL)",
	    "version 15",
	    "15.",
	    ".15",
	    "v15x",
	    "9beta1", /* before 10 a major had two parts: "9.6beta1" */
	    "1x.2",
	    "abc15.2", /* glued to a word */
	    "99999999999999999999.1",
	    "15.99999999999999999999",
	    "9.6.99999999999999999999",
	    "bash: pg_dump: command not found",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int num = 4242;
		err_clear();
		if (pg_version_parse(&num, bad[i]) != E_INVALID)
			fail_msg("accepted \"%s\" as %d", bad[i], num);
		assert_int_equal(num, 4242);
		assert_non_null(strstr(err_msg(), bad[i]));
	}
}

static void pg_check_dump_version__allows_same_or_newer_pg_dump(void **state)
{
	(void)state;
	static const int ok[][2] = {
	    {150018, 150018}, {160004, 150018}, {150001, 150018}, {170000, 170002},
	    {100023, 90624},  {90624, 90624},	{90624, 90500},	  {180000, 90624},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (pg_check_dump_version(ok[i][0], ok[i][1], "pg_dump") != 0)
			fail_msg("pg_dump %d refused server %d: %s", ok[i][0], ok[i][1], err_msg());
}

static void pg_check_dump_version__refuses_older_pg_dump_naming_the_one_needed(void **state)
{
	(void)state;
	static const struct {
		int dump, server;
		const char *need;
	} bad[] = {
	    {140010, 150018, "use pg_dump 15 or newer"},
	    {90624, 100023, "use pg_dump 10 or newer"},
	    {90500, 90624, "use pg_dump 9.6 or newer"},
	    {150018, 170000, "use pg_dump 17 or newer"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear();
		assert_int_equal(pg_check_dump_version(bad[i].dump, bad[i].server,
						       "/usr/lib/postgresql/14/bin/pg_dump"),
				 E_VERSION);
		if (!strstr(err_msg(), bad[i].need))
			fail_msg("message lacks \"%s\": %s", bad[i].need, err_msg());
		assert_non_null(strstr(err_msg(), "/usr/lib/postgresql/14/bin/pg_dump"));
	}
}

static int env_has(char **env, const char *entry)
{
	for (size_t i = 0; env && env[i]; i++)
		if (strcmp(env[i], entry) == 0)
			return 1;
	return 0;
}

static void pg_target_parse__uri_keeps_password_out_of_display(void **state)
{
	(void)state;
	const char *uri = "postgresql://alice:s3cret@db.example:5433/app";
	struct pg_target t;
	assert_int_equal(pg_target_parse(&t, uri), 0);
	assert_string_equal(t.display, "postgresql://alice@db.example:5433/app");
	assert_null(strstr(t.display, "s3cret"));
	assert_string_equal(t.dbname, "app");
	assert_string_equal(t.conninfo, uri);
	assert_true(env_has(t.env, "PGPASSWORD=s3cret"));
	assert_true(env_has(t.env, "PGHOST=db.example"));
	assert_true(env_has(t.env, "PGPORT=5433"));
	assert_true(env_has(t.env, "PGUSER=alice"));
	assert_true(env_has(t.env, "PGDATABASE=app"));
	pg_target_dispose(&t);
	assert_null(t.env);
	/* Disposing twice is harmless. */
	pg_target_dispose(&t);
}

static void pg_target_parse__keyword_value_string(void **state)
{
	(void)state;
	struct pg_target t;
	assert_int_equal(
	    pg_target_parse(
		&t, "host=db port=5432 user=bob dbname=shop password='p w' sslmode=require"),
	    0);
	assert_string_equal(t.display, "postgresql://bob@db:5432/shop");
	assert_string_equal(t.dbname, "shop");
	assert_true(env_has(t.env, "PGPASSWORD=p w"));
	assert_true(env_has(t.env, "PGSSLMODE=require"));
	assert_null(strstr(t.display, "p w"));
	pg_target_dispose(&t);

	/* Only a database: host defaults to localhost in the display. */
	assert_int_equal(pg_target_parse(&t, "postgresql:///app"), 0);
	assert_string_equal(t.display, "postgresql://localhost/app");
	pg_target_dispose(&t);
}

static void pg_target_parse__missing_dbname_is_invalid(void **state)
{
	(void)state;
	static const char *const cases[] = {
	    "postgresql://alice:s3cret@db:5432",
	    "postgresql://alice@db/",
	    "host=db user=alice password=s3cret",
	    "",
	};
	unsetenv("PGDATABASE");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pg_target t;
		err_clear();
		if (pg_target_parse(&t, cases[i]) != E_INVALID)
			fail_msg("accepted \"%s\"", cases[i]);
		assert_non_null(strstr(err_msg(), "no database"));
		assert_null(strstr(err_msg(), "s3cret"));
	}
	/* PGDATABASE supplies it, as it does for libpq. */
	setenv("PGDATABASE", "fromenv", 1);
	struct pg_target t;
	assert_int_equal(pg_target_parse(&t, "host=db"), 0);
	assert_string_equal(t.dbname, "fromenv");
	pg_target_dispose(&t);
	unsetenv("PGDATABASE");
}

static void pg_target_parse__garbage_is_invalid_without_echoing_the_password(void **state)
{
	(void)state;
	static const char *const cases[] = {
	    "postgresql://alice:s3cret@db/app?nosuchoption=1",
	    "host=db password='s3cret",
	    "s3cret",
	    "host=db nosuchkeyword=s3cret dbname=app",
	    "postgresql://alice:s3cret@[::1/app",
	    "password=s3cret dbname",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pg_target t;
		err_clear();
		if (pg_target_parse(&t, cases[i]) != E_INVALID)
			fail_msg("accepted \"%s\"", cases[i]);
		assert_non_null(strstr(err_msg(), "not valid"));
		if (strstr(err_msg(), "s3cret"))
			fail_msg("message shows the password: %s", err_msg());
	}
}

static void pg_tool_path__uses_lifeboat_pg_bindir(void **state)
{
	(void)state;
	unsetenv("LIFEBOAT_PG_BINDIR");
	char *p = pg_tool_path("pg_dump");
	assert_string_equal(p, "pg_dump");
	free(p);
	setenv("LIFEBOAT_PG_BINDIR", "", 1);
	p = pg_tool_path("pg_dump");
	assert_string_equal(p, "pg_dump");
	free(p);
	setenv("LIFEBOAT_PG_BINDIR", "/usr/lib/postgresql/16/bin", 1);
	p = pg_tool_path("pg_restore");
	assert_string_equal(p, "/usr/lib/postgresql/16/bin/pg_restore");
	free(p);
	unsetenv("LIFEBOAT_PG_BINDIR");
}

/* A fake tool in a temporary folder that prints `text` for --version. */
static char *fake_tool(char dir[64], const char *text)
{
	snprintf(dir, 64, "/tmp/lifeboat-test-pg-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/pg_dump", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\nprintf '%%s\\n' '%s'\n", text);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

static void pg_tool_version__runs_the_tool_and_formats_its_version(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int num;
		const char *printed;
	} cases[] = {
	    {"pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", 150018, "15.18"},
	    {"pg_dump (PostgreSQL) 9.6.24", 90624, "9.6.24"},
	    {"pg_dump (PostgreSQL) 17beta1", 170000, "17.0"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dir[64], out[32];
		int num = 0;
		char *path = fake_tool(dir, cases[i].text);
		assert_int_equal(pg_tool_version(&num, out, path), 0);
		assert_int_equal(num, cases[i].num);
		assert_string_equal(out, cases[i].printed);
		unlink(path);
		rmdir(dir);
		free(path);
	}
}

static void pg_tool_version__rejects_a_tool_printing_no_version(void **state)
{
	(void)state;
	char dir[64], out[32];
	int num = 0;
	char *path = fake_tool(dir, "hello");
	err_clear();
	assert_int_equal(pg_tool_version(&num, out, path), E_VERSION);
	assert_non_null(strstr(err_msg(), "printed no version"));
	assert_non_null(strstr(err_msg(), path));
	unlink(path);
	rmdir(dir);
	free(path);
}

/* A program that is no pg_dump and never stops talking: stopped at the
 * capture cap, and the error says what to check. */
static void pg_tool_version__stops_a_tool_printing_without_end(void **state)
{
	(void)state;
	char dir[64] = "/tmp/lifeboat-test-pg-XXXXXX", out[32];
	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/pg_dump", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\nexec yes\n");
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
	int num = 0;
	alarm(30); /* a hang fails the binary */
	int rc = pg_tool_version(&num, out, path);
	alarm(0);
	assert_int_equal(rc, E_TOOBIG);
	assert_non_null(strstr(err_msg(), path));
	assert_non_null(strstr(err_msg(), "more than 4096 bytes"));
	assert_non_null(strstr(err_msg(), "LIFEBOAT_PG_BINDIR"));
	unlink(path);
	rmdir(dir);
	free(path);
}

/* Every way a connection string can carry a password, and look-alikes that
 * carry none. A string libpq cannot parse is judged by its shape: when in
 * doubt, it has one. */
static void pg_conninfo_has_password__finds_every_form(void **state)
{
	(void)state;
	static const char *const with[] = {
	    "postgresql://u:secret@h/db",
	    "postgres://u:secret@h:5432/db?sslmode=require",
	    "postgresql://u:s%40cret@h/db",
	    "postgresql://u@h/db?password=secret",
	    "postgresql://u@h/db?sslmode=disable&password=secret",
	    "postgresql://u@h/db?%70assword=secret",
	    "postgresql:///db?host=h&user=u&password=secret",
	    "host=h user=u password=secret dbname=db",
	    "host=h password = 'sec ret' dbname=db",
	    "password=secret",
	    /* Not parsable by libpq, yet a password is plainly there. */
	    "postgresql://u:secret@h/db?nosuchparameter=1",
	    "host=h nosuchkeyword=1 password=secret",
	    "host=h PASSWORD=secret",
	    "postgresql://u:secret@h/db?sslmode=require&bogus",
	};
	for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++)
		if (!pg_conninfo_has_password(with[i]))
			fail_msg("no password found in \"%s\"", with[i]);
	static const char *const without[] = {
	    "postgresql://u@h/db",
	    "postgresql://u@h:5432/db?sslmode=require",
	    "postgresql://h/db",
	    "postgresql://[::1]:5432/db",
	    "postgresql://u@[::1]:5432/db",
	    "postgresql:///db?host=/var/run/postgresql",
	    "postgresql://u@h/db?passfile=/etc/pgpass",
	    "host=h user=u dbname=db",
	    "host=h dbname=db passfile=/etc/pgpass",
	    "dbname=db",
	    "postgresql://u:@h/db",
	    "host=h password='' dbname=db",
	    "",
	};
	for (size_t i = 0; i < sizeof(without) / sizeof(without[0]); i++)
		if (pg_conninfo_has_password(without[i]))
			fail_msg("a password found in \"%s\"", without[i]);
}

static void pg_target_parse__keeps_host_port_and_user_for_the_audit(void **state)
{
	(void)state;
	struct pg_target t;
	assert_int_equal(pg_target_parse(&t, "postgresql://app:s3cret@db.internal:6432/shop"), 0);
	assert_string_equal(t.host, "db.internal");
	assert_string_equal(t.port, "6432");
	assert_string_equal(t.user, "app");
	assert_string_equal(t.dbname, "shop");
	pg_target_dispose(&t);
	assert_int_equal(pg_target_parse(&t, "dbname=shop"), 0);
	assert_null(t.host);
	assert_null(t.port);
	assert_null(t.user);
	pg_target_dispose(&t);
}

static void pg_missing_role__finds_the_role_in_psql_output(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *role; /* NULL: not found */
	} cases[] = {
	    {"psql:<stdin>:41: ERROR:  role \"app_owner\" does not exist", "app_owner"},
	    {"psql:<stdin>:41: ERROR:  role \"app_owner\" does not exist\n", "app_owner"},
	    {"psql:<stdin>:9: ERROR:  role \"App Owner\" does not exist\nCONTEXT:  x", "App Owner"},
	    {"ERROR:  role \"a\"b\" does not exist", "a\"b"},
	    {"ERROR:  role \"r\xc3\xb4le\" does not exist", "r\xc3\xb4le"},
	    /* the first role error that is one, past look-alikes */
	    {"NOTICE: role \"\" does not exist\nERROR:  role \"x\" does not exist", "x"},
	    {"WARNING: role \"half\nERROR:  role \"y\" does not exist", "y"},
	    {"psql:<stdin>:3: ERROR:  relation \"accounts\" does not exist", NULL},
	    {"ERROR:  schema \"role\" does not exist", NULL},
	    {"ERROR:  role \"x\" already exists", NULL},
	    {"role \"x\"\n does not exist", NULL},
	    {"", NULL},
	    {NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64] = "junk";
		int found = pg_missing_role(out, sizeof(out), cases[i].text);
		if (found != (cases[i].role != NULL))
			fail_msg("case %zu: found %d", i, found);
		assert_string_equal(out, cases[i].role ? cases[i].role : "");
	}
	/* A name longer than the buffer is not cut short into another name. */
	char small[4];
	assert_int_equal(pg_missing_role(small, sizeof(small), "role \"abcdef\" does not exist"),
			 0);
	assert_string_equal(small, "");
	assert_int_equal(pg_missing_role(small, sizeof(small), "role \"abc\" does not exist"), 1);
	assert_string_equal(small, "abc");
}

static void pg_quote_ident__quotes_and_doubles_inner_quotes(void **state)
{
	(void)state;
	static const char *const cases[][2] = {{"app", "\"app\""},
					       {"App Owner", "\"App Owner\""},
					       {"a\"b", "\"a\"\"b\""},
					       {"", "\"\""}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *q = pg_quote_ident(cases[i][0]);
		assert_string_equal(q, cases[i][1]);
		free(q);
	}
}

static void pg_missing_role_error__names_the_role_and_what_fixes_it(void **state)
{
	(void)state;
	static const struct {
		int no_owner, no_privileges;
		const char *use_role, *role;
		const char *want;   /* must appear */
		const char *absent; /* must not appear, or NULL */
	} cases[] = {
	    {0, 0, NULL, "app_owner",
	     "role \"app_owner\" does not exist on the target server: create it (CREATE ROLE "
	     "\"app_owner\";) or restore without ownership (--no-owner; DatabaseRestore "
	     "spec.ownership.mode NoOwner) and without grants (--no-privileges; spec.privileges "
	     "Skip)",
	     NULL},
	    {1, 0, NULL, "app_reader",
	     "role \"app_reader\" does not exist on the target server: create it (CREATE ROLE "
	     "\"app_reader\";) or restore without grants too (--no-privileges; DatabaseRestore "
	     "spec.privileges Skip)",
	     "spec.ownership.mode"},
	    {0, 1, NULL, "app_owner",
	     "or restore without ownership too (--no-owner; DatabaseRestore "
	     "spec.ownership.mode NoOwner)",
	     "spec.privileges Skip"},
	    {1, 1, NULL, "pol", "needs it even without owners and grants", "--no-owner"},
	    {1, 1, "admin", "admin",
	     "--role \"admin\": role \"admin\" does not exist on the target server: create it "
	     "(CREATE ROLE \"admin\";) or give an existing role (--role; DatabaseRestore "
	     "spec.ownership.role)",
	     "--no-privileges"},
	    /* --role given, but another role is missing */
	    {0, 0, "admin", "app_owner", "role \"app_owner\" does not exist", "--role \""},
	    {0, 0, NULL, "a\"b", "(CREATE ROLE \"a\"\"b\";)", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err_clear();
		int rc = pg_missing_role_error(cases[i].role, cases[i].no_owner,
					       cases[i].no_privileges, cases[i].use_role);
		assert_int_equal(rc, E_ROLE);
		if (!strstr(err_msg(), cases[i].want))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err_msg(), cases[i].want);
		if (cases[i].absent && strstr(err_msg(), cases[i].absent))
			fail_msg("case %zu: \"%s\" has \"%s\"", i, err_msg(), cases[i].absent);
	}
	assert_string_equal(err_reason(E_ROLE), "MissingRole");
	assert_int_equal(err_exit_status(E_ROLE), 14);
}

/* Zero-safe disposal: cleanup paths need no "was it parsed" flag. */
static void pg_dispose__zero_safe_and_idempotent(void **state)
{
	(void)state;
	static const struct pg_target zero_target;
	struct pg_target t;
	struct pg_info info;
	memset(&t, 0, sizeof(t));
	memset(&info, 0, sizeof(info));
	pg_target_dispose(&t);
	pg_info_dispose(&info);
	pg_info_dispose(&info);
	/* A failed parse leaves the target as it was: still zero. */
	unsetenv("PGDATABASE");
	assert_int_not_equal(pg_target_parse(&t, "postgresql://alice@db/"), 0);
	assert_memory_equal(&t, &zero_target, sizeof(t));
	pg_target_dispose(&t);
	assert_int_equal(pg_target_parse(&t, "postgresql://app@db:5432/shop"), 0);
	pg_target_dispose(&t);
	assert_memory_equal(&t, &zero_target, sizeof(t));
	pg_target_dispose(&t);
	info.host = xstrdup("db");
	info.schema_version = xstrdup("42");
	pg_info_dispose(&info);
	assert_null(info.host);
	assert_null(info.schema_version);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pg_dispose__zero_safe_and_idempotent),
	    cmocka_unit_test(pg_version_parse__reads_tool_and_server_versions),
	    cmocka_unit_test(pg_version_parse__rejects_text_without_a_version),
	    cmocka_unit_test(pg_check_dump_version__allows_same_or_newer_pg_dump),
	    cmocka_unit_test(pg_check_dump_version__refuses_older_pg_dump_naming_the_one_needed),
	    cmocka_unit_test(pg_target_parse__uri_keeps_password_out_of_display),
	    cmocka_unit_test(pg_target_parse__keyword_value_string),
	    cmocka_unit_test(pg_target_parse__missing_dbname_is_invalid),
	    cmocka_unit_test(pg_target_parse__garbage_is_invalid_without_echoing_the_password),
	    cmocka_unit_test(pg_tool_path__uses_lifeboat_pg_bindir),
	    cmocka_unit_test(pg_tool_version__runs_the_tool_and_formats_its_version),
	    cmocka_unit_test(pg_tool_version__rejects_a_tool_printing_no_version),
	    cmocka_unit_test(pg_tool_version__stops_a_tool_printing_without_end),
	    cmocka_unit_test(pg_conninfo_has_password__finds_every_form),
	    cmocka_unit_test(pg_target_parse__keeps_host_port_and_user_for_the_audit),
	    cmocka_unit_test(pg_missing_role__finds_the_role_in_psql_output),
	    cmocka_unit_test(pg_quote_ident__quotes_and_doubles_inner_quotes),
	    cmocka_unit_test(pg_missing_role_error__names_the_role_and_what_fixes_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
