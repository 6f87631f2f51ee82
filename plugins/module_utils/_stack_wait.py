# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Has a deployed stack converged? Private to campus.swarm.swarm_stack_wait.

:func:`assess` is pure: it takes the Docker API's service, task and node objects
(as ``GET /services``, ``/tasks`` and ``/nodes`` return them) and says, per
service, how many tasks it wants, how many run the service's current spec, and,
when short, which task did not start and why. The API sits behind
:class:`DockerStackClient` (over the collection's
:class:`~._docker_api.DockerApi`); tests pass plain data. Runs on the managed
host: Python 3.8+.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApi, DockerApiError

Obj = Dict[str, Any]

STACK_LABEL = "com.docker.stack.namespace"
# An update that stopped: Docker leaves the service as it was (paused) or went back to the
# previous spec (rollback_*). Either way the deployed spec is not what runs.
UPDATE_STOPPED = ("paused", "rollback_started", "rollback_paused", "rollback_completed")


class DockerStackClient:
    """The three reads the wait needs; a failed read raises DockerApiError."""

    def __init__(self, docker: DockerApi) -> None:
        self.docker = docker

    def read(self, stack: Optional[str] = None, names: Optional[List[str]] = None) -> Tuple[List[Obj], List[Obj], List[Obj]]:
        """The services of the stack ``stack`` (or those named ``names``), their tasks and the swarm's nodes."""
        api, call = self.docker.api, self.docker.call
        try:
            if stack is not None:
                services = call(f"list the services of stack {stack}", api.services,
                                filters={"label": f"{STACK_LABEL}={stack}"})
            else:
                # Docker's name filter also matches names that start with the one given.
                wanted = set(names or [])
                found = call("list services", api.services, filters={"name": sorted(wanted)}) if wanted else []
                services = [s for s in found if (s.get("Spec") or {}).get("Name") in wanted]
            ids = [s["ID"] for s in services]
            tasks = call("list tasks", api.tasks, filters={"service": ids}) if ids else []
            return services, tasks, call("list nodes", api.nodes)
        except DockerApiError as exc:
            raise DockerApiError(f"{exc.msg} (is this host a swarm manager?)") from exc


_FRACTION = re.compile(r"(\.\d+)")


def parse_time(value: Any) -> Optional[datetime.datetime]:
    """Docker's RFC 3339 timestamps (nanoseconds, 'Z') as aware datetimes; None when absent."""
    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return None
    # Python before 3.11 reads exactly 6 fractional digits; Docker writes up to 9.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[1:7].ljust(6, "0"), value.replace("Z", "+00:00"), count=1)
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def _status(task: Obj) -> Obj:
    return task.get("Status") or {}


def _when(task: Obj) -> datetime.datetime:
    return parse_time(_status(task).get("Timestamp")) or datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)


def _runs(task: Obj) -> bool:
    """Docker wants the task running and it runs."""
    return task.get("DesiredState") == "running" and _status(task).get("State") == "running"


def _container_spec(spec: Obj) -> Obj:
    return spec.get("ContainerSpec") or {}


def task_name(service_name: str, task: Obj, hostnames: Dict[str, str]) -> str:
    """The name ``docker service ps`` shows: SERVICE.SLOT, or SERVICE.NODE for a global service."""
    slot = task.get("Slot")
    if slot:
        return f"{service_name}.{slot}"
    return f"{service_name}.{hostnames.get(task.get('NodeID', ''), task.get('NodeID') or '?')}"


def describe_task(service_name: str, task: Obj, hostnames: Dict[str, str]) -> str:
    """One line: which task, on which node, in which state, and Docker's reason."""
    status = _status(task)
    node = hostnames.get(task.get("NodeID", ""), "") or "no node yet"
    state = status.get("State") or "unknown"
    reason = status.get("Err") or status.get("Message") or ""
    if reason.lower() == state:  # Docker's message often only repeats the state ("preparing")
        reason = ""
    exit_code = (status.get("ContainerStatus") or {}).get("ExitCode")
    if exit_code and state in ("failed", "complete"):
        reason = f"{reason} (exit code {exit_code})" if reason else f"exit code {exit_code}"
    return f"task {task_name(service_name, task, hostnames)} on {node}: {state}" + (f": {reason}" if reason else "")


