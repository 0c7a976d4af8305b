"""Compile the project's .po catalogues to .mo with polib, so no system gettext is needed."""

from __future__ import annotations

from pathlib import Path

import polib

BASE = Path(__file__).resolve().parents[2]


def catalogues() -> list[Path]:
    """The project catalogue (tongxin/locale/) and each app's own (tongxin/<app>/locale/)."""
    return sorted(
        [
            *BASE.glob("tongxin/locale/*/LC_MESSAGES/*.po"),
            *BASE.glob("tongxin/*/locale/*/LC_MESSAGES/*.po"),
            *BASE.glob("tongxin/*/*/locale/*/LC_MESSAGES/*.po"),  # sub-apps, e.g. tongxin/cases/routing
        ]
    )


def main() -> None:
    for po_path in catalogues():
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))


if __name__ == "__main__":
    main()
