"""The README's walk-through, kept honest: every command of its code blocks runs.

Every line of the README's ``bash`` (and unlabelled) code blocks that starts with
``planetbench``, ``pip`` or ``python`` is a command, and every ``python`` block is a program.
Each runs, in README order, in a temporary folder with a temporary store: commands in-process
through Typer's ``CliRunner``, programs with ``exec``. The README's syntax is made runnable by
rules, not by hand: optional ``[...]`` parts and trailing ``# comments`` are dropped, and the
placeholders (``EMBEDDINGS.csv``, ``LABEL_DIR``, ``S`` …) are replaced by tiny generated data, the
real tables of ``../shared/data`` or outputs of earlier commands (:data:`TOKENS`); shell variables
set in a block (``R=…``) are expanded. A command that
cannot run here is skipped by a rule that says why (:data:`SKIPS`), and a few are adapted for
speed (:data:`REWRITES`, each with its reason). A command that fails (a placeholder without a
stand-in makes it fail) fails the test with the README line: a README edit either works or
says why not.
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planetbench.cli import _load_commands, app
from tests.conftest import SHARED_DATA

README = Path(__file__).resolve().parents[1] / "README.md"

#: Commands that cannot run in a test, by regular expression, each with the reason.
SKIPS: tuple[tuple[str, str], ...] = (
    (r"^planetbench run (?!.*planetbench-demo/)", "trains encoders on the real Cryo-Bench data (the grid and its "
     "preflight are tested in tests/runs, a tiny dense run in tests/cli/test_dense_cli.py); "
     "the published Cryo-Bench table is imported in its place (see STAND_INS)"),
    (r"^pip install", "installs packages: the tests run in the environment it installed"),
    (r"^python -m pytest", "the test suite itself"),
    (r"^planetbench data download", "downloads from the internet (tests use a loopback server: "
     "tests/tasks/test_download.py)"),
    (r"--root /data/", "needs a real dataset on disk (readers are tested on seeded fakes in "
     "tests/tasks)"),
    (r"^planetbench challenge (serve|worker|submit)", "a long-running web server or a client of "
     "one (tested against a real loopback server in tests/challenge)"),
    (r"^planetbench challenge", "needs the challenge's hidden label folder of the YAML above "
     "(the challenge commands are tested in tests/challenge)"),
    (r"task\.load\(\"/data/marsbench\"", "reads Mars-Bench from /data/marsbench (the readers are "
     "tested on seeded fakes in tests/tasks)"),
)

#: What runs in place of a skipped command whose results later commands read: (pattern of
#: the skipped command, arguments run once instead).
STAND_INS: tuple[tuple[str, str], ...] = (
    (r"^planetbench run ",
     "import {shared}/cryobench-published-results/cryobench_frozen_upernet_100pct_miou.csv"),
)

#: Commands adapted before they run: (pattern, replacement, reason).
REWRITES: tuple[tuple[str, str, str], ...] = (
    (r"^planetbench demo$", "planetbench demo --quick --no-dense --no-report --out {demo}",
     "the quick demo without its dense part (the full demo runs in tests/cli/test_demo_cli.py); "
     "its label folder and embedding files feed the probe commands below, its quick Mars part's "
     "scenes (planetbench-demo/mars/data) the search example"),
    (r"^planetbench report --out report\.html$", "planetbench report --out report.html --reps 1000",
     "1,000 bootstrap rounds instead of 10,000, for speed"),
    (r"^(planetbench leaderboard --suite mars --preset mars)$", r"\1 --reps 1000",
     "1,000 bootstrap rounds instead of 10,000, for speed"),
    (r'run_demo\(out="planetbench-demo"\)',
     'run_demo(out="planetbench-demo", quick=True, dense=False, report=False)',
     "the quick demo without its dense part and report, for speed"),
)

#: README placeholders → what they stand for here ({tmp}, {demo}, {shared}, {store} filled in);
#: a key "--flag TOKEN" applies after that flag only (it wins over the bare "TOKEN").
TOKENS: dict[str, str] = {
    "--protocol P": "frozen",
    "EMBEDDINGS.csv": "{demo}/embeddings/mosaiks.csv",
    "EMB.csv": "{demo}/embeddings/averaging.csv",
    "LABEL_DIR": "{demo}/labels",
    "neuco.yaml": "{tmp}/neuco.yaml",
    "results.csv": "{tmp}/results.csv",
    "table.csv": "{shared}/cryobench-published-results/cryobench_frozen_upernet_100pct_miou.csv",
    "S": "cryo",
    "M": "readme-model",
    "P": "dev",
    "D": "{tmp}/neuco-out",
}

#: In-program strings of the Python blocks → their stand-ins.
PYTHON_TOKENS: dict[str, str] = {
    '"emb.csv", "labels/"': '"{demo}/embeddings/mosaiks.csv", "{demo}/labels"',
    '"sqlite:///r.sqlite"': '"{store}"',
}

#: Exit codes other than 0 that a README command is documented to return.
EXIT_CODES: tuple[tuple[str, int, str], ...] = (
    (r"^planetbench audit ", 1, "the published Cryo-Bench table's RAMEN average disagrees with its "
     "per-task mIoU: audit exits 1, as the README says"),
)


@dataclass(frozen=True)
class Snippet:
    """One README command or Python block."""

    line: int
    kind: str  # "shell" or "python"
    text: str


def readme_snippets(text: str) -> list[Snippet]:
    """The commands of the shell blocks and the Python blocks, in order, with their line."""
    out: list[Snippet] = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M):
        lang, body = match.group(1), match.group(2)
        start = text[: match.start()].count("\n") + 2
        if lang == "python":
            out.append(Snippet(start, "python", body))
        elif lang in ("bash", "sh", ""):
            joined = body.replace("\\\n", " ")
            variables: dict[str, str] = {}  # NAME=value lines of the block, as the shell sets
            for offset, line in enumerate(joined.splitlines()):
                for part in line.split("&&"):
                    command = part.strip()
                    assignment = re.match(r"^([A-Za-z_]\w*)=(\S+)$", command)
                    if assignment:
                        variables[assignment.group(1)] = assignment.group(2)
                    elif re.match(r"^(planetbench|pip|python)\b", command):
                        for name, value in variables.items():
                            command = re.sub(rf"\$\{{{name}\}}|\${name}\b", value, command)
                        out.append(Snippet(start + offset, "shell", command))
    return out


def runnable(command: str) -> str:
    """``command`` without its optional ``[...]`` parts and trailing ``# comment``."""
    command = re.sub(r"\s+#\s.*$", "", command)
    previous = None
    while previous != command:  # innermost brackets first, so nested ones go too
        previous = command
        command = re.sub(r"\s*\[[^\[\]]*\]", "", command)
    return " ".join(command.split())


