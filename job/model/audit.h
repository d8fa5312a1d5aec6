/* The restore audit record (docs/restore.md "The audit record"): what one
 * restore did, kept in storage at <ns>/_restores/<yyyy>/<mm>/<name>.json so
 * the history outlives the database and the cluster; and the summary
 * `lifeboat audit` lists of each. Pure: builds and parses text, no I/O. */
#ifndef LIFEBOAT_AUDIT_H
#define LIFEBOAT_AUDIT_H

#include <stdint.h>
#include <time.h>

#include "common/buf.h"

struct json_object;
struct schema_check;

#define AUDIT_API_VERSION "lifeboat.dev/v1alpha1"
#define AUDIT_KIND "RestoreAudit"
/* The folder inside a namespace's folder; backup names never start with _. */
#define AUDIT_FOLDER "_restores"
#define AUDIT_MAX_BYTES (64 * 1024)
/* requestedBy past this many bytes is cut (audit_cut_text). */
#define AUDIT_REQUESTED_BY_MAX 4096

enum audit_safety {
	AUDIT_SAFETY_UNSTATED, /* the caller said nothing: "safetyBackup": null */
	AUDIT_SAFETY_DISABLED, /* --no-safety-backup: {"enabled": false} */
	AUDIT_SAFETY_TAKEN,    /* --safety-backup-*: {"enabled": true, name, ...} */
};

/* One restore, as the record states it. Every string is borrowed and may be
 * NULL (written as null, or left out where the schema says so); a zero
 * struct is a valid, if empty, record. */
struct audit_record {
	const char *namespace_; /* the restore's (--restore-namespace) */
	const char *name;	/* the restore's (--restore-name) */
	const char *requested_by;
	time_t start_time, completion_time;
	int failed;
	const char *error_reason, *error_message; /* when failed */
	int target_unchanged;			  /* when failed: nothing committed */
	int has_source;				  /* the manifest was read */
	const char *source_namespace, *source_name, *source_location, *source_sha256;
	time_t source_created_at;
	const char *source_schema_version;
	const char *target_host, *target_port, *target_database, *target_user;
	enum audit_safety safety;
	const char *safety_name, *safety_location, *safety_sha256;
	const struct schema_check *schema; /* NULL: the check did not run */
	int clean;
	int no_owner, no_privileges;
	const char *role;  /* --role */
	const char *files; /* --files DIR */
	const char *tool_version;
};

/* "ns/_restores/2026/12/name.json" for a restore started at start (its UTC
 * month). Caller frees. */
char *audit_key(const char *ns, const char *name, time_t start);
/* 1 when key (relative to the storage root) has the shape of an audit
 * record's key: NS/_restores/YYYY/MM/NAME.json. */
int audit_is_key(const char *key);
/* A copy of text cut to at most max bytes (max >= 16) on a UTF-8 character
 * boundary, ending in "...": free text never fails a restore for its
 * length. Caller frees. */
char *audit_cut_text(const char *text, size_t max);
/* Appends the record as pretty JSON (and a newline) to out. E_TOOBIG past
 * out's cap. */
int audit_to_json(const struct audit_record *a, struct buf *out);

/* What `lifeboat audit` shows of a record. Strings are owned (free with
 * audit_summary_dispose) and NULL when the record lacks them. */
struct audit_summary {
	char *namespace_;
	char *name;
	char *outcome; /* Completed | Failed */
	char *backup;  /* "ns/name" of the restored backup */
	char *database;
	char *requested_by;
	time_t start_time; /* 0 when absent */
};

/* Parses a record: E_INTEGRITY when text is not a JSON object of kind
 * RestoreAudit; other fields are optional (a newer lifeboat may write more,
 * an older one less). On success *json_out, when non-NULL, receives the
 * parsed object (json-c, the caller's to put). */
int audit_summary_parse(struct audit_summary *out, struct json_object **json_out, const char *text,
			size_t len);
void audit_summary_dispose(struct audit_summary *s);
/* qsort order: newest start first, then namespace and name. */
int audit_summary_cmp(const void *a, const void *b);

#endif
