# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Attribute descriptions every module of the collection shares; each module sets only C(support) and C(details)."""

from __future__ import annotations


class ModuleDocFragment:
    # The three attributes every module states.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation
      indicates no change.
"""

    # A module that only reads: full check mode, no diff, never a change.
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    details:
      - The module changes nothing, so it runs in check mode as well.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - The module never reports a change.
"""
