/* Leader election with a coordination.k8s.io/v1 Lease, as client-go does it:
 * a pure decision core (leader_step) and an elector that runs it on a
 * thread, with the Lease requests made on a second thread so that the
 * deadline below holds even while a request hangs.
 *
 * Semantics (times from the local monotonic clock, never the Lease's own
 * timestamps, so clock skew between replicas does not matter):
 * - A Lease held by another identity is valid until lease_ms after this
 *   replica last saw its spec change; while valid we only watch it (a GET
 *   every retry period, and one exactly when it would expire).
 * - A free Lease (holderIdentity empty), an expired one, or none at all is
 *   taken: update (resourceVersion-conditional) or create. Losing the race
 *   (409) means someone else won: re-read.
 * - The leader renews every retry period. A renewal counts from the moment
 *   its request was sent. When renew_deadline_ms pass without a successful
 *   one, the leader stops leading (on_stopped) at once, even while a request
 *   is still in flight: since renew_deadline_ms < lease_ms, that is before
 *   any other replica can consider the Lease expired.
 * - Seeing the Lease held by someone else while leading stops leading.
 * - leaseTransitions: 0 on create, +1 each time the holder changes to us.
 * - leader_stop (SIGTERM) calls on_stopped first, then releases the Lease
 *   (holderIdentity "", leaseDurationSeconds 1, renewTime now), so a standby
 *   takes over on its next look rather than after lease_ms (client-go's
 *   ReleaseOnCancel). */
#ifndef LIFEBOAT_LEADER_H
#define LIFEBOAT_LEADER_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct kube_config;

/* client-go's defaults. */
#define LEADER_DEFAULT_LEASE_MS 15000
#define LEADER_DEFAULT_RENEW_DEADLINE_MS 10000
#define LEADER_DEFAULT_RETRY_MS 2000
/* Non-leaders wait retry * (1 + jitter * [0,1)) between looks. client-go
 * uses 1.2; 0.2 keeps a standby's takeover after a crash within
 * lease + retry * 1.2 (it also looks once exactly at expiry). */
#define LEADER_DEFAULT_JITTER 0.2

struct leader_timing {
	int64_t lease_ms, renew_deadline_ms, retry_ms; /* 0: the default */
	double jitter;				       /* < 0: none; 0: the default */
};

/* --- the pure core --- */

enum leader_op { LEADER_OP_NONE, LEADER_OP_GET, LEADER_OP_CREATE, LEADER_OP_UPDATE };

enum lease_view_kind {
	LEASE_VIEW_TICK,     /* nothing new: time passed */
	LEASE_VIEW_ABSENT,   /* the GET found no Lease (404) */
	LEASE_VIEW_READ,     /* the GET returned the Lease */
	LEASE_VIEW_WRITTEN,  /* our create/update succeeded: the Lease as stored */
	LEASE_VIEW_CONFLICT, /* our create/update lost a race (409) */
	LEASE_VIEW_FAILED,   /* the request failed otherwise (transport, 5xx, 403, ...) */
	LEASE_VIEW_RELEASE,  /* shut down: release if leading, then finish */
};

/* What a request returned. Strings are borrowed for the call. */
struct lease_view {
	enum lease_view_kind kind;
	/* READ and WRITTEN: the Lease's spec ("" / 0 for absent fields). */
	const char *holder;
	int64_t duration_s;
	int64_t transitions;
	const char *acquire_time, *renew_time; /* MicroTime text, compared only */
};

/* Everything the core knows; plain data, copied by value. */
struct leader_state {
	const char *identity; /* borrowed; must outlive the state */
	int64_t lease_ms, renew_deadline_ms, retry_ms;
	double jitter;
	uint64_t rng;

	/* The Lease as last read or written. */
	int known;  /* spec fields below are valid */
	int absent; /* the last GET found none */
	int holder_is_me, holder_empty;
	int64_t duration_ms, transitions;
	uint64_t spec_hash;
	int64_t observed_ms; /* when the spec last changed, as seen here */