def _fill(template: str, places: dict[str, str]) -> str:
    return template.format(**places)


def _prepare(tmp: Path) -> dict[str, str]:
    """The data the placeholders stand for: a long CSV, a NeuCo YAML; the demo writes the rest."""
    pd.DataFrame({
        "model": ["a", "a", "b", "b"], "task": ["t1", "t2", "t1", "t2"],
        "metric": ["miou"] * 4, "score": [0.61, 0.72, 0.55, 0.70], "seed": [0, 0, 0, 0],
        "protocol": ["frozen"] * 4, "fraction": [1.0] * 4, "suite": ["readme"] * 4,
    }).to_csv(tmp / "results.csv", index=False)
    (tmp / "neuco.yaml").write_text(
        "k_folds: 3\nepochs: 2\nbatch_size: 64\nlearning_rate: 0.001\n"
        "task_filter: [demo-biomass, demo-snow-cover]\n"
    )
    return {"tmp": str(tmp), "demo": str(tmp / "planetbench-demo"), "shared": str(SHARED_DATA),
            "store": f"sqlite:///{tmp / 'readme.sqlite'}"}


def _shell_args(command: str, places: dict[str, str]) -> list[str]:
    """The argument list of a runnable command, its placeholders replaced by their stand-ins."""
    args: list[str] = []
    for token in shlex.split(command)[1:]:
        token = token.replace("../shared/data", places["shared"])
        after_flag = f"{args[-1]} {token}" if args else token
        if after_flag in TOKENS:
            token = _fill(TOKENS[after_flag], places)
        elif token in TOKENS:
            token = _fill(TOKENS[token], places)
        # Any other token runs as written: a placeholder without a stand-in makes its command
        # fail, and the failure names the README line.
        args.append(token)
    return args


