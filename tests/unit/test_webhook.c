/* Tests for operator/webhook.c: a table of AdmissionReviews (CREATE with and
 * without annotations, forged ones, UPDATEs that keep, change, add or remove
 * the annotation, other operations and resources), each patch decoded and
 * applied to the object as the API server would; then hostile input (not
 * JSON, not UTF-8, too deep, too big, wrong types, missing uid), every
 * truncation and byte flip of a valid review, and the helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <openssl/evp.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "operator/webhook.h"

#define RESTORES                                                                                   \
	"{\"group\":\"lifeboat.dev\",\"version\":\"v1alpha1\",\"resource\":\"databaserestores\"}"
#define ALICE                                                                                      \
	"{\"username\":\"alice\",\"uid\":\"u-1\",\"groups\":[\"dba\",\"system:authenticated\"]}"
#define SPEC "\"spec\":{\"backupRef\":{\"name\":\"nightly\"},\"confirm\":\"app\"}"
#define OBJ(meta)                                                                                  \
	"{\"apiVersion\":\"lifeboat.dev/v1alpha1\",\"kind\":\"DatabaseRestore\"," meta "," SPEC "}"
#define META(ann) "\"metadata\":{\"name\":\"r1\",\"namespace\":\"prod\"" ann "}"
#define ANN(...) ",\"annotations\":{" __VA_ARGS__ "}"
#define FORGED "\"lifeboat.dev/requested-by\":\"mallory (groups: system:masters)\""

/* A review: each field a JSON fragment, or NULL to leave it out. */
struct review {
	const char *op, *resource, *sub, *user, *object, *old;
};

