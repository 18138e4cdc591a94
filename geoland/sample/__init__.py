"""The synthetic cadastre and the demo that runs the whole pipeline on it."""
