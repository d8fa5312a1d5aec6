/* Tests for job/pipeline/proc.c: starting children, waiting for them (failing closed
 * when the wait itself fails), the capture cap and the zero-safe state. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "job/pipeline/proc.h"

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

/* Open descriptors of this process, and the highest of them. */
static int open_fds(int *highest)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0, fd_of_d = dirfd(d);
	*highest = -1;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != fd_of_d) {
			n++;
			if (atoi(e->d_name) > *highest)
				*highest = atoi(e->d_name);
		}
	closedir(d);
	return n;
}

/* The highest open descriptor under limit (-1 if none). */
static int highest_fd_below(rlim_t limit)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int highest = -1, fd_of_d = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd != fd_of_d && (rlim_t)fd < limit && fd > highest)
			highest = fd;
	}
	closedir(d);
	return highest;
}

/* Every call a caller's cleanup path makes, on a proc that holds nothing:
 * none blocks, closes a descriptor it does not own, or reports a failure. */
static void check_holds_nothing(struct proc *p)
{
	int highest, before = open_fds(&highest);
	assert_int_equal(p->pid, 0);
	proc_close_in(p);
	assert_int_equal(proc_wait(p), 0);
	proc_kill(p);
	assert_string_equal(proc_stderr(p), "");
	proc_dispose(p);
	proc_dispose(p);
	assert_int_equal(proc_wait(p), 0);
	assert_int_equal(open_fds(&highest), before);
	assert_int_equal(p->in, -1);
	assert_int_equal(p->out, -1);
	assert_int_equal(p->err, -1);
	/* stdin is still ours (a zeroed proc holds fd 0 in its fields). */
	assert_true(fcntl(STDIN_FILENO, F_GETFD) >= 0);
}

static void ensure_stdin_open(void)
{
	if (fcntl(STDIN_FILENO, F_GETFD) < 0)
		assert_int_equal(open("/dev/null", O_RDONLY), STDIN_FILENO);
}

static void proc_init__never_started_proc_is_safe_to_clean_up(void **state)
{
	(void)state;
	ensure_stdin_open();
	struct proc a = PROC_INIT;
	check_holds_nothing(&a);
	struct proc b;
	memset(&b, 0x5a, sizeof(b));
	proc_init(&b);
	check_holds_nothing(&b);
}

/* A zero-filled proc (a memset or calloc'ed struct holding one) is safe too:
 * its zero descriptors are not taken for stdin. */
static void proc_init__zero_filled_proc_is_safe_to_clean_up(void **state)
{
	(void)state;
	ensure_stdin_open();
	struct proc p;
	memset(&p, 0, sizeof(p));
	proc_dispose(&p);
	assert_true(fcntl(STDIN_FILENO, F_GETFD) >= 0);
	memset(&p, 0, sizeof(p));
	check_holds_nothing(&p);
}

static void proc_start__missing_program_leaves_the_safe_state(void **state)
{
	(void)state;
	ensure_stdin_open();
	int highest, before = open_fds(&highest);
	struct proc p;
	const char *const argv[] = {"lifeboat-test-no-such-program", NULL};
	assert_int_equal(proc_start(&p, argv, NULL, PROC_PIPE_STDIN | PROC_PIPE_STDOUT, -1),
			 E_NOTFOUND);
	assert_non_null(strstr(err_msg(), "cannot run lifeboat-test-no-such-program"));
	assert_int_equal(open_fds(&highest), before);
	check_holds_nothing(&p);
	/* The error stays the start's: cleaning up reported nothing. */
	assert_non_null(strstr(err_msg(), "cannot run lifeboat-test-no-such-program"));
}

/* Out of descriptors after the first pipe: the second cannot be made, and
 * the first is closed again. */
