/* Turns a kubeconfig file or a pod's service account into a struct
 * kube_config, and keeps a token file's content current. */
#include "operator/kube/kubeconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define KUBECONFIG_MAX_BYTES (8 * 1024 * 1024)
#define PEM_MAX_BYTES (4 * 1024 * 1024)
#define TOKEN_MAX_BYTES (64 * 1024)
#define NAMESPACE_MAX_BYTES 4096
/* Bounds checked on the event stream before libyaml builds its tree: the
 * scanner costs O(depth) per token inside flow collections ("[[[[..." would
 * take minutes) and each node costs about 200 bytes. Kubeconfigs nest under
 * ten levels and hold a few thousand nodes. */
#define MAX_DEPTH 64
#define MAX_NODES 250000
#define DEFAULT_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* What identifies one version of a file, to notice rewrites and swaps. */
struct file_stamp {
	int64_t dev, ino, size, mtime_ns;
};

/* One parse: the name messages start with, where relative paths start, and
 * the YAML tree. */
struct kc {
	const char *name;
	const char *base_dir;
	yaml_document_t *doc;
};

static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* err_set(E_INVALID, ...) that returns the constant E_INVALID. */
static int invalid(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int invalid(const char *fmt, ...)
{
	char msg[1792];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(E_INVALID, "%s", msg);
	return E_INVALID;
}

static void stamp_of(struct file_stamp *out, const struct stat *st)
{
	out->dev = (int64_t)st->st_dev;
	out->ino = (int64_t)st->st_ino;
	out->size = (int64_t)st->st_size;
	out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Reads a whole regular file of at most max bytes into a NUL-terminated heap
 * string. Intermediate copies are wiped, as the file may hold a key. stamp,
 * if not NULL, is set whenever the file could be opened. */
static int slurp(char **out, size_t *out_len, struct file_stamp *stamp, const char *path,
		 size_t max)
{
	int rc = 0, fd = -1;
	char *data = NULL;
	size_t len = 0, cap = 0;
	struct stat st;

	/* O_NONBLOCK: opening a FIFO must not hang the loader. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = invalid("cannot read %s: %s", path, strerror(errno));
		goto done;
	}
	if (stamp)
		stamp_of(stamp, &st);
	if (!S_ISREG(st.st_mode)) {
		rc = invalid("cannot read %s: not a regular file", path);
		goto done;
	}
	cap = st.st_size > 0 && (size_t)st.st_size < max ? (size_t)st.st_size + 1 : 256;
	data = xmalloc(cap);
	for (;;) {
		if (len + 1 == cap) {
			if (len >= max) {
				rc = invalid("cannot read %s: larger than %zu bytes", path, max);
				goto done;
			}
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *bigger = xmalloc(ncap);
			memcpy(bigger, data, len);
			OPENSSL_cleanse(data, cap);
			free(data);
			data = bigger;
			cap = ncap;
		}
		ssize_t n = read(fd, data + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = invalid("cannot read %s: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data[len] = '\0';
	*out = data;
	if (out_len)
		*out_len = len;
	data = NULL;
done:
	if (data) {
		OPENSSL_cleanse(data, cap);
		free(data);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Removes leading and trailing whitespace in place. */
static void trim(char *s)
{
	size_t len = strlen(s), start = 0;
	while (start < len && isspace((unsigned char)s[start]))
		start++;
	while (len > start && isspace((unsigned char)s[len - 1]))
		len--;
	size_t orig = strlen(s), keep = len - start;
	memmove(s, s + start, keep);
	/* The moved-from tail may hold part of a secret. */
	OPENSSL_cleanse(s + keep, orig - keep);
	s[keep] = '\0';
}

/* Bearer tokens go into an HTTP header: visible ASCII only. */
static bool token_chars_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* Reads a token file; the token is trimmed and checked. */
static int read_token(char **out, struct file_stamp *stamp, const char *path)
{
	char *tok = NULL;
	int rc = slurp(&tok, NULL, stamp, path, TOKEN_MAX_BYTES);
	if (rc)
		goto done;
	trim(tok);
	if (!*tok) {
		rc = invalid("token file %s is empty", path);
		goto done;
	}
	if (!token_chars_ok(tok)) {
		rc = invalid("token file %s holds characters that cannot be in a bearer token "
			     "(spaces or control characters)",
			     path);
		goto done;
	}
	*out = tok;
	tok = NULL;
done:
	wipe_free(tok);
	return rc;
}

/* Strict base64 (standard alphabet, whitespace between groups allowed) into a
 * NUL-terminated string; fails on bad characters, bad padding, empty input or
 * a NUL byte in the result. */
static int b64_decode(char **out, const char *in, size_t inlen)
{
	int rc = -1;
	char *clean = xmalloc(inlen + 1);
	unsigned char *dec = NULL;
	size_t n = 0, dec_cap = 0;

	for (size_t i = 0; i < inlen; i++)
		if (!isspace((unsigned char)in[i]))
			clean[n++] = in[i];
	if (n == 0 || n % 4 != 0 || n > INT_MAX)
		goto done;
	size_t pad = clean[n - 1] == '=' ? (clean[n - 2] == '=' ? 2 : 1) : 0;
	for (size_t i = 0; i < n - pad; i++)
		if (!isalnum((unsigned char)clean[i]) && clean[i] != '+' && clean[i] != '/')
			goto done;
	dec_cap = n / 4 * 3 + 1;
	dec = xmalloc(dec_cap);
	int r = EVP_DecodeBlock(dec, (const unsigned char *)clean, (int)n);
	if (r < 0 || (size_t)r < pad)
		goto done;
	size_t dlen = (size_t)r - pad;
	if (dlen == 0 || memchr(dec, '\0', dlen))
		goto done;
	dec[dlen] = '\0';
	*out = (char *)dec;
	dec = NULL;
	rc = 0;
done:
	OPENSSL_cleanse(clean, inlen + 1);
	free(clean);
	if (dec) {
		OPENSSL_cleanse(dec, dec_cap);
		free(dec);
	}
	return rc;
}

/* "name: message" as the thread's error. */
static int fail(const struct kc *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const struct kc *p, int code, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The constant return (not err_set's) lets gcc -fanalyzer follow it. */
	err_set(code, "%s: %s", p->name, msg);
	return code;
}

static const char *kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a string";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       !memcmp(n->data.scalar.value, s, n->data.scalar.length);
}

/* The value under key in a mapping; NULL when absent or null. */
static yaml_node_t *map_get(const struct kc *p, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		if (!scalar_is(yaml_document_get_node(p->doc, pair->key), key))
			continue;
		yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
		return v && !is_null(v) ? v : NULL;
	}
	return NULL;
}

/* A string field; *out is borrowed from the tree, NULL when absent, null or "". */
static int get_str(const char **out, const struct kc *p, yaml_node_t *map, const char *key,
		   const char *where)
{
	yaml_node_t *v = map_get(p, map, key);
	*out = NULL;
	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE)
		return fail(p, E_INVALID, "%s: %s must be a string, found %s", where, key, kind(v));
	if (strlen((const char *)v->data.scalar.value) != v->data.scalar.length)
		return fail(p, E_INVALID, "%s: %s contains a NUL character", where, key);
	if (v->data.scalar.length)
		*out = (const char *)v->data.scalar.value;
	return 0;
}

static int get_bool(int *out, const struct kc *p, yaml_node_t *map, const char *key,
		    const char *where)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	const char *s;
	int rc = get_str(&s, p, map, key, where);
	if (rc)
		return rc;
	*out = 0;
	if (!s)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcmp(s, no[i]))
			return 0;
	}
	return fail(p, E_INVALID, "%s: %s must be true or false", where, key);
}

