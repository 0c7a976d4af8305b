"""Find user-facing strings that have no English translation.

The UI's msgids are Simplified Chinese (the default language); English comes from the .po catalogues. This scans
Python sources for ``_()``/``gettext*()``/``pgettext*()`` literals and templates for ``{% translate %}`` and
``{% blocktranslate %}`` blocks, and reports every msgid that contains Chinese but has no translation in any
catalogue. ``python -m tongxin.core.i18n_check`` prints them; a test keeps the list empty.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import polib

BASE = Path(__file__).resolve().parents[2]
HAN = re.compile(r"[\u4e00-\u9fff]")
PY_CALL = re.compile(
    r"""\b(?:_|gettext|gettext_lazy|ngettext|ngettext_lazy|pgettext|pgettext_lazy)\(\s*(?:(["'])(?:[^"'\\]|\\.)*?\1\s*,\s*)?((?:(["'])(?:(?!\3).|\\.)*?\3\s*)+)""",
    re.S,
)
PY_LITERAL = re.compile(r"""(["'])((?:(?!\1)[^\\]|\\.)*)\1""", re.S)
TPL_TRANS = re.compile(r"""{%\s*(?:translate|trans)\s+(["'])(.*?)\1.*?%}""", re.S)
TPL_BLOCK = re.compile(
    r"""{%\s*(?:blocktranslate|blocktrans)\b(.*?)%}(.*?){%\s*(?:endblocktranslate|endblocktrans)\s*%}""", re.S
)
TPL_VAR = re.compile(r"{{\s*([\w.]+)\s*}}")


def _block_msgid(body: str) -> str:
    return TPL_VAR.sub(lambda m: "%(" + m.group(1) + ")s", body)


def used_msgids() -> dict[str, str]:
    """msgid -> first file that uses it (only msgids containing Chinese)."""
    found: dict[str, str] = {}
    for path in sorted(BASE.glob("tongxin/**/*.py")):
        if "migrations" in path.parts or "tests" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for m in PY_CALL.finditer(text):
            parts = [lit.group(2) for lit in PY_LITERAL.finditer(m.group(2))]
            msgid = (
                "".join(parts).encode().decode("unicode_escape") if "\\" in "".join(parts) else "".join(parts)
            )
            if HAN.search(msgid):
                found.setdefault(msgid, str(path.relative_to(BASE)))
    for path in sorted(BASE.glob("tongxin/**/templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        for m in TPL_TRANS.finditer(text):
            if HAN.search(m.group(2)):
                found.setdefault(m.group(2), str(path.relative_to(BASE)))
        for m in TPL_BLOCK.finditer(text):
            if "trimmed" in m.group(1):
                body = " ".join(line.strip() for line in m.group(2).strip().splitlines())
            else:
                body = m.group(2)
            msgid = _block_msgid(re.split(r"{%\s*plural\s*%}", body)[0])
            if HAN.search(msgid):
                found.setdefault(msgid, str(path.relative_to(BASE)))
    return found


def translated(language: str = "en") -> set[str]:
    done: set[str] = set()
    for po_path in [
        *BASE.glob(f"tongxin/locale/{language}/LC_MESSAGES/*.po"),
        *BASE.glob(f"tongxin/*/locale/{language}/LC_MESSAGES/*.po"),
    ]:
        for entry in polib.pofile(str(po_path)):
            if entry.msgstr or entry.msgstr_plural:
                done.add(entry.msgid)
    return done


def missing(language: str = "en") -> dict[str, str]:
    have = translated(language)
    return {msgid: where for msgid, where in used_msgids().items() if msgid not in have}


def _po_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


if __name__ == "__main__":
    gaps = missing()
    if len(sys.argv) > 1 and sys.argv[1] == "--po":
        # ``--po [path prefix]``: .po entries to append to a catalogue (fill in msgstr)
        prefix = sys.argv[2] if len(sys.argv) > 2 else ""
        for msgid, where in sorted(gaps.items(), key=lambda kv: kv[1]):
            if where.startswith(prefix):
                print(f'#: {where}\nmsgid {_po_quote(msgid)}\nmsgstr ""\n')
        sys.exit(0)
    for msgid, where in sorted(gaps.items(), key=lambda kv: kv[1]):
        print(f"{where}\t{msgid!r}")
    print(f"{len(gaps)} msgids without an English translation", file=sys.stderr)
