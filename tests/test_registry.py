"""The generic Registry: registration, lookups with did-you-mean, listing, plugins, aliases."""

from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import planetbench.registry as registry_module
from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.registry import Registry, close_matches, did_you_mean

#: Objects the fake entry points below point at (``tests.test_registry:PLUGIN``).
PLUGIN = "from a plugin"
OTHER_PLUGIN = "from another plugin"


def _registry() -> Registry[str]:
    reg: Registry[str] = Registry("probe")
    reg.register("ridge", "R")
    reg.register("logistic", "L")
    return reg


def test_register_get_list_and_iterate() -> None:
    reg = _registry()
    assert reg.get("ridge") == "R" and reg.get("logistic") == "L"
    assert reg.list() == ["logistic", "ridge"] and list(reg) == ["logistic", "ridge"]
    assert reg.items() == [("logistic", "L"), ("ridge", "R")]
    assert len(reg) == 2 and "ridge" in reg and "lasso" not in reg


def test_register_as_decorator_returns_the_object() -> None:
    reg: Registry[type] = Registry("head")

    @reg.register("linear")
    class Linear:
        pass

    assert reg.get("linear") is Linear


def test_duplicate_is_refused_unless_override() -> None:
    reg = _registry()
    with pytest.raises(InvalidInputError, match="probe 'ridge' is already registered; pass override"):
        reg.register("ridge", "R2")
    assert reg.get("ridge") == "R"
    reg.register("ridge", "R2", override=True)
    assert reg.get("ridge") == "R2"


@pytest.mark.parametrize("bad", ["", "Ridge", " ridge", "ridge "])
def test_ids_are_lower_case_without_spaces(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="ids are non-empty, lower-case"):
        Registry[str]("probe").register(bad, "x")


def test_unknown_name_suggests_near_misses_and_lists_all() -> None:
    reg = _registry()
    with pytest.raises(UnknownNameError, match=r"unknown probe 'rigde'; did you mean 'ridge'\? "
                                                r"Available: logistic, ridge"):
        reg.get("rigde")
    with pytest.raises(UnknownNameError, match=r"unknown probe 'zzz'\. Available: logistic, ridge"):
        reg.get("zzz")
    with pytest.raises(UnknownNameError, match=r"did you mean 'ridge'"):
        reg.get("RIDGE")  # near misses ignore case
    assert isinstance(UnknownNameError("x"), KeyError)


def test_empty_registry_says_so() -> None:
    with pytest.raises(UnknownNameError, match=r"Available: \(none registered\)"):
        Registry[str]("task").get("glid")


def test_unregister_returns_the_entry() -> None:
    reg = _registry()
    assert reg.unregister("ridge") == "R" and reg.list() == ["logistic"]
    with pytest.raises(UnknownNameError, match="did you mean 'logistic'"):
        reg.unregister("logistc")


def test_did_you_mean_is_the_one_hint() -> None:
    assert did_you_mean("dofa-bse", ["dofa-base", "vit"]) == "did you mean 'dofa-base'?"
    assert did_you_mean("caffee", ["caffe", "glid", "gld"]) == "did you mean 'caffe'?"
    assert did_you_mean("nothing-like", ["caffe"]) == ""
    assert close_matches("gld", ["glid", "gld", "gsdd"], n=2) == ["gld", "glid"]
    assert close_matches("b8a", ["B8A", "B08"], n=1) == ["B8A"]  # originals come back


def test_band_and_task_filter_hints_use_it() -> None:
    from planetbench.tasks.bands import get_band

    with pytest.raises(InvalidInputError, match=r"unknown band name 'B4A'; did you mean 'B8A'"):
        get_band("B4A")


# ------------------------------------------------------------------------------------- plugins


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch, *eps: EntryPoint) -> None:
    def fake(*, group: str) -> list[EntryPoint]:
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(registry_module, "entry_points", fake)


