"""The memory preflight's estimate of a training step beside the measured peak, on this CPU.

For each (encoder, head, protocol, batch, side), a fresh Python process builds the model, resets
its peak resident set size (``/proc/self/clear_refs``), runs one training step (forward, backward,
AdamW step) on random inputs and reports the growth of ``VmHWM`` over the RSS before the step, next
to :func:`planetbench.runs.memory.estimate_training_memory`. Linux only. Synthetic inputs (the
cost does not depend on the values).

Usage::

    python benchmarks/bench_memory_estimate.py [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

#: (encoder, head, trains encoder, batch, side) measured by default; kept small enough for a
#: laptop: the preflight's own reported case (unet at 512 px, batch 8) needs about 48 GiB.
CASES: tuple[tuple[str, str, bool, int, int], ...] = (
    ("unet", "upernet", True, 8, 64),
    ("unet", "upernet", True, 8, 128),
    ("unet", "upernet", True, 2, 256),
    ("unet", "upernet", False, 8, 128),
    ("unet-cryobench", "unet-pangaea", True, 8, 128),
    ("vit", "upernet", True, 8, 128),
)

CHILD = r"""
import json, sys
from pathlib import Path
import torch
torch.set_num_threads(int(sys.argv[6]))
from planetbench.encoders import build_encoder
from planetbench.heads import build_head
from planetbench.runs.memory import estimate_training_memory
from planetbench.tasks import get_task

name, head_name, trains, batch, side = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), int(sys.argv[5])
bands = get_task("demo-lakes").spec.bands
options = {"img_size": side} if name == "vit" else {}
encoder = build_encoder(name, in_bands=bands, device="cpu", seed=0, **options)
head = build_head(head_name, in_channels=encoder.spec.feature_channels,
                  in_strides=encoder.spec.feature_strides, n_classes=2)
with torch.device("meta"):
    meta_head = build_head(head_name, in_channels=encoder.spec.feature_channels,
                           in_strides=encoder.spec.feature_strides, n_classes=2)
est = estimate_training_memory(encoder, meta_head, n_channels=len(bands), batch_size=batch,
                               side=side, trains_encoder=trains)
for p in encoder.parameters():
    p.requires_grad_(trains)
params = [p for m in (encoder, head) for p in m.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4)
x = torch.randn(batch, len(bands), side, side)
y = torch.randint(0, 2, (batch, side, side))
encoder.train(trains); head.train()

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

Path("/proc/self/clear_refs").write_text("5")
before = status("VmRSS")
if trains:
    feats = encoder.features(x)
else:
    with torch.no_grad():
        feats = encoder.features(x)
loss = torch.nn.functional.cross_entropy(head(feats, (side, side)), y)
loss.backward()
opt.step()
peak = status("VmHWM")
print(json.dumps({"estimate": est.total, "activations": est.activations,
                  "transient": est.transient, "weights": est.weights,
                  "measured": peak - before}))
"""


#: The ``--quick`` case (a smoke test).
QUICK: tuple[tuple[str, str, bool, int, int], ...] = (("unet", "upernet", True, 2, 32),)


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    """Print the table; return one dict (estimate, measured … in bytes) per case."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="one tiny case (smoke test)")
    args = parser.parse_args(argv)
    src = Path(__file__).resolve().parents[1] / "src"
    print("memory of one training step, estimated before the run vs measured (peak RSS growth)")
    print(f"{'encoder + head':32s} {'encoder':>8s} {'batch × px':>11s} {'estimate':>10s} "
          f"{'measured':>10s} {'ratio':>6s}")
    rows: list[dict[str, float]] = []
    for name, head, trains, batch, side in QUICK if args.quick else CASES:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, name, head, "1" if trains else "0", str(batch),
             str(side), str(args.threads)],
            capture_output=True, text=True, env={"PYTHONPATH": str(src), "PATH": ""},
            check=False,
        )
        if out.returncode != 0:
            print(f"{name} + {head}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
        gib = 1024**3
        print(f"{name + ' + ' + head:32s} {'trained' if trains else 'frozen':>8s} "
              f"{f'{batch} × {side}':>11s} {r['estimate'] / gib:9.2f}G {r['measured'] / gib:9.2f}G "
              f"{r['estimate'] / max(r['measured'], 1):6.2f}")
    return rows


if __name__ == "__main__":
    main()