static char *review_json(const struct review *r)
{
	struct buf b;
	buf_init(&b, 1 << 24);
	buf_adds(&b, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
		     "\"request\":{\"uid\":\"705ab4f5-6393-11e8-b7cc-42010a800002\"");
	buf_adds(&b, ",\"kind\":{\"group\":\"lifeboat.dev\",\"version\":\"v1alpha1\","
		     "\"kind\":\"DatabaseRestore\"},\"namespace\":\"prod\",\"name\":\"r1\"");
	if (r->op)
		buf_addf(&b, ",\"operation\":\"%s\"", r->op);
	buf_addf(&b, ",\"resource\":%s", r->resource ? r->resource : RESTORES);
	if (r->sub)
		buf_addf(&b, ",\"subResource\":\"%s\"", r->sub);
	buf_addf(&b, ",\"userInfo\":%s", r->user ? r->user : ALICE);
	if (r->object)
		buf_addf(&b, ",\"object\":%s", r->object);
	if (r->old)
		buf_addf(&b, ",\"oldObject\":%s", r->old);
	buf_adds(&b, ",\"dryRun\":false}}");
	return buf_take(&b);
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

/* Applies a JSONPatch of "add" operations (all this webhook emits) to doc,
 * following RFC 6901 pointers with their ~1 and ~0 escapes. */
static void apply_patch(struct json_object *doc, struct json_object *ops)
{
	assert_true(json_object_is_type(ops, json_type_array));
	for (size_t i = 0; i < json_object_array_length(ops); i++) {
		struct json_object *op = json_object_array_get_idx(ops, i);
		assert_string_equal(json_object_get_string(member(op, "op")), "add");
		const char *path = json_object_get_string(member(op, "path"));
		assert_true(path[0] == '/');
		char *copy = xstrdup(path + 1), *save = NULL, *tok = strtok_r(copy, "/", &save);
		struct json_object *at = doc;
		while (tok) {
			char *next = strtok_r(NULL, "/", &save);
			/* unescape: ~1 then ~0 (RFC 6901 4) */
			char un[256];
			size_t n = 0;
			for (const char *p = tok; *p && n < sizeof(un) - 1; p++) {
				if (p[0] == '~' && p[1] == '1')
					un[n++] = '/', p++;
				else if (p[0] == '~' && p[1] == '0')
					un[n++] = '~', p++;
				else {
					assert_false(p[0] == '~'); /* a bad escape */
					un[n++] = *p;
				}
			}
			un[n] = '\0';
			if (!next) {
				struct json_object *v = NULL;
				json_object_deep_copy(member(op, "value"), &v, NULL);
				json_object_object_add(at, un, v);
			} else {
				at = member(at, un);
				if (!at || !json_object_is_type(at, json_type_object))
					fail_msg("patch path %s: the parent %s does not exist",
						 path, un);
			}
			tok = next;
		}
		free(copy);
	}
}

static struct json_object *decode_patch(const char *b64)
{
	size_t n = strlen(b64);
	unsigned char *raw = xmalloc(n + 1);
	int m = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
	assert_true(m >= 0);
	while (m > 0 && raw[m - 1] == '\0') /* EVP_DecodeBlock keeps the padding's zeros */
		m--;
	raw[m] = '\0';
	struct json_object *ops = json_tokener_parse((char *)raw);
	if (!ops)
		fail_msg("the patch is not JSON: %s", raw);
	free(raw);
	return ops;
}

struct reply {
	int rc;
	struct webhook_outcome out;
	struct json_object *review, *response;
};

static void run(struct reply *r, const char *body, size_t len)
{
	struct buf out;
	buf_init(&out, 1 << 24);
	buf_adds(&out, "PREFIX");
	memset(r, 0, sizeof(*r));
	memset(&r->out, 0x5a, sizeof(r->out)); /* untouched on failure */
	r->rc = webhook_review(&out, &r->out, body, len);
	if (r->rc == 0) {
		assert_memory_equal(out.ptr, "PREFIX", 6); /* appended, not replaced */
		r->review = json_tokener_parse(out.ptr + 6);
		assert_non_null(r->review);
		r->response = member(r->review, "response");
		assert_non_null(r->response);
	} else {
		assert_string_equal(buf_str(&out), "PREFIX"); /* nothing appended */
		const unsigned char *p = (const unsigned char *)&r->out;
		for (size_t i = 0; i < sizeof(r->out); i++)
			assert_int_equal(p[i], 0x5a);
		memset(&r->out, 0, sizeof(r->out));
	}
	buf_dispose(&out);
}

static void reply_dispose(struct reply *r)
{
	webhook_outcome_dispose(&r->out);
	json_object_put(r->review);
}

static void webhook_review__table(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		struct review in;
		enum webhook_verdict verdict;
		const char *want; /* the annotation after the patch; or in the refusal */
		const char *path; /* the patch's path */
		const char *kept; /* another annotation that must stay ("key=value") */
	} cases[] = {
	    {"CREATE without annotations: the whole map is added",
	     {"CREATE", NULL, NULL, NULL, OBJ(META("")), NULL},
	     WEBHOOK_PATCHED,
	     "alice (groups: dba, system:authenticated)",
	     "/metadata/annotations",
	     NULL},
	    {"CREATE with annotations: one member added, \"/\" escaped as ~1",
	     {"CREATE", NULL, NULL, NULL, OBJ(META(ANN("\"note\":\"keep me\""))), NULL},
	     WEBHOOK_PATCHED,
	     "alice (groups: dba, system:authenticated)",
	     "/metadata/annotations/lifeboat.dev~1requested-by",
	     "note=keep me"},
	    {"CREATE with an empty annotations map",
	     {"CREATE", NULL, NULL, NULL, OBJ(META(ANN())), NULL},
	     WEBHOOK_PATCHED,
	     "alice (groups: dba, system:authenticated)",
	     "/metadata/annotations/lifeboat.dev~1requested-by",
	     NULL},
	    {"CREATE with annotations: null is as absent",
	     {"CREATE", NULL, NULL, NULL, OBJ(META(",\"annotations\":null")), NULL},
	     WEBHOOK_PATCHED,
	     "alice (groups: dba, system:authenticated)",
	     "/metadata/annotations",
	     NULL},
	    {"CREATE with a forged annotation: overwritten, the others kept",
	     {"CREATE", NULL, NULL, NULL, OBJ(META(ANN(FORGED ",\"a/b~c\":\"x\""))), NULL},
	     WEBHOOK_PATCHED,
	     "alice (groups: dba, system:authenticated)",
	     "/metadata/annotations/lifeboat.dev~1requested-by",
	     "a/b~c=x"},
	    {"CREATE of an object without metadata: /metadata added",
	     {"CREATE", NULL, NULL, NULL, "{\"kind\":\"DatabaseRestore\"," SPEC "}", NULL},
	     WEBHOOK_PATCHED,
	     "alice (groups: dba, system:authenticated)",
	     "/metadata",
	     NULL},
	    {"CREATE by a user without groups: the username alone",
	     {"CREATE", NULL, NULL, "{\"username\":\"system:serviceaccount:ci:deployer\"}",
	      OBJ(META("")), NULL},
	     WEBHOOK_PATCHED,
	     "system:serviceaccount:ci:deployer",
	     "/metadata/annotations",
	     NULL},
	    {"CREATE by a user with an empty group list",
	     {"CREATE", NULL, NULL, "{\"username\":\"bob\",\"groups\":[]}", OBJ(META("")), NULL},
	     WEBHOOK_PATCHED,
	     "bob",
	     "/metadata/annotations",
	     NULL},
	    {"CREATE by a user whose name needs JSON escaping",
	     {"CREATE", NULL, NULL,
	      "{\"username\":\"\\u00e5sa \\\"q\\\" back\\\\slash/\\u2603\",\"groups\":[\"a b\"]}",
	      OBJ(META("")), NULL},
	     WEBHOOK_PATCHED,
	     "\xc3\xa5sa \"q\" back\\slash/\xe2\x98\x83 (groups: a b)",
	     "/metadata/annotations",
	     NULL},
	    {"CREATE with generateName (no name yet)",
	     {"CREATE", NULL, NULL, NULL,
	      OBJ("\"metadata\":{\"generateName\":\"r-\",\"namespace\":\"prod\"}"), NULL},
	     WEBHOOK_PATCHED,
	     "alice (groups: dba, system:authenticated)",
	     "/metadata/annotations",
	     NULL},
	    {"CREATE of another version of databaserestores",
	     {"CREATE",
	      "{\"group\":\"lifeboat.dev\",\"version\":\"v1\",\"resource\":\"databaserestores\"}",
	      NULL, NULL, OBJ(META("")), NULL},
	     WEBHOOK_PATCHED,
	     "alice (groups: dba, system:authenticated)",
	     "/metadata/annotations",
	     NULL},
	    {"UPDATE keeping the annotation: allowed",
	     {"UPDATE", NULL, NULL, NULL, OBJ(META(ANN(FORGED ",\"x\":\"2\""))),
	      OBJ(META(ANN(FORGED ",\"x\":\"1\"")))},
	     WEBHOOK_ALLOWED,
	     NULL,
	     NULL,
	     NULL},
	    {"UPDATE of an object that never had it, still without: allowed",
	     {"UPDATE", NULL, NULL, NULL, OBJ(META(ANN("\"x\":\"2\""))), OBJ(META(""))},
	     WEBHOOK_ALLOWED,
	     NULL,
	     NULL,
	     NULL},
	    {"UPDATE changing the annotation: refused",
	     {"UPDATE", NULL, NULL, NULL,
	      OBJ(META(ANN("\"lifeboat.dev/requested-by\":\"alice (groups: dba)\""))),
	      OBJ(META(ANN("\"lifeboat.dev/requested-by\":\"bob (groups: dev)\"")))},
	     WEBHOOK_DENIED,
	     "the annotation lifeboat.dev/requested-by records who created this DatabaseRestore "
	     "and cannot be changed: it is \"bob (groups: dev)\", the update sets \"alice "
	     "(groups: dba)\"; leave it as it is",
	     NULL,
	     NULL},
	    {"UPDATE removing the annotation: refused",
	     {"UPDATE", NULL, NULL, NULL, OBJ(META(ANN("\"x\":\"1\""))),
	      OBJ(META(ANN("\"lifeboat.dev/requested-by\":\"bob\"")))},
	     WEBHOOK_DENIED,
	     "cannot be changed: it is \"bob\", the update removes it; leave it as it is",
	     NULL,
	     NULL},
	    {"UPDATE removing every annotation: refused",
	     {"UPDATE", NULL, NULL, NULL, OBJ(META("")),
	      OBJ(META(ANN("\"lifeboat.dev/requested-by\":\"bob\"")))},
	     WEBHOOK_DENIED,
	     "the update removes it",
	     NULL,
	     NULL},
	    {"UPDATE adding the annotation to an object created without it: refused",
	     {"UPDATE", NULL, NULL, NULL, OBJ(META(ANN(FORGED))), OBJ(META(""))},
	     WEBHOOK_DENIED,
	     "cannot be changed: it is not set, the update sets \"mallory (groups: "
	     "system:masters)\"",
	     NULL,
	     NULL},
	    {"UPDATE to an empty value: refused",
	     {"UPDATE", NULL, NULL, NULL, OBJ(META(ANN("\"lifeboat.dev/requested-by\":\"\""))),
	      OBJ(META(ANN("\"lifeboat.dev/requested-by\":\"bob\"")))},
	     WEBHOOK_DENIED,
	     "the update sets \"\"",
	     NULL,
	     NULL},
	    {"UPDATE of the status subresource: not ours to judge",
	     {"UPDATE", NULL, "status", NULL, OBJ(META("")),
	      OBJ(META(ANN("\"lifeboat.dev/requested-by\":\"bob\"")))},
	     WEBHOOK_ALLOWED,
	     NULL,
	     NULL,
	     NULL},
	    {"UPDATE without userInfo still decides",
	     {"UPDATE", NULL, NULL, "{}", OBJ(META("")), OBJ(META(""))},
	     WEBHOOK_ALLOWED,
	     NULL,
	     NULL,
	     NULL},
	    {"DELETE: allowed without a patch",
	     {"DELETE", NULL, NULL, NULL, NULL, OBJ(META(ANN(FORGED)))},
	     WEBHOOK_ALLOWED,
	     NULL,
	     NULL,
	     NULL},
	    {"CONNECT: allowed without a patch",
	     {"CONNECT", NULL, NULL, NULL, "{}", NULL},
	     WEBHOOK_ALLOWED,
	     NULL,
	     NULL,
	     NULL},
	    {"CREATE of a DatabaseBackup: allowed without a patch",
	     {"CREATE",
	      "{\"group\":\"lifeboat.dev\",\"version\":\"v1alpha1\",\"resource\":"
	      "\"databasebackups\"}",
	      NULL, NULL, OBJ(META("")), NULL},
	     WEBHOOK_ALLOWED,
	     NULL,
	     NULL,
	     NULL},
	    {"CREATE of databaserestores of another group: allowed without a patch",
	     {"CREATE",
	      "{\"group\":\"example.com\",\"version\":\"v1\",\"resource\":\"databaserestores\"}",
	      NULL, NULL, OBJ(META("")), NULL},
	     WEBHOOK_ALLOWED,
	     NULL,
	     NULL,
	     NULL},
	    {"CREATE of a core ConfigMap (no group): allowed without a patch",
	     {"CREATE", "{\"version\":\"v1\",\"resource\":\"configmaps\"}", NULL, NULL,
	      "{\"metadata\":{}}", NULL},
	     WEBHOOK_ALLOWED,
	     NULL,
	     NULL,
	     NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *body = review_json(&cases[i].in);
		struct reply r;
		run(&r, body, strlen(body));
		if (r.rc)
			fail_msg("%s: rc %d: %s", cases[i].what, r.rc, err_msg());
		struct json_object *resp = r.response;
		assert_string_equal(json_object_get_string(member(r.review, "apiVersion")),
				    "admission.k8s.io/v1");
		assert_string_equal(json_object_get_string(member(r.review, "kind")),
				    "AdmissionReview");
		assert_string_equal(json_object_get_string(member(resp, "uid")),
				    "705ab4f5-6393-11e8-b7cc-42010a800002");
		assert_string_equal(r.out.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
		assert_true(json_object_is_type(member(resp, "allowed"), json_type_boolean));
		if (r.out.verdict != cases[i].verdict)
			fail_msg("%s: verdict %d, wanted %d", cases[i].what, r.out.verdict,
				 cases[i].verdict);
		assert_int_equal(json_object_get_boolean(member(resp, "allowed")),
				 cases[i].verdict != WEBHOOK_DENIED);
		assert_string_equal(r.out.operation, cases[i].in.op);
		if (cases[i].verdict == WEBHOOK_PATCHED) {
			assert_string_equal(json_object_get_string(member(resp, "patchType")),
					    "JSONPatch");
			assert_null(member(resp, "status"));
			struct json_object *ops =
			    decode_patch(json_object_get_string(member(resp, "patch")));
			assert_int_equal(json_object_array_length(ops), 1);
			const char *path = json_object_get_string(
			    member(json_object_array_get_idx(ops, 0), "path"));
			if (strcmp(path, cases[i].path))
				fail_msg("%s: patch path %s, wanted %s", cases[i].what, path,
					 cases[i].path);
			struct json_object *obj = json_tokener_parse(cases[i].in.object);
			apply_patch(obj, ops);
			struct json_object *ann = member(member(obj, "metadata"), "annotations");
			const char *got = json_object_get_string(member(ann, WEBHOOK_ANNOTATION));
			if (!got || strcmp(got, cases[i].want))
				fail_msg(
				    "%s: after the patch the annotation is \"%s\", wanted \"%s\"",
				    cases[i].what, got ? got : "(none)", cases[i].want);
			assert_string_equal(r.out.value, cases[i].want);
			if (cases[i].kept) {
				char key[64];
				const char *eq = strchr(cases[i].kept, '=');
				snprintf(key, sizeof(key), "%.*s", (int)(eq - cases[i].kept),
					 cases[i].kept);
				assert_string_equal(json_object_get_string(member(ann, key)),
						    eq + 1);
			}
			/* The spec is untouched. */
			assert_string_equal(
			    json_object_get_string(member(member(obj, "spec"), "confirm")), "app");
			json_object_put(obj);
			json_object_put(ops);
		} else {
			assert_null(member(resp, "patch"));
			assert_null(member(resp, "patchType"));
		}
		if (cases[i].verdict == WEBHOOK_DENIED) {
			struct json_object *st = member(resp, "status");
			assert_int_equal(json_object_get_int(member(st, "code")), 403);
			assert_string_equal(json_object_get_string(member(st, "reason")),
					    "Forbidden");
			const char *msg = json_object_get_string(member(st, "message"));
			if (!msg || !strstr(msg, cases[i].want) || !strstr(msg, WEBHOOK_ANNOTATION))
				fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].what,
					 msg ? msg : "(none)", cases[i].want);
		} else if (cases[i].verdict == WEBHOOK_ALLOWED) {
			assert_null(member(resp, "status"));
			assert_string_equal(r.out.value, "");
		}
		reply_dispose(&r);
		free(body);
	}
}

