/* Leader election: the pure decision core, the Lease's JSON both ways, and
 * the elector's two threads (a driver that steps the core and runs the
 * callbacks, and a requester that makes the one Lease request in flight). */
#include "operator/leader.h"

#include <inttypes.h>
#include <json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "operator/kube/client.h"

/* --- the pure core --- */

int leader_timing_check(const struct leader_timing *t, const char *identity,
			struct leader_timing *out)
{
	struct leader_timing r = t ? *t : (struct leader_timing){0};
	if (!r.lease_ms)
		r.lease_ms = LEADER_DEFAULT_LEASE_MS;
	if (!r.renew_deadline_ms)
		r.renew_deadline_ms = LEADER_DEFAULT_RENEW_DEADLINE_MS;
	if (!r.retry_ms)
		r.retry_ms = LEADER_DEFAULT_RETRY_MS;
	if (r.jitter == 0)
		r.jitter = LEADER_DEFAULT_JITTER;
	else if (r.jitter < 0)
		r.jitter = 0;
	if (!identity || !*identity || strlen(identity) >= 128)
		return err_set(E_INVALID,
			       "leader election: the identity must be 1 to 127 bytes (got %zu)",
			       identity ? strlen(identity) : 0);
	for (const char *p = identity; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return err_set(E_INVALID,
				       "leader election: the identity holds a control character");
	if (r.lease_ms < 1000 || r.lease_ms % 1000)
		return err_set(E_INVALID,
			       "leader election: the lease duration (%" PRId64
			       " ms) must be whole seconds, at least 1",
			       r.lease_ms);
	if (!(r.retry_ms > 0 && (double)r.renew_deadline_ms > (double)r.retry_ms * (1 + r.jitter) &&
	      r.lease_ms > r.renew_deadline_ms))
		return err_set(E_INVALID,
			       "leader election: need lease duration (%" PRId64
			       " ms) > renew deadline (%" PRId64 " ms) > retry period (%" PRId64
			       " ms) x (1 + jitter %.2f) > 0",
			       r.lease_ms, r.renew_deadline_ms, r.retry_ms, r.jitter);
	*out = r;
	return 0;
}

void leader_state_init(struct leader_state *s, const char *identity, const struct leader_timing *t,
		       uint64_t seed, int64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	s->identity = identity;
	s->lease_ms = t->lease_ms;
	s->renew_deadline_ms = t->renew_deadline_ms;
	s->retry_ms = t->retry_ms;
	s->jitter = t->jitter;
	s->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
	s->next_ms = now_ms;
}

static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dULL;
}

static int64_t jittered(struct leader_state *n, int64_t ms)
{
	if (n->jitter <= 0)
		return ms;
	double r = (double)(next_rand(&n->rng) >> 11) / 9007199254740992.0; /* [0, 1) */
	return ms + (int64_t)((double)ms * n->jitter * r);
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	h ^= 0xff; /* a separator no text byte equals after xor of 0 */
	h *= 0x100000001b3ULL;
	return h;
}

static uint64_t spec_hash(const struct lease_view *v)
{
	char nums[64];
	snprintf(nums, sizeof(nums), "%" PRId64 "/%" PRId64, v->duration_s, v->transitions);
	uint64_t h = 0xcbf29ce484222325ULL;
	h = fnv(h, v->holder);
	h = fnv(h, v->acquire_time);
	h = fnv(h, v->renew_time);
	return fnv(h, nums);
}

static void observe(struct leader_state *n, const struct lease_view *v, int64_t now)
{
	uint64_t h = spec_hash(v);
	const char *holder = v->holder ? v->holder : "";
	if (!n->known || h != n->spec_hash)
		n->observed_ms = now;
	n->known = 1;
	n->absent = 0;
	n->spec_hash = h;
	n->holder_empty = !*holder;
	n->holder_is_me = !strcmp(holder, n->identity);
	/* Like client-go, a Lease without a duration is expired at once. */
	n->duration_ms = v->duration_s > 0 ? v->duration_s * 1000 : 0;
	n->transitions = v->transitions;
}

static void ask(struct leader_action *out, enum leader_op op, int64_t now)
{
	out->op = op;
	out->next.pending = op;
	out->next.pending_ms = now;
}

