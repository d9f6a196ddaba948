"""Do what Colab does with a chapter, without the network: `make colab-check`.

1. A fresh virtual environment (no system site-packages) holding only what Colab preinstalls and
   vidlearn relies on: torch, torchvision, numpy, plotly, matplotlib, tqdm, OpenCV, ipywidgets 7,
   ipykernel and nbclient (versions from requirements.txt where it pins them, so pip's cache serves them).
2. The working tree as the repository Colab would clone: its tracked and untracked-but-not-ignored files,
   copied to a scratch directory.
3. The chapters' setup cell itself (tests/test_notebooks.py `setup_cell_source()`), run in that
   environment with `google.colab` present, the only change being the `git+URL@main` requirement
   pointing at the copy (`file://...`). So vidlearn and every dependency it declares come from that one
   pip command.
4. The chapter(s) executed top to bottom at VIDLEARN_SCALE=ci in a kernel of that environment, from a
   scratch working directory (so `import vidlearn` can only find the installed package), with a last
   cell that checks where vidlearn was imported from.

Usage: python tests/colab/colab_repro.py [book/deepvideo.ipynb ...] [--keep]
The executed notebooks are written to _build/colab/. Exit status 0 when every chapter ran.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from test_notebooks import repository_url, setup_cell_source  # noqa: E402

# What a Colab runtime has before the setup cell runs and vidlearn uses. Everything else vidlearn needs
# (einops, decord, av, scikit-video, ...) must come from its own requirements.
COLAB_PREINSTALLED = ["torch", "torchvision", "numpy", "plotly", "matplotlib", "tqdm",
                      "opencv-contrib-python-headless", "ipykernel", "ipywidgets==7.7.1", "nbclient==0.11.0",
                      "nbformat==5.11.1"]

EXECUTE = r'''
import sys, nbformat
from nbclient import NotebookClient
src, dst, cwd = sys.argv[1:4]
nb = nbformat.read(src, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import sys, vidlearn\n"
    "assert vidlearn.__file__.startswith(sys.prefix), f'vidlearn imported from {vidlearn.__file__}, not {sys.prefix}'\n"
    "print('vidlearn', vidlearn.__version__, 'from', vidlearn.__file__)"))
client = NotebookClient(nb, timeout=900, kernel_name="vidlearn-colab", resources={"metadata": {"path": cwd}})
try:
    client.execute()
finally:
    nbformat.write(nb, dst)
print(nb.cells[-1].outputs[0]["text"].strip())
'''


def pinned(name: str) -> str:
    """`name==version` as requirements.txt pins it, else `name` as given."""
    if "=" in name or "<" in name or ">" in name:
        return name
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(rf"^{re.escape(name)}==(\S+)", line.strip(), re.I)
        if m:
            return f"{name}=={m.group(1)}"
    return name


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


def run(cmd, step, **kwargs):
    t0 = time.monotonic()
    print(f"[colab] {step} ...", flush=True)
    subprocess.run(cmd, check=True, **kwargs)
    print(f"[colab] {step}: {time.monotonic() - t0:.0f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", default=["book/deepvideo.ipynb"])
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (venv, tree copy)")
    args = parser.parse_args()
    chapters = [(ROOT / c).resolve() for c in args.chapters]
    for chapter in chapters:
        assert chapter.is_file(), f"no chapter {chapter}"

    t_start = time.monotonic()
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
    failed = []
    try:
        run([sys.executable, "-m", "venv", str(venv)], "fresh virtual environment", env=env)
        preinstalled = [pinned(p) for p in COLAB_PREINSTALLED]
        # --no-compile: no .pyc for torch's thousands of modules up front (they compile as they are imported)
        run([py, "-m", "pip", "install", "-q", "--no-compile", *preinstalled],
            "what Colab preinstalls: " + " ".join(preinstalled), env=env, cwd=cwd)

        for rel in working_tree_files():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, tree / rel)
        source = colab_setup_source(tree)
        boot = ("import sys, types\n"
                "sys.modules['google.colab'] = types.ModuleType('google.colab')  # as on Colab\n" + source)
        print("[colab] setup cell as run:\n" + "\n".join("    " + line for line in source.splitlines()), flush=True)
        run([py, "-c", boot], "the chapters' setup cell", env=env, cwd=cwd)
        run([py, "-m", "pip", "check"], "pip check", env=env, cwd=cwd)
        run([py, "-m", "ipykernel", "install", "--sys-prefix", "--name", "vidlearn-colab"], "kernel", env=env,
            cwd=cwd, stdout=subprocess.DEVNULL)

        for chapter in chapters:
            try:
                run([py, "-c", EXECUTE, str(chapter), str(out / chapter.name), str(cwd)],
                    f"{chapter.relative_to(ROOT)} at VIDLEARN_SCALE=ci", env=env, cwd=cwd)
            except subprocess.CalledProcessError:
                failed.append(chapter.name)
                print(f"[colab] {chapter.name} FAILED: see {out / chapter.name}", flush=True)
    finally:
        if args.keep:
            print(f"[colab] kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"[colab] total: {time.monotonic() - t_start:.0f} s")
    print(f"colab-check: {len(chapters) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
