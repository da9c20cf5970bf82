"""agents layer (see DESIGN.md §3)."""
