"""NeuCo-Bench label folders: parsing, encoding and every validation error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planetbench.embedding.labels import (
    TYPE_SPELLINGS,
    check_splittable,
    check_test_folds,
    load_label_tasks,
    read_label_file,
)
from planetbench.errors import LabelFileError


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def _rows(ids: list[str], labels: list[str]) -> str:
    return "id,label\n" + "".join(f"{i},{v}\n" for i, v in zip(ids, labels, strict=True))


def test_regression_and_spellings(tmp_path: Path) -> None:
    for spelling in ("regr", "regression", "reg", "REGR"):
        path = _write(tmp_path / spelling, f"biomass__{spelling}.csv",
                      _rows(["a", "b", "c"], ["1.5", "2", "-3"]))
        task = read_label_file(path)
        assert task.name == "biomass"
        assert task.kind == "regression"
        assert task.y.dtype == np.float64
        np.testing.assert_allclose(task.y, [1.5, 2.0, -3.0])
        assert task.spec.metric == "r2" and task.spec.suite == "neuco"
        assert task.ids.tolist() == ["a", "b", "c"]
        assert len(task.sha256) == 64


def test_classification_binary_multiclass_and_names(tmp_path: Path) -> None:
    binary = read_label_file(
        _write(tmp_path, "cloud__cls.csv", _rows(list("abcd"), ["1", "0", "1", "0"]))
    )
    assert binary.kind == "classification" and binary.spec.metric == "f1"
    assert binary.classes == ("0", "1") and binary.y.tolist() == [1, 0, 1, 0]
    # Integer labels sort numerically: "10" after "9"; floats like 2.0 are integers.
    multi = read_label_file(_write(tmp_path, "lc__classification.csv",
                                   _rows(list("abcd"), ["10", "9", "2.0", "9"])))
    assert multi.kind == "multiclass" and multi.classes == ("2", "9", "10")
    assert multi.y.tolist() == [2, 1, 0, 1]
    names = read_label_file(_write(tmp_path, "crop__cls.csv",
                                   _rows(list("abc"), ["wheat", "maize", "rye"])))
    assert names.classes == ("maize", "rye", "wheat") and names.y.tolist() == [2, 0, 1]
    mcls = read_label_file(_write(tmp_path, "m__mcls.csv", _rows(list("abc"), ["3", "1", "3"])))
    assert mcls.kind == "multiclass" and mcls.spec.metric == "f1_macro"


def test_multilabel_both_layouts(tmp_path: Path) -> None:
    sep = read_label_file(_write(tmp_path, "lbl__mlbl.csv",
                                 'id,label\na,water;forest\nb,forest\nc,"urban; water"\n'))
    assert sep.kind == "multilabel" and sep.classes == ("forest", "urban", "water")
    assert sep.y.tolist() == [[1, 0, 1], [1, 0, 0], [0, 1, 1]]
    mat = read_label_file(_write(tmp_path / "m", "lbl__mlbl.csv",
                                 "id,label_x,label_y\na,1,0\nb,0,0\nc,1,1\n"))
    assert mat.classes == ("x", "y") and mat.y.tolist() == [[1, 0], [0, 0], [1, 1]]


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("biomass.csv", _rows(["a", "b"], ["1", "2"]), "must be <task>__<type>.csv"),
        ("biomass__regresion.csv", _rows(["a", "b"], ["1", "2"]),
         "unknown task type 'regresion'; allowed spellings: regr, regression, reg"),
        ("t__regr.csv", "id,value\na,1\nb,2\n", "missing column.*'label'.*found"),
        ("t__regr.csv", "key,label\na,1\nb,2\n", "missing column.*'id'"),
        ("t__regr.csv", _rows(["a", "b", "a"], ["1", "2", "3"]), "1 duplicate id.*'a'"),
        ("t__regr.csv", _rows(["a", "b", "c"], ["1", "", "3"]), "missing \\(NaN/empty\\).*'b'"),
        ("t__regr.csv", _rows(["a", "b", "c"], ["1", "NaN", "3"]), "NaN label.*'b'"),
        ("t__regr.csv", _rows(["a", "b", "c"], ["1", "x", "3"]), "finite numbers.*'b'"),
        ("t__regr.csv", _rows(["a", "b", "c"], ["2", "2", "2"]), "all 3 labels equal"),
        ("t__cls.csv", _rows(["a", "b"], ["x", "x"]), "needs at least 2 classes"),
        ("t__cls.csv", _rows(["a", "b"], ["0.5", "1"]), "non-integer numbers '0.5'"),
        ("t__mcls.csv", _rows(["a", "b"], ["x", "1"]), "__mcls labels must be integers"),
        ("t__mlbl.csv", "id,label\na,x\nb,x;y\n", "class\\(es\\) 'x' are constant"),
        ("t__mlbl.csv", "id,label\na,x\nb,\n", "missing \\(NaN/empty\\)"),
        ("t__mlbl.csv", "id,label,label_x\na,x,1\nb,y,0\n", "not both"),
        ("t__mlbl.csv", "id,label_x\na,2\nb,0\n", "only 0 or 1.*'label_x'"),
        ("t__regr.csv", "", "cannot be read as CSV"),
    ],
)
def test_label_file_errors(tmp_path: Path, name: str, text: str, match: str) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(LabelFileError, match=match) as info:
        read_label_file(path)
    assert str(path) in str(info.value)  # the message names the file


def test_many_duplicates_are_capped(tmp_path: Path) -> None:
    ids = [f"id{i}" for i in range(15)] * 2
    path = _write(tmp_path, "t__regr.csv", _rows(ids, [str(i) for i in range(30)]))
    with pytest.raises(LabelFileError, match=r"15 duplicate id.*and 5 more"):
        read_label_file(path)


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(LabelFileError, match="does not exist or is not a directory"):
        load_label_tasks(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabelFileError, match=r"holds no \.csv files"):
        load_label_tasks(tmp_path / "empty")
    _write(tmp_path / "two", "t__regr.csv", _rows(["a", "b"], ["1", "2"]))
    _write(tmp_path / "two", "t__cls.csv", _rows(["a", "b"], ["1", "2"]))
    with pytest.raises(LabelFileError, match="two files for task 't'"):
        load_label_tasks(tmp_path / "two")


def test_folder_sorted_and_split_checks(tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    ids = [f"s{i}" for i in range(10)]
    _write(folder, "zeta__regr.csv", _rows(ids, [str(i) for i in range(10)]))
    _write(folder, "alpha__cls.csv", _rows([f"s{i}" for i in range(10)], ["a", "b"] * 5))
    tasks = load_label_tasks(folder, n_splits=5, test_size=0.2)
    assert [t.name for t in tasks] == ["alpha", "zeta"]
    with pytest.raises(LabelFileError, match="allow only 45 distinct test sets, fewer than the 50"):
        load_label_tasks(folder, n_splits=50, test_size=0.2)


def test_split_check_errors(tmp_path: Path) -> None:
    small = read_label_file(_write(tmp_path, "s__regr.csv", _rows(["a", "b"], ["1", "2"])))
    with pytest.raises(LabelFileError, match=r"too few for test_size=0\.2.*1 training and 1 test"):
        check_splittable(small, n_splits=2, test_size=0.2)
    rare = read_label_file(_write(tmp_path, "r__cls.csv",
                                  _rows(list("abcdefgh"), ["x"] * 7 + ["y"])))
    with pytest.raises(LabelFileError, match=r"fewer than 2 members.*'y' \(1\)"):
        check_splittable(rare, n_splits=2, test_size=0.25)
    three = read_label_file(_write(tmp_path, "k__cls.csv",
                                   _rows(list("abcdef"), ["x", "x", "y", "y", "z", "z"])))
    with pytest.raises(LabelFileError, match="fewer than the 3 classes"):
        check_splittable(three, n_splits=2, test_size=0.2)
    ml = read_label_file(_write(tmp_path, "m__mlbl.csv",
                                "id,label\na,x\nb,y\nc,y\nd,y\ne,x;y\n"))
    with pytest.raises(LabelFileError, match="stratified on the first class 'x'"):
        check_splittable(ml.subset(np.array([True, True, True, True, False])),
                         n_splits=2, test_size=0.4)


def test_spellings_table_is_complete() -> None:
    assert set(TYPE_SPELLINGS.values()) == {"regression", "classification", "multiclass",
                                            "multilabel"}


def test_a_folder_named_like_a_label_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    _write(folder, "h__regr.csv", _rows(["a", "b", "c"], ["1", "2", "3"]))
    (folder / "x__regr.csv").mkdir()
    with pytest.raises(LabelFileError, match=r"'x__regr\.csv' named like label files .* are not "
                                             r"files; remove or rename them"):
        load_label_tasks(folder)
    with pytest.raises(LabelFileError, match="is a directory, not a file"):
        read_label_file(folder / "x__regr.csv")


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (["1e300", "-2e300", "3"], r"reach 2e\+300 in magnitude, beyond 1e\+100"),
        (["1e-200", "2e-200", "0"], r"vary by only 2e-200, below 1e-100"),
    ],
)
def test_regression_labels_whose_squares_leave_float64_are_refused(
    tmp_path: Path, labels: list[str], match: str
) -> None:
    path = _write(tmp_path, "t__regr.csv", _rows(["a", "b", "c"], labels))
    with pytest.raises(LabelFileError, match=match):
        read_label_file(path)


def test_task_names_are_plain_and_short(tmp_path: Path) -> None:
    long = "t" * 129
    path = _write(tmp_path, f"{long}__regr.csv", _rows(["a", "b"], ["1", "2"]))
    with pytest.raises(LabelFileError, match="the task name is 129 characters long"):
        read_label_file(path)
    path = _write(tmp_path, "a\\b__regr.csv", _rows(["a", "b"], ["1", "2"]))
    with pytest.raises(LabelFileError, match=r"holds the path separator\(s\) \\"):
        read_label_file(path)


def test_constant_regression_test_folds_are_found_before_probing(tmp_path: Path) -> None:
    ids = [f"s{i}" for i in range(20)]
    mostly_zero = _write(tmp_path, "z__regr.csv", _rows(ids, ["0"] * 19 + ["1"]))
    task = read_label_file(mostly_zero)
    with pytest.raises(LabelFileError, match=r"the test fold of split\(s\) .* of 5 holds only the "
                                             r"label value 0\.0, where R² is undefined"):
        check_test_folds(task, n_splits=5, test_size=0.1, seed=0)
    varied = read_label_file(_write(tmp_path, "v__regr.csv", _rows(ids, [str(i) for i in
                                                                         range(20)])))
    check_test_folds(varied, n_splits=5, test_size=0.1, seed=0)  # no error
