/* lifeboat-operator: flags, the caches, the work queue and its workers, the
 * probes and metrics, leader election and shutdown. The reconcile is pure
 * (controller/backup.h); the workers read the caches, reconcile and apply. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/jobresult.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "operator/api/backup.h"
#include "operator/api/restore.h"
#include "operator/api/schedule.h"
#include "operator/controller/apply.h"
#include "operator/controller/backup.h"
#include "operator/events.h"
#include "operator/jobspec.h"
#include "operator/kube/client.h"
#include "operator/kube/informer.h"
#include "operator/kube/kubeconfig.h"
#include "operator/kube/workqueue.h"
#include "operator/leader.h"
#include "operator/metrics.h"
#include "operator/podindex.h"
#include "operator/labelindex.h"
#include "operator/cron.h"
#include "operator/tz.h"
#include "operator/controller/restore.h"
#include "operator/controller/schedule.h"
#include "operator/schedmetrics.h"
#include "operator/serve.h"
#include "operator/webhook_serve.h"

#define SELECTOR JOBSPEC_LABEL_MANAGED_BY "=lifeboat-operator"
#define LEASE_NAME "lifeboat-operator"
#define SYNC_TIMEOUT_MS (120 * 1000)

struct flag {
	const char *name, *env, *def, *help;
	int boolean;
};

enum {
	F_KUBECONFIG,
	F_NAMESPACES,
	F_JOB_IMAGE,
	F_JOB_SA,
	F_METRICS,
	F_HEALTH,
	F_LEADER,
	F_LEADER_NS,
	F_LOG_FORMAT,
	F_LOG_LEVEL,
	F_WORKERS,
	F_WEBHOOK,
	F_WEBHOOK_CERTS,
	F_COUNT
};

static const struct flag flags[F_COUNT] = {
    [F_KUBECONFIG] = {"kubeconfig", "LIFEBOAT_KUBECONFIG", "",
		      "kubeconfig file; unset: in-cluster, else $KUBECONFIG, else ~/.kube/config",
		      0},
    [F_NAMESPACES] = {"namespaces", "LIFEBOAT_NAMESPACES", "",
		      "comma-separated namespaces to watch; empty: all", 0},
    [F_JOB_IMAGE] = {"job-image", "LIFEBOAT_JOB_IMAGE", "lifeboat-job",
		     "image of the lifeboat job (jobTemplate.image wins)", 0},
    [F_JOB_SA] =
	{"job-service-account", "LIFEBOAT_JOB_SERVICE_ACCOUNT", "",
	 "service account of the Jobs (jobTemplate's wins); empty: the namespace's default", 0},
    [F_METRICS] = {"metrics-addr", "LIFEBOAT_METRICS_ADDR", "127.0.0.1:8080",
		   "address of /metrics; \"0\" turns it off", 0},
    [F_HEALTH] = {"health-addr", "LIFEBOAT_HEALTH_ADDR", "127.0.0.1:8081",
		  "address of /healthz and /readyz; \"0\" turns it off", 0},
    [F_LEADER] = {"leader-elect", "LIFEBOAT_LEADER_ELECT", "false",
		  "reconcile only while holding the Lease " LEASE_NAME, 1},
    [F_LEADER_NS] = {"leader-election-namespace", "LIFEBOAT_LEADER_ELECTION_NAMESPACE", "",
		     "namespace of the Lease; empty: the in-cluster namespace, else default", 0},
    [F_LOG_FORMAT] = {"log-format", "LIFEBOAT_LOG_FORMAT", "json", "json | logfmt", 0},
    [F_LOG_LEVEL] = {"log-level", "LIFEBOAT_LOG_LEVEL", "info", "error | warn | info | debug", 0},
    [F_WORKERS] = {"workers", "LIFEBOAT_WORKERS", "4", "reconcile worker threads (1-64)", 0},
    [F_WEBHOOK] = {"webhook-addr", "LIFEBOAT_WEBHOOK_ADDR", "0",
		   "HTTPS address of the DatabaseRestore admission webhook "
		   "(/mutate-databaserestore); \"0\" turns it off",
		   0},
    [F_WEBHOOK_CERTS] = {"webhook-cert-dir", "LIFEBOAT_WEBHOOK_CERT_DIR", "/etc/lifeboat/webhook",
			 "folder of the webhook's tls.crt and tls.key (re-read when they change)",
			 0},
};

/* One namespace's (or all namespaces') caches. */
struct scope {
	char *ns; /* NULL: all */
	struct informer *backups, *jobs, *pods, *schedules, *restores;
	struct podindex *newest; /* each Job's newest pod, from the pod handlers */
	struct labelindex *runs; /* each schedule's DatabaseBackups, by its label */
};

struct op {
	struct kube_config cfg;
	struct scope *scopes;
	size_t nscopes;
	struct workqueue *q;
	struct events *events;
	struct metrics *metrics;
	struct leader *leader;
	struct jobspec_opts jo;
	atomic_int leading;
	char *lease_label;	    /* "namespace/name" of the Lease, with --leader-elect */
	struct webhook_serve *hook; /* the admission webhook, or NULL */
	struct webhook_serve_stats hook_seen; /* its counters as last collected */
};

/* The metric families are the operator's shared table (metrics.h). */
#define KIND_LABEL API_BACKUP_KIND

static void usage(FILE *f)
{
	fprintf(f, "usage: lifeboat-operator [flags]\n\nEvery flag can also be set by its "
		   "environment variable; the flag wins.\n\n");
	for (size_t i = 0; i < F_COUNT; i++)
		fprintf(f, "  --%s%s\n      %s (env %s%s%s)\n", flags[i].name,
			flags[i].boolean ? "[=true|false]" : " VALUE", flags[i].help, flags[i].env,
			*flags[i].def ? ", default " : "", flags[i].def);
	fprintf(f, "  --help, --version\n");
}

static int truthy(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "yes") == 0;
}

/* --- finding a key's scope and objects --- */

static struct scope *scope_of(struct op *op, const char *ns)
{
	for (size_t i = 0; i < op->nscopes; i++)
		if (!op->scopes[i].ns || strcmp(op->scopes[i].ns, ns) == 0)
			return &op->scopes[i];
	return NULL;
}

