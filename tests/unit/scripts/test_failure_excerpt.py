# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""scripts/failure_excerpt.py finds the failure inside a nested ansible-playbook run of a molecule log."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "failure_excerpt.py"
spec = importlib.util.spec_from_file_location("failure_excerpt", SCRIPT)
assert spec is not None and spec.loader is not None
failure_excerpt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(failure_excerpt)

# A nested run's own provoked failure (rescued, indented in a stdout) comes before the outer one.
YAML_LOG = """\
  \x1b[2m│\x1b[0m TASK [Run remove_node.yml without confirmation (refused)]
  │ ok: [l1 -> localhost] => changed=false
  │   stdout: |-
  │     fatal: [l1]: FAILED! => changed=false
  │       msg: 'remove_node: say -e confirm=yes'
  │
  │ TASK [Run reboot.yml]
  │ fatal: [l1 -> localhost]: FAILED! => changed=true
  │   cmd:
  │   - ansible-playbook
  │   msg: non-zero return code
  │   rc: 2
  │   stdout: |-
  │     PLAY [The managers one at a time] ******
  │
  │     TASK [Wait until the node is back in the swarm, then give it its availability back] ***
  │     fatal: [l2 -> l1(172.28.60.11)]: FAILED! => changed=false
  │       msg: 'Docker API call failed (update node x): rpc error: code = Unknown desc = update out of sequence'
  │
  │     PLAY RECAP *****
  │     l2                         : ok=9    changed=3    unreachable=0    failed=1    skipped=0
  │
  │ PLAY RECAP
  │ l1                  : ok=66   changed=25   unreachable=0    failed=1
"""

JSON_LOG = """\
  │ TASK [Run reboot.yml]
  │   *****
  │ fatal: [l1 -> localhost]: FAILED! => {"changed": true, "cmd":
  │   ["ansible-playbook"], "rc": 2, "stdout": "\\nPLAY [The leader last]
  │   ***\\n\\nTASK [Wait until the node is back] ***\\nfatal: [l2 ->
  │   l1(172.28.60.11)]: FAILED! => changed=false\\n  msg: update out of
  │   sequence\\n\\nPLAY RECAP ***\\nl2 : ok=9 changed=3 unreachable=0 failed=1\\n"}
  │
  │ PLAY RECAP
"""


def test_yaml_result_shows_the_nested_failure_of_the_last_outer_one() -> None:
    out = "\n".join(failure_excerpt.excerpt([failure_excerpt.ANSI.sub("", line) for line in YAML_LOG.splitlines()]))
    nested = out.split("--- the failure inside the nested run of that task:\n", 1)[1]
    assert "update out of sequence" in nested
    assert "TASK [Wait until the node is back in the swarm" in nested
    assert "confirm=yes" not in nested  # the provoked failure of an earlier task is not the cause
    assert "l2                         : ok=9    changed=3    unreachable=0    failed=1" in nested
    assert out.rstrip().endswith("failed=1")  # the outer recap


def test_json_result_is_unescaped_into_lines() -> None:
    out = failure_excerpt.excerpt(JSON_LOG.splitlines())
    nested = out[out.index("--- the failure inside the nested run of that task:") + 1:]
    assert "fatal: [l2 -> l1(172.28.60.11)]: FAILED! => changed=false" in nested
    assert "  msg: update out of sequence" in nested


def test_no_nested_run_no_nested_section() -> None:
    lines = ["  │ TASK [Check]", "  │ fatal: [l1]: FAILED! => changed=false", "  │   msg: wrong", "  │"]
    out = failure_excerpt.excerpt(lines)
    assert "  │   msg: wrong" in out
    assert not any(line.startswith("---") for line in out)