	int leading;
	int64_t renewed_ms; /* when the write that last kept us leader was sent */

	enum leader_op pending; /* in flight, or LEADER_OP_NONE */
	int64_t pending_ms;
	int releasing, release_sent, done;
	int64_t next_ms; /* when to act next */
};

/* A request to make and callbacks to run, in this order: stopped, started
 * (never both), then the request. For CREATE/UPDATE, the spec to write:
 * renewTime now, acquireTime now when new_acquire (else as stored). */
struct leader_action {
	struct leader_state next; /* adopt it */
	int started, stopped, done;
	enum leader_op op;
	const char *holder; /* the identity, or "" for the release */
	int64_t duration_s, transitions;
	int new_acquire;
	/* Step again (with LEASE_VIEW_TICK) at this time at the latest, or when a
	 * result arrives. INT64_MAX: only when a result arrives. */
	int64_t wake_ms;
};

/* Fills in defaults. Returns 0, or E_INVALID unless lease_ms >
 * renew_deadline_ms > retry_ms * (1 + jitter) > 0, or for an empty identity
 * or one of 128 bytes or more. *t may be NULL for the defaults. */
int leader_timing_check(const struct leader_timing *t, const char *identity,
			struct leader_timing *out);
/* A state that acts at once (its first step asks for the Lease). The timing
 * must have passed leader_timing_check. seed drives the jitter. */
void leader_state_init(struct leader_state *s, const char *identity, const struct leader_timing *t,
		       uint64_t seed, int64_t now_ms);
/* The decision: from the state, what was just observed (or a tick) and the
 * time, the next state and what to do. Pure. */
void leader_step(const struct leader_state *s, const struct lease_view *observed, int64_t now_ms,
		 struct leader_action *out);

/* Pure: the spec fields of a Lease object (borrowed from it) into *out
 * (kind left as it is). Missing fields read as ""/0. */
void leader_view_of(struct lease_view *out, struct json_object *lease);
/* Pure: the Lease to write for a CREATE/UPDATE action. base (may be NULL for
 * CREATE) is the Lease last read, copied with its resourceVersion; now_micro
 * is the wall-clock time as MicroTime ("2024-05-01T12:00:00.123456Z").
 * Returns a new object the caller releases. */
struct json_object *leader_lease_object(const struct leader_action *a, struct json_object *base,
					const char *ns, const char *name, const char *now_micro);

/* --- the elector --- */

struct leader_callbacks {
	/* Run on the elector's thread; keep them short (on_stopped should only
	 * make the work stop, not wait for it: the next renewal waits for it). */
	void (*on_started)(void *ud);
	void (*on_stopped)(void *ud);
	void *ud;
};

struct leader_options {
	const char *namespace_, *name; /* the Lease */
	const char *identity;	       /* NULL: leader_default_identity() */
	struct leader_timing timing;   /* zeros: the defaults */
	struct leader_callbacks cb;
};

struct leader;

/* cfg is borrowed and must outlive the elector. Returns 0 and *out, or
 * E_INVALID (the timing or identity, as leader_timing_check; no namespace or
 * name). Nothing runs until leader_start. */
int leader_new(struct leader **out, struct kube_config *cfg, const struct leader_options *opt);
/* Starts the threads; E_IO if they cannot start. */
int leader_start(struct leader *l);
/* Whether on_started ran last (thread-safe). */
int leader_is_leading(struct leader *l);
/* Ends the election: on_stopped if leading, the release, then both threads
 * are joined. Waits for a request in flight (the client's timeout bounds
 * it); otherwise returns within a request's round trip. Idempotent. */
void leader_stop(struct leader *l);
/* leader_stop, then frees. NULL is a no-op. */
void leader_free(struct leader *l);
/* The identity in use (borrowed from l). */
const char *leader_identity(const struct leader *l);

/* $POD_NAME when set, else "<hostname>_<pid>", into out (cut to outsz). */
void leader_default_identity(char *out, size_t outsz);

#endif
