/* Tests for job/cmd/show.c's pure part: a JSON object as aligned "key: value"
 * lines (nesting, arrays, nulls, empties), and what it refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/buf.h"
#include "common/err.h"
#include "job/cmd/show.h"

static void render_ok(const char *json, const char *want)
{
	struct json_object *o = json_tokener_parse(json);
	struct buf b;
	assert_non_null(o);
	buf_init(&b, 1 << 20);
	assert_int_equal(show_render(&b, o), 0);
	assert_string_equal(buf_str(&b), want);
	buf_dispose(&b);
	json_object_put(o);
}

static void show_render__aligns_values_after_the_longest_key(void **state)
{
	(void)state;
	render_ok("{\"name\":\"b1\",\"formatVersion\":1,\"encrypted\":true}",
		  "name:          b1\n"
		  "formatVersion: 1\n"
		  "encrypted:     true\n");
}

static void show_render__flattens_objects_and_arrays_in_order(void **state)
{
	(void)state;
	render_ok("{\"objects\":[{\"key\":\"db.dump\",\"size\":10},{\"key\":\"f.tar\",\"size\":2}],"
		  "\"encryption\":{\"cipher\":\"AES256\",\"s2k\":{\"count\":65011712}}}",
		  "objects[0].key:       db.dump\n"
		  "objects[0].size:      10\n"
		  "objects[1].key:       f.tar\n"
		  "objects[1].size:      2\n"
		  "encryption.cipher:    AES256\n"
		  "encryption.s2k.count: 65011712\n");
}

static void show_render__null_and_empty_are_a_dash(void **state)
{
	(void)state;
	render_ok("{\"a\":null,\"bb\":{},\"ccc\":[],\"d\":\"\"}", "a:   -\n"
								  "bb:  -\n"
								  "ccc: -\n"
								  "d:   \n");
	render_ok("{}", "");
}

static void show_render__keeps_text_as_is(void **state)
{
	(void)state;
	/* Free text (requestedBy) is printed, not quoted or escaped. */
	render_ok("{\"requestedBy\":\"alice@example.com (groups: ops) \\u00e9\"}",
		  "requestedBy: alice@example.com (groups: ops) \xc3\xa9\n");
}

static void show_render__refuses_what_is_no_object(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1024);
	struct json_object *a = json_tokener_parse("[1,2]");
	assert_int_equal(show_render(&b, a), E_INVALID);
	assert_int_equal(show_render(&b, NULL), E_INVALID);
	assert_int_equal(b.len, 0);
	json_object_put(a);
	buf_dispose(&b);
}

static void show_render__a_full_buffer_is_too_big(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 8);
	struct json_object *o = json_tokener_parse("{\"a long key\":\"a long value\"}");
	assert_int_equal(show_render(&b, o), E_TOOBIG);
	json_object_put(o);
	buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(show_render__aligns_values_after_the_longest_key),
	    cmocka_unit_test(show_render__flattens_objects_and_arrays_in_order),
	    cmocka_unit_test(show_render__null_and_empty_are_a_dash),
	    cmocka_unit_test(show_render__keeps_text_as_is),
	    cmocka_unit_test(show_render__refuses_what_is_no_object),
	    cmocka_unit_test(show_render__a_full_buffer_is_too_big),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
