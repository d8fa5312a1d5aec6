/* A small thread-safe metrics registry (counters, gauges, histograms with
 * fixed buckets, each family with a fixed set of label names) rendered in
 * the Prometheus text exposition format 0.0.4, plus the operator's own
 * families in one table and the process's metrics read from /proc/self at
 * render time.
 *
 * Semantics:
 * - A family is picked by its index in the table given to metrics_new.
 * - Label values are passed positionally, one per label name of the
 *   family (values may be NULL when the family has no labels; a NULL value
 *   is ""). A series is created on first use.
 * - Cardinality is bounded: a family holds at most max_series series; an
 *   update that would create one more is dropped (E_TOOBIG, and counted in
 *   lifeboat_metrics_series_dropped_total). Forget the series of deleted
 *   resources with metrics_forget or metrics_forget_matching.
 * - Rendering is deterministic: families in table order, series sorted by
 *   their label values (bytewise, label by label), histogram buckets in
 *   ascending order ending with le="+Inf". Label values are escaped (\\, \",
 *   \n) and invalid UTF-8 in them becomes U+FFFD. */
#ifndef LIFEBOAT_METRICS_H
#define LIFEBOAT_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct buf;

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

struct metrics_family_def {
	const char *name; /* [a-zA-Z_:][a-zA-Z0-9_:]* */
	const char *help;
	enum metrics_type type;
	/* Label names ([a-zA-Z_][a-zA-Z0-9_]*, not starting "__", not "le" for
	 * histograms, no repeats), NULL-terminated; NULL for none. */
	const char *const *labels;
	/* Histograms: the finite upper bounds, strictly ascending; +Inf is
	 * implied. Others: NULL, 0. */
	const double *buckets;
	size_t nbuckets;
};

#define METRICS_DEFAULT_MAX_SERIES 10000

struct metrics_options {
	size_t max_series; /* per family; 0: METRICS_DEFAULT_MAX_SERIES */
	int no_process;	   /* leave out the process_* families (tests) */
	/* Where the process metrics come from; NULL: "/proc". Tests point it
	 * at a folder holding self/stat, self/fd/ and stat. */
	const char *proc_root;
};

struct metrics;

/* A registry for the n families in defs (borrowed: the table must outlive the
 * registry, as a static table does). opt may be NULL for the defaults.
 * Returns 0 and *out (free with metrics_free), or E_INVALID naming the family
 * and what is wrong with it. */
int metrics_new(struct metrics **out, const struct metrics_family_def *defs, size_t n,
		const struct metrics_options *opt);
/* NULL is a no-op. No thread may be using the registry. */
void metrics_free(struct metrics *m);

/* Counters: adds v (finite, >= 0). Returns 0, E_INVALID (bad family index,
 * wrong type, negative or NaN v) or E_TOOBIG (the family is full; dropped). */
int metrics_add(struct metrics *m, size_t family, const char *const *values, double v);
#define metrics_inc(m, family, values) metrics_add((m), (family), (values), 1.0)
/* Gauges: sets the value (any double, NaN and infinities included). Errors
 * as metrics_add. */
int metrics_set(struct metrics *m, size_t family, const char *const *values, double v);
/* Histograms: counts v (not NaN) in the first bucket whose bound is >= v, and
 * adds it to the sum. Errors as metrics_add. */
int metrics_observe(struct metrics *m, size_t family, const char *const *values, double v);
/* The current value of a counter or gauge series, or a histogram's count,
 * into *out. Returns 0, E_NOTFOUND (no such series) or E_INVALID. */
int metrics_get(struct metrics *m, size_t family, const char *const *values, double *out);

/* Drops one series. Returns 0 or E_NOTFOUND (or E_INVALID for a bad index). */
int metrics_forget(struct metrics *m, size_t family, const char *const *values);
/* Drops, in every family, each series whose labels include all of the given
 * pairs: name, value, name, value, ..., NULL. A family that lacks one of the
 * label names is left alone. Returns how many series went.
 *   metrics_forget_matching(m, (const char *[]){"namespace", ns, "name", n, NULL});
 */
