"""Review and look-up: what the web app and the commune lists read and change."""
