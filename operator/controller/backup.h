/* The DatabaseBackup reconcile: what the operator observed of one backup
 * (the resource, its Jobs, their newest pods) and the time -> the actions
 * that bring the world to what the spec asks. Pure: no I/O, no clock; the
 * apply step (apply.h) performs the actions.
 *
 * Rules (docs/api.md "DatabaseBackup"):
 * - an invalid spec: phase Pending, Ready=False reason InvalidSpec with the
 *   error (the field path first) as message, a Warning event, nothing
 *   launched;
 * - Pending -> Running -> (Verifying) -> Completed | Failed, each change an
 *   event (Warning for Failed); Completed only when the backup's result is ok
 *   and carries the dump's sha256 and size (and, with verify, the verify
 *   result is ok); a Job that failed gives Failed with the reason (the job's
 *   own from its result, else OOMKilled, DeadlineExceeded, PodLost or
 *   JobFailed), never a stale Running; the verdict is the Job's (a failed
 *   pod the Job still retries changes nothing); a Job that disappears while
 *   Running or Verifying gives Failed PodLost, never a second Job;
 * - a pod that cannot start (a container waiting in CreateContainerConfigError,
 *   ErrImagePull, ImagePullBackOff, ...: a missing Secret or claim, a wrong
 *   image) or cannot be scheduled: still Pending (the Job may yet run), but
 *   Ready=False reason PodNotStarting or PodUnschedulable with the kubelet's
 *   or scheduler's words, and a Warning event;
 * - a Job the API server refuses (a jobTemplate setting it finds invalid):
 *   ctl_backup_job_refused, InvalidSpec with the server's message;
 * - no encryption: a Warning event when the Job is created and
 *   status.artifact.encrypted false;
 * - deletionPolicy Delete holds API_BACKUP_FINALIZER; deleting the resource
 *   runs the delete Job and the finalizer goes only once it succeeded (a
 *   failed delete keeps it: Ready=False DeleteFailed, a Warning event).
 *   Retain: the finalizer is removed. A backup Job still active when the
 *   resource goes is deleted (propagationPolicy Background).
 * - the Job's and the pod's caches come from separate watches: a Job seen
 *   finished before its pod's final status is cached waits (no status, a
 *   requeue after CTL_POD_CATCH_UP_MS) rather than judging on a stale pod,
 *   for up to CTL_POD_GRACE_S after the Job finished; only then is a missing
 *   result a failure;
 * - a Completed or Failed backup of the current generation is final: a Job
 *   that disappears later (TTL) changes nothing. */
#ifndef LIFEBOAT_CONTROLLER_BACKUP_H
#define LIFEBOAT_CONTROLLER_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/jobresult.h"
#include "operator/controller/actions.h"

struct json_object;
struct api_backup;
struct jobspec_opts;

#define CTL_PHASE_PENDING "Pending"
#define CTL_PHASE_RUNNING "Running"
#define CTL_PHASE_VERIFYING "Verifying"
#define CTL_PHASE_COMPLETED "Completed"
#define CTL_PHASE_FAILED "Failed"
#define CTL_PHASE_DELETING "Deleting"

/* How long a finished Job waits for its pod's final status to be cached,
 * and how often it looks again meanwhile. */
#define CTL_POD_GRACE_S 60
#define CTL_POD_CATCH_UP_MS 2000

/* One container's state. Strings are borrowed from the pod object. */
struct ctl_container {
	int running; /* started, not terminated */
	int terminated;
	int exit_code;
	const char *reason;	     /* OOMKilled, Error, Completed, ... */
	const char *message;	     /* the termination message: the job's JSON result */
	const char *waiting_reason;  /* state.waiting.reason (ErrImagePull, ...) */
	const char *waiting_message; /* state.waiting.message */
};

/* The newest pod of a Job. present 0: there is none. Strings borrowed. */
struct ctl_pod {
	int present;
	const char *phase;	      /* Pending | Running | Succeeded | Failed */
	const char *reason;	      /* status.reason (Evicted, NodeLost, ...) or NULL */
	int deleting;		      /* metadata.deletionTimestamp set */
	const char *unschedulable;    /* PodScheduled=False Unschedulable: its message */
	struct ctl_container backup;  /* JOBSPEC_CONTAINER_BACKUP, init or main */
	struct ctl_container verify;  /* JOBSPEC_CONTAINER_VERIFY */
	struct ctl_container del;     /* JOBSPEC_CONTAINER_DELETE */
	struct ctl_container restore; /* JOBSPEC_CONTAINER_RESTORE */
};

/* A Job's status. present 0: there is none. Strings borrowed. */
struct ctl_job {
	int present;
	int complete;		   /* condition Complete=True */
	int failed;		   /* condition Failed=True */
	const char *failed_reason; /* DeadlineExceeded, BackoffLimitExceeded, ... */
	const char *failed_message;
	int active;		/* status.active */
	const char *start_time; /* status.startTime, RFC 3339, or NULL */
	/* When the Job finished: status.completionTime, else the Complete or
	 * Failed condition's lastTransitionTime; NULL while it runs. */
	const char *finish_time;
	int deleting; /* metadata.deletionTimestamp set */
};

/* Why a failed Job failed: the job's own result first (it knows best: its
 * reason and message, the result kept), then what Kubernetes saw
 * (OOMKilled, DeadlineExceeded, PodLost, JobFailed). */
struct ctl_outcome {
	const char *reason;
	char *message; /* owned */
	struct jobresult result;
	int has_result;
};
void ctl_job_failure(struct ctl_outcome *o, const struct ctl_job *job, const struct ctl_pod *pod);
void ctl_outcome_dispose(struct ctl_outcome *o);
/* The job's result in a terminated container's termination message: 1 and
 * *out filled (dispose it), or 0 (not terminated, no message, not a
 * result). */
int ctl_container_result(struct jobresult *out, const struct ctl_container *c);
/* Why the pod cannot start (a container stuck waiting on an image or its
 * configuration, or unschedulable), or NULL; *reason gets PodNotStarting or
 * PodUnschedulable. Caller frees. */
char *ctl_pod_stuck(const struct ctl_pod *pod, const char **reason);

/* Readers of the observed objects (NULL gives present 0). The structs borrow
 * from the objects, which must outlive them. */
void ctl_job_observe(struct ctl_job *out, struct json_object *job);
void ctl_pod_observe(struct ctl_pod *out, struct json_object *pod);

struct ctl_backup_input {
	struct json_object *obj;	 /* the DatabaseBackup as observed */
	const struct api_backup *backup; /* obj parsed; NULL when it failed */
	const char *spec_error;		 /* the parse error when backup is NULL */
	const struct jobspec_opts *opts; /* for the Job builders */
	struct ctl_job job, delete_job;
	struct ctl_pod pod, delete_pod;
	time_t now;
};

/* Fills *out (zeroed by the caller; dispose it after) with what to do.
 * Returns 0; actions are only ever added. Events are added only with a
 * status change, so a repeated reconcile of the same observation adds
 * nothing. */
int ctl_backup_reconcile(struct ctl_actions *out, const struct ctl_backup_input *in);
/* The API server refused to create the backup Job (E_INVALID: the message
 * names the field): the actions that report it as InvalidSpec, nothing
 * launched. */
int ctl_backup_job_refused(struct ctl_actions *out, const struct ctl_backup_input *in,
			   const char *message);

#endif
