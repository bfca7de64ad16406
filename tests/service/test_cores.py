"""Core-group planning on described machines (topologies this 2-CPU box cannot show)."""
from __future__ import annotations

import os

from worker.cores import cgroup_cpu_quota, parse_cpu_list, plan_core_groups


def test_parse_cpu_list():
    assert parse_cpu_list("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11]
    assert parse_cpu_list("5") == [5]


def test_this_machine_default_plan():
    plan = plan_core_groups()
    usable = sorted(os.sched_getaffinity(0))
    assert set(plan.usable_cpus) <= set(usable)
    assert all(1 <= len(group) <= 2 for group in plan.groups)
    assert sorted(cpu for group in plan.groups for cpu in group) == sorted(plan.usable_cpus)


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


def test_cgroup_quota_limits_the_cpus_used():
    plan = plan_core_groups(group_size=1, usable=list(range(8)), quota=2.5, nodes=[list(range(8))], siblings={})
    assert plan.groups == ((0,), (1,), (2,))
    assert plan.quota_cpus == 2.5


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
