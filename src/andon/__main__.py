"""``python -m andon`` runs the CLI."""

from andon.cli import main

main()
