"""Split the CPUs this process may use into core groups: one worker child per group.

The usable CPUs are the affinity mask (a container's cpuset). When that set is the limit,
each child is pinned to its group: groups never straddle a NUMA node, and SMT siblings
stay in the same group, so a child's onnxruntime threads share caches instead of fighting
across sockets. When a cgroup CPU quota smaller than the set is the limit, the groups only
size the children and their threads (as many as the quota pays for) and nothing is pinned:
every replica on a machine sees the same set, so pinning would stack them all on its first
CPUs, while the kernel spreads unpinned children over the whole set.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

# With no OCR_CORES_PER_GROUP, a group is one physical core: its SMT siblings (2 CPUs on
# most x86 servers), or 1 CPU where there are none. Measured on a 2-CPU VM without SMT
# (bench.service_throughput, 30 receipts, 4 clients, openvino-bf16): 2 children x 1 thread
# read 1.62 receipts/s, 1 child x 2 threads 1.29 (two threads do not double one child's
# speed: one receipt alone 0.76 s against 1.14 s); docs/OPERATIONS.md has the figures.
# Without a pinned set (a CPU quota), children get 1 thread each.
SYS_CPU = Path("/sys/devices/system/cpu")
SYS_NODE = Path("/sys/devices/system/node")
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CorePlan:
    groups: tuple[tuple[int, ...], ...]  # one entry per worker child, in child index order
    usable_cpus: tuple[int, ...]
    quota_cpus: float | None  # from the cgroup, if limited
    # False when a CPU quota below the affinity set is the limit: a group's length is then its
    # child's thread count, and its CPU numbers are nominal (the set's first CPUs).
    pinned: bool = True

    def group_for(self, child_index: int) -> tuple[int, ...]:
        return self.groups[child_index % len(self.groups)]

    def enter_group(self, child_index: int) -> tuple[int, ...]:
        """In a worker child: pin this process to its group if the plan pins; the group's
        length is the child's thread count."""
        group = self.group_for(child_index)
        if self.pinned:
            os.sched_setaffinity(0, group)
        return group

    def describe(self) -> str:
        quota = f", cgroup quota {self.quota_cpus:g} CPUs" if self.quota_cpus else ""
        if not self.pinned:
            threads = ", ".join(str(len(g)) for g in self.groups)
            return (f"{len(self.groups)} worker children with {threads} threads, not pinned "
                    f"(cgroup quota {self.quota_cpus:g} CPUs < {len(self.usable_cpus)} CPUs in the affinity mask)")
        parts = " ".join("[" + ",".join(map(str, g)) + "]" for g in self.groups)
        return f"{len(self.groups)} worker children on CPUs {parts} ({len(self.usable_cpus)} usable{quota})"


def parse_cpu_list(text: str) -> list[int]:
    """'0-3,8,10-11' -> [0, 1, 2, 3, 8, 10, 11]."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-")
            cpus.extend(range(int(lo), int(hi) + 1))
        else:
            cpus.append(int(part))
    return cpus


def cgroup_cpu_quota(root: Path = CGROUP_ROOT) -> float | None:
    """CPUs' worth of time the cgroup allows (cgroup v2 cpu.max, v1 cfs files), or None."""
    candidates = [root / "cpu.max"]
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, _, path = line.partition("::")
            if path and path != "/":
                candidates.insert(0, root / path.lstrip("/") / "cpu.max")
    except OSError:
        pass
    for cpu_max in candidates:
        try:
            quota, period = cpu_max.read_text().split()[:2]
        except (OSError, ValueError):
            continue
        return None if quota == "max" else int(quota) / int(period)
    try:  # cgroup v1
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 else None


def numa_nodes(sys_node: Path = SYS_NODE) -> list[list[int]]:
    nodes = []
    for node in sorted(sys_node.glob("node[0-9]*"), key=lambda p: int(p.name[4:])):
        try:
            nodes.append(parse_cpu_list((node / "cpulist").read_text()))
        except OSError:
            continue
    return nodes


def smt_siblings(cpu: int, sys_cpu: Path = SYS_CPU) -> list[int]:
    try:
        return parse_cpu_list((sys_cpu / f"cpu{cpu}" / "topology" / "thread_siblings_list").read_text())
    except OSError:
        return [cpu]


def plan_core_groups(
    group_size: int | None = None,
    children: int | None = None,
    usable: list[int] | None = None,
    quota: float | None = None,
    nodes: list[list[int]] | None = None,
    siblings: dict[int, list[int]] | None = None,
) -> CorePlan:
    """Decide the worker children, their thread counts and the CPUs each one is pinned to.

    Arguments default to what this machine reports; tests pass their own topology.
    """
    usable = sorted(usable if usable is not None else os.sched_getaffinity(0))
    quota = quota if quota is not None else cgroup_cpu_quota()
    pinned = not (quota and quota < len(usable))
    size = group_size or (_core_size(usable, siblings) if pinned else 1)
    if pinned:
        groups = _topology_groups(usable, size, nodes if nodes is not None else numa_nodes(), siblings)
    else:
        # A quota is time, not CPUs: run only as many threads as it pays for, so they don't
        # stall. Any CPU of the set may run them, so NUMA and SMT layout do not apply.
        assert quota is not None  # not pinned means a quota limits us
        count = max(1, math.ceil(quota - 1e-9))
        groups = [tuple(usable[start:min(start + size, count)]) for start in range(0, count, size)]
    if children:
        groups = [groups[i % len(groups)] for i in range(children)]
    return CorePlan(groups=tuple(groups), usable_cpus=tuple(usable), quota_cpus=quota, pinned=pinned)


def _core_size(usable: list[int], siblings: dict[int, list[int]] | None) -> int:
    """CPUs of the largest physical core among the usable ones (its SMT siblings in the set)."""
    usable_set = set(usable)
    families = ((siblings.get(c, [c]) if siblings is not None else smt_siblings(c)) for c in usable)
    return max((len(usable_set.intersection(family) | {cpu}) for cpu, family in zip(usable, families)), default=1)


def _topology_groups(
    usable: list[int], size: int, nodes: list[list[int]], siblings: dict[int, list[int]] | None
) -> list[tuple[int, ...]]:
    """Groups of `size` CPUs inside NUMA nodes, SMT siblings together."""
    groups: list[tuple[int, ...]] = []
    usable_set = set(usable)
    node_cpus = [[c for c in node if c in usable_set] for node in nodes] or [usable]
    covered = {c for node in node_cpus for c in node}
    if covered != usable_set:  # CPUs the node files don't mention form their own "node"
        node_cpus.append([c for c in usable if c not in covered])
    for cpus in node_cpus:
        ordered = _siblings_first(cpus, siblings)
        for start in range(0, len(ordered), size):
            groups.append(tuple(sorted(ordered[start:start + size])))
    return [g for g in groups if g] or [tuple(usable)]


def _siblings_first(cpus: list[int], siblings: dict[int, list[int]] | None) -> list[int]:
    """Order CPUs so hyperthread siblings are adjacent (they end up in the same group)."""
    remaining = list(cpus)
    ordered: list[int] = []
    available = set(cpus)
    while remaining:
        cpu = remaining.pop(0)
        if cpu not in available:
            continue
        family = siblings.get(cpu, [cpu]) if siblings is not None else smt_siblings(cpu)
        for member in [cpu] + [s for s in family if s != cpu]:
            if member in available:
                ordered.append(member)
                available.discard(member)
    return ordered
