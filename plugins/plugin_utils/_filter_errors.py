# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""One way for every filter of the collection to report bad input."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from ansible.errors import AnsibleFilterError

_F = TypeVar("_F", bound=Callable[..., Any])


def reports(name: str, *errors: type[Exception]) -> Callable[[_F], _F]:
    """Turn the input errors ``errors`` into ``AnsibleFilterError`` that names the filter ``name``."""

    def decorate(func: _F) -> _F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except errors as exc:
                # from None: ansible-core 2.19 would print the cause's message a second time.
                raise AnsibleFilterError(f"{name}: {exc}") from None

        return wrapper  # type: ignore[return-value]

    return decorate
