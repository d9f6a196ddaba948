"""Do what Colab does with the chapters, without a Colab account: `make colab-check`.

1. Colab's interpreter: Python of the minor version `colab-image.txt` names (3.13). Taken from
   `$COLAB_PYTHON`, the PATH, pyenv or /usr, else built once from CPython's source (the tarball Debian
   distributes, checked against its SHA-256) into `_build/tools/`, the build taking about 3 minutes on 2 cores.
2. A fresh virtual environment (no system site-packages) with what Colab's image preinstalls, at the image's
   versions from `tests/colab/colab-image.txt` (torch's CUDA build from PyPI, about 2.6 GB of wheels), in the
   file's order, so that `import cv2` finds the OpenCV wheel Colab's finds.
3. The working tree as the repository Colab would clone: its tracked and untracked-but-not-ignored files,
   copied to a scratch directory.
4. The chapters' setup cell itself (tests/test_notebooks.py `setup_cell_source()`), run in that
   environment with `google.colab` present, the only change being the `git+URL@main` requirement
   pointing at the copy (`file://...`). So vidlearn and every dependency it adds on top of the image come from
   that one pip command, and `pip check` must pass after it.
5. Every chapter (or those named) executed top to bottom at VIDLEARN_SCALE=ci in a kernel of that environment,
   two at a time with one torch thread each, from a scratch working directory (so `import vidlearn` can only
   find the installed package), with a last cell that checks where vidlearn was imported from and reports
   the OpenCV it found and the flow methods it can run.
6. As on a Colab GPU runtime, which most readers choose: each kernel starts with the pretend GPU of
   tests/pretend_gpu.py (an IPython startup file), so vidlearn's device="auto" trains on "cuda:0" and any
   cell that mixes the GPU's tensors with the CPU's fails with CUDA's own error. `--cpu-runtime` leaves it out
   (Colab's CPU runtime: the same as our own nbval run, with Colab's versions).

Usage: python tests/colab/colab_repro.py [book/deepvideo.ipynb ...] [--workers N] [--cpu-runtime] [--keep]
The executed notebooks are written to _build/colab/. Exit status 0 when every chapter ran.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from test_notebooks import repository_url, setup_cell_source  # noqa: E402

IMAGE = Path(__file__).resolve().with_name("colab-image.txt")
TOOLS = ROOT / "_build" / "tools"
TIMES = ROOT / "_build" / ".jupyter_cache" / "nbval-seconds.jsonl"  # make notebooks' times: longest first

# CPython's source for the fallback build, as Debian distributes it (the .orig tarball is upstream's own)
CPYTHON_SOURCES = {
    "3.13": ("http://deb.debian.org/debian/pool/main/p/python3.13/python3.13_3.13.5.orig.tar.xz",
             "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"),
}
BUILD_DEPENDS = ["build-essential", "libssl-dev", "zlib1g-dev", "libffi-dev", "libsqlite3-dev", "libbz2-dev",
                 "liblzma-dev", "libreadline-dev", "uuid-dev"]

EXECUTE = r'''
import sys, nbformat
from nbclient import NotebookClient
src, dst, cwd = sys.argv[1:4]
nb = nbformat.read(src, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import sys, cv2, vidlearn, vidlearn.train.loop\n"
    "from vidlearn.flow import available_flow_methods\n"
    "assert vidlearn.__file__.startswith(sys.prefix), f'vidlearn imported from {vidlearn.__file__}, not {sys.prefix}'\n"
    "print('vidlearn', vidlearn.__version__, 'from', vidlearn.__file__, '| Python', sys.version.split()[0],\n"
    "      '| cv2', cv2.__version__, '| flow methods', ', '.join(available_flow_methods()),\n"
    "      '| device auto:', vidlearn.train.loop.resolve_device('auto'))"))
client = NotebookClient(nb, timeout=900, kernel_name="vidlearn-colab", resources={"metadata": {"path": cwd}})
try:
    client.execute()
finally:
    nbformat.write(nb, dst)
print(nb.cells[-1].outputs[0]["text"].strip())
'''


def read_image(path: Path = IMAGE) -> tuple[str, list[list[str]]]:
    """The image's Python minor version and its packages as pip commands, in the file's order.

    Every line is ``name==version``. ``python==X.Y`` names the interpreter. The OpenCV wheels share one
    ``cv2`` folder, so each is installed by its own pip command, in order; all other packages go in the first.
    """
    python, first, opencv = None, [], []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([A-Za-z0-9_.+-]+)", line)
        if not m:
            raise ValueError(f"{path}:{n}: expected 'name==version', got {raw!r}")
        name, version = m.groups()
        if name.lower() == "python":
            if not re.fullmatch(r"\d+\.\d+", version):
                raise ValueError(f"{path}:{n}: expected the interpreter as 'python==X.Y', got {raw!r}")
            python = version
        elif name.lower().startswith("opencv"):
            opencv.append([line])
        else:
            first.append(line)
    if python is None:
        raise ValueError(f"{path}: no 'python==X.Y' line")
    return python, [first, *opencv]


def _version_of(python: str) -> str | None:
    """`X.Y` of an interpreter that runs and has venv, ssl and sqlite3; None for one that does not."""
    try:
        out = subprocess.run([python, "-c", "import sys, venv, ssl, sqlite3; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def find_python(minor: str) -> str | None:
    """A working Python `minor` on this machine: $COLAB_PYTHON, PATH, pyenv, /usr, or an earlier build."""
    candidates = [os.environ.get("COLAB_PYTHON"), shutil.which(f"python{minor}"),
                  *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{minor}*/bin/python{minor}"))),
                  f"/usr/bin/python{minor}", f"/usr/local/bin/python{minor}",
                  str(TOOLS / f"python{minor}" / "bin" / f"python{minor}")]
    for cand in candidates:
        if cand and _version_of(cand) == minor:
            return cand
    return None


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo"]


def build_python(minor: str) -> str:
    """Build CPython `minor` from source into _build/tools/python<minor> (no PGO: a few minutes)."""
    url, sha256 = CPYTHON_SOURCES[minor]
    prefix = TOOLS / f"python{minor}"
    missing = [p for p in BUILD_DEPENDS if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
    if missing:
        run([*_sudo(), "apt-get", "update", "-qq"], "apt-get update")
        run([*_sudo(), "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", *missing],
            "Debian's build dependencies: " + " ".join(missing))
    work = Path(tempfile.mkdtemp(prefix="vidlearn-cpython-"))
    try:
        tarball = work / url.rsplit("/", 1)[1]
        print(f"[colab] downloading {url}", flush=True)
        with urllib.request.urlopen(url, timeout=120) as r, open(tarball, "wb") as f:
            shutil.copyfileobj(r, f)
        got = hashlib.sha256(tarball.read_bytes()).hexdigest()
        if got != sha256:
            raise RuntimeError(f"{url}: SHA-256 {got}, expected {sha256}")
        run(["tar", "xJf", str(tarball), "-C", str(work)], "unpack CPython")
        src = next(p for p in work.iterdir() if p.is_dir())
        shutil.rmtree(prefix, ignore_errors=True)  # a half-built one from an interrupted run
        run(["./configure", "-q", f"--prefix={prefix}"], "configure CPython", cwd=src, stdout=subprocess.DEVNULL)
        run(["make", "-s", f"-j{os.cpu_count() or 2}"], "build CPython", cwd=src, stdout=subprocess.DEVNULL)
        run(["make", "-s", "altinstall"], "install CPython", cwd=src, stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return str(prefix / "bin" / f"python{minor}")


def colab_python(minor: str) -> str:
    python = find_python(minor)
    if python is None:
        print(f"[colab] no working Python {minor} on this machine: building it from source", flush=True)
        python = build_python(minor)
        if _version_of(python) != minor:
            raise RuntimeError(f"the Python built at {python} is not a working {minor}")
    print(f"[colab] Python {minor}: {python}", flush=True)
    return python


def working_tree_files() -> list[str]:
    """The files a clone of the repository would hold once this tree is committed."""
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        return [f for f in out.split("\0") if f and (ROOT / f).is_file()]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: the package itself is enough
        return [str(p.relative_to(ROOT)) for p in [ROOT / "pyproject.toml", ROOT / "README.md",
                                                    *(ROOT / "vidlearn").rglob("*.py")] if p.is_file()]


def colab_setup_source(tree: Path) -> str:
    """The setup cell, with the repository URL replaced by the local copy of the tree."""
    source = setup_cell_source()
    remote = f"git+{repository_url()}@main"
    assert source.count(remote) == 1, f"the setup cell no longer installs {remote!r}: update {__file__}"
    return source.replace(remote, tree.resolve().as_uri())


def pretend_gpu_startup(ipython_dir: Path) -> Path:
    """An IPython directory whose startup file installs tests/pretend_gpu.py in every kernel started with it."""
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "tests" / "pretend_gpu.py", ipython_dir / "pretend_gpu.py")
    (startup / "00-pretend-gpu.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ipython_dir)!r})\nimport pretend_gpu\npretend_gpu.install()\n"
        "sys.path.pop(0)\n")
    return ipython_dir


def chapters_longest_first(chapters: list[Path]) -> list[Path]:
    """Longest first by make notebooks' times when they are there (two workers finish closer together)."""
    seconds = {}
    if TIMES.is_file():
        for line in TIMES.read_text().splitlines():
            try:
                row = json.loads(line)
                seconds[Path(row["nodeid"].split("::")[0]).name] = float(row["seconds"])
            except (ValueError, KeyError, TypeError):
                continue
    return sorted(chapters, key=lambda c: -seconds.get(c.name, 0.0))


