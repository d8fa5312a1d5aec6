/* The per-schedule series the alerts need (docs/alerts.md): a schedule's
 * nominal interval, whether it is suspended, when it was created, when its
 * newest successful backup completed and the sizes of its two newest
 * Completed backups. Computed from what the schedule's reconcile already
 * holds (the cron's run times around now, the schedule and its own
 * DatabaseBackups as cached), so nothing is kept beyond the caches and a
 * restarted or newly elected operator exports the same values.
 *
 * Semantics:
 * - interval: next - due, the gap between the latest run time at or before
 *   now and the first after it (the gap now falls in: a weekday schedule
 *   reads 3 days over the weekend, 1 day in the week); unknown (no series)
 *   when either is missing or the spec is invalid.
 * - the runs counted: Completed, not being deleted. last success: the
 *   largest status.completionTime among them (a run without one counts at
 *   its run time); sizes: status.artifact.size of the newest and the one
 *   before, ordered by run time (equal times by name, the larger first, as
 *   retention orders them); runs without a size are skipped.
 * - a value that is unknown has no series: schedmetrics_publish forgets it. */
#ifndef LIFEBOAT_SCHEDMETRICS_H
#define LIFEBOAT_SCHEDMETRICS_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct metrics;

/* "unknown" for the times and the sizes (CTL_NO_TIME's value). */
#define SCHEDMETRICS_NONE INT64_MIN

/* One of the schedule's DatabaseBackups as observed. name and phase are
 * borrowed from the object. */
struct schedmetrics_run {
	const char *name;
	const char *phase; /* status.phase; NULL before the first status */
	int64_t scheduled; /* its run time (the caller's: annotation, else creation) */
	int64_t completed; /* status.completionTime, or SCHEDMETRICS_NONE */
	int64_t size;	   /* status.artifact.size, or SCHEDMETRICS_NONE */
	int deleting;	   /* metadata.deletionTimestamp set */
};

struct schedmetrics {
	int64_t interval; /* seconds, or SCHEDMETRICS_NONE */
	int suspended;	  /* spec.suspend */
	int64_t created;  /* metadata.creationTimestamp, or SCHEDMETRICS_NONE */
	int64_t last_success;
	int64_t last_size, previous_size;
};

/* Reads backup (a DatabaseBackup) into *out; the strings stay borrowed
 * from it. Tolerates any shape (missing fields are unknown). */
void schedmetrics_run_observe(struct schedmetrics_run *out, struct json_object *backup,
			      int64_t scheduled);

/* Fills *out from the BackupSchedule object (suspend, creation), the run
 * times due and next (SCHEDMETRICS_NONE when unknown, e.g. an invalid
 * spec) and the schedule's runs (borrowed; n may be 0). Pure. */
void schedmetrics_compute(struct schedmetrics *out, struct json_object *schedule, int64_t due,
			  int64_t next, const struct schedmetrics_run *runs, size_t n);

/* Sets the schedule's series in m (the operator's families, metrics.h):
 * the known values set, the unknown ones forgotten. Errors of a full
 * family are counted by the registry and otherwise ignored. */
void schedmetrics_publish(struct metrics *m, const char *ns, const char *schedule,
			  const struct schedmetrics *s);

/* Forgets every schedule's series of these families (a replica that stops
 * leading stops reconciling, so its values would go stale). */
void schedmetrics_forget_all(struct metrics *m);

#endif
