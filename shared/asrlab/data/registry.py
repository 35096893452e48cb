"""The dataset registry: ``asrlab/datasets.yaml`` parsed into :class:`DatasetEntry` records.

Usage::

    from asrlab.data.registry import load_registry, get_entry
    entries = load_registry()                  # {name: DatasetEntry}
    get_entry(entries, "librispeech-dev-clean").md5
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asrlab.errors import AsrlabError

DEFAULT_REGISTRY = Path(__file__).resolve().parent.parent / "datasets.yaml"
KINDS = ("download", "manual", "synthetic")
ARCHIVES = ("tar.gz", "tgz", "tar", "zip", "gz")
_MD5 = re.compile(r"[0-9a-f]{32}\Z")


class RegistryError(AsrlabError, ValueError):
    """datasets.yaml is malformed; the message names the file and the entry."""


class UnknownDatasetError(AsrlabError, ValueError):
    """A dataset name that is not in the registry; the message lists the known names."""


@dataclass(frozen=True)
class DatasetEntry:
    """One corpus or model file that the course uses (see datasets.yaml for field meanings)."""

    name: str
    kind: str
    description: str
    target: str
    root: str = "."
    license: str | None = None
    homepage: str | None = None
    url: str | None = None
    mirrors: tuple[str, ...] = ()
    md5: str | None = None
    size: int | None = None
    archive: str | None = None
    check_files: tuple[str, ...] = ()
    layout: str | None = None
    command: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def urls(self) -> tuple[str, ...]:
        """The download URL followed by its mirrors."""
        return ((self.url,) if self.url else ()) + self.mirrors


def _entry(name: str, raw: Any, source: Path) -> DatasetEntry:
    if not isinstance(raw, Mapping):
        raise RegistryError(f"{source}: entry {name!r} must be a mapping of fields, got {type(raw).__name__}")
    known = set(DatasetEntry.__dataclass_fields__) - {"name"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RegistryError(f"{source}: entry {name!r} has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
    for required in ("kind", "description", "target"):
        if not raw.get(required):
            raise RegistryError(f"{source}: entry {name!r} lacks the required field {required!r}")
    values = dict(raw)
    values["mirrors"] = tuple(values.get("mirrors") or ())
    values["check_files"] = tuple(values.get("check_files") or ())
    values["params"] = dict(values.get("params") or {})
    entry = DatasetEntry(name=name, **values)
    if entry.kind not in KINDS:
        raise RegistryError(f"{source}: entry {name!r} has kind {entry.kind!r}; use one of {', '.join(KINDS)}")
    if entry.kind == "download" and not (entry.url and entry.md5):
        raise RegistryError(f"{source}: download entry {name!r} needs both url and md5")
    if entry.md5 is not None and not _MD5.match(str(entry.md5)):
        raise RegistryError(f"{source}: entry {name!r} has md5 {entry.md5!r}, expected 32 lower-case hex digits")
    if entry.archive is not None and entry.archive not in ARCHIVES:
        raise RegistryError(f"{source}: entry {name!r} has archive {entry.archive!r}; use one of {', '.join(ARCHIVES)} or null")
    if entry.kind == "synthetic" and not entry.command:
        raise RegistryError(f"{source}: synthetic entry {name!r} needs the command that generates it")
    return entry


def load_registry(path: str | Path | None = None) -> dict[str, DatasetEntry]:
    """Parse a registry file (default: the packaged ``datasets.yaml``) into ``{name: entry}``."""
    import yaml

    source = Path(path) if path is not None else DEFAULT_REGISTRY
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{source}: dataset registry not found") from None
    except yaml.YAMLError as exc:
        raise RegistryError(f"{source}: not valid YAML ({exc})") from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("datasets"), Mapping):
        raise RegistryError(f"{source}: expected a top-level 'datasets:' mapping of name -> fields")
    return {str(name): _entry(str(name), raw, source) for name, raw in data["datasets"].items()}


def get_entry(entries: Mapping[str, DatasetEntry], name: str) -> DatasetEntry:
    """Look ``name`` up; an unknown name raises :class:`UnknownDatasetError` listing the known ones."""
    try:
        return entries[name]
    except KeyError:
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; known datasets: {', '.join(sorted(entries))} (see `asrlab data fetch --list`)"
        ) from None
