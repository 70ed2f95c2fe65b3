"""The vendor's logo, served by the app itself (the token pages' CSP allows images from 'self' only).

`VENDOR_LOGO_PATH` chooses the file: unset, the bundled neutral mark `chalicelib/assets/logo.svg`; otherwise a path
to an SVG or PNG file, relative to the `chalicelib` folder (so `assets/acme.svg` ships inside the package) or
absolute. A wrong setting fails loudly at first use, naming the setting and the file. Read once per container.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_LOGO = PACKAGE_ROOT / "assets" / "logo.svg"
ENV_NAME = "VENDOR_LOGO_PATH"
CONTENT_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
MAX_LOGO_BYTES = 256 * 1024


@dataclass(frozen=True)
class Logo:
    body: bytes
    content_type: str
    filename: str  # the name the logo is served under: logo.svg or logo.png
    version: str  # a hash of the bytes: the page links ?v=<version>, so a new logo is never hidden by a cache

    @property
    def relative_url(self) -> str:
        """From /activate/{token}: one level up is the activation base, whatever base path the deployment has."""
        return f"../assets/{self.filename}?v={self.version}"


@lru_cache(maxsize=4)
def load_logo(setting: str | None) -> Logo:
    path = Path(setting) if setting else BUNDLED_LOGO
    if not path.is_absolute():
        path = PACKAGE_ROOT / path
    content_type = CONTENT_TYPES.get(path.suffix.lower())
    if content_type is None:
        raise RuntimeError(f"{ENV_NAME}: {path} must be an .svg or .png file")
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise RuntimeError(f"{ENV_NAME}: cannot read logo file {path}: {exc.strerror}") from None
    if not body or len(body) > MAX_LOGO_BYTES:
        raise RuntimeError(f"{ENV_NAME}: {path} must be 1 byte to {MAX_LOGO_BYTES // 1024} KiB")
    if content_type == "image/svg+xml":
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise RuntimeError(f"{ENV_NAME}: {path} is not a UTF-8 SVG file") from None
    return Logo(
        body=body,
        content_type=content_type,
        filename="logo" + path.suffix.lower(),
        version=hashlib.sha256(body).hexdigest()[:16],
    )
