/* The pure decisions of `lifeboat backup` (job/cmd/backup_plan.h). */
#include "job/cmd/backup_plan.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "job/model/artifact.h"
#include "job/cmd/job.h"

int backup_plan(struct backup_plan *out, const struct job_opts *o)
{
	struct backup_plan p;
	int rc;
	memset(&p, 0, sizeof(p));
	if ((rc = artifact_check_name(o->name, "--name")) ||
	    (rc = artifact_check_namespace(o->namespace_, "--namespace")) ||
	    (rc = compress_parse(&p.cs, o->compression, "--compression")))
		return rc;
	if (strcmp(o->format, "custom") != 0 && strcmp(o->format, "plain") != 0)
		return err_set(E_INVALID, "--format \"%s\" is not supported: use custom or plain",
			       o->format);
	if (!o->db || !*o->db)
		return err_set(E_INVALID,
			       "--db is required (or LIFEBOAT_DB): a PostgreSQL URI like "
			       "postgresql://USER@HOST:5432/DBNAME");
	p.format = o->format;
	p.script = strcmp(o->format, "plain") == 0;
	p.encrypt = o->passphrase != NULL;
	p.files = o->files != NULL;
	*out = p;
	return 0;
}

int backup_plan_parts(struct backup_plan *p, const struct store_limits *lim, uint64_t estimate,
		      const char *test_max_parts)
{
	uint32_t test_parts = test_max_parts ? (uint32_t)strtoul(test_max_parts, NULL, 10) : 0;
	return parts_plan(&p->parts, lim, estimate, test_parts);
}
