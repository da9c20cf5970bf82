"""net layer (see DESIGN.md §3)."""
