"""maps.assets against a fake npm registry on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from maps import assets
from maps.assets import (
    PACKAGES,
    AssetError,
    IntegrityError,
    Package,
    asset_urls,
    fetch_assets,
    verify_assets,
)

CACHE = Path(__file__).resolve().parents[2] / ".locator" / "assets"


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class FakeRegistry:
    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.requests: list[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append(self.path)
                body = registry.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, name: str, version: str, files: dict[str, bytes], *, integrity: str | None = None) -> bytes:
        blob = _tarball(files)
        tar_path = f"/tarballs/{name.replace('/', '-')}-{version}.tgz"
        self.routes[tar_path] = blob
        meta = {
            "name": name,
            "version": version,
            "dist": {"tarball": self.url + tar_path, "integrity": integrity or _sri(blob)},
        }
        self.routes[f"/{name.replace('/', '%2F')}/{version}"] = json.dumps(meta).encode()
        return blob

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    reg = FakeRegistry()
    yield reg
    reg.close()


FILES = {
    "package/dist/lib.js": b"window.lib = 1;\n",
    "package/dist/lib.css": b".x{background:url(images/x.png)}\n",
    "package/dist/images/x.png": b"\x89PNG fake",
    "package/README.md": b"not wanted",
}
PKG = Package("@scope/lib", "1.2.3", ("dist/lib.js", "dist/lib.css", "dist/images/x.png"))


def test_fetch_extracts_only_wanted_files_and_is_idempotent(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.publish(PKG.name, PKG.version, FILES)
    target = tmp_path / "assets"
    assert fetch_assets(target, registry=registry.url, packages=[PKG]) == [PKG.name]
    base = target / "lib@1.2.3"
    assert (base / "dist/lib.js").read_bytes() == FILES["package/dist/lib.js"]
    assert (base / "dist/images/x.png").is_file()
    assert not (base / "README.md").exists()
    # The scoped name reaches the registry with its slash encoded, as npm does.
    assert registry.requests[0] == "/@scope%2Flib/1.2.3"
    manifest = json.loads((target / "manifest.json").read_text())
    assert set(manifest["packages"][PKG.name]["files"]) == set(PKG.files)
    assert verify_assets(target, [PKG])

    seen = len(registry.requests)
    assert fetch_assets(target, registry=registry.url, packages=[PKG]) == []
    assert len(registry.requests) == seen  # verified from the manifest, no network


def test_damaged_file_is_fetched_again(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.publish(PKG.name, PKG.version, FILES)
    fetch_assets(tmp_path, registry=registry.url, packages=[PKG])
    (tmp_path / "lib@1.2.3/dist/lib.js").write_bytes(b"tampered")
    assert not verify_assets(tmp_path, [PKG])
    assert fetch_assets(tmp_path, registry=registry.url, packages=[PKG]) == [PKG.name]
    assert (tmp_path / "lib@1.2.3/dist/lib.js").read_bytes() == FILES["package/dist/lib.js"]


def test_tarball_not_matching_metadata_integrity_raises(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.publish(PKG.name, PKG.version, FILES, integrity=_sri(b"something else"))
    with pytest.raises(IntegrityError):
        fetch_assets(tmp_path, registry=registry.url, packages=[PKG])
    assert not (tmp_path / "lib@1.2.3").exists()
    assert not verify_assets(tmp_path, [PKG])


def test_metadata_not_matching_pinned_integrity_raises(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.publish(PKG.name, PKG.version, FILES)  # self-consistent, but not what we pinned
    pinned = Package(PKG.name, PKG.version, PKG.files, integrity=_sri(b"the real tarball"))
    with pytest.raises(IntegrityError):
        fetch_assets(tmp_path, registry=registry.url, packages=[pinned])
    # The tarball itself was never downloaded.
    assert not any(r.startswith("/tarballs/") for r in registry.requests)


def test_pinned_integrity_accepted_when_it_matches(registry: FakeRegistry, tmp_path: Path) -> None:
    blob = registry.publish(PKG.name, PKG.version, FILES)
    pinned = Package(PKG.name, PKG.version, PKG.files, integrity=_sri(blob))
    assert fetch_assets(tmp_path, registry=registry.url, packages=[pinned]) == [PKG.name]


def test_missing_file_in_tarball_raises(registry: FakeRegistry, tmp_path: Path) -> None:
    files = dict(FILES)
    del files["package/dist/images/x.png"]
    registry.publish(PKG.name, PKG.version, files)
    with pytest.raises(AssetError, match=r"x\.png"):
        fetch_assets(tmp_path, registry=registry.url, packages=[PKG])


def test_path_traversal_members_are_ignored(registry: FakeRegistry, tmp_path: Path) -> None:
    files = {**FILES, "package/../../evil.js": b"evil", "/etc/evil": b"evil"}
    registry.publish(PKG.name, PKG.version, files)
    target = tmp_path / "a" / "b"
    fetch_assets(target, registry=registry.url, packages=[PKG])
    assert not list(tmp_path.rglob("evil*"))


def test_unreachable_registry_raises(tmp_path: Path) -> None:
    with pytest.raises(AssetError):
        fetch_assets(tmp_path, registry="http://127.0.0.1:9", packages=[PKG], timeout=2)


def test_non_http_tarball_url_refused(registry: FakeRegistry, tmp_path: Path) -> None:
    meta = {"dist": {"tarball": "file:///etc/passwd", "integrity": _sri(b"x")}}
    registry.routes["/@scope%2Flib/1.2.3"] = json.dumps(meta).encode()
    with pytest.raises(AssetError, match="not an http"):
        fetch_assets(tmp_path, registry=registry.url, packages=[PKG])


def test_cli(registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry.publish(PKG.name, PKG.version, FILES)
    monkeypatch.setattr(assets, "PACKAGES", (PKG,))
    assert assets.main([str(tmp_path), "--registry", registry.url]) == 0
    assert verify_assets(tmp_path, [PKG])
    assert assets.main([str(tmp_path), "--registry", "http://127.0.0.1:9", "--timeout", "2"]) == 0  # up to date


def test_asset_urls_point_at_shipped_files() -> None:
    js, css = asset_urls("/assets")
    shipped = {f"/assets/{p.dirname}/{f}" for p in PACKAGES for f in p.files}
    for _, url in js + css:
        assert url in shipped, url
    assert [name for name, _ in js] == ["leaflet", "jquery", "bootstrap", "awesome_markers"]
    assert dict(css)["leaflet_css"] == "/assets/leaflet@1.9.3/dist/leaflet.css"
    js2, _ = asset_urls("https://example.org/static/")
    assert js2[0][1] == "https://example.org/static/leaflet@1.9.3/dist/leaflet.js"


def test_pinned_versions_match_folium() -> None:
    import folium

    folium_js = dict(folium.Map.default_js)
    assert "leaflet@1.9.3" in folium_js["leaflet"]
    assert "jquery-3.7.1" in folium_js["jquery"]
    assert "bootstrap@5.2.2" in folium_js["bootstrap"]
    assert "fontawesome-free@6.2.0" in dict(folium.Map.default_css)["awesome_markers_font_css"]


@pytest.mark.skipif(not verify_assets(CACHE), reason=f"no verified asset cache at {CACHE} (make fetches it)")
def test_cached_css_references_resolve() -> None:
    """Every url() in the shipped stylesheets names a file we extracted (fonts and images)."""
    for pkg in PACKAGES:
        for rel in pkg.files:
            if not rel.endswith(".css"):
                continue
            css_path = CACHE / pkg.dirname / rel
            for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css_path.read_text("utf-8")):
                if url.startswith(("data:", "#")):
                    continue
                assert (css_path.parent / url).resolve().is_file(), f"{rel}: {url}"
