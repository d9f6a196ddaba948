"""The book's one table of published numbers: every number a chapter or figure quotes from a paper.

Each :class:`Number` carries its source (the paper's key in ``book/references.bib`` and the table or section),
the dataset and split it was measured on, and its setting (backbone, modalities, pre-training, views, input
size). Code cells and the figure modules in :mod:`vidlearn.viz` read numbers from here (``number(key)``,
``fmt(key)``, ``label(key)``), never type them; chapter prose may write a number out for readers in Jupyter and
Colab, and ``tests/test_published.py`` checks that every published-looking number in a chapter, ``intro.md`` or a
figure module is a value of this table. :data:`PAPERS` holds each paper's metadata and headline numbers, which
both timelines (introduction and summary) draw.

``note`` says how the number was checked while the book was written: against the paper's abstract, an
official repository's README or model zoo, or only as the seed survey (Zhu et al. 2020, arXiv 2012.06567, as
the book's digest retells it) states it. Where the survey's figure differs from the paper's, the entry keeps the
paper's ``value``, the survey's in ``survey``, and why in ``note``; the chapter shows both. Numbers that could
be checked against neither were removed from the book.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple


@dataclass(frozen=True)
class Number:
    """One published number and where it comes from."""

    key: str  # dotted, "<paper>.<what>", e.g. "slowfast.r50_8x8.gmacs"
    value: float
    unit: str  # "%" (accuracy), "mAP", "GMACs" (multiply-adds, 1e9), "M params", "s/frame", "frames", ...
    paper: str  # key in book/references.bib
    where: str  # "Table 2", "Sec. 4.1", "Fig. 3"
    dataset: str = ""  # "Kinetics-400 val", "UCF101 (mean of 3 splits)"; "" for costs
    setting: str = ""  # backbone, modalities, pre-training, views, input size
    survey: Optional[float] = None  # the seed survey's figure, when it differs from the paper's
    note: str = ""  # what else a reader must know (why survey and paper differ, ...)


_SURVEY = ("the seed survey's figure (Zhu et al. 2020 as the book's digest retells it), not checked against the "
           "paper here")
_README = "checked against the official repository's README"

_NUMBERS: List[Number] = [
    # --- era 1: DeepVideo ---
    Number("deepvideo.ucf101", 65.4, "%", "karpathy2014large", "Sec. 4.2 (UCF-101 transfer)",
           "UCF101 (3 splits)", "slow fusion, Sports-1M pre-trained, top 3 layers fine-tuned",
           note=_SURVEY + "; the paper's abstract quotes 63.3% for retraining the top layers only"),
    Number("deepvideo.sports1m.single_frame", 59.3, "%", "karpathy2014large", "abstract (Table 1)",
           "Sports-1M test, video hit@1", "single-frame network, AlexNet-like, from scratch",
           note="checked against the paper's abstract"),
    Number("deepvideo.sports1m.slow_fusion", 60.9, "%", "karpathy2014large", "abstract (Table 1)",
           "Sports-1M test, video hit@1", "slow fusion over T = 10 frames, from scratch",
           note="checked against the paper's abstract"),
    Number("deepvideo.early_fusion.frames", 10, "frames", "karpathy2014large", "Sec. 3.1 (early fusion)",
           setting="temporal extent of the first convolution's filters", survey=5,
           note="the survey's digest retells early fusion with 5 frames (15 input channels); the book builds "
                "the paper's T = 10 and says so in the DeepVideo chapter"),
    Number("idt.ucf101", 87.9, "%", "wang2013action", "as the survey quotes it", "UCF101 (3 splits)",
           "improved dense trajectories, Fisher vectors (hand-crafted)", note=_SURVEY),
    # --- era 2: Two-Stream and its variants ---
    Number("two_stream.ucf101", 88.0, "%", "simonyan2014two", "Table 4 (as the survey quotes it)",
           "UCF101 (3 splits)", "spatial + temporal CNN-M-2048 streams, L = 10 flow fields, SVM fusion",
           note=_SURVEY + " (88%)"),
    Number("two_stream.flow_seconds", 0.06, "s/frame", "simonyan2014two", "Sec. 5 (implementation details)",
           setting="optical flow of one frame pair with the method of Brox et al. (2004), OpenCV's GPU implementation",
           note="the paper's own text; the flow method is Brox et al.'s, not TV-L1 (which TSN and I3D use)"),
    # the survey's case against optical flow (digest Sec. 4.1), which the C3D chapter opens with
    Number("survey.flow.tvl1_seconds", 0.06, "s/frame", "zhu2020comprehensive", "Sec. 4.1 of the digest",
           setting="TV-L1 optical flow of one frame pair, GPU implementation", note=_SURVEY),
    Number("survey.flow.ucf101_hours", 50, "hours", "zhu2020comprehensive", "Sec. 4.1 of the digest",
           "UCF101", "TV-L1 flow of every second frame of about 3 million frames, one GPU", note=_SURVEY),
    Number("survey.flow.ucf101_storage", 27, "GB", "zhu2020comprehensive", "Sec. 4.1 of the digest", "UCF101",
           "all of UCF101's flow, stored as JPEG images", note=_SURVEY),
    Number("survey.flow.k400_storage", 500, "GB", "zhu2020comprehensive", "Sec. 4.1 of the digest",
           "Kinetics-400", "all of Kinetics-400's flow, stored as JPEG images (about)", note=_SURVEY),
    Number("survey.flow.tvl1_fps", 15, "fps", "zhu2020comprehensive", "Sec. 4.1 of the digest",
           setting="TV-L1 alone at 0.06 s a frame, before any network runs", note=_SURVEY),
    Number("survey.realtime_fps", 25, "fps", "zhu2020comprehensive", "Sec. 4.1 of the digest",
           setting="the frame rate a real-time system must keep up with", note=_SURVEY),
    Number("snippets.sports1m.lstm", 73.1, "%", "ng2015beyond", "abstract", "Sports-1M test, video hit@1",
           "LSTM over 30 frames, GoogLeNet features", note="checked against the paper's abstract"),
    Number("snippets.ucf101.lstm_flow", 88.6, "%", "ng2015beyond", "abstract", "UCF101 (3 splits)",
           "LSTM over frame features + optical flow, GoogLeNet", note="checked against the paper's abstract"),
    Number("snippets.ucf101.convpool_flow", 88.2, "%", "ng2015beyond", "abstract (first arXiv version)",
           "UCF101 (3 splits)", "conv pooling over 120 frames + optical flow, GoogLeNet",
           note="the first version's abstract quotes 88.2% (conv pooling), the final one 88.6% (LSTM)"),
    Number("snippets.pooling_variants", 5, "variants", "ng2015beyond", "Sec. 3.1 and Figure 2 (a)-(e)",
           setting="feature-pooling architectures compared: conv, late, slow and local pooling, time-domain "
                   "convolution",
           survey=6,
           note="the survey's digest says the paper explored six pooling methods; the paper's Figure 2 draws "
                "five, and those are what vidlearn's conv_pooling builds (its LSTM is the paper's other family, "
                "not a pooling); the count is checked against our reading of the paper, not its PDF, here"),
    Number("fusion.ucf101", 92.5, "%", "feichtenhofer2016convolutional", "comparison with the state of the "
           "art (the paper's last table)", "UCF101 (3 splits)",
           "VGG-16 towers, conv fusion at conv5 + 3D conv + 3D pooling, temporal branch, ImageNet pre-trained",
           survey=91.5,
           note="the survey's digest says 'about 91.5%' without naming the setting; the book keeps the paper's "
                "92.5% and shows both in the Fusion chapter; neither is checked against the paper here"),
    Number("tsn.ucf101", 94.0, "%", "wang2016temporal", "Table 5 (RGB + optical flow)", "UCF101 (3 splits)",
           "BN-Inception, RGB + flow, K = 3 segments, ImageNet pre-trained",
           note=_SURVEY + " ('about 94%'); the RGB + flow model that vidlearn's tsn_two_stream builds"),
    Number("tsn.ucf101.three_modalities", 94.2, "%", "wang2016temporal", "abstract", "UCF101 (3 splits)",
           "BN-Inception, RGB + flow + warped flow", note="checked against the paper's abstract"),
    Number("tsn.hmdb51.three_modalities", 69.4, "%", "wang2016temporal", "abstract", "HMDB51 (3 splits)",
           "BN-Inception, RGB + flow + warped flow", note="checked against the paper's abstract"),
    Number("tsn.ucf101.later", 95, "%", "zhu2020comprehensive", "Sec. 3 (TSN's successors)", "UCF101",
           "TSN with global encodings (Fisher vectors, VLAD) on top of the segments",
           note="the survey's 'above 95%', a lower bound"),
    Number("tsn.flow_length", 5, "frames", "wang2016temporal", "Sec. 3.2 / 4.1", setting="L, stacked optical "
           "flow fields per snippet", survey=10,
           note="the survey's digest says 10 flow fields per snippet (Two-Stream's L); TSN uses 5"),
    # --- era 3: 3D CNNs ---
    Number("c3d.ucf101.one_net", 82.3, "%", "tran2015learning", "Table 3 (as the survey quotes it)",
           "UCF101 (3 splits)", "C3D fc6 features (1 net, Sports-1M), linear SVM", note=_SURVEY),
    Number("c3d.ucf101.three_nets", 85.2, "%", "tran2015learning", "Table 3 (as the survey quotes it)",
           "UCF101 (3 splits)", "3 C3D nets, linear SVM", note=_SURVEY),
    Number("c3d.ucf101.with_idt", 90.4, "%", "tran2015learning", "Table 3 (as the survey quotes it)",
           "UCF101 (3 splits)", "C3D + iDT, linear SVM", note=_SURVEY),
    Number("i3d.ucf101", 98.0, "%", "carreira2017quo", "abstract (Table 4)", "UCF101 (3 splits)",
           "two-stream I3D, ImageNet + Kinetics pre-trained, fine-tuned; whole videos, centre crops",
           note="checked against the paper's abstract (98.0% on UCF-101, 80.9% on HMDB-51); the survey quotes "
                "98%"),
    Number("i3d.k400.rgb", 71.1, "%", "carreira2017quo", "Table 2 / official README", "Kinetics-400 test, top-1",
           "RGB I3D (Inception-v1), ImageNet + Kinetics; tested on whole videos, 224 x 224 centre crops",
           note=_README + " (deepmind/kinetics-i3d)"),
    Number("i3d.k400.flow", 63.4, "%", "carreira2017quo", "Table 2 / official README", "Kinetics-400 test, top-1",
           "flow I3D, ImageNet + Kinetics; tested on whole videos, 224 x 224 centre crops",
           note=_README + " (deepmind/kinetics-i3d)"),
    Number("i3d.k400.two_stream", 74.2, "%", "carreira2017quo", "Table 2 / official README",
           "Kinetics-400 test, top-1",
           "two-stream I3D (RGB + flow), ImageNet + Kinetics; tested on whole videos, 224 x 224 centre crops",
           note=_README + " (deepmind/kinetics-i3d)"),
    Number("i3d.rgb.params", 12.69, "M params", "carreira2017quo", "released RGB checkpoint",
           setting="RGB I3D (Inception-v1 inflated), 400 classes",
           note="the released deepmind/kinetics-i3d RGB checkpoint as OpenVINO's model card counts it (12.69 M); "
                "the paper's Table 1 rounds to 12M; vidlearn's i3d has exactly this count"),
    Number("nonlocal.k400.c2d_r50", 71.8, "%", "wang2018non", "Table 2 / official README ('paper' column)",
           "Kinetics-400 val, top-1", "C2D ResNet-50, 32 frames, ImageNet pre-trained, 10 clips x 3 crops",
           note=_README + " (facebookresearch/video-nonlocal-net)"),
    Number("nonlocal.k400.nl_c2d_r50", 73.8, "%", "wang2018non", "Table 2 / official README ('paper' column)",
           "Kinetics-400 val, top-1", "C2D ResNet-50 + 5 non-local blocks, 32 frames, ImageNet pre-trained, "
           "10 clips x 3 crops",
           note=_README + " (facebookresearch/video-nonlocal-net)"),
    Number("nonlocal.k400.i3d_r50", 73.3, "%", "wang2018non", "Table 2 / official README ('paper' column)",
           "Kinetics-400 val, top-1", "I3D ResNet-50 (3x1x1 inflation), 32 frames, ImageNet pre-trained, "
           "10 clips x 3 crops",
           note=_README + " (facebookresearch/video-nonlocal-net; the TSM README quotes the same 73.3%)"),
    Number("nonlocal.k400.nl_i3d_r50", 74.9, "%", "wang2018non", "Table 2 / official README ('paper' column)",
           "Kinetics-400 val, top-1", "I3D ResNet-50 + 5 non-local blocks, 32 frames, ImageNet pre-trained, "
           "10 clips x 3 crops",
           note=_README + " (facebookresearch/video-nonlocal-net)"),
    Number("nonlocal.k400.nl_i3d_r50_128f", 76.5, "%", "wang2018non", "Table 2 / official README ('paper' "
           "column)", "Kinetics-400 val, top-1", "NL I3D ResNet-50, 128 frames, initialised from the 32-frame "
           "model, 10 clips x 3 crops", note=_README + " (facebookresearch/video-nonlocal-net)"),
    Number("r2plus1d.k400.rgb", 72.0, "%", "tran2018closer", "Table 6", "Kinetics-400 val, top-1",
           "R(2+1)D-34, RGB, 32 frames, trained from scratch; video top-1: clip predictions averaged over "
           "each video (the number of clips not checked here)",
           note="checked against Papers with Code's listing of the paper's results"),
    Number("r2plus1d.k400.flow", 67.5, "%", "tran2018closer", "Table 6", "Kinetics-400 val, top-1",
           "R(2+1)D-34, optical flow, trained from scratch; video top-1: clip predictions averaged over "
           "each video (the number of clips not checked here)",
           note="checked against Papers with Code's listing of the paper's results"),
    Number("tsm.k400.tsn_r50", 70.6, "%", "lin2019tsm", "Table 1 / official README", "Kinetics-400 val, top-1",
           "TSN ResNet-50 (2D), 8 frames x 10 clips, dense sampling, ImageNet pre-trained",
           note=_README + " (mit-han-lab/temporal-shift-module)"),
    Number("tsm.k400.r50", 74.1, "%", "lin2019tsm", "Table 1 / official README", "Kinetics-400 val, top-1",
           "TSM ResNet-50, 8 frames x 10 clips, dense sampling, ImageNet pre-trained",
           note=_README + " (mit-han-lab/temporal-shift-module)"),
    Number("tsm.sthv1.r50_8f", 45.6, "%", "lin2019tsm", "official README (Something-Something-V1 table)",
           "Something-Something V1 val, top-1", "TSM ResNet-50, 8 frames, centre crop x 1 clip, Kinetics "
           "pre-trained", note=_README + " (mit-han-lab/temporal-shift-module)"),
    Number("tsm.sthv1.r50_16f", 47.2, "%", "lin2019tsm", "official README (Something-Something-V1 table)",
           "Something-Something V1 val, top-1", "TSM ResNet-50, 16 frames, centre crop x 1 clip",
           note=_README + " (mit-han-lab/temporal-shift-module)"),
    Number("tsm.online.latency_nano", 13, "ms", "lin2019tsm", "abstract", setting="online TSM, per frame, "
           "NVIDIA Jetson Nano", note="checked against the paper's abstract"),
    Number("slowfast.k400.best", 79.8, "%", "feichtenhofer2019slowfast", "Table 2", "Kinetics-400 val, top-1",
           "SlowFast 16x8, ResNet-101 + non-local, from scratch, 10 clips x 3 crops",
           note=_SURVEY + " (also in Papers with Code's listing)"),
    Number("slowfast.k400.abstract", 79.0, "%", "feichtenhofer2019slowfast", "abstract", "Kinetics-400 val, "
           "top-1", "SlowFast, no pre-training; 10 clips x 3 crops of 256 x 256 (the paper's test protocol)",
           note="checked against the paper's abstract"),
    Number("slowfast.ava", 28.3, "mAP", "feichtenhofer2019slowfast", "abstract", "AVA v2.1 val, frame mAP",
           "SlowFast detector, Kinetics-600 pre-trained", note="checked against the paper's abstract"),
    Number("slowfast.k400.slow_4x16", 72.7, "%", "feichtenhofer2019slowfast", "official MODEL_ZOO.md",
           "Kinetics-400 val, top-1", "Slow-only 4x16, ResNet-50, from scratch, 3 crops x 10 clips",
           note="PySlowFast's released model (facebookresearch/SlowFast MODEL_ZOO.md); the book's earlier "
                "72.6% (the paper's Table 3) could not be checked here"),
    Number("slowfast.k400.slowfast_4x16", 75.6, "%", "feichtenhofer2019slowfast", "official MODEL_ZOO.md",
           "Kinetics-400 val, top-1", "SlowFast 4x16, ResNet-50, from scratch, 3 crops x 10 clips",
           note="PySlowFast's released model (facebookresearch/SlowFast MODEL_ZOO.md)"),
    Number("slowfast.fast_share", 20, "%", "feichtenhofer2019slowfast", "Sec. 3.2", setting="the Fast pathway's "
           "share of the total computation (beta = 1/8)", note=_SURVEY + " ('about 20%')"),
    Number("slowfast.p_cells", 80, "%", "feichtenhofer2019slowfast", "Sec. 1 (biological motivation)",
           setting="share of retinal ganglion cells that are P-cells", note=_SURVEY + " ('about 80%')"),
    Number("slowfast.m_cells_low", 15, "%", "feichtenhofer2019slowfast", "Sec. 1 (biological motivation)",
           setting="share of retinal ganglion cells that are M-cells, lower end", note=_SURVEY + " ('15-20%')"),
    Number("slowfast.m_cells_high", 20, "%", "feichtenhofer2019slowfast", "Sec. 1 (biological motivation)",
           setting="share of retinal ganglion cells that are M-cells, upper end", note=_SURVEY + " ('15-20%')"),
    # --- era 3: model costs (parameters, multiply-adds) the models are checked against ---
    Number("nonlocal.c2d_r101_32x224.mparams", 43.2, "M params", "wang2018non", "Table 2e",
           setting="C2D ResNet-101 baseline, 32x224x224 input, 400 classes",
           note="the only absolute cost in the paper; Table 2e gives the other models relative to it"),
    Number("nonlocal.c2d_r101_32x224.gmacs", 34.2, "GMACs", "wang2018non", "Table 2e",
           setting="C2D ResNet-101 baseline, 32x224x224 input",
           note="the paper's '34.2B FLOPs' are multiply-adds (the ResNet convention)"),
    Number("nonlocal.i3d311_r101.params_ratio", 1.2, "x C2D", "wang2018non", "Table 2e",
           setting="I3D 3x1x1 ResNet-101 vs the C2D ResNet-101, 32x224x224"),
    Number("nonlocal.i3d311_r101.gmacs_ratio", 1.5, "x C2D", "wang2018non", "Table 2e",
           setting="I3D 3x1x1 ResNet-101 vs the C2D ResNet-101, 32x224x224"),
    Number("nonlocal.nl5_c2d_r101.params_ratio", 1.2, "x C2D", "wang2018non", "Table 2e",
           setting="C2D ResNet-101 + 5 non-local blocks vs the C2D ResNet-101, 32x224x224"),
    Number("nonlocal.nl5_c2d_r101.gmacs_ratio", 1.2, "x C2D", "wang2018non", "Table 2e",
           setting="C2D ResNet-101 + 5 non-local blocks vs the C2D ResNet-101, 32x224x224"),
    Number("nonlocal.nl5_c2d_r50.params_vs_c2d_r101", 0.7, "x C2D R101", "wang2018non", "Sec. 5.1",
           setting="C2D ResNet-50 + 5 non-local blocks vs the C2D ResNet-101, 32x224x224",
           note="'only ~70% parameters and ~80% FLOPs of the ResNet-101 baseline'"),
    Number("nonlocal.nl5_c2d_r50.gmacs_vs_c2d_r101", 0.8, "x C2D R101", "wang2018non", "Sec. 5.1",
           setting="C2D ResNet-50 + 5 non-local blocks vs the C2D ResNet-101, 32x224x224",
           note="'only ~70% parameters and ~80% FLOPs of the ResNet-101 baseline'"),
    Number("slowfast.r50_8x8.gmacs", 65.7, "GMACs", "feichtenhofer2019slowfast", "Table 2",
           setting="SlowFast 8x8 ResNet-50, one 256x256 view (tested with 3 x 10 views)",
           note="the paper's GFLOPs are multiply-adds"),
    Number("slowfast.r50_8x8.mparams", 34.6, "M params", "feichtenhofer2019slowfast", "Table 2",
           setting="SlowFast 8x8 ResNet-50 (alpha=4, 7x1x1 laterals in the official SLOWFAST_8x8_R50 config)",
           note="34.57 M unrounded: the count of the official configuration, which slowfast_r50_8x8 matches"),
    # --- era 4: Video Transformers ---
    Number("timesformer.k400", 77.9, "%", "bertasius2021space", "official README (model zoo)",
           "Kinetics-400 val, top-1", "TimeSformer (divided space-time), 8 x 224 x 224, ImageNet-21K pre-trained, "
           "1 clip x 3 crops (the paper's test protocol)",
           note=_README + " (facebookresearch/TimeSformer); the released model"),
    Number("timesformer.k400.large", 80.6, "%", "bertasius2021space", "official README (model zoo)",
           "Kinetics-400 val, top-1", "TimeSformer-L, 96 x 224 x 224, ImageNet-21K pre-trained, 1 clip x 3 crops "
           "(the paper's test protocol)",
           note=_README + " (facebookresearch/TimeSformer); the released model"),
    Number("timesformer.gpu_memory", 32, "GB", "bertasius2021space", "official README (training)",
           setting="GPU memory the README asks for to train TimeSformer-HR and TimeSformer-L",
           note=_README + " ('GPUs with ~32GB of memory'; the authors trained on 32 GB V100s)"),
    Number("mvit.k400.b_16x4", 78.4, "%", "fan2021multiscale", "official MODEL_ZOO.md", "Kinetics-400 val, top-1",
           "MViT-B 16x4, 16 x 224 x 224, from scratch (no external pre-training), 1 x 5 views",
           note=_README + " (facebookresearch/SlowFast MODEL_ZOO.md, Kinetics/MVIT_B_16x4_CONV)"),
    Number("mvit.b_16x4.gmacs", 70.5, "GMACs", "fan2021multiscale", "Table 3",
           setting="MViT-B 16x4, one 16 x 224 x 224 view (tested with 1 x 5 views)",
           note="the paper's GFLOPs are multiply-adds; the paper's table was not re-read here: torchvision's model "
                "table gives 70.599 for mvit_v1_b, whose weights vidlearn's model loads with identical outputs"),
    Number("mvit.b_16x4.mparams", 36.6, "M params", "fan2021multiscale", "Table 3",
           setting="MViT-B 16x4, Kinetics-400 head",
           note="36,610,672 unrounded (torchvision's mvit_v1_b and vidlearn's); the paper's table not re-read here"),
    Number("mvitv2.k400.s_16x4", 81.0, "%", "li2022mvitv2", "official projects/mvitv2/README.md",
           "Kinetics-400 val, top-1", "MViTv2-S 16x4, 16 x 224 x 224, 1 x 5 views",
           note=_README + " (facebookresearch/SlowFast projects/mvitv2)"),
    Number("mvitv2.s_16x4.gmacs", 64, "GMACs", "li2022mvitv2", "official projects/mvitv2/README.md",
           setting="MViTv2-S 16x4, one 16 x 224 x 224 view (tested with 1 x 5 views)",
           note=_README + "; torchvision's table: 64.224"),
    Number("mvitv2.s_16x4.mparams", 34.5, "M params", "li2022mvitv2", "official projects/mvitv2/README.md",
           setting="MViTv2-S 16x4, Kinetics-400 head", note="34,537,744 unrounded (torchvision's mvit_v2_s)"),
    Number("vivit.k400", 79.9, "%", "arnab2021vivit", "official README (model zoo)", "Kinetics-400 val, top-1",
           "ViViT-B/16x2, Model 1 (spatio-temporal), 32 x 224 x 224, 4 x 3 views",
           note=_README + " (google-research/scenic, projects/vivit); the released model"),
    Number("vivit.k400.fe", 78.4, "%", "arnab2021vivit", "official README (model zoo)", "Kinetics-400 val, top-1",
           "ViViT-B/16x2 FE, Model 2 (factorised encoder), 32 x 224 x 224, 4 x 3 views",
           note=_README + " (google-research/scenic, projects/vivit); the released model"),
    # --- VideoMAE (Tong et al., NeurIPS 2022): the chapter book/videomae.ipynb ---
    Number("videomae.k400", 81.5, "%", "tong2022videomae", "official MODEL_ZOO.md (Kinetics-400)",
           "Kinetics-400 val, top-1",
           "VideoMAE ViT-B, 16 x 224 x 224, 5 x 3 views, pre-trained 1600 epochs on Kinetics-400 (no extra data)",
           note=_README + " (MCG-NJU/VideoMAE MODEL_ZOO.md, the 16x5x3 ViT-B row)"),
    Number("videomae.ssv2", 70.8, "%", "tong2022videomae", "official MODEL_ZOO.md (Something-Something V2)",
           "Something-Something V2 val, top-1",
           "VideoMAE ViT-B, 16 x 224 x 224, 2 x 3 views, pre-trained 2400 epochs on SSv2 (no extra data)",
           note=_README + " (MCG-NJU/VideoMAE MODEL_ZOO.md, the 16x2x3 ViT-B row)"),
    Number("videomae.mask_ratio", 90, "%", "tong2022videomae", "Sec. 3 and the official pretrain scripts",
           setting="share of the tubelets hidden by tube masking in pre-training",
           note=_README + " (scripts ..._tubemasking_ratio_0.9_...); the paper's default ratio"),
]

NUMBERS: Dict[str, Number] = {}
for _n in _NUMBERS:
    if _n.key in NUMBERS:
        raise ValueError(f"published number {_n.key!r} is listed twice")
    NUMBERS[_n.key] = _n


def number(key: str) -> Number:
    """The published number ``key``; a ``KeyError`` naming close keys when it is not in the table."""
    try:
        return NUMBERS[key]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(key, list(NUMBERS), n=5, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"no published number {key!r} in vidlearn.published{hint}") from None


def fmt(key: str, decimals: Optional[int] = None) -> str:
    """The number ``key`` as a chapter writes it: ``"92.5%"``, ``"28.3 mAP"``, ``"32 GB"``, ``"12.69 M params"``.

    ``decimals`` defaults to the fewest that show the value, and at least one for a measured accuracy (one with a
    dataset), as the papers print them: ``fmt("two_stream.ucf101")`` is ``"88.0%"``, ``fmt(key, 0)`` ``"88%"``.
    """
    n = number(key)
    if decimals is None:
        shown = repr(float(n.value))
        decimals = 0 if shown.endswith(".0") else len(shown.split(".")[1])
        if n.unit in ("%", "mAP") and n.dataset:  # a measured accuracy: one decimal, as the papers print it
            decimals = max(decimals, 1)
    text = f"{n.value:.{decimals}f}"
    return f"{text}%" if n.unit == "%" else f"{text} {n.unit}"


def cite(key: str) -> str:
    """Where ``key`` comes from, in words: ``"wang2016temporal, abstract; UCF101 (3 splits); BN-Inception, ..."``."""
    n = number(key)
    parts = [f"{n.paper}, {n.where}"] + [p for p in (n.dataset, n.setting) if p]
    return "; ".join(parts)


def label(key: str) -> str:
    """``"65.4% on UCF101 (3 splits): slow fusion, Sports-1M pre-trained, ..."``: a number with its conditions."""
    n = number(key)
    where = f" on {n.dataset}" if n.dataset else ""
    return f"{fmt(key)}{where}: {n.setting}" if n.setting else f"{fmt(key)}{where}"


@dataclass(frozen=True)
class Paper:
    """One paper of the book's history: what the timelines (intro and summary) draw for it.

    ``numbers`` are keys of :data:`NUMBERS`, the paper's headline results (both figures show them);
    ``finding`` is the result in words, for papers whose headline is not one number on UCF101 or Kinetics.
    """

    name: str
    year: float  # publication year (fraction = month / 12, so points in one year do not overlap)
    era: str
    venue: str
    idea: str
    cite: str  # key in book/references.bib
    model: str  # the vidlearn registered name of its representative model
    numbers: Tuple[str, ...] = ()
    finding: str = ""

    def _on(self, dataset: str) -> Optional[float]:
        vals = [NUMBERS[k].value for k in self.numbers if NUMBERS[k].dataset.startswith(dataset)]
        return vals[0] if vals else None

    @property
    def ucf101(self) -> Optional[float]:
        """The headline UCF101 top-1 (%), or ``None``."""
        return self._on("UCF101")

    @property
    def k400(self) -> Optional[float]:
        """The headline Kinetics-400 top-1 (%), or ``None``."""
        return self._on("Kinetics-400")


PAPERS: List[Paper] = [
    Paper("DeepVideo", 2014.45, "DeepVideo", "CVPR 2014", "a 2D CNN on frames; single, late, early and slow "
          "fusion of time", "karpathy2014large", "slow_fusion", ("deepvideo.ucf101",),
          "all fusions within a point or two of each other, far below hand-crafted iDT"),
    Paper("Two-Stream", 2014.9, "Two-Stream", "NeurIPS 2014", "an RGB stream for appearance + a stacked "
          "optical-flow stream for motion, late fusion", "simonyan2014two", "two_stream", ("two_stream.ucf101",),
          "on a par with iDT"),
    Paper("Beyond Short Snippets", 2015.45, "Two-Stream", "CVPR 2015", "conv pooling and LSTMs over many "
          "frames' features", "ng2015beyond", "lstm_snippets", ("snippets.ucf101.lstm_flow",),
          "hardly above Two-Stream on short UCF101 clips"),
    Paper("C3D", 2015.95, "3D CNNs", "ICCV 2015", "3x3x3 convolutions learn spatio-temporal features directly",
          "tran2015learning", "c3d", ("c3d.ucf101.one_net",), "a generic video descriptor (fc6 + linear SVM)"),
    Paper("Two-Stream Fusion", 2016.45, "Two-Stream", "CVPR 2016", "fuse the streams at conv5 with 3D conv + 3D "
          "pooling", "feichtenhofer2016convolutional", "fusion_two_stream", ("fusion.ucf101",),
          "conv fusion matches late fusion with half the parameters"),
    Paper("TSN", 2016.7, "Two-Stream", "ECCV 2016", "K segments, one snippet each, segmental consensus; "
          "training practices", "wang2016temporal", "tsn_two_stream", ("tsn.ucf101",),
          "sparse sampling over the whole video"),
    Paper("I3D", 2017.5, "3D CNNs", "CVPR 2017", "inflate ImageNet 2D networks into 3D; the Kinetics data set",
          "carreira2017quo", "i3d", ("i3d.ucf101", "i3d.k400.two_stream"), "Kinetics pre-training"),
    Paper("Non-local", 2018.45, "3D CNNs", "CVPR 2018", "self-attention over all space-time positions",
          "wang2018non", "nl_i3d_r50", ("nonlocal.k400.nl_i3d_r50_128f",),
          "non-local blocks lift both C2D and I3D"),
    Paper("R(2+1)D", 2018.5, "3D CNNs", "CVPR 2018", "factor a 3D conv into a 2D spatial and a 1D temporal conv",
          "tran2018closer", "r2plus1d_18", ("r2plus1d.k400.rgb",),
          "best of R2D, MCx, rMCx, R3D and R(2+1)D from scratch; easier to optimise"),
    Paper("TSM", 2019.75, "3D CNNs", "ICCV 2019", "shift channels along time: 3D modelling at 2D cost",
          "lin2019tsm", "tsm_r50", ("tsm.k400.r50",), "a 2D CNN with shifts rivals 3D CNNs at a 2D CNN's cost"),
    Paper("SlowFast", 2019.8, "3D CNNs", "ICCV 2019", "a slow, wide pathway for appearance and a fast, thin one "
          "for motion", "feichtenhofer2019slowfast", "slowfast_r50", ("slowfast.k400.best",),
          "the Fast pathway adds accuracy for little computation"),
    Paper("TimeSformer", 2021.1, "Video Transformers", "ICML 2021", "ViT on space-time patches; divided "
          "space-time attention", "bertasius2021space", "timesformer", ("timesformer.k400.large",),
          "attention alone, no convolutions"),
    Paper("ViViT", 2021.8, "Video Transformers", "ICCV 2021", "tubelet tokens and four ways to factorise "
          "attention over space and time", "arnab2021vivit", "vivit_b_16x2", ("vivit.k400",),
          "joint attention over tubelets is the most accurate; a factorised encoder the cheapest"),
    Paper("MViT", 2021.82, "Video Transformers", "ICCV 2021", "multiscale stages: fewer tokens, more channels "
          "as the network goes deeper", "fan2021multiscale", "mvit_v1_b", ("mvit.k400.b_16x4",),
          "a transformer with a CNN's pyramid, trained from scratch on Kinetics"),
    Paper("MViTv2", 2022.45, "Video Transformers", "CVPR 2022", "MViT with decomposed relative positions and "
          "residual pooling", "li2022mvitv2", "mvit_v2_s", ("mvitv2.k400.s_16x4",),
          "better accuracy at about the same cost"),
    Paper("VideoMAE", 2022.9, "Video Transformers", "NeurIPS 2022", "masked-autoencoder pre-training with tube "
          "masking at a 90% ratio", "tong2022videomae", "videomae_b", ("videomae.k400",),
          "self-supervised on the video data itself, no ImageNet"),
]


def paper(name: str) -> Paper:
    """The entry of :data:`PAPERS` called ``name`` (``"TSN"``, ``"I3D"``, ...)."""
    for p in PAPERS:
        if p.name == name:
            return p
    raise KeyError(f"no paper {name!r} in vidlearn.published.PAPERS; known: {[p.name for p in PAPERS]}")


__all__ = ["Number", "NUMBERS", "number", "fmt", "cite", "label", "Paper", "PAPERS", "paper"]


# ------------------------------------------------------------------------------------------------------
# Appended for the chapter "Your own videos": torchvision's released R(2+1)D-18 weights and the Colab T4.
# Kept as one block after the table so that it merges cleanly; registered like every entry above.
_TORCHVISION_META = ("read from the metadata of the installed torchvision 0.29.1 "
                     "(R2Plus1D_18_Weights.KINETICS400_V1.meta), which torchvision's model documentation prints")
_T4_SPEC = ("NVIDIA's T4 product page and datasheet, as third-party specification listings repeat them; the "
            "datasheet itself was not re-read here")
_YOUR_OWN_VIDEOS: List[Number] = [
    Number("torchvision.r2plus1d_18.k400", 67.463, "%", "torchvision2016",
           "R2Plus1D_18_Weights.KINETICS400_V1 (acc@1)", "Kinetics-400 val, video-level top-1",
           "torchvision r2plus1d_18, clips of 16 frames at 15 fps, 5 clips per video, 112 x 112 centre crop",
           note=_TORCHVISION_META),
    Number("torchvision.r2plus1d_18.gmacs", 40.519, "GMACs", "torchvision2016",
           "R2Plus1D_18_Weights.KINETICS400_V1 ('GFLOPS')", setting="one 16 x 112 x 112 clip",
           note=_TORCHVISION_META + "; torchvision's 'GFLOPS' column counts multiply-adds (ResNet-50: 4.09)"),
    Number("torchvision.r2plus1d_18.mparams", 31.505, "M params", "torchvision2016",
           "R2Plus1D_18_Weights.KINETICS400_V1 (num_params)", setting="r2plus1d_18, Kinetics-400 head",
           note="31,505,325 unrounded; " + _TORCHVISION_META),
    Number("t4.fp16_tflops", 65, "TFLOPS", "nvidia2018t4", "datasheet (peak performance)",
           setting="peak mixed-precision Tensor Core throughput (FP16 products, FP32 sums)", note=_T4_SPEC),
    Number("t4.fp32_tflops", 8.1, "TFLOPS", "nvidia2018t4", "datasheet (peak performance)",
           setting="peak single-precision throughput", note=_T4_SPEC),
    Number("t4.memory", 16, "GB", "nvidia2018t4", "datasheet", setting="GDDR6 memory of one T4 (Colab's GPU)",
           note=_T4_SPEC),
]
for _n in _YOUR_OWN_VIDEOS:
    if _n.key in NUMBERS:
        raise ValueError(f"published number {_n.key!r} is listed twice")
    NUMBERS[_n.key] = _n
_NUMBERS += _YOUR_OWN_VIDEOS
