# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Offline stand-in for get-pip.py, used by ``ansible-test sanity --venv``.

ansible-test downloads get-pip from a site that is not reachable here; it uses
a cached copy at ``~/.ansible/test/cache/get_pip_<version>.py`` first. Install
this file there (for ansible-core 2.19: ``get_pip_24_2.py``). It bootstraps pip
with the interpreter's ``ensurepip``, then runs ``pip install`` with the
arguments it was given, minus get-pip's own ``--no-setuptools``/``--no-wheel``.

``ensurepip`` deletes every PIP_* variable and points PIP_CONFIG_FILE at
/dev/null in its own process, which loses the machine's certificate settings:
the environment is saved before and restored after.
"""

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")


def main() -> int:
    saved = dict(os.environ)
    try:
        ensurepip.bootstrap(upgrade=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    if not any(not arg.startswith("-") for arg in args):
        return 0
    return subprocess.call([sys.executable, "-m", "pip", "install", *args])


if __name__ == "__main__":
    sys.exit(main())
