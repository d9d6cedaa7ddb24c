"""``python -m planetbench`` runs the command-line interface."""

from planetbench.cli import main

if __name__ == "__main__":
    main()
