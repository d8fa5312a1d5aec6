/* Cron expressions: the parser and the run-instant search over wall-clock
 * minutes, mapped to instants by operator/tz.c. */
#include "operator/cron.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "operator/tz.h"

#define NONE INT64_MIN
#define MAX_EXPR 1024

static const char *const MONTHS[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
				     "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const DAYS[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct field {
	const char *name;
	int min, max;
	const char *const *names; /* names[i] is the value min + i */
	const char *names_hint;
} FIELDS[5] = {
    {"minute", 0, 59, NULL, NULL},
    {"hour", 0, 23, NULL, NULL},
    {"day of month", 1, 31, NULL, NULL},
    {"month", 1, 12, MONTHS, " or a month name (jan-dec)"},
    {"day of week", 0, 7, DAYS, " or a day name (sun-sat)"},
};

static const struct {
	const char *name, *expr;
} MACROS[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},	  {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* A piece of the expression for messages, at most 40 bytes of it. */
#define SHOWN(n) ((n) > 40 ? 40 : (int)(n))

struct ctx {
	const char *path;
	int idx; /* the field, 0-4 */
};

static int field_error(const struct ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "PATH: field N (NAME): " and the detail. */
static int field_error(const struct ctx *x, const char *fmt, ...)
{
	const struct field *f = &FIELDS[x->idx];
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	return err_set(E_INVALID, "%s: field %d (%s): %s", x->path, x->idx + 1, f->name, msg);
}

static int is_digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A number or (in the month and day fields) a name, range-checked. */
static int parse_value(int *out, const struct ctx *x, const char *s, size_t n)
{
	const struct field *f = &FIELDS[x->idx];
	if (is_digits(s, n)) {
		long v = 0;
		for (size_t i = 0; i < n && v <= 1000; i++)
			v = v * 10 + (s[i] - '0');
		if (v < f->min || v > f->max)
			return field_error(x, "%.*s is out of range %d-%d", SHOWN(n), s, f->min,
					   f->max);
		*out = (int)v;
		return 0;
	}
	if (f->names && n == 3)
		for (int i = 0; f->names[i]; i++)
			if (!strncasecmp(s, f->names[i], 3)) {
				*out = f->min + i;
				return 0;
			}
	return field_error(x, "\"%.*s\" is not a number%s", SHOWN(n), s,
			   f->names_hint ? f->names_hint : "");
}

/* One list item: `*`, a, a-b, each with an optional /step. */
static int parse_item(uint64_t *bits, int *any, const struct ctx *x, const char *s, size_t n)
{
	const struct field *f = &FIELDS[x->idx];
	const char *slash = memchr(s, '/', n);
	size_t base = slash ? (size_t)(slash - s) : n;
	int lo, hi, step = 1, star = 0, rc;
	if (base == 1 && s[0] == '*') {
		lo = f->min;
		hi = f->max;
		star = 1;
	} else {
		const char *dash = memchr(s, '-', base);
		if (dash && (dash == s || dash + 1 == s + base))
			return field_error(x, "\"%.*s\" is not a range like 1-5", SHOWN(base), s);
		if (dash) {
			if ((rc = parse_value(&lo, x, s, (size_t)(dash - s))) ||
			    (rc = parse_value(&hi, x, dash + 1, base - (size_t)(dash - s) - 1)))
				return rc;
			if (lo > hi) {
				int top = x->idx == 4 ? 6 : f->max;
				return field_error(x,
						   "range %.*s runs backwards; write it as two, "
						   "e.g. %d-%d,%d-%d",
						   SHOWN(base), s, lo, top, f->min, hi);
			}
		} else {
			if ((rc = parse_value(&lo, x, s, base)))
				return rc;
			/* a/n: from a to the field's end (as Kubernetes CronJobs). */
			hi = slash ? f->max : lo;
		}
	}
	if (slash) {
		const char *t = slash + 1;
		size_t tn = n - base - 1;
		if (!is_digits(t, tn))
			return field_error(x, "step \"%.*s\" is not a number", SHOWN(tn), t);
		long v = 0;
		for (size_t i = 0; i < tn && v <= 1000; i++)
			v = v * 10 + (t[i] - '0');
		if (v < 1 || v > f->max)
			return field_error(x, "step %.*s is out of range 1-%d", SHOWN(tn), t,
					   f->max);
		step = (int)v;
	}
	if (star && step == 1)
		*any = 1;
	for (int v = lo; v <= hi; v += step)
		*bits |= (uint64_t)1 << v;
	return 0;
}

static int parse_field(uint64_t *out, int *any, const struct ctx *x, const char *s, size_t n)
{
	uint64_t bits = 0;
	int rc;
	*any = 0;
	for (size_t i = 0; i <= n;) {
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		if (j == i)
			return field_error(x, "empty list item in \"%.*s\"", SHOWN(n), s);
		if ((rc = parse_item(&bits, any, x, s + i, j - i)))
			return rc;
		i = j + 1;
	}
	*out = bits;
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int parse_fields(struct cron *out, const char *expr, const char *path)
{
	const char *tok[8];
	size_t len[8], ntok = 0;
	for (const char *p = expr; *p;) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && !is_space(*p))
			p++;
		if (ntok < 8) {
			tok[ntok] = start;
			len[ntok] = (size_t)(p - start);
		}
		ntok++;
	}
	if (ntok == 0)
		return err_set(E_INVALID,
			       "%s: is empty: write five fields (minute hour day-of-month month "
			       "day-of-week), e.g. \"0 2 * * *\"",
			       path);
	if (tok[0][0] == '@') {
		size_t n = len[0];
		if (n == 6 && !strncasecmp(tok[0], "@every", 6))
			return err_set(E_INVALID,
				       "%s: @every is not supported: write the interval as five "
				       "fields, e.g. \"*/10 * * * *\" for every 10 minutes",
				       path);
		if (n == 7 && !strncasecmp(tok[0], "@reboot", 7))
			return err_set(E_INVALID,
				       "%s: @reboot is not supported: a schedule runs at times, "
				       "e.g. @daily",
				       path);
		for (size_t i = 0; i < sizeof(MACROS) / sizeof(MACROS[0]); i++)
			if (strlen(MACROS[i].name) == n &&
			    !strncasecmp(tok[0], MACROS[i].name, n)) {
				if (ntok > 1)
					return err_set(E_INVALID,
						       "%s: %s takes nothing after it, found "
						       "\"%.*s\"",
						       path, MACROS[i].name, SHOWN(len[1]), tok[1]);
				return parse_fields(out, MACROS[i].expr, path);
			}
		return err_set(E_INVALID,
			       "%s: unknown macro \"%.*s\": use @yearly, @annually, @monthly, "
			       "@weekly, @daily, @midnight or @hourly, or five fields",
			       path, SHOWN(n), tok[0]);
	}
	if (ntok == 6)
		return err_set(
		    E_INVALID,
		    "%s: has 6 fields: a seconds field (6-field cron) is not "
		    "supported; use 5 fields: minute hour day-of-month month day-of-week",
		    path);
	if (ntok != 5)
		return err_set(E_INVALID,
			       "%s: has %zu fields; expected 5: minute hour day-of-month month "
			       "day-of-week",
			       path, ntok);
	struct cron c = {0};
	uint64_t bits[5];
	int any[5], rc;
	for (int i = 0; i < 5; i++) {
		struct ctx x = {path, i};
		if ((rc = parse_field(&bits[i], &any[i], &x, tok[i], len[i])))
			return rc;
	}
	c.minutes = bits[0];
	c.hours = (uint32_t)bits[1];
	c.mdays = (uint32_t)bits[2];
	c.months = (uint16_t)bits[3];
	c.wdays = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f);
	c.mday_any = (uint8_t)any[2];
	c.wday_any = (uint8_t)any[4];
	c.every_hour = c.hours == 0xffffff;
	/* With the weekday unrestricted only the days of month count: some
	 * must exist in an allowed month (February has 29 in leap years). */
	if (c.wday_any && !c.mday_any) {
		int ok = 0;
		for (int m = 1; m <= 12 && !ok; m++)
			if (c.months >> m & 1)
				ok = (c.mdays & (((uint32_t)2 << tz_month_days(2000, m)) - 1)) != 0;
		if (!ok)
			return err_set(E_INVALID,
				       "%s: never runs: no month in field 4 (month) \"%.*s\" has a "
				       "day in field 3 (day of month) \"%.*s\"",
				       path, SHOWN(len[3]), tok[3], SHOWN(len[2]), tok[2]);
	}
	*out = c;
	return 0;
}

