/* Tests for job/pipeline/interrupt.c: SIGTERM, SIGINT and SIGHUP are blocked in every thread
 * (ours, libzstd's) and in no child, the signal thread takes them, and the
 * waits it wakes (a read, a full pipe, a child) end at once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/pipeline/async.h"
#include "job/pipeline/compress.h"
#include "job/pipeline/interrupt.h"
#include "job/pipeline/parts.h"
#include "job/pipeline/proc.h"
#include "job/pipeline/stage.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SigBlk of /proc/PATH/status, as a mask. */
static unsigned long long blocked_in(const char *status)
{
	const char *p = strstr(status, "SigBlk:");
	assert_non_null(p);
	return strtoull(p + 7, NULL, 16);
}

static const unsigned long long TERM_INT =
    (1ull << (SIGTERM - 1)) | (1ull << (SIGINT - 1)) | (1ull << (SIGHUP - 1));

static int null_upload(void *ctx, int worker, int part_no, const uint8_t *data, size_t len,
		       char id[PARTS_ID_MAX])
{
	(void)ctx;
	(void)worker;
	(void)data;
	(void)len;
	snprintf(id, PARTS_ID_MAX, "%d", part_no);
	return 0;
}

static const struct parts_backend null_parts = {null_upload};

static void interrupt_start__every_thread_blocks_sigterm_and_sigint(void **state)
{
	(void)state;
	assert_int_equal(interrupt_start(), 0);
	/* Threads of each kind: the async stage's, zstd's workers, the parts
	 * workers, a child's stderr drain. */
	struct compress_spec cs;
	assert_int_equal(compress_parse(&cs, "zstd:1", "--compression"), 0);
	struct stage *chain = compress_new(&cs, 2, async_new(stage_null_new()));
	uint8_t *data = xmalloc(8 << 20);
	for (size_t i = 0; i < (8u << 20); i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	assert_int_equal(stage_write(chain, data, 8 << 20), 0);
	struct parts *parts = parts_new(&null_parts, NULL, 1024, 3);
	struct proc sleeper;
	const char *argv[] = {"sleep", "5", NULL};
	assert_int_equal(proc_start(&sleeper, argv, NULL, 0, -1), 0);

	DIR *d = opendir("/proc/self/task");
	assert_non_null(d);
	int threads = 0, signal_threads = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char path[320], buf[4096];
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue; /* a thread that just ended */
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		threads++;
		/* The one that takes them: sigwait unblocks them while it waits. */
		if (strstr(buf, "Name:\t" INTERRUPT_THREAD_NAME "\n")) {
			signal_threads++;
			continue;
		}
		if ((blocked_in(buf) & TERM_INT) != TERM_INT)
			fail_msg("thread %s does not block SIGTERM, SIGINT and SIGHUP: %.200s",
				 e->d_name, buf);
	}
	closedir(d);
	/* main, the signal thread, async, 2 zstd, 3 parts, the drain */
	assert_true(threads >= 9);
	assert_int_equal(signal_threads, 1);

	proc_kill(&sleeper);
	proc_dispose(&sleeper);
	parts_free(parts);
	stage_free_chain(chain);
	free(data);
}

static void proc_start__the_child_blocks_no_signal(void **state)
{
	(void)state;
	char *out = NULL;
	const char *argv[] = {"cat", "/proc/self/status", NULL};
	assert_int_equal(proc_capture(&out, argv, 65536), 0);
	assert_int_equal(blocked_in(out) & TERM_INT, 0);
	free(out);
}

struct raiser {
	pthread_t thread;
	long after_ms;
};

static void *raise_main(void *arg)
{
	struct raiser *r = arg;
	nanosleep(&(struct timespec){r->after_ms / 1000, (r->after_ms % 1000) * 1000000L}, NULL);
	interrupt_raise(SIGTERM);
	return NULL;
}

static void raise_soon(struct raiser *r)
{
	r->after_ms = 200;
	assert_int_equal(pthread_create(&r->thread, NULL, raise_main, r), 0);
}

