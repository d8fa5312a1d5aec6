/* The restore's schema check: the backup's recorded schema version against
 * the target's, compared before anything is changed, and what the policy
 * (--schema-policy) makes of the outcome. Pure: no I/O. */
#ifndef LIFEBOAT_SCHEMA_H
#define LIFEBOAT_SCHEMA_H

enum schema_policy {
	SCHEMA_POLICY_IGNORE,
	SCHEMA_POLICY_WARN,
	SCHEMA_POLICY_REQUIRE_MATCH,
};

enum schema_result {
	SCHEMA_MATCH,
	SCHEMA_MISMATCH,
	SCHEMA_SKIPPED,	       /* policy Ignore, no query, or the backup recorded no version */
	SCHEMA_TARGET_UNKNOWN, /* the query gave no version on the target */
};

/* What the check saw. Strings are borrowed; NULL when absent. */
struct schema_check {
	enum schema_policy policy;
	enum schema_result result;
	const char *backup_version; /* the manifest's database.schemaVersion */
	const char *target_version; /* the query's first value on the target */
	const char *target_error;   /* why the query gave none (TargetUnknown) */
};

/* Parses Ignore, Warn or RequireMatch (exactly; NULL or "" is Warn, the
 * default). E_INVALID naming field and the values otherwise. */
int schema_policy_parse(enum schema_policy *out, const char *text, const char *field);
/* "Ignore", "Warn", "RequireMatch". Static storage. */
const char *schema_policy_name(enum schema_policy p);
/* "Match", "Mismatch", "Skipped", "TargetUnknown". Static storage. */
const char *schema_result_name(enum schema_result r);
/* Fills c->result from what c already holds. has_query: a query was given
 * (without one, or with policy Ignore, the target is never asked). A target
 * version equal byte for byte to the backup's is a Match; a target that gave
 * no version (an error, no row, NULL) is TargetUnknown. */
void schema_compare(struct schema_check *c, int has_query);
/* Whether the restore may go on: 0, or E_SCHEMA with a message naming both
 * versions (or the target's error) and what to do, when policy RequireMatch
 * meets Mismatch or TargetUnknown. backup names the backup ("ns/name"),
 * target the target database (no password). */
int schema_enforce(const struct schema_check *c, const char *backup, const char *target);

#endif
