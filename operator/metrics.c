/* The metrics registry: per family a sorted array of series under one mutex,
 * the text exposition, the process metrics from /proc, and the operator's
 * family table. */
#include "operator/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/text.h"
#include "common/xmalloc.h"

struct series {
	char **values; /* one per label name, sanitised UTF-8 */
	double value;  /* counter, gauge */
	double sum;    /* histogram */
	uint64_t count;
	uint64_t *buckets; /* histogram: nbuckets + 1 counts (not cumulative; last = +Inf) */
};

struct family {
	const struct metrics_family_def *def;
	size_t nlabels;
	struct series **s; /* sorted by values */
	size_t len, cap;
};

struct metrics {
	pthread_mutex_t lock;
	struct family *fam;
	size_t nfam;
	size_t max_series;
	uint64_t dropped;
	int process;
	char *proc_root;
	void (*collector)(struct metrics *m, void *ud);
	void *collector_ud;
};

/* --- validation --- */

static int name_ok(const char *s, int colons)
{
	if (!s || !*s)
		return 0;
	for (const char *p = s; *p; p++) {
		int c = (unsigned char)*p;
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			    (colons && c == ':');
		if (!alpha && !(p > s && c >= '0' && c <= '9'))
			return 0;
	}
	return 1;
}

static int check_def(const struct metrics_family_def *d, size_t idx)
{
	if (!name_ok(d->name, 1))
		return err_set(E_INVALID, "metrics family %zu: name \"%s\" is not a metric name",
			       idx, d->name ? d->name : "(null)");
	if (!d->help)
		return err_set(E_INVALID, "metrics family %s: no help text", d->name);
	if (d->type != METRICS_COUNTER && d->type != METRICS_GAUGE && d->type != METRICS_HISTOGRAM)
		return err_set(E_INVALID, "metrics family %s: unknown type %d", d->name,
			       (int)d->type);
	for (size_t i = 0; d->labels && d->labels[i]; i++) {
		const char *l = d->labels[i];
		if (!name_ok(l, 0) || !strncmp(l, "__", 2))
			return err_set(E_INVALID,
				       "metrics family %s: label \"%s\" is not a label name",
				       d->name, l);
		if (d->type == METRICS_HISTOGRAM && !strcmp(l, "le"))
			return err_set(E_INVALID,
				       "metrics family %s: a histogram may not have a label \"le\"",
				       d->name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(l, d->labels[j]))
				return err_set(E_INVALID,
					       "metrics family %s: label \"%s\" given twice",
					       d->name, l);
	}
	if (d->type == METRICS_HISTOGRAM) {
		if (!d->buckets || !d->nbuckets)
			return err_set(E_INVALID, "metrics family %s: a histogram needs buckets",
				       d->name);
		for (size_t i = 0; i < d->nbuckets; i++) {
			if (!isfinite(d->buckets[i]) || (i && d->buckets[i] <= d->buckets[i - 1]))
				return err_set(
				    E_INVALID,
				    "metrics family %s: bucket %zu: bounds must be finite and "
				    "strictly ascending",
				    d->name, i);
		}
	} else if (d->buckets || d->nbuckets) {
		return err_set(E_INVALID, "metrics family %s: only histograms have buckets",
			       d->name);
	}
	return 0;
}

/* --- UTF-8 --- */

/* A copy of s with invalid UTF-8 replaced by U+FFFD, or NULL when s is
 * valid as it is. */
static char *utf8_fixed(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	while (i < n && text_utf8_len(p + i, n - i))
		i += text_utf8_len(p + i, n - i);
	if (i == n)
		return NULL;
	struct buf b;
	buf_init(&b, (size_t)-1);
	for (i = 0; i < n;) {
		size_t l = text_utf8_len(p + i, n - i);
		if (l)
			buf_add(&b, p + i, l);
		else
			buf_adds(&b, "\xef\xbf\xbd");
		i += l ? l : 1;
	}
	return buf_take(&b);
}

/* --- series lookup --- */

static const char *val(const char *const *values, size_t i)
{
	return values && values[i] ? values[i] : "";
}

static int cmp_values(char *const *a, const char *const *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int c = strcmp(a[i], val(b, i));
		if (c)
			return c;
	}
	return 0;
}

