/* CPUs usable: see cpus.h. */
#include "common/cpus.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xmalloc.h"

/* Reads one small file's first line into line; 0 or -1. */
static int read_line(const char *path, char *line, size_t size)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fgets(line, (int)size, f) != NULL;
	fclose(f);
	return ok ? 0 : -1;
}

/* cgroup v2 "QUOTA PERIOD" or "max PERIOD": CPUs, 0 for none, -1 unreadable. */
static double v2_quota(const char *path)
{
	char line[128];
	long long quota, period;
	if (read_line(path, line, sizeof(line)))
		return -1;
	if (strncmp(line, "max", 3) == 0)
		return 0;
	if (sscanf(line, "%lld %lld", &quota, &period) != 2 || quota <= 0 || period <= 0)
		return -1;
	return (double)quota / (double)period;
}

/* The v2 group path from /proc/self/cgroup's "0::/PATH" line, or NULL. */
static char *v2_group(const char *self)
{
	char *text = NULL;
	if (!self) {
		FILE *f = fopen("/proc/self/cgroup", "r");
		if (!f)
			return NULL;
		size_t cap = 0;
		ssize_t n;
		char *line = NULL;
		while ((n = getline(&line, &cap, f)) > 0) {
			if (strncmp(line, "0::", 3) == 0) {
				text = xstrdup(line);
				break;
			}
		}
		free(line);
		fclose(f);
	} else {
		const char *p = strstr(self, "0::");
		while (p && p != self && p[-1] != '\n')
			p = strstr(p + 1, "0::");
		if (p)
			text = xstrdup(p);
	}
	if (!text)
		return NULL;
	char *group = xstrdup(text + 3);
	free(text);
	group[strcspn(group, "\n")] = '\0';
	return group;
}

double cpus_quota(const char *root, const char *self)
{
	char path[4096];
	double best = 0;
	char *group = v2_group(self);
	if (group) {
		/* The group and each parent up to the root: the tightest quota wins. */
		size_t len = strlen(group);
		for (;;) {
			if (len == 1 && group[0] == '/')
				len = 0;
			snprintf(path, sizeof(path), "%s%.*s/cpu.max", root, (int)len, group);
			double q = v2_quota(path);
			if (q > 0 && (best == 0 || q < best))
				best = q;
			if (len == 0)
				break;
			while (len > 0 && group[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
		}
		free(group);
		if (best > 0)
			return best;
	}
	static const char *const v1[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu"};
	for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
		char line[64];
		long long quota, period;
		snprintf(path, sizeof(path), "%s/%s/cpu.cfs_quota_us", root, v1[i]);
		if (read_line(path, line, sizeof(line)) || sscanf(line, "%lld", &quota) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/cpu.cfs_period_us", root, v1[i]);
		if (read_line(path, line, sizeof(line)) || sscanf(line, "%lld", &period) != 1)
			continue;
		if (quota > 0 && period > 0)
			return (double)quota / (double)period;
		return 0;
	}
	return 0;
}

int cpus_usable(const char *root)
{
	cpu_set_t set;
	long n = 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	double q = cpus_quota(root, NULL);
	if (q > 0) {
		long whole = (long)q;
		if ((double)whole < q)
			whole++;
		if (whole < n)
			n = whole;
	}
	return n < 1 ? 1 : (int)n;
}