/* Finds the entry "name: NAME" in the top-level list (clusters, users,
 * contexts) and returns its mapping under field (cluster, user, context). */
static int find_named(yaml_node_t **out, const struct kc *p, yaml_node_t *root, const char *list,
		      const char *field, const char *name, const char *prefix)
{
	const char *sep = prefix ? ": " : "";
	prefix = prefix ? prefix : "";
	yaml_node_t *seq = map_get(p, root, list);
	if (!seq)
		return fail(p, E_INVALID, "%s%s%s \"%s\" not found: the file has no %s list",
			    prefix, sep, field, name, list);
	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(p, E_INVALID, "%s must be a list of entries with a name, found %s",
			    list, kind(seq));
	int i = 0;
	for (yaml_node_item_t *item = seq->data.sequence.items.start;
	     item < seq->data.sequence.items.top; item++, i++) {
		yaml_node_t *entry = yaml_document_get_node(p->doc, *item);
		if (!entry || entry->type != YAML_MAPPING_NODE)
			return fail(p, E_INVALID, "%s[%d] must be a mapping, found %s", list, i,
				    entry ? kind(entry) : "nothing");
		char where[64];
		snprintf(where, sizeof(where), "%s[%d]", list, i);
		const char *entry_name;
		int rc = get_str(&entry_name, p, entry, "name", where);
		if (rc)
			return rc;
		if (!entry_name || strcmp(entry_name, name) != 0)
			continue;
		yaml_node_t *v = map_get(p, entry, field);
		if (!v)
			return fail(p, E_INVALID, "%s%s%s \"%s\": the %s entry has no %s field",
				    prefix, sep, field, name, list, field);
		if (v->type != YAML_MAPPING_NODE)
			return fail(p, E_INVALID, "%s%s%s \"%s\": %s must be a mapping, found %s",
				    prefix, sep, field, name, field, kind(v));
		*out = v;
		return 0;
	}
	return fail(p, E_INVALID,
		    "%s%s%s \"%s\" not found in %s; check the names with kubectl config view",
		    prefix, sep, field, name, list);
}

