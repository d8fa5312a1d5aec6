/* The last error of the calling thread: a code and a message naming what,
 * where and what to do. Functions return 0 or one of these negative codes. */
#ifndef LIFEBOAT_ERR_H
#define LIFEBOAT_ERR_H

enum err_code {
	E_OK = 0,
	E_INVALID = -1,	     /* bad flag, field or value given by the user */
	E_IO = -2,	     /* local I/O: pipes, processes, files */
	E_DB = -3,	     /* PostgreSQL: connect, query, pg_dump, pg_restore */
	E_STORE = -4,	     /* the storage backend */
	E_INTEGRITY = -5,    /* checksum, MDC, truncation, malformed artifact */
	E_PASSPHRASE = -6,   /* wrong passphrase */
	E_VERSION = -7,	     /* incompatible tool or server versions */
	E_NOTFOUND = -8,     /* no such backup or object */
	E_EXISTS = -9,	     /* backup already exists */
	E_UNSUPPORTED = -10, /* valid input we do not handle (e.g. bzip2 inside OpenPGP) */
	E_TOOBIG = -11,	     /* a size cap was hit */
	E_RESTORE = -12,     /* the restore failed; the target was left as it was */
	E_CONFLICT = -13,    /* HTTP 409 Conflict: a stale resourceVersion */
	E_GONE = -14,	     /* HTTP 410 Gone: a watch's resourceVersion is too old */
	E_UNAVAILABLE = -15, /* transport errors, 429 and 5xx after retries */
	E_FORBIDDEN = -16,   /* HTTP 401/403 */
	E_TIMEOUT = -17,     /* a wait ran out */
	E_TLS = -18,	     /* TLS verification failed: permanent, never retried */
	E_SCHEMA = -19,	     /* restore refused: the schema versions differ (RequireMatch) */
	E_ROLE = -20,	     /* restore failed: a role the backup names is missing; rolled back */
};

/* Records code and message for this thread; returns code. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with more context; returns the current code. */
int err_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *err_msg(void);
int err_code(void);
void err_clear(void);
/* A stable CamelCase reason for a code, for results and conditions. */
const char *err_reason(int code);
/* The process exit status documented for a code (docs/job.md). */
int err_exit_status(int code);

#endif
