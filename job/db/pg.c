/* libpq pre-flight and PostgreSQL version rules. */
#include "job/db/pg.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/jobenv.h"
#include "common/xmalloc.h"
#include "job/pipeline/interrupt.h"
#include "job/pipeline/proc.h"
#include "job/pipeline/stage.h"

/* libpq frees the parsed values as they are; one is the password. */
static void conninfo_free_wiped(PQconninfoOption *opts)
{
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val)
			OPENSSL_cleanse(o->val, strlen(o->val));
	PQconninfoFree(opts);
}

int pg_target_parse(struct pg_target *out, const char *conninfo)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
	if (!opts) {
		/* libpq's message may quote the string; it holds the password: drop it. */
		PQfreemem(errmsg);
		return err_set(E_INVALID,
			       "database connection string is not valid: use "
			       "postgresql://USER@HOST:PORT/DBNAME (password via the URI, "
			       "PGPASSWORD or a .pgpass file)");
	}
	struct pg_target t;
	memset(&t, 0, sizeof(t));
	size_t n = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		n++;
	t.env = xcalloc(n + 1, sizeof(*t.env));
	const char *host = NULL, *port = NULL, *user = NULL, *db = NULL;
	size_t k = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (o->envvar)
			t.env[k++] = xasprintf("%s=%s", o->envvar, o->val);
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
	}
	if (!db)
		db = getenv(jobenv_name(JOBENV_PGDATABASE));
	if (!db || !*db) {
		for (size_t i = 0; i < k; i++) {
			OPENSSL_cleanse(t.env[i], strlen(t.env[i]));
			free(t.env[i]);
		}
		free(t.env);
		conninfo_free_wiped(opts);
		return err_set(E_INVALID,
			       "database connection string names no database: add "
			       "/DBNAME to the URI (postgresql://USER@HOST:PORT/DBNAME)");
	}
	t.conninfo = xstrdup(conninfo);
	t.dbname = xstrdup(db);
	t.host = host ? xstrdup(host) : NULL;
	t.port = port ? xstrdup(port) : NULL;
	t.user = user ? xstrdup(user) : NULL;
	t.display = xasprintf("postgresql://%s%s%s%s%s/%s", user ? user : "", user ? "@" : "",
			      host ? host : "localhost", port ? ":" : "", port ? port : "", db);
	conninfo_free_wiped(opts);
	*out = t;
	return 0;
}

void pg_target_dispose(struct pg_target *t)
{
	if (t->conninfo) {
		OPENSSL_cleanse(t->conninfo, strlen(t->conninfo));
		free(t->conninfo);
	}
	for (size_t i = 0; t->env && t->env[i]; i++) {
		OPENSSL_cleanse(t->env[i], strlen(t->env[i]));
		free(t->env[i]);
	}
	free(t->env);
	free(t->dbname);
	free(t->display);
	free(t->host);
	free(t->port);
	free(t->user);
	memset(t, 0, sizeof(*t));
}

/* For strings libpq rejects: anything that might be a password is one. */
static int looks_like_password(const char *s)
{
	for (const char *p = s; *p; p++)
		if (strncasecmp(p, "password", 8) == 0) {
			const char *q = p + 8;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '=')
				return 1;
		}
	static const char *const schemes[] = {"postgresql://", "postgres://"};
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(s, schemes[i], n) != 0)
			continue;
		/* As libpq reads a URI: user info ends at an '@' before the first
		 * '/'; a ':' in it starts the password. */
		const char *auth = s + n, *end = auth + strcspn(auth, "/");
		const char *at = memchr(auth, '@', (size_t)(end - auth));
		return at && memchr(auth, ':', (size_t)(at - auth)) != NULL;
	}
	return 0;
}

int pg_conninfo_has_password(const char *conninfo)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
	if (!opts) {
		/* libpq's message may quote the password: never shown. */
		PQfreemem(errmsg);
		return looks_like_password(conninfo);
	}
	int found = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			found = 1;
	conninfo_free_wiped(opts);
	return found;
}

/* PQexec that a SIGTERM ends: the query is cancelled on the server, and
 * NULL returned with interrupt_error set. */