size_t metrics_forget_matching(struct metrics *m, const char *const *pairs);
/* Drops every series of one family (a family without labels keeps its one
 * series). Returns how many went; 0 for a bad index. */
size_t metrics_forget_family(struct metrics *m, size_t family);
/* Series held, all families together. */
size_t metrics_series(struct metrics *m);

/* Called at the start of every render, before the registry is locked, to set
 * gauges that are cheaper to read than to track (work-queue depths). One
 * collector; NULL removes it. */
void metrics_set_collector(struct metrics *m, void (*fn)(struct metrics *m, void *ud), void *ud);

/* Appends the text exposition of every family with at least one series
 * (families without labels always show), then the process metrics.
 * Returns 0 or E_TOOBIG from out's cap. Safe to call from any thread. */
int metrics_render(struct metrics *m, struct buf *out);

/* Pure helpers, exposed for the tests. */
/* Formats v as Prometheus does: "NaN", "+Inf", "-Inf", integers without a
 * fraction, else the shortest text that reads back as the same double. */
void metrics_format_value(char *out, size_t outsz, double v);
/* The fields the process metrics need from /proc/self/stat's text. */
struct metrics_proc_stat {
	uint64_t utime_ticks, stime_ticks, start_ticks; /* start: since boot */
	uint64_t vsize_bytes, rss_pages;
};
/* 0 or E_INVALID (too few fields, a malformed number). */
int metrics_parse_proc_stat(const char *text, struct metrics_proc_stat *out);
/* The "btime" line of /proc/stat; 0 or E_INVALID. */
int metrics_parse_btime(const char *text, int64_t *out);

/* The operator's families: indexes into metrics_operator_families. */
enum metrics_operator_family {
	/* gauge {namespace, name, schedule}: Unix time of the backup's completion */
	METRICS_BACKUP_LAST_SUCCESS,
	/* histogram {namespace, schedule}: run time of completed backups */
	METRICS_BACKUP_DURATION,
	/* gauge {namespace, name, schedule}: stored size of the backup */
	METRICS_BACKUP_SIZE,
	/* counter {namespace, result}: finished backups; result succeeded|failed */
	METRICS_BACKUPS_TOTAL,
	/* counter {namespace, result}: finished restores */
	METRICS_RESTORES_TOTAL,
	/* counter {namespace, schedule}: runs a schedule skipped */
	METRICS_SCHEDULE_MISSED_RUNS,
	/* gauges {namespace, schedule} from each schedule's reconcile
	 * (schedmetrics.h): its nominal interval in seconds, 1 while suspended,
	 * its creation time, its newest success's completion time, the sizes
	 * of its newest Completed backup and the one before */
	METRICS_SCHEDULE_INTERVAL,
	METRICS_SCHEDULE_SUSPENDED,
	METRICS_SCHEDULE_CREATED,
	METRICS_SCHEDULE_LAST_SUCCESS,
	METRICS_SCHEDULE_LAST_SIZE,
	METRICS_SCHEDULE_PREVIOUS_SIZE,
	/* counter {kind, result}: reconcile calls; result success|error|requeue */
	METRICS_RECONCILE_TOTAL,
	/* counter {kind}: reconcile calls that failed */
	METRICS_RECONCILE_ERRORS,
	/* gauge {kind}: keys waiting in the work queue */
	METRICS_WORKQUEUE_DEPTH,
	/* gauge {lease}: 1 while this replica holds the Lease "ns/name", else 0 */
	METRICS_LEADER,
	/* counter {verb, resource, code}: requests to the API server (code 0: no
	 * reply) */
	METRICS_KUBE_REQUESTS,
	/* counter {result}: admission webhook requests: patched (a CREATE
	 * annotated), denied (an UPDATE refused), allowed, malformed (400),
	 * refused (404/405/411/413/415), cert_load_failed (a replacement
	 * certificate that did not load) */
	METRICS_WEBHOOK_REQUESTS,
	METRICS_OPERATOR_FAMILIES
};
extern const struct metrics_family_def metrics_operator_families[METRICS_OPERATOR_FAMILIES];

#endif