static struct json_object *field(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b &&
	    (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, b, &v)))
		return NULL;
	return v;
}

static const char *field_str(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = field(o, a, b);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* The name in obj's ownerReference of kind, or NULL. */
static const char *owner_of(struct json_object *obj, const char *kind)
{
	struct json_object *refs = field(obj, "metadata", "ownerReferences");
	if (!refs || !json_object_is_type(refs, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(refs); i++) {
		struct json_object *r = json_object_array_get_idx(refs, i);
		const char *k = field_str(r, "kind", NULL);
		if (k && strcmp(k, kind) == 0)
			return field_str(r, "name", NULL);
	}
	return NULL;
}

/* The DatabaseBackup owning a Job. */
static const char *job_owner(struct json_object *job)
{
	return owner_of(job, API_BACKUP_KIND);
}

/* The BackupSchedule a DatabaseBackup is a run of: its owner (the full
 * name; the lifeboat.dev/schedule label may be shortened), else NULL. */
static const char *backup_schedule(struct json_object *backup)
{
	struct json_object *labels = field(backup, "metadata", "labels");
	if (!labels || !field_str(labels, API_SCHEDULE_LABEL, NULL))
		return NULL;
	return owner_of(backup, API_SCHEDULE_KIND);
}

/* A work-queue key: the kind's prefix ("" for a DatabaseBackup), then
 * namespace/name; NULLs are nothing to do. */
static void enqueue_kind(struct op *op, const char *prefix, const char *ns, const char *name)
{
	if (!ns || !name)
		return;
	char *key = xasprintf("%s%s/%s", prefix, ns, name);
	workqueue_add(op->q, key);
	free(key);
}

/* The newest pod of Job ns/job, from the index (no walk of the pod cache). */
static struct json_object *newest_pod(struct scope *s, const char *ns, const char *job)
{
	char *name = podindex_get(s->newest, ns, job);
	struct json_object *pod = name ? informer_get(s->pods, ns, name) : NULL;
	free(name);
	return pod;
}

/* After the indexed pod of a Job went: offer the Job's other cached pods. */
struct reindex {
	struct podindex *x;
	const char *ns, *job;
};

static int reindex_one(const char *key, struct json_object *pod, void *ud)
{
	(void)key;
	struct reindex *r = ud;
	const char *ns = field_str(pod, "metadata", "namespace");
	struct json_object *labels = field(pod, "metadata", "labels");
	const char *jn = labels ? field_str(labels, "job-name", NULL) : NULL;
	if (ns && jn && strcmp(ns, r->ns) == 0 && strcmp(jn, r->job) == 0)
		podindex_observe(r->x, pod);
	return 0;
}

/* A BackupSchedule's key in the work queue: its own prefix, as a DatabaseBackup
 * may have the same namespace and name. */
#define SCHEDULE_KEY "dbs:"

/* A DatabaseRestore's key, likewise. */
#define RESTORE_KEY "dbr:"

#define enqueue(op, ns, name) enqueue_kind((op), "", (ns), (name))
#define enqueue_schedule(op, ns, name) enqueue_kind((op), SCHEDULE_KEY, (ns), (name))
#define enqueue_restore(op, ns, name) enqueue_kind((op), RESTORE_KEY, (ns), (name))

/* The schedule's clock. Test builds (-DLIFEBOAT_TEST_CLOCK, make
 * TESTCLOCK=1) add the seconds written in $LIFEBOAT_TEST_CLOCK_FILE, read
 * on every call, so a test can move the schedules' time; release builds
 * have no such code (docs/schedules.md). */
static int64_t schedule_now(void)
{
	int64_t now = (int64_t)time(NULL);
#ifdef LIFEBOAT_TEST_CLOCK
	const char *path = getenv("LIFEBOAT_TEST_CLOCK_FILE");
	FILE *f = path ? fopen(path, "r") : NULL;
	long long off = 0;
	if (f) {
		if (fscanf(f, "%lld", &off) == 1)
			now += off;
		fclose(f);
	}
#endif
	return now;
}

/* --- handlers --- */

static void backup_changed(struct op *op, struct json_object *obj)
{
	const char *ns = field_str(obj, "metadata", "namespace");
	enqueue(op, ns, field_str(obj, "metadata", "name"));
	enqueue_schedule(op, ns, backup_schedule(obj));
	enqueue_restore(op, ns, owner_of(obj, API_RESTORE_KIND)); /* a safety backup */
}

static void schedule_changed(struct op *op, struct json_object *obj)
{
	enqueue_schedule(op, field_str(obj, "metadata", "namespace"),
			 field_str(obj, "metadata", "name"));
}

/* A restore changed: the schedule of the backup it refers to looks again
 * (its retention must keep that backup). */
static void restore_changed(struct op *op, struct json_object *obj)
{
	const char *ns = field_str(obj, "metadata", "namespace");
	struct json_object *spec = field(obj, "spec", NULL);
	const char *ref = spec ? field_str(spec, "backupRef", "name") : NULL;
	struct scope *s = ns ? scope_of(op, ns) : NULL;
	enqueue_restore(op, ns, field_str(obj, "metadata", "name"));
	if (!s || !ref)
		return;
	struct json_object *b = informer_get(s->backups, ns, ref);
	if (b)
		enqueue_schedule(op, ns, backup_schedule(b));
	json_object_put(b);
}

static void job_changed(struct op *op, struct json_object *job)
{
	const char *ns = field_str(job, "metadata", "namespace");
	enqueue(op, ns, job_owner(job));
	enqueue_restore(op, ns, owner_of(job, API_RESTORE_KIND));
}

static void pod_changed(struct op *op, struct json_object *pod)
{
	const char *ns = field_str(pod, "metadata", "namespace");
	struct json_object *labels = field(pod, "metadata", "labels");
	const char *jn = labels ? field_str(labels, "job-name", NULL) : NULL;
	struct scope *s = ns ? scope_of(op, ns) : NULL;
	if (!s || !jn)
		return;
	struct json_object *job = informer_get(s->jobs, ns, jn);
	if (job)
		job_changed(op, job);
	json_object_put(job);
}

#define HANDLERS(kind)                                                                             \
	static void kind##_add(struct json_object *obj, void *ud)                                  \
	{                                                                                          \
		kind##_changed(ud, obj);                                                           \
	}                                                                                          \
	static void kind##_update(struct json_object *old, struct json_object *obj, void *ud)      \
	{                                                                                          \
		(void)old;                                                                         \
		kind##_changed(ud, obj);                                                           \
	}                                                                                          \
	static void kind##_delete(struct json_object *obj, void *ud)                               \
	{                                                                                          \
		kind##_changed(ud, obj);                                                           \
	}

HANDLERS(job)
HANDLERS(schedule)
HANDLERS(restore)

/* The backups feed the schedules' index too. */
static void backup_add(struct json_object *obj, void *ud)
{
	struct op *op = ud;
	const char *ns = field_str(obj, "metadata", "namespace");
	struct scope *s = ns ? scope_of(op, ns) : NULL;
	if (s)
		labelindex_observe(s->runs, obj);
	backup_changed(op, obj);
}

static void backup_update(struct json_object *old, struct json_object *obj, void *ud)
{
	(void)old;
	backup_add(obj, ud);
}

static void backup_delete(struct json_object *obj, void *ud)
{
	struct op *op = ud;
	const char *ns = field_str(obj, "metadata", "namespace");
	struct scope *s = ns ? scope_of(op, ns) : NULL;
	if (s)
		labelindex_forget(s->runs, obj);
	backup_changed(op, obj);
}

static void pod_add(struct json_object *obj, void *ud)
{
	struct op *op = ud;
	const char *ns = field_str(obj, "metadata", "namespace");
	struct scope *s = ns ? scope_of(op, ns) : NULL;
	if (s)
		podindex_observe(s->newest, obj);
	pod_changed(op, obj);
}

static void pod_update(struct json_object *old, struct json_object *obj, void *ud)
{
	(void)old;
	pod_add(obj, ud);
}

/* Rare (a Job's pods go with the Job, or one is replaced by a retry): the
 * walk over the pod cache is only for the Job that lost its indexed pod. */
static void pod_delete(struct json_object *obj, void *ud)
{
	struct op *op = ud;
	const char *ns = field_str(obj, "metadata", "namespace");
	struct json_object *labels = field(obj, "metadata", "labels");
	const char *jn = labels ? field_str(labels, "job-name", NULL) : NULL;
	struct scope *s = ns ? scope_of(op, ns) : NULL;
	if (s && jn && podindex_forget(s->newest, obj)) {
		struct reindex r = {s->newest, ns, jn};
		informer_foreach(s->pods, reindex_one, &r);
	}
	pod_changed(op, obj);
}

/* The kube client's observer: lifeboat_kube_requests_total. */
static void count_request(void *ud, const char *verb, const char *resource, int code)
{
	char c[16];
	snprintf(c, sizeof(c), "%d", code);
	const char *lv[] = {verb ? verb : "", resource ? resource : "", c};
	metrics_add(ud, METRICS_KUBE_REQUESTS, lv, 1);
}

/* A reconcile that failed is retried: a conflict (the object moved on since
 * it was cached, e.g. by our own last write) is routine, anything else is
 * worth a warning. Reads err_code(). */
static enum log_level retry_level(void)
{
	return err_code() == E_CONFLICT ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN;
}

/* --- the worker --- */

/* The schedule a backup is a run of, or "". */
static const char *schedule_of(struct json_object *obj)
{
	const char *s = backup_schedule(obj);
	return s ? s : "";
}

/* A phase reached Completed or Failed by this write: count it once (a write
 * that failed is retried with the same transition and counted then). */
static void observe_finish(struct op *op, struct json_object *obj, const struct ctl_actions *acts,
			   const char *ns, const char *name)
{
	const struct ctl_action *w = ctl_actions_find(acts, CTL_ACTION_WRITE_STATUS);
	if (!w)
		return;
	const char *was = field_str(obj, "status", "phase");
	const char *phase = field_str(w->body, "phase", NULL);
	if (!phase || (was && strcmp(was, phase) == 0))
		return;
	int ok = strcmp(phase, CTL_PHASE_COMPLETED) == 0;
	if (!ok && strcmp(phase, CTL_PHASE_FAILED) != 0)
		return;
	const char *sched = schedule_of(obj);
	const char *nr[] = {ns, ok ? "succeeded" : "failed"};
	const char *nns[] = {ns, name, sched}, *nsched[] = {ns, sched};
	metrics_add(op->metrics, METRICS_BACKUPS_TOTAL, nr, 1);
	if (!ok)
		return;
	/* When it completed, by the status (the job's own clock), else now. */
	time_t done = time(NULL);
	const char *ct = field_str(w->body, "completionTime", NULL);
	if (ct)
		(void)jobresult_time_parse(&done, ct);
	metrics_set(op->metrics, METRICS_BACKUP_LAST_SUCCESS, nns, (double)done);
	struct json_object *d = field(w->body, "durationSeconds", NULL);
	if (d)
		metrics_observe(op->metrics, METRICS_BACKUP_DURATION, nsched,
				json_object_get_double(d));
	struct json_object *size = field(w->body, "artifact", "size");
	if (size)
		metrics_set(op->metrics, METRICS_BACKUP_SIZE, nns,
			    (double)json_object_get_int64(size));
}

static int reconcile_key(struct op *op, struct kube_client *kc, const char *key)
{
	const char *slash = strchr(key, '/');
	if (!slash)
		return 0;
	char *ns = xstrdup(key);
	ns[slash - key] = '\0';
	const char *name = slash + 1;
	struct scope *s = scope_of(op, ns);
	struct json_object *obj = s ? informer_get(s->backups, ns, name) : NULL;
	int rc = 0;
	if (!obj) {
		/* Gone: its per-backup series go too (the counters and the
		 * per-schedule histogram stay). */
		metrics_forget_matching(op->metrics,
					(const char *[]){"namespace", ns, "name", name, NULL});
		free(ns);
		return 0;
	}
	struct api_backup *b = NULL;
	char *perr = NULL;
	if (api_backup_parse(&b, obj) != 0)
		perr = xstrdup(err_msg());
	char *jn = jobspec_job_name(name, JOBSPEC_SUFFIX_BACKUP);
	char *dn = jobspec_job_name(name, JOBSPEC_SUFFIX_DELETE);
	struct json_object *job = informer_get(s->jobs, ns, jn);
	struct json_object *djob = informer_get(s->jobs, ns, dn);
	struct json_object *pod = job ? newest_pod(s, ns, jn) : NULL;
	struct json_object *dpod = djob ? newest_pod(s, ns, dn) : NULL;

	struct ctl_backup_input in = {
	    .obj = obj, .backup = b, .spec_error = perr, .opts = &op->jo, .now = time(NULL)};
	ctl_job_observe(&in.job, job);
	ctl_job_observe(&in.delete_job, djob);
	ctl_pod_observe(&in.pod, pod);
	ctl_pod_observe(&in.delete_pod, dpod);
	struct ctl_actions acts = {0};
	ctl_backup_reconcile(&acts, &in);
	for (size_t i = 0; i < acts.n; i++)
		log_kv(LOG_LEVEL_DEBUG, "action", "key", key, "kind",
		       ctl_action_kind_name(acts.v[i].kind), NULL);
	size_t failed_at;
	rc = ctl_apply_at(kc, op->events, obj, &acts, &failed_at);
	if (rc == E_INVALID && b && !b->meta.deletion_timestamp && failed_at < acts.n &&
	    acts.v[failed_at].kind == CTL_ACTION_CREATE_JOB) {
		/* The API server refused the Job (a jobTemplate setting it finds
		 * invalid): retrying cannot help; say so in status. */
		char *why = xstrdup(err_msg());
		log_kv(LOG_LEVEL_WARN, "the API server refused the backup Job", "key", key, "error",
		       why, NULL);
		struct ctl_actions refused = {0};
		ctl_backup_job_refused(&refused, &in, why);
		rc = ctl_apply(kc, op->events, obj, &refused);
		ctl_actions_dispose(&refused);
		free(why);
	}
	if (rc == 0) {
		observe_finish(op, obj, &acts, ns, name);
		const struct ctl_action *rq = ctl_actions_find(&acts, CTL_ACTION_REQUEUE_AFTER);
		if (rq)
			workqueue_add_after(op->q, key, rq->delay_ms);
	} else
		log_kv(retry_level(), "reconcile failed; retrying with backoff", "key", key,
		       "error", err_msg(), NULL);
	ctl_actions_dispose(&acts);
	json_object_put(job);
	json_object_put(djob);
	json_object_put(pod);
	json_object_put(dpod);
	free(jn);
	free(dn);
	api_backup_free(b);
	free(perr);
	json_object_put(obj);
	free(ns);
	return rc;
}

/* --- the BackupSchedule worker --- */

static int64_t time_field(struct json_object *o, const char *a, const char *b, int64_t dflt)
{
	const char *text = field_str(o, a, b);
	time_t t;
	return text && jobresult_time_parse(&t, text) == 0 ? (int64_t)t : dflt;
}

struct refs {
	const char *ns;
	char **names;
	size_t n, cap;
};

static int collect_ref(const char *key, struct json_object *obj, void *ud)
{
	(void)key;
	struct refs *r = ud;
	const char *ns = field_str(obj, "metadata", "namespace");
	struct json_object *spec = field(obj, "spec", NULL);
	const char *ref = spec ? field_str(spec, "backupRef", "name") : NULL;
	if (!ns || !ref || strcmp(ns, r->ns) != 0)
		return 0;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->names = xrealloc(r->names, r->cap * sizeof(*r->names));
	}
	r->names[r->n++] = xstrdup(ref);
	return 0;
}

static int referenced(const struct refs *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->names[i], name) == 0)
			return 1;
	return 0;
}