static char *resolve_path(const char *base_dir, const char *path)
{
	if (path[0] == '/' || !base_dir || !*base_dir)
		return xstrdup(path);
	size_t n = strlen(base_dir);
	return xasprintf("%s%s%s", base_dir, base_dir[n - 1] == '/' ? "" : "/", path);
}

static int check_pem(const struct kc *p, const char *pem, bool is_key, const char *where,
		     const char *field)
{
	if (is_key ? !strstr(pem, "-----BEGIN ") || !strstr(pem, "PRIVATE KEY-----")
		   : !strstr(pem, "-----BEGIN CERTIFICATE-----"))
		return fail(p, E_INVALID, "%s: %s is not a PEM %s (no -----BEGIN %s line)", where,
			    field, is_key ? "private key" : "certificate",
			    is_key ? "... PRIVATE KEY" : "CERTIFICATE");
	return 0;
}

/* PEM from either "<file_key>" (a path) or "<file_key>-data" (base64). */
static int load_pem(char **out, const struct kc *p, yaml_node_t *map, const char *file_key,
		    bool is_key, const char *where)
{
	int rc;
	char *pem = NULL, *path = NULL;
	char data_key[64];
	const char *file, *data;

	snprintf(data_key, sizeof(data_key), "%s-data", file_key);
	if ((rc = get_str(&file, p, map, file_key, where)) ||
	    (rc = get_str(&data, p, map, data_key, where)))
		goto done;
	if (file && data) {
		rc = fail(p, E_INVALID, "%s: both %s and %s are set; keep one", where, file_key,
			  data_key);
		goto done;
	}
	if (data) {
		if (b64_decode(&pem, data, strlen(data))) {
			rc = fail(p, E_INVALID, "%s: %s is not valid base64", where, data_key);
			goto done;
		}
		rc = check_pem(p, pem, is_key, where, data_key);
	} else if (file) {
		path = resolve_path(p->base_dir, file);
		if ((rc = slurp(&pem, NULL, NULL, path, PEM_MAX_BYTES))) {
			err_wrap("%s: %s: %s", p->name, where, file_key);
			goto done;
		}
		rc = check_pem(p, pem, is_key, where, file_key);
	}
	if (rc)
		goto done;
	*out = pem;
	pem = NULL;
done:
	wipe_free(pem);
	free(path);
	return rc;
}