int cron_parse(struct cron *out, const char *expr, const char *field_path)
{
	const char *path = field_path ? field_path : "schedule";
	if (strnlen(expr, MAX_EXPR + 1) > MAX_EXPR)
		return err_set(E_INVALID, "%s: longer than %d characters", path, MAX_EXPR);
	for (const char *p = expr; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return err_set(E_INVALID, "%s: has a control character", path);
	return parse_fields(out, expr, path);
}

/* --- the search over wall-clock minutes --- */

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int next_bit(uint64_t bits, int from, int max)
{
	for (int i = from; i <= max; i++)
		if (bits >> i & 1)
			return i;
	return -1;
}

static int prev_bit(uint64_t bits, int from, int min)
{
	for (int i = from; i >= min; i--)
		if (bits >> i & 1)
			return i;
	return -1;
}

static int day_matches(const struct cron *c, int mday, int64_t days)
{
	int md = c->mdays >> mday & 1, wd = c->wdays >> tz_weekday(days) & 1;
	return c->mday_any || c->wday_any ? md && wd : md || wd;
}

/* The first matching wall-clock minute (minutes since 1970-01-01 00:00 on
 * the wall clock) at or after m, or NONE before year 10000. */
static int64_t next_match(const struct cron *c, int64_t m)
{
	int64_t y, days = floordiv(m, 1440);
	int mo, d, hh = (int)(m - days * 1440) / 60, mm = (int)(m - days * 1440) % 60;
	tz_civil_from_days(&y, &mo, &d, days);
	if (y < 1) {
		y = 1;
		mo = d = 1;
		hh = mm = 0;
	}
	while (y <= 9999) {
		if (!(c->months >> mo & 1)) {
			int nm = next_bit(c->months, mo + 1, 12);
			if (nm < 0) {
				y++;
				nm = next_bit(c->months, 1, 12);
			}
			mo = nm;
			d = 1;
			hh = mm = 0;
			continue;
		}
		days = tz_days_from_civil(y, mo, d);
		int h = day_matches(c, d, days) ? next_bit(c->hours, hh, 23) : -1, mi = -1;
		if (h >= 0) {
			mi = next_bit(c->minutes, h == hh ? mm : 0, 59);
			if (mi < 0 && (h = next_bit(c->hours, h + 1, 23)) >= 0)
				mi = next_bit(c->minutes, 0, 59);
		}
		if (h >= 0 && mi >= 0)
			return days * 1440 + h * 60 + mi;
		hh = mm = 0;
		if (++d > tz_month_days(y, mo)) {
			d = 1;
			if (++mo > 12) {
				mo = 1;
				y++;
			}
		}
	}
	return NONE;
}

/* The last matching wall-clock minute at or before m, or NONE before
 * year 1. */
static int64_t prev_match(const struct cron *c, int64_t m)
{
	int64_t y, days = floordiv(m, 1440);
	int mo, d, hh = (int)(m - days * 1440) / 60, mm = (int)(m - days * 1440) % 60;
	tz_civil_from_days(&y, &mo, &d, days);
	if (y > 9999) {
		y = 9999;
		mo = 12;
		d = 31;
		hh = 23;
		mm = 59;
	}
	while (y >= 1) {
		if (!(c->months >> mo & 1)) {
			int pm = prev_bit(c->months, mo - 1, 1);
			if (pm < 0) {
				y--;
				pm = prev_bit(c->months, 12, 1);
			}
			mo = pm;
			d = tz_month_days(y, mo);
			hh = 23;
			mm = 59;
			continue;
		}
		days = tz_days_from_civil(y, mo, d);
		int h = day_matches(c, d, days) ? prev_bit(c->hours, hh, 0) : -1, mi = -1;
		if (h >= 0) {
			mi = prev_bit(c->minutes, h == hh ? mm : 59, 0);
			if (mi < 0 && (h = prev_bit(c->hours, h - 1, 0)) >= 0)
				mi = prev_bit(c->minutes, 59, 0);
		}
		if (h >= 0 && mi >= 0)
			return days * 1440 + h * 60 + mi;
		hh = 23;
		mm = 59;
		if (--d < 1) {
			if (--mo < 1) {
				mo = 12;
				y--;
			}
			d = tz_month_days(y, mo);
		}
	}
	return NONE;
}

static int check_range(int64_t t)
{
	if (t < CRON_MIN_TIME || t > CRON_MAX_TIME)
		return err_set(E_INVALID, "cron: instant %lld is outside the years 1 to 9999",
			       (long long)t);
	return 0;
}

int cron_next(int64_t *out, const struct cron *c, const struct tz *z, int64_t after)
{
	int64_t from, until, m;
	int rc;
	if ((rc = check_range(after)))
		return rc;
	if (!c->every_hour) {
		/* Runs are monotonic in the minute: the first minute the wall
		 * clock has not yet reached by `after` gives the next run. */
		m = next_match(c, floordiv(tz_local_high(z, after), 60) + 1);
		if (m == NONE)
			goto none;
		*out = tz_first_local(z, m * 60);
		return 0;
	}
	/* Every real hour: walk the spans of constant offset, in each the
	 * first matching minute its wall clock reads. */
	for (int64_t t = after + 1;;) {
		int32_t off = tz_offset_span(z, t, &from, &until);
		m = next_match(c, floordiv(t + off + 59, 60));
		if (m == NONE)
			goto none;
		if (until == INT64_MAX || m * 60 - off < until) {
			*out = m * 60 - off;
			return 0;
		}
		t = until;
	}
none:
	return err_set(E_NOTFOUND, "cron: no run after %lld before the year 10000",
		       (long long)after);
}

int cron_prev(int64_t *out, const struct cron *c, const struct tz *z, int64_t at_or_before)
{
	int64_t from, until, m;
	int rc;
	if ((rc = check_range(at_or_before)))
		return rc;
	if (!c->every_hour) {
		m = prev_match(c, floordiv(tz_local_high(z, at_or_before), 60));
		if (m == NONE)
			goto none;
		*out = tz_first_local(z, m * 60);
		return 0;
	}
	for (int64_t t = at_or_before;;) {
		int32_t off = tz_offset_span(z, t, &from, &until);
		m = prev_match(c, floordiv(t + off, 60));
		if (m == NONE)
			goto none;
		if (from == INT64_MIN || m * 60 - off >= from) {
			*out = m * 60 - off;
			return 0;
		}
		t = from - 1;
	}
none:
	return err_set(E_NOTFOUND, "cron: no run at or before %lld after the year 1",
		       (long long)at_or_before);
}
