"""vidlearn.viz.live: widget controls per kind, re-drawing on change, the static fallback, clear errors."""

import importlib

import IPython.display
import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from vidlearn.viz.inflation import kernel_inflation_figure
from vidlearn.viz.live import live
from vidlearn.viz.style import BOOK_ENV

live_mod = importlib.import_module("vidlearn.viz.live")  # the module (vidlearn.viz.live is the function)


class Stub:
    """A figure function that records its calls and returns a small figure showing its arguments."""

    def __init__(self):
        self.calls = []

    def __call__(self, data, kind="bar", size=3, grid=(2, 2), scale=1.0, log=False, title="t"):
        self.calls.append(dict(data=data, kind=kind, size=size, grid=grid, scale=scale, log=log, title=title))
        return go.Figure(go.Bar(y=[size, scale]), layout=dict(title=f"{kind} {size} {grid} {scale} {log} {title}"))


@pytest.fixture
def kernel(monkeypatch):
    """Widget mode without a real kernel: no book build, a 'running kernel', and a record of displays.

    ``displays`` lists ``(bundle, output)``: what plotly's ``fig.show()`` displayed and which
    ``ipywidgets.Output`` was capturing at that moment (None when none was).
    """
    monkeypatch.delenv(BOOK_ENV, raising=False)
    monkeypatch.setattr(live_mod, "_kernel_running", lambda: True)
    monkeypatch.setattr(pio.renderers, "default", "json")
    capturing, displays, clears = [], [], []
    monkeypatch.setattr(widgets.Output, "__enter__", lambda self: capturing.append(self))
    monkeypatch.setattr(widgets.Output, "__exit__", lambda self, *exc: capturing.pop() and None)
    monkeypatch.setattr(widgets.Output, "clear_output", lambda self, *a, **k: clears.append(self))
    monkeypatch.setattr(IPython.display, "display",
                        lambda *objs, **kw: displays.extend((o, capturing[-1] if capturing else None) for o in objs))
    return displays, clears


def test_children_per_control_kind(kernel):
    own = widgets.FloatText(value=2.5, description="scale")
    box = live(Stub(), kind=["bar", "line"], size=range(1, 8, 2), grid=[(2, 2), (4, 4)], scale=own, log=True,
               title=[10, 20.5], fixed={"data": [1, 2]})
    assert isinstance(box, widgets.VBox)
    kinds = [type(c) for c in box.children]
    assert kinds == [widgets.Dropdown, widgets.IntSlider, widgets.Dropdown, widgets.FloatText, widgets.Checkbox,
                     widgets.SelectionSlider, widgets.Output]
    drop, slider, grid, scale, check, sel, _ = box.children
    assert scale is own
    assert drop.description == "kind" and drop.value == "bar" and drop._options_labels == ("bar", "line")
    assert (slider.min, slider.max, slider.step, slider.value) == (1, 7, 2, 1)
    assert grid.value == (2, 2) and grid._options_labels == ("(2, 2)", "(4, 4)")
    assert grid._options_values == ((2, 2), (4, 4))  # tuples are options, not pairs
    assert check.value is True and sel.value == 10


def test_dict_options_and_negative_range(kernel):
    box = live(Stub(), kind={"Bars": "bar", "Lines": "line"}, size=range(9, 0, -3), fixed={"data": 0})
    drop, sel, _ = box.children
    assert isinstance(drop, widgets.Dropdown) and drop._options_labels == ("Bars", "Lines") and drop.value == "bar"
    assert isinstance(sel, widgets.SelectionSlider) and sel.value == 9 and sel._options_values == (9, 6, 3)


def test_change_redraws_into_the_output(kernel):
    displays, clears = kernel
    stub = Stub()
    box = live(stub, kind=["bar", "line"], size=range(1, 5), log=False, fixed={"data": "clip"})
    drop, slider, check, out = box.children
    assert len(stub.calls) == 1 and stub.calls[0] == dict(data="clip", kind="bar", size=1, grid=(2, 2), scale=1.0,
                                                         log=False, title="t")
    assert len(displays) == 1 and displays[0][1] is out and clears == [out]

    slider.value = 3
    assert len(stub.calls) == 2 and stub.calls[-1]["size"] == 3 and stub.calls[-1]["kind"] == "bar"
    drop.value = "line"
    check.value = True
    assert len(stub.calls) == 4
    assert stub.calls[-1] == dict(data="clip", kind="line", size=3, grid=(2, 2), scale=1.0, log=True, title="t")
    assert len(displays) == 4 and all(o is out for _, o in displays) and clears == [out] * 4
    bundle = displays[-1][0]  # what fig.show() displayed: the last figure, drawn with the new values
    assert "line 3 (2, 2) 1.0 True t" in str(bundle["application/json"]["layout"]["title"])

    slider.value = 3  # no change, no redraw
    assert len(stub.calls) == 4


