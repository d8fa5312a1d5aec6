/* Tests for operator/serve.c: the router's table, address parsing, and the
 * real server on 127.0.0.1 (port 0) spoken to over HTTP with libcurl. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "operator/metrics.h"
#include "operator/serve.h"

#define V(...) ((const char *const[]){__VA_ARGS__})

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void serve_parse_addr__table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		const char *host;
		int port;
	} cases[] = {
	    {"127.0.0.1:8081", 0, "127.0.0.1", 8081},
	    {":8080", 0, "", 8080},
	    {"0.0.0.0:0", 0, "0.0.0.0", 0},
	    {"[::1]:9090", E_UNSUPPORTED, NULL, 0},
	    {"127.0.0.1:65535", 0, "127.0.0.1", 65535},
	    {NULL, 1, NULL, 0},
	    {"", 1, NULL, 0},
	    {"0", 1, NULL, 0},
	    {"8080", E_INVALID, NULL, 0},
	    {"localhost:8080", E_INVALID, NULL, 0},
	    {"127.0.0.1:", E_INVALID, NULL, 0},
	    {"127.0.0.1:65536", E_INVALID, NULL, 0},
	    {"127.0.0.1:99999999999999999999", E_INVALID, NULL, 0},
	    {"127.0.0.1:80a", E_INVALID, NULL, 0},
	    {"127.0.0.1:-1", E_INVALID, NULL, 0},
	    {"::1:8080", E_INVALID, NULL, 0},
	    {"[::1]8080", E_UNSUPPORTED, NULL, 0},
	    {"300.1.1.1:80", E_INVALID, NULL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[64] = "untouched";
		int port = -7;
		int rc = serve_parse_addr(cases[i].in, host, sizeof(host), &port);
		if (rc != cases[i].rc)
			fail_msg("\"%s\": rc %d, wanted %d (%s)",
				 cases[i].in ? cases[i].in : "(null)", rc, cases[i].rc, err_msg());
		if (rc == 0) {
			assert_string_equal(host, cases[i].host);
			assert_int_equal(port, cases[i].port);
		} else if (rc < 0) {
			assert_non_null(strstr(err_msg(), cases[i].in));
			assert_int_equal(port, -7);
		}
	}
}

/* The router over every path, method and probe state that matters. */
static void serve_route__table(void **state)
{
	(void)state;
	struct metrics *m = NULL;
	assert_int_equal(metrics_new(&m, metrics_operator_families, METRICS_OPERATOR_FAMILIES,
				     &(struct metrics_options){.no_process = 1}),
			 0);
	const unsigned ALL = SERVE_ROUTE_PROBES | SERVE_ROUTE_METRICS;
	static const struct serve_probe fresh = {10000, 9000, 30000, 1, 0},
					stale = {100000, 9000, 30000, 1, 0},
					edge = {39000, 9000, 30000, 1, 0},
					unsynced = {10000, 9000, 30000, 0, 0},
					stopping = {10000, 9000, 30000, 1, 1},
					stopping_unsynced = {10000, 9000, 30000, 0, 1};
	static const struct {
		const char *method, *path;
		unsigned routes;
		const struct serve_probe *probe;
		int status;
		const char *body; /* prefix */
	} cases[] = {
	    {"GET", "/healthz", 1, &fresh, 200, "ok"},
	    {"GET", "/healthz", 1, &edge, 200, "ok"},
	    {"GET", "/healthz", 1, &stale, 500,
	     "heartbeat stale: the main loop last reported 91.0 s ago (limit 30.0 s)"},
	    {"GET", "/healthz", 1, &unsynced, 200, "ok"}, /* liveness ignores the caches */
	    {"GET", "/readyz", 1, &fresh, 200, "ok"},
	    {"GET", "/readyz", 1, &unsynced, 503, "caches not synced"},
	    {"GET", "/readyz", 1, &stopping, 503, "shutting down"},
	    {"GET", "/readyz", 1, &stopping_unsynced, 503, "shutting down"},
	    {"GET", "/metrics", 2, &fresh, 200, "# HELP "},
	    {"GET", "/metrics", ALL, &fresh, 200, "# HELP "},
	    {"GET", "/metrics", 1, &fresh, 404, "not found"}, /* probes-only listener */
	    {"GET", "/healthz", 2, &fresh, 404, "not found"}, /* metrics-only listener */
	    {"GET", "/", ALL, &fresh, 404, "not found"},
	    {"GET", "/healthz/", ALL, &fresh, 404, "not found"},
	    {"GET", "/metricsx", ALL, &fresh, 404, "not found"},
	    {"GET", NULL, ALL, &fresh, 404, "not found"},
	    {"POST", "/healthz", ALL, &fresh, 405, "method not allowed"},
	    {"PUT", "/readyz", ALL, &fresh, 405, "method not allowed"},
	    {"DELETE", "/metrics", ALL, &fresh, 405, "method not allowed"},
	    {"HEAD", "/metrics", ALL, &fresh, 405, "method not allowed"},
	    {"POST", "/nothing", ALL, &fresh, 404, "not found"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct serve_reply r;
		memset(&r, 0, sizeof(r));
		buf_init(&r.body, 1 << 20);
		serve_route(cases[i].method, cases[i].path, cases[i].routes, cases[i].probe, m, &r);
		if (r.status != cases[i].status ||
		    strncmp(buf_str(&r.body), cases[i].body, strlen(cases[i].body)))
			fail_msg("case %zu (%s %s): %d \"%s\"", i, cases[i].method,
				 cases[i].path ? cases[i].path : "(null)", r.status,
				 buf_str(&r.body));
		if (r.status == 405)
			assert_string_equal(r.allow, "GET");
		else
			assert_null(r.allow);
		if (cases[i].path && !strcmp(cases[i].path, "/metrics") && r.status == 200)
			assert_string_equal(r.content_type,
					    "text/plain; version=0.0.4; charset=utf-8");
		else
			assert_string_equal(r.content_type, "text/plain; charset=utf-8");
		buf_dispose(&r.body);
	}
	/* Without a registry /metrics does not exist. */
	struct serve_reply r;
	memset(&r, 0, sizeof(r));
	buf_init(&r.body, 1 << 20);
	serve_route("GET", "/metrics", ALL, &fresh, NULL, &r);
	assert_int_equal(r.status, 404);
	buf_dispose(&r.body);
	metrics_free(m);
}

/* --- against the real server --- */

struct got {
	long status;
	char *body;
	char *ctype, *allow;
};

static void got_free(struct got *g)
{
	free(g->body);
	free(g->ctype);
	free(g->allow);
}

static int request(struct http_client *h, const char *method, int port, const char *path,
		   const char *body, struct got *g)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	struct http_response resp;
	http_response_init(&resp);
	struct http_request req = {.method = method,
				   .url = url,
				   .body = body,
				   .body_len = body ? strlen(body) : 0,
				   .timeout_ms = 5000,
				   .connect_timeout_ms = 2000};
	int rc = http_do(h, &req, &resp);
	/* Filled either way (an empty body on error): the caller got_frees it. */
	memset(g, 0, sizeof(*g));
	g->body = xstrdup(rc ? "" : buf_str(&resp.body));
	if (!rc) {
		g->status = resp.status;
		g->ctype = http_response_header(&resp, "Content-Type");
		g->allow = http_response_header(&resp, "Allow");
	}
	http_response_dispose(&resp);
	return rc;
}

