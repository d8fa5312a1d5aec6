/* Performing a reconcile's actions (backup.h) against the API server: the
 * one place of the controllers that does I/O. */
#ifndef LIFEBOAT_CONTROLLER_APPLY_H
#define LIFEBOAT_CONTROLLER_APPLY_H

#include <stddef.h>

struct json_object;
struct kube_client;
struct kube_resource;
struct events;
struct ctl_actions;

/* lifeboat.dev/v1alpha1 databasebackups, backupschedules, databaserestores. */
extern const struct kube_resource CTL_DATABASE_BACKUPS, CTL_BACKUP_SCHEDULES, CTL_DATABASE_RESTORES;

/* Performs acts, in order, for obj (the DatabaseBackup, BackupSchedule or
 * DatabaseRestore, by its kind, they were computed from, borrowed; its
 * metadata names the object and gives the resourceVersion). events may be NULL (dropped).
 * - CreateJob: a Job of that (deterministic) name that exists already is
 *   adopted: E_EXISTS counts as done.
 * - DeleteJob: propagationPolicy Background; E_NOTFOUND counts as done.
 * - WriteStatus: PUT to the status subresource of obj as observed (its
 *   resourceVersion makes it conditional); on 409 re-read and retried
 *   (kube_update_status_retry).
 * - Add/RemoveFinalizer: a merge patch of metadata.finalizers conditional on
 *   obj's resourceVersion (E_CONFLICT when it moved: requeue).
 * - Event: queued with events_emit (a full queue drops it).
 * - CreateBackup: a DatabaseBackup (a schedule's run); E_EXISTS counts as done.
 * - DeleteBackup: propagationPolicy Background; E_NOTFOUND counts as done.
 * - RequeueAfter: nothing here (the worker's).
 * Returns 0 or the first failure's code (the rest is not attempted; the
 * caller requeues, and the reconcile recomputes). */
int ctl_apply(struct kube_client *kc, struct events *events, struct json_object *obj,
	      const struct ctl_actions *acts);
/* ctl_apply that also says which action failed: *failed gets its index
 * (acts->n when none did). */
int ctl_apply_at(struct kube_client *kc, struct events *events, struct json_object *obj,
		 const struct ctl_actions *acts, size_t *failed);

#endif
