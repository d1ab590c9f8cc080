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


# table metadata -> (VOTable PARAM name, datatype, unit, UCD, description); FITS keeps the keys as cards
META_PARAMS = {
    "SURVEY": ("survey", "char", None, "meta.id;meta.dataset", "Survey (or telescope) of the input images"),
    "FREQ": ("frequency", "double", "Hz", "em.freq", "Observing frequency of the input images"),
    "BMAJ": ("beam_maj", "double", "arcsec", "phys.angSize.smajAxis;instr.beam", "Beam FWHM major axis"),
    "BMIN": ("beam_min", "double", "arcsec", "phys.angSize.sminAxis;instr.beam", "Beam FWHM minor axis"),
    "BPA": ("beam_pa", "double", "deg", "pos.posAng;instr.beam", "Beam position angle, east of north"),
}


def write_catalog(table: Table, path: str | os.PathLike, *, components: Table | None = None,
                  overwrite: bool = False) -> Path:
    """Write ``table`` to ``path``; the format follows the suffix (.vot/.xml, .fits, .csv, .ecsv).

    ``components``: the component table, written into the same file as a second table (VOTable, FITS);
    CSV and ECSV hold one table: write the components to their own file (``claran detect --components``).
    """
    fmt = catalog_format(path)
    p = check_output(path, overwrite=overwrite, what="catalogue")
    if components is not None and fmt not in ("votable", "fits"):
        raise UserError(f"{p}: a {fmt} file holds one table; write the components to their own file")
    if fmt == "votable":
        atomic_write(p, lambda tmp: _write_votable(table, tmp, components))
    elif fmt == "fits":
        atomic_write(p, lambda tmp: _write_fits(table, tmp, components))
    else:
        atomic_write(p, lambda tmp: table.write(tmp, format=fmt, overwrite=True))
    return p


def _write_votable(table: Table, path: str, components: Table | None = None) -> None:
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Param

    vot = from_table(table)
    res = vot.resources[0]
    main = res.tables[0]
    main.name = "claran"
    if table.meta.get("description"):
        main.description = str(table.meta["description"])
    for key, (name, dtype, unit, ucd, text) in META_PARAMS.items():
        v = table.meta.get(key)
        if v is None:
            continue
        many = isinstance(v, (list, tuple))  # images that differ: every value, as an array
        kw = {"arraysize": "*"} if dtype == "char" or many else {}
        value = str(v) if dtype == "char" else [float(x) for x in v] if many else float(v)
        p = Param(vot, name=name, datatype=dtype, value=value, unit=unit, ucd=ucd, **kw)
        p.description = text
        main.params.append(p)
    if components is not None:
        ctab = from_table(components).resources[0].tables[0]
        ctab.name = "claran_components"
        ctab.description = str(components.meta.get("description", "components"))
        res.tables.append(ctab)
    vot.to_xml(path)


def _table_hdu(table: Table, name: str):
    from astropy.io import fits

    plain = table.copy(copy_data=False)
    description = plain.meta.pop("description", None)  # a long key would become a HIERARCH card
    for key in META_PARAMS:  # images that differ: the values in one card
        if isinstance(plain.meta.get(key), (list, tuple)):
            plain.meta[key] = " ".join(f"{x:g}" for x in plain.meta[key])
    hdu = fits.table_to_hdu(plain)
    hdu.name = name
    if description:
        hdu.header["COMMENT"] = str(description)
    # descriptions and UCDs as TCOMMn / TUCDn cards (the convention TOPCAT and STILTS read)
    for i, cname in enumerate(table.colnames, start=1):
        col = table[cname]
        if col.description:
            hdu.header[f"TCOMM{i}"] = col.description[:68]
        if col.meta.get("ucd"):
            hdu.header[f"TUCD{i}"] = col.meta["ucd"]
    return hdu


def _write_fits(table: Table, path: str, components: Table | None = None) -> None:
    from astropy.io import fits

    hdus = [fits.PrimaryHDU(), _table_hdu(table, "CATALOG")]
    if components is not None:
        hdus.append(_table_hdu(components, "COMPONENTS"))
    fits.HDUList(hdus).writeto(path, overwrite=True)


def read_catalog(path: str | os.PathLike, *, components: bool = False) -> Table:
    """Read a catalogue this module wrote (any of its formats); ``components=True``: its component table
    (the second table of a VOTable or FITS file)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: catalogue not found")
    fmt = catalog_format(p)
    if not components:
        kw = {"table_id": 0} if fmt == "votable" else {"hdu": 1} if fmt == "fits" else {}
        return Table.read(p, format=fmt, **kw)
    if fmt == "votable":
        return Table.read(p, format=fmt, table_id=1)
    if fmt == "fits":
        return Table.read(p, format=fmt, hdu="COMPONENTS")
    raise UserError(f"{p}: a {fmt} file holds no component table")
