/* Tests for operator/kube/informer.c without an API server: its timed waits
 * (the sync wait and the backoff after a failed list) run on CLOCK_MONOTONIC,
 * so a step of the wall clock neither cuts them short nor stretches them.
 * The list, watch and 410 behaviour is tested against a real control plane
 * (tests/kube/run.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "operator/kube/informer.h"
#include "operator/kube/kubeconfig.h"

/* The wall clock as this process sees it, shifted by this many seconds: a
 * stand-in for a step of the system clock (settimeofday, NTP), which a test
 * cannot make. This definition takes the place of the C library's for the
 * whole test binary; CLOCK_MONOTONIC and the kernel's own clocks (what a
 * timed wait sleeps on) are left alone, exactly as a real step leaves them. */
static volatile long wall_step_s;

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc = (int)syscall(SYS_clock_gettime, id, ts);
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += wall_step_s;
	return rc;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int teardown(void **state)
{
	(void)state;
	wall_step_s = 0;
	return 0;
}

/* A port nothing listens on (bound, then closed). */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t alen = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* How long informer_wait_synced(200 ms) takes, in ms, with the wall clock
 * stepped by step_s seconds; the informer never syncs (it is not started). */
static int64_t sync_wait_ms(long step_s)
{
	struct kube_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	struct informer *inf = informer_new(&cfg, &KUBE_PODS, NULL, NULL, NULL);
	wall_step_s = step_s;
	int64_t t0 = mono_ms();
	assert_int_equal(informer_wait_synced(inf, 200), E_TIMEOUT);
	int64_t took = mono_ms() - t0;
	wall_step_s = 0;
	informer_free(inf);
	return took;
}

/* The clock jumped ahead (the deadline, if taken from the wall clock, is
 * already behind the kernel's): the wait must still last its 200 ms. */
static void informer_wait_synced__lasts_its_timeout_after_a_forward_step(void **state)
{
	(void)state;
	assert_true(sync_wait_ms(0) >= 200);
	int64_t took = sync_wait_ms(-3600);
	if (took < 200)
		fail_msg("a 200 ms wait returned after %lld ms: it is timed on the wall clock",
			 (long long)took);
}

/* The clock went back: a wall-clock deadline would lie 20 s further out. */
static void informer_wait_synced__not_stretched_by_a_backward_step(void **state)
{
	(void)state;
	int64_t took = sync_wait_ms(20);
	assert_true(took >= 200);
	/* Generous: the wait is 200 ms; a wall-clock one would be 20.2 s. */
	if (took >= 10000)
		fail_msg("a 200 ms wait took %lld ms: it is timed on the wall clock",
			 (long long)took);
}

/* After a failed list the informer backs off 100..200 ms (jittered) before
 * the next one. Timed on the wall clock, a forward step turns every pause
 * into none: it relists in a tight loop against a server that is down. */
static void informer_backoff__pauses_after_a_forward_step(void **state)
{
	(void)state;
	char server[64];
	snprintf(server, sizeof(server), "http://127.0.0.1:%d", closed_port());
	struct kube_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.server = server;
	enum log_level was = log_get_level();
	log_set_level(LOG_LEVEL_ERROR); /* each failed list warns */
	struct informer *inf = informer_new(&cfg, &KUBE_PODS, NULL, NULL, NULL);
	informer_set_timing(inf, 5, 200, 200);
	wall_step_s = -3600;
	int64_t t0 = mono_ms();
	assert_int_equal(informer_start(inf), 0);
	struct timespec nap = {1, 0};
	while (nanosleep(&nap, &nap) != 0)
		;
	struct informer_stats st;
	informer_get_stats(inf, &st);
	int64_t took = mono_ms() - t0;
	informer_free(inf);
	wall_step_s = 0;
	log_set_level(was);
	assert_true(st.errors >= 1);
	/* Each failure is followed by a pause of at least 100 ms: in `took` ms
	 * there is room for at most took / 100 + 1 failures. */
	if ((int64_t)st.errors > took / 100 + 1)
		fail_msg("%llu failed lists in %lld ms: the backoff did not pause",
			 (unsigned long long)st.errors, (long long)took);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(informer_wait_synced__lasts_its_timeout_after_a_forward_step,
				      teardown),
	    cmocka_unit_test_teardown(informer_wait_synced__not_stretched_by_a_backward_step,
				      teardown),
	    cmocka_unit_test_teardown(informer_backoff__pauses_after_a_forward_step, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
