"""Run every benchmark script in bench/ (bench_*.py) one after another; each prints its own figures.

Most need PostgreSQL: set DATABASE_URL (default postgres://postgres@127.0.0.1:5432/tongxin_bench).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tongxin_bench")
    failures = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        failures += subprocess.call([sys.executable, str(script)], env=env) != 0
    return failures


if __name__ == "__main__":
    raise SystemExit(main())
