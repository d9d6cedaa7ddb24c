"""Typed encoder specs: the weights config validates itself and run identities stay stable."""

from __future__ import annotations

import dataclasses

import pytest

from planetbench.config import DenseRunConfig
from planetbench.encoders import get_encoder, list_encoders
from planetbench.encoders.base import (
    HASH_PREFIX_NOTE,
    MAIN_BRANCH_NOTE,
    PINNED_REVISION_NOTE,
    EncoderSpec,
    PretrainedWeights,
    TinyVariant,
)
from planetbench.encoders.scratch import TINY_INPUT_SIZE, instance_spec
from planetbench.errors import InvalidInputError
from planetbench.runs.runner import planned_run_key

#: Resume keys of one tiny run per encoder, computed by the code before the specs were typed
#: (when weights facts lived in ``EncoderSpec.extra``). A stored run must keep its identity.
KEYS_BEFORE_TYPED_SPECS: dict[str, str] = {
    "averaging": "44b91e69a4d3b8fa4b7ec3d7829f6a87",
    "croma-base": "9ef91f4c44796c3420e72585863a3a1f",
    "croma-large": "6b4e2733a0a1344d2a170ec14c539372",
    "dofa-base": "bd5ab8daf67381a8e2af404cffde782c",
    "dofa-large": "35a06a69a37657972ff7c40229ef0733",
    "gfm-swin": "614dc1b7aaa869eb8280053652de0ff0",
    "mosaiks": "3c7ce7a6d5e688db458ad27f031bcbf3",
    "panopticon-vitb14": "b2c9791e521637adc6b86e048aaa5a97",
    "prithvi-eo-v2-300": "e1775439c7e746dfec5e31f75692009b",
    "ramen": "d112c201e69c322ac1d54a745fb52705",
    "random": "80ad840d96e37ce58adb20a234f63c54",
    "remoteclip-vit-b32": "6353a16be2683be93a3bb3172b98dd09",
    "resnet50": "916464723383c996680621c97b321cc8",
    "satlas-swin-b": "af44744c6e359cdf20e4fb6d373d69cd",
    "scalemae-large": "ae817eb365dd7016d26b93fdef0fa3e4",
    "spectralgpt": "c25880ca903335309b1e1c0ef549bfa6",
    "ssl4eo-data2vec-vits16": "e5516fd8c58f08699d29b466e3084651",
    "ssl4eo-dino-vits16": "df93f0de0f2a19bc50977b63a7c0ff3f",
    "ssl4eo-mae-vits16": "c3cbf6f69def1cc733889aee79ef087b",
    "ssl4eo-moco-vits16": "048899d7190ea7a732a7436462706055",
    "terramind-v1-large": "b6d162f9dea2b0f41b7cdb9c91644bca",
    "terramind-v1-large-s1": "94dbde789a26017d0fac4d138cd47ae4",
    "terramind-v1-large-s1s2": "ca807b23aa1ae87e7df4a2cbaa777e04",
    "unet": "102ba709b6d1e25cb28d457d3063aa1c",
    "vit": "9611092abe757c4ba4265e2c6f8b1409",
}


def _run(name: str) -> DenseRunConfig:
    options = {name: {"tiny": True}} if name in ("vit", "unet") else {}
    return DenseRunConfig(
        encoder=name, task="glid", root="/data", input_size=32, epochs=1, batch_size=2, seed=1,
        fraction=0.5, lr=1e-3, encoder_options=options,
    )


def test_every_encoder_is_covered_by_the_key_snapshot() -> None:
    assert set(KEYS_BEFORE_TYPED_SPECS) <= set(list_encoders())


@pytest.mark.parametrize("name", sorted(KEYS_BEFORE_TYPED_SPECS))
def test_run_keys_are_unchanged_by_typed_specs(name: str) -> None:
    assert planned_run_key(_run(name)) == KEYS_BEFORE_TYPED_SPECS[name]


def test_declared_digest_enters_the_run_key() -> None:
    spec = get_encoder("dofa-base").spec
    assert spec.weights is not None and spec.weights.sha256 is None
    assert spec.weights_sha256 == ""
    run = _run("dofa-base")
    assert planned_run_key(run, weights_sha256="") == KEYS_BEFORE_TYPED_SPECS["dofa-base"]
    assert planned_run_key(run, weights_sha256="a" * 64) != KEYS_BEFORE_TYPED_SPECS["dofa-base"]


def test_weights_without_digest_must_say_why() -> None:
    with pytest.raises(InvalidInputError, match="no sha256: say why in sha256_note"):
        PretrainedWeights(source="url", url="https://example.org/w.pth")


def test_weights_digest_must_be_a_full_sha256() -> None:
    with pytest.raises(InvalidInputError, match="not 64 hexadecimal digits"):
        PretrainedWeights(source="url", url="https://example.org/w.pth", sha256="abc")
    with pytest.raises(InvalidInputError, match="not 64 hexadecimal digits"):
        PretrainedWeights(source="url", url="https://example.org/w.pth", sha256="g" * 64)
    ok = PretrainedWeights(source="url", url="https://example.org/w.pth", sha256="A" * 64)
    assert ok.sha256 == "A" * 64


def test_weights_mean_and_std_go_together() -> None:
    with pytest.raises(InvalidInputError, match="mean and std must both be given"):
        PretrainedWeights(source="url", url="u", sha256_note="n", mean=(0.0,))
    with pytest.raises(InvalidInputError, match="one value per band"):
        PretrainedWeights(source="url", url="u", sha256_note="n", mean=(0.0,), std=(1.0, 1.0))


def test_weights_need_a_url_or_a_page() -> None:
    with pytest.raises(InvalidInputError, match="a download url or a page"):
        PretrainedWeights(source="file", sha256_note="n")
    manual = PretrainedWeights(source="file", page="https://example.org", sha256_note="n")
    assert EncoderSpec("m", weights=manual).weights_url == ""


def test_tiny_variant_overrides_only_what_it_declares() -> None:
    spec = EncoderSpec(
        "toy", feature_strides=(16,) * 2, feature_channels=(64,) * 2, embed_dim=64,
        tiny=TinyVariant(feature_channels=(8,) * 2),
    )
    tiny = instance_spec(spec, tiny=True)
    assert tiny.feature_channels == (8, 8) and tiny.feature_strides == (16, 16)
    assert tiny.embed_dim == 64 and tiny.input_size == TINY_INPUT_SIZE
    assert instance_spec(spec, tiny=False) == spec
    assert dataclasses.replace(spec, tiny=TinyVariant()) != spec


PUBLISHED = [n for n in list_encoders() if get_encoder(n).spec.weights is not None]


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_weights_are_checked_or_say_why(name: str) -> None:
    weights = get_encoder(name).spec.weights
    assert weights is not None
    if weights.sha256 is not None:
        return
    assert weights.sha256_note
    # the note claims a file-name prefix check exactly when the file name carries one
    assert (weights.hash_prefix is not None) == (weights.sha256_note == HASH_PREFIX_NOTE)
    if weights.sha256_note == PINNED_REVISION_NOTE:
        assert "/resolve/" in weights.url and "/resolve/main/" not in weights.url
    if weights.sha256_note == MAIN_BRANCH_NOTE:
        assert "/resolve/main/" in weights.url
