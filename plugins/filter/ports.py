# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Filters that plan the swarm port probes and read their results (module campus.swarm.swarm_port_probe)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.campus.swarm.plugins.plugin_utils import _port_plan as pp
from ansible_collections.campus.swarm.plugins.plugin_utils._filter_errors import reports


@reports("swarm_port_plan", pp.PortPlanError)
def swarm_port_plan(nodes: list[dict[str, Any]], data_path_port: int = pp.DEFAULT_DATA_PATH_PORT,
                    swarm_port: int = pp.DEFAULT_SWARM_PORT) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per node: the ports to listen on, the probes to expect, the targets to probe."""
    return pp.port_plan(nodes, data_path_port, swarm_port)


@reports("swarm_port_matrix", pp.PortPlanError)
def swarm_port_matrix(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Every node's probe results as a matrix, lines per pair and sentences per blocked port."""
    return pp.port_matrix(results)


class FilterModule:
    """Port probe filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "swarm_port_plan": swarm_port_plan,
            "swarm_port_matrix": swarm_port_matrix,
        }
