/* Fuzz target: kubeconfig YAML into kubeconfig_parse
 * (operator/kube/kubeconfig.c), with the current context and with the
 * context named "prod". Relative paths resolve against a folder made at
 * start-up that holds certs/ca.crt, certs/client.crt, certs/client.key and
 * token, as the unit tests' fixture does. Properties: the error is one
 * kubeconfig.h documents; a parsed config has a server of the documented
 * shape, a namespace and a context, a client certificate only with its key,
 * never both insecure-skip-tls-verify and a CA, and a usable token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "operator/kube/kubeconfig.h"
#include "tests/fuzz/fuzz.h"

#define CA_PEM "-----BEGIN CERTIFICATE-----\nMIIBcaCAfake\n-----END CERTIFICATE-----\n"
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nMIIBclientfake\n-----END CERTIFICATE-----\n"
#define KEY_PEM "-----BEGIN PRIVATE KEY-----\nMIIEsecretkeyfake\n-----END PRIVATE KEY-----\n"

static char dir[64];
static const char *const files[][2] = {
    {"certs/ca.crt", CA_PEM},
    {"certs/client.crt", CERT_PEM},
    {"certs/client.key", KEY_PEM},
    {"token", "file-token-1\n"},
};

static void cleanup(void)
{
	char path[128];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/certs", dir);
	rmdir(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[128];
	(void)argc;
	(void)argv;
	fuzz_quiet();
	snprintf(dir, sizeof(dir), "/tmp/lifeboat-fuzz-kubeconfig.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/certs", dir);
	if (mkdir(path, 0700) != 0)
		abort();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		FILE *f = fopen(path, "w");
		if (!f || fputs(files[i][1], f) < 0 || fclose(f) != 0)
			abort();
	}
	atexit(cleanup);
	return 0;
}

static void check(const struct kube_config *c)
{
	size_t n = strlen(c->server);
	FUZZ_CHECK(strncasecmp(c->server, "https://", 8) == 0 ||
		       strncasecmp(c->server, "http://", 7) == 0,
		   "server %s", c->server);
	FUZZ_CHECK(n > 0 && c->server[n - 1] != '/', "server %s ends in a slash", c->server);
	FUZZ_CHECK(c->namespace_ && c->context, "no namespace or context");
	FUZZ_CHECK(!c->client_cert_pem == !c->client_key_pem, "a certificate without its key");
	FUZZ_CHECK(!(c->insecure && c->ca_pem), "insecure-skip-tls-verify with a CA");
}

static void parse(const uint8_t *data, size_t size, const char *context)
{
	struct kube_config c;
	int rc = kubeconfig_parse(&c, (const char *)data, size, context, dir);
	if (fuzz_debug())
		fprintf(stderr, "kubeconfig_parse(%s): %d %s\n", context ? context : "current", rc,
			rc ? err_msg() : "");
	FUZZ_CHECK(rc == 0 || rc == E_INVALID || rc == E_UNSUPPORTED,
		   "kubeconfig_parse returned %d, which kubeconfig.h does not document", rc);
	if (rc)
		return;
	check(&c);
	const char *token = kube_config_token(&c);
	FUZZ_CHECK(!token || *token, "an empty token");
	kube_config_dispose(&c);
	FUZZ_CHECK(!c.server && !c.token && !c.ca_pem, "kube_config_dispose left fields set");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse(data, size, NULL);
	parse(data, size, "prod");
	return 0;
}
