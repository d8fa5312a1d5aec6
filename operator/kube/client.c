/* Kubernetes REST verbs over the shared libcurl layer. */
#include "operator/kube/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json.h>
#include <openssl/rand.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "operator/kube/kubeconfig.h"
#include "operator/kube/status.h"

const struct kube_resource KUBE_NAMESPACES = {"", "v1", "namespaces", "Namespace", 0};
const struct kube_resource KUBE_PODS = {"", "v1", "pods", "Pod", 1};
const struct kube_resource KUBE_SECRETS = {"", "v1", "secrets", "Secret", 1};
const struct kube_resource KUBE_CONFIGMAPS = {"", "v1", "configmaps", "ConfigMap", 1};
const struct kube_resource KUBE_EVENTS = {"", "v1", "events", "Event", 1};
const struct kube_resource KUBE_PVCS = {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim",
					1};
const struct kube_resource KUBE_JOBS = {"batch", "v1", "jobs", "Job", 1};
const struct kube_resource KUBE_LEASES = {"coordination.k8s.io", "v1", "leases", "Lease", 1};
const struct kube_resource KUBE_CRDS = {"apiextensions.k8s.io", "v1", "customresourcedefinitions",
					"CustomResourceDefinition", 0};

struct kube_client {
	struct kube_config *cfg;
	struct http_client *http;
	struct http_tls tls;
	int attempts;
	int64_t base_ms, max_ms;
	struct kube_client_stats stats;
};

static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;

/* Set once before any client runs a request (kube_set_observer). */
static kube_observer_fn observer;
static void *observer_ud;

void kube_set_observer(kube_observer_fn fn, void *ud)
{
	observer = fn;
	observer_ud = ud;
}

struct kube_client *kube_client_new(struct kube_config *cfg)
{
	struct kube_client *c = xcalloc(1, sizeof(*c));
	c->cfg = cfg;
	c->http = http_client_new();
	c->tls.ca_pem = cfg->ca_pem;
	c->tls.cert_pem = cfg->client_cert_pem;
	c->tls.key_pem = cfg->client_key_pem;
	c->tls.insecure = cfg->insecure;
	c->attempts = 6;
	c->base_ms = 200;
	c->max_ms = 10000;
	return c;
}

void kube_client_free(struct kube_client *c)
{
	if (!c)
		return;
	http_client_free(c->http);
	free(c);
}

void kube_client_set_retry(struct kube_client *c, int attempts, int64_t base_ms, int64_t max_ms)
{
	c->attempts = attempts < 1 ? 1 : attempts;
	c->base_ms = base_ms;
	c->max_ms = max_ms;
}

const struct kube_client_stats *kube_client_stats(const struct kube_client *c)
{
	return &c->stats;
}

char *kube_path(const struct kube_resource *r, const char *ns, const char *name, const char *sub)
{
	struct buf b;
	buf_init(&b, 4096);
	if (r->group[0])
		buf_addf(&b, "/apis/%s/%s", r->group, r->version);
	else
		buf_addf(&b, "/api/%s", r->version);
	if (r->namespaced && ns)
		buf_addf(&b, "/namespaces/%s", ns);
	buf_addf(&b, "/%s", r->plural);
	if (name)
		buf_addf(&b, "/%s", name);
	if (name && sub)
		buf_addf(&b, "/%s", sub);
	return buf_take(&b);
}

struct call {
	const char *method;
	const char *verb;     /* the Kubernetes verb, for the observer */
	const char *resource; /* "jobs", "databasebackups/status": the observer's */
	const char *path;     /* with query */
	const char *content_type;
	const char *body;
	int (*on_data)(const char *p, size_t n, void *ud);
	void *ud;
	long timeout_ms;
	int no_retry;
	const atomic_int *cancel;
};

static void header(const char **slots, size_t *n, const char *name, const char *value)
{
	slots[(*n)++] = xasprintf("%s: %s", name, value);
}

