"""Names never become paths; output folders are checked before any work starts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from planetbench.embedding.names import (
    MAX_NAME_LENGTH,
    check_name,
    check_output_folder,
    output_path,
)
from planetbench.embedding.summary import write_json
from planetbench.errors import InvalidInputError


@pytest.mark.parametrize("name", ["dofa-base", "m1.v2", "Model_X", "名前", "a" * MAX_NAME_LENGTH])
def test_plain_names_pass(name: str) -> None:
    assert check_name(name, what="--model") == name


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("../../x", r"--model '\.\./\.\./x' holds the path separator\(s\) /: a name is never a path"),
        ("/tmp/abs", r"holds the path separator\(s\) /"),
        ("a\\b", r"holds the path separator\(s\) \\"),
        ("..", r"'\.\.' is not a name but a folder reference"),
        (".", r"'\.' is not a name"),
        ("", "must be a non-empty name"),
        ("   ", "must be a non-empty name"),
        ("a\x00b", "control character"),
        ("a\nb", "control character"),
        ("a" * 300, r"--model is 300 characters long .*at most 128 are allowed"),
        ("é" * 128 + "é", "at most 128"),
        (7, "must be a text name; got 7"),
    ],
)
def test_names_that_would_be_paths_are_refused(name: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        check_name(name, what="--model")


def test_output_folder_checks(tmp_path: Path) -> None:
    assert check_output_folder(tmp_path / "new" / "deeper", flag="--out") == tmp_path / "new" / \
        "deeper"
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    with pytest.raises(InvalidInputError, match=r"--out '.*f\.txt' is a file, not a folder"):
        check_output_folder(a_file, flag="--out")
    with pytest.raises(InvalidInputError, match=r"cannot be created: '.*f\.txt' is a file"):
        check_output_folder(a_file / "sub", flag="--out")


def test_output_path_never_leaves_its_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert output_path(out, "m", "summary.json") == out / "m" / "summary.json"
    (out / "link").symlink_to(tmp_path)
    with pytest.raises(InvalidInputError, match="outside the output folder"):
        output_path(out, "link", "..", "x")
    (out / "elsewhere").symlink_to(tmp_path / "somewhere")
    with pytest.raises(InvalidInputError, match="a symbolic link"):
        output_path(out, "elsewhere")


def test_json_is_strict(tmp_path: Path) -> None:
    import numpy as np

    path = write_json(tmp_path / "x.json", {"a": float("nan"), "b": [np.float32(1.5), math.inf],
                                            "c": np.array([1, 2]), "d": Path("p")})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text

    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    assert json.loads(text, parse_constant=refuse) == {"a": None, "b": [1.5, None], "c": [1, 2],
                                                       "d": "p"}