/* The outcome names what the server logs. */
static void webhook_review__outcome(void **state)
{
	(void)state;
	struct review in = {"CREATE", NULL, NULL, NULL, OBJ(META(ANN(FORGED))), NULL};
	char *body = review_json(&in);
	struct reply r;
	run(&r, body, strlen(body));
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.out.verdict, WEBHOOK_PATCHED);
	assert_string_equal(r.out.namespace_, "prod");
	assert_string_equal(r.out.name, "r1");
	assert_string_equal(r.out.username, "alice");
	assert_string_equal(r.out.value, "alice (groups: dba, system:authenticated)");
	reply_dispose(&r);
	free(body);
	/* Disposing twice and disposing NULL are harmless. */
	webhook_outcome_dispose(&r.out);
	webhook_outcome_dispose(NULL);
}

/* Hostile and malformed reviews: E_INVALID (or E_TOOBIG) naming the field. */
static void webhook_review__malformed(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		const char *msg;
	} cases[] = {
	    {"", "not JSON"},
	    {"   ", "not JSON"},
	    {"{", "not JSON"},
	    {"null", "not an object"},
	    {"[]", "a JSON array, not an object"},
	    {"42", "not an object"},
	    {"\"AdmissionReview\"", "not an object"},
	    {"{'apiVersion': 'admission.k8s.io/v1'}", "not JSON"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",}", "not JSON"},
	    {"{\"kind\":\"AdmissionReview\",\"request\":{}}", "review.apiVersion: missing"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\"}",
	     "admissionReviewVersions: [v1]"},
	    {"{\"apiVersion\":1,\"kind\":\"AdmissionReview\"}",
	     "review.apiVersion: a int, not a string"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Status\"}", "not AdmissionReview"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
	     "request: missing"},
	    {"{\"apiVersion\":\"admission.k8s.io/"
	     "v1\",\"kind\":\"AdmissionReview\",\"request\":null}",
	     "request: missing"},
	    {"{\"apiVersion\":\"admission.k8s.io/"
	     "v1\",\"kind\":\"AdmissionReview\",\"request\":\"x\"}",
	     "review.request: a string, not an object"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
	     "request.uid: missing"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":42}}",
	     "request.uid: a int, not a string"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"\"}}",
	     "request.uid: empty"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"u\"}}",
	     "request.operation: missing"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"u\",\"operation\":[\"CREATE\"]}}",
	     "request.operation: a array"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"u\",\"operation\":\"CREATE\"}}",
	     "request.resource: missing"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"u\",\"operation\":\"CREATE\",\"resource\":{\"group\":\"lifeboat.dev\"}}}",
	     "request.resource.resource: missing"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"u\",\"operation\":\"CREATE\",\"resource\":\"databaserestores\"}}",
	     "request.resource: a string, not an object"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"u\",\"operation\":\"CREATE\",\"resource\":" RESTORES ",\"namespace\":7}}",
	     "request.namespace: a int"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"u\",\"operation\":\"CREATE\",\"resource\":" RESTORES "}}",
	     "request.object: missing on CREATE"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"u\",\"operation\":\"CREATE\",\"resource\":" RESTORES ",\"object\":[]}}",
	     "request.object: a array, not an object"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"u\",\"operation\":\"CREATE\",\"resource\":" RESTORES ",\"object\":{}}}",
	     "request.userInfo: missing"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"u\",\"operation\":\"UPDATE\",\"resource\":" RESTORES ",\"object\":{}}}",
	     "request.oldObject: missing on UPDATE"},
	    {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
	     "{\"uid\":\"u\",\"operation\":\"UPDATE\",\"resource\":" RESTORES ",\"oldObject\":{}}}",
	     "request.object: missing on UPDATE"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reply r;
		run(&r, cases[i].body, strlen(cases[i].body));
		if (r.rc != E_INVALID || !strstr(err_msg(), cases[i].msg))
			fail_msg("%s: rc %d \"%s\", wanted E_INVALID with \"%s\"", cases[i].body,
				 r.rc, r.rc ? err_msg() : "", cases[i].msg);
		reply_dispose(&r);
	}

	/* Wrong types inside userInfo and the objects, in an otherwise good review. */
	static const struct {
		struct review in;
		const char *msg;
	} typed[] = {
	    {{"CREATE", NULL, NULL, "\"alice\"", OBJ(META("")), NULL},
	     "request.userInfo: a string, not an object"},
	    {{"CREATE", NULL, NULL, "{\"groups\":[]}", OBJ(META("")), NULL},
	     "request.userInfo.username: missing"},
	    {{"CREATE", NULL, NULL, "{\"username\":\"\"}", OBJ(META("")), NULL},
	     "request.userInfo.username: empty"},
	    {{"CREATE", NULL, NULL, "{\"username\":[\"alice\"]}", OBJ(META("")), NULL},
	     "request.userInfo.username: a array"},
	    {{"CREATE", NULL, NULL, "{\"username\":\"a\",\"groups\":\"dba\"}", OBJ(META("")), NULL},
	     "request.userInfo.groups: a string, not an array"},
	    {{"CREATE", NULL, NULL, "{\"username\":\"a\",\"groups\":[\"x\",1]}", OBJ(META("")),
	      NULL},
	     "request.userInfo.groups[1]: a int, not a string"},
	    {{"CREATE", NULL, NULL, "{\"username\":\"a\",\"groups\":[null]}", OBJ(META("")), NULL},
	     "request.userInfo.groups[0]: a null, not a string"},
	    {{"CREATE", NULL, NULL, NULL, OBJ("\"metadata\":\"x\""), NULL},
	     "request.object.metadata: a string, not an object"},
	    {{"CREATE", NULL, NULL, NULL, OBJ(META(",\"annotations\":[]")), NULL},
	     "request.object.metadata.annotations: a array, not an object"},
	    {{"CREATE", NULL, "", NULL, OBJ("\"metadata\":{\"generateName\":5}"), NULL},
	     NULL /* generateName is only read for the log: allowed */},
	    {{"UPDATE", NULL, NULL, NULL, OBJ(META(ANN("\"lifeboat.dev/requested-by\":5"))),
	      OBJ(META(""))},
	     "request.object.metadata.annotations.lifeboat.dev/requested-by: a int, not a string"},
	    {{"UPDATE", NULL, NULL, NULL, OBJ(META("")), OBJ(META(",\"annotations\":\"a\""))},
	     "request.oldObject.metadata.annotations: a string, not an object"},
	    {{"UPDATE", NULL, NULL, NULL, "7", OBJ(META(""))},
	     "request.object: a int, not an object"},
	    {{"CREATE", "{\"group\":1,\"resource\":\"databaserestores\"}", NULL, NULL,
	      OBJ(META("")), NULL},
	     "request.resource.group: a int"},
	};
	for (size_t i = 0; i < sizeof(typed) / sizeof(typed[0]); i++) {
		char *body = review_json(&typed[i].in);
		struct reply r;
		run(&r, body, strlen(body));
		if (!typed[i].msg) {
			if (r.rc)
				fail_msg("case %zu: rc %d: %s", i, r.rc, err_msg());
		} else if (r.rc != E_INVALID || !strstr(err_msg(), typed[i].msg)) {
			fail_msg("case %zu: rc %d \"%s\", wanted E_INVALID with \"%s\"", i, r.rc,
				 r.rc ? err_msg() : "", typed[i].msg);
		}
		reply_dispose(&r);
		free(body);
	}
}

