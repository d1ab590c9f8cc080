"""catalogs: detections with sky coordinates -> source catalogues (VOTable, FITS, CSV, ECSV), DS9 regions, plots.

    from catalogs import build_tables, write_catalog, write_regions, plot_detections

A generic sky-catalogue layer: tables with units and UCDs, writers, regions, measurements on images, noise
maps, names, overlay plots. It knows no particular classification (``ClassScheme`` brings one in).
"""

from .io import CATALOG_FORMATS, atomic_write, catalog_format, check_output, read_catalog, write_catalog
from .naming import iau_name
from .schema import ClassScheme, columns, component_columns
from .table import ImageDetections, build_catalog, build_tables, empty_catalog, empty_components, renumber

__all__ = [
    "CATALOG_FORMATS", "ClassScheme", "ImageDetections", "atomic_write", "build_catalog", "build_tables",
    "catalog_format", "catalog_regions", "check_output", "columns", "component_columns", "empty_catalog",
    "empty_components", "iau_name", "plot_detections", "read_catalog", "renumber", "save_plot", "write_catalog",
    "write_regions",
]

# matplotlib (plots) and regions (DS9) load only when used: `claran detect` without --plot-dir/--regions
# starts faster without them
_LAZY = {"plot_detections": "plot", "save_plot": "plot", "catalog_regions": "ds9", "write_regions": "ds9"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'catalogs' has no attribute {name!r}")
