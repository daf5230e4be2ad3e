"""The `tonypi` command."""
