"""netCDF files as dcplan writes them: zlib-compressed, atomically, with ordinary permissions."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from dcplan.atomic import atomic_file

ENGINE = "netcdf4"
#: zlib level: 4 gives most of the size reduction of 9 at a fraction of the time (an hourly
#: inputs file shrinks about 4x); reading is unaffected
COMPLEVEL = 4


def encoding(ds: xr.Dataset, complevel: int = COMPLEVEL) -> dict[str, dict]:
    """zlib for every numeric or boolean variable of ``ds`` (strings stay as they are)."""
    out = {}
    for name, var in ds.variables.items():
        if var.dtype.kind in "biuf" and var.ndim > 0 and complevel > 0:
            out[str(name)] = {"zlib": True, "complevel": int(complevel)}
    return out


def write_netcdf(ds: xr.Dataset, path: str | Path, *, complevel: int = COMPLEVEL) -> Path:
    """Write ``ds`` to ``path`` compressed; the file appears only once complete."""
    with atomic_file(path) as tmp:
        ds.to_netcdf(tmp, engine=ENGINE, encoding=encoding(ds, complevel))
    return Path(path)


__all__ = ["COMPLEVEL", "ENGINE", "encoding", "write_netcdf"]