static PGresult *exec(PGconn *c, const char *sql)
{
	if (atomic_load(&stage_interrupted)) {
		interrupt_error();
		return NULL;
	}
	if (!PQsendQuery(c, sql))
		return PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	PGresult *last = NULL;
	for (;;) {
		while (PQisBusy(c)) {
			if (interrupt_poll(PQsocket(c), POLLIN) != 0 && errno == EINTR) {
				PGcancel *k = PQgetCancel(c);
				char why[256];
				if (k)
					PQcancel(k, why, sizeof(why));
				PQfreeCancel(k);
				PQclear(last);
				interrupt_error();
				return NULL;
			}
			if (!PQconsumeInput(c))
				break;
		}
		PGresult *r = PQgetResult(c);
		if (!r)
			break;
		PQclear(last);
		last = r;
	}
	return last;
}

static int query_value(char **out, PGconn *c, const char *sql, const char *what)
{
	PGresult *r = exec(c, sql);
	int rc = 0;
	if (!r) {
		rc = E_IO; /* interrupted: interrupt_error said so */
	} else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		char *m = xstrdup(PQresultErrorMessage(r));
		m[strcspn(m, "\n")] = '\0';
		rc = err_set(E_DB, "%s failed: %s", what, m);
		free(m);
	} else if (PQntuples(r) < 1 || PQnfields(r) < 1) {
		rc = err_set(E_DB, "%s returned no rows", what);
	} else {
		*out = PQgetisnull(r, 0, 0) ? NULL : xstrdup(PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return rc;
}

static int query_i64(int64_t *out, PGconn *c, const char *sql, const char *what)
{
	char *v = NULL;
	int rc = query_value(&v, c, sql, what);
	if (!rc)
		*out = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	return rc;
}

/* The schema query's failure, recorded instead of failing: query_value's
 * message without its "--schema-version-query failed: " (the server's
 * "ERROR:  relation ... does not exist", or "returned no rows"). */
static char *schema_error_text(void)
{
	const char *m = err_msg();
	static const char prefix[] = "--schema-version-query ";
	if (strncmp(m, prefix, sizeof(prefix) - 1) == 0)
		m += sizeof(prefix) - 1;
	if (strncmp(m, "failed: ", 8) == 0)
		m += 8;
	return xasprintf("%.512s", m);
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static int preflight(struct pg_info *out, const struct pg_target *t, const char *schema_query,
		     int lenient)
{
	struct pg_info info;
	memset(&info, 0, sizeof(info));
	int rc = 0;
	/* A bounded connect: a dead host must not hang the Job until its deadline. */
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *timeout = getenv(jobenv_name(JOBENV_PGCONNECT_TIMEOUT));
	const char *vals[] = {t->conninfo, timeout ? timeout : "10", "lifeboat", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		char *m = xstrdup(PQerrorMessage(c));
		for (char *p = m; *p; p++)
			if (*p == '\n' || *p == '\t')
				*p = ' ';
		for (size_t n = strlen(m); n > 0 && m[n - 1] == ' ';)
			m[--n] = '\0';
		rc = err_set(
		    E_DB,
		    "cannot connect to %s: %s; check host, port, user, password and that the "
		    "server accepts connections",
		    t->display, m);
		free(m);
		goto done;
	}
	info.host = dup_or_null(PQhost(c));
	info.port = dup_or_null(PQport(c));
	info.user = dup_or_null(PQuser(c));
	info.database = dup_or_null(PQdb(c));
	info.server_version_num = PQserverVersion(c);
	const char *sv = PQparameterStatus(c, "server_version");
	snprintf(info.server_version, sizeof(info.server_version), "%s", sv ? sv : "");
	info.server_version[strcspn(info.server_version, " ")] = '\0';
	int64_t size = 0;
	if ((rc = query_i64(&size, c, "SELECT pg_database_size(current_database())",
			    "reading the database size")))
		goto done;
	info.size_bytes = (uint64_t)size;
	if ((rc =
		 query_i64(&info.table_count, c,
			   "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
			   "c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN "
			   "('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'",
			   "counting tables")) ||
	    (rc = query_i64(
		 &info.row_estimate, c,
		 "SELECT coalesce(sum(greatest(c.reltuples,0)),0)::bigint FROM pg_class c "
		 "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND "
		 "n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT "
		 "LIKE 'pg_toast%'",
		 "estimating rows")))
		goto done;
	if (schema_query && *schema_query) {
		PGresult *r = exec(c, "BEGIN READ ONLY");
		PQclear(r);
		rc = query_value(&info.schema_version, c, schema_query, "--schema-version-query");
		if (rc == E_IO && atomic_load(&stage_interrupted))
			goto done;
		r = exec(c, "ROLLBACK");
		PQclear(r);
		if (lenient && rc) {
			info.schema_error = schema_error_text();
			rc = 0;
		} else if (lenient && !info.schema_version) {
			info.schema_error = xstrdup("returned NULL");
		}
		if (rc)
			goto done;
	}
done:
	PQfinish(c);
	if (rc) {
		pg_info_dispose(&info);
		return rc;
	}
	*out = info;
	return 0;
}

int pg_preflight(struct pg_info *out, const struct pg_target *t, const char *schema_query)
{
	return preflight(out, t, schema_query, 0);
}

int pg_preflight_target(struct pg_info *out, const struct pg_target *t, const char *schema_query)
{
	return preflight(out, t, schema_query, 1);
}

void pg_info_dispose(struct pg_info *info)
{
	char **strs[] = {&info->schema_version, &info->schema_error, &info->host,
			 &info->port,		&info->user,	     &info->database};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

int pg_missing_role(char *out, size_t cap, const char *text)
{
	static const char open_[] = "role \"", close_[] = "\" does not exist";
	if (cap > 0)
		out[0] = '\0';
	for (const char *p = text ? strstr(text, open_) : NULL; p; p = strstr(p + 1, open_)) {
		const char *name = p + sizeof(open_) - 1;
		const char *end = strstr(name, close_);
		const char *nl = strchr(name, '\n');
		/* The name ends on its own line; an empty one is not a role. */
		if (!end || end == name || (nl && nl < end))
			continue;
		size_t n = (size_t)(end - name);
		if (n >= cap)
			continue;
		memcpy(out, name, n);
		out[n] = '\0';
		return 1;
	}
	return 0;
}

char *pg_quote_ident(const char *name)
{
	struct buf b;
	buf_init(&b, 4 * strlen(name) + 16);
	buf_adds(&b, "\"");
	for (const char *p = name; *p; p++) {
		buf_add(&b, p, 1);
		if (*p == '"')
			buf_add(&b, p, 1);
	}
	buf_adds(&b, "\"");
	return buf_take(&b);
}

int pg_missing_role_error(const char *role, int no_owner, int no_privileges, const char *use_role)
{
	char *q = pg_quote_ident(role);
	int rc;
	if (use_role && strcmp(use_role, role) == 0)
		rc =
		    err_set(E_ROLE,
			    "--role %s: role \"%s\" does not exist on the target server: create it "
			    "(CREATE ROLE %s;) or give an existing role (--role; DatabaseRestore "
			    "spec.ownership.role)",
			    q, role, q);
	else if (!no_owner && !no_privileges)
		rc = err_set(
		    E_ROLE,
		    "role \"%s\" does not exist on the target server: create it (CREATE ROLE "
		    "%s;) or restore without ownership (--no-owner; DatabaseRestore "
		    "spec.ownership.mode NoOwner) and without grants (--no-privileges; "
		    "spec.privileges Skip)",
		    role, q);
	else if (!no_privileges)
		rc = err_set(
		    E_ROLE,
		    "role \"%s\" does not exist on the target server: create it (CREATE ROLE "
		    "%s;) or restore without grants too (--no-privileges; DatabaseRestore "
		    "spec.privileges Skip): --no-owner leaves out owners, not the GRANTs "
		    "naming the role",
		    role, q);
	else if (!no_owner)
		rc = err_set(
		    E_ROLE,
		    "role \"%s\" does not exist on the target server: create it (CREATE ROLE "
		    "%s;) or restore without ownership too (--no-owner; DatabaseRestore "
		    "spec.ownership.mode NoOwner): --no-privileges leaves out grants, not "
		    "the owners",
		    role, q);
	else
		rc =
		    err_set(E_ROLE,
			    "role \"%s\" does not exist on the target server, and the backup needs "
			    "it even without owners and grants (e.g. a row-level security policy "
			    "or a default-privileges rule naming it): create it (CREATE ROLE %s;)",
			    role, q);
	free(q);
	return rc;
}

/* "17beta1", "18rc1", "19devel": PostgreSQL numbers these MAJOR.0. */
static int is_prerelease(const char *s)
{
	static const char *const tags[] = {"alpha", "beta", "rc", "devel"};
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strncmp(s, tags[i], strlen(tags[i])) == 0)
			return 1;
	return 0;
}

int pg_version_parse(int *num, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (!isdigit((unsigned char)*p) ||
		    (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '.')))
			continue;
		char *end;
		long major = strtol(p, &end, 10), minor = 0, patch = 0;
		if (*end == '.' && isdigit((unsigned char)end[1])) {
			minor = strtol(end + 1, &end, 10);
			if (major < 10 && *end == '.' && isdigit((unsigned char)end[1]))
				patch = strtol(end + 1, &end, 10);
		} else if (major < 10 || !is_prerelease(end)) {
			continue;
		}
		/* Bounds keep the arithmetic below from overflowing on junk. */
		if (major > 999 || minor > 9999 || (major < 10 && (minor > 99 || patch > 99)))
			continue;
		if (major >= 10)
			*num = (int)(major * 10000 + minor);
		else
			*num = (int)(major * 10000 + minor * 100 + patch);
		return 0;
	}
	return err_set(E_INVALID, "no PostgreSQL version found in \"%s\"", text);
}

