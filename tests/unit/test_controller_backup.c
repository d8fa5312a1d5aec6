/* The DatabaseBackup reconcile: one table row per transition, observed
 * objects in, actions and the written status out. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "operator/api/backup.h"
#include "operator/controller/backup.h"
#include "operator/jobspec.h"
#include "tests/unit/api_testlib.h"
#include "tests/unit/ctl_testlib.h"

#define NOW 1796126400 /* 2026-12-01T12:00:00Z */
#define SHA "3b22a8e1c0f4d5b6a798011223344556677889aabbccddeeff00112233445566"

static const char base_obj[] =
    "{\"apiVersion\":\"lifeboat.dev/v1alpha1\",\"kind\":\"DatabaseBackup\","
    "\"metadata\":{\"name\":\"b1\",\"namespace\":\"app\",\"uid\":\"u-1\",\"generation\":1,"
    "\"resourceVersion\":\"10\"},"
    "\"spec\":{\"database\":{\"host\":\"db.app.svc\",\"user\":\"app\","
    "\"passwordSecretRef\":{\"name\":\"app-db\",\"key\":\"password\"},\"database\":\"app\"},"
    "\"storage\":{\"volume\":{\"claimName\":\"db-backups\"}},"
    "\"encryption\":{\"passphraseSecretRef\":{\"name\":\"pp\",\"key\":\"passphrase\"}}}}";

/* Termination messages. */
enum {
	R_NONE,
	R_BACKUP_OK,
	R_BACKUP_NOSHA,
	R_DB_ERROR,
	R_VERIFY_OK,
	R_VERIFY_BAD,
	R_VERIFY_UNSURE,
	R_GARBAGE,
	R_DELETE_OK,
	R_DELETE_BAD
};
static const char *const results[] = {
    [R_NONE] = NULL,
    [R_BACKUP_OK] = "{\"command\":\"backup\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
		    "\"durationSeconds\":3.5,\"completionTime\":\"2026-12-01T11:59:00Z\","
		    "\"artifact\":{\"location\":\"file:///backup-volume/app/b1/\",\"size\":1234,"
		    "\"sha256\":\"" SHA "\",\"encrypted\":true,\"format\":\"custom\","
		    "\"compression\":\"zstd:3\"},"
		    "\"database\":{\"name\":\"app\",\"serverVersion\":\"16.4\",\"tableCount\":3}}",
    [R_BACKUP_NOSHA] = "{\"command\":\"backup\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
		       "\"artifact\":{\"size\":1234}}",
    [R_DB_ERROR] = "{\"command\":\"backup\",\"phase\":\"Failed\",\"reason\":\"DatabaseError\","
		   "\"message\":\"password authentication failed for user app\"}",
    [R_VERIFY_OK] = "{\"command\":\"verify\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
		    "\"verification\":{\"verified\":true,\"method\":\"sha256+mdc\"}}",
    [R_VERIFY_UNSURE] = "{\"command\":\"verify\",\"phase\":\"Completed\",\"reason\":"
			"\"Succeeded\",\"verification\":{\"verified\":false}}",
    [R_VERIFY_BAD] = "{\"command\":\"verify\",\"phase\":\"Failed\","
		     "\"reason\":\"IntegrityCheckFailed\",\"message\":\"checksum mismatch\","
		     "\"verification\":{\"verified\":false}}",
    [R_GARBAGE] = "pg_dump: error: connection to server failed\n",
    [R_DELETE_OK] = "{\"command\":\"delete\",\"phase\":\"Completed\",\"reason\":\"Succeeded\"}",
    [R_DELETE_BAD] = "{\"command\":\"delete\",\"phase\":\"Failed\",\"reason\":\"StorageError\","
		     "\"message\":\"volume not writable\"}",
};

/* A container: "" absent, "run", "ok", "fail", "oom". */
struct cstate {
	const char *state;
	int result;
};

struct row {
	const char *name;
	const char *edits[6];  /* "path=json" on the object, "path" alone deletes */
	const char *job;       /* NULL none, "active", "complete", "failed", "deadline" */
	const char *pod_phase; /* NULL: no pod */
	const char *pod_reason;
	struct cstate backup, verify;
	const char *delete_job;
	struct cstate del;
	const char *actions;	  /* expected kinds, events as Event:W:Reason */
	const char *phase;	  /* written status.phase, NULL when no status write */
	const char *ready_reason; /* Ready's reason in the written status */
	const char *message_has;  /* status.message contains */
	const char *status_check; /* "path=json" that must hold in the written status */
};

