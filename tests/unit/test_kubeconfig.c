/* Tests for operator/kube/kubeconfig.c: kubeconfig files, the in-cluster
 * service account, token rotation, and malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "operator/kube/kubeconfig.h"

#define CA_PEM "-----BEGIN CERTIFICATE-----\nMIIBcaCAfake\n-----END CERTIFICATE-----\n"
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nMIIBclientfake\n-----END CERTIFICATE-----\n"
#define KEY_PEM "-----BEGIN PRIVATE KEY-----\nMIIEsecretkeyfake\n-----END PRIVATE KEY-----\n"

/* A temporary folder per test, removed afterwards. */
struct fixture {
	char dir[64];
};

static int setup_dir(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/lifeboat-kubeconfig-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown_dir(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);
	int rc = system(cmd);
	free(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *slash = strrchr(path, '/');
	/* One level of sub-folder is enough for these tests. */
	if (slash > path + strlen(dir)) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	free(path);
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

static int parse(struct kube_config *c, const char *yaml, const char *context, const char *dir)
{
	return kubeconfig_parse(c, yaml, strlen(yaml), context, dir);
}

/* A kubeconfig with three contexts covering the field kinds. */
static char *full_config(void)
{
	char *ca = b64(CA_PEM), *cert = b64(CERT_PEM), *key = b64(KEY_PEM);
	char *y = xasprintf("apiVersion: v1\n"
			    "kind: Config\n"
			    "preferences: {}\n"
			    "current-context: dev\n"
			    "clusters:\n"
			    "- name: dev-cluster\n"
			    "  cluster:\n"
			    "    server: https://dev.example.com:6443/\n"
			    "    certificate-authority-data: %s\n"
			    "- name: prod-cluster\n"
			    "  cluster:\n"
			    "    server: https://[2001:db8::1]:443\n"
			    "    certificate-authority: certs/ca.crt\n"
			    "- name: local\n"
			    "  cluster:\n"
			    "    server: http://127.0.0.1:8080\n"
			    "    insecure-skip-tls-verify: true\n"
			    "contexts:\n"
			    "- name: dev\n"
			    "  context:\n"
			    "    cluster: dev-cluster\n"
			    "    user: dev-user\n"
			    "    namespace: team-a\n"
			    "- name: prod\n"
			    "  context:\n"
			    "    cluster: prod-cluster\n"
			    "    user: prod-user\n"
			    "- name: data\n"
			    "  context:\n"
			    "    cluster: dev-cluster\n"
			    "    user: data-user\n"
			    "    namespace: ~\n"
			    "- name: local\n"
			    "  context:\n"
			    "    cluster: local\n"
			    "users:\n"
			    "- name: dev-user\n"
			    "  user:\n"
			    "    token: \"  s3cr3t-dev-token\\n\"\n"
			    "- name: prod-user\n"
			    "  user:\n"
			    "    client-certificate: certs/client.crt\n"
			    "    client-key: certs/client.key\n"
			    "    tokenFile: token\n"
			    "- name: data-user\n"
			    "  user:\n"
			    "    client-certificate-data: %s\n"
			    "    client-key-data: >-\n"
			    "      %.20s\n"
			    "      %s\n",
			    ca, cert, key, key + 20);
	free(ca);
	free(cert);
	free(key);
	return y;
}

static void write_referenced_files(const char *dir)
{
	write_file(dir, "certs/ca.crt", CA_PEM);
	write_file(dir, "certs/client.crt", CERT_PEM);
	write_file(dir, "certs/client.key", KEY_PEM);
	write_file(dir, "token", "file-token-1\n");
}

static void kubeconfig_parse__uses_current_context(void **state)
{
	struct fixture *f = *state;
	char *y = full_config();
	struct kube_config c;
	if (parse(&c, y, NULL, f->dir) != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.context, "dev");
	assert_string_equal(c.server, "https://dev.example.com:6443");
	assert_string_equal(c.ca_pem, CA_PEM);
	assert_string_equal(c.token, "s3cr3t-dev-token");
	assert_string_equal(kube_config_token(&c), "s3cr3t-dev-token");
	assert_null(c.token_file);
	assert_null(c.client_cert_pem);
	assert_null(c.client_key_pem);
	assert_int_equal(c.insecure, 0);
	assert_string_equal(c.namespace_, "team-a");
	kube_config_dispose(&c);
	/* An empty context name means current-context too. */
	assert_int_equal(parse(&c, y, "", f->dir), 0);
	assert_string_equal(c.context, "dev");
	kube_config_dispose(&c);
	free(y);
}

static void kubeconfig_parse__named_context_overrides_current(void **state)
{
	struct fixture *f = *state;
	write_referenced_files(f->dir);
	char *y = full_config();
	struct kube_config c;
	if (parse(&c, y, "prod", f->dir) != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.context, "prod");
	assert_string_equal(c.server, "https://[2001:db8::1]:443");
	assert_string_equal(c.namespace_, "default");
	kube_config_dispose(&c);
	assert_null(c.server);
	kube_config_dispose(&c);
	free(y);
}

static void kubeconfig_parse__reads_files_relative_to_base_dir(void **state)
{
	struct fixture *f = *state;
	write_referenced_files(f->dir);
	char *y = full_config();
	struct kube_config c;
	if (parse(&c, y, "prod", f->dir) != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.ca_pem, CA_PEM);
	assert_string_equal(c.client_cert_pem, CERT_PEM);
	assert_string_equal(c.client_key_pem, KEY_PEM);
	char *token_path = xasprintf("%s/token", f->dir);
	assert_string_equal(c.token_file, token_path);
	assert_null(c.token);
	assert_string_equal(kube_config_token(&c), "file-token-1");
	kube_config_dispose(&c);
	free(token_path);

	/* The same paths from another folder fail, naming the field and path. */
	assert_int_equal(parse(&c, y, "prod", "/nonexistent-dir"), E_INVALID);
	assert_non_null(strstr(err_msg(), "context \"prod\": cluster \"prod-cluster\": "
					  "certificate-authority: cannot read "
					  "/nonexistent-dir/certs/ca.crt"));
	free(y);

	/* Absolute paths are used as they are. */
	y = xasprintf("current-context: a\n"
		      "contexts: [{name: a, context: {cluster: c, user: u}}]\n"
		      "clusters: [{name: c, cluster: {server: 'https://k', "
		      "certificate-authority: %s/certs/ca.crt}}]\n"
		      "users: [{name: u, user: {tokenFile: %s/token}}]\n",
		      f->dir, f->dir);
	if (parse(&c, y, NULL, "/elsewhere") != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.ca_pem, CA_PEM);
	assert_string_equal(kube_config_token(&c), "file-token-1");
	kube_config_dispose(&c);
	free(y);
}

static void kubeconfig_parse__data_fields_match_files(void **state)
{
	struct fixture *f = *state;
	char *y = full_config();
	struct kube_config c;
	/* The key data is a folded multi-line scalar: whitespace is skipped. */
	if (parse(&c, y, "data", f->dir) != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.server, "https://dev.example.com:6443");
	assert_string_equal(c.ca_pem, CA_PEM);
	assert_string_equal(c.client_cert_pem, CERT_PEM);
	assert_string_equal(c.client_key_pem, KEY_PEM);
	assert_null(c.token);
	assert_null(c.token_file);
	assert_null(kube_config_token(&c));
	assert_string_equal(c.namespace_, "default");
	kube_config_dispose(&c);
	free(y);
}

static void kubeconfig_parse__token_file_wins_over_inline_token(void **state)
{
	struct fixture *f = *state;
	write_file(f->dir, "tok", "  from-file \n\n");
	const char *y = "current-context: a\n"
			"contexts: [{name: a, context: {cluster: c, user: u}}]\n"
			"clusters: [{name: c, cluster: {server: 'https://k'}}]\n"
			"users: [{name: u, user: {token: inline-token, tokenFile: tok}}]\n";
	struct kube_config c;
	if (parse(&c, y, NULL, f->dir) != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.token, "inline-token");
	assert_string_equal(kube_config_token(&c), "from-file");
	assert_null(c.ca_pem);
	kube_config_dispose(&c);
}

static void kubeconfig_parse__insecure_and_anonymous(void **state)
{
	struct fixture *f = *state;
	char *y = full_config();
	struct kube_config c;
	if (parse(&c, y, "local", f->dir) != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.server, "http://127.0.0.1:8080");
	assert_int_equal(c.insecure, 1);
	assert_null(c.ca_pem);
	assert_null(c.token);
	assert_null(kube_config_token(&c));
	assert_string_equal(c.namespace_, "default");
	kube_config_dispose(&c);
	free(y);

	static const char *const spellings[][2] = {
	    {"true", "1"},  {"True", "1"},  {"\"true\"", "1"},
	    {"false", "0"}, {"FALSE", "0"}, {"~", "0"},
	};
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		y = xasprintf("current-context: a\n"
			      "contexts: [{name: a, context: {cluster: c}}]\n"
			      "clusters: [{name: c, cluster: {server: 'https://k', "
			      "insecure-skip-tls-verify: %s}}]\n",
			      spellings[i][0]);
		if (parse(&c, y, NULL, f->dir) != 0)
			fail_msg("%s: %s", spellings[i][0], err_msg());
		assert_int_equal(c.insecure, spellings[i][1][0] - '0');
		kube_config_dispose(&c);
		free(y);
	}
}

static void kubeconfig_parse__namespace_defaults(void **state)
{
	(void)state;
	static const char *const ns_values[][2] = {
	    {"", "default"},
	    {"namespace: ~", "default"},
	    {"namespace: ''", "default"},
	    {"namespace: backups", "backups"},
	    {"namespace: \"q-1\"", "q-1"},
	};
	for (size_t i = 0; i < sizeof(ns_values) / sizeof(ns_values[0]); i++) {
		char *y = xasprintf("current-context: a\n"
				    "contexts:\n- name: a\n  context:\n    cluster: c\n    %s\n"
				    "clusters: [{name: c, cluster: {server: 'https://k'}}]\n",
				    ns_values[i][0]);
		struct kube_config c;
		if (parse(&c, y, NULL, NULL) != 0)
			fail_msg("%s: %s", ns_values[i][0], err_msg());
		assert_string_equal(c.namespace_, ns_values[i][1]);
		kube_config_dispose(&c);
		free(y);
	}
}

/* The malformed-input table: every case fails with the code and the text. */
#define CTX "current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: c\n    user: u\n"
#define CLUSTERS "clusters:\n- name: c\n  cluster:\n    server: https://k:6443\n"
#define USERS "users:\n- name: u\n  user:\n    token: SECRET-token\n"

static const struct {
	const char *yaml;
	int code;
	const char *want;
} bad_cases[] = {
    {"", E_INVALID, "kubeconfig: the file is empty"},
    {"  \n\n  ", E_INVALID, "the file is empty"},
    {"# only a comment\n", E_INVALID, "holds no YAML document"},
    {"~\n", E_INVALID, "holds no YAML document"},
    {"- a\n- b\n", E_INVALID, "the top level must be a mapping, found a list"},
    {"just a string\n", E_INVALID, "the top level must be a mapping, found a string"},
    {CTX "clusters:\n- name: c\n  cluster:\n    server: \"https://k", E_INVALID,
     "invalid YAML at line"},
    {CTX "clusters:\n- name: c\n  cluster:\n    server: https://k\n   bad: indent\n", E_INVALID,
     "invalid YAML at line"},
    {CTX "clusters:\n\t- name: c\n", E_INVALID, "indentation must use spaces"},
    {"current-context: a\ncontexts:\n- name: a\n  context:\n\tcluster: c\n", E_INVALID,
     "line 5 column 1"},
    {"a: [1, 2\n", E_INVALID, "invalid YAML"},
    {"a: \"\xff\xfe\"\n", E_INVALID, "invalid YAML"},
    {"a: *nope\n", E_INVALID, "invalid YAML"},
    {CLUSTERS, E_INVALID, "current-context is not set and no context was given"},
    {"current-context: ''\n" CLUSTERS, E_INVALID, "current-context is not set"},
    {"current-context: [a]\n", E_INVALID, "current-context must be a string, found a list"},
    {"current-context: a\n" CLUSTERS, E_INVALID,
     "context \"a\" not found: the file has no contexts list"},
    {"current-context: b\ncontexts:\n- name: a\n  context: {cluster: c}\n", E_INVALID,
     "context \"b\" not found in contexts"},
    {"current-context: a\ncontexts: {a: {cluster: c}}\n", E_INVALID,
     "contexts must be a list of entries with a name, found a mapping"},
    {"current-context: a\ncontexts:\n- a\n", E_INVALID,
     "contexts[0] must be a mapping, found a string"},
    {"current-context: a\ncontexts:\n- name: [a]\n", E_INVALID,
     "contexts[0]: name must be a string, found a list"},
    {"current-context: a\ncontexts:\n- name: a\n", E_INVALID,
     "context \"a\": the contexts entry has no context field"},
    {"current-context: a\ncontexts:\n- name: a\n  context: c\n", E_INVALID,
     "context \"a\": context must be a mapping, found a string"},
    {"current-context: a\ncontexts:\n- name: a\n  context: {user: u}\n", E_INVALID,
     "context \"a\" has no cluster"},
    {CTX USERS, E_INVALID, "context \"a\": cluster \"c\" not found: the file has no clusters list"},
    {CTX "clusters:\n  c:\n    server: https://k\n", E_INVALID,
     "clusters must be a list of entries with a name, found a mapping"},
    {CTX "clusters:\n- name: other\n  cluster: {server: https://k}\n", E_INVALID,
     "context \"a\": cluster \"c\" not found in clusters"},
    {CTX "clusters:\n- name: c\n  cluster: [https://k]\n", E_INVALID,
     "context \"a\": cluster \"c\": cluster must be a mapping, found a list"},
    {CTX "clusters:\n- name: c\n  cluster: {}\n" USERS, E_INVALID,
     "kubeconfig: context \"a\": cluster \"c\" has no server"},
    {CTX "clusters:\n- name: c\n  cluster: {server: [https://k]}\n", E_INVALID,
     "context \"a\": cluster \"c\": server must be a string, found a list"},
    {CTX "clusters:\n- name: c\n  cluster: {server: 'k:6443'}\n", E_INVALID,
     "context \"a\": cluster \"c\": server must start with https:// or http://"},
    {CTX "clusters:\n- name: c\n  cluster: {server: 'https://'}\n", E_INVALID,
     "cluster \"c\": server has no host"},
    {CTX "clusters:\n- name: c\n  cluster: {server: 'https://SECRET:pw@k'}\n", E_INVALID,
     "server must not hold credentials"},
    {CTX "clusters:\n- name: c\n  cluster: {server: \"https://k\\nX-Evil: 1\"}\n", E_INVALID,
     "server contains spaces or control characters"},
    {CTX "clusters:\n- name: c\n  cluster: {server: \"https://k\\0\"}\n", E_INVALID,
     "server contains a NUL character"},
    {CTX CLUSTERS "    certificate-authority-data: '@@not base64@@'\n" USERS, E_INVALID,
     "cluster \"c\": certificate-authority-data is not valid base64"},
    {CTX CLUSTERS "    certificate-authority-data: 'aGVsbG8'\n" USERS, E_INVALID,
     "certificate-authority-data is not valid base64"},
    {CTX CLUSTERS "    certificate-authority-data: 'aGVsbG8='\n" USERS, E_INVALID,
     "certificate-authority-data is not a PEM certificate"},
    {CTX CLUSTERS "    certificate-authority-data: 'AAAA'\n" USERS, E_INVALID,
     "certificate-authority-data is not valid base64"},
    {CTX CLUSTERS "    certificate-authority: /nonexistent/ca.crt\n" USERS, E_INVALID,
     "cluster \"c\": certificate-authority: cannot read /nonexistent/ca.crt"},
    {CTX CLUSTERS "    certificate-authority: /dev\n" USERS, E_INVALID,
     "certificate-authority: cannot read /dev: not a regular file"},
    {CTX CLUSTERS "    certificate-authority: x\n    certificate-authority-data: eA==\n" USERS,
     E_INVALID, "both certificate-authority and certificate-authority-data are set"},
    {CTX CLUSTERS "    insecure-skip-tls-verify: maybe\n" USERS, E_INVALID,
     "cluster \"c\": insecure-skip-tls-verify must be true or false"},
    {CTX CLUSTERS "    insecure-skip-tls-verify: true\n    certificate-authority-data: "
		  "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n" USERS,
     E_INVALID, "insecure-skip-tls-verify cannot be combined"},
    {CTX CLUSTERS, E_INVALID, "context \"a\": user \"u\" not found: the file has no users list"},
    {CTX CLUSTERS "users:\n- name: v\n  user: {token: SECRET}\n", E_INVALID,
     "context \"a\": user \"u\" not found in users"},
    {CTX CLUSTERS "users: SECRET\n", E_INVALID,
     "users must be a list of entries with a name, found a string"},
    {CTX CLUSTERS "users:\n- name: u\n  user:\n    exec:\n      command: aws\n", E_UNSUPPORTED,
     "context \"a\": user \"u\" runs a credential plugin (exec)"},
    {CTX CLUSTERS "users:\n- name: u\n  user:\n    auth-provider: {name: gcp}\n", E_UNSUPPORTED,
     "user \"u\" uses an auth-provider plugin"},
    {CTX CLUSTERS "users:\n- name: u\n  user: {username: admin, password: SECRET}\n", E_UNSUPPORTED,
     "basic authentication"},
    {CTX CLUSTERS "users:\n- name: u\n  user: {token: SECRET, as: admin}\n", E_UNSUPPORTED,
     "impersonation"},
    {CTX CLUSTERS "users:\n- name: u\n  user: {token: [SECRET]}\n", E_INVALID,
     "user \"u\": token must be a string, found a list"},
    {CTX CLUSTERS "users:\n- name: u\n  user: {token: \"SECRET token\"}\n", E_INVALID,
     "user \"u\": token is empty or holds spaces or control characters"},
    {CTX CLUSTERS "users:\n- name: u\n  user: {token: \"SECRET\\r\\nX: 1\"}\n", E_INVALID,
     "token is empty or holds spaces"},
    {CTX CLUSTERS "users:\n- name: u\n  user: {tokenFile: /nonexistent/token}\n", E_INVALID,
     "user \"u\": tokenFile: cannot read /nonexistent/token"},
    {CTX CLUSTERS "users:\n- name: u\n  user: {client-certificate-data: "
		  "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==}\n",
     E_INVALID, "user \"u\": client-certificate is set without client-key"},
    {CTX CLUSTERS "users:\n- name: u\n  user: {client-key-data: "
		  "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tClNFQ1JFVAo=}\n",
     E_INVALID, "user \"u\": client-key is set without client-certificate"},
    /* "SECRET-KEY-BYTES" in base64: not PEM, and never echoed. */
    {CTX CLUSTERS "users:\n- name: u\n  user: {client-key-data: U0VDUkVULUtFWS1CWVRFUw==}\n",
     E_INVALID, "user \"u\": client-key-data is not a PEM private key"},
    {CTX CLUSTERS "users:\n- name: u\n  user: {client-key-data: 'SECRET!!'}\n", E_INVALID,
     "client-key-data is not valid base64"},
    {CTX CLUSTERS "users:\n- name: u\n  user: {client-key: /nonexistent/key}\n", E_INVALID,
     "user \"u\": client-key: cannot read /nonexistent/key"},
};

static void kubeconfig_parse__rejects_malformed_input_naming_the_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct kube_config c;
		memset(&c, 0xa5, sizeof(c));
		err_clear();
		int rc = parse(&c, bad_cases[i].yaml, NULL, "/nonexistent-base");
		if (rc != bad_cases[i].code)
			fail_msg("case %zu: want %d, got %d (%s)", i, bad_cases[i].code, rc,
				 rc ? err_msg() : "accepted");
		if (!strstr(err_msg(), bad_cases[i].want))
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err_msg(),
				 bad_cases[i].want);
		if (strstr(err_msg(), "SECRET"))
			fail_msg("case %zu: message \"%s\" shows a secret", i, err_msg());
		if (getenv("KUBECONFIG_TEST_VERBOSE"))
			print_message("case %zu: %s\n", i, err_msg());
		/* The output is left alone on failure. */
		assert_int_equal(((unsigned char *)&c)[0], 0xa5);
	}
}

