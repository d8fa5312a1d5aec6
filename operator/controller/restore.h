/* The DatabaseRestore reconcile: the restore, its source backup, its safety
 * backup and its Job as observed -> the actions (actions.h). Pure: no I/O,
 * no clock.
 *
 * The steps (docs/restore.md "On Kubernetes"), each explicit in status:
 * - an unreadable spec: Pending, Ready=False InvalidSpec;
 * - the source: backupRef must name a DatabaseBackup of the namespace
 *   (BackupNotFound) that is Completed with an artifact
 *   (BackupNotCompleted); both wait, looked at again every
 *   CTL_RESTORE_WAIT_MS, launching nothing. With source, the Job reads the
 *   manifest from storage;
 * - confirm must equal the target database's name (the backup's database
 *   when spec.target is unset): else Ready=False ConfirmationMismatch naming
 *   both, nothing launched (with connectionSecretRef and no database the
 *   job checks it);
 * - the safety backup (unless spec.safetyBackup.enabled false: a Warning
 *   event, status.safetyBackup.enabled false): a DatabaseBackup of the
 *   target named ctl_restore_safety_name, owned by the restore,
 *   deletionPolicy Retain, in spec.safetyBackup.storage or the source's
 *   storage, with the source's passphrase; phase SafetyBackup until it is
 *   Completed; its failure fails the restore (SafetyBackupFailed, target
 *   unchanged) before anything touched the target;
 * - the restore Job (jobspec_restore: backoffLimit 0, no TTL), phase
 *   Restoring; its end: Completed with restoredBackup, schemaCheck and
 *   auditRecord from the job's result, or Failed with the job's reason and
 *   targetUnchanged;
 * - never twice: the safety backup and the Job have deterministic names (an
 *   existing one is adopted); once status names the Job, a Job that is gone
 *   fails the restore (RestoreJobLost) rather than running it again; once
 *   Completed or Failed nothing changes;
 * - status.requestedBy from the annotation lifeboat.dev/requested-by (the
 *   admission webhook's), else CTL_RESTORE_UNKNOWN_REQUESTER. */
#ifndef LIFEBOAT_CONTROLLER_RESTORE_H
#define LIFEBOAT_CONTROLLER_RESTORE_H

#include <time.h>

#include "operator/controller/actions.h"
#include "operator/controller/backup.h"

struct json_object;
struct api_restore;
struct api_backup;
struct jobspec_opts;

#define CTL_PHASE_SAFETY_BACKUP "SafetyBackup"
#define CTL_PHASE_RESTORING "Restoring"
#define CTL_REQUESTED_BY_ANNOTATION "lifeboat.dev/requested-by"
#define CTL_RESTORE_UNKNOWN_REQUESTER "unknown (admission webhook not installed)"
/* How often a restore waiting for its backup looks again. */
#define CTL_RESTORE_WAIT_MS 10000

struct ctl_restore_input {
	struct json_object *obj;	   /* the DatabaseRestore as observed */
	const struct api_restore *restore; /* obj parsed; NULL when it failed */
	const char *spec_error;		   /* the parse error then */
	/* backupRef's DatabaseBackup as observed (NULL: not found) and
	 * parsed (NULL: unreadable, backup_error says why) */
	struct json_object *backup_obj;
	const struct api_backup *backup;
	const char *backup_error;
	struct json_object *safety_obj; /* the safety DatabaseBackup, or NULL */
	struct ctl_job job;		/* the restore Job */
	struct ctl_pod pod;		/* its newest pod */
	const struct jobspec_opts *opts;
	time_t now;
};

/* Fills *out (zeroed by the caller; dispose it after). Returns 0. Events
 * only with a status change: a repeated reconcile adds nothing. */
int ctl_restore_reconcile(struct ctl_actions *out, const struct ctl_restore_input *in);
/* The API server refused the restore Job: InvalidSpec with its message. */
int ctl_restore_job_refused(struct ctl_actions *out, const struct ctl_restore_input *in,
			    const char *message);
/* "<restore>-safety" (a long name shortened with a hash); caller frees. */
char *ctl_restore_safety_name(const char *restore);

#endif