/* One logical request with retries; *body_out receives the reply JSON. */
static int perform(struct kube_client *c, const struct call *call, struct json_object **out)
{
	char *url = xasprintf("%s%s", c->cfg->server, call->path);
	const char *hdrs[6];
	size_t nh = 0;
	int rc = 0;
	struct http_response resp;
	http_response_init(&resp);
	pthread_mutex_lock(&token_lock);
	const char *token = kube_config_token(c->cfg);
	char *tok = token ? xstrdup(token) : NULL;
	pthread_mutex_unlock(&token_lock);
	header(hdrs, &nh, "Accept", "application/json");
	header(hdrs, &nh, "User-Agent", "lifeboat-operator/" LIFEBOAT_VERSION);
	if (call->content_type)
		header(hdrs, &nh, "Content-Type", call->content_type);
	if (tok) {
		char *bearer = xasprintf("Bearer %s", tok);
		header(hdrs, &nh, "Authorization", bearer);
		memset(bearer, 0, strlen(bearer));
		free(bearer);
	}
	hdrs[nh] = NULL;
	struct http_request req = {
	    .method = call->method,
	    .url = url,
	    .headers = hdrs,
	    .body = call->body,
	    .body_len = call->body ? strlen(call->body) : 0,
	    .tls = &c->tls,
	    .timeout_ms = call->timeout_ms,
	    .on_data = call->on_data,
	    .ud = call->ud,
	    .max_body = 64u * 1024 * 1024,
	    .cancel = call->cancel,
	};
	struct http_retry policy = {call->no_retry ? 1 : c->attempts, (long)c->base_ms,
				    (long)c->max_ms};
	c->stats.requests++;
	unsigned long retries = 0;
	rc = http_do_retry(c->http, &req, &resp, &policy, &retries);
	c->stats.retries += retries;
	c->stats.requests += retries;
	if (observer)
		observer(observer_ud, call->verb, call->resource, rc ? 0 : (int)resp.status);
	if (rc)
		goto done;
	if (resp.status / 100 != 2) {
		char what[512];
		snprintf(what, sizeof(what), "%s %s", call->method, call->path);
		rc = kube_status_error(resp.status, resp.body.ptr, resp.body.len, what);
		goto done;
	}
	if (out && !call->on_data) {
		struct json_tokener *tk = json_tokener_new();
		*out = json_tokener_parse_ex(tk, buf_str(&resp.body), (int)resp.body.len);
		if (!*out || json_tokener_get_error(tk) != json_tokener_success) {
			json_object_put(*out);
			*out = NULL;
			rc =
			    err_set(E_IO, "%s %s: the reply is not JSON", call->method, call->path);
		}
		json_tokener_free(tk);
	}
done:
	for (size_t i = 0; i < nh; i++) {
		/* The Authorization header holds the token: wipe them all. */
		memset((char *)(uintptr_t)hdrs[i], 0, strlen(hdrs[i]));
		free((char *)(uintptr_t)hdrs[i]);
	}
	if (tok) {
		memset(tok, 0, strlen(tok));
		free(tok);
	}
	http_response_dispose(&resp);
	free(url);
	return rc;
}

static const char *body_of(struct json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* "plural" or "plural/status" of r: the observer's resource. */
static const char *resource_of(char out[128], const struct kube_resource *r, int status)
{
	snprintf(out, 128, "%s%s", r->plural, status ? "/status" : "");
	return out;
}

/* One request with an optional body; takes ownership of path. */
static int send_object(struct kube_client *c, const char *method, const char *verb,
		       const char *resource, char *path, const char *content_type, const char *body,
		       struct json_object **out)
{
	struct call call = {.method = method,
			    .verb = verb,
			    .resource = resource,
			    .path = path,
			    .content_type = content_type,
			    .body = body,
			    .timeout_ms = 30000};
	struct json_object *obj = NULL;
	int rc = perform(c, &call, &obj);
	free(path);
	if (!rc && out)
		*out = obj;
	else
		json_object_put(obj);
	return rc;
}

int kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
	     struct json_object **out)
{
	return send_object(c, "GET", "get", r->plural, kube_path(r, ns, name, NULL), NULL, NULL,
			   out);
}

int kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns,
		struct json_object *obj, struct json_object **out)
{
	return send_object(c, "POST", "create", r->plural, kube_path(r, ns, NULL, NULL),
			   "application/json", body_of(obj), out);
}

static const char *name_of(struct json_object *obj)
{
	struct json_object *meta, *name;
	if (json_object_object_get_ex(obj, "metadata", &meta) &&
	    json_object_object_get_ex(meta, "name", &name))
		return json_object_get_string(name);
	return NULL;
}

int kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
		struct json_object *obj, int status, struct json_object **out)
{
	const char *name = name_of(obj);
	if (!name)
		return err_set(E_INVALID, "update of a %s without metadata.name", r->kind);
	char res[128];
	return send_object(c, "PUT", "update", resource_of(res, r, status),
			   kube_path(r, ns, name, status ? "status" : NULL), "application/json",
			   body_of(obj), out);
}

