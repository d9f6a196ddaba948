"""One file per paper. Importing this package registers every model in it.

Each module is imported automatically (``pkgutil``), so adding a model is adding a file.
"""

import importlib
import pkgutil

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
