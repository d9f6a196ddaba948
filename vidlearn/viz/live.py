"""Live controls for the book's figure functions, for readers running the notebooks in Jupyter or Colab.

Every figure function in :mod:`vidlearn.viz` returns a static plotly figure. :func:`live` wraps one in
ipywidgets controls (ipywidgets 7.7, as shipped by Colab, and ipywidgets 8 both work): each change of a
control calls the function again and shows the new figure in place. In the static book (and anywhere
widgets cannot work) :func:`live` returns the plain figure instead, so the page never shows an empty box.
"""

from __future__ import annotations

import importlib.util
import inspect
import numbers
import os
from typing import Any, Callable, Dict, List, Mapping, Optional

import plotly.graph_objects as go

from vidlearn.viz.style import BOOK_ENV


def _fn_name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _is_widget(control: Any) -> bool:
    """An ipywidgets value widget (checked without importing ipywidgets)."""
    return hasattr(control, "value") and hasattr(control, "observe") and hasattr(control, "keys")


def _first_value(name: str, control: Any) -> Any:
    """The value a control starts at (and the value the static fallback uses); validates the control."""
    if isinstance(control, bool):
        return control
    if isinstance(control, range):
        if len(control) == 0:
            raise ValueError(f"control {name!r}: empty range {control!r}, nothing to choose from")
        return control[0]
    if isinstance(control, Mapping):
        if not control:
            raise ValueError(f"control {name!r}: empty options dict, nothing to choose from")
        return next(iter(control.values()))
    if isinstance(control, (list, tuple)):
        if not control:
            raise ValueError(f"control {name!r}: empty options list, nothing to choose from")
        return control[0]
    if _is_widget(control):
        return control.value
    raise TypeError(
        f"control {name!r}: cannot make a control from {control!r} (a {type(control).__name__}); give a "
        "list/tuple or dict of options, a range, a bool or an ipywidgets widget, or pass a constant in fixed="
    )


def _check_names(figure_fn: Callable, names: List[str]) -> None:
    """Every name must be a keyword ``figure_fn`` accepts, and every required parameter must be given."""
    try:
        params = inspect.signature(figure_fn).parameters.values()
    except (TypeError, ValueError):  # no signature (some builtins): let the call itself complain
        return
    keywords = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not any(p.kind == p.VAR_KEYWORD for p in params):
        bad = [n for n in names if n not in keywords]
        if bad:
            raise TypeError(
                f"{_fn_name(figure_fn)}() has no parameter {', '.join(map(repr, bad))}; "
                f"it accepts: {', '.join(keywords) or '(no keyword arguments)'}"
            )
    missing = [p.name for p in params if p.default is p.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in names]
    if missing:
        raise TypeError(
            f"{_fn_name(figure_fn)}() needs {', '.join(map(repr, missing))}: give each a control, "
            "or a constant in fixed={...}"
        )