static void proc_start__pipe_failure_leaves_the_safe_state(void **state)
{
	(void)state;
	ensure_stdin_open();
	int highest, before = open_fds(&highest);
	struct rlimit was;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
	/* Only descriptors under the soft limit count: valgrind keeps its own
	 * above it, and refuses a soft limit past its own hard one. */
	int highest_ours = highest_fd_below(was.rlim_cur);
	struct rlimit low = was;
	if ((rlim_t)highest_ours + 64 < was.rlim_cur)
		low.rlim_cur = (rlim_t)highest_ours + 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* Take every free descriptor, then give back three: one pipe's worth
	 * and one more. */
	static int filler[1024];
	size_t nfill = 0;
	int fd;
	while (nfill < sizeof(filler) / sizeof(filler[0]) &&
	       (fd = open("/dev/null", O_RDONLY)) >= 0)
		filler[nfill++] = fd;
	assert_true(nfill >= 3);
	for (int i = 0; i < 3; i++)
		close(filler[--nfill]);
	struct proc p;
	const char *const argv[] = {"true", NULL};
	int rc = proc_start(&p, argv, NULL, PROC_PIPE_STDIN | PROC_PIPE_STDOUT, -1);
	char msg[512];
	snprintf(msg, sizeof(msg), "%s", err_msg());
	while (nfill > 0)
		close(filler[--nfill]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
	assert_int_equal(rc, E_IO);
	assert_non_null(strstr(msg, "cannot create pipes for true"));
	assert_int_equal(open_fds(&highest), before);
	check_holds_nothing(&p);
}

/* A grandchild that inherited the child's stderr (a wrapper script's
 * background job) keeps the pipe open after the child exits: the wait still
 * ends, with the child's status and what it wrote. Run in a forked process
 * under an alarm, so a wait that hangs fails the test instead of stalling. */
static void proc_wait__a_grandchild_holding_stderr_does_not_hold_the_wait(void **state)
{
	(void)state;
	int marker[2];
	assert_int_equal(pipe(marker), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(marker[0]);
		alarm(20);
		struct proc p;
		/* The grandchild writes its pid so the parent can end it. */
		char script[128];
		snprintf(script, sizeof(script),
			 "sleep 600 & echo $! >&%d; echo to-stderr >&2; exit 3", marker[1]);
		const char *const argv[] = {"sh", "-c", script, NULL};
		if (proc_start(&p, argv, NULL, 0, -1) != 0)
			_exit(10);
		int rc = proc_wait(&p);
		int ok = rc == E_IO && strstr(err_msg(), "sh exited with status 3: to-stderr");
		proc_dispose(&p);
		_exit(ok ? 0 : 11);
	}
	close(marker[1]);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	char buf[32] = "";
	ssize_t n = read(marker[0], buf, sizeof(buf) - 1);
	close(marker[0]);
	if (n > 0) {
		buf[n] = '\0';
		kill((pid_t)atoi(buf), SIGKILL);
	}
	if (WIFSIGNALED(st))
		fail_msg("the wait hung (ended by signal %d)", WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Wait, then kill and dispose (a caller's abort path after a success): the
 * status stays, nothing is waited twice. */
static void proc_dispose__after_wait_and_kill_is_safe(void **state)
{
	(void)state;
	int highest, before = open_fds(&highest);
	struct proc p;
	const char *const argv[] = {"sh", "-c", "echo to-stderr >&2; exit 3", NULL};
	assert_int_equal(proc_start(&p, argv, NULL, PROC_PIPE_STDIN | PROC_PIPE_STDOUT, -1), 0);
	assert_int_equal(proc_wait(&p), E_IO);
	assert_non_null(strstr(err_msg(), "sh exited with status 3: to-stderr"));
	assert_int_equal(proc_wait(&p), E_IO);
	proc_kill(&p);
	proc_dispose(&p);
	check_holds_nothing(&p);
	assert_int_equal(open_fds(&highest), before);
}

/* How backup and restore start pg_dump and psql: the target's libpq
 * variables as env_extra. LIFEBOAT_DB (its URI may hold the password) is
 * never passed on; the password reaches the child as PGPASSWORD. */
static void proc_start__children_never_see_lifeboat_db(void **state)
{
	(void)state;
	setenv("LIFEBOAT_DB", "postgresql://u:db-secret-1@h/db", 1);
	setenv("LIFEBOAT_TEST_PLAIN", "plain-value-2", 1);
	setenv("PGHOST", "from-environ", 1);
	const char *const env_extra[] = {"PGPASSWORD=db-secret-1", "PGHOST=h", NULL};
	const char *const argv[] = {"env", NULL};
	struct proc p;
	assert_int_equal(proc_start(&p, argv, env_extra, PROC_PIPE_STDOUT, -1), 0);
	char out[65536];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(out) - 1 && (r = read(p.out, out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	assert_int_equal(proc_wait(&p), 0);
	proc_dispose(&p);
	unsetenv("LIFEBOAT_DB");
	unsetenv("LIFEBOAT_TEST_PLAIN");
	unsetenv("PGHOST");
	assert_null(strstr(out, "LIFEBOAT_DB"));
	assert_non_null(strstr(out, "LIFEBOAT_TEST_PLAIN=plain-value-2\n"));
	assert_non_null(strstr(out, "PGPASSWORD=db-secret-1\n"));
	/* env_extra replaces the inherited value. */
	assert_non_null(strstr(out, "PGHOST=h\n"));
	assert_null(strstr(out, "from-environ"));
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
	    cmocka_unit_test(proc_init__never_started_proc_is_safe_to_clean_up),
	    cmocka_unit_test(proc_init__zero_filled_proc_is_safe_to_clean_up),
	    cmocka_unit_test(proc_start__missing_program_leaves_the_safe_state),
	    cmocka_unit_test(proc_start__pipe_failure_leaves_the_safe_state),
	    cmocka_unit_test(proc_dispose__after_wait_and_kill_is_safe),
	    cmocka_unit_test(proc_wait__a_grandchild_holding_stderr_does_not_hold_the_wait),
	    cmocka_unit_test(proc_start__children_never_see_lifeboat_db),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
