"""The rankings-evolution chart as inline SVG (no JavaScript, no image files).

x: scored submissions of the phase in the order they reached the board; y: each team's rank at
that moment (1 at the top). One line per team, labelled at its right end. Every text is escaped.
"""

from __future__ import annotations

import html

#: Line colours (colour-blind-safe Okabe–Ito palette), cycled over teams.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")


def rank_evolution_svg(evolution: dict[str, list[tuple[int, int]]], *, width: int = 640,
                       row_px: int = 28) -> str:
    """An ``<svg class="rank-chart">`` of each team's rank after every scored submission.

    Args:
        evolution: team → [(scored submission index ≥ 1, rank ≥ 1), …] in index order.
        width: chart width in pixels.
        row_px: vertical pixels per rank.

    Returns:
        SVG markup, or a short paragraph when there is nothing to draw.
    """
    points = [p for pts in evolution.values() for p in pts]
    if not points:
        return '<p class="note">No scored submission yet.</p>'
    n_x = max(i for i, _ in points)
    n_rank = max(r for _, r in points)
    left, right, top, bottom = 40, 140, 20, 36
    height = top + bottom + row_px * max(n_rank - 1, 1)
    plot_w = width - left - right

    def x(i: int) -> float:
        return left + (plot_w * (i - 1) / (n_x - 1) if n_x > 1 else plot_w / 2)

    def y(rank: int) -> float:
        return top + row_px * (rank - 1)

    parts = [f'<svg class="rank-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="Rank of each team after every scored submission">']
    for rank in range(1, n_rank + 1):
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(rank):.1f}" '
                     f'y2="{y(rank):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 8}" y="{y(rank) + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{rank}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                 'font-size="11">scored submissions (in order) →</text>')
    for k, team in enumerate(sorted(evolution)):
        pts = evolution[team]
        colour = PALETTE[k % len(PALETTE)]
        name = html.escape(team)
        coords = " ".join(f"{x(i):.1f},{y(r):.1f}" for i, r in pts)
        parts.append(f'<g class="team-line" data-team="{name}">'
                     f'<title>{name}</title>'
                     f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{coords}"/>')
        parts += [f'<circle cx="{x(i):.1f}" cy="{y(r):.1f}" r="3" fill="{colour}"/>'
                  for i, r in pts]
        last_i, last_r = pts[-1]
        parts.append(f'<text x="{x(last_i) + 8:.1f}" y="{y(last_r) + 4:.1f}" font-size="11" '
                     f'fill="{colour}">{name}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["rank_evolution_svg"]
