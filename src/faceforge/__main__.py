"""``python -m faceforge`` runs the command line."""

from faceforge.cli.main import run

run()
