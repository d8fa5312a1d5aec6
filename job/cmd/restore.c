/* `lifeboat restore`: atomic by construction. The archive becomes one
 * BEGIN..COMMIT script (pg_restore --single-transaction --file=-) fed to psql;
 * the script's last bytes, holding COMMIT, are withheld until the stored
 * object's size, SHA-256s, MDC and compression trailer have all been checked
 * and pg_restore has exited cleanly. Any failure kills psql before COMMIT, so
 * the server rolls everything back and the target stays as it was. Before
 * anything is changed the schema versions are compared (job/model/schema.h); at the
 * end, success or failure, the audit record is written (job/model/audit.h). The
 * decisions are job/cmd/restore_plan.c's; this file does what they say. */
#include "job/cmd/job.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "common/text.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "job/model/artifact.h"
#include "job/model/audit.h"
#include "job/pipeline/files.h"
#include "job/pipeline/holdback.h"
#include "job/pipeline/inject.h"
#include "job/pipeline/interrupt.h"
#include "job/db/pg.h"
#include "job/pipeline/proc.h"
#include "job/pipeline/readback.h"
#include "job/cmd/restore_plan.h"
#include "job/cmd/result.h"
#include "job/model/schema.h"
#include "job/store/store.h"
#include "job/pipeline/tar.h"

#define COPY_CHUNK (256 * 1024)
/* pg_restore writes its script a few KiB at a time: take at least this much
 * per wake-up (interrupt_read_batch). */
#define COPY_BATCH (64 * 1024)

_Static_assert(HOLDBACK_BYTES <= PIPE_BUF, "COMMIT's release must be one atomic pipe write");

/* Copies pg_restore's script output into the holdback stage. Zero-safe:
 * copier_join on one never started does nothing. */
struct copier {
	pthread_t thread;
	int running; /* the thread was started and not yet joined */
	int fd;
	struct stage *into;
	int rc;
	char msg[1024];
};

