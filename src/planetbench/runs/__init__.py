"""Runs: grids of dense runs, their execution (local processes or Ray), efficiency accounting and
experiment files."""