static struct json_object *job_json(const char *kind)
{
	if (!kind)
		return NULL;
	struct json_object *j = tl_json("{\"metadata\":{\"name\":\"b1-backup\"},"
					"\"status\":{\"startTime\":\"2026-12-01T11:58:00Z\"}}");
	if (strcmp(kind, "active") == 0)
		tl_set(j, "status.active", "1");
	else if (strcmp(kind, "complete") == 0)
		tl_set(j, "status.conditions", "[{\"type\":\"Complete\",\"status\":\"True\"}]");
	else if (strcmp(kind, "complete-just-now") == 0 || strcmp(kind, "complete-long-ago") == 0) {
		tl_set(j, "status.conditions", "[{\"type\":\"Complete\",\"status\":\"True\"}]");
		tl_set(j, "status.completionTime",
		       strcmp(kind, "complete-long-ago") == 0 ? "\"2026-12-01T11:50:00Z\""
							      : "\"2026-12-01T11:59:50Z\"");
	} else if (strcmp(kind, "failed") == 0)
		tl_set(
		    j, "status.conditions",
		    "[{\"type\":\"Failed\",\"status\":\"True\",\"reason\":"
		    "\"BackoffLimitExceeded\",\"lastTransitionTime\":\"2026-12-01T11:59:55Z\"}]");
	else if (strcmp(kind, "deadline") == 0)
		tl_set(
		    j, "status.conditions",
		    "[{\"type\":\"Failed\",\"status\":\"True\",\"reason\":\"DeadlineExceeded\"}]");
	return j;
}

static struct json_object *container_json(const char *name, const struct cstate *c)
{
	struct json_object *cs = json_object_new_object();
	json_object_object_add(cs, "name", json_object_new_string(name));
	struct json_object *state = json_object_new_object();
	json_object_object_add(cs, "state", state);
	if (strcmp(c->state, "run") == 0) {
		json_object_object_add(state, "running", json_object_new_object());
		return cs;
	}
	if (strcmp(c->state, "wait") == 0 || strcmp(c->state, "nosecret") == 0) {
		/* "wait": an ordinary wait (PodInitializing); "nosecret": stuck */
		int stuck = strcmp(c->state, "nosecret") == 0;
		struct json_object *w = json_object_new_object();
		json_object_object_add(w, "reason",
				       json_object_new_string(stuck ? "CreateContainerConfigError"
								    : "PodInitializing"));
		if (stuck)
			json_object_object_add(
			    w, "message", json_object_new_string("secret \"app-db\" not found"));
		json_object_object_add(state, "waiting", w);
		return cs;
	}
	struct json_object *t = json_object_new_object();
	json_object_object_add(state, "terminated", t);
	int ok = strcmp(c->state, "ok") == 0, oom = strcmp(c->state, "oom") == 0;
	json_object_object_add(t, "exitCode", json_object_new_int(ok ? 0 : oom ? 137 : 3));
	json_object_object_add(t, "reason",
			       json_object_new_string(ok    ? "Completed"
						      : oom ? "OOMKilled"
							    : "Error"));
	if (results[c->result])
		json_object_object_add(t, "message", json_object_new_string(results[c->result]));
	return cs;
}

static struct json_object *pod_json(const char *phase, const char *reason, const char *c1,
				    const struct cstate *s1, int c1_init, const char *c2,
				    const struct cstate *s2)
{
	if (!phase)
		return NULL;
	struct json_object *p = tl_json("{\"metadata\":{\"name\":\"b1-backup-x\"},\"status\":{}}");
	struct json_object *st = NULL;
	json_object_object_get_ex(p, "status", &st);
	json_object_object_add(st, "phase", json_object_new_string(phase));
	if (reason && strcmp(reason, "Unschedulable") == 0)
		tl_set(p, "status.conditions",
		       "[{\"type\":\"PodScheduled\",\"status\":\"False\",\"reason\":"
		       "\"Unschedulable\",\"message\":\"0/1 nodes are available: 1 Insufficient "
		       "memory.\"}]");
	else if (reason)
		json_object_object_add(st, "reason", json_object_new_string(reason));
	struct json_object *init = json_object_new_array(), *main_ = json_object_new_array();
	if (s1 && s1->state && *s1->state)
		json_object_array_add(c1_init ? init : main_, container_json(c1, s1));
	if (s2 && s2->state && *s2->state)
		json_object_array_add(main_, container_json(c2, s2));
	json_object_object_add(st, "initContainerStatuses", init);
	json_object_object_add(st, "containerStatuses", main_);
	return p;
}

