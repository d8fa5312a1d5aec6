/* metav1.Status -> err code + message. */
#include "operator/kube/status.h"

#include <string.h>

#include <json.h>

#include "common/buf.h"
#include "common/err.h"

static int code_for(long http, const char *reason)
{
	switch (http) {
	case 400:
		return E_INVALID;
	case 401:
	case 403:
		return E_FORBIDDEN;
	case 404:
		return E_NOTFOUND;
	case 409:
		return reason && strcmp(reason, "AlreadyExists") == 0 ? E_EXISTS : E_CONFLICT;
	case 410:
		return E_GONE;
	case 422:
		return E_INVALID;
	case 429:
		return E_UNAVAILABLE;
	default:
		return http >= 500 && http <= 599 ? E_UNAVAILABLE : E_IO;
	}
}

static const char *str_field(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

int kube_status_error(long http_status, const char *body, size_t len, const char *what)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *st = body && len ? json_tokener_parse_ex(tok, body, (int)len) : NULL;
	json_tokener_free(tok);
	const char *kind =
	    st && json_object_is_type(st, json_type_object) ? str_field(st, "kind") : NULL;
	if (st && (!kind || strcmp(kind, "Status") != 0)) {
		json_object_put(st);
		st = NULL;
	}
	const char *reason = str_field(st, "reason");
	const char *message = str_field(st, "message");
	struct buf m;
	buf_init(&m, 1800);
	buf_addf(&m, "%s: HTTP %ld", what, http_status);
	if (reason)
		buf_addf(&m, " %s", reason);
	if (message)
		buf_addf(&m, ": %s", message);
	else if (!st && body && len) /* body need not be NUL-terminated */
		buf_addf(&m, ": %.*s", len < 200 ? (int)len : 200, body);
	struct json_object *details, *causes;
	if (st && json_object_object_get_ex(st, "details", &details) &&
	    json_object_object_get_ex(details, "causes", &causes) &&
	    json_object_is_type(causes, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(causes); i++) {
			struct json_object *c = json_object_array_get_idx(causes, i);
			const char *field = str_field(c, "field"), *cm = str_field(c, "message");
			/* A full buffer just truncates the list. */
			buf_addf(&m, "%s%s%s%s", i == 0 ? " (causes: " : "; ", field ? field : "",
				 field ? ": " : "", cm ? cm : "");
		}
		if (json_object_array_length(causes) > 0)
			buf_adds(&m, ")");
	}
	int code = code_for(http_status, reason);
	err_set(code, "%s", buf_str(&m));
	buf_dispose(&m);
	json_object_put(st);
	return code;
}
