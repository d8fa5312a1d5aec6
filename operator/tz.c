/* Time zones: TZif parsing (RFC 8536), the POSIX TZ footer rule, offset
 * lookups and the wall-clock mappings built on them. */
#include "operator/tz.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/xmalloc.h"

#define LIMIT ((int64_t)1 << 52)
/* Wider than any offset: every instant whose wall clock reads L lies in
 * (L - SLACK, L + SLACK). */
#define SLACK ((int64_t)26 * 3600)

/* A date in a POSIX TZ rule: Jn (1-365, no Feb 29), n (0-365), Mm.w.d. */
enum tz_date_kind { TZ_DATE_JULIAN, TZ_DATE_ZERO, TZ_DATE_MONTH };

struct tz_date {
	enum tz_date_kind kind;
	int n, m, w, d;
	int32_t secs; /* local time of day of the change, -167h to 167h */
};

struct tz_rule {
	int32_t std_off, dst_off;
	int has_dst;
	struct tz_date start, end; /* start of daylight time, its end */
};

struct tz {
	char *name;
	size_t ntrans;
	int64_t *trans;	    /* strictly ascending */
	int32_t *trans_off; /* the offset from trans[i] on */
	int32_t off0;	    /* before the first transition: type 0 */
	int has_rule;	    /* the footer, for instants from the last transition on */
	struct tz_rule rule;
};

/* --- the calendar --- */

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_month_days(int64_t y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Howard Hinnant's days_from_civil and civil_from_days. */
int64_t tz_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floordiv(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t *y, int *m, int *d, int64_t days)
{
	days += 719468;
	int64_t era = floordiv(days, 146097);
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int tz_weekday(int64_t days)
{
	return (int)(days + 4 - floordiv(days + 4, 7) * 7);
}

static int64_t clamp(int64_t t)
{
	return t > LIMIT ? LIMIT : t < -LIMIT ? -LIMIT : t;
}

/* --- the POSIX TZ rule --- */

/* The day (days since the epoch) a rule date falls on in year y. */
static int64_t rule_day(const struct tz_date *d, int64_t y)
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1);
	if (d->kind == TZ_DATE_JULIAN)
		return jan1 + d->n - 1 + (is_leap(y) && d->n >= 60);
	if (d->kind == TZ_DATE_ZERO)
		return jan1 + d->n;
	int64_t first = tz_days_from_civil(y, d->m, 1);
	int day = (d->d - tz_weekday(first) + 7) % 7 + 7 * (d->w - 1);
	while (day >= tz_month_days(y, d->m))
		day -= 7;
	return first + day;
}

static int32_t rule_span(const struct tz_rule *r, int64_t t, int64_t *from, int64_t *until)
{
	struct {
		int64_t at;
		int dst;
	} ev[10], tmp;
	size_t k = 0;
	if (!r->has_dst) {
		*from = INT64_MIN;
		*until = INT64_MAX;
		return r->std_off;
	}
	int64_t y;
	int m, d;
	tz_civil_from_days(&y, &m, &d, floordiv(t + r->std_off, 86400));
	/* Two years either side: a change may be given up to 167 hours past
	 * its date, so one year's changes can fall in the next. */
	for (int64_t yy = y - 2; yy <= y + 2; yy++) {
		ev[k].at = rule_day(&r->start, yy) * 86400 + r->start.secs - r->std_off;
		ev[k++].dst = 1;
		ev[k].at = rule_day(&r->end, yy) * 86400 + r->end.secs - r->dst_off;
		ev[k++].dst = 0;
	}
	/* Sorted by instant; on a tie the end goes first, so that a rule with
	 * daylight time all year (RFC 8536 3.3.1: "EST5EDT,0/0,J365/25") never
	 * leaves it. */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i;
		     j > 0 && (ev[j - 1].at > ev[j].at ||
			       (ev[j - 1].at == ev[j].at && ev[j - 1].dst > ev[j].dst));
		     j--) {
			tmp = ev[j];
			ev[j] = ev[j - 1];
			ev[j - 1] = tmp;
		}
	size_t i = 0;
	while (i < k && ev[i].at <= t)
		i++;
	if (i == 0) { /* not reached: the first change is years before t */
		*from = INT64_MIN;
		*until = ev[0].at;
		return ev[0].dst ? r->std_off : r->dst_off;
	}
	*from = ev[i - 1].at;
	*until = i < k ? ev[i].at : INT64_MAX;
	return ev[i - 1].dst ? r->dst_off : r->std_off;
}

