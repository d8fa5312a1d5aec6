/* Child process management: fork/exec, pipes, stderr tail, wait. */
#include "job/pipeline/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/jobenv.h"
#include "common/xmalloc.h"
#include "job/pipeline/interrupt.h"
#include "job/pipeline/stage.h"

extern char **environ;

/* Once the child has exited, what it left in its stderr pipe is still read;
 * but a grandchild that inherited the pipe (a wrapper script's background
 * job) keeps it open, and must not hold the wait: the drain then stops when
 * the pipe has been quiet for DRAIN_QUIET_MS, or DRAIN_AFTER_EXIT_MS after
 * the exit at the latest. */
#define DRAIN_POLL_MS 200
/* The size asked for a data pipe (the default is 64 KiB). */
#define PROC_PIPE_BYTES (1 << 20)
#define DRAIN_QUIET_MS 100
#define DRAIN_AFTER_EXIT_MS 2000

static void *drain_main(void *arg)
{
	struct proc *p = arg;
	char chunk[PROC_STDERR_TAIL / 2];
	int64_t exited_at = -1;
	for (;;) {
		if (exited_at < 0 && atomic_load(&p->exited))
			exited_at = clock_mono_ms();
		if (exited_at >= 0 && clock_mono_ms() - exited_at >= DRAIN_AFTER_EXIT_MS)
			break;
		struct pollfd pfd = {.fd = p->err, .events = POLLIN};
		int pr = poll(&pfd, 1, exited_at >= 0 ? DRAIN_QUIET_MS : DRAIN_POLL_MS);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0 && exited_at >= 0)
			break;
		if (pr == 0)
			continue;
		ssize_t r = read(p->err, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* Also pass the child's messages to our stderr, for the Job's log. */
		ssize_t ignored = write(STDERR_FILENO, chunk, (size_t)r);
		(void)ignored;
		pthread_mutex_lock(&p->lock);
		/* chunk is smaller than the tail, so one shift makes room. */
		size_t n = (size_t)r;
		if (p->tail_len + n > sizeof(p->tail) - 1) {
			size_t drop = p->tail_len + n - (sizeof(p->tail) - 1);
			memmove(p->tail, p->tail + drop, p->tail_len - drop);
			p->tail_len -= drop;
		}
		memcpy(p->tail + p->tail_len, chunk, n);
		p->tail_len += n;
		p->tail[p->tail_len] = '\0';
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

/* environ with env_extra's keys replaced or added, and without the secrets
 * no child needs: the jobenv table decides (every variable marked secret but
 * those libpq in pg_dump, pg_restore and psql reads itself, PGPASSWORD).
 * Built before fork so the child allocates nothing. The array (not the
 * strings) is the caller's. */
static char **build_env(const char *const env_extra[])
{
	size_t n = 0, m = 0;
	while (environ[n])
		n++;
	while (env_extra && env_extra[m])
		m++;
	char **envp = xcalloc(n + m + 1, sizeof(*envp));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t klen = strcspn(environ[i], "=");
		int replaced = 0;
		for (size_t j = 0; j < m && !replaced; j++)
			replaced = strncmp(env_extra[j], environ[i], klen) == 0 &&
				   env_extra[j][klen] == '=';
		if (!replaced && !jobenv_withheld(environ[i]))
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		envp[k++] = (char *)(uintptr_t)env_extra[j];
	envp[k] = NULL;
	return envp;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

void proc_init(struct proc *p)
{
	memset(p, 0, sizeof(*p));
	p->in = p->out = p->err = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Reaps a child the start gives up on; its status does not matter. */
static void reap_quietly(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Grows a pipe to PROC_PIPE_BYTES, or to the system's limit
 * (/proc/sys/fs/pipe-max-size) when that is lower; failure keeps its size. */
static void pipe_widen(int fd)
{
#ifdef F_SETPIPE_SZ
	if (fcntl(fd, F_SETPIPE_SZ, PROC_PIPE_BYTES) < 0) {
		FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");
		long max = 0;
		if (f) {
			if (fscanf(f, "%ld", &max) != 1)
				max = 0;
			fclose(f);
		}
		if (max > 0 && max < PROC_PIPE_BYTES)
			(void)fcntl(fd, F_SETPIPE_SZ, (int)max);
	}
#else
	(void)fd;
#endif
}

int proc_start(struct proc *p, const char *const argv[], const char *const env_extra[], int flags,
	       int stdin_fd)
{
	/* Ours until the end: every failure closes what is still open here
	 * and leaves p as proc_init does. */
	int fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
	int *in = fds, *out = fds + 2, *errp = fds + 4, *ex = fds + 6;
	const char *name = base_name(argv[0]);
	char **envp = NULL;
	pid_t pid = -1;
	int rc = 0;
	proc_init(p);
	if (((flags & PROC_PIPE_STDIN) && pipe2(in, O_CLOEXEC)) ||
	    ((flags & PROC_PIPE_STDOUT) && pipe2(out, O_CLOEXEC)) || pipe2(errp, O_CLOEXEC) ||
	    pipe2(ex, O_CLOEXEC)) {
		rc = err_set(E_IO, "cannot create pipes for %s: %s", name, strerror(errno));
		goto fail;
	}
	/* 1 MiB data pipes (or the system's limit): the producer runs ahead of
	 * its reader, with fewer wake-ups and syscalls per MiB on both sides. */
	if (flags & PROC_PIPE_STDIN)
		pipe_widen(in[1]);
	if (flags & PROC_PIPE_STDOUT)
		pipe_widen(out[0]);
	envp = build_env(env_extra);
	pid = fork();
	if (pid < 0) {
		rc = err_set(E_IO, "cannot start %s: %s", name, strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		/* Child: only async-signal-safe calls until exec. */
		if (flags & PROC_PIPE_STDIN)
			dup2(in[0], STDIN_FILENO);
		else if (stdin_fd >= 0)
			dup2(stdin_fd, STDIN_FILENO);
		if (flags & PROC_PIPE_STDOUT) {
			dup2(out[1], STDOUT_FILENO);
		} else if (flags & PROC_STDOUT_TO_STDERR) {
			dup2(errp[1], STDOUT_FILENO);
		} else if (flags & PROC_STDOUT_NULL) {
			int devnull = open("/dev/null", O_WRONLY);
			if (devnull >= 0)
				dup2(devnull, STDOUT_FILENO);
		}
		dup2(errp[1], STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		/* Ours blocks SIGTERM and SIGINT (job/pipeline/interrupt.h); exec keeps it. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvpe(argv[0], (char *const *)(uintptr_t)argv, envp);
		int e = errno;
		ssize_t ignored = write(ex[1], &e, sizeof(e));
		(void)ignored;
		_exit(127);
	}
	free(envp);
	envp = NULL;
	/* The child's ends: ours would hide its EOFs. */
	close_fd(&ex[1]);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&errp[1]);
	int child_errno = 0;
	ssize_t r;
	do
		r = read(ex[0], &child_errno, sizeof(child_errno));
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)sizeof(child_errno)) {
		reap_quietly(pid);
		rc = child_errno == ENOENT ? E_NOTFOUND : E_IO;
		err_set(rc, "cannot run %s: %s%s", argv[0], strerror(child_errno),
			child_errno == ENOENT
			    ? " (is it installed? lifeboat looks in LIFEBOAT_PG_BINDIR, else PATH)"
			    : "");
		goto fail;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->pid = pid;
	p->err = errp[0];
	pthread_mutex_init(&p->lock, NULL);
	if (pthread_create(&p->drain, NULL, drain_main, p) != 0) {
		/* Nobody would read its stderr: it could block on it forever. */
		kill(pid, SIGKILL);
		reap_quietly(pid);
		pthread_mutex_destroy(&p->lock);
		rc = err_set(E_IO, "cannot start the thread reading the errors of %s", name);
		goto fail;
	}
	p->drain_started = 1;
	p->in = in[1];
	p->out = out[0];
	p->started = 1;
	close_fd(&ex[0]);
	return 0;
fail:
	free(envp);
	for (size_t i = 0; i < 8; i++)
		close_fd(&fds[i]);
	proc_init(p);
	return rc;
}

void proc_close_in(struct proc *p)
{
	if (p->started && p->in >= 0) {
		close(p->in);
		p->in = -1;
	}
}

static void finish_drain(struct proc *p)
{
	if (p->drain_started) {
		pthread_join(p->drain, NULL);
		p->drain_started = 0;
	}
}

/* interruptible: a signal ends the wait (interrupt_error), the child left
 * running for proc_kill or proc_dispose. */
static int reap(struct proc *p, int interruptible)
{
	if (!p->started)
		return 0;
	proc_close_in(p);
	if (!p->waited) {
		int st = 0;
		pid_t r;
		do
			r = interruptible ? interrupt_waitpid(p->pid, &st)
					  : waitpid(p->pid, &st, 0);
		while (r < 0 && errno == EINTR &&
		       !(interruptible && atomic_load(&stage_interrupted)));
		if (r < 0 && errno == EINTR)
			return interrupt_error();
		/* The child's fate is unknown then: proc_wait fails closed. */
		p->wait_errno = r < 0 ? errno : 0;
		p->status = st;
		p->waited = 1;
	}
	atomic_store(&p->exited, 1);
	finish_drain(p);
	return 0;
}

static int judge(struct proc *p)
{
	if (p->wait_errno)
		return err_set(E_IO,
			       "cannot wait for %s: %s (its exit status is unknown, so it counts "
			       "as failed)",
			       p->name, strerror(p->wait_errno));
	if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0)
		return 0;
	if (WIFSIGNALED(p->status))
		return err_set(E_IO, "%s was killed by signal %d%s%s", p->name, WTERMSIG(p->status),
			       p->tail_len ? ": " : "", proc_stderr(p));
	return err_set(E_IO, "%s exited with status %d%s%s", p->name, WEXITSTATUS(p->status),
		       p->tail_len ? ": " : "", proc_stderr(p));
}

int proc_wait(struct proc *p)
{
	if (!p->started)
		return 0;
	int rc = reap(p, 1);
	return rc ? rc : judge(p);
}

int proc_wait_uninterrupted(struct proc *p)
{
	if (!p->started)
		return 0;
	reap(p, 0);
	return judge(p);
}

void proc_kill(struct proc *p)
{
	if (!p->started)
		return;
	if (!p->waited)
		kill(p->pid, SIGKILL);
	reap(p, 0);
}

const char *proc_stderr(struct proc *p)
{
	while (p->tail_len > 0 && strchr(" \t\r\n", p->tail[p->tail_len - 1]))
		p->tail[--p->tail_len] = '\0';
	return p->tail;
}

void proc_dispose(struct proc *p)
{
	if (p->started) {
		proc_close_in(p);
		if (p->out >= 0)
			close(p->out);
		p->out = -1;
		proc_kill(p);
		if (p->err >= 0)
			close(p->err);
		pthread_mutex_destroy(&p->lock);
	}
	proc_init(p);
}

int proc_capture(char **out, const char *const argv[], size_t cap)
{
	struct proc p;
	struct buf b;
	char chunk[4096];
	buf_init(&b, cap);
	int rc = proc_start(&p, argv, NULL, PROC_PIPE_STDOUT, -1);
	if (rc)
		return rc;
	for (;;) {
		ssize_t r = read(p.out, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set(E_IO, "cannot read the output of %s: %s", p.name,
				     strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (buf_add(&b, chunk, (size_t)r) < 0) {
			rc =
			    err_set(E_TOOBIG,
				    "%s wrote more than %zu bytes to its output, the most lifeboat "
				    "reads from it; it was stopped",
				    p.name, cap);
			break;
		}
	}
	if (rc) {
		/* A child still writing would block on the full pipe forever:
		 * close our end (EPIPE or SIGPIPE for it), kill it, reap it. */
		close(p.out);
		p.out = -1;
		proc_kill(&p);
	} else {
		rc = proc_wait(&p);
	}
	proc_dispose(&p);
	if (rc) {
		buf_dispose(&b);
		return rc;
	}
	*out = buf_take(&b);
	return 0;
}
