"""The batch pipeline: units, plot import, reassignment, codes, recoding, checks, exports, report."""
