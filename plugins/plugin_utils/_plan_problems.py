# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Problems the plan finds, reported all at once: each names the variable, the hosts and the fix."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

# Where a problem concerns the inventory as a whole rather than one host.
INVENTORY = ""


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``variable`` (or an inventory group) on ``host`` ('' for the inventory)."""

    variable: str
    host: str
    message: str
    fix: str = ""


class Problems:
    """The problems of one plan, in the order they were found."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, variable: str, host: str, message: str, fix: str = "") -> None:
        message = message.rstrip(". ")
        # "swarm_port: swarm_port 7946 is ..." says the name twice.
        if message.startswith(variable + " "):
            message = message[len(variable) + 1:]
        self.items.append(Problem(variable, host, message, fix.rstrip(". ")))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    def render(self, run_hosts: Iterable[str]) -> list[str]:
        """One line per problem; a problem found on several hosts is one line naming them
        ('every host' when it is every host of the run)."""
        everyone = set(run_hosts)
        grouped: dict[tuple[str, str, str], list[str]] = {}
        for p in self.items:
            hosts = grouped.setdefault((p.variable, p.message, p.fix), [])
            if p.host not in hosts:
                hosts.append(p.host)
        lines = []
        for (variable, message, fix), hosts in grouped.items():
            named = [h for h in hosts if h]
            if not named:
                where = ""
            elif len(everyone) > 1 and set(named) == everyone:
                where = " (every host)"
            else:
                where = f" (host{'s' if len(named) > 1 else ''} {', '.join(named)})"
            lines.append(f"{variable}{where}: {message}." + (f" Fix: {fix}." if fix else ""))
        return lines


_ARGUMENT = re.compile(r"(?:argument|option|value of) '?([A-Za-z_][A-Za-z0-9_]*)'?")


def _variable_of(message: str, names: Iterable[str]) -> str:
    found = [n for n in names if re.search(rf"\b{re.escape(n)}\b", message)]
    if found:
        return max(found, key=len)
    match = _ARGUMENT.search(message)
    return match.group(1) if match else "role variables"


def check_arguments(role: str, options: Mapping[str, Any], values: Mapping[str, Any], host: str,
                    problems: Problems) -> dict[str, Any]:
    """``values`` checked and converted by the role's argument spec (``options`` of its ``main`` entry point)
    as Ansible checks a role's arguments; problems added to ``problems``. Returns the converted values."""
    result = ArgumentSpecValidator(dict(options)).validate(dict(values))
    secrets = [str(values[n]) for n, o in options.items() if (o or {}).get("no_log") and values.get(n)]
    for error in result.errors.errors:
        message = str(error.msg)
        for secret in secrets:
            message = message.replace(secret, "********")
        variable = _variable_of(message, options)
        problems.add(variable, host, message, f"give {variable} a value as `ansible-doc -t role campus.swarm.{role}` describes it")
    return {name: _unfilled(values.get(name), value, options.get(name) or {}) for name, value in result.validated_parameters.items()}


def _unfilled(given: Any, validated: Any, spec: Mapping[str, Any]) -> Any:
    """``validated`` without the ``None`` the validator puts in for sub-options that were not given and have no
    default: the roles read a missing key as 'not set', which ``None`` is not."""
    sub = spec.get("options")
    if not sub:
        return validated
    if isinstance(validated, list) and isinstance(given, list) and len(given) == len(validated):
        return [_unfilled(g, val, {"options": sub}) for g, val in zip(given, validated, strict=True)]
    if isinstance(validated, dict) and isinstance(given, Mapping):
        return {k: _unfilled(given.get(k), val, sub.get(k) or {}) for k, val in validated.items()
                if k in given or val is not None}
    return validated
