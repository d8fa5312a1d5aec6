/* The BackupSchedule reconcile (schedule.h): observations in, actions out. */
#include "operator/controller/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "common/buf.h"
#include "common/jobresult.h"
#include "common/xmalloc.h"
#include "operator/api/schedule.h"
#include "operator/jobspec.h"
#include "operator/retention.h"
#include "operator/controller/backup.h"

#define COND_READY "Ready"
#define COND_LAST_BACKUP "LastBackupSucceeded"

char *ctl_schedule_run_name(const char *schedule, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	char *start = jobspec_shorten(schedule, CTL_SCHEDULE_NAME_MAX);
	char *name = xasprintf("%s-%04d%02d%02d%02d%02d", start, tm.tm_year + 1900, tm.tm_mon + 1,
			       tm.tm_mday, tm.tm_hour, tm.tm_min);
	free(start);
	return name;
}

char *ctl_schedule_label(const char *schedule)
{
	return jobspec_label_value(schedule);
}

static void time_text(char out[32], int64_t t)
{
	jobresult_time_format(out, (time_t)t);
}

static int finished(const char *phase)
{
	return ctl_str_eq(phase, CTL_PHASE_COMPLETED) || ctl_str_eq(phase, CTL_PHASE_FAILED);
}

/* The status being built: a copy of the old one. */
struct sched_next {
	struct json_object *status;
	int64_t generation;
	time_t now;
};

static void set_condition(struct sched_next *nx, const char *type, const char *status,
			  const char *reason, const char *message)
{
	struct json_object *conds = ctl_get(nx->status, "conditions");
	if (!conds || !json_object_is_type(conds, json_type_array)) {
		conds = json_object_new_array();
		json_object_object_add(nx->status, "conditions", conds);
	}
	struct api_condition c = {type, status, reason, message ? message : "", nx->generation};
	(void)api_conditions_set(conds, &c, nx->now);
}

static void set_ready(struct sched_next *nx, const char *status, const char *reason,
		      const char *message)
{
	set_condition(nx, COND_READY, status, reason, message);
	ctl_set_str(nx->status, "message", message);
	json_object_object_add(nx->status, "observedGeneration",
			       json_object_new_int64(nx->generation));
}

static void add_count(struct json_object *status, const char *key, int64_t by)
{
	if (by)
		json_object_object_add(status, key,
				       json_object_new_int64(ctl_get_int(status, key) + by));
}

/* The run's DatabaseBackup: the template as the schedule holds it (its JSON
 * untouched), with the run's metadata. */
static struct json_object *run_backup(const struct ctl_schedule_input *in, const char *name)
{
	struct json_object *meta = ctl_get(in->obj, "metadata");
	struct json_object *tmpl = ctl_get(ctl_get(in->obj, "spec"), "backupTemplate");
	struct json_object *spec = NULL, *labels = NULL, *annotations = NULL;
	json_object_deep_copy(ctl_get(tmpl, "spec"), &spec, NULL);
	json_object_deep_copy(ctl_get(ctl_get(tmpl, "metadata"), "labels"), &labels, NULL);
	json_object_deep_copy(ctl_get(ctl_get(tmpl, "metadata"), "annotations"), &annotations,
			      NULL);
	if (!labels)
		labels = json_object_new_object();
	if (!annotations)
		annotations = json_object_new_object();
	char *label = ctl_schedule_label(ctl_get_str(meta, "name"));
	json_object_object_add(labels, API_SCHEDULE_LABEL, json_object_new_string(label));
	free(label);
	char at[32];
	time_text(at, in->due);
	json_object_object_add(annotations, CTL_SCHEDULED_TIME_ANNOTATION,
			       json_object_new_string(at));