def assess_service(service: Obj, tasks: List[Obj], hostnames: Dict[str, str],
                   now: datetime.datetime, min_running: int, observed: Optional[Dict[str, float]] = None) -> Obj:
    """Where one service stands; ``converged`` when every task it wants runs its current spec
    for at least ``min_running`` seconds and no update is under way or stopped; ``stopped`` when
    Docker paused the update or rolls it back (waiting longer changes nothing).

    A task's running time is the longer of what its node's timestamp says (the node's clock, which
    may be off from ``now``) and ``observed``: task ID -> seconds this host has seen it running."""
    spec = service.get("Spec") or {}
    name = str(spec.get("Name") or service.get("ID"))
    mode = spec.get("Mode") or {}
    template = spec.get("TaskTemplate") or {}
    wanted = [t for t in tasks if t.get("DesiredState") == "running"]
    if "Replicated" in mode:
        kind, desired = "replicated", int((mode["Replicated"] or {}).get("Replicas", 1))
    elif "Global" in mode:
        # The orchestrator gives each eligible node one task that it wants running.
        kind, desired = "global", len({t.get("NodeID") for t in wanted})
    else:
        kind = "job"
        desired = 0
    update = (service.get("UpdateStatus") or {})
    update_state = str(update.get("State") or "")

    def current(task: Obj) -> bool:
        return _container_spec(task.get("Spec") or {}) == _container_spec(template)

    def settled(task: Obj) -> bool:
        started = parse_time(_status(task).get("Timestamp"))
        by_node = (now - started).total_seconds() if started is not None else 0.0
        return max(by_node, (observed or {}).get(str(task.get("ID")), 0.0)) >= min_running

    running = [t for t in wanted if _runs(t) and current(t)]
    steady = [t for t in running if settled(t)]
    settled_update = update_state not in ("updating", *UPDATE_STOPPED)
    converged = kind == "job" or (len(steady) >= desired and settled_update and all(current(t) for t in wanted))
    problem = ""
    if not converged:
        # Why: a wanted task that is not running (pending: no node fits, rejected: no image...),
        # else the newest task that ended badly (a crash loop), else the update's own message.
        stuck = sorted((t for t in wanted if _status(t).get("State") != "running"), key=_when, reverse=True)
        ended = sorted((t for t in tasks if _status(t).get("State") in ("failed", "rejected", "orphaned")),
                       key=_when, reverse=True)
        if stuck:
            problem = describe_task(name, stuck[0], hostnames)
            # A task still preparing says nothing yet; the one that ended before it says why.
            if ended and not _status(stuck[0]).get("Err"):
                problem += "; before it " + describe_task(name, ended[0], hostnames)
        elif ended:
            problem = describe_task(name, ended[0], hostnames)
        if update_state in UPDATE_STOPPED:
            problem = f"update {update_state}: {update.get('Message', '')}" + (f"; {problem}" if problem else "")
        elif not problem and len(running) > len(steady):
            problem = f"{len(running) - len(steady)} task(s) running for less than {min_running} s"
        elif not problem and update_state == "updating":
            problem = "update in progress"
    return {
        "name": name,
        "mode": kind,
        "desired": desired,
        "running": len(steady),
        "update_state": update_state,
        "converged": converged,
        "stopped": not converged and update_state in UPDATE_STOPPED,
        "problem": problem,
    }


def running_task_ids(tasks: List[Obj]) -> List[str]:
    """The IDs of the tasks that run and are meant to (for the running time this host sees)."""
    return [str(t.get("ID")) for t in tasks if _runs(t)]


def in_use(services: List[Obj]) -> Dict[str, List[str]]:
    """The secret and config names the services' current and previous specs refer to: what the
    running tasks and a ``docker service rollback`` need."""
    keys = {"secret": ("Secrets", "SecretName"), "config": ("Configs", "ConfigName")}
    names: Dict[str, set] = {kind: set() for kind in keys}
    for service in services:
        for spec in (service.get("Spec"), service.get("PreviousSpec")):
            container = _container_spec((spec or {}).get("TaskTemplate") or {})
            for kind, (refs, name) in keys.items():
                names[kind].update(str(ref[name]) for ref in container.get(refs) or [] if ref.get(name))
    return {kind: sorted(found) for kind, found in names.items()}


def assess(services: List[Obj], tasks: List[Obj], nodes: List[Obj],
           now: datetime.datetime, min_running: int, observed: Optional[Dict[str, float]] = None) -> List[Obj]:
    """Every service of the stack, sorted by name (see :func:`assess_service`)."""
    hostnames = {n.get("ID", ""): ((n.get("Description") or {}).get("Hostname") or n.get("ID", "")) for n in nodes}
    by_service: Dict[str, List[Obj]] = {}
    for task in tasks:
        by_service.setdefault(task.get("ServiceID", ""), []).append(task)
    result = [assess_service(s, by_service.get(s.get("ID", ""), []), hostnames, now, min_running, observed)
              for s in services]
    return sorted(result, key=lambda r: r["name"])


def summary(subject: str, assessed: List[Obj]) -> str:
    """The failure message (``subject``: "stack demo", "services web"): each service short of its
    tasks, with the task that did not start and why."""
    short = [r for r in assessed if not r["converged"]]
    parts = [f"{r['name']} ({r['mode']}) runs {r['running']} of {r['desired']}"
             + (f" - {r['problem']}" if r["problem"] else "") for r in short]
    return f"{subject} has not converged: " + "; ".join(parts)
