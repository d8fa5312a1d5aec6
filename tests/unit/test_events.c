/* Tests for operator/events.c: the Event JSON, names, cuts, the aggregation
 * cache and the bounded, coalescing queue. The writer is tested against the
 * real apiserver by tests/kube/run-operator-parts.sh (kubetool events). */
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
#include "common/log.h"
#include "operator/events.h"

static const struct events_ref OBJ = {"lifeboat.dev/v1alpha1",
				      "DatabaseBackup",
				      "prod",
				      "nightly",
				      "6f1c2a9e-0000-4000-8000-000000000001",
				      "4711",
				      NULL};

static void events_object__golden_json(void **state)
{
	(void)state;
	/* 2024-05-01T12:34:56Z and ten minutes later */
	struct json_object *o = events_object(
	    &OBJ, EVENTS_WARNING, "BackupFailed", "pg_dump: connection refused",
	    "nightly.17cb3a1e00000000", 3, 1714566896000, 1714567496999, "lifeboat-operator",
	    "lifeboat.dev/operator", "lifeboat-operator-7d9f-abcde");
	assert_string_equal(
	    json_object_to_json_string_ext(o,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"nightly."
	    "17cb3a1e00000000\","
	    "\"namespace\":\"prod\"},\"involvedObject\":{\"apiVersion\":\"lifeboat.dev/v1alpha1\","
	    "\"kind\":\"DatabaseBackup\",\"namespace\":\"prod\",\"name\":\"nightly\",\"uid\":"
	    "\"6f1c2a9e-0000-4000-8000-000000000001\",\"resourceVersion\":\"4711\"},\"reason\":"
	    "\"BackupFailed\",\"message\":\"pg_dump: connection refused\",\"type\":\"Warning\","
	    "\"source\":{\"component\":\"lifeboat-operator\"},\"firstTimestamp\":\"2024-05-01T12:"
	    "34:56Z\","
	    "\"lastTimestamp\":\"2024-05-01T12:44:56Z\",\"count\":3,\"reportingComponent\":"
	    "\"lifeboat.dev/operator\",\"reportingInstance\":\"lifeboat-operator-7d9f-abcde\"}");
	json_object_put(o);
	/* Cluster-scoped objects: the Event goes to "default"; optional fields left out. */
	struct events_ref crd = {"apiextensions.k8s.io/v1",
				 "CustomResourceDefinition",
				 NULL,
				 "databasebackups.lifeboat.dev",
				 "u",
				 NULL,
				 NULL};
	o = events_object(&crd, EVENTS_NORMAL, "Seen", "m", "n.1", 1, 0, 0, "c", "ctl", "i");
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert_non_null(strstr(s, "\"namespace\":\"default\""));
	assert_null(strstr(s, "resourceVersion"));
	assert_non_null(strstr(s, "\"type\":\"Normal\""));
	assert_non_null(strstr(s, "\"firstTimestamp\":\"1970-01-01T00:00:00Z\""));
	json_object_put(o);
}

static void events_patch__bumps_count_and_last_timestamp(void **state)
{
	(void)state;
	char *p = events_patch(12, 1714566896123);
	assert_string_equal(p, "{\"count\":12,\"lastTimestamp\":\"2024-05-01T12:34:56Z\"}");
	free(p);
}

static void events_name__is_object_dot_hex_and_fits_253(void **state)
{
	(void)state;
	char out[300];
	events_name(out, sizeof(out), "nightly", 0x17cb3a1e12345678LL);
	assert_string_equal(out, "nightly.17cb3a1e12345678");
	char longname[254];
	memset(longname, 'a', 253);
	longname[253] = '\0';
	events_name(out, sizeof(out), longname, 1);
	assert_int_equal(strlen(out), 253);
	assert_string_equal(out + 253 - 17, ".0000000000000001");
}

static void events_cut__keeps_short_text_and_cuts_on_a_character(void **state)
{
	(void)state;
	char out[16];
	events_cut(out, "short", 10);
	assert_string_equal(out, "short");
	events_cut(out, "exactly10!", 10);
	assert_string_equal(out, "exactly10!");
	events_cut(out, "this is too long", 10);
	assert_string_equal(out, "this is...");
	/* "ééééé" is 10 bytes; cut at 8 would split the 3rd é: keep two. */
	events_cut(out, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x", 8);
	assert_string_equal(out, "\xc3\xa9\xc3\xa9...");
}

static void events_key__differs_in_every_field_that_matters(void **state)
{
	(void)state;
	char *base = events_key(&OBJ, EVENTS_WARNING, "R", "m");
	struct events_ref other_uid = OBJ, other_ns = OBJ, other_rv = OBJ;
	other_uid.uid = "another";
	other_ns.namespace_ = "dev";
	other_rv.resource_version = "9999"; /* not part of the key */
	char *k[] = {
	    events_key(&other_uid, EVENTS_WARNING, "R", "m"),
	    events_key(&other_ns, EVENTS_WARNING, "R", "m"),
	    events_key(&OBJ, EVENTS_NORMAL, "R", "m"),
	    events_key(&OBJ, EVENTS_WARNING, "S", "m"),
	    events_key(&OBJ, EVENTS_WARNING, "R", "n"),
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		assert_string_not_equal(base, k[i]);
		free(k[i]);
	}
	char *same = events_key(&other_rv, EVENTS_WARNING, "R", "m");
	assert_string_equal(base, same);
	free(same);
	free(base);
}

static void events_cache__window_lru_and_forget(void **state)
{
	(void)state;
	struct events_cache *c = events_cache_new(3);
	struct events_seen s = {"ev.1", "prod", 1, 1000, 1000}, got;
	assert_int_equal(events_cache_find(c, "a", 1000, 600000, &got), 0);
	events_cache_put(c, "a", &s);
	assert_int_equal(events_cache_find(c, "a", 1000 + 600000, 600000, &got),
			 1); /* at the edge */
	assert_string_equal(got.name, "ev.1");
	assert_int_equal(events_cache_find(c, "a", 1000 + 600001, 600000, &got), 0); /* past it */
	/* An update moves last_ms, so a steady repeat stays one Event. */
	s.count = 2;
	s.last_ms = 500000;
	events_cache_put(c, "a", &s);
	assert_int_equal(events_cache_find(c, "a", 1000000, 600000, &got), 1);
	assert_int_equal(got.count, 2);
	assert_int_equal(events_cache_len(c), 1);
	/* LRU: b and c added, a used, d evicts b. */
	events_cache_put(c, "b", &s);
	events_cache_put(c, "c", &s);
	assert_int_equal(events_cache_find(c, "a", 1000000, 600000, &got), 1);
	events_cache_put(c, "d", &s);
	assert_int_equal(events_cache_len(c), 3);
	assert_int_equal(events_cache_find(c, "b", 1000000, 600000, &got), 0);
	assert_int_equal(events_cache_find(c, "a", 1000000, 600000, &got), 1);
	assert_int_equal(events_cache_find(c, "d", 1000000, 600000, &got), 1);
	events_cache_forget(c, "a");
	events_cache_forget(c, "nothing");
	assert_int_equal(events_cache_len(c), 2);
	assert_int_equal(events_cache_find(c, "a", 1000000, 600000, &got), 0);
	assert_int_equal(events_cache_find(c, "c", 1000000, 600000, &got), 1);
	events_cache_free(c);
	events_cache_free(NULL);
}

static int64_t fixed_now(void *ud)
{
	return *(int64_t *)ud;
}

static void events_emit__a_full_queue_drops_and_repeats_coalesce(void **state)
{
	(void)state;
	int64_t now = 1714566896000;
	struct events *e = NULL;
	struct events_options o = {
	    .queue_cap = 3, .now_ms = fixed_now, .clock_ud = &now, .reporting_instance = "test"};
	assert_int_equal(events_new(&e, NULL, &o), 0);
	assert_int_equal(events_emit(e, &OBJ, EVENTS_NORMAL, "A", "first %d", 1), 0);
	assert_int_equal(events_emit(e, &OBJ, EVENTS_NORMAL, "B", "second"), 0);
	assert_int_equal(events_emit(e, &OBJ, EVENTS_NORMAL, "C", "third"), 0);
	/* A burst of repeats of a queued one costs no room. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(events_emit(e, &OBJ, EVENTS_NORMAL, "A", "first %d", 1), 0);
	FILE *quiet = tmpfile();
	log_set_output(quiet);
	assert_int_equal(events_emit(e, &OBJ, EVENTS_WARNING, "D", "fourth"), E_TOOBIG);
	assert_int_equal(events_emit(e, &OBJ, EVENTS_WARNING, "E", "fifth"), E_TOOBIG);
	log_set_output(NULL);
	fclose(quiet);
	assert_non_null(strstr(err_msg(), "queue full"));
	struct events_stats st;
	events_get_stats(e, &st);
	assert_int_equal(st.emitted, 1003);
	assert_int_equal(st.coalesced, 1000);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.created + st.patched + st.failed, 0);
	/* No API server: cannot start; flush does not wait for a writer. */
	assert_int_equal(events_start(e), E_INVALID);
	assert_int_equal(events_flush(e, 10), 0);
	events_stop(e, 0);
	events_get_stats(e, &st);
	assert_int_equal(st.dropped, 5); /* the three queued ones too */
	events_free(e);
	events_free(NULL);
}

static void events_emit__refuses_missing_objects_and_bad_reasons(void **state)
{
	(void)state;
	struct events *e = NULL;
	assert_int_equal(events_new(&e, NULL, NULL), 0);
	struct events_ref noname = OBJ, nokind = OBJ;
	noname.name = "";
	nokind.kind = NULL;
	assert_int_equal(events_emit(e, &noname, EVENTS_NORMAL, "R", "m"), E_INVALID);
	assert_int_equal(events_emit(e, &nokind, EVENTS_NORMAL, "R", "m"), E_INVALID);
	assert_int_equal(events_emit(e, NULL, EVENTS_NORMAL, "R", "m"), E_INVALID);
	assert_int_equal(events_emit(e, &OBJ, EVENTS_NORMAL, "", "m"), E_INVALID);
	char reason[200];
	memset(reason, 'R', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	assert_int_equal(events_emit(e, &OBJ, EVENTS_NORMAL, reason, "m"), E_INVALID);
	reason[EVENTS_REASON_MAX] = '\0';
	assert_int_equal(events_emit(e, &OBJ, EVENTS_NORMAL, reason, "m"), 0);
	/* A long message is cut, and the cut text is what aggregates. */
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(events_emit(e, &OBJ, EVENTS_NORMAL, "Long", "%s", big), 0);
	assert_int_equal(events_emit(e, &OBJ, EVENTS_NORMAL, "Long", "%sy", big), 0);
	struct events_stats st;
	events_get_stats(e, &st);
	assert_int_equal(st.coalesced, 1);
	events_free(e);

	struct events_options o = {.reporting_controller = ""};
	assert_int_equal(events_new(&e, NULL, &o), E_INVALID);
	char inst[200];
	memset(inst, 'i', sizeof(inst) - 1);
	inst[sizeof(inst) - 1] = '\0';
	o = (struct events_options){.reporting_instance = inst};
	assert_int_equal(events_new(&e, NULL, &o), E_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(events_object__golden_json),
	    cmocka_unit_test(events_patch__bumps_count_and_last_timestamp),
	    cmocka_unit_test(events_name__is_object_dot_hex_and_fits_253),
	    cmocka_unit_test(events_cut__keeps_short_text_and_cuts_on_a_character),
	    cmocka_unit_test(events_key__differs_in_every_field_that_matters),
	    cmocka_unit_test(events_cache__window_lru_and_forget),
	    cmocka_unit_test(events_emit__a_full_queue_drops_and_repeats_coalesce),
	    cmocka_unit_test(events_emit__refuses_missing_objects_and_bad_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
