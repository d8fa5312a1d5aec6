/* The DatabaseRestore reconcile (restore.h): observations in, actions out. */
#include "operator/controller/restore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/jobresult.h"
#include "common/xmalloc.h"
#include "operator/api/backup.h"
#include "operator/api/restore.h"
#include "operator/jobspec.h"
#include "operator/controller/status.h"

#define COND_SAFETY "SafetyBackupCompleted"
#define COND_SCHEMA "SchemaCompatible"
#define SAFETY_SUFFIX "-safety"

char *ctl_restore_safety_name(const char *restore)
{
	char *start = jobspec_shorten(restore, 253 - strlen(SAFETY_SUFFIX));
	char *name = xasprintf("%s" SAFETY_SUFFIX, start);
	free(start);
	return name;
}

/* What is restored, from where, into what: resolved from the spec and the
 * backup. Borrowed. */
struct plan {
	int by_ref;			     /* backupRef (else spec.source) */
	const char *backup_ns, *backup_name; /* the stored backup's folder */
	const struct api_storage *storage;
	const struct api_encryption *encryption;
	const struct api_database *target;
	const char *schema_version_query;
	struct json_object *target_json;  /* the database block, for the safety backup */
	struct json_object *storage_json; /* where the safety backup goes */
	struct json_object *encryption_json;
};

static struct json_object *path_get(struct json_object *o, const char *a, const char *b)
{
	struct json_object *x = ctl_get(o, a);
	return b ? ctl_get(x, b) : x;
}

static const char *finished_phase(const char *phase)
{
	return ctl_str_eq(phase, CTL_PHASE_COMPLETED) || ctl_str_eq(phase, CTL_PHASE_FAILED) ? phase
											     : NULL;
}

/* "postgresql://USER@HOST:PORT/DB" (no password), or the Secret's name. */
static char *target_text(const struct api_database *d)
{
	if (d->host)
		return xasprintf("postgresql://%s@%s:%d/%s", d->user ? d->user : "", d->host,
				 d->port, d->database ? d->database : "");
	return xasprintf("the connection URI in Secret %s (key %s)", d->connection.name,
			 d->connection.key);
}

static void requested_by(struct ctl_next *nx, struct json_object *obj)
{
	const char *who =
	    ctl_get_str(path_get(obj, "metadata", "annotations"), CTL_REQUESTED_BY_ANNOTATION);
	ctl_set_str(nx->status, "requestedBy", who && *who ? who : CTL_RESTORE_UNKNOWN_REQUESTER);
}

/* Pending with a refusal (or a wait): Ready=False reason, a Warning event
 * when it changes, no phase event. */
static void restore_refuse(struct ctl_actions *out, const struct ctl_restore_input *in,
			   const char *reason, const char *message, int warning)
{
	struct ctl_next nx;
	ctl_next_init(&nx, in->obj, in->now);
	requested_by(&nx, in->obj);
	ctl_set_state(&nx, CTL_PHASE_PENDING, "False", reason, message);
	struct json_object *old = ctl_get(in->obj, "status");
	int changed = !old || !json_object_equal(old, nx.status);
	if (changed && (warning || !ctl_str_eq(api_conditions_reason(ctl_get(old, "conditions"),
								     CTL_COND_READY),
					       reason)))
		ctl_push_event(out, warning, reason, "%s", message);
	if (changed)
		ctl_push(out, CTL_ACTION_WRITE_STATUS)->body = nx.status;
	else
		json_object_put(nx.status);
}

static void wait_again(struct ctl_actions *out)
{
	ctl_push(out, CTL_ACTION_REQUEUE_AFTER)->delay_ms = CTL_RESTORE_WAIT_MS;
}

/* The source: from the DatabaseBackup (backupRef) or spec.source. 0 and p
 * filled, or 1 after pushing the refusal. */
