/* lifeboat-bench-noop: the job image of bench/operator.sh. It backs nothing
 * up: it writes a fixed result, clearly labelled as not a backup, to the
 * termination-message path, so the bench measures the operator and not a
 * dump. `backup` (the Job's init container) reports the object
 * "bench-noop-not-a-backup", size 0 and a sha256 of 64 zeros, which is all
 * the operator needs for Completed (common/jobresult.h:
 * jobresult_has_artifact); `verify` (the main container) reports
 * verified true (the operator completes a verify: true backup only on that)
 * with method "bench-noop" and a message saying nothing was stored or
 * checked: the same labels as the artifact's, so no one can mistake it. Any other
 * command fails with exit status 2. Never ship this. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESULT_PATH "/dev/termination-log"
#define ZEROS64 "0000000000000000000000000000000000000000000000000000000000000000"

/* A Kubernetes name or namespace is [a-z0-9.-]: nothing in it needs JSON
 * escaping. Anything else is replaced, so the result always parses. */
static const char *safe(const char *s)
{
	if (!s || !*s || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(s))
		return "unknown";
	return s;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	const char *ns = safe(getenv("LIFEBOAT_NAMESPACE"));
	const char *name = safe(getenv("LIFEBOAT_NAME"));
	const char *path = getenv("LIFEBOAT_RESULT_PATH");
	char result[1024];
	int n;

	if (strcmp(cmd, "backup") == 0)
		n = snprintf(result, sizeof(result),
			     "{\"command\":\"backup\",\"namespace\":\"%s\",\"name\":\"%s\","
			     "\"phase\":\"Completed\",\"reason\":\"Succeeded\","
			     "\"artifact\":{\"location\":\"bench-noop-not-a-backup\","
			     "\"objects\":[{\"key\":\"bench-noop-not-a-backup\",\"size\":0,"
			     "\"sha256\":\"" ZEROS64 "\"}],\"size\":0,\"sha256\":\"" ZEROS64 "\","
			     "\"encrypted\":false,\"format\":\"custom\",\"compression\":\"none\"},"
			     "\"database\":{\"name\":\"bench-noop-not-a-database\"},"
			     "\"durationSeconds\":0}\n",
			     ns, name);
	else if (strcmp(cmd, "verify") == 0)
		n = snprintf(result, sizeof(result),
			     "{\"command\":\"verify\",\"namespace\":\"%s\",\"name\":\"%s\","
			     "\"phase\":\"Completed\",\"reason\":\"Succeeded\","
			     "\"verification\":{\"verified\":true,\"method\":\"bench-noop\","
			     "\"message\":\"bench no-op: nothing was stored or checked\"}}\n",
			     ns, name);
	else {
		fprintf(stderr, "lifeboat-bench-noop: unknown command \"%s\" (backup, verify)\n",
			cmd);
		return 2;
	}
	if (n < 0 || (size_t)n >= sizeof(result))
		return 1;
	fputs(result, stdout);
	FILE *f = fopen(path && *path ? path : RESULT_PATH, "w");
	if (!f) {
		perror("lifeboat-bench-noop: " RESULT_PATH);
		return 1;
	}
	int bad = fputs(result, f) < 0;
	bad |= fclose(f) != 0;
	return bad;
}