int kube_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
	       const char *name, enum kube_patch type, const char *patch, int status,
	       const char *field_manager, struct json_object **out)
{
	static const char *const types[] = {
	    "application/merge-patch+json", "application/json-patch+json",
	    "application/strategic-merge-patch+json", "application/apply-patch+yaml"};
	char *base = kube_path(r, ns, name, status ? "status" : NULL);
	char *path = field_manager ? xasprintf("%s?fieldManager=%s%s", base, field_manager,
					       type == KUBE_PATCH_APPLY ? "&force=true" : "")
				   : xstrdup(base);
	free(base);
	char res[128];
	return send_object(c, "PATCH", "patch", resource_of(res, r, status), path, types[type],
			   patch, out);
}

int kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
		const char *name, const char *propagation, const char *precondition_uid,
		const char *precondition_rv)
{
	struct json_object *opts = json_object_new_object();
	json_object_object_add(opts, "kind", json_object_new_string("DeleteOptions"));
	json_object_object_add(opts, "apiVersion", json_object_new_string("v1"));
	if (propagation)
		json_object_object_add(opts, "propagationPolicy",
				       json_object_new_string(propagation));
	if (precondition_uid || precondition_rv) {
		struct json_object *pre = json_object_new_object();
		if (precondition_uid)
			json_object_object_add(pre, "uid",
					       json_object_new_string(precondition_uid));
		if (precondition_rv)
			json_object_object_add(pre, "resourceVersion",
					       json_object_new_string(precondition_rv));
		json_object_object_add(opts, "preconditions", pre);
	}
	int rc = send_object(c, "DELETE", "delete", r->plural, kube_path(r, ns, name, NULL),
			     "application/json", body_of(opts), NULL);
	json_object_put(opts);
	return rc;
}

static void add_query(struct buf *b, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	char *esc = curl_easy_escape(NULL, value, 0);
	buf_addf(b, "%c%s=%s", strchr(buf_str(b), '?') ? '&' : '?', key, esc ? esc : "");
	curl_free(esc);
}

int kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
	      const char *label_selector, const char *field_selector, int limit,
	      kube_item_cb item_cb, void *ud, char **resource_version)
{
	char *cont = NULL, *rv = NULL;
	int rc = 0;
	char *base = kube_path(r, ns, NULL, NULL);
	do {
		struct buf path;
		buf_init(&path, 64 * 1024);
		buf_adds(&path, base);
		add_query(&path, "labelSelector", label_selector);
		add_query(&path, "fieldSelector", field_selector);
		if (limit > 0) {
			char n[16];
			snprintf(n, sizeof(n), "%d", limit);
			add_query(&path, "limit", n);
		}
		add_query(&path, "continue", cont);
		struct call call = {.method = "GET",
				    .verb = "list",
				    .resource = r->plural,
				    .path = buf_str(&path),
				    .timeout_ms = 60000};
		struct json_object *list = NULL, *items, *meta, *v;
		rc = perform(c, &call, &list);
		buf_dispose(&path);
		free(cont);
		cont = NULL;
		if (rc)
			break;
		if (json_object_object_get_ex(list, "metadata", &meta)) {
			if (json_object_object_get_ex(meta, "resourceVersion", &v)) {
				free(rv);
				rv = xstrdup(json_object_get_string(v));
			}
			if (json_object_object_get_ex(meta, "continue", &v) &&
			    json_object_get_string_len(v) > 0)
				cont = xstrdup(json_object_get_string(v));
		}
		if (json_object_object_get_ex(list, "items", &items) &&
		    json_object_is_type(items, json_type_array))
			for (size_t i = 0; !rc && i < json_object_array_length(items); i++)
				rc = item_cb(json_object_array_get_idx(items, i), ud);
		json_object_put(list);
	} while (!rc && cont);
	free(cont);
	free(base);
	if (!rc && resource_version)
		*resource_version = rv;
	else
		free(rv);
	return rc;
}

/* --- watch: newline-delimited JSON events --- */

struct watch_state {
	struct kube_client *c;
	kube_watch_cb cb;
	void *ud;
	struct buf line;
	int rc;
};

