/* What one restore will do, decided from its options and the backup's
 * manifest before anything is changed: the processes (psql, and pg_restore
 * for a custom-format archive), pg_restore's flags, the SQL injected after
 * BEGIN (--clean's drops, SET ROLE) and whether the target's schema version
 * is asked for. Pure: no I/O, table-tested (tests/unit/test_restore_plan.c);
 * job/cmd/restore.c builds the chain and the processes from it. */
#ifndef LIFEBOAT_RESTORE_PLAN_H
#define LIFEBOAT_RESTORE_PLAN_H

#include "job/model/manifest.h"
#include "job/model/schema.h"

struct job_opts;

struct restore_plan {
	/* custom format: a pg_restore turns the archive into the script (its
	 * version checked against the dump's), a copier thread feeding it on
	 * to psql; plain: the script goes to psql as it is. */
	int custom;
	int no_owner;	   /* pg_restore --no-owner */
	int no_privileges; /* pg_restore --no-privileges */
	const char *role;  /* pg_restore --role (custom) or SET ROLE (plain); borrowed */
	int clean;	   /* --clean's drops injected after BEGIN */
	int ask_schema;	   /* run --schema-version-query on the target */
	int files;	   /* --files: the folder is restored too */
	int files_left;	   /* the backup holds a files archive that is not restored */
};

/* The decisions for restoring the backup m with options o (already checked
 * on their own) under policy. E_INVALID for an encrypted backup without a
 * passphrase and for --files against a backup without a files archive,
 * E_UNSUPPORTED for --no-owner or --no-privileges against a plain script;
 * the messages name the backup as o->namespace_/o->name. *out is set only
 * on success. */
int restore_plan(struct restore_plan *out, const struct job_opts *o, enum schema_policy policy,
		 const struct manifest *m);
/* The SQL injected right after the script's BEGIN for a server of
 * server_version_num: --clean's drops, and for a plain script SET ROLE
 * (pg_restore writes its own for custom). NULL when there is none; the
 * caller frees it. */
char *restore_plan_sql(const struct restore_plan *p, int server_version_num);

#endif
