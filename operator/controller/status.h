/* The new status a reconcile builds from the observed one: a copy, changed
 * in place, written only when it differs, with the phase's event. Shared by
 * the DatabaseBackup and DatabaseRestore reconciles. Pure. */
#ifndef LIFEBOAT_CONTROLLER_STATUS_H
#define LIFEBOAT_CONTROLLER_STATUS_H

#include <stdint.h>
#include <time.h>

#include "operator/controller/actions.h"

struct json_object;

#define CTL_COND_READY "Ready"

struct ctl_next {
	struct json_object *status; /* owned: a copy of the old one, changed */
	const char *old_phase;	    /* borrowed from the observed object */
	int64_t generation;
	time_t now;
};

/* nx from obj's status (a copy; {} when it has none) and generation. */
void ctl_next_init(struct ctl_next *nx, struct json_object *obj, time_t now);
/* Sets the condition of that type (lastTransitionTime moves only when its
 * status does). */
void ctl_set_condition(struct ctl_next *nx, const char *type, const char *status,
		       const char *reason, const char *message);
/* Phase, message, observedGeneration and Ready in one go: they always move
 * together. */
void ctl_set_state(struct ctl_next *nx, const char *phase, const char *ready, const char *reason,
		   const char *message);
/* Removes null members, recursively (the status schema has no nullable
 * fields). */
void ctl_drop_nulls(struct json_object *o);
/* Emits the status (when it changed) and the phase event (when the phase
 * changed; a Warning also when only its message did). Takes nx->status. */
void ctl_finish(struct ctl_actions *out, struct ctl_next *nx, struct json_object *old_status,
		int warning, const char *reason, const char *message);

#endif