static void expect(struct http_client *h, const char *method, int port, const char *path,
		   long status, const char *body_prefix)
{
	struct got g;
	int rc = request(h, method, port, path, NULL, &g);
	if (rc)
		fail_msg("%s %s: %s", method, path, err_msg());
	if (g.status != status || strncmp(g.body, body_prefix, strlen(body_prefix)))
		fail_msg("%s %s: %ld \"%s\", wanted %ld \"%s...\"", method, path, g.status, g.body,
			 status, body_prefix);
	got_free(&g);
}

static _Atomic int64_t fake_clock;

static int64_t fake_now(void *ud)
{
	(void)ud;
	return atomic_load(&fake_clock);
}

static void serve__probes_over_http_follow_heartbeat_sync_and_shutdown(void **state)
{
	(void)state;
	atomic_store(&fake_clock, 1000000);
	struct serve *s = NULL;
	struct serve_options o = {.health_addr = "127.0.0.1:0",
				  .metrics_addr = "127.0.0.1:0",
				  .stale_ms = 5000,
				  .now_ms = fake_now};
	assert_int_equal(serve_new(&s, &o), 0);
	int port = serve_port(s, SERVE_HEALTH);
	assert_true(port > 0);
	assert_int_equal(serve_port(s, SERVE_METRICS), port); /* the same address: one listener */
	struct http_client *h = http_client_new();

	expect(h, "GET", port, "/healthz", 200, "ok");
	atomic_store(&fake_clock, 1000000 + 5001);
	expect(h, "GET", port, "/healthz", 500,
	       "heartbeat stale: the main loop last reported 5.0 s ago");
	serve_heartbeat(s);
	expect(h, "GET", port, "/healthz", 200, "ok");

	expect(h, "GET", port, "/readyz", 503, "caches not synced");
	serve_set_synced(s, 1);
	expect(h, "GET", port, "/readyz", 200, "ok");
	expect(h, "GET", port, "/readyz?verbose=1", 200, "ok");
	serve_set_shutting_down(s);
	expect(h, "GET", port, "/readyz", 503, "shutting down");
	expect(h, "GET", port, "/healthz", 200, "ok");
	/* No registry given: no /metrics. */
	expect(h, "GET", port, "/metrics", 404, "not found");
	expect(h, "GET", port, "/nowhere", 404, "not found");

	struct got g;
	assert_int_equal(request(h, "POST", port, "/healthz", "{\"a\":1}", &g), 0);
	assert_int_equal(g.status, 405);
	assert_non_null(g.allow);
	assert_string_equal(g.allow, "GET");
	got_free(&g);
	assert_int_equal(request(h, "DELETE", port, "/readyz", NULL, &g), 0);
	assert_int_equal(g.status, 405);
	got_free(&g);
	/* The connection is still good after the 405s. */
	expect(h, "GET", port, "/healthz", 200, "ok");

	http_client_free(h);
	serve_free(s);
}