static int resolve(struct plan *p, struct ctl_actions *out, const struct ctl_restore_input *in)
{
	const struct api_restore_spec *s = &in->restore->spec;
	struct json_object *spec = ctl_get(in->obj, "spec");
	memset(p, 0, sizeof(*p));
	if (s->backup_ref) {
		const char *ns = in->restore->meta.namespace_;
		if (!in->backup_obj) {
			char *m =
			    xasprintf("DatabaseBackup %s not found in namespace %s: create it, "
				      "or restore from storage with spec.source "
				      "(kubectl get dbb -n %s lists what there is)",
				      s->backup_ref, ns, ns);
			restore_refuse(out, in, "BackupNotFound", m, 1);
			free(m);
			wait_again(out);
			return 1;
		}
		if (!in->backup) {
			char *m = xasprintf("DatabaseBackup %s cannot be read: %s", s->backup_ref,
					    in->backup_error ? in->backup_error : "unknown error");
			restore_refuse(out, in, "BackupNotCompleted", m, 1);
			free(m);
			return 1;
		}
		struct json_object *bst = ctl_get(in->backup_obj, "status");
		const char *phase = ctl_get_str(bst, "phase");
		if (!ctl_str_eq(phase, CTL_PHASE_COMPLETED) ||
		    !ctl_get_str(ctl_get(bst, "artifact"), "sha256")) {
			char *m = xasprintf(
			    "DatabaseBackup %s is %s%s: only a Completed backup with a stored "
			    "artifact can be restored%s",
			    s->backup_ref, phase ? phase : "not started yet",
			    ctl_str_eq(phase, CTL_PHASE_COMPLETED) ? " but has no artifact" : "",
			    finished_phase(phase) ? "; choose another backup"
						  : "; the restore starts once it is Completed");
			restore_refuse(out, in, "BackupNotCompleted", m,
				       finished_phase(phase) != NULL);
			free(m);
			if (!finished_phase(phase))
				wait_again(out);
			return 1;
		}
		const struct api_backup_spec *b = &in->backup->spec;
		struct json_object *bspec = ctl_get(in->backup_obj, "spec");
		p->by_ref = 1;
		p->backup_ns = ns;
		p->backup_name = s->backup_ref;
		p->storage = &b->storage;
		p->encryption = &b->encryption;
		p->target = s->has_target ? &s->target : &b->database;
		p->schema_version_query = b->database.schema_version_query;
		p->target_json =
		    s->has_target ? ctl_get(spec, "target") : ctl_get(bspec, "database");
		p->storage_json = ctl_get(bspec, "storage");
		p->encryption_json = ctl_get(bspec, "encryption");
	} else {
		p->backup_ns = s->source_namespace;
		p->backup_name = s->source_name;
		p->storage = &s->source_storage;
		p->encryption = &s->source_encryption;
		p->target = &s->target;
		p->target_json = ctl_get(spec, "target");
		p->storage_json = path_get(spec, "source", "storage");
		p->encryption_json = path_get(spec, "source", "encryption");
	}
	if (s->has_safety_storage)
		p->storage_json = path_get(spec, "safetyBackup", "storage");
	const char *db = p->target->database;
	if (db && !ctl_str_eq(db, s->confirm)) {
		char *m = xasprintf("confirm is \"%s\" but the target database is \"%s\": set "
				    "spec.confirm to \"%s\" (a new DatabaseRestore: the spec is "
				    "immutable) if that database may be overwritten",
				    s->confirm, db, db);
		restore_refuse(out, in, "ConfirmationMismatch", m, 1);
		free(m);
		return 1;
	}
	return 0;
}

/* The safety DatabaseBackup: the target, into the safety storage, with the
 * source's passphrase and the restore's jobTemplate, kept (Retain), owned by
 * the restore. */
