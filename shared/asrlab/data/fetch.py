"""Download, verify and unpack a corpus listed in datasets.yaml.

Usage::

    asrlab data fetch --list
    asrlab data fetch librispeech-dev-clean [--cache-dir DIR]

    from asrlab.data import LibriSpeech
    from asrlab.data.fetch import fetch
    root = fetch("librispeech-dev-clean")          # .../librispeech/LibriSpeech
    dev = LibriSpeech(root, "dev-clean")

The archive is downloaded over one HTTP connection into ``<cache>/downloads/<file>.part``; an
interrupted download resumes from where it stopped (HTTP Range request) the next time. The file
is then checked against the published md5, unpacked into ``<cache>/<target>/``, and a marker file
makes later calls return at once without touching the network. The cache directory is
``$ASRLAB_CACHE`` if set, ``/content/asrlab_data`` on Colab, else ``~/.cache/asrlab``.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import sys
from collections.abc import Mapping
from importlib import import_module
from pathlib import Path

# urllib / http.client / tarfile / zipfile are imported inside the functions that use them: this
# module is imported whenever the `asrlab` command builds its parser, and they cost ~0.1 s.
from asrlab.data.registry import DatasetEntry, get_entry, load_registry
from asrlab.errors import AsrlabError

CACHE_ENV = "ASRLAB_CACHE"
COLAB_CACHE = Path("/content/asrlab_data")
HOME_CACHE = Path("~/.cache/asrlab")
DOWNLOADS_DIR = "downloads"
CHUNK_BYTES = 1 << 20
TIMEOUT_S = 30.0
HTTP_PARTIAL_CONTENT = 206
HTTP_RANGE_NOT_SATISFIABLE = 416


class FetchError(AsrlabError, RuntimeError):
    """A download that failed (offline, HTTP error, bad checksum, broken archive); says how to recover."""


class ChecksumError(FetchError):
    """The downloaded file's md5 differs from the registry's."""


def _on_colab() -> bool:
    return "COLAB_RELEASE_TAG" in os.environ or "google.colab" in sys.modules


def default_cache_dir() -> Path:
    """``$ASRLAB_CACHE``, else ``/content/asrlab_data`` on Colab, else ``~/.cache/asrlab``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return COLAB_CACHE if _on_colab() else HOME_CACHE.expanduser()


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _manual_hint(entry: DatasetEntry, archive: Path | None, result: Path) -> str:
    if archive is not None and entry.url:
        return (
            f"To install it by hand, download {entry.url} (md5 {entry.md5}) on a machine with internet access, "
            f"copy it to {archive} and run `asrlab data fetch {entry.name}` again (it will verify and unpack it)."
        )
    return f"To install it by hand, place its files at {result} ({entry.layout or 'see datasets.yaml'})."


