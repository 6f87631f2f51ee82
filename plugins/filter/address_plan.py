# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Filter that checks a swarm node's whole address plan for clashes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.campus.swarm.plugins.plugin_utils import _address_plan as ap
from ansible_collections.campus.swarm.plugins.plugin_utils._filter_errors import reports
from ansible_collections.campus.swarm.plugins.plugin_utils._swarm_math import SwarmInputError


@reports("swarm_address_plan_errors", SwarmInputError)
def swarm_address_plan_errors(
    plan: dict[str, Any], routes: list[dict[str, Any]] | None = None, reserved: list[Any] | None = None, host: str = ""
) -> list[str]:
    """Clashes between docker0, local pools, docker_gwbridge, overlay pools, ingress, host routes and campus ranges."""
    return ap.address_plan_errors(plan, routes, reserved, host)


class FilterModule:
    """Address plan filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"swarm_address_plan_errors": swarm_address_plan_errors}
