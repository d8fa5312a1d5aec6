/* BackupSchedule: spec parsing, defaults and validation. */
#include "operator/api/schedule.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "operator/cron.h"

/* ^[A-Za-z][-A-Za-z0-9_+]*(/[A-Za-z0-9][-A-Za-z0-9_+]*){0,3}$ */
static int valid_time_zone(const char *s)
{
	int parts = 0;
	if (!isalpha((unsigned char)s[0]))
		return 0;
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (parts > 0 && !isalnum((unsigned char)p[0])))
			return 0;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)p[i]) && !strchr("-_+", p[i]))
				return 0;
		parts++;
		p += n;
		if (*p == '/' && !*++p)
			return 0;
	}
	return parts <= 4;
}

/* ^[1-9][0-9]{0,5}[hdw]$, as seconds. */
static int parse_max_age(int64_t *out, const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 7 || s[0] < '1' || s[0] > '9')
		return 0;
	int64_t v = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	int64_t unit = s[n - 1] == 'h'	 ? 3600
		       : s[n - 1] == 'd' ? 86400
		       : s[n - 1] == 'w' ? 604800
					 : 0;
	if (!unit)
		return 0;
	*out = v * unit;
	return 1;
}

static int no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static void retention_dispose(struct api_retention *r)
{
	free(r->max_age);
	memset(r, 0, sizeof(*r));
}

static int count_field(int64_t *v, int *has, struct json_object *o, const char *p, const char *key,
		       int64_t min)
{
	struct json_object *x = NULL;
	int rc = api_field_int(v, o, p, key, min, 10000);
	if (!rc)
		*has = json_object_object_get_ex(o, key, &x) && x;
	return rc;
}

static int retention_parse(struct api_retention *out, struct json_object *o, const char *p)
{
	static const char *const known[] = {"keepLast",	   "maxAge",	 "keepDaily", "keepWeekly",
					    "keepMonthly", "keepFailed", NULL};
	struct api_retention r = {0};
	int rc;
	if ((rc = api_check_known(o, p, known)) ||
	    (rc = count_field(&r.keep_last, &r.has_keep_last, o, p, "keepLast", 1)) ||
	    (rc = api_field_string(&r.max_age, o, p, "maxAge", 1, 8)) ||
	    (rc = count_field(&r.keep_daily, &r.has_keep_daily, o, p, "keepDaily", 1)) ||
	    (rc = count_field(&r.keep_weekly, &r.has_keep_weekly, o, p, "keepWeekly", 1)) ||
	    (rc = count_field(&r.keep_monthly, &r.has_keep_monthly, o, p, "keepMonthly", 1)) ||
	    (rc = count_field(&r.keep_failed, &r.has_keep_failed, o, p, "keepFailed", 0)))
		goto done;
	if (r.max_age && !parse_max_age(&r.max_age_seconds, r.max_age)) {
		rc = err_set(E_INVALID,
			     "%s.maxAge: \"%s\" is not a number and a unit h, d or w (e.g. "
			     "30d; m is refused: minutes or months?)",
			     p, r.max_age);
		goto done;
	}
	if (!r.has_keep_last && !r.max_age && !r.has_keep_daily && !r.has_keep_weekly &&
	    !r.has_keep_monthly) {
		rc = err_set(E_INVALID,
			     "%s: set at least one of keepLast, maxAge, keepDaily, keepWeekly "
			     "and keepMonthly (leave retention out to keep every backup)",
			     p);
		goto done;
	}
	r.set = 1;
	*out = r;
	memset(&r, 0, sizeof(r));
done:
	retention_dispose(&r);
	return rc;
}

static void spec_dispose(struct api_schedule_spec *s)
{
	free(s->schedule);
	free(s->time_zone);
	free(s->concurrency_policy);
	retention_dispose(&s->retention);
	api_kv_free(s->labels, s->nlabels);
	api_kv_free(s->annotations, s->nannotations);
	api_backup_spec_dispose(&s->backup);
	memset(s, 0, sizeof(*s));
}

static int template_parse(struct api_schedule_spec *s, struct json_object *t, const char *p)
{
	static const char *const known[] = {"metadata", "spec", NULL};
	static const char *const known_meta[] = {"labels", "annotations", NULL};
	struct json_object *meta = NULL, *spec = NULL;
	char *mp = xasprintf("%s.metadata", p), *sp = xasprintf("%s.spec", p);
	int rc;
	if ((rc = api_check_known(t, p, known)) ||
	    (rc = api_field_object(&meta, t, p, "metadata")) ||
	    (meta &&
	     ((rc = api_check_known(meta, mp, known_meta)) ||
	      (rc = api_field_labels(&s->labels, &s->nlabels, meta, mp, "labels", 32, 1, 1)) ||
	      (rc = api_field_labels(&s->annotations, &s->nannotations, meta, mp, "annotations", 32,
				     0, 0)))) ||
	    (rc = api_field_object(&spec, t, p, "spec")))
		goto done;
	if (!spec) {
		rc = err_set(E_INVALID, "%s: required", sp);
		goto done;
	}
	rc = api_backup_spec_parse(&s->backup, spec, sp);
done:
	free(mp);
	free(sp);
	return rc;
}

