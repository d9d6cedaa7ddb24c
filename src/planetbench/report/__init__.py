"""Reports: tables and plots over stored results (matplotlib Agg; no torch)."""
