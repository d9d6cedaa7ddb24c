"""Dense protocols: learning, best checkpoint, early stopping, seeding, band stats, errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.protocols.band_stats import band_statistics, images_of
from planetbench.protocols.dense import (
    DENSE_PROTOCOLS,
    FinetuneProtocol,
    FrozenProtocol,
    batch_indices,
    dice_loss,
    get_protocol,
)
from planetbench.tasks.spec import Task
from planetbench.testing import (
    TinyConvEncoder,
    TinyViTEncoder,
    registered,
    tiny_segmentation_task,
    write_tiny_segmentation,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_segmentation(tmp_path_factory.mktemp("tiny"),
                                   n_per_split={"train": 8, "val": 4, "test": 4})


@pytest.fixture(scope="module")
def task() -> Task:
    return tiny_segmentation_task()


def _splits(task: Task, data: Path) -> tuple[Any, Any, Any]:
    return tuple(task.load(data, s) for s in ("train", "val", "test"))  # type: ignore[return-value]


def _proto(cls: type, task: Task, encoder: Any = None, **kw: Any) -> Any:
    torch.manual_seed(kw.pop("init_seed", 0))
    params: dict[str, Any] = dict(input_size=32, epochs=4, batch_size=4, lr=1e-2,
                                  head_options={"channels": 16}, seed=0)
    params.update(kw)
    if params.get("head") == "linear":
        params.pop("head_options")  # the linear head has no width option
    return cls.from_task(task.spec, encoder or TinyConvEncoder(), **params)


def test_finetune_learns_and_changes_the_encoder(task: Task, data: Path) -> None:
    train, val, test = _splits(task, data)
    proto = _proto(FinetuneProtocol, task)
    before = [p.detach().clone() for p in proto.encoder.parameters()]
    proto.fit(train, val)
    scores = proto.score(test)
    assert scores["miou"] > 0.45  # 3 classes; chance level is about 0.2
    assert set(scores) >= {"miou", "f1_macro", "pixel_accuracy", "iou_per_class"}
    assert any(not torch.equal(a, b) for a, b in zip(before, proto.encoder.parameters(),
                                                      strict=True))


def test_frozen_keeps_the_encoder_and_tests_the_best_checkpoint(task: Task, data: Path) -> None:
    train, val, _ = _splits(task, data)
    proto = _proto(FrozenProtocol, task, TinyViTEncoder(), epochs=3)
    before = [p.detach().clone() for p in proto.encoder.parameters()]
    proto.fit(train, val)
    after = list(proto.encoder.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    vals = [r.val_miou for r in proto.history_]
    assert proto.best_val_miou_ == max(vals)
    assert proto.best_epoch_ == 1 + vals.index(max(vals))
    # re-scoring the validation split reproduces the best epoch's mIoU: the best weights are kept
    assert proto.score(val)["miou"] == pytest.approx(proto.best_val_miou_, abs=1e-9)


def test_early_stopping_after_patience(task: Task, data: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    train, val, _ = _splits(task, data)
    proto = _proto(FrozenProtocol, task, epochs=20, patience=2, head="linear")
    monkeypatch.setattr(FrozenProtocol, "_evaluate", lambda self, src: {"miou": 0.5})
    proto.fit(train, val)
    assert len(proto.history_) == 3 and proto.best_epoch_ == 1


def test_same_seed_same_run_other_seed_other_run(task: Task, data: Path) -> None:
    train, val, _ = _splits(task, data)
    runs = [_proto(FrozenProtocol, task, head="linear", epochs=2, seed=s).fit(train, val)
            for s in (0, 0, 1)]
    losses = [[r.train_loss for r in p.history_] for p in runs]
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]


def test_band_statistics_from_task_or_train(task: Task, data: Path) -> None:
    train, val, _ = _splits(task, data)
    proto = _proto(FrozenProtocol, task, head="linear", epochs=1).fit(train, val, [0, 1, 2])
    imgs = np.stack([train[i]["image"] for i in (0, 1, 2)]).astype(np.float64)
    assert proto.band_stats_.source == "train"  # of the training subset only
    np.testing.assert_allclose(proto.band_stats_.mean, imgs.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(proto.band_stats_.std, imgs.std(axis=(0, 2, 3)))
    assert proto.notes() == ["band statistics from the train", "feature cache: memory"]
    spec = replace(task.spec, band_mean=(1.0, 2.0, 3.0), band_std=(1.0, 1.0, 2.0))
    proto = FrozenProtocol.from_task(spec, TinyConvEncoder(), input_size=32, epochs=1,
                                     head="linear").fit(train, val)
    assert proto.band_stats_.source == "task" and proto.band_stats_.mean.tolist() == [1, 2, 3]
    assert proto.band_stats_.std.tolist() == [1.0, 1.0, 2.0]
    with pytest.raises(InvalidInputError, match="empty training split"):
        band_statistics(images_of(train, []))


def test_fitted_protocol_reports_through_public_methods(task: Task, data: Path) -> None:
    train, val, _ = _splits(task, data)
    proto = _proto(FinetuneProtocol, task, head="linear", epochs=2)
    with pytest.raises(InvalidInputError, match="not fitted"):
        proto.fit_record()
    proto.fit(train, val)
    record = proto.fit_record()
    assert record["epochs_run"] == len(record["history"]) == len(proto.history_)
    assert record["val_miou"] == proto.best_val_miou_ and record["best_epoch"] >= 1
    assert proto.device_.type in ("cpu", "cuda")
    x = torch.zeros(2, 3, 32, 32, device=proto.device_)
    with torch.no_grad():
        assert proto.logits(x).shape == (2, task.spec.n_classes, 32, 32)
    assert proto.notes() == ["band statistics from the train"]  # no feature cache in finetune


def test_dice_loss_and_batches() -> None:
    target = torch.tensor([[[0, 1], [1, 255]]])
    perfect = torch.nn.functional.one_hot(torch.tensor([[[0, 1], [1, 0]]]), 2).permute(0, 3, 1, 2)
    assert float(dice_loss(perfect.float() * 50, target, 255)) < 1e-3
    wrong = (1 - perfect).float() * 50  # wrong everywhere but on the ignored pixel
    assert float(dice_loss(wrong, target, 255)) > 0.6
    chunks = batch_indices(9, 4, None)
    assert chunks == [[0, 1, 2, 3], [4, 5, 6, 7, 8]]  # no batch of one image
    shuffled = batch_indices(9, 4, torch.Generator().manual_seed(0))
    assert sorted(i for chunk in shuffled for i in chunk) == list(range(9))


def test_errors(task: Task, data: Path) -> None:
    train, val, test = _splits(task, data)
    with pytest.raises(InvalidInputError, match="not fitted"):
        _proto(FrozenProtocol, task).score(test)
    with pytest.raises(InvalidInputError, match="lr=-1 must be a positive float"):
        _proto(FrozenProtocol, task, lr=-1).fit(train, val)
    with pytest.raises(InvalidInputError, match="not a multiple of the encoder's coarsest stride"):
        _proto(FrozenProtocol, task, input_size=40).fit(train, val)
    with pytest.raises(InvalidInputError, match="has 1 image"):
        _proto(FrozenProtocol, task).fit(train, val, [0])
    with pytest.raises(InvalidInputError, match=r"band statistics \(task\) have 2 values but the "
                       "images have 3 bands"):
        _proto(FrozenProtocol, task, band_mean=(0, 0), band_std=(1, 1)).fit(train, val)
    with pytest.raises(InvalidInputError, match="dense protocols need segmentation"):
        FrozenProtocol.from_task(replace(task.spec, kind="regression"), TinyConvEncoder())
    with pytest.raises(UnknownNameError, match="unknown dense protocol 'frozn'; did you mean "
                       "'frozen'"):
        get_protocol("frozn")
    with pytest.raises(UnknownNameError, match="unknown feature cache mode 'dsk'"):
        _proto(FrozenProtocol, task, cache="dsk").check()
    with pytest.raises(InvalidInputError, match="lower the learning rate"):
        _proto(FinetuneProtocol, task, head="linear", lr=1e30, epochs=3).fit(train, val)


def test_batch_norm_statistics_are_those_of_the_best_epoch(task: Task, data: Path) -> None:
    train, val, _ = _splits(task, data)
    proto = _proto(FinetuneProtocol, task, head="unet", head_options=None, epochs=2)
    proto.fit(train, val)
    norms = [m for m in proto.head_.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(bn.momentum == 0.1 for bn in norms)  # the default is restored
    # reset at the start of every epoch: the average over that epoch's 2 batches of 4 images
    assert all(int(bn.num_batches_tracked) == 2 for bn in norms)


def test_a_plugin_protocol_is_chosen_by_name() -> None:
    class HalfLR(FinetuneProtocol):
        name = "half-lr"

        def __init__(self, encoder: Any, **params: Any) -> None:
            super().__init__(encoder, **{**params, "lr": params.get("lr", 1e-4) / 2})

    assert DENSE_PROTOCOLS.list() == ["cryobench", "cryobench-finetune", "finetune", "frozen",
                                      "scratch"]
    with registered(DENSE_PROTOCOLS, {"half-lr": HalfLR}):
        proto = _proto(get_protocol("half-lr"), tiny_segmentation_task(), lr=1e-2)
        assert isinstance(proto, HalfLR) and proto.lr == 5e-3 and proto.trains_encoder
    assert "half-lr" not in DENSE_PROTOCOLS