/* Index of the series with these values, or where it would go (*found 0). */
static size_t search(const struct family *f, const char *const *values, int *found)
{
	size_t lo = 0, hi = f->len;
	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_values(f->s[mid]->values, values, f->nlabels);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The values as they are stored: with invalid UTF-8 replaced. *tmp gets the
 * heap array to free (NULL when values could be used as given). */
static const char *const *stored_form(const struct family *f, const char *const *values,
				      char ***tmp)
{
	*tmp = NULL;
	for (size_t i = 0; i < f->nlabels; i++) {
		char *fixed = utf8_fixed(val(values, i));
		if (!fixed)
			continue;
		if (!*tmp) {
			*tmp = xcalloc(f->nlabels, sizeof(char *));
			for (size_t j = 0; j < f->nlabels; j++)
				(*tmp)[j] = xstrdup(val(values, j));
		}
		free((*tmp)[i]);
		(*tmp)[i] = fixed;
	}
	return *tmp ? (const char *const *)*tmp : values;
}

static void free_tmp(char **tmp, size_t n)
{
	if (!tmp)
		return;
	for (size_t i = 0; i < n; i++)
		free(tmp[i]);
	free(tmp);
}

static void series_free(struct series *s, size_t nlabels)
{
	if (!s)
		return;
	for (size_t i = 0; i < nlabels; i++)
		free(s->values[i]);
	free(s->values);
	free(s->buckets);
	free(s);
}

/* The series for values, created when create is set and there is room.
 * Called with the lock held. */
static struct series *find(struct metrics *m, struct family *f, const char *const *values,
			   int create, int *rc)
{
	char **tmp;
	const char *const *v = stored_form(f, values, &tmp);
	int found;
	size_t at = search(f, v, &found);
	struct series *s = found ? f->s[at] : NULL;
	*rc = 0;
	if (!s && !create) {
		*rc = err_set(E_NOTFOUND, "metric %s: no such series", f->def->name);
	} else if (!s && f->len >= m->max_series) {
		m->dropped++;
		*rc = err_set(E_TOOBIG, "metric %s: %zu series already; the new one is dropped",
			      f->def->name, f->len);
	} else if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->values = xcalloc(f->nlabels ? f->nlabels : 1, sizeof(char *));
		for (size_t i = 0; i < f->nlabels; i++)
			s->values[i] = xstrdup(val(v, i));
		if (f->def->type == METRICS_HISTOGRAM)
			s->buckets = xcalloc(f->def->nbuckets + 1, sizeof(uint64_t));
		if (f->len == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 8;
			f->s = xrealloc(f->s, f->cap * sizeof(*f->s));
		}
		memmove(f->s + at + 1, f->s + at, (f->len - at) * sizeof(*f->s));
		f->s[at] = s;
		f->len++;
	}
	free_tmp(tmp, f->nlabels);
	return s;
}

/* --- the registry --- */

int metrics_new(struct metrics **out, const struct metrics_family_def *defs, size_t n,
		const struct metrics_options *opt)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		rc = check_def(&defs[i], i);
		for (size_t j = 0; !rc && j < i; j++)
			if (!strcmp(defs[i].name, defs[j].name))
				rc = err_set(E_INVALID, "metrics family %s: registered twice",
					     defs[i].name);
	}
	if (rc)
		return rc;
	struct metrics *m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->nfam = n;
	m->fam = xcalloc(n ? n : 1, sizeof(*m->fam));
	m->max_series = opt && opt->max_series ? opt->max_series : METRICS_DEFAULT_MAX_SERIES;
	m->process = !(opt && opt->no_process);
	m->proc_root = xstrdup(opt && opt->proc_root ? opt->proc_root : "/proc");
	for (size_t i = 0; i < n; i++) {
		struct family *f = &m->fam[i];
		f->def = &defs[i];
		while (defs[i].labels && defs[i].labels[f->nlabels])
			f->nlabels++;
		if (!f->nlabels) {
			int ignored;
			find(m, f, NULL, 1, &ignored);
		}
	}
	*out = m;
	return 0;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nfam; i++) {
		for (size_t j = 0; j < m->fam[i].len; j++)
			series_free(m->fam[i].s[j], m->fam[i].nlabels);
		free(m->fam[i].s);
	}
	free(m->fam);
	free(m->proc_root);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static int family_of(struct metrics *m, size_t family, enum metrics_type type, const char *verb,
		     struct family **out)
{
	if (family >= m->nfam)
		return err_set(E_INVALID, "metrics: no family %zu (there are %zu)", family,
			       m->nfam);
	if (m->fam[family].def->type != type)
		return err_set(E_INVALID, "metric %s: %s does not apply to its type",
			       m->fam[family].def->name, verb);
	*out = &m->fam[family];
	return 0;
}