/* Run times after since and before due: counted by stepping (bounded). */
static int64_t count_missed(const struct cron *c, const struct tz *z, int64_t since, int64_t due)
{
	int64_t n = 0, t = since, next;
	while (n < 100000 && cron_next(&next, c, z, t) == 0 && next < due) {
		n++;
		t = next;
	}
	return n;
}

static int reconcile_schedule(struct op *op, struct kube_client *kc, const char *key)
{
	const char *slash = strchr(key, '/');
	if (!slash)
		return 0;
	char *ns = xstrndup(key, (size_t)(slash - key));
	const char *name = slash + 1;
	struct scope *s = scope_of(op, ns);
	struct json_object *obj = s ? informer_get(s->schedules, ns, name) : NULL;
	if (!obj) {
		metrics_forget_matching(op->metrics,
					(const char *[]){"namespace", ns, "schedule", name, NULL});
		free(ns);
		return 0;
	}
	struct api_schedule *sc = NULL;
	struct tz *z = NULL;
	struct cron c;
	char *perr = NULL;
	if (api_schedule_parse(&sc, obj) != 0)
		perr = xstrdup(err_msg());
	else if (cron_parse(&c, sc->spec.schedule, "spec.schedule") != 0)
		perr = xstrdup(err_msg());
	else if (tz_load(&z, sc->spec.time_zone) != 0)
		perr = xasprintf("spec.timeZone: %s", err_msg());

	struct ctl_schedule_input in = {.obj = obj,
					.schedule = sc,
					.spec_error = perr,
					.now = schedule_now(),
					.due = CTL_NO_TIME,
					.next = CTL_NO_TIME};
	char **names = NULL;
	size_t nnames = 0;
	struct json_object **objs = NULL;
	struct ctl_sched_backup *bs = NULL;
	struct schedmetrics_run *runs = NULL;
	struct refs refs = {ns, NULL, 0, 0};
	if (!perr) {
		int64_t t;
		if (cron_prev(&t, &c, z, in.now) == 0)
			in.due = t;
		if (cron_next(&t, &c, z, in.now) == 0)
			in.next = t;
		in.since = time_field(field(obj, "status", NULL), "lastScheduleTime", NULL,
				      time_field(obj, "metadata", "creationTimestamp", in.now));
		if (in.due != CTL_NO_TIME && in.due > in.since)
			in.missed = count_missed(&c, z, in.since, in.due);
		informer_foreach(s->restores, collect_ref, &refs);
		char *label = ctl_schedule_label(name);
		nnames = labelindex_get(s->runs, ns, label, &names);
		free(label);
		objs = xcalloc(nnames ? nnames : 1, sizeof(*objs));
		bs = xcalloc(nnames ? nnames : 1, sizeof(*bs));
		runs = xcalloc(nnames ? nnames : 1, sizeof(*runs));
		for (size_t i = 0; i < nnames; i++) {
			struct json_object *b = informer_get(s->backups, ns, names[i]);
			const char *owner = b ? backup_schedule(b) : NULL;
			if (!owner || strcmp(owner, name) != 0) {
				/* labelled by hand, or another schedule's: not ours to prune */
				json_object_put(b);
				continue;
			}
			objs[in.nbackups] = b;
			struct json_object *ann = field(b, "metadata", "annotations");
			int64_t created = time_field(b, "metadata", "creationTimestamp", in.now);
			int64_t at =
			    ann ? time_field(ann, CTL_SCHEDULED_TIME_ANNOTATION, NULL, created)
				: created;
			schedmetrics_run_observe(&runs[in.nbackups], b, at);
			bs[in.nbackups++] = (struct ctl_sched_backup){
			    names[i],
			    field_str(b, "status", "phase"),
			    at,
			    tz_offset(z, at),
			    referenced(&refs, names[i]),
			    field_str(b, "metadata", "deletionTimestamp") != NULL,
			    api_conditions_reason(field(b, "status", "conditions"), "Ready"),
			    field_str(b, "status", "message")};
		}
		in.backups = bs;
	}
	struct ctl_actions acts = {0};
	ctl_schedule_reconcile(&acts, &in);
	struct schedmetrics sm;
	schedmetrics_compute(&sm, obj, in.due, in.next, runs, in.nbackups);
	if (atomic_load(&op->leading))
		schedmetrics_publish(op->metrics, ns, name, &sm);
	for (size_t i = 0; i < acts.n; i++)
		log_kv(LOG_LEVEL_DEBUG, "action", "key", key, "kind",
		       ctl_action_kind_name(acts.v[i].kind), NULL);
	int rc = ctl_apply(kc, op->events, obj, &acts);
	if (rc == 0) {
		const struct ctl_action *w = ctl_actions_find(&acts, CTL_ACTION_WRITE_STATUS);
		int64_t was = field(obj, "status", NULL)
				  ? (int64_t)json_object_get_int64(
					field(field(obj, "status", NULL), "missedCount", NULL))
				  : 0;
		int64_t now_missed =
		    w ? (int64_t)json_object_get_int64(field(w->body, "missedCount", NULL)) : was;
		const char *lv[] = {ns, name};
		if (now_missed > was)
			metrics_add(op->metrics, METRICS_SCHEDULE_MISSED_RUNS, lv,
				    (double)(now_missed - was));
		const struct ctl_action *rq = ctl_actions_find(&acts, CTL_ACTION_REQUEUE_AFTER);
		if (rq) {
			char *qk = xasprintf(SCHEDULE_KEY "%s", key);
			workqueue_add_after(op->q, qk, rq->delay_ms);
			free(qk);
		}
	} else {
		log_kv(retry_level(), "reconcile failed; retrying with backoff", "key", key,
		       "error", err_msg(), NULL);
	}
	ctl_actions_dispose(&acts);
	for (size_t i = 0; i < in.nbackups; i++)
		json_object_put(objs[i]);
	free(objs);
	free(bs);
	free(runs);
	labelindex_names_free(names, nnames);
	for (size_t i = 0; i < refs.n; i++)
		free(refs.names[i]);
	free(refs.names);
	tz_free(z);
	api_schedule_free(sc);
	free(perr);
	json_object_put(obj);
	free(ns);
	return rc;
}

