/* What a controller's pure reconcile asks for (the apply step, apply.h,
 * performs it), and the small JSON and status helpers every controller's
 * reconcile uses. Pure: no I/O. */
#ifndef LIFEBOAT_CONTROLLER_ACTIONS_H
#define LIFEBOAT_CONTROLLER_ACTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct json_object;

enum ctl_action_kind {
	CTL_ACTION_CREATE_JOB,	     /* body: the Job; name: its name */
	CTL_ACTION_DELETE_JOB,	     /* name; propagationPolicy Background */
	CTL_ACTION_WRITE_STATUS,     /* body: the whole new status */
	CTL_ACTION_EVENT,	     /* warning, reason, message */
	CTL_ACTION_ADD_FINALIZER,    /* name: the finalizer */
	CTL_ACTION_REMOVE_FINALIZER, /* name: the finalizer */
	CTL_ACTION_REQUEUE_AFTER,    /* delay_ms: look again then (no API request) */
	CTL_ACTION_CREATE_BACKUP,    /* body: a DatabaseBackup; name: its name */
	CTL_ACTION_DELETE_BACKUP,    /* name; propagationPolicy Background */
};

struct ctl_action {
	enum ctl_action_kind kind;
	struct json_object *body; /* owned */
	char *name;		  /* owned */
	int warning;
	char *reason;  /* owned */
	char *message; /* owned */
	int64_t delay_ms;
};

/* Actions in the order they are to be performed. */
struct ctl_actions {
	struct ctl_action *v;
	size_t n, cap;
};

void ctl_actions_dispose(struct ctl_actions *a);
/* The first action of kind, or NULL. Borrowed. */
const struct ctl_action *ctl_actions_find(const struct ctl_actions *a, enum ctl_action_kind kind);
const char *ctl_action_kind_name(enum ctl_action_kind kind);

/* Appending actions (the strings are copied). */
struct ctl_action *ctl_push(struct ctl_actions *a, enum ctl_action_kind kind);
void ctl_push_event(struct ctl_actions *a, int warning, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* name copied, body taken. */
void ctl_push_named(struct ctl_actions *a, enum ctl_action_kind kind, const char *name,
		    struct json_object *body);

/* Readers that tolerate anything: NULL (or 0) for a missing key or another
 * type. */
struct json_object *ctl_get(struct json_object *o, const char *key);
const char *ctl_get_str(struct json_object *o, const char *key);
int64_t ctl_get_int(struct json_object *o, const char *key);
int ctl_str_eq(const char *a, const char *b); /* both non-NULL and equal */

/* Writers: a NULL value removes the key; times as RFC 3339 UTC. */
void ctl_set_str(struct json_object *o, const char *key, const char *value);
void ctl_set_time(struct json_object *o, const char *key, time_t t);

#endif
