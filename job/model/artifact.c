/* Storage layout of one backup, and name validation. */
#include "job/model/artifact.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "job/store/store.h"

static int dns_chars_ok(const char *s, int allow_dot)
{
	size_t n = strlen(s);
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && c != '-' && !(allow_dot && c == '.'))
			return 0;
		if ((i == 0 || i == n - 1) && !alnum)
			return 0;
		/* DNS-1123 subdomain: each dot-separated label starts and ends
		 * with a letter or digit ("a..b", "a.-b", "a-.b" are invalid). */
		if (c == '.' && (s[i - 1] == '.' || s[i - 1] == '-' || s[i + 1] == '-'))
			return 0;
	}
	return 1;
}

int artifact_check_name(const char *name, const char *field)
{
	if (!name || !*name)
		return err_set(E_INVALID,
			       "%s is required: the backup's name, like nightly-20261121", field);
	if (strlen(name) > 253 || !dns_chars_ok(name, 1))
		return err_set(E_INVALID,
			       "%s \"%s\" is not a valid name: use at most 253 lowercase letters, "
			       "digits, '-' or '.', starting and ending with a letter or digit",
			       field, name);
	return 0;
}

int artifact_check_namespace(const char *ns, const char *field)
{
	if (!ns || strlen(ns) > 63 || !dns_chars_ok(ns, 0))
		return err_set(
		    E_INVALID,
		    "%s \"%s\" is not a valid namespace: use at most 63 lowercase letters, "
		    "digits or '-', starting and ending with a letter or digit",
		    field, ns ? ns : "");
	return 0;
}

char *artifact_key(const char *ns, const char *name, const char *leaf)
{
	return xasprintf("%s/%s/%s", ns, name, leaf ? leaf : "");
}

int artifact_attempt_id(char out[ARTIFACT_ATTEMPT_LEN + 1])
{
	uint8_t raw[ARTIFACT_ATTEMPT_LEN / 2];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(
			    E_IO, "cannot read the kernel's random source for an attempt id: %s",
			    strerror(errno));
		got += (size_t)r;
	}
	text_hex(out, raw, sizeof(raw));
	return 0;
}

/* "<base>[-<attempt>]". */
static const char *attempt_sep(const char *attempt)
{
	return attempt ? "-" : "";
}

char *artifact_dump_leaf(const char *format, const char *compress_suffix, int encrypted,
			 const char *attempt)
{
	return xasprintf("db%s%s.%s%s%s", attempt_sep(attempt), attempt ? attempt : "",
			 strcmp(format, "plain") == 0 ? "sql" : "dump", compress_suffix,
			 encrypted ? ".pgp" : "");
}

char *artifact_files_leaf(const char *compress_suffix, int encrypted, const char *attempt)
{
	return xasprintf("files%s%s.tar%s%s", attempt_sep(attempt), attempt ? attempt : "",
			 compress_suffix, encrypted ? ".pgp" : "");
}

int artifact_load_manifest(struct manifest *out, struct store *st, const char *ns, const char *name)
{
	char *key = artifact_key(ns, name, ARTIFACT_MANIFEST);
	char *where = store_location(st, key);
	struct buf b;
	buf_init(&b, MANIFEST_MAX_BYTES);
	int rc = store_get(st, key, &b);
	if (rc == E_NOTFOUND)
		rc =
		    err_set(E_NOTFOUND,
			    "no complete backup %s/%s: %s does not exist; `lifeboat list --storage "
			    "%s` shows the backups the storage holds",
			    ns, name, where, st->display);
	else if (rc == E_TOOBIG)
		rc = err_set(E_INTEGRITY,
			     "%s is larger than %d bytes: it is not a lifeboat manifest", where,
			     MANIFEST_MAX_BYTES);
	else if (!rc && (rc = manifest_parse(out, buf_str(&b), b.len)))
		err_wrap("%s", where);
	buf_dispose(&b);
	free(key);
	free(where);
	return rc;
}
