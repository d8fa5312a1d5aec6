/* What the HTTP object-store backends (s3://, gs:// and azure://,
 * job/store_s3.c, job/store_gcs.c and job/store_azure.c) share: reading a small local file (a
 * credentials file, a key, a CA bundle) and a streaming GET that resumes a broken transfer with a
 * Range request on the same version of the object. */
#ifndef LIFEBOAT_OBJSTORE_H
#define LIFEBOAT_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/http.h"
#include "stage.h"

/* Resumed transfers of one read, at most. */
#define OBJSTORE_READ_RESUMES 5

/* The whole file at path, at most max bytes, NUL-terminated and owned; every
 * copy made on the way (stdio's buffer, the blocks the buffer outgrew) is
 * wiped, since the file may hold a secret: the caller wipes the result.
 * E_INVALID names `what` and path. */
int objstore_read_file(char **out, const char *path, size_t max, const char *what);

/* The error of a failed request, in one form for every object store:
 * "WHERE: WHAT: ..." naming a transport failure (rc: E_UNAVAILABLE or
 * E_TIMEOUT after `attempts`, E_TLS with ca_how saying how to give the CA)
 * or, with rc 0, the reply's HTTP status, the provider's code and message
 * (either may be NULL) and a hint (may be ""). A message ending in '.' loses
 * it before the hint. Returns ecode (rc 0), E_STORE or E_TLS. */
struct objstore_reply {
	long status;
	const char *code;
	char *msg; /* owned by the caller; may be trimmed */
	const char *hint;
	int ecode;
};
int objstore_fail(const char *where, const char *what, int rc, int attempts, const char *ca_how,
		  const struct objstore_reply *r);

/* How a backend sends the GETs of one read. */
struct objstore_get {
	/* One GET from byte `from`: the whole object when 0, else with
	 * "Range: bytes=FROM-" and the precondition that the object is still
	 * `version` (If-Match, ifGenerationMatch). Body bytes of a 2xx reply go
	 * to on_data(p, n, ud); returns as http_do_retry. */
	int (*send)(void *ctx, uint64_t from, const char *version,
		    int (*on_data)(const char *p, size_t n, void *ud), void *ud,
		    struct http_response *resp);
	/* A transport failure or a non-2xx reply as the backend's error (404:
	 * E_NOTFOUND). */
	int (*fail)(void *ctx, const char *where, const char *what, int rc,
		    const struct http_response *resp);
	const char *version_header; /* the reply header naming the version: "ETag" */
	const char *version_name;   /* how messages call it: "ETag", "generation" */
	const char *what;	    /* the operation in messages: "GET", "Get Blob" */
	void *ctx;
};

/* Streams the object into sink with stage_write (no finish). A connection
 * broken after some bytes is resumed from the next byte, on the same
 * version, up to OBJSTORE_READ_RESUMES times; a resumed reply that does not
 * start there, or a version that changed (412), is E_STORE. where names the
 * object in messages. E_NOTFOUND when it does not exist. */
int objstore_read(const struct objstore_get *g, const char *where, struct stage *sink);

#endif
