"""Does `pip install vidlearn` work with wheels alone everywhere students are?  (`make wheel-check`)

Builds vidlearn's wheel from this tree, then asks uv to resolve that wheel's dependencies (and the
`samples` and `flow` extras) for each target platform and Python with ``--only-binary :all:``, the way an
installer on that machine would: uv evaluates environment markers for the *target* (pip's ``--platform``
dry run evaluates them for the host, and wrongly fails Windows on torch's Linux-only dependencies). A
dependency without a wheel for some target fails this check.

Usage: python tests/packaging/check_wheels.py [--uv PATH]; exit status 0 when every pair resolves.
Resolution asks the package index (PyPI), nothing else; nothing is installed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (uv's --python-platform, what a reader calls it)
PLATFORMS = [
    ("x86_64-manylinux_2_28", "Linux x86_64"),
    ("aarch64-manylinux_2_28", "Linux aarch64"),
    ("aarch64-apple-darwin", "macOS arm64 (Apple silicon)"),
    ("x86_64-pc-windows-msvc", "Windows x86_64"),
]
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
EXTRAS = "samples,flow"


def build_wheel(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(ROOT)], check=True)
    wheels = sorted(out.glob("vidlearn-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one vidlearn wheel in {out}, found {[w.name for w in wheels]}")
    return wheels[0]


def resolve(uv: str, wheel: Path, platform: str, python: str, work: Path) -> tuple[bool, str, list[str]]:
    req = work / "requirements.in"
    req.write_text(f"vidlearn[{EXTRAS}] @ {wheel.as_uri()}\n")
    out = work / f"{platform}-{python}.txt"
    r = subprocess.run([uv, "pip", "compile", "--quiet", "--no-header", "--python-platform", platform,
                        "--python-version", python, "--only-binary", ":all:",
                        str(req), "-o", str(out)], capture_output=True, text=True)
    pins = [ln.split("==")[0] for ln in out.read_text().splitlines()
            if "==" in ln and not ln.startswith("#")] if r.returncode == 0 else []
    return r.returncode == 0, (r.stderr or r.stdout).strip(), pins


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uv", default=shutil.which("uv"), help="the uv executable (default: uv on PATH)")
    args = ap.parse_args()
    if not args.uv:
        raise SystemExit("uv not found: pip install uv (make wheel-check installs it)")
    start = time.perf_counter()
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wheel = build_wheel(work / "dist")
        print(f"resolving {wheel.name}[{EXTRAS}] with wheels only")
        for platform, label in PLATFORMS:
            for python in PYTHONS:
                ok, said, pins = resolve(args.uv, wheel, platform, python, work)
                video = [p for p in ("decord", "av", "torchcodec") if p in pins]
                line = f"  {label:28s} Python {python}: "
                print(line + (f"ok ({len(pins)} packages; video: {', '.join(video) or 'none'})" if ok
                              else "FAILED"))
                if not ok:
                    failed.append(f"{label} / Python {python}")
                    print("    " + "\n    ".join(said.splitlines()[-6:]))
    n = len(PLATFORMS) * len(PYTHONS)
    print(f"{n - len(failed)} of {n} platform x Python pairs resolve with wheels only "
          f"({time.perf_counter() - start:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