int pg_tool_version(int *num, char out[32], const char *tool)
{
	const char *argv[] = {tool, "--version", NULL};
	char *text = NULL;
	int rc = proc_capture(&text, argv, 4096);
	if (rc == E_TOOBIG)
		return err_set(E_TOOBIG,
			       "%s --version: %s; is it a PostgreSQL client program? check "
			       "LIFEBOAT_PG_BINDIR and PATH",
			       tool, err_msg());
	if (rc)
		return rc;
	rc = pg_version_parse(num, text);
	if (!rc) {
		if (*num >= 100000)
			snprintf(out, 32, "%d.%d", *num / 10000, *num % 10000);
		else
			snprintf(out, 32, "%d.%d.%d", *num / 10000, (*num / 100) % 100, *num % 100);
	} else {
		rc = err_set(E_VERSION, "%s --version printed no version: \"%s\"", tool, text);
	}
	free(text);
	return rc;
}

/* 150018 -> "15"; 90624 -> "9.6". */
static void major_text(char out[16], int num)
{
	if (num >= 100000)
		snprintf(out, 16, "%d", num / 10000);
	else
		snprintf(out, 16, "%d.%d", num / 10000, (num / 100) % 100);
}

static int major_of(int num)
{
	return num >= 100000 ? num / 10000 : num / 100;
}

