"""Importing published results: the long CSV schema and the real GEO-Bench / Cryo-Bench tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from planetbench.errors import InvalidInputError
from planetbench.stats.normalise import metric_higher_is_better
from planetbench.store import ResultStore
from planetbench.store.importers import (
    FORMATS,
    TableFormat,
    detect_and_read,
    detect_format,
    format_names,
    import_results,
    read_cryobench,
    read_geobench2,
    read_geobench_v1,
    read_long_csv,
    register_format,
    validate_long,
)


def _write(tmp_path: Path, text: str, name: str = "lit.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_long_csv_defaults_and_import(tmp_path: Path, store_url: str) -> None:
    path = _write(
        tmp_path,
        "model,task,metric,score,seed,fraction\na,glid,miou,0.9,0,1.0\nb,glid,miou,0.8,,\n",
    )
    df = read_long_csv(path)
    assert df["protocol"].tolist() == ["literature", "literature"]
    assert df["source"].tolist() == ["", ""]  # not stated: import_results fills it
    assert df["seed"].tolist()[0] == 0 and pd.isna(df["seed"].tolist()[1])
    store = ResultStore(store_url)
    summary = import_results(df, store)
    assert (summary.n_rows, summary.n_written, summary.n_skipped) == (2, 2, 0)
    assert (summary.n_models, summary.n_tasks) == (2, 1)
    rows = store.query()
    assert rows["model"].tolist() == ["a", "b"]
    assert rows["score"].tolist() == [0.9, 0.8]
    assert rows["source"].unique().tolist() == ["literature"]
    assert rows["config"].iloc[1]["file"] == "lit.csv"
    assert rows["config"].iloc[1]["row"] == 2
    assert rows["seed"].iloc[0] == 0


def test_source_column_and_argument(tmp_path: Path, store_url: str) -> None:
    path = _write(tmp_path, "model,task,metric,score,source\na,t,miou,1,paper-x\nb,t,miou,2,\n")
    store = ResultStore(store_url)
    import_results(read_long_csv(path), store, source="paper-y")
    # The column wins where it is set; the argument fills the empty cells.
    assert store.query()["source"].tolist() == ["paper-x", "paper-y"]
    df = pd.DataFrame({"model": ["a"], "task": ["t"], "metric": ["miou"], "score": [3.0]})
    import_results(df, store, source="my-paper")
    assert store.query()["source"].tolist()[-1] == "my-paper"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("model,task,metric\na,t,m\n", r"lacks required column\(s\) \['score'\]"),
        ("model,task,metric,score,dataset\na,t,miou,1,x\n", r"unknown column\(s\) \['dataset'\]"),
        (
            "model,task,metric,score\na,t,miou,1\nb,t,miou,abc\nc,t,miou,\n",
            r"finite number in row\(s\) 2, 3",
        ),
        ("model,task,metric,score\na,t,miou,nan\n", r"row\(s\) 1"),
        ("model,task,metric,score\n,t,miou,1\n", r"'model' is empty in row\(s\) 1"),
        ("model,task,metric,score,seed\na,t,miou,1,1.5\n", r"'seed' must hold integers"),
        ("model,task,metric,score,fraction\na,t,miou,1,10\n", r"must lie in\s+\(0, 1\]"),
        ("model,task,metric,score\n", "has no rows"),
        (
            "model,task,metric,score\na,t,miou,1\nb,t,dice,0.5\n",
            r"\['dice'\] whose direction .* is unknown, in row\(s\) 2",
        ),
    ],
)
def test_long_csv_errors(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        read_long_csv(_write(tmp_path, text))


def test_import_is_all_or_nothing(store_url: str) -> None:
    store = ResultStore(store_url)
    bad = pd.DataFrame(
        {
            "model": ["a", "b"],
            "task": ["t", "t"],
            "metric": ["miou", "miou"],
            "score": [1.0, float("nan")],
        }
    )
    with pytest.raises(InvalidInputError, match=r"row\(s\) 2"):
        import_results(bad, store)
    assert len(store) == 0
    with pytest.raises(InvalidInputError, match="non-empty"):
        import_results(bad.iloc[:1], store, source="")
    assert len(store) == 0


def test_import_is_idempotent(tmp_path: Path, store_url: str) -> None:
    """Re-importing stores nothing twice, from the same or a renamed file; new rows are added."""
    text = "model,task,metric,score,seed\na,t,miou,0.5,0\na,t,miou,0.5,0\nb,t,miou,0.7,0\n"
    store = ResultStore(store_url)
    first = import_results(read_long_csv(_write(tmp_path, text)), store)
    # Two identical rows in one file are two results (occurrence is part of the identity).
    assert (first.n_written, first.n_skipped) == (3, 0)
    again = import_results(read_long_csv(_write(tmp_path, text, "copy.csv")), store)
    assert (again.n_written, again.n_skipped) == (0, 3)
    assert len(store) == 3
    edited = text.replace("b,t,miou,0.7", "b,t,miou,0.71") + "c,t,miou,0.2,1\n"
    third = import_results(read_long_csv(_write(tmp_path, edited)), store)
    assert (third.n_written, third.n_skipped) == (2, 2)
    assert sorted(store.query(model="b")["score"]) == [0.7, 0.71]


def test_missing_file_and_format(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_long_csv(tmp_path / "nope.csv")
    with pytest.raises(InvalidInputError, match="format 'xml' is unknown"):
        detect_and_read(tmp_path, format="xml")
    with pytest.raises(InvalidInputError, match="not a GEO-Bench-2 leaderboard folder"):
        detect_and_read(tmp_path)
    odd = _write(tmp_path, "foo,bar\n1,2\n", "odd.csv")
    with pytest.raises(InvalidInputError, match="cannot tell the format"):
        detect_and_read(odd)
    with pytest.raises(InvalidInputError, match="lacks Cryo-Bench column"):
        read_cryobench(_write(tmp_path, "model,glid\nx,1\n", "c.csv"))
    with pytest.raises(InvalidInputError, match="no GEO-Bench-2 submission"):
        read_geobench2(tmp_path)


def test_cryobench_real(shared_data: Path, store_url: str) -> None:
    csv = shared_data / "cryobench-published-results" / "cryobench_frozen_upernet_100pct_miou.csv"
    df = read_cryobench(csv)
    assert len(df) == 16 * 5
    assert set(df["task"]) == {"glid", "gld", "sicd", "caffe", "gsdd"}
    dofa = df[(df["model"] == "DOFA") & (df["task"] == "glid")]
    assert dofa["score"].tolist() == [92.61]
    assert dofa["protocol"].tolist() == ["frozen"]
    assert set(df[df["model"] == "U-Net"]["protocol"]) == {"from-scratch"}
    assert (df["fraction"] == 1.0).all() and (df["suite"] == "cryo").all()
    # avg_rank of the published table is reproduced from the long rows (SOURCE.md check).
    ranks = df.pivot(index="model", columns="task", values="score").rank(ascending=False)
    assert ranks.mean(axis=1)["TerraMind"] == pytest.approx(3.4)
    store = ResultStore(store_url)
    assert import_results(detect_and_read(csv), store).n_written == 80
    assert store.query(model="DOFA", task="glid")["score"].tolist() == [92.61]


def test_geobench2_real(shared_data: Path) -> None:
    df = read_geobench2(shared_data / "geobench2-leaderboard-results")
    assert len(df) == 1630 + 285 + 750
    # 18 backbones; three re-run with S1+S2 inputs in submission 2ce4a907 get a suffix.
    assert df["model"].nunique() == 21 and df["task"].nunique() == 19
    assert sorted(m for m in df["model"].unique() if m.endswith("+s1s2")) == [
        "clay_v1_base+s1s2", "dofa_large_patch16_224+s1s2", "terramind_v1_large+s1s2"
    ]
    assert df["protocol"].value_counts().to_dict() == {"finetune": 1915, "frozen": 750}
    assert (df["fraction"] == 1.0).all()
    # biomassters' "RMSE" is submitted as the higher-is-better 1 - 0.2538 RMSE (scale_rmse):
    # its values lie in the normaliser's range [0.948, 0.960], so it is not stored as an RMSE.
    biomass = df[df["task"] == "biomassters"]
    assert set(biomass["metric"]) == {"rmse_skill"}
    assert biomass["score"].between(0.948, 0.961).all()
    assert metric_higher_is_better("rmse_skill")
    assert set(df.loc[df["task"] == "caffe", "metric"]) == {"miou"}
    assert set(df["metric"]) == {
        "miou", "accuracy", "f1_multilabel", "map", "map_segm", "rmse_skill"
    }
    first = df.iloc[0]
    assert first["model"] == "satlas_resnet50_sentinel2_si_ms_satlas"
    assert first["task"] == "treesatai" and first["seed"] == 205
    assert first["score"] == pytest.approx(0.56619793176651)
    assert '"display_name": "Satlas-Resnet50"' in first["details"]
    assert '"metric_upstream": "Multilabel_F1_Score"' in first["details"]
    one = shared_data / "geobench2-leaderboard-results" / "submissions"
    frozen = detect_and_read(
        one / "80100fc6-dc1a-4514-b946-341157eaf816" / "results_and_parameters.csv"
    )
    assert len(frozen) == 750 and set(frozen["protocol"]) == {"frozen"}


def test_geobench_v1_real(shared_data: Path) -> None:
    csv = shared_data / "geobench-v1-segmentation-results" / "baseline_segmentation_results.csv"
    df = detect_and_read(csv)
    assert len(df) == 3000
    assert sorted(df["fraction"].unique().tolist()) == [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
    assert df["model"].nunique() == 6 and df["task"].nunique() == 6
    cell = df[
        (df["model"] == "ResNet50-U-Net-timm")
        & (df["task"] == "m-pv4ger-seg")
        & (df["fraction"] == 1.0)
    ]
    assert cell["score"].mean() == pytest.approx(0.94025, abs=1e-4)
    assert read_geobench_v1(csv)["seed"].max() == 11


def _geobench2_submission(root: Path, metric: str, protocol: str = "full_ft") -> Path:
    """A one-run GEO-Bench-2 leaderboard folder in the upstream layout."""
    sub = root / "submissions" / "abc"
    sub.mkdir(parents=True)
    pd.DataFrame(
        {
            "dataset": ["caffe"], "Metric": [metric], "test metric": [0.6], "Seed": [1],
            "backbone": ["resnet50"], "frozen_or_full_ft": [protocol], "lr": [1e-4],
            "data_percentages": [50], "decoder": ["UNet"], "mlflow_run_status": ["FINISHED"],
        }
    ).to_csv(sub / "results_and_parameters.csv", index=False)
    return root


def test_geobench2_mapping_and_unknown_names(tmp_path: Path) -> None:
    df = read_geobench2(_geobench2_submission(tmp_path / "ok", "Multiclass_Jaccard_Index"))
    row = df.iloc[0]
    assert (row["model"], row["metric"], row["protocol"]) == ("resnet50", "miou", "finetune")
    assert row["fraction"] == 0.5 and row["suite"] == "geobench2"
    assert '"metric_upstream": "Multiclass_Jaccard_Index"' in row["details"]
    with pytest.raises(InvalidInputError, match=r"metric\(s\) \['Dice'\].*long schema"):
        read_geobench2(_geobench2_submission(tmp_path / "m", "Dice"))
    with pytest.raises(InvalidInputError, match=r"value\(s\) \['lora'\]"):
        read_geobench2(_geobench2_submission(tmp_path / "p", "RMSE", protocol="lora"))


def test_unreadable_published_table(tmp_path: Path) -> None:
    bad = tmp_path / "cryo.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage\x00\xff")
    with pytest.raises(InvalidInputError, match=r"cannot read .* as CSV"):
        read_cryobench(bad)


@pytest.mark.parametrize(
    ("seed", "match"),
    [
        ("100000000000000000000", r"'seed' must lie between -2147483648 and 2147483647"),
        ("2147483648", r"row\(s\) 1 do not"),
        ("inf", r"'seed' must hold integers"),
    ],
)
def test_seeds_must_fit_the_store(tmp_path: Path, seed: str, match: str) -> None:
    text = f"model,task,metric,score,seed\na,t,miou,0.5,{seed}\nb,t,miou,0.5,2147483647\n"
    with pytest.raises(InvalidInputError, match=match):
        read_long_csv(_write(tmp_path, text))


def test_details_refuse_nan_and_infinity(tmp_path: Path) -> None:
    text = 'model,task,metric,score,details\na,t,miou,0.5,"{""x"": NaN}"\n'
    with pytest.raises(InvalidInputError, match=r"'details' in row 1 is not valid JSON \(NaN"):
        read_long_csv(_write(tmp_path, text))


def test_unknown_format_suggests_the_near_miss(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"format 'geobench' is unknown.*did you mean "
                       r"'geobench2'"):
        detect_and_read(tmp_path, format="geobench")
    assert format_names()[0] == "auto" and format_names()[-1] == "long"
    assert {"geobench2", "geobench-v1", "cryobench", "long"} <= set(FORMATS.list())


def test_a_registered_format_is_detected_and_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding a format is one module (reader + TableFormat) and one registration."""

    def read_wide(path: Path) -> pd.DataFrame:
        wide = pd.read_csv(path)
        long = wide.melt(id_vars="name", var_name="task", value_name="score")
        return validate_long(long.rename(columns={"name": "model"}).assign(metric="accuracy"))

    fmt = TableFormat(
        name="wide-test",
        summary="a test table",
        read=read_wide,
        recognises_file=lambda path, header: "name" in header,
        recognises_folder=lambda path: (path / "wide.csv").is_file(),
        folder_hint="a wide-test folder (wide.csv)",
    )
    monkeypatch.setitem(FORMATS._items, fmt.name, fmt)  # registered for this test only
    csv = _write(tmp_path, "name,t1,t2\nm,0.5,0.7\n", "wide.csv")
    assert detect_format(csv) == "wide-test" and detect_format(tmp_path) == "wide-test"
    df = detect_and_read(csv)
    assert df[["model", "task", "score"]].values.tolist() == [["m", "t1", 0.5], ["m", "t2", 0.7]]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match=r"not a GEO-Bench-2 .* nor a wide-test folder"):
        detect_format(tmp_path / "empty")
    with pytest.raises(InvalidInputError, match="reserved"):
        register_format(TableFormat("auto", "x", read_wide, lambda p, h: False))


