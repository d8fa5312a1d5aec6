/* SIGTERM and SIGINT, in one place: blocked in every thread, taken by one
 * signal thread that sets stage_interrupted (job/pipeline/stage.h) and wakes
 * whatever waits here, so a blocked read of pg_dump's pipe, a write to a
 * full pipe or a wait for a child returns at once. Kubernetes gives a Job
 * terminationGracePeriodSeconds (30 s by default) between SIGTERM and
 * SIGKILL; every wait of the job that can last longer goes through here or
 * watches stage_interrupted (common/http.h: http_set_interrupt). */
#ifndef LIFEBOAT_INTERRUPT_H
#define LIFEBOAT_INTERRUPT_H

#include <stddef.h>
#include <sys/types.h>

/* Blocks SIGTERM and SIGINT in the calling thread and starts the signal
 * thread. Call it first in main, before any other thread exists: threads
 * inherit the mask (ours, libzstd's and libcurl's alike), and children get
 * an empty one back from proc_start. 0, or E_IO when the thread or its pipe
 * cannot be made. */
int interrupt_start(void);
#define INTERRUPT_THREAD_NAME "lifeboat-signal"
/* What the signal thread does with a signal: the first sig is recorded in
 * stage_interrupted, and every wait below returns. Async-signal-safe. */
void interrupt_raise(int sig);
/* For tests only: forgets an interruption (stage_interrupted back to 0). */
void interrupt_clear(void);

/* read(2), but -1 with errno EINTR, without reading, once interrupted. */
ssize_t interrupt_read(int fd, void *buf, size_t n);
/* As interrupt_read, but returns only once it has min bytes (at most n), at
 * end of file (fewer, maybe 0), or at an error or signal (what it has, or
 * -1 when nothing). Between short reads it sleeps INTERRUPT_BATCH_WAIT_NS,
 * so that a slow producer's small writes reach us in batches: one wake-up,
 * poll and read per batch rather than per write. */
#define INTERRUPT_BATCH_WAIT_NS (1000 * 1000)
ssize_t interrupt_read_batch(int fd, void *buf, size_t n, size_t min);
/* Waits until fd is ready for events (POLLIN, POLLOUT): 0; -1 with errno
 * EINTR once interrupted (other errors of poll(2) as they are). */
int interrupt_poll(int fd, short events);
/* waitpid(pid, status, 0), but -1 with errno EINTR, the child left as it
 * is, once interrupted. */
pid_t interrupt_waitpid(pid_t pid, int *status);
/* What sends signal sig, for messages: "a Job deadline, a deletion or ^C"
 * (SIGTERM, SIGINT), "its terminal was closed" (SIGHUP). */
const char *interrupt_cause(int sig);
/* E_IO with the interruption's message (the signal, what sends it, that
 * nothing was committed); returns E_IO. */
int interrupt_error(void);
/* A command's outcome: rc as it is, unless it failed after a signal came;
 * then E_IO, whose message begins with the interruption (followed by the
 * failure it caused when that message does not say so itself). */
int interrupt_outcome(int rc);

#endif
