"""Common checks over every registered encoder and task (scikit-learn's ``test_common`` idea).

A new encoder or task is tested by being registered: the encoder through
:func:`planetbench.testing.check_encoder` (its tiny variant, or its clear refusal when its
package is absent), the task through :func:`planetbench.testing.check_task` on the seeded toy
data of its fake writer (:func:`tests.fakes.fake_writer`). The same checks are public for plugin
authors.
"""

from __future__ import annotations

import dataclasses
import doctest
import importlib
from pathlib import Path

import pytest
import torch

from planetbench.encoders import ENCODERS, list_encoders
from planetbench.encoders.base import EncoderSpec, PretrainedWeights, RegisteredEncoder
from planetbench.errors import MissingDependencyError
from planetbench.tasks import TASKS, list_tasks
from planetbench.tasks.spec import Task
from planetbench.testing import (
    ContractError,
    TinyConvEncoder,
    check_encoder,
    check_encoder_spec,
    check_task,
    check_task_spec,
    read_npz_segmentation,
    tiny_encoders,
    tiny_segmentation_task,
    write_tiny_segmentation,
)
from tests.fakes import fake_writer

ENCODER_IDS = list_encoders()
TASK_IDS = list_tasks()


@pytest.mark.parametrize("name", ENCODER_IDS)
def test_encoder_contract(name: str) -> None:
    entry = ENCODERS.get(name)
    assert entry.spec.name == name
    check_encoder(entry)
    if not entry.spec.available:  # it refused to build, with its reason
        with pytest.raises(MissingDependencyError):
            entry.factory(in_bands=None, tiny=True)


def _reads_real_data_in_place(task: Task) -> bool:
    """A task without download (no URL, no files) reads real data the repository does not ship."""
    return not (task.spec.synthetic or task.spec.url or task.spec.files)


@pytest.mark.parametrize("name", TASK_IDS)
def test_task_contract(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    task = TASKS.get(name)
    assert task.spec.name == name
    write = fake_writer(name)
    if write is None and _reads_real_data_in_place(task):
        root: Path = request.getfixturevalue("shared_data")  # skips when it is absent
    else:
        assert write is not None, (
            f"task {name!r} has no fake data writer: add tests/fakes/"
            f"{name.replace('-', '_')}.py with write(root, *, n_per_split=3, size=32, seed=0)"
        )
        root = write(tmp_path)
    check_task(task, root, max_samples=2)


# ------------------------------------------------------------- the checks catch broken promises


def _entry(spec: EncoderSpec, **changes: object) -> RegisteredEncoder:
    broken = dataclasses.replace(spec, **changes)  # type: ignore[arg-type]

    def factory(**kwargs: object) -> TinyConvEncoder:
        kwargs.pop("in_bands", None)
        kwargs.pop("tiny", None)
        if kwargs.pop("weights", None) not in (None, "none"):
            raise AssertionError("not reached")
        encoder = TinyConvEncoder()
        encoder.spec = broken
        return encoder

    return RegisteredEncoder(broken, factory)


def test_encoder_checks_catch_a_wrong_spec() -> None:
    good = tiny_encoders()["tiny-conv"]
    check_encoder(good)
    with pytest.raises(ContractError, match=r"map 0 has shape \(2, 8, 8, 8\), spec says "
                                            r"\(2, 8, 16, 16\)"):
        check_encoder(_entry(good.spec, feature_strides=(2, 8, 16, 32)))
    with pytest.raises(ContractError, match=r"embed returned shape \(2, 32\), spec says \(2, 7\)"):
        check_encoder(_entry(good.spec, embed_dim=7))
    with pytest.raises(ContractError, match="cites no paper"):
        check_encoder_spec(dataclasses.replace(good.spec, citation=""))
    with pytest.raises(ContractError, match="unavailable without saying why"):
        check_encoder_spec(dataclasses.replace(good.spec, available=False))


def test_encoder_checks_catch_a_random_fallback_and_a_silent_unavailable() -> None:
    spec = tiny_encoders()["tiny-conv"].spec
    weights = PretrainedWeights("url", "https://example.org/w.pth", sha256_note="test",
                                normalisation="none")
    with pytest.raises(ContractError, match="built with weights='none'"):
        check_encoder(_entry(spec, weights=weights))
    with pytest.raises(ContractError, match="declared unavailable but was built"):
        check_encoder(_entry(spec, available=False, unavailable_reason="no package"))


def test_encoder_checks_catch_constant_embeddings() -> None:
    encoder = TinyConvEncoder()
    encoder.embed = lambda x: torch.zeros(len(x), 32)  # type: ignore[method-assign]
    with pytest.raises(ContractError, match="same vectors for different inputs"):
        check_encoder(encoder, size=32)


def test_task_checks_catch_broken_samples(tmp_path: Path) -> None:
    root = write_tiny_segmentation(tmp_path, n_per_split={"train": 2, "val": 1, "test": 1})
    task = tiny_segmentation_task()
    check_task(task, root)
    fewer = dataclasses.replace(task.spec, classes=("a",) * 2, ignore_index=255)
    with pytest.raises(ContractError, match=r"mask values \[2\] are outside \[0, 2\)"):
        check_task(Task(fewer, read_npz_segmentation), root)
    as_labels = dataclasses.replace(task.spec, kind="classification")
    with pytest.raises(ContractError, match=r"missing keys \['label'\]"):
        check_task(Task(as_labels, read_npz_segmentation), root)
    with pytest.raises(ContractError, match="ignore_index 1 is a class index"):
        check_task_spec(dataclasses.replace(task.spec, ignore_index=1))
    with pytest.raises(ContractError, match="layout names"):
        from planetbench.tasks.spec import Layout

        check_task_spec(dataclasses.replace(task.spec, layouts=(Layout("a", "x"),) * 2))


# --------------------------------------------------------------------------------- doctests

SRC = Path(__file__).resolve().parents[1] / "src" / "planetbench"

#: Every module of the package with a docstring example (``>>>``): a new example runs by being
#: written. All are cheap (tiny encoders, toy arrays) and need no optional extra.
DOCTEST_MODULES = sorted(
    ".".join(("planetbench", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(
        ".__init__"
    )
    for path in SRC.rglob("*.py")
    if ">>> " in path.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(
        importlib.import_module(module), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0, f"no docstring example found in {module}"
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module} failed"