def test_real_figure_function(kernel):
    displays, _ = kernel
    box = live(kernel_inflation_figure, times=[(1, 3), (2,)], methods=[("center",), ("bootstrap", "center")],
               fixed={"kernel2d": np.eye(3)})
    times, methods, out = box.children
    methods.value = ("bootstrap", "center")
    assert len(displays) == 2 and displays[-1][1] is out
    assert len(displays[-1][0]["application/json"]["data"]) == 2 + 2 * (1 + 3)  # 2D row + t slices per method


@pytest.mark.parametrize("reason", ["book", "no_kernel", "no_ipywidgets"])
def test_static_fallback_returns_the_first_values_figure(monkeypatch, reason):
    monkeypatch.delenv(BOOK_ENV, raising=False)
    monkeypatch.setattr(live_mod, "_kernel_running", lambda: True)
    if reason == "book":
        monkeypatch.setenv(BOOK_ENV, "1")
    elif reason == "no_kernel":
        monkeypatch.setattr(live_mod, "_kernel_running", lambda: False)
    else:
        real = live_mod.importlib.util.find_spec
        monkeypatch.setattr(live_mod.importlib.util, "find_spec",
                            lambda name, *a: None if name == "ipywidgets" else real(name, *a))
    stub = Stub()
    fig = live(stub, kind=["line", "bar"], size=range(4, 9), grid={"big": (8, 8), "small": (2, 2)}, log=True,
               scale=widgets.FloatSlider(value=0.5), fixed={"data": 7, "title": "x"})
    assert isinstance(fig, go.Figure) and not isinstance(fig, widgets.Widget)
    assert stub.calls == [dict(data=7, kind="line", size=4, grid=(8, 8), scale=0.5, log=True, title="x")]


def test_fallback_with_a_real_figure_function(monkeypatch):
    monkeypatch.setenv(BOOK_ENV, "1")
    fig = live(kernel_inflation_figure, times=[(1, 3), (2,)], fixed={"kernel2d": np.eye(3)})
    assert isinstance(fig, go.Figure) and len(fig.data) == 2 + 2 * (1 + 3)


@pytest.mark.parametrize("book", [True, False])
def test_unknown_name_is_a_type_error(monkeypatch, kernel, book):
    if book:
        monkeypatch.setenv(BOOK_ENV, "1")
    stub = Stub()
    with pytest.raises(TypeError) as err:
        live(stub, sise=range(3), kind=["bar"], fixed={"data": 1})
    msg = str(err.value)
    assert "Stub" in msg and "'sise'" in msg and "data, kind, size, grid, scale, log, title" in msg
    with pytest.raises(TypeError, match=r"kernel_inflation_figure\(\) has no parameter 'time'.*kernel2d, times"):
        live(kernel_inflation_figure, fixed={"kernel2d": np.eye(3), "time": 3})
    assert stub.calls == []


def test_other_type_errors(kernel):
    with pytest.raises(TypeError, match=r"needs 'data'"):
        live(Stub(), kind=["bar"])
    with pytest.raises(TypeError, match=r"'kind' given both"):
        live(Stub(), kind=["bar"], fixed={"data": 1, "kind": "line"})
    with pytest.raises(TypeError, match=r"control 'size'.*fixed="):
        live(Stub(), size=3, fixed={"data": 1})
    with pytest.raises(TypeError, match=r"control 'kind'"):
        live(Stub(), kind=widgets.Button(), fixed={"data": 1})


@pytest.mark.parametrize("empty", [[], (), {}, range(0)])
@pytest.mark.parametrize("book", [True, False])
def test_empty_options_is_a_value_error(monkeypatch, kernel, empty, book):
    if book:
        monkeypatch.setenv(BOOK_ENV, "1")
    stub = Stub()
    with pytest.raises(ValueError, match=r"control 'kind': empty"):
        live(stub, size=range(3), kind=empty, fixed={"data": 1})
    assert stub.calls == []