/* Checks the URL's shape and returns a copy without trailing slashes. */
static int check_server(char **out, const struct kc *p, const char *server, const char *where)
{
	size_t n = strlen(server);
	const char *host = NULL;
	if (!strncasecmp(server, "https://", 8))
		host = server + 8;
	else if (!strncasecmp(server, "http://", 7))
		host = server + 7;
	if (!host)
		return fail(p, E_INVALID, "%s: server must start with https:// or http://", where);
	for (const char *s = server; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
			return fail(p, E_INVALID,
				    "%s: server contains spaces or control characters", where);
	size_t host_len = strcspn(host, "/?#");
	if (host_len == 0)
		return fail(p, E_INVALID, "%s: server has no host", where);
	if (memchr(host, '@', host_len))
		return fail(p, E_INVALID,
			    "%s: server must not hold credentials (user@host); use a token or "
			    "client certificate",
			    where);
	while (n > (size_t)(host - server) && server[n - 1] == '/')
		n--;
	*out = xstrndup(server, n);
	return 0;
}

static int parse_cluster(struct kube_config *c, const struct kc *p, yaml_node_t *cl,
			 const char *where)
{
	const char *server;
	int rc;
	if ((rc = get_str(&server, p, cl, "server", where)))
		return rc;
	if (!server)
		return fail(p, E_INVALID, "%s has no server", where);
	if ((rc = check_server(&c->server, p, server, where)) ||
	    (rc = load_pem(&c->ca_pem, p, cl, "certificate-authority", false, where)) ||
	    (rc = get_bool(&c->insecure, p, cl, "insecure-skip-tls-verify", where)))
		return rc;
	if (c->insecure && c->ca_pem)
		return fail(p, E_INVALID,
			    "%s: insecure-skip-tls-verify cannot be combined with a "
			    "certificate authority; remove one",
			    where);
	if (c->insecure)
		log_warn("%s: %s sets insecure-skip-tls-verify: the API server's certificate "
			 "is not checked",
			 p->name, where);
	return 0;
}

static int parse_user(struct kube_config *c, const struct kc *p, yaml_node_t *u, const char *where)
{
	static const char *const unsupported[][2] = {
	    {"exec", "runs a credential plugin (exec), which lifeboat does not do"},
	    {"auth-provider", "uses an auth-provider plugin, which lifeboat does not support"},
	    {"username", "uses basic authentication (username), which Kubernetes removed"},
	    {"password", "uses basic authentication (password), which Kubernetes removed"},
	    {"as", "asks for impersonation (as), which lifeboat does not support"},
	    {"as-uid", "asks for impersonation (as-uid), which lifeboat does not support"},
	    {"as-groups", "asks for impersonation (as-groups), which lifeboat does not support"},
	    {"as-user-extra", "asks for impersonation (as-user-extra), which lifeboat does not "
			      "support"},
	};
	const char *token, *token_file;
	char *tok = NULL;
	int rc;

	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (map_get(p, u, unsupported[i][0])) {
			rc = fail(p, E_UNSUPPORTED,
				  "%s %s; use a token, tokenFile or client certificate, or run "
				  "in-cluster with a service account",
				  where, unsupported[i][1]);
			goto done;
		}
	if ((rc = get_str(&token, p, u, "token", where)) ||
	    (rc = get_str(&token_file, p, u, "tokenFile", where)))
		goto done;
	if (token) {
		tok = xstrdup(token);
		trim(tok);
		if (!token_chars_ok(tok)) {
			rc =
			    fail(p, E_INVALID,
				 "%s: token is empty or holds spaces or control characters", where);
			goto done;
		}
		c->token = tok;
		tok = NULL;
	}
	if (token_file) {
		struct file_stamp st = {0};
		c->token_file = resolve_path(p->base_dir, token_file);
		if ((rc = read_token(&tok, &st, c->token_file))) {
			err_wrap("%s: %s: tokenFile", p->name, where);
			goto done;
		}
		c->token_cache.current = tok;
		c->token_cache.dev = st.dev;
		c->token_cache.ino = st.ino;
		c->token_cache.size = st.size;
		c->token_cache.mtime_ns = st.mtime_ns;
		tok = NULL;
	}
	if ((rc = load_pem(&c->client_cert_pem, p, u, "client-certificate", false, where)) ||
	    (rc = load_pem(&c->client_key_pem, p, u, "client-key", true, where)))
		goto done;
	if (!c->client_cert_pem != !c->client_key_pem)
		rc = fail(p, E_INVALID, "%s: %s is set without %s; set both or neither", where,
			  c->client_cert_pem ? "client-certificate" : "client-key",
			  c->client_cert_pem ? "client-key" : "client-certificate");
done:
	wipe_free(tok);
	return rc;
}

static int yaml_fail(const struct kc *p, const yaml_parser_t *parser, const char *yaml, size_t len)
{
	size_t at = parser->problem_mark.index;
	/* The scanner reports a tab where indentation was expected this way
	 * (index counts characters: exact for ASCII, a hint otherwise). */
	bool tab = parser->problem && strstr(parser->problem, "cannot start any token") &&
		   at < len && yaml[at] == '\t';
	if (parser->error == YAML_READER_ERROR)
		return fail(p, E_INVALID, "invalid YAML at byte %zu: %s (the file must be UTF-8)",
			    parser->problem_offset,
			    parser->problem ? parser->problem : "cannot decode");
	return fail(p, E_INVALID, "invalid YAML at line %zu column %zu: %s%s%s%s",
		    parser->problem_mark.line + 1, parser->problem_mark.column + 1,
		    parser->problem ? parser->problem : "parse error", parser->context ? " " : "",
		    parser->context ? parser->context : "",
		    tab ? " (a tab: YAML indentation must use spaces)" : "");
}

/* Overwrites every scalar (tokens, key data) before the tree is freed. */
static void wipe_document(yaml_document_t *doc)
{
	for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE && n->data.scalar.value)
			OPENSSL_cleanse(n->data.scalar.value, n->data.scalar.length);
}

