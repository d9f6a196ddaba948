"""Checker for the chapter "Your own videos": a train/test split that keeps every UCF101 group on one side.

UCF101's clips ``v_<Class>_g<GG>_c<CC>.avi`` are cut from 25 source videos (groups) per class; clips of one
group share the actor, the place and the camera. The official splits test on whole groups (split 1: groups
1-7), so that a model is measured on people and places it has not seen
(:func:`vidlearn.data.ucf101_layout.ucf101_group_split` is the reference).
"""

from __future__ import annotations

import random
from typing import Callable, List, Sequence, Tuple

from vidlearn.data.ucf101_layout import parse_ucf101_name, ucf101_group_split, ucf101_name
from vidlearn.exercises import _check, _Mismatch

__all__ = ["check_group_split"]

_CLASSES = ("ApplyEyeMakeup", "Biking", "YoYo", "PlayingCello")


def _videos(rng: random.Random, groups: int, clips: int) -> List[str]:
    names = [f"{c}/{ucf101_name(c, g, k)}" for c in _CLASSES for g in range(1, groups + 1)
             for k in range(1, rng.randint(1, clips) + 1)]
    rng.shuffle(names)
    return names


def _as_lists(got, on: str) -> Tuple[List[str], List[str]]:
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        raise _Mismatch(f"on {on}, expected a pair (train, test) of lists of paths, got {type(got).__name__}"
                        + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""))
    train, test = got
    if not all(isinstance(x, (list, tuple)) for x in (train, test)):
        raise _Mismatch(f"on {on}, train and test should be lists of paths, got {type(train).__name__} and "
                        f"{type(test).__name__}")
    return list(train), list(test)


def _leaks(train: Sequence[str], test: Sequence[str]) -> List[str]:
    seen = {parse_ucf101_name(v)[:2] for v in train}
    return [v for v in test if parse_ucf101_name(v)[:2] in seen]


def check_group_split(fn: Callable[[List[str], Sequence[int]], Tuple[List[str], List[str]]]) -> bool:
    """Check ``fn(videos, test_groups) -> (train, test)`` on shuffled lists of UCF101 clip paths.

    ``videos``: ``<Class>/v_<Class>_gGG_cCC.avi`` paths; ``test_groups``: group numbers (e.g. 1..7). A clip
    goes to test when its group (``GG``) is one of them, to train otherwise; both lists keep the input order.
    Returns True when right.
    """
    hint = ("the group is the number after '_g' in the file name (v_Biking_g08_c01.avi is group 8); parse it "
            "with int(name.split('_g')[1][:2]) or a regular expression, and keep the input order.")

    def body(call) -> List[str]:
        rng = random.Random(0)
        tried = []
        for groups, clips, test_groups in [(25, 4, range(1, 8)), (9, 3, (4, 5, 6)), (6, 2, (1,)), (12, 7, (3, 11))]:
            videos = _videos(rng, groups, clips)
            test_groups = list(test_groups)
            on = f"{len(videos)} clips of groups 1-{groups}, test groups {test_groups}"
            train, test = _as_lists(call(on, list(videos), list(test_groups)), on)
            strangers = [v for v in train + test if v not in videos]
            if strangers:
                raise _Mismatch(f"on {on}, the lists should hold the input paths as they are, got {strangers[0]!r}")
            want_train, want_test = ucf101_group_split(videos, test_groups)
            if sorted(train) == sorted(want_test) and sorted(test) == sorted(want_train):
                raise _Mismatch(f"on {on}, train and test are swapped: the test groups go to test")
            leaked = _leaks(train, test)
            if leaked:
                raise _Mismatch(f"on {on}, clips of one group are on both sides (e.g. {leaked[0]}): a split must "
                                "keep every group on one side")
            if sorted(train) != sorted(want_train) or sorted(test) != sorted(want_test):
                extra = sorted(set(test) - set(want_test))[:1] or sorted(set(train) - set(want_train))[:1]
                where = f" (e.g. {extra[0]} is on the wrong side)" if extra else ""
                raise _Mismatch(f"on {on}, expected {len(want_train)} train and {len(want_test)} test clips, got "
                                f"{len(train)} and {len(test)}{where}; is the group the number after '_g'?")
            if train != want_train or test != want_test:
                raise _Mismatch(f"on {on}, the right clips, but not in the order of the input list: keep it")
            tried.append(f"{len(videos)} clips")
        return tried

    return _check("group split", fn, hint, body)