/* --- the DatabaseRestore worker --- */

static int reconcile_restore(struct op *op, struct kube_client *kc, const char *key)
{
	const char *slash = strchr(key, '/');
	if (!slash)
		return 0;
	char *ns = xstrndup(key, (size_t)(slash - key));
	const char *name = slash + 1;
	struct scope *s = scope_of(op, ns);
	struct json_object *obj = s ? informer_get(s->restores, ns, name) : NULL;
	if (!obj) {
		free(ns);
		return 0;
	}
	struct api_restore *r = NULL;
	struct api_backup *b = NULL;
	char *perr = NULL, *berr = NULL;
	if (api_restore_parse(&r, obj) != 0)
		perr = xstrdup(err_msg());
	struct json_object *bobj =
	    r && r->spec.backup_ref ? informer_get(s->backups, ns, r->spec.backup_ref) : NULL;
	if (bobj && api_backup_parse(&b, bobj) != 0)
		berr = xstrdup(err_msg());
	char *sn = ctl_restore_safety_name(name);
	char *jn = jobspec_job_name(name, JOBSPEC_SUFFIX_RESTORE);
	struct json_object *safety = informer_get(s->backups, ns, sn);
	struct json_object *job = informer_get(s->jobs, ns, jn);
	int rc_early = 0;
	/* A Job that status names but the cache lacks may be just created (the
	 * Job watch behind the restore's): ask the API server before the
	 * reconcile believes it gone (RestoreJobLost). */
	if (!job && field_str(obj, "status", "jobName") &&
	    kube_get(kc, &KUBE_JOBS, ns, jn, &job) != 0) {
		int gone = err_code() == E_NOTFOUND;
		job = NULL;
		if (!gone) {
			log_kv(LOG_LEVEL_WARN, "cannot read the restore Job; retrying", "key", key,
			       "job", jn, "error", err_msg(), NULL);
			rc_early = err_code();
		}
	}
	struct json_object *pod = job ? newest_pod(s, ns, jn) : NULL;
	struct ctl_restore_input in = {.obj = obj,
				       .restore = r,
				       .spec_error = perr,
				       .backup_obj = bobj,
				       .backup = b,
				       .backup_error = berr,
				       .safety_obj = safety,
				       .opts = &op->jo,
				       .now = time(NULL)};
	ctl_job_observe(&in.job, job);
	ctl_pod_observe(&in.pod, pod);
	struct ctl_actions acts = {0};
	if (!rc_early)
		ctl_restore_reconcile(&acts, &in);
	for (size_t i = 0; i < acts.n; i++)
		log_kv(LOG_LEVEL_DEBUG, "action", "key", key, "kind",
		       ctl_action_kind_name(acts.v[i].kind), NULL);
	size_t failed_at = 0;
	int rc = rc_early ? rc_early : ctl_apply_at(kc, op->events, obj, &acts, &failed_at);
	if (!rc_early && rc == E_INVALID && r && failed_at < acts.n &&
	    acts.v[failed_at].kind == CTL_ACTION_CREATE_JOB) {
		char *why = xstrdup(err_msg());
		log_kv(LOG_LEVEL_WARN, "the API server refused the restore Job", "key", key,
		       "error", why, NULL);
		struct ctl_actions refused = {0};
		ctl_restore_job_refused(&refused, &in, why);
		rc = ctl_apply(kc, op->events, obj, &refused);
		ctl_actions_dispose(&refused);
		free(why);
	}
	if (rc == 0) {
		const struct ctl_action *w = ctl_actions_find(&acts, CTL_ACTION_WRITE_STATUS);
		const char *phase = w ? field_str(w->body, "phase", NULL) : NULL;
		if (phase && (strcmp(phase, CTL_PHASE_COMPLETED) == 0 ||
			      strcmp(phase, CTL_PHASE_FAILED) == 0)) {
			const char *lv[] = {
			    ns, strcmp(phase, CTL_PHASE_COMPLETED) == 0 ? "succeeded" : "failed"};
			metrics_add(op->metrics, METRICS_RESTORES_TOTAL, lv, 1);
		}
		const struct ctl_action *rq = ctl_actions_find(&acts, CTL_ACTION_REQUEUE_AFTER);
		if (rq) {
			char *qk = xasprintf(RESTORE_KEY "%s", key);
			workqueue_add_after(op->q, qk, rq->delay_ms);
			free(qk);
		}
	} else if (!rc_early) {
		log_kv(retry_level(), "reconcile failed; retrying with backoff", "key", key,
		       "error", err_msg(), NULL);
	}
	ctl_actions_dispose(&acts);
	json_object_put(job);
	json_object_put(pod);
	json_object_put(safety);
	json_object_put(bobj);
	free(sn);
	free(jn);
	api_backup_free(b);
	api_restore_free(r);
	free(berr);
	free(perr);
	json_object_put(obj);
	free(ns);
	return rc;
}

