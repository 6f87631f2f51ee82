# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.networks import overlay_declaration_errors


@pytest.mark.parametrize(
    "networks",
    [
        [],
        [{"name": "proxy"}],
        [{"name": "proxy", "subnet": "10.201.1.0/24", "gateway": "10.201.1.1", "mtu": 1450, "encrypted": True}],
        [{"name": "a", "subnet": "10.201.1.0/24"}, {"name": "b", "subnet": "10.201.2.0/24"}],
        # an absent network's subnet may be reused
        [{"name": "old", "subnet": "10.201.1.0/24", "state": "absent"}, {"name": "new", "subnet": "10.201.1.0/24"}],
    ],
)
def test_good_declarations(networks: list[dict[str, Any]]) -> None:
    assert overlay_declaration_errors(networks) == []


@pytest.mark.parametrize(
    ("networks", "message"),
    [
        ([{"subnet": "10.0.0.0/24"}], "item 0 has no valid 'name'"),
        (["proxy"], "item 0 must be a dict"),
        ([{"name": "bad name"}], "no valid 'name'"),
        ([{"name": "a"}, {"name": "a"}], "a is declared twice (items 0 and 1)"),
        ([{"name": "a", "subnet": "10.0.0.1/24"}], "a: subnet '10.0.0.1/24' is not a network address"),
        ([{"name": "a", "subnet": "10.0.0.0/24", "gateway": "10.0.1.1"}], "gateway 10.0.1.1 lies outside subnet 10.0.0.0/24"),
        ([{"name": "a", "gateway": "10.0.1.1"}], "needs a subnet"),
        ([{"name": "a", "gateway": "nope", "subnet": "10.0.0.0/24"}], "is not an IP address"),
        ([{"name": "a", "mtu": 20}], "mtu 20 must be an integer"),
        ([{"name": "a", "mtu": "1450"}], "mtu '1450' must be an integer"),
        ([{"name": "a", "encrypted": "yes"}], "encrypted must be true or false"),
        ([{"name": "a", "state": "gone"}], "state must be present or absent"),
        (
            [{"name": "a", "subnet": "10.201.0.0/16"}, {"name": "b", "subnet": "10.201.2.0/24"}],
            "b: subnet 10.201.2.0/24 overlaps 10.201.0.0/16 of a",
        ),
    ],
)
def test_bad_declarations(networks: list[Any], message: str) -> None:
    errors = overlay_declaration_errors(networks)
    assert any(message in e for e in errors), errors


def test_not_a_list() -> None:
    with pytest.raises(AnsibleFilterError, match="overlay_declaration_errors"):
        overlay_declaration_errors({"name": "a"})
