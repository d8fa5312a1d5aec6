/* Building and reading restore audit records with json-c. */
#include "job/model/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/model/manifest.h"
#include "job/model/schema.h"

char *audit_key(const char *ns, const char *name, time_t start)
{
	struct tm tm;
	if (!gmtime_r(&start, &tm))
		memset(&tm, 0, sizeof(tm));
	return xasprintf("%s/%s/%04d/%02d/%s.json", ns, AUDIT_FOLDER, tm.tm_year + 1900,
			 tm.tm_mon + 1, name);
}

static int digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int audit_is_key(const char *key)
{
	const char *s1 = strchr(key, '/');
	if (!s1 || s1 == key)
		return 0;
	const char *p = s1 + 1;
	size_t fl = strlen(AUDIT_FOLDER);
	if (strncmp(p, AUDIT_FOLDER, fl) != 0 || p[fl] != '/')
		return 0;
	p += fl + 1;
	/* YYYY/MM/ */
	if (!digits(p, 4) || p[4] != '/' || !digits(p + 5, 2) || p[7] != '/')
		return 0;
	p += 8;
	size_t n = strlen(p);
	return n > 5 && !strchr(p, '/') && strcmp(p + n - 5, ".json") == 0;
}

char *audit_cut_text(const char *text, size_t max)
{
	size_t n = strlen(text);
	if (n <= max)
		return xstrdup(text);
	n = max - 3;
	/* Back off continuation bytes (10xxxxxx) to the start of a character. */
	while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
		n--;
	return xasprintf("%.*s...", (int)n, text);
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void add_time(struct json_object *o, const char *k, time_t t)
{
	char s[32];
	manifest_time_format(s, t);
	add_str(o, k, s);
}

/* A port as the number it is; a port libpq reports oddly stays text. */
static struct json_object *port_value(const char *port)
{
	if (!port || !*port)
		return NULL;
	char *end;
	long v = strtol(port, &end, 10);
	if (port[0] >= '0' && port[0] <= '9' && !*end && v > 0 && v <= 65535)
		return json_object_new_int((int)v);
	return json_object_new_string(port);
}

static struct json_object *source_object(const struct audit_record *a)
{
	if (!a->has_source)
		return NULL;
	struct json_object *o = json_object_new_object();
	add_str(o, "namespace", a->source_namespace);
	add_str(o, "name", a->source_name);
	add_str(o, "location", a->source_location);
	add_str(o, "sha256", a->source_sha256);
	add_time(o, "createdAt", a->source_created_at);
	add_str(o, "schemaVersion", a->source_schema_version);
	return o;
}

static struct json_object *safety_object(const struct audit_record *a)
{
	if (a->safety == AUDIT_SAFETY_UNSTATED)
		return NULL;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "enabled",
			       json_object_new_boolean(a->safety == AUDIT_SAFETY_TAKEN));
	if (a->safety == AUDIT_SAFETY_TAKEN) {
		add_str(o, "name", a->safety_name);
		add_str(o, "location", a->safety_location);
		add_str(o, "sha256", a->safety_sha256);
	}
	return o;
}

static struct json_object *schema_object(const struct schema_check *c)
{
	if (!c)
		return NULL;
	struct json_object *o = json_object_new_object();
	add_str(o, "policy", schema_policy_name(c->policy));
	add_str(o, "result", schema_result_name(c->result));
	add_str(o, "backupVersion", c->backup_version);
	add_str(o, "targetVersion", c->target_version);
	if (c->target_error)
		add_str(o, "targetError", c->target_error);
	return o;
}

