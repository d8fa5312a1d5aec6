/* PostgreSQL access: connection targets (never putting the password in an
 * argv), the libpq pre-flight, and version rules for pg_dump/pg_restore. */
#ifndef LIFEBOAT_PG_H
#define LIFEBOAT_PG_H

#include <stddef.h>
#include <stdint.h>

struct pg_target {
	char *conninfo; /* as the user gave it; wiped on dispose */
	char **env;	/* "PGHOST=..."-style entries for child processes */
	char *dbname;
	char *display; /* "postgresql://user@host:port/db": no password */
	char *host;    /* as given; NULL when the string names none */
	char *port;
	char *user;
};

struct pg_info {
	int server_version_num; /* 150018 */
	char server_version[32];
	uint64_t size_bytes;
	int64_t table_count;
	int64_t row_estimate;
	char *schema_version; /* NULL unless a query was given */
	/* pg_preflight_target: why the schema query gave no version (its
	 * error, "returned no rows" or "returned NULL"); NULL when it did. */
	char *schema_error;
	/* Where the connection really went (libpq's PQhost, PQport, PQuser,
	 * PQdb); never a password. */
	char *host;
	char *port;
	char *user;
	char *database;
};

/* Parses a libpq URI or keyword string. E_INVALID names what is wrong. */
int pg_target_parse(struct pg_target *out, const char *conninfo);
/* Zero-safe: an all-zero target (never parsed, or a failed parse) holds
 * nothing, and a disposed one is all zeros again. */
void pg_target_dispose(struct pg_target *t);
/* Pure: 1 when the libpq URI or keyword string carries a non-empty password
 * (postgresql://USER:PASSWORD@..., ?password=..., password=...), else 0. A
 * string libpq cannot parse counts as carrying one when it looks like it
 * might (a "password" keyword in any case, or USER:...@ in a URI). */
int pg_conninfo_has_password(const char *conninfo);
/* Connects, reads versions and sizes and runs schema_query (may be NULL) in a
 * read-only transaction. E_DB with the server's message on failure. */
int pg_preflight(struct pg_info *out, const struct pg_target *t, const char *schema_query);
/* The restore's pre-flight: as pg_preflight, but a schema query that fails,
 * returns no row or NULL does not fail the call; its error goes to
 * out->schema_error (at most 512 bytes) and out->schema_version stays NULL. */
int pg_preflight_target(struct pg_info *out, const struct pg_target *t, const char *schema_query);
/* Zero-safe like pg_target_dispose: the pre-flights set *out only on
 * success, so a zeroed pg_info may be disposed whether or not one ran. */
void pg_info_dispose(struct pg_info *info);
/* Pure: finds PostgreSQL's `role "NAME" does not exist` in text (psql's
 * stderr) and copies NAME into out (cap bytes, NUL-terminated). 1 when
 * found, 0 otherwise (out is then ""). */
int pg_missing_role(char *out, size_t cap, const char *text);
/* Pure: E_ROLE with the message for a restore that failed on a missing
 * role: names it and says what fixes it, given which of --no-owner,
 * --no-privileges and --role (use_role, may be NULL) the restore had. */
int pg_missing_role_error(const char *role, int no_owner, int no_privileges, const char *use_role);
/* Pure: name as an SQL identifier in double quotes (inner quotes doubled).
 * Caller frees. */
char *pg_quote_ident(const char *name);
/* Pure: "pg_dump (PostgreSQL) 15.18 (Debian ...)" or "15.18" -> 150018;
 * "9.6.24" -> 90624. E_INVALID when no version is found. */
int pg_version_parse(int *num, const char *text);
/* Runs `tool --version`; fills num and the printable version. */
int pg_tool_version(int *num, char out[32], const char *tool);
/* Pure: may a pg_dump of dump_num dump a server of server_num? E_VERSION
 * with a message saying which pg_dump is needed. */
int pg_check_dump_version(int dump_num, int server_num, const char *tool);
/* Runs `pg_restore --version` (from pg_tool_path) and checks it can read an
 * archive made by pg_dump dump_version: E_VERSION naming the one needed,
 * E_NOTFOUND when pg_restore is missing. Fills version. */
int pg_check_restore_tool(char version[32], const char *dump_version);
/* The path of a PostgreSQL client program: $LIFEBOAT_PG_BINDIR/name, else
 * name (looked up in PATH). Caller frees. */
char *pg_tool_path(const char *name);

#endif
