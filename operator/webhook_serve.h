/* The admission webhook's HTTPS server (libwebsockets over OpenSSL, on a
 * thread of its own): POST /mutate-databaserestore with an AdmissionReview
 * (Content-Type application/json, at most body_max bytes) is answered 200
 * with the review's response (operator/webhook.h), or 400 when the review
 * is malformed; another path is 404, another method 405 (Allow: POST), a
 * POST without Content-Length 411, a larger body 413 (the body read and
 * dropped first up to 16 MiB, so that the client sees the answer; beyond,
 * the connection is closed at once), another Content-Type 415. HTTP/1.1 only (ALPN http/1.1),
 * TLS 1.2 or newer.
 *
 * The serving certificate and key are the PEM files tls.crt (the leaf
 * first, then any intermediates) and tls.key in cert_dir, as a Kubernetes
 * TLS Secret mounts them. They are re-read when they change on disk (seen
 * by their inode, size and modification time at each new TLS handshake), so
 * a rotated Secret is served without a restart; a replacement that does not
 * load (half written, key and certificate not matching) is logged and the
 * previous pair stays in use until a good one arrives. */
#ifndef LIFEBOAT_WEBHOOK_SERVE_H
#define LIFEBOAT_WEBHOOK_SERVE_H

#include <stddef.h>
#include <stdint.h>

struct serve_reply;

struct webhook_serve_options {
	/* "host:port" as serve_parse_addr takes it (":9443" for every address,
	 * "127.0.0.1:0" for a free port); NULL, "" or "0": no webhook. Messages
	 * name it --webhook-addr. */
	const char *addr;
	/* The folder with tls.crt and tls.key (--webhook-cert-dir). */
	const char *cert_dir;
	size_t body_max; /* 0: WEBHOOK_BODY_MAX (1 MiB) */
};

struct webhook_serve;

/* Loads the certificate pair and binds the listener (connections wait in
 * the kernel's backlog until webhook_serve_start). Returns 0 and *out, or 0
 * and *out = NULL when opt->addr turns the webhook off; E_INVALID for a
 * malformed address or a missing cert_dir (naming --webhook-addr or
 * --webhook-cert-dir), E_TLS when tls.crt or tls.key cannot be read or
 * parsed or do not match (naming the file and what to do), E_IO when the
 * address cannot be listened on ("address already in use"). */
int webhook_serve_new(struct webhook_serve **out, const struct webhook_serve_options *opt);
/* Starts serving on a thread of its own. 0, or E_IO when the thread
 * cannot start. NULL (the webhook off) and a second call do nothing. */
int webhook_serve_start(struct webhook_serve *w);
/* The bound port (useful after port 0), or -1 for NULL. */
int webhook_serve_port(const struct webhook_serve *w);
/* Stops serving (open connections are closed) and joins the thread within
 * about a second. Idempotent; NULL is a no-op; not from the server's
 * thread. It cannot be started again. */
void webhook_serve_stop(struct webhook_serve *w);
/* webhook_serve_stop, then frees. NULL is a no-op. */
void webhook_serve_free(struct webhook_serve *w);

/* Counters since webhook_serve_new, read without locking. */
struct webhook_serve_stats {
	uint64_t reviews;	     /* answered 200 */
	uint64_t patched, denied;    /* of those: CREATEs annotated, UPDATEs refused */
	uint64_t malformed;	     /* answered 400 */
	uint64_t refused;	     /* answered 404, 405, 411, 413 or 415 */
	uint64_t cert_loads;	     /* the first load included */
	uint64_t cert_load_failures; /* replacements that did not load */
};
void webhook_serve_get_stats(const struct webhook_serve *w, struct webhook_serve_stats *out);

/* Pure: what to do with a request once its headers are in. path has no
 * query (the API server adds "?timeout=10s"); content_type may be NULL;
 * content_length is -1 when absent. Returns 0 when the body is to be read
 * and reviewed, or 1 with reply set (status, static content_type, allow
 * "POST" for 405, a text body; reply->body initialised by the caller). */
int webhook_serve_route(const char *method, const char *path, const char *content_type,
			long long content_length, size_t body_max, struct serve_reply *reply);

#endif
