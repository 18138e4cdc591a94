"""Pure rules: the checks, field names, Vietnamese text and the shared vocabulary (no database)."""
