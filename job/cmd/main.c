/* The lifeboat command line: flags and their LIFEBOAT_* environment
 * variables, secrets handling, the result, and exit statuses. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include <json.h>
#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/cpus.h"
#include "common/err.h"
#include "common/http.h"
#include "common/jobenv.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "job/pipeline/interrupt.h"
#include "job/cmd/job.h"
#include "job/db/pg.h"
#include "job/pipeline/stage.h"
#include "job/cmd/result.h"

/* Command bits and variable names come from the jobenv table, which the
 * operator builds its Jobs from too. */
enum {
	C_BACKUP = JOBENV_CMD_BACKUP,
	C_RESTORE = JOBENV_CMD_RESTORE,
	C_VERIFY = JOBENV_CMD_VERIFY,
	C_LIST = JOBENV_CMD_LIST,
	C_DELETE = JOBENV_CMD_DELETE,
	C_AUDIT = JOBENV_CMD_AUDIT,
	C_SHOW = JOBENV_CMD_SHOW,
	C_DOWNLOAD = JOBENV_CMD_DOWNLOAD,
};

static const struct command {
	const char *name;
	int bit;
	int (*run)(const struct job_opts *o, struct json_object *result);
	const char *summary;
} commands[] = {
    {"backup", C_BACKUP, backup_run, "dump a database into storage"},
    {"restore", C_RESTORE, restore_run, "restore a backup into a database, atomically"},
    {"verify", C_VERIFY, verify_run, "re-read a stored backup and check it end to end"},
    {"list", C_LIST, list_run, "list the backups a storage holds"},
    {"delete", C_DELETE, delete_run, "delete a stored backup"},
    {"audit", C_AUDIT, audit_run, "list the restores' audit records a storage holds"},
    {"show", C_SHOW, show_run, "one backup's manifest, or one restore's audit record"},
    {"download", C_DOWNLOAD, download_run, "stream a backup, checked, to a file or stdout"},
};

struct raw {
	const char *db, *storage, *name, *ns, *pass_file, *format, *compression, *schema_query,
	    *confirm, *clean, *files, *output, *result_path, *workers, *log_level, *schema_policy,
	    *no_owner, *no_privileges, *role, *restore_name, *restore_ns, *requested_by,
	    *safety_name, *safety_location, *safety_sha256, *no_safety, *out, *files_out, *raw,
	    *force;
};

/* Each flag's environment variable, commands and help are its jobenv entry. */
static const struct flag {
	const char *flag;
	enum jobenv_var env;
	size_t offset;
	int boolean;
} flags[] = {
#define F(field) offsetof(struct raw, field)
    {"--db", JOBENV_DB, F(db), 0},
    {"--storage", JOBENV_STORAGE, F(storage), 0},
    {"--name", JOBENV_NAME, F(name), 0},
    {"--namespace", JOBENV_NAMESPACE, F(ns), 0},
    {"--passphrase-file", JOBENV_PASSPHRASE_FILE, F(pass_file), 0},
    {"--format", JOBENV_FORMAT, F(format), 0},
    {"--compression", JOBENV_COMPRESSION, F(compression), 0},
    {"--schema-version-query", JOBENV_SCHEMA_VERSION_QUERY, F(schema_query), 0},
    {"--confirm", JOBENV_CONFIRM, F(confirm), 0},
    {"--clean", JOBENV_CLEAN, F(clean), 1},
    {"--files", JOBENV_FILES, F(files), 0},
    {"--output", JOBENV_OUTPUT, F(output), 0},
    {"-o", JOBENV_OUTPUT, F(output), 0}, /* --output, as kubectl spells it */
    {"--result-path", JOBENV_RESULT_PATH, F(result_path), 0},
    {"--zstd-workers", JOBENV_ZSTD_WORKERS, F(workers), 0},
    {"--log-level", JOBENV_LOG_LEVEL, F(log_level), 0},
    {"--schema-policy", JOBENV_SCHEMA_POLICY, F(schema_policy), 0},
    {"--no-owner", JOBENV_NO_OWNER, F(no_owner), 1},
    {"--no-privileges", JOBENV_NO_PRIVILEGES, F(no_privileges), 1},
    {"--role", JOBENV_ROLE, F(role), 0},
    {"--restore-name", JOBENV_RESTORE_NAME, F(restore_name), 0},
    {"--restore-namespace", JOBENV_RESTORE_NAMESPACE, F(restore_ns), 0},
    {"--requested-by", JOBENV_REQUESTED_BY, F(requested_by), 0},
    {"--safety-backup-name", JOBENV_SAFETY_BACKUP_NAME, F(safety_name), 0},
    {"--safety-backup-location", JOBENV_SAFETY_BACKUP_LOCATION, F(safety_location), 0},
    {"--safety-backup-sha256", JOBENV_SAFETY_BACKUP_SHA256, F(safety_sha256), 0},
    {"--no-safety-backup", JOBENV_NO_SAFETY_BACKUP, F(no_safety), 1},
    {"--out", JOBENV_OUT, F(out), 0},
    {"--files-out", JOBENV_FILES_OUT, F(files_out), 0},
    {"--raw", JOBENV_RAW, F(raw), 1},
    {"--force", JOBENV_FORCE, F(force), 1},
#undef F
};