static void serve__metrics_body_and_content_type_match_the_registry(void **state)
{
	(void)state;
	struct metrics *m = NULL;
	assert_int_equal(metrics_new(&m, metrics_operator_families, METRICS_OPERATOR_FAMILIES,
				     &(struct metrics_options){.no_process = 1}),
			 0);
	/* Enough series for a body of several hundred KiB (many chunks). */
	char name[32];
	for (int i = 0; i < 4000; i++) {
		snprintf(name, sizeof(name), "backup-%05d", i);
		metrics_set(m, METRICS_BACKUP_SIZE, V("prod", name, "nightly"), i * 1000.0);
		metrics_set(m, METRICS_BACKUP_LAST_SUCCESS, V("prod", name, "nightly"), 1.7e9 + i);
	}
	struct serve *s = NULL;
	struct serve_options o = {
	    .health_addr = "127.0.0.1:0", .metrics_addr = "127.0.0.1:0", .metrics = m};
	assert_int_equal(serve_new(&s, &o), 0);
	int port = serve_port(s, SERVE_METRICS);
	struct http_client *h = http_client_new();
	struct buf want;
	buf_init(&want, 1 << 24);
	assert_int_equal(metrics_render(m, &want), 0);
	assert_true(want.len > 300 * 1024);
	for (int round = 0; round < 3; round++) {
		struct got g;
		assert_int_equal(request(h, "GET", port, "/metrics", NULL, &g), 0);
		assert_int_equal(g.status, 200);
		assert_non_null(g.ctype);
		assert_string_equal(g.ctype, "text/plain; version=0.0.4; charset=utf-8");
		assert_int_equal(strlen(g.body), want.len);
		assert_string_equal(g.body, buf_str(&want));
		got_free(&g);
	}
	buf_dispose(&want);
	http_client_free(h);
	serve_free(s);
	metrics_free(m);
}

