"""Hugging Face datasets on disk, read with pyarrow alone (the ``datasets`` package is optional).

Two layouts are read:

* **A local copy of a Hub dataset repository** (what ``huggingface-cli download <repo>
  --repo-type dataset --local-dir DIR`` or a git clone gives): ``README.md`` and
  ``data/<split>-<k>-of-<n>.parquet`` shards, as ``push_to_hub`` writes them. When the README's
  YAML header has a ``configs`` block, the ``data_files`` of its default (or only) config name
  the files of each split; otherwise split names come from the shard file names.
* **What ``DatasetDict.save_to_disk`` writes**: ``dataset_dict.json`` listing the splits and one
  folder per split holding ``state.json`` and Arrow stream files ``data-<k>-of-<n>.arrow``.

Both store the ``datasets`` feature types as JSON in the Arrow schema metadata (key
``huggingface``); :attr:`HFRows.features` exposes them (e.g. a ``ClassLabel``'s names). Image
columns hold ``{"bytes": …, "path": …}`` structs; :func:`decode_image` opens them with Pillow.
Rows are read lazily, one Parquet row group (or one memory-mapped Arrow file) at a time, so a
split of large images is never held in memory at once.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from planetbench.errors import InvalidInputError, LabelFileError, require

HFFormat = Literal["parquet", "arrow"]

_SHARD = re.compile(r"^(?P<split>.+?)-\d{5}-of-\d{5}\.parquet$")


def _front_matter(readme: Path) -> dict[str, Any]:
    """The YAML header of a dataset card (``---`` … ``---``), or {} when there is none."""
    try:
        text = readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    import yaml

    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _card_data_files(folder: Path) -> dict[str, tuple[Path, ...]]:
    card = _front_matter(folder / "README.md")
    configs = card.get("configs")
    if not isinstance(configs, list) or not configs:
        return {}
    chosen = next(
        (c for c in configs if isinstance(c, dict) and c.get("config_name") == "default"),
        configs[0] if len(configs) == 1 and isinstance(configs[0], dict) else None,
    )
    if chosen is None:
        return {}
    files = chosen.get("data_files")
    out: dict[str, tuple[Path, ...]] = {}
    if not isinstance(files, list):
        return {}
    for entry in files:
        if not isinstance(entry, dict) or "split" not in entry or "path" not in entry:
            continue
        patterns = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
        paths = sorted({p for pat in patterns for p in folder.glob(str(pat)) if p.is_file()})
        if paths:
            out[str(entry["split"])] = tuple(paths)
    return out


def hub_splits(folder: str | Path) -> dict[str, tuple[Path, ...]]:
    """Split name → Parquet shards of a local copy of a Hub dataset repository.

    Args:
        folder: the repository folder (holding ``README.md`` and ``data/``).

    Returns:
        Shards per split, sorted; {} when the folder holds no Parquet files.
    """
    folder = Path(folder)
    from_card = _card_data_files(folder)
    if from_card:
        return from_card
    out: dict[str, list[Path]] = {}
    for path in sorted((folder / "data").glob("*.parquet")):
        m = _SHARD.match(path.name)
        split = m.group("split") if m else path.stem
        out.setdefault(split, []).append(path)
    return {k: tuple(v) for k, v in out.items()}


def disk_splits(folder: str | Path) -> dict[str, tuple[Path, ...]]:
    """Split name → Arrow files of a ``DatasetDict.save_to_disk`` folder.

    The splits are those of ``dataset_dict.json``; each split folder's ``state.json`` lists its
    files. A folder of split folders without ``dataset_dict.json`` (each saved on its own) is read
    too.

    Raises:
        LabelFileError: ``dataset_dict.json`` or a ``state.json`` is unreadable or names a file
            that is absent.
    """
    folder = Path(folder)
    index = folder / "dataset_dict.json"
    if index.is_file():
        try:
            names = [str(s) for s in json.loads(index.read_text())["splits"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LabelFileError(f"cannot read the split list {index}: {exc}") from exc
    else:
        names = sorted(p.parent.name for p in folder.glob("*/state.json"))
    out: dict[str, tuple[Path, ...]] = {}
    for name in names:
        state = folder / name / "state.json"
        try:
            listed = [str(f["filename"]) for f in json.loads(state.read_text())["_data_files"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LabelFileError(
                f"split {name!r} of the saved dataset {folder} has no readable {state}: {exc}"
            ) from exc
        files = tuple(folder / name / f for f in listed)
        absent = [str(f) for f in files if not f.is_file()]
        if absent:
            raise LabelFileError(f"{state} lists files that are absent: {', '.join(absent[:3])}")
        out[name] = files
    return out


def is_hub_copy(folder: str | Path) -> bool:
    """True when ``folder`` holds ``data/*.parquet`` (a local copy of a Hub dataset repo)."""
    return any((Path(folder) / "data").glob("*.parquet"))


def is_saved_to_disk(folder: str | Path) -> bool:
    """True when ``folder`` is a ``save_to_disk`` output (``dataset_dict.json`` or split states)."""
    folder = Path(folder)
    return (folder / "dataset_dict.json").is_file() or any(folder.glob("*/state.json"))


