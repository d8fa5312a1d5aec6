/* A BackupSchedule's retention: which of its backups to keep, and why. Pure:
 * no clock (now is given), no time-zone database (each backup carries the
 * schedule zone's UTC offset at its time, from the caller).
 *
 * Semantics (docs/api.md "retention"; restic's, as K8up uses them): a
 * backup is kept when any rule keeps it.
 * - Successful backups, newest first (by time; equal times by name, the
 *   larger first, so the order never depends on the input's):
 *   keepLast the first N; maxAge those with now - time < maxAge (a time in
 *   the future, from clock skew, counts as young); keepDaily / keepWeekly /
 *   keepMonthly the newest of each of the N most recent local days / ISO
 *   weeks / months that have one.
 * - Always kept: the newest successful backup (even when every rule would
 *   drop it), active ones (not finished), ones a DatabaseRestore refers to.
 * - Failed backups: with keepFailed N, the newest N are kept and older ones
 *   go; without it, every failed backup is kept. The successful rules never
 *   count failed backups (a failed run between two good ones changes
 *   nothing).
 * - Without a policy (set 0) everything is kept. */
#ifndef LIFEBOAT_RETENTION_H
#define LIFEBOAT_RETENTION_H

#include <stddef.h>
#include <stdint.h>

struct api_retention;

enum retention_state {
	RETENTION_STATE_SUCCEEDED,
	RETENTION_STATE_FAILED,
	RETENTION_STATE_ACTIVE /* not finished (or never started) */
};

struct retention_item {
	const char *name;   /* unique among the items */
	int64_t time;	    /* Unix seconds: when the run was scheduled */
	int32_t utc_offset; /* the schedule's zone at time, seconds east of UTC */
	enum retention_state state;
	int referenced; /* a DatabaseRestore refers to it */
};

/* Why a backup is kept: bits of the reasons array. 0: delete it. */
enum retention_reason {
	RETENTION_NEWEST = 1 << 0,     /* the newest successful backup */
	RETENTION_LAST = 1 << 1,       /* within keepLast */
	RETENTION_AGE = 1 << 2,	       /* younger than maxAge */
	RETENTION_DAILY = 1 << 3,      /* newest of one of the last keepDaily days */
	RETENTION_WEEKLY = 1 << 4,     /* ... ISO weeks */
	RETENTION_MONTHLY = 1 << 5,    /* ... months */
	RETENTION_ACTIVE = 1 << 6,     /* not finished */
	RETENTION_REFERENCED = 1 << 7, /* a DatabaseRestore refers to it */
	RETENTION_FAILED = 1 << 8,     /* failed, kept by keepFailed (or no keepFailed) */
	RETENTION_NO_POLICY = 1 << 9,  /* no retention: everything is kept */
};

/* reasons[i] gets items[i]'s reasons (0: delete). Returns how many are
 * deleted. policy may be NULL (no retention). */
size_t retention_select(const struct retention_item *items, size_t n,
			const struct api_retention *policy, int64_t now, unsigned *reasons);

/* "newest, daily" for a mask into out (always NUL-terminated); "delete" for 0. */
void retention_describe(unsigned reasons, char *out, size_t outsz);

/* The local civil date of t at offset: for tests and the controller's
 * messages. */
void retention_civil(int64_t t, int32_t utc_offset, int *year, int *month, int *day);
/* The ISO 8601 week of a civil date: *iso_year may differ from year. */
void retention_iso_week(int year, int month, int day, int *iso_year, int *week);

#endif
