/* The mutating admission webhook of DatabaseRestores, pure: an
 * AdmissionReview (admission.k8s.io/v1) request in, the AdmissionReview
 * response out. It records who created a restore:
 *
 * - CREATE of lifeboat.dev databaserestores (any version, no subresource):
 *   allowed, with a JSONPatch that sets the annotation
 *   lifeboat.dev/requested-by to request.userInfo as
 *   "<username> (groups: g1, g2)", or "<username>" without groups,
 *   overwriting whatever the client sent. Group names past
 *   WEBHOOK_VALUE_MAX bytes of value are left out and counted
 *   (", ... and 12 more").
 * - UPDATE of one: refused (allowed false, status 403 Forbidden, a message
 *   naming the annotation) when the annotation differs from oldObject's,
 *   removal and addition included; allowed without a patch otherwise.
 * - Anything else (DELETE, CONNECT, other resources, subresources): allowed
 *   without a patch.
 *
 * A review the API server would never send (not JSON, not UTF-8, deeper
 * than WEBHOOK_DEPTH_MAX, another apiVersion or kind, no request, a missing
 * or empty uid, fields of the wrong type) is E_INVALID, answered 400 by the
 * server; the message names the field. */
#ifndef LIFEBOAT_WEBHOOK_H
#define LIFEBOAT_WEBHOOK_H

#include <stddef.h>

struct buf;

#define WEBHOOK_ANNOTATION "lifeboat.dev/requested-by"
#define WEBHOOK_PATH "/mutate-databaserestore"
/* Reviews larger than this are refused (E_TOOBIG; the server says 413).
 * A DatabaseRestore is a few KiB; an UPDATE's review holds it twice. */
#define WEBHOOK_BODY_MAX (1024u * 1024u)
/* json-c's nesting limit for a review; objects nest about 20 deep. */
#define WEBHOOK_DEPTH_MAX 64
/* The annotation value is cut (whole groups left out) past this size;
 * Kubernetes allows 256 KiB for all annotations together. */
#define WEBHOOK_VALUE_MAX 4096

enum webhook_verdict {
	WEBHOOK_ALLOWED, /* allowed, no patch */
	WEBHOOK_PATCHED, /* allowed with the annotation patch (a CREATE) */
	WEBHOOK_DENIED,	 /* an UPDATE changing the annotation */
};

/* What was decided, for the server's log. Strings are owned (NUL-terminated
 * copies, "" when the review had none); webhook_outcome_dispose frees them. */
struct webhook_outcome {
	enum webhook_verdict verdict;
	char *uid, *operation, *namespace_, *name, *username;
	char *value; /* the annotation written (PATCHED) or refused (DENIED); "" else */
};

void webhook_outcome_dispose(struct webhook_outcome *o);

/* Reviews body (len bytes, not NUL-terminated) and appends the
 * AdmissionReview response (JSON, uid echoed) to out. On success *outcome
 * is set (dispose it). Returns 0, E_INVALID for a malformed review (the
 * message names what is wrong; nothing appended, *outcome untouched), or
 * E_TOOBIG when len passes WEBHOOK_BODY_MAX or out's cap is reached. */
int webhook_review(struct buf *out, struct webhook_outcome *outcome, const char *body, size_t len);

/* The annotation value for a user, e.g. "alice (groups: dba, system:authenticated)";
 * appended to out (0, or E_TOOBIG from out's cap). Exposed for tests. */
int webhook_requested_by(struct buf *out, const char *username, const char *const *groups,
			 size_t ngroups);

/* s escaped as one JSON-pointer reference token (RFC 6901: "~" -> "~0",
 * "/" -> "~1"), appended to out; 0 or E_TOOBIG. */
int webhook_pointer_escape(struct buf *out, const char *s);

#endif