@dataclass(frozen=True)
class _Part:
    file: int
    group: int
    start: int
    stop: int


class HFRows:
    """Lazy rows of one split stored as Parquet shards or Arrow stream files.

    Args:
        files: the split's files, in order.
        fmt: ``parquet`` (Hub copy) or ``arrow`` (``save_to_disk``).

    ``len(rows)`` is the number of rows; :meth:`column` reads one column of every row (use it for
    small columns such as labels); :meth:`cell` reads one value, loading only the row group that
    holds it (the last group read is kept).
    """

    def __init__(self, files: Sequence[Path], fmt: HFFormat) -> None:
        self.files = tuple(Path(f) for f in files)
        self.fmt = fmt
        self._parts: list[_Part] = []
        self._tables: dict[int, Any] = {}
        self._cached: tuple[tuple[int, int, str], Any] | None = None
        self._schema: Any = None
        import pyarrow as pa

        start = 0
        for i, path in enumerate(self.files):
            try:
                if fmt == "parquet":
                    import pyarrow.parquet as pq

                    meta = pq.ParquetFile(path).metadata
                    if self._schema is None:
                        self._schema = pq.read_schema(path)
                    for g in range(meta.num_row_groups):
                        n = meta.row_group(g).num_rows
                        self._parts.append(_Part(i, g, start, start + n))
                        start += n
                else:
                    table = pa.ipc.open_stream(pa.memory_map(str(path))).read_all()
                    self._tables[i] = table
                    if self._schema is None:
                        self._schema = table.schema
                    self._parts.append(_Part(i, 0, start, start + table.num_rows))
                    start += table.num_rows
            except (OSError, pa.ArrowException) as exc:
                raise LabelFileError(f"cannot read the {fmt} file {path}: {exc}") from exc
        self._n = start
        self._starts = np.asarray([p.start for p in self._parts], dtype=np.int64)

    def __len__(self) -> int:
        return self._n

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of the columns."""
        return tuple(self._schema.names) if self._schema is not None else ()

    @property
    def features(self) -> dict[str, Any]:
        """The ``datasets`` feature types stored in the schema metadata ({} when absent)."""
        meta = (self._schema.metadata or {}) if self._schema is not None else {}
        raw = meta.get(b"huggingface")
        if not raw:
            return {}
        try:
            info = json.loads(raw)
        except ValueError:
            return {}
        feats = info.get("info", {}).get("features", {})
        return feats if isinstance(feats, dict) else {}

    def class_names(self, column: str) -> tuple[str, ...] | None:
        """Names of a ``ClassLabel`` column (also inside a ``Sequence``/``List``), else None."""
        feat = self.features.get(column)
        while isinstance(feat, dict) and feat.get("_type") in ("Sequence", "List"):
            feat = feat.get("feature")
        if isinstance(feat, dict) and feat.get("_type") == "ClassLabel" and feat.get("names"):
            return tuple(str(n) for n in feat["names"])
        return None

    def require_columns(self, names: Sequence[str], where: str) -> None:
        """Raise a :class:`LabelFileError` naming the missing columns and the ones present."""
        missing = [n for n in names if n not in self.column_names]
        if missing:
            raise LabelFileError(
                f"{where}: column(s) {', '.join(missing)} missing; the split has "
                f"{', '.join(self.column_names) or 'no columns'}"
            )

    def _read(self, part: _Part, column: str) -> Any:
        key = (part.file, part.group, column)
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        import pyarrow.compute as pc

        top, _, child = column.partition(".")
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            col = pq.ParquetFile(self.files[part.file]).read_row_group(
                part.group, columns=[column]
            ).column(0)
            if child:  # the struct holds only the selected child
                col = pc.struct_field(col, [0])
        else:
            col = self._tables[part.file].column(top)
            if child:
                col = pc.struct_field(col, child)
        self._cached = (key, col)
        return col

    def column(self, name: str) -> list[Any]:
        """Every value of column ``name`` as Python objects, in row order.

        ``name`` may select a struct field, e.g. ``"image.path"`` (only that field is read).
        """
        out: list[Any] = []
        for part in self._parts:
            out.extend(self._read(part, name).to_pylist())
        return out

    def cell(self, index: int, name: str) -> Any:
        """The value of column ``name`` in row ``index`` as a Python object."""
        if not 0 <= index < self._n:
            raise IndexError(f"row {index} out of range for {self._n} rows")
        part = self._parts[int(np.searchsorted(self._starts, index, side="right")) - 1]
        return self._read(part, name)[index - part.start].as_py()


def decode_image(cell: Any, where: str, mode: str | None = "RGB") -> Any:
    """Open a ``datasets`` Image cell (``{"bytes", "path"}``) as a Pillow image.

    Args:
        cell: the struct read from an image column.
        where: text naming the split and row, for errors.
        mode: Pillow mode to convert to (Mars-Bench converts images to ``RGB`` and masks to
            ``L``); None keeps the stored mode.

    Raises:
        LabelFileError: no bytes and no readable path, or undecodable bytes.
    """
    image_mod: Any = require("PIL.Image", "geo")
    if not isinstance(cell, dict):
        raise LabelFileError(f"{where}: an image cell is {type(cell).__name__}, not an Image")
    data, path = cell.get("bytes"), cell.get("path")
    try:
        if data:
            img = image_mod.open(io.BytesIO(data))
        elif path and Path(path).is_file():
            img = image_mod.open(path)
        else:
            raise LabelFileError(f"{where}: the image cell holds no bytes and no readable path")
        img.load()
    except (OSError, ValueError) as exc:
        raise LabelFileError(f"{where}: cannot decode the image: {exc}") from exc
    return img.convert(mode) if mode is not None and img.mode != mode else img


def cell_digest(cell: Any) -> str:
    """sha256 (hex) of an Image cell's stored bytes (of its file when only a path is stored)."""
    import hashlib

    data = cell.get("bytes") if isinstance(cell, dict) else None
    if not data and isinstance(cell, dict) and cell.get("path") and Path(cell["path"]).is_file():
        data = Path(cell["path"]).read_bytes()
    if not data:
        raise LabelFileError("an image cell holds no bytes and no readable path")
    return hashlib.sha256(data).hexdigest()


def image_cell_name(cell: Any) -> str:
    """The file stem stored in an Image cell's ``path`` ("" when there is none)."""
    if isinstance(cell, dict) and cell.get("path"):
        return Path(str(cell["path"])).stem
    return ""


def open_split(files: Sequence[Path], fmt: HFFormat) -> HFRows:
    """Open one split's files (see :class:`HFRows`)."""
    if not files:
        raise InvalidInputError("open_split needs at least one file")
    return HFRows(files, fmt)


__all__ = [
    "HFFormat",
    "HFRows",
    "cell_digest",
    "decode_image",
    "disk_splits",
    "hub_splits",
    "image_cell_name",
    "is_hub_copy",
    "is_saved_to_disk",
    "open_split",
]