static void wipe_parser(yaml_parser_t *parser)
{
	if (parser->buffer.start)
		OPENSSL_cleanse(parser->buffer.start,
				(size_t)(parser->buffer.end - parser->buffer.start));
	if (parser->raw_buffer.start)
		OPENSSL_cleanse(parser->raw_buffer.start,
				(size_t)(parser->raw_buffer.end - parser->raw_buffer.start));
}

/* Walks the first document's events to bound its nesting and size. */
static int check_shape(const struct kc *p, const char *yaml, size_t len)
{
	int rc = 0;
	yaml_parser_t parser;
	yaml_event_t ev;
	size_t depth = 0, nodes = 0;
	bool end = false;

	if (!yaml_parser_initialize(&parser))
		return fail(p, E_INVALID, "cannot set up the YAML parser (out of memory)");
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	while (!rc && !end) {
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = yaml_fail(p, &parser, yaml, len);
			break;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			nodes++;
			if (++depth > MAX_DEPTH)
				rc = fail(p, E_INVALID,
					  "lists and mappings are nested more than %d deep",
					  MAX_DEPTH);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			nodes++;
			OPENSSL_cleanse(ev.data.scalar.value, ev.data.scalar.length);
			break;
		case YAML_ALIAS_EVENT:
			nodes++;
			break;
		case YAML_DOCUMENT_END_EVENT:
		case YAML_STREAM_END_EVENT:
			end = true;
			break;
		default:
			break;
		}
		if (!rc && nodes > MAX_NODES)
			rc = fail(p, E_INVALID, "more than %d YAML nodes; this is not a kubeconfig",
				  MAX_NODES);
		yaml_event_delete(&ev);
	}
	wipe_parser(&parser);
	yaml_parser_delete(&parser);
	return rc;
}

