#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Print the lines of a molecule log that say why the scenario failed.

``failure_excerpt.py LOG`` prints, for the end of the test command's output (CI
keeps only its tail):

1. the last failed tasks of the failing playbook itself, with their task names
   and messages (a nested run's failures a test provokes on purpose are
   indented deeper and left out);
2. when the last of them is a task that ran a nested ``ansible-playbook`` (the
   day-two tests run the collection's playbooks that way), the failure inside
   that run: its failed task and message, which are otherwise buried in the
   command's stdout;
3. the recaps that count a failure and molecule's step lines.
"""

from __future__ import annotations

import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
OUTER_FAILURE = re.compile(r"^ *(│ )?(fatal|failed): \[|An exception occurred|ERROR! ")
NESTED_FAILURE = re.compile(r"(fatal|failed): \[[^\]]*\]: FAILED!|^ *(│ +)?\[ERROR\]: ")
NEXT_TASK = re.compile(r"^ *(│ )?(TASK \[|PLAY \[|PLAY RECAP|RUNNING HANDLER \[)")
FAILED_RECAP = re.compile(r"^ *(│ )?[^ \"]+ +: ok=.*failed=[1-9]|➜ .*: (Failed|Executed)")
BOX = re.compile(r"^ *│ ?")


def windows(lines: list[str], hits: list[int], before: int, after: int) -> list[str]:
    """The lines around each hit, like ``grep -B before -A after`` (overlaps once)."""
    keep: list[int] = []
    for hit in hits:
        keep.extend(range(max(0, hit - before), min(len(lines), hit + after + 1)))
    return [lines[i] for i in sorted(set(keep))]


def nested_failure(block: list[str]) -> list[str]:
    """The failure inside a nested run's stdout: printed as YAML (real lines) or as a JSON string."""
    text = [BOX.sub("", line) for line in block]
    if not any(NESTED_FAILURE.search(line) for line in text):
        # A JSON result: the run's stdout is one string with \n in it, wrapped by molecule's console.
        text = " ".join(line.strip() for line in text).replace('\\"', '"').split("\\n")
    hits = [i for i, line in enumerate(text) if NESTED_FAILURE.search(line)]
    if not hits:
        return []
    recaps = [line for line in text if re.search(r": ok=\d+ .*failed=[1-9]", line)]
    return windows(text, hits[-1:], 6, 24) + recaps


def excerpt(lines: list[str]) -> list[str]:
    hits = [i for i, line in enumerate(lines) if OUTER_FAILURE.search(line)]
    out = windows(lines, hits, 8, 12)[-80:]
    if hits:
        last = hits[-1]
        end = next((i for i in range(last + 1, len(lines)) if NEXT_TASK.search(lines[i])), len(lines))
        inner = nested_failure(lines[last + 1:end])
        if inner:
            out += ["--- the failure inside the nested run of that task:", *inner[-60:]]
    return out + [line for line in lines if FAILED_RECAP.search(line)][-20:]


def main(path: str) -> None:
    with open(path, encoding="utf-8", errors="replace") as log:
        lines = [ANSI.sub("", line.rstrip("\n")) for line in log]
    print("\n".join(excerpt(lines)))


if __name__ == "__main__":
    main(sys.argv[1])
