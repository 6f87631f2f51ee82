# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.plan import FilterModule, swarm_node_decls

PLAN = {"hosts": {"m1": {"node": {"name": "m1", "role": "manager"}}, "w1": {"node": {"name": "w1", "role": "worker"}}}}


def test_exports() -> None:
    assert sorted(FilterModule().filters()) == ["swarm_gwbridge", "swarm_node_decls", "swarm_state"]


def test_node_decls_carry_the_node_id_and_leave_out_hosts_without_one() -> None:
    assert swarm_node_decls(PLAN, ["m1", "w1"], {"m1": "id1", "w1": ""}) == [{"name": "m1", "role": "manager", "node_id": "id1"}]


def test_node_decls_refuse_what_is_not_a_plan_or_a_host_outside_it() -> None:
    with pytest.raises(AnsibleFilterError, match="give campus_swarm_plan"):
        swarm_node_decls({}, ["m1"], {"m1": "id1"})
    with pytest.raises(AnsibleFilterError, match=r"^swarm_node_decls: w9 not in the plan: run the plan role on them first$"):
        swarm_node_decls(PLAN, ["m1", "w9"], {"m1": "id1", "w9": "id9"})