	struct json_object *owner = json_object_new_object();
	json_object_object_add(owner, "apiVersion", json_object_new_string(API_GROUP_VERSION));
	json_object_object_add(owner, "kind", json_object_new_string(API_SCHEDULE_KIND));
	json_object_object_add(owner, "name", json_object_new_string(ctl_get_str(meta, "name")));
	json_object_object_add(owner, "uid", json_object_new_string(ctl_get_str(meta, "uid")));
	json_object_object_add(owner, "controller", json_object_new_boolean(1));
	json_object_object_add(owner, "blockOwnerDeletion", json_object_new_boolean(1));
	struct json_object *owners = json_object_new_array();
	json_object_array_add(owners, owner);

	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "name", json_object_new_string(name));
	json_object_object_add(m, "namespace",
			       json_object_new_string(ctl_get_str(meta, "namespace")));
	json_object_object_add(m, "labels", labels);
	json_object_object_add(m, "annotations", annotations);
	json_object_object_add(m, "ownerReferences", owners);

	struct json_object *b = json_object_new_object();
	json_object_object_add(b, "apiVersion", json_object_new_string(API_GROUP_VERSION));
	json_object_object_add(b, "kind", json_object_new_string(API_BACKUP_KIND));
	json_object_object_add(b, "metadata", m);
	json_object_object_add(b, "spec", spec ? spec : json_object_new_object());
	return b;
}

/* Emits the status when it changed. Takes nx->status. */
static void write_if_changed(struct ctl_actions *out, struct sched_next *nx,
			     struct json_object *old)
{
	if (!old || !json_object_equal(old, nx->status))
		ctl_push(out, CTL_ACTION_WRITE_STATUS)->body = nx->status;
	else
		json_object_put(nx->status);
	nx->status = NULL;
}

/* Finished backups not counted yet (after lastSuccessfulTime or
 * lastFailureTime): counted, and the times moved on. */
static void count_finished(struct sched_next *nx, const struct ctl_schedule_input *in)
{
	static const struct {
		const char *phase, *time_key, *count_key;
	} kinds[] = {
	    {CTL_PHASE_COMPLETED, "lastSuccessfulTime", "successCount"},
	    {CTL_PHASE_FAILED, "lastFailureTime", "failureCount"},
	};
	for (size_t k = 0; k < 2; k++) {
		time_t last = 0;
		const char *text = ctl_get_str(nx->status, kinds[k].time_key);
		int have = text && jobresult_time_parse(&last, text) == 0;
		int64_t newest = have ? (int64_t)last : INT64_MIN, n = 0;
		for (size_t i = 0; i < in->nbackups; i++) {
			const struct ctl_sched_backup *b = &in->backups[i];
			if (!ctl_str_eq(b->phase, kinds[k].phase) ||
			    (have && b->scheduled <= (int64_t)last))
				continue;
			n++;
			if (b->scheduled > newest)
				newest = b->scheduled;
		}
		if (n) {
			add_count(nx->status, kinds[k].count_key, n);
			ctl_set_time(nx->status, kinds[k].time_key, (time_t)newest);
		}
	}
}

/* The newest backup (by run time, then name) and the active ones, the run
 * just created (name, may be NULL) included. */