static int parse_config(struct kube_config *out, const char *name, const char *yaml, size_t len,
			const char *context, const char *base_dir)
{
	int rc;
	struct kube_config c;
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_parser = false, have_doc = false;
	char *ctx_where = NULL, *cl_where = NULL, *user_where = NULL;
	struct kc p = {name, base_dir, &doc};
	yaml_node_t *root, *ctx, *cl, *u = NULL;
	const char *ctx_name = context && *context ? context : NULL;
	const char *cl_name, *user_name, *ns;

	memset(&c, 0, sizeof(c));
	size_t blank = 0;
	while (blank < len && isspace((unsigned char)yaml[blank]))
		blank++;
	if (blank == len) {
		rc =
		    fail(&p, E_INVALID, "the file is empty; it needs clusters, users and contexts");
		goto done;
	}
	if ((rc = check_shape(&p, yaml, len)))
		goto done;
	if (!yaml_parser_initialize(&parser)) {
		rc = fail(&p, E_INVALID, "cannot set up the YAML parser (out of memory)");
		goto done;
	}
	have_parser = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = yaml_fail(&p, &parser, yaml, len);
		goto done;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (!root || is_null(root)) {
		rc = fail(&p, E_INVALID, "the file holds no YAML document");
		goto done;
	}
	if (root->type != YAML_MAPPING_NODE) {
		rc = fail(&p, E_INVALID, "the top level must be a mapping, found %s", kind(root));
		goto done;
	}
	if (!ctx_name) {
		if ((rc = get_str(&ctx_name, &p, root, "current-context", "top level")))
			goto done;
		if (!ctx_name) {
			rc = fail(&p, E_INVALID,
				  "current-context is not set and no context was given; pass "
				  "--context NAME or run kubectl config use-context NAME");
			goto done;
		}
	}
	ctx_where = xasprintf("context \"%s\"", ctx_name);
	if ((rc = find_named(&ctx, &p, root, "contexts", "context", ctx_name, NULL)) ||
	    (rc = get_str(&cl_name, &p, ctx, "cluster", ctx_where)) ||
	    (rc = get_str(&user_name, &p, ctx, "user", ctx_where)) ||
	    (rc = get_str(&ns, &p, ctx, "namespace", ctx_where)))
		goto done;
	if (!cl_name) {
		rc = fail(&p, E_INVALID, "%s has no cluster", ctx_where);
		goto done;
	}
	cl_where = xasprintf("%s: cluster \"%s\"", ctx_where, cl_name);
	if ((rc = find_named(&cl, &p, root, "clusters", "cluster", cl_name, ctx_where)) ||
	    (rc = parse_cluster(&c, &p, cl, cl_where)))
		goto done;
	/* A context without a user is anonymous access (a local test server). */
	if (user_name) {
		user_where = xasprintf("%s: user \"%s\"", ctx_where, user_name);
		if ((rc = find_named(&u, &p, root, "users", "user", user_name, ctx_where)) ||
		    (rc = parse_user(&c, &p, u, user_where)))
			goto done;
	}
	c.namespace_ = xstrdup(ns ? ns : "default");
	c.context = xstrdup(ctx_name);
	*out = c;
	memset(&c, 0, sizeof(c));
	rc = 0;
done:
	kube_config_dispose(&c);
	free(ctx_where);
	free(cl_where);
	free(user_where);
	if (have_doc) {
		wipe_document(&doc);
		yaml_document_delete(&doc);
	}
	if (have_parser) {
		wipe_parser(&parser);
		yaml_parser_delete(&parser);
	}
	return rc;
}

