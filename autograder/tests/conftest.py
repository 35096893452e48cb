"""Shared fixtures: a copy of the demo course, a trained checkpoint, submission builders."""
from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
DEMO_COURSE = FIXTURES / "course"
ATTACKS = FIXTURES / "attacks"


def load_nb(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text())


def grade_id(cell: Dict[str, Any]) -> Optional[str]:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


@pytest.fixture(scope="session", autouse=True)
def course_secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs of the tests keep their course secret in a temporary file, never in ~/.config."""
    path = tmp_path_factory.mktemp("secret") / "secret"
    old = os.environ.get("ASRLAB_GRADE_SECRET_FILE")
    os.environ["ASRLAB_GRADE_SECRET_FILE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("ASRLAB_GRADE_SECRET_FILE", None)
    else:
        os.environ["ASRLAB_GRADE_SECRET_FILE"] = old


@pytest.fixture(scope="session")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the demo course (tests may write a gradebook into it)."""
    dst = tmp_path_factory.mktemp("course") / "course"
    shutil.copytree(DEMO_COURSE, dst, ignore=shutil.ignore_patterns("gradebook.db", "__pycache__"))
    return dst


@pytest.fixture(scope="session")
def solution_nb() -> Dict[str, Any]:
    return load_nb(DEMO_COURSE / "solutions" / "demo" / "demo.ipynb")


@pytest.fixture(scope="session")
def release_nb() -> Dict[str, Any]:
    return load_nb(DEMO_COURSE / "assignments" / "demo" / "demo.ipynb")


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory, solution_nb: Dict[str, Any]) -> Path:
    """demo_model.pt trained by the solution's own cells (trusted code, run here)."""
    work = tmp_path_factory.mktemp("train")
    ns: Dict[str, Any] = {}
    cwd = os.getcwd()
    os.chdir(work)
    try:
        for cell in solution_nb["cells"]:
            if grade_id(cell) in ("setup", "model_answer", "train_answer"):
                exec(compile("".join(cell["source"]), grade_id(cell), "exec"), ns)
    finally:
        os.chdir(cwd)
    return work / "demo_model.pt"


def with_answers(nb: Dict[str, Any], answers: Dict[str, str]) -> Dict[str, Any]:
    """A copy of ``nb`` whose answer cells named in ``answers`` hold new source."""
    out = copy.deepcopy(nb)
    for cell in out["cells"]:
        if grade_id(cell) in answers:
            cell["source"] = answers[grade_id(cell)]
    return out


def submit(subs: Path, student: str, nb: Any, checkpoint: Optional[Path] = None,
           raw: Optional[bytes] = None) -> Path:
    """Write one submission in nbgrader's submitted/<student>/demo/ layout."""
    folder = subs / student / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.ipynb"
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_text(json.dumps(nb))
    if checkpoint is not None:
        shutil.copyfile(checkpoint, folder / "demo_model.pt")
    return folder


def run_autograde(course: Path, subs: Path, out: Path, *extra: str) -> Dict[str, Dict[str, Any]]:
    """Run ``asrlab-grade autograde`` in-process; results by student."""
    from asrlab_grade.cli import main
    code = main(["autograde", "demo", str(subs), "--out", str(out), "--course-root", str(course),
                 "--workers", "2", "--no-progress", *extra])
    assert code == 0, f"asrlab-grade exited with {code}"
    results = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    return {r["student"]: r for r in results}


def task_points(result: Dict[str, Any]) -> Dict[str, float]:
    return {t["grade_id"]: t["points"] for nb in result["notebooks"] for t in nb["tasks"]}


def task_messages(result: Dict[str, Any]) -> Dict[str, str]:
    return {t["grade_id"]: "\n".join(t["messages"]) for nb in result["notebooks"] for t in nb["tasks"]}


@pytest.fixture(scope="session")
def student_nb(release_nb: Dict[str, Any], solution_nb: Dict[str, Any]) -> Dict[str, Any]:
    """What a good student submits: the release with the solution's answers typed in."""
    answers = {grade_id(c): "".join(c["source"]) for c in solution_nb["cells"]
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    return with_answers(release_nb, answers)
