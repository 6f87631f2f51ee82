# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""The commands the read-only modules run on a node, through AnsibleModule.run_command.

Private to campus.swarm. The readers (module_utils _node_info, _firewalld_info) take a
``run(argv) -> (rc, stdout, stderr)``; this is the one the modules give them. A program
that is not installed answers rc 127, as a shell would, instead of failing the module
(run_command fails it): the readers report what is missing. Runs on the managed host.
"""

from __future__ import annotations

import os
from typing import Any, Callable, List, Tuple

Runner = Callable[[List[str]], Tuple[int, str, str]]


def module_runner(module: Any) -> Runner:
    """``run(argv)`` for ``module``; each command runs with LC_ALL=C (the readers parse English output)."""

    def run(argv: List[str]) -> Tuple[int, str, str]:
        program = argv[0]
        if not (os.path.isabs(program) and os.access(program, os.X_OK)) and module.get_bin_path(program) is None:
            return 127, "", f"{program}: command not found"
        rc, out, err = module.run_command(argv, environ_update={"LC_ALL": "C"})
        return rc, out, err

    return run