/* Runs one observation; *status_out gets the written status (or NULL). */
static char *run(const struct row *r, struct json_object **status_out, struct ctl_actions *acts)
{
	struct json_object *obj = tl_json(base_obj);
	for (size_t i = 0; i < 6 && r->edits[i]; i++)
		tl_apply_edit(obj, r->edits[i]);
	struct api_backup *b = NULL;
	int rc = api_backup_parse(&b, obj);
	char *perr = rc ? strdup(err_msg()) : NULL;

	struct json_object *job = job_json(r->job);
	struct json_object *pod;
	if (r->verify.state && *r->verify.state)
		pod = pod_json(r->pod_phase, r->pod_reason, JOBSPEC_CONTAINER_BACKUP, &r->backup, 1,
			       JOBSPEC_CONTAINER_VERIFY, &r->verify);
	else
		pod = pod_json(r->pod_phase, r->pod_reason, JOBSPEC_CONTAINER_BACKUP, &r->backup,
			       !(tl_lookup(obj, "spec.verify") &&
				 !json_object_get_boolean(tl_lookup(obj, "spec.verify"))),
			       NULL, NULL);
	struct json_object *djob = job_json(r->delete_job);
	struct json_object *dpod =
	    r->delete_job && r->del.state
		? pod_json("Failed", NULL, JOBSPEC_CONTAINER_DELETE, &r->del, 0, NULL, NULL)
		: NULL;

	struct jobspec_opts opts = {.image = "lifeboat-job"};
	struct ctl_backup_input in = {
	    .obj = obj, .backup = b, .spec_error = perr, .opts = &opts, .now = NOW};
	ctl_job_observe(&in.job, job);
	ctl_pod_observe(&in.pod, pod);
	ctl_job_observe(&in.delete_job, djob);
	ctl_pod_observe(&in.delete_pod, dpod);

	memset(acts, 0, sizeof(*acts));
	assert_int_equal(ctl_backup_reconcile(acts, &in), 0);
	char *d = tl_describe(acts);
	const struct ctl_action *w = ctl_actions_find(acts, CTL_ACTION_WRITE_STATUS);
	*status_out = w ? json_object_get(w->body) : NULL;

	/* The same observation with the written status applied: nothing more
	 * to do (no repeated events, no second Job). */
	if (w && !ctl_actions_find(acts, CTL_ACTION_CREATE_JOB) &&
	    !ctl_actions_find(acts, CTL_ACTION_ADD_FINALIZER) &&
	    !ctl_actions_find(acts, CTL_ACTION_REMOVE_FINALIZER) &&
	    !ctl_actions_find(acts, CTL_ACTION_DELETE_JOB)) {
		json_object_object_add(obj, "status", json_object_get(w->body));
		struct ctl_actions again = {0};
		assert_int_equal(ctl_backup_reconcile(&again, &in), 0);
		char *d2 = tl_describe(&again);
		if (again.n != 0)
			fail_msg("%s: second reconcile not idle: %s", r->name, d2);
		free(d2);
		ctl_actions_dispose(&again);
	}

	json_object_put(job);
	json_object_put(pod);
	json_object_put(djob);
	json_object_put(dpod);
	api_backup_free(b);
	free(perr);
	json_object_put(obj);
	return d;
}

#define RUNNING_STATUS                                                                             \
	"status={\"phase\":\"Running\",\"observedGeneration\":1,\"jobName\":\"b1-backup\"}"