static void kubeconfig_parse__reads_input_that_is_not_nul_terminated(void **state)
{
	(void)state;
	const char *text = "current-context: a\n"
			   "contexts: [{name: a, context: {cluster: c}}]\n"
			   "clusters: [{name: c, cluster: {server: 'https://k'}}]\n";
	size_t n = strlen(text);
	char *copy = xmalloc(n);
	memcpy(copy, text, n);
	struct kube_config c;
	assert_int_equal(kubeconfig_parse(&c, copy, n, NULL, NULL), 0);
	assert_string_equal(c.server, "https://k");
	kube_config_dispose(&c);
	free(copy);
}

static void kubeconfig_load__reads_the_file_and_names_it(void **state)
{
	struct fixture *f = *state;
	write_referenced_files(f->dir);
	char *y = full_config();
	write_file(f->dir, "config", y);
	free(y);
	char *path = xasprintf("%s/config", f->dir);
	struct kube_config c;
	/* Relative references resolve against the kubeconfig's folder. */
	if (kubeconfig_load(&c, path, "prod") != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.client_key_pem, KEY_PEM);
	kube_config_dispose(&c);

	assert_int_equal(kubeconfig_load(&c, path, "missing"), E_INVALID);
	char *want = xasprintf("kubeconfig %s: context \"missing\" not found in contexts", path);
	assert_string_equal(strstr(err_msg(), want) ? want : err_msg(), want);
	free(want);

	write_file(f->dir, "broken", "clusters:\n\t- name: x\n");
	char *broken = xasprintf("%s/broken", f->dir);
	assert_int_equal(kubeconfig_load(&c, broken, NULL), E_INVALID);
	want = xasprintf("kubeconfig %s: invalid YAML at line 2", broken);
	assert_non_null(strstr(err_msg(), want));
	free(want);

	assert_int_equal(kubeconfig_load(&c, "/nonexistent/config", NULL), E_INVALID);
	assert_non_null(strstr(err_msg(), "kubeconfig: cannot read /nonexistent/config"));
	assert_non_null(strstr(err_msg(), "--kubeconfig"));

	/* A path without a folder reads relative to the working folder. */
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	int rc = kubeconfig_load(&c, "config", "prod");
	assert_int_equal(chdir(cwd), 0);
	if (rc)
		fail_msg("%s", err_msg());
	assert_string_equal(c.ca_pem, CA_PEM);
	kube_config_dispose(&c);
	free(broken);
	free(path);
}

