/* The DatabaseRestore admission webhook's decisions: AdmissionReview in,
 * AdmissionReview out, no I/O. */
#include "operator/webhook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <openssl/evp.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/text.h"
#include "common/xmalloc.h"

#define GROUP "lifeboat.dev"
#define RESOURCE "databaserestores"
#define REVIEW_VERSION "admission.k8s.io/v1"

void webhook_outcome_dispose(struct webhook_outcome *o)
{
	if (!o)
		return;
	free(o->uid);
	free(o->operation);
	free(o->namespace_);
	free(o->name);
	free(o->username);
	free(o->value);
	memset(o, 0, sizeof(*o));
}

int webhook_pointer_escape(struct buf *out, const char *s)
{
	size_t start = out->len;
	int rc = 0;
	for (const char *p = s; *p && !rc; p++) {
		if (*p == '~')
			rc = buf_add(out, "~0", 2);
		else if (*p == '/')
			rc = buf_add(out, "~1", 2);
		else
			rc = buf_add(out, p, 1);
	}
	if (rc)
		out->len = start;
	if (out->ptr)
		out->ptr[out->len] = '\0';
	return rc;
}

int webhook_requested_by(struct buf *out, const char *username, const char *const *groups,
			 size_t ngroups)
{
	size_t start = out->len;
	int rc = buf_adds(out, username);
	size_t shown = 0;
	/* Whole groups only, while the value stays within WEBHOOK_VALUE_MAX
	 * (room kept for the count of the rest). */
	for (; !rc && shown < ngroups; shown++) {
		size_t add = strlen(groups[shown]) + (shown ? 2 : 10) + 1;
		if (out->len - start + add > WEBHOOK_VALUE_MAX - 32)
			break;
		rc = buf_addf(out, "%s%s", shown ? ", " : " (groups: ", groups[shown]);
	}
	if (!rc && shown < ngroups)
		rc = buf_addf(out, "%s%zu more",
			      shown ? ", ... and " : " (groups: ", ngroups - shown);
	if (!rc && ngroups)
		rc = buf_adds(out, ")");
	if (rc) {
		out->len = start;
		if (out->ptr)
			out->ptr[out->len] = '\0';
	}
	return rc;
}

/* --- reading the review --- */