static const struct row rows[] = {
    {.name = "new backup: the Job is created, Pending",
     .actions = "CreateJob,Event:N:Pending,WriteStatus",
     .phase = "Pending",
     .ready_reason = "Pending",
     .message_has = "created Job b1-backup",
     .status_check = "jobName=\"b1-backup\""},
    {.name = "no encryption: a Warning event",
     .edits = {"spec.encryption"},
     .actions = "CreateJob,Event:W:NotEncrypted,Event:N:Pending,WriteStatus",
     .phase = "Pending",
     .ready_reason = "Pending"},
    {.name = "deletionPolicy Delete: the finalizer first",
     .edits = {"spec.deletionPolicy=\"Delete\""},
     .actions = "AddFinalizer,CreateJob,Event:N:Pending,WriteStatus",
     .phase = "Pending"},
    {.name = "Retain with a stale finalizer: removed",
     .edits = {"metadata.finalizers=[\"lifeboat.dev/delete-stored-backup\"]"},
     .actions = "RemoveFinalizer,CreateJob,Event:N:Pending,WriteStatus",
     .phase = "Pending"},
    {.name = "invalid spec (the operator's own rule): InvalidSpec, nothing launched",
     .edits = {"spec.storage.volume.subPath=\"../x\""},
     .actions = "Event:W:InvalidSpec,WriteStatus",
     .phase = "Pending",
     .ready_reason = "InvalidSpec",
     .message_has = "spec.storage.volume",
     .status_check = "conditions.0.observedGeneration=1"},
    {.name = "invalid spec, not even a spec: InvalidSpec",
     .edits = {"spec"},
     .actions = "Event:W:InvalidSpec,WriteStatus",
     .phase = "Pending",
     .ready_reason = "InvalidSpec",
     .message_has = "spec"},
    {.name = "unreadable spec deleted with the finalizer, no Job ever: the finalizer goes",
     .edits = {"spec", "metadata.deletionTimestamp=\"2026-12-01T11:00:00Z\"",
	       "metadata.finalizers=[\"lifeboat.dev/delete-stored-backup\"]"},
     .actions = "RemoveFinalizer"},
    {.name = "unreadable spec deleted with the finalizer after a Job ran: kept, says how",
     .edits = {"spec", "metadata.deletionTimestamp=\"2026-12-01T11:00:00Z\"",
	       "metadata.finalizers=[\"lifeboat.dev/delete-stored-backup\"]",
	       "status={\"phase\":\"Completed\",\"jobName\":\"b1-backup\"}"},
     .actions = "Event:W:InvalidSpec,WriteStatus",
     .phase = "Pending",
     .ready_reason = "InvalidSpec",
     .message_has = "kubectl patch databasebackup b1 --type=merge"},
    {.name = "unreadable spec deleted without our finalizer: InvalidSpec only",
     .edits = {"spec", "metadata.deletionTimestamp=\"2026-12-01T11:00:00Z\""},
     .actions = "Event:W:InvalidSpec,WriteStatus",
     .phase = "Pending",
     .ready_reason = "InvalidSpec"},
    {.name = "job exists, no pod yet, no status seen (our write not cached yet): Pending, no "
	     "second event",
     .job = "active",
     .actions = "WriteStatus",
     .message_has = "created Job b1-backup",
     .phase = "Pending",
     .status_check = "startTime=\"2026-12-01T11:58:00Z\""},
    {.name = "a pod that cannot start (Secret missing): Pending, PodNotStarting, a Warning",
     .edits = {"status={\"phase\":\"Pending\",\"observedGeneration\":1,\"jobName\":"
	       "\"b1-backup\",\"startTime\":\"2026-12-01T11:58:00Z\"}"},
     .job = "active",
     .pod_phase = "Pending",
     .backup = {"nosecret", 0},
     .actions = "Event:W:PodNotStarting,WriteStatus",
     .phase = "Pending",
     .ready_reason = "PodNotStarting",
     .message_has = "container backup cannot start: CreateContainerConfigError: secret "
		    "\"app-db\" not found"},
    {.name = "an ordinary wait (PodInitializing) is not stuck",
     .edits = {"status={\"phase\":\"Pending\",\"observedGeneration\":1,\"jobName\":"
	       "\"b1-backup\",\"startTime\":\"2026-12-01T11:58:00Z\"}"},
     .job = "active",
     .pod_phase = "Pending",
     .backup = {"wait", 0},
     .actions = ""},
    {.name = "a pod no node fits: Pending, PodUnschedulable with the scheduler's words",
     .edits = {"status={\"phase\":\"Pending\",\"observedGeneration\":1,\"jobName\":"
	       "\"b1-backup\",\"startTime\":\"2026-12-01T11:58:00Z\"}"},
     .job = "active",
     .pod_phase = "Pending",
     .pod_reason = "Unschedulable",
     .actions = "Event:W:PodUnschedulable,WriteStatus",
     .phase = "Pending",
     .ready_reason = "PodUnschedulable",
     .message_has = "Insufficient memory"},
    {.name = "pod runs the backup: Running",
     .edits = {"status={\"phase\":\"Pending\",\"observedGeneration\":1}"},
     .job = "active",
     .pod_phase = "Pending",
     .backup = {"run", 0},
     .actions = "Event:N:Running,WriteStatus",
     .phase = "Running",
     .ready_reason = "Running"},
    {.name = "backup done, verify runs: Verifying",
     .edits = {RUNNING_STATUS},
     .job = "active",
     .pod_phase = "Running",
     .backup = {"ok", R_BACKUP_OK},
     .verify = {"run", 0},
     .actions = "Event:N:Verifying,WriteStatus",
     .phase = "Verifying",
     .ready_reason = "Verifying"},
    {.name = "verify ok: Completed with the artifact",
     .edits = {"status={\"phase\":\"Verifying\",\"observedGeneration\":1}"},
     .job = "complete",
     .pod_phase = "Succeeded",
     .backup = {"ok", R_BACKUP_OK},
     .verify = {"ok", R_VERIFY_OK},
     .actions = "Event:N:Completed,WriteStatus",
     .phase = "Completed",
     .ready_reason = "Succeeded",
     .message_has = SHA,
     .status_check = "artifact.sha256=\"" SHA "\""},
    {.name = "Completed copies size, database, verification, times",
     .edits = {RUNNING_STATUS},
     .job = "complete",
     .pod_phase = "Succeeded",
     .backup = {"ok", R_BACKUP_OK},
     .verify = {"ok", R_VERIFY_OK},
     .actions = "Event:N:Completed,WriteStatus",
     .phase = "Completed",
     .status_check = "database.tableCount=3"},
    {.name = "Completed: verification copied",
     .edits = {RUNNING_STATUS},
     .job = "complete",
     .pod_phase = "Succeeded",
     .backup = {"ok", R_BACKUP_OK},
     .verify = {"ok", R_VERIFY_OK},
     .actions = "Event:N:Completed,WriteStatus",
     .phase = "Completed",
     .status_check = "verification.verified=true"},
    {.name = "Completed: completionTime from the result",
     .edits = {RUNNING_STATUS},
     .job = "complete",
     .pod_phase = "Succeeded",
     .backup = {"ok", R_BACKUP_OK},
     .verify = {"ok", R_VERIFY_OK},
     .actions = "Event:N:Completed,WriteStatus",
     .phase = "Completed",
     .status_check = "completionTime=\"2026-12-01T11:59:00Z\""},
    {.name = "verify false: Completed straight from backup, Verified NotRequested",
     .edits = {"spec.verify=false", RUNNING_STATUS},
     .job = "complete",
     .pod_phase = "Succeeded",
     .backup = {"ok", R_BACKUP_OK},
     .actions = "Event:N:Completed,WriteStatus",
     .phase = "Completed",
     .status_check = "conditions.1.reason=\"NotRequested\""},
    {.name = "Job complete but no sha256: Failed, never a false Completed",
     .edits = {"spec.verify=false", RUNNING_STATUS},
     .job = "complete",
     .pod_phase = "Succeeded",
     .backup = {"ok", R_BACKUP_NOSHA},
     .actions = "Event:W:JobFailed,WriteStatus",
     .phase = "Failed",
     .ready_reason = "JobFailed"},
    {.name = "Job complete, result garbage: Failed",
     .edits = {"spec.verify=false", RUNNING_STATUS},
     .job = "complete",
     .pod_phase = "Succeeded",
     .backup = {"ok", R_GARBAGE},
     .actions = "Event:W:JobFailed,WriteStatus",
     .phase = "Failed"},
    {.name = "Job complete, verify result missing: Failed",
     .edits = {RUNNING_STATUS},
     .job = "complete",
     .pod_phase = "Succeeded",
     .backup = {"ok", R_BACKUP_OK},
     .verify = {"ok", R_NONE},
     .actions = "Event:W:JobFailed,WriteStatus",
     .phase = "Failed"},
    {.name = "Job complete, its pod's final status not cached yet: wait (requeue), nothing "
	     "written",
     .edits = {RUNNING_STATUS},
     .job = "complete-just-now",
     .pod_phase = "Running",
     .backup = {"run", 0},
     .actions = "RequeueAfter"},
    {.name = "Job complete, no pod cached yet: wait",
     .edits = {RUNNING_STATUS},
     .job = "complete-just-now",
     .actions = "RequeueAfter"},
    {.name = "Job complete long ago and its pod never showed a result: Failed JobFailed",
     .edits = {RUNNING_STATUS},
     .job = "complete-long-ago",
     .actions = "Event:W:JobFailed,WriteStatus",
     .phase = "Failed",
     .ready_reason = "JobFailed"},
    {.name = "Job failed but the cached pod still runs: wait for it",
     .edits = {RUNNING_STATUS},
     .job = "failed",
     .pod_phase = "Running",
     .backup = {"run", 0},
     .actions = "RequeueAfter"},
    {.name = "verify says Completed but not verified: true: Failed, never Verified",
     .edits = {RUNNING_STATUS},
     .job = "complete",
     .pod_phase = "Succeeded",
     .backup = {"ok", R_BACKUP_OK},
     .verify = {"ok", R_VERIFY_UNSURE},
     .actions = "Event:W:JobFailed,WriteStatus",
     .phase = "Failed",
     .message_has = "verification.verified: true"},
    {.name = "wrong password: Failed with the job's reason and message",
     .edits = {RUNNING_STATUS},
     .job = "failed",
     .pod_phase = "Failed",
     .backup = {"fail", R_DB_ERROR},
     .actions = "Event:W:DatabaseError,WriteStatus",
     .phase = "Failed",
     .ready_reason = "DatabaseError",
     .message_has = "password authentication failed"},
    {.name = "verify fails: Failed IntegrityCheckFailed, Verified False",
     .edits = {"status={\"phase\":\"Verifying\",\"observedGeneration\":1}"},
     .job = "failed",
     .pod_phase = "Failed",
     .backup = {"ok", R_BACKUP_OK},
     .verify = {"fail", R_VERIFY_BAD},
     .actions = "Event:W:IntegrityCheckFailed,WriteStatus",
     .phase = "Failed",
     .ready_reason = "IntegrityCheckFailed",
     .status_check = "conditions.1.status=\"False\""},
    {.name = "OOM-killed: Failed OOMKilled",
     .edits = {RUNNING_STATUS},
     .job = "failed",
     .pod_phase = "Failed",
     .backup = {"oom", R_NONE},
     .actions = "Event:W:OOMKilled,WriteStatus",
     .phase = "Failed",
     .ready_reason = "OOMKilled",
     .message_has = "limits.memory"},
    {.name = "OOM-killed pod the Job still retries: no verdict yet, nothing written",
     .edits = {"status={\"phase\":\"Running\",\"observedGeneration\":1,\"jobName\":"
	       "\"b1-backup\",\"startTime\":\"2026-12-01T11:58:00Z\"}"},
     .job = "active",
     .pod_phase = "Failed",
     .backup = {"oom", R_NONE},
     .actions = ""},
    {.name = "deadline: Failed DeadlineExceeded",
     .edits = {RUNNING_STATUS},
     .job = "deadline",
     .pod_phase = "Failed",
     .backup = {"fail", R_NONE},
     .actions = "Event:W:DeadlineExceeded,WriteStatus",
     .phase = "Failed",
     .ready_reason = "DeadlineExceeded"},
    {.name = "pod lost: Failed PodLost, never a stale Running",
     .edits = {RUNNING_STATUS},
     .job = "failed",
     .actions = "Event:W:PodLost,WriteStatus",
     .phase = "Failed",
     .ready_reason = "PodLost"},
    {.name = "the Job deleted while Running: Failed PodLost, no second Job",
     .edits = {RUNNING_STATUS},
     .actions = "Event:W:PodLost,WriteStatus",
     .phase = "Failed",
     .ready_reason = "PodLost",
     .message_has = "was deleted"},
    {.name = "pod evicted: Failed PodLost",
     .edits = {RUNNING_STATUS},
     .job = "failed",
     .pod_phase = "Failed",
     .pod_reason = "Evicted",
     .backup = {"fail", R_NONE},
     .actions = "Event:W:PodLost,WriteStatus",
     .phase = "Failed",
     .message_has = "Evicted"},
    {.name = "failed with log tail instead of a result: JobFailed",
     .edits = {RUNNING_STATUS},
     .job = "failed",
     .pod_phase = "Failed",
     .backup = {"fail", R_GARBAGE},
     .actions = "Event:W:JobFailed,WriteStatus",
     .phase = "Failed",
     .ready_reason = "JobFailed",
     .message_has = "BackoffLimitExceeded"},
    {.name = "a retried pod between attempts: the phase stays, nothing written",
     .edits = {"status={\"phase\":\"Running\",\"observedGeneration\":1,\"jobName\":"
	       "\"b1-backup\",\"startTime\":\"2026-12-01T11:58:00Z\"}"},
     .job = "active",
     .actions = ""},
    {.name = "Completed is final: the Job gone (TTL) changes nothing",
     .edits = {"status={\"phase\":\"Completed\",\"observedGeneration\":1}"},
     .actions = ""},
    {.name = "Completed stays Completed when deletionPolicy changes (generation 2)",
     .edits = {"metadata.generation=2",
	       "status={\"phase\":\"Completed\",\"observedGeneration\":1,\"conditions\":[{"
	       "\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Succeeded\",\"message\":"
	       "\"\",\"observedGeneration\":1,\"lastTransitionTime\":\"2026-12-01T11:00:00Z\"}]}"},
     .actions = "WriteStatus",
     .phase = "Completed",
     .status_check = "conditions.0.lastTransitionTime=\"2026-12-01T11:00:00Z\""},
    {.name = "Failed is final",
     .edits = {"status={\"phase\":\"Failed\",\"observedGeneration\":1}"},
     .actions = ""},
    {.name = "deleted, Retain: only the finalizer goes",
     .edits = {"metadata.deletionTimestamp=\"2026-12-01T11:00:00Z\"",
	       "metadata.finalizers=[\"lifeboat.dev/delete-stored-backup\"]"},
     .actions = "RemoveFinalizer"},
    {.name = "deleted without our finalizer: nothing",
     .edits = {"metadata.deletionTimestamp=\"2026-12-01T11:00:00Z\"",
	       "spec.deletionPolicy=\"Delete\""},
     .actions = ""},
    {.name = "deleted, Delete: the delete Job, Deleting",
     .edits = {"metadata.deletionTimestamp=\"2026-12-01T11:00:00Z\"",
	       "metadata.finalizers=[\"lifeboat.dev/delete-stored-backup\"]",
	       "spec.deletionPolicy=\"Delete\"",
	       "status={\"phase\":\"Completed\",\"observedGeneration\":1}"},
     .actions = "CreateJob,Event:N:Deleting,WriteStatus",
     .phase = "Deleting",
     .ready_reason = "Deleting"},
    {.name = "deleted while the backup runs: that Job deleted too",
     .edits = {"metadata.deletionTimestamp=\"2026-12-01T11:00:00Z\"",
	       "metadata.finalizers=[\"lifeboat.dev/delete-stored-backup\"]",
	       "spec.deletionPolicy=\"Delete\"", RUNNING_STATUS},
     .job = "active",
     .actions = "DeleteJob,CreateJob,Event:N:Deleting,WriteStatus",
     .phase = "Deleting"},
    {.name = "delete Job running, already Deleting: Ready written, no second phase event",
     .edits = {"metadata.deletionTimestamp=\"2026-12-01T11:00:00Z\"",
	       "metadata.finalizers=[\"lifeboat.dev/delete-stored-backup\"]",
	       "spec.deletionPolicy=\"Delete\"",
	       "status={\"phase\":\"Deleting\",\"observedGeneration\":1,\"message\":\"Job "
	       "b1-delete removes the stored backup\"}"},
     .delete_job = "active",
     .actions = "WriteStatus",
     .phase = "Deleting"},
    {.name = "delete Job succeeded: finalizer removed",
     .edits = {"metadata.deletionTimestamp=\"2026-12-01T11:00:00Z\"",
	       "metadata.finalizers=[\"lifeboat.dev/delete-stored-backup\"]",
	       "spec.deletionPolicy=\"Delete\""},
     .delete_job = "complete",
     .del = {"ok", R_DELETE_OK},
     .actions = "RemoveFinalizer"},
    {.name = "delete Job failed: finalizer kept, DeleteFailed",
     .edits = {"metadata.deletionTimestamp=\"2026-12-01T11:00:00Z\"",
	       "metadata.finalizers=[\"lifeboat.dev/delete-stored-backup\"]",
	       "spec.deletionPolicy=\"Delete\"",
	       "status={\"phase\":\"Deleting\",\"observedGeneration\":1}"},
     .delete_job = "failed",
     .del = {"fail", R_DELETE_BAD},
     .actions = "Event:W:DeleteFailed,WriteStatus",
     .phase = "Deleting",
     .ready_reason = "DeleteFailed",
     .message_has = "volume not writable"},
};