int kubeconfig_parse(struct kube_config *out, const char *yaml, size_t len, const char *context,
		     const char *base_dir)
{
	return parse_config(out, "kubeconfig", yaml, len, context, base_dir);
}

/* The first existing file of $KUBECONFIG, else ~/.kube/config. */
static int default_path(char **out)
{
	int rc = 0;
	char *list = NULL, *save = NULL;
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");

	if (env && *env) {
		list = xstrdup(env);
		for (char *f = strtok_r(list, ":", &save); f; f = strtok_r(NULL, ":", &save)) {
			struct stat st;
			if (stat(f, &st) == 0) {
				*out = xstrdup(f);
				goto done;
			}
		}
		rc = invalid("KUBECONFIG=%s: none of the listed files exists; fix KUBECONFIG "
			     "or pass --kubeconfig",
			     env);
		goto done;
	}
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || !*home)
		rc = invalid("cannot find the home folder to look for ~/.kube/config; "
			     "set HOME or KUBECONFIG, or pass --kubeconfig");
	else
		*out = xasprintf("%s/.kube/config", home);
done:
	free(list);
	return rc;
}

int kubeconfig_load(struct kube_config *out, const char *path, const char *context)
{
	int rc;
	char *chosen = NULL, *data = NULL, *dir = NULL, *name = NULL;
	size_t len = 0;

	if (path && *path)
		chosen = xstrdup(path);
	else if ((rc = default_path(&chosen)))
		goto done;
	if ((rc = slurp(&data, &len, NULL, chosen, KUBECONFIG_MAX_BYTES))) {
		err_wrap("kubeconfig");
		err_set(rc, "%s; pass --kubeconfig, set KUBECONFIG or run in a cluster", err_msg());
		goto done;
	}
	const char *slash = strrchr(chosen, '/');
	dir = !slash		? xstrdup(".")
	      : slash == chosen ? xstrdup("/")
				: xstrndup(chosen, (size_t)(slash - chosen));
	name = xasprintf("kubeconfig %s", chosen);
	rc = parse_config(out, name, data, len, context, dir);
done:
	if (data) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	free(chosen);
	free(dir);
	free(name);
	return rc;
}

