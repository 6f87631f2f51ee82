# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""scripts/release_check.py finds every place that names another version than galaxy.yml."""

from __future__ import annotations

import importlib.util
import io
import json
import tarfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "release_check.py"
spec = importlib.util.spec_from_file_location("release_check", SCRIPT)
assert spec is not None and spec.loader is not None
release_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(release_check)


def tarball(path: Path, version: str) -> Path:
    data = json.dumps({"collection_info": {"namespace": "campus", "name": "swarm", "version": version}}).encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "changelogs" / "fragments").mkdir(parents=True)
    (tmp_path / "docs").mkdir()
    (tmp_path / "galaxy.yml").write_text("namespace: campus\nname: swarm\nversion: 0.5.0\n")
    (tmp_path / "changelogs" / "changelog.yaml").write_text(
        "ancestor: null\nreleases:\n  0.4.0:\n    release_date: '2026-11-26'\n  0.5.0:\n    release_date: '2026-12-08'\n")
    (tmp_path / "CHANGELOG.rst").write_text("Notes\n\nv0.5.0\n======\n\nthings\n\nv0.4.0\n======\n\nolder things\n")
    (tmp_path / "README.md").write_text("# campus.swarm\n\nWhat it does today (version 0.5.0):\n\n"
                                        "`ansible-galaxy collection install campus-swarm-0.5.0.tar.gz`\n")
    (tmp_path / "docs" / "install.md").write_text("Install campus-swarm-0.5.0.tar.gz.\n")
    (tmp_path / "examples" / "ee").mkdir(parents=True)
    (tmp_path / "examples" / "ee" / "execution-environment.yml").write_text("- name: collections/campus-swarm-0.5.0.tar.gz\n")
    (tmp_path / "changelogs" / "fragments" / "0.6.0-matrix.yml").write_text("minor_changes: [x]\n")
    return tmp_path


def test_a_tree_and_tarball_that_agree_pass(tree: Path, tmp_path: Path) -> None:
    assert release_check.problems(tree, tarball(tmp_path / "campus-swarm-0.5.0.tar.gz", "0.5.0")) == []


def test_a_version_the_changelog_has_not_released_is_named_with_the_command(tree: Path) -> None:
    (tree / "galaxy.yml").write_text("version: 0.6.0\n")
    found = release_check.problems(tree)
    assert found[0] == ("changelogs/changelog.yaml: the newest release is 0.5.0, galaxy.yml says 0.6.0: release it with "
                        "`antsibull-changelog release --version 0.6.0` (or set galaxy.yml back)")
    # The README and the docs still name 0.5.0.
    assert [f.split(":")[0] for f in found[1:]] == ["README.md", "README.md", "docs/install.md", "examples/ee/execution-environment.yml"]


def test_an_old_install_line_in_the_readme_is_named_by_its_line(tree: Path) -> None:
    (tree / "README.md").write_text("Install with\n`ansible-galaxy collection install campus-swarm-0.2.0.tar.gz`\n")
    assert release_check.problems(tree) == ["README.md:2: names version 0.2.0, galaxy.yml says 0.5.0"]


def test_a_release_without_its_changelog_section_asks_for_generate(tree: Path) -> None:
    (tree / "CHANGELOG.rst").write_text("Notes\n\nv0.4.0\n======\n")
    assert release_check.problems(tree) == ["CHANGELOG.rst: no section for 0.5.0: run `antsibull-changelog generate`"]


def test_a_fragment_named_after_a_released_version_is_refused(tree: Path) -> None:
    (tree / "changelogs" / "fragments" / "0.5.0-late.yml").write_text("bugfixes: [x]\n")
    assert release_check.problems(tree) == [
        "changelogs/fragments/0.5.0-late.yml: named after 0.5.0, released already; name it after the next version"]


def test_a_tarball_of_another_name_or_version_is_refused(tree: Path, tmp_path: Path) -> None:
    assert release_check.problems(tree, tarball(tmp_path / "campus-swarm-0.4.0.tar.gz", "0.4.0")) == [
        "campus-swarm-0.4.0.tar.gz: the built tarball should be campus-swarm-0.5.0.tar.gz",
        "campus-swarm-0.4.0.tar.gz: MANIFEST.json says version 0.4.0, galaxy.yml 0.5.0"]


def test_the_repository_itself_agrees() -> None:
    assert release_check.problems(SCRIPT.parents[1]) == []


def test_requires_ansible_is_the_range_the_tests_run_and_the_readme_states_it(tree: Path) -> None:
    (tree / "requirements.txt").write_text("ansible==12.3.0\nansible-core==2.19.14\n")
    (tree / "tests" / "controller").mkdir(parents=True)
    (tree / "tests" / "controller" / "core-2.21.txt").write_text("ansible==14.5.0\nansible-core==2.21.6\n")
    (tree / "meta").mkdir()
    (tree / "meta" / "runtime.yml").write_text('requires_ansible: ">=2.19.0"\n')
    with (tree / "README.md").open("a") as readme:
        readme.write('ansible-core 2.19 to 2.21 (`requires_ansible: ">=2.19.0,<2.22.0"`)\n')
    assert release_check.problems(tree) == [
        "meta/runtime.yml: requires_ansible is '>=2.19.0', the tests run ansible-core 2.19, 2.21: make it '>=2.19.0,<2.22.0'"]
    (tree / "meta" / "runtime.yml").write_text('requires_ansible: ">=2.19.0,<2.22.0"\n')
    assert release_check.problems(tree) == []
    (tree / "tests" / "controller" / "core-2.22.txt").write_text("ansible-core==2.22.0\n")
    assert [f.split(":")[0] for f in release_check.problems(tree)] == ["meta/runtime.yml", "README.md"]
