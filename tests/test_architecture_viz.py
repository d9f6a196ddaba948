"""Architecture diagrams (vidlearn.viz.architecture): what they draw is what the model computes.

Every expected value here is computed independently of the figure code: by calling the model's parts by
hand, by the model's own helpers (``feature_shapes``, ``nonlocal_positions``, ``fusion_point``) or from
the config. Paper-size models are built on the ``meta`` device (shapes without numbers, no cost).
"""

import re

import plotly.graph_objects as go
import pytest
import torch

from vidlearn import create_model
from vidlearn.viz import architecture as A


def _paper(name, **kw):
    with torch.device("meta"):
        return create_model(name, **kw)


def _tiny(name, **kw):
    torch.manual_seed(0)
    return create_model(name, tiny=True, **kw)


BUILD = {"tiny": _tiny, "paper": _paper}


def _texts(fig: go.Figure) -> str:
    """All text a reader sees: title and annotations, tags stripped."""
    parts = [fig.layout.title.text] + [a.text for a in fig.layout.annotations if a.text]
    return re.sub("<[^>]+>", " ", " | ".join(parts))


def _box_texts(fig: go.Figure):
    return [re.sub("<[^>]+>", " ", a.text) for a in fig.layout.annotations if a.text and not a.showarrow]


def _fmt(shape):
    return " × ".join(str(v) for v in shape[1:])


@pytest.mark.parametrize("size", ["tiny", "paper"])
def test_video_resnet_stage_shapes_equal_the_models_own_outputs(size):
    model = BUILD[size]("r2plus1d_18")
    x = model.example_input(batch_size=1)
    x = x.to("meta") if size == "paper" else x
    fig = A.stage_diagram(model, x)
    with torch.no_grad():
        model.eval()
        expected, h = [], model.stem(x)
        expected.append(tuple(h.shape))
        for i in range(1, 5):
            h = getattr(model, f"layer{i}")(h)
            expected.append(tuple(h.shape))
    got = [tuple(r["shape"]) for r in fig.layout.meta["stages"][1:6]]
    assert got == expected
    text = _texts(fig)
    for shape in expected:
        assert _fmt(shape) in text
    assert "conv3_x" in text and "(2+1)D" in text


def test_stage_diagram_restores_training_mode_and_leaves_batchnorm_statistics_alone():
    model = _tiny("r3d_18").train()
    before = model.stem[1].running_mean.clone()
    A.stage_diagram(model)
    assert model.training and torch.equal(before, model.stem[1].running_mean)


@pytest.mark.parametrize("name, labels", [("c3d", ["conv1a, pool1", "conv5a-b, pool5", "fc6"]),
                                          ("i3d", ["inception 4a-4e", "pool4", "inception 5a-5b"])])
@pytest.mark.parametrize("size", ["tiny", "paper"])
def test_c3d_and_i3d_stage_diagrams_name_their_stages(name, labels, size):
    model = BUILD[size](name)
    fig = A.stage_diagram(model)
    text = _texts(fig)
    for label in labels:
        assert label in text
    # the last stage before the head is the network's feature map
    x = model.example_input(batch_size=1).to(next(model.parameters()).device)
    with torch.no_grad():
        feats = model.eval().forward_features(x) if name == "i3d" else model.forward_features(x, "pool5")
    if name == "c3d":
        assert tuple(fig.layout.meta["stages"][5]["shape"]) == tuple(feats.shape)
    else:
        assert fig.layout.meta["stages"][-2]["shape"][1] == feats.shape[1]


def test_c3d_paper_pool5_is_one_step_of_512_by_4_by_4():
    fig = A.stage_diagram(_paper("c3d"))
    assert "512 × 1 × 4 × 4" in _texts(fig)


@pytest.mark.parametrize("size", ["tiny", "paper"])
def test_r2plus1d_block_shows_the_mid_channels_of_its_spatial_convs(size):
    model = BUILD[size]("r2plus1d_18")
    fig = A.r2plus1d_block_diagram(model, stage=2)
    conv = model.layer2[0].conv1[0]
    m = conv[0].out_channels
    assert fig.layout.meta["mid_channels"][0] == m == conv[3].in_channels
    text = _texts(fig)
    assert f"M_i = {m}" in text and "spatial 1×3×3" in text and "temporal 3×1×1" in text
    n_in, n_out = conv[0].in_channels, conv[3].out_channels
    assert fig.layout.meta["params_3d"] == 27 * n_in * n_out
    assert fig.layout.meta["params_2plus1d"] == 9 * n_in * m + 3 * m * n_out
    # spatial first: the spatial conv's output keeps T, the temporal conv then strides it
    spatial, temporal = fig.layout.meta["shapes"]["layer2.0.conv1.0.0"], fig.layout.meta["shapes"]["layer2.0.conv1.0.3"]
    assert spatial[1] == m and spatial[2] == 2 * temporal[2]