int metrics_add(struct metrics *m, size_t family, const char *const *values, double v)
{
	struct family *f = NULL;
	int rc = family_of(m, family, METRICS_COUNTER, "add", &f);
	if (rc)
		return rc;
	if (!(v >= 0) || isinf(v))
		return err_set(E_INVALID,
			       "metric %s: a counter only grows (by a finite amount >= 0)",
			       f->def->name);
	pthread_mutex_lock(&m->lock);
	struct series *s = find(m, f, values, 1, &rc);
	if (s)
		s->value += v;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int metrics_set(struct metrics *m, size_t family, const char *const *values, double v)
{
	struct family *f = NULL;
	int rc = family_of(m, family, METRICS_GAUGE, "set", &f);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	struct series *s = find(m, f, values, 1, &rc);
	if (s)
		s->value = v;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int metrics_observe(struct metrics *m, size_t family, const char *const *values, double v)
{
	struct family *f = NULL;
	int rc = family_of(m, family, METRICS_HISTOGRAM, "observe", &f);
	if (rc)
		return rc;
	if (isnan(v))
		return err_set(E_INVALID, "metric %s: NaN observed", f->def->name);
	/* The first bound >= v; past the last finite bound is +Inf. */
	size_t lo = 0, hi = f->def->nbuckets;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->def->buckets[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	pthread_mutex_lock(&m->lock);
	struct series *s = find(m, f, values, 1, &rc);
	if (s) {
		s->buckets[lo]++;
		s->count++;
		s->sum += v;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int metrics_get(struct metrics *m, size_t family, const char *const *values, double *out)
{
	if (family >= m->nfam)
		return err_set(E_INVALID, "metrics: no family %zu (there are %zu)", family,
			       m->nfam);
	struct family *f = &m->fam[family];
	int rc;
	pthread_mutex_lock(&m->lock);
	struct series *s = find(m, f, values, 0, &rc);
	if (s)
		*out = f->def->type == METRICS_HISTOGRAM ? (double)s->count : s->value;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static void remove_at(struct family *f, size_t at)
{
	series_free(f->s[at], f->nlabels);
	memmove(f->s + at, f->s + at + 1, (f->len - at - 1) * sizeof(*f->s));
	f->len--;
}

int metrics_forget(struct metrics *m, size_t family, const char *const *values)
{
	if (family >= m->nfam)
		return err_set(E_INVALID, "metrics: no family %zu (there are %zu)", family,
			       m->nfam);
	struct family *f = &m->fam[family];
	int rc = 0;
	pthread_mutex_lock(&m->lock);
	char **tmp;
	const char *const *v = stored_form(f, values, &tmp);
	int found;
	size_t at = search(f, v, &found);
	/* A family without labels keeps its one series. */
	if (found && f->nlabels)
		remove_at(f, at);
	else if (!found)
		rc = err_set(E_NOTFOUND, "metric %s: no such series", f->def->name);
	free_tmp(tmp, f->nlabels);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

size_t metrics_forget_matching(struct metrics *m, const char *const *pairs)
{
	size_t gone = 0, npairs = 0;
	while (pairs && pairs[2 * npairs])
		npairs++;
	if (!npairs)
		return 0;
	size_t *idx = xcalloc(npairs, sizeof(size_t));
	char **want = xcalloc(npairs, sizeof(char *));
	for (size_t p = 0; p < npairs; p++) {
		const char *v = pairs[2 * p + 1] ? pairs[2 * p + 1] : "";
		char *fixed = utf8_fixed(v);
		want[p] = fixed ? fixed : xstrdup(v);
	}
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nfam; i++) {
		struct family *f = &m->fam[i];
		int applies = f->nlabels > 0;
		for (size_t p = 0; applies && p < npairs; p++) {
			applies = 0;
			for (size_t l = 0; l < f->nlabels; l++)
				if (!strcmp(f->def->labels[l], pairs[2 * p])) {
					idx[p] = l;
					applies = 1;
				}
		}
		if (!applies)
			continue;
		size_t keep = 0;
		for (size_t j = 0; j < f->len; j++) {
			int match = 1;
			for (size_t p = 0; match && p < npairs; p++)
				match = !strcmp(f->s[j]->values[idx[p]], want[p]);
			if (match) {
				series_free(f->s[j], f->nlabels);
				gone++;
			} else {
				f->s[keep++] = f->s[j];
			}
		}
		f->len = keep;
	}
	pthread_mutex_unlock(&m->lock);
	for (size_t p = 0; p < npairs; p++)
		free(want[p]);
	free(want);
	free(idx);
	return gone;
}

size_t metrics_forget_family(struct metrics *m, size_t family)
{
	if (family >= m->nfam)
		return 0;
	struct family *f = &m->fam[family];
	size_t gone = 0;
	pthread_mutex_lock(&m->lock);
	if (f->nlabels) {
		for (size_t j = 0; j < f->len; j++)
			series_free(f->s[j], f->nlabels);
		gone = f->len;
		f->len = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return gone;
}

size_t metrics_series(struct metrics *m)
{
	size_t n = 0;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nfam; i++)
		n += m->fam[i].len;
	pthread_mutex_unlock(&m->lock);
	return n;
}

void metrics_set_collector(struct metrics *m, void (*fn)(struct metrics *m, void *ud), void *ud)
{
	pthread_mutex_lock(&m->lock);
	m->collector = fn;
	m->collector_ud = ud;
	pthread_mutex_unlock(&m->lock);
}

/* --- rendering --- */

void metrics_format_value(char *out, size_t outsz, double v)
{
	if (isnan(v)) {
		snprintf(out, outsz, "NaN");
	} else if (isinf(v)) {
		snprintf(out, outsz, v > 0 ? "+Inf" : "-Inf");
	} else if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(out, outsz, "%.0f", v);
	} else {
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(out, outsz, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
}

static int add_escaped(struct buf *b, const char *s, int quotes)
{
	int rc = 0;
	for (const char *p = s; !rc && *p; p++) {
		const char *run = p;
		while (*p && *p != '\\' && *p != '\n' && !(quotes && *p == '"'))
			p++;
		if (p > run)
			rc = buf_add(b, run, (size_t)(p - run));
		if (rc || !*p)
			break;
		rc = buf_adds(b, *p == '\\' ? "\\\\" : *p == '\n' ? "\\n" : "\\\"");
	}
	return rc;
}

/* {a="x",b="y"[,le="..."]}, or nothing when there are no labels at all. */
static int add_labels(struct buf *b, const struct family *f, const struct series *s, const char *le)
{
	if (!f->nlabels && !le)
		return 0;
	int rc = buf_adds(b, "{");
	for (size_t i = 0; !rc && i < f->nlabels; i++) {
		rc = buf_addf(b, "%s%s=\"", i ? "," : "", f->def->labels[i]);
		if (!rc)
			rc = add_escaped(b, s->values[i], 1);
		if (!rc)
			rc = buf_adds(b, "\"");
	}
	if (!rc && le)
		rc = buf_addf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
	if (!rc)
		rc = buf_adds(b, "}");
	return rc;
}

static int add_header(struct buf *b, const char *name, const char *help, const char *type)
{
	int rc = buf_addf(b, "# HELP %s ", name);
	if (!rc)
		rc = add_escaped(b, help, 0);
	if (!rc)
		rc = buf_addf(b, "\n# TYPE %s %s\n", name, type);
	return rc;
}

static int render_family(struct buf *b, const struct family *f)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	const struct metrics_family_def *d = f->def;
	char num[64];
	if (!f->len)
		return 0;
	int rc = add_header(b, d->name, d->help, types[d->type]);
	for (size_t j = 0; !rc && j < f->len; j++) {
		const struct series *s = f->s[j];
		if (d->type != METRICS_HISTOGRAM) {
			metrics_format_value(num, sizeof(num), s->value);
			rc = buf_adds(b, d->name);
			if (!rc)
				rc = add_labels(b, f, s, NULL);
			if (!rc)
				rc = buf_addf(b, " %s\n", num);
			continue;
		}
		uint64_t cum = 0;
		for (size_t k = 0; !rc && k <= d->nbuckets; k++) {
			char le[64];
			cum += s->buckets[k];
			if (k < d->nbuckets)
				metrics_format_value(le, sizeof(le), d->buckets[k]);
			else
				snprintf(le, sizeof(le), "+Inf");
			rc = buf_addf(b, "%s_bucket", d->name);
			if (!rc)
				rc = add_labels(b, f, s, le);
			if (!rc)
				rc = buf_addf(b, " %" PRIu64 "\n", cum);
		}
		metrics_format_value(num, sizeof(num), s->sum);
		if (!rc)
			rc = buf_addf(b, "%s_sum", d->name);
		if (!rc)
			rc = add_labels(b, f, s, NULL);
		if (!rc)
			rc = buf_addf(b, " %s\n%s_count", num, d->name);
		if (!rc)
			rc = add_labels(b, f, s, NULL);
		if (!rc)
			rc = buf_addf(b, " %" PRIu64 "\n", s->count);
	}
	return rc;
}

/* --- process metrics --- */

int metrics_parse_proc_stat(const char *text, struct metrics_proc_stat *out)
{
	/* The command name (field 2) is in parentheses and may hold anything,
	 * ")" and spaces included: fields resume after the last ")". */
	const char *p = text ? strrchr(text, ')') : NULL;
	if (!p)
		return err_set(E_INVALID, "/proc/self/stat: no \")\" after the command name");
	p++;
	uint64_t f[25] = {0};
	/* Fields 3..24; field 3 (state) is a letter. */
	for (int i = 3; i <= 24; i++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return err_set(E_INVALID, "/proc/self/stat: only %d fields", i - 1);
		if (i == 3) {
			while (*p && *p != ' ')
				p++;
			continue;
		}
		char *end;
		errno = 0;
		long long v = strtoll(p, &end, 10);
		if (end == p || errno || (*end && *end != ' ' && *end != '\n'))
			return err_set(E_INVALID, "/proc/self/stat: field %d is not a number", i);
		f[i] = (uint64_t)v;
		p = end;
	}
	out->utime_ticks = f[14];
	out->stime_ticks = f[15];
	out->start_ticks = f[22];
	out->vsize_bytes = f[23];
	out->rss_pages = f[24];
	return 0;
}

int metrics_parse_btime(const char *text, int64_t *out)
{
	for (const char *p = text; p && *p;) {
		if (!strncmp(p, "btime ", 6)) {
			char *end;
			errno = 0;
			long long v = strtoll(p + 6, &end, 10);
			if (end == p + 6 || errno || (*end && *end != '\n'))
				return err_set(E_INVALID, "/proc/stat: btime is not a number");
			*out = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return err_set(E_INVALID, "/proc/stat: no btime line");
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	struct buf b;
	buf_init(&b, 1 << 20);
	char chunk[4096];
	size_t n;
	int rc = 0;
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = buf_add(&b, chunk, n);
	fclose(f);
	if (rc) {
		buf_dispose(&b);
		return NULL;
	}
	return b.ptr ? buf_take(&b) : xstrdup("");
}

static int render_process(struct buf *b, const char *root)
{
	char path[4096], num[64];
	int rc = 0;
	snprintf(path, sizeof(path), "%s/self/stat", root);
	char *stat = slurp(path);
	snprintf(path, sizeof(path), "%s/stat", root);
	char *sys = slurp(path);
	struct metrics_proc_stat ps;
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	int have_stat = stat && ticks > 0 && page > 0 && !metrics_parse_proc_stat(stat, &ps);
	int64_t btime;
	if (have_stat) {
		metrics_format_value(num, sizeof(num),
				     (double)(ps.utime_ticks + ps.stime_ticks) / (double)ticks);
		rc = add_header(b, "process_cpu_seconds_total",
				"Total user and system CPU time spent in seconds.", "counter");
		if (!rc)
			rc = buf_addf(b, "process_cpu_seconds_total %s\n", num);
	}
	/* Open descriptors: the entries of self/fd, less the one reading it. */
	snprintf(path, sizeof(path), "%s/self/fd", root);
	DIR *d = rc ? NULL : opendir(path);
	if (d) {
		long n = 0;
		for (struct dirent *e; (e = readdir(d));)
			if (e->d_name[0] != '.')
				n++;
		closedir(d);
		if (!strcmp(root, "/proc"))
			n--;
		rc = add_header(b, "process_open_fds", "Number of open file descriptors.", "gauge");
		if (!rc)
			rc = buf_addf(b, "process_open_fds %ld\n", n);
	}
	struct rlimit rl;
	if (!rc && !getrlimit(RLIMIT_NOFILE, &rl)) {
		metrics_format_value(num, sizeof(num),
				     rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
		rc = add_header(b, "process_max_fds", "Maximum number of open file descriptors.",
				"gauge");
		if (!rc)
			rc = buf_addf(b, "process_max_fds %s\n", num);
	}
	if (!rc && have_stat) {
		rc = add_header(b, "process_resident_memory_bytes",
				"Resident memory size in bytes.", "gauge");
		if (!rc)
			rc = buf_addf(b, "process_resident_memory_bytes %" PRIu64 "\n",
				      ps.rss_pages * (uint64_t)page);
		if (!rc && sys && !metrics_parse_btime(sys, &btime)) {
			metrics_format_value(num, sizeof(num),
					     (double)btime +
						 (double)ps.start_ticks / (double)ticks);
			rc = add_header(b, "process_start_time_seconds",
					"Start time of the process since unix epoch in seconds.",
					"gauge");
			if (!rc)
				rc = buf_addf(b, "process_start_time_seconds %s\n", num);
		}
		if (!rc)
			rc = add_header(b, "process_virtual_memory_bytes",
					"Virtual memory size in bytes.", "gauge");
		if (!rc)
			rc = buf_addf(b, "process_virtual_memory_bytes %" PRIu64 "\n",
				      ps.vsize_bytes);
	}
	free(stat);
	free(sys);
	return rc;
}

int metrics_render(struct metrics *m, struct buf *out)
{
	size_t start = out->len;
	pthread_mutex_lock(&m->lock);
	void (*collector)(struct metrics *, void *) = m->collector;
	void *ud = m->collector_ud;
	pthread_mutex_unlock(&m->lock);
	if (collector)
		collector(m, ud);

	int rc = 0;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; !rc && i < m->nfam; i++)
		rc = render_family(out, &m->fam[i]);
	uint64_t dropped = m->dropped;
	pthread_mutex_unlock(&m->lock);
	if (!rc)
		rc = add_header(out, "lifeboat_metrics_series_dropped_total",
				"Metric series not created because their family was full.",
				"counter");
	if (!rc)
		rc = buf_addf(out, "lifeboat_metrics_series_dropped_total %" PRIu64 "\n", dropped);
	if (!rc && m->process)
		rc = render_process(out, m->proc_root);
	if (rc) {
		out->len = start;
		if (out->ptr)
			out->ptr[start] = '\0';
	}
	return rc;
}

/* --- the operator's families --- */

static const char *const L_NS_NAME_SCHEDULE[] = {"namespace", "name", "schedule", NULL};
static const char *const L_NS_SCHEDULE[] = {"namespace", "schedule", NULL};
static const char *const L_NS_RESULT[] = {"namespace", "result", NULL};
static const char *const L_KIND_RESULT[] = {"kind", "result", NULL};
static const char *const L_KIND[] = {"kind", NULL};
static const char *const L_LEASE[] = {"lease", NULL};
static const char *const L_REQUEST[] = {"verb", "resource", "code", NULL};
static const char *const L_RESULT[] = {"result", NULL};
/* From a small database's seconds to a large one's hours. */
static const double DURATION_BUCKETS[] = {1,   5,    15,   30,	 60,	120,  300,
					  600, 1800, 3600, 7200, 14400, 43200};

const struct metrics_family_def metrics_operator_families[METRICS_OPERATOR_FAMILIES] = {
    [METRICS_BACKUP_LAST_SUCCESS] = {"lifeboat_backup_last_success_timestamp_seconds",
				     "Unix time at which the backup last completed successfully.",
				     METRICS_GAUGE, L_NS_NAME_SCHEDULE, NULL, 0},
    [METRICS_BACKUP_DURATION] =
	{"lifeboat_backup_duration_seconds",
	 "Time from a backup Job's start to its completion, completed backups only.",
	 METRICS_HISTOGRAM, L_NS_SCHEDULE, DURATION_BUCKETS,
	 sizeof(DURATION_BUCKETS) / sizeof(DURATION_BUCKETS[0])},
    [METRICS_BACKUP_SIZE] = {"lifeboat_backup_size_bytes",
			     "Size of the stored backup artifact (compressed and encrypted).",
			     METRICS_GAUGE, L_NS_NAME_SCHEDULE, NULL, 0},
    [METRICS_BACKUPS_TOTAL] = {"lifeboat_backups_total",
			       "Backups that finished, by result (succeeded or failed).",
			       METRICS_COUNTER, L_NS_RESULT, NULL, 0},
    [METRICS_RESTORES_TOTAL] = {"lifeboat_restores_total",
				"Restores that finished, by result (succeeded or failed).",
				METRICS_COUNTER, L_NS_RESULT, NULL, 0},
    [METRICS_SCHEDULE_MISSED_RUNS] = {"lifeboat_schedule_missed_runs_total",
				      "Scheduled runs that were skipped (missed deadline or a run "
				      "still in progress).",
				      METRICS_COUNTER, L_NS_SCHEDULE, NULL, 0},
    [METRICS_SCHEDULE_INTERVAL] = {"lifeboat_schedule_interval_seconds",
				   "The schedule's nominal interval: from its latest run time to "
				   "the next, in its time zone.",
				   METRICS_GAUGE, L_NS_SCHEDULE, NULL, 0},
    [METRICS_SCHEDULE_SUSPENDED] = {"lifeboat_schedule_suspended",
				    "1 while the schedule is suspended (spec.suspend), else 0.",
				    METRICS_GAUGE, L_NS_SCHEDULE, NULL, 0},
    [METRICS_SCHEDULE_CREATED] = {"lifeboat_schedule_created_timestamp_seconds",
				  "Unix time at which the schedule was created.", METRICS_GAUGE,
				  L_NS_SCHEDULE, NULL, 0},
    [METRICS_SCHEDULE_LAST_SUCCESS] = {"lifeboat_schedule_last_success_timestamp_seconds",
				       "Unix time at which the schedule's newest Completed backup "
				       "(of those that still exist) completed.",
				       METRICS_GAUGE, L_NS_SCHEDULE, NULL, 0},
    [METRICS_SCHEDULE_LAST_SIZE] = {"lifeboat_schedule_last_backup_size_bytes",
				    "Stored size of the schedule's newest Completed backup.",
				    METRICS_GAUGE, L_NS_SCHEDULE, NULL, 0},
    [METRICS_SCHEDULE_PREVIOUS_SIZE] = {"lifeboat_schedule_previous_backup_size_bytes",
					"Stored size of the schedule's Completed backup before "
					"the newest.",
					METRICS_GAUGE, L_NS_SCHEDULE, NULL, 0},
    [METRICS_RECONCILE_TOTAL] = {"lifeboat_reconcile_total",
				 "Reconcile calls, by kind and result (success, error, requeue).",
				 METRICS_COUNTER, L_KIND_RESULT, NULL, 0},
    [METRICS_RECONCILE_ERRORS] = {"lifeboat_reconcile_errors_total",
				  "Reconcile calls that returned an error, by kind.",
				  METRICS_COUNTER, L_KIND, NULL, 0},
    [METRICS_WORKQUEUE_DEPTH] = {"lifeboat_workqueue_depth",
				 "Keys waiting in the work queue, by kind.", METRICS_GAUGE, L_KIND,
				 NULL, 0},
    [METRICS_LEADER] = {"lifeboat_leader",
			"1 while this replica holds the leader election Lease (namespace/name), "
			"else 0.",
			METRICS_GAUGE, L_LEASE, NULL, 0},
    [METRICS_KUBE_REQUESTS] = {"lifeboat_kube_requests_total",
			       "Requests to the Kubernetes API server, by verb, resource and "
			       "HTTP status (0: no reply), counted once over their retries; a "
			       "watch when its stream ends.",
			       METRICS_COUNTER, L_REQUEST, NULL, 0},
    [METRICS_WEBHOOK_REQUESTS] = {"lifeboat_webhook_requests_total",
				  "DatabaseRestore admission webhook requests, by result (patched, "
				  "denied, allowed, malformed, refused, cert_load_failed).",
				  METRICS_COUNTER, L_RESULT, NULL, 0},
};