static void describe_backups(struct sched_next *nx, const struct ctl_schedule_input *in,
			     const char *created, const char *const *gone, size_t ngone)
{
	struct json_object *active = json_object_new_array();
	const struct ctl_sched_backup *newest = NULL;
	for (size_t i = 0; i < in->nbackups; i++) {
		const struct ctl_sched_backup *b = &in->backups[i];
		int deleted = b->deleting;
		for (size_t g = 0; g < ngone && !deleted; g++)
			deleted = strcmp(gone[g], b->name) == 0;
		if (deleted)
			continue;
		if (!finished(b->phase)) {
			struct json_object *a = json_object_new_object();
			json_object_object_add(a, "name", json_object_new_string(b->name));
			json_object_array_add(active, a);
		}
		if (!newest || b->scheduled > newest->scheduled ||
		    (b->scheduled == newest->scheduled && strcmp(b->name, newest->name) > 0))
			newest = b;
	}
	struct json_object *last = NULL;
	if (created) {
		struct json_object *a = json_object_new_object();
		json_object_object_add(a, "name", json_object_new_string(created));
		json_object_array_add(active, a);
		last = json_object_new_object();
		json_object_object_add(last, "name", json_object_new_string(created));
		json_object_object_add(last, "phase", json_object_new_string(CTL_PHASE_PENDING));
	} else if (newest) {
		last = json_object_new_object();
		json_object_object_add(last, "name", json_object_new_string(newest->name));
		json_object_object_add(
		    last, "phase",
		    json_object_new_string(newest->phase ? newest->phase : CTL_PHASE_PENDING));
	}
	if (last)
		json_object_object_add(nx->status, "lastBackup", last);
	if (json_object_array_length(active))
		json_object_object_add(nx->status, "active", active);
	else {
		json_object_put(active);
		json_object_object_del(nx->status, "active");
	}
}

/* LastBackupSucceeded: the outcome of the newest finished run (by run time,
 * then name) that still exists; unchanged while none has finished. */
static void last_outcome(struct sched_next *nx, const struct ctl_schedule_input *in)
{
	const struct ctl_sched_backup *last = NULL;
	for (size_t i = 0; i < in->nbackups; i++) {
		const struct ctl_sched_backup *b = &in->backups[i];
		if (b->deleting || !finished(b->phase))
			continue;
		if (!last || b->scheduled > last->scheduled ||
		    (b->scheduled == last->scheduled && strcmp(b->name, last->name) > 0))
			last = b;
	}
	if (!last)
		return;
	if (ctl_str_eq(last->phase, CTL_PHASE_COMPLETED)) {
		char *msg = xasprintf("backup %s completed", last->name);
		set_condition(nx, COND_LAST_BACKUP, "True", "Succeeded", msg);
		free(msg);
		return;
	}
	char *msg = last->message && *last->message
			? xasprintf("backup %s failed: %s", last->name, last->message)
			: xasprintf("backup %s failed", last->name);
	if (last->reason && *last->reason)
		set_condition(nx, COND_LAST_BACKUP, "False", last->reason, msg);
	else
		set_condition(nx, COND_LAST_BACKUP, "False", CTL_PHASE_FAILED, msg);
	free(msg);
}

/* The retention pass: deletes what the policy lets go, one event. Fills
 * gone (borrowed names) for describe_backups. */
static size_t prune(struct ctl_actions *out, const struct ctl_schedule_input *in, const char **gone)
{
	const struct api_retention *r = &in->schedule->spec.retention;
	if (!r->set || !in->nbackups)
		return 0;
	struct retention_item *items = xcalloc(in->nbackups, sizeof(*items));
	unsigned *reasons = xcalloc(in->nbackups, sizeof(*reasons));
	size_t n = 0;
	const struct ctl_sched_backup **src = xcalloc(in->nbackups, sizeof(*src));
	for (size_t i = 0; i < in->nbackups; i++) {
		const struct ctl_sched_backup *b = &in->backups[i];
		if (b->deleting)
			continue;
		enum retention_state st =
		    ctl_str_eq(b->phase, CTL_PHASE_COMPLETED) ? RETENTION_STATE_SUCCEEDED
		    : ctl_str_eq(b->phase, CTL_PHASE_FAILED)  ? RETENTION_STATE_FAILED
							      : RETENTION_STATE_ACTIVE;
		items[n] = (struct retention_item){b->name, b->scheduled, b->utc_offset, st,
						   b->referenced};
		src[n++] = b;
	}
	size_t ndel = retention_select(items, n, r, in->now, reasons), k = 0;
	if (ndel) {
		struct buf names;
		buf_init(&names, 1 << 16);
		for (size_t i = 0; i < n; i++)
			if (!reasons[i]) {
				ctl_push_named(out, CTL_ACTION_DELETE_BACKUP, src[i]->name, NULL);
				gone[k++] = src[i]->name;
				if (k <= 20)
					buf_addf(&names, "%s%s", k > 1 ? ", " : "", src[i]->name);
			}
		if (k > 20)
			buf_addf(&names, ", and %zu more", k - 20);
		ctl_push_event(out, 0, "Pruned", "pruned %zu backup%s: %s; kept %zu", ndel,
			       ndel == 1 ? "" : "s", buf_str(&names), n - ndel);
		buf_dispose(&names);
	}
	free(items);
	free(reasons);
	free(src);
	return k;
}

