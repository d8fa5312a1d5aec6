/* The pre-flight plan of parts and objects (job/pipeline/parts_plan.h). */
#include "job/pipeline/parts_plan.h"

#include <stdio.h>

#include "common/err.h"

static void human(char out[24], uint64_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(out, 24, "%llu %s", (unsigned long long)v, units[u]);
	else
		snprintf(out, 24, "%.1f %s", v, units[u]);
}

int parts_plan(struct parts_plan *out, const struct store_limits *lim, uint64_t estimate,
	       uint32_t test_max_parts)
{
	struct parts_plan p = {0};
	p.part_size = lim->part_size;
	p.in_flight = lim->in_flight > 0 ? lim->in_flight : 0;
	p.memory = p.in_flight ? (uint64_t)p.part_size * (uint64_t)(p.in_flight + 1) : 0;
	uint32_t max_parts = lim->max_parts;
	if (test_max_parts > 0 && (max_parts == 0 || test_max_parts < max_parts))
		max_parts = test_max_parts;
	uint64_t limit = 0;
	if (max_parts > 0)
		limit = (uint64_t)p.part_size * max_parts;
	if (lim->max_object > 0 && (limit == 0 || lim->max_object < limit))
		limit = lim->max_object;
	p.object_limit = limit;
	p.max_parts = max_parts;
	uint64_t objects = limit ? (estimate + limit - 1) / limit : 1;
	if (objects == 0)
		objects = 1;
	if (objects > PARTS_PLAN_MAX_OBJECTS) {
		char size[24], each[24];
		human(size, estimate);
		human(each, limit);
		return err_set(
		    E_INVALID,
		    "a database of %s would need %llu objects of at most %s (%u %ss of "
		    "%zu bytes each), more than the %d a backup may have: raise partSize "
		    "in the storage URL",
		    size, (unsigned long long)objects, each, max_parts,
		    lim->unit ? lim->unit : "part", p.part_size, PARTS_PLAN_MAX_OBJECTS);
	}
	p.objects = (uint32_t)objects;
	*out = p;
	return 0;
}

void parts_plan_describe(char *out, size_t n, const struct parts_plan *p,
			 const struct store_limits *lim)
{
	char part[24], mem[24], each[24], how[96];
	const char *unit = lim->unit ? lim->unit : "part";
	human(part, p->part_size);
	human(mem, p->memory);
	if (p->in_flight)
		snprintf(how, sizeof(how), "%ss of %s, %d in flight (%s of buffers)", unit, part,
			 p->in_flight, mem);
	else
		snprintf(how, sizeof(how), "written as it comes (no part buffers)");
	if (!p->object_limit) {
		snprintf(out, n, "%s, one object of any size", how);
		return;
	}
	human(each, p->object_limit);
	snprintf(out, n, "%s, objects of at most %s: %u object%s expected", how, each, p->objects,
		 p->objects == 1 ? "" : "s");
}

/* What compression and OpenPGP may add to a stream of n bytes, at most:
 * zstd's bound (n/256 and a little), deflate's smaller one, OpenPGP's
 * partial lengths and packets (far under n/1024 and 64 KiB). */
static uint64_t stored_bound(uint64_t n)
{
	return n + n / 256 + n / 1024 + (64u << 10);
}

int parts_plan_fits_one(const struct parts_plan *p, const struct store_limits *lim, uint64_t bytes,
			const char *what)
{
	uint64_t need = stored_bound(bytes);
	if (!p->object_limit || need <= p->object_limit)
		return 0;
	char size[24], each[24], part[24];
	human(size, bytes);
	human(each, p->object_limit);
	human(part, p->part_size);
	uint64_t mib = 1u << 20;
	/* When the parts are the limit, a part size that fits it, if the
	 * backend's largest object allows. */
	if (p->max_parts && (uint64_t)p->part_size * p->max_parts == p->object_limit) {
		uint64_t per = (need + p->max_parts - 1) / p->max_parts;
		uint64_t want = (per + mib - 1) / mib;
		if (!lim->max_object || want * mib * p->max_parts <= lim->max_object) {
			const char *unit = lim->unit ? lim->unit : "part";
			return err_set(
			    E_INVALID,
			    "%s: the folder's archive (about %s) is more than one object "
			    "takes (%s: %u %s%s of %s): raise partSize in the storage URL "
			    "to at least %llu MiB",
			    what, size, each, p->max_parts, unit, p->max_parts == 1 ? "" : "s",
			    part, (unsigned long long)want);
		}
	}
	return err_set(E_INVALID,
		       "%s: the folder's archive (about %s) is more than the largest object this "
		       "storage takes (%s): back up a smaller folder, or its parts separately",
		       what, size, each);
}