static void ask_write(struct leader_action *out, enum leader_op op, const char *holder,
		      int64_t duration_s, int64_t transitions, int new_acquire, int64_t now)
{
	ask(out, op, now);
	out->holder = holder;
	out->duration_s = duration_s;
	out->transitions = transitions;
	out->new_acquire = new_acquire;
}

void leader_step(const struct leader_state *s, const struct lease_view *observed, int64_t now_ms,
		 struct leader_action *out)
{
	static const struct lease_view tick = {.kind = LEASE_VIEW_TICK};
	const struct lease_view *v = observed ? observed : &tick;
	memset(out, 0, sizeof(*out));
	out->next = *s;
	out->wake_ms = INT64_MAX;
	struct leader_state *n = &out->next;
	int fresh_read = 0;
	if (s->done) {
		out->done = 1;
		return;
	}

	switch (v->kind) {
	case LEASE_VIEW_TICK:
		break;
	case LEASE_VIEW_ABSENT:
		n->pending = LEADER_OP_NONE;
		n->known = 0;
		n->absent = 1;
		n->holder_is_me = 0;
		n->holder_empty = 1;
		break;
	case LEASE_VIEW_READ:
		n->pending = LEADER_OP_NONE;
		observe(n, v, now_ms);
		fresh_read = 1;
		break;
	case LEASE_VIEW_WRITTEN:
		n->pending = LEADER_OP_NONE;
		observe(n, v, now_ms);
		if (n->holder_is_me)
			n->renewed_ms = s->pending_ms;
		n->next_ms = now_ms + n->retry_ms;
		break;
	case LEASE_VIEW_CONFLICT:
		/* Someone else wrote first: what we know is stale. */
		n->pending = LEADER_OP_NONE;
		n->known = 0;
		n->absent = 0;
		n->next_ms = now_ms;
		break;
	case LEASE_VIEW_FAILED:
		n->pending = LEADER_OP_NONE;
		n->next_ms = now_ms + (n->leading ? n->retry_ms : jittered(n, n->retry_ms));
		break;
	case LEASE_VIEW_RELEASE:
		n->releasing = 1;
		break;
	}

	/* Leadership: lost when someone else holds it, it is gone, the deadline
	 * passed without a renewal, or we are shutting down. */
	if (n->leading && ((n->known && !n->holder_is_me) || n->absent ||
			   now_ms >= n->renewed_ms + n->renew_deadline_ms || n->releasing)) {
		n->leading = 0;
		out->stopped = 1;
	} else if (!n->leading && !n->releasing && v->kind == LEASE_VIEW_WRITTEN &&
		   n->holder_is_me && now_ms < n->renewed_ms + n->renew_deadline_ms) {
		n->leading = 1;
		out->started = 1;
	}

	if (n->releasing) {
		if (n->pending != LEADER_OP_NONE)
			return; /* wait for the request in flight */
		if (n->release_sent || !(n->known && n->holder_is_me)) {
			n->done = 1;
			out->done = 1;
			return;
		}
		n->release_sent = 1;
		ask_write(out, LEADER_OP_UPDATE, "", 1, n->transitions, 1, now_ms);
		return;
	}

	int64_t lease_s = n->lease_ms / 1000;
	if (n->pending != LEADER_OP_NONE) {
		/* nothing to send while a request is in flight */
	} else if (v->kind == LEASE_VIEW_ABSENT) {
		ask_write(out, LEADER_OP_CREATE, n->identity, lease_s, 0, 1, now_ms);
	} else if (fresh_read) {
		int64_t expiry = n->observed_ms + n->duration_ms;
		if (n->holder_is_me) {
			ask_write(out, LEADER_OP_UPDATE, n->identity, lease_s, n->transitions, 0,
				  now_ms);
		} else if (!n->holder_empty && now_ms < expiry) {
			/* Another's and valid: look again later, and exactly at expiry. */
			int64_t again = now_ms + jittered(n, n->retry_ms);
			n->next_ms = again < expiry ? again : expiry;
		} else {
			ask_write(out, LEADER_OP_UPDATE, n->identity, lease_s, n->transitions + 1,
				  1, now_ms);
		}
	} else if (now_ms >= n->next_ms) {
		/* Ours as far as we know: renew on what we have (a 409 re-reads).
		 * Anything else starts with a fresh look. */
		if (n->known && n->holder_is_me)
			ask_write(out, LEADER_OP_UPDATE, n->identity, lease_s, n->transitions, 0,
				  now_ms);
		else
			ask(out, LEADER_OP_GET, now_ms);
	}