static void *worker(void *ud)
{
	struct op *op = ud;
	struct kube_client *kc = kube_client_new(&op->cfg);
	for (;;) {
		char *key = NULL;
		int st = workqueue_get(op->q, &key, 1000);
		if (st == WORKQUEUE_SHUTDOWN)
			break;
		if (st != WORKQUEUE_OK)
			continue;
		if (!atomic_load(&op->leading)) {
			/* on_started enqueues everything again */
			workqueue_done(op->q, key);
			free(key);
			continue;
		}
		int sched = strncmp(key, SCHEDULE_KEY, strlen(SCHEDULE_KEY)) == 0;
		int rest = strncmp(key, RESTORE_KEY, strlen(RESTORE_KEY)) == 0;
		int rc = sched	? reconcile_schedule(op, kc, key + strlen(SCHEDULE_KEY))
			 : rest ? reconcile_restore(op, kc, key + strlen(RESTORE_KEY))
				: reconcile_key(op, kc, key);
		const char *k = sched ? API_SCHEDULE_KIND : rest ? API_RESTORE_KIND : KIND_LABEL;
		const char *ok[] = {k, "success"}, *bad[] = {k, "error"}, *kind[] = {k};
		metrics_add(op->metrics, METRICS_RECONCILE_TOTAL, rc ? bad : ok, 1);
		if (rc) {
			metrics_add(op->metrics, METRICS_RECONCILE_ERRORS, kind, 1);
			workqueue_add_rate_limited(op->q, key);
		} else {
			workqueue_forget(op->q, key);
		}
		workqueue_done(op->q, key);
		free(key);
	}
	kube_client_free(kc);
	return NULL;
}

