"""Classification heads on the tiny encoders: shapes per kind, frozen vs trained encoder, the loss
falling on a toy set, and errors."""

from __future__ import annotations

import pytest
import torch

from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.heads.classification import (
    CLASSIFICATION_HEADS,
    ClassificationHead,
    EncoderClassifier,
    build_classification_head,
    build_classifier,
    classification_loss,
    pooled_dim,
)
from planetbench.testing import TinyConvEncoder, TinyViTEncoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")

KINDS = [("binary", 2, (4,)), ("classification", 2, (4,)), ("multiclass", 5, (4, 5)),
         ("multilabel", 3, (4, 3))]


@pytest.mark.parametrize("encoder_cls", [TinyConvEncoder, TinyViTEncoder])
@pytest.mark.parametrize(("kind", "n_classes", "shape"), KINDS)
@pytest.mark.parametrize("pool", ["embed", "avg"])
def test_logit_shapes(encoder_cls: type, kind: str, n_classes: int, shape: tuple, pool: str
                      ) -> None:
    torch.manual_seed(0)
    model = build_classifier(encoder_cls(), n_classes=n_classes, kind=kind, pool=pool)
    logits = model(torch.randn(4, 3, 32, 32))
    assert logits.shape == shape


def test_frozen_encoder_is_untouched_and_stays_in_eval_mode() -> None:
    torch.manual_seed(0)
    enc = TinyConvEncoder()
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    model = build_classifier(enc, n_classes=3, kind="multiclass")
    model.train()
    assert not enc.training and model.head.training
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    loss = classification_loss("multiclass", model(torch.randn(4, 3, 32, 32)),
                               torch.tensor([0, 1, 2, 0]))
    loss.backward()
    opt.step()
    assert all(p.grad is None for p in enc.parameters())
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())
    assert all(p.grad is not None for p in model.head.parameters())


def test_trained_encoder_gets_gradients() -> None:
    torch.manual_seed(0)
    model = build_classifier(TinyViTEncoder(), n_classes=2, kind="binary", train_encoder=True)
    model.train()
    assert model.encoder.training
    classification_loss("binary", model(torch.randn(2, 3, 32, 32)), torch.tensor([0, 1])).backward()
    assert all(p.grad is not None for p in model.encoder.parameters())


def _toy(kind: str, n: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose per-quadrant brightness encodes the class (seeded)."""
    gen = torch.Generator().manual_seed(1)
    x = 0.3 * torch.randn(n, 3, 32, 32, generator=gen)
    if kind == "multilabel":
        y = (torch.rand(n, 3, generator=gen) < 0.5).long()
        for lab in range(3):
            x[:, :, : 16 * (lab % 2 + 1), 16 * (lab // 2) :] += 1.5 * y[:, lab, None, None, None]
        return x, y
    n_cls = 2 if kind == "binary" else 4
    y = torch.arange(n) % n_cls
    for c in range(n_cls):
        r, q = divmod(c, 2)
        x[y == c, :, 16 * r : 16 * r + 16, 16 * q : 16 * q + 16] += 1.5
    return x, y


@pytest.mark.parametrize(("kind", "n_classes"), [("binary", 2), ("multiclass", 4),
                                                 ("multilabel", 3)])
def test_loss_falls_on_a_toy_set(kind: str, n_classes: int) -> None:
    torch.manual_seed(0)
    x, y = _toy(kind)
    model = build_classifier(TinyConvEncoder(), n_classes=n_classes, kind=kind,
                             train_encoder=True)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(25):
        opt.zero_grad()
        loss = classification_loss(kind, model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0], losses


def test_mlp_head_and_registry() -> None:
    assert {"linear", "mlp"} <= set(CLASSIFICATION_HEADS.list())
    head = build_classification_head("mlp", in_dim=8, n_classes=3, kind="multilabel",
                                     hidden=(16, 4), dropout=0.0)
    assert isinstance(head, ClassificationHead) and head(torch.randn(2, 8)).shape == (2, 3)
    assert pooled_dim(TinyConvEncoder(channels=(4, 8, 12, 20)), "avg") == 20


def test_errors() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'linear'"):
        build_classification_head("lineer", in_dim=8, n_classes=2, kind="binary")
    with pytest.raises(InvalidInputError, match="does not take the options"):
        build_classification_head("linear", in_dim=8, n_classes=2, kind="binary", hidden=(4,))
    with pytest.raises(InvalidInputError, match="one logit; got n_classes=3"):
        ClassificationHead(8, 3, "binary")
    with pytest.raises(InvalidInputError, match="not a classification kind"):
        ClassificationHead(8, 3, "segmentation")
    with pytest.raises(InvalidInputError, match="n_classes ≥ 2"):
        ClassificationHead(8, 1, "multiclass")
    with pytest.raises(InvalidInputError, match="pool 'max' is not one of"):
        EncoderClassifier(TinyConvEncoder(), ClassificationHead(32, 2, "binary"),
                          pool="max")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"logits \(B, K\) and class ids"):
        classification_loss("multiclass", torch.zeros(2), torch.zeros(2))
    with pytest.raises(InvalidInputError, match="equal shape"):
        classification_loss("multilabel", torch.zeros(2, 3), torch.zeros(2, 4))