/* The member key of obj, or NULL when absent or JSON null. */
static struct json_object *member(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* obj.key as a string: *out NULL when absent or null (and not required),
 * E_INVALID naming path.key when of another type, or absent and required. */
static int string_at(const char **out, struct json_object *obj, const char *path, const char *key,
		     int required)
{
	struct json_object *v = member(obj, key);
	*out = NULL;
	if (!v && required) {
		err_set(E_INVALID, "%s.%s: missing", path, key);
		return E_INVALID; /* spelled out for gcc -fanalyzer */
	}
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return err_set(E_INVALID, "%s.%s: a %s, not a string", path, key,
			       json_type_to_name(json_object_get_type(v)));
	*out = json_object_get_string(v);
	return 0;
}

/* obj.key as an object: NULL when absent or null; E_INVALID when of
 * another type. */
static int object_at(struct json_object **out, struct json_object *obj, const char *path,
		     const char *key)
{
	struct json_object *v = member(obj, key);
	*out = NULL;
	if (v && !json_object_is_type(v, json_type_object))
		return err_set(E_INVALID, "%s.%s: a %s, not an object", path, key,
			       json_type_to_name(json_object_get_type(v)));
	*out = v;
	return 0;
}

/* The annotation of an object (request.object or request.oldObject):
 * *out NULL when the object has no such annotation. */
static int annotation_of(const char **out, struct json_object *obj, const char *path)
{
	struct json_object *meta = NULL, *ann = NULL;
	char where[64];
	*out = NULL;
	snprintf(where, sizeof(where), "%s.metadata", path);
	int rc = object_at(&meta, obj, path, "metadata");
	if (!rc)
		rc = object_at(&ann, meta, where, "annotations");
	if (!rc && ann) {
		snprintf(where, sizeof(where), "%s.metadata.annotations", path);
		rc = string_at(out, ann, where, WEBHOOK_ANNOTATION, 0);
	}
	return rc;
}

static struct json_object *parse(const char *body, size_t len, int *rc)
{
	struct json_tokener *tok = json_tokener_new_ex(WEBHOOK_DEPTH_MAX);
	struct json_object *root = NULL;
	*rc = 0;
	if (!tok) {
		*rc = err_set(E_INVALID, "the review cannot be parsed (json-c: out of memory)");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	if (len > INT32_MAX) {
		*rc = err_set(E_TOOBIG, "the review is %zu bytes", len);
		goto done;
	}
	/* JSON is UTF-8 (RFC 8259 8.1), strictly: json-c lets surrogates by. */
	for (size_t i = 0; i < len;) {
		size_t n = text_utf8_len((const unsigned char *)body + i, len - i);
		if (!n) {
			*rc = err_set(E_INVALID,
				      "the review is not JSON: invalid UTF-8 at byte %zu", i);
			goto done;
		}
		i += n;
	}
	root = json_tokener_parse_ex(tok, body, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* Every byte was taken and the value is still open, or is a
		 * scalar that only the end of input completes: say it ends. */
		root = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
		if (jerr != json_tokener_success) {
			*rc = err_set(
			    E_INVALID,
			    "the review is not JSON: it ends after %zu bytes, inside a value", len);
			goto done;
		}
	}
	if (jerr != json_tokener_success) {
		*rc = err_set(E_INVALID, "the review is not JSON: %s at byte %zu",
			      json_tokener_error_desc(jerr), end);
		goto done;
	}
	while (end < len &&
	       (body[end] == ' ' || body[end] == '\t' || body[end] == '\r' || body[end] == '\n'))
		end++;
	if (end < len)
		*rc = err_set(E_INVALID,
			      "the review is not JSON: more after the value, at byte %zu", end);
done:
	if (*rc) {
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

/* request.userInfo: username, and groups as a borrowed array (freed by the
 * caller, strings owned by the review). */
static int user_of(struct json_object *req, const char **username, const char ***groups,
		   size_t *ngroups)
{
	struct json_object *ui = NULL, *g;
	int rc = object_at(&ui, req, "request", "userInfo");
	*groups = NULL;
	*ngroups = 0;
	if (!rc && !ui)
		rc = err_set(E_INVALID, "request.userInfo: missing");
	if (!rc)
		rc = string_at(username, ui, "request.userInfo", "username", 1);
	if (!rc && !**username)
		rc = err_set(E_INVALID, "request.userInfo.username: empty");
	if (rc)
		return rc;
	g = member(ui, "groups");
	if (!g)
		return 0;
	if (!json_object_is_type(g, json_type_array))
		return err_set(E_INVALID, "request.userInfo.groups: a %s, not an array",
			       json_type_to_name(json_object_get_type(g)));
	size_t n = json_object_array_length(g);
	const char **v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(g, i);
		if (!e || !json_object_is_type(e, json_type_string)) {
			free(v);
			return err_set(E_INVALID,
				       "request.userInfo.groups[%zu]: a %s, not a string", i,
				       json_type_to_name(json_object_get_type(e)));
		}
		v[i] = json_object_get_string(e);
	}
	*groups = v;
	*ngroups = n;
	return 0;
}

/* The JSONPatch setting the annotation on obj, base64-encoded into out. */
static int patch_for(struct buf *out, struct json_object *obj, const char *value)
{
	struct json_object *meta = NULL, *ann = NULL;
	struct json_object *ops = json_object_new_array(), *op = json_object_new_object();
	struct buf path;
	int rc;
	buf_init(&path, 256);
	rc = object_at(&meta, obj, "request.object", "metadata");
	if (!rc)
		rc = object_at(&ann, meta, "request.object.metadata", "annotations");
	if (rc)
		goto done;
	/* "add" of an existing member replaces it (RFC 6902 4.1); a missing
	 * parent is added whole, as the pointer's parent must exist. */
	struct json_object *value_json = json_object_new_string(value);
	if (ann) {
		rc = buf_adds(&path, "/metadata/annotations/");
		if (!rc)
			rc = webhook_pointer_escape(&path, WEBHOOK_ANNOTATION);
	} else {
		struct json_object *map = json_object_new_object();
		json_object_object_add(map, WEBHOOK_ANNOTATION, value_json);
		value_json = map;
		if (meta) {
			rc = buf_adds(&path, "/metadata/annotations");
		} else {
			struct json_object *m = json_object_new_object();
			json_object_object_add(m, "annotations", value_json);
			value_json = m;
			rc = buf_adds(&path, "/metadata");
		}
	}
	json_object_object_add(op, "op", json_object_new_string("add"));
	json_object_object_add(op, "path", json_object_new_string(buf_str(&path)));
	json_object_object_add(op, "value", value_json);
	json_object_array_add(ops, op);
	op = NULL;
	if (rc)
		goto done;
	size_t plen = 0;
	const char *plain = json_object_to_json_string_length(
	    ops, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &plen);
	size_t b64 = 4 * ((plen + 2) / 3) + 1;
	if (plen > INT32_MAX / 2 || out->len + b64 > out->max) {
		rc = err_set(E_TOOBIG, "the patch (%zu bytes) does not fit the response", plen);
		goto done;
	}
	char *enc = xmalloc(b64);
	int n = EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)plain, (int)plen);
	rc = buf_add(out, enc, (size_t)n);
	free(enc);
done:
	json_object_put(op);
	json_object_put(ops);
	buf_dispose(&path);
	return rc;
}

/* s in double quotes, cut at QUOTE_MAX bytes on a UTF-8 boundary ("..."
 * after the quote then): messages stay short whatever a client sent. */
#define QUOTE_MAX 256
static int quote(struct buf *out, const char *s)
{
	size_t n = strlen(s);
	int cut = n > QUOTE_MAX;
	if (cut) {
		n = QUOTE_MAX;
		while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return buf_addf(out, "\"%.*s\"%s", (int)n, s, cut ? "..." : "");
}

static char *dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

int webhook_review(struct buf *out, struct webhook_outcome *outcome, const char *body, size_t len)
{
	struct json_object *root = NULL, *req = NULL, *res = NULL, *obj = NULL, *old = NULL;
	struct json_object *resp = NULL;
	const char *s, *uid = NULL, *op = NULL, *ns = NULL, *name = NULL, *username = NULL;
	const char *group = NULL, *resource = NULL, *sub = NULL, **groups = NULL;
	const char *now = NULL, *before = NULL;
	size_t ngroups = 0, start = out->len;
	struct buf value, patch;
	enum webhook_verdict verdict = WEBHOOK_ALLOWED;
	int rc = 0;
	buf_init(&value, WEBHOOK_VALUE_MAX + 64);
	buf_init(&patch, out->max);

	if (len > WEBHOOK_BODY_MAX) {
		rc = err_set(E_TOOBIG, "the review is %zu bytes; at most %u are accepted", len,
			     WEBHOOK_BODY_MAX);
		goto done;
	}
	root = parse(body, len, &rc);
	if (rc)
		goto done;
	if (!json_object_is_type(root, json_type_object)) {
		rc = err_set(E_INVALID, "the review is a JSON %s, not an object",
			     json_type_to_name(json_object_get_type(root)));
		goto done;
	}
	rc = string_at(&s, root, "review", "apiVersion", 1);
	if (!rc && strcmp(s, REVIEW_VERSION))
		rc = err_set(E_INVALID,
			     "apiVersion: \"%s\"; this webhook speaks %s (set "
			     "admissionReviewVersions: [v1])",
			     s, REVIEW_VERSION);
	if (!rc)
		rc = string_at(&s, root, "review", "kind", 1);
	if (!rc && strcmp(s, "AdmissionReview"))
		rc = err_set(E_INVALID, "kind: \"%s\", not AdmissionReview", s);
	if (!rc)
		rc = object_at(&req, root, "review", "request");
	if (!rc && !req)
		rc = err_set(E_INVALID, "request: missing");
	if (!rc)
		rc = string_at(&uid, req, "request", "uid", 1);
	if (!rc && !*uid)
		rc = err_set(E_INVALID, "request.uid: empty");
	if (!rc)
		rc = string_at(&op, req, "request", "operation", 1);
	if (!rc)
		rc = string_at(&ns, req, "request", "namespace", 0);
	if (!rc)
		rc = string_at(&name, req, "request", "name", 0);
	if (!rc)
		rc = object_at(&res, req, "request", "resource");
	if (!rc && !res)
		rc = err_set(E_INVALID, "request.resource: missing");
	if (!rc)
		rc = string_at(&group, res, "request.resource", "group", 0);
	if (!rc)
		rc = string_at(&resource, res, "request.resource", "resource", 1);
	if (!rc)
		rc = string_at(&sub, req, "request", "subResource", 0);
	if (!rc)
		rc = object_at(&obj, req, "request", "object");
	if (!rc)
		rc = object_at(&old, req, "request", "oldObject");
	if (rc)
		goto done;

	int ours = group && !strcmp(group, GROUP) && !strcmp(resource, RESOURCE) && (!sub || !*sub);
	if (ours && !strcmp(op, "CREATE")) {
		if (!obj) {
			rc = err_set(E_INVALID, "request.object: missing on CREATE");
			goto done;
		}
		if (!name || !*name) {
			/* generateName: the name is made after admission. */
			struct json_object *meta = member(obj, "metadata");
			const char *gn = NULL;
			if (string_at(&gn, meta, "request.object.metadata", "generateName", 0) ==
				0 &&
			    gn)
				name = gn;
		}
		rc = user_of(req, &username, &groups, &ngroups);
		if (!rc)
			rc = webhook_requested_by(&value, username, groups, ngroups);
		if (!rc)
			rc = patch_for(&patch, obj, buf_str(&value));
		if (rc)
			goto done;
		verdict = WEBHOOK_PATCHED;
	} else if (ours && !strcmp(op, "UPDATE")) {
		if (!obj || !old) {
			rc = err_set(E_INVALID, "request.%s: missing on UPDATE",
				     obj ? "oldObject" : "object");
			goto done;
		}
		rc = annotation_of(&now, obj, "request.object");
		if (!rc)
			rc = annotation_of(&before, old, "request.oldObject");
		if (rc)
			goto done;
		/* Not needed to decide: only logged. */
		const char *who = NULL;
		if (string_at(&who, member(req, "userInfo"), "request.userInfo", "username", 0) ==
		    0)
			username = who;
		if (!(now == before || (now && before && !strcmp(now, before)))) {
			verdict = WEBHOOK_DENIED;
			rc = buf_adds(&value, now ? now : "");
			if (rc)
				goto done;
		}
	}

	resp = json_object_new_object();
	json_object_object_add(resp, "uid", json_object_new_string(uid));
	json_object_object_add(resp, "allowed", json_object_new_boolean(verdict != WEBHOOK_DENIED));
	if (verdict == WEBHOOK_PATCHED) {
		json_object_object_add(resp, "patchType", json_object_new_string("JSONPatch"));
		json_object_object_add(resp, "patch", json_object_new_string(buf_str(&patch)));
	} else if (verdict == WEBHOOK_DENIED) {
		struct json_object *st = json_object_new_object();
		struct buf msg;
		buf_init(&msg, 4096);
		rc = buf_adds(&msg,
			      "the annotation " WEBHOOK_ANNOTATION
			      " records who created this DatabaseRestore and cannot be changed: ");
		if (!rc && before) {
			rc = buf_adds(&msg, "it is ");
			if (!rc)
				rc = quote(&msg, before);
		} else if (!rc) {
			rc = buf_adds(&msg, "it is not set");
		}
		if (!rc && now) {
			rc = buf_adds(&msg, ", the update sets ");
			if (!rc)
				rc = quote(&msg, now);
		} else if (!rc) {
			rc = buf_adds(&msg, ", the update removes it");
		}
		if (!rc)
			rc = buf_adds(&msg, "; leave it as it is");
		json_object_object_add(st, "status", json_object_new_string("Failure"));
		json_object_object_add(st, "code", json_object_new_int(403));
		json_object_object_add(st, "reason", json_object_new_string("Forbidden"));
		json_object_object_add(st, "message", json_object_new_string(buf_str(&msg)));
		json_object_object_add(resp, "status", st);
		buf_dispose(&msg);
		if (rc)
			goto done;
	}
	struct json_object *review = json_object_new_object();
	json_object_object_add(review, "apiVersion", json_object_new_string(REVIEW_VERSION));
	json_object_object_add(review, "kind", json_object_new_string("AdmissionReview"));
	json_object_object_add(review, "response", resp);
	resp = NULL;
	rc = buf_adds(out, json_object_to_json_string_ext(
			       review, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(review);
	if (rc) {
		rc = err_set(E_TOOBIG, "the response does not fit in %zu bytes", out->max);
		goto done;
	}
	outcome->verdict = verdict;
	outcome->uid = dup_or_empty(uid);
	outcome->operation = dup_or_empty(op);
	outcome->namespace_ = dup_or_empty(ns);
	outcome->name = dup_or_empty(name);
	outcome->username = dup_or_empty(username);
	outcome->value = xstrdup(buf_str(&value));
done:
	if (rc) {
		out->len = start;
		if (out->ptr)
			out->ptr[out->len] = '\0';
	}
	free(groups);
	json_object_put(resp);
	json_object_put(root);
	buf_dispose(&value);
	buf_dispose(&patch);
	return rc;
}