def download(url: str, dest: Path, timeout: float = TIMEOUT_S, quiet: bool = False) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming a previous partial download.

    Raises ``URLError``/``HTTPError``/``OSError`` on network failures (the ``.part`` file is kept
    so the next call resumes).
    """
    import http.client
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen

    from tqdm.auto import tqdm

    part = dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "asrlab-fetch"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as exc:
        if exc.code == HTTP_RANGE_NOT_SATISFIABLE and offset:
            part.replace(dest)  # nothing left to fetch; the checksum decides whether it is whole
            return dest
        raise
    with response:
        if offset and response.status != HTTP_PARTIAL_CONTENT:
            offset = 0  # the server ignored the Range header and sends everything again
        remaining = response.headers.get("Content-Length")
        total = offset + int(remaining) if remaining is not None else None
        with open(part, "ab" if offset else "wb") as f, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name, disable=quiet
        ) as bar:
            while chunk := response.read(CHUNK_BYTES):
                f.write(chunk)
                bar.update(len(chunk))
    if total is not None and part.stat().st_size < total:
        raise http.client.IncompleteRead(b"", total - part.stat().st_size)
    part.replace(dest)
    return dest


def _download_any(entry: DatasetEntry, dest: Path, timeout: float, quiet: bool) -> None:
    """Try the URL then each mirror; raise FetchError listing every failure."""
    import http.client
    from urllib.error import HTTPError, URLError

    failures = []
    for url in entry.urls:
        try:
            download(url, dest, timeout=timeout, quiet=quiet)
            return
        except HTTPError as exc:
            failures.append(f"{url}: HTTP {exc.code} {exc.reason}")
        except URLError as exc:
            failures.append(f"{url}: cannot connect ({exc.reason}); are you offline?")
        except (OSError, http.client.HTTPException) as exc:
            part = dest.with_name(dest.name + ".part")
            got = part.stat().st_size if part.exists() else 0
            failures.append(f"{url}: download interrupted after {got} bytes ({exc!r}); re-run to resume")
    raise FetchError(
        f"could not download {entry.name}:\n  " + "\n  ".join(failures) + "\n" + _manual_hint(entry, dest, dest.parent)
    )


def _inside(root: Path, member: str) -> bool:
    target = (root / member).resolve()
    return target == root.resolve() or root.resolve() in target.parents


def extract(archive: Path, dest: Path, kind: str | None) -> None:
    """Unpack ``archive`` (tar.gz / tgz / tar / zip / gz / plain file) into directory ``dest``."""
    import gzip
    import shutil
    import tarfile
    import zipfile

    dest.mkdir(parents=True, exist_ok=True)
    try:
        if kind in ("tar.gz", "tgz", "tar"):
            with tarfile.open(archive, "r:*") as tar:
                for member in tar.getmembers():
                    if not _inside(dest, member.name) or member.issym() or member.islnk():
                        raise FetchError(f"{archive}: refusing to unpack {member.name!r} (link or path outside {dest})")
                tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        elif kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    if not _inside(dest, name):
                        raise FetchError(f"{archive}: refusing to unpack {name!r} (path outside {dest})")
                zf.extractall(dest)
        elif kind == "gz":
            out = dest / archive.name.removesuffix(".gz")
            with gzip.open(archive, "rb") as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK_BYTES)
        else:
            shutil.copy2(archive, dest / archive.name)
    except (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, EOFError) as exc:
        raise FetchError(f"{archive}: cannot unpack ({exc}); delete it and run the fetch again") from exc


def _present(entry: DatasetEntry, result: Path) -> bool:
    return result.exists() and all((result / f).exists() for f in entry.check_files)


def generate(entry: DatasetEntry, result: Path) -> None:
    """Run a synthetic entry's ``asrlab ...`` command in-process, with ``{path}`` set to ``result``."""
    from asrlab.cli import COMMANDS  # the one table mapping command words to modules

    command = entry.command.format(path=shlex.quote(str(result)))
    words = shlex.split(command)
    for n in range(len(words) - 1, 0, -1):
        module = COMMANDS.get(tuple(words[1 : n + 1]))
        if words[0] == "asrlab" and module is not None:
            break
    else:
        raise FetchError(f"{entry.name}: cannot run `{command}`: it is not an asrlab command")
    parser = argparse.ArgumentParser(prog=" ".join(words[: n + 1]))
    cli_module = import_module(module[0])
    cli_module.add_arguments(parser)
    code = cli_module.run(parser.parse_args(words[n + 1 :]))
    if code:
        raise FetchError(f"{entry.name}: `{command}` failed with exit code {code}; see its message above")