/* Sets or unsets an environment variable, returning the old value to restore. */
static char *swap_env(const char *name, const char *value)
{
	const char *old = getenv(name);
	char *saved = old ? xstrdup(old) : NULL;
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
	return saved;
}

static void restore_env(const char *name, char *saved)
{
	if (saved)
		setenv(name, saved, 1);
	else
		unsetenv(name);
	free(saved);
}

static void kubeconfig_load__default_path_from_kubeconfig_env_or_home(void **state)
{
	struct fixture *f = *state;
	write_referenced_files(f->dir);
	char *y = full_config();
	write_file(f->dir, "second", y);
	write_file(f->dir, ".kube/config", y);
	free(y);
	char *list = xasprintf("/nonexistent/one::%s/second:%s/.kube/config", f->dir, f->dir);
	char *old_kc = swap_env("KUBECONFIG", list);
	char *old_home = swap_env("HOME", f->dir);
	struct kube_config c;
	int rc = kubeconfig_load(&c, NULL, "prod");
	if (rc)
		fail_msg("%s", err_msg());
	kube_config_dispose(&c);
	/* The first existing file is the one read: break it and see its name. */
	write_file(f->dir, "second", "{");
	assert_int_equal(kubeconfig_load(&c, NULL, NULL), E_INVALID);
	char *want = xasprintf("kubeconfig %s/second: invalid YAML", f->dir);
	assert_non_null(strstr(err_msg(), want));
	free(want);

	setenv("KUBECONFIG", "/nonexistent/a:/nonexistent/b", 1);
	assert_int_equal(kubeconfig_load(&c, NULL, NULL), E_INVALID);
	assert_non_null(strstr(err_msg(), "KUBECONFIG=/nonexistent/a:/nonexistent/b: none of the "
					  "listed files exists"));

	/* Without KUBECONFIG: ~/.kube/config. */
	unsetenv("KUBECONFIG");
	rc = kubeconfig_load(&c, NULL, NULL);
	if (rc)
		fail_msg("%s", err_msg());
	assert_string_equal(c.context, "dev");
	kube_config_dispose(&c);
	setenv("HOME", "/nonexistent-home", 1);
	assert_int_equal(kubeconfig_load(&c, NULL, NULL), E_INVALID);
	assert_non_null(strstr(err_msg(), "/nonexistent-home/.kube/config"));
	restore_env("KUBECONFIG", old_kc);
	restore_env("HOME", old_home);
	free(list);
}

