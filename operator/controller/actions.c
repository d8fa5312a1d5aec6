/* Actions and helpers shared by the controllers (actions.h). */
#include "operator/controller/actions.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/jobresult.h"
#include "common/xmalloc.h"

struct json_object *ctl_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *ctl_get_str(struct json_object *o, const char *key)
{
	struct json_object *v = ctl_get(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int64_t ctl_get_int(struct json_object *o, const char *key)
{
	struct json_object *v = ctl_get(o, key);
	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

int ctl_str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

struct ctl_action *ctl_push(struct ctl_actions *a, enum ctl_action_kind kind)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 8;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	struct ctl_action *x = &a->v[a->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	return x;
}

void ctl_push_event(struct ctl_actions *a, int warning, const char *reason, const char *fmt, ...)
{
	struct ctl_action *x = ctl_push(a, CTL_ACTION_EVENT);
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	x->message = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	x->message[0] = '\0';
	if (n > 0)
		(void)vsnprintf(x->message, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	x->warning = warning;
	x->reason = xstrdup(reason);
}

void ctl_push_named(struct ctl_actions *a, enum ctl_action_kind kind, const char *name,
		    struct json_object *body)
{
	struct ctl_action *x = ctl_push(a, kind);
	x->name = xstrdup(name);
	x->body = body;
}

void ctl_actions_dispose(struct ctl_actions *a)
{
	for (size_t i = 0; i < a->n; i++) {
		json_object_put(a->v[i].body);
		free(a->v[i].name);
		free(a->v[i].reason);
		free(a->v[i].message);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

const struct ctl_action *ctl_actions_find(const struct ctl_actions *a, enum ctl_action_kind kind)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].kind == kind)
			return &a->v[i];
	return NULL;
}

const char *ctl_action_kind_name(enum ctl_action_kind kind)
{
	static const char *const names[] = {
	    [CTL_ACTION_CREATE_JOB] = "CreateJob",
	    [CTL_ACTION_DELETE_JOB] = "DeleteJob",
	    [CTL_ACTION_WRITE_STATUS] = "WriteStatus",
	    [CTL_ACTION_EVENT] = "Event",
	    [CTL_ACTION_ADD_FINALIZER] = "AddFinalizer",
	    [CTL_ACTION_REMOVE_FINALIZER] = "RemoveFinalizer",
	    [CTL_ACTION_REQUEUE_AFTER] = "RequeueAfter",
	    [CTL_ACTION_CREATE_BACKUP] = "CreateBackup",
	    [CTL_ACTION_DELETE_BACKUP] = "DeleteBackup",
	};
	return (size_t)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

void ctl_set_str(struct json_object *o, const char *key, const char *value)
{
	if (value)
		json_object_object_add(o, key, json_object_new_string(value));
	else
		json_object_object_del(o, key);
}

void ctl_set_time(struct json_object *o, const char *key, time_t t)
{
	char text[32];
	jobresult_time_format(text, t);
	ctl_set_str(o, key, text);
}