static char *valid_review(void)
{
	struct review in = {"CREATE", NULL, NULL, NULL, OBJ(META(ANN(FORGED))), NULL};
	return review_json(&in);
}

/* Bytes that are not UTF-8, and NULs, anywhere in a string. */
static void webhook_review__not_utf8(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "\xff",	"\xfe\xff",	"\xc3",		 "\xc3\x28",
	    "\xe2\x82", "\xf0\x9f\x98", "\xed\xa0\x80x", "\xf8\x88\x80\x80\x80",
	    "a\x80z",	"\xc0\xaf",	"\xe0\x80\xaf",	 "\xf4\x90\x80\x80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char user[128];
		snprintf(user, sizeof(user), "{\"username\":\"al%sice\",\"groups\":[\"g\"]}",
			 bad[i]);
		struct review in = {"CREATE", NULL, NULL, user, OBJ(META("")), NULL};
		char *body = review_json(&in);
		struct reply r;
		run(&r, body, strlen(body));
		if (r.rc != E_INVALID || !strstr(err_msg(), "not JSON"))
			fail_msg("username with bytes %zu: rc %d %s", i, r.rc,
				 r.rc ? err_msg() : "");
		reply_dispose(&r);
		free(body);
	}
	/* A raw NUL inside the body, in a string and after the value. */
	char *body = valid_review();
	size_t n = strlen(body);
	char *p = strstr(body, "alice");
	assert_non_null(p);
	struct reply r;
	char saved = p[2];
	p[2] = '\0';
	run(&r, body, n);
	assert_int_equal(r.rc, E_INVALID);
	reply_dispose(&r);
	p[2] = saved;
	char *withnul = xmalloc(n + 2);
	memcpy(withnul, body, n);
	withnul[n] = '\0';
	withnul[n + 1] = ' ';
	run(&r, withnul, n + 2);
	assert_int_equal(r.rc, E_INVALID);
	reply_dispose(&r);
	/* Escaped NUL ("\u0000") is valid JSON: the review is decided; the
	 * value keeps what json-c can hold (it stops at the NUL). */
	free(withnul);
	free(body);
}