#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static const char **slot(struct raw *r, const struct flag *f)
{
	return (const char **)(void *)((char *)r + f->offset);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: lifeboat COMMAND [FLAGS]\n       lifeboat --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nflags (each also read from its environment variable):\n");
	for (size_t i = 0; i < NFLAGS; i++)
		fprintf(out, "  %-24s %-32s %s\n", flags[i].flag, jobenv_name(flags[i].env),
			jobenv_get(flags[i].env)->meaning);
	static const enum jobenv_var no_flag[] = {JOBENV_PASSPHRASE, JOBENV_PG_BINDIR};
	for (size_t i = 0; i < sizeof(no_flag) / sizeof(no_flag[0]); i++)
		fprintf(out, "  %-24s %-32s %s\n", "", jobenv_name(no_flag[i]),
			jobenv_get(no_flag[i])->meaning);
	fprintf(out, "\nSee docs/job.md for the result JSON and exit statuses.\n");
}

/* Reads the passphrase: the first line of a file (as gpg --passphrase-file
 * does), or LIFEBOAT_PASSPHRASE, which is then removed from the environment
 * so no child process inherits it. */
static int load_passphrase(struct job_opts *o, const char *file)
{
	const char *pass_var = jobenv_name(JOBENV_PASSPHRASE);
	const char *envpass = getenv(pass_var);
	if (file && *file) {
		FILE *f = fopen(file, "r");
		if (!f)
			return err_set(E_INVALID, "--passphrase-file %s: %s", file,
				       strerror(errno));
		/* stdio's own buffer would be freed holding the file's first
		 * block: lend it one we wipe. */
		char iobuf[BUFSIZ];
		setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
		struct buf b;
		buf_init_secret(&b, 4096);
		int c, rc = 0;
		while ((c = fgetc(f)) != EOF && c != '\n')
			if ((rc = buf_add(&b, &(char){(char)c}, 1)))
				break;
		fclose(f);
		OPENSSL_cleanse(iobuf, sizeof(iobuf));
		if (b.len > 0 && b.ptr[b.len - 1] == '\r')
			b.ptr[--b.len] = '\0';
		if (rc || b.len == 0) {
			buf_dispose(&b); /* wipes */
			return err_set(E_INVALID, "--passphrase-file %s: %s", file,
				       rc ? "the first line is longer than 4096 bytes"
					  : "the first line is empty; put the passphrase there");
		}
		o->passlen = b.len;
		o->passphrase = buf_take(&b);
	} else if (envpass) {
		if (!*envpass)
			return err_set(E_INVALID, "%s is set but empty", pass_var);
		o->passlen = strlen(envpass);
		o->passphrase = xstrdup(envpass);
	}
	if (envpass) {
		OPENSSL_cleanse(getenv(pass_var), strlen(envpass));
		unsetenv(pass_var);
	}
	return 0;
}

static int parse_bool(int *out, const char *v, const char *name)
{
	if (!v)
		*out = 0;
	else if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
		*out = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no") || !*v)
		*out = 0;
	else
		return err_set(E_INVALID, "%s: \"%s\" is not a boolean (true or false)", name, v);
	return 0;
}

