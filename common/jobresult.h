/* The job's JSON result (docs/job.md "The result"), in one place: its field
 * names, the writers the job builds it with, and the parser the operator reads
 * a pod's termination message with. One table of fields drives both sides.
 * Pure: no I/O. */
#ifndef LIFEBOAT_JOBRESULT_H
#define LIFEBOAT_JOBRESULT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct json_object;

/* A Kubernetes termination message holds at most this many bytes. */
#define JOBRESULT_MAX_BYTES 4096
/* status.artifact.objects holds at most this many (the CRD's maxItems). */
#define JOBRESULT_MAX_OBJECTS 64

/* Top-level keys the job writes directly (the sections have writers below). */
#define JOBRESULT_COMMAND "command"
#define JOBRESULT_NAMESPACE "namespace"
#define JOBRESULT_NAME "name"
#define JOBRESULT_PHASE "phase"
#define JOBRESULT_REASON "reason"
#define JOBRESULT_MESSAGE "message"
#define JOBRESULT_START_TIME "startTime"
#define JOBRESULT_COMPLETION_TIME "completionTime"
#define JOBRESULT_PEAK_RSS_KIB "peakRssKiB"
#define JOBRESULT_DURATION_SECONDS "durationSeconds"
/* The job's own CPU time (user + system, all its threads, not pg_dump). */
#define JOBRESULT_CPU_SECONDS "cpuSeconds"
/* The system part of it: the kernel's work for the job (pipes, page cache). */
#define JOBRESULT_CPU_SYSTEM_SECONDS "cpuSystemSeconds"
#define JOBRESULT_DELETED_OBJECTS "deletedObjects"
#define JOBRESULT_FREED_BYTES "freedBytes"
#define JOBRESULT_ARTIFACT "artifact"
#define JOBRESULT_DATABASE "database"
#define JOBRESULT_VERIFICATION "verification"
#define JOBRESULT_RESTORE "restore"
#define JOBRESULT_RESTORED_BACKUP "restoredBackup"
#define JOBRESULT_SCHEMA_CHECK "schemaCheck"
#define JOBRESULT_TARGET_UNCHANGED "targetUnchanged"
#define JOBRESULT_AUDIT_RECORD "auditRecord"
#define JOBRESULT_AUDIT_ERROR "auditError"
#define JOBRESULT_COUNT "count"

#define JOBRESULT_PHASE_COMPLETED "Completed"
#define JOBRESULT_PHASE_FAILED "Failed"
#define JOBRESULT_REASON_SUCCEEDED "Succeeded"

/* Optional scalars: set is 0 when the field was absent (or malformed). */
struct jobresult_int {
	int64_t value;
	int set;
};
struct jobresult_bool {
	int value;
	int set;
};
struct jobresult_time {
	time_t value;
	int set;
};
struct jobresult_num {
	double value;
	int set;
};

/* Strings are NULL when absent. In what jobresult_parse returns they are
 * owned by the struct; when the job fills one to write it, they are borrowed. */
struct jobresult_object {
	char *key;
	struct jobresult_int size;
	char *sha256; /* 64 lowercase hex digits */
};

/* artifact.files: the --files folder's archive; absent when object is NULL. */
struct jobresult_files {
	char *object; /* "files.tar.zst.pgp" */
	struct jobresult_int size;
	char *sha256;
	struct jobresult_int count; /* entries: files, folders and symlinks */
};

struct jobresult_artifact {
	char *location; /* the backup's folder, no credentials */
	struct jobresult_object *objects;
	size_t nobjects;
	struct jobresult_int size; /* of the stored dump object */
	char *sha256;
	struct jobresult_int plaintext_size;
	char *plaintext_sha256;
	struct jobresult_bool encrypted;
	char *format; /* custom | plain */
	char *compression;
	struct jobresult_time created_at;
	struct jobresult_files files;
};

struct jobresult_database {
	char *name;
	char *server_version;
	char *dump_version;
	struct jobresult_int size_bytes;
	struct jobresult_int table_count;
	struct jobresult_int row_estimate;
	char *schema_version;
};

struct jobresult_verification {
	struct jobresult_bool verified;
	struct jobresult_time time;
	char *method;
	char *message;
};

struct jobresult_restore {
	char *target; /* postgresql://USER@HOST:PORT/DB, no password */
	char *target_server_version;
	struct jobresult_bool clean;
	struct jobresult_time start_time;
	struct jobresult_time completion_time;
	char *ownership;  /* Keep | NoOwner (--no-owner) */
	char *role;	  /* --role, or absent */
	char *privileges; /* Keep | Skip (--no-privileges) */
};

/* restoredBackup: the backup a restore read (written on success and on
 * failure, once its manifest was read). */
struct jobresult_restored_backup {
	char *namespace_;
	char *name;
	char *location; /* the backup's folder, no credentials */
	char *sha256;	/* of the stored dump object */
	struct jobresult_time created_at;
	char *schema_version; /* absent when the backup recorded none */
};

/* schemaCheck: the restore's comparison of schema versions, made before the
 * target is changed (job/model/schema.h). */
struct jobresult_schema_check {
	char *policy; /* Ignore | Warn | RequireMatch */
	char *result; /* Match | Mismatch | Skipped | TargetUnknown */
	char *backup_version;
	char *target_version;
	char *target_error; /* TargetUnknown: why the query gave no version */
};