int pg_check_dump_version(int dump_num, int server_num, const char *tool)
{
	/* pg_dump dumps servers of its own major version and older ones only. */
	if (major_of(dump_num) * (dump_num >= 100000 ? 100 : 1) <
	    major_of(server_num) * (server_num >= 100000 ? 100 : 1)) {
		char have[16], need[16];
		major_text(have, dump_num);
		major_text(need, server_num);
		return err_set(E_VERSION,
			       "%s is version %s but the server is PostgreSQL %s: pg_dump can only "
			       "dump servers of its own major version or older; use pg_dump %s or "
			       "newer (set LIFEBOAT_PG_BINDIR, or use a job image with a newer "
			       "PostgreSQL client)",
			       tool, have, need, need);
	}
	return 0;
}

int pg_check_restore_tool(char version[32], const char *dump_version)
{
	char *tool = pg_tool_path("pg_restore");
	int num = 0, dump_num = 0;
	int rc = pg_tool_version(&num, version, tool);
	if (rc == E_NOTFOUND)
		rc = err_set(E_NOTFOUND,
			     "%s: pg_restore is needed to read custom-format backups; "
			     "install the PostgreSQL client or set LIFEBOAT_PG_BINDIR",
			     err_msg());
	else if (!rc && dump_version && pg_version_parse(&dump_num, dump_version) == 0 &&
		 major_of(num) * (num >= 100000 ? 100 : 1) <
		     major_of(dump_num) * (dump_num >= 100000 ? 100 : 1)) {
		char need[16];
		major_text(need, dump_num);
		rc = err_set(
		    E_VERSION,
		    "%s is version %s but the backup was made by pg_dump %s: pg_restore reads "
		    "archives of its own major version or older; use pg_restore %s or newer "
		    "(set LIFEBOAT_PG_BINDIR, or use a job image with a newer PostgreSQL client)",
		    tool, version, dump_version, need);
	}
	free(tool);
	return rc;
}

char *pg_tool_path(const char *name)
{
	const char *dir = getenv(jobenv_name(JOBENV_PG_BINDIR));
	if (dir && *dir)
		return xasprintf("%s/%s", dir, name);
	return xstrdup(name);
}