static void invalid(struct ctl_actions *out, const struct ctl_schedule_input *in, const char *why)
{
	struct json_object *old = ctl_get(in->obj, "status");
	struct sched_next nx = {NULL, ctl_get_int(ctl_get(in->obj, "metadata"), "generation"),
				(time_t)in->now};
	if (old && json_object_is_type(old, json_type_object))
		json_object_deep_copy(old, &nx.status, NULL);
	if (!nx.status)
		nx.status = json_object_new_object();
	json_object_object_del(nx.status, "nextScheduleTime");
	set_ready(&nx, "False", "InvalidSpec", why);
	if (!old || !json_object_equal(old, nx.status))
		ctl_push_event(out, 1, "InvalidSpec", "%s", why);
	write_if_changed(out, &nx, old);
}

/* The run that is due: started, skipped or missed. Returns the name of the
 * backup created (owned), or NULL. */
static char *due_run(struct ctl_actions *out, struct sched_next *nx,
		     const struct ctl_schedule_input *in)
{
	const struct api_schedule_spec *s = &in->schedule->spec;
	char at[32];
	time_text(at, in->due);
	ctl_set_time(nx->status, "lastScheduleTime", (time_t)in->due);
	if (s->suspend)
		return NULL; /* passes unreplayed */
	int64_t late = in->now - in->due;
	if (s->has_starting_deadline && late > s->starting_deadline_seconds) {
		add_count(nx->status, "missedCount", in->missed + 1);
		ctl_push_event(out, 1, "MissedRuns",
			       "missed %lld run%s: the latest, at %s, is %lld s late, beyond "
			       "startingDeadlineSeconds %lld; the next run is on time",
			       (long long)(in->missed + 1), in->missed ? "s" : "", at,
			       (long long)late, (long long)s->starting_deadline_seconds);
		return NULL;
	}
	if (in->missed > 0) {
		add_count(nx->status, "missedCount", in->missed);
		ctl_push_event(out, 1, "MissedRuns",
			       "missed %lld run%s before %s (the operator was away or the "
			       "schedule could not run); starting only the latest",
			       (long long)in->missed, in->missed == 1 ? "" : "s", at);
	}
	const char *active = NULL;
	for (size_t i = 0; i < in->nbackups && !active; i++)
		if (!finished(in->backups[i].phase) && !in->backups[i].deleting)
			active = in->backups[i].name;
	char *name = ctl_schedule_run_name(in->schedule->meta.name, in->due);
	if (active && ctl_str_eq(s->concurrency_policy, "Forbid")) {
		for (size_t i = 0; i < in->nbackups; i++)
			if (strcmp(in->backups[i].name, name) == 0) {
				/* our own run, created by an earlier reconcile */
				free(name);
				return NULL;
			}
		add_count(nx->status, "missedCount", 1);
		ctl_push_event(out, 1, "RunSkipped",
			       "the run at %s is skipped: backup %s is still active "
			       "(concurrencyPolicy Forbid)",
			       at, active);
		free(name);
		return NULL;
	}
	if (active && ctl_str_eq(s->concurrency_policy, "Replace"))
		for (size_t i = 0; i < in->nbackups; i++)
			if (!finished(in->backups[i].phase) && !in->backups[i].deleting &&
			    strcmp(in->backups[i].name, name) != 0) {
				ctl_push_named(out, CTL_ACTION_DELETE_BACKUP, in->backups[i].name,
					       NULL);
				ctl_push_event(out, 0, "Replaced",
					       "backup %s is deleted for the run at %s "
					       "(concurrencyPolicy Replace)",
					       in->backups[i].name, at);
			}
	ctl_push_named(out, CTL_ACTION_CREATE_BACKUP, name, run_backup(in, name));
	ctl_push_event(out, 0, "RunStarted", "created backup %s for the run at %s", name, at);
	return name;
}

