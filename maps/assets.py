"""Front-end files for the maps and the API's documentation pages, fetched at set-up from the npm registry.

Folium links Leaflet & co. from public CDNs; the locator serves the same files itself so that no page
loads a script, stylesheet, image or font from another host. This module downloads the npm tarballs,
checks each against a sha512 pinned here (and the registry's own `dist.integrity`), and extracts only
the files the pages use, keeping each package's relative layout so the CSS `url(...)` references to
fonts and images resolve.

Layout under the target directory (served at the `/assets` prefix)::

    leaflet@1.9.3/dist/leaflet.js ...
    manifest.json      what was extracted and the sha256 of every file, for the idempotency check

Run ``python -m maps.assets [DIR]`` (default ``.locator/assets``); a second run that finds every file
present and matching the manifest touches nothing and needs no network.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_DIR",
    "DEFAULT_REGISTRY",
    "PACKAGES",
    "REDOC",
    "SWAGGER_UI",
    "AssetError",
    "IntegrityError",
    "Package",
    "asset_urls",
    "fetch_assets",
    "main",
    "verify_assets",
]

DEFAULT_REGISTRY = "https://registry.npmjs.org"
DEFAULT_DIR = Path(".locator/assets")
MANIFEST = "manifest.json"
# Bump when the layout or manifest format changes so old trees are re-extracted.
MANIFEST_FORMAT = 1


class AssetError(RuntimeError):
    """The assets could not be fetched or extracted."""


class IntegrityError(AssetError):
    """A download did not match its expected sha512 (pinned or announced by the registry)."""


@dataclass(frozen=True)
class Package:
    """One npm package version and the files (relative to the tarball's `package/`) we keep."""

    name: str
    version: str
    files: tuple[str, ...]
    # SRI string ("sha512-<base64>"). Pinned so a compromised or changed registry answer is refused;
    # None trusts the registry's `dist.integrity` alone (used by tests with fake packages).
    integrity: str | None = None

    @property
    def dirname(self) -> str:
        # Scoped names ("@fortawesome/fontawesome-free") would add a directory level; the bare name
        # keeps URLs short and is still unique among the packages we ship.
        return f"{self.name.rsplit('/', 1)[-1]}@{self.version}"

    def url(self, prefix: str, file: str) -> str:
        return f"{prefix.rstrip('/')}/{self.dirname}/{file}"


_FA_FONTS = tuple(
    f"webfonts/fa-{face}.{ext}"
    for face in ("brands-400", "regular-400", "solid-900", "v4compatibility")
    for ext in ("woff2", "ttf")
)

LEAFLET = Package(
    "leaflet",
    "1.9.3",
    (
        "dist/leaflet.js",
        "dist/leaflet.css",
        "dist/images/layers.png",
        "dist/images/layers-2x.png",
        "dist/images/marker-icon.png",
        "dist/images/marker-icon-2x.png",
        "dist/images/marker-shadow.png",
        "LICENSE",
    ),
    "sha512-iB2cR9vAkDOu5l3HAay2obcUHZ7xwUBBjph8+PGtmW/2lYhbLizWtG7nTeYht36WfOslixQF9D/uSIzhZgGMfQ==",
)
JQUERY = Package(
    "jquery",
    "3.7.1",
    ("dist/jquery.min.js", "LICENSE.txt"),
    "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
)
BOOTSTRAP = Package(
    "bootstrap",
    "5.2.2",
    ("dist/js/bootstrap.bundle.min.js", "dist/css/bootstrap.min.css", "LICENSE"),
    "sha512-dEtzMTV71n6Fhmbg4fYJzQsw1N29hJKO1js5ackCgIpDcGid2ETMGC6zwSYw09v05Y+oRdQ9loC54zB1La3hHQ==",
)
FONTAWESOME = Package(
    "@fortawesome/fontawesome-free",
    "6.2.0",
    ("css/all.min.css", *_FA_FONTS, "LICENSE.txt"),
    "sha512-CNR7qRIfCwWHNN7FnKUniva94edPdyQzil/zCwk3v6k4R6rR2Fr8i4s3PM7n/lyfPA6Zfko9z5WDzFxG9SW1uQ==",
)
AWESOME_MARKERS = Package(
    "leaflet.awesome-markers",
    "2.0.5",
    (
        "dist/leaflet.awesome-markers.js",
        "dist/leaflet.awesome-markers.css",
        "dist/images/markers-soft.png",
        "dist/images/markers-soft@2x.png",
        "dist/images/markers-shadow.png",
        "dist/images/markers-shadow@2x.png",
        "LICENSE",
    ),
    "sha512-Ne/xDjkGyaujwNVVkv2tyXQUV0ZW7gZ0Mo0FuQY4jp2qWrvXi0hwDBvmZyF/8YOvybyMabTMM/mFWCTd1jZIQA==",
)

# The API's documentation pages (/docs, /redoc; locator.api.docs): FastAPI links them from a CDN, unpinned.
SWAGGER_UI = Package(
    "swagger-ui-dist",
    "5.36.0",
    ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE"),
    "sha512-Lt6/Kb0gXmLdiabLhvso4VdJP9V7qJWB0zh0gzeXUV3+CMOTzMmvpJRSXN7EAjfwixwmoi9ezDbLHiexC7lA9A==",
)
REDOC = Package(
    "redoc",
    "2.5.2",
    ("bundles/redoc.standalone.js", "LICENSE"),
    "sha512-sTJfItvRkcDTojB6wdLN4M+Ua6mlZwElV21Tf8Mn7IbQF/1Os6GvgQpZyLWPGZZHbhy7GC1Or1hTMHfz1vKh5A==",
)

PACKAGES: tuple[Package, ...] = (LEAFLET, JQUERY, BOOTSTRAP, FONTAWESOME, AWESOME_MARKERS, SWAGGER_UI, REDOC)


def asset_urls(prefix: str = "/assets") -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(name, url) lists for a folium Map's `default_js` and `default_css`, pointing under `prefix`.

    The names are folium 0.20's own, so any element that later calls `add_js_link`/`add_css_link`
    with the same name replaces our entry instead of adding a CDN link beside it. Two of folium's
    defaults are left out on purpose: Bootstrap 3 glyphicons (not on npm in the pinned set; our icons
    use the Font Awesome prefix) and folium's `leaflet.awesome.rotate` stylesheet (only needed for
    rotated icons, which we never draw).
    """
    js = [
        ("leaflet", LEAFLET.url(prefix, "dist/leaflet.js")),
        ("jquery", JQUERY.url(prefix, "dist/jquery.min.js")),
        ("bootstrap", BOOTSTRAP.url(prefix, "dist/js/bootstrap.bundle.min.js")),
        ("awesome_markers", AWESOME_MARKERS.url(prefix, "dist/leaflet.awesome-markers.js")),
    ]
    css = [
        ("leaflet_css", LEAFLET.url(prefix, "dist/leaflet.css")),
        ("bootstrap_css", BOOTSTRAP.url(prefix, "dist/css/bootstrap.min.css")),
        ("awesome_markers_font_css", FONTAWESOME.url(prefix, "css/all.min.css")),
        ("awesome_markers_css", AWESOME_MARKERS.url(prefix, "dist/leaflet.awesome-markers.css")),
    ]
    return js, css


def _sri_sha512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _get(url: str, timeout: float) -> bytes:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        # urlopen also speaks file:// and ftp://; a registry answer must not steer us there.
        raise AssetError(f"refusing to fetch {url!r}: not an http(s) URL")
    req = urllib.request.Request(url, headers={"Accept": "application/json, */*"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # scheme checked above
            data: bytes = resp.read()
            return data
    except OSError as exc:  # URLError, HTTPError and timeouts are all OSErrors
        raise AssetError(f"GET {url} failed: {exc}") from exc


def _metadata_url(registry: str, pkg: Package) -> str:
    # The registry wants the scope's slash encoded: /@fortawesome%2Ffontawesome-free/6.2.0
    return f"{registry.rstrip('/')}/{urllib.parse.quote(pkg.name, safe='@')}/{pkg.version}"


def _load_manifest(target: Path) -> dict[str, Any]:
    try:
        data = json.loads((target / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return {}
    return data


def _package_ok(target: Path, pkg: Package, entry: Any) -> bool:
    """True when the manifest says `pkg` was extracted as configured and every file still matches."""
    if not isinstance(entry, dict) or entry.get("version") != pkg.version:
        return False
    if pkg.integrity is not None and entry.get("integrity") != pkg.integrity:
        return False
    files = entry.get("files")
    if not isinstance(files, dict) or set(files) != set(pkg.files):
        return False
    base = target / pkg.dirname
    for rel, digest in files.items():
        path = base / rel
        if not path.is_file() or _sha256_file(path) != digest:
            return False
    return True


def verify_assets(target: Path | str = DEFAULT_DIR, packages: Sequence[Package] | None = None) -> bool:
    """True when every package is present under `target` and matches the manifest (no network)."""
    target = Path(target)
    packages = PACKAGES if packages is None else packages
    manifest = _load_manifest(target)
    entries = manifest.get("packages", {})
    return all(_package_ok(target, p, entries.get(p.name)) for p in packages)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _install(target: Path, pkg: Package, registry: str, timeout: float) -> dict[str, Any]:
    try:
        meta = json.loads(_get(_metadata_url(registry, pkg), timeout))
        dist = meta["dist"]
        tarball_url = str(dist["tarball"])
        announced = str(dist["integrity"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AssetError(f"{pkg.name}@{pkg.version}: unusable registry metadata ({exc})") from exc
    if pkg.integrity is not None and announced != pkg.integrity:
        raise IntegrityError(f"{pkg.name}@{pkg.version}: registry announces {announced}, pinned {pkg.integrity}")
    if not announced.startswith("sha512-"):
        raise IntegrityError(f"{pkg.name}@{pkg.version}: no sha512 integrity in the metadata")

    blob = _get(tarball_url, timeout)
    actual = _sri_sha512(blob)
    if actual != announced:
        raise IntegrityError(f"{pkg.name}@{pkg.version}: tarball {tarball_url} has {actual}, expected {announced}")

    wanted = {f"package/{rel}": rel for rel in pkg.files}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            for member in tar:
                rel = wanted.get(member.name)
                # Only regular files we asked for by exact name: nothing else in the tarball (links,
                # "../" paths) can reach the disk.
                if rel is None or not member.isfile():
                    continue
                fh = tar.extractfile(member)
                if fh is not None:
                    found[rel] = fh.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise AssetError(f"{pkg.name}@{pkg.version}: bad tarball ({exc})") from exc
    missing = sorted(set(pkg.files) - set(found))
    if missing:
        raise AssetError(f"{pkg.name}@{pkg.version}: tarball lacks {', '.join(missing)}")

    base = target / pkg.dirname
    digests: dict[str, str] = {}
    for rel, data in found.items():
        _write_atomic(base / rel, data)
        digests[rel] = hashlib.sha256(data).hexdigest()
    return {"version": pkg.version, "integrity": announced, "files": digests}


def fetch_assets(
    target: Path | str = DEFAULT_DIR,
    *,
    registry: str = DEFAULT_REGISTRY,
    packages: Sequence[Package] | None = None,
    timeout: float = 60.0,
    log: Any = None,
) -> list[str]:
    """Download and extract `packages` (default PACKAGES) into `target`; return the names of the packages (re)installed.

    Idempotent: a package whose files all match the manifest is skipped without network access.
    Raises IntegrityError when a download does not match its expected hash, AssetError otherwise.
    """
    target = Path(target)
    packages = PACKAGES if packages is None else packages
    target.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(target)
    entries: dict[str, Any] = dict(manifest.get("packages", {}))
    installed: list[str] = []
    for pkg in packages:
        if _package_ok(target, pkg, entries.get(pkg.name)):
            continue
        if log is not None:
            log(f"fetching {pkg.name}@{pkg.version}")
        entries[pkg.name] = _install(target, pkg, registry, timeout)
        installed.append(pkg.name)
        # Written after each package so an interrupted run keeps what it already verified.
        _write_atomic(
            target / MANIFEST,
            json.dumps({"format": MANIFEST_FORMAT, "packages": entries}, indent=2, sort_keys=True).encode("utf-8"),
        )
    return installed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m maps.assets",
        description="Fetch Leaflet, jQuery, Bootstrap, Font Awesome and awesome-markers from npm.",
    )
    parser.add_argument("dir", nargs="?", default=str(DEFAULT_DIR), help="target directory")
    parser.add_argument("--registry", default=os.environ.get("LOCATOR_NPM_REGISTRY", DEFAULT_REGISTRY))
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    try:
        installed = fetch_assets(args.dir, registry=args.registry, timeout=args.timeout, log=log)
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    state = f"installed {', '.join(installed)}" if installed else "already up to date"
    print(f"assets in {args.dir}: {state}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