static void write_sa_dir(const char *dir, const char *token, const char *ns, int with_ca)
{
	if (token)
		write_file(dir, "sa/token", token);
	if (ns)
		write_file(dir, "sa/namespace", ns);
	if (with_ca)
		write_file(dir, "sa/ca.crt", CA_PEM);
}

static void kubeconfig_in_cluster__ipv4_and_ipv6_hosts(void **state)
{
	struct fixture *f = *state;
	write_sa_dir(f->dir, "sa-token-1\n", "backups\n", 1);
	char *sa = xasprintf("%s/sa", f->dir);
	char *old_host = swap_env("KUBERNETES_SERVICE_HOST", "10.96.0.1");
	char *old_port = swap_env("KUBERNETES_SERVICE_PORT", "443");
	struct kube_config c;
	if (kubeconfig_in_cluster(&c, sa) != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.server, "https://10.96.0.1:443");
	assert_string_equal(c.ca_pem, CA_PEM);
	assert_null(c.token);
	char *token_path = xasprintf("%s/token", sa);
	assert_string_equal(c.token_file, token_path);
	free(token_path);
	assert_string_equal(kube_config_token(&c), "sa-token-1");
	assert_string_equal(c.namespace_, "backups");
	assert_null(c.context);
	assert_int_equal(c.insecure, 0);
	assert_null(c.client_cert_pem);
	kube_config_dispose(&c);

	static const char *const hosts[][2] = {
	    {"fd00:10:96::1", "https://[fd00:10:96::1]:6443"},
	    {"[fd00::1]", "https://[fd00::1]:6443"},
	    {"kubernetes.default.svc", "https://kubernetes.default.svc:6443"},
	};
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		setenv("KUBERNETES_SERVICE_HOST", hosts[i][0], 1);
		if (kubeconfig_in_cluster(&c, sa) != 0)
			fail_msg("%s: %s", hosts[i][0], err_msg());
		assert_string_equal(c.server, hosts[i][1]);
		kube_config_dispose(&c);
	}
	restore_env("KUBERNETES_SERVICE_HOST", old_host);
	restore_env("KUBERNETES_SERVICE_PORT", old_port);
	free(sa);
}

