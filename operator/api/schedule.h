/* BackupSchedule (lifeboat.dev/v1alpha1): its spec with the DatabaseBackup
 * template inside, parsed and validated (operator/api/blocks.h says how).
 * The cron expression is parsed here (operator/cron.h, its messages); the
 * time zone's existence is checked where it is loaded (the schedule
 * controller, operator/tz.h: that reads files), here only its shape.
 * Pure: no I/O. */
#ifndef LIFEBOAT_API_SCHEDULE_H
#define LIFEBOAT_API_SCHEDULE_H

#include "operator/api/backup.h"

#define API_SCHEDULE_KIND "BackupSchedule"
/* The label on each DatabaseBackup a schedule creates: the schedule's name. */
#define API_SCHEDULE_LABEL "lifeboat.dev/schedule"
#define API_DEFAULT_TIME_ZONE "UTC"
#define API_DEFAULT_CONCURRENCY "Forbid"
/* Backups are named <schedule>-<yyyymmddhhmm>: this much longer. */
#define API_SCHEDULE_RUN_SUFFIX_LEN 13

/* set is 0 when the spec has no retention (every backup is kept). */
struct api_retention {
	int set;
	int64_t keep_last, keep_daily, keep_weekly, keep_monthly, keep_failed;
	int has_keep_last, has_keep_daily, has_keep_weekly, has_keep_monthly, has_keep_failed;
	char *max_age;		 /* "30d", NULL when unset */
	int64_t max_age_seconds; /* of max_age */
};

struct api_schedule_spec {
	char *schedule;
	char *time_zone;
	int suspend;
	char *concurrency_policy; /* Forbid | Allow | Replace */
	int64_t starting_deadline_seconds;
	int has_starting_deadline;
	struct api_retention retention;
	struct api_kv *labels; /* backupTemplate.metadata */
	size_t nlabels;
	struct api_kv *annotations;
	size_t nannotations;
	struct api_backup_spec backup; /* backupTemplate.spec */
};

struct api_schedule {
	struct api_meta meta;
	struct api_schedule_spec spec;
};

/* A whole BackupSchedule; *out is new, free it with api_schedule_free.
 * E_INVALID naming the field. */
int api_schedule_parse(struct api_schedule **out, struct json_object *obj);
void api_schedule_free(struct api_schedule *s);

#endif