def test_r2plus1d_block_refuses_a_model_without_2plus1d_convs():
    with pytest.raises(ValueError, match=r"\(2\+1\)D"):
        A.r2plus1d_block_diagram(_tiny("r3d_18"))


@pytest.mark.parametrize("name, blocks", [("nl_i3d_r50", {"nonlocal_blocks": 5}), ("nl_c2d_r50", {}),
                                          ("i3d_r50", {"nonlocal_blocks": 10}), ("c2d_r50", {"nonlocal_blocks": 1})])
@pytest.mark.parametrize("size", ["tiny", "paper"])
def test_nonlocal_positions_in_the_figure_equal_the_models(name, blocks, size):
    from vidlearn.models.non_local import nonlocal_positions

    model = BUILD[size](name, **blocks)
    fig = A.nonlocal_diagram(model)
    expected = [list(p) for p in nonlocal_positions(model.cfg)]
    assert fig.layout.meta["nonlocal_positions"] == expected
    badges = [t for t in _box_texts(fig) if t.strip().startswith("NL")]
    assert len(badges) == sum(len(p) for p in expected) == len(model.nonlocal_blocks())


def test_nonlocal_badge_counts_the_positions_the_block_relates():
    model = _paper("nl_i3d_r50")
    fig = A.nonlocal_diagram(model)
    res3 = fig.layout.meta["shapes"]["layer2"]  # the NL blocks of res3 see res3's maps
    n = res3[2] * res3[3] * res3[4]
    assert any(t.split() == ["NL", str(n)] for t in _box_texts(fig))


@pytest.mark.parametrize("name", ["slowfast_r50", "slowfast_r50_8x8"])
@pytest.mark.parametrize("size", ["tiny", "paper"])
def test_slowfast_pathway_and_lateral_shapes_match_feature_shapes(name, size):
    model = BUILD[size](name)
    fig = A.slowfast_diagram(model)
    x = model.example_input(batch_size=1)
    if size == "paper":
        x = [v.to("meta") for v in x]
    ref = model.feature_shapes(x)
    meta = fig.layout.meta
    assert [tuple(s) for s in meta["slow"]] == [ref["slow pool1"]] + [ref[f"slow res{i}"] for i in range(2, 6)]
    assert [tuple(s) for s in meta["fast"]] == [ref["fast pool1"]] + [ref[f"fast res{i}"] for i in range(2, 6)]
    assert [tuple(s) for s in meta["laterals"]] == [ref[f"lateral -> res{i}"] for i in range(2, 6)]
    text = _texts(fig)
    assert text.count("lateral") >= 4 and _fmt(ref["lateral -> res2"]) in text
    for i in range(2, 6):  # the Slow stage's input channels include the lateral's
        assert f"(in: {ref[f'slow res{i} input'][1]} ch)" in text


def test_slow_only_diagram_has_no_laterals():
    fig = A.slowfast_diagram(_tiny("slow_r50"))
    assert fig.layout.meta["laterals"] == [] and "lateral" not in _texts(fig)


@pytest.mark.parametrize("placement", ["residual", "inplace"])
@pytest.mark.parametrize("size", ["tiny", "paper"])
def test_tsm_shift_sits_where_the_model_puts_it(placement, size):
    from vidlearn.layers.temporal_shift import TemporalShift

    model = BUILD[size]("tsm_r50", placement=placement)
    fig = A.tsm_diagram(model)
    meta = fig.layout.meta
    block = model.backbone.layer1[0]
    assert meta["placement"] == placement
    if placement == "residual":
        assert isinstance(block.conv1[0], TemporalShift)  # the model: shift, then conv1, inside the branch
        assert meta["branch"][:2] == ["shift", "conv1"]
    else:
        assert isinstance(block[0], TemporalShift)
        assert meta["branch"][0] == "shift"
    assert meta["shifted_blocks"] == [len(getattr(model.backbone, f"layer{i}")) for i in range(1, 5)]
    assert "unshifted" in _texts(fig) and f"1/{model.cfg.fold_div} ch." in _texts(fig)