static void kubeconfig_in_cluster__defaults_and_errors(void **state)
{
	struct fixture *f = *state;
	char *sa = xasprintf("%s/sa", f->dir);
	char *old_host = swap_env("KUBERNETES_SERVICE_HOST", NULL);
	char *old_port = swap_env("KUBERNETES_SERVICE_PORT", "443");
	struct kube_config c;
	assert_int_equal(kubeconfig_in_cluster(&c, sa), E_INVALID);
	assert_non_null(strstr(err_msg(), "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
					  "must be set"));
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);

	static const char *const bad_ports[] = {"", "http", "0", "65536", "443x", "-1", "999999"};
	for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
		setenv("KUBERNETES_SERVICE_PORT", bad_ports[i], 1);
		assert_int_equal(kubeconfig_in_cluster(&c, sa), E_INVALID);
		assert_non_null(strstr(err_msg(), "KUBERNETES_SERVICE_"));
	}
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	static const char *const bad_hosts[] = {"a b", "host/path", "user@host", "[::1", "a\nb"};
	for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
		setenv("KUBERNETES_SERVICE_HOST", bad_hosts[i], 1);
		assert_int_equal(kubeconfig_in_cluster(&c, sa), E_INVALID);
		assert_non_null(strstr(err_msg(), "is not a host name or IP address"));
	}
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);

	/* No token: an error naming the path. */
	assert_int_equal(kubeconfig_in_cluster(&c, sa), E_INVALID);
	char *want =
	    xasprintf("in-cluster config: service account token: cannot read %s/token", sa);
	assert_non_null(strstr(err_msg(), want));
	free(want);
	write_sa_dir(f->dir, "\n", NULL, 0);
	assert_int_equal(kubeconfig_in_cluster(&c, sa), E_INVALID);
	assert_non_null(strstr(err_msg(), "is empty"));

	/* Token only: system CAs, namespace "default". */
	write_sa_dir(f->dir, "tok\n", NULL, 0);
	if (kubeconfig_in_cluster(&c, sa) != 0)
		fail_msg("%s", err_msg());
	assert_null(c.ca_pem);
	assert_string_equal(c.namespace_, "default");
	kube_config_dispose(&c);

	write_file(f->dir, "sa/ca.crt", "not a certificate\n");
	assert_int_equal(kubeconfig_in_cluster(&c, sa), E_INVALID);
	assert_non_null(strstr(err_msg(), "ca.crt is not a PEM certificate"));
	write_file(f->dir, "sa/ca.crt", CA_PEM);
	write_file(f->dir, "sa/namespace", "a/b\n");
	assert_int_equal(kubeconfig_in_cluster(&c, sa), E_INVALID);
	assert_non_null(strstr(err_msg(), "does not hold a namespace name"));

	/* The default folder (unless these tests run in a pod). */
	if (access("/var/run/secrets/kubernetes.io/serviceaccount/token", F_OK) != 0) {
		assert_int_equal(kubeconfig_in_cluster(&c, NULL), E_INVALID);
		assert_non_null(
		    strstr(err_msg(), "/var/run/secrets/kubernetes.io/serviceaccount/token"));
	}
	restore_env("KUBERNETES_SERVICE_HOST", old_host);
	restore_env("KUBERNETES_SERVICE_PORT", old_port);
	free(sa);
}