def test_plugins_register_through_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_entry_points(
        monkeypatch,
        EntryPoint("my-probe", "tests.test_registry:PLUGIN", "planetbench.probes"),
        EntryPoint("elsewhere", "tests.test_registry:OTHER_PLUGIN", "other.group"),
    )
    reg: Registry[str] = Registry("probe", entry_point_group="planetbench.probes")
    reg.register("ridge", "R")
    assert reg.list() == ["my-probe", "ridge"]
    assert reg.get("my-probe") == PLUGIN
    with pytest.raises(UnknownNameError, match="did you mean 'my-probe'"):
        reg.get("my-prob")


def test_broken_or_clashing_plugins_are_skipped_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_entry_points(
        monkeypatch,
        EntryPoint("ridge", "tests.test_registry:PLUGIN", "g"),
        EntryPoint("broken", "tests.no_such_module:X", "g"),
        EntryPoint("Bad-Case", "tests.test_registry:PLUGIN", "g"),
        EntryPoint("fine", "tests.test_registry:OTHER_PLUGIN", "g"),
    )
    reg: Registry[str] = Registry("probe", entry_point_group="g")
    reg.register("ridge", "R")
    with pytest.warns(RuntimeWarning) as caught:
        assert reg.list() == ["fine", "ridge"]
    messages = [str(w.message) for w in caught]
    assert any("plugin 'ridge'" in m and "already registered" in m for m in messages)
    assert any("plugin 'broken'" in m and "ModuleNotFoundError" in m for m in messages)
    assert any("plugin 'Bad-Case'" in m and "lower-case" in m for m in messages)
    assert reg.get("ridge") == "R"  # the built-in entry wins


# ------------------------------------------------------------------------------------- aliases


def test_deprecated_alias_warns_once_and_returns_the_new_entry() -> None:
    reg = _registry()
    reg.register("ridge-cv", "RCV")
    reg.deprecate("ridgecv", "ridge-cv", note="renamed in 0.2")
    with pytest.warns(FutureWarning, match=r"probe 'ridgecv' was renamed 'ridge-cv' \(renamed in "
                                           r"0\.2\); use 'ridge-cv'"):
        assert reg.get("ridgecv") == "RCV"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second lookup does not warn again
        assert reg.get("ridgecv") == "RCV"
        assert reg.resolve("ridgecv") == "ridge-cv" and reg.resolve("ridge") == "ridge"
    assert "ridgecv" in reg and "ridgecv" not in reg.list()
    assert reg.aliases() == {"ridgecv": "ridge-cv"}


def test_alias_rules() -> None:
    reg = _registry()
    with pytest.raises(InvalidInputError, match="'ridge' is registered; unregister it"):
        reg.deprecate("ridge", "logistic")
    reg.deprecate("old", "missing")
    with pytest.raises(InvalidInputError, match="'old' is already an alias of 'missing'"):
        reg.deprecate("old", "ridge")
    with pytest.raises(UnknownNameError, match="'old' was renamed 'missing', which is not registered"):
        reg.get("old")
    with pytest.raises(InvalidInputError, match="'old' is a deprecated alias of 'missing'"):
        reg.register("old", "x")
    with pytest.raises(UnknownNameError, match="did you mean 'old'"):
        reg.get("olde")  # aliases are suggested too


def test_modules_register_themselves_on_the_first_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    reg: Registry[int] = Registry("widget", modules=("pb_selfregistering_widgets",))
    reg.register("base", 1)
    (tmp_path / "pb_selfregistering_widgets.py").write_text(
        "import tests.test_registry as t\nt.LAZY.register('extra', 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys.modules[__name__], "LAZY", reg, raising=False)
    monkeypatch.delitem(sys.modules, "pb_selfregistering_widgets", raising=False)
    assert "pb_selfregistering_widgets" not in sys.modules  # nothing imported at construction
    assert reg.list() == ["base", "extra"] and reg.get("extra") == 2
    assert "pb_selfregistering_widgets" in sys.modules
    with pytest.raises(UnknownNameError, match="did you mean 'extra'"):
        reg.get("extr")
