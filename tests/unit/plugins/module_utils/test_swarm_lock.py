# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import copy
from typing import Any

import pytest

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApiError, ReconcileError
from ansible_collections.campus.swarm.plugins.module_utils._swarm_lock import configure, unlock

SPEC: dict[str, Any] = {"Name": "default", "Orchestration": {"TaskHistoryRetentionLimit": 7},
                        "CAConfig": {"ForceRotate": 1}, "EncryptionConfig": {"AutoLockManagers": False}}


class FakeLockedSwarm:
    """A manager's view of the swarm: the spec, the unlock key, and the node's local state. ``locked_for`` is
    how many reads after an unlock the node still reports ``locked`` (it takes a moment to start)."""

    def __init__(self, autolock: bool = False, state: str = "active", key: str = "SWMKEY-1-old", locked_for: int = 1) -> None:
        self.spec = copy.deepcopy(SPEC)
        self.spec["EncryptionConfig"]["AutoLockManagers"] = autolock
        self.state, self.key, self.locked_for = state, key, locked_for
        self.updates: list[tuple[dict[str, Any], bool]] = []
        self.unlocks: list[str] = []

    def info(self) -> dict[str, Any]:
        if self.state == "unlocking":
            self.locked_for -= 1
            if self.locked_for < 0:
                self.state = "active"
        shown = "locked" if self.state == "unlocking" else self.state
        return {"Swarm": {"NodeID": "m1" if shown == "active" else "", "LocalNodeState": shown, "ControlAvailable": shown == "active"}}

    def inspect_swarm(self) -> dict[str, Any]:
        return {"Version": {"Index": 9}, "Spec": copy.deepcopy(self.spec)}

    def update_swarm(self, version: int, spec: dict[str, Any], rotate_worker_token: bool, rotate_manager_token: bool,
                     rotate_unlock_key: bool = False) -> None:
        assert version == 9 and not rotate_worker_token and not rotate_manager_token
        self.updates.append((copy.deepcopy(spec), rotate_unlock_key))
        self.spec = copy.deepcopy(spec)
        if rotate_unlock_key:
            self.key = "SWMKEY-1-new"

    def unlock_key(self) -> str:
        return self.key if self.spec["EncryptionConfig"]["AutoLockManagers"] else ""

    def unlock(self, key: str) -> None:
        self.unlocks.append(key)
        if key != self.key:
            raise DockerApiError("Docker API call failed (unlock the swarm): invalid key")
        self.state = "unlocking"


def no_sleep(seconds: float) -> None:
    del seconds


def test_autolock_goes_on_with_the_rest_of_the_spec_kept_and_the_key_is_returned() -> None:
    fake = FakeLockedSwarm()
    result = configure(fake, autolock=True, rotate_key=False)
    assert fake.updates == [({**SPEC, "EncryptionConfig": {"AutoLockManagers": True}}, False)]
    assert result["changed"] and result["autolock"] and result["unlock_key"] == "SWMKEY-1-old"
    assert "SWMKEY" not in repr(result["actions"])


def test_autolock_as_wanted_changes_nothing_and_still_returns_the_key() -> None:
    fake = FakeLockedSwarm(autolock=True)
    result = configure(fake, autolock=True, rotate_key=False)
    assert not result["changed"] and not fake.updates and result["unlock_key"] == "SWMKEY-1-old"


def test_autolock_off_returns_no_key() -> None:
    fake = FakeLockedSwarm(autolock=True)
    result = configure(fake, autolock=False, rotate_key=False)
    assert result["changed"] and result["actions"] == ["turn autolock off"] and "unlock_key" not in result
    assert fake.spec["EncryptionConfig"]["AutoLockManagers"] is False


def test_check_mode_changes_nothing_and_says_what_it_would_do() -> None:
    fake = FakeLockedSwarm()
    result = configure(fake, autolock=True, rotate_key=False, check_mode=True)
    assert result["changed"] and not fake.updates and not result["autolock"] and "unlock_key" not in result


def test_the_key_rotates_and_the_new_one_is_returned() -> None:
    fake = FakeLockedSwarm(autolock=True)
    result = configure(fake, autolock=True, rotate_key=True)
    assert fake.updates[0][1] is True and result["unlock_key"] == "SWMKEY-1-new"
    assert result["actions"] == ["rotate the unlock key"]


def test_a_rotation_without_autolock_is_refused_before_any_change() -> None:
    fake = FakeLockedSwarm()
    with pytest.raises(ReconcileError, match="swarm_autolock: true"):
        configure(fake, autolock=False, rotate_key=True)
    assert not fake.updates


def test_a_locked_manager_is_unlocked_and_waited_for() -> None:
    fake = FakeLockedSwarm(autolock=True, state="locked", locked_for=2)
    result = unlock(fake, "SWMKEY-1-old\n", sleep=no_sleep)
    assert fake.unlocks == ["SWMKEY-1-old"] and result["changed"] and result["state"] == "active"


def test_a_manager_that_is_not_locked_is_left_alone() -> None:
    fake = FakeLockedSwarm(autolock=True)
    result = unlock(fake, "SWMKEY-1-old")
    assert not result["changed"] and not fake.unlocks and result["state"] == "active"


def test_a_wrong_key_is_refused_without_the_key_in_the_message() -> None:
    fake = FakeLockedSwarm(autolock=True, state="locked")
    with pytest.raises(ReconcileError, match="refused the unlock key") as caught:
        unlock(fake, "SWMKEY-1-wrong", sleep=no_sleep)
    assert "SWMKEY" not in caught.value.msg and fake.state == "locked"


def test_an_empty_key_is_refused_and_check_mode_does_not_unlock() -> None:
    fake = FakeLockedSwarm(autolock=True, state="locked")
    assert unlock(fake, "", check_mode=True)["actions"] == ["unlock this manager"]
    with pytest.raises(ReconcileError, match="empty"):
        unlock(fake, " \n")
    assert not fake.unlocks