static void webhook_review__trailing(void **state)
{
	(void)state;
	char *body = valid_review();
	char *t = xasprintf("%s \r\n\t", body);
	struct reply r;
	run(&r, t, strlen(t));
	assert_int_equal(r.rc, 0); /* whitespace after the value is fine */
	reply_dispose(&r);
	free(t);
	static const char *const tails[] = {"x", "{}", "]", ",", " 1", "\x01"};
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		t = xasprintf("%s%s", body, tails[i]);
		run(&r, t, strlen(t));
		if (r.rc != E_INVALID || !strstr(err_msg(), "not JSON"))
			fail_msg("tail \"%s\": rc %d", tails[i], r.rc);
		reply_dispose(&r);
		free(t);
	}
	/* Two reviews in one body are not one review. */
	t = xasprintf("%s%s", body, body);
	run(&r, t, strlen(t));
	assert_int_equal(r.rc, E_INVALID);
	reply_dispose(&r);
	free(t);
	free(body);
}

static void webhook_review__too_deep(void **state)
{
	(void)state;
	struct buf deep;
	buf_init(&deep, 1 << 20);
	buf_adds(&deep, "{\"metadata\":{\"name\":\"r\"},\"spec\":");
	for (int i = 0; i < 100; i++)
		buf_adds(&deep, "{\"a\":");
	buf_adds(&deep, "1");
	for (int i = 0; i < 100; i++)
		buf_adds(&deep, "}");
	buf_adds(&deep, "}");
	struct review in = {"CREATE", NULL, NULL, NULL, buf_str(&deep), NULL};
	char *body = review_json(&in);
	struct reply r;
	run(&r, body, strlen(body));
	if (r.rc != E_INVALID || !strstr(err_msg(), "not JSON"))
		fail_msg("100 levels: rc %d", r.rc);
	reply_dispose(&r);
	free(body);
	buf_dispose(&deep);
	/* A million open brackets: refused at the depth limit, no recursion. */
	size_t n = 1000000;
	char *brackets = xmalloc(n);
	memset(brackets, '[', n);
	run(&r, brackets, n);
	assert_int_equal(r.rc, E_INVALID);
	reply_dispose(&r);
	free(brackets);
	/* 40 levels (as deep as a real object's managedFields go) is fine. */
	buf_init(&deep, 1 << 20);
	buf_adds(&deep, "{\"metadata\":{\"name\":\"r\"},\"spec\":");
	for (int i = 0; i < 40; i++)
		buf_adds(&deep, "{\"a\":");
	buf_adds(&deep, "1");
	for (int i = 0; i < 40; i++)
		buf_adds(&deep, "}");
	buf_adds(&deep, "}");
	in.object = buf_str(&deep);
	body = review_json(&in);
	run(&r, body, strlen(body));
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.out.verdict, WEBHOOK_PATCHED);
	reply_dispose(&r);
	free(body);
	buf_dispose(&deep);
}

