/* The BackupSchedule reconcile: the schedule, its own DatabaseBackups (as
 * observed) and the run times the caller computed from the cron expression
 * in the schedule's zone -> the actions (actions.h). Pure: no I/O, no clock,
 * no time-zone database.
 *
 * Rules (docs/api.md "BackupSchedule", docs/schedules.md):
 * - a run is due when the latest run time at or before now (due) is after
 *   status.lastScheduleTime (or, before the first run, the schedule's
 *   creation); the run's DatabaseBackup is <schedule>-<yyyymmddhhmm> (due,
 *   UTC; a long schedule name shortened with a hash) from backupTemplate,
 *   owned by the schedule, labelled lifeboat.dev/schedule=<schedule> (over
 *   63 characters shortened the same way) and annotated with its run time: a
 *   second reconcile, a restarted or a second operator make the same name,
 *   and AlreadyExists means done;
 * - after downtime at most one run starts, the latest (due), if
 *   startingDeadlineSeconds allows; the runs between are counted in
 *   status.missedCount and told in one Warning event (MissedRuns);
 * - concurrencyPolicy with an active backup: Forbid skips the run (counted,
 *   a Warning event RunSkipped), Replace deletes the active ones
 *   (Background) and starts the run, Allow starts it beside them;
 * - suspend: no runs; the due times pass without being replayed later;
 * - retention (retention.h) over the schedule's backups on every
 *   reconcile: the ones to go are deleted (DeleteBackup), with one event
 *   (Pruned) naming them and the count kept;
 * - status: lastScheduleTime, nextScheduleTime, lastSuccessfulTime,
 *   lastFailureTime, lastBackup {name, phase}, active [{name}],
 *   successCount, failureCount (backups seen finishing after the last one
 *   counted), missedCount, conditions (Ready: Scheduled | Suspended |
 *   InvalidSpec), observedGeneration; a requeue at the next run time. */
#ifndef LIFEBOAT_CONTROLLER_SCHEDULE_H
#define LIFEBOAT_CONTROLLER_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "operator/controller/actions.h"

struct api_schedule;

/* "no such time" for due and next. */
#define CTL_NO_TIME INT64_MIN
/* The annotation on each run's DatabaseBackup: its run time, RFC 3339. */
#define CTL_SCHEDULED_TIME_ANNOTATION "lifeboat.dev/scheduled-time"
/* The longest wait before looking again, whatever the next run time. */
#define CTL_SCHEDULE_MAX_WAIT_MS (10 * 60 * 1000)

/* One of the schedule's DatabaseBackups, as observed. Strings borrowed. */
struct ctl_sched_backup {
	const char *name;
	const char *phase;   /* status.phase; NULL before the first status */
	int64_t scheduled;   /* its run time (the annotation, else creation) */
	int32_t utc_offset;  /* the schedule's zone at scheduled */
	int referenced;	     /* a DatabaseRestore refers to it */
	int deleting;	     /* metadata.deletionTimestamp set */
	const char *reason;  /* its Ready condition's reason (NULL: none) */
	const char *message; /* its status.message (NULL: none) */
};

struct ctl_schedule_input {
	struct json_object *obj;	     /* the BackupSchedule as observed */
	const struct api_schedule *schedule; /* obj parsed; NULL when it failed */
	const char *spec_error;		     /* the parse, cron or zone error */
	int64_t now;
	int64_t due;	/* the latest run time <= now, or CTL_NO_TIME */
	int64_t next;	/* the first run time > now, or CTL_NO_TIME */
	int64_t since;	/* status.lastScheduleTime, else the schedule's creation */
	int64_t missed; /* run times after since and before due (the caller counts) */
	const struct ctl_sched_backup *backups;
	size_t nbackups;
};

/* Fills *out (zeroed by the caller) with what to do. Returns 0. */
int ctl_schedule_reconcile(struct ctl_actions *out, const struct ctl_schedule_input *in);

/* The longest schedule name a run's name holds whole: 253 (a name) less
 * "-yyyymmddhhmm". */
#define CTL_SCHEDULE_NAME_MAX (253 - 13)

/* "<schedule>-<yyyymmddhhmm>" of the run at t (UTC); a schedule name
 * longer than CTL_SCHEDULE_NAME_MAX is shortened with a hash of all of it
 * (jobspec_shorten), the same every time. Caller frees. */
char *ctl_schedule_run_name(const char *schedule, int64_t t);
/* The lifeboat.dev/schedule label value of the schedule's runs: the name,
 * or over 63 characters its start and a hash (jobspec_label_value). Caller
 * frees. */
char *ctl_schedule_label(const char *schedule);

#endif
