/* Schema-version comparison and the policy that judges it. */
#include "job/model/schema.h"

#include <stddef.h>
#include <string.h>

#include "common/err.h"

static const char *const policy_names[] = {"Ignore", "Warn", "RequireMatch"};
static const char *const result_names[] = {"Match", "Mismatch", "Skipped", "TargetUnknown"};

int schema_policy_parse(enum schema_policy *out, const char *text, const char *field)
{
	if (!text || !*text) {
		*out = SCHEMA_POLICY_WARN;
		return 0;
	}
	for (size_t i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++)
		if (strcmp(text, policy_names[i]) == 0) {
			*out = (enum schema_policy)i;
			return 0;
		}
	return err_set(E_INVALID, "%s \"%s\": use Ignore, Warn or RequireMatch", field, text);
}

const char *schema_policy_name(enum schema_policy p)
{
	return (unsigned)p < 3 ? policy_names[p] : "Warn";
}

const char *schema_result_name(enum schema_result r)
{
	return (unsigned)r < 4 ? result_names[r] : "TargetUnknown";
}

void schema_compare(struct schema_check *c, int has_query)
{
	if (c->policy == SCHEMA_POLICY_IGNORE || !has_query || !c->backup_version)
		c->result = SCHEMA_SKIPPED;
	else if (!c->target_version)
		c->result = SCHEMA_TARGET_UNKNOWN;
	else if (strcmp(c->backup_version, c->target_version) == 0)
		c->result = SCHEMA_MATCH;
	else
		c->result = SCHEMA_MISMATCH;
}

int schema_enforce(const struct schema_check *c, const char *backup, const char *target)
{
	if (c->policy != SCHEMA_POLICY_REQUIRE_MATCH)
		return 0;
	if (c->result == SCHEMA_MISMATCH)
		return err_set(E_SCHEMA,
			       "schema check refused the restore (--schema-policy RequireMatch): "
			       "backup %s has schema version \"%s\" but %s has \"%s\"; nothing was "
			       "changed; restore a backup of the same schema version, migrate the "
			       "target first, or use --schema-policy Warn (DatabaseRestore "
			       "spec.schemaPolicy) to restore anyway",
			       backup, c->backup_version, target, c->target_version);
	if (c->result == SCHEMA_TARGET_UNKNOWN)
		return err_set(E_SCHEMA,
			       "schema check refused the restore (--schema-policy RequireMatch): "
			       "backup %s has schema version \"%s\" but the schema-version query "
			       "gave no version on %s (%s); nothing was changed; an empty or new "
			       "database has no version to compare: use --schema-policy Warn "
			       "(DatabaseRestore spec.schemaPolicy) to restore into it",
			       backup, c->backup_version, target,
			       c->target_error ? c->target_error : "no value");
	return 0;
}