static struct json_object *safety_backup(const struct ctl_restore_input *in, const struct plan *p,
					 const char *name)
{
	struct json_object *spec = json_object_new_object(), *x = NULL;
	json_object_deep_copy(p->target_json, &x, NULL);
	json_object_object_add(spec, "database", x);
	x = NULL;
	json_object_deep_copy(p->storage_json, &x, NULL);
	json_object_object_add(spec, "storage", x);
	if (p->encryption_json) {
		x = NULL;
		json_object_deep_copy(p->encryption_json, &x, NULL);
		json_object_object_add(spec, "encryption", x);
	}
	json_object_object_add(spec, "deletionPolicy", json_object_new_string("Retain"));
	/* the restore's jobTemplate (image, scheduling, limits, backoffLimit)
	 * is the safety backup's too */
	struct json_object *tmpl = ctl_get(ctl_get(in->obj, "spec"), "jobTemplate");
	if (tmpl) {
		x = NULL;
		json_object_deep_copy(tmpl, &x, NULL);
		json_object_object_add(spec, "jobTemplate", x);
	}
	const struct api_meta *m = &in->restore->meta;
	struct json_object *owner = json_object_new_object();
	json_object_object_add(owner, "apiVersion", json_object_new_string(API_GROUP_VERSION));
	json_object_object_add(owner, "kind", json_object_new_string(API_RESTORE_KIND));
	json_object_object_add(owner, "name", json_object_new_string(m->name));
	json_object_object_add(owner, "uid", json_object_new_string(m->uid));
	json_object_object_add(owner, "controller", json_object_new_boolean(1));
	json_object_object_add(owner, "blockOwnerDeletion", json_object_new_boolean(1));
	struct json_object *owners = json_object_new_array();
	json_object_array_add(owners, owner);
	struct json_object *labels = json_object_new_object();
	char *instance = jobspec_label_value(m->name);
	json_object_object_add(labels, JOBSPEC_LABEL_RESTORE, json_object_new_string(instance));
	free(instance);
	struct json_object *meta = json_object_new_object();
	json_object_object_add(meta, "name", json_object_new_string(name));
	json_object_object_add(meta, "namespace", json_object_new_string(m->namespace_));
	json_object_object_add(meta, "labels", labels);
	json_object_object_add(meta, "ownerReferences", owners);
	struct json_object *b = json_object_new_object();
	json_object_object_add(b, "apiVersion", json_object_new_string(API_GROUP_VERSION));
	json_object_object_add(b, "kind", json_object_new_string(API_BACKUP_KIND));
	json_object_object_add(b, "metadata", meta);
	json_object_object_add(b, "spec", spec);
	return b;
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

/* status.restoredBackup before the Job ran: what the DatabaseBackup says. */
static void restored_from_backup(struct ctl_next *nx, const struct ctl_restore_input *in,
				 const struct plan *p)
{
	struct json_object *rb = json_object_new_object();
	struct json_object *art = path_get(in->backup_obj, "status", "artifact");
	if (p->by_ref) {
		add_str(rb, "name", p->backup_name);
		add_str(rb, "location", ctl_get_str(art, "location"));
		add_str(rb, "sha256", ctl_get_str(art, "sha256"));
		add_str(rb, "createdAt", ctl_get_str(art, "createdAt"));
		add_str(
		    rb, "schemaVersion",
		    ctl_get_str(path_get(in->backup_obj, "status", "database"), "schemaVersion"));
	} else {
		char *n = xasprintf("%s/%s", p->backup_ns, p->backup_name);
		add_str(rb, "name", n);
		free(n);
	}
	json_object_object_add(nx->status, "restoredBackup", rb);
}

/* The job's result into the status: restoredBackup, schemaCheck (and the
 * SchemaCompatible condition), auditRecord, targetUnchanged. */
static void copy_result(struct ctl_next *nx, const struct jobresult *r, const struct plan *p)
{
	if (r->has_restored_backup) {
		const struct jobresult_restored_backup *b = &r->restored_backup;
		struct json_object *rb = json_object_new_object();
		char *n = p->by_ref ? xstrdup(p->backup_name)
				    : xasprintf("%s/%s", p->backup_ns, p->backup_name);
		add_str(rb, "name", n);
		free(n);
		add_str(rb, "location", b->location);
		add_str(rb, "sha256", b->sha256);
		if (b->created_at.set) {
			char t[32];
			jobresult_time_format(t, b->created_at.value);
			add_str(rb, "createdAt", t);
		}
		add_str(rb, "schemaVersion", b->schema_version);
		json_object_object_add(nx->status, "restoredBackup", rb);
	}
	if (r->has_schema_check) {
		const struct jobresult_schema_check *c = &r->schema_check;
		/* the CRD's words: TargetUnknown is Unknown */
		const char *result = ctl_str_eq(c->result, "TargetUnknown") ? "Unknown" : c->result;
		struct json_object *sc = json_object_new_object();
		add_str(sc, "policy", c->policy);
		add_str(sc, "backupVersion", c->backup_version);
		add_str(sc, "targetVersion", c->target_version);
		add_str(sc, "result", result);
		json_object_object_add(nx->status, "schemaCheck", sc);
		const char *st = ctl_str_eq(result, "Match")	  ? "True"
				 : ctl_str_eq(result, "Mismatch") ? "False"
								  : "Unknown";
		char *msg = xasprintf("backup %s, target %s (schemaPolicy %s)%s%s",
				      c->backup_version ? c->backup_version : "(none)",
				      c->target_version ? c->target_version : "(none)",
				      c->policy ? c->policy : "", c->target_error ? ": " : "",
				      c->target_error ? c->target_error : "");
		/* the condition's reason: the result, Unknown when there is none */
		const char *reason = result ? result : "Unknown";
		ctl_set_condition(nx, COND_SCHEMA, st, reason, msg);
		free(msg);
	}
	if (r->audit_record)
		ctl_set_str(nx->status, "auditRecord", r->audit_record);
}

/* Failed, as the end: completionTime, Ready=False reason, a Warning event. */
static void restore_fail(struct ctl_actions *out, struct ctl_next *nx, struct json_object *old,
			 const char *reason, const char *message, int unchanged)
{
	ctl_set_state(nx, CTL_PHASE_FAILED, "False", reason, message);
	if (unchanged >= 0)
		json_object_object_add(nx->status, "targetUnchanged",
				       json_object_new_boolean(unchanged));
	else
		json_object_object_del(nx->status, "targetUnchanged");
	if (!ctl_get_str(nx->status, "completionTime"))
		ctl_set_time(nx->status, "completionTime", nx->now);
	ctl_finish(out, nx, old, 1, reason, message);
}

/* The safety backup's step. 0: done (Completed, or disabled), go on; 1:
 * waiting or failed (the actions pushed, nx taken). */
static int safety_step(struct ctl_actions *out, struct ctl_next *nx, struct json_object *old,
		       const struct ctl_restore_input *in, const struct plan *p)
{
	const struct api_restore_spec *s = &in->restore->spec;
	struct json_object *sb = ctl_get(nx->status, "safetyBackup");
	if (!s->safety_enabled) {
		if (!sb || ctl_get_str(sb, "name") ||
		    !json_object_is_type(ctl_get(sb, "enabled"), json_type_boolean)) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "enabled", json_object_new_boolean(0));
			json_object_object_add(nx->status, "safetyBackup", o);
			ctl_push_event(out, 1, "SafetyBackupDisabled",
				       "spec.safetyBackup.enabled is false: the target is restored "
				       "without a backup of it first");
		}
		ctl_set_condition(nx, COND_SAFETY, "False", "Disabled",
				  "spec.safetyBackup.enabled is false");
		return 0;
	}
	char *name = ctl_restore_safety_name(in->restore->meta.name);
	/* Completed before (recorded): go on even if it has since gone. */
	if (ctl_get_str(sb, "sha256") && ctl_str_eq(ctl_get_str(sb, "name"), name)) {
		free(name);
		return 0;
	}
	if (!in->safety_obj) {
		ctl_push_named(out, CTL_ACTION_CREATE_BACKUP, name, safety_backup(in, p, name));
		char *m = xasprintf("safety backup %s of %s is being taken before anything is "
				    "changed",
				    name, ctl_get_str(nx->status, "target"));
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "enabled", json_object_new_boolean(1));
		add_str(o, "name", name);
		json_object_object_add(nx->status, "safetyBackup", o);
		ctl_set_state(nx, CTL_PHASE_SAFETY_BACKUP, "False", CTL_PHASE_SAFETY_BACKUP, m);
		ctl_set_condition(nx, COND_SAFETY, "False", "Running", m);
		ctl_finish(out, nx, old, 0, CTL_PHASE_SAFETY_BACKUP, m);
		free(m);
		free(name);
		return 1;
	}
	struct json_object *bst = ctl_get(in->safety_obj, "status");
	const char *phase = ctl_get_str(bst, "phase");
	struct json_object *art = ctl_get(bst, "artifact");
	if (ctl_str_eq(phase, CTL_PHASE_COMPLETED) && ctl_get_str(art, "sha256")) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "enabled", json_object_new_boolean(1));
		add_str(o, "name", name);
		add_str(o, "location", ctl_get_str(art, "location"));
		add_str(o, "sha256", ctl_get_str(art, "sha256"));
		json_object_object_add(nx->status, "safetyBackup", o);
		char *m =
		    xasprintf("safety backup %s completed (%s)", name,
			      ctl_get_str(art, "location") ? ctl_get_str(art, "location") : "");
		ctl_set_condition(nx, COND_SAFETY, "True", "Succeeded", m);
		free(m);
		free(name);
		return 0;
	}
	if (ctl_str_eq(phase, CTL_PHASE_FAILED) || ctl_str_eq(phase, CTL_PHASE_COMPLETED)) {
		const char *why = ctl_get_str(bst, "message");
		const char *reason =
		    api_conditions_reason(ctl_get(bst, "conditions"), CTL_COND_READY);
		if (!reason)
			reason = "Failed";
		char *m = xasprintf("the safety backup %s failed (%s): %s; the target was not "
				    "touched; fix the cause and create a new DatabaseRestore",
				    name, reason, why ? why : "no message");
		ctl_set_condition(nx, COND_SAFETY, "False", reason, m);
		restore_fail(out, nx, old, "SafetyBackupFailed", m, 1);
		free(m);
		free(name);
		return 1;
	}
	char *m = xasprintf("safety backup %s is %s", name, phase ? phase : CTL_PHASE_PENDING);
	ctl_set_state(nx, CTL_PHASE_SAFETY_BACKUP, "False", CTL_PHASE_SAFETY_BACKUP, m);
	ctl_set_condition(nx, COND_SAFETY, "False", "Running", m);
	ctl_finish(out, nx, old, 0, CTL_PHASE_SAFETY_BACKUP, m);
	free(m);
	free(name);
	return 1;
}