def test_tsm_without_shift_says_no_block_is_shifted():
    fig = A.tsm_diagram(_tiny("tsm_r50", shift=False))
    assert fig.layout.meta["shifted_blocks"] == [0, 0, 0, 0] and fig.layout.meta["branch"] == ["conv1", "conv2"]


@pytest.mark.parametrize("size", ["tiny", "paper"])
def test_timesformer_divided_block_attends_time_then_space_in_the_right_groups(size):
    model = BUILD[size]("timesformer")
    fig = A.timesformer_block_diagram(model)
    cfg = model.cfg
    t, n = cfg.num_frames, (cfg.img_size // cfg.patch_size) ** 2
    meta = fig.layout.meta
    assert meta["steps"] == ["time", "space"]
    # time: one group per patch position over its T frames; space: one group per frame, class token joined
    assert meta["groups"] == [[n, t, cfg.embed_dim], [t, n + 1, cfg.embed_dim]]
    assert meta["tokens"] == [1 + t * n, cfg.embed_dim]
    text = _texts(fig)
    assert text.index("time:") < text.index("space:") < text.index("MLP")


def test_timesformer_axial_block_has_three_steps():
    fig = A.timesformer_block_diagram(_tiny("timesformer_axial"))
    assert fig.layout.meta["steps"] == ["time", "width", "height"]


@pytest.mark.parametrize("name, encoders", [("vivit_b_16x2", ["encoder"]),
                                            ("vivit_b_16x2_fe", ["spatial", "temporal"]),
                                            ("vivit_b_16x2_fsa", ["encoder"]), ("vivit_b_16x2_fdp", ["encoder"])])
@pytest.mark.parametrize("size", ["tiny", "paper"])
def test_vivit_token_groups_follow_the_variant(name, encoders, size):
    model = BUILD[size](name)
    fig = A.vivit_diagram(model)
    nt, nh, nw = model.cfg.grid
    d = model.cfg.embed_dim
    meta = fig.layout.meta
    assert list(meta["encoders"]) == encoders and meta["tokens"] == [nt * nh * nw, d]
    groups = meta["encoders"][encoders[0]]["groups"]
    if name == "vivit_b_16x2":
        assert groups == [[1, 1 + nt * nh * nw, d]]
    elif name == "vivit_b_16x2_fe":
        assert groups == [[nt, 1 + nh * nw, d]] and meta["encoders"]["temporal"]["groups"] == [[1, 1 + nt, d]]
    elif name == "vivit_b_16x2_fsa":
        assert groups == [[nt, nh * nw, d], [nh * nw, nt, d]]  # space within each time index, then time
    else:
        assert groups == [[1, nt * nh * nw, d]]


@pytest.mark.parametrize("size", ["tiny", "paper"])
def test_two_stream_inputs_are_an_rgb_frame_and_stacked_flow(size):
    model = BUILD[size]("two_stream")
    fig = A.two_stream_diagram(model)
    cfg = model.cfg
    assert fig.layout.meta["rgb_input"][1] == 3 and fig.layout.meta["flow_input"][1] == 2 * cfg.flow_frames
    assert fig.layout.meta["fusion"] == "average"
    text = _texts(fig)
    assert "late fusion" in text and f"{cfg.flow_frames} fields" in text and "full7" in text


@pytest.mark.parametrize("size", ["tiny", "paper"])
def test_tsn_diagram_has_one_snippet_per_segment_and_the_consensus(size):
    model = BUILD[size]("tsn_two_stream")
    fig = A.tsn_diagram(model)
    meta = fig.layout.meta
    cfg = model.cfg
    assert meta["rgb"]["segments"] == meta["flow"]["segments"] == cfg.segments
    assert meta["rgb"]["snippet"][1] == 3 and meta["flow"]["snippet"][1] == 2 * cfg.flow_frames
    text = _texts(fig)
    assert text.count("segmental consensus") == 2 and text.count("segment 1 ") == 2
    assert "weighted average" in text
    if size == "tiny":
        assert meta["fusion_weights"] == pytest.approx([0.4, 0.6]) and "1 : 1.5" in text


def test_deepvideo_marks_where_each_variant_merges_time():
    from vidlearn.models.deepvideo import fusion_point

    names = {"single frame": "single_frame", "late": "late_fusion", "early": "early_fusion",
             "slow": "slow_fusion"}
    models = {k: _tiny(v) for k, v in names.items()}
    fig = A.deepvideo_diagram(models)
    meta = fig.layout.meta["variants"]
    for k, m in models.items():
        assert meta[k]["fusion"] == fusion_point(m)
    assert meta["single frame"]["fusion"] is None and meta["single frame"]["fusion_row"] == 8  # the average
    assert meta["early"]["fusion_row"] == meta["slow"]["fusion_row"] == 1  # conv1
    assert meta["late"]["fusion_row"] == 6  # fc6
    # early fusion's conv1 leaves one time step, slow fusion's several
    early = meta["early"]["shapes"]["tower.features.3"]
    slow = meta["slow"]["shapes"]["tower.features.3"]
    assert early[2] == 1 < slow[2]
    assert _texts(fig).count("frames meet here") == 4


@pytest.mark.parametrize("size", ["tiny", "paper"])
def test_fusion_diagram_fuses_at_the_configured_layer_with_two_losses(size):
    model = BUILD[size]("fusion_two_stream")
    fig = A.fusion_diagram(model)
    assert fig.layout.meta["fuse_at"] == model.cfg.fuse_at == "conv5"
    assert fig.layout.meta["branches"] == ["head", "temporal_head"]
    text = _texts(fig)
    assert "spatiotemporal loss" in text and "temporal loss" in text and "3D conv 3×3×3" in text


def test_fusion_diagram_of_an_earlier_fusion_point():
    model = _tiny("fusion_two_stream", fusion="sum", fuse_at="conv3", temporal_branch=False)
    fig = A.fusion_diagram(model)
    assert fig.layout.meta["fuse_at"] == "conv3" and fig.layout.meta["branches"] == ["head"]
    assert "sum fusion" in _texts(fig)


def _videomae_paper():
    from vidlearn.models.videomae import videomae_b_pretrain  # pre-training models are not registered

    with torch.device("meta"):
        return videomae_b_pretrain()


def _every_diagram():
    return [A.slowfast_diagram(_paper("slowfast_r50")), A.nonlocal_diagram(_paper("nl_i3d_r50")),
            A.tsn_diagram(_paper("tsn_two_stream")),
            A.deepvideo_diagram({k: _paper(k) for k in ("single_frame", "late_fusion", "early_fusion",
                                                        "slow_fusion")}),
            A.tsm_diagram(_paper("tsm_r50")), A.timesformer_block_diagram(_paper("timesformer")),
            A.vivit_diagram(_paper("vivit_b_16x2_fe")), A.stage_diagram(_paper("i3d")),
            A.r2plus1d_block_diagram(_paper("r2plus1d_18")), A.two_stream_diagram(_paper("two_stream")),
            A.fusion_diagram(_paper("fusion_two_stream")), A.videomae_diagram(_videomae_paper())]


LINE_PX = 16  # one line of the boxes' 11 px text, as Chromium draws it (the screenshots: 3 lines overflow 46 px)


def test_every_diagram_fits_the_page_and_its_text_stays_in_its_boxes():
    """At 800 px, every box's text (estimated at 0.6 em a character, LINE_PX a line) fits in its box."""
    for fig in _every_diagram():
        lay = fig.layout
        scale = (800 - lay.margin.l - lay.margin.r) / (lay.xaxis.range[1] - lay.xaxis.range[0])
        yscale = (lay.height - lay.margin.t - lay.margin.b) / abs(lay.yaxis.range[0] - lay.yaxis.range[1])
        rects = {((s.x0 + s.x1) / 2, (s.y0 + s.y1) / 2): s for s in lay.shapes}
        assert lay.height <= 900, lay.title.text
        for a in lay.annotations:
            if a.text and (a.x, a.y) in rects:
                r = rects[(a.x, a.y)]
                lines = re.sub("<[^>]+>", "", a.text.replace("<br>", "\n")).split("\n")
                width = max(len(line) for line in lines) * 11 * 0.6
                assert width <= (r.x1 - r.x0) * scale + 4, (lay.title.text, a.text)
                assert len(lines) * LINE_PX <= abs(r.y1 - r.y0) * yscale, (lay.title.text, a.text)


def _crosses(x0, y0, x1, y1, r, margin=0.03):
    """Whether the segment (x0, y0)-(x1, y1) passes through rectangle r shrunk by ``margin`` (Liang-Barsky)."""
    lo_x, hi_x = min(r.x0, r.x1) + margin, max(r.x0, r.x1) - margin
    lo_y, hi_y = min(r.y0, r.y1) + margin, max(r.y0, r.y1) - margin
    t0, t1, dx, dy = 0.0, 1.0, x1 - x0, y1 - y0
    for p, q in ((-dx, x0 - lo_x), (dx, hi_x - x0), (-dy, y0 - lo_y), (dy, hi_y - y0)):
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            t0 = max(t0, q / p)
        else:
            t1 = min(t1, q / p)
        if t0 > t1:
            return False
    return True


def test_no_arrow_of_a_diagram_runs_through_a_box():
    """An arrow goes around the boxes between its ends (R(2+1)D's shortcut ran through the branch's boxes)."""
    for fig in _every_diagram():
        lay = fig.layout
        for a in lay.annotations:
            if not a.showarrow:
                continue
            through = [s for s in lay.shapes if _crosses(a.ax, a.ay, a.x, a.y, s)]
            assert not through, (lay.title.text, (a.ax, a.ay), (a.x, a.y), [(s.x0, s.y0) for s in through])


def test_slowfast_laterals_run_from_side_to_side():
    """Each lateral's arrows run from a box's left side to the next box's right side (Fast -> lateral ->
    Slow), never along a box's top edge (as the first drawing had them)."""
    fig = A.slowfast_diagram(_paper("slowfast_r50"))
    lay = fig.layout
    centre = {((s.x0 + s.x1) / 2, (s.y0 + s.y1) / 2): s for s in lay.shapes}
    lateral = [centre[(a.x, a.y)] for a in lay.annotations if a.text and "lateral" in a.text]
    assert len(lateral) == len(_paper("slowfast_r50").laterals) == 4

    def on(x, y, r, side):
        edge = {"left": min(r.x0, r.x1), "right": max(r.x0, r.x1)}[side]
        return abs(x - edge) < 1e-6 and min(r.y0, r.y1) <= y <= max(r.y0, r.y1)

    arrows = [a for a in lay.annotations if a.showarrow]
    for r in lateral:
        into = [a for a in arrows if on(a.x, a.y, r, "right")]
        out = [a for a in arrows if on(a.ax, a.ay, r, "left")]
        assert len(into) == len(out) == 1, (r.x0, r.y0)
        assert any(on(into[0].ax, into[0].ay, s, "left") for s in lay.shapes)  # from Fast's left side
        assert any(on(out[0].x, out[0].y, s, "right") for s in lay.shapes)  # into Slow's right side


def test_videomae_diagram_encodes_the_visible_tokens_and_decodes_them_all():
    """The tiny model's own forward agrees with the drawing; at paper size, the official count: 20 of 196
    positions visible per time slot (int(0.9 * 196) = 176 hidden), 8 slots, 160 visible tokens."""
    from vidlearn.models.videomae import videomae_b_pretrain

    torch.manual_seed(0)
    tiny = videomae_b_pretrain(tiny=True)
    meta = A.videomae_diagram(tiny).layout.meta
    out = tiny(tiny.example_input(1), generator=torch.Generator().manual_seed(0))
    assert meta["masked"] == int(out.mask.sum()) and meta["pred"] == list(out.pred.shape[1:])
    assert meta["visible"] + meta["masked"] == meta["tokens"] == out.mask.shape[1]
    assert meta["encoder"] == [meta["visible"], tiny.cfg.embed_dim]
    assert meta["decoder"] == [meta["tokens"], tiny.cfg.decoder_embed_dim]
    with torch.device("meta"):
        paper = videomae_b_pretrain()
    fig = A.videomae_diagram(paper)
    m = fig.layout.meta
    assert (m["grid"], m["visible"], m["masked"]) == ([8, 14, 14], 160, 1408)
    assert m["encoder"] == [160, 768] and m["decoder"] == [1568, 384] and m["pred"] == [1408, 2 * 16 * 16 * 3]
    assert "176 positions" in _texts(fig) and paper.training  # the model's mode is restored
