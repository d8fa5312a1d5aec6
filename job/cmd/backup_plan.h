/* What one backup will do, decided from its options and the facts found at
 * pre-flight before anything is written: the dump's format and the stages
 * of its chain. Pure: no I/O, table-tested (tests/unit/test_backup_plan.c);
 * job/cmd/backup.c builds the chain and the processes from it. */
#ifndef LIFEBOAT_BACKUP_PLAN_H
#define LIFEBOAT_BACKUP_PLAN_H

#include "job/pipeline/compress.h"
#include "job/pipeline/parts_plan.h"

struct job_opts;

struct backup_plan {
	const char *format;	 /* "custom" or "plain"; borrowed from the options */
	struct compress_spec cs; /* the compress stage (none: no stage) */
	int script;		 /* plain: a pg_restore turns pg_dump's archive into a script */
	int encrypt;		 /* a passphrase: an OpenPGP stage */
	int files;		 /* --files: the folder's archive through a chain of its own */
	struct parts_plan parts; /* how the dump is cut: backup_plan_parts */
};

/* The decisions the options alone make, checked in the order the user
 * meets them: --name, --namespace, --compression, --format, --db. E_INVALID
 * naming the flag; *out is set only on success (parts zeroed). */
int backup_plan(struct backup_plan *out, const struct job_opts *o);
/* Plans the dump's objects for a database of estimate bytes on a backend
 * with limits lim; test_max_parts is LIFEBOAT_TEST_MAX_PARTS's text (NULL:
 * unset). The errors of parts_plan; p->parts is set only on success. */
int backup_plan_parts(struct backup_plan *p, const struct store_limits *lim, uint64_t estimate,
		      const char *test_max_parts);

#endif