/* The Job finished: Completed or Failed from its result. */
static void job_done(struct ctl_actions *out, struct ctl_next *nx, struct json_object *old,
		     const struct ctl_restore_input *in, const struct plan *p, const char *job)
{
	if (in->job.complete) {
		struct jobresult r;
		int have = ctl_container_result(&r, &in->pod.restore);
		if (have)
			copy_result(nx, &r, p);
		const char *what = ctl_get_str(ctl_get(nx->status, "restoredBackup"), "name");
		const char *into = ctl_get_str(nx->status, "target");
		char *m = !have		   ? xasprintf("restored %s into %s (Job %s succeeded; its "
								  "result could not be read)",
						       what, into, job)
			  : r.audit_record ? xasprintf("restored %s into %s; audit record %s", what,
						       into, r.audit_record)
			  : r.audit_error ? xasprintf("restored %s into %s; the audit record could "
						      "not be written: %s",
						      what, into, r.audit_error)
					  : xasprintf("restored %s into %s", what, into);
		ctl_set_state(nx, CTL_PHASE_COMPLETED, "True", "Succeeded", m);
		json_object_object_del(nx->status, "targetUnchanged");
		ctl_set_time(nx->status, "completionTime",
			     have && r.completion_time.set ? r.completion_time.value : nx->now);
		ctl_finish(out, nx, old, 0, "Restored", m);
		free(m);
		if (have)
			jobresult_dispose(&r);
		return;
	}
	struct ctl_outcome o;
	ctl_job_failure(&o, &in->job, &in->pod);
	int unchanged = -1;
	if (o.has_result) {
		copy_result(nx, &o.result, p);
		if (o.result.target_unchanged.set)
			unchanged = o.result.target_unchanged.value;
	}
	char *m = xasprintf("%s; %s", o.message,
			    unchanged == 1   ? "the target is unchanged (the restore's transaction "
					       "was rolled back)"
			    : unchanged == 0 ? "the target WAS changed: check it, and restore the "
					       "safety backup if needed"
					     : "whether the target changed is unknown: check it");
	restore_fail(out, nx, old, o.reason, m, unchanged);
	free(m);
	ctl_outcome_dispose(&o);
}