def _rule(patterns: tuple[tuple[str, str], ...], text: str) -> str | None:
    return next((reason for pattern, reason in patterns if re.search(pattern, text)), None)


def test_readme_snippets_are_found_and_rules_apply() -> None:
    snippets = readme_snippets(README.read_text(encoding="utf-8"))
    shell = [s for s in snippets if s.kind == "shell"]
    assert len(shell) > 20 and sum(s.kind == "python" for s in snippets) >= 1
    assert runnable("planetbench x [--a B] [--c D|E [--f]] # note") == "planetbench x"
    assert runnable("planetbench capability predict cap.json [--model M ...]") == (
        "planetbench capability predict cap.json")
    assert _rule(SKIPS, "planetbench data download glid --root /data/cryo") is not None
    assert _rule(SKIPS, "planetbench leaderboard") is None
    block = "```bash\nR=../data\nplanetbench embed --root $R --x ${R}/y\n```\n"
    assert readme_snippets(block)[0].text == "planetbench embed --root ../data --x ../data/y"


def test_every_readme_command_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the README's walk-through imports ../shared/data ({SHARED_DATA} is absent)")
    _load_commands()
    places = _prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLANETBENCH_STORE", places["store"])
    runner = CliRunner()
    failures: list[str] = []
    skipped: list[str] = []
    done: set[str] = set()  # stand-ins already run
    timings: list[tuple[float, str]] = []
    for snippet in readme_snippets(README.read_text(encoding="utf-8")):
        text = runnable(snippet.text) if snippet.kind == "shell" else snippet.text
        where = f"README line {snippet.line}: {snippet.text.splitlines()[0][:100]}"
        reason = _rule(SKIPS, text)
        if reason is not None:
            skipped.append(f"{where} — {reason}")
            for pattern, instead in STAND_INS:
                if re.search(pattern, text) and instead not in done:
                    done.add(instead)
                    result = runner.invoke(app, shlex.split(_fill(instead, places)))
                    assert result.exit_code == 0, result.output
            continue
        for pattern, replacement, _why in REWRITES:
            text = re.sub(pattern, _fill(replacement, places) if "{" in replacement
                          else replacement, text)
        if snippet.kind == "python":
            for old, new in PYTHON_TOKENS.items():
                text = text.replace(old, _fill(new, places))
            started = time.perf_counter()
            try:
                exec(compile(text, f"README.md:{snippet.line}", "exec"), {})
            except Exception as exc:  # a README program that fails is a finding
                failures.append(f"{where}\n  {type(exc).__name__}: {exc}")
            timings.append((time.perf_counter() - started, where))
            continue
        try:
            args = _shell_args(text, places)
        except AssertionError as exc:
            failures.append(f"{where}\n  {exc}")
            continue
        expected = next((code for pattern, code, _ in EXIT_CODES if re.search(pattern, text)), 0)
        started = time.perf_counter()
        result = runner.invoke(app, args, env={"COLUMNS": "120"})
        timings.append((time.perf_counter() - started, where))
        if result.exit_code != expected:
            failures.append(f"{where}\n  ran: planetbench {' '.join(args)}\n  exit "
                            f"{result.exit_code} (expected {expected}): {result.output[-600:]}")
    slowest = sorted(timings, reverse=True)[:5]
    print("slowest README snippets:", *(f"{t:5.1f} s  {w}" for t, w in slowest), sep="\n")
    assert not failures, "README commands that no longer work:\n" + "\n".join(failures)
    assert len(skipped) < 20, skipped  # the walk-through stays mostly runnable
