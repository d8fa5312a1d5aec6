/* Tests for operator/leader.c's pure core with an injected clock: each rule
 * on its own, then a simulation of several electors against a simulated
 * apiserver (conditional writes, latency, failures, hung requests, crashes,
 * releases) checking that two never lead at once and that leadership moves
 * within the promised bounds. The elector's I/O is tested against the real
 * apiserver by tests/kube/run-operator-parts.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "operator/leader.h"

#define ME "me"
static const struct leader_timing NOJITTER = {15000, 10000, 2000, -1};

static struct leader_state fresh(int64_t now)
{
	struct leader_timing t;
	assert_int_equal(leader_timing_check(&NOJITTER, ME, &t), 0);
	struct leader_state s;
	leader_state_init(&s, ME, &t, 1, now);
	return s;
}

static struct lease_view lease(enum lease_view_kind kind, const char *holder, int64_t dur,
			       int64_t trans, const char *renew)
{
	struct lease_view v = {kind, holder, dur, trans, "2024-01-01T00:00:00.000000Z", renew};
	return v;
}

static struct lease_view just(enum lease_view_kind kind)
{
	struct lease_view v = {kind, NULL, 0, 0, NULL, NULL};
	return v;
}

/* Steps s into *out; s becomes the next state. */
static void step(struct leader_action *out, struct leader_state *s, struct lease_view v,
		 int64_t now)
{
	leader_step(s, &v, now, out);
	*s = out->next;
}

/* A state leading since `at` (the create was sent then, answered at at+10). */
static struct leader_state leading_at(int64_t at)
{
	struct leader_state s = fresh(at);
	struct leader_action a;
	step(&a, &s, just(LEASE_VIEW_TICK), at);
	assert_int_equal(a.op, LEADER_OP_GET);
	step(&a, &s, just(LEASE_VIEW_ABSENT), at);
	assert_int_equal(a.op, LEADER_OP_CREATE);
	step(&a, &s, lease(LEASE_VIEW_WRITTEN, ME, 15, 0, "r0"), at + 10);
	assert_true(a.started);
	return s;
}

