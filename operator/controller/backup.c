/* The DatabaseBackup reconcile (backup.h): observations in, actions out. */
#include "operator/controller/backup.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/jobresult.h"
#include "common/xmalloc.h"
#include "operator/api/backup.h"
#include "operator/jobspec.h"
#include "operator/controller/status.h"

#define COND_VERIFIED "Verified"

/* --- readers of observed objects --- */

void ctl_job_observe(struct ctl_job *out, struct json_object *job)
{
	memset(out, 0, sizeof(*out));
	if (!job)
		return;
	out->present = 1;
	out->deleting = ctl_get_str(ctl_get(job, "metadata"), "deletionTimestamp") != NULL;
	struct json_object *st = ctl_get(job, "status");
	out->active = (int)ctl_get_int(st, "active");
	out->start_time = ctl_get_str(st, "startTime");
	struct json_object *conds = ctl_get(st, "conditions");
	if (!conds || !json_object_is_type(conds, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(conds); i++) {
		struct json_object *c = json_object_array_get_idx(conds, i);
		if (!ctl_str_eq(ctl_get_str(c, "status"), "True"))
			continue;
		const char *type = ctl_get_str(c, "type");
		if (ctl_str_eq(type, "Complete")) {
			out->complete = 1;
			out->finish_time = ctl_get_str(c, "lastTransitionTime");
		} else if (ctl_str_eq(type, "Failed")) {
			out->failed = 1;
			out->finish_time = ctl_get_str(c, "lastTransitionTime");
			out->failed_reason = ctl_get_str(c, "reason");
			out->failed_message = ctl_get_str(c, "message");
		}
	}
	if (ctl_get_str(st, "completionTime"))
		out->finish_time = ctl_get_str(st, "completionTime");
}

static void container_observe(struct ctl_container *out, struct json_object *cs)
{
	struct json_object *state = ctl_get(cs, "state");
	struct json_object *t = ctl_get(state, "terminated");
	if (t) {
		out->terminated = 1;
		out->exit_code = (int)ctl_get_int(t, "exitCode");
		out->reason = ctl_get_str(t, "reason");
		out->message = ctl_get_str(t, "message");
	} else if (ctl_get(state, "running")) {
		out->running = 1;
	} else {
		struct json_object *w = ctl_get(state, "waiting");
		out->waiting_reason = ctl_get_str(w, "reason");
		out->waiting_message = ctl_get_str(w, "message");
	}
}

static void containers_observe(struct ctl_pod *out, struct json_object *list)
{
	if (!list || !json_object_is_type(list, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *cs = json_object_array_get_idx(list, i);
		const char *name = ctl_get_str(cs, "name");
		if (ctl_str_eq(name, JOBSPEC_CONTAINER_BACKUP))
			container_observe(&out->backup, cs);
		else if (ctl_str_eq(name, JOBSPEC_CONTAINER_VERIFY))
			container_observe(&out->verify, cs);
		else if (ctl_str_eq(name, JOBSPEC_CONTAINER_DELETE))
			container_observe(&out->del, cs);
		else if (ctl_str_eq(name, JOBSPEC_CONTAINER_RESTORE))
			container_observe(&out->restore, cs);
	}
}

void ctl_pod_observe(struct ctl_pod *out, struct json_object *pod)
{
	memset(out, 0, sizeof(*out));
	if (!pod)
		return;
	out->present = 1;
	out->deleting = ctl_get_str(ctl_get(pod, "metadata"), "deletionTimestamp") != NULL;
	struct json_object *st = ctl_get(pod, "status");
	out->phase = ctl_get_str(st, "phase");
	out->reason = ctl_get_str(st, "reason");
	struct json_object *conds = ctl_get(st, "conditions");
	for (size_t i = 0; conds && json_object_is_type(conds, json_type_array) &&
			   i < json_object_array_length(conds);
	     i++) {
		struct json_object *c = json_object_array_get_idx(conds, i);
		if (ctl_str_eq(ctl_get_str(c, "type"), "PodScheduled") &&
		    ctl_str_eq(ctl_get_str(c, "status"), "False") &&
		    ctl_str_eq(ctl_get_str(c, "reason"), "Unschedulable")) {
			const char *m = ctl_get_str(c, "message");
			out->unschedulable = m ? m : "no node fits the pod";
		}
	}
	containers_observe(out, ctl_get(st, "initContainerStatuses"));
	containers_observe(out, ctl_get(st, "containerStatuses"));
}

/* --- actions --- */

/* Copies the result's sections into the status. */
static void copy_result(struct ctl_next *nx, const struct jobresult *r, const struct api_backup *b)
{
	if (r->has_artifact) {
		jobresult_add_artifact(nx->status, &r->artifact);
		struct json_object *a = ctl_get(nx->status, "artifact");
		ctl_drop_nulls(a);
		/* The spec is authoritative when the result does not say. */
		if (!r->artifact.encrypted.set && a)
			json_object_object_add(
			    a, "encrypted",
			    json_object_new_boolean(b->spec.encryption.passphrase.name != NULL));
	}
	if (r->has_database) {
		jobresult_add_database(nx->status, &r->database);
		ctl_drop_nulls(ctl_get(nx->status, "database"));
	}
	if (r->duration_seconds.set)
		json_object_object_add(nx->status, "durationSeconds",
				       json_object_new_double(r->duration_seconds.value));
}

static void copy_verification(struct ctl_next *nx, const struct jobresult *r)
{
	if (r->has_verification) {
		jobresult_add_verification(nx->status, &r->verification);
		ctl_drop_nulls(ctl_get(nx->status, "verification"));
	}
}

/* --- the failure reason of a Job --- */

int ctl_container_result(struct jobresult *out, const struct ctl_container *c)
{
	if (!c->terminated || !c->message)
		return 0;
	return jobresult_parse(out, c->message, strlen(c->message)) == 0;
}

/* Why a failed Job failed: the job's own result first (it knows best), then
 * what Kubernetes saw. */
void ctl_job_failure(struct ctl_outcome *o, const struct ctl_job *job, const struct ctl_pod *pod)
{
	const struct ctl_container *cs[] = {&pod->backup, &pod->verify, &pod->del, &pod->restore};
	static const char *const names[] = {JOBSPEC_CONTAINER_BACKUP, JOBSPEC_CONTAINER_VERIFY,
					    JOBSPEC_CONTAINER_DELETE, JOBSPEC_CONTAINER_RESTORE};
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < 4; i++) {
		const struct ctl_container *c = cs[i];
		if (!c->terminated || c->exit_code == 0)
			continue;
		if (ctl_str_eq(c->reason, "OOMKilled")) {
			o->reason = "OOMKilled";
			o->message =
			    xasprintf("container %s was killed for using more memory than its "
				      "limit; raise jobTemplate.resources.limits.memory",
				      names[i]);
			return;
		}
		struct jobresult r;
		if (ctl_container_result(&r, c)) {
			if (!jobresult_ok(&r) && r.reason) {
				o->result = r;
				o->has_result = 1;
				o->reason = r.reason;
				o->message = xstrdup(r.message ? r.message : r.reason);
				return;
			}
			jobresult_dispose(&r);
		}
	}
	if (job->failed && ctl_str_eq(job->failed_reason, "DeadlineExceeded")) {
		o->reason = "DeadlineExceeded";
		o->message = xstrdup("the Job ran longer than jobTemplate.activeDeadlineSeconds "
				     "and was stopped");
		return;
	}
	if (!pod->present || pod->reason || pod->deleting) {
		o->reason = "PodLost";
		o->message = xasprintf("the Job's pod was lost%s%s before it wrote a result",
				       pod->reason ? ": " : "", pod->reason ? pod->reason : "");
		return;
	}
	o->reason = "JobFailed";
	o->message =
	    xasprintf("the Job failed without a result%s%s%s", job->failed_reason ? " (" : "",
		      job->failed_reason ? job->failed_reason : "", job->failed_reason ? ")" : "");
}

void ctl_outcome_dispose(struct ctl_outcome *o)
{
	free(o->message);
	if (o->has_result)
		jobresult_dispose(&o->result);
}

/* --- a pod that cannot start --- */

/* Waiting reasons that need a person: the kubelet retries them, but they do
 * not go away by themselves. */
static int stuck_reason(const char *r)
{
	static const char *const reasons[] = {"CreateContainerConfigError",
					      "CreateContainerError",
					      "ErrImagePull",
					      "ImagePullBackOff",
					      "InvalidImageName",
					      "ErrImageNeverPull",
					      "RunContainerError",
					      NULL};
	for (size_t i = 0; r && reasons[i]; i++)
		if (strcmp(r, reasons[i]) == 0)
			return 1;
	return 0;
}

/* Why pod cannot start, or NULL; *reason gets the condition reason. */
char *ctl_pod_stuck(const struct ctl_pod *pod, const char **reason)
{
	if (!pod->present || pod->deleting)
		return NULL;
	const struct ctl_container *cs[] = {&pod->backup, &pod->verify, &pod->del, &pod->restore};
	static const char *const names[] = {JOBSPEC_CONTAINER_BACKUP, JOBSPEC_CONTAINER_VERIFY,
					    JOBSPEC_CONTAINER_DELETE, JOBSPEC_CONTAINER_RESTORE};
	for (size_t i = 0; i < 4; i++)
		if (stuck_reason(cs[i]->waiting_reason)) {
			*reason = "PodNotStarting";
			return xasprintf("container %s cannot start: %s%s%s", names[i],
					 cs[i]->waiting_reason, cs[i]->waiting_message ? ": " : "",
					 cs[i]->waiting_message ? cs[i]->waiting_message : "");
		}
	if (pod->unschedulable) {
		*reason = "PodUnschedulable";
		return xasprintf("the Job's pod cannot be scheduled: %s", pod->unschedulable);
	}
	return NULL;
}

/* --- a Job finished before its pod's final status is cached --- */

/* Whether the pod as cached can be judged for a finished Job: complete needs
 * the results (every container terminated), failed a pod that is no longer
 * running (or gone: deadline and eviction delete it). */
static int pod_caught_up(const struct ctl_backup_input *in)
{
	const struct ctl_pod *p = &in->pod;
	if (in->job.complete)
		return p->present && p->backup.terminated &&
		       (!in->backup->spec.verify || p->verify.terminated);
	return !p->present || p->deleting || p->backup.terminated || p->verify.terminated ||
	       ctl_str_eq(p->phase, "Failed") || ctl_str_eq(p->phase, "Succeeded");
}

/* 1: wait (a requeue pushed), 0: judge now. */
static int wait_for_pod(struct ctl_actions *out, const struct ctl_backup_input *in)
{
	if (pod_caught_up(in))
		return 0;
	/* No readable finish time: judge now rather than wait without end. */
	time_t done;
	if (!in->job.finish_time || jobresult_time_parse(&done, in->job.finish_time) != 0 ||
	    in->now - done > CTL_POD_GRACE_S)
		return 0;
	struct ctl_action *x = ctl_push(out, CTL_ACTION_REQUEUE_AFTER);
	x->delay_ms = CTL_POD_CATCH_UP_MS;
	return 1;
}

/* --- the phases --- */

static void invalid_spec(struct ctl_actions *out, const struct ctl_backup_input *in,
			 const char *message)
{
	struct ctl_next nx;
	ctl_next_init(&nx, in->obj, in->now);
	ctl_set_state(&nx, CTL_PHASE_PENDING, "False", "InvalidSpec", message);
	/* ctl_finish() events only a phase change; a refusal is always a Warning. */
	struct json_object *old = ctl_get(in->obj, "status");
	if (!old || !json_object_equal(old, nx.status)) {
		ctl_push_event(out, 1, "InvalidSpec", "%s", message);
		struct ctl_action *x = ctl_push(out, CTL_ACTION_WRITE_STATUS);
		x->body = nx.status;
	} else {
		json_object_put(nx.status);
	}
}

static void deleting(struct ctl_actions *out, const struct ctl_backup_input *in)
{
	const struct api_backup *b = in->backup;
	if (!api_meta_has_finalizer(&b->meta, API_BACKUP_FINALIZER))
		return;
	char *backup_job = jobspec_job_name(b->meta.name, JOBSPEC_SUFFIX_BACKUP);
	char *delete_job = jobspec_job_name(b->meta.name, JOBSPEC_SUFFIX_DELETE);
	struct json_object *old = ctl_get(in->obj, "status");
	struct ctl_next nx;
	ctl_next_init(&nx, in->obj, in->now);

	/* A backup still writing would race the delete: stop it first. */
	if (in->job.present && !in->job.complete && !in->job.failed && !in->job.deleting)
		ctl_push_named(out, CTL_ACTION_DELETE_JOB, backup_job, NULL);

	if (!api_backup_deletes_storage(b)) {
		ctl_push_named(out, CTL_ACTION_REMOVE_FINALIZER, API_BACKUP_FINALIZER, NULL);
		json_object_put(nx.status);
	} else if (!in->delete_job.present) {
		struct json_object *job = NULL;
		if (jobspec_delete(&job, b, in->opts) != 0) {
			char *msg = xasprintf("cannot build the delete Job: %s", err_msg());
			ctl_set_state(&nx, CTL_PHASE_DELETING, "False", "DeleteFailed", msg);
			ctl_finish(out, &nx, old, 1, "DeleteFailed", msg);
			free(msg);
		} else {
			ctl_push_named(out, CTL_ACTION_CREATE_JOB, delete_job, job);
			char *msg = xasprintf("Job %s removes the stored backup", delete_job);
			ctl_set_state(&nx, CTL_PHASE_DELETING, "False", "Deleting", msg);
			ctl_finish(out, &nx, old, 0, "Deleting", msg);
			free(msg);
		}
	} else if (in->delete_job.complete) {
		json_object_put(nx.status);
		ctl_push_named(out, CTL_ACTION_REMOVE_FINALIZER, API_BACKUP_FINALIZER, NULL);
	} else if (in->delete_job.failed) {
		struct ctl_outcome o;
		ctl_job_failure(&o, &in->delete_job, &in->delete_pod);
		char *msg = xasprintf("deleting the stored backup failed (%s): %s; the resource is "
				      "kept; fix the cause and delete Job %s to retry, or set "
				      "deletionPolicy Retain",
				      o.reason, o.message, delete_job);
		ctl_set_state(&nx, CTL_PHASE_DELETING, "False", "DeleteFailed", msg);
		ctl_finish(out, &nx, old, 1, "DeleteFailed", msg);
		free(msg);
		ctl_outcome_dispose(&o);
	} else {
		const char *reason = "Deleting";
		char *stuck = ctl_pod_stuck(&in->delete_pod, &reason);
		char *msg = stuck ? xasprintf("Job %s: %s", delete_job, stuck)
				  : xasprintf("Job %s removes the stored backup", delete_job);
		ctl_set_state(&nx, CTL_PHASE_DELETING, "False", reason, msg);
		ctl_finish(out, &nx, old, stuck != NULL, reason, msg);
		free(msg);
		free(stuck);
	}
	free(backup_job);
	free(delete_job);
}

static void set_start(struct ctl_next *nx, const struct ctl_job *job)
{
	time_t t;
	if (job->start_time && jobresult_time_parse(&t, job->start_time) == 0)
		ctl_set_time(nx->status, "startTime", t);
	else if (!ctl_get(nx->status, "startTime"))
		ctl_set_time(nx->status, "startTime", nx->now);
}

static void completed(struct ctl_actions *out, const struct ctl_backup_input *in,
		      struct ctl_next *nx, struct json_object *old)
{
	const struct api_backup *b = in->backup;
	struct jobresult br = {0}, vr = {0};
	int have_b = ctl_container_result(&br, &in->pod.backup);
	int have_v = b->spec.verify && ctl_container_result(&vr, &in->pod.verify);
	const char *reason = NULL;
	char *msg = NULL;

	if (!have_b || !jobresult_has_artifact(&br)) {
		reason = "JobFailed";
		msg = xstrdup("the Job succeeded but the backup container's result is missing or "
			      "lacks the dump's sha256 and size; the backup cannot be trusted");
	} else if (b->spec.verify && (!have_v || !jobresult_ok(&vr))) {
		reason = have_v && vr.reason ? vr.reason : "JobFailed";
		msg = xstrdup(have_v && vr.message ? vr.message
						   : "the Job succeeded but the verify result is "
						     "missing; the backup was not checked");
	} else if (b->spec.verify &&
		   !(vr.verification.verified.set && vr.verification.verified.value)) {
		reason = "JobFailed";
		msg = xstrdup("the verify container succeeded but its result does not say "
			      "verification.verified: true; the backup was not checked");
	}
	if (have_b)
		copy_result(nx, &br, b);
	if (have_v)
		copy_verification(nx, &vr);
	if (have_b && br.completion_time.set)
		ctl_set_time(nx->status, "completionTime", br.completion_time.value);
	else if (!ctl_get(nx->status, "completionTime"))
		ctl_set_time(nx->status, "completionTime", in->now);

	if (msg) {
		ctl_set_state(nx, CTL_PHASE_FAILED, "False", reason, msg);
		if (b->spec.verify)
			ctl_set_condition(nx, COND_VERIFIED, "False", reason, msg);
		ctl_finish(out, nx, old, 1, reason, msg);
	} else {
		const char *sha = br.artifact.sha256;
		char *done = xasprintf("stored %s (%lld bytes, sha256 %s)",
				       br.artifact.location ? br.artifact.location : "the backup",
				       (long long)br.artifact.size.value, sha);
		ctl_set_state(nx, CTL_PHASE_COMPLETED, "True", "Succeeded", done);
		if (b->spec.verify)
			ctl_set_condition(nx, COND_VERIFIED, "True", "Verified",
					  "the stored backup was re-read and checked");
		else
			ctl_set_condition(nx, COND_VERIFIED, "False", "NotRequested",
					  "spec.verify is false");
		ctl_finish(out, nx, old, 0, "Completed", done);
		free(done);
	}
	free(msg);
	if (have_b)
		jobresult_dispose(&br);
	if (have_v)
		jobresult_dispose(&vr);
}

static void failed(struct ctl_actions *out, const struct ctl_backup_input *in, struct ctl_next *nx,
		   struct json_object *old)
{
	struct ctl_outcome o;
	ctl_job_failure(&o, &in->job, &in->pod);
	if (o.has_result)
		copy_verification(nx, &o.result);
	if (!ctl_get(nx->status, "completionTime"))
		ctl_set_time(nx->status, "completionTime", in->now);
	ctl_set_state(nx, CTL_PHASE_FAILED, "False", o.reason, o.message);
	if (in->backup->spec.verify && o.has_result && ctl_str_eq(o.result.command, "verify"))
		ctl_set_condition(nx, COND_VERIFIED, "False", o.reason, o.message);
	ctl_finish(out, nx, old, 1, o.reason, o.message);
	ctl_outcome_dispose(&o);
}

/* Every condition's observedGeneration to the current one, each kept as it
 * says (lastTransitionTime too). */
static void restamp_conditions(struct ctl_next *nx)
{
	struct json_object *conds = ctl_get(nx->status, "conditions");
	if (!conds || !json_object_is_type(conds, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(conds); i++) {
		struct json_object *c = json_object_array_get_idx(conds, i);
		if (json_object_is_type(c, json_type_object))
			json_object_object_add(c, "observedGeneration",
					       json_object_new_int64(nx->generation));
	}
}

static void live(struct ctl_actions *out, const struct ctl_backup_input *in)
{
	const struct api_backup *b = in->backup;
	struct json_object *old = ctl_get(in->obj, "status");
	struct ctl_next nx;
	ctl_next_init(&nx, in->obj, in->now);
	char *job_name = jobspec_job_name(b->meta.name, JOBSPEC_SUFFIX_BACKUP);

	int deletes = api_backup_deletes_storage(b);
	int has_fin = api_meta_has_finalizer(&b->meta, API_BACKUP_FINALIZER);
	if (deletes && !has_fin)
		ctl_push_named(out, CTL_ACTION_ADD_FINALIZER, API_BACKUP_FINALIZER, NULL);
	else if (!deletes && has_fin)
		ctl_push_named(out, CTL_ACTION_REMOVE_FINALIZER, API_BACKUP_FINALIZER, NULL);

	const char *phase = nx.old_phase, *reason = NULL;
	char *stuck = NULL;
	/* The spec is immutable but for deletionPolicy, so a finished backup
	 * stays finished when the generation moves: only the observed
	 * generations follow. */
	int final = ctl_str_eq(phase, CTL_PHASE_COMPLETED) || ctl_str_eq(phase, CTL_PHASE_FAILED);
	if (final) {
		json_object_object_add(nx.status, "observedGeneration",
				       json_object_new_int64(nx.generation));
		restamp_conditions(&nx);
		ctl_finish(out, &nx, old, 0, phase, ctl_get_str(old, "message"));
	} else if (!in->job.present && (ctl_str_eq(phase, CTL_PHASE_RUNNING) ||
					ctl_str_eq(phase, CTL_PHASE_VERIFYING))) {
		/* Seen running, now gone (deleted by hand): never a stale Running,
		 * and no second run into the same backup. */
		char *msg = xasprintf("Job %s was deleted before it finished; create a new "
				      "DatabaseBackup to back up again",
				      job_name);
		if (!ctl_get(nx.status, "completionTime"))
			ctl_set_time(nx.status, "completionTime", in->now);
		ctl_set_state(&nx, CTL_PHASE_FAILED, "False", "PodLost", msg);
		ctl_finish(out, &nx, old, 1, "PodLost", msg);
		free(msg);
	} else if (!in->job.present) {
		struct json_object *job = NULL;
		if (jobspec_backup(&job, b, in->opts) != 0) {
			json_object_put(nx.status);
			invalid_spec(out, in, err_msg());
		} else {
			ctl_push_named(out, CTL_ACTION_CREATE_JOB, job_name, job);
			if (!b->spec.encryption.passphrase.name)
				ctl_push_event(
				    out, 1, "NotEncrypted",
				    "spec.encryption is unset: the backup is stored "
				    "unencrypted and anyone who can read the storage can "
				    "read the data");
			ctl_set_str(nx.status, "jobName", job_name);
			char *msg = xasprintf("created Job %s", job_name);
			ctl_set_state(&nx, CTL_PHASE_PENDING, "False", "Pending", msg);
			ctl_finish(out, &nx, old, 0, "Pending", msg);
			free(msg);
		}
	} else {
		ctl_set_str(nx.status, "jobName", job_name);
		set_start(&nx, &in->job);
		/* The Job's verdict, not one pod's: a failed pod may be retried
		 * (backoffLimit), and its retry may complete. The reason comes
		 * from the pod when the Job has failed. */
		if ((in->job.failed || in->job.complete) && wait_for_pod(out, in)) {
			json_object_put(nx.status);
		} else if (in->job.failed) {
			failed(out, in, &nx, old);
		} else if (in->job.complete) {
			completed(out, in, &nx, old);
		} else if (in->pod.present && !in->pod.deleting && b->spec.verify &&
			   in->pod.backup.terminated && in->pod.backup.exit_code == 0) {
			char *msg =
			    xasprintf("Job %s re-reads and checks the stored backup", job_name);
			ctl_set_state(&nx, CTL_PHASE_VERIFYING, "False", "Verifying", msg);
			ctl_finish(out, &nx, old, 0, "Verifying", msg);
			free(msg);
		} else if (in->pod.present && in->pod.backup.running) {
			char *msg = xasprintf("Job %s runs the backup", job_name);
			ctl_set_state(&nx, CTL_PHASE_RUNNING, "False", "Running", msg);
			ctl_finish(out, &nx, old, 0, "Running", msg);
			free(msg);
		} else if ((stuck = ctl_pod_stuck(&in->pod, &reason))) {
			/* Still Pending (the Job may yet start), but say why not. */
			ctl_set_state(&nx, CTL_PHASE_PENDING, "False", reason, stuck);
			ctl_finish(out, &nx, old, 1, reason, stuck);
			free(stuck);
		} else {
			/* Waiting for a pod (first or retried): the phase stays as it
			 * is, unless nothing was ever written. */
			if (!phase) {
				/* Our own "created Job" write not in the cache yet (or
				 * lost to a restart): the same status again, and no
				 * second Pending event. */
				char *msg = xasprintf("created Job %s", job_name);
				ctl_set_state(&nx, CTL_PHASE_PENDING, "False", "Pending", msg);
				nx.old_phase = CTL_PHASE_PENDING;
				ctl_finish(out, &nx, old, 0, "Pending", msg);
				free(msg);
			} else {
				ctl_finish(out, &nx, old, 0, phase, ctl_get_str(old, "message"));
			}
		}
	}
	free(job_name);
}

/* Whether obj's metadata.finalizers lists name. */
static int has_finalizer(struct json_object *obj, const char *name)
{
	struct json_object *list = ctl_get(ctl_get(obj, "metadata"), "finalizers");
	if (!list || !json_object_is_type(list, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (ctl_str_eq(json_object_get_string(json_object_array_get_idx(list, i)), name))
			return 1;
	return 0;
}

/* A spec that does not parse (an older or hand-edited object): nothing can
 * run. Deleting it with the finalizer: when no backup Job was ever created
 * for it (no status.jobName) nothing was stored, so the finalizer goes;
 * otherwise it stays (the stored objects are unknown to us) and the message
 * says how to let it go by hand. */
static void unreadable(struct ctl_actions *out, const struct ctl_backup_input *in)
{
	const char *why = in->spec_error ? in->spec_error : "the resource cannot be read";
	int deleting = ctl_get_str(ctl_get(in->obj, "metadata"), "deletionTimestamp") != NULL;
	if (!deleting || !has_finalizer(in->obj, API_BACKUP_FINALIZER)) {
		invalid_spec(out, in, why);
		return;
	}
	if (!ctl_get_str(ctl_get(in->obj, "status"), "jobName")) {
		ctl_push_named(out, CTL_ACTION_REMOVE_FINALIZER, API_BACKUP_FINALIZER, NULL);
		return;
	}
	char *msg = xasprintf("%s; the stored backup cannot be deleted with this spec, so the "
			      "finalizer " API_BACKUP_FINALIZER " stays: remove the stored objects "
			      "by hand (lifeboat delete) and then the finalizer (kubectl patch "
			      "databasebackup %s --type=merge -p "
			      "'{\"metadata\":{\"finalizers\":null}}')",
			      why, ctl_get_str(ctl_get(in->obj, "metadata"), "name"));
	invalid_spec(out, in, msg);
	free(msg);
}

int ctl_backup_job_refused(struct ctl_actions *out, const struct ctl_backup_input *in,
			   const char *message)
{
	char *msg = xasprintf("the API server refused the backup Job: %s", message);
	invalid_spec(out, in, msg);
	free(msg);
	return 0;
}

int ctl_backup_reconcile(struct ctl_actions *out, const struct ctl_backup_input *in)
{
	if (!in->backup) {
		unreadable(out, in);
		return 0;
	}
	if (in->backup->meta.deletion_timestamp)
		deleting(out, in);
	else
		live(out, in);
	return 0;
}
