"""Fast checks of the Colab reproduction script (the run itself is `make colab-check`)."""

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("colab_repro", HERE / "colab_repro.py")
colab_repro = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(colab_repro)


def test_the_setup_cell_is_run_with_only_its_url_replaced(tmp_path):
    original = colab_repro.setup_cell_source()
    local = colab_repro.colab_setup_source(tmp_path)
    remote = f"git+{colab_repro.repository_url()}@main"
    assert local == original.replace(remote, tmp_path.as_uri())
    assert f'"vidlearn[samples] @ {tmp_path.as_uri()}"' in local
    compile(local, "setup-cell", "exec")


def test_colab_packages_are_pinned_like_requirements():
    assert colab_repro.pinned("torch").startswith("torch==")
    assert colab_repro.pinned("ipywidgets==7.7.1") == "ipywidgets==7.7.1"
    assert colab_repro.pinned("no-such-package") == "no-such-package"
    names = [p.split("=")[0] for p in colab_repro.COLAB_PREINSTALLED]
    assert "vidlearn" not in names and "einops" not in names  # those must come from vidlearn's own requirements


def test_the_copied_tree_is_installable():
    files = colab_repro.working_tree_files()
    assert "pyproject.toml" in files and "vidlearn/__init__.py" in files
    assert not any(f.startswith((".venv/", "_build/")) for f in files)
