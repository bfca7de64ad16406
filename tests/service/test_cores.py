"""Core-group planning on described machines (topologies this 2-CPU box cannot show)."""
from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest

from worker.cores import CorePlan, cgroup_cpu_quota, parse_cpu_list, plan_core_groups


def test_parse_cpu_list():
    assert parse_cpu_list("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11]
    assert parse_cpu_list("5") == [5]


def test_this_machine_default_plan():
    plan = plan_core_groups()
    usable = sorted(os.sched_getaffinity(0))
    assert plan.usable_cpus == tuple(usable)
    assert all(1 <= len(group) <= 2 for group in plan.groups)
    threads = sum(len(group) for group in plan.groups)
    if plan.pinned:
        assert sorted(cpu for group in plan.groups for cpu in group) == usable
    else:  # a cgroup quota below the CPU set
        assert threads == math.ceil(plan.quota_cpus - 1e-9) < len(usable)


def test_groups_stay_inside_numa_nodes_and_keep_smt_siblings_together():
    # 2 sockets x 4 cores x 2 threads; Linux numbers sibling threads n and n+8.
    nodes = [[0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]]
    siblings = {c: [c % 8, c % 8 + 8] for c in range(16)}
    plan = plan_core_groups(group_size=2, usable=list(range(16)), quota=None, nodes=nodes, siblings=siblings)
    assert plan.groups == ((0, 8), (1, 9), (2, 10), (3, 11), (4, 12), (5, 13), (6, 14), (7, 15))

    plan = plan_core_groups(group_size=4, usable=list(range(16)), quota=None, nodes=nodes, siblings=siblings)
    assert plan.groups == ((0, 1, 8, 9), (2, 3, 10, 11), (4, 5, 12, 13), (6, 7, 14, 15))
    for group in plan.groups:
        assert any(set(group) <= set(node) for node in nodes)


def test_affinity_mask_and_uneven_remainder():
    plan = plan_core_groups(group_size=2, usable=[1, 2, 3], quota=None, nodes=[[0, 1, 2, 3]], siblings={})
    assert plan.groups == ((1, 2), (3,))


def test_cgroup_quota_limits_the_threads_used():
    plan = plan_core_groups(group_size=1, usable=list(range(8)), quota=2.5, nodes=[list(range(8))], siblings={})
    assert [len(group) for group in plan.groups] == [1, 1, 1]
    assert plan.quota_cpus == 2.5


def test_quota_below_the_cpu_set_plans_thread_counts_but_does_not_pin():
    # `cpus: 3` without a cpuset on a 2 x 4-core machine: every replica sees CPUs 0-7. Pinned,
    # each would stack its children on CPUs 0-2; unpinned, the kernel spreads them over all 8.
    nodes = [[0, 1, 2, 3], [4, 5, 6, 7]]
    plan = plan_core_groups(group_size=2, usable=list(range(8)), quota=3.0, nodes=nodes, siblings={})
    assert not plan.pinned
    assert [len(group) for group in plan.groups] == [2, 1]  # the quota's 3 CPUs' worth of threads
    assert plan.usable_cpus == tuple(range(8))
    assert "not pinned" in plan.describe()
    # Thread counts follow the group size, not the NUMA layout, since nothing is placed.
    plan = plan_core_groups(group_size=4, usable=list(range(8)), quota=6.0, nodes=[[0, 1], [2, 3], [4, 5], [6, 7]],
                            siblings={})
    assert [len(group) for group in plan.groups] == [4, 2] and not plan.pinned
    plan = plan_core_groups(group_size=2, children=3, usable=list(range(8)), quota=1.5, nodes=nodes, siblings={})
    assert [len(group) for group in plan.groups] == [2, 2, 2] and not plan.pinned


def test_cpu_set_as_the_limit_is_pinned():
    for quota in (None, 4.0, 6.5):  # no quota, or one the set cannot use up
        plan = plan_core_groups(group_size=2, usable=[2, 3, 4, 5], quota=quota, nodes=[], siblings={})
        assert plan.pinned, quota
        assert plan.groups == ((2, 3), (4, 5))
        assert "on CPUs [2,3] [4,5]" in plan.describe()


def _affinity_after_entering_group(plan: CorePlan) -> list[int]:
    plan.enter_group(0)
    return sorted(os.sched_getaffinity(0))


def _child_affinity(plan: CorePlan) -> list[int]:
    """Enter the plan's first group in a forked process, as a worker child does; its CPUs after."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("fork")) as pool:
        return pool.submit(_affinity_after_entering_group, plan).result(timeout=60)


def test_a_child_is_pinned_only_when_the_cpu_set_is_the_limit():
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        pytest.skip("needs two CPUs to tell pinned from unpinned")
    nodes = [usable]
    quota_plan = plan_core_groups(group_size=1, usable=usable, quota=1.0, nodes=nodes, siblings={})
    assert _child_affinity(quota_plan) == usable  # the kernel may run it on any CPU of the set
    set_plan = plan_core_groups(group_size=1, usable=usable, quota=float(len(usable)), nodes=nodes, siblings={})
    assert _child_affinity(set_plan) == [usable[0]]


def test_children_setting_overrides_the_count():
    plan = plan_core_groups(group_size=2, children=1, usable=[0, 1, 2, 3], quota=None, nodes=[], siblings={})
    assert plan.groups == ((0, 1),)
    plan = plan_core_groups(group_size=2, children=3, usable=[0, 1], quota=None, nodes=[], siblings={})
    assert plan.groups == ((0, 1), (0, 1), (0, 1))
    assert plan.group_for(4) == (0, 1)


def test_cgroup_v2_quota_file(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None


def test_default_group_is_one_physical_core():
    nodes = [[0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]]
    smt = {c: [c % 8, c % 8 + 8] for c in range(16)}
    plan = plan_core_groups(usable=list(range(16)), quota=None, nodes=nodes, siblings=smt)
    assert plan.groups == ((0, 8), (1, 9), (2, 10), (3, 11), (4, 12), (5, 13), (6, 14), (7, 15))
    # No SMT: a child per CPU (more receipts per second than fewer, wider children).
    plan = plan_core_groups(usable=list(range(4)), quota=None, nodes=[[0, 1, 2, 3]], siblings={})
    assert plan.groups == ((0,), (1,), (2,), (3,))
    # A sibling outside the set does not widen the group.
    plan = plan_core_groups(usable=[0, 1, 2, 3], quota=None, nodes=[], siblings=smt)
    assert plan.groups == ((0,), (1,), (2,), (3,))
    # Under a CPU quota: as many 1-thread children as the quota pays for.
    plan = plan_core_groups(usable=list(range(8)), quota=3.0, nodes=[list(range(8))], siblings=smt)
    assert [len(g) for g in plan.groups] == [1, 1, 1] and not plan.pinned