int ctl_schedule_reconcile(struct ctl_actions *out, const struct ctl_schedule_input *in)
{
	if (!in->schedule || in->spec_error) {
		invalid(out, in, in->spec_error ? in->spec_error : "the resource cannot be read");
		return 0;
	}
	if (in->schedule->meta.deletion_timestamp)
		return 0; /* its backups go with it (ownerReferences) */
	const struct api_schedule_spec *s = &in->schedule->spec;
	struct json_object *old = ctl_get(in->obj, "status");
	struct sched_next nx = {NULL, in->schedule->meta.generation, (time_t)in->now};
	if (old && json_object_is_type(old, json_type_object))
		json_object_deep_copy(old, &nx.status, NULL);
	if (!nx.status)
		nx.status = json_object_new_object();

	count_finished(&nx, in);
	char *created = NULL;
	/* Just resumed (the status still says Suspended): the times that came
	 * while suspended pass, they are not replayed. */
	struct json_object *conds = ctl_get(old, "conditions");
	int resuming = !s->suspend && conds &&
		       ctl_str_eq(api_conditions_reason(conds, COND_READY), "Suspended");
	if (in->due != CTL_NO_TIME && in->due > in->since) {
		if (resuming)
			ctl_set_time(nx.status, "lastScheduleTime", (time_t)in->due);
		else
			created = due_run(out, &nx, in);
	}
	const char **gone = xcalloc(in->nbackups ? in->nbackups : 1, sizeof(*gone));
	size_t ngone = prune(out, in, gone);
	/* Replace deleted the active ones: they are no longer active. */
	for (size_t i = 0; i < out->n; i++)
		if (out->v[i].kind == CTL_ACTION_DELETE_BACKUP && ngone < in->nbackups) {
			int known = 0;
			for (size_t g = 0; g < ngone && !known; g++)
				known = strcmp(gone[g], out->v[i].name) == 0;
			if (!known)
				gone[ngone++] = out->v[i].name;
		}
	describe_backups(&nx, in, created, gone, ngone);
	free(gone);

	char next[32] = "";
	if (!s->suspend && in->next != CTL_NO_TIME) {
		time_text(next, in->next);
		ctl_set_time(nx.status, "nextScheduleTime", (time_t)in->next);
	} else {
		json_object_object_del(nx.status, "nextScheduleTime");
	}
	char *msg = s->suspend ? xstrdup("suspended: no new runs")
		    : *next
			? xasprintf("next run at %s (%s, in %s)", next, s->schedule, s->time_zone)
			: xstrdup("no next run");
	set_ready(&nx, "True", s->suspend ? "Suspended" : "Scheduled", msg);
	free(msg);
	last_outcome(&nx, in);
	write_if_changed(out, &nx, old);
	/* Suspended too: the times pass in status as they come. */
	if (in->next != CTL_NO_TIME) {
		int64_t ms = (in->next - in->now) * 1000 + 100;
		struct ctl_action *x = ctl_push(out, CTL_ACTION_REQUEUE_AFTER);
		x->delay_ms = ms < 100			      ? 100
			      : ms > CTL_SCHEDULE_MAX_WAIT_MS ? CTL_SCHEDULE_MAX_WAIT_MS
							      : ms;
	}
	free(created);
	return 0;
}
