/* Child processes started without a shell, with piped stdin/stdout and the
 * tail of stderr kept for error messages. */
#ifndef LIFEBOAT_PROC_H
#define LIFEBOAT_PROC_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#define PROC_STDERR_TAIL 2048

enum {
	PROC_PIPE_STDIN = 1,	   /* p->in is the write end of the child's stdin */
	PROC_PIPE_STDOUT = 2,	   /* p->out is the read end of the child's stdout */
	PROC_STDOUT_TO_STDERR = 4, /* the child's stdout joins its captured stderr */
	PROC_STDOUT_NULL = 8,	   /* the child's stdout goes to /dev/null */
};

/* A proc holds nothing until proc_start succeeds. One that was never
 * started, whose start failed, or that was disposed (PROC_INIT, proc_init
 * or all zeros) is safe to pass to proc_close_in, proc_wait (0: nothing to
 * wait for), proc_kill, proc_stderr ("") and proc_dispose: a cleanup path
 * needs no "was it started" flag of its own. */
struct proc {
	pid_t pid;
	int in;	     /* -1 unless PROC_PIPE_STDIN */
	int out;     /* -1 unless PROC_PIPE_STDOUT */
	int err;     /* read end of stderr, drained by the thread */
	int started; /* proc_start succeeded: the fields above and below are ours */
	pthread_t drain;
	int drain_started;
	atomic_int exited; /* waited for: the drain stops once stderr is quiet */
	pthread_mutex_t lock;
	char tail[PROC_STDERR_TAIL]; /* last bytes of stderr, NUL-terminated */
	size_t tail_len;
	char name[64]; /* argv[0]'s base name, for messages */
	int status;    /* from waitpid once waited */
	int waited;
	int wait_errno; /* waitpid's errno when it failed: the status is unknown */
};

/* A proc that holds nothing, as an initializer and as a call. */
#define PROC_INIT                                                                                  \
	{                                                                                          \
		.in = -1, .out = -1, .err = -1                                                     \
	}
void proc_init(struct proc *p);
/* Starts argv[0] (looked up in PATH) with the current environment plus
 * env_extra ("K=V", NULL-terminated; may be NULL). stdin_fd >= 0 becomes the
 * child's stdin (the caller keeps and closes its copy). E_IO on failure,
 * E_NOTFOUND when the program cannot be found; p then holds nothing (as
 * after proc_init), whatever it held before: dispose it first. */
int proc_start(struct proc *p, const char *const argv[], const char *const env_extra[], int flags,
	       int stdin_fd) __attribute__((warn_unused_result));
/* Closes stdin's write end (EOF for the child). */
void proc_close_in(struct proc *p);
/* Waits for exit; returns 0 when it exited 0, else E_IO with the exit status
 * and the stderr tail in the message (wrapped by the caller). A failed
 * waitpid is E_IO too ("cannot wait for pg_dump: No child processes"):
 * a child whose status is unknown never counts as a success. Waiting again
 * returns the same. A SIGTERM or SIGINT ends the wait with interrupt_error
 * (E_IO), the child still running for proc_kill or proc_dispose. */
int proc_wait(struct proc *p);
/* proc_wait that waits on through a SIGTERM or SIGINT: for a child that
 * must not be abandoned (psql once COMMIT has been sent). */
int proc_wait_uninterrupted(struct proc *p);
/* SIGKILL then wait; for aborts. Leaves the thread's last error as it was. */
void proc_kill(struct proc *p);
/* The stderr tail with trailing whitespace trimmed; valid after proc_wait. */
const char *proc_stderr(struct proc *p);
/* Releases fds and the thread, killing the child if it was not waited for;
 * p then holds nothing (as after proc_init). */
void proc_dispose(struct proc *p);
int proc_capture(char **out, const char *const argv[], size_t cap);

#endif