static int parse_args(struct raw *r, const struct command *cmd, int argc, char **argv)
{
	for (size_t i = 0; i < NFLAGS; i++) {
		const char *v = getenv(jobenv_name(flags[i].env));
		if (v && *v && (jobenv_get(flags[i].env)->commands & (unsigned)cmd->bit))
			*slot(r, &flags[i]) = v;
	}
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '=');
		size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct flag *f = NULL;
		for (size_t k = 0; k < NFLAGS && !f; k++)
			if (strlen(flags[k].flag) == n && strncmp(flags[k].flag, arg, n) == 0)
				f = &flags[k];
		if (!strcmp(arg, "--passphrase") || !strncmp(arg, "--passphrase=", 13))
			return err_set(E_INVALID,
				       "the passphrase is never taken as a flag (it would "
				       "show in the process list): use --passphrase-file "
				       "or LIFEBOAT_PASSPHRASE");
		if (!f)
			return err_set(E_INVALID,
				       "%s: unknown flag %.*s; `lifeboat --help` lists them",
				       cmd->name, (int)n, arg);
		if (!(jobenv_get(f->env)->commands & (unsigned)cmd->bit))
			return err_set(E_INVALID, "%s: flag %s does not apply to this command",
				       cmd->name, f->flag);
		if (f->boolean) {
			*slot(r, f) = eq ? eq + 1 : "true";
		} else if (eq) {
			*slot(r, f) = eq + 1;
		} else {
			if (i + 1 >= argc)
				return err_set(E_INVALID, "%s: flag %s needs a value", cmd->name,
					       f->flag);
			*slot(r, f) = argv[++i];
		}
		/* As for the passphrase: argv is world-readable (ps, /proc).
		 * The message never repeats the value. */
		if (f->env == JOBENV_DB && pg_conninfo_has_password(*slot(r, f)))
			return err_set(E_INVALID,
				       "--db carries a password, which would show in the process "
				       "list: give the URI in the environment as %s instead, or "
				       "leave the password out of --db and set %s, or %s to a "
				       ".pgpass file",
				       jobenv_name(JOBENV_DB), jobenv_name(JOBENV_PGPASSWORD),
				       jobenv_name(JOBENV_PGPASSFILE));
	}
	return 0;
}

static int build_opts(struct job_opts *o, const struct raw *r, const struct command *cmd)
{
	int rc;
	memset(o, 0, sizeof(*o));
	o->db = r->db;
	o->storage = r->storage;
	o->name = r->name;
	o->namespace_ = r->ns ? r->ns : (cmd->bit & (C_LIST | C_AUDIT) ? NULL : "default");
	o->format = r->format ? r->format : "custom";
	o->compression = r->compression ? r->compression : "zstd:auto";
	o->schema_query = r->schema_query;
	o->confirm = r->confirm;
	o->files = r->files;
	o->output = r->output;
	o->schema_policy = r->schema_policy;
	o->role = r->role;
	o->restore_name = r->restore_name;
	o->restore_namespace = r->restore_ns;
	o->requested_by = r->requested_by;
	o->safety_name = r->safety_name;
	o->safety_location = r->safety_location;
	o->safety_sha256 = r->safety_sha256;
	o->out = r->out;
	o->files_out = r->files_out;
	/* Workers from the CPUs the job really has (a pod's CPU limit), unless
	 * --zstd-workers pins them. */
	o->cpus = cpus_usable("/sys/fs/cgroup");
	o->zstd_workers = -1;
	if (r->workers) {
		char *end;
		long w = strtol(r->workers, &end, 10);
		if (!*r->workers || *end || w < 0 || w > 64)
			return err_set(E_INVALID,
				       "--zstd-workers: \"%s\" is not a number from 0 to 64",
				       r->workers);
		o->zstd_workers = (int)w;
	}
	if ((rc = parse_bool(&o->clean, r->clean, "--clean")) ||
	    (rc = parse_bool(&o->no_owner, r->no_owner, "--no-owner")) ||
	    (rc = parse_bool(&o->no_privileges, r->no_privileges, "--no-privileges")) ||
	    (rc = parse_bool(&o->no_safety_backup, r->no_safety, "--no-safety-backup")) ||
	    (rc = parse_bool(&o->raw, r->raw, "--raw")) ||
	    (rc = parse_bool(&o->force, r->force, "--force")))
		return rc;
	if (!o->storage || !*o->storage)
		return err_set(E_INVALID, "--storage is required (or LIFEBOAT_STORAGE): a storage "
					  "URL like file:///backups");
	if (cmd->bit & (C_BACKUP | C_RESTORE | C_VERIFY | C_DOWNLOAD))
		if ((rc = load_passphrase(o, r->pass_file)))
			return rc;
	return 0;
}

