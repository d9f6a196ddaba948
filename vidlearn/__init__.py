"""vidlearn: deep video understanding from DeepVideo to TimeSformer.

The package behind the vidlearn book: every model of the four eras under one ``(B, C, T, H, W)`` API,
datasets (a synthetic laboratory and real video folders), optical flow and a small training loop.

>>> import vidlearn
>>> model = vidlearn.create_model("single_frame", num_classes=10, tiny=True)
"""

__version__ = "0.1.0"

from vidlearn.registry import UnknownModelError, create_model, list_models, register_model  # noqa: E402

__all__ = ["create_model", "list_models", "register_model", "UnknownModelError", "__version__"]
