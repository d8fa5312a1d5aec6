/* CPUs usable: cgroup v2 cpu.max (the group and its parents), v1 CFS quota,
 * none; and the count bounded by the affinity mask. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cpus.h"

static char root[64];

static int make_root(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_cpus.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int remove_root(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to root/rel, making its folders. */
static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void cpus_quota__v2_half_a_cpu(void **state)
{
	(void)state;
	put("cpu.max", "50000 100000\n");
	assert_true(cpus_quota(root, "0::/\n") == 0.5);
}

static void cpus_quota__v2_max_is_no_quota(void **state)
{
	(void)state;
	put("cpu.max", "max 100000\n");
	assert_true(cpus_quota(root, "0::/\n") == 0);
}

static void cpus_quota__v2_the_tightest_of_the_group_and_its_parents(void **state)
{
	(void)state;
	put("cpu.max", "max 100000\n");
	put("kubepods/cpu.max", "300000 100000\n");
	put("kubepods/pod1/cpu.max", "150000 100000\n");
	put("kubepods/pod1/c1/cpu.max", "max 100000\n");
	assert_true(cpus_quota(root, "0::/kubepods/pod1/c1\n") == 1.5);
	/* The line is found among v1 lines too. */
	assert_true(cpus_quota(root, "3:cpu:/x\n0::/kubepods/pod1/c1\n") == 1.5);
}

static void cpus_quota__v1_cfs_quota(void **state)
{
	(void)state;
	put("cpu,cpuacct/cpu.cfs_quota_us", "250000\n");
	put("cpu,cpuacct/cpu.cfs_period_us", "100000\n");
	assert_true(cpus_quota(root, "4:cpu,cpuacct:/\n") == 2.5);
}

static void cpus_quota__v1_unlimited_and_nothing_readable(void **state)
{
	(void)state;
	put("cpu/cpu.cfs_quota_us", "-1\n");
	put("cpu/cpu.cfs_period_us", "100000\n");
	assert_true(cpus_quota(root, "") == 0);
	assert_true(cpus_quota("/nonexistent-root", "0::/\n") == 0);
}

static void cpus_quota__garbage_is_no_quota(void **state)
{
	(void)state;
	put("cpu.max", "fifty thousand\n");
	assert_true(cpus_quota(root, "0::/\n") == 0);
}

static void cpus_usable__at_least_one_and_at_most_the_affinity(void **state)
{
	(void)state;
	cpu_set_t set;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	int n = cpus_usable("/nonexistent-root");
	assert_int_equal(n, CPU_COUNT(&set));
	assert_true(cpus_usable("/sys/fs/cgroup") >= 1);
	assert_true(cpus_usable("/sys/fs/cgroup") <= CPU_COUNT(&set));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(cpus_quota__v2_half_a_cpu, make_root, remove_root),
	    cmocka_unit_test_setup_teardown(cpus_quota__v2_max_is_no_quota, make_root, remove_root),
	    cmocka_unit_test_setup_teardown(
		cpus_quota__v2_the_tightest_of_the_group_and_its_parents, make_root, remove_root),
	    cmocka_unit_test_setup_teardown(cpus_quota__v1_cfs_quota, make_root, remove_root),
	    cmocka_unit_test_setup_teardown(cpus_quota__v1_unlimited_and_nothing_readable,
					    make_root, remove_root),
	    cmocka_unit_test_setup_teardown(cpus_quota__garbage_is_no_quota, make_root,
					    remove_root),
	    cmocka_unit_test(cpus_usable__at_least_one_and_at_most_the_affinity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
