"""The course secret: where hidden test splits come from (trusted side only).

Nothing secret is written in the code or the repository. The first ``asrlab-grade`` run for
a course creates 32 random bytes in ``~/.config/asrlab-grade/<course hash>/secret`` (mode
0600; ``$ASRLAB_GRADE_SECRET_FILE`` or ``autograde --secret PATH`` choose another file),
and every later run of that course reads the same file, so re-grading is stable. Seeds are
derived from it with HMAC-SHA256, one per purpose. ``validate`` and the tests use a fresh
random secret. The secret never enters a sandbox: sandboxes get a cleared environment and a
file system that holds neither this file nor the grader's home.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Optional

SECRET_ENV = "ASRLAB_GRADE_SECRET_FILE"
CONFIG_DIR = Path("~/.config/asrlab-grade")
SECRET_BYTES = 32

_active: Optional[bytes] = None


def secret_path(course_root: Path, override: Optional[Path] = None) -> Path:
    """Where the course's secret lives (outside the course folder, out of git)."""
    if override is not None:
        return Path(override).expanduser()
    if os.environ.get(SECRET_ENV):
        return Path(os.environ[SECRET_ENV]).expanduser()
    digest = hashlib.sha256(str(Path(course_root).resolve()).encode()).hexdigest()[:16]
    return CONFIG_DIR.expanduser() / digest / "secret"


def load_or_create(path: Path) -> bytes:
    """The secret stored at ``path``; made (random, mode 0600) when the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(SECRET_BYTES).hex().encode())
    text = path.read_text().strip()
    if len(text) < 32:
        raise ValueError(f"course secret {path} is too short ({len(text)} characters); delete it "
                         "to make a new one (hidden test splits then change) or restore it from backup")
    return text.encode()


def fresh() -> bytes:
    """A random secret for one run (validate, tests)."""
    return os.urandom(SECRET_BYTES).hex().encode()


def activate(secret: bytes) -> None:
    """Make ``secret`` the one :func:`derive_seed` uses in this process."""
    global _active
    _active = secret


def derive_seed(purpose: str) -> int:
    """A positive 31-bit seed for ``purpose`` from the active course secret (any RNG takes it)."""
    if _active is None:
        raise RuntimeError("no course secret is active: grade through `asrlab-grade` (it creates "
                           "one per course) or call asrlab_grade.secret.activate(...)")
    digest = hmac.new(_active, purpose.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % (2**31 - 1) + 1