static void check_row(const struct row *r)
{
	struct ctl_actions acts;
	struct json_object *st = NULL;
	char *d = run(r, &st, &acts);
	if (strcmp(d, r->actions) != 0)
		fail_msg("%s: actions %s, want %s", r->name, d, r->actions);
	if (r->phase) {
		assert_non_null(st);
		assert_string_equal(json_object_get_string(tl_lookup(st, "phase")), r->phase);
	} else if (!ctl_actions_find(&acts, CTL_ACTION_WRITE_STATUS)) {
		assert_null(st);
	}
	if (r->ready_reason) {
		struct json_object *c = tl_lookup(st, "conditions.0");
		assert_string_equal(json_object_get_string(tl_lookup(c, "type")), "Ready");
		assert_string_equal(json_object_get_string(tl_lookup(c, "reason")),
				    r->ready_reason);
		assert_non_null(tl_lookup(c, "lastTransitionTime"));
		assert_int_equal(json_object_get_int64(tl_lookup(c, "observedGeneration")), 1);
	}
	if (r->message_has) {
		const char *m = json_object_get_string(tl_lookup(st, "message"));
		if (!m || !strstr(m, r->message_has))
			fail_msg("%s: message %s lacks %s", r->name, m ? m : "(none)",
				 r->message_has);
	}
	if (r->status_check) {
		const char *eq = strchr(r->status_check, '=');
		char *path = strndup(r->status_check, (size_t)(eq - r->status_check));
		struct json_object *want = tl_json(eq + 1), *got = tl_lookup(st, path);
		if (!json_object_equal(want, got))
			fail_msg("%s: status.%s is %s, want %s", r->name, path,
				 got ? json_object_to_json_string(got) : "(absent)", eq + 1);
		json_object_put(want);
		free(path);
	}
	free(d);
	json_object_put(st);
	ctl_actions_dispose(&acts);
}