static void set_mtime(const char *path, time_t when)
{
	struct timespec ts[2] = {{when, 0}, {when, 0}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void kube_config_token__follows_rotation_of_the_token_file(void **state)
{
	struct fixture *f = *state;
	write_sa_dir(f->dir, "token-one\n", NULL, 1);
	char *sa = xasprintf("%s/sa", f->dir);
	char *path = xasprintf("%s/token", sa);
	char *tmp = xasprintf("%s/token.new", sa);
	char *old_host = swap_env("KUBERNETES_SERVICE_HOST", "10.0.0.1");
	char *old_port = swap_env("KUBERNETES_SERVICE_PORT", "443");
	struct kube_config c;
	if (kubeconfig_in_cluster(&c, sa) != 0)
		fail_msg("%s", err_msg());
	set_mtime(path, 1000000);
	const char *t1 = kube_config_token(&c);
	assert_string_equal(t1, "token-one");
	assert_ptr_equal(kube_config_token(&c), t1);

	/* Rewritten in place with another size. */
	write_file(f->dir, "sa/token", "token-two-longer\n");
	set_mtime(path, 1000000);
	const char *t2 = kube_config_token(&c);
	assert_string_equal(t2, "token-two-longer");
	/* The pointer handed out before the rotation is still readable. */
	assert_string_equal(t1, "token-one");

	/* Same size, new mtime. */
	write_file(f->dir, "sa/token", "token-TWO-longer\n");
	set_mtime(path, 2000000);
	assert_string_equal(kube_config_token(&c), "token-TWO-longer");
	assert_string_equal(t2, "token-two-longer");

	/* Same size and mtime, swapped in by rename (a new inode), as the kubelet does. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "token-333-longer\n", 17), 17);
	close(fd);
	set_mtime(tmp, 2000000);
	assert_int_equal(rename(tmp, path), 0);
	assert_string_equal(kube_config_token(&c), "token-333-longer");

	/* A missing, empty or bad file keeps the last good token. */
	assert_int_equal(unlink(path), 0);
	assert_string_equal(kube_config_token(&c), "token-333-longer");
	write_file(f->dir, "sa/token", "\n");
	assert_string_equal(kube_config_token(&c), "token-333-longer");
	write_file(f->dir, "sa/token", "bad token\n");
	assert_string_equal(kube_config_token(&c), "token-333-longer");
	write_file(f->dir, "sa/token", "token-four\n");
	assert_string_equal(kube_config_token(&c), "token-four");
	kube_config_dispose(&c);
	restore_env("KUBERNETES_SERVICE_HOST", old_host);
	restore_env("KUBERNETES_SERVICE_PORT", old_port);
	free(sa);
	free(path);
	free(tmp);
}

static void kube_config_auto__prefers_explicit_files_then_in_cluster(void **state)
{
	struct fixture *f = *state;
	write_referenced_files(f->dir);
	char *y = full_config();
	write_file(f->dir, "config", y);
	write_file(f->dir, ".kube/config", y);
	free(y);
	char *path = xasprintf("%s/config", f->dir);
	char *old_host = swap_env("KUBERNETES_SERVICE_HOST", "10.0.0.1");
	char *old_port = swap_env("KUBERNETES_SERVICE_PORT", "443");
	char *old_kc = swap_env("KUBECONFIG", NULL);
	char *old_home = swap_env("HOME", f->dir);
	struct kube_config c;

	/* In a pod with nothing explicit: in-cluster (no service account here,
	 * unless these tests run in a pod). */
	if (access("/var/run/secrets/kubernetes.io/serviceaccount/token", F_OK) != 0) {
		assert_int_equal(kube_config_auto(&c, NULL, NULL), E_INVALID);
		assert_non_null(strstr(err_msg(), "in-cluster config"));
	}
	/* An explicit file wins, even in a pod. */
	if (kube_config_auto(&c, path, "prod") != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.context, "prod");
	kube_config_dispose(&c);
	/* So does a context name: it is a kubeconfig's (here ~/.kube/config). */
	if (kube_config_auto(&c, NULL, "local") != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.context, "local");
	kube_config_dispose(&c);
	/* And $KUBECONFIG. */
	setenv("KUBECONFIG", path, 1);
	if (kube_config_auto(&c, NULL, NULL) != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.context, "dev");
	kube_config_dispose(&c);
	/* Outside a pod: ~/.kube/config. */
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	if (kube_config_auto(&c, NULL, NULL) != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.context, "dev");
	kube_config_dispose(&c);
	restore_env("KUBERNETES_SERVICE_HOST", old_host);
	restore_env("KUBERNETES_SERVICE_PORT", old_port);
	restore_env("KUBECONFIG", old_kc);
	restore_env("HOME", old_home);
	free(path);
}

static void kubeconfig_parse__survives_deep_nesting_and_aliases(void **state)
{
	(void)state;
	size_t depth = 20000;
	char *deep = xmalloc(depth * 2 + 32);
	size_t n = 0;
	n += (size_t)snprintf(deep, 32, "clusters: ");
	for (size_t i = 0; i < depth; i++)
		deep[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	struct kube_config c;
	int rc = parse(&c, deep, "a", NULL);
	assert_int_equal(rc, E_INVALID);
	assert_non_null(strstr(err_msg(), "nested more than 64 deep"));
	/* Block sequences nest on one line: "- - - - x". */
	n = (size_t)snprintf(deep, 32, "clusters:\n");
	for (size_t i = 0; i < depth; i++) {
		deep[n++] = '-';
		deep[n++] = ' ';
	}
	deep[n] = '\0';
	assert_int_equal(parse(&c, deep, "a", NULL), E_INVALID);
	assert_non_null(strstr(err_msg(), "nested more than 64 deep"));
	free(deep);

	/* Many nodes: refused before libyaml builds a tree of them. */
	size_t items = 300000;
	char *wide = xmalloc(items * 2 + 32);
	n = (size_t)snprintf(wide, 32, "clusters: [");
	for (size_t i = 0; i < items; i++) {
		wide[n++] = 'x';
		wide[n++] = ',';
	}
	wide[n++] = ']';
	wide[n] = '\0';
	assert_int_equal(parse(&c, wide, "a", NULL), E_INVALID);
	assert_non_null(strstr(err_msg(), "more than 250000 YAML nodes"));
	free(wide);

	/* Aliases are references, not copies: a "billion laughs" stays small. */
	const char *laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n"
			     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			     "contexts: *e\n"
			     "current-context: x\n";
	assert_int_equal(parse(&c, laughs, NULL, NULL), E_INVALID);
	assert_non_null(strstr(err_msg(), "contexts[0] must be a mapping, found a list"));

	/* Aliases to shared entries work as in kubectl. */
	const char *shared = "current-context: a\n"
			     "x-cluster: &cl {server: 'https://shared'}\n"
			     "contexts: [{name: a, context: {cluster: c}}]\n"
			     "clusters: [{name: c, cluster: *cl}]\n";
	if (parse(&c, shared, NULL, NULL) != 0)
		fail_msg("%s", err_msg());
	assert_string_equal(c.server, "https://shared");
	kube_config_dispose(&c);
}

/* Random mutations of a valid kubeconfig: never a crash, a leak (ASan and
 * valgrind runs) or a secret in a message. */
static void kubeconfig_parse__fuzzed_input_fails_cleanly(void **state)
{
	struct fixture *f = *state;
	write_referenced_files(f->dir);
	char *base = full_config();
	size_t base_len = strlen(base);
	static const char special[] = ":-\n \t[]{}\"'&*!|>%@`#,?~\\=/0aZ";
	const char *seed_env = getenv("KUBECONFIG_FUZZ_SEED");
	unsigned seed = seed_env ? (unsigned)atoi(seed_env) : 12345;
	int accepted = 0;
	const char *iters_env = getenv("KUBECONFIG_FUZZ_ITERATIONS");
	int iters = iters_env ? atoi(iters_env) : 3000;
	char *buf = xmalloc(base_len * 2 + 64);
	for (int it = 0; it < iters; it++) {
		size_t len = base_len;
		memcpy(buf, base, len);
		int edits = 1 + (int)(rand_r(&seed) % 4);
		for (int e = 0; e < edits && len > 0; e++) {
			size_t at = (size_t)rand_r(&seed) % len;
			switch (rand_r(&seed) % 6) {
			case 0: /* flip a byte */
				buf[at] = (char)(rand_r(&seed) % 256);
				break;
			case 1: /* replace with a YAML-significant character */
				buf[at] = special[(size_t)rand_r(&seed) % (sizeof(special) - 1)];
				break;
			case 2: { /* delete a run */
				size_t n = 1 + (size_t)rand_r(&seed) % 16;
				if (n > len - at)
					n = len - at;
				memmove(buf + at, buf + at + n, len - at - n);
				len -= n;
				break;
			}
			case 3: /* insert a character */
				if (len + 1 < base_len * 2 + 64) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] =
					    special[(size_t)rand_r(&seed) % (sizeof(special) - 1)];
					len++;
				}
				break;
			case 4: { /* duplicate a run */
				size_t n = 1 + (size_t)rand_r(&seed) % 32;
				if (n > len - at)
					n = len - at;
				if (len + n < base_len * 2 + 64) {
					memmove(buf + at + n, buf + at, len - at);
					len += n;
				}
				break;
			}
			default: /* truncate */
				len = at;
				break;
			}
		}
		static const char *const contexts[] = {NULL, "dev", "prod", "data", "local"};
		struct kube_config c;
		err_clear();
		int rc = kubeconfig_parse(&c, buf, len, contexts[it % 5], f->dir);
		if (rc == 0) {
			accepted++;
			assert_non_null(c.server);
			assert_non_null(c.namespace_);
			kube_config_token(&c);
			kube_config_dispose(&c);
		} else if (rc != E_INVALID && rc != E_UNSUPPORTED) {
			fail_msg("iteration %d: unexpected code %d: %s", it, rc, err_msg());
		} else if (strstr(err_msg(), "s3cr3t") || strstr(err_msg(), "MIIEsecret")) {
			fail_msg("iteration %d: message shows a secret: %s", it, err_msg());
		}
	}
	if (getenv("KUBECONFIG_TEST_VERBOSE"))
		print_message("fuzz: %d of %d mutations accepted\n", accepted, iters);
	/* Some mutations are harmless (comments, values); most are not. */
	assert_true(accepted > 0);
	assert_true(accepted < iters);
	free(buf);
	free(base);
}

int main(void)
{
	/* The insecure cluster and rotation cases warn; keep the output clean. */
	log_set_level(LOG_LEVEL_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(kubeconfig_parse__uses_current_context, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(kubeconfig_parse__named_context_overrides_current,
					    setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(kubeconfig_parse__reads_files_relative_to_base_dir,
					    setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(kubeconfig_parse__data_fields_match_files, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(kubeconfig_parse__token_file_wins_over_inline_token,
					    setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(kubeconfig_parse__insecure_and_anonymous, setup_dir,
					    teardown_dir),
	    cmocka_unit_test(kubeconfig_parse__namespace_defaults),
	    cmocka_unit_test(kubeconfig_parse__rejects_malformed_input_naming_the_field),
	    cmocka_unit_test(kubeconfig_parse__reads_input_that_is_not_nul_terminated),
	    cmocka_unit_test_setup_teardown(kubeconfig_load__reads_the_file_and_names_it, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(
		kubeconfig_load__default_path_from_kubeconfig_env_or_home, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(kubeconfig_in_cluster__ipv4_and_ipv6_hosts, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(kubeconfig_in_cluster__defaults_and_errors, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(kube_config_token__follows_rotation_of_the_token_file,
					    setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(
		kube_config_auto__prefers_explicit_files_then_in_cluster, setup_dir, teardown_dir),
	    cmocka_unit_test(kubeconfig_parse__survives_deep_nesting_and_aliases),
	    cmocka_unit_test_setup_teardown(kubeconfig_parse__fuzzed_input_fails_cleanly, setup_dir,
					    teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