static void webhook_review__size(void **state)
{
	(void)state;
	/* Just under the limit: a big annotation, decided as usual. */
	struct review in = {"CREATE", NULL, NULL, NULL, NULL, NULL};
	char *empty = NULL;
	in.object = OBJ(META(ANN("\"big\":\"\"")));
	empty = review_json(&in);
	size_t room = WEBHOOK_BODY_MAX - strlen(empty);
	free(empty);
	char *pad = xmalloc(room + 1);
	memset(pad, 'x', room);
	pad[room] = '\0';
	char *obj = xasprintf(
	    "{\"metadata\":{\"name\":\"r1\",\"annotations\":{\"big\":\"%s\"}}," SPEC "}", pad);
	/* OBJ() adds apiVersion and kind: leave those out to hit the size. */
	in.object = obj;
	char *body = review_json(&in);
	size_t len = strlen(body);
	assert_true(len <= WEBHOOK_BODY_MAX);
	struct reply r;
	run(&r, body, len);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.out.verdict, WEBHOOK_PATCHED);
	reply_dispose(&r);
	free(body);
	free(obj);
	free(pad);

	/* One byte over: E_TOOBIG before parsing (whatever the bytes). */
	char *big = xmalloc(WEBHOOK_BODY_MAX + 1);
	memset(big, ' ', WEBHOOK_BODY_MAX + 1);
	run(&r, big, WEBHOOK_BODY_MAX + 1);
	if (r.rc != E_TOOBIG || !strstr(err_msg(), "1048577 bytes"))
		fail_msg("over the limit: rc %d %s", r.rc, err_msg());
	reply_dispose(&r);
	free(big);

	/* An out buffer too small for the response: E_TOOBIG, nothing appended. */
	body = valid_review();
	struct buf out;
	buf_init(&out, 64);
	struct webhook_outcome o = {0};
	assert_int_equal(webhook_review(&out, &o, body, strlen(body)), E_TOOBIG);
	assert_int_equal(out.len, 0);
	buf_dispose(&out);
	free(body);
}

