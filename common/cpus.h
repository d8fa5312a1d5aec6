/* How many CPUs this process may really use: the affinity mask, bounded by
 * a cgroup CPU quota (a pod's resources.limits.cpu), not the machine's
 * count that nproc and sysconf give. */
#ifndef LIFEBOAT_CPUS_H
#define LIFEBOAT_CPUS_H

/* The quota in CPUs under cgroup root `root` (normally "/sys/fs/cgroup")
 * for the process whose /proc/PID/cgroup text is `self` (NULL: read
 * /proc/self/cgroup): cgroup v2 cpu.max of its group and every parent
 * (the smallest), else v1 cpu.cfs_quota_us / cpu.cfs_period_us. 0 when
 * there is no quota, or none can be read. */
double cpus_quota(const char *root, const char *self);
/* ceil(quota) bounded by the affinity count; at least 1. */
int cpus_usable(const char *root);

#endif