int audit_to_json(const struct audit_record *a, struct buf *out)
{
	struct json_object *root = json_object_new_object();
	add_str(root, "apiVersion", AUDIT_API_VERSION);
	add_str(root, "kind", AUDIT_KIND);

	struct json_object *r = json_object_new_object();
	add_str(r, "namespace", a->namespace_);
	add_str(r, "name", a->name);
	json_object_object_add(root, "restore", r);
	add_str(root, "requestedBy", a->requested_by);
	add_time(root, "startTime", a->start_time);
	add_time(root, "completionTime", a->completion_time);
	add_str(root, "outcome", a->failed ? "Failed" : "Completed");
	if (a->failed) {
		struct json_object *e = json_object_new_object();
		add_str(e, "reason", a->error_reason);
		add_str(e, "message", a->error_message);
		json_object_object_add(root, "error", e);
		json_object_object_add(root, "targetUnchanged",
				       json_object_new_boolean(a->target_unchanged));
	}
	json_object_object_add(root, "source", source_object(a));

	struct json_object *t = json_object_new_object();
	add_str(t, "host", a->target_host);
	json_object_object_add(t, "port", port_value(a->target_port));
	add_str(t, "database", a->target_database);
	add_str(t, "user", a->target_user);
	json_object_object_add(root, "target", t);

	json_object_object_add(root, "safetyBackup", safety_object(a));
	json_object_object_add(root, "schemaCheck", schema_object(a->schema));
	json_object_object_add(root, "clean", json_object_new_boolean(a->clean));
	struct json_object *own = json_object_new_object();
	add_str(own, "mode", a->no_owner ? "NoOwner" : "Keep");
	add_str(own, "role", a->role);
	json_object_object_add(root, "ownership", own);
	add_str(root, "privileges", a->no_privileges ? "Skip" : "Keep");
	add_str(root, "files", a->files);
	add_str(root, "lifeboatVersion", a->tool_version);

	const char *text =
	    json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = buf_adds(out, text);
	if (!rc)
		rc = buf_adds(out, "\n");
	json_object_put(root);
	if (rc)
		return err_set(E_TOOBIG, "the audit record is larger than %zu bytes", out->max);
	return 0;
}

/* --- reading --- */

static struct json_object *member(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, k, &v))
		return NULL;
	return v;
}

/* A string member as an owned copy, or NULL (absent, null, not a string, a NUL). */
static char *text_of(struct json_object *o, const char *k)
{
	struct json_object *v = member(o, k);
	if (!v || !json_object_is_type(v, json_type_string))
		return NULL;
	const char *s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return xstrdup(s);
}

int audit_summary_parse(struct audit_summary *out, struct json_object **json_out, const char *text,
			size_t len)
{
	struct audit_summary s;
	memset(&s, 0, sizeof(s));
	int rc = 0;
	if (len > AUDIT_MAX_BYTES)
		return err_set(E_INTEGRITY, "audit record: %zu bytes, more than the %d allowed",
			       len, AUDIT_MAX_BYTES);
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	int ok = root && json_tokener_get_error(tok) == json_tokener_success;
	for (size_t i = ok ? json_tokener_get_parse_end(tok) : len; i < len; i++)
		if (text[i] == '\0' || !strchr(" \t\r\n", text[i]))
			ok = 0;
	json_tokener_free(tok);
	struct json_object *kind = member(root, "kind");
	if (!ok || !json_object_is_type(root, json_type_object)) {
		rc = err_set(E_INTEGRITY, "audit record: not a JSON object");
		goto done;
	}
	if (!kind || !json_object_is_type(kind, json_type_string) ||
	    strcmp(json_object_get_string(kind), AUDIT_KIND) != 0) {
		rc = err_set(E_INTEGRITY, "audit record: kind is not %s", AUDIT_KIND);
		goto done;
	}
	struct json_object *restore = member(root, "restore"), *source = member(root, "source"),
			   *target = member(root, "target");
	s.namespace_ = text_of(restore, "namespace");
	s.name = text_of(restore, "name");
	s.outcome = text_of(root, "outcome");
	s.requested_by = text_of(root, "requestedBy");
	s.database = text_of(target, "database");
	char *sns = text_of(source, "namespace"), *sname = text_of(source, "name");
	if (sname)
		s.backup = sns ? xasprintf("%s/%s", sns, sname) : xstrdup(sname);
	free(sns);
	free(sname);
	char *start = text_of(root, "startTime");
	if (start && manifest_time_parse(&s.start_time, start) != 0)
		s.start_time = 0;
	free(start);
done:
	if (rc) {
		json_object_put(root);
		audit_summary_dispose(&s);
		return rc;
	}
	if (json_out)
		*json_out = root;
	else
		json_object_put(root);
	*out = s;
	return 0;
}

void audit_summary_dispose(struct audit_summary *s)
{
	if (!s)
		return;
	free(s->namespace_);
	free(s->name);
	free(s->outcome);
	free(s->backup);
	free(s->database);
	free(s->requested_by);
	memset(s, 0, sizeof(*s));
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

int audit_summary_cmp(const void *a, const void *b)
{
	const struct audit_summary *x = a, *y = b;
	if (x->start_time != y->start_time)
		return x->start_time > y->start_time ? -1 : 1;
	int c = cmp_str(x->namespace_, y->namespace_);
	return c ? c : cmp_str(x->name, y->name);
}
