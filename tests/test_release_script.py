"""The controller-side release script: the release id and the source it records.

The deploy refuses a dirty tree from what `homerack-release.sh source` says, so what
counts as dirty is tested on a real git repository: edits and untracked files under the
release's paths (pyproject.toml, app/) do, anything elsewhere does not.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "roles/homerack/files/homerack-release.sh"
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


@pytest.mark.parametrize("change", ["edit", "untracked", "pyproject"])
def test_changes_under_the_release_paths_are_dirty(tree: Path, change: str) -> None:
    git(tree, "init", "-q")
    git(tree, "add", ".")
    git(tree, "commit", "-qm", "v1")
    if change == "edit":
        (tree / "app/homerack/__init__.py").write_text('__version__ = "1.2.4"\n')
    elif change == "untracked":
        (tree / "app/homerack/new.py").write_text("x = 1\n")
    else:
        (tree / "pyproject.toml").write_text("[project]\nname = 'homerack2'\n")
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
