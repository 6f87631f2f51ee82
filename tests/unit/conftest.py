# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ``ansible_collections.campus.swarm`` importable from the repository checkout.

The repository root is the collection root; ``.cache/collections`` holds a
symlink farm (``ansible_collections/campus/swarm -> ../../../..``) that this
creates when missing, and is put first on ``sys.path``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO_ROOT / ".cache" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "campus" / "swarm"


def _inside_collection_tree() -> bool:
    """True when the checkout already sits at ansible_collections/campus/swarm (ansible-test)."""
    return REPO_ROOT.parent.name == "campus" and REPO_ROOT.parent.parent.name == "ansible_collections"


if _inside_collection_tree():
    ROOT = str(REPO_ROOT.parents[2])
else:
    if not LINK.exists():
        LINK.parent.mkdir(parents=True, exist_ok=True)
        if LINK.is_symlink():  # dangling
            LINK.unlink()
        os.symlink(os.path.join("..", "..", "..", ".."), LINK)
    ROOT = str(COLLECTIONS)

if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
