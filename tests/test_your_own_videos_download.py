"""vidlearn.download: the opt-in route to the official UCF101 archives and torchvision weights, exercised with
file:// URLs of local files only (nothing here, or anywhere in the tests, touches the network)."""

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from vidlearn import create_model
from vidlearn.data import UCF101, write_video
from vidlearn.download import (
    TORCHVISION_WEIGHTS,
    DownloadError,
    download,
    extract,
    fetch_torchvision_weights,
    fetch_ucf101,
    hash_prefix,
    on_colab,
)

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "your_own_videos.ipynb"


def _url(path: Path) -> str:
    return path.resolve().as_uri()


def test_weights_urls_are_torchvisions_own():
    from torchvision.models import video

    for model, enum in [("r3d_18", video.R3D_18_Weights), ("mc3_18", video.MC3_18_Weights),
                        ("r2plus1d_18", video.R2Plus1D_18_Weights)]:
        assert TORCHVISION_WEIGHTS[model] == enum.KINETICS400_V1.url
    assert hash_prefix(TORCHVISION_WEIGHTS["r2plus1d_18"]) == "91a641e6"
    assert hash_prefix("file:///x/classInd.zip") is None


def test_download_copies_a_file_url_verifies_it_and_keeps_a_good_copy(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"video bytes" * 1000)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    seen = []
    out = download(_url(src), tmp_path / "out" / "a.bin", sha256=digest, progress=lambda n, t: seen.append((n, t)))
    assert out.read_bytes() == src.read_bytes() and seen[-1] == (11000, 11000)
    src.write_bytes(b"changed")  # a verified copy is kept: the URL is not read again
    assert download(_url(src), out, sha256=digest).read_bytes() == b"video bytes" * 1000


def test_a_file_that_does_not_verify_is_refused_and_nothing_is_left(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"abc")
    with pytest.raises(DownloadError, match="SHA-256 .* expected 0+"):
        download(_url(src), tmp_path / "out.bin", sha256="0" * 64)
    with pytest.raises(DownloadError, match="does not start with deadbeef"):
        download(_url(src), tmp_path / "w-deadbeef.pth")  # the prefix in the name is checked
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.bin"]  # no file, no temporary


def test_download_names_a_missing_source_and_refuses_other_schemes(tmp_path):
    with pytest.raises(DownloadError, match="cannot download .*nothing.bin"):
        download(_url(tmp_path / "nothing.bin"), tmp_path / "x.bin")
    with pytest.raises(ValueError, match="https://"):
        download("ftp://example.org/x.zip", tmp_path / "x.zip")
    assert not (tmp_path / "x.bin").exists()


def test_torchvision_weights_route_loads_the_downloaded_file(tmp_path):
    torch.manual_seed(0)
    model = create_model("r2plus1d_18", tiny=True, num_classes=3)
    served = tmp_path / "served" / "tmp.pth"
    served.parent.mkdir()
    torch.save(model.state_dict(), served)
    prefix = hashlib.sha256(served.read_bytes()).hexdigest()[:8]
    named = served.rename(served.with_name(f"r2plus1d_18-{prefix}.pth"))  # torchvision's naming
    path = fetch_torchvision_weights(url=_url(named), folder=tmp_path / "weights")
    assert path == tmp_path / "weights" / named.name
    again = create_model("r2plus1d_18", tiny=True, num_classes=3, weights=path).eval()
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), again(x))
    with pytest.raises(ValueError, match="r2plus1d_18"):
        fetch_torchvision_weights("resnet50", tmp_path)


def _zip(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_extract_refuses_members_that_leave_the_folder_and_writes_nothing(tmp_path):
    for bad in ("../evil.txt", "/abs/evil.txt", "ok/../../evil.txt"):
        archive = _zip(tmp_path / "bad.zip", {"fine.txt": "x", bad: "y"})
        with pytest.raises(DownloadError, match="outside the destination"):
            extract(archive, tmp_path / "out")
        assert list((tmp_path / "out").iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()
    with pytest.raises(ValueError, match=".zip or .rar"):
        extract(tmp_path / "x.tar", tmp_path / "out")


def test_extract_finds_a_damaged_archive(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"ucfTrainTestlist/classInd.txt": "1 A\r\n" * 50})
    data = bytearray(archive.read_bytes())
    data[40] ^= 0xFF  # a flipped bit inside the member's stored bytes
    archive.write_bytes(bytes(data))
    with pytest.raises((DownloadError, zipfile.BadZipFile)):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "ucfTrainTestlist").exists()


def test_fetch_ucf101_unpacks_the_official_layout_that_ucf101_reads(tmp_path):
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    clip = write_video(tmp_path / "clip.avi", frames, fps=4).read_bytes()
    videos = {f"UCF-101/{c}/v_{c}_g{g:02d}_c01.avi": clip for c in ("YoYo", "Archery") for g in (1, 8)}
    splits = {"ucfTrainTestlist/classInd.txt": "1 YoYo\r\n2 Archery\r\n",
              "ucfTrainTestlist/trainlist01.txt": "YoYo/v_YoYo_g08_c01.avi 1\r\nArchery/v_Archery_g08_c01.avi 2\r\n",
              "ucfTrainTestlist/testlist01.txt": "YoYo/v_YoYo_g01_c01.avi\r\nArchery/v_Archery_g01_c01.avi\r\n"}
    served = tmp_path / "served"
    served.mkdir()
    v_url, s_url = _url(_zip(served / "UCF101.zip", videos)), _url(_zip(served / "splits.zip", splits))
    root = fetch_ucf101(tmp_path / "data", videos_url=v_url, splits_url=s_url)
    assert root == tmp_path / "data" / "UCF-101"
    test = UCF101(root, split=1, train=False, frames=2)
    assert test.classes == ["YoYo", "Archery"] and [y for _, y in test.samples] == [0, 1]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["UCF-101", "ucfTrainTestlist"]
    (served / "UCF101.zip").unlink()  # already unpacked: not fetched again
    assert fetch_ucf101(tmp_path / "data", videos_url=v_url, splits_url=s_url) == root


def test_the_rar_route_says_which_programs_it_needs(tmp_path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda tool: None)
    (tmp_path / "UCF101.rar").write_bytes(b"Rar!")
    with pytest.raises(DownloadError, match="unrar, 7z or bsdtar"):
        extract(tmp_path / "UCF101.rar", tmp_path / "out")


def test_the_chapter_downloads_nothing_unless_its_one_flag_is_set():
    assert not on_colab()
    cells = ["".join(c["source"]) for c in json.loads(CHAPTER.read_text())["cells"] if c["cell_type"] == "code"]
    calling = [src for src in cells if "fetch_ucf101(" in src or "fetch_torchvision_weights(" in src]
    assert len(calling) == 1, "the opt-in route lives in one cell"
    src = calling[0]
    assert src.count("USE_OFFICIAL_DATA = False") == 1 and sum("USE_OFFICIAL_DATA = " in c for c in cells) == 1
    flag_if = src.index("if USE_OFFICIAL_DATA:")
    for line in src.splitlines():
        if "fetch_ucf101(" in line or "fetch_torchvision_weights(" in line:
            assert line.startswith("    ") and src.index(line) > flag_if, line


def test_importing_vidlearn_loads_no_download_code():
    import subprocess
    import sys

    code = ("import sys, vidlearn, vidlearn.data, vidlearn.train, vidlearn.flow; "
            "print('vidlearn.download' in sys.modules, 'urllib.request' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == "False"
