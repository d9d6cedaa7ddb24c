"""``planetbench efficiency``: parameters, GFLOPs and latency of an encoder with its decoder."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from planetbench.cli._app import app, console, handle_errors
from planetbench.errors import InvalidInputError

EFFICIENCY_EXAMPLE = """Examples:

  planetbench efficiency --encoder dofa-base --task glid --protocol cryobench

  planetbench efficiency --encoder unet --task demo-lakes --input-size 128 --format json
"""


@app.command("efficiency", epilog=EFFICIENCY_EXAMPLE)
@handle_errors
def efficiency_cmd(
    encoder: Annotated[str, typer.Option(help="Encoder id (planetbench encoders).")],
    task: Annotated[
        str, typer.Option(help="Segmentation task id: its bands and classes size the model.")
    ],
    protocol: Annotated[
        str,
        typer.Option(help="default (our frozen/finetune model: UperNet at 512 px), cryobench "
                     "(Cryo-Bench's decoder at the encoder's input size) or another dense "
                     "protocol."),
    ] = "default",
    input_size: Annotated[
        int | None,
        typer.Option(help="Image side in px [the protocol's: 512, or the encoder's input size "
                     "under cryobench]."),
    ] = None,
    band_policy: Annotated[
        str | None,
        typer.Option(help="How the task's bands feed the encoder [the protocol's; zero-fill, "
                     "noted, when it cannot apply: the cost is the same]."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="Output format: table or json.")] = "table",
    repeats: Annotated[
        int, typer.Option(help="Timed forward passes (median reported; 3 warm-up passes first).")
    ] = 10,
) -> None:
    """Count parameters and GFLOPs and time one image through encoder + decoder.

    The model is built with random weights (counting needs no weights, so this works offline);
    GFLOPs follow fvcore's convention (1 multiply-add = 1 FLOP), as Cryo-Bench reports them.
    Latency is per image at batch 1, warm-up excluded, on the device named.

    Example: planetbench efficiency --encoder dofa-base --task glid --protocol cryobench
    """
    if fmt not in ("table", "json"):
        raise InvalidInputError(f"--format {fmt!r} is not supported; use 'table' or 'json'")
    if repeats < 1:
        raise InvalidInputError(f"--repeats must be at least 1, got {repeats}")
    from planetbench.runs.efficiency import efficiency_of

    result = efficiency_of(encoder, task, protocol=protocol, input_size=input_size,
                           band_policy=band_policy, n_repeats=repeats)
    if fmt == "json":
        typer.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"{encoder} + {result['decoder']} on {task} ({result['input_size']} px, "
                  f"protocol {protocol})")
    table.add_column("quantity", no_wrap=True)
    table.add_column("value", overflow="fold")

    def number(key: str, unit: str, digits: int = 2) -> str:
        value = result[key]
        return "n/a" if value is None else f"{value:,.{digits}f} {unit}"

    rows = [
        ("parameters", number("params_m", "M")),
        ("  encoder", number("encoder_params_m", "M")),
        ("  decoder", number("decoder_params_m", "M")),
        ("GFLOPs", f"{number('gflops', 'G')} ({result['gflops_convention']})"),
        ("  of which attention", number("attention_gflops", "G")),
        ("GFLOPs, 2 per multiply-add", f"{number('gflops_2_per_mac', 'G')} "
         f"({result['gflops_2_per_mac_convention']})"),
        ("latency", f"{number('latency_ms', 'ms')} per image (batch 1, warm-up excluded)"),
        ("device", str(result["device"])),
        ("weights", str(result["weights"])),
    ]
    for name, value in rows:
        table.add_row(name, escape(value))
    console.print(table)
    for flag in result["flags"]:
        console.print(f"note: {flag}", markup=False, highlight=False)