static void *copier_main(void *arg)
{
	struct copier *c = arg;
	uint8_t *chunk = xmalloc(COPY_CHUNK);
	for (;;) {
		ssize_t r = interrupt_read_batch(c->fd, chunk, COPY_CHUNK, COPY_BATCH);
		if (r < 0 && errno == EINTR && !atomic_load(&stage_interrupted))
			continue;
		if (r < 0 && errno == EINTR) {
			c->rc = interrupt_error();
			break;
		}
		if (r < 0) {
			c->rc = err_set(E_IO, "reading pg_restore's output: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if ((c->rc = stage_write(c->into, chunk, (size_t)r)))
			break;
	}
	if (c->rc)
		snprintf(c->msg, sizeof(c->msg), "%s", err_msg());
	free(chunk);
	return NULL;
}

static int copier_start(struct copier *c, int fd, struct stage *into)
{
	c->fd = fd;
	c->into = into;
	if (pthread_create(&c->thread, NULL, copier_main, c) != 0)
		return err_set(E_IO, "cannot start the restore copier thread");
	c->running = 1;
	return 0;
}

static void copier_join(struct copier *c)
{
	if (c->running)
		pthread_join(c->thread, NULL);
	c->running = 0;
}

/* Extracts and checks the files archive into a sibling of --files; *out
 * then awaits files_restore_commit. Nothing outside the sibling changes. */
static int restore_files_extract(struct files_restore **out, const struct job_opts *o,
				 struct store *st, const struct manifest *m)
{
	struct files_restore *fr = NULL;
	struct readback rb;
	int rc;
	if ((rc = files_restore_new(&fr, o->files)))
		return rc;
	struct stage *sink = files_restore_sink(fr);
	if ((rc = readback_init(&rb, m, o->passphrase, o->passlen, sink))) {
		files_restore_free(fr);
		return rc;
	}
	log_info("extracting the files archive %s (%llu entries) beside %s", m->files.key,
		 (unsigned long long)m->files.count, o->files);
	rc = readback_run_files(&rb, st, m, o->namespace_, o->name);
	if (!rc && tar_reader_count(sink) != m->files.count)
		rc = err_set(E_INTEGRITY,
			     "the files archive %s holds %llu entries, but the manifest says %llu; "
			     "restore another backup",
			     m->files.key, (unsigned long long)tar_reader_count(sink),
			     (unsigned long long)m->files.count);
	readback_dispose(&rb);
	if (rc) {
		files_restore_free(fr);
		return err_wrap("restore of %s/%s failed before the database was touched; %s is "
				"unchanged",
				o->namespace_, o->name, o->files);
	}
	*out = fr;
	return 0;
}

/* One restore's state, zero-safe: restore_dispose releases what was set. */
struct restore {
	const struct job_opts *o;
	time_t started;
	enum schema_policy policy;
	struct restore_plan plan; /* set by prepare */
	struct pg_target target;
	struct store *st;
	struct manifest m; /* all zeros until loaded: see source_loaded */
	char *location;	   /* the backup's folder, no credentials */
	struct pg_info info;
	struct schema_check schema;
	int schema_ran;
	int committed;	    /* psql exited 0 after COMMIT: the target changed */
	int commit_unknown; /* COMMIT sent, psql's fate unknown: maybe changed */
	int audit_named;    /* --restore-name and its namespace are valid names */
	char *requested_by; /* --requested-by cut to AUDIT_REQUESTED_BY_MAX, or NULL */
};

static void restore_dispose(struct restore *r)
{
	pg_info_dispose(&r->info);
	pg_target_dispose(&r->target);
	manifest_dispose(&r->m);
	free(r->location);
	free(r->requested_by);
	store_free(r->st);
	memset(r, 0, sizeof(*r));
}

/* The backup's manifest was loaded: a parsed one always names its format. */
static int source_loaded(const struct restore *r)
{
	return r->m.format != NULL;
}

/* The flags alone, before anything is opened. */
static int check_flags(struct restore *r)
{
	const struct job_opts *o = r->o;
	int rc;
	/* First, so that a record can say what else was wrong. */
	if (o->restore_name) {
		if ((rc = artifact_check_name(o->restore_name, "--restore-name")) ||
		    (rc = artifact_check_namespace(o->restore_namespace ? o->restore_namespace
									: o->namespace_,
						   "--restore-namespace")))
			return rc;
		r->audit_named = 1;
	}
	if ((rc = artifact_check_name(o->name, "--name")) ||
	    (rc = artifact_check_namespace(o->namespace_, "--namespace")) ||
	    (rc = schema_policy_parse(&r->policy, o->schema_policy, "--schema-policy")))
		return rc;
	if (r->policy == SCHEMA_POLICY_REQUIRE_MATCH && (!o->schema_query || !*o->schema_query))
		return err_set(
		    E_INVALID,
		    "--schema-policy RequireMatch needs --schema-version-query (or "
		    "LIFEBOAT_SCHEMA_VERSION_QUERY) to read the target's schema version; "
		    "give the query the backups were taken with");
	if (o->role && (!*o->role || strlen(o->role) > 63))
		return err_set(E_INVALID, "--role \"%s\": a role name of 1 to 63 bytes", o->role);
	if (!o->restore_name) {
		static const char *const needs_name[] = {
		    "--restore-namespace",	"--requested-by",	  "--safety-backup-name",
		    "--safety-backup-location", "--safety-backup-sha256", "--no-safety-backup"};
		const int given[] = {o->restore_namespace != NULL, o->requested_by != NULL,
				     o->safety_name != NULL,	   o->safety_location != NULL,
				     o->safety_sha256 != NULL,	   o->no_safety_backup};
		for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++)
			if (given[i])
				return err_set(E_INVALID,
					       "%s goes into the restore's audit record: give "
					       "--restore-name (LIFEBOAT_RESTORE_NAME) too",
					       needs_name[i]);
	}
	if (o->requested_by && strlen(o->requested_by) > AUDIT_REQUESTED_BY_MAX) {
		/* Who asked is worth more cut short than as a refused restore. */
		r->requested_by = audit_cut_text(o->requested_by, AUDIT_REQUESTED_BY_MAX);
		log_warn("--requested-by: %zu bytes, cut to %d in the audit record",
			 strlen(o->requested_by), AUDIT_REQUESTED_BY_MAX);
	}
	if (o->no_safety_backup && (o->safety_name || o->safety_location || o->safety_sha256))
		return err_set(E_INVALID, "--no-safety-backup says no safety backup was taken, but "
					  "--safety-backup-* names one: give one or the other");
	if (!o->safety_name && (o->safety_location || o->safety_sha256))
		return err_set(E_INVALID,
			       "--safety-backup-location and --safety-backup-sha256 "
			       "describe a safety backup: give --safety-backup-name too");
	if (o->safety_sha256 && !text_is_sha256_hex(o->safety_sha256))
		return err_set(E_INVALID,
			       "--safety-backup-sha256 \"%.80s\" is not 64 lowercase hex digits",
			       o->safety_sha256);
	return 0;
}

/* Target, confirmation, storage and manifest: nothing is changed yet. */
static int prepare(struct restore *r)
{
	const struct job_opts *o = r->o;
	int rc;
	if (!o->db || !*o->db)
		return err_set(E_INVALID,
			       "--db is required (or LIFEBOAT_DB): the target database URI");
	if ((rc = pg_target_parse(&r->target, o->db)))
		return rc;
	if (!o->confirm || strcmp(o->confirm, r->target.dbname) != 0)
		return err_set(
		    E_INVALID,
		    "--confirm must equal the target database name \"%s\" (from --db) to "
		    "confirm that its contents will be replaced; got \"%s\"",
		    r->target.dbname, o->confirm ? o->confirm : "");
	if ((rc = store_open(&r->st, o->storage)) ||
	    (rc = artifact_load_manifest(&r->m, r->st, o->namespace_, o->name)))
		return rc;
	char *dir = artifact_key(o->namespace_, o->name, NULL);
	r->location = store_location(r->st, dir);
	free(dir);
	if ((rc = restore_plan(&r->plan, o, r->policy, &r->m)))
		return rc;
	if (r->plan.files_left)
		log_info(
		    "backup %s/%s also holds a files archive (%s, %llu entries); --files is not "
		    "given, so only the database is restored",
		    o->namespace_, o->name, r->m.files.key, (unsigned long long)r->m.files.count);
	return 0;
}

/* Pre-flight and the schema check, before anything is changed. */
static int check_target(struct restore *r)
{
	const struct job_opts *o = r->o;
	int has_query = r->plan.ask_schema;
	int rc;
	log_info("pre-flight: connecting to %s", r->target.display);
	if ((rc = pg_preflight_target(&r->info, &r->target, has_query ? o->schema_query : NULL)))
		return rc;
	r->schema = (struct schema_check){
	    .policy = r->policy,
	    .backup_version = r->m.schema_version,
	    .target_version = has_query ? r->info.schema_version : NULL,
	    .target_error = has_query ? r->info.schema_error : NULL,
	};
	schema_compare(&r->schema, has_query);
	r->schema_ran = 1;
	const struct schema_check *c = &r->schema;
	char backup[320];
	snprintf(backup, sizeof(backup), "%s/%s", o->namespace_, o->name);
	switch (c->result) {
	case SCHEMA_MATCH:
		log_info("schema check: backup %s and %s both have schema version \"%s\"", backup,
			 r->target.display, c->target_version);
		break;
	case SCHEMA_MISMATCH:
		if (c->policy == SCHEMA_POLICY_WARN)
			log_warn(
			    "schema check: backup %s has schema version \"%s\" but %s has \"%s\"; "
			    "restoring anyway (--schema-policy Warn)",
			    backup, c->backup_version, r->target.display, c->target_version);
		break;
	case SCHEMA_TARGET_UNKNOWN:
		if (c->policy == SCHEMA_POLICY_WARN)
			log_warn(
			    "schema check: the schema-version query gave no version on %s (%s); "
			    "restoring anyway (--schema-policy Warn)",
			    r->target.display, c->target_error ? c->target_error : "no value");
		break;
	case SCHEMA_SKIPPED:
		if (has_query && !c->backup_version)
			log_warn("schema check: backup %s recorded no schema version (it was taken "
				 "without --schema-version-query), so there is nothing to compare",
				 backup);
		break;
	}
	return schema_enforce(c, backup, r->target.display);
}

/* The line of text holding needle, for messages (at most 400 bytes). */
static void line_with(char out[512], const char *text, const char *needle)
{
	const char *p = strstr(text, needle);
	out[0] = '\0';
	if (!p)
		return;
	const char *b = p, *e = p;
	while (b > text && b[-1] != '\n')
		b--;
	while (*e && *e != '\n')
		e++;
	snprintf(out, 512, "%.*s", (int)(e - b > 400 ? 400 : e - b), b);
}

/* psql failed: name a missing role and its fix, else psql's own error. */
static int psql_failed(const struct restore *r, struct proc *psql)
{
	char role[256], line[512];
	const char *tail = proc_stderr(psql);
	if (!pg_missing_role(role, sizeof(role), tail))
		return err_set(E_RESTORE, "psql failed applying the backup: %s", err_msg());
	line_with(line, tail, "does not exist");
	pg_missing_role_error(role, r->o->no_owner, r->o->no_privileges, r->o->role);
	return err_set(E_ROLE, "%s (psql: %s)", err_msg(), line);
}

/* The restore's processes and read chain: psql at the end, holdback and
 * the injected SQL before it, for a custom archive pg_restore and the copier
 * between. Zero-safe from applier_init: applier_dispose releases what was
 * set, whatever step failed. */
struct applier {
	struct proc psql, script;
	struct copier cp;
	struct readback rb;
	struct stage *hold;   /* owned until a chain takes it */
	struct stage *holder; /* borrowed: the holdback stage */
	char *sql;
	int commit_unknown; /* COMMIT sent, then psql killed: it may have committed */
};

static void applier_init(struct applier *a)
{
	memset(a, 0, sizeof(*a));
	proc_init(&a->psql);
	proc_init(&a->script);
}

/* psql applies the script; its stdout joins the captured stderr. */
static int psql_start(struct proc *psql, const struct pg_target *t)
{
	char *psql_path = pg_tool_path("psql");
	const char *psql_argv[] = {psql_path,
				   "--no-psqlrc",
				   "--quiet",
				   "--no-password",
				   "--set=ON_ERROR_STOP=1",
				   "--output=/dev/null",
				   "--file=-",
				   NULL};
	/* NOTICEs ("drop cascades to ...") would drown the errors that matter. */
	size_t nenv = 0;
	while (t->env[nenv])
		nenv++;
	const char **psql_env = xcalloc(nenv + 2, sizeof(*psql_env));
	for (size_t i = 0; i < nenv; i++)
		psql_env[i] = t->env[i];
	psql_env[nenv] = "PGOPTIONS=-c client_min_messages=warning";
	int rc = proc_start(psql, psql_argv, psql_env, PROC_PIPE_STDIN | PROC_STDOUT_TO_STDERR, -1);
	free(psql_env);
	free(psql_path);
	return rc;
}

/* pg_restore turning the custom archive into the script, with the plan's
 * ownership, privileges and role. */
static int script_start(struct proc *script, const struct restore_plan *p)
{
	char *pr = pg_tool_path("pg_restore");
	char *role_arg = p->role ? xasprintf("--role=%s", p->role) : NULL;
	const char *argv[8] = {pr, "--file=-", "--single-transaction"};
	size_t n = 3;
	if (p->no_owner)
		argv[n++] = "--no-owner";
	if (p->no_privileges)
		argv[n++] = "--no-privileges";
	if (role_arg)
		argv[n++] = role_arg;
	argv[n] = NULL;
	int rc = proc_start(script, argv, NULL, PROC_PIPE_STDIN | PROC_PIPE_STDOUT, -1);
	free(role_arg);
	free(pr);
	return rc;
}

/* Starts the processes and builds the chain the backup is read into:
 * readback -> [pg_restore -> copier] -> [injected SQL] -> holdback -> psql. */
static int applier_build(struct applier *a, const struct restore *r)
{
	const struct restore_plan *p = &r->plan;
	struct stage *sink;
	int rc;
	if ((rc = psql_start(&a->psql, &r->target)))
		return rc;
	a->holder = a->hold = holdback_new(stage_fd_new(a->psql.in, "psql"));
	if ((a->sql = restore_plan_sql(p, r->info.server_version_num)))
		a->hold = inject_new(a->sql, a->hold);
	if (p->custom) {
		if ((rc = script_start(&a->script, p)) ||
		    (rc = copier_start(&a->cp, a->script.out, a->hold)))
			return rc;
		sink = stage_fd_new(a->script.in, "pg_restore");
	} else {
		/* The plain script flows through the holdback straight to psql;
		 * the read chain owns it from here. */
		sink = a->hold;
		a->hold = NULL;
	}
	return readback_init(&a->rb, &r->m, r->o->passphrase, r->o->passlen, sink);
}

/* The archive is read and checked: pg_restore done, then COMMIT released
 * and psql waited for. */
static int applier_commit(struct applier *a, const struct restore *r)
{
	int rc;
	if (r->plan.custom) {
		proc_close_in(&a->script);
		copier_join(&a->cp);
		if (a->cp.rc)
			return err_set(a->cp.rc, "%s", a->cp.msg);
		if ((rc = proc_wait(&a->script))) {
			if (!atomic_load(&stage_interrupted))
				rc = err_set(E_RESTORE, "pg_restore could not read the archive: %s",
					     err_msg());
			return rc;
		}
	}
	if ((rc = holdback_check_commit(a->holder)))
		return rc;
	/* Everything checked: release COMMIT. The tail goes into psql's pipe in
	 * one write or not at all (a non-blocking pipe write of at most
	 * PIPE_BUF bytes), so a SIGTERM before it rolls back for certain; from
	 * then on psql is waited for even through a SIGTERM: killed, it might
	 * have committed or not, and the result could not say which. */
	if ((rc = holdback_release(a->holder)))
		return rc;
	if ((rc = proc_wait_uninterrupted(&a->psql)) == 0)
		return 0;
	/* psql exited with an error: COMMIT failed or never ran, the server
	 * rolled back. Killed, or its status unknown, it may have committed. */
	const struct proc *p = &a->psql;
	if (p->wait_errno || WIFSIGNALED(p->status)) {
		char how[96];
		if (p->wait_errno)
			snprintf(how, sizeof(how), "its exit status is unknown (%s)",
				 strerror(p->wait_errno));
		else
			snprintf(how, sizeof(how), "psql was killed by signal %d",
				 WTERMSIG(p->status));
		a->commit_unknown = 1;
		return err_set(E_RESTORE,
			       "restore of %s/%s: COMMIT was sent, but %s before it said whether "
			       "it committed: %s may hold the backup or be as it was; check it "
			       "before restoring again",
			       r->o->namespace_, r->o->name, how, r->target.display);
	}
	return psql_failed(r, &a->psql);
}

static void applier_dispose(struct applier *a, int rc, const struct restore *r)
{
	if (rc) {
		/* psql first: killing it before COMMIT makes the server roll back. */
		proc_kill(&a->psql);
		proc_kill(&a->script);
		if (a->psql.started && !a->commit_unknown)
			err_wrap("restore of %s/%s failed and was rolled back; %s is unchanged",
				 r->o->namespace_, r->o->name, r->target.display);
	}
	copier_join(&a->cp);
	readback_dispose(&a->rb);
	stage_free_chain(a->hold);
	proc_dispose(&a->script);
	proc_dispose(&a->psql);
	free(a->sql);
}

/* The single-transaction restore, COMMIT withheld until every check passed. */
static int apply(struct restore *r, struct files_restore **fr)
{
	const struct job_opts *o = r->o;
	const struct manifest *m = &r->m;
	struct applier a;
	char tool_version[32];
	int rc;
	applier_init(&a);
	if ((r->plan.custom && (rc = pg_check_restore_tool(tool_version, m->dump_version))) ||
	    (r->plan.files && (rc = restore_files_extract(fr, o, r->st, m))) ||
	    (rc = applier_build(&a, r)))
		goto done;
	log_info("restoring %s/%s (%s, %llu bytes) into %s", o->namespace_, o->name, m->format,
		 (unsigned long long)manifest_stored_size(m), r->target.display);
	if ((rc = readback_run(&a.rb, r->st, m, o->namespace_, o->name)) ||
	    (rc = applier_commit(&a, r))) {
		r->commit_unknown = a.commit_unknown;
		goto done;
	}
	r->committed = 1;
done:
	applier_dispose(&a, rc, r);
	return rc;
}

static int run(struct restore *r, struct json_object *result)
{
	const struct job_opts *o = r->o;
	struct files_restore *fr = NULL;
	int rc;
	if ((rc = check_flags(r)) || (rc = prepare(r)) || (rc = check_target(r)) ||
	    (rc = apply(r, &fr)))
		goto done;
	if (fr) {
		if ((rc = files_restore_commit(fr))) {
			err_wrap(
			    "restore of %s/%s: the database %s was restored and committed, but the "
			    "folder was not",
			    o->namespace_, o->name, r->target.display);
			goto done;
		}
		log_info("folder %s restored (%llu entries)", o->files,
			 (unsigned long long)r->m.files.count);
	}
	struct jobresult_restore res = {
	    .target = r->target.display,
	    .target_server_version = r->info.server_version,
	    .clean = {o->clean, 1},
	    .start_time = {r->started, 1},
	    .completion_time = {time(NULL), 1},
	    .ownership = (char *)(uintptr_t)(o->no_owner ? "NoOwner" : "Keep"),
	    .role = (char *)(uintptr_t)o->role,
	    .privileges = (char *)(uintptr_t)(o->no_privileges ? "Skip" : "Keep"),
	};
	jobresult_add_restore(result, &res);
	result_add_manifest(result, &r->m, r->location);
	log_info("restore of %s/%s into %s committed", o->namespace_, o->name, r->target.display);
done:
	files_restore_free(fr);
	return rc;
}

/* restoredBackup, schemaCheck and, on failure, targetUnchanged: on success
 * and on failure alike, as far as the restore got. */
static void report(const struct restore *r, int rc, struct json_object *result)
{
	const struct job_opts *o = r->o;
	if (source_loaded(r)) {
		struct jobresult_restored_backup b = {
		    .namespace_ = (char *)(uintptr_t)o->namespace_,
		    .name = (char *)(uintptr_t)o->name,
		    .location = r->location,
		    .sha256 = (char *)(uintptr_t)manifest_stream_sha256(&r->m),
		    .created_at = {r->m.created_at, 1},
		    .schema_version = r->m.schema_version,
		};
		jobresult_add_restored_backup(result, &b);
	}
	if (r->schema_ran) {
		struct jobresult_schema_check c = {
		    .policy = (char *)(uintptr_t)schema_policy_name(r->schema.policy),
		    .result = (char *)(uintptr_t)schema_result_name(r->schema.result),
		    .backup_version = (char *)(uintptr_t)r->schema.backup_version,
		    .target_version = (char *)(uintptr_t)r->schema.target_version,
		    .target_error = (char *)(uintptr_t)r->schema.target_error,
		};
		jobresult_add_schema_check(result, &c);
	}
	if (rc)
		json_object_object_add(
		    result, JOBRESULT_TARGET_UNCHANGED,
		    json_object_new_boolean(!r->committed && !r->commit_unknown));
}

/* The audit record of the restore as far as it got; borrows from r and
 * from error_message. */
static struct audit_record audit_record_of(const struct restore *r, int rc,
					   const char *error_message)
{
	const struct job_opts *o = r->o;
	const char *ns = o->restore_namespace ? o->restore_namespace : o->namespace_;
	return (struct audit_record){
	    .namespace_ = ns,
	    .name = o->restore_name,
	    .requested_by = r->requested_by ? r->requested_by : o->requested_by,
	    .start_time = r->started,
	    .completion_time = time(NULL),
	    .failed = rc != 0,
	    .error_reason = rc ? err_reason(rc) : NULL,
	    .error_message = error_message,
	    .target_unchanged = !r->committed && !r->commit_unknown,
	    .has_source = source_loaded(r),
	    .source_namespace = o->namespace_,
	    .source_name = o->name,
	    .source_location = r->location,
	    .source_sha256 = source_loaded(r) ? manifest_stream_sha256(&r->m) : NULL,
	    .source_created_at = source_loaded(r) ? r->m.created_at : 0,
	    .source_schema_version = source_loaded(r) ? r->m.schema_version : NULL,
	    .target_host = r->info.host ? r->info.host : r->target.host,
	    .target_port = r->info.port ? r->info.port : r->target.port,
	    .target_database = r->info.database ? r->info.database : r->target.dbname,
	    .target_user = r->info.user ? r->info.user : r->target.user,
	    .safety = o->no_safety_backup ? AUDIT_SAFETY_DISABLED
		      : o->safety_name	  ? AUDIT_SAFETY_TAKEN
					  : AUDIT_SAFETY_UNSTATED,
	    .safety_name = o->safety_name,
	    .safety_location = o->safety_location,
	    .safety_sha256 = o->safety_sha256,
	    .schema = r->schema_ran ? &r->schema : NULL,
	    .clean = o->clean,
	    .no_owner = o->no_owner,
	    .no_privileges = o->no_privileges,
	    .role = o->role,
	    .files = o->files,
	    .tool_version = LIFEBOAT_VERSION,
	};
}

/* Writes the audit record. Its own failure changes nothing of the restore's
 * outcome (the thread's error is put back as it was): the result says why
 * in auditError and the log warns. */
static void write_audit(struct restore *r, int rc, struct json_object *result)
{
	const struct job_opts *o = r->o;
	const char *ns = o->restore_namespace ? o->restore_namespace : o->namespace_;
	char *saved = rc ? xstrdup(err_msg()) : NULL;
	char *key = audit_key(ns, o->restore_name, r->started);
	struct buf text;
	buf_init(&text, AUDIT_MAX_BYTES);
	struct audit_record a = audit_record_of(r, rc, saved);
	int arc = 0;
	if (!r->st)
		arc = store_open(&r->st, o->storage);
	if (!arc)
		arc = audit_to_json(&a, &text);
	if (!arc)
		arc = store_put(r->st, key, text.ptr, text.len);
	if (!arc) {
		char *where = store_location(r->st, key);
		result_add_str(result, JOBRESULT_AUDIT_RECORD, where);
		log_info("audit record of restore %s/%s written to %s", ns, o->restore_name, where);
		free(where);
	} else {
		char why[600];
		snprintf(why, sizeof(why), "%.512s", err_msg());
		result_add_str(result, JOBRESULT_AUDIT_ERROR, why);
		log_warn("the audit record of restore %s/%s could not be written (%s): %s; the "
			 "restore's outcome stands",
			 ns, o->restore_name, key, why);
	}
	if (rc)
		err_set(rc, "%s", saved);
	buf_dispose(&text);
	free(key);
	free(saved);
}

int restore_run(const struct job_opts *o, struct json_object *result)
{
	struct restore r;
	memset(&r, 0, sizeof(r));
	r.o = o;
	/* The result's startTime, so that the record's path and times agree with it. */
	r.started = o->started ? o->started : time(NULL);
	int rc = run(&r, result);
	report(&r, rc, result);
	/* No record under a name that is not one (check_flags refused it). */
	if (r.audit_named)
		write_audit(&r, rc, result);
	restore_dispose(&r);
	return rc;
}