static void ctl_backup_reconcile__each_transition(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("  %s\n", rows[i].name);
		check_row(&rows[i]);
	}
}

/* The Job created is the builder's, under the deterministic name. */
static void ctl_backup_reconcile__creates_the_builders_job(void **state)
{
	(void)state;
	struct ctl_actions acts;
	struct json_object *st = NULL;
	static const struct row r = {.name = "create", .actions = ""};
	char *d = run(&r, &st, &acts);
	const struct ctl_action *c = ctl_actions_find(&acts, CTL_ACTION_CREATE_JOB);
	assert_non_null(c);
	assert_string_equal(c->name, "b1-backup");
	assert_string_equal(json_object_get_string(tl_lookup(c->body, "metadata.name")),
			    "b1-backup");
	assert_string_equal(json_object_get_string(tl_lookup(c->body, "kind")), "Job");
	free(d);
	json_object_put(st);
	ctl_actions_dispose(&acts);
}

/* An unencrypted Completed backup says so in status.artifact.encrypted. */
static void ctl_backup_reconcile__unencrypted_artifact_says_false(void **state)
{
	(void)state;
	static const char unenc[] =
	    "{\"command\":\"backup\",\"phase\":\"Completed\",\"reason\":\"Succeeded\","
	    "\"artifact\":{\"size\":10,\"sha256\":\"" SHA "\"}}";
	struct json_object *obj = tl_json(base_obj);
	tl_set(obj, "spec.encryption", NULL);
	tl_set(obj, "spec.verify", "false");
	tl_set(obj, "status", "{\"phase\":\"Running\",\"observedGeneration\":1}");
	struct api_backup *b = NULL;
	assert_int_equal(api_backup_parse(&b, obj), 0);
	struct json_object *job = job_json("complete");
	struct cstate cs = {"ok", 0};
	struct json_object *pod =
	    pod_json("Succeeded", NULL, JOBSPEC_CONTAINER_BACKUP, &cs, 0, NULL, NULL);
	/* put the custom result in */
	struct json_object *t = tl_lookup(pod, "status.containerStatuses.0.state.terminated");
	json_object_object_add(t, "message", json_object_new_string(unenc));
	struct jobspec_opts opts = {.image = "lifeboat-job"};
	struct ctl_backup_input in = {.obj = obj, .backup = b, .opts = &opts, .now = NOW};
	ctl_job_observe(&in.job, job);
	ctl_pod_observe(&in.pod, pod);
	struct ctl_actions acts = {0};
	assert_int_equal(ctl_backup_reconcile(&acts, &in), 0);
	const struct ctl_action *w = ctl_actions_find(&acts, CTL_ACTION_WRITE_STATUS);
	assert_non_null(w);
	assert_string_equal(json_object_get_string(tl_lookup(w->body, "phase")), "Completed");
	struct json_object *enc = tl_lookup(w->body, "artifact.encrypted");
	assert_non_null(enc);
	assert_false(json_object_get_boolean(enc));
	ctl_actions_dispose(&acts);
	json_object_put(job);
	json_object_put(pod);
	api_backup_free(b);
	json_object_put(obj);
}