	if (n->pending == LEADER_OP_NONE)
		out->wake_ms = n->next_ms;
	if (n->leading && n->renewed_ms + n->renew_deadline_ms < out->wake_ms)
		out->wake_ms = n->renewed_ms + n->renew_deadline_ms;
}

/* --- the Lease as JSON --- */

static struct json_object *path2(struct json_object *o, const char *a, const char *b)
{
	struct json_object *x, *y;
	if (o && json_object_object_get_ex(o, a, &x) && json_object_object_get_ex(x, b, &y))
		return y;
	return NULL;
}

void leader_view_of(struct lease_view *out, struct json_object *lease)
{
	struct json_object *f;
	out->holder =
	    (f = path2(lease, "spec", "holderIdentity")) && json_object_is_type(f, json_type_string)
		? json_object_get_string(f)
		: "";
	out->duration_s =
	    (f = path2(lease, "spec", "leaseDurationSeconds")) ? json_object_get_int64(f) : 0;
	out->transitions =
	    (f = path2(lease, "spec", "leaseTransitions")) ? json_object_get_int64(f) : 0;
	out->acquire_time =
	    (f = path2(lease, "spec", "acquireTime")) && json_object_is_type(f, json_type_string)
		? json_object_get_string(f)
		: "";
	out->renew_time =
	    (f = path2(lease, "spec", "renewTime")) && json_object_is_type(f, json_type_string)
		? json_object_get_string(f)
		: "";
}

struct json_object *leader_lease_object(const struct leader_action *a, struct json_object *base,
					const char *ns, const char *name, const char *now_micro)
{
	struct json_object *o = NULL, *spec, *old_acquire = NULL;
	if (base && json_object_deep_copy(base, &o, NULL) == 0) {
		struct json_object *meta;
		if (json_object_object_get_ex(o, "metadata", &meta))
			json_object_object_del(meta, "managedFields");
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "apiVersion",
				       json_object_new_string("coordination.k8s.io/v1"));
		json_object_object_add(o, "kind", json_object_new_string("Lease"));
		struct json_object *meta = json_object_new_object();
		json_object_object_add(meta, "name", json_object_new_string(name));
		json_object_object_add(meta, "namespace", json_object_new_string(ns));
		json_object_object_add(o, "metadata", meta);
	}
	if (!json_object_object_get_ex(o, "spec", &spec) ||
	    !json_object_is_type(spec, json_type_object)) {
		spec = json_object_new_object();
		json_object_object_add(o, "spec", spec);
	}
	json_object_object_get_ex(spec, "acquireTime", &old_acquire);
	json_object_object_add(spec, "holderIdentity",
			       json_object_new_string(a->holder ? a->holder : ""));
	json_object_object_add(spec, "leaseDurationSeconds", json_object_new_int64(a->duration_s));
	if (a->new_acquire || !old_acquire)
		json_object_object_add(spec, "acquireTime", json_object_new_string(now_micro));
	json_object_object_add(spec, "renewTime", json_object_new_string(now_micro));
	json_object_object_add(spec, "leaseTransitions", json_object_new_int64(a->transitions));
	return o;
}

void leader_default_identity(char *out, size_t outsz)
{
	const char *pod = getenv("POD_NAME");
	if (pod && *pod) {
		snprintf(out, outsz, "%s", pod);
		return;
	}
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, outsz, "%s_%ld", host, (long)getpid());
}

/* --- the elector --- */

struct leader {
	struct kube_config *cfg;
	char *ns, *name, *identity;
	struct leader_timing t;
	struct leader_callbacks cb;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* One request at a time, driver -> requester. */
	int req_ready;
	enum leader_op req_op;
	struct json_object *req_obj;
	/* Its result, requester -> driver. */
	int res_ready;
	enum lease_view_kind res_kind;
	struct json_object *res_obj;
	char res_err[512];
	int stop_requested, requester_exit;

	pthread_t driver, requester;
	int running, stopped;
	pthread_mutex_t stop_lock;
	atomic_int leading;
	/* Driver only. */
	struct json_object *last; /* the Lease last read or written */
	char last_holder[128];
};

