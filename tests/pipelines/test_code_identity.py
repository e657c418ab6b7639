"""The code a run records: an untracked or modified file makes it dirty, with the files' hashes."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from loopml.pipelines import run
from loopml.pipelines._code import git_info

PIPELINE = '''
from loopml.pipelines import pipeline, step

@step
def one() -> int:
    return 1

@pipeline
def p():
    one()
'''


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                   cwd=repo, check=True, capture_output=True)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "README").write_text("x\n")
    _git(repo, "add", "README")
    _git(repo, "commit", "-q", "-m", "first")
    return repo


def test_an_untracked_pipeline_file_is_dirty_with_its_hash(home: Path, tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    file = repo / "pipe.py"
    file.write_text(PIPELINE)
    info = run(f"{file}:p", executor="inline")
    code = info.code
    assert code["dirty"] is True
    assert code["files"]["pipe.py"] == "sha256:" + hashlib.sha256(file.read_bytes()).hexdigest()
    assert code["diff_sha256"]


def test_a_modified_tracked_file_is_dirty_and_a_clean_checkout_is_not(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    assert git_info(repo) == {"commit": git_info(repo)["commit"], "dirty": False, "diff_sha256": None, "files": {}}
    (repo / "README").write_text("changed\n")
    info = git_info(repo)
    assert info["dirty"] is True and set(info["files"]) == {"README"}


def test_two_different_untracked_files_give_different_code_hashes(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "a.py").write_text("x = 1\n")
    first = git_info(repo)["diff_sha256"]
    (repo / "a.py").write_text("x = 2\n")
    assert git_info(repo)["diff_sha256"] != first


def test_ignored_files_do_not_make_the_code_dirty(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / ".gitignore").write_text("out/\n")
    _git(repo, "add", ".gitignore")
    _git(repo, "commit", "-q", "-m", "ignore")
    (repo / "out").mkdir()
    (repo / "out" / "big.bin").write_bytes(b"0" * 10)
    assert git_info(repo)["dirty"] is False
