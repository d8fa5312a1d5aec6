/* The lifeboat commands and the options they share. Each command fills a
 * JSON result (json-c object owned by the caller) and returns 0 or an err code. */
#ifndef LIFEBOAT_JOB_H
#define LIFEBOAT_JOB_H

#include <stddef.h>
#include <time.h>

struct json_object;

struct job_opts {
	const char *db;
	const char *storage;
	const char *name;
	const char *namespace_;
	const char *format;	 /* custom | plain */
	const char *compression; /* zstd[:L] | gzip[:L] | none */
	const char *schema_query;
	const char *confirm;
	const char *files;  /* --files: backup archives it, restore puts it back */
	const char *output; /* list, audit, show: table | json */
	/* download: the outputs ("-" is stdout), --raw, --force */
	const char *out, *files_out;
	int raw, force;
	/* restore: the schema check (job/model/schema.h), ownership and grants, and
	 * what its audit record says (job/model/audit.h) */
	const char *schema_policy; /* Ignore | Warn | RequireMatch; NULL: Warn */
	int no_owner, no_privileges;
	const char *role;
	const char *restore_name, *restore_namespace, *requested_by;
	const char *safety_name, *safety_location, *safety_sha256;
	int no_safety_backup;
	int clean;
	int zstd_workers; /* -1: from cpus (compress_workers) */
	int cpus;	  /* usable: the affinity mask within the cgroup quota */
	time_t started;	  /* when the command began: the result's startTime */
	char *passphrase; /* owned by main; wiped there */
	size_t passlen;
};

int backup_run(const struct job_opts *o, struct json_object *result);
int restore_run(const struct job_opts *o, struct json_object *result);
int verify_run(const struct job_opts *o, struct json_object *result);
int list_run(const struct job_opts *o, struct json_object *result);
int delete_run(const struct job_opts *o, struct json_object *result);
int audit_run(const struct job_opts *o, struct json_object *result);
int show_run(const struct job_opts *o, struct json_object *result);
int download_run(const struct job_opts *o, struct json_object *result);

#endif