static void serve__separate_addresses_serve_separate_routes(void **state)
{
	(void)state;
	struct metrics *m = NULL;
	assert_int_equal(
	    metrics_new(&m, metrics_operator_families, METRICS_OPERATOR_FAMILIES, NULL), 0);
	struct serve *s = NULL;
	/* Port 0 twice with different hosts in 127/8: two listeners. */
	struct serve_options o = {
	    .health_addr = "127.0.0.1:0", .metrics_addr = "127.0.0.2:0", .metrics = m};
	assert_int_equal(serve_new(&s, &o), 0);
	int hp = serve_port(s, SERVE_HEALTH), mp = serve_port(s, SERVE_METRICS);
	assert_true(hp > 0 && mp > 0);
	struct http_client *h = http_client_new();
	expect(h, "GET", hp, "/healthz", 200, "ok");
	expect(h, "GET", hp, "/metrics", 404, "not found");
	struct got g;
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.2:%d/metrics", mp);
	struct http_response resp;
	http_response_init(&resp);
	struct http_request req = {.method = "GET", .url = url, .timeout_ms = 5000};
	assert_int_equal(http_do(h, &req, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_non_null(strstr(buf_str(&resp.body), "process_resident_memory_bytes"));
	http_response_dispose(&resp);
	snprintf(url, sizeof(url), "http://127.0.0.2:%d/healthz", mp);
	http_response_init(&resp);
	assert_int_equal(http_do(h, &req, &resp), 0);
	assert_int_equal(resp.status, 404);
	http_response_dispose(&resp);
	(void)g;
	http_client_free(h);
	serve_free(s);
	metrics_free(m);
}

static void serve_new__reports_bad_addresses_and_ports_in_use(void **state)
{
	(void)state;
	struct serve *s = NULL, *t = (struct serve *)&s;
	struct serve_options o = {.health_addr = "localhost:80", .metrics_addr = NULL};
	assert_int_equal(serve_new(&t, &o), E_INVALID);
	assert_non_null(strstr(err_msg(), "--health-addr"));
	assert_ptr_equal(t, (struct serve *)&s);
	o = (struct serve_options){.health_addr = NULL, .metrics_addr = "127.0.0.1:x"};
	assert_int_equal(serve_new(&t, &o), E_INVALID);
	assert_non_null(strstr(err_msg(), "--metrics-addr"));

	o = (struct serve_options){.health_addr = "127.0.0.1:0"};
	assert_int_equal(serve_new(&s, &o), 0);
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", serve_port(s, SERVE_HEALTH));
	o = (struct serve_options){.health_addr = addr};
	FILE *quiet = tmpfile();
	log_set_output(quiet); /* libwebsockets' own complaint */
	assert_int_equal(serve_new(&t, &o), E_IO);
	log_set_output(NULL);
	fclose(quiet);
	if (!strstr(err_msg(), addr) || !strstr(err_msg(), "in use"))
		fail_msg("message: %s", err_msg());
	serve_free(s);

	/* Both off: nothing listens, and that is fine. */
	o = (struct serve_options){.health_addr = "0", .metrics_addr = ""};
	assert_int_equal(serve_new(&s, &o), 0);
	assert_int_equal(serve_port(s, SERVE_HEALTH), -1);
	assert_int_equal(serve_port(s, SERVE_METRICS), -1);
	serve_free(s);
	serve_free(NULL);
}

struct stopper {
	struct serve *s;
	int64_t took_ms;
};

static void *stop_it(void *arg)
{
	struct stopper *st = arg;
	int64_t t0 = real_ms();
	serve_stop(st->s);
	st->took_ms = real_ms() - t0;
	return NULL;
}

static void serve_stop__from_another_thread_within_a_second_with_a_client_connected(void **state)
{
	(void)state;
	struct serve *s = NULL;
	struct serve_options o = {.health_addr = "127.0.0.1:0"};
	assert_int_equal(serve_new(&s, &o), 0);
	int port = serve_port(s, SERVE_HEALTH);
	struct http_client *h = http_client_new();
	expect(h, "GET", port, "/healthz", 200, "ok"); /* leaves a keep-alive connection */
	struct stopper st = {s, -1};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stop_it, &st), 0);
	pthread_join(t, NULL);
	assert_true(st.took_ms >= 0 && st.took_ms < 1000);
	serve_stop(s); /* idempotent */
	struct got g;
	assert_int_equal(request(h, "GET", port, "/healthz", NULL, &g), E_UNAVAILABLE);
	got_free(&g);
	http_client_free(h);
	serve_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(serve_parse_addr__table),
	    cmocka_unit_test(serve_route__table),
	    cmocka_unit_test(serve__probes_over_http_follow_heartbeat_sync_and_shutdown),
	    cmocka_unit_test(serve__metrics_body_and_content_type_match_the_registry),
	    cmocka_unit_test(serve__separate_addresses_serve_separate_routes),
	    cmocka_unit_test(serve_new__reports_bad_addresses_and_ports_in_use),
	    cmocka_unit_test(
		serve_stop__from_another_thread_within_a_second_with_a_client_connected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
