/* The signal thread and the waits that end when it has seen a signal. */
#include "job/pipeline/interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "job/pipeline/stage.h"

/* The read end becomes readable at the first signal and stays so (nothing
 * drains it): a level every poll below can watch. -1 before the start. */
static int wake[2] = {-1, -1};
static sigset_t signals;

static void *signal_main(void *arg)
{
	(void)arg;
	for (;;) {
		int sig = 0;
		if (sigwait(&signals, &sig) != 0)
			continue;
		int first = atomic_load(&stage_interrupted) == 0;
		interrupt_raise(sig);
		if (first)
			log_warn("received signal %d (%s): stopping; "
				 "what is unfinished is removed or rolled back",
				 sig, interrupt_cause(sig));
	}
	return NULL;
}

int interrupt_start(void)
{
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	/* A closed terminal (ssh dropped, the window shut) stops a run by hand
	 * as ^C would, cleaning up, rather than by the default action. */
	sigaddset(&signals, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &signals, NULL) != 0)
		return err_set(E_IO, "cannot block SIGTERM, SIGINT and SIGHUP");
	pthread_t t;
	int rc = 0;
	if (wake[0] < 0 && pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0)
		rc = err_set(E_IO, "cannot create the signal thread's pipe: %s", strerror(errno));
	else if (pthread_create(&t, NULL, signal_main, NULL) != 0)
		rc = err_set(E_IO, "cannot start the signal thread");
	if (rc) {
		/* Nobody would take them: leave them to their default action. */
		pthread_sigmask(SIG_UNBLOCK, &signals, NULL);
		return rc;
	}
	pthread_detach(t);
	/* Its name tells it apart (ps -L, /proc): while it waits in sigwait,
	 * the kernel shows SIGTERM and SIGINT unblocked in it alone. */
	pthread_setname_np(t, INTERRUPT_THREAD_NAME);
	return 0;
}

void interrupt_raise(int sig)
{
	int none = 0;
	atomic_compare_exchange_strong(&stage_interrupted, &none, sig);
	if (wake[1] >= 0) {
		ssize_t ignored = write(wake[1], "!", 1);
		(void)ignored;
	}
}

void interrupt_clear(void)
{
	char drain[64];
	if (wake[0] >= 0)
		while (read(wake[0], drain, sizeof(drain)) > 0)
			;
	atomic_store(&stage_interrupted, 0);
}

/* Polls fd for events and the wake pipe, for at most timeout_ms (-1: no
 * limit): 1 when fd is ready, 0 on timeout, -1 (errno EINTR) when
 * interrupted, -1 with poll's errno on its other errors. */
static int wait_for(int fd, short events, int timeout_ms)
{
	for (;;) {
		if (atomic_load(&stage_interrupted)) {
			errno = EINTR;
			return -1;
		}
		struct pollfd p[2] = {{fd, events, 0}, {wake[0], POLLIN, 0}};
		int r = poll(p, 2, timeout_ms);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0)
			return 0;
		if (r > 0 && p[0].revents)
			return atomic_load(&stage_interrupted) ? (errno = EINTR, -1) : 1;
	}
}

ssize_t interrupt_read(int fd, void *buf, size_t n)
{
	if (wait_for(fd, POLLIN, -1) < 0)
		return -1;
	return read(fd, buf, n);
}

ssize_t interrupt_read_batch(int fd, void *buf, size_t n, size_t min)
{
	size_t got = 0;
	while (got < min && got < n) {
		ssize_t r = interrupt_read(fd, (char *)buf + got, n - got);
		if (r < 0)
			return got ? (ssize_t)got : -1;
		if (r == 0)
			break;
		got += (size_t)r;
		if (got < min) {
			/* Let the producer fill the pipe rather than wake for each
			 * of its writes (pg_dump writes a few KiB at a time). */
			struct timespec ts = {0, INTERRUPT_BATCH_WAIT_NS};
			nanosleep(&ts, NULL);
		}
	}
	return (ssize_t)got;
}

int interrupt_poll(int fd, short events)
{
	return wait_for(fd, events, -1) < 0 ? -1 : 0;
}

pid_t interrupt_waitpid(pid_t pid, int *status)
{
	/* A pidfd is readable once the child exits; without one (a kernel
	 * before 5.3, a seccomp filter), look every 20 ms. */
	int pidfd = -1;
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	pid_t r;
	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r != 0 && !(r < 0 && errno == EINTR))
			break;
		if (wait_for(pidfd, POLLIN, pidfd >= 0 ? -1 : 20) < 0 && errno == EINTR) {
			r = -1;
			break;
		}
	}
	int e = errno;
	if (pidfd >= 0)
		close(pidfd);
	errno = e;
	return r;
}

const char *interrupt_cause(int sig)
{
	return sig == SIGHUP ? "its terminal was closed" : "a Job deadline, a deletion or ^C";
}

int interrupt_error(void)
{
	int sig = atomic_load(&stage_interrupted);
	return err_set(E_IO, "interrupted by signal %d (%s): stopped before anything was committed",
		       sig, interrupt_cause(sig));
}

int interrupt_outcome(int rc)
{
	int sig = atomic_load(&stage_interrupted);
	if (!rc || !sig)
		return rc;
	if (strstr(err_msg(), "interrupted by signal"))
		return err_set(E_IO, "%s", err_msg());
	return err_set(E_IO, "interrupted by signal %d (%s): %s", sig, interrupt_cause(sig),
		       err_msg());
}