def _kernel_running() -> bool:
    """True inside a running IPython kernel (Jupyter, Colab, VS Code), where widgets can be shown."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def widgets_available() -> bool:
    """Whether :func:`live` returns widgets here: not in the book build, ipywidgets installed, a kernel running."""
    return (not os.environ.get(BOOK_ENV) and importlib.util.find_spec("ipywidgets") is not None
            and _kernel_running())


def _make_control(name: str, control: Any):
    """The ipywidgets widget for one control (see :func:`live` for the kinds)."""
    import ipywidgets as widgets

    if _is_widget(control):
        return control
    common = dict(description=name, style={"description_width": "initial"})
    if isinstance(control, bool):
        return widgets.Checkbox(value=control, indent=False, **common)
    if isinstance(control, range) and control.step > 0:
        return widgets.IntSlider(value=control[0], min=control[0], max=control[-1], step=control.step,
                                 continuous_update=False, **common)
    # explicit (label, value) pairs: tuple-valued options such as grid=[(4, 4), (8, 8)] stay values
    if isinstance(control, Mapping):
        pairs = [(str(label), value) for label, value in control.items()]
    else:
        pairs = [(str(value), value) for value in control]
    values = [value for _, value in pairs]
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        return widgets.SelectionSlider(options=pairs, value=values[0], continuous_update=False, **common)
    return widgets.Dropdown(options=pairs, value=values[0], **common)


def live(figure_fn: Callable[..., go.Figure], /, *, fixed: Optional[Mapping[str, Any]] = None, **controls: Any):
    """``figure_fn`` with live controls: a widget that re-draws the figure whenever a control changes.

    Each keyword names a parameter of ``figure_fn`` and says how the reader chooses it:

    - a list or tuple of options: a ``SelectionSlider`` if every option is a number, else a ``Dropdown``
      (labelled ``str(option)``; tuple options such as ``grid=[(4, 4), (8, 8)]`` are values, not pairs);
    - a dict ``{label: value}``: the same, with your labels;
    - a ``range``: an ``IntSlider`` over it (a negative step gives a ``SelectionSlider``);
    - a bool: a ``Checkbox`` starting at that value;
    - an ipywidgets widget: used as is (its ``value`` is passed on; give it a ``description`` yourself).

    ``fixed`` (keyword only) maps other parameters to constants (the data, say). To pass a list or tuple as a
    constant put it in ``fixed``; as a keyword it would be a list of options. Controls start at their *first value*:
    the first option (first dict value), the range's start, the bool itself, the widget's current ``value``.
    Sliders update when released (``continuous_update=False``); nothing else is debounced.

    Returns:
        In a running Jupyter/Colab kernel with ipywidgets: an ``ipywidgets.VBox`` whose children are the
        controls, in keyword order, then an ``ipywidgets.Output``. ``figure_fn(**fixed, **values)`` is
        drawn into the Output right away and again after every change: the Output is cleared and
        ``fig.show()`` runs inside it (an error in ``figure_fn`` is shown there too).

        Otherwise (the static book build, ``VIDLEARN_BOOK_BUILD`` set; ipywidgets not importable; or no
        running IPython kernel, e.g. a plain script) the static ``go.Figure`` for the controls' first values.
        It is returned, not shown: as a cell's last expression it displays like any figure (in a script,
        call ``.show()``).

    Raises:
        TypeError: a control or ``fixed`` name that ``figure_fn`` does not accept (the message names the
            function, the bad names and the accepted ones), a name given both ways, a required parameter
            of ``figure_fn`` given neither way, or a control of an unknown kind.
        ValueError: an empty list, tuple, dict or range of options.

    Example::

        import torch
        from vidlearn.viz.inflation import kernel_inflation_figure
        from vidlearn.viz.live import live

        live(kernel_inflation_figure,
             methods={"both": ("bootstrap", "center"), "bootstrap": ("bootstrap",), "center": ("center",)},
             times=[(1, 3, 5, 7), (3,), (2, 4, 8)],
             fixed={"kernel2d": torch.randn(5, 5)})
    """
    fixed = dict(fixed or {})
    both = sorted(set(fixed) & set(controls))
    if both:
        raise TypeError(f"{', '.join(map(repr, both))} given both as a control and in fixed=; give each once")
    _check_names(figure_fn, list(controls) + list(fixed))
    first = {name: _first_value(name, control) for name, control in controls.items()}

    if not widgets_available():
        return figure_fn(**fixed, **first)

    import ipywidgets as widgets

    inputs: Dict[str, Any] = {name: _make_control(name, control) for name, control in controls.items()}
    output = widgets.Output()

    def redraw(change=None) -> None:
        values = {name: w.value for name, w in inputs.items()}
        output.clear_output(wait=True)
        with output:  # in a kernel, an exception here is shown in the Output instead of being lost
            figure_fn(**fixed, **values).show()

    for w in inputs.values():
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox(list(inputs.values()) + [output])
