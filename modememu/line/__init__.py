"""line layer (see DESIGN.md §3)."""