static const char *default_result_path(const struct raw *r)
{
	if (r->result_path)
		return r->result_path;
	return access("/dev/termination-log", W_OK) == 0 ? "/dev/termination-log" : NULL;
}

int main(int argc, char **argv)
{
	struct raw raw;
	struct job_opts opts;
	const struct command *cmd = NULL;
	int rc;
	/* TERM (Kubernetes stopping the pod) and INT: blocked before any thread
	 * exists, so that every thread inherits the mask, and taken by the
	 * signal thread, which wakes whatever waits (job/pipeline/interrupt.h); the
	 * pipeline then takes its abort path. */
	if (interrupt_start() != 0)
		log_warn("%s: SIGTERM, SIGINT and SIGHUP will end lifeboat without clean-up",
			 err_msg());
	http_set_interrupt(&stage_interrupted);
	memset(&raw, 0, sizeof(raw));
	memset(&opts, 0, sizeof(opts));
	/* Writes to a child that exited must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/* An ignored SIGCHLD survives exec: a parent that ignored it would make
	 * every waitpid fail, and each child's status unknown (proc_wait). */
	signal(SIGCHLD, SIG_DFL);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("lifeboat %s\n", LIFEBOAT_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "lifeboat: unknown command \"%s\"\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}

	time_t started = time(NULL);
	struct json_object *result = json_object_new_object();
	result_add_str(result, JOBRESULT_COMMAND, cmd->name);
	rc = parse_args(&raw, cmd, argc, argv);
	const char *lvl = raw.log_level;
	if (!rc && lvl) {
		static const char *const names[] = {"error", "warning", "info", "debug"};
		int found = 0;
		for (int i = 0; i < 4; i++)
			if (!strcmp(lvl, names[i])) {
				log_set_level((enum log_level)i);
				found = 1;
			}
		if (!found)
			rc = err_set(E_INVALID,
				     "--log-level \"%s\": use error, warning, info or debug", lvl);
	}
	if (!rc)
		rc = build_opts(&opts, &raw, cmd);
	if (opts.namespace_)
		result_add_str(result, JOBRESULT_NAMESPACE, opts.namespace_);
	if (opts.name)
		result_add_str(result, JOBRESULT_NAME, opts.name);
	result_add_time(result, JOBRESULT_START_TIME, started);
	opts.started = started;
	if (!rc)
		rc = cmd->run(&opts, result);
	/* A failure after SIGTERM is reported as the interruption it was. */
	rc = interrupt_outcome(rc);
	result_add_time(result, JOBRESULT_COMPLETION_TIME, time(NULL));
	result_add_str(result, JOBRESULT_PHASE,
		       rc ? JOBRESULT_PHASE_FAILED : JOBRESULT_PHASE_COMPLETED);
	result_add_str(result, JOBRESULT_REASON, err_reason(rc));
	if (rc) {
		result_add_str(result, JOBRESULT_MESSAGE, err_msg());
		log_error("%s", err_msg());
	}
	/* Peak memory: the bounded-memory promise, visible in every result. */
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		json_object_object_add(result, JOBRESULT_PEAK_RSS_KIB,
				       json_object_new_int64(ru.ru_maxrss));
		/* And its CPU: what `make bench` sets against the primitives'. */
		double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
		double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + sys;
		char text[32];
		snprintf(text, sizeof(text), "%.3f", cpu);
		json_object_object_add(result, JOBRESULT_CPU_SECONDS,
				       json_object_new_double_s(cpu, text));
		snprintf(text, sizeof(text), "%.3f", sys);
		json_object_object_add(result, JOBRESULT_CPU_SYSTEM_SECONDS,
				       json_object_new_double_s(sys, text));
	}
	/* list, audit and show print their own table or JSON, download its data;
	 * the others print the result. */
	if (result_emit(result, !(cmd->bit & (C_LIST | C_AUDIT | C_SHOW | C_DOWNLOAD)),
			default_result_path(&raw)))
		log_warn("%s", err_msg());
	json_object_put(result);
	if (opts.passphrase) {
		OPENSSL_cleanse(opts.passphrase, opts.passlen);
		free(opts.passphrase);
	}
	return err_exit_status(rc);
}