static void micro_now(char *out, size_t outsz)
{
	struct timespec ts;
	struct tm tm;
	char sec[24];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (!strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm))
		sec[0] = '\0';
	snprintf(out, outsz, "%.20s.%06dZ", sec, (int)((ts.tv_nsec / 1000) % 1000000));
}

int leader_new(struct leader **out, struct kube_config *cfg, const struct leader_options *opt)
{
	char ident[256];
	struct leader_timing t;
	if (!opt->namespace_ || !*opt->namespace_ || !opt->name || !*opt->name)
		return err_set(E_INVALID,
			       "leader election: the Lease needs a namespace and a name");
	if (opt->identity)
		snprintf(ident, sizeof(ident), "%s", opt->identity);
	else
		leader_default_identity(ident, sizeof(ident));
	int rc = leader_timing_check(&opt->timing, ident, &t);
	if (rc)
		return rc;
	struct leader *l = xcalloc(1, sizeof(*l));
	l->cfg = cfg;
	l->ns = xstrdup(opt->namespace_);
	l->name = xstrdup(opt->name);
	l->identity = xstrdup(ident);
	l->t = t;
	l->cb = opt->cb;
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->stop_lock, NULL);
	clock_cond_init(&l->cond);
	*out = l;
	return 0;
}

static void *requester_main(void *arg)
{
	struct leader *l = arg;
	struct kube_client *c = kube_client_new(l->cfg);
	/* The core retries on its own schedule; a request must fail fast. */
	kube_client_set_retry(c, 1, 100, 100);
	for (;;) {
		pthread_mutex_lock(&l->lock);
		while (!l->req_ready && !l->requester_exit)
			pthread_cond_wait(&l->cond, &l->lock);
		if (!l->req_ready) {
			pthread_mutex_unlock(&l->lock);
			break;
		}
		enum leader_op op = l->req_op;
		struct json_object *obj = l->req_obj;
		l->req_ready = 0;
		l->req_obj = NULL;
		pthread_mutex_unlock(&l->lock);

		struct json_object *got = NULL;
		enum lease_view_kind kind;
		int rc;
		if (op == LEADER_OP_GET) {
			rc = kube_get(c, &KUBE_LEASES, l->ns, l->name, &got);
			kind = !rc		  ? LEASE_VIEW_READ
			       : rc == E_NOTFOUND ? LEASE_VIEW_ABSENT
						  : LEASE_VIEW_FAILED;
		} else {
			rc = op == LEADER_OP_CREATE
				 ? kube_create(c, &KUBE_LEASES, l->ns, obj, &got)
				 : kube_update(c, &KUBE_LEASES, l->ns, obj, 0, &got);
			/* A 404 on update: the Lease was deleted meanwhile; re-read. */
			kind = !rc ? LEASE_VIEW_WRITTEN
			       : rc == E_CONFLICT || rc == E_EXISTS || rc == E_NOTFOUND
				   ? LEASE_VIEW_CONFLICT
				   : LEASE_VIEW_FAILED;
		}
		json_object_put(obj);
		pthread_mutex_lock(&l->lock);
		l->res_ready = 1;
		l->res_kind = kind;
		l->res_obj = got;
		snprintf(l->res_err, sizeof(l->res_err), "%s", rc ? err_msg() : "");
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->lock);
	}
	kube_client_free(c);
	return NULL;
}

static void log_step(struct leader *l, const char *msg)
{
	char lease[512];
	snprintf(lease, sizeof(lease), "%s/%s", l->ns, l->name);
	log_kv(LOG_LEVEL_INFO, msg, "lease", lease, "identity", l->identity, NULL);
}