struct jobresult {
	char *command; /* backup | restore | verify | list | delete | audit */
	char *namespace_;
	char *name;
	char *phase;   /* Completed | Failed */
	char *reason;  /* Succeeded or a failure reason (CamelCase) */
	char *message; /* set when failed */
	struct jobresult_time start_time;
	struct jobresult_time completion_time;
	struct jobresult_int peak_rss_kib;
	struct jobresult_num duration_seconds;
	struct jobresult_num cpu_seconds, cpu_system_seconds;
	struct jobresult_int freed_bytes; /* delete: the bytes removed */
	struct jobresult_int deleted_objects;
	int has_artifact;
	struct jobresult_artifact artifact;
	int has_database;
	struct jobresult_database database;
	int has_verification;
	struct jobresult_verification verification;
	int has_restore;
	struct jobresult_restore restore;
	int has_restored_backup;
	struct jobresult_restored_backup restored_backup;
	int has_schema_check;
	struct jobresult_schema_check schema_check;
	/* restore: false only when it failed after its COMMIT (the database
	 * changed, e.g. the --files folder could not be swapped in); true when a
	 * failed restore left the target exactly as it was. Absent on success. */
	struct jobresult_bool target_unchanged;
	char *audit_record;	    /* the audit record's storage URL */
	char *audit_error;	    /* why the audit record could not be written */
	struct jobresult_int count; /* list, audit: how many entries */
	/* Fields present but malformed (wrong type, bad checksum text, negative
	 * size, a time that is not RFC 3339, ...) and therefore left unset. */
	size_t ignored;
};

/* --- the operator's side --- */

/* Parses a termination message (at most JOBRESULT_MAX_BYTES; the text need not
 * be NUL-terminated; trailing white space is fine) into *out, which the caller
 * releases with jobresult_dispose. The structure must hold: a JSON object, a
 * known command and a phase of Completed or Failed; otherwise E_INVALID (not
 * JSON, truncated, garbage: e.g. the log tail of FallbackToLogsOnError) or
 * E_TOOBIG, and *out is untouched. Every other field is optional: one that is
 * missing or malformed is left unset (and counted in ignored), so a value
 * the CRD's status schema would refuse never reaches a status. Unknown fields
 * are skipped (a newer job may write more). */
int jobresult_parse(struct jobresult *out, const char *json, size_t len);
void jobresult_dispose(struct jobresult *r);
/* The command succeeded: phase Completed and reason Succeeded. */
int jobresult_ok(const struct jobresult *r);
/* A backup (or verify) result a backup may be Completed with: ok, and the
 * dump object's sha256 and size are present. */
int jobresult_has_artifact(const struct jobresult *r);

/* RFC 3339 UTC, as the job writes times: "2026-11-21T02:00:00Z". */
void jobresult_time_format(char out[32], time_t t);
/* E_INVALID unless text is exactly that form of a real instant. */
int jobresult_time_parse(time_t *out, const char *text);

/* --- the job's side --- */

/* Each adds its section to result (a json-c object) under its key, from the
 * same field table the parser reads: unset scalars are left out, NULL strings
 * are written as null (schemaVersion, sha256 and message are left out). */
void jobresult_add_artifact(struct json_object *result, const struct jobresult_artifact *a);
void jobresult_add_database(struct json_object *result, const struct jobresult_database *d);
void jobresult_add_verification(struct json_object *result, const struct jobresult_verification *v);
void jobresult_add_restore(struct json_object *result, const struct jobresult_restore *r);
void jobresult_add_restored_backup(struct json_object *result,
				   const struct jobresult_restored_backup *b);
void jobresult_add_schema_check(struct json_object *result, const struct jobresult_schema_check *c);
/* Renders result as one line of valid JSON (bytes that are not UTF-8 in its
 * strings become U+FFFD) of at most JOBRESULT_MAX_BYTES, whatever result
 * holds. A result over that is shrunk in place, re-measured after each step:
 *  1. free text is cut, ending " [truncated]": message to 1000 bytes,
 *     auditError, schemaCheck.targetError and verification.message to 512;
 *  2. optional fields go one by one: artifact.objects, database, restore,
 *     artifact.files, the artifact's details (plaintextSha256, plaintextSize,
 *     compression, format, encrypted, createdAt), verification.message,
 *     method and time, restoredBackup.schemaVersion, schemaCheck.targetError,
 *     auditError, restoredBackup.location, artifact.location, schemaCheck,
 *     restoredBackup, auditRecord, durationSeconds, peakRssKiB;
 *  3. the last resort keeps only command, phase, reason, namespace, name,
 *     startTime, completionTime, targetUnchanged, count, deletedObjects,
 *     freedBytes, artifact.size, artifact.sha256 and verification.verified
 *     (values among them over 256 bytes go too), and as much of the
 *     message as then fits, cut and marked.
 * What the operator decides with (phase, reason, the dump's sha256 and size,
 * verified, targetUnchanged) is never dropped, and the message is only cut
 * (there is room for a kilobyte of it at least, unless the fields above are
 * themselves absurdly long).
 * The text belongs to result (valid until it changes). */
const char *jobresult_render(struct json_object *result);

#endif
