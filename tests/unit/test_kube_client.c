/* Unit tests for the pure parts of the Kubernetes client: Status decoding
 * (operator/kube/status.c) and resource paths (kube_path). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "operator/kube/client.h"
#include "operator/kube/status.h"

static int decode(long http, const char *body)
{
	return kube_status_error(http, body, body ? strlen(body) : 0, "GET /x");
}

static void status__maps_http_codes_and_reasons(void **state)
{
	(void)state;
	static const struct {
		long http;
		const char *reason;
		int code;
	} cases[] = {
	    {400, "BadRequest", E_INVALID},
	    {401, "Unauthorized", E_FORBIDDEN},
	    {403, "Forbidden", E_FORBIDDEN},
	    {404, "NotFound", E_NOTFOUND},
	    {409, "AlreadyExists", E_EXISTS},
	    {409, "Conflict", E_CONFLICT},
	    {410, "Expired", E_GONE},
	    {422, "Invalid", E_INVALID},
	    {429, "TooManyRequests", E_UNAVAILABLE},
	    {500, "InternalError", E_UNAVAILABLE},
	    {503, "ServiceUnavailable", E_UNAVAILABLE},
	    {418, "Teapot", E_IO},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[256];
		snprintf(body, sizeof(body),
			 "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
			 "\"reason\":\"%s\",\"message\":\"msg %zu\",\"code\":%ld}",
			 cases[i].reason, i, cases[i].http);
		assert_int_equal(decode(cases[i].http, body), cases[i].code);
		assert_int_equal(err_code(), cases[i].code);
		assert_non_null(strstr(err_msg(), cases[i].reason));
		char want[16];
		snprintf(want, sizeof(want), "msg %zu", i);
		assert_non_null(strstr(err_msg(), want));
		assert_non_null(strstr(err_msg(), "GET /x"));
	}
}

static void status__lists_field_causes(void **state)
{
	(void)state;
	const char *body =
	    "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"message\":\"DatabaseBackup \\\"x\\\" is "
	    "invalid\",\"code\":422,\"details\":{\"causes\":[{\"reason\":"
	    "\"FieldValueNotSupported\","
	    "\"message\":\"Unsupported value: \\\"zip\\\"\",\"field\":\"spec.format\"},{\"reason\":"
	    "\"FieldValueRequired\",\"message\":\"Required value\",\"field\":\"spec.storage\"}]}}";
	assert_int_equal(decode(422, body), E_INVALID);
	assert_non_null(strstr(err_msg(), "spec.format: Unsupported value: \"zip\""));
	assert_non_null(strstr(err_msg(), "spec.storage: Required value"));
}

static void status__survives_non_status_bodies(void **state)
{
	(void)state;
	static const char *const bodies[] = {NULL,
					     "",
					     "not json",
					     "{\"kind\":\"Pod\"}",
					     "[1,2]",
					     "{\"kind\":\"Status\",\"details\":{\"causes\":7}}",
					     "{\"kind\":\"Status\",\"reason\":5,\"message\":[]}",
					     "<html>502 Bad Gateway</html>"};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(decode(502, bodies[i]), E_UNAVAILABLE);
		assert_non_null(strstr(err_msg(), "HTTP 502"));
	}
	/* A raw body is quoted, shortened. */
	decode(502, "<html>502 Bad Gateway</html>");
	assert_non_null(strstr(err_msg(), "Bad Gateway"));
}

/* A raw body is read up to len and no further: it need not be
 * NUL-terminated (found by tests/fuzz, target kube_api). */
static void status__reads_a_raw_body_only_up_to_its_length(void **state)
{
	(void)state;
	static const char body[] = "<html>502</html>NOT-PART-OF-THE-BODY";
	assert_int_equal(kube_status_error(502, body, 16, "GET /x"), E_UNAVAILABLE);
	assert_non_null(strstr(err_msg(), ": <html>502</html>"));
	assert_null(strstr(err_msg(), "NOT-PART"));
}

static void kube_path__core_group_and_namespaced(void **state)
{
	(void)state;
	static const struct kube_resource backups = {"lifeboat.dev", "v1alpha1", "databasebackups",
						     "DatabaseBackup", 1};
	static const struct {
		const struct kube_resource *r;
		const char *ns, *name, *sub, *want;
	} cases[] = {
	    {&KUBE_PODS, "ns", NULL, NULL, "/api/v1/namespaces/ns/pods"},
	    {&KUBE_PODS, NULL, NULL, NULL, "/api/v1/pods"},
	    {&KUBE_NAMESPACES, "ignored", "prod", NULL, "/api/v1/namespaces/prod"},
	    {&KUBE_JOBS, "a", "j", NULL, "/apis/batch/v1/namespaces/a/jobs/j"},
	    {&backups, "a", "b", "status",
	     "/apis/lifeboat.dev/v1alpha1/namespaces/a/databasebackups/b/status"},
	    {&KUBE_CRDS, NULL, "x.lifeboat.dev", NULL,
	     "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.lifeboat.dev"},
	    {&KUBE_LEASES, "kube-system", NULL, "status",
	     "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = kube_path(cases[i].r, cases[i].ns, cases[i].name, cases[i].sub);
		assert_string_equal(p, cases[i].want);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status__maps_http_codes_and_reasons),
	    cmocka_unit_test(status__lists_field_causes),
	    cmocka_unit_test(status__survives_non_status_bodies),
	    cmocka_unit_test(status__reads_a_raw_body_only_up_to_its_length),
	    cmocka_unit_test(kube_path__core_group_and_namespaced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