# `pip check` lines that are known and harmless: decord 0.6.0's wheel is named py3-none-manylinux2010_x86_64 (so
# pip installs it on any Python 3) but its WHEEL file says cp36-cp36m, which pip >= 24.1 checks and reports. Its
# library is loaded with ctypes, so it works on 3.13 (the chapters that read video run it).
PIP_CHECK_KNOWN = (re.compile(r"^decord 0\.6\.0 is not supported on this platform$"),)


def pip_check(py, env, cwd) -> None:
    """`pip check`, failing on any line but the known ones above (which are printed as notes)."""
    print("[colab] pip check ...", flush=True)
    proc = subprocess.run([py, "-m", "pip", "check"], env=env, cwd=cwd, capture_output=True, text=True)
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines()
             if ln.strip() and not ln.startswith("WARNING:") and ln.strip() != "No broken requirements found."]
    unknown = [ln for ln in lines if not any(k.match(ln.strip()) for k in PIP_CHECK_KNOWN)]
    for ln in lines:
        print(f"[colab] pip check: {ln}" + ("" if ln in unknown else "  (known, harmless: see PIP_CHECK_KNOWN)"))
    if unknown or (proc.returncode and not lines):
        raise RuntimeError(f"pip check failed in the Colab environment:\n{proc.stdout}{proc.stderr}")
    print("[colab] pip check: passed", flush=True)


