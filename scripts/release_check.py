#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Check that the collection's version is the same wherever it is written.

    scripts/release_check.py [TARBALL]

The version of galaxy.yml must be the newest release of changelogs/changelog.yaml
(made with ``antsibull-changelog release``), CHANGELOG.rst must have a section
for every release there, every tarball name and "(version X.Y.Z)" in README.md,
docs/ and examples/ must name it, no changelog fragment may be named after a version
already released (it would land in the next release under an old name), and
the built TARBALL, when given, must be campus-swarm-VERSION.tar.gz with that
version in its MANIFEST.json. meta/runtime.yml's requires_ansible, stated in
README.md, must be the range of ansible-core releases the tests run (the
pins of requirements.txt and tests/controller/core-*.txt). Prints one line per disagreement; exit 1 if any.
"""

from __future__ import annotations

import json
import re
import sys
import tarfile
from pathlib import Path

import yaml

SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
MENTIONS = (re.compile(r"campus-swarm-(\d+\.\d+\.\d+)\.tar\.gz"), re.compile(r"\(version (\d+\.\d+\.\d+)\)"))
FRAGMENT = re.compile(r"^(\d+\.\d+\.\d+)-")
# Where the docs and examples name the version (README.md too).
DOCS = (("docs", "md"), ("docs", "rst"), ("examples", "yml"))


def _key(version: str) -> tuple[int, ...]:
    match = SEMVER.match(version)
    return tuple(int(x) for x in match.groups()) if match else (-1,)


def problems(root: Path, tarball: Path | None = None) -> list[str]:
    """Every disagreement about the version, as a sentence naming the file and the fix."""
    found: list[str] = []
    version = str((yaml.safe_load((root / "galaxy.yml").read_text()) or {}).get("version", ""))
    if not SEMVER.match(version):
        return [f"galaxy.yml: version {version!r} is not X.Y.Z"]

    changes = yaml.safe_load((root / "changelogs" / "changelog.yaml").read_text()) or {}
    releases = sorted((str(v) for v in changes.get("releases") or {}), key=_key)
    if not releases or releases[-1] != version:
        found.append(f"changelogs/changelog.yaml: the newest release is {releases[-1] if releases else 'none'}, galaxy.yml says "
                     f"{version}: release it with `antsibull-changelog release --version {version}` (or set galaxy.yml back)")

    changelog = root / "CHANGELOG.rst"
    headings = set(re.findall(r"^v(\d+\.\d+\.\d+)\n=+$", changelog.read_text(), re.M)) if changelog.exists() else set()
    missing = [v for v in releases if v not in headings]
    if missing:
        found.append(f"CHANGELOG.rst: no section for {', '.join(missing)}: run `antsibull-changelog generate`")

    texts = [root / "README.md"] + [path for folder, ext in DOCS for path in sorted((root / folder).rglob(f"*.{ext}"))]
    for path in (p for p in texts if p.is_file()):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for pattern in MENTIONS:
                for other in (m for m in pattern.findall(line) if m != version):
                    found.append(f"{path.relative_to(root)}:{number}: names version {other}, galaxy.yml says {version}")

    fragments = root / "changelogs" / "fragments"
    for path in sorted(fragments.glob("*.y*ml")) if fragments.is_dir() else []:
        match = FRAGMENT.match(path.name)
        if match and _key(match.group(1)) <= _key(releases[-1] if releases else ""):
            found.append(f"changelogs/fragments/{path.name}: named after {match.group(1)}, released already; "
                         f"name it after the next version")

    found += _range_problems(root)

    if tarball is not None:
        if tarball.name != f"campus-swarm-{version}.tar.gz":
            found.append(f"{tarball.name}: the built tarball should be campus-swarm-{version}.tar.gz")
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("MANIFEST.json")
            built = json.load(member)["collection_info"]["version"] if member else ""
        if built != version:
            found.append(f"{tarball.name}: MANIFEST.json says version {built}, galaxy.yml {version}")
    return found


def _core(path: Path) -> str:
    """The ansible-core minor (2.19) a requirements file pins, '' when it pins none."""
    match = re.search(r"^ansible-core==(\d+\.\d+)\.", path.read_text(), re.M) if path.is_file() else None
    return match.group(1) if match else ""


def _range_problems(root: Path) -> list[str]:
    """meta/runtime.yml promises exactly the ansible-core releases the tests run (requirements.txt and
    tests/controller/core-*.txt), and README.md states that range."""
    tested = sorted({c for c in [_core(root / "requirements.txt"), *map(_core, (root / "tests" / "controller").glob("core-*.txt"))] if c},
                    key=lambda v: tuple(int(x) for x in v.split(".")))
    if not tested:
        return []
    major, minor = tested[-1].split(".")
    want = f">={tested[0]}.0,<{major}.{int(minor) + 1}.0"
    found: list[str] = []
    runtime = root / "meta" / "runtime.yml"
    have = str((yaml.safe_load(runtime.read_text()) or {}).get("requires_ansible", "")) if runtime.is_file() else ""
    if have != want:
        found.append(f"meta/runtime.yml: requires_ansible is {have!r}, the tests run ansible-core {', '.join(tested)}: "
                     f"make it {want!r}")
    if f'requires_ansible: "{want}"' not in (root / "README.md").read_text():
        found.append(f'README.md: does not state requires_ansible: "{want}" (the range the tests run)')
    return found


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    found = problems(root, Path(argv[1]) if len(argv) > 1 else None)
    for line in found:
        print(f"release-check: {line}")
    if not found:
        print(f"release-check: galaxy.yml, the changelog, the docs{' and ' + argv[1] if len(argv) > 1 else ''} agree on the version")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