static void leader_timing_check__defaults_and_refusals(void **state)
{
	(void)state;
	struct leader_timing t;
	assert_int_equal(leader_timing_check(NULL, "id", &t), 0);
	assert_int_equal(t.lease_ms, 15000);
	assert_int_equal(t.renew_deadline_ms, 10000);
	assert_int_equal(t.retry_ms, 2000);
	assert_true(t.jitter == LEADER_DEFAULT_JITTER);
	static const struct {
		struct leader_timing t;
		const char *id;
		int ok;
	} cases[] = {
	    {{15000, 10000, 2000, -1}, "a", 1},
	    {{3000, 2000, 500, 0.2}, "a", 1},
	    {{10000, 10000, 2000, 0}, "a", 0},	/* deadline must be below the lease */
	    {{15000, 2000, 2000, -1}, "a", 0},	/* retry must be below the deadline */
	    {{15000, 2200, 2000, 0.2}, "a", 0}, /* ... with its jitter */
	    {{15500, 10000, 2000, 0}, "a", 0},	/* whole seconds */
	    {{500, 0, 0, 0}, "a", 0},
	    {{-1000, 0, 0, 0}, "a", 0},
	    {{0, 0, -5, 0}, "a", 0},
	    {{0, 0, 0, 0}, "", 0},
	    {{0, 0, 0, 0}, NULL, 0},
	    {{0, 0, 0, 0}, "a\nb", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = leader_timing_check(&cases[i].t, cases[i].id, &t);
		if (cases[i].ok != (rc == 0))
			fail_msg("case %zu: rc %d (%s)", i, rc, err_msg());
		if (rc)
			assert_int_equal(rc, E_INVALID);
	}
	char big[200];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(leader_timing_check(NULL, big, &t), E_INVALID);
}

static void leader_step__first_step_reads_and_an_absent_lease_is_created(void **state)
{
	(void)state;
	struct leader_state s = fresh(1000);
	struct leader_action a;
	step(&a, &s, just(LEASE_VIEW_TICK), 1000);
	assert_int_equal(a.op, LEADER_OP_GET);
	assert_int_equal(a.wake_ms, INT64_MAX); /* not leading: wait for the reply */
	/* Nothing more while it is in flight. */
	step(&a, &s, just(LEASE_VIEW_TICK), 5000);
	assert_int_equal(a.op, LEADER_OP_NONE);
	step(&a, &s, just(LEASE_VIEW_ABSENT), 5000);
	assert_int_equal(a.op, LEADER_OP_CREATE);
	assert_string_equal(a.holder, ME);
	assert_int_equal(a.duration_s, 15);
	assert_int_equal(a.transitions, 0);
	assert_true(a.new_acquire);
	assert_false(a.started);
	step(&a, &s, lease(LEASE_VIEW_WRITTEN, ME, 15, 0, "r0"), 5050);
	assert_true(a.started);
	assert_false(a.stopped);
	assert_int_equal(a.op, LEADER_OP_NONE);
	assert_int_equal(a.wake_ms, 5050 + 2000);
	assert_int_equal(s.renewed_ms, 5000); /* counted from the send */
}

static void
leader_step__leader_renews_every_retry_period_keeping_acquire_and_transitions(void **state)
{
	(void)state;
	struct leader_state s = leading_at(0);
	struct leader_action a;
	step(&a, &s, just(LEASE_VIEW_TICK), 1999);
	assert_int_equal(a.op, LEADER_OP_NONE);
	step(&a, &s, just(LEASE_VIEW_TICK), 2010);
	assert_int_equal(a.op, LEADER_OP_UPDATE);
	assert_string_equal(a.holder, ME);
	assert_int_equal(a.transitions, 0);
	assert_false(a.new_acquire);
	/* While the renewal is in flight, wake for the deadline only. */
	assert_int_equal(a.wake_ms, 0 + 10000);
	step(&a, &s, lease(LEASE_VIEW_WRITTEN, ME, 15, 0, "r1"), 2050);
	assert_false(a.started); /* already leading */
	assert_false(a.stopped);
	assert_int_equal(s.renewed_ms, 2010);
	assert_int_equal(a.wake_ms, 4050);
}

static void leader_step__failing_renewals_stop_leading_exactly_at_the_deadline(void **state)
{
	(void)state;
	struct leader_state s = leading_at(0); /* renewed_ms 0 */
	int64_t now = 10;
	struct leader_action a;
	for (;;) {
		step(&a, &s, just(LEASE_VIEW_TICK), now);
		if (a.stopped)
			break;
		assert_true(now < 10000);
		if (a.op != LEADER_OP_NONE) {
			assert_int_equal(a.op, LEADER_OP_UPDATE);
			step(&a, &s, just(LEASE_VIEW_FAILED), now + 5);
			assert_false(a.stopped);
			assert_true(a.wake_ms <= 10000);
		}
		now = a.wake_ms;
	}
	assert_int_equal(now, 10000);
	assert_false(s.leading);
	/* The lease others see expires 15 s after they saw it change (>= 10 ms). */
	assert_true(now < 10 + 15000);
}

static void leader_step__a_hung_renewal_still_stops_at_the_deadline(void **state)
{
	(void)state;
	struct leader_state s = leading_at(0);
	struct leader_action a;
	step(&a, &s, just(LEASE_VIEW_TICK), 2010);
	assert_int_equal(a.op, LEADER_OP_UPDATE);
	step(&a, &s, just(LEASE_VIEW_TICK), 9999);
	assert_false(a.stopped);
	assert_int_equal(a.wake_ms, 10000);
	step(&a, &s, just(LEASE_VIEW_TICK), 10000);
	assert_true(a.stopped);
	assert_int_equal(a.op, LEADER_OP_NONE); /* the request is still in flight */
	assert_int_equal(a.wake_ms, INT64_MAX);
	/* It finally succeeds, but was sent 8 s ago: too late to lead on. */
	step(&a, &s, lease(LEASE_VIEW_WRITTEN, ME, 15, 0, "r1"), 12100);
	assert_false(a.started);
	assert_int_equal(s.renewed_ms, 2010);
	/* The next renewal, sent now, makes it leader again. */
	step(&a, &s, just(LEASE_VIEW_TICK), 14100);
	assert_int_equal(a.op, LEADER_OP_UPDATE);
	step(&a, &s, lease(LEASE_VIEW_WRITTEN, ME, 15, 0, "r2"), 14150);
	assert_true(a.started);
}

static void leader_step__another_holders_valid_lease_is_watched_until_it_expires(void **state)
{
	(void)state;
	struct leader_state s = fresh(0);
	struct leader_action a;
	step(&a, &s, just(LEASE_VIEW_TICK), 0);
	step(&a, &s, lease(LEASE_VIEW_READ, "other", 15, 3, "t1"), 100);
	assert_int_equal(a.op, LEADER_OP_NONE);
	assert_int_equal(a.wake_ms, 2100);
	assert_int_equal(s.observed_ms, 100);
	int64_t now = 2100;
	/* The holder stops renewing: the same spec on every look. */
	for (;;) {
		step(&a, &s, just(LEASE_VIEW_TICK), now);
		assert_int_equal(a.op, LEADER_OP_GET);
		step(&a, &s, lease(LEASE_VIEW_READ, "other", 15, 3, "t1"), now);
		if (a.op != LEADER_OP_NONE)
			break;
		assert_true(a.wake_ms <= 100 + 15000);
		now = a.wake_ms;
	}
	/* Taken exactly at expiry, as a new holder. */
	assert_int_equal(now, 100 + 15000);
	assert_int_equal(a.op, LEADER_OP_UPDATE);
	assert_string_equal(a.holder, ME);
	assert_int_equal(a.transitions, 4);
	assert_true(a.new_acquire);
	assert_false(a.started);
	step(&a, &s, lease(LEASE_VIEW_WRITTEN, ME, 15, 4, "t2"), now + 20);
	assert_true(a.started);
}

static void leader_step__a_renewing_holder_keeps_a_standby_waiting(void **state)
{
	(void)state;
	struct leader_state s = fresh(0);
	struct leader_action a;
	step(&a, &s, just(LEASE_VIEW_TICK), 0);
	char renew[32];
	int64_t now = 0;
	for (int i = 0; i < 100; i++) { /* 100 looks, over 3 minutes */
		snprintf(renew, sizeof(renew), "t%d", i);
		step(&a, &s, lease(LEASE_VIEW_READ, "other", 15, 0, renew), now);
		assert_int_equal(a.op, LEADER_OP_NONE);
		assert_false(s.leading);
		now = a.wake_ms;
		step(&a, &s, just(LEASE_VIEW_TICK), now);
		assert_int_equal(a.op, LEADER_OP_GET);
	}
	assert_true(now > 180000);
}

static void leader_step__a_released_or_durationless_lease_is_taken_at_once(void **state)
{
	(void)state;
	struct leader_state s = fresh(0);
	struct leader_action a;
	step(&a, &s, just(LEASE_VIEW_TICK), 0);
	step(&a, &s, lease(LEASE_VIEW_READ, "", 1, 7, "t9"), 10);
	assert_int_equal(a.op, LEADER_OP_UPDATE);
	assert_int_equal(a.transitions, 8);
	assert_true(a.new_acquire);

	s = fresh(0);
	step(&a, &s, just(LEASE_VIEW_TICK), 0);
	step(&a, &s, lease(LEASE_VIEW_READ, NULL, 15, 0, "t9"), 10); /* no holder field */
	assert_int_equal(a.op, LEADER_OP_UPDATE);

	s = fresh(0);
	step(&a, &s, just(LEASE_VIEW_TICK), 0);
	step(&a, &s, lease(LEASE_VIEW_READ, "other", 0, 2, "t9"), 10); /* no duration */
	assert_int_equal(a.op, LEADER_OP_UPDATE);
	assert_int_equal(a.transitions, 3);
}

static void leader_step__a_lost_race_rereads_at_once(void **state)
{
	(void)state;
	struct leader_state s = fresh(0);
	struct leader_action a;
	step(&a, &s, just(LEASE_VIEW_TICK), 0);
	step(&a, &s, just(LEASE_VIEW_ABSENT), 5);
	assert_int_equal(a.op, LEADER_OP_CREATE);
	step(&a, &s, just(LEASE_VIEW_CONFLICT), 9);
	assert_int_equal(a.op, LEADER_OP_GET);
	assert_false(a.started);
	step(&a, &s, lease(LEASE_VIEW_READ, "winner", 15, 0, "w"), 12);
	assert_int_equal(a.op, LEADER_OP_NONE);
	/* A leader's renewal that loses a race also re-reads. */
	s = leading_at(0);
	step(&a, &s, just(LEASE_VIEW_TICK), 2010);
	step(&a, &s, just(LEASE_VIEW_CONFLICT), 2020);
	assert_int_equal(a.op, LEADER_OP_GET);
	assert_false(a.stopped); /* not until it learns who holds it */
	step(&a, &s, lease(LEASE_VIEW_READ, ME, 15, 0, "r0-with-new-labels"), 2030);
	assert_int_equal(a.op, LEADER_OP_UPDATE);
	assert_false(a.stopped);
}

static void leader_step__seeing_another_holder_or_no_lease_stops_the_leader(void **state)
{
	(void)state;
	struct leader_state s = leading_at(0);
	struct leader_action a;
	step(&a, &s, just(LEASE_VIEW_TICK), 2010);
	step(&a, &s, just(LEASE_VIEW_CONFLICT), 2020);
	step(&a, &s, lease(LEASE_VIEW_READ, "thief", 15, 1, "x"), 2030);
	assert_true(a.stopped);
	assert_false(s.leading);
	assert_int_equal(a.op, LEADER_OP_NONE);

	s = leading_at(0);
	step(&a, &s, just(LEASE_VIEW_TICK), 2010);
	step(&a, &s, just(LEASE_VIEW_CONFLICT), 2020);
	step(&a, &s, just(LEASE_VIEW_ABSENT), 2030); /* someone deleted it */
	assert_true(a.stopped);
	assert_int_equal(a.op, LEADER_OP_CREATE);
	assert_int_equal(a.transitions, 0);
}

static void leader_step__a_restarted_holder_of_the_same_identity_renews_and_leads(void **state)
{
	(void)state;
	struct leader_state s = fresh(0);
	struct leader_action a;
	step(&a, &s, just(LEASE_VIEW_TICK), 0);
	step(&a, &s, lease(LEASE_VIEW_READ, ME, 15, 5, "old"), 10);
	assert_int_equal(a.op, LEADER_OP_UPDATE);
	assert_int_equal(a.transitions, 5);
	assert_false(a.new_acquire);
	step(&a, &s, lease(LEASE_VIEW_WRITTEN, ME, 15, 5, "new"), 20);
	assert_true(a.started);
}

static void leader_step__release_stops_then_writes_an_empty_holder_then_finishes(void **state)
{
	(void)state;
	struct leader_state s = leading_at(0);
	struct leader_action a;
	step(&a, &s, just(LEASE_VIEW_RELEASE), 500);
	assert_true(a.stopped);
	assert_int_equal(a.op, LEADER_OP_UPDATE);
	assert_string_equal(a.holder, "");
	assert_int_equal(a.duration_s, 1);
	assert_int_equal(a.transitions, 0);
	assert_true(a.new_acquire);
	assert_false(a.done);
	step(&a, &s, lease(LEASE_VIEW_WRITTEN, "", 1, 0, "rel"), 520);
	assert_false(a.started);
	assert_true(a.done);
	/* Done is done. */
	step(&a, &s, just(LEASE_VIEW_TICK), 600);
	assert_true(a.done);
	assert_int_equal(a.op, LEADER_OP_NONE);

	/* A failed release still finishes. */
	s = leading_at(0);
	step(&a, &s, just(LEASE_VIEW_RELEASE), 500);
	step(&a, &s, just(LEASE_VIEW_FAILED), 520);
	assert_true(a.done);

	/* Not leading: nothing to release. */
	s = fresh(0);
	step(&a, &s, just(LEASE_VIEW_TICK), 0);
	step(&a, &s, lease(LEASE_VIEW_READ, "other", 15, 0, "x"), 10);
	step(&a, &s, just(LEASE_VIEW_RELEASE), 20);
	assert_true(a.done);
	assert_false(a.stopped);
	assert_int_equal(a.op, LEADER_OP_NONE);

	/* A request in flight is waited for; if it made us holder, release. */
	s = fresh(0);
	step(&a, &s, just(LEASE_VIEW_TICK), 0);
	step(&a, &s, just(LEASE_VIEW_ABSENT), 5);
	assert_int_equal(a.op, LEADER_OP_CREATE);
	step(&a, &s, just(LEASE_VIEW_RELEASE), 6);
	assert_false(a.done);
	assert_int_equal(a.op, LEADER_OP_NONE);
	step(&a, &s, lease(LEASE_VIEW_WRITTEN, ME, 15, 0, "c"), 30);
	assert_false(a.started); /* never leads while shutting down */
	assert_int_equal(a.op, LEADER_OP_UPDATE);
	assert_string_equal(a.holder, "");
	step(&a, &s, lease(LEASE_VIEW_WRITTEN, "", 1, 0, "rel"), 40);
	assert_true(a.done);
}

static void leader_step__jitter_spreads_standby_looks_deterministically(void **state)
{
	(void)state;
	struct leader_timing t;
	assert_int_equal(
	    leader_timing_check(&(struct leader_timing){15000, 10000, 2000, 0.2}, ME, &t), 0);
	struct leader_state a, b;
	leader_state_init(&a, ME, &t, 42, 0);
	leader_state_init(&b, ME, &t, 42, 0);
	int64_t min = INT64_MAX, max = 0;
	char renew[16];
	for (int i = 0; i < 500; i++) {
		snprintf(renew, sizeof(renew), "r%d", i);
		struct leader_action x, y;
		leader_step(&a, &(struct lease_view){LEASE_VIEW_READ, "other", 15, 0, "", renew},
			    1000, &x);
		leader_step(&b, &(struct lease_view){LEASE_VIEW_READ, "other", 15, 0, "", renew},
			    1000, &y);
		assert_int_equal(x.wake_ms, y.wake_ms);
		a = x.next;
		b = y.next;
		int64_t wait = x.wake_ms - 1000;
		assert_true(wait >= 2000 && wait < 2400);
		min = wait < min ? wait : min;
		max = wait > max ? wait : max;
	}
	assert_true(max - min > 300); /* it does spread */
}

/* --- JSON --- */

static void leader_view_of__reads_the_spec_and_tolerates_missing_fields(void **state)
{
	(void)state;
	struct json_object *o = json_tokener_parse(
	    "{\"metadata\":{\"resourceVersion\":\"7\"},\"spec\":{\"holderIdentity\":\"pod-a\","
	    "\"leaseDurationSeconds\":15,\"acquireTime\":\"2024-01-01T00:00:00.000000Z\","
	    "\"renewTime\":\"2024-01-01T00:00:02.000000Z\",\"leaseTransitions\":3}}");
	struct lease_view v = {.kind = LEASE_VIEW_READ};
	leader_view_of(&v, o);
	assert_int_equal(v.kind, LEASE_VIEW_READ);
	assert_string_equal(v.holder, "pod-a");
	assert_int_equal(v.duration_s, 15);
	assert_int_equal(v.transitions, 3);
	assert_string_equal(v.renew_time, "2024-01-01T00:00:02.000000Z");
	json_object_put(o);
	o = json_tokener_parse("{\"metadata\":{},\"spec\":{\"holderIdentity\":null}}");
	leader_view_of(&v, o);
	assert_string_equal(v.holder, "");
	assert_int_equal(v.duration_s, 0);
	assert_string_equal(v.acquire_time, "");
	json_object_put(o);
	leader_view_of(&v, NULL);
	assert_string_equal(v.holder, "");
}

static void leader_lease_object__create_update_and_release_bodies(void **state)
{
	(void)state;
	struct leader_action a = {.op = LEADER_OP_CREATE,
				  .holder = "pod-a",
				  .duration_s = 15,
				  .transitions = 0,
				  .new_acquire = 1};
	struct json_object *o =
	    leader_lease_object(&a, NULL, "ns", "lease", "2024-05-01T12:00:00.000001Z");
	assert_string_equal(
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
	    "{\"apiVersion\":\"coordination.k8s.io\\/v1\",\"kind\":\"Lease\",\"metadata\":{"
	    "\"name\":\"lease\",\"namespace\":\"ns\"},\"spec\":{\"holderIdentity\":\"pod-a\","
	    "\"leaseDurationSeconds\":15,\"acquireTime\":\"2024-05-01T12:00:00.000001Z\","
	    "\"renewTime\":\"2024-05-01T12:00:00.000001Z\",\"leaseTransitions\":0}}");
	json_object_put(o);

	struct json_object *base = json_tokener_parse(
	    "{\"apiVersion\":\"coordination.k8s.io/"
	    "v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"lease\","
	    "\"namespace\":\"ns\",\"resourceVersion\":\"42\",\"managedFields\":[{}]},\"spec\":{"
	    "\"holderIdentity\":\"pod-a\",\"leaseDurationSeconds\":15,\"acquireTime\":\"A0\","
	    "\"renewTime\":\"R0\",\"leaseTransitions\":2}}");
	a = (struct leader_action){.op = LEADER_OP_UPDATE,
				   .holder = "pod-a",
				   .duration_s = 15,
				   .transitions = 2,
				   .new_acquire = 0};
	o = leader_lease_object(&a, base, "ns", "lease", "R1");
	struct lease_view v;
	leader_view_of(&v, o);
	assert_string_equal(v.acquire_time, "A0"); /* kept on renewal */
	assert_string_equal(v.renew_time, "R1");
	assert_int_equal(v.transitions, 2);
	assert_non_null(strstr(json_object_to_json_string(o), "\"resourceVersion\": \"42\""));
	assert_null(strstr(json_object_to_json_string(o), "managedFields"));
	json_object_put(o);
	/* The base is not changed. */
	leader_view_of(&v, base);
	assert_string_equal(v.renew_time, "R0");

	a = (struct leader_action){.op = LEADER_OP_UPDATE,
				   .holder = "",
				   .duration_s = 1,
				   .transitions = 2,
				   .new_acquire = 1};
	o = leader_lease_object(&a, base, "ns", "lease", "R2");
	leader_view_of(&v, o);
	assert_string_equal(v.holder, "");
	assert_int_equal(v.duration_s, 1);
	assert_string_equal(v.acquire_time, "R2");
	json_object_put(o);
	json_object_put(base);
}

/* --- the simulation --- */

#define SIM_ELECTORS 3
#define SIM_MS (10 * 60 * 1000)

struct sim_lease {
	int exists;
	char holder[16];
	int64_t dur, trans;
	char acquire[24], renew[24];
	long rv;
};

struct sim_elector {
	int alive, released;
	char id[16];
	struct leader_state s;
	int64_t wake;
	/* The request in flight. */
	enum leader_op op;
	struct json_object *body;
	long body_rv;
	int64_t arrive, reply; /* server applies at arrive, reply comes at reply */
	int applied;
	struct lease_view result;
	struct sim_lease seen;
	int partitioned; /* requests fail */
	int hang;	 /* requests take 30 s */
	int64_t up_at;	 /* when a crashed one comes back */
};

static uint64_t rnd_state;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void sim_apply(struct sim_lease *L, struct sim_elector *e, int64_t now)
{
	struct lease_view v;
	long want_rv = e->body_rv;
	e->applied = 1;
	if (e->op == LEADER_OP_GET) {
		e->result = just(L->exists ? LEASE_VIEW_READ : LEASE_VIEW_ABSENT);
		e->seen = *L;
		return;
	}
	leader_view_of(&v, e->body);
	if (e->op == LEADER_OP_CREATE ? L->exists : (!L->exists || want_rv != L->rv)) {
		e->result = just(LEASE_VIEW_CONFLICT);
		return;
	}
	L->exists = 1;
	snprintf(L->holder, sizeof(L->holder), "%s", v.holder);
	L->dur = v.duration_s;
	L->trans = v.transitions;
	snprintf(L->acquire, sizeof(L->acquire), "%s", v.acquire_time);
	snprintf(L->renew, sizeof(L->renew), "%s", v.renew_time);
	L->rv++;
	(void)now;
	e->result = just(LEASE_VIEW_WRITTEN);
	e->seen = *L;
}

static struct lease_view seen_view(struct sim_elector *e)
{
	struct lease_view v = e->result;
	if (v.kind == LEASE_VIEW_READ || v.kind == LEASE_VIEW_WRITTEN) {
		v.holder = e->seen.holder;
		v.duration_s = e->seen.dur;
		v.transitions = e->seen.trans;
		v.acquire_time = e->seen.acquire;
		v.renew_time = e->seen.renew;
	}
	return v;
}

static void sim_boot(struct sim_elector *e, int i, int gen, const struct leader_timing *t,
		     int64_t now)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "e%d.%d", i, gen);
	e->alive = 1;
	leader_state_init(&e->s, e->id, t, rnd(), now);
	e->wake = now;
}