def fetch(
    name: str,
    cache_dir: str | Path | None = None,
    registry: str | Path | Mapping[str, DatasetEntry] | None = None,
    quiet: bool = False,
    keep_archive: bool = False,
    timeout: float = TIMEOUT_S,
) -> Path:
    """Make dataset ``name`` available locally and return the path to pass to its reader.

    Parameters
    ----------
    name : a registry name, e.g. ``"librispeech-dev-clean"`` (``asrlab data fetch --list``).
    cache_dir : where data lives; default :func:`default_cache_dir`.
    registry : a datasets.yaml path or loaded entries; default the packaged registry.
    quiet : hide the progress bar.
    keep_archive : keep the downloaded archive after unpacking (default: delete it to save disk).
    timeout : seconds to wait for the server before giving up on a URL.

    Returns
    -------
    Path : ``<cache>/<target>/<root>``, e.g. ``~/.cache/asrlab/librispeech/LibriSpeech``.

    Raises
    ------
    UnknownDatasetError : ``name`` is not in the registry.
    FetchError : offline, HTTP error, checksum mismatch (:class:`ChecksumError`), broken archive, or a
        manual corpus that is not in place; the message says where to put files by hand.

    Synthetic entries are generated here by running their ``command`` (offline; minutes for hours
    of audio) instead of being downloaded.
    """
    entries = registry if isinstance(registry, Mapping) else load_registry(registry)
    entry = get_entry(entries, name)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    dest = cache / entry.target
    result = (dest / entry.root) if entry.root != "." else dest
    marker = dest / f".{entry.name}.complete"
    if marker.is_file() and _present(entry, result):
        return result

    if entry.kind == "synthetic":
        generate(entry, result)
        if not _present(entry, result):
            raise FetchError(f"{entry.name}: generation finished but {result} lacks {', '.join(entry.check_files)}")
        marker.write_text(f"{entry.command}\n")
        return result
    if entry.kind == "manual":
        if _present(entry, result):
            marker.write_text("placed by hand\n")
            return result
        raise FetchError(
            f"{entry.name} has no public download link. {_manual_hint(entry, None, result)} "
            f"Needed: {', '.join(entry.check_files)}. More about the corpus: {entry.homepage}"
        )

    archive = cache / DOWNLOADS_DIR / entry.url.rsplit("/", 1)[-1]
    if not archive.is_file():
        _download_any(entry, archive, timeout, quiet)
    actual = md5sum(archive)
    if actual != entry.md5:
        archive.unlink()  # a bad file must not be resumed from
        raise ChecksumError(
            f"{archive}: md5 {actual} does not match the published {entry.md5} for {entry.name}; the corrupt file "
            f"was deleted. Run the fetch again, or: {_manual_hint(entry, archive, result)}"
        )
    extract(archive, dest, entry.archive)
    if not _present(entry, result):
        raise FetchError(f"{archive}: unpacked into {dest} but {result} (with {', '.join(entry.check_files) or 'its files'}) is missing; the archive does not match datasets.yaml")
    marker.write_text(f"{entry.md5}\n")
    if not keep_archive:
        archive.unlink()
    return result


def format_registry(entries: Mapping[str, DatasetEntry]) -> str:
    """A plain-text table of the registry for ``--list``."""
    rows = [("name", "kind", "size", "license", "description")]
    for entry in entries.values():
        size = f"{entry.size / 1e6:,.0f} MB" if entry.size else "-"
        rows.append((entry.name, entry.kind, size, entry.license or "-", entry.description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="dataset name from datasets.yaml (see --list)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help=f"where to store data (default: ${CACHE_ENV}, /content/asrlab_data on Colab, ~/.cache/asrlab)")
    parser.add_argument("--list", action="store_true", help="print the dataset registry and exit")
    parser.add_argument("--registry", type=Path, default=None, help="use this datasets.yaml instead of the packaged one")
    parser.add_argument("--keep-archive", action="store_true", help="keep the downloaded archive after unpacking")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from asrlab.data.registry import RegistryError, UnknownDatasetError

    try:
        if args.list:
            print(format_registry(load_registry(args.registry)))
            return 0
        if not args.name:
            print("error: give a dataset name (see `asrlab data fetch --list`)", file=sys.stderr)
            return 2
        path = fetch(args.name, args.cache_dir, args.registry, quiet=args.quiet, keep_archive=args.keep_archive)
    except (FetchError, RegistryError, UnknownDatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0
