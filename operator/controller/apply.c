/* The apply step (apply.h): reconcile actions -> API requests. */
#include "operator/controller/apply.h"

#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "operator/api/blocks.h"
#include "operator/events.h"
#include "operator/kube/client.h"
#include "operator/controller/backup.h"

const struct kube_resource CTL_DATABASE_RESTORES = {
    .group = API_GROUP,
    .version = API_VERSION,
    .plural = "databaserestores",
    .kind = "DatabaseRestore",
    .namespaced = 1,
};

const struct kube_resource CTL_BACKUP_SCHEDULES = {
    .group = API_GROUP,
    .version = API_VERSION,
    .plural = "backupschedules",
    .kind = "BackupSchedule",
    .namespaced = 1,
};

/* The resource of obj, by its kind (a DatabaseBackup when it says none). */
static const struct kube_resource *resource_of(struct json_object *obj)
{
	static const struct kube_resource *const kinds[] = {&CTL_BACKUP_SCHEDULES,
							    &CTL_DATABASE_RESTORES};
	struct json_object *k = NULL;
	if (json_object_object_get_ex(obj, "kind", &k) && json_object_is_type(k, json_type_string))
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strcmp(json_object_get_string(k), kinds[i]->kind) == 0)
				return kinds[i];
	return &CTL_DATABASE_BACKUPS;
}

const struct kube_resource CTL_DATABASE_BACKUPS = {
    .group = API_GROUP,
    .version = API_VERSION,
    .plural = "databasebackups",
    .kind = "DatabaseBackup",
    .namespaced = 1,
};

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* The computed status and the observed one it was computed from. */
struct status_write {
	struct json_object *want;
	struct json_object *based_on; /* NULL: the object had none */
};

/* Replaces the object's status with the computed one; 1 when it already
 * says that. */
static int put_status(struct json_object *obj, struct json_object *want)
{
	struct json_object *copy = NULL;
	if (json_object_equal(get(obj, "status"), want))
		return 1;
	if (json_object_deep_copy(want, &copy, NULL) != 0 || !copy)
		return err_set(E_INVALID, "cannot copy the status");
	json_object_object_add(obj, "status", copy);
	return 0;
}

/* The re-read after a 409: when only the metadata moved on (a finalizer, a
 * label), the computed status still holds and is written; when the status
 * itself changed (another write, or our own newer one the cache has not
 * shown yet) it was computed from an old observation: E_CONFLICT, and the
 * caller requeues to compute it again from the new one. */
static int put_status_if_current(struct json_object *obj, void *ud)
{
	const struct status_write *w = ud;
	struct json_object *now = get(obj, "status");
	if (json_object_equal(now, w->want))
		return 1;
	if (!json_object_equal(now, w->based_on))
		return err_set(E_CONFLICT,
			       "the status changed since it was observed; computing it again");
	return put_status(obj, w->want);
}

/* PUT /status of the observed object with the new status: one request when
 * the cache is current (the common case); on 409 Conflict (the object moved
 * on) a re-read and put_status_if_current. */
static int write_status(struct kube_client *kc, struct json_object *obj, const char *ns,
			const char *name, struct json_object *status)
{
	struct json_object *copy = NULL;
	if (get_str(get(obj, "metadata"), "resourceVersion") &&
	    json_object_deep_copy(obj, &copy, NULL) == 0 && copy) {
		int rc = put_status(copy, status);
		if (rc == 1) {
			json_object_put(copy);
			return 0;
		}
		if (rc == 0)
			rc = kube_update(kc, resource_of(obj), ns, copy, 1, NULL);
		json_object_put(copy);
		if (rc != E_CONFLICT)
			return rc;
	}
	struct status_write w = {status, get(obj, "status")};
	return kube_update_status_retry(kc, resource_of(obj), ns, name, put_status_if_current, &w,
					5, NULL);
}

