"""at layer (see DESIGN.md §3)."""
