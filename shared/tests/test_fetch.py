"""Tests for asrlab.data.fetch and the registry, against a local HTTP server with Range support."""
import argparse
import gzip
import hashlib
import io
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml

from asrlab import audio
from asrlab.data import LibriSpeech
import asrlab.data.fetch as fetch_module
from asrlab.data.fetch import ChecksumError, FetchError, default_cache_dir, fetch
from asrlab.data.registry import RegistryError, UnknownDatasetError, load_registry


# ----------------------------------------------------------------------------- a local file server
class FileServer:
    """Serves in-memory files with HTTP Range support; can cut the first N responses short."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.truncate_next = 0  # number of upcoming responses to cut off half-way
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if server.truncate_next:
                    server.truncate_next -= 1
                    payload = payload[: len(payload) // 2]  # promise everything, deliver half, hang up
                self.wfile.write(payload)
                self.wfile.flush()
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _tar_gz(src: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(src, arcname=src.name)
    return buffer.getvalue()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def corpus_archive(tmp_path_factory) -> bytes:
    """A tiny LibriSpeech-layout corpus packed like the real archives (LibriSpeech/<split>/...)."""
    src = tmp_path_factory.mktemp("src") / "LibriSpeech"
    chapter = src / "dev-clean" / "84" / "121123"
    for k, text in enumerate(["GO DO YOU HEAR", "BUT IN LESS THAN FIVE MINUTES"]):
        tone = (0.2 * np.sin(np.arange(1600) * 0.05 * (k + 1))).astype(np.float32)
        audio.save(chapter / f"84-121123-000{k}.flac", tone, audio.SAMPLE_RATE)
    (chapter / "84-121123.trans.txt").write_text("84-121123-0000 GO DO YOU HEAR\n84-121123-0001 BUT IN LESS THAN FIVE MINUTES\n")
    return _tar_gz(src)


def _registry(tmp_path: Path, url: str, md5: str, **extra) -> Path:
    entries = {
        "mini-dev-clean": {
            "kind": "download", "description": "test corpus", "url": url, "md5": md5, "archive": "tar.gz",
            "target": "librispeech", "root": "LibriSpeech", "check_files": ["dev-clean"], **extra,
        },
        "mini-hvb": {"kind": "manual", "description": "by hand", "target": "hvb", "root": "minified",
                     "check_files": ["data.h5", "labels.npz"], "homepage": "https://example.org/hvb"},
        "mini-synth": {"kind": "synthetic", "description": "generated", "target": "synth dir",
                       "command": "asrlab data synth custom --out {path} --n 2 --seed 0 --workers 1 --quiet",
                       "check_files": ["audio", "transcriptions"]},
        "not-asrlab": {"kind": "synthetic", "description": "x", "target": "x", "command": "python make.py {path}"},
    }
    path = tmp_path / "datasets.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "datasets": entries}))
    return path


# ----------------------------------------------------------------------------- download paths
@pytest.mark.network
def test_full_download_unpacks_and_is_idempotent(tmp_path, corpus_archive):
    md5 = hashlib.md5(corpus_archive).hexdigest()
    with FileServer({"/dev-clean.tar.gz": corpus_archive}) as server:
        registry = _registry(tmp_path, server.url + "/dev-clean.tar.gz", md5)
        root = fetch("mini-dev-clean", tmp_path / "cache", registry, quiet=True)
        assert root == tmp_path / "cache" / "librispeech" / "LibriSpeech"
        assert [r for _, r in server.requests] == [None]  # one plain request
        ds = LibriSpeech(root, "dev-clean")
        assert [ds[i]["text"] for i in range(len(ds))] == ["GO DO YOU HEAR", "BUT IN LESS THAN FIVE MINUTES"]
        assert not (tmp_path / "cache" / "downloads" / "dev-clean.tar.gz").exists()  # archive removed
        assert fetch("mini-dev-clean", tmp_path / "cache", registry, quiet=True) == root
        assert len(server.requests) == 1  # the marker short-circuits the network


@pytest.mark.network
def test_interrupted_download_resumes_with_range(tmp_path, corpus_archive):
    md5 = hashlib.md5(corpus_archive).hexdigest()
    with FileServer({"/dev-clean.tar.gz": corpus_archive}) as server:
        registry = _registry(tmp_path, server.url + "/dev-clean.tar.gz", md5)
        server.truncate_next = 1
        with pytest.raises(FetchError, match="interrupted after .* bytes.*re-run to resume"):
            fetch("mini-dev-clean", tmp_path / "cache", registry, quiet=True)
        part = tmp_path / "cache" / "downloads" / "dev-clean.tar.gz.part"
        got = part.stat().st_size
        assert 0 < got < len(corpus_archive)
        root = fetch("mini-dev-clean", tmp_path / "cache", registry, quiet=True, keep_archive=True)
        assert server.requests[-1] == ("/dev-clean.tar.gz", f"bytes={got}-")
        assert (tmp_path / "cache" / "downloads" / "dev-clean.tar.gz").read_bytes() == corpus_archive
        assert len(LibriSpeech(root, "dev-clean")) == 2


@pytest.mark.network
def test_checksum_mismatch_deletes_file_and_explains(tmp_path, corpus_archive):
    with FileServer({"/dev-clean.tar.gz": corpus_archive}) as server:
        registry = _registry(tmp_path, server.url + "/dev-clean.tar.gz", "0" * 32)
        with pytest.raises(ChecksumError, match=r"does not match the published 0{32}.*copy it to .*dev-clean\.tar\.gz"):
            fetch("mini-dev-clean", tmp_path / "cache", registry, quiet=True)
    assert not (tmp_path / "cache" / "downloads" / "dev-clean.tar.gz").exists()
    assert not list((tmp_path / "cache").glob("librispeech/.*.complete"))


@pytest.mark.network
def test_http_error_and_mirror_fallback(tmp_path, corpus_archive):
    md5 = hashlib.md5(corpus_archive).hexdigest()
    with FileServer({"/mirror/dev-clean.tar.gz": corpus_archive}) as server:
        registry = _registry(tmp_path, server.url + "/dev-clean.tar.gz", md5)
        with pytest.raises(FetchError, match="HTTP 404"):
            fetch("mini-dev-clean", tmp_path / "cache", registry, quiet=True)
        with_mirror = _registry(tmp_path, server.url + "/dev-clean.tar.gz", md5, mirrors=[server.url + "/mirror/dev-clean.tar.gz"])
        root = fetch("mini-dev-clean", tmp_path / "cache", with_mirror, quiet=True)
        assert (root / "dev-clean").is_dir()


def test_offline_connection_refused_says_how_to_place_by_hand(tmp_path, corpus_archive):
    registry = _registry(tmp_path, f"http://127.0.0.1:{_closed_port()}/dev-clean.tar.gz", hashlib.md5(corpus_archive).hexdigest())
    with pytest.raises(FetchError, match=r"cannot connect.*offline.*(\n.*)*copy it to .*downloads.dev-clean\.tar\.gz"):
        fetch("mini-dev-clean", tmp_path / "cache", registry, quiet=True, timeout=5)
    # following the advice works without any network
    manual = tmp_path / "cache" / "downloads" / "dev-clean.tar.gz"
    manual.write_bytes(corpus_archive)
    root = fetch("mini-dev-clean", tmp_path / "cache", registry, quiet=True)
    assert len(LibriSpeech(root, "dev-clean")) == 2


def test_bad_name_lists_known_datasets(tmp_path):
    registry = _registry(tmp_path, "http://127.0.0.1:1/x.tar.gz", "0" * 32)
    with pytest.raises(UnknownDatasetError, match="unknown dataset 'librispeech'; known datasets: mini-dev-clean, mini-hvb, mini-synth, not-asrlab"):
        fetch("librispeech", tmp_path / "cache", registry)


def test_manual_entry_explains_where_to_place_files(tmp_path):
    registry = _registry(tmp_path, "http://127.0.0.1:1/x.tar.gz", "0" * 32)
    target = tmp_path / "cache" / "hvb" / "minified"
    with pytest.raises(FetchError, match=rf"no public download link.*place its files at {target}.*data\.h5, labels\.npz"):
        fetch("mini-hvb", tmp_path / "cache", registry)
    target.mkdir(parents=True)
    (target / "data.h5").write_bytes(b"x")
    (target / "labels.npz").write_bytes(b"x")
    assert fetch("mini-hvb", tmp_path / "cache", registry) == target


def test_synthetic_entry_is_generated_offline(tmp_path):
    pytest.importorskip("asrlab.data.synth.cli")
    from asrlab.data import CustomDir

    registry = _registry(tmp_path, "http://127.0.0.1:1/x.tar.gz", "0" * 32)
    root = fetch("mini-synth", tmp_path / "cache", registry)
    assert root == tmp_path / "cache" / "synth dir"  # {path} is quoted: spaces survive
    ds = CustomDir(root)
    assert len(ds) == 2 and all(ds[i]["text"] for i in range(2))
    assert fetch("mini-synth", tmp_path / "cache", registry) == root
    with pytest.raises(FetchError, match="not an asrlab command"):
        fetch("not-asrlab", tmp_path / "cache", registry)


def test_gz_and_zip_archives(tmp_path):
    import zipfile

    arpa = b"\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\t<s>\n-1.0\t</s>\n\n\\end\\\n"
    gz = gzip.compress(arpa)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("corpus/data.h5", b"h5")
    with FileServer({"/lm.arpa.gz": gz, "/c.zip": zbuf.getvalue()}) as server:
        entries = {"datasets": {
            "lm": {"kind": "download", "description": "lm", "url": server.url + "/lm.arpa.gz",
                   "md5": hashlib.md5(gz).hexdigest(), "archive": "gz", "target": "lm", "root": "lm.arpa"},
            "z": {"kind": "download", "description": "zip", "url": server.url + "/c.zip",
                  "md5": hashlib.md5(zbuf.getvalue()).hexdigest(), "archive": "zip", "target": "z", "root": "corpus",
                  "check_files": ["data.h5"]},
        }}
        (tmp_path / "r.yaml").write_text(yaml.safe_dump(entries))
        lm = fetch("lm", tmp_path / "cache", tmp_path / "r.yaml", quiet=True)
        assert lm.read_bytes() == arpa
        assert (fetch("z", tmp_path / "cache", tmp_path / "r.yaml", quiet=True) / "data.h5").read_bytes() == b"h5"


def test_tar_with_path_outside_target_is_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(FetchError, match="refusing to unpack '../evil.txt'"):
        fetch_module.extract(archive, tmp_path / "out", "tar.gz")
    assert not (tmp_path / "evil.txt").exists()


# ----------------------------------------------------------------------------- cache dir, CLI, registry
def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ASRLAB_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ASRLAB_CACHE")
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab")
    assert default_cache_dir() == Path("/content/asrlab_data")
    monkeypatch.delenv("COLAB_RELEASE_TAG")
    assert default_cache_dir() == Path.home() / ".cache" / "asrlab"


def _cli(argv):
    parser = argparse.ArgumentParser()
    fetch_module.add_arguments(parser)
    return fetch_module.run(parser.parse_args(argv))


def test_cli_list_and_errors(capsys, tmp_path):
    assert _cli(["--list"]) == 0
    out = capsys.readouterr().out
    for name in ("librispeech-train-clean-100", "librispeech-dev-clean", "librispeech-3gram-lm", "hvb-minified", "synth-librispeech"):
        assert name in out
    assert "6,387 MB" in out
    assert _cli(["no-such-corpus", "--cache-dir", str(tmp_path)]) == 1
    assert "unknown dataset 'no-such-corpus'" in capsys.readouterr().err
    assert _cli([]) == 2


def test_packaged_registry_has_the_published_checksums():
    entries = load_registry()
    expected = {
        "librispeech-train-clean-100": ("2a93770f6d5c6c964bc36631d331a522", 6387309499),
        "librispeech-dev-clean": ("42e2234ba48799c1f50f24a7926300a1", 337926286),
        "librispeech-test-clean": ("32fa31d27d2e1cad72775fee3f4849a9", 346663984),
        "librispeech-test-other": ("fb5a50374b501bb3bac4815ee91d3135", 328757843),
    }
    for name, (md5, size) in expected.items():
        entry = entries[name]
        assert (entry.md5, entry.size) == (md5, size)
        assert entry.url == f"https://www.openslr.org/resources/12/{name.removeprefix('librispeech-')}.tar.gz"
        assert entry.root == "LibriSpeech" and entry.check_files == (name.removeprefix("librispeech-"),)
    assert entries["librispeech-3gram-lm"].url.endswith("/resources/11/3-gram.pruned.1e-7.arpa.gz")
    assert entries["hvb-minified"].url is None and entries["hvb-minified"].check_files == ("data.h5", "labels.npz")
    assert entries["synth-librispeech"].params == {"hours": 2, "seed": 0}


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"md5": "xyz"}, "expected 32 lower-case hex digits"),
        ({"colour": "red"}, "unknown field"),
        ({"kind": "torrent"}, "has kind 'torrent'"),
        ({"archive": "rar"}, "has archive 'rar'"),
        ({"url": None}, "needs both url and md5"),
    ],
)
def test_registry_validation(tmp_path, fields, message):
    entry = {"kind": "download", "description": "d", "url": "http://x/y.tar.gz", "md5": "0" * 32, "target": "t", **fields}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"datasets": {"bad": entry}}))
    with pytest.raises(RegistryError, match=message):
        load_registry(path)
