/* The table of the job's environment variables and their secrecy. */
#include "common/jobenv.h"

#include <string.h>

#define B JOBENV_CMD_BACKUP
#define R JOBENV_CMD_RESTORE
#define V JOBENV_CMD_VERIFY
#define L JOBENV_CMD_LIST
#define D JOBENV_CMD_DELETE
#define A JOBENV_CMD_AUDIT
#define S JOBENV_CMD_SHOW
#define DL JOBENV_CMD_DOWNLOAD
#define ALL JOBENV_CMD_ALL
#define SECRET JOBENV_SECRET
#define FLAG JOBENV_FLAG

/* For the variables with a flag, the meaning is the flag's --help text. */
static const struct jobenv table[JOBENV_COUNT] = {
    {JOBENV_DB, "LIFEBOAT_DB", B | R, SECRET | JOBENV_COMPOSED | FLAG,
     "PostgreSQL URI (the database to dump, or the restore target)"},
    {JOBENV_STORAGE, "LIFEBOAT_STORAGE", ALL, FLAG,
     "storage URL: file:///PATH, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or "
     "azure://CONTAINER/PREFIX?account=NAME (docs/storage.md)"},
    {JOBENV_NAME, "LIFEBOAT_NAME", B | R | V | D | S | DL, FLAG, "backup name"},
    {JOBENV_NAMESPACE, "LIFEBOAT_NAMESPACE", ALL, FLAG, "namespace (default: default; list: all)"},
    {JOBENV_PASSPHRASE_FILE, "LIFEBOAT_PASSPHRASE_FILE", B | R | V | DL, FLAG,
     "file whose first line is the passphrase (or LIFEBOAT_PASSPHRASE)"},
    {JOBENV_PASSPHRASE, "LIFEBOAT_PASSPHRASE", B | R | V | DL, SECRET,
     "the passphrase itself (never a flag)"},
    {JOBENV_FORMAT, "LIFEBOAT_FORMAT", B, FLAG, "custom (default) or plain"},
    {JOBENV_COMPRESSION, "LIFEBOAT_COMPRESSION", B, FLAG,
     "zstd:auto[:LOW-HIGH] (default zstd:auto), zstd[:LEVEL], gzip[:LEVEL] or none"},
    {JOBENV_SCHEMA_VERSION_QUERY, "LIFEBOAT_SCHEMA_VERSION_QUERY", B | R, FLAG,
     "SQL whose first value is the schema version (backup: recorded; restore: compared)"},
    {JOBENV_CONFIRM, "LIFEBOAT_CONFIRM", R, FLAG, "the target database name, typed to confirm"},
    {JOBENV_CLEAN, "LIFEBOAT_CLEAN", R, FLAG, "drop existing objects before recreating them"},
    {JOBENV_FILES, "LIFEBOAT_FILES", B | R, FLAG,
     "a folder archived beside the dump (backup) or put back from it (restore)"},
    {JOBENV_OUTPUT, "LIFEBOAT_OUTPUT", L | A | S, FLAG, "table (default) or json"},
    {JOBENV_OUT, "LIFEBOAT_OUT", DL, FLAG, "download: the dump's file, or - for stdout"},
    {JOBENV_FILES_OUT, "LIFEBOAT_FILES_OUT", DL, FLAG,
     "download: the files archive's file (a tar), or - for stdout"},
    {JOBENV_RAW, "LIFEBOAT_RAW", DL, FLAG, "download: the stored bytes, still encrypted"},
    {JOBENV_FORCE, "LIFEBOAT_FORCE", DL, FLAG, "download: replace an existing output file"},
    {JOBENV_RESULT_PATH, "LIFEBOAT_RESULT_PATH", ALL, FLAG,
     "where to write the JSON result (default /dev/termination-log when it exists)"},
    {JOBENV_ZSTD_WORKERS, "LIFEBOAT_ZSTD_WORKERS", B, FLAG,
     "zstd compression threads (default: one per usable CPU within the cgroup quota, at most 4; 0 "
     "= inline)"},
    {JOBENV_LOG_LEVEL, "LIFEBOAT_LOG_LEVEL", ALL, FLAG, "error, warning, info (default) or debug"},
    {JOBENV_SCHEMA_POLICY, "LIFEBOAT_SCHEMA_POLICY", R, FLAG,
     "Ignore, Warn (default) or RequireMatch: the schema versions, compared before any change"},
    {JOBENV_NO_OWNER, "LIFEBOAT_NO_OWNER", R, FLAG,
     "do not restore object owners (pg_restore --no-owner)"},
    {JOBENV_NO_PRIVILEGES, "LIFEBOAT_NO_PRIVILEGES", R, FLAG,
     "do not restore GRANTs and REVOKEs (pg_restore --no-privileges)"},
    {JOBENV_ROLE, "LIFEBOAT_ROLE", R, FLAG,
     "SET ROLE to this role before restoring (pg_restore --role)"},
    {JOBENV_RESTORE_NAME, "LIFEBOAT_RESTORE_NAME", R | S, FLAG,
     "the restore's name: write its audit record to NS/_restores/YYYY/MM/NAME.json (show: read "
     "it)"},
    {JOBENV_RESTORE_NAMESPACE, "LIFEBOAT_RESTORE_NAMESPACE", R, FLAG,
     "the restore's namespace in the audit record's path (default: --namespace)"},
    {JOBENV_REQUESTED_BY, "LIFEBOAT_REQUESTED_BY", R, FLAG,
     "who asked for the restore (free text, recorded in the audit record)"},
    {JOBENV_SAFETY_BACKUP_NAME, "LIFEBOAT_SAFETY_BACKUP_NAME", R, FLAG,
     "the safety backup taken before the restore (audit record)"},
    {JOBENV_SAFETY_BACKUP_LOCATION, "LIFEBOAT_SAFETY_BACKUP_LOCATION", R, FLAG,
     "the safety backup's folder in storage (audit record)"},
    {JOBENV_SAFETY_BACKUP_SHA256, "LIFEBOAT_SAFETY_BACKUP_SHA256", R, FLAG,
     "the SHA-256 of the safety backup's dump object (audit record)"},
    {JOBENV_NO_SAFETY_BACKUP, "LIFEBOAT_NO_SAFETY_BACKUP", R, FLAG,
     "no safety backup was taken (audit record: safetyBackup.enabled false)"},
    {JOBENV_PG_BINDIR, "LIFEBOAT_PG_BINDIR", B | R | V, 0,
     "folder of pg_dump, pg_restore and psql"},
    {JOBENV_TEST_MAX_PARTS, "LIFEBOAT_TEST_MAX_PARTS", B, 0,
     "tests only: parts per object, lowered so a small dump spans several objects"},

    {JOBENV_AWS_ACCESS_KEY_ID, "AWS_ACCESS_KEY_ID", ALL, SECRET,
     "s3:// and gs://: the access key ID (GCS: the HMAC access ID)"},
    {JOBENV_AWS_SECRET_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", ALL, SECRET,
     "s3:// and gs://: the secret access key (GCS: the HMAC secret)"},
    {JOBENV_AWS_SESSION_TOKEN, "AWS_SESSION_TOKEN", ALL, SECRET,
     "s3://: the session token of temporary credentials"},
    {JOBENV_AWS_SHARED_CREDENTIALS_FILE, "AWS_SHARED_CREDENTIALS_FILE", ALL, 0,
     "s3:// and gs://: credentials file read when the key variables are unset"},
    {JOBENV_AWS_PROFILE, "AWS_PROFILE", ALL, 0, "s3:// and gs://: profile of the credentials file"},
    {JOBENV_AWS_REGION, "AWS_REGION", ALL, 0, "s3://: signing region when the URL has none"},
    {JOBENV_AWS_DEFAULT_REGION, "AWS_DEFAULT_REGION", ALL, 0,
     "s3://: signing region when neither the URL nor AWS_REGION has one"},
    {JOBENV_AWS_CA_BUNDLE, "AWS_CA_BUNDLE", ALL, 0,
     "s3:// and gs://: PEM CA bundle when the URL has no caBundle"},
    {JOBENV_GOOGLE_APPLICATION_CREDENTIALS, "GOOGLE_APPLICATION_CREDENTIALS", ALL, 0,
     "gs://: a service account's JSON key file (the JSON API with OAuth 2.0 access tokens)"},

    {JOBENV_AZURE_STORAGE_KEY, "AZURE_STORAGE_KEY", ALL, SECRET,
     "azure://: an account key (SharedKey signing)"},
    {JOBENV_AZURE_STORAGE_SAS_TOKEN, "AZURE_STORAGE_SAS_TOKEN", ALL, SECRET,
     "azure://: a SAS token"},
    {JOBENV_AZURE_STORAGE_CONNECTION_STRING, "AZURE_STORAGE_CONNECTION_STRING", ALL, SECRET,
     "azure://: a connection string"},
    {JOBENV_AZURE_STORAGE_ACCOUNT, "AZURE_STORAGE_ACCOUNT", ALL, 0,
     "azure://: the account name when the URL and connection string give none"},
    {JOBENV_AZURE_STORAGE_KEY_FILE, "AZURE_STORAGE_KEY_FILE", ALL, 0,
     "azure://: a file whose first line is the account key"},
    {JOBENV_AZURE_STORAGE_SAS_TOKEN_FILE, "AZURE_STORAGE_SAS_TOKEN_FILE", ALL, 0,
     "azure://: a file whose first line is the SAS token"},
    {JOBENV_AZURE_STORAGE_CONNECTION_STRING_FILE, "AZURE_STORAGE_CONNECTION_STRING_FILE", ALL, 0,
     "azure://: a file whose first line is the connection string"},

    {JOBENV_PGPASSWORD, "PGPASSWORD", B | R, SECRET | JOBENV_CHILDREN,
     "libpq: the password when the URI has none"},
    {JOBENV_PGPASSFILE, "PGPASSFILE", B | R, 0, "libpq: a .pgpass file (a path, not a secret)"},
    {JOBENV_PGHOST, "PGHOST", B | R, 0, "libpq: the host when the URI names none"},
    {JOBENV_PGPORT, "PGPORT", B | R, 0, "libpq: the port when the URI names none"},
    {JOBENV_PGUSER, "PGUSER", B | R, 0, "libpq: the user when the URI names none"},
    {JOBENV_PGDATABASE, "PGDATABASE", B | R, 0, "libpq: the database when the URI names none"},
    {JOBENV_PGSSLMODE, "PGSSLMODE", B | R, 0, "libpq: sslmode when the URI sets none"},
    {JOBENV_PGSSLROOTCERT, "PGSSLROOTCERT", B | R, 0,
     "libpq: PEM file of the CA that signed the server's certificate"},
    {JOBENV_PGCONNECT_TIMEOUT, "PGCONNECT_TIMEOUT", B | R, 0,
     "seconds the pre-flight waits for the server (default 10)"},
};

const struct jobenv *jobenv_get(enum jobenv_var v)
{
	return &table[v];
}

const char *jobenv_name(enum jobenv_var v)
{
	return table[v].name;
}

const struct jobenv *jobenv_lookup(const char *name, size_t len)
{
	const struct jobenv *found = NULL;
	for (size_t i = 0; i < JOBENV_COUNT && !found; i++)
		if (strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0)
			found = &table[i];
	return found;
}

int jobenv_is_secret(const char *name)
{
	const struct jobenv *e = jobenv_lookup(name, strlen(name));
	return e && (e->flags & JOBENV_SECRET);
}

int jobenv_withheld(const char *entry)
{
	const struct jobenv *e = jobenv_lookup(entry, strcspn(entry, "="));
	return e && (e->flags & JOBENV_SECRET) && !(e->flags & JOBENV_CHILDREN);
}
