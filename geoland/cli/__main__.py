"""`python -m geoland.cli`."""

from geoland.cli import main

main()