/* A finished Job whose pod's final status is not cached yet (the two come
 * from separate watches): wait for it, up to CTL_POD_GRACE_S. */
static int pod_behind(const struct ctl_restore_input *in)
{
	const struct ctl_pod *p = &in->pod;
	int caught = in->job.complete
			 ? p->present && p->restore.terminated
			 : !p->present || p->deleting || p->restore.terminated ||
			       ctl_str_eq(p->phase, "Failed") || ctl_str_eq(p->phase, "Succeeded");
	time_t done;
	if (caught || !in->job.finish_time || jobresult_time_parse(&done, in->job.finish_time) != 0)
		return 0;
	return in->now - done <= CTL_POD_GRACE_S;
}

static void unreadable(struct ctl_actions *out, const struct ctl_restore_input *in)
{
	restore_refuse(out, in, "InvalidSpec",
		       in->spec_error ? in->spec_error : "the resource cannot be read", 1);
}

int ctl_restore_job_refused(struct ctl_actions *out, const struct ctl_restore_input *in,
			    const char *message)
{
	char *m = xasprintf("the API server refused the restore Job: %s", message);
	restore_refuse(out, in, "InvalidSpec", m, 1);
	free(m);
	return 0;
}

int ctl_restore_reconcile(struct ctl_actions *out, const struct ctl_restore_input *in)
{
	if (!in->restore) {
		unreadable(out, in);
		return 0;
	}
	if (in->restore->meta.deletion_timestamp)
		return 0; /* its safety backup and Job go with it (ownerReferences) */
	struct json_object *old = ctl_get(in->obj, "status");
	if (finished_phase(ctl_get_str(old, "phase")))
		return 0; /* a one-shot record: final */
	char *job = jobspec_job_name(in->restore->meta.name, JOBSPEC_SUFFIX_RESTORE);
	const char *recorded_job = ctl_get_str(old, "jobName");
	struct ctl_next nx;

	/* Once the Job exists (or existed) the source was resolved: a backup
	 * deleted meanwhile no longer matters. */
	struct plan p;
	int have_plan = 0;
	if (!in->job.present && !recorded_job) {
		if (resolve(&p, out, in)) {
			free(job);
			return 0;
		}
		have_plan = 1;
	} else {
		memset(&p, 0, sizeof(p));
		p.by_ref = in->restore->spec.backup_ref != NULL;
		p.backup_ns =
		    p.by_ref ? in->restore->meta.namespace_ : in->restore->spec.source_namespace;
		p.backup_name =
		    p.by_ref ? in->restore->spec.backup_ref : in->restore->spec.source_name;
	}
	ctl_next_init(&nx, in->obj, in->now);
	requested_by(&nx, in->obj);
	if (have_plan) {
		char *t = target_text(p.target);
		ctl_set_str(nx.status, "target", t);
		free(t);
		if (!ctl_get(nx.status, "restoredBackup"))
			restored_from_backup(&nx, in, &p);
	}
	if (!ctl_get_str(nx.status, "startTime"))
		ctl_set_time(nx.status, "startTime", in->now);

	if (!in->job.present && recorded_job) {
		char *m = xasprintf("the restore Job %s is gone and its outcome is unknown (it is "
				    "never run twice); check the target database and the audit "
				    "record, then create a new DatabaseRestore if needed",
				    recorded_job);
		restore_fail(out, &nx, old, "RestoreJobLost", m, -1);
		free(m);
		free(job);
		return 0;
	}
	if (!in->job.present) {
		if (safety_step(out, &nx, old, in, &p)) {
			free(job);
			return 0;
		}
		struct json_object *sb = ctl_get(nx.status, "safetyBackup");
		const struct jobspec_restore_in ri = {
		    .restore = in->restore,
		    .backup_namespace = p.backup_ns,
		    .backup_name = p.backup_name,
		    .storage = p.storage,
		    .encryption = p.encryption,
		    .target = p.target,
		    .schema_version_query = p.schema_version_query,
		    .requested_by = ctl_get_str(nx.status, "requestedBy"),
		    .safety_name =
			in->restore->spec.safety_enabled ? ctl_get_str(sb, "name") : NULL,
		    .safety_location = ctl_get_str(sb, "location"),
		    .safety_sha256 = ctl_get_str(sb, "sha256"),
		};
		struct json_object *j = NULL;
		if (jobspec_restore(&j, &ri, in->opts) != 0) {
			char *m = xstrdup(err_msg());
			ctl_set_state(&nx, CTL_PHASE_PENDING, "False", "InvalidSpec", m);
			ctl_finish(out, &nx, old, 1, "InvalidSpec", m);
			free(m);
			free(job);
			return 0;
		}
		ctl_push_named(out, CTL_ACTION_CREATE_JOB, job, j);
		ctl_set_str(nx.status, "jobName", job);
		char *m = xasprintf("Job %s restores %s into %s", job,
				    ctl_get_str(ctl_get(nx.status, "restoredBackup"), "name"),
				    ctl_get_str(nx.status, "target"));
		ctl_set_state(&nx, CTL_PHASE_RESTORING, "False", CTL_PHASE_RESTORING, m);
		ctl_finish(out, &nx, old, 0, CTL_PHASE_RESTORING, m);
		free(m);
		free(job);
		return 0;
	}
	ctl_set_str(nx.status, "jobName", job);
	if ((in->job.complete || in->job.failed) && pod_behind(in)) {
		json_object_put(nx.status);
		ctl_push(out, CTL_ACTION_REQUEUE_AFTER)->delay_ms = CTL_POD_CATCH_UP_MS;
		free(job);
		return 0;
	}
	if (in->job.complete || in->job.failed) {
		job_done(out, &nx, old, in, &p, job);
		free(job);
		return 0;
	}
	const char *reason = CTL_PHASE_RESTORING;
	char *stuck = ctl_pod_stuck(&in->pod, &reason);
	char *m = stuck ? xasprintf("Job %s: %s", job, stuck)
			: xasprintf("Job %s restores %s into %s", job,
				    ctl_get_str(ctl_get(nx.status, "restoredBackup"), "name"),
				    ctl_get_str(nx.status, "target"));
	ctl_set_state(&nx, CTL_PHASE_RESTORING, "False", reason, m);
	ctl_finish(out, &nx, old, stuck != NULL, reason, m);
	free(m);
	free(stuck);
	free(job);
	return 0;
}