/* Many groups: the value stays within WEBHOOK_VALUE_MAX, whole groups only,
 * and says how many were left out. */
static void webhook_review__many_groups(void **state)
{
	(void)state;
	struct buf user;
	buf_init(&user, 1 << 20);
	buf_adds(&user, "{\"username\":\"carol\",\"groups\":[");
	for (int i = 0; i < 1000; i++)
		buf_addf(&user, "%s\"directory-group-%04d\"", i ? "," : "", i);
	buf_adds(&user, "]}");
	struct review in = {"CREATE", NULL, NULL, buf_str(&user), OBJ(META("")), NULL};
	char *body = review_json(&in);
	struct reply r;
	run(&r, body, strlen(body));
	assert_int_equal(r.rc, 0);
	const char *v = r.out.value;
	assert_true(strlen(v) <= WEBHOOK_VALUE_MAX);
	assert_true(strncmp(v, "carol (groups: directory-group-0000, directory-group-0001, ", 58) ==
		    0);
	const char *more = strstr(v, ", ... and ");
	assert_non_null(more);
	int shown = 0;
	for (const char *p = v; (p = strstr(p, "directory-group-")); p++)
		shown++;
	char want[64];
	snprintf(want, sizeof(want), ", ... and %d more)", 1000 - shown);
	assert_string_equal(more, want);
	assert_true(shown > 100);
	reply_dispose(&r);
	free(body);
	buf_dispose(&user);
}