/* The API server refusing the Job: InvalidSpec with its words, a Warning. */
static void ctl_backup_job_refused__is_invalid_spec(void **state)
{
	(void)state;
	struct json_object *obj = tl_json(base_obj);
	struct api_backup *b = NULL;
	assert_int_equal(api_backup_parse(&b, obj), 0);
	struct jobspec_opts opts = {.image = "lifeboat-job"};
	struct ctl_backup_input in = {.obj = obj, .backup = b, .opts = &opts, .now = NOW};
	struct ctl_actions acts = {0};
	assert_int_equal(ctl_backup_job_refused(&acts, &in,
						"spec.template.spec.affinity.nodeAffinity: Invalid "
						"value"),
			 0);
	char *d = tl_describe(&acts);
	assert_string_equal(d, "Event:W:InvalidSpec,WriteStatus");
	const struct ctl_action *w = ctl_actions_find(&acts, CTL_ACTION_WRITE_STATUS);
	const char *m = json_object_get_string(tl_lookup(w->body, "message"));
	assert_non_null(strstr(m, "the API server refused the backup Job: "
				  "spec.template.spec.affinity.nodeAffinity"));
	assert_string_equal(json_object_get_string(tl_lookup(w->body, "conditions.0.reason")),
			    "InvalidSpec");
	free(d);
	ctl_actions_dispose(&acts);
	api_backup_free(b);
	json_object_put(obj);
}

