/* Five-field cron expressions: parsing with messages that name the field
 * and the value, and the run instants in a time zone, daylight saving
 * included. Pure: no I/O, no clock (the instant is an argument).
 *
 * Syntax (docs/schedules.md): minute hour day-of-month month day-of-week,
 * each a list of `*`, numbers, ranges `a-b`, steps `a-b/n`, `a/n` (a to
 * the field's end) and on `*` ("every 15 minutes": star, slash, 15), month
 * names jan-dec and day names sun-sat in any case, 7 for Sunday; or one of @yearly @annually
 * @monthly @weekly @daily
 * @midnight @hourly. When both day fields are restricted (neither is `*`)
 * a day matches when either does (Vixie cron); otherwise both must.
 *
 * Semantics: the expression matches wall-clock minutes of the zone. Each
 * matching minute M gives runs:
 * - when the hour field allows every hour (`*`, `0-23`, ...): a run at every
 *   instant the wall clock reads M: none when M falls in a spring-forward
 *   gap, two when it falls in a repeated autumn hour ("every real hour":
 *   `0 * * * *` runs 23 times on the spring day, 25 on the autumn day);
 * - otherwise (a fixed time of day): one run at the first instant the wall
 *   clock reads M or later: M's first occurrence, or, when M falls in a
 *   gap, the first instant after the gap.
 * Runs at the same instant are one run. A schedule whose times never fall
 * in a gap or a repeated hour is never shifted. */
#ifndef LIFEBOAT_CRON_H
#define LIFEBOAT_CRON_H

#include <stdint.h>

struct tz;

/* The instants cron_next and cron_prev answer for: 0001-01-01T00:00:00Z
 * to 9999-12-31T23:59:59Z. */
#define CRON_MIN_TIME (-62135596800LL)
#define CRON_MAX_TIME 253402300799LL

/* A parsed expression: bit sets of the values each field allows. Callers
 * only pass it around; the tests read the fields. */
struct cron {
	uint64_t minutes;   /* bit n: minute n, 0-59 */
	uint32_t hours;	    /* bit n: hour n, 0-23 */
	uint32_t mdays;	    /* bit n: day of month n, 1-31 */
	uint16_t months;    /* bit n: month n, 1-12 */
	uint8_t wdays;	    /* bit n: weekday n, 0 Sunday to 6 Saturday (7 is 0) */
	uint8_t mday_any;   /* field 3 was `*`: the day-of-week field alone decides */
	uint8_t wday_any;   /* field 5 was `*`: the day-of-month field alone decides */
	uint8_t every_hour; /* hours holds all 24: runs by real hours through DST */
};

/* Parses expr into *out. field_path names the field in messages
 * ("spec.schedule"). E_INVALID with a message naming the field path, the
 * cron field and the value, e.g. "spec.schedule: field 3 (day of month):
 * 32 is out of range 1-31"; also for @every, @reboot, 6-field (seconds)
 * expressions and expressions that can never run ("0 0 30 2 *"). */
int cron_parse(struct cron *out, const char *expr, const char *field_path);

/* The first run strictly after `after`, in zone z (NULL: UTC), into *out.
 * E_INVALID when `after` is outside CRON_MIN_TIME..CRON_MAX_TIME,
 * E_NOTFOUND when no run comes before year 10000. Skips by field, never
 * minute by minute: the worst case is a day-by-day walk through the
 * matching months until the match (under 3,000 steps: `0 0 29 2 *` across
 * 2100 looks at 8 Februaries) plus the zone's transitions in that time. */
int cron_next(int64_t *out, const struct cron *c, const struct tz *z, int64_t after);

/* The latest run at or before at_or_before, likewise; E_NOTFOUND when none
 * comes after year 1. */
int cron_prev(int64_t *out, const struct cron *c, const struct tz *z, int64_t at_or_before);

#endif
