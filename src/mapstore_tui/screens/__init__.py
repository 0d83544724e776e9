"""Modal screens of the panel."""