static void *driver_main(void *arg)
{
	struct leader *l = arg;
	struct leader_state st;
	struct leader_action a;
	struct lease_view view = {.kind = LEASE_VIEW_TICK};
	int stop_fed = 0;
	leader_state_init(&st, l->identity, &l->t,
			  (uint64_t)clock_mono_ms() ^ ((uint64_t)getpid() << 32), clock_mono_ms());
	for (;;) {
		leader_step(&st, &view, clock_mono_ms(), &a);
		st = a.next;
		if (a.stopped) {
			atomic_store(&l->leading, 0);
			log_step(l, "leader election: stopped leading");
			if (l->cb.on_stopped)
				l->cb.on_stopped(l->cb.ud);
		}
		if (a.started) {
			atomic_store(&l->leading, 1);
			log_step(l, "leader election: started leading");
			if (l->cb.on_started)
				l->cb.on_started(l->cb.ud);
		}
		if (a.done)
			break;
		if (a.op != LEADER_OP_NONE) {
			struct json_object *obj = NULL;
			if (a.op != LEADER_OP_GET) {
				char now[40];
				micro_now(now, sizeof(now));
				obj = leader_lease_object(&a,
							  a.op == LEADER_OP_UPDATE ? l->last : NULL,
							  l->ns, l->name, now);
			}
			pthread_mutex_lock(&l->lock);
			l->req_op = a.op;
			l->req_obj = obj;
			l->req_ready = 1;
			pthread_cond_broadcast(&l->cond);
			pthread_mutex_unlock(&l->lock);
		}

		/* Wait for a result, a stop, or the wake time. */
		view = (struct lease_view){.kind = LEASE_VIEW_TICK};
		pthread_mutex_lock(&l->lock);
		for (;;) {
			if (l->res_ready || (l->stop_requested && !stop_fed))
				break;
			int64_t now = clock_mono_ms();
			if (now >= a.wake_ms)
				break;
			/* Wake at least once a second: stops and odd clocks. */
			int64_t until = a.wake_ms - now > 1000 ? now + 1000 : a.wake_ms;
			struct timespec ts = clock_mono_timespec(until);
			pthread_cond_timedwait(&l->cond, &l->lock, &ts);
		}
		struct json_object *got = NULL;
		char why[512] = "";
		if (l->res_ready) {
			view.kind = l->res_kind;
			got = l->res_obj;
			snprintf(why, sizeof(why), "%s", l->res_err);
			l->res_ready = 0;
			l->res_obj = NULL;
		} else if (l->stop_requested && !stop_fed) {
			view.kind = LEASE_VIEW_RELEASE;
			stop_fed = 1;
		}
		pthread_mutex_unlock(&l->lock);

		if (view.kind == LEASE_VIEW_READ || view.kind == LEASE_VIEW_WRITTEN) {
			json_object_put(l->last);
			l->last = got;
			leader_view_of(&view, l->last);
			if (strcmp(view.holder, l->last_holder)) {
				snprintf(l->last_holder, sizeof(l->last_holder), "%s", view.holder);
				char lease[512];
				snprintf(lease, sizeof(lease), "%s/%s", l->ns, l->name);
				log_kv(LOG_LEVEL_INFO, "leader election: new holder", "lease",
				       lease, "holder", *view.holder ? view.holder : "(none)",
				       NULL);
			}
		} else {
			json_object_put(got);
			if (view.kind == LEASE_VIEW_FAILED)
				log_kv(LOG_LEVEL_WARN, "leader election: Lease request failed",
				       "error", why, NULL);
			else if (view.kind == LEASE_VIEW_CONFLICT)
				log_kv(LOG_LEVEL_DEBUG,
				       "leader election: lost a write race; re-reading", "error",
				       why, NULL);
		}
	}
	return NULL;
}

int leader_start(struct leader *l)
{
	if (l->running)
		return 0;
	if (pthread_create(&l->requester, NULL, requester_main, l))
		return err_set(E_IO, "leader election: cannot start a thread");
	if (pthread_create(&l->driver, NULL, driver_main, l)) {
		pthread_mutex_lock(&l->lock);
		l->requester_exit = 1;
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->requester, NULL);
		return err_set(E_IO, "leader election: cannot start a thread");
	}
	l->running = 1;
	return 0;
}

int leader_is_leading(struct leader *l)
{
	return atomic_load(&l->leading);
}

const char *leader_identity(const struct leader *l)
{
	return l->identity;
}

void leader_stop(struct leader *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->stop_lock);
	if (l->running && !l->stopped) {
		pthread_mutex_lock(&l->lock);
		l->stop_requested = 1;
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->driver, NULL);
		pthread_mutex_lock(&l->lock);
		l->requester_exit = 1;
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->requester, NULL);
		l->stopped = 1;
	}
	pthread_mutex_unlock(&l->stop_lock);
}

void leader_free(struct leader *l)
{
	if (!l)
		return;
	leader_stop(l);
	json_object_put(l->last);
	json_object_put(l->req_obj);
	json_object_put(l->res_obj);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->stop_lock);
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l);
}