/* Every truncation of a valid review is refused; every single-byte change
 * is either decided or refused, never a crash (ASan, UBSan). */
static void webhook_review__truncations_and_flips(void **state)
{
	(void)state;
	char *body = valid_review();
	size_t n = strlen(body);
	struct reply r;
	for (size_t cut = 0; cut < n; cut++) {
		run(&r, body, cut);
		if (r.rc != E_INVALID)
			fail_msg("cut at %zu: rc %d", cut, r.rc);
		reply_dispose(&r);
	}
	static const unsigned char with[] = {0x00, 0xff, '"', '{', '}', '\\', '0', ' '};
	char *copy = xmalloc(n);
	for (size_t at = 0; at < n; at++) {
		for (size_t k = 0; k < sizeof(with); k++) {
			memcpy(copy, body, n);
			copy[at] = (char)with[k];
			run(&r, copy, n);
			if (r.rc != 0 && r.rc != E_INVALID)
				fail_msg("byte %zu = 0x%02x: rc %d", at, with[k], r.rc);
			reply_dispose(&r);
		}
	}
	free(copy);
	free(body);
}

static void webhook_requested_by__format(void **state)
{
	(void)state;
	static const char *const two[] = {"g1", "g2"};
	static const char *const one[] = {"system:authenticated"};
	static const struct {
		const char *user;
		const char *const *groups;
		size_t n;
		const char *want;
	} cases[] = {
	    {"alice", two, 2, "alice (groups: g1, g2)"},
	    {"bob", one, 1, "bob (groups: system:authenticated)"},
	    {"carol", NULL, 0, "carol"},
	    {"system:serviceaccount:ns:sa", two, 0, "system:serviceaccount:ns:sa"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		buf_init(&b, 1024);
		assert_int_equal(
		    webhook_requested_by(&b, cases[i].user, cases[i].groups, cases[i].n), 0);
		assert_string_equal(buf_str(&b), cases[i].want);
		buf_dispose(&b);
	}
	/* One group longer than the whole budget: counted, not shown. */
	char *huge = xmalloc(WEBHOOK_VALUE_MAX * 2);
	memset(huge, 'g', WEBHOOK_VALUE_MAX * 2 - 1);
	huge[WEBHOOK_VALUE_MAX * 2 - 1] = '\0';
	const char *g[] = {huge, "small"};
	struct buf b;
	buf_init(&b, 1 << 16);
	assert_int_equal(webhook_requested_by(&b, "dave", g, 2), 0);
	assert_string_equal(buf_str(&b), "dave (groups: 2 more)");
	buf_dispose(&b);
	/* A cap too small leaves out unchanged. */
	buf_init(&b, 8);
	buf_adds(&b, "ab");
	assert_int_equal(webhook_requested_by(&b, "alice", two, 2), E_TOOBIG);
	assert_string_equal(buf_str(&b), "ab");
	buf_dispose(&b);
	free(huge);
}

static void webhook_pointer_escape__rfc6901(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"lifeboat.dev/requested-by", "lifeboat.dev~1requested-by"},
	    {"a~b", "a~0b"},
	    {"~1", "~01"}, /* ~ first, so "~1" does not turn into "/" on the way back */
	    {"/~/", "~1~0~1"},
	    {"", ""},
	    {"plain", "plain"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		buf_init(&b, 64);
		assert_int_equal(webhook_pointer_escape(&b, cases[i].in), 0);
		assert_string_equal(buf_str(&b), cases[i].want);
		buf_dispose(&b);
	}
	struct buf b;
	buf_init(&b, 4);
	buf_adds(&b, "x");
	assert_int_equal(webhook_pointer_escape(&b, "a/b/c"), E_TOOBIG);
	assert_string_equal(buf_str(&b), "x");
	buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(webhook_review__table),
	    cmocka_unit_test(webhook_review__outcome),
	    cmocka_unit_test(webhook_review__malformed),
	    cmocka_unit_test(webhook_review__not_utf8),
	    cmocka_unit_test(webhook_review__trailing),
	    cmocka_unit_test(webhook_review__too_deep),
	    cmocka_unit_test(webhook_review__size),
	    cmocka_unit_test(webhook_review__many_groups),
	    cmocka_unit_test(webhook_review__truncations_and_flips),
	    cmocka_unit_test(webhook_requested_by__format),
	    cmocka_unit_test(webhook_pointer_escape__rfc6901),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