def test_a_folder_given_to_a_file_format(tmp_path: Path) -> None:
    for fmt in ("long", "cryobench", "geobench-v1"):
        with pytest.raises(InvalidInputError, match="is a folder; this format reads one CSV"):
            detect_and_read(tmp_path, format=fmt)


def test_metric_spelled_differently_from_a_stored_one_is_refused(
    tmp_path: Path, store_url: str
) -> None:
    store = ResultStore(store_url)
    import_results(read_long_csv(_write(tmp_path, "model,task,metric,score\na,t,miou,0.7\n")),
                   store)
    for name in ("mIoU", "MIOU", "Miou"):
        clash = _write(tmp_path, f"model,task,metric,score\nb,t,{name},0.6\n", "clash.csv")
        with pytest.raises(InvalidInputError, match=f"\\['{name}'\\] differ only in case .*'miou'"):
            import_results(read_long_csv(clash), store)
    assert len(store) == 1  # nothing written
    within = _write(tmp_path, "model,task,metric,score\nb,t,F1_macro,0.6\nc,t,f1_macro,0.5\n")
    with pytest.raises(InvalidInputError, match="differ only in case"):
        import_results(read_long_csv(within), store)
    near = _write(tmp_path, "model,task,metric,score\nb,t,mious,0.6\n", "near.csv")
    summary = import_results(read_long_csv(near), store)
    assert summary.n_written == 1 and "close to the stored 'miou'" in summary.notes[0]