static int patch_finalizers(struct kube_client *kc, struct json_object *obj, const char *ns,
			    const char *name, const char *finalizer, int add)
{
	struct json_object *meta = get(obj, "metadata");
	struct json_object *have = get(meta, "finalizers");
	struct json_object *list = json_object_new_array();
	int present = 0;
	if (have && json_object_is_type(have, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(have); i++) {
			struct json_object *f = json_object_array_get_idx(have, i);
			if (json_object_is_type(f, json_type_string) &&
			    strcmp(json_object_get_string(f), finalizer) == 0) {
				present = 1;
				if (!add)
					continue;
			}
			json_object_array_add(list, json_object_get(f));
		}
	}
	if (add && !present)
		json_object_array_add(list, json_object_new_string(finalizer));
	struct json_object *patch = json_object_new_object(), *pm = json_object_new_object();
	json_object_object_add(pm, "finalizers", list);
	const char *rv = get_str(meta, "resourceVersion");
	if (rv)
		json_object_object_add(pm, "resourceVersion", json_object_new_string(rv));
	json_object_object_add(patch, "metadata", pm);
	int rc = kube_patch(kc, resource_of(obj), ns, name, KUBE_PATCH_MERGE,
			    json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN), 0, NULL,
			    NULL);
	json_object_put(patch);
	return rc;
}

int ctl_apply(struct kube_client *kc, struct events *events, struct json_object *obj,
	      const struct ctl_actions *acts)
{
	size_t failed;
	return ctl_apply_at(kc, events, obj, acts, &failed);
}

int ctl_apply_at(struct kube_client *kc, struct events *events, struct json_object *obj,
		 const struct ctl_actions *acts, size_t *failed)
{
	*failed = acts->n;
	struct json_object *meta = get(obj, "metadata");
	const char *ns = get_str(meta, "namespace"), *name = get_str(meta, "name");
	int rc = 0;
	if (!ns || !name)
		return err_set(E_INVALID, "the DatabaseBackup has no namespace or name");
	struct events_ref ref = {
	    .api_version = API_GROUP_VERSION,
	    .kind = resource_of(obj)->kind,
	    .namespace_ = ns,
	    .name = name,
	    .uid = get_str(meta, "uid"),
	    .resource_version = get_str(meta, "resourceVersion"),
	};
	size_t i;
	for (i = 0; i < acts->n && rc == 0; i++) {
		const struct ctl_action *a = &acts->v[i];
		switch (a->kind) {
		case CTL_ACTION_CREATE_JOB:
			rc = kube_create(kc, &KUBE_JOBS, ns, a->body, NULL);
			if (rc == E_EXISTS)
				rc = 0; /* ours, by its deterministic name: adopted */
			break;
		case CTL_ACTION_DELETE_JOB:
			rc = kube_delete(kc, &KUBE_JOBS, ns, a->name, "Background", NULL, NULL);
			if (rc == E_NOTFOUND)
				rc = 0;
			break;
		case CTL_ACTION_WRITE_STATUS:
			rc = write_status(kc, obj, ns, name, a->body);
			break;
		case CTL_ACTION_ADD_FINALIZER:
		case CTL_ACTION_REMOVE_FINALIZER:
			rc = patch_finalizers(kc, obj, ns, name, a->name,
					      a->kind == CTL_ACTION_ADD_FINALIZER);
			if (rc == E_NOTFOUND && a->kind == CTL_ACTION_REMOVE_FINALIZER)
				rc = 0;
			break;
		case CTL_ACTION_CREATE_BACKUP:
			rc = kube_create(kc, &CTL_DATABASE_BACKUPS, ns, a->body, NULL);
			if (rc == E_EXISTS)
				rc = 0; /* that run was made already: its name is its time */
			break;
		case CTL_ACTION_DELETE_BACKUP:
			rc = kube_delete(kc, &CTL_DATABASE_BACKUPS, ns, a->name, "Background", NULL,
					 NULL);
			if (rc == E_NOTFOUND)
				rc = 0;
			break;
		case CTL_ACTION_REQUEUE_AFTER:
			break; /* the worker's (workqueue_add_after) */
		case CTL_ACTION_EVENT:
			if (events)
				(void)events_emit(events, &ref,
						  a->warning ? EVENTS_WARNING : EVENTS_NORMAL,
						  a->reason, "%s", a->message ? a->message : "");
			break;
		}
	}
	if (rc)
		*failed = i - 1;
	return rc;
}
