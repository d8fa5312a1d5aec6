/* The pure decisions of `lifeboat restore` (job/cmd/restore_plan.h). */
#include "job/cmd/restore_plan.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/cmd/job.h"
#include "job/db/pg.h"

/* --clean: inside the restore's own transaction, drop every user schema
 * (CASCADE) and large object, then recreate an empty public schema, so the
 * database ends up holding exactly what the backup holds. pg_restore's own
 * --clean cannot be used atomically: some of its DROPs fail (inherited
 * partition constraints) and would abort the transaction. */
static const char *clean_sql(int server_version_num)
{
	return server_version_num >= 140000
		   ? "DO $lifeboat$ DECLARE s record; BEGIN FOR s IN SELECT nspname FROM "
		     "pg_namespace "
		     "WHERE nspname NOT IN ('pg_catalog','information_schema','pg_toast') AND "
		     "nspname "
		     "NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%' LOOP "
		     "EXECUTE format('DROP SCHEMA %I CASCADE', s.nspname); END LOOP; PERFORM "
		     "lo_unlink(oid) FROM pg_largeobject_metadata; END $lifeboat$;\n"
		     "CREATE SCHEMA public AUTHORIZATION pg_database_owner;\n"
		     "GRANT USAGE ON SCHEMA public TO PUBLIC;\n"
		     "COMMENT ON SCHEMA public IS 'standard public schema';\n"
		   : "DO $lifeboat$ DECLARE s record; BEGIN FOR s IN SELECT nspname FROM "
		     "pg_namespace "
		     "WHERE nspname NOT IN ('pg_catalog','information_schema','pg_toast') AND "
		     "nspname "
		     "NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%' LOOP "
		     "EXECUTE format('DROP SCHEMA %I CASCADE', s.nspname); END LOOP; PERFORM "
		     "lo_unlink(oid) FROM pg_largeobject_metadata; END $lifeboat$;\n"
		     "CREATE SCHEMA public;\n"
		     "GRANT ALL ON SCHEMA public TO PUBLIC;\n"
		     "COMMENT ON SCHEMA public IS 'standard public schema';\n";
}

int restore_plan(struct restore_plan *out, const struct job_opts *o, enum schema_policy policy,
		 const struct manifest *m)
{
	struct restore_plan p = {
	    .custom = strcmp(m->format, "custom") == 0,
	    .no_owner = o->no_owner,
	    .no_privileges = o->no_privileges,
	    .role = o->role,
	    .clean = o->clean,
	    .ask_schema = o->schema_query && *o->schema_query && policy != SCHEMA_POLICY_IGNORE,
	    .files = o->files != NULL,
	    .files_left = !o->files && m->files.key,
	};
	if (m->encrypted && !o->passphrase)
		return err_set(E_INVALID,
			       "backup %s/%s is encrypted: give --passphrase-file or "
			       "LIFEBOAT_PASSPHRASE",
			       o->namespace_, o->name);
	if (!p.custom && (o->no_owner || o->no_privileges))
		return err_set(
		    E_UNSUPPORTED,
		    "%s: backup %s/%s is a plain-format SQL script, whose owners and "
		    "grants cannot be left out; create the roles it names on the target, "
		    "or restore a custom-format backup",
		    o->no_owner ? "--no-owner" : "--no-privileges", o->namespace_, o->name);
	if (o->files && !m->files.key)
		return err_set(
		    E_INVALID,
		    "--files %s: backup %s/%s has no files archive (it was taken without "
		    "--files); drop --files to restore only the database",
		    o->files, o->namespace_, o->name);
	*out = p;
	return 0;
}

char *restore_plan_sql(const struct restore_plan *p, int server_version_num)
{
	const char *clean = p->clean ? clean_sql(server_version_num) : "";
	if (p->custom || !p->role)
		return *clean ? xstrdup(clean) : NULL;
	char *q = pg_quote_ident(p->role);
	char *sql = xasprintf("%sSET ROLE %s;\n", clean, q);
	free(q);
	return sql;
}