/* Each cached object's key with one kind's prefix (informer_foreach). */
struct enqueue_prefixed {
	struct op *op;
	const char *prefix;
};

static int enqueue_cached(const char *key, struct json_object *obj, void *ud)
{
	(void)obj;
	const struct enqueue_prefixed *e = ud;
	char *k = xasprintf("%s%s", e->prefix, key);
	workqueue_add(e->op->q, k);
	free(k);
	return 0;
}

static void enqueue_all(struct op *op)
{
	for (size_t i = 0; i < op->nscopes; i++) {
		struct enqueue_prefixed b = {op, ""}, sc = {op, SCHEDULE_KEY},
					r = {op, RESTORE_KEY};
		informer_foreach(op->scopes[i].backups, enqueue_cached, &b);
		informer_foreach(op->scopes[i].schedules, enqueue_cached, &sc);
		informer_foreach(op->scopes[i].restores, enqueue_cached, &r);
	}
}

/* lifeboat_leader{lease}: 1 while this replica leads (only with
 * --leader-elect). */
static void set_leader_gauge(struct op *op, int leading)
{
	if (!op->lease_label)
		return;
	const char *lease[] = {op->lease_label};
	metrics_set(op->metrics, METRICS_LEADER, lease, leading);
}

static void on_started(void *ud)
{
	struct op *op = ud;
	set_leader_gauge(op, 1);
	log_kv(LOG_LEVEL_INFO, "leading: reconciling", NULL);
	atomic_store(&op->leading, 1);
	enqueue_all(op);
}

static void on_stopped(void *ud)
{
	struct op *op = ud;
	atomic_store(&op->leading, 0);
	set_leader_gauge(op, 0);
	schedmetrics_forget_all(op->metrics);
	log_kv(LOG_LEVEL_INFO, "not leading: reconciling stopped", NULL);
}

static void collect(struct metrics *m, void *ud)
{
	struct op *op = ud;
	static const char *const kind[] = {KIND_LABEL};
	metrics_set(m, METRICS_WORKQUEUE_DEPTH, kind, (double)workqueue_len(op->q));
	if (!op->hook)
		return;
	/* the webhook's counters, added as they grew since the last scrape (the
	 * one /metrics thread collects) */
	struct webhook_serve_stats now;
	webhook_serve_get_stats(op->hook, &now);
	const struct {
		const char *result;
		uint64_t now, was;
	} rows[] = {
	    {"patched", now.patched, op->hook_seen.patched},
	    {"denied", now.denied, op->hook_seen.denied},
	    {"allowed", now.reviews - now.patched - now.denied,
	     op->hook_seen.reviews - op->hook_seen.patched - op->hook_seen.denied},
	    {"malformed", now.malformed, op->hook_seen.malformed},
	    {"refused", now.refused, op->hook_seen.refused},
	    {"cert_load_failed", now.cert_load_failures, op->hook_seen.cert_load_failures},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *lv[] = {rows[i].result};
		metrics_add(m, METRICS_WEBHOOK_REQUESTS, lv, (double)(rows[i].now - rows[i].was));
	}
	op->hook_seen = now;
}