/* A garbage or missing observed object reads as absent, never crashes. */
static void ctl_observe__garbage_is_absent_fields(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "{}",
	    "{\"status\":5}",
	    "{\"status\":{\"conditions\":{}}}",
	    "{\"status\":{\"conditions\":[5,{\"type\":1}]}}",
	    "{\"status\":{\"containerStatuses\":[1,{\"name\":\"backup\","
	    "\"state\":{\"terminated\":{\"exitCode\":\"x\"}}}]}}",
	    "[]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json_object *o = tl_json(bad[i]);
		struct ctl_job j;
		struct ctl_pod p;
		ctl_job_observe(&j, o);
		ctl_pod_observe(&p, o);
		assert_int_equal(j.present, 1);
		assert_false(j.complete || j.failed);
		assert_null(p.backup.message);
		json_object_put(o);
	}
	struct ctl_job j;
	ctl_job_observe(&j, NULL);
	assert_int_equal(j.present, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ctl_backup_reconcile__each_transition),
	    cmocka_unit_test(ctl_backup_reconcile__creates_the_builders_job),
	    cmocka_unit_test(ctl_backup_reconcile__unencrypted_artifact_says_false),
	    cmocka_unit_test(ctl_backup_job_refused__is_invalid_spec),
	    cmocka_unit_test(ctl_observe__garbage_is_absent_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
