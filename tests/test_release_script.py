"""The controller-side release script: the release id and the source it records.

The deploy refuses a dirty tree from what `homerack-release.sh source` says, so what
counts as dirty is tested on a real git repository: edits and untracked files under the
release's paths (pyproject.toml, lock/, app/) do, anything elsewhere does not. The locks
themselves are checked against pyproject.toml here offline; `make lint` re-resolves them.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = ROOT / "roles/homerack/files/homerack-release.sh"
BASH, GIT = shutil.which("bash"), shutil.which("git")


def release(*args: str) -> list[str]:
    out = subprocess.run([BASH, str(SCRIPT), *args], check=True, capture_output=True, text=True)
    return out.stdout.split()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        [GIT, "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "app/homerack").mkdir(parents=True)
    (tmp_path / "app/homerack/__init__.py").write_text('__version__ = "1.2.3"\n')
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'homerack'\n")
    (tmp_path / "lock").mkdir()
    (tmp_path / "lock/cp311-x86_64.txt").write_text("falcon==4.4.0\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/notes.md").write_text("notes\n")
    return tmp_path


def test_outside_git_there_is_no_commit_and_nothing_dirty(tree: Path) -> None:
    assert release("source", str(tree)) == ["-", "false"]


def test_a_clean_checkout_names_its_commit(tree: Path) -> None:
    git(tree, "init", "-q")
    git(tree, "add", ".")
    git(tree, "commit", "-qm", "v1")
    assert release("source", str(tree)) == [git(tree, "rev-parse", "HEAD"), "false"]


@pytest.mark.parametrize("change", ["edit", "untracked", "pyproject", "lock"])
def test_changes_under_the_release_paths_are_dirty(tree: Path, change: str) -> None:
    git(tree, "init", "-q")
    git(tree, "add", ".")
    git(tree, "commit", "-qm", "v1")
    if change == "edit":
        (tree / "app/homerack/__init__.py").write_text('__version__ = "1.2.4"\n')
    elif change == "untracked":
        (tree / "app/homerack/new.py").write_text("x = 1\n")
    elif change == "pyproject":
        (tree / "pyproject.toml").write_text("[project]\nname = 'homerack2'\n")
    else:
        (tree / "lock/cp311-x86_64.txt").write_text("falcon==4.4.1\n")
    assert release("source", str(tree))[1] == "true"


def test_changes_elsewhere_are_not_dirty_and_keep_the_id(tree: Path) -> None:
    git(tree, "init", "-q")
    git(tree, "add", ".")
    git(tree, "commit", "-qm", "v1")
    before = release("id", str(tree))
    (tree / "docs/notes.md").write_text("more notes\n")
    (tree / "docs/new.md").write_text("new\n")
    assert release("source", str(tree))[1] == "false"
    assert release("id", str(tree)) == before


def test_the_id_follows_the_content(tree: Path) -> None:
    version, first = release("id", str(tree))
    assert version == "1.2.3" and first.startswith("1.2.3-")
    (tree / "app/homerack/more.py").write_text("y = 2\n")
    assert release("id", str(tree))[1] != first


def test_a_relock_is_a_new_release(tree: Path) -> None:
    before = release("id", str(tree))
    (tree / "lock/cp313-x86_64.txt").write_text("falcon==4.4.0\n")
    assert release("id", str(tree)) != before


def test_a_target_without_a_lock_is_refused_before_any_download(tree: Path) -> None:
    out = tree / "out"
    done = subprocess.run(
        [BASH, str(SCRIPT), "build", str(tree), str(out), "3.12.3", "x86_64", "2.39", "python3"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and not out.exists()
    assert "no lock for CPython 3.12.3 on x86_64" in done.stderr
    assert "cp312-x86_64.txt is missing (locked: cp311-x86_64.txt)" in done.stderr


def _pins(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            name, _, version = line.split()[0].partition("==")
            pins[canonicalize_name(name)] = version
    return pins


# One lock per target the deploy supports (Debian 12: cp311, Debian 13: cp313).
@pytest.mark.parametrize(
    "target", ["cp311-x86_64", "cp311-aarch64", "cp313-x86_64", "cp313-aarch64"]
)
def test_each_lock_pins_every_runtime_dependency_within_its_range(target: str) -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    pins = _pins(ROOT / f"lock/{target}.txt")
    lock_hint = "pyproject.toml changed without `make lock`"
    for line in dependencies:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in lock/{target}.txt: {lock_hint}"
        assert req.specifier.contains(pins[name]), f"{req.name}=={pins[name]}: {lock_hint}"
