"""Split the CPUs this process may use into core groups: one worker child per group.

Usable CPUs = the affinity mask, cut down to the cgroup CPU quota when one is set.
Groups never straddle a NUMA node, and SMT siblings stay in the same group, so a
child's onnxruntime threads share caches instead of fighting across sockets.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_GROUP_SIZE = 2
SYS_CPU = Path("/sys/devices/system/cpu")
SYS_NODE = Path("/sys/devices/system/node")
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CorePlan:
    groups: tuple[tuple[int, ...], ...]  # one entry per worker child, in child index order
    usable_cpus: tuple[int, ...]
    quota_cpus: float | None  # from the cgroup, if limited

    def group_for(self, child_index: int) -> tuple[int, ...]:
        return self.groups[child_index % len(self.groups)]

    def describe(self) -> str:
        quota = f", cgroup quota {self.quota_cpus:g} CPUs" if self.quota_cpus else ""
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
    """Decide the worker children and the CPUs each one is pinned to.

    Arguments default to what this machine reports; tests pass their own topology.
    """
    usable = sorted(usable if usable is not None else os.sched_getaffinity(0))
    quota = quota if quota is not None else cgroup_cpu_quota()
    if quota and quota < len(usable):
        # A quota is time, not CPUs: use only as many CPUs as it pays for, so threads don't stall.
        usable = usable[: max(1, math.ceil(quota - 1e-9))]
    nodes = nodes if nodes is not None else numa_nodes()
    size = group_size or DEFAULT_GROUP_SIZE

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
    groups = [g for g in groups if g] or [tuple(usable)]
    if children:
        groups = [groups[i % len(groups)] for i in range(children)]
    return CorePlan(groups=tuple(groups), usable_cpus=tuple(usable), quota_cpus=quota)


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


def pin_current_process(cpus: tuple[int, ...]) -> None:
    os.sched_setaffinity(0, cpus)
