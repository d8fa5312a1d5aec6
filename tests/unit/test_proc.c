/* Tests for job/proc.c: starting children, waiting for them (failing closed
 * when the wait itself fails), the capture cap and the zero-safe state. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/err.h"
#include "../../job/proc.h"

/* A hang fails the test binary (SIGALRM's default action) instead of
 * blocking the suite: cmocka has no timeout of its own. */
#define HANG_GUARD_SECONDS 30

static void proc_wait__exit_zero_is_success(void **state)
{
	(void)state;
	struct proc p;
	const char *const argv[] = {"true", NULL};
	assert_int_equal(proc_start(&p, argv, NULL, 0, -1), 0);
	assert_int_equal(proc_wait(&p), 0);
	proc_dispose(&p);
}

static void proc_wait__exit_status_is_an_error_naming_the_program(void **state)
{
	(void)state;
	struct proc p;
	const char *const argv[] = {"false", NULL};
	assert_int_equal(proc_start(&p, argv, NULL, 0, -1), 0);
	assert_int_equal(proc_wait(&p), E_IO);
	assert_string_equal(err_msg(), "false exited with status 1");
	proc_dispose(&p);
}

/* With SIGCHLD ignored the kernel reaps children itself and waitpid fails
 * with ECHILD: the child's fate is unknown, so it must not count as a
 * success. */
static void proc_wait__failed_waitpid_fails_closed(void **state)
{
	(void)state;
	struct proc p;
	const char *const argv[] = {"true", NULL};
	alarm(HANG_GUARD_SECONDS);
	signal(SIGCHLD, SIG_IGN);
	int rc = proc_start(&p, argv, NULL, 0, -1);
	int wrc = rc ? rc : proc_wait(&p);
	char msg[512];
	snprintf(msg, sizeof(msg), "%s", err_msg());
	proc_dispose(&p);
	signal(SIGCHLD, SIG_DFL);
	alarm(0);
	assert_int_equal(rc, 0);
	assert_int_equal(wrc, E_IO);
	assert_non_null(strstr(msg, "cannot wait for true: No child processes"));
}

static void proc_capture__returns_the_output_up_to_the_cap(void **state)
{
	(void)state;
	const char *const argv[] = {"printf", "%s", "abc", NULL};
	char *out = NULL;
	assert_int_equal(proc_capture(&out, argv, 3), 0);
	assert_string_equal(out, "abc");
	free(out);
}

/* Output past the cap is an error, never a silently cut text. */
static void proc_capture__output_past_the_cap_is_an_error(void **state)
{
	(void)state;
	const char *const argv[] = {"printf", "%s", "abc", NULL};
	char *out = NULL;
	assert_int_equal(proc_capture(&out, argv, 2), E_TOOBIG);
	assert_null(out);
	assert_non_null(strstr(err_msg(), "printf"));
	assert_non_null(strstr(err_msg(), "2 bytes"));
}

/* A child that keeps writing must not block the capture once the cap is
 * reached: it is stopped and reaped, and the call returns. */
static void proc_capture__endless_writer_is_stopped_at_the_cap(void **state)
{
	(void)state;
	const char *const argv[] = {"yes", NULL};
	char *out = NULL;
	alarm(HANG_GUARD_SECONDS);
	int rc = proc_capture(&out, argv, 4096);
	alarm(0);
	assert_int_equal(rc, E_TOOBIG);
	assert_null(out);
	assert_non_null(strstr(err_msg(), "yes"));
	assert_non_null(strstr(err_msg(), "4096 bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(proc_wait__exit_zero_is_success),
	    cmocka_unit_test(proc_wait__exit_status_is_an_error_naming_the_program),
	    cmocka_unit_test(proc_wait__failed_waitpid_fails_closed),
	    cmocka_unit_test(proc_capture__returns_the_output_up_to_the_cap),
	    cmocka_unit_test(proc_capture__output_past_the_cap_is_an_error),
	    cmocka_unit_test(proc_capture__endless_writer_is_stopped_at_the_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
