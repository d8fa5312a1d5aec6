/* The job's environment: every variable lifeboat (and the libpq it runs) reads,
 * which commands read it, and whether its value is a secret. The one contract
 * between the operator, which sets these in a Job, and the job, which reads
 * them; neither keeps a copy of a name. Pure: no getenv here. */
#ifndef LIFEBOAT_JOBENV_H
#define LIFEBOAT_JOBENV_H

#include <stddef.h>

/* The commands of the job, as bits (a variable's `commands` is a mask). */
enum jobenv_command {
	JOBENV_CMD_BACKUP = 1,
	JOBENV_CMD_RESTORE = 2,
	JOBENV_CMD_VERIFY = 4,
	JOBENV_CMD_LIST = 8,
	JOBENV_CMD_DELETE = 16,
	JOBENV_CMD_AUDIT = 32,
	JOBENV_CMD_SHOW = 64,
	JOBENV_CMD_DOWNLOAD = 128,
	JOBENV_CMD_ALL = 255,
};

/* Marks of a variable. */
enum jobenv_flag {
	/* The value is, or may carry, a credential: it reaches a Job only as a
	 * secretKeyRef (or, with JOBENV_COMPOSED, as a value the operator built
	 * from non-secret fields), is never logged, and is withheld from the
	 * job's child processes unless JOBENV_CHILDREN says they need it. */
	JOBENV_SECRET = 1,
	/* Secret, but pg_dump, pg_restore and psql read it themselves (libpq's
	 * PGPASSWORD), so child processes keep it. */
	JOBENV_CHILDREN = 2,
	/* Secret in general, but the operator may set a credential-free value it
	 * composed itself: LIFEBOAT_DB built from host, port, user and database
	 * (the password then travels as PGPASSWORD). Withheld from children all
	 * the same: the job hands pg_dump, pg_restore and psql the connection as
	 * PG* variables it builds itself (pg_target_parse), so none reads it. */
	JOBENV_COMPOSED = 4,
	/* Has a command-line flag of the same meaning (docs/job.md). */
	JOBENV_FLAG = 8,
};

/* Every variable, in the order of the table. */
enum jobenv_var {
	/* lifeboat's own (docs/job.md) */
	JOBENV_DB,
	JOBENV_STORAGE,
	JOBENV_NAME,
	JOBENV_NAMESPACE,
	JOBENV_PASSPHRASE_FILE,
	JOBENV_PASSPHRASE,
	JOBENV_FORMAT,
	JOBENV_COMPRESSION,
	JOBENV_SCHEMA_VERSION_QUERY,
	JOBENV_CONFIRM,
	JOBENV_CLEAN,
	JOBENV_FILES,
	JOBENV_OUTPUT,
	JOBENV_OUT,
	JOBENV_FILES_OUT,
	JOBENV_RAW,
	JOBENV_FORCE,
	JOBENV_RESULT_PATH,
	JOBENV_ZSTD_WORKERS,
	JOBENV_LOG_LEVEL,
	/* restore: schema check, ownership, the audit record (docs/restore.md) */
	JOBENV_SCHEMA_POLICY,
	JOBENV_NO_OWNER,
	JOBENV_NO_PRIVILEGES,
	JOBENV_ROLE,
	JOBENV_RESTORE_NAME,
	JOBENV_RESTORE_NAMESPACE,
	JOBENV_REQUESTED_BY,
	JOBENV_SAFETY_BACKUP_NAME,
	JOBENV_SAFETY_BACKUP_LOCATION,
	JOBENV_SAFETY_BACKUP_SHA256,
	JOBENV_NO_SAFETY_BACKUP,
	JOBENV_PG_BINDIR,
	JOBENV_TEST_MAX_PARTS,
	/* s3:// and gs:// (job/store/store_s3.c, docs/storage.md) */
	JOBENV_AWS_ACCESS_KEY_ID,
	JOBENV_AWS_SECRET_ACCESS_KEY,
	JOBENV_AWS_SESSION_TOKEN,
	JOBENV_AWS_SHARED_CREDENTIALS_FILE,
	JOBENV_AWS_PROFILE,
	JOBENV_AWS_REGION,
	JOBENV_AWS_DEFAULT_REGION,
	JOBENV_AWS_CA_BUNDLE,
	/* gs:// with a service-account key (job/store/store_gcs.c) */
	JOBENV_GOOGLE_APPLICATION_CREDENTIALS,
	/* azure:// (job/store/store_azure.c) */
	JOBENV_AZURE_STORAGE_KEY,
	JOBENV_AZURE_STORAGE_SAS_TOKEN,
	JOBENV_AZURE_STORAGE_CONNECTION_STRING,
	JOBENV_AZURE_STORAGE_ACCOUNT,
	JOBENV_AZURE_STORAGE_KEY_FILE,
	JOBENV_AZURE_STORAGE_SAS_TOKEN_FILE,
	JOBENV_AZURE_STORAGE_CONNECTION_STRING_FILE,
	/* libpq's, as lifeboat and its children read them */
	JOBENV_PGPASSWORD,
	JOBENV_PGPASSFILE,
	JOBENV_PGHOST,
	JOBENV_PGPORT,
	JOBENV_PGUSER,
	JOBENV_PGDATABASE,
	JOBENV_PGSSLMODE,
	JOBENV_PGSSLROOTCERT,
	JOBENV_PGCONNECT_TIMEOUT,
	JOBENV_COUNT
};

struct jobenv {
	enum jobenv_var var;
	const char *name;    /* "LIFEBOAT_DB" */
	unsigned commands;   /* JOBENV_CMD_* of the commands that read it */
	unsigned flags;	     /* JOBENV_SECRET, ... */
	const char *meaning; /* one line, for --help and docs */
};

/* The table entry of v; v must be below JOBENV_COUNT. Static storage. */
const struct jobenv *jobenv_get(enum jobenv_var v);
/* The variable's name, e.g. "LIFEBOAT_DB". */
const char *jobenv_name(enum jobenv_var v);
/* The entry named by the first len bytes of name (a "K=V" environment entry
 * may be passed with len = the length of K), or NULL when lifeboat does not
 * know the variable. */
const struct jobenv *jobenv_lookup(const char *name, size_t len);
/* 1 when the NUL-terminated name is a variable the table marks secret. */
int jobenv_is_secret(const char *name);
/* 1 when a "K=V" environment entry must be left out of a child process's
 * environment: K is secret and children do not need it. */
int jobenv_withheld(const char *entry);

#endif
