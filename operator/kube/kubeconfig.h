/* How to reach the Kubernetes API server: loading a kubeconfig file or the
 * in-cluster service account, and keeping a rotated token file current. */
#ifndef LIFEBOAT_KUBE_KUBECONFIG_H
#define LIFEBOAT_KUBE_KUBECONFIG_H

#include <stddef.h>
#include <stdint.h>

/* What the client needs to reach an API server; owned strings. */
struct kube_config {
	char *server;	       /* "https://host:port[/path]" or "http://...", no trailing '/' */
	char *ca_pem;	       /* CA bundle PEM, NUL-terminated; NULL = system CAs */
	char *client_cert_pem; /* NULL when unused; set together with client_key_pem */
	char *client_key_pem;
	char *token;	  /* bearer token written inline in the kubeconfig, or NULL */
	char *token_file; /* tokenFile / in-cluster token path, or NULL; overrides token */
	int insecure;	  /* insecure-skip-tls-verify (the loader logs a warning) */
	char *namespace_; /* context namespace, in-cluster namespace file, or "default" */
	char *context;	  /* the context used (kubeconfig only, else NULL) */

	/* Private to kube_config_token: the token last read from token_file, the
	 * one before it (so a pointer handed out just before a rotation stays
	 * valid), and the identity of the file they were read from. */
	struct kube_config_token_cache {
		char *current, *previous;
		int64_t dev, ino, size, mtime_ns;
		int failing; /* the last re-read failed (warned once) */
	} token_cache;
};

/* Parses kubeconfig YAML (len bytes, need not be NUL-terminated) and picks
 * the named context, or current-context when context is NULL or "". Relative
 * file paths are resolved against base_dir (NULL: the working folder) and the
 * files they name are read now. On success fills *out, which the caller
 * releases with kube_config_dispose. Returns 0, E_INVALID (malformed YAML,
 * missing or wrongly typed fields, unreadable files, bad base64) or
 * E_UNSUPPORTED (exec, auth-provider or basic-auth users); the message names
 * the context, the entry and the field, never a secret. */
int kubeconfig_parse(struct kube_config *out, const char *yaml, size_t len, const char *context,
		     const char *base_dir);
/* Reads and parses a kubeconfig file. path NULL or "": the first existing
 * file of $KUBECONFIG (a colon-separated list; files are not merged), else
 * ~/.kube/config. Errors as kubeconfig_parse, prefixed "kubeconfig PATH". */
int kubeconfig_load(struct kube_config *out, const char *path, const char *context);
/* The in-cluster configuration: server from KUBERNETES_SERVICE_HOST and
 * KUBERNETES_SERVICE_PORT (IPv6 hosts bracketed), token file, ca.crt and
 * namespace from sa_dir (NULL: /var/run/secrets/kubernetes.io/serviceaccount).
 * A missing ca.crt means system CAs (with a warning), a missing namespace file
 * "default". Returns 0 or E_INVALID (variables unset or malformed, token
 * unreadable or empty). */
int kubeconfig_in_cluster(struct kube_config *out, const char *sa_dir);
/* The loader the operator calls: kubeconfig_load(kubeconfig_path, context)
 * when a path or a context name is given or $KUBECONFIG is set; else
 * in-cluster when KUBERNETES_SERVICE_HOST is set; else ~/.kube/config.
 * Errors as those two. */
int kube_config_auto(struct kube_config *out, const char *kubeconfig_path, const char *context);
/* Wipes the secrets and frees every field; c is left zeroed. */
void kube_config_dispose(struct kube_config *c);
/* The bearer token to send now, or NULL for none: token_file's content
 * (re-read when the file's identity, size or mtime changed since the last
 * call; a failed re-read keeps the last good token and logs a warning once),
 * else the inline token. The result is borrowed: it stays valid until the
 * second token rotation after this call or kube_config_dispose. Safe to call
 * from several threads on the same config. */
const char *kube_config_token(struct kube_config *c);

#endif