static int watch_event(struct watch_state *w, const char *text, size_t len)
{
	struct json_tokener *tk = json_tokener_new();
	struct json_object *ev = json_tokener_parse_ex(tk, text, (int)len);
	int rc = 0;
	if (!ev || json_tokener_get_error(tk) != json_tokener_success) {
		rc = err_set(E_UNAVAILABLE, "watch: a malformed event line (%zu bytes)", len);
		goto done;
	}
	struct json_object *type, *object;
	/* "type": null would be a NULL string below. */
	if (!json_object_object_get_ex(ev, "type", &type) ||
	    !json_object_is_type(type, json_type_string) ||
	    !json_object_object_get_ex(ev, "object", &object)) {
		rc = err_set(E_UNAVAILABLE, "watch: an event without type or object");
		goto done;
	}
	const char *t = json_object_get_string(type);
	if (strcmp(t, "ERROR") == 0) {
		struct json_object *code;
		long http = json_object_object_get_ex(object, "code", &code)
				? json_object_get_int(code)
				: 500;
		const char *s = body_of(object);
		rc = kube_status_error(http, s, strlen(s), "watch");
		if (http == 410)
			rc = E_GONE;
		goto done;
	}
	w->c->stats.watch_events++;
	rc = w->cb(t, object, w->ud);
done:
	json_object_put(ev);
	json_tokener_free(tk);
	return rc;
}

static int watch_data(const char *p, size_t n, void *ud)
{
	struct watch_state *w = ud;
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (buf_add(&w->line, p, take) < 0) {
			w->rc =
			    err_set(E_TOOBIG, "watch: an event larger than %zu bytes", w->line.max);
			return w->rc;
		}
		p += take;
		n -= take;
		if (nl) {
			p++;
			n--;
			if (w->line.len > 0) {
				int rc = watch_event(w, w->line.ptr, w->line.len);
				buf_reset(&w->line);
				if (rc) {
					w->rc = rc;
					return rc;
				}
			}
		}
	}
	return 0;
}

int kube_watch(struct kube_client *c, const struct kube_resource *r, const char *ns,
	       const char *label_selector, const char *field_selector, const char *resource_version,
	       int timeout_s, kube_watch_cb cb, void *ud, const atomic_int *cancel)
{
	struct watch_state w = {c, cb, ud, {0}, 0};
	buf_init(&w.line, 16u * 1024 * 1024);
	char *base = kube_path(r, ns, NULL, NULL);
	struct buf path;
	buf_init(&path, 64 * 1024);
	buf_addf(&path, "%s?watch=1&allowWatchBookmarks=true", base);
	add_query(&path, "resourceVersion", resource_version);
	add_query(&path, "labelSelector", label_selector);
	add_query(&path, "fieldSelector", field_selector);
	char t[16];
	snprintf(t, sizeof(t), "%d", timeout_s);
	add_query(&path, "timeoutSeconds", t);
	struct call call = {.method = "GET",
			    .verb = "watch",
			    .resource = r->plural,
			    .path = buf_str(&path),
			    .on_data = watch_data,
			    .ud = &w,
			    /* The server ends the stream at timeout_s; allow slack, then
			     * treat silence as a broken connection. */
			    .timeout_ms = (long)(timeout_s + 30) * 1000,
			    .no_retry = 1,
			    .cancel = cancel};
	int rc = perform(c, &call, NULL);
	if (rc == 0 && w.rc)
		rc = w.rc;
	buf_dispose(&w.line);
	buf_dispose(&path);
	free(base);
	return rc;
}

int kube_update_status_retry(struct kube_client *c, const struct kube_resource *r, const char *ns,
			     const char *name, kube_mutate_fn mutate, void *ud, int attempts,
			     struct json_object **out)
{
	int rc = 0;
	for (int i = 0; i < attempts; i++) {
		struct json_object *obj = NULL;
		if ((rc = kube_get(c, r, ns, name, &obj)))
			return rc;
		rc = mutate(obj, ud);
		if (rc == 1) {
			if (out)
				*out = obj;
			else
				json_object_put(obj);
			return 0;
		}
		if (rc < 0) { /* the mutation refused: no retry */
			json_object_put(obj);
			return rc;
		}
		if (rc == 0)
			rc = kube_update(c, r, ns, obj, 1, out);
		json_object_put(obj);
		if (rc != E_CONFLICT)
			return rc;
		log_debug("status of %s %s/%s changed under us; re-reading (attempt %d)", r->kind,
			  ns ? ns : "", name, i + 2);
	}
	return rc;
}