int kubeconfig_in_cluster(struct kube_config *out, const char *sa_dir)
{
	int rc = 0;
	struct kube_config c;
	struct file_stamp st = {0};
	char *path = NULL, *ns = NULL, *tok = NULL;
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = sa_dir && *sa_dir ? sa_dir : DEFAULT_SA_DIR;

	memset(&c, 0, sizeof(c));
	if (!host || !*host || !port || !*port) {
		rc = invalid("in-cluster config: KUBERNETES_SERVICE_HOST and "
			     "KUBERNETES_SERVICE_PORT must be set (Kubernetes sets them in every "
			     "pod); outside a cluster pass --kubeconfig");
		goto done;
	}
	size_t plen = strspn(port, "0123456789");
	if (plen == 0 || plen > 5 || port[plen] || atoi(port) < 1 || atoi(port) > 65535) {
		rc = invalid("in-cluster config: KUBERNETES_SERVICE_PORT=\"%.32s\" is not a port "
			     "number (1-65535)",
			     port);
		goto done;
	}
	size_t hlen = strlen(host);
	bool bracketed = host[0] == '[' && host[hlen - 1] == ']';
	for (const char *s = host; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || strchr("/@?#", *s) ||
		    ((*s == '[' || *s == ']') && !bracketed)) {
			rc =
			    invalid("in-cluster config: KUBERNETES_SERVICE_HOST=\"%.64s\" is not a "
				    "host name or IP address",
				    host);
			goto done;
		}
	/* An IPv6 address needs brackets in a URL. */
	bool v6 = !bracketed && strchr(host, ':');
	c.server = xasprintf("https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);

	c.token_file = xasprintf("%s/token", dir);
	if ((rc = read_token(&tok, &st, c.token_file))) {
		err_wrap("in-cluster config: service account token");
		goto done;
	}
	c.token_cache.current = tok;
	c.token_cache.dev = st.dev;
	c.token_cache.ino = st.ino;
	c.token_cache.size = st.size;
	c.token_cache.mtime_ns = st.mtime_ns;
	tok = NULL;

	path = xasprintf("%s/ca.crt", dir);
	struct stat sst;
	if (stat(path, &sst) != 0 && errno == ENOENT) {
		log_warn("in-cluster config: %s does not exist; checking the API server with "
			 "the system's certificate authorities",
			 path);
	} else if ((rc = slurp(&c.ca_pem, NULL, NULL, path, PEM_MAX_BYTES))) {
		err_wrap("in-cluster config: service account CA");
		goto done;
	} else if (!strstr(c.ca_pem, "-----BEGIN CERTIFICATE-----")) {
		rc = invalid("in-cluster config: %s is not a PEM certificate (no -----BEGIN "
			     "CERTIFICATE line)",
			     path);
		goto done;
	}
	free(path);
	path = xasprintf("%s/namespace", dir);
	if (slurp(&ns, NULL, NULL, path, NAMESPACE_MAX_BYTES) == 0) {
		trim(ns);
		if (!token_chars_ok(ns) || strchr(ns, '/')) {
			rc = invalid("in-cluster config: %s does not hold a namespace name", path);
			goto done;
		}
		c.namespace_ = ns;
		ns = NULL;
	} else {
		c.namespace_ = xstrdup("default");
	}
	err_clear();
	*out = c;
	memset(&c, 0, sizeof(c));
done:
	kube_config_dispose(&c);
	wipe_free(tok);
	free(ns);
	free(path);
	return rc;
}

int kube_config_auto(struct kube_config *out, const char *kubeconfig_path, const char *context)
{
	const char *env = getenv("KUBECONFIG");
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	/* An explicit file, $KUBECONFIG or a context name all ask for a kubeconfig. */
	if ((kubeconfig_path && *kubeconfig_path) || (env && *env) || (context && *context) ||
	    !host || !*host)
		return kubeconfig_load(out, kubeconfig_path, context);
	return kubeconfig_in_cluster(out, NULL);
}

void kube_config_dispose(struct kube_config *c)
{
	free(c->server);
	free(c->ca_pem);
	free(c->client_cert_pem);
	wipe_free(c->client_key_pem);
	wipe_free(c->token);
	free(c->token_file);
	free(c->namespace_);
	free(c->context);
	wipe_free(c->token_cache.current);
	wipe_free(c->token_cache.previous);
	memset(c, 0, sizeof(*c));
}

const char *kube_config_token(struct kube_config *c)
{
	if (!c->token_file)
		return c->token;
	pthread_mutex_lock(&token_lock);
	struct kube_config_token_cache *tc = &c->token_cache;
	struct stat st;
	struct file_stamp now = {0};
	char *tok = NULL;
	if (stat(c->token_file, &st) != 0) {
		if (!tc->failing)
			log_warn("token file %s: %s; still sending the last token read",
				 c->token_file, strerror(errno));
		tc->failing = 1;
		goto done;
	}
	stamp_of(&now, &st);
	if (tc->current && now.dev == tc->dev && now.ino == tc->ino && now.size == tc->size &&
	    now.mtime_ns == tc->mtime_ns)
		goto done;
	int rc = read_token(&tok, &now, c->token_file);
	/* Remember this version even when it is bad: re-read only once it changes. */
	tc->dev = now.dev;
	tc->ino = now.ino;
	tc->size = now.size;
	tc->mtime_ns = now.mtime_ns;
	if (rc) {
		if (!tc->failing)
			log_warn("%s; still sending the last token read", err_msg());
		tc->failing = 1;
		goto done;
	}
	wipe_free(tc->previous);
	tc->previous = tc->current;
	tc->current = tok;
	tc->failing = 0;
done:;
	const char *r = tc->current ? tc->current : c->token;
	pthread_mutex_unlock(&token_lock);
	return r;
}
