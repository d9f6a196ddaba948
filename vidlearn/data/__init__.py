"""Data for video models: a synthetic laboratory, real video folders, video I/O, samplers, transforms.

>>> from vidlearn.data import SyntheticActions, VideoFolder, read_video, sample_videos
>>> train = SyntheticActions("motion", num_samples=320, frames=8, size=32, seed=0)
>>> clip, label = train[0]                            # float32 (3, 8, 32, 32) in [0, 1], int
>>> frames = read_video(sample_videos()["bikes"], [0, 10, 20])   # uint8 (3, 272, 640, 3)

Samplers (``vidlearn.data.samplers``) choose frame indices; transforms (``vidlearn.data.transforms``) crop,
flip and normalise clips ``(C, T, H, W)`` with one set of parameters for every frame.
"""

from vidlearn.data import samplers, transforms
from vidlearn.data.datasets import HMDB51, UCF101, Kinetics
from vidlearn.data.folder import VIDEO_EXTENSIONS, VideoFolder
from vidlearn.data.formats import MissingVideosWarning
from vidlearn.data.io import VideoReadError, get_frames, open_video, read_video, video_info, write_video
from vidlearn.data.kinetics import KINETICS400_CLASSES
from vidlearn.data.memory import InMemoryClips, in_memory, without_transform
from vidlearn.data.samplers import DenseSampler, MultiViewSampler, SegmentSampler, SlowFastSampler, UniformSampler
from vidlearn.data.samples import SAMPLE_NAMES, sample_video, sample_videos
from vidlearn.data.synthetic import (
    BINDING_CLASSES,
    EVENT_TYPES,
    LONG_CLASSES,
    LONG_MATCH_CLASSES,
    MOTION_CLASSES,
    NORMALIZE,
    SyntheticActions,
    write_video_folder,
)

__all__ = [
    "SyntheticActions", "write_video_folder", "MOTION_CLASSES", "LONG_CLASSES", "LONG_MATCH_CLASSES", "EVENT_TYPES",
    "BINDING_CLASSES",
    "VideoFolder", "VIDEO_EXTENSIONS", "MissingVideosWarning", "UCF101", "HMDB51", "Kinetics",
    "KINETICS400_CLASSES",
    "read_video", "video_info", "write_video", "open_video", "get_frames", "VideoReadError",
    "sample_videos", "sample_video", "SAMPLE_NAMES",
    "samplers", "transforms", "in_memory", "InMemoryClips", "without_transform", "NORMALIZE",
    "UniformSampler", "DenseSampler", "SegmentSampler", "SlowFastSampler", "MultiViewSampler",
]
