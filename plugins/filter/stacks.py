# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Application stacks (role campus.swarm.stacks): versioned secret and config names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible_collections.campus.swarm.plugins.plugin_utils._filter_errors import reports

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class StackError(ValueError):
    """Input the stack filters cannot use."""


def _seq(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


@reports("stack_versioned_objects", StackError)
def stack_versioned_objects(objects: Any, stack: str, kind: str = "secret") -> list[dict[str, Any]]:
    """Each secret or config (``name`` and ``data``) with ``versioned_name``: STACK_NAME_ plus the
    first 12 hex digits of the SHA-256 of its data. Swarm secrets and configs cannot change; a new
    content gets a new name, so the services that use it are updated to the new version."""
    if not isinstance(stack, str) or not _NAME.match(stack):
        raise StackError(f"the stack name must be letters, digits, '_', '.' and '-', got {stack!r}")
    if not _seq(objects):
        raise StackError(f"the {kind}s of stack {stack} must be a list, got {objects!r}")
    result, seen = [], set()
    for index, item in enumerate(objects):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not _NAME.match(item["name"]):
            raise StackError(f"{kind} {index} of stack {stack} needs a name of letters, digits, '_', '.' and '-'")
        name = item["name"]
        if name in seen:
            raise StackError(f"{kind} {name} of stack {stack} is declared twice")
        seen.add(name)
        data = item.get("data")
        if not isinstance(data, str):
            raise StackError(f"{kind} {name} of stack {stack} needs data (a string; from a file: lookup('file', ...))")
        digest = hashlib.sha256(data.encode()).hexdigest()[:12]
        versioned = f"{stack}_{name}_{digest}"
        if len(versioned) > 64:
            raise StackError(f"{kind} {name} of stack {stack}: {versioned} is longer than Docker's 64 characters")
        result.append({**item, "versioned_name": versioned})
    return result


class FilterModule:
    """Stack filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"stack_versioned_objects": stack_versioned_objects}