static void interrupt_read__reads_what_is_there(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "abc", 3), 3);
	char buf[8];
	assert_int_equal(interrupt_read(fds[0], buf, sizeof(buf)), 3);
	close(fds[1]);
	assert_int_equal(interrupt_read(fds[0], buf, sizeof(buf)), 0);
	close(fds[0]);
}

static void interrupt_read__an_empty_pipe_returns_at_the_signal(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	struct raiser r;
	raise_soon(&r);
	char buf[8];
	errno = 0;
	assert_int_equal(interrupt_read(fds[0], buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINTR);
	pthread_join(r.thread, NULL);
	close(fds[0]);
	close(fds[1]);
	interrupt_clear();
}

static void stage_fd__a_full_pipe_gives_up_at_the_signal(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	struct stage *s = stage_fd_new(fds[1], "pg_restore's stdin");
	size_t n = 4 << 20; /* far more than a pipe holds */
	uint8_t *data = xcalloc(1, n);
	struct raiser r;
	raise_soon(&r);
	assert_int_equal(stage_write(s, data, n), E_IO);
	assert_non_null(strstr(err_msg(), "interrupted by signal 15"));
	pthread_join(r.thread, NULL);
	stage_free_chain(s);
	/* The pipe is blocking again, as the stage found it. */
	assert_int_equal(fcntl(fds[1], F_GETFL) & O_NONBLOCK, 0);
	free(data);
	close(fds[0]);
	close(fds[1]);
	interrupt_clear();
}

static void proc_wait__a_running_child_is_left_at_the_signal(void **state)
{
	(void)state;
	struct proc p;
	const char *argv[] = {"sleep", "30", NULL};
	assert_int_equal(proc_start(&p, argv, NULL, 0, -1), 0);
	struct raiser r;
	raise_soon(&r);
	double t0 = now_s();
	assert_int_equal(proc_wait(&p), E_IO);
	assert_true(now_s() - t0 < 5.0);
	assert_non_null(strstr(err_msg(), "interrupted by signal 15"));
	pthread_join(r.thread, NULL);
	assert_int_equal(kill(p.pid, 0), 0); /* still running, for proc_kill */
	proc_kill(&p);
	proc_dispose(&p);
	interrupt_clear();
}

static void proc_wait_uninterrupted__waits_through_the_signal(void **state)
{
	(void)state;
	struct proc p;
	const char *argv[] = {"sleep", "0.5", NULL};
	assert_int_equal(proc_start(&p, argv, NULL, 0, -1), 0);
	interrupt_raise(SIGTERM);
	assert_int_equal(proc_wait_uninterrupted(&p), 0);
	proc_dispose(&p);
	interrupt_clear();
}

/* Last: a real SIGTERM to the process reaches the signal thread, whatever
 * thread the kernel picks (all of them block it). */
static void interrupt_start__the_signal_thread_takes_sigterm(void **state)
{
	(void)state;
	assert_int_equal(atomic_load(&stage_interrupted), 0);
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	for (int i = 0; i < 200 && !atomic_load(&stage_interrupted); i++)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	assert_int_equal(atomic_load(&stage_interrupted), SIGTERM);
	/* The first signal is the one recorded. */
	assert_int_equal(kill(getpid(), SIGINT), 0);
	nanosleep(&(struct timespec){0, 100000000}, NULL);
	assert_int_equal(atomic_load(&stage_interrupted), SIGTERM);
	struct stage *s = stage_null_new();
	assert_int_equal(stage_write(s, (const uint8_t *)"x", 1), E_IO);
	stage_free_chain(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(interrupt_start__every_thread_blocks_sigterm_and_sigint),
	    cmocka_unit_test(proc_start__the_child_blocks_no_signal),
	    cmocka_unit_test(interrupt_read__reads_what_is_there),
	    cmocka_unit_test(interrupt_read__an_empty_pipe_returns_at_the_signal),
	    cmocka_unit_test(stage_fd__a_full_pipe_gives_up_at_the_signal),
	    cmocka_unit_test(proc_wait__a_running_child_is_left_at_the_signal),
	    cmocka_unit_test(proc_wait_uninterrupted__waits_through_the_signal),
	    cmocka_unit_test(interrupt_start__the_signal_thread_takes_sigterm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
