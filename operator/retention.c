/* A BackupSchedule's retention (retention.h). */
#include "operator/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "operator/api/schedule.h"

/* Days since 1970-01-01 -> civil date (Howard Hinnant's algorithm). */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int64_t local_day(int64_t t, int32_t off)
{
	return floor_div(t + off, 86400);
}

void retention_civil(int64_t t, int32_t utc_offset, int *year, int *month, int *day)
{
	civil_from_days(local_day(t, utc_offset), year, month, day);
}

/* ISO weekday, Monday 1 .. Sunday 7, of a day number (1970-01-01 was a
 * Thursday). */
static int iso_weekday(int64_t days)
{
	int64_t w = (days + 3) % 7; /* 0 = Monday */
	if (w < 0)
		w += 7;
	return (int)w + 1;
}

void retention_iso_week(int year, int month, int day, int *iso_year, int *week)
{
	int64_t days = days_from_civil(year, month, day);
	/* The week's Thursday decides the ISO year. */
	int64_t thursday = days - iso_weekday(days) + 4;
	int ty, tm, td;
	civil_from_days(thursday, &ty, &tm, &td);
	int64_t jan1 = days_from_civil(ty, 1, 1);
	*iso_year = ty;
	*week = (int)((thursday - jan1) / 7 + 1);
}

/* Period keys: any number that is equal exactly within one period. */
static int64_t day_key(const struct retention_item *it)
{
	return local_day(it->time, it->utc_offset);
}

static int64_t week_key(const struct retention_item *it)
{
	int y, m, d, iy, w;
	retention_civil(it->time, it->utc_offset, &y, &m, &d);
	retention_iso_week(y, m, d, &iy, &w);
	return (int64_t)iy * 100 + w;
}

static int64_t month_key(const struct retention_item *it)
{
	int y, m, d;
	retention_civil(it->time, it->utc_offset, &y, &m, &d);
	return (int64_t)y * 12 + (m - 1);
}

/* Whether items[a] sorts before items[b]: time descending, then name
 * descending (the order never depends on the input's). */
static int before(const struct retention_item *items, size_t a, size_t b)
{
	if (items[a].time != items[b].time)
		return items[a].time > items[b].time;
	return strcmp(items[a].name, items[b].name) > 0;
}

/* A stable merge sort of idx (indexes into items), newest first; tmp holds n. */
static void merge_sort(const struct retention_item *items, size_t *idx, size_t *tmp, size_t n)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	merge_sort(items, idx, tmp, h);
	merge_sort(items, idx + h, tmp, n - h);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = before(items, idx[j], idx[i]) ? idx[j++] : idx[i++];
	while (i < h)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, n * sizeof(*idx));
}

static void sort_newest_first(const struct retention_item *items, size_t *idx, size_t n)
{
	size_t *tmp = xcalloc(n ? n : 1, sizeof(*tmp));
	merge_sort(items, idx, tmp, n);
	free(tmp);
}

/* The newest of each of the first `keep` periods (by key) of the sorted
 * successful backups get bit. */
static void keep_periods(const struct retention_item *items, const size_t *ok, size_t nok,
			 int64_t keep, int64_t (*key)(const struct retention_item *), unsigned bit,
			 unsigned *reasons)
{
	int64_t periods = 0, last = 0;
	for (size_t k = 0; k < nok && periods < keep; k++) {
		int64_t p = key(&items[ok[k]]);
		if (k > 0 && p == last)
			continue;
		last = p;
		periods++;
		reasons[ok[k]] |= bit;
	}
}

size_t retention_select(const struct retention_item *items, size_t n,
			const struct api_retention *policy, int64_t now, unsigned *reasons)
{
	size_t *ok = xcalloc(n ? n : 1, sizeof(*ok)), *bad = xcalloc(n ? n : 1, sizeof(*bad));
	size_t nok = 0, nbad = 0, deleted = 0;
	for (size_t i = 0; i < n; i++) {
		reasons[i] = 0;
		if (!policy || !policy->set)
			reasons[i] |= RETENTION_NO_POLICY;
		if (items[i].referenced)
			reasons[i] |= RETENTION_REFERENCED;
		if (items[i].state == RETENTION_STATE_ACTIVE)
			reasons[i] |= RETENTION_ACTIVE;
		else if (items[i].state == RETENTION_STATE_SUCCEEDED)
			ok[nok++] = i;
		else
			bad[nbad++] = i;
	}
	sort_newest_first(items, ok, nok);
	sort_newest_first(items, bad, nbad);
	if (nok)
		reasons[ok[0]] |= RETENTION_NEWEST;
	if (policy && policy->set) {
		for (size_t k = 0; k < nok; k++) {
			const struct retention_item *it = &items[ok[k]];
			if (policy->has_keep_last && (int64_t)k < policy->keep_last)
				reasons[ok[k]] |= RETENTION_LAST;
			if (policy->max_age && now - it->time < policy->max_age_seconds)
				reasons[ok[k]] |= RETENTION_AGE;
		}
		if (policy->has_keep_daily)
			keep_periods(items, ok, nok, policy->keep_daily, day_key, RETENTION_DAILY,
				     reasons);
		if (policy->has_keep_weekly)
			keep_periods(items, ok, nok, policy->keep_weekly, week_key,
				     RETENTION_WEEKLY, reasons);
		if (policy->has_keep_monthly)
			keep_periods(items, ok, nok, policy->keep_monthly, month_key,
				     RETENTION_MONTHLY, reasons);
		for (size_t k = 0; k < nbad; k++)
			if (!policy->has_keep_failed || (int64_t)k < policy->keep_failed)
				reasons[bad[k]] |= RETENTION_FAILED;
	}
	for (size_t i = 0; i < n; i++)
		deleted += reasons[i] == 0;
	free(ok);
	free(bad);
	return deleted;
}

void retention_describe(unsigned reasons, char *out, size_t outsz)
{
	static const char *const names[] = {"newest", "last",	     "age",    "daily",
					    "weekly", "monthly",     "active", "referenced",
					    "failed", "no retention"};
	size_t len = 0;
	out[0] = '\0';
	if (!reasons) {
		snprintf(out, outsz, "delete");
		return;
	}
	for (size_t b = 0; b < sizeof(names) / sizeof(names[0]); b++)
		if (reasons & (1u << b)) {
			int w = snprintf(out + len, len < outsz ? outsz - len : 0, "%s%s",
					 len ? ", " : "", names[b]);
			if (w < 0 || (size_t)w >= outsz - len)
				return;
			len += (size_t)w;
		}
}