def run(cmd, step, **kwargs):
    t0 = time.monotonic()
    print(f"[colab] {step} ...", flush=True)
    subprocess.run(cmd, check=True, **kwargs)
    print(f"[colab] {step}: {time.monotonic() - t0:.0f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="default: every chapter in book/")
    parser.add_argument("--workers", type=int, default=2, help="chapters at a time (one torch thread each)")
    parser.add_argument("--cpu-runtime", action="store_true", help="no pretend GPU in the kernels")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (venv, tree copy)")
    args = parser.parse_args()
    chapters = [(ROOT / c).resolve() for c in args.chapters] or sorted((ROOT / "book").glob("*.ipynb"))
    for chapter in chapters:
        assert chapter.is_file(), f"no chapter {chapter}"
    chapters = chapters_longest_first(chapters)

    t_start = time.monotonic()
    minor, installs = read_image()
    python = colab_python(minor)
    scratch = Path(tempfile.mkdtemp(prefix="vidlearn-colab-"))
    venv, tree, cwd = scratch / "venv", scratch / "repo", scratch / "content"
    out = ROOT / "_build" / "colab"
    out.mkdir(parents=True, exist_ok=True)
    cwd.mkdir()
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith("JUPYTER")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               VIDLEARN_SCALE="ci", VIDLEARN_PROGRESS="0", PYTHONNOUSERSITE="1",
               JUPYTER_DATA_DIR=str(scratch / "jupyter"), MPLBACKEND="Agg")
    kernel_env = dict(env, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1") if args.workers > 1 else dict(env)
    if not args.cpu_runtime:
        kernel_env["IPYTHONDIR"] = str(pretend_gpu_startup(scratch / "ipython"))
    runtime = "CPU runtime" if args.cpu_runtime else "GPU runtime (pretend GPU)"
    failed, seconds = [], {}
    try:
        run([python, "-m", "venv", str(venv)], f"fresh virtual environment (Python {minor})", env=env)
        for packages in installs:
            # --no-compile: no .pyc for torch's thousands of modules up front (they compile as they are imported)
            run([py, "-m", "pip", "install", "-q", "--no-compile", *packages],
                "Colab's preinstalled " + " ".join(packages), env=env, cwd=cwd)

        for rel in working_tree_files():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, tree / rel)
        source = colab_setup_source(tree)
        boot = ("import sys, types\n"
                "sys.modules['google.colab'] = types.ModuleType('google.colab')  # as on Colab\n" + source)
        print("[colab] setup cell as run:\n" + "\n".join("    " + line for line in source.splitlines()), flush=True)
        run([py, "-c", boot], "the chapters' setup cell", env=env, cwd=cwd)
        pip_check(py, env, cwd)
        run([py, "-m", "ipykernel", "install", "--sys-prefix", "--name", "vidlearn-colab"], "kernel", env=env,
            cwd=cwd, stdout=subprocess.DEVNULL)

        def execute(chapter: Path) -> None:
            rel = chapter.relative_to(ROOT)
            t0 = time.monotonic()
            # each chapter in its own working directory, as each Colab notebook gets its own runtime
            work = cwd / chapter.stem
            work.mkdir()
            proc = subprocess.run([py, "-c", EXECUTE, str(chapter), str(out / chapter.name), str(work)],
                                  env=kernel_env, cwd=work, capture_output=True, text=True)
            seconds[chapter.name] = time.monotonic() - t0
            if proc.returncode:
                failed.append(chapter.name)
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
                print(f"[colab] {rel} FAILED after {seconds[chapter.name]:.0f} s (see {out / chapter.name}):\n{tail}",
                      flush=True)
            elif not args.cpu_runtime and "device auto: cuda:0" not in proc.stdout:
                failed.append(chapter.name)
                print(f"[colab] {rel}: the pretend GPU was not active in its kernel:\n{proc.stdout}", flush=True)
            else:
                print(f"[colab] {rel} at VIDLEARN_SCALE=ci, {runtime}: {seconds[chapter.name]:.0f} s | "
                      f"{proc.stdout.strip().splitlines()[-1]}", flush=True)

        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
            list(pool.map(execute, chapters))
        print(f"[colab] {len(chapters)} chapters, {args.workers} at a time: {time.monotonic() - t0:.0f} s", flush=True)
    finally:
        if args.keep:
            print(f"[colab] kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"[colab] total: {time.monotonic() - t_start:.0f} s")
    print(f"colab-check: {len(chapters) - len(failed)} passed, {len(failed)} failed"
          + (f" ({', '.join(sorted(failed))})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
