"""Catalogue writers: VOTable, FITS, CSV and ECSV, atomic (temp file in the same folder + os.replace)."""

from __future__ import annotations

import os
from pathlib import Path

from astropy.table import Table

from claran.errors import UserError
from claran.fileio import atomic_write

__all__ = ["CATALOG_FORMATS", "catalog_format", "check_output", "atomic_write", "write_catalog", "read_catalog"]

# suffix -> astropy format name
CATALOG_FORMATS = {".vot": "votable", ".xml": "votable", ".fits": "fits", ".csv": "ascii.csv", ".ecsv": "ascii.ecsv"}


def catalog_format(path: str | os.PathLike) -> str:
    fmt = CATALOG_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UserError(f"{path}: unknown catalogue format; end the name with one of {', '.join(CATALOG_FORMATS)}")
    return fmt


def check_output(path: str | os.PathLike, *, overwrite: bool = False, what: str = "output") -> Path:
    """Fail early (before any work) when ``path`` exists without ``overwrite`` or its folder is not writable."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{p}: {what} is a folder; give a file name")
    if p.exists() and not overwrite:
        raise UserError(f"{p}: {what} exists; pass --overwrite (overwrite=True) to replace it")
    parent = p.parent if str(p.parent) else Path(".")
    probe = parent
    while not probe.exists():  # the folder will be created: the nearest existing ancestor must be writable
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"{p}: cannot write the {what} there ({probe} is not a writable folder)")
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{p}: cannot write the {what} there ({parent} is not writable)")
    return p


def write_catalog(table: Table, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``table`` to ``path``; the format follows the suffix (.vot/.xml, .fits, .csv, .ecsv)."""
    fmt = catalog_format(path)
    p = check_output(path, overwrite=overwrite, what="catalogue")
    if fmt == "votable":
        atomic_write(p, lambda tmp: _write_votable(table, tmp))
    elif fmt == "fits":
        atomic_write(p, lambda tmp: _write_fits(table, tmp))
    else:
        atomic_write(p, lambda tmp: table.write(tmp, format=fmt, overwrite=True))
    return p


def _write_votable(table: Table, path: str) -> None:
    from astropy.io.votable import from_table

    vot = from_table(table)
    vot.resources[0].tables[0].name = "claran"
    if table.meta.get("description"):
        vot.resources[0].tables[0].description = str(table.meta["description"])
    vot.to_xml(path)


def _write_fits(table: Table, path: str) -> None:
    from astropy.io import fits

    plain = table.copy(copy_data=False)
    description = plain.meta.pop("description", None)  # a long key would become a HIERARCH card
    hdu = fits.table_to_hdu(plain)
    hdu.name = "CATALOG"
    if description:
        hdu.header["COMMENT"] = str(description)
    # descriptions and UCDs as TCOMMn / TUCDn cards (the convention TOPCAT and STILTS read)
    for i, name in enumerate(table.colnames, start=1):
        col = table[name]
        if col.description:
            hdu.header[f"TCOMM{i}"] = col.description[:68]
        if col.meta.get("ucd"):
            hdu.header[f"TUCD{i}"] = col.meta["ucd"]
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)


def read_catalog(path: str | os.PathLike) -> Table:
    """Read a catalogue this module wrote (any of its formats)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: catalogue not found")
    return Table.read(p, format=catalog_format(p))
