"""Reports: every leaderboard and output format, plots and the HTML page (no torch).

* :mod:`~planetbench.report.embedding_leaderboard`: the NeuCo-Bench board of probe results.
* :mod:`~planetbench.report.leaderboards`: boards with intervals (IQM, mean rank) and presets;
  :mod:`~planetbench.report.runs_selection`: which stored runs a board ranks;
  :mod:`~planetbench.report.normaliser_files`: ``--normaliser FILE``.
* :mod:`~planetbench.report.geobench2`: GEO-Bench-2's own leaderboard and its published score
  beside ours; :mod:`~planetbench.report.mars`: Mars-Bench's (and GEO-Bench v1's) aggregation;
  :mod:`~planetbench.report.audit`: published averages against their per-task values.
* :mod:`~planetbench.report.dense_leaderboard`: the Cryo-Bench layout of dense runs.
* :mod:`~planetbench.report.formats`: text, JSON, CSV, Markdown and HTML of any board.
* :mod:`~planetbench.report.plots`, :mod:`~planetbench.report.html`,
  :mod:`~planetbench.report.build`: figures (matplotlib ``Figure`` objects, no pyplot state) and
  the self-contained HTML report.
"""
