"""The synthetic walkthrough behind ``planetbench demo`` (embedding part, dense part, report)."""
