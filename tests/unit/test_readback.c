/* Tests for job/pipeline/readback.c: what a cleanup path may rely on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/err.h"
#include "job/model/manifest.h"
#include "job/pipeline/readback.h"
#include "job/pipeline/stage.h"

static void readback_dispose__zero_safe_and_idempotent(void **state)
{
	(void)state;
	static const struct readback zero;
	struct readback rb;
	memset(&rb, 0, sizeof(rb));
	readback_dispose(&rb);
	assert_memory_equal(&rb, &zero, sizeof(rb));
	readback_dispose(&rb);
}

/* A failed init takes the sink and leaves the readback holding nothing. */
static void readback_init__failure_leaves_it_zero(void **state)
{
	(void)state;
	static const struct readback zero;
	struct manifest m;
	struct readback rb;
	manifest_init(&m);
	m.compression = (char *)(uintptr_t) "zstd";
	m.encrypted = 1;
	memset(&rb, 0xff, sizeof(rb));
	assert_int_equal(readback_init(&rb, &m, NULL, 0, stage_null_new()), E_INVALID);
	assert_memory_equal(&rb, &zero, sizeof(rb));
	readback_dispose(&rb);
	m.compression = (char *)(uintptr_t) "lz4";
	memset(&rb, 0xff, sizeof(rb));
	assert_int_equal(readback_init(&rb, &m, "pw", 2, stage_null_new()), E_UNSUPPORTED);
	assert_memory_equal(&rb, &zero, sizeof(rb));
	readback_dispose(&rb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(readback_dispose__zero_safe_and_idempotent),
	    cmocka_unit_test(readback_init__failure_leaves_it_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