static void sim_act(struct sim_elector *e, const struct leader_action *a, int64_t now,
		    long lease_rv, int *leaders_started, int64_t *last_start)
{
	char stamp[24];
	if (a->started) {
		(*leaders_started)++;
		*last_start = now;
	}
	e->wake = a->wake_ms;
	if (a->op == LEADER_OP_NONE)
		return;
	e->op = a->op;
	snprintf(stamp, sizeof(stamp), "t%" PRId64, now);
	struct json_object *base = NULL;
	if (a->op == LEADER_OP_UPDATE)
		base = json_tokener_parse("{\"metadata\":{}}");
	json_object_put(e->body);
	e->body = a->op == LEADER_OP_GET ? NULL : leader_lease_object(a, base, "ns", "l", stamp);
	json_object_put(base);
	e->body_rv = lease_rv; /* updates carry the rv last seen; set by the caller */
	int64_t lat = 1 + (int64_t)(rnd() % 300);
	e->arrive = now + (e->hang ? 30000 : lat);
	e->reply = e->arrive + 1 + (int64_t)(rnd() % 300);
	e->applied = 0;
}

static void leader__simulated_electors_never_lead_at_once_and_hand_over_in_time(void **state)
{
	(void)state;
	struct leader_timing t;
	assert_int_equal(leader_timing_check(NULL, "x", &t), 0);
	for (uint64_t seed = 1; seed <= 60; seed++) {
		rnd_state = seed * 0x9e3779b97f4a7c15ULL;
		struct sim_lease L = {0};
		struct sim_elector e[SIM_ELECTORS];
		long seen_rv[SIM_ELECTORS] = {0};
		int gen[SIM_ELECTORS] = {0};
		for (int i = 0; i < SIM_ELECTORS; i++)
			sim_boot(&e[i], i, gen[i]++, &t, (int64_t)(rnd() % 1000));
		int started = 0;
		int64_t last_start = -1, no_leader_since = 0;
		int64_t worst_gap = 0;
		for (int64_t now = 0; now < SIM_MS; now++) {
			/* Faults, now and then. */
			if (rnd() % 20000 == 0) {
				int i = (int)(rnd() % SIM_ELECTORS);
				if (e[i].alive) {
					/* A crash (SIGKILL): gone at once, back in 0-20 s. */
					e[i].alive = 0;
					e[i].up_at = now + (int64_t)(rnd() % 20000);
				}
			}
			if (rnd() % 20000 == 0) {
				int i = (int)(rnd() % SIM_ELECTORS);
				e[i].partitioned = !e[i].partitioned;
			}
			if (rnd() % 40000 == 0) {
				int i = (int)(rnd() % SIM_ELECTORS);
				e[i].hang = !e[i].hang;
			}
			if (rnd() % 40000 == 0) {
				int i = (int)(rnd() % SIM_ELECTORS);
				if (e[i].alive && !e[i].s.releasing) {
					struct leader_action a;
					leader_step(
					    &e[i].s,
					    &(struct lease_view){.kind = LEASE_VIEW_RELEASE}, now,
					    &a);
					e[i].s = a.next;
					sim_act(&e[i], &a, now, seen_rv[i], &started, &last_start);
					if (a.done)
						e[i].alive = 0, e[i].up_at = now + 5000;
				}
			}
			for (int i = 0; i < SIM_ELECTORS; i++) {
				struct sim_elector *x = &e[i];
				if (!x->alive) {
					if (x->up_at && now >= x->up_at) {
						json_object_put(x->body);
						sim_boot(x, i, gen[i]++, &t, now);
						seen_rv[i] = 0;
					} else {
						continue;
					}
				}
				if (x->op != LEADER_OP_NONE && !x->applied && now >= x->arrive) {
					if (x->partitioned || x->hang)
						x->result = just(LEASE_VIEW_FAILED), x->applied = 1;
					else
						sim_apply(&L, x, now);
				}
				struct lease_view v = just(LEASE_VIEW_TICK);
				int have = 0;
				if (x->op != LEADER_OP_NONE && x->applied && now >= x->reply) {
					v = seen_view(x);
					if (v.kind == LEASE_VIEW_READ ||
					    v.kind == LEASE_VIEW_WRITTEN)
						seen_rv[i] = x->seen.rv;
					x->op = LEADER_OP_NONE;
					have = 1;
				}
				if (!have && now < x->wake)
					continue;
				struct leader_action a;
				leader_step(&x->s, &v, now, &a);
				x->s = a.next;
				sim_act(x, &a, now, seen_rv[i], &started, &last_start);
				if (a.done) {
					x->alive = 0;
					x->up_at = now + 5000;
				}
			}
			/* Safety: never two leaders at the same instant. */
			int leaders = 0;
			for (int i = 0; i < SIM_ELECTORS; i++)
				leaders += e[i].alive && e[i].s.leading;
			if (leaders > 1)
				fail_msg("seed %" PRIu64 ": %d leaders at %" PRId64 " ms", seed,
					 leaders, now);
			/* Liveness: with every elector healthy, the gap without a
			 * leader stays within lease + jittered retry + latencies +
			 * the renew deadline of a partitioned leader. */
			int healthy = 0;
			for (int i = 0; i < SIM_ELECTORS; i++)
				healthy += e[i].alive && !e[i].partitioned && !e[i].hang;
			if (leaders || healthy < SIM_ELECTORS)
				no_leader_since = now;
			else if (now - no_leader_since > worst_gap)
				worst_gap = now - no_leader_since;
		}
		for (int i = 0; i < SIM_ELECTORS; i++)
			json_object_put(e[i].body);
		if (getenv("SIM_DEBUG"))
			fprintf(stderr,
				"seed %" PRIu64 ": %d starts, worst gap %" PRId64
				" ms, lease rv %ld, transitions %" PRId64 "\n",
				seed, started, worst_gap, L.rv, L.trans);
		assert_true(started >= 1);
		/* After everyone is healthy again the lease must be taken within
		 * lease (15 s) + one jittered look (2.4 s) + two round trips. */
		if (worst_gap > 15000 + 2400 + 1300)
			fail_msg("seed %" PRIu64 ": no leader for %" PRId64 " ms with all healthy",
				 seed, worst_gap);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(leader_timing_check__defaults_and_refusals),
	    cmocka_unit_test(leader_step__first_step_reads_and_an_absent_lease_is_created),
	    cmocka_unit_test(
		leader_step__leader_renews_every_retry_period_keeping_acquire_and_transitions),
	    cmocka_unit_test(leader_step__failing_renewals_stop_leading_exactly_at_the_deadline),
	    cmocka_unit_test(leader_step__a_hung_renewal_still_stops_at_the_deadline),
	    cmocka_unit_test(leader_step__another_holders_valid_lease_is_watched_until_it_expires),
	    cmocka_unit_test(leader_step__a_renewing_holder_keeps_a_standby_waiting),
	    cmocka_unit_test(leader_step__a_released_or_durationless_lease_is_taken_at_once),
	    cmocka_unit_test(leader_step__a_lost_race_rereads_at_once),
	    cmocka_unit_test(leader_step__seeing_another_holder_or_no_lease_stops_the_leader),
	    cmocka_unit_test(leader_step__a_restarted_holder_of_the_same_identity_renews_and_leads),
	    cmocka_unit_test(leader_step__release_stops_then_writes_an_empty_holder_then_finishes),
	    cmocka_unit_test(leader_step__jitter_spreads_standby_looks_deterministically),
	    cmocka_unit_test(leader_view_of__reads_the_spec_and_tolerates_missing_fields),
	    cmocka_unit_test(leader_lease_object__create_update_and_release_bodies),
	    cmocka_unit_test(leader__simulated_electors_never_lead_at_once_and_hand_over_in_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