struct cursor {
	const char *p, *end;
};

static int peek(const struct cursor *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static int take_number(int *out, struct cursor *c, int max_digits)
{
	int v = 0, n = 0;
	while (peek(c) >= '0' && peek(c) <= '9' && n < max_digits) {
		v = v * 10 + (*c->p++ - '0');
		n++;
	}
	if (!n || (peek(c) >= '0' && peek(c) <= '9'))
		return -1;
	*out = v;
	return 0;
}

/* std or dst: three or more letters, or <...> of letters, digits, + and -. */
static int take_abbrev(struct cursor *c)
{
	size_t n = 0;
	if (peek(c) == '<') {
		c->p++;
		while (peek(c) >= 0 && (isalnum(peek(c)) || peek(c) == '+' || peek(c) == '-')) {
			c->p++;
			n++;
		}
		if (peek(c) != '>')
			return -1;
		c->p++;
	} else {
		while (peek(c) >= 0 && isalpha(peek(c))) {
			c->p++;
			n++;
		}
	}
	return n >= 3 ? 0 : -1;
}

/* [+-]hh[:mm[:ss]] with hh <= max_hours, in seconds. */
static int take_hms(int32_t *out, struct cursor *c, int max_hours)
{
	int sign = 1, h = 0, m = 0, s = 0;
	if (peek(c) == '+' || peek(c) == '-')
		sign = *c->p++ == '-' ? -1 : 1;
	if (take_number(&h, c, 3) || h > max_hours)
		return -1;
	if (peek(c) == ':') {
		c->p++;
		if (take_number(&m, c, 2) || m > 59)
			return -1;
		if (peek(c) == ':') {
			c->p++;
			if (take_number(&s, c, 2) || s > 59)
				return -1;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return 0;
}

static int take_date(struct tz_date *d, struct cursor *c)
{
	memset(d, 0, sizeof(*d));
	if (peek(c) == 'J') {
		c->p++;
		d->kind = TZ_DATE_JULIAN;
		if (take_number(&d->n, c, 3) || d->n < 1 || d->n > 365)
			return -1;
	} else if (peek(c) == 'M') {
		c->p++;
		d->kind = TZ_DATE_MONTH;
		if (take_number(&d->m, c, 2) || d->m < 1 || d->m > 12 || peek(c) != '.')
			return -1;
		c->p++;
		if (take_number(&d->w, c, 1) || d->w < 1 || d->w > 5 || peek(c) != '.')
			return -1;
		c->p++;
		if (take_number(&d->d, c, 1) || d->d > 6)
			return -1;
	} else {
		d->kind = TZ_DATE_ZERO;
		if (take_number(&d->n, c, 3) || d->n > 365)
			return -1;
	}
	d->secs = 2 * 3600;
	if (peek(c) == '/') {
		c->p++;
		/* RFC 8536 3.3.1: hours from -167 to 167. */
		if (take_hms(&d->secs, c, 167))
			return -1;
	}
	return 0;
}

static int utoff_ok(int32_t off)
{
	return off > TZ_MIN_UTOFF - 1 && off < TZ_MAX_UTOFF + 1;
}

/* std offset [dst [offset] ,start[/time],end[/time]]; POSIX offsets are
 * west-positive, ours east-positive. */
static int rule_parse(struct tz_rule *out, const char *s, size_t n)
{
	struct cursor c = {s, s + n};
	struct tz_rule r = {0};
	int32_t v;
	if (take_abbrev(&c) || take_hms(&v, &c, 24))
		return -1;
	r.std_off = -v;
	if (peek(&c) >= 0) {
		if (take_abbrev(&c))
			return -1;
		r.has_dst = 1;
		r.dst_off = r.std_off + 3600;
		if (peek(&c) >= 0 && peek(&c) != ',') {
			if (take_hms(&v, &c, 24))
				return -1;
			r.dst_off = -v;
		}
		/* Without a rule POSIX leaves the changes to the implementation;
		 * zic always writes one. */
		if (peek(&c) != ',')
			return -1;
		c.p++;
		if (take_date(&r.start, &c) || peek(&c) != ',')
			return -1;
		c.p++;
		if (take_date(&r.end, &c))
			return -1;
	}
	if (c.p != c.end || !utoff_ok(r.std_off) || (r.has_dst && !utoff_ok(r.dst_off)))
		return -1;
	*out = r;
	return 0;
}

/* --- TZif --- */

struct header {
	int version; /* 0 for version 1, else the version character */
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int header_read(struct header *h, const unsigned char *p, size_t n)
{
	if (n < 44)
		return err_set(E_INVALID, "TZif data truncated: %zu bytes where a header needs 44",
			       n);
	if (memcmp(p, "TZif", 4))
		return err_set(E_INVALID, "not a TZif file: no TZif magic");
	if (p[4] != 0 && p[4] < '2')
		return err_set(E_INVALID, "TZif version byte 0x%02x is not 0 or '2' or later",
			       p[4]);
	h->version = p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return 0;
}

static uint64_t block_size(const struct header *h, int tsize)
{
	return (uint64_t)h->timecnt * tsize + h->timecnt + (uint64_t)h->typecnt * 6 + h->charcnt +
	       (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* The data block at p (n bytes available) with times of tsize bytes. */
static int body_read(struct tz *z, const struct header *h, const unsigned char *p, size_t n,
		     int tsize)
{
	if (block_size(h, tsize) > n)
		return err_set(E_INVALID,
			       "TZif data truncated: the header promises %llu bytes, %zu "
			       "are there",
			       (unsigned long long)block_size(h, tsize), n);
	if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0)
		return err_set(E_INVALID,
			       "TZif header: %u local time types and %u abbreviation "
			       "bytes (need 1-256 and at least 1)",
			       h->typecnt, h->charcnt);
	if ((h->isutcnt && h->isutcnt != h->typecnt) || (h->isstdcnt && h->isstdcnt != h->typecnt))
		return err_set(E_INVALID,
			       "TZif header: isutcnt %u and isstdcnt %u must be 0 or "
			       "typecnt %u",
			       h->isutcnt, h->isstdcnt, h->typecnt);
	if (h->leapcnt)
		return err_set(E_INVALID,
			       "TZif data has %u leap seconds (a right/ zone?): not "
			       "supported, use the zone without right/",
			       h->leapcnt);
	const unsigned char *times = p, *idx = p + (size_t)h->timecnt * tsize;
	const unsigned char *types = idx + h->timecnt;
	int32_t offs[256];
	for (uint32_t i = 0; i < h->typecnt; i++) {
		const unsigned char *ty = types + 6 * (size_t)i;
		offs[i] = (int32_t)be32(ty);
		if (!utoff_ok(offs[i]) || ty[4] > 1 || ty[5] >= h->charcnt)
			return err_set(E_INVALID,
				       "TZif local time type %u is invalid (offset %d, "
				       "isdst %u, abbreviation index %u)",
				       i, offs[i], ty[4], ty[5]);
	}
	z->ntrans = h->timecnt;
	z->trans = xcalloc(h->timecnt + 1, sizeof(*z->trans));
	z->trans_off = xcalloc(h->timecnt + 1, sizeof(*z->trans_off));
	for (uint32_t i = 0; i < h->timecnt; i++) {
		z->trans[i] = tsize == 8 ? be64(times + 8 * (size_t)i)
					 : (int64_t)(int32_t)be32(times + 4 * (size_t)i);
		if (i && z->trans[i] <= z->trans[i - 1])
			return err_set(E_INVALID, "TZif transition %u is not after transition %u",
				       i, i - 1);
		if (idx[i] >= h->typecnt)
			return err_set(E_INVALID,
				       "TZif transition %u names local time type %u of %u", i,
				       idx[i], h->typecnt);
		z->trans_off[i] = offs[idx[i]];
	}
	z->off0 = offs[0];
	return 0;
}

static struct tz *tz_new(const char *name)
{
	struct tz *z = xcalloc(1, sizeof(*z));
	z->name = xstrdup(name);
	return z;
}

void tz_free(struct tz *z)
{
	if (!z)
		return;
	free(z->name);
	free(z->trans);
	free(z->trans_off);
	free(z);
}

int tz_parse(struct tz **out, const unsigned char *data, size_t n)
{
	struct tz *z = tz_new("TZif");
	struct header h;
	int rc;
	if ((rc = header_read(&h, data, n)))
		goto done;
	if (h.version == 0) {
		rc = body_read(z, &h, data + 44, n - 44, 4);
		goto done;
	}
	/* v2+: skip the 32-bit block to the second header and its 64-bit one. */
	uint64_t skip = 44 + block_size(&h, 4);
	if (skip > n) {
		rc = err_set(E_INVALID,
			     "TZif data truncated: the version 1 block ends at %llu of "
			     "%zu bytes",
			     (unsigned long long)skip, n);
		goto done;
	}
	if ((rc = header_read(&h, data + skip, n - skip)))
		goto done;
	if (h.version == 0) {
		rc = err_set(E_INVALID, "TZif second header has version 1");
		goto done;
	}
	if ((rc = body_read(z, &h, data + skip + 44, n - skip - 44, 8)))
		goto done;
	const unsigned char *f = data + skip + 44 + block_size(&h, 8), *end = data + n;
	const unsigned char *nl = f < end ? memchr(f + 1, '\n', (size_t)(end - f - 1)) : NULL;
	if (f >= end || *f != '\n' || !nl || nl + 1 != end) {
		rc = err_set(E_INVALID, "TZif footer missing or not one newline-framed line");
		goto done;
	}
	size_t flen = (size_t)(nl - f - 1);
	if (flen && rule_parse(&z->rule, (const char *)f + 1, flen)) {
		rc = err_set(E_INVALID, "TZif footer \"%.*s\" is not a POSIX TZ rule",
			     flen > 64 ? 64 : (int)flen, (const char *)f + 1);
		goto done;
	}
	z->has_rule = flen > 0;
done:
	if (!rc) {
		*out = z;
		z = NULL;
	}
	tz_free(z);
	return rc;
}

/* Letters, digits, - _ + in parts separated by single slashes; no part
 * "." or ".." (no dots at all: no IANA name has one, and it keeps out
 * zone.tab and friends); not absolute. */
static int name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 255 || name[0] == '/' || name[n - 1] == '/' || strstr(name, "//"))
		return 0;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_+/", *p))
			return 0;
	/* Files beside the zones in the folder that are no IANA zone. */
	return strcmp(name, "localtime") && strcmp(name, "posixrules");
}

int tz_load(struct tz **out, const char *name)
{
	const char *dir = getenv("ZONEINFO");
	char *path = NULL;
	unsigned char *data = NULL;
	struct tz *z = NULL;
	int fd = -1, rc = 0;
	struct stat st;
	if (!dir || !*dir)
		dir = TZ_DEFAULT_DIR;
	if (!name_ok(name)) {
		rc = err_set(E_INVALID,
			     "\"%s\" is not a time zone name: use an IANA name like "
			     "Europe/Stockholm (letters, digits, - _ + and /; not absolute, no "
			     "dots)",
			     name);
		goto done;
	}
	if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC")) {
		z = tz_new(name);
		goto done;
	}
	path = xasprintf("%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		rc = err_set(E_NOTFOUND, "unknown time zone \"%s\" (not in %s)", name, dir);
		goto done;
	}
	if (fd < 0 || fstat(fd, &st)) {
		rc = err_set(E_IO, "time zone \"%s\": %s: %s", name, path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err_set(E_NOTFOUND, "unknown time zone \"%s\" (%s is not a zone file)", name,
			     path);
		goto done;
	}
	if (st.st_size > TZ_MAX_FILE) {
		rc = err_set(E_INVALID,
			     "time zone \"%s\": %s has %lld bytes, more than a zone file "
			     "(%d)",
			     name, path, (long long)st.st_size, TZ_MAX_FILE);
		goto done;
	}
	size_t n = 0, cap = (size_t)st.st_size + 1;
	data = xmalloc(cap);
	for (;;) {
		ssize_t r = read(fd, data + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set(E_IO, "time zone \"%s\": reading %s: %s", name, path,
				     strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) { /* grew while we read it */
			rc = err_set(E_INVALID, "time zone \"%s\": %s changed while read", name,
				     path);
			goto done;
		}
	}
	if ((rc = tz_parse(&z, data, n))) {
		err_wrap("time zone \"%s\": %s", name, path);
		goto done;
	}
	free(z->name);
	z->name = xstrdup(name);
done:
	if (fd >= 0)
		close(fd);
	free(path);
	free(data);
	if (!rc)
		*out = z;
	return rc;
}

const char *tz_name(const struct tz *z)
{
	return z ? z->name : "UTC";
}

int32_t tz_offset_span(const struct tz *z, int64_t t, int64_t *from, int64_t *until)
{
	int32_t off;
	if (t > LIMIT || t < -LIMIT) {
		/* Held constant beyond the bound, so the span still holds t. */
		off = tz_offset_span(z, clamp(t), from, until);
		*from = t > 0 ? LIMIT + 1 : INT64_MIN;
		*until = t > 0 ? INT64_MAX : -LIMIT;
		return off;
	}
	if (!z || (z->ntrans == 0 && !z->has_rule)) {
		*from = INT64_MIN;
		*until = INT64_MAX;
		return z ? z->off0 : 0;
	}
	if (z->ntrans == 0)
		return rule_span(&z->rule, t, from, until);
	size_t n = z->ntrans;
	if (t < z->trans[0]) {
		*from = INT64_MIN;
		*until = z->trans[0];
		return z->off0;
	}
	if (t >= z->trans[n - 1]) {
		if (!z->has_rule) {
			*from = z->trans[n - 1];
			*until = INT64_MAX;
			return z->trans_off[n - 1];
		}
		off = rule_span(&z->rule, t, from, until);
		if (*from < z->trans[n - 1])
			*from = z->trans[n - 1];
		return off;
	}
	size_t lo = 0, hi = n - 1; /* trans[lo] <= t < trans[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	*from = z->trans[lo];
	*until = z->trans[hi];
	return z->trans_off[lo];
}

int32_t tz_offset(const struct tz *z, int64_t t)
{
	int64_t from, until;
	return tz_offset_span(z, t, &from, &until);
}

int64_t tz_local(const struct tz *z, int64_t t)
{
	t = clamp(t);
	return t + tz_offset(z, t);
}

int64_t tz_local_high(const struct tz *z, int64_t t)
{
	int64_t from, until, high = INT64_MIN;
	t = clamp(t);
	/* Earlier instants read less than local(t): t' + 26h < t - 25h. */
	for (int64_t s = t - 2 * SLACK;;) {
		int32_t off = tz_offset_span(z, s, &from, &until);
		int64_t last = until == INT64_MAX || until > t ? t : until - 1;
		if (last + off > high)
			high = last + off;
		if (until == INT64_MAX || until > t)
			return high;
		s = until;
	}
}

int64_t tz_first_local(const struct tz *z, int64_t local)
{
	int64_t from, until;
	local = clamp(local);
	for (int64_t t = local - SLACK;;) {
		int32_t off = tz_offset_span(z, t, &from, &until);
		/* This span's wall clock runs from t + off to until - 1 + off. */
		if (until == INT64_MAX || until - 1 + off >= local)
			return local - off > t ? local - off : t;
		t = until;
	}
}

size_t tz_instants(int64_t *out, size_t max, const struct tz *z, int64_t local)
{
	int64_t from, until;
	size_t count = 0;
	local = clamp(local);
	for (int64_t t = local - SLACK;;) {
		int32_t off = tz_offset_span(z, t, &from, &until);
		int64_t at = local - off;
		if (at >= t && (until == INT64_MAX || at < until)) {
			if (count < max)
				out[count] = at;
			count++;
		}
		if (until == INT64_MAX || until > local + SLACK)
			return count;
		t = until;
	}
}
