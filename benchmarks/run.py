"""`make bench`: vidlearn against its peers, one printed line per comparison, as ratios measured in one run.

Each comparison times its contenders interleaved in this process (median of alternating repeats), because
the machines are shared and noisy; absolute times are for orientation, the ratios are the result. Nothing
here is asserted in the tests.

    python benchmarks/run.py                     # everything (about 20 minutes on 2 busy cores)
    python benchmarks/run.py resnets timesformer # some sections
    python benchmarks/run.py --threads 2         # torch threads (default 1: steadier on a shared machine)

Sections: resnets (r3d_18, mc3_18, r2plus1d_18 vs torchvision), timesformer (divided vs Hugging Face
transformers), schemes (the five attention schemes per frame count), video (VideoFolder vs PyAV),
generation (synthetic data vs tiny-model training), flow (DIS / Farneback / TV-L1 speed), cache (flow cache
second epoch).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the sibling modules, also under `python -m`

import torch  # noqa: E402
from bench_data import flow_cache_epochs, flow_speed, generation_vs_training, video_folder_vs_pyav  # noqa: E402
from bench_models import resnets, timesformer_schemes, timesformer_vs_hf  # noqa: E402

SECTIONS = {
    "resnets": resnets,
    "timesformer": timesformer_vs_hf,
    "schemes": timesformer_schemes,
    "video": video_folder_vs_pyav,
    "generation": generation_vs_training,
    "flow": flow_speed,
    "cache": flow_cache_epochs,
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", help=f"some of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} CPU cores, "
          f"{platform.processor() or platform.machine()}, load average {os.getloadavg()[0]:.1f}", flush=True)
    for name in args.sections or SECTIONS:
        t0 = time.perf_counter()
        print(f"--- {name}", flush=True)
        SECTIONS[name]()
        print(f"    ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