static int spec_parse(struct api_schedule_spec *out, struct json_object *o, const char *path,
		      const struct api_meta *meta)
{
	static const char *const known[] = {"schedule",
					    "timeZone",
					    "suspend",
					    "concurrencyPolicy",
					    "startingDeadlineSeconds",
					    "retention",
					    "backupTemplate",
					    NULL};
	static const char *const policies[] = {"Forbid", "Allow", "Replace", NULL};
	struct api_schedule_spec s = {0};
	struct json_object *ret = NULL, *tmpl = NULL, *x = NULL;
	char *rp = xasprintf("%s.retention", path), *tp = xasprintf("%s.backupTemplate", path);
	int rc;
	if ((rc = api_check_known(o, path, known)) ||
	    (rc = api_field_string(&s.schedule, o, path, "schedule", 1, 256)))
		goto done;
	if (!s.schedule) {
		rc = err_set(E_INVALID, "%s.schedule: required: when to run, e.g. \"0 2 * * *\"",
			     path);
		goto done;
	}
	if (!no_controls(s.schedule)) {
		rc = err_set(E_INVALID, "%s.schedule: has a control character", path);
		goto done;
	}
	struct cron cron;
	char *cp = xasprintf("%s.schedule", path);
	rc = cron_parse(&cron, s.schedule, cp);
	free(cp);
	if (rc)
		goto done;
	if ((rc = api_field_string(&s.time_zone, o, path, "timeZone", 1, 64)))
		goto done;
	if (s.time_zone && !valid_time_zone(s.time_zone)) {
		rc = err_set(E_INVALID,
			     "%s.timeZone: \"%s\" is not an IANA time zone name like "
			     "Europe/Stockholm",
			     path, s.time_zone);
		goto done;
	}
	if ((rc = api_field_bool(&s.suspend, o, path, "suspend")) ||
	    (rc = api_field_enum(&s.concurrency_policy, o, path, "concurrencyPolicy", policies)) ||
	    (rc = api_field_int(&s.starting_deadline_seconds, o, path, "startingDeadlineSeconds", 0,
				INT64_MAX)) ||
	    (rc = api_field_object(&ret, o, path, "retention")) ||
	    (ret && (rc = retention_parse(&s.retention, ret, rp))) ||
	    (rc = api_field_object(&tmpl, o, path, "backupTemplate")))
		goto done;
	s.has_starting_deadline = json_object_object_get_ex(o, "startingDeadlineSeconds", &x) && x;
	if (!tmpl) {
		rc = err_set(E_INVALID, "%s: required: the DatabaseBackup each run creates", tp);
		goto done;
	}
	if ((rc = template_parse(&s, tmpl, tp)))
		goto done;
	/* Each run's backup is <schedule>-<yyyymmddhhmm> (shortened to 253). */
	size_t n = strlen(meta->name) + API_SCHEDULE_RUN_SUFFIX_LEN;
	char *run = xcalloc(1, n > 253 ? 254 : n + 1);
	memset(run, 'x', n > 253 ? 253 : n);
	char *sp = xasprintf("%s.spec.storage", tp);
	rc = api_storage_check_keys(&s.backup.storage, sp, meta->namespace_, run);
	free(sp);
	free(run);
	if (rc)
		goto done;
	if (!s.time_zone)
		s.time_zone = xstrdup(API_DEFAULT_TIME_ZONE);
	if (!s.concurrency_policy)
		s.concurrency_policy = xstrdup(API_DEFAULT_CONCURRENCY);
	*out = s;
	memset(&s, 0, sizeof(s));
done:
	spec_dispose(&s);
	free(rp);
	free(tp);
	return rc;
}

void api_schedule_free(struct api_schedule *s)
{
	if (!s)
		return;
	api_meta_dispose(&s->meta);
	spec_dispose(&s->spec);
	free(s);
}

int api_schedule_parse(struct api_schedule **out, struct json_object *obj)
{
	struct api_schedule *s = xcalloc(1, sizeof(*s));
	struct json_object *spec = NULL;
	int rc;
	if ((rc = api_object_head(&s->meta, &spec, obj, API_SCHEDULE_KIND)) ||
	    (rc = spec_parse(&s->spec, spec, "spec", &s->meta)))
		goto done;
	*out = s;
	s = NULL;
done:
	api_schedule_free(s);
	return rc;
}