static int scopes_new(struct op *op, const char *list)
{
	const struct informer_handlers hb = {backup_add, backup_update, backup_delete, op};
	const struct informer_handlers hj = {job_add, job_update, job_delete, op};
	const struct informer_handlers hp = {pod_add, pod_update, pod_delete, op};
	const struct informer_handlers hs = {schedule_add, schedule_update, schedule_delete, op};
	const struct informer_handlers hr = {restore_add, restore_update, restore_delete, op};
	char *copy = xstrdup(list), *save = NULL;
	size_t cap = 1;
	for (const char *c = list; *c; c++)
		cap += *c == ',';
	op->scopes = xcalloc(cap, sizeof(*op->scopes));
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (*t)
			op->scopes[op->nscopes++].ns = xstrdup(t);
	if (op->nscopes == 0)
		op->nscopes = 1; /* all namespaces */
	free(copy);
	for (size_t i = 0; i < op->nscopes; i++) {
		struct scope *s = &op->scopes[i];
		s->backups = informer_new(&op->cfg, &CTL_DATABASE_BACKUPS, s->ns, NULL, &hb);
		s->jobs = informer_new(&op->cfg, &KUBE_JOBS, s->ns, SELECTOR, &hj);
		s->pods = informer_new(&op->cfg, &KUBE_PODS, s->ns, SELECTOR, &hp);
		s->schedules = informer_new(&op->cfg, &CTL_BACKUP_SCHEDULES, s->ns, NULL, &hs);
		s->restores = informer_new(&op->cfg, &CTL_DATABASE_RESTORES, s->ns, NULL, &hr);
		s->newest = podindex_new();
		s->runs = labelindex_new(API_SCHEDULE_LABEL);
		if (!s->backups || !s->jobs || !s->pods || !s->schedules || !s->restores)
			return err_set(E_INVALID, "cannot make the caches of namespace %s",
				       s->ns ? s->ns : "(all)");
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* Two malloc arenas, not one per thread: each arena keeps what the
	 * list pages freed, and the workers gain nothing from their own. */
	(void)mallopt(M_ARENA_MAX, 2);
	const char *val[F_COUNT];
	for (size_t i = 0; i < F_COUNT; i++) {
		const char *e = getenv(flags[i].env);
		val[i] = e ? e : flags[i].def;
	}
	struct option longopts[F_COUNT + 3];
	for (size_t i = 0; i < F_COUNT; i++)
		longopts[i] = (struct option){
		    flags[i].name, flags[i].boolean ? optional_argument : required_argument, NULL,
		    (int)(256 + i)};
	longopts[F_COUNT] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[F_COUNT + 1] = (struct option){"version", no_argument, NULL, 'V'};
	longopts[F_COUNT + 2] = (struct option){NULL, 0, NULL, 0};
	for (int c; (c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1;) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == 'V') {
			printf("lifeboat-operator %s\n", LIFEBOAT_VERSION);
			return 0;
		}
		if (c < 256 || c >= 256 + F_COUNT) {
			usage(stderr);
			return 2;
		}
		val[c - 256] = optarg ? optarg : "true";
	}
	if (optind < argc) {
		fprintf(stderr, "lifeboat-operator: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	log_set_program("lifeboat-operator");
	enum log_format lf;
	enum log_level ll;
	if (log_parse_format(val[F_LOG_FORMAT], &lf) != 0 ||
	    log_parse_level(val[F_LOG_LEVEL], &ll) != 0) {
		fprintf(stderr, "lifeboat-operator: bad --log-format or --log-level\n");
		return 2;
	}
	log_set_format(lf);
	log_set_level(ll);
	int nworkers = atoi(val[F_WORKERS]);
	if (nworkers < 1 || nworkers > 64) {
		fprintf(stderr, "lifeboat-operator: --workers must be 1-64\n");
		return 2;
	}

	/* Signals go to the main thread only: block them before any thread. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	static struct op op;
	int rc = 1;
	struct serve *srv = NULL;
	struct webhook_serve *hook = NULL;
	pthread_t *threads = NULL;
	int started = 0;
	atomic_init(&op.leading, 0);
	op.jo.image = val[F_JOB_IMAGE];
	op.jo.service_account = *val[F_JOB_SA] ? val[F_JOB_SA] : NULL;

	/* --kubeconfig, else in-cluster, else $KUBECONFIG (or ~/.kube/config). */
	const char *kcpath = *val[F_KUBECONFIG] ? val[F_KUBECONFIG] : NULL;
	int cfg_rc = !kcpath && getenv("KUBERNETES_SERVICE_HOST")
			 ? kubeconfig_in_cluster(&op.cfg, NULL)
			 : kube_config_auto(&op.cfg, kcpath, NULL);
	if (cfg_rc != 0) {
		log_kv(LOG_LEVEL_ERROR, "cannot load the cluster configuration", "error", err_msg(),
		       NULL);
		return 1;
	}
	op.q = workqueue_new(NULL, NULL);
	if (metrics_new(&op.metrics, metrics_operator_families, METRICS_OPERATOR_FAMILIES, NULL) !=
	    0) {
		log_kv(LOG_LEVEL_ERROR, "cannot start", "error", err_msg(), NULL);
		goto done;
	}
	kube_set_observer(count_request, op.metrics);
	if (events_new(&op.events, &op.cfg, NULL) != 0 || events_start(op.events) != 0 ||
	    scopes_new(&op, val[F_NAMESPACES]) != 0) {
		log_kv(LOG_LEVEL_ERROR, "cannot start", "error", err_msg(), NULL);
		goto done;
	}
	/* Every replica serves the webhook, leader or not: the API server may
	 * call any of them. */
	const struct webhook_serve_options wo = {.addr = val[F_WEBHOOK],
						 .cert_dir = val[F_WEBHOOK_CERTS]};
	if (webhook_serve_new(&hook, &wo) != 0 || webhook_serve_start(hook) != 0) {
		log_kv(LOG_LEVEL_ERROR, "cannot serve the admission webhook", "error", err_msg(),
		       NULL);
		goto done;
	}
	op.hook = hook; /* before /metrics serves: collect() reads it */
	metrics_set_collector(op.metrics, collect, &op);
	struct serve_options so = {
	    .health_addr = val[F_HEALTH], .metrics_addr = val[F_METRICS], .metrics = op.metrics};
	if (serve_new(&srv, &so) != 0) {
		log_kv(LOG_LEVEL_ERROR, "cannot serve", "error", err_msg(), NULL);
		goto done;
	}
	for (size_t i = 0; i < op.nscopes; i++)
		if (informer_start(op.scopes[i].backups) || informer_start(op.scopes[i].jobs) ||
		    informer_start(op.scopes[i].pods) || informer_start(op.scopes[i].schedules) ||
		    informer_start(op.scopes[i].restores)) {
			log_kv(LOG_LEVEL_ERROR, "cannot start the caches", "error", err_msg(),
			       NULL);
			goto done;
		}
	threads = xcalloc((size_t)nworkers, sizeof(*threads));
	for (; started < nworkers; started++)
		if (pthread_create(&threads[started], NULL, worker, &op) != 0) {
			log_kv(LOG_LEVEL_ERROR, "cannot start a worker", NULL);
			goto done;
		}

	int64_t deadline = clock_mono_ms() + SYNC_TIMEOUT_MS, synced = 0;
	int busy = 0;
	struct timespec tick = {1, 0};
	for (;;) {
		serve_heartbeat(srv);
		/* A burst of work done (the queue drained): hand the heap the
		 * reconciles and list pages left free back to the system. */
		size_t depth = workqueue_len(op.q);
		if (depth == 0 && busy)
			(void)malloc_trim(0);
		busy = depth > 0;
		if (!synced) {
			synced = 1;
			for (size_t i = 0; i < op.nscopes && synced; i++)
				synced = informer_wait_synced(op.scopes[i].backups, 0) == 0 &&
					 informer_wait_synced(op.scopes[i].jobs, 0) == 0 &&
					 informer_wait_synced(op.scopes[i].pods, 0) == 0 &&
					 informer_wait_synced(op.scopes[i].schedules, 0) == 0 &&
					 informer_wait_synced(op.scopes[i].restores, 0) == 0;
			if (synced) {
				serve_set_synced(srv, 1);
				log_kv(LOG_LEVEL_INFO, "caches synced", NULL);
				/* The first list's parsed pages are gone: give it back. */
				(void)malloc_trim(0);
				if (truthy(val[F_LEADER])) {
					char ident[256];
					leader_default_identity(ident, sizeof(ident));
					const char *lns = *val[F_LEADER_NS]   ? val[F_LEADER_NS]
							  : op.cfg.namespace_ ? op.cfg.namespace_
									      : "default";
					op.lease_label = xasprintf("%s/%s", lns, LEASE_NAME);
					set_leader_gauge(&op, 0);
					struct leader_options lo = {
					    .namespace_ = lns,
					    .name = LEASE_NAME,
					    .cb = {on_started, on_stopped, &op}};
					if (leader_new(&op.leader, &op.cfg, &lo) != 0 ||
					    leader_start(op.leader) != 0) {
						log_kv(LOG_LEVEL_ERROR, "cannot elect", "error",
						       err_msg(), NULL);
						goto done;
					}
				} else {
					on_started(&op);
				}
			} else if (clock_mono_ms() > deadline) {
				for (size_t i = 0; i < op.nscopes; i++) {
					struct scope *sc = &op.scopes[i];
					struct informer *inf[] = {sc->backups, sc->jobs, sc->pods,
								  sc->schedules, sc->restores};
					static const char *const what[] = {
					    "databasebackups", "jobs", "pods", "backupschedules",
					    "databaserestores"};
					for (size_t k = 0; k < 5; k++)
						if (informer_wait_synced(inf[k], 0) != 0)
							log_kv(LOG_LEVEL_ERROR, "cache not synced",
							       "resource", what[k], "namespace",
							       sc->ns ? sc->ns : "(all)", NULL);
				}
				log_kv(
				    LOG_LEVEL_ERROR,
				    "the caches did not sync in time: see the list/watch warnings "
				    "above",
				    "hint",
				    "HTTP 404 for databasebackups: the CRDs are not installed "
				    "(kubectl apply -f crds/); HTTP 403: the operator's RBAC",
				    NULL);
				goto done;
			}
		}
		int sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	log_kv(LOG_LEVEL_INFO, "shutting down", NULL);
	rc = 0;
done:
	if (srv)
		serve_set_shutting_down(srv);
	/* Stop taking work; the workers finish the key in hand (its writes). */
	if (op.q)
		workqueue_shutdown(op.q);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	atomic_store(&op.leading, 0);
	if (op.events)
		events_flush(op.events, 2000);
	if (op.leader)
		leader_stop(op.leader); /* releases the Lease */
	leader_free(op.leader);
	for (size_t i = 0; i < op.nscopes; i++) {
		struct scope *s = &op.scopes[i];
		if (s->backups)
			informer_stop(s->backups);
		if (s->jobs)
			informer_stop(s->jobs);
		if (s->pods)
			informer_stop(s->pods);
		informer_free(s->backups);
		informer_free(s->jobs);
		informer_free(s->pods);
		if (s->schedules)
			informer_stop(s->schedules);
		if (s->restores)
			informer_stop(s->restores);
		informer_free(s->schedules);
		informer_free(s->restores);
		podindex_free(s->newest);
		labelindex_free(s->runs);
		free(s->ns);
	}
	free(op.scopes);
	if (srv)
		serve_stop(srv);
	serve_free(srv);
	webhook_serve_free(hook);
	events_free(op.events);
	kube_set_observer(NULL, NULL); /* every thread that requests has stopped */
	metrics_free(op.metrics);
	free(op.lease_label);
	workqueue_free(op.q);
	kube_config_dispose(&op.cfg);
	return rc;
}
