/* Time zones from the system's tz database: a small pure parser of TZif
 * files (RFC 8536, versions 1 to 4) with the POSIX TZ rule of their footer
 * for instants after the last transition, and the wall-clock <-> UTC
 * mappings the cron needs. Nothing here sets TZ or calls tzset/localtime,
 * so it is safe in the threaded operator.
 *
 * Instants are Unix seconds (int64_t, UTC, no leap seconds); "local" is
 * the wall clock read as if it were UTC: local = t + tz_offset(z, t).
 * Wherever a const struct tz * is taken, NULL means UTC. Instants and
 * wall-clock readings beyond +-2^52 s (some 142 million years) are held at
 * that bound. */
#ifndef LIFEBOAT_TZ_H
#define LIFEBOAT_TZ_H

#include <stddef.h>
#include <stdint.h>

struct tz;

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
/* Larger files are refused; the largest real zone is a few KiB. */
#define TZ_MAX_FILE (256 * 1024)
/* Every UTC offset lies strictly inside these (RFC 8536: -25h < utoff < 26h);
 * files and footers outside are refused. */
#define TZ_MIN_UTOFF (-89999)
#define TZ_MAX_UTOFF 93599

/* Loads zone NAME, an IANA name such as "Europe/Stockholm", from the folder
 * $ZONEINFO names, or /usr/share/zoneinfo when that is unset or empty.
 * "UTC" and "Etc/UTC" are built in and read no file. *out is new; free it
 * with tz_free. Errors, each naming the zone but no field path (callers add
 * theirs, e.g. err_wrap("spec.timeZone")):
 * E_INVALID  NAME is not a zone name (empty, absolute, a "." or ".."
 *            part, characters other than letters, digits, - _ + /) or its
 *            file is not valid TZif data;
 * E_NOTFOUND no such zone in the folder (or it is a folder itself);
 * E_IO       the file could not be read otherwise. */
int tz_load(struct tz **out, const char *name);

/* Parses TZif data (v1: the 32-bit body; v2+: the 64-bit body and the TZ
 * footer). Borrows data; *out is new, named "TZif" until tz_load names it.
 * E_INVALID saying what is wrong (truncated, bad magic, unordered
 * transitions, an offset out of range, a bad footer, leap seconds). */
int tz_parse(struct tz **out, const unsigned char *data, size_t n);

void tz_free(struct tz *z);

/* The zone's name as loaded ("UTC" for NULL). Borrowed from z. */
const char *tz_name(const struct tz *z);

/* The UTC offset in seconds (east positive) in effect at instant t. */
int32_t tz_offset(const struct tz *z, int64_t t);

/* As tz_offset, and the span [*from, *until) around t between the zone's
 * neighbouring transitions (INT64_MIN / INT64_MAX when there is none on
 * that side). The offset is constant over the span; a transition need not
 * change the offset. */
int32_t tz_offset_span(const struct tz *z, int64_t t, int64_t *from, int64_t *until);

/* The wall clock at t: t + tz_offset(z, t). */
int64_t tz_local(const struct tz *z, int64_t t);

/* The latest wall-clock reading at or before t: max of tz_local over all
 * instants <= t. Above tz_local(z, t) only shortly after a clock was set
 * back (during a repeated hour). */
int64_t tz_local_high(const struct tz *z, int64_t t);

/* The first instant at which the wall clock reads local or later: the
 * instant local first occurs, or, when local falls in a gap (the clock
 * jumped over it), the transition that ends the gap. */
int64_t tz_first_local(const struct tz *z, int64_t local);

/* The instants at which the wall clock reads exactly local, ascending:
 * 0 in a gap, 2 in a repeated hour, usually 1. Writes at most max of them
 * to out and returns how many there are. */
size_t tz_instants(int64_t *out, size_t max, const struct tz *z, int64_t local);

/* Proleptic Gregorian calendar helpers (valid far beyond years 1-9999):
 * days since 1970-01-01 of y-m-d (m 1-12, d 1-31), its inverse, and the
 * weekday of a day (0 Sunday .. 6 Saturday). */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_days(int64_t *y, int *m, int *d, int64_t days);
int tz_weekday(int64_t days);
/* Days in month m of year y. */
int tz_month_days(int64_t y, int m);

#endif
