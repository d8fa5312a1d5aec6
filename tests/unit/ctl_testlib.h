/* Helpers the controller tests share (test_controller_*.c): edits of an
 * observed object, a path lookup, and the actions as one comparable line.
 * Header-only (static functions); include after cmocka.h and api_testlib.h. */
#ifndef LIFEBOAT_TEST_CTL_TESTLIB_H
#define LIFEBOAT_TEST_CTL_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "operator/controller/actions.h"
#include "tests/unit/api_testlib.h"

/* "path=json" sets path, "path" alone deletes it. */
static inline void tl_apply_edit(struct json_object *o, const char *edit)
{
	const char *eq = strchr(edit, '=');
	if (!eq) {
		tl_set(o, edit, NULL);
		return;
	}
	char *path = strndup(edit, (size_t)(eq - edit));
	tl_set(o, path, eq + 1);
	free(path);
}

/* The actions' kinds, comma-separated; events as Event:W|N:Reason. */
static inline char *tl_describe(const struct ctl_actions *a)
{
	char buf[1024] = "";
	size_t len = 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct ctl_action *x = &a->v[i];
		int n;
		if (x->kind == CTL_ACTION_EVENT)
			n = snprintf(buf + len, sizeof(buf) - len, "%sEvent:%c:%s", i ? "," : "",
				     x->warning ? 'W' : 'N', x->reason);
		else
			n = snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "",
				     ctl_action_kind_name(x->kind));
		assert_true(n > 0 && (size_t)n < sizeof(buf) - len);
		len += (size_t)n;
	}
	return strdup(buf);
}

/* root.a.0.b: objects by key, arrays by index; NULL when absent. */
static inline struct json_object *tl_lookup(struct json_object *o, const char *path)
{
	char *copy = strdup(path), *save = NULL;
	for (char *k = strtok_r(copy, ".", &save); k && o; k = strtok_r(NULL, ".", &save)) {
		struct json_object *v = NULL;
		if (json_object_is_type(o, json_type_array))
			v = json_object_array_get_idx(o, (size_t)atoi(k));
		else if (!json_object_object_get_ex(o, k, &v))
			v = NULL;
		o = v;
	}
	free(copy);
	return o;
}

#endif