def test_scores_on_another_scale_are_refused_within_a_suite(tmp_path: Path, store_url: str) -> None:
    store = ResultStore(store_url)
    first = "model,task,metric,score,suite\na,t,miou,0.7,s\n"
    import_results(read_long_csv(_write(tmp_path, first)), store)
    percent = _write(tmp_path, "model,task,metric,score,suite\nb,t,miou,70.0,s\n", "p.csv")
    with pytest.raises(InvalidInputError, match=r"percent scale .*store holds them on a fraction"):
        import_results(read_long_csv(percent), store)
    mixed = _write(tmp_path, "model,task,metric,score,suite\nb,u,miou,70,z\nc,v,miou,0.6,z\n",
                   "m.csv")
    with pytest.raises(InvalidInputError, match=r"mixes percent .* and fraction"):
        import_results(read_long_csv(mixed), store)
    assert len(store) == 1
    # Another suite may keep its published scale: a warning, not a refusal.
    other = _write(tmp_path, "model,task,metric,score,suite\nb,t,miou,70.0,cryo\n", "o.csv")
    summary = import_results(read_long_csv(other), store)
    assert summary.n_written == 1 and "different scales by suite" in summary.notes[0]
    # RMSE has no upper bound: any value is fine.
    rmse = _write(tmp_path, "model,task,metric,score,suite\nb,r,rmse,0.5,s\nc,r,rmse,12,s\n",
                  "r.csv")
    assert import_results(read_long_csv(rmse), store).notes == ()


def test_cryobench_and_geobench2_live_in_one_store(shared_data: Path, store_url: str) -> None:
    store = ResultStore(store_url)
    cryo = shared_data / "cryobench-published-results" / "cryobench_frozen_upernet_100pct_miou.csv"
    assert import_results(detect_and_read(cryo), store).n_written == 80
    frozen = (shared_data / "geobench2-leaderboard-results" / "submissions"
              / "80100fc6-dc1a-4514-b946-341157eaf816")
    summary = import_results(detect_and_read(frozen), store)
    assert summary.n_written == 750
    assert any("'miou'" in n and "cryo: percent" in n for n in summary.notes)
